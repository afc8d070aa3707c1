"""The assignment's result: link flows, OD table, route split and totals, read from a solution."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from corridor.demand import OD_KEYS
from corridor.flow.model import MT, TIE_BREAK_USD_PER_T, FlowModel, _Group
from corridor.graph import LINK
from corridor.network import Network
from corridor.outputs import jsonable, write_tables

SATURATED_UTILISATION = 0.999
#: The files :meth:`FlowResult.to_csv` writes.
CSV_FILES = ("link_flows.csv", "link_flows_by_commodity.csv", "od.csv", "route_split.csv",
             "stranded.csv", "terminal_flows.csv", "totals.csv")
_FLOW_TOL_MT = 1e-9  # 1 kg/yr: flows below are numerical noise


@dataclass
class FlowResult:
    """The assignment of a demand to a network under a scenario.

    Attributes
    ----------
    link_flows
        One row per link (indexed by ``link_id``): ends, mode, corridor, country, status,
        ``capacity_t_per_year``, ``flow_t_per_year`` (both directions), ``flow_forward_t``,
        ``flow_backward_t``, ``utilisation``, ``shadow_price_usd_per_t`` (USD saved per year
        per extra tonne of yearly capacity), ``saturated``.
    link_flows_by_commodity
        Long table ``link_id, commodity, flow_t_per_year`` (non-zero flows only).
    od
        One row per demand segment (OD pair, commodity, ``allowed_modes``, "" when every mode
        of the commodity may be used): demand, delivered and stranded tonnes, tonne-weighted
        cost (USD/t), days and CO2 (kg/t) of what was delivered, number of routes.
    route_split
        One row per route used by a demand segment: tonnes, share of the delivered tonnes,
        corridors, countries, modes, link ids, km, days, cost USD/t.
    totals
        ``cost_usd`` (money), ``generalised_cost_usd``, ``tonne_km``, ``avg_days`` (weighted by
        delivered tonnes), ``co2_t``, ``demand_t``, ``delivered_t``, ``stranded_t``,
        ``investment_usd`` (of links a scenario added), ``objective_usd`` (generalised cost plus
        stranding penalties: what the LP minimised).
    stranded
        Demand segments with stranded tonnes: ``origin, destination, commodity,
        allowed_modes, demand_t, stranded_t``.
    terminal_flows
        One row per terminal (``terminals.csv``): tonnes a year changing mode there, capacity,
        utilisation, shadow price, saturated.
    scenario
        Name of the scenario (``"baseline"`` when none).
    periods
        When the scenario cuts the year into periods (:mod:`corridor.flow.periods`): one row
        per period with its dates, the dated changes in force, demand, delivered, stranded
        tonnes, their export value, cost, average days and the tonnes waiting in storage at
        its end; the other tables then sum the periods. ``None`` for a one-period year.
    period_results
        The result of each period (same order as ``periods``).
    """

    link_flows: pd.DataFrame
    link_flows_by_commodity: pd.DataFrame
    od: pd.DataFrame
    route_split: pd.DataFrame
    totals: dict[str, float]
    stranded: pd.DataFrame
    scenario: str = "baseline"
    penalty_usd_per_t: dict[str, float] = field(default_factory=dict)
    network: Network | None = field(default=None, repr=False)
    terminal_flows: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=TERMINAL_COLUMNS))
    periods: pd.DataFrame | None = None
    period_results: list[FlowResult] = field(default_factory=list, repr=False)

    @property
    def saturated(self) -> pd.DataFrame:
        """Links at capacity, dearest shadow price first."""
        table = self.link_flows[self.link_flows["saturated"]]
        return table.sort_values("shadow_price_usd_per_t", ascending=False)

    def stranded_by_commodity(self) -> pd.DataFrame:
        """Demand, delivered and stranded tonnes per commodity."""
        return (self.od.groupby("commodity")[["demand_t", "delivered_t", "stranded_t"]].sum()
                .reset_index())

    def to_dict(self) -> dict:
        """Plain data for JSON (NaN stays NaN; :func:`corridor.cli.common.print_json` nulls it)."""
        links = self.link_flows[self.link_flows["flow_t_per_year"] > 0].reset_index()
        return {
            "scenario": self.scenario,
            "totals": self.totals,
            "penalty_usd_per_t": self.penalty_usd_per_t,
            "od": self.od.to_dict(orient="records"),
            "stranded": self.stranded.to_dict(orient="records"),
            "route_split": self.route_split.to_dict(orient="records"),
            "link_flows": links.to_dict(orient="records"),
            "saturated": self.saturated.reset_index().to_dict(orient="records"),
            "terminal_flows": self.terminal_flows.to_dict(orient="records"),
            "link_flows_by_commodity": self.link_flows_by_commodity.to_dict(orient="records"),
            **({"periods": self.periods.to_dict(orient="records")}
               if self.periods is not None else {}),
        }

    def to_json(self) -> str:
        """The result as a JSON document (NaN becomes null)."""
        return json.dumps(jsonable(self.to_dict()), ensure_ascii=False, indent=2, default=str)

    def csv_tables(self) -> dict[str, pd.DataFrame]:
        """The tables to export, by file name (the names are :data:`CSV_FILES`, and
        ``periods.csv`` when the year is cut into periods)."""
        totals = pd.DataFrame([{"metric": k, "value": v} for k, v in self.totals.items()])
        tables = {"link_flows.csv": self.link_flows.reset_index(),
                  "link_flows_by_commodity.csv": self.link_flows_by_commodity,
                  "od.csv": self.od, "route_split.csv": self.route_split,
                  "stranded.csv": self.stranded, "terminal_flows.csv": self.terminal_flows,
                  "totals.csv": totals}
        chosen = {name: tables[name] for name in CSV_FILES}
        if self.periods is not None:
            chosen["periods.csv"] = self.periods
        return chosen

    def to_geodataframe(self, layer: str = "links") -> Any:
        """A GeoDataFrame (WGS84) of the result: ``links`` (every link with its flow,
        utilisation and shadow price, as LineStrings) or ``routes`` (the route split, one
        LineString per route). Needs geopandas (``pip install 'corridor[geo]'``)."""
        from corridor.geometry import flows_frame, route_split_frame

        if self.network is None:
            raise ValueError("the result does not hold the network it was computed on")
        if layer == "links":
            return flows_frame(self.network, self.link_flows)
        if layer == "routes":
            return route_split_frame(self.network, self.route_split)
        raise ValueError(f"layer must be 'links' or 'routes', not {layer!r}")

    def to_csv(self, folder: str | Path, inputs: Iterable[str | Path] = ()) -> list[Path]:
        """Write :meth:`csv_tables` into ``folder``; returns the paths written.

        Each file is written atomically and never over one of ``inputs`` or the network's own
        files (see :func:`corridor.outputs.write_tables`).
        """
        protected = list(inputs) + (self.network.input_files() if self.network else [])
        return write_tables(folder, self.csv_tables(), protected)


# -- reading the solution ------------------------------------------------------------------------


def build_result(model: FlowModel, values: np.ndarray, duals: np.ndarray,
                 scenario: str = "baseline", share: float = 1.0) -> FlowResult:
    """Turn an LP solution into a :class:`FlowResult` (link flows, OD table, route split).

    ``share`` is the part of the year the solution covers (a period, see
    :mod:`corridor.flow.periods`): demand and capacities are taken at that share.
    """
    net = model.network
    links = net.links
    n_links = len(links)
    tonnes = np.maximum(values, 0.0) * MT
    flow = model.col_link >= 0
    link_pos = model.col_link[flow]
    t_flow = tonnes[flow]
    fwd = model.col_forward[flow]
    total = np.bincount(link_pos, weights=t_flow, minlength=n_links)
    forward = np.bincount(link_pos[fwd], weights=t_flow[fwd], minlength=n_links)
    capacity = links["capacity_t_per_year"].to_numpy(dtype=float)
    shadow = np.zeros(n_links)
    cap_duals = duals[model.n_conservation_rows:] if len(duals) else np.zeros(0)
    n_link_rows = len(model.cap_link)
    for (link, _teu), dual in zip(model.cap_link, cap_duals[:n_link_rows], strict=True):
        shadow[link] += max(0.0, -dual)  # HiGHS: a binding <= row has a non-positive dual
    n_terminal_rows = len(model.cap_terminal)
    terminal_flows = _terminal_table(model, tonnes,
                                     cap_duals[n_link_rows:n_link_rows + n_terminal_rows], share)
    with np.errstate(divide="ignore", invalid="ignore"):
        utilisation = np.where(capacity > 0, total / (capacity * share), np.nan)
    flows = pd.DataFrame({
        "from_node_id": links["from_node_id"], "to_node_id": links["to_node_id"],
        "mode": links["mode"], "corridor": links["corridor"], "country": links["country"],
        "status": links["status"], "capacity_t_per_year": capacity,
        "flow_t_per_year": total, "flow_forward_t": forward, "flow_backward_t": total - forward,
        "utilisation": utilisation, "shadow_price_usd_per_t": shadow,
    }, index=links.index)
    flows["saturated"] = (flows["utilisation"] >= SATURATED_UTILISATION) | (shadow > 1e-6)
    commodity = model.col_commodity[flow]
    by_commodity = []
    for code, name in enumerate(model.commodities):
        pick = commodity == code
        amounts = np.bincount(link_pos[pick], weights=t_flow[pick], minlength=n_links)
        used = np.flatnonzero(amounts > _FLOW_TOL_MT * MT)
        by_commodity.append(pd.DataFrame({"link_id": links.index[used], "commodity": name,
                                          "flow_t_per_year": amounts[used]}))
    link_by_commodity = (pd.concat(by_commodity, ignore_index=True) if by_commodity else
                         pd.DataFrame(columns=["link_id", "commodity", "flow_t_per_year"]))

    od = model.od.rename(columns={"t_per_year": "demand_t"}).copy()
    od["demand_t"] = od["demand_t"] * share
    od["stranded_t"] = 0.0
    routes = []
    lookup = _Lookup(model)
    for group in model.groups:
        od.loc[group.od_rows, "stranded_t"] = tonnes[group.strand_cols]
        if group.source >= 0 and len(group.arcs):
            cols = group.col_start + np.arange(len(group.arcs))
            routes += _decompose(model, group, values[cols], lookup)
    od["stranded_t"] = np.minimum(od["stranded_t"], od["demand_t"])
    od["delivered_t"] = od["demand_t"] - od["stranded_t"]
    split, per_od = _route_table(routes, od)
    for column, values_by_od in per_od.items():
        od[column] = values_by_od
    keys = list(OD_KEYS)
    od = od[keys + ["demand_t", "delivered_t", "stranded_t", "cost_usd_per_t", "days",
                    "co2_kg_per_t", "routes"]]
    stranded = od.loc[od["stranded_t"] > 0.5, keys + ["demand_t", "stranded_t"]
                      ].reset_index(drop=True)
    arc_t = np.where(model.is_strand | model.is_slack, 0.0, tonnes)
    delivered = float(od["delivered_t"].sum())
    investment = 0.0
    if "investment_usd" in links:
        operating = links["status"] == "operating"
        investment = float(pd.to_numeric(links.loc[operating, "investment_usd"],
                                         errors="coerce").fillna(0).sum())
    worth = od["commodity"].map(model.network.costs.value_usd_per_t).to_numpy(dtype=float)
    totals = {
        "cost_usd": float(arc_t @ model.col_money),
        "generalised_cost_usd": float(arc_t @ (model.col_cost - TIE_BREAK_USD_PER_T
                                               * ~(model.is_strand | model.is_slack))),
        "tonne_km": float(arc_t @ model.col_km),
        "avg_days": float(arc_t @ model.col_days / delivered) if delivered > 0 else 0.0,
        "co2_t": float(arc_t @ model.col_co2 / 1000.0),
        "demand_t": float(od["demand_t"].sum()),
        "delivered_t": delivered,
        "stranded_t": float(od["stranded_t"].sum()),
        # export value of the stranded cargo at the commodity prices of the cost model
        "stranded_value_usd": float(od["stranded_t"].to_numpy() @ worth),
        "cost_usd_per_t": float(arc_t @ model.col_money / delivered) if delivered > 0 else 0.0,
        "contract_shortfall_t": float(tonnes[model.is_slack].sum()),
        "investment_usd": investment,
        # what the LP minimised: generalised cost plus the stranding penalties
        "objective_usd": float(np.maximum(values, 0.0) @ model.col_cost * MT),
    }
    return FlowResult(link_flows=flows, link_flows_by_commodity=link_by_commodity, od=od,
                      route_split=split, totals=totals, stranded=stranded, scenario=scenario,
                      penalty_usd_per_t=dict(model.penalty_usd_per_t), network=net,
                      terminal_flows=terminal_flows)


TERMINAL_COLUMNS = ["terminal_id", "node_id", "commodity", "modes", "capacity_t_per_year",
                    "flow_t_per_year", "utilisation", "shadow_price_usd_per_t", "saturated"]


def _terminal_table(model: FlowModel, tonnes: np.ndarray, duals: np.ndarray,
                    share: float = 1.0) -> pd.DataFrame:
    """Tonnes changing mode at each terminal, against its capacity (with the shadow price)."""
    terminals = model.network.terminals
    if not len(terminals):
        return pd.DataFrame(columns=TERMINAL_COLUMNS)
    used = model.col_terminal >= 0
    flow = np.bincount(model.col_terminal[used], weights=tonnes[used],
                       minlength=len(terminals))
    shadow = np.zeros(len(terminals))
    for position, dual in zip(model.cap_terminal, duals, strict=True):
        shadow[position] = max(0.0, -dual)
    capacity = terminals["capacity_t_per_year"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        utilisation = np.where(capacity > 0, flow / (capacity * share), np.nan)
    table = terminals.reset_index()[["terminal_id", "node_id", "commodity", "modes",
                                     "capacity_t_per_year"]].copy()
    table["flow_t_per_year"] = flow
    table["utilisation"] = utilisation
    table["shadow_price_usd_per_t"] = shadow
    table["saturated"] = (table["utilisation"] >= SATURATED_UTILISATION) | (shadow > 1e-6)
    return table[TERMINAL_COLUMNS]


class _Lookup:
    """The link and OD fields a route description reads, as plain lists (read once per
    result, not one pandas row per arc)."""

    def __init__(self, model: FlowModel) -> None:
        links = model.network.links
        self.link_id = links.index.tolist()
        self.start = links["from_node_id"].tolist()
        self.end = links["to_node_id"].tolist()
        self.mode = links["mode"].tolist()
        self.corridors = [[t.strip() for t in str(c or "").split(";") if t.strip()]
                          for c in links["corridor"].fillna("")]
        self.country = [str(c or "") for c in links["country"].fillna("")]
        self.node_country = {k: str(v or "") for k, v in
                             model.network.nodes["country"].fillna("").items()}
        self.od = model.od[["origin", "destination", "commodity", "allowed_modes",
                            "avoid_countries"]].to_dict(orient="index")
        self.passages = model.network.passage_index()
        self.node_row = {node: i for i, node in enumerate(model.network.nodes.index)}
        self._along: dict[tuple[int, bool], tuple[str, ...]] = {}

    def countries_along(self, pos: int, forward: bool) -> tuple[str, ...]:
        """The country codes met along a link in its direction: its first node's, its own,
        its last node's (a link or node in two countries lists both)."""
        key = (pos, forward)
        if key not in self._along:
            a, b = (self.start[pos], self.end[pos]) if forward else (self.end[pos],
                                                                      self.start[pos])
            self._along[key] = tuple(code for codes in (self.node_country[a], self.country[pos],
                                                        self.node_country[b])
                                     for code in codes.split(";") if code)
        return self._along[key]


