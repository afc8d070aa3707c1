"""Assignment of yearly demand to the network: the model, the solver and the result.

:func:`assign` is the entry point; :mod:`corridor.flow.model` builds the linear programme,
:mod:`corridor.flow.solver` runs HiGHS, :mod:`corridor.flow.result` reads the solution,
:mod:`corridor.flow.paths` generates routes as needed (its searches in
:mod:`corridor.flow.search`),
:mod:`corridor.flow.logit` spreads demand over competing routes, and
:mod:`corridor.flow.periods` solves a year cut into periods when a scenario has dated events.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from corridor.errors import InvalidOptionError
from corridor.flow.model import (
    MT,
    PENALTY_FACTOR,
    STRANDED_FLOOR_USD_PER_T,
    TIE_BREAK_USD_PER_T,
    FlowModel,
    segment_label,
)
from corridor.flow.result import CSV_FILES, SATURATED_UTILISATION, FlowResult, build_result
from corridor.flow.solver import highs_from_arrays, new_highs, solve_model
from corridor.network import Network

__all__ = ["CSV_FILES", "FORMULATIONS", "MT", "PENALTY_FACTOR", "SATURATED_UTILISATION",
           "STRANDED_FLOOR_USD_PER_T", "TIE_BREAK_USD_PER_T", "FlowModel", "FlowResult",
           "assign", "build_result", "highs_from_arrays", "new_highs", "run_scenario",
           "segment_label", "solve_model"]


#: How the programme is formulated: one column per (origin, arc), or routes generated as needed.
FORMULATIONS = ("arc", "paths")


def assign(network: Network, demand: pd.DataFrame, scenario: object = None,
           time_limit_s: float | None = None, formulation: str = "arc",
           processes: int | None = None) -> FlowResult:
    """Assign yearly demand to the network at least generalised cost, within link capacities.

    Parameters
    ----------
    network
        A loaded network.
    demand
        A demand table (:func:`corridor.demand.load_demand`).
    scenario
        ``None`` (the network as given), a :class:`corridor.scenario.Scenario`, or the name or
        path of a scenario file; it is applied to copies of ``network`` and ``demand``.
    time_limit_s
        Wall-clock budget for building and solving the LP (None: no limit).
    formulation
        ``"arc"`` (one column per origin and arc; fastest on the shipped data) or
        ``"paths"`` (routes generated as needed, :mod:`corridor.flow.paths`; the same
        optimum, and a programme that grows with the routes used rather than with origins x
        arcs). A scenario with dated changes is solved with the arc formulation.

    Returns
    -------
    FlowResult

    Raises
    ------
    TimeLimitError
        The budget ran out.

    Examples
    --------
    >>> from corridor import load_network
    >>> from corridor.demand import load_demand
    >>> net = load_network()
    >>> outage = assign(net, load_demand(network=net), "cpc-outage")
    >>> round(outage.totals["stranded_t"] / 1e6)  # Mt of crude with no outlet in a year
    46
    """
    if formulation not in FORMULATIONS:
        raise InvalidOptionError(f"formulation must be one of {', '.join(FORMULATIONS)}")
    deadline = None if time_limit_s is None else time.monotonic() + time_limit_s
    from corridor.scenario import as_scenario, scenario_inputs

    scenario = as_scenario(scenario)
    if scenario is not None and scenario.is_periodic:
        from corridor.flow.periods import assign_periods

        return assign_periods(network, demand, scenario, time_limit_s)
    if formulation == "paths":
        from corridor.flow.paths import assign_paths

        return assign_paths(network, demand, scenario, time_limit_s, processes)
    network, demand, name = scenario_inputs(network, demand, scenario)
    model = FlowModel(network, demand)
    h = model.highs()
    values, duals = solve_model(h, deadline)
    return build_result(model, values, duals, name)


def run_scenario(name_or_path: str | Path, network: Network | None = None,
                 demand: pd.DataFrame | None = None) -> FlowResult:
    """Load the shipped network and demand (unless given) and assign them under a scenario.

    Parameters
    ----------
    name_or_path
        A built-in scenario name (``corridor scenario list``) or a TOML file.
    network, demand
        Defaults: the shipped network and baseline demand.

    Returns
    -------
    FlowResult
    """
    from corridor.demand import load_demand
    from corridor.network import load_network
    from corridor.scenario import load_scenario

    net = network if network is not None else load_network()
    table = demand if demand is not None else load_demand(network=net)
    return assign(net, table, load_scenario(name_or_path))
