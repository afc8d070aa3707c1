"""How well the model reproduces observed trade: one error per observation, a summary per kind.

Each observation (:mod:`corridor.observed`) is measured on the model:

* **volume**: tonnes a year of the assignment on a set of links (routes that use any of them),
  at a set of ports (routes that change between water and land there) or of all delivered
  demand (``od:*``), narrowed by commodity and by the origin or destination country, scaled by
  the share of a year the observed period covers;
* **share**: the ratio of two such volumes, in percent;
* **time**, **rate**, **length**: the days, money (USD/t times the tonnes of the observed
  unit) or kilometres of the model's route between the two places under the stated modes,
  countries to avoid and via point (times by the fastest route, rates by the cheapest,
  lengths by the shortest).

An observation is **independent** when no input behind its modelled value cites the same
publication: for a route, the links on it and the cost-model rows of its modes; for a volume,
the demand rows that flow through the element and the capacities of its links. The rest are
still shown, marked as fitted, because a model that only matches what it was fitted to proves
little. The summary gives, per kind, the count, the weighted absolute percentage error (WAPE),
the mean bias and the share of observations within ±15 % and ±30 % (shares: within ±5
points), for all observations and for the independent ones.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from corridor.demand import OD_KEYS
from corridor.errors import CorridorError, InvalidOptionError
from corridor.network import Network
from corridor.observed import KINDS, RATE_PREFIX, TEU_UNITS, Observations, load_observations
from corridor.tables import split_list

#: How close counts as a match, per kind: a relative error for most, points for shares.
SHARE_POINTS = 5.0
WATER = ("sea", "ferry")
RESULT_COLUMNS = ["obs_id", "kind", "what", "element", "commodity", "observed", "modelled",
                  "unit", "error", "error_pct", "within_15", "within_30", "independent",
                  "shared_sources", "to_base", "period", "source_id", "note"]
#: The unit each kind is summed in for its WAPE (``to_base`` converts an observation's unit).
BASE_UNITS = {"volume": "t", "share": "%", "time": "days", "rate": "USD/t", "length": "km"}


@dataclass
class Calibration:
    """The model against the observations.

    Attributes
    ----------
    table
        One row per observation (:data:`RESULT_COLUMNS`): observed and modelled value in the
        observation's unit, the error (modelled − observed) and the error in percent of the
        observation (points for shares), the match flags, whether it is independent of the
        inputs, ``to_base`` (the factor to the kind's :data:`BASE_UNITS`, in which the WAPE is
        summed), and a note (the countries of a route, or why the model could not measure
        it).
    summary
        One row per kind and subset (``all`` or ``independent``): ``count``, ``missing``
        (no modelled value), ``wape_pct``, ``bias_pct`` (mean signed error in percent),
        ``within_15_pct``, ``within_30_pct`` (shares: within ±5 points, in both columns),
        ``mean_abs_points`` (shares only).
    scenario
        The scenario the model ran under.
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    scenario: str = "baseline"
    checks: dict[str, Any] = field(default_factory=dict)

    def kind(self, kind: str, independent: bool = False) -> dict[str, float]:
        """The summary row of one kind (``independent=True`` for the independent subset)."""
        subset = "independent" if independent else "all"
        rows = self.summary[(self.summary["kind"] == kind) & (self.summary["subset"] == subset)]
        return rows.iloc[0].to_dict() if len(rows) else {}

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario,
                "summary": _records(self.summary), "observations": _records(self.table)}

    def csv_tables(self) -> dict[str, pd.DataFrame]:
        """The tables to export, by file name (the names are :data:`CSV_FILES`)."""
        return {"calibration.csv": self.table, "calibration_summary.csv": self.summary}


CSV_FILES = ("calibration.csv", "calibration_summary.csv")