def _decompose(model: FlowModel, group: _Group, values_mt: np.ndarray,
               lookup: _Lookup) -> list[dict]:
    """Greedy path decomposition of one group's arc flows (largest flow first, cycles cancelled).

    Each path runs from the group's source sub-node to the sink of one destination; its tonnes
    are the bottleneck flow along it.
    """
    graph = model.graphs[group.graph_key]
    # plain lists: the walk reads one element at a time
    positive = np.flatnonzero(values_mt > _FLOW_TOL_MT)
    if not len(positive):
        return []
    flows = np.where(values_mt > _FLOW_TOL_MT, values_mt, 0.0).tolist()
    heads = graph.head[group.arcs].tolist()
    out: dict[int, list[int]] = {}
    for local, tail in zip(positive.tolist(), graph.tail[group.arcs[positive]].tolist(),
                           strict=True):
        out.setdefault(tail, []).append(local)
    sink_dest = {int(s): i for i, s in enumerate(group.sinks) if s >= 0}
    paths = []
    guard = 0
    while guard < 10 * len(positive) + 10:
        guard += 1
        node = group.source
        path: list[int] = []
        seen = {node: 0}
        while node not in sink_dest:
            options = [a for a in out.get(node, ()) if flows[a] > _FLOW_TOL_MT]
            if not options:
                break
            arc = max(options, key=flows.__getitem__)
            path.append(arc)
            node = heads[arc]
            if node in seen:  # cycle: cancel it and continue from where it started
                cycle = path[seen[node]:]
                amount = min(flows[a] for a in cycle)
                for a in cycle:
                    flows[a] -= amount
                del path[seen[node]:]
                seen = {k: v for k, v in seen.items() if v <= seen[node]}
                continue
            seen[node] = len(path)
        if not path:
            break
        amount = min(flows[a] for a in path)
        for a in path:
            flows[a] -= amount
        if node not in sink_dest:  # a dead end left by rounding: drop the residue, go on
            continue
        paths.append(_describe(model, group, path, amount, sink_dest[node], lookup))
    return paths


