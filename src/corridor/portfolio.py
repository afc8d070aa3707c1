"""Choose the projects to build within a budget: a 0-1 programme solved with HiGHS.

Each modelled ledger project with a capital cost is appraised first (:mod:`corridor.appraisal`)
under the chosen scenarios, or in expectation over the draws of a risk file; its value is the
mean over the scenarios (the expected case alone when a risk file is given) of the present value
of its net benefit (``objective="npv"``), or of the change it makes to one exporter's transit
HHI (``objective="hhi"``, lower is better). The programme picks the set that maximises the total
(minimises, for the HHI) with its capital cost within the budget, every ``requires`` met and no
two ``excludes`` together. Values are summed project by project, an approximation where
projects interact; the chosen set is then assigned as a whole and its joint value reported
beside the sum.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
import pandas as pd

from corridor.appraisal import DEFAULT_RATE, appraise, risk_benefit
from corridor.errors import InvalidOptionError
from corridor.ledger import Ledger
from corridor.network import Network
from corridor.tables import split_list

OBJECTIVES = ("npv", "hhi")


@dataclass
class Portfolio:
    """The chosen projects and the frontier of budget against value.

    Attributes
    ----------
    candidates
        Every project considered: capital cost, value (mean NPV or HHI change), BCR, whether
        chosen at the budget asked for, and why.
    frontier
        One row per budget: the best value and the projects chosen.
    joint
        The chosen set assigned as a whole, per scenario: its yearly benefit against the sum
        of the projects' own.
    """

    objective: str
    budget_usd: float
    candidates: pd.DataFrame
    frontier: pd.DataFrame
    joint: pd.DataFrame

    def to_dict(self) -> dict:
        return {"objective": self.objective, "budget_usd": self.budget_usd,
                "candidates": self.candidates.to_dict(orient="records"),
                "frontier": self.frontier.to_dict(orient="records"),
                "joint": self.joint.to_dict(orient="records")}


def choose(values: np.ndarray, costs: np.ndarray, budget: float, requires: list[list[int]],
           excludes: list[list[int]], maximise: bool = True) -> np.ndarray:
    """The 0-1 choice that maximises (or minimises) ``values @ x`` with ``costs @ x`` within
    ``budget``, ``x[i] <= x[j]`` for each ``j`` in ``requires[i]`` and ``x[i] + x[j] <= 1``
    for each ``j`` in ``excludes[i]`` (HiGHS branch and bound)."""
    n = len(values)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    inf = highspy.kHighsInf
    sign = -1.0 if maximise else 1.0
    for i in range(n):
        h.addVar(0.0, 1.0)
        h.changeColCost(i, sign * float(values[i]))
        h.changeColIntegrality(i, highspy.HighsVarType.kInteger)
    h.addRow(-inf, float(budget), n, np.arange(n, dtype=np.int32), costs.astype(float))
    for i, needs in enumerate(requires):
        for j in needs:
            h.addRow(-inf, 0.0, 2, np.array([i, j], dtype=np.int32), np.array([1.0, -1.0]))
    for i, rules in enumerate(excludes):
        for j in rules:
            h.addRow(-inf, 1.0, 2, np.array([i, j], dtype=np.int32), np.array([1.0, 1.0]))
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise InvalidOptionError(f"the portfolio programme has no solution "
                                 f"({h.modelStatusToString(h.getModelStatus())})")
    return np.round(np.asarray(h.getSolution().col_value)).astype(bool)


@dataclass(frozen=True, kw_only=True)
class Valuation:
    """How a project is valued.

    Attributes
    ----------
    objective
        ``npv`` (most net present value) or ``hhi`` (lowest transit HHI of ``exporter``).
    exporter
        The exporter of objective ``hhi``.
    rate
        Discount rate a year.
    risk, draws, seed
        A risk file (object, name or path): each project is then valued by its expected case
        over ``draws`` draws (``seed``), the same draws without and with it.
    """

    objective: str = "npv"
    exporter: str = "KAZ"
    rate: float = DEFAULT_RATE
    risk: object = None
    draws: int = 100
    seed: int = 0


def invest(network: Network, demand: pd.DataFrame, ledger: Ledger, budget_usd: float,
           scenarios: tuple[object, ...] = (None,), valuation: Valuation | None = None,
           steps: int = 8, **fields: object) -> Portfolio:
    """The best set of ledger projects for ``budget_usd`` and the frontier up to it.

    Parameters
    ----------
    network, demand, ledger
        The inputs.
    budget_usd
        Capital available (USD).
    scenarios
        The scenarios each project is appraised under (None is the baseline); values are
        their mean, unless the valuation has a risk file (then the expected case over its
        draws is the value, and the scenarios are reported beside it).
    valuation
        Objective, exporter, discount rate and risk draws (:class:`Valuation`), or its fields
        as keywords (``objective="hhi"``).
    steps
        Budgets on the frontier, evenly from 0 to ``budget_usd``.

    Raises
    ------
    InvalidOptionError
        An unknown objective, a negative budget, no project that can be appraised.
    """
    chosen_way = valuation if valuation is not None else Valuation(**fields)
    objective, exporter = chosen_way.objective, chosen_way.exporter
    risk = chosen_way if chosen_way.risk is not None else None
    if objective not in OBJECTIVES:
        raise InvalidOptionError(f"Unknown objective {objective!r}; choose one of "
                                 f"{', '.join(OBJECTIVES)}.")
    if not budget_usd >= 0:
        raise InvalidOptionError("budget must be zero or more.")
    projects = ledger.projects
    ids = [p for p in projects.index
           if ledger.modelled(p) and pd.notna(projects.at[p, "capex_usd"])]
    if not ids:
        raise InvalidOptionError("no project of the ledger has both a network change and a "
                                 "capital cost; nothing to choose from")
    rows = []
    per_case: dict[str, dict[str, float]] = {}
    for project in ids:
        appraisal = appraise(network, demand, ledger, project, scenarios,
                             rate=chosen_way.rate, risk=chosen_way.risk,
                             draws=chosen_way.draws, seed=chosen_way.seed)
        cases = appraisal.cases
        per_case[project] = dict(zip(cases["case"], cases["benefit_usd"], strict=True))
        valued = cases[cases["case"] == "expected"] if risk is not None else cases
        hhi = appraisal.hhi
        own = hhi[hhi["exporter"] == exporter]["change"]
        rows.append({"project_id": project, "name": projects.at[project, "name"],
                     "capex_usd": float(projects.at[project, "capex_usd"]),
                     "benefit_usd_per_year": float(valued["benefit_usd"].mean()),
                     "npv_usd": float(valued["npv_usd"].mean()),
                     "bcr": float(pd.to_numeric(valued["bcr"]).mean()),
                     "hhi_change": float(own.mean()) if len(own) else 0.0})
    table = pd.DataFrame(rows)
    position = {p: i for i, p in enumerate(ids)}
    requires = [[position[r] for r in split_list(projects.at[p, "requires"], ";")
                 if r in position] for p in ids]
    excludes = [[position[r] for r in split_list(projects.at[p, "excludes"], ";")
                 if r in position] for p in ids]
    values = table["npv_usd" if objective == "npv" else "hhi_change"].to_numpy()
    costs = table["capex_usd"].to_numpy()
    maximise = objective == "npv"
    frontier = []
    for budget in np.linspace(0.0, budget_usd, max(steps, 2)):
        picked = choose(values, costs, budget, requires, excludes, maximise)
        frontier.append({"budget_usd": float(budget), "value": float(values[picked].sum()),
                         "capex_usd": float(costs[picked].sum()),
                         "projects": ";".join(np.array(ids)[picked])})
    picked = choose(values, costs, budget_usd, requires, excludes, maximise)
    table["chosen"] = picked
    table["why"] = [_why(table.iloc[i], picked[i], objective, budget_usd, costs, picked)
                    for i in range(len(table))]
    joint = _joint(network, demand, ledger, [p for p, c in zip(ids, picked, strict=True) if c],
                   scenarios, per_case, risk)
    return Portfolio(objective, float(budget_usd), table, pd.DataFrame(frontier), joint)


def _why(row: pd.Series, chosen: bool, objective: str, budget: float, costs: np.ndarray,
         picked: np.ndarray) -> str:
    value = (f"NPV {row['npv_usd'] / 1e6:+,.0f} m USD" if objective == "npv"
             else f"transit HHI {row['hhi_change']:+,.0f}")
    if chosen:
        return f"chosen: {value} for {row['capex_usd'] / 1e6:,.0f} m USD of capital"
    if (objective == "npv" and row["npv_usd"] <= 0) or (objective == "hhi"
                                                         and row["hhi_change"] >= 0):
        return f"left out: {value}, no gain"
    if row["capex_usd"] > budget - costs[picked].sum():
        return f"left out: {value}, but the budget is spent on better value"
    return f"left out: {value}, its requirements or exclusions rule it out"


def _joint(network: Network, demand: pd.DataFrame, ledger: Ledger, chosen: list[str],
           scenarios: tuple[object, ...], per_case: dict[str, dict[str, float]],
           risk: Valuation | None = None) -> pd.DataFrame:
    """The chosen set's yearly benefit assigned together, against the sum of its parts (and
    over the risk draws when given)."""
    import dataclasses

    from corridor.appraisal import _benefit, _year_loss
    from corridor.flow import assign
    from corridor.scenario import as_scenario

    rows = []
    for scenario in scenarios:
        base = as_scenario(scenario)
        name = base.name if base is not None else "baseline"
        combined = base
        for project in chosen:
            change = ledger.scenario(project)
            combined = dataclasses.replace(change, parent=combined, name=f"{name}+{project}")
        if combined is base:
            rows.append({"case": name, "joint_benefit_usd": 0.0, "sum_of_parts_usd": 0.0})
            continue
        without = _year_loss(assign(network, demand, base))
        with_ = _year_loss(assign(network, demand, combined))
        rows.append({"case": name,
                     "joint_benefit_usd": _benefit(without, with_)["benefit_usd"],
                     "sum_of_parts_usd": sum(per_case[p].get(name, 0.0) for p in chosen)})
    if risk is not None:
        joint = (risk_benefit(network, demand, ledger, chosen, risk.risk, risk.draws,
                              risk.seed)["benefit_usd"] if chosen else 0.0)
        rows.append({"case": "expected", "joint_benefit_usd": joint,
                     "sum_of_parts_usd": sum(per_case[p].get("expected", 0.0)
                                             for p in chosen)})
    return pd.DataFrame(rows)