def calibrate(network: Network, demand: pd.DataFrame, scenario: object = None,
              observations: Observations | None = None,
              result: Any = None) -> Calibration:
    """Measure the model against the observations.

    Parameters
    ----------
    network, demand
        The network and demand (before any scenario).
    scenario
        Optional scenario (object, name or path) applied to both before measuring.
    observations
        Default: the shipped observations (:func:`corridor.observed.load_observations`).
    result
        A :class:`corridor.flow.FlowResult` of the same network, demand and scenario, when
        one is at hand (it is computed otherwise).

    Returns
    -------
    Calibration
    """
    from corridor.flow import assign
    from corridor.routing import Router
    from corridor.scenario import scenario_inputs

    network, demand, name = scenario_inputs(network, demand, scenario)
    observed = observations if observations is not None else load_observations(
        network=network)
    flows = result if result is not None else assign(network, demand)
    measure = _Measure(network, demand, flows, observed, Router(network))
    rows = []
    for kind in KINDS:
        for obs in observed.tables[kind].to_dict(orient="records"):
            rows.append(measure.row(kind, obs))
    table = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    return Calibration(table=table, summary=summarise(table), scenario=name)


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Per kind, for all observations and for the independent ones: count, WAPE, bias, and
    the share within ±15 % and ±30 % (shares: within ±5 points)."""
    out = []
    for kind in KINDS:
        mine = table[table["kind"] == kind]
        for subset, rows in (("all", mine), ("independent", mine[mine["independent"]])):
            if not len(rows):
                continue
            ok = rows[rows["modelled"].notna()]
            observed = ok["observed"].astype(float) * ok["to_base"].astype(float)
            error = ok["error"].astype(float) * ok["to_base"].astype(float)
            entry = {"kind": kind, "subset": subset, "count": len(rows),
                     "missing": int(rows["modelled"].isna().sum())}
            if kind == "share":
                entry.update(wape_pct=np.nan, bias_pct=float(error.mean()) if len(ok) else np.nan,
                             mean_abs_points=float(error.abs().mean()) if len(ok) else np.nan)
            else:
                entry.update(
                    wape_pct=100.0 * float(error.abs().sum() / observed.sum())
                    if observed.sum() > 0 else np.nan,
                    bias_pct=float(ok["error_pct"].mean()) if len(ok) else np.nan,
                    mean_abs_points=np.nan)
            entry["within_15_pct"] = 100.0 * float(rows["within_15"].mean())
            entry["within_30_pct"] = 100.0 * float(rows["within_30"].mean())
            out.append(entry)
    return pd.DataFrame(out, columns=["kind", "subset", "count", "missing", "wape_pct",
                                      "bias_pct", "within_15_pct", "within_30_pct",
                                      "mean_abs_points"])


def _line_haul(network: Network, route: Any, commodity: str, service: str) -> float:
    """A route's carriage alone, per tonne, on ``network``'s tariffs: each link's tariff (or
    its fixed tariff), without border, gauge-change and transfer charges."""
    links = network.links
    total = 0.0
    for leg in route.legs:
        if leg.mode == "transfer":
            continue
        fixed = links.at[leg.link_id, "tariff_usd_per_t"]
        if pd.notna(fixed):
            total += float(fixed)
            continue
        section = links.at[leg.link_id, "section"] if "section" in links else ""
        params = network.costs.mode(commodity, leg.mode,
                                    "" if pd.isna(section) else str(section), service)
        total += params.tariff_usd_per_tkm * leg.length_km
    return total


class _Measure:
    """Model values of observations, over one assignment and one router."""

    def __init__(self, network: Network, demand: pd.DataFrame, flows: Any,
                 observed: Observations, router: Any) -> None:
        self.net, self.flows, self.observed, self.router = network, flows, observed, router
        self._routers: dict[str, tuple[Any, str, set[str]]] = {}
        country = network.nodes["country"]
        split = flows.route_split.copy()
        split["origin_country"] = split["origin"].map(country).fillna("")
        split["destination_country"] = split["destination"].map(country).fillna("")
        self.split = split
        self.link_sets = [set(ids.split(";")) for ids in split["link_ids"]]
        od = flows.od.copy()
        od["origin_country"] = od["origin"].map(country).fillna("")
        od["destination_country"] = od["destination"].map(country).fillna("")
        self.od = od
        self.link_mode = network.links["mode"].to_dict()
        self.link_sources = {k: set(_ids(v)) for k, v in network.links["source_id"].items()}
        self.segment_sources = _segment_sources(demand)
        self.cost_sources = _cost_sources(network)
        self.urls = _source_urls(network, observed)

    def _publication(self, source_id: str) -> str:
        """What identifies a publication: its normalised address, else its id (two ids that
        cite one page are one publication)."""
        return self.urls.get(source_id) or source_id

    # -- one observation ------------------------------------------------------------------

    def row(self, kind: str, obs: dict) -> dict:
        base = {"obs_id": obs["obs_id"], "kind": kind, "period": obs["period"],
                "source_id": obs["source_id"], "note": ""}
        try:
            if kind == "volume":
                out = self._volume(obs)
            elif kind == "share":
                out = self._share(obs)
            else:
                out = self._route(kind, obs)
        except CorridorError as exc:
            out = {"what": _what(kind, obs), "element": _describe(kind, obs),
                   "commodity": obs.get("commodity") or "", "observed": _observed(kind, obs),
                   "modelled": np.nan, "unit": _unit(kind, obs), "inputs": set(),
                   "to_base": 1.0, "note": str(exc)}
        inputs = out.pop("inputs")
        own = {self._publication(i): i for i in _ids(obs["source_id"])}
        used = {self._publication(i) for i in inputs}
        shared = sorted(own[key] for key in own if key in used)
        observed, modelled = out["observed"], out["modelled"]
        error = modelled - observed if not _missing(modelled) else np.nan
        if kind == "share":
            error_pct = error
            within_15 = within_30 = bool(not _missing(error) and abs(error) <= SHARE_POINTS)
        else:
            error_pct = 100.0 * error / observed if not _missing(error) else np.nan
            within_15 = bool(not _missing(error_pct) and abs(error_pct) <= 15.0 + 1e-9)
            within_30 = bool(not _missing(error_pct) and abs(error_pct) <= 30.0 + 1e-9)
        return {**base, **out, "error": error, "error_pct": error_pct, "within_15": within_15,
                "within_30": within_30, "independent": not shared,
                "shared_sources": ";".join(shared), "note": out.get("note") or base["note"]}

    def _volume(self, obs: dict) -> dict:
        tonnes, inputs = self._tonnes(obs["element"], obs)
        unit = obs["unit"]
        per_unit = self._tonnes_per_unit(unit, obs.get("commodity") or "")
        modelled = tonnes * obs["fraction"] / per_unit
        return {"what": obs["what"], "element": _describe("volume", obs),
                "commodity": obs.get("commodity") or "", "observed": float(obs["value"]),
                "modelled": modelled, "unit": unit, "inputs": inputs, "to_base": per_unit}

    def _share(self, obs: dict) -> dict:
        top, inputs_top = self._tonnes(obs["numerator"], obs)
        bottom, inputs_bottom = self._tonnes(obs["denominator"], obs)
        modelled = 100.0 * top / bottom if bottom > 0 else np.nan
        return {"what": obs["what"], "element": _describe("share", obs),
                "commodity": obs.get("commodity") or "", "observed": float(obs["value_pct"]),
                "modelled": modelled, "unit": "%", "inputs": inputs_top | inputs_bottom,
                "to_base": 1.0}

    def _route(self, kind: str, obs: dict) -> dict:
        commodity = obs["commodity"]
        optimize = {"time": "time", "rate": "cost", "length": "distance"}[kind]
        modes = [m for m in str(obs.get("modes") or "").split(";") if m]
        own = self.net.costs.allowed_modes(commodity)
        avoid_modes = [m for m in own if modes and m not in modes and m != "transfer"]
        avoid = [c for c in str(obs.get("avoid") or "").split(";") if c]
        router, priced, market_inputs = self._router_for(kind, obs)
        route = router.route(obs["origin"], obs["destination"], commodity=commodity,
                                  optimize=optimize, avoid=avoid, avoid_modes=avoid_modes,
                                  via=obs.get("via") or None,
                                  service=obs.get("service") or "")[0]
        inputs: set[str] = set()
        for leg in route.legs:
            inputs |= self.link_sources.get(leg.link_id, set())
            inputs |= self.cost_sources.get((commodity, leg.mode), set())
        inputs |= self.cost_sources.get((commodity, "transfers"), set())
        inputs |= market_inputs
        to_base = 1.0
        if kind == "time":
            modelled, unit = route.days, "days"
            observed = (obs["days_low"] + obs["days_high"]) / 2.0
        elif kind == "rate":
            unit = obs["unit"]
            per = unit[len(RATE_PREFIX):]
            per_km = per.endswith("-km")
            tonnes = self._tonnes_per_unit(per.removesuffix("-km"), commodity)
            price = (_line_haul(router.network, route, commodity, obs.get("service") or "")
                     if obs.get("basis") == "line_haul" else route.cost_usd_per_t)
            modelled = price * tonnes / (route.length_km if per_km else 1.0)
            observed = (obs["value_low"] + obs["value_high"]) / 2.0
            to_base = (route.length_km if per_km else 1.0) / tonnes
        else:
            modelled, unit, observed = route.length_km, "km", float(obs["km"])
        return {"what": _what(kind, obs), "element": _describe(kind, obs),
                "commodity": commodity, "observed": float(observed), "modelled": modelled,
                "unit": unit, "inputs": inputs, "to_base": to_base,
                "note": " → ".join(route.countries) + priced}

    def _router_for(self, kind: str, obs: dict) -> tuple[Any, str, set[str]]:
        """The router for a rate observation: tariffs that follow a market index priced at
        the observation's month or year (the shipped tariffs when it has no date, or an index
        has no reading then), with the readings' sources."""
        period = str(obs.get("period") or "")
        modes = tuple(m for m in str(obs.get("modes") or "").split(";") if m)
        if (kind != "rate" or not period
                or not self.net.costs.follows_market(obs["commodity"], modes)):
            return self.router, "", set()
        if period not in self._routers:
            from corridor.routing import Router

            try:
                priced = self.net.priced_at(period)
            except InvalidOptionError as exc:
                self._routers[period] = (self.router, f"; tariffs as shipped ({exc})", set())
            else:
                market = self.net.costs.market
                used = market[market["index_id"].isin(self.net.costs.market_indices())
                              & market["date"].astype(str).str.startswith(period)]
                self._routers[period] = (Router(priced), f"; priced at the {period} market",
                                         {i for ids in used["source_id"] for i in _ids(ids)})
        return self._routers[period]

    # -- elements -------------------------------------------------------------------------

    def _tonnes(self, element: str, obs: dict) -> tuple[float, set[str]]:
        kind, _, ids = element.partition(":")
        wanted = [c for c in str(obs.get("commodity") or "").split(";") if c]
        if kind == "od":
            table = _filtered(self.od, wanted, obs)
            inputs: set[str] = set()
            for key in table[list(OD_KEYS)].itertuples(index=False, name=None):
                inputs |= self.segment_sources.get(key, set())
            return float(table["delivered_t"].sum()), inputs
        members = set(ids.split("+"))
        mask = _filtered(self.split, wanted, obs).index
        total = 0.0
        inputs = set()
        for i in mask:
            row = self.split.loc[i]
            if kind == "link":
                hit = bool(self.link_sets[i] & members)
            else:
                hit = self._handled_at(row, members)
            if hit:
                total += float(row["t_per_year"])
                inputs |= self.segment_sources.get(tuple(row[k] for k in OD_KEYS), set())
        if kind == "link":
            for link in members:
                inputs |= self.link_sources.get(link, set())
        return total, inputs

    def _handled_at(self, row: pd.Series, ports: set[str]) -> bool:
        """Whether a route changes between water and land (or starts or ends on water) at one
        of ``ports``."""
        nodes = str(row["nodes"]).split(";")
        links = str(row["link_ids"]).split(";")
        water = [self.link_mode.get(link) in WATER for link in links]
        for i, node in enumerate(nodes):
            if node not in ports:
                continue
            before = water[i - 1] if i > 0 else None
            after = water[i] if i < len(water) else None
            if (before is None and after) or (after is None and before) or \
                    (before is not None and after is not None and before != after):
                return True
        return False

    def _tonnes_per_unit(self, unit: str, commodity: str) -> float:
        if unit in TEU_UNITS:
            t_per_teu = float(self.net.costs.commodities.at[commodity, "t_per_teu"])
            return TEU_UNITS[unit] * t_per_teu
        return float(self.observed.units[unit])


