"""Capacity-constrained assignment of yearly demand to the network (min-cost multicommodity flow).

The problem
-----------
Every demand row (origin, destination, commodity, tonnes per year) must be carried over the
compiled graph of its commodity (:func:`corridor.graph.compile_graph`). Link capacities
(``capacity_t_per_year``, and ``capacity_teu_per_year`` for containers) are **shared** by every
commodity and by both directions of a link: published capacities of lines, pipelines and border
crossings are total yearly throughputs, and single-track lines and crossings really do share
them. The assignment is one linear programme solved by HiGHS:

* one flow variable per (source group, arc), where a *source group* is all demand of one
  commodity leaving one origin (aggregating by origin keeps the LP small: the flow of a group
  may split among its destinations at no extra cost in variables);
* one *stranded* variable per OD pair: a virtual arc from the origin to the destination that
  costs :attr:`FlowModel.penalty_usd_per_t`, so every scenario is feasible and demand that
  cannot be served is reported, not raised;
* flow conservation per group and sub-node (equalities), one capacity row per capacitated link.

The objective is the **generalised cost**: money (tariffs, transfer and border charges) plus the
value of time (cargo value × 10 %/yr ÷ 365 per tonne-day, see
:meth:`corridor.cost.CostModel.value_of_time_usd_per_t_day`), i.e.
``graph.weights("generalised")``. Flows are in million tonnes inside the LP (so coefficients
stay near 1); the duals of capacity rows are therefore USD per tonne.

The stranding penalty of a commodity is ten times the most expensive cheapest route of its OD
pairs, and at least :data:`STRANDED_FLOOR_USD_PER_T`: a tonne is stranded only when no route
exists or every route with spare capacity costs more than ten times what the dearest OD of that
commodity pays on an empty network.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import highspy
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import breadth_first_order, dijkstra

from corridor.demand import OD_KEYS, SEGMENT_KEYS, aggregate_od
from corridor.errors import InvalidOptionError, TimeLimitError
from corridor.graph import LINK, CompiledGraph, compile_graph
from corridor.network import Network
from corridor.outputs import write_tables

MT = 1e6  # LP flow unit: a million tonnes
STRANDED_FLOOR_USD_PER_T = 1_000.0
PENALTY_FACTOR = 10.0
TIE_BREAK_USD_PER_T = 1e-3  # on every arc: rules out zero-cost cycles (transfer loops)
SATURATED_UTILISATION = 0.999
#: The files :meth:`FlowResult.to_csv` writes.
CSV_FILES = ("link_flows.csv", "link_flows_by_commodity.csv", "od.csv", "route_split.csv",
             "stranded.csv", "terminal_flows.csv", "totals.csv")
_FLOW_TOL_MT = 1e-9  # 1 kg/yr: flows below are numerical noise


@dataclass
class _Group:
    """All demand of one segment (commodity, allowed modes, countries avoided) leaving one
    origin: one block."""

    commodity: str
    allowed_modes: str  # "" = every mode of the commodity
    origin: str
    od_rows: np.ndarray  # rows of FlowModel.od
    col_start: int
    arcs: np.ndarray  # arc ids of the commodity graph, one column each
    source: int  # source sub-node (-1 when the origin has no usable link)
    sinks: np.ndarray  # sink sub-node per od row (-1 when unreachable)
    strand_cols: np.ndarray  # column of the stranded variable per od row
    avoid: str = ""  # ";"-separated countries the segment's routes may not touch

    @property
    def segment(self) -> tuple[str, str, str]:
        return self.commodity, self.allowed_modes, self.avoid

    @property
    def graph_key(self) -> tuple[str, str]:
        return self.commodity, self.allowed_modes


def segment_label(commodity: str, allowed_modes: str, avoid: str = "") -> str:
    """How a demand segment is named in results: ``container``, ``container [rail;ferry]``,
    ``metals [rail;ferry] avoiding RUS``."""
    label = f"{commodity} [{allowed_modes}]" if allowed_modes else commodity
    return f"{label} avoiding {avoid.replace(';', ', ')}" if avoid else label


class FlowModel:
    """The assignment LP of a network and a demand table, ready to solve and re-solve.

    Parameters
    ----------
    network
        A (possibly scenario-modified) network.
    demand
        A demand table (:func:`corridor.demand.load_demand`); rows with the same origin,
        destination, commodity and allowed modes are summed.

    Attributes
    ----------
    od
        One row per demand segment: ``origin, destination, commodity, allowed_modes,
        t_per_year``.
    graphs
        The compiled graph of each (commodity, allowed modes) pair in the demand: a segment
        held to some modes gets its own graph without the others.
    penalty_usd_per_t
        Stranding penalty per segment (keyed by :func:`segment_label`).
    """

    def __init__(self, network: Network, demand: pd.DataFrame) -> None:
        self.network = network
        self.od = aggregate_od(demand).reset_index(drop=True)
        for commodity in self.od["commodity"].unique():
            network.costs.check_commodity(commodity)
        for end in ("origin", "destination"):
            unknown = sorted(set(self.od[end]) - set(network.nodes.index))
            if unknown:
                raise InvalidOptionError(f"demand {end} {unknown[0]!r} is not a node of the "
                                         f"network")
        segments = self.od[["commodity", "allowed_modes"]].drop_duplicates()
        self.graphs: dict[tuple[str, str], CompiledGraph] = {
            (c, m): compile_graph(network, c, m)
            for c, m in segments.itertuples(index=False, name=None)}
        self.penalty_usd_per_t: dict[str, float] = {}
        self.groups: list[_Group] = []
        self._build()

    # -- construction ------------------------------------------------------------------------

    def _build(self) -> None:
        node_pos = {n: i for i, n in enumerate(self.network.nodes.index)}
        cost_parts, upper_parts, lower_parts = [], [], []
        rows_i, cols_i, vals = [], [], []
        rhs_parts = []
        col_arc, col_group = [], []
        n_cols = n_rows = 0
        demand_mt = self.od["t_per_year"].to_numpy(dtype=float) / MT
        for segment, od_index in self.od.groupby(list(SEGMENT_KEYS), sort=False).groups.items():
            commodity, allowed_modes, avoid = segment
            graph = self.graphs[(commodity, allowed_modes)]
            weights = graph.weights("generalised") + TIE_BREAK_USD_PER_T
            usable = graph.allowed(tuple(c for c in avoid.split(";") if c))
            adjacency = csr_matrix((weights[usable], (graph.tail[usable], graph.head[usable])),
                                   shape=(graph.n_sub, graph.n_sub))
            reverse = adjacency.transpose().tocsr()
            od_rows = np.asarray(od_index)
            origins = self.od.loc[od_rows, "origin"].to_numpy()
            src = graph.source_of[[node_pos[o] for o in origins]]
            dst = graph.sink_of[[node_pos[d] for d in self.od.loc[od_rows, "destination"]]]
            label = segment_label(commodity, allowed_modes, avoid)
            self.penalty_usd_per_t[label] = self._penalty(adjacency, src, dst)
            for origin in dict.fromkeys(origins):
                mine = origins == origin
                rows = od_rows[mine]
                source = int(src[mine][0])
                sinks = dst[mine].copy()
                if source >= 0:
                    forward = np.zeros(graph.n_sub, bool)
                    forward[breadth_first_order(adjacency, source, directed=True,
                                                return_predecessors=False)] = True
                    sinks[~forward[np.maximum(sinks, 0)] | (sinks < 0)] = -1
                else:
                    sinks[:] = -1
                live = sinks >= 0
                if live.any():
                    backward = np.zeros(graph.n_sub, bool)
                    for sink in sinks[live]:
                        backward[breadth_first_order(reverse, int(sink), directed=True,
                                                     return_predecessors=False)] = True
                    arcs = np.flatnonzero(forward[graph.tail] & backward[graph.head] & usable)
                else:
                    arcs = np.zeros(0, dtype=np.int64)
                group = _Group(commodity, allowed_modes, origin, rows, n_cols, arcs,
                               source if live.any() else -1, sinks,
                               n_cols + len(arcs) + np.arange(len(rows)), avoid)
                self.groups.append(group)
                # local sub-node numbering: rows of this group's conservation constraints
                nodes = np.unique(np.concatenate([graph.tail[arcs], graph.head[arcs],
                                                  [source] if live.any() else [],
                                                  sinks[live]]).astype(np.int64))
                local = {"tail": np.searchsorted(nodes, graph.tail[arcs]),
                         "head": np.searchsorted(nodes, graph.head[arcs])}
                arc_cols = n_cols + np.arange(len(arcs))
                rows_i += [n_rows + local["tail"], n_rows + local["head"]]
                cols_i += [arc_cols, arc_cols]
                vals += [np.ones(len(arcs)), -np.ones(len(arcs))]
                rhs = np.zeros(len(nodes))
                d = demand_mt[rows]
                if live.any():
                    s_row = np.searchsorted(nodes, source)
                    t_rows = np.searchsorted(nodes, sinks[live])
                    rhs[s_row] += d[live].sum()
                    np.add.at(rhs, t_rows, -d[live])
                    strand = group.strand_cols[live]
                    rows_i += [n_rows + np.full(live.sum(), s_row), n_rows + t_rows]
                    cols_i += [strand, strand]
                    vals += [np.ones(live.sum()), -np.ones(live.sum())]
                rhs_parts.append(rhs)
                penalty = self.penalty_usd_per_t[label]
                cost_parts += [weights[arcs], np.full(len(rows), penalty)]
                lower_parts += [np.zeros(len(arcs)), np.where(live, 0.0, d)]
                upper_parts += [np.full(len(arcs), np.inf), d.copy()]
                col_arc += [arcs, np.full(len(rows), -1)]
                col_group += [np.full(len(arcs) + len(rows), len(self.groups) - 1)]
                n_cols += len(arcs) + len(rows)
                n_rows += len(nodes)
        self.n_conservation_rows = n_rows
        self.col_arc = np.concatenate(col_arc).astype(np.int64) if col_arc else np.zeros(0, int)
        self.col_group = (np.concatenate(col_group).astype(np.int64) if col_group
                          else np.zeros(0, int))
        self.col_cost = np.concatenate(cost_parts) if cost_parts else np.zeros(0)
        self.col_lower = np.concatenate(lower_parts) if lower_parts else np.zeros(0)
        self.col_upper = np.concatenate(upper_parts) if upper_parts else np.zeros(0)
        self.n_cols = n_cols
        self._column_metrics()
        # capacity rows: shared by commodities and directions
        cap_rows, cap_cols, cap_vals, cap_upper, cap_link = [], [], [], [], []
        cap_lower: list[np.ndarray] = []
        flow = self.col_link >= 0
        capacity_t = self.network.links["capacity_t_per_year"].to_numpy(dtype=float)
        capacity_teu = self.network.links["capacity_teu_per_year"].to_numpy(dtype=float)
        row = n_rows
        for unit, limits in (("t", capacity_t), ("teu", capacity_teu)):
            if unit == "teu":
                own = [self._t_per_teu(c) for c in self.commodities]
                per_teu = np.asarray(own, dtype=float)[self.col_commodity] \
                    if self.n_cols else np.zeros(0)
                usable = flow & np.isfinite(per_teu)
            else:
                per_teu = np.ones(self.n_cols)
                usable = flow
            cols = np.flatnonzero(usable & np.isfinite(limits[np.maximum(self.col_link, 0)]))
            if not len(cols):
                continue
            links = self.col_link[cols]
            unique_links, which = np.unique(links, return_inverse=True)
            cap_rows.append(row + which)
            cap_cols.append(cols)
            cap_vals.append(1.0 / per_teu[cols] if unit == "teu" else np.ones(len(cols)))
            cap_upper.append(limits[unique_links] / MT)
            cap_lower.append(np.full(len(unique_links), -np.inf))
            cap_link.append(np.column_stack([unique_links, np.full(len(unique_links),
                                                                   unit == "teu")]))
            row += len(unique_links)
        self.cap_link = (np.concatenate(cap_link) if cap_link
                         else np.zeros((0, 2), dtype=np.int64)).astype(np.int64)
        # terminal rows: a terminal's yearly capacity bounds the tonnes changing mode there
        limits = self.network.terminals["capacity_t_per_year"].to_numpy(dtype=float) \
            if len(self.network.terminals) else np.zeros(0)
        bounded = np.flatnonzero(np.isfinite(limits))
        cols = np.flatnonzero(np.isin(self.col_terminal, bounded))
        self.cap_terminal = np.unique(self.col_terminal[cols]) if len(cols) else \
            np.zeros(0, dtype=np.int64)
        if len(cols):
            which = np.searchsorted(self.cap_terminal, self.col_terminal[cols])
            cap_rows.append(row + which)
            cap_cols.append(cols)
            cap_vals.append(np.ones(len(cols)))
            cap_upper.append(limits[self.cap_terminal] / MT)
            cap_lower.append(np.full(len(self.cap_terminal), -np.inf))
            row += len(self.cap_terminal)
        row = self._contract_rows(row, cap_rows, cap_cols, cap_vals, cap_lower, cap_upper)
        self.n_rows = row
        self.row_lower = np.concatenate(rhs_parts + cap_lower) if rhs_parts else \
            (np.concatenate(cap_lower) if cap_lower else np.zeros(0))
        self.row_upper = np.concatenate(rhs_parts + cap_upper) if rhs_parts else \
            (np.concatenate(cap_upper) if cap_upper else np.zeros(0))
        all_rows = np.concatenate(rows_i + cap_rows) if rows_i else np.zeros(0, np.int64)
        all_cols = np.concatenate(cols_i + cap_cols) if cols_i else np.zeros(0, np.int64)
        all_vals = np.concatenate(vals + cap_vals) if vals else np.zeros(0)
        self.matrix = coo_matrix((all_vals, (all_rows, all_cols)),
                                 shape=(self.n_rows, self.n_cols)).tocsc()
        self.matrix.sum_duplicates()
        order = np.argsort(self.col_link, kind="stable")
        self._link_order = order[self.col_link[order] >= 0]
        self._link_bounds = np.searchsorted(self.col_link[self._link_order],
                                            np.arange(len(self.network.links) + 1))

    def _contract_rows(self, row: int, rows: list, cols: list, vals: list, lower: list,
                       upper: list) -> int:
        """One row per contract: the tonnes its shippers send through its link.

        A minimum is soft: a slack column at the commodity's stranding penalty per tonne makes
        up what cannot be met (reported as ``contract_shortfall_t``). Returns the next row.
        """
        contracts = self.network.contracts
        self.contract_row = np.zeros(0, dtype=np.int64)
        self.is_slack = np.zeros(self.n_cols, dtype=bool)
        if not len(contracts):
            return row
        link_pos = {link: i for i, link in enumerate(self.network.links.index)}
        country = self.network.nodes["country"]
        first_rows = []
        slack_cost, slack_group = [], []
        for contract in contracts.to_dict(orient="records"):
            mine = [i for i, g in enumerate(self.groups) if g.commodity == contract["commodity"]
                    and (g.origin == contract["origin"] if contract["origin"] else
                         bool(set(str(country.get(g.origin, "")).split(";"))
                              & set(str(contract["origin_country"]).split(";"))))]
            hit = np.flatnonzero(np.isin(self.col_group, mine)
                                 & (self.col_link == link_pos[contract["link_id"]])
                                 & ~self.is_strand[:self.n_cols])
            rows.append(np.full(len(hit), row))
            cols.append(hit)
            vals.append(np.ones(len(hit)))
            low, high = contract["min_t_per_year"], contract["max_t_per_year"]
            lower.append(np.array([low / MT if pd.notna(low) else -np.inf]))
            upper.append(np.array([high / MT if pd.notna(high) else np.inf]))
            if pd.notna(low) and mine:
                rows.append(np.array([row]))
                cols.append(np.array([self.n_cols + len(slack_cost)]))
                vals.append(np.ones(1))
                labels = [segment_label(*self.groups[i].segment) for i in mine]
                slack_cost.append(max(self.penalty_usd_per_t[label] for label in labels))
                slack_group.append(mine[0])
            first_rows.append(row)
            row += 1
        self.contract_row = np.asarray(first_rows, dtype=np.int64)
        extra = len(slack_cost)
        if extra:
            self._append_slack(np.asarray(slack_cost), np.asarray(slack_group))
        return row

    def _append_slack(self, cost: np.ndarray, group: np.ndarray) -> None:
        """Slack columns of contract minimums: no link, no money, at the penalty per tonne."""
        extra = len(cost)
        self.col_cost = np.concatenate([self.col_cost, cost])
        self.col_lower = np.concatenate([self.col_lower, np.zeros(extra)])
        self.col_upper = np.concatenate([self.col_upper, np.full(extra, np.inf)])
        for name, fill in (("col_money", 0.0), ("col_days", 0.0), ("col_co2", 0.0),
                           ("col_km", 0.0), ("col_link", -1), ("col_forward", True),
                           ("col_terminal", -1), ("col_arc", -1), ("is_strand", False)):
            values = getattr(self, name)
            setattr(self, name, np.concatenate([values, np.full(extra, fill,
                                                                dtype=values.dtype)]))
        commodity = self.col_commodity[[self.groups[g].col_start for g in group]]
        self.col_commodity = np.concatenate([self.col_commodity, commodity])
        self.col_group = np.concatenate([self.col_group, group.astype(np.int64)])
        self.is_slack = np.concatenate([self.is_slack, np.ones(extra, dtype=bool)])
        self.n_cols += extra

    def _column_metrics(self) -> None:
        """Per-column money cost, days, CO2, km and link (stranded columns: link -1)."""
        n = self.n_cols
        self.col_money = np.zeros(n)
        self.col_days = np.zeros(n)
        self.col_co2 = np.zeros(n)
        self.col_km = np.zeros(n)
        self.col_link = np.full(n, -1, dtype=np.int64)
        self.col_forward = np.ones(n, dtype=bool)
        self.col_terminal = np.full(n, -1, dtype=np.int64)
        self.col_commodity = np.zeros(n, dtype=np.int64)
        self.commodities = tuple(dict.fromkeys(c for c, _ in self.graphs))
        for group in self.groups:
            graph = self.graphs[group.graph_key]
            cols = group.col_start + np.arange(len(group.arcs))
            arcs = group.arcs
            self.col_money[cols] = graph.cost_usd[arcs]
            self.col_days[cols] = graph.days[arcs]
            self.col_co2[cols] = graph.co2_kg[arcs]
            self.col_km[cols] = graph.km[arcs]
            self.col_link[cols] = np.where(graph.kind[arcs] == LINK, graph.arc_link[arcs], -1)
            self.col_forward[cols] = graph.arc_forward[arcs]
            if graph.arc_terminal is not None:
                self.col_terminal[cols] = graph.arc_terminal[arcs]
            span = np.arange(group.col_start, group.strand_cols[-1] + 1)
            self.col_commodity[span] = self.commodities.index(group.commodity)
        self.is_strand = np.zeros(n, dtype=bool)
        for group in self.groups:
            self.is_strand[group.strand_cols] = True

    def _t_per_teu(self, commodity: str) -> float:
        value = self.network.costs.commodities.at[commodity, "t_per_teu"]
        return float(value) if pd.notna(value) and value else np.nan

    def _penalty(self, adjacency: csr_matrix, src: np.ndarray, dst: np.ndarray) -> float:
        """Ten times the dearest cheapest route of the segment's OD pairs (with a floor)."""
        ok = (src >= 0) & (dst >= 0)
        worst = 0.0
        if ok.any():
            sources = np.unique(src[ok])
            dist = dijkstra(adjacency, directed=True, indices=sources)
            reach = dist[np.searchsorted(sources, src[ok]), dst[ok]]
            finite = reach[np.isfinite(reach)]
            if len(finite):
                worst = float(finite.max())
        return max(STRANDED_FLOOR_USD_PER_T, PENALTY_FACTOR * worst)

    # -- helpers for re-solves --------------------------------------------------------------

    def link_columns(self, link_positions: np.ndarray | list[int]) -> np.ndarray:
        """Columns of every arc (all groups, both directions) of the given links."""
        parts = [self._link_order[self._link_bounds[p]:self._link_bounds[p + 1]]
                 for p in np.atleast_1d(np.asarray(link_positions, dtype=np.int64))]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def highs(self) -> highspy.Highs:
        """A quiet HiGHS instance holding this LP (passed at once in CSC form)."""
        return highs_from_arrays(self.arrays())

    def arrays(self) -> dict[str, np.ndarray]:
        """The LP as plain arrays (picklable, for worker processes)."""
        return {"cost": self.col_cost, "lower": self.col_lower, "upper": self.col_upper,
                "row_lower": self.row_lower, "row_upper": self.row_upper,
                "indptr": self.matrix.indptr, "indices": self.matrix.indices,
                "data": self.matrix.data}