def _describe(model: FlowModel, group: _Group, path: list[int], amount_mt: float,
              od_index: int, lookup: _Lookup) -> dict:
    graph = model.graphs[group.graph_key]
    arcs = group.arcs[np.asarray(path)]
    link_arcs = arcs[graph.kind[arcs] == LINK]
    positions = graph.arc_link[link_arcs].tolist()
    forward = graph.arc_forward[link_arcs].astype(bool).tolist()
    ends = [(lookup.start[p], lookup.end[p]) if ahead else (lookup.end[p], lookup.start[p])
            for p, ahead in zip(positions, forward, strict=True)]
    nodes = [ends[0][0]] + [b for _, b in ends] if ends else []
    link_ids = [lookup.link_id[p] for p in positions]
    # ordered sets: the first appearance along the route sets the order
    corridors = dict.fromkeys(chain.from_iterable(lookup.corridors[p] for p in positions))
    modes = dict.fromkeys(lookup.mode[p] for p in positions)
    modes.pop("transfer", None)
    countries = dict.fromkeys(chain.from_iterable(
        lookup.countries_along(p, ahead) for p, ahead in zip(positions, forward, strict=True)))
    row = int(group.od_rows[od_index])
    return {
        **lookup.od[row], "_od": row, "t_per_year": amount_mt * MT,
        "corridors": ";".join(corridors),
        "countries": ";".join(countries), "modes": ";".join(modes),
        "link_ids": ";".join(link_ids), "nodes": ";".join(nodes),
        "passages": ";".join(lookup.passages.of_path(
            positions, [lookup.node_row[n] for n in nodes], forward)),
        "km": float(graph.km[arcs].sum()),
        "days": float(graph.days[arcs].sum()), "cost_usd_per_t": float(graph.cost_usd[arcs].sum()),
        "co2_kg_per_t": float(graph.co2_kg[arcs].sum()),
    }