def _filtered(table: pd.DataFrame, commodities: list[str], obs: dict) -> pd.DataFrame:
    mask = pd.Series(True, index=table.index)
    if commodities:
        mask &= table["commodity"].isin(commodities)
    for column in ("origin_country", "destination_country"):
        rule = str(obs.get(column) or "")
        if rule:
            negate = rule.startswith("!")
            codes = set(rule.lstrip("!").split(";"))
            hit = table[column].map(lambda c, codes=codes: bool(set(str(c).split(";")) & codes))
            mask &= ~hit if negate else hit
    return table[mask]


def _segment_sources(demand: pd.DataFrame) -> dict[tuple, set[str]]:
    out: dict[tuple, set[str]] = {}
    frame = demand.copy()
    for key in ("allowed_modes", "avoid_countries"):
        frame[key] = frame[key].fillna("") if key in frame else ""
    for row in frame.to_dict(orient="records"):
        out.setdefault(tuple(row[k] for k in OD_KEYS), set()).update(
            _ids(row.get("source_id")))
    return out


def _cost_sources(network: Network) -> dict[tuple[str, str], set[str]]:
    costs = network.costs
    out: dict[tuple[str, str], set[str]] = {}
    for (commodity, mode, _section, _service), row in costs.modes.iterrows():
        out.setdefault((commodity, mode), set()).update(_ids(row["source_id"]))
    for row in costs.transfers.to_dict(orient="records"):
        out.setdefault((row["commodity"], "transfers"), set()).update(_ids(row["source_id"]))
    return out