_BANNER_SHOWN = False


def highs_from_arrays(arrays: dict[str, np.ndarray]) -> highspy.Highs:
    """Build a HiGHS instance from :meth:`FlowModel.arrays` with one ``passModel`` call."""
    h = new_highs()
    lp = highspy.HighsLp()
    lp.num_col_ = len(arrays["cost"])
    lp.num_row_ = len(arrays["row_lower"])
    inf = highspy.kHighsInf
    lp.col_cost_ = arrays["cost"]
    lp.col_lower_ = arrays["lower"]
    lp.col_upper_ = np.where(np.isinf(arrays["upper"]), inf, arrays["upper"])
    lp.row_lower_ = np.where(np.isinf(arrays["row_lower"]), -inf, arrays["row_lower"])
    lp.row_upper_ = np.where(np.isinf(arrays["row_upper"]), inf, arrays["row_upper"])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = arrays["indptr"].astype(np.int32)
    lp.a_matrix_.index_ = arrays["indices"].astype(np.int32)
    lp.a_matrix_.value_ = arrays["data"].astype(float)
    h.passModel(lp)
    return h


def new_highs() -> highspy.Highs:
    """A quiet HiGHS instance.

    HiGHS prints a copyright banner to file descriptor 1 when the first instance of a process is
    built, before any option can be set; it would corrupt ``--json`` output, so that first
    construction runs with stdout pointed at /dev/null.
    """
    global _BANNER_SHOWN
    if _BANNER_SHOWN:
        h = highspy.Highs()
    else:
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 1)
                h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _BANNER_SHOWN = True
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
    return h


