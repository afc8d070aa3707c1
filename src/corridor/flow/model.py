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

from dataclasses import dataclass, field

import highspy
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import breadth_first_order, dijkstra

from corridor.demand import SEGMENT_KEYS, aggregate_od
from corridor.errors import InvalidOptionError
from corridor.flow.solver import highs_from_arrays
from corridor.graph import LINK, CompiledGraph, compile_graph
from corridor.network import Network

MT = 1e6  # LP flow unit: a million tonnes
STRANDED_FLOOR_USD_PER_T = 1_000.0
PENALTY_FACTOR = 10.0
TIE_BREAK_USD_PER_T = 1e-3  # on every arc: rules out zero-cost cycles (transfer loops)


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
    row_start: int = 0  # first conservation row of the group
    nodes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # sub-node of each conservation row (row_start + i is the row of nodes[i])
    supply_row: int = -1  # the row where the group's tonnes enter (source or virtual)
    sink_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # the row where each od row's tonnes leave (its sink, or a virtual row when unreachable)

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


def demand_graphs(network: Network, demand: pd.DataFrame
                  ) -> tuple[pd.DataFrame, dict[tuple[str, str], CompiledGraph]]:
    """The demand summed by segment, checked against the network, and the compiled graph of
    each (commodity, allowed modes) it needs.

    Raises
    ------
    InvalidOptionError, DataError
        A demand end that is not a node; an unknown commodity.
    """
    od = aggregate_od(demand).reset_index(drop=True)
    for commodity in od["commodity"].unique():
        network.costs.check_commodity(commodity)
    for end in ("origin", "destination"):
        unknown = sorted(set(od[end]) - set(network.nodes.index))
        if unknown:
            raise InvalidOptionError(f"demand {end} {unknown[0]!r} is not a node of the "
                                     f"network")
    segments = od[["commodity", "allowed_modes"]].drop_duplicates()
    graphs = {(c, m): compiled(network, c, m)
              for c, m in segments.itertuples(index=False, name=None)}
    return od, graphs


def compiled(network: Network, commodity: str, allowed_modes: str = "") -> CompiledGraph:
    """The compiled graph of a commodity, compiled once per network object (a scenario makes
    a new network, so its graphs are its own)."""
    key = ("flow graph", commodity, allowed_modes)
    if key not in network._compiled:
        network._compiled[key] = compile_graph(network, commodity, allowed_modes)
    return network._compiled[key]


def segment_arrays(graph: CompiledGraph, od: pd.DataFrame, rows: np.ndarray, avoid: str,
                   node_pos: dict[str, int]) -> tuple[np.ndarray, ...]:
    """What both formulations read for one segment: arc weights (generalised cost plus the
    tie-break), the arcs it may use, their adjacency matrix, and the origin, source sub-node
    and sink sub-node of each of its OD rows."""
    weights = graph.weights("generalised") + TIE_BREAK_USD_PER_T
    usable = graph.allowed(tuple(c for c in avoid.split(";") if c))
    adjacency = csr_matrix((weights[usable], (graph.tail[usable], graph.head[usable])),
                           shape=(graph.n_sub, graph.n_sub))
    origins = od.loc[rows, "origin"].to_numpy()
    src = graph.source_of[[node_pos[o] for o in origins]]
    dst = graph.sink_of[[node_pos[d] for d in od.loc[rows, "destination"]]]
    return weights, usable, adjacency, origins, src, dst


def stranding_penalty(adjacency: csr_matrix, src: np.ndarray, dst: np.ndarray) -> float:
    """Ten times the dearest cheapest route of a segment's OD pairs (with a floor), USD/t."""
    ok = (src >= 0) & (dst >= 0)
    worst = 0.0
    if ok.any():
        sources = np.unique(src[ok])
        dist = dijkstra(adjacency, directed=True, indices=sources)
        reach = dist[np.searchsorted(sources, src[ok]), dst[ok]]
        finite = reach[np.isfinite(reach)]
        if len(finite):
            worst = float(finite.max())
    return penalty_of(worst)


def penalty_of(worst_usd_per_t: float) -> float:
    """The stranding penalty of a segment whose dearest cheapest route costs this, USD/t."""
    return max(STRANDED_FLOOR_USD_PER_T, PENALTY_FACTOR * worst_usd_per_t)