def _source_urls(network: Network, observed: Observations) -> dict[str, str]:
    from corridor.demand import default_demand_path
    from corridor.tables import SOURCE_COLUMNS, read_table

    tables = [network.sources.reset_index(), observed.sources.reset_index()]
    demand_sources = default_demand_path().parent / "sources.csv"
    if demand_sources.is_file():
        tables.append(read_table(demand_sources, SOURCE_COLUMNS))
    out: dict[str, str] = {}
    for table in tables:
        for source_id, url in zip(table["source_id"], table["url"].fillna(""), strict=True):
            key = re.sub(r"^https?://(www\.|m\.)?", "", str(url).strip().lower()).rstrip("/")
            if key:
                out[str(source_id)] = key
    return out


def _ids(value: object) -> list[str]:
    return split_list(str(value or ""), ";")


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _what(kind: str, obs: dict) -> str:
    return str(obs.get("what") or "")


def _describe(kind: str, obs: dict) -> str:
    if kind == "volume":
        text = obs["element"]
    elif kind == "share":
        text = f"{obs['numerator']} / {obs['denominator']}"
    else:
        text = f"route {obs['origin']} → {obs['destination']}"
        if obs.get("via"):
            text += f" via {obs['via']}"
        if obs.get("modes"):
            text += f" [{obs['modes']}]"
        if obs.get("avoid"):
            text += f" avoiding {obs['avoid']}"
        if obs.get("service"):
            text += f" ({obs['service']})"
    for column, label in (("origin_country", "from"), ("destination_country", "to")):
        if kind in ("volume", "share") and obs.get(column):
            text += f" {label} {obs[column]}"
    return text


def _observed(kind: str, obs: dict) -> float:
    if kind == "volume":
        return float(obs["value"])
    if kind == "share":
        return float(obs["value_pct"])
    if kind == "time":
        return (obs["days_low"] + obs["days_high"]) / 2.0
    if kind == "rate":
        return (obs["value_low"] + obs["value_high"]) / 2.0
    return float(obs["km"])


def _unit(kind: str, obs: dict) -> str:
    return {"volume": obs.get("unit", ""), "share": "%", "time": "days",
            "rate": obs.get("unit", ""), "length": "km"}[kind]


def _records(table: pd.DataFrame) -> list[dict]:
    out = []
    for row in table.to_dict(orient="records"):
        out.append({k: (None if isinstance(v, float) and not math.isfinite(v) else
                        (v.item() if isinstance(v, np.generic) else v))
                    for k, v in row.items()})
    return out