def solve_model(h: highspy.Highs, deadline: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Run HiGHS and return (column values, row duals).

    Parameters
    ----------
    h
        A HiGHS instance holding the LP.
    deadline
        A :func:`time.monotonic` instant by which the solve must end (None: no limit).

    Raises
    ------
    TimeLimitError
        The deadline passed before or during the solve.
    RuntimeError
        If HiGHS does not reach an optimum otherwise (the LP is always feasible by
        construction, so this signals a numerical failure).
    """
    if deadline is None:
        h.setOptionValue("time_limit", highspy.kHighsInf)
    else:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeLimitError("the assignment did not finish within its time budget")
        h.setOptionValue("time_limit", float(remaining))
    h.run()
    status = h.getModelStatus()
    if status == highspy.HighsModelStatus.kTimeLimit:
        raise TimeLimitError("the assignment did not finish within its time budget")
    if status != highspy.HighsModelStatus.kOptimal and h.getNumCol() > 0:
        raise RuntimeError(f"HiGHS did not solve the assignment: {h.modelStatusToString(status)}")
    solution = h.getSolution()
    return np.asarray(solution.col_value, dtype=float), np.asarray(solution.row_dual, dtype=float)


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
        }

    def to_json(self) -> str:
        """The result as a JSON document (NaN becomes null)."""
        return json.dumps(_json_clean(self.to_dict()), ensure_ascii=False, indent=2, default=str)

    def csv_tables(self) -> dict[str, pd.DataFrame]:
        """The tables to export, by file name (the names are :data:`CSV_FILES`)."""
        totals = pd.DataFrame([{"metric": k, "value": v} for k, v in self.totals.items()])
        tables = {"link_flows.csv": self.link_flows.reset_index(),
                  "link_flows_by_commodity.csv": self.link_flows_by_commodity,
                  "od.csv": self.od, "route_split.csv": self.route_split,
                  "stranded.csv": self.stranded, "terminal_flows.csv": self.terminal_flows,
                  "totals.csv": totals}
        return {name: tables[name] for name in CSV_FILES}

    def to_csv(self, folder: str | Path, inputs: Iterable[str | Path] = ()) -> list[Path]:
        """Write :meth:`csv_tables` into ``folder``; returns the paths written.

        Each file is written atomically and never over one of ``inputs`` or the network's own
        files (see :func:`corridor.outputs.write_tables`).
        """
        protected = list(inputs) + (self.network.input_files() if self.network else [])
        return write_tables(folder, self.csv_tables(), protected)


def _json_clean(value: object) -> object:
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_clean(v) for v in value]
    if isinstance(value, np.generic):
        return _json_clean(value.item())
    return value


def assign(network: Network, demand: pd.DataFrame, scenario: object = None,
           time_limit_s: float | None = None) -> FlowResult:
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

    Returns
    -------
    FlowResult

    Raises
    ------
    TimeLimitError
        The budget ran out.

    Examples
    --------
    >>> net = load_network()
    >>> result = assign(net, load_demand(network=net), "cpc-outage")
    >>> result.totals["stranded_t"] > 0
    True
    """
    deadline = None if time_limit_s is None else time.monotonic() + time_limit_s
    from corridor.scenario import scenario_inputs

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


# -- reading the solution ------------------------------------------------------------------------


def build_result(model: FlowModel, values: np.ndarray, duals: np.ndarray,
                 scenario: str = "baseline") -> FlowResult:
    """Turn an LP solution into a :class:`FlowResult` (link flows, OD table, route split)."""
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
                                     cap_duals[n_link_rows:n_link_rows + n_terminal_rows])
    with np.errstate(divide="ignore", invalid="ignore"):
        utilisation = np.where(capacity > 0, total / capacity, np.nan)
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
    split = _route_table(routes, od)
    for column, metric in (("cost_usd_per_t", "cost_usd_per_t"), ("days", "days"),
                           ("co2_kg_per_t", "co2_kg_per_t")):
        od[column] = _weighted(split, metric, od)
    keys = list(OD_KEYS)
    od["routes"] = (split.groupby(keys).size()
                    .reindex(pd.MultiIndex.from_frame(od[keys]))
                    .fillna(0).astype(int).to_numpy()) if len(split) else 0
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