ROUTE_COLUMNS = ["origin", "destination", "commodity", "allowed_modes", "avoid_countries",
                 "route", "t_per_year",
                 "share", "corridors", "countries", "modes", "link_ids", "nodes", "passages",
                 "km", "days",
                 "cost_usd_per_t", "co2_kg_per_t"]


def _route_table(routes: list[dict], od: pd.DataFrame
                 ) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The route split, and per OD row its tonne-weighted cost, days and CO2 and its number
    of routes."""
    n_od = len(od)
    if not routes:
        empty = {m: np.full(n_od, np.nan) for m in ("cost_usd_per_t", "days", "co2_kg_per_t")}
        return pd.DataFrame(columns=ROUTE_COLUMNS), {**empty, "routes": np.zeros(n_od, int)}
    table = pd.DataFrame(routes)
    # the same physical route can appear twice when a cycle was cancelled: merge it
    table = (table.groupby(["_od", "link_ids"], sort=False, as_index=False)
             .agg({"t_per_year": "sum", **{c: "first" for c in ROUTE_COLUMNS
                                            if c not in ("link_ids", "t_per_year", "share",
                                                         "route")}}))
    table = table[table["t_per_year"] > 0.5]  # drop sub-tonne numerical crumbs
    row = table["_od"].to_numpy()
    tonnes = table["t_per_year"].to_numpy(dtype=float)
    delivered = np.bincount(row, weights=tonnes, minlength=n_od)
    per_od = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for metric in ("cost_usd_per_t", "days", "co2_kg_per_t"):
            total = np.bincount(row, weights=tonnes * table[metric].to_numpy(dtype=float),
                                minlength=n_od)
            per_od[metric] = np.where(delivered > 0, total / delivered, np.nan)
    per_od["routes"] = np.bincount(row, minlength=n_od)
    table = table.assign(share=tonnes / delivered[row])
    # OD pairs in the order of their keys, each one's routes largest first
    rank = np.empty(n_od, dtype=np.int64)
    rank[np.lexsort(tuple(od[k].astype(str).to_numpy() for k in reversed(OD_KEYS)))] = \
        np.arange(n_od)
    order = np.lexsort((-tonnes, rank[row]))
    table = table.iloc[order]
    table["route"] = table.groupby("_od", sort=False).cumcount().to_numpy() + 1
    return table[ROUTE_COLUMNS].reset_index(drop=True), per_od
