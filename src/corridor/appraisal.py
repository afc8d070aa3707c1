"""Appraise a ledger project: what it saves a year, under each scenario and over risk draws,
against what it costs, as NPV, benefit-cost ratio and IRR.

For a scenario *s*, the year is assigned twice, without and with the project's network change
(its ``projects/<id>.toml`` applied on top of *s*). The yearly benefit is

    (generalised cost + export value of the stranded cargo) without
  − (generalised cost + export value of the stranded cargo) with

so cargo that the project lets move counts at its sourced export price
(``commodities.csv``), and cargo that moves more cheaply or quickly counts at its saving.
Money cost, stranded tonnes and CO2 are reported apart. With a risk file the same draws (same
seed: the same outages) are run without and with the project and the benefit is their mean.

Cash flows: the capital cost spread evenly over ``build_years`` before ``opening_year``, then
the yearly benefit less the running cost for ``life_years``, discounted to the first year of
spending. The benefit of the modelled year is held constant (no traffic growth): a stated
simplification that errs low for a growing corridor.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from corridor import limits
from corridor.errors import InvalidOptionError
from corridor.flow import FlowResult, assign
from corridor.ledger import Ledger
from corridor.metrics import dependency
from corridor.network import Network

#: The discount rate when none is given: the rate ADB's Guidelines for the Economic Analysis
#: of Projects (2017) set for economic analysis, 9 % a year.
DEFAULT_RATE = 0.09
DEFAULT_LIFE_YEARS = 30


@dataclass
class Appraisal:
    """A project's appraisal.

    Attributes
    ----------
    project
        The project id.
    rate
        The discount rate a year.
    cases
        One row per scenario (and ``expected`` over risk draws when a risk file was given):
        yearly ``benefit_usd`` and its parts (``generalised_saved_usd``, ``cost_saved_usd``,
        ``stranded_avoided_t``, ``stranded_value_avoided_usd``, ``co2_saved_t``), then
        ``npv_usd``, ``bcr`` and ``irr`` (None when the flows never change sign).
    hhi
        Each exporter's transit HHI without and with the project, per scenario.
    cash_flows
        Year by year for the first case: capital cost, running cost, benefit, net, discount
        factor.
    """

    project: str
    rate: float
    cases: pd.DataFrame
    hhi: pd.DataFrame
    cash_flows: pd.DataFrame

    def to_dict(self) -> dict:
        return {"project": self.project, "rate": self.rate,
                "cases": self.cases.to_dict(orient="records"),
                "hhi": self.hhi.to_dict(orient="records"),
                "cash_flows": self.cash_flows.to_dict(orient="records")}


def _with_project(ledger: Ledger, project: str, base: object):  # noqa: ANN202
    """The scenario ``base`` with the project's change on top."""
    from corridor.scenario import as_scenario

    change = ledger.scenario(project)
    parent = as_scenario(base)
    name = f"{parent.name if parent else 'baseline'}+{project}"
    return dataclasses.replace(change, parent=parent, name=name)


def _year_loss(result: FlowResult) -> dict[str, float]:
    totals = result.totals
    return {"generalised": totals["generalised_cost_usd"], "cost": totals["cost_usd"],
            "stranded_t": totals["stranded_t"], "stranded_value": totals["stranded_value_usd"],
            "co2": totals["co2_t"]}


def _benefit(without: dict[str, float], with_: dict[str, float]) -> dict[str, float]:
    # differences below a dollar (or a tonne) are the solver's rounding, not a benefit
    gain = {k: 0.0 if abs(without[k] - with_[k]) < 1.0 else without[k] - with_[k]
            for k in without}
    return {"benefit_usd": gain["generalised"] + gain["stranded_value"],
            "generalised_saved_usd": gain["generalised"], "cost_saved_usd": gain["cost"],
            "stranded_avoided_t": gain["stranded_t"],
            "stranded_value_avoided_usd": gain["stranded_value"], "co2_saved_t": gain["co2"]}


#: The columns of :func:`cash_flows`.
CASH_FLOW_COLUMNS = ("year", "capex_usd", "opex_usd", "benefit_usd", "net_usd", "discount")


def cash_flows(capex: float, opex: float, benefit: float, build_years: int, life_years: int,
               rate: float) -> pd.DataFrame:
    """Year by year from the first year of building: capital cost (spread evenly over the
    building years, all in year 0 when there are none), running cost and benefit while the
    project works, and the discount factor at ``rate``."""
    build = max(build_years, 0)
    years = np.arange(build + life_years)
    capital = np.where(years < build, capex / build if build else 0.0, 0.0)
    if not build:
        capital = capital.copy()
        capital[0] = capex
    working = years >= build
    running = np.where(working, opex, 0.0)
    gain = np.where(working, benefit, 0.0)
    table = pd.DataFrame({"year": years, "capex_usd": capital, "opex_usd": running,
                          "benefit_usd": gain})
    table["net_usd"] = table["benefit_usd"] - table["capex_usd"] - table["opex_usd"]
    table["discount"] = (1.0 + rate) ** -table["year"]
    return table


def npv(flows: pd.DataFrame, rate: float) -> float:
    """Net present value of ``net_usd`` at ``rate``."""
    return float((flows["net_usd"] * (1.0 + rate) ** -flows["year"]).sum())


def irr(flows: pd.DataFrame) -> float | None:
    """The rate at which the NPV is zero (None when the net flows never change sign or no
    rate between -99 % and 1,000 % gives zero)."""
    net = flows["net_usd"].to_numpy()
    if not (net < 0).any() or not (net > 0).any():
        return None
    f = lambda r: npv(flows, r)  # noqa: E731
    low, high = -0.99, 10.0
    if f(low) * f(high) > 0:
        return None
    return float(brentq(f, low, high, xtol=1e-10))