def _terminal_table(model: FlowModel, tonnes: np.ndarray, duals: np.ndarray) -> pd.DataFrame:
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
        utilisation = np.where(capacity > 0, flow / capacity, np.nan)
    table = terminals.reset_index()[["terminal_id", "node_id", "commodity", "modes",
                                     "capacity_t_per_year"]].copy()
    table["flow_t_per_year"] = flow
    table["utilisation"] = utilisation
    table["shadow_price_usd_per_t"] = shadow
    table["saturated"] = (table["utilisation"] >= SATURATED_UTILISATION) | (shadow > 1e-6)
    return table[TERMINAL_COLUMNS]


def _weighted(split: pd.DataFrame, metric: str, od: pd.DataFrame) -> np.ndarray:
    if split.empty:
        return np.full(len(od), np.nan)
    keys = list(OD_KEYS)
    weighted = (split[metric] * split["t_per_year"]).groupby(
        [split[k] for k in keys]).sum() / split.groupby(keys)["t_per_year"].sum()
    return weighted.reindex(pd.MultiIndex.from_frame(od[keys])).to_numpy()


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


def _decompose(model: FlowModel, group: _Group, values_mt: np.ndarray,
               lookup: _Lookup) -> list[dict]:
    """Greedy path decomposition of one group's arc flows (largest flow first, cycles cancelled).

    Each path runs from the group's source sub-node to the sink of one destination; its tonnes
    are the bottleneck flow along it.
    """
    graph = model.graphs[group.graph_key]
    flows = np.where(values_mt > _FLOW_TOL_MT, values_mt, 0.0)
    positive = np.flatnonzero(flows)
    if not len(positive):
        return []
    out: dict[int, list[int]] = {}
    for local in positive:
        out.setdefault(int(graph.tail[group.arcs[local]]), []).append(int(local))
    sink_dest = {int(s): i for i, s in enumerate(group.sinks) if s >= 0}
    paths = []
    guard = 0
    while guard < 10 * len(positive) + 10:
        guard += 1
        node = group.source
        path: list[int] = []
        seen = {node: 0}
        while node not in sink_dest:
            options = [a for a in out.get(node, []) if flows[a] > _FLOW_TOL_MT]
            if not options:
                break
            arc = max(options, key=lambda a: flows[a])
            path.append(arc)
            node = int(graph.head[group.arcs[arc]])
            if node in seen:  # cycle: cancel it and continue from where it started
                cycle = path[seen[node]:]
                amount = min(flows[a] for a in cycle)
                flows[cycle] -= amount
                del path[seen[node]:]
                seen = {k: v for k, v in seen.items() if v <= seen[node]}
                continue
            seen[node] = len(path)
        if not path:
            break
        amount = min(flows[a] for a in path)
        if node not in sink_dest:  # a dead end left by rounding: drop the residue, go on
            flows[path] -= amount
            continue
        flows[path] -= amount
        paths.append(_describe(model, group, path, amount, sink_dest[node], lookup))
    return paths