class FlowModel:
    """The assignment LP of a network and a demand table, ready to solve and re-solve.

    Parameters
    ----------
    network
        A (possibly scenario-modified) network.
    demand
        A demand table (:func:`corridor.demand.load_demand`); rows with the same origin,
        destination, commodity and allowed modes are summed.
    hold
        Nodes where cargo may wait between periods (storage, see
        :mod:`corridor.flow.periods`): each group also gets the arcs that lead there, so that
        its tonnes can reach a tank even when no destination is open beyond it.

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

    def __init__(self, network: Network, demand: pd.DataFrame,
                 hold: tuple[str, ...] = ()) -> None:
        self.network = network
        self.hold = tuple(n for n in hold if n in network.nodes.index)
        self.od, self.graphs = demand_graphs(network, demand)
        self.penalty_usd_per_t: dict[str, float] = {}
        self.groups: list[_Group] = []
        self._build()

    # -- construction ------------------------------------------------------------------------

    def _build(self) -> None:
        node_pos = {n: i for i, n in enumerate(self.network.nodes.index)}
        hold_at = np.asarray([node_pos[n] for n in self.hold], dtype=np.int64)
        cost_parts, upper_parts, lower_parts = [], [], []
        rows_i, cols_i, vals = [], [], []
        rhs_parts = []
        col_arc, col_group = [], []
        n_cols = n_rows = 0
        demand_mt = self.od["t_per_year"].to_numpy(dtype=float) / MT
        for segment, od_index in self.od.groupby(list(SEGMENT_KEYS), sort=False).groups.items():
            commodity, allowed_modes, avoid = segment
            graph = self.graphs[(commodity, allowed_modes)]
            od_rows = np.asarray(od_index)
            weights, usable, adjacency, origins, src, dst = segment_arrays(
                graph, self.od, od_rows, avoid, node_pos)
            reverse = adjacency.transpose().tocsr()
            label = segment_label(commodity, allowed_modes, avoid)
            self.penalty_usd_per_t[label] = stranding_penalty(adjacency, src, dst)
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
                # where cargo may also wait between periods (storage nodes it can reach)
                targets = list(sinks[live])
                if source >= 0 and len(self.hold):
                    stops = np.flatnonzero(np.isin(graph.sub_node, hold_at)
                                           & forward & ~np.isin(graph.sub_layer,
                                                                ("src", "snk", "split")))
                    targets += list(stops)
                rooted = bool(targets)
                if rooted:
                    backward = np.zeros(graph.n_sub, bool)
                    for target in targets:
                        backward[breadth_first_order(reverse, int(target), directed=True,
                                                     return_predecessors=False)] = True
                    arcs = np.flatnonzero(forward[graph.tail] & backward[graph.head] & usable)
                else:
                    arcs = np.zeros(0, dtype=np.int64)
                group = _Group(commodity, allowed_modes, origin, rows, n_cols, arcs,
                               source if rooted else -1, sinks,
                               n_cols + len(arcs) + np.arange(len(rows)), avoid)
                self.groups.append(group)
                # local sub-node numbering: rows of this group's conservation constraints,
                # then a virtual supply row when the origin reaches nothing and a virtual sink
                # row per unreachable destination (their stranded columns run between them)
                nodes = np.unique(np.concatenate([graph.tail[arcs], graph.head[arcs],
                                                  [source] if rooted else [],
                                                  sinks[live]]).astype(np.int64))
                n_virtual = int(not rooted) + int((~live).sum())
                group.row_start, group.nodes = n_rows, nodes
                local = {"tail": np.searchsorted(nodes, graph.tail[arcs]),
                         "head": np.searchsorted(nodes, graph.head[arcs])}
                arc_cols = n_cols + np.arange(len(arcs))
                rows_i += [n_rows + local["tail"], n_rows + local["head"]]
                cols_i += [arc_cols, arc_cols]
                vals += [np.ones(len(arcs)), -np.ones(len(arcs))]
                rhs = np.zeros(len(nodes) + n_virtual)
                d = demand_mt[rows]
                s_row = np.searchsorted(nodes, source) if rooted else len(nodes)
                t_rows = np.empty(len(rows), dtype=np.int64)
                t_rows[live] = np.searchsorted(nodes, sinks[live])
                t_rows[~live] = len(nodes) + int(not rooted) + np.arange((~live).sum())
                rhs[s_row] += d.sum()
                np.add.at(rhs, t_rows, -d)
                rows_i += [n_rows + np.full(len(rows), s_row), n_rows + t_rows]
                cols_i += [group.strand_cols, group.strand_cols]
                vals += [np.ones(len(rows)), -np.ones(len(rows))]
                group.supply_row, group.sink_rows = n_rows + int(s_row), n_rows + t_rows
                rhs_parts.append(rhs)
                penalty = self.penalty_usd_per_t[label]
                cost_parts += [weights[arcs], np.full(len(rows), penalty)]
                lower_parts += [np.zeros(len(arcs)), np.zeros(len(rows))]
                upper_parts += [np.full(len(arcs), np.inf), d.copy()]
                col_arc += [arcs, np.full(len(rows), -1)]
                col_group += [np.full(len(arcs) + len(rows), len(self.groups) - 1)]
                n_cols += len(arcs) + len(rows)
                n_rows += len(nodes) + n_virtual
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