def bcr(flows: pd.DataFrame, rate: float) -> float | None:
    """Present value of the benefits over present value of the costs (None without costs)."""
    discount = (1.0 + rate) ** -flows["year"]
    costs = float(((flows["capex_usd"] + flows["opex_usd"]) * discount).sum())
    gains = float((flows["benefit_usd"] * discount).sum())
    return gains / costs if costs > 0 else None


def appraise(network: Network, demand: pd.DataFrame, ledger: Ledger, project: str,
             scenarios: tuple[object, ...] = (None,), rate: float = DEFAULT_RATE,
             risk: object = None, draws: int = 200, seed: int = 0) -> Appraisal:
    """Appraise ``project`` against each of ``scenarios`` (None is the baseline).

    Parameters
    ----------
    network, demand
        The network and the yearly demand.
    ledger
        The ledger that holds the project.
    project
        A project id of the ledger.
    scenarios
        Scenarios (objects, names or paths; None for the baseline) the project is appraised
        under, one case each.
    rate
        Discount rate a year (0 to 0.5).
    risk
        A risk file (object, name or path): adds the ``expected`` case, the mean over
        ``draws`` draws (``seed``) without and with the project.

    Raises
    ------
    DataError, InvalidOptionError
        An unknown project or scenario, a bad rate. A project without a published capital
        cost is appraised for its benefits only: its NPV, BCR and IRR are left empty and its
        cash flows table has no rows.
    """
    from corridor.scenario import as_scenario

    ledger.check_project(project)
    problem = limits.DISCOUNT_RATE.problem(rate)
    if problem:
        raise InvalidOptionError(f"rate: {problem}")
    row = ledger.projects.loc[project]
    cases, hhi_rows = [], []
    for scenario in scenarios:
        base = as_scenario(scenario)
        name = base.name if base is not None else "baseline"
        without = assign(network, demand, base)
        with_ = assign(network, demand, _with_project(ledger, project, base))
        cases.append({"case": name, **_benefit(_year_loss(without), _year_loss(with_))})
        hhi_rows += _hhi_change(without, with_, name)
    if risk is not None:
        cases.append({"case": "expected", **_risk_benefit(network, demand, ledger, project,
                                                          risk, draws, seed)})
    table = pd.DataFrame(cases)
    build = int(row["build_years"]) if pd.notna(row["build_years"]) else 0
    life = int(row["life_years"]) if pd.notna(row["life_years"]) else DEFAULT_LIFE_YEARS
    opex = float(row["opex_usd_per_year"]) if pd.notna(row["opex_usd_per_year"]) else 0.0
    if pd.isna(row["capex_usd"]):
        # No published capital cost: the benefits stand, the money measures cannot be had.
        table = table.assign(npv_usd=math.nan, bcr=None, irr=None)
        return Appraisal(project, rate, table, pd.DataFrame(hhi_rows),
                         pd.DataFrame(columns=list(CASH_FLOW_COLUMNS)))
    first = None
    for i, case in table.iterrows():
        flows = cash_flows(float(row["capex_usd"]), opex, float(case["benefit_usd"]), build,
                           life, rate)
        first = flows if first is None else first
        table.loc[i, "npv_usd"] = npv(flows, rate)
        table.loc[i, "bcr"] = bcr(flows, rate)
        table.loc[i, "irr"] = irr(flows)
    return Appraisal(project, rate, table, pd.DataFrame(hhi_rows), first)


def _hhi_change(without: FlowResult, with_: FlowResult, case: str) -> list[dict]:
    before = dependency(without).hhi
    after = dependency(with_).hhi
    keep = ["exporter", "hhi"]
    a = before[before["dimension"] == "transit"][keep].set_index("exporter")["hhi"]
    b = after[after["dimension"] == "transit"][keep].set_index("exporter")["hhi"]
    rows = []
    for exporter in sorted(set(a.index) | set(b.index)):
        old, new = float(a.get(exporter, math.nan)), float(b.get(exporter, math.nan))
        rows.append({"case": case, "exporter": exporter, "transit_hhi_without": old,
                     "transit_hhi_with": new, "change": new - old})
    return rows


def _risk_benefit(network: Network, demand: pd.DataFrame, ledger: Ledger, project: str,
                  risk: object, draws: int, seed: int) -> dict[str, float]:
    """The mean yearly benefit over the same risk draws without and with the project."""
    return risk_benefit(network, demand, ledger, [project], risk, draws, seed)


def risk_benefit(network: Network, demand: pd.DataFrame, ledger: Ledger,
                 projects: list[str], risk: object, draws: int,
                 seed: int) -> dict[str, float]:
    """The mean yearly benefit over the same risk draws without and with ``projects`` built
    together (on top of the risk file's own scenario)."""
    from corridor.risk import RiskFile, load_risk, run_risk
    from corridor.scenario import as_scenario

    chosen = risk if isinstance(risk, RiskFile) else load_risk(risk)
    built = as_scenario(chosen.scenario)
    for project in projects:
        built = _with_project(ledger, project, built)
    plain = run_risk(network, demand, chosen, draws=draws, seed=seed)
    after = run_risk(network, demand, dataclasses.replace(chosen, scenario=built),
                     draws=draws, seed=seed)

    def mean(result: object) -> dict[str, float]:
        table = result.draws
        return {"generalised": float(table["generalised_cost_usd"].mean()),
                "cost": float(table["cost_usd"].mean()),
                "stranded_t": float(table["stranded_t"].mean()),
                "stranded_value": float(table["stranded_value_usd"].mean()),
                "co2": float(table["co2_t"].mean()) if "co2_t" in table else math.nan}

    return _benefit(mean(plain), mean(after))