def _describe(model: FlowModel, group: _Group, path: list[int], amount_mt: float,
              od_index: int, lookup: _Lookup) -> dict:
    graph = model.graphs[group.graph_key]
    arcs = group.arcs[np.asarray(path)]
    link_arcs = arcs[graph.kind[arcs] == LINK]
    link_ids, corridors, countries, modes, nodes = [], [], [], [], []
    for arc in link_arcs:
        pos = int(graph.arc_link[arc])
        a, b = lookup.start[pos], lookup.end[pos]
        if not graph.arc_forward[arc]:
            a, b = b, a
        if not nodes:
            nodes.append(a)
        nodes.append(b)
        link_ids.append(lookup.link_id[pos])
        for tag in lookup.corridors[pos]:
            if tag not in corridors:
                corridors.append(tag)
        mode = lookup.mode[pos]
        if mode not in modes and mode != "transfer":
            modes.append(mode)
        for codes in (lookup.node_country[a], lookup.country[pos], lookup.node_country[b]):
            for code in codes.split(";"):
                if code and code not in countries:
                    countries.append(code)
    od = lookup.od[int(group.od_rows[od_index])]
    return {
        **od, "t_per_year": amount_mt * MT, "corridors": ";".join(corridors),
        "countries": ";".join(countries), "modes": ";".join(modes),
        "link_ids": ";".join(link_ids), "nodes": ";".join(nodes),
        "km": float(graph.km[arcs].sum()),
        "days": float(graph.days[arcs].sum()), "cost_usd_per_t": float(graph.cost_usd[arcs].sum()),
        "co2_kg_per_t": float(graph.co2_kg[arcs].sum()),
    }


ROUTE_COLUMNS = ["origin", "destination", "commodity", "allowed_modes", "avoid_countries",
                 "route", "t_per_year",
                 "share", "corridors", "countries", "modes", "link_ids", "nodes", "km", "days",
                 "cost_usd_per_t", "co2_kg_per_t"]


def _route_table(routes: list[dict], od: pd.DataFrame) -> pd.DataFrame:
    if not routes:
        return pd.DataFrame(columns=ROUTE_COLUMNS)
    table = pd.DataFrame(routes)
    keys = list(OD_KEYS)
    # the same physical route can appear twice when a cycle was cancelled: merge it
    table = (table.groupby(keys + ["link_ids"], sort=False, as_index=False)
             .agg({"t_per_year": "sum", "corridors": "first", "countries": "first",
                   "modes": "first", "nodes": "first", "km": "first", "days": "first",
                   "cost_usd_per_t": "first", "co2_kg_per_t": "first"}))
    table = table[table["t_per_year"] > 0.5].copy()  # drop sub-tonne numerical crumbs
    delivered = table.groupby(keys)["t_per_year"].transform("sum")
    table["share"] = table["t_per_year"] / delivered
    table = table.sort_values(keys + ["t_per_year"], ascending=[True] * len(keys) + [False])
    table["route"] = table.groupby(keys).cumcount() + 1
    return table[ROUTE_COLUMNS].reset_index(drop=True)

