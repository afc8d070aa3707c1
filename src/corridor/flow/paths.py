"""The assignment by column generation: a programme that grows with the routes it uses.

The arc formulation (:class:`corridor.flow.model.FlowModel`) has one column per (origin,
arc): on a network of 100,000 links and 100 origins that is millions of columns before a
single route is chosen. This module solves the same problem over *routes*:

    minimise   sum_p c_p x_p + sum_i penalty_i s_i
    subject to sum_{p of i} x_p + s_i = d_i             (each demand: routed or stranded)
               l <= sum_p a_p x_p <= u                  (link, TEU, terminal, contract rows)

starting from each demand's cheapest route and adding, in rounds, the route of negative
reduced cost that Dijkstra finds under the current prices: an arc costs its generalised cost
minus the duals of the rows it enters (``c - A^T pi``). Capacity rows have non-positive duals,
so the priced weights stay non-negative and one Dijkstra per origin (SciPy) prices every
destination of it at once; a contract minimum can make a weight negative, and then that
origin is priced by Bellman-Ford. When no route prices below its demand row's dual the
restricted programme is optimal for the full one (LP duality), so the optimum is the arc
formulation's: the same objective (routes are simple paths, and a cycle could only add cost)
and the same stranded tonnes. HiGHS re-solves each round warm from the last basis.

The result is a :class:`~corridor.flow.result.FlowResult` read by the same code as the arc
formulation's: the routes' flows are laid on their arcs, one block per origin, so every table,
report and calibration reads it alike.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import highspy
import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import NegativeCycleError, bellman_ford, dijkstra

from corridor.demand import SEGMENT_KEYS
from corridor.errors import InvalidOptionError, TimeLimitError
from corridor.flow.model import (
    MT,
    TIE_BREAK_USD_PER_T,
    FlowModel,
    _Group,
    demand_graphs,
    penalty_of,
    segment_arrays,
    segment_label,
)
from corridor.flow.result import FlowResult, build_result
from corridor.flow.search import Batch, Searcher, path_nodes
from corridor.flow.solver import new_highs, solve_model
from corridor.graph import EGRESS, LINK, CompiledGraph
from corridor.network import Network

log = logging.getLogger(__name__)

#: A route enters when it prices this much (USD/t) below its demand row's dual.
REDUCED_COST_TOLERANCE = 1e-7
#: Rounds of pricing at most (each adds at most one route per demand).
MAX_ROUNDS = 500
#: Every this many rounds, routes that carry nothing and price above their demand's dual by
#: more than this share of their cost leave the programme.
DROP_EVERY = 2
DROP_REDUCED_COST = 0.01
#: Above this many routes added in a round, the next solve is an interior point one.
IPM_ROUTES = 100
#: Origins whose last search found no route are searched again only in every this many
#: rounds (partial pricing: a search that finds nothing costs as much as one that does).
FULL_SEARCH_EVERY = 5
#: Weight of the previous search duals in the next search (dual smoothing, Wentges 1997).
SMOOTHING = 0.5


@dataclass
class _Origin:
    """The demands of one segment leaving one origin: one Dijkstra prices them all."""

    commodity: str
    allowed_modes: str
    avoid: str
    origin: str
    od_rows: np.ndarray
    source: int
    sinks: np.ndarray  # sink sub-node per od row (-1: unreachable)
    usable: np.ndarray  # arcs it may use
    contract_arcs: list[tuple[np.ndarray, int]] = field(default_factory=list)
    found: bool = True  # whether its last search found a route

    @property
    def graph_key(self) -> tuple[str, str]:
        return self.commodity, self.allowed_modes

    @property
    def segment(self) -> tuple[str, str, str]:
        return self.commodity, self.allowed_modes, self.avoid


class PathAssignment:
    """The route-based assignment programme of a network and a demand table.

    Attributes
    ----------
    od, graphs, penalty_usd_per_t
        As for :class:`corridor.flow.model.FlowModel`.
    routes
        The routes in the programme: ``(od row, arc ids)``, in column order after the
        stranded and slack columns (routes that carried nothing for a while and priced well
        above their demand's dual have left it).
    generated
        Routes generated in all.
    rounds
        Pricing rounds of the last :meth:`solve`.
    processes
        Worker processes for the searches (:class:`corridor.flow.search.Searcher`; None: every
        core, on a network large enough to gain).
    """

    def __init__(self, network: Network, demand: pd.DataFrame,
                 processes: int | None = None) -> None:
        self.network = network
        self.processes = processes
        self.od, self.graphs = demand_graphs(network, demand)
        self.demand_mt = self.od["t_per_year"].to_numpy(dtype=float) / MT
        self.penalty_usd_per_t: dict[str, float] = {}  # set by the first search
        self.segment_rows: dict[str, np.ndarray] = {}
        self.origins: list[_Origin] = []
        self.routes: list[tuple[int, np.ndarray]] = []
        self.generated = 0
        self.rounds = 0
        self._layouts: dict[tuple, _Layout] = {}  # search matrix layouts, by graph and arcs
        # each graph's arc costs: the generalised cost plus the tie-break, as the arc
        # formulation prices them
        self.base = {key: graph.weights("generalised") + TIE_BREAK_USD_PER_T
                     for key, graph in self.graphs.items()}
        self._origins()
        self._rows()
        self._arc_rows()
        self._searched_arcs()

    # -- construction ------------------------------------------------------------------------

    def _origins(self) -> None:
        node_pos = {n: i for i, n in enumerate(self.network.nodes.index)}
        for segment, od_index in self.od.groupby(list(SEGMENT_KEYS), sort=False).groups.items():
            commodity, allowed_modes, avoid = segment
            graph = self.graphs[(commodity, allowed_modes)]
            rows = np.asarray(od_index)
            _, usable, _, origins, src, dst = segment_arrays(graph, self.od, rows, avoid,
                                                             node_pos)
            self.segment_rows[segment_label(commodity, allowed_modes, avoid)] = rows
            for origin in dict.fromkeys(origins):
                mine = origins == origin
                self.origins.append(_Origin(commodity, allowed_modes, avoid, origin,
                                            rows[mine], int(src[mine][0]), dst[mine].copy(),
                                            usable))

    def _rows(self) -> None:
        """Demand rows, then capacity rows in the arc formulation's order (links in tonnes,
        links in TEU, terminals, contracts), and the stranded and slack columns."""
        links = self.network.links
        n_od = len(self.od)
        self.commodities = tuple(dict.fromkeys(c for c, _ in self.graphs))
        lower = [self.demand_mt]
        upper = [self.demand_mt]
        cap_link = []
        self.row_t = np.full(len(links), -1, dtype=np.int64)
        self.row_teu = np.full(len(links), -1, dtype=np.int64)
        row = n_od
        for unit, column, target in (("t", "capacity_t_per_year", self.row_t),
                                     ("teu", "capacity_teu_per_year", self.row_teu)):
            limits = links[column].to_numpy(dtype=float)
            chosen = np.flatnonzero(np.isfinite(limits))
            if unit == "teu" and not any(np.isfinite(self._t_per_teu(c))
                                         for c in self.commodities):
                chosen = chosen[:0]
            target[chosen] = row + np.arange(len(chosen))
            lower.append(np.full(len(chosen), -np.inf))
            upper.append(limits[chosen] / MT)
            cap_link += [(p, unit == "teu") for p in chosen]
            row += len(chosen)
        self.cap_link = np.asarray(cap_link, dtype=np.int64).reshape(-1, 2)
        terminals = self.network.terminals
        limits = terminals["capacity_t_per_year"].to_numpy(dtype=float) if len(terminals) \
            else np.zeros(0)
        self.cap_terminal = np.flatnonzero(np.isfinite(limits))
        self.row_terminal = np.full(len(limits), -1, dtype=np.int64)
        self.row_terminal[self.cap_terminal] = row + np.arange(len(self.cap_terminal))
        lower.append(np.full(len(self.cap_terminal), -np.inf))
        upper.append(limits[self.cap_terminal] / MT)
        row += len(self.cap_terminal)
        self.contract_rows = self._contracts(row, lower, upper)
        row += len(self.contract_rows)
        self.row_lower = np.concatenate(lower)
        self.row_upper = np.concatenate(upper)
        self.n_rows = row
        # stranded columns, one per demand (fixed at the demand when it cannot be routed)
        reach = np.zeros(n_od, dtype=bool)
        for o in self.origins:
            reach[o.od_rows] = (o.source >= 0) & (o.sinks >= 0)
        self.strand_lower = np.where(reach, 0.0, self.demand_mt)
        # each demand's cheapest route at the generalised cost alone (set by the first search)
        self.free_cost = np.full(n_od, np.inf)

    def _penalties(self) -> None:
        """Each segment's stranding penalty from its demands' cheapest routes, as the arc
        formulation sets it (:func:`corridor.flow.model.stranding_penalty`), then the stranded
        columns' costs and the contract slacks'."""
        for label, rows in self.segment_rows.items():
            cheapest = self.free_cost[rows]
            finite = cheapest[np.isfinite(cheapest)]
            self.penalty_usd_per_t[label] = penalty_of(float(finite.max()) if len(finite)
                                                       else 0.0)
        self.strand_cost = np.array([self.penalty_usd_per_t[segment_label(c, m, a)] for c, m, a
                                     in self.od[["commodity", "allowed_modes",
                                                 "avoid_countries"]].itertuples(
                                                     index=False, name=None)])
        for contract in self.contract_rows:
            if contract["slack_labels"]:
                contract["slack_cost"] = max(self.penalty_usd_per_t[label]
                                             for label in contract["slack_labels"])

    def _t_per_teu(self, commodity: str) -> float:
        value = self.network.costs.commodities.at[commodity, "t_per_teu"]
        return float(value) if pd.notna(value) and value else np.nan

    def _contracts(self, row: int, lower: list, upper: list) -> list[dict]:
        """One row per contract over the arcs of its link in the origins it binds, with a slack
        column at the penalty when it has a minimum (as in the arc formulation)."""
        contracts = self.network.contracts
        out: list[dict] = []
        if not len(contracts):
            return out
        link_pos = {link: i for i, link in enumerate(self.network.links.index)}
        country = self.network.nodes["country"]
        for contract in contracts.to_dict(orient="records"):
            position = link_pos[contract["link_id"]]
            bound = []
            for origin in self.origins:
                if origin.commodity != contract["commodity"]:
                    continue
                if contract["origin"]:
                    hit = origin.origin == contract["origin"]
                else:
                    hit = bool(set(str(country.get(origin.origin, "")).split(";"))
                               & set(str(contract["origin_country"]).split(";")))
                if hit:
                    graph = self.graphs[origin.graph_key]
                    arcs = np.flatnonzero((graph.kind == LINK) & (graph.arc_link == position))
                    origin.contract_arcs.append((arcs, row + len(out)))
                    bound.append(origin)
            low, high = contract["min_t_per_year"], contract["max_t_per_year"]
            lower.append(np.array([low / MT if pd.notna(low) else -np.inf]))
            upper.append(np.array([high / MT if pd.notna(high) else np.inf]))
            # a minimum gets a slack column at the dearest penalty of the segments it binds
            # (set with the penalties, by the first search)
            labels = [segment_label(*o.segment) for o in bound] if pd.notna(low) else []
            out.append({"row": row + len(out), "slack_cost": None, "slack_labels": labels,
                        "origins": bound})
        return out

    def _searched_arcs(self) -> None:
        """For each graph, the arcs a search needs: all but the ways out to the sinks of
        places that no demand goes to (a third of a grid's sub-nodes are sinks)."""
        self.searched: dict[tuple[str, str], np.ndarray] = {}
        for key, graph in self.graphs.items():
            wanted = np.concatenate([o.sinks for o in self.origins if o.graph_key == key]
                                    or [np.zeros(0, dtype=np.int64)])
            self.searched[key] = (graph.kind != EGRESS) | np.isin(graph.head,
                                                                  wanted[wanted >= 0])

    def _arc_rows(self) -> None:
        """For each graph: the capacity rows each arc enters and with which coefficient."""
        self.arc_rows: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        for key, graph in self.graphs.items():
            per_teu = self._t_per_teu(key[0])
            is_link = graph.kind == LINK
            link = np.where(is_link, graph.arc_link, 0)
            rows = [np.where(is_link, self.row_t[link], -1)]
            coefs = [np.ones(len(link))]
            if np.isfinite(per_teu):
                rows.append(np.where(is_link, self.row_teu[link], -1))
                coefs.append(np.full(len(link), 1.0 / per_teu))
            if graph.arc_terminal is not None and len(self.row_terminal):
                term = graph.arc_terminal
                rows.append(np.where(term >= 0, self.row_terminal[np.maximum(term, 0)], -1))
                coefs.append(np.ones(len(link)))
            self.arc_rows[key] = (np.column_stack(rows), np.column_stack(coefs))

    # -- solving -----------------------------------------------------------------------------

    def solve(self, deadline: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Generate routes until none prices below its demand's dual; returns the column values
        and the duals of every row (0 for a row no route has entered yet).

        Capacity rows join the restricted programme only when its solution breaks them: a
        row left out has a zero dual, so the optimum with every row kept is the same once no
        row is broken and no route prices below zero.
        """
        work = len(self.origins) * max((g.n_sub for g in self.graphs.values()), default=0)
        with Searcher(self.processes, work) as self.searcher:
            return self._generate(deadline)

    def _generate(self, deadline: float | None) -> tuple[np.ndarray, np.ndarray]:
        h = new_highs()
        n_od = len(self.od)
        inf = highspy.kHighsInf
        self.in_master = np.full(self.n_rows, -1, dtype=np.int64)
        self.master_rows: list[int] = []
        self._add_rows(h, list(range(n_od)) + [c["row"] for c in self.contract_rows])
        self.col_rows: list[np.ndarray] = []  # every row each route enters, with coefficients
        self.col_vals: list[np.ndarray] = []
        # the first search finds each demand's cheapest route, which sets the penalties
        cheapest = self._find(np.zeros(self.n_rows), first=True)
        self._penalties()
        slack = [c for c in self.contract_rows if c["slack_cost"] is not None]
        h.addCols(n_od, self.strand_cost, self.strand_lower, self.demand_mt, n_od,
                  np.arange(n_od, dtype=np.int32), np.arange(n_od, dtype=np.int32),
                  np.ones(n_od))
        for contract in slack:
            h.addCol(contract["slack_cost"], 0.0, inf, 1,
                     np.array([self.in_master[contract["row"]]], np.int32), np.ones(1))
        self.n_fixed = n_od + len(slack)
        self._add(h, cheapest)
        values, duals = self._solve(h, deadline)
        self.rounds = 1
        center = duals
        while True:
            # capacity rows the solution breaks join the programme, and routes are searched
            # in the same round under the duals at hand (a new row's dual counts as zero
            # until the next solve), so that each round costs one solve; under duals smoothed
            # towards the last ones (steadier prices, fewer rounds). When no row is broken and
            # neither search finds a route, the programme is optimal.
            cut = self._cut(h, values)
            steered = SMOOTHING * center + (1.0 - SMOOTHING) * duals
            added = self._price(h, duals, first=False, search=steered)
            if not added and not cut:
                added = self._price(h, duals, first=False)
                if not added:
                    break
            if self.rounds >= MAX_ROUNDS:
                raise TimeLimitError(f"route generation did not converge in {MAX_ROUNDS} "
                                     f"rounds")
            center = steered
            _choose_method(h, added, cut)
            values, duals = self._solve(h, deadline)
            self.rounds += 1
            if self.rounds % DROP_EVERY == 0:
                values = self._drop(h, values)
            log.debug("round %d: %d routes and %d rows added, %d routes in all, %d rows",
                      self.rounds, added, cut, len(self.routes), len(self.master_rows))
        log.info("route generation: %d routes in %d rounds, %d of %d rows", len(self.routes),
                 self.rounds, len(self.master_rows), self.n_rows)
        return values, duals

    def _add_rows(self, h: highspy.Highs, rows: list[int]) -> None:
        if not rows:
            return
        inf = highspy.kHighsInf
        chosen = np.asarray(rows, dtype=np.int64)
        self.in_master[chosen] = len(self.master_rows) + np.arange(len(chosen))
        self.master_rows += rows
        low, high = self.row_lower[chosen], self.row_upper[chosen]
        h.addRows(len(chosen), np.where(np.isinf(low), -inf, low),
                  np.where(np.isinf(high), inf, high), 0, np.zeros(0, np.int32),
                  np.zeros(0, np.int32), np.zeros(0))

    def _solve(self, h: highspy.Highs, deadline: float | None
               ) -> tuple[np.ndarray, np.ndarray]:
        values, master_duals = solve_model(h, deadline)
        duals = np.zeros(self.n_rows)
        duals[np.asarray(self.master_rows, dtype=np.int64)] = master_duals
        return values, duals

    def _price(self, h: highspy.Highs, duals: np.ndarray, first: bool,
               search: np.ndarray | None = None) -> int:
        """Add every route that prices below its demand row's dual; returns how many.

        Routes are searched under the duals ``search`` (default ``duals``: smoothed duals
        steady the search, see :meth:`solve`) and kept when they price below zero under
        ``duals``, the current ones.
        """
        return self._add(h, self._find(duals, first, search))

    def _find(self, duals: np.ndarray, first: bool, search: np.ndarray | None = None
              ) -> list[tuple[_Origin, int, np.ndarray]]:
        """The routes :meth:`_price` adds, as (origin, demand row, arcs); the first search
        (``first``) keeps every demand's cheapest route and sets its cost, ``free_cost``."""
        search = duals if search is None else search
        sigma = duals[:len(self.od)]
        routes: list[tuple[_Origin, int, np.ndarray]] = []
        found: list[tuple] = []  # (graph key, origins, their paths, priced weights, chosen)
        for key, graph in self.graphs.items():
            base = self.base[key]
            rows, coefs = self.arc_rows[key]
            current = base - (np.where(rows >= 0, duals[np.maximum(rows, 0)], 0.0)
                              * coefs).sum(axis=1)
            steered = current if search is duals else base - (
                np.where(rows >= 0, search[np.maximum(rows, 0)], 0.0) * coefs).sum(axis=1)
            mine = [o for o in self.origins if o.graph_key == key and o.source >= 0
                    and (first or self._may_improve(o, sigma))]
            if search is not duals and self.rounds % FULL_SEARCH_EVERY:
                # partial pricing: an origin whose last search found nothing waits for a
                # full round (the search that ends the programme is always full)
                mine = [o for o in mine if o.found]
            for o in mine:
                o.found = False
            shared: dict[int, tuple] = {}  # one search matrix per set of usable arcs
            for batch in _by_weights(mine):
                # no route dearer than every demand's dual can price below it
                limit = np.inf if first else max(
                    float(sigma[o.od_rows].max()) for o in batch) * (1 + 1e-6) + 1e-6
                usable = batch[0].usable
                searched = usable & self.searched[key]
                # a contract's dual moves its own origin's weights, and may make one negative
                # (so may a capacity dual off by rounding): those are searched here, by
                # Bellman-Ford when a weight is negative
                if batch[0].contract_arcs or (steered[searched] < 0).any():
                    weights, now = steered.copy(), current.copy()
                    for arcs, row in batch[0].contract_arcs:
                        weights[arcs] -= search[row]
                        now[arcs] -= duals[row]
                    sources = np.array([o.source for o in batch])
                    dist, pred, chosen = _shortest(graph, weights, searched, sources, limit)
                    paths = [[path_nodes(pred[k], o.source, int(sink))
                              if sink >= 0 and np.isfinite(dist[k, sink]) else None
                              for sink in o.sinks] for k, o in enumerate(batch)]
                    found.append((key, batch, paths, now, chosen))
                    continue
                if id(usable) not in shared:
                    layout = self._layouts.get((key, id(usable)))
                    if layout is None:
                        layout = self._layouts[(key, id(usable))] = _Layout(graph, searched)
                    shared[id(usable)] = (layout.matrix(graph, steered), [], [])
                _, origins, batches = shared[id(usable)]
                origins.append(batch)
                batches.append(Batch(np.array([o.source for o in batch]),
                                     tuple(o.sinks for o in batch), limit))
            for (matrix, chosen), origins, batches in shared.values():
                for batch, paths in zip(origins, self.searcher.run(matrix, batches),
                                        strict=True):
                    found.append((key, batch, paths, current, chosen))
        for key, batch, paths, now, chosen in found:
            graph, base = self.graphs[key], self.base[key]
            for origin, origin_paths in zip(batch, paths, strict=True):
                for od_row, nodes in zip(origin.od_rows, origin_paths, strict=True):
                    if nodes is None:
                        continue
                    arcs = _node_arcs(graph, chosen, nodes)
                    if first:
                        self.free_cost[od_row] = float(base[arcs].sum())
                    elif float(now[arcs].sum()) - sigma[od_row] >= \
                            -REDUCED_COST_TOLERANCE * max(1.0, abs(sigma[od_row])):
                        continue
                    routes.append((origin, int(od_row), arcs))
                    origin.found = True
        return routes

    def _add(self, h: highspy.Highs, routes: list[tuple[_Origin, int, np.ndarray]]) -> int:
        """Add routes found by :meth:`_find` to the programme; returns how many."""
        starts, index, value, cost = [0], [], [], []
        for origin, od_row, arcs in routes:
            base = self.base[origin.graph_key]
            rows, coefs = self.arc_rows[origin.graph_key]
            self.routes.append((od_row, arcs))
            self.generated += 1
            r, c = rows[arcs], coefs[arcs]
            keep = r >= 0
            entries: dict[int, float] = {od_row: 1.0}
            for rr, cc in zip(r[keep], c[keep], strict=True):
                entries[int(rr)] = entries.get(int(rr), 0.0) + float(cc)
            for arcs_c, row in origin.contract_arcs:
                n = int(np.isin(arcs, arcs_c).sum())
                if n:
                    entries[row] = entries.get(row, 0.0) + n
            index += list(entries)
            value += list(entries.values())
            starts.append(len(index))
            cost.append(float(base[arcs].sum()))
        n = len(cost)
        if n:
            full = np.asarray(index, dtype=np.int64)
            vals = np.asarray(value, dtype=float)
            bounds = np.asarray(starts)
            keep = self.in_master[full] >= 0
            kept_starts = np.concatenate(([0], np.cumsum([keep[a:b].sum() for a, b in
                                                         zip(bounds[:-1], bounds[1:],
                                                             strict=True)])))[:-1]
            for a, b in zip(bounds[:-1], bounds[1:], strict=True):
                self.col_rows.append(full[a:b])
                self.col_vals.append(vals[a:b])
            h.addCols(n, np.asarray(cost), np.zeros(n), np.full(n, highspy.kHighsInf),
                      int(keep.sum()), kept_starts.astype(np.int32),
                      self.in_master[full[keep]].astype(np.int32), vals[keep])
        return n

    def _drop(self, h: highspy.Highs, values: np.ndarray) -> np.ndarray:
        """Delete the routes that carry nothing and price well above their demand's dual
        (they keep the programme large and rarely come back; if one does, a search adds it
        again); returns the values of the columns kept."""
        reduced = np.asarray(h.getSolution().col_dual, dtype=float)[self.n_fixed:]
        carried = values[self.n_fixed:]
        cost = np.abs(np.asarray(h.getLp().col_cost_, dtype=float)[self.n_fixed:])
        drop = (carried <= 0.0) & (reduced > DROP_REDUCED_COST * np.maximum(cost, 1.0))
        if not drop.any():
            return values
        gone = np.flatnonzero(drop)
        h.deleteCols(len(gone), (gone + self.n_fixed).astype(np.int32))
        keep = ~drop
        self.routes = [r for r, k in zip(self.routes, keep, strict=True) if k]
        self.col_rows = [r for r, k in zip(self.col_rows, keep, strict=True) if k]
        self.col_vals = [v for v, k in zip(self.col_vals, keep, strict=True) if k]
        return np.concatenate([values[:self.n_fixed], carried[keep]])

    def _may_improve(self, origin: _Origin, sigma: np.ndarray) -> bool:
        """Whether a route of the origin could price below its demand's dual.

        Capacity, TEU and terminal rows have non-positive duals, so priced weights are never
        below the generalised cost: a demand whose dual is no more than its cheapest route at
        that cost has no route to add. Contract rows can have positive duals, so an origin
        that a contract binds is always searched.
        """
        if origin.contract_arcs:
            return True
        dual = sigma[origin.od_rows]
        bound = self.free_cost[origin.od_rows] + REDUCED_COST_TOLERANCE * np.maximum(
            1.0, np.abs(dual))
        return bool(np.any(dual > bound))

    def _cut(self, h: highspy.Highs, values: np.ndarray) -> int:
        """Add the capacity rows that the current solution breaks (a row left out has a zero
        dual, so only broken ones can change the optimum); returns how many."""
        if not self.col_rows:
            return 0
        lengths = [len(r) for r in self.col_rows]
        matrix = csr_matrix((np.concatenate(self.col_vals),
                             (np.concatenate(self.col_rows),
                              np.repeat(np.arange(len(lengths)), lengths))),
                            shape=(self.n_rows, len(lengths)))
        load = matrix @ np.maximum(values[self.n_fixed:], 0.0)
        tolerance = 1e-9 * np.maximum(1.0, np.abs(self.row_upper))
        broken = np.flatnonzero((self.in_master < 0) & (
            (load > self.row_upper + tolerance) | (load < self.row_lower - tolerance)))
        if not len(broken):
            return 0
        block = matrix[broken].tocsr()
        self.in_master[broken] = len(self.master_rows) + np.arange(len(broken))
        self.master_rows += broken.tolist()
        inf = highspy.kHighsInf
        low, high = self.row_lower[broken], self.row_upper[broken]
        h.addRows(len(broken), np.where(np.isinf(low), -inf, low),
                  np.where(np.isinf(high), inf, high), block.nnz,
                  block.indptr[:-1].astype(np.int32),
                  (block.indices + self.n_fixed).astype(np.int32), block.data)
        return len(broken)

    # -- the result ----------------------------------------------------------------------------

    def arc_model(self, values: np.ndarray) -> tuple[FlowModel, np.ndarray]:
        """The solution as an arc-formulation model and its column values (the routes' flows
        laid on their arcs, one block per origin), so that the arc formulation's result code
        reads it."""
        model = FlowModel.__new__(FlowModel)
        model.network, model.od, model.graphs = self.network, self.od, self.graphs
        model.penalty_usd_per_t = dict(self.penalty_usd_per_t)
        model.hold = ()
        route_values = values[self.n_fixed:]
        od_origin = np.zeros(len(self.od), dtype=np.int64)
        for g, origin in enumerate(self.origins):
            od_origin[origin.od_rows] = g
        flows: list[dict[int, float]] = [{} for _ in self.origins]  # arc -> tonnes, per origin
        for (od_row, arcs), amount in zip(self.routes, route_values, strict=True):
            if amount > 0:
                mine = flows[int(od_origin[od_row])]
                for arc in arcs.tolist():
                    mine[arc] = mine.get(arc, 0.0) + float(amount)
        model.groups, cols, parts = [], 0, []
        cost_parts = []
        for g, origin in enumerate(self.origins):
            arcs = np.array(sorted(flows[g]), dtype=np.int64)
            group = _Group(origin.commodity, origin.allowed_modes, origin.origin,
                           origin.od_rows, cols, arcs,
                           origin.source if len(arcs) else -1, origin.sinks,
                           cols + len(arcs) + np.arange(len(origin.od_rows)), origin.avoid)
            model.groups.append(group)
            parts += [np.array([flows[g][a] for a in arcs.tolist()], dtype=float),
                      values[origin.od_rows]]
            cost_parts += [self.base[origin.graph_key][arcs],
                           self.strand_cost[origin.od_rows]]
            cols += len(arcs) + len(origin.od_rows)
        model.n_cols = cols
        model._column_metrics()
        model.col_cost = np.concatenate(cost_parts) if cost_parts else np.zeros(0)
        model.col_lower = np.zeros(cols)
        model.col_upper = np.full(cols, np.inf)
        model.col_arc = np.full(cols, -1, dtype=np.int64)
        model.col_group = np.repeat(np.arange(len(model.groups)),
                                    [len(g.arcs) + len(g.od_rows) for g in model.groups])
        model.is_slack = np.zeros(cols, dtype=bool)
        model.cap_link, model.cap_terminal = self.cap_link, self.cap_terminal
        model.n_conservation_rows = len(self.od)
        column_values = np.concatenate(parts) if parts else np.zeros(0)
        slack = [c for c in self.contract_rows if c["slack_cost"] is not None]
        if slack:
            groups = np.array([self.origins.index(c["origins"][0]) for c in slack])
            model._append_slack(np.array([c["slack_cost"] for c in slack]), groups)
            column_values = np.concatenate([column_values, values[len(self.od):self.n_fixed]])
        return model, column_values


def _choose_method(h: highspy.Highs, added: int, cut: int) -> None:
    """The method of the next solve: the interior point method when the round added many
    routes (a warm simplex then needs more iterations than a cold interior solve), else the
    simplex warm from the last basis, primal when only routes were added (the basis stays
    feasible) and dual when rows were (the basis stays optimal for the old rows)."""
    if added > IPM_ROUTES:
        h.setOptionValue("solver", "ipm")
    else:
        h.setOptionValue("solver", "simplex")
        h.setOptionValue("simplex_strategy", 4 if not cut else 1)


def _by_weights(origins: list[_Origin]) -> list[list[_Origin]]:
    """Origins that price on the same weights (same usable arcs, no contract of their own)
    are searched together in one multi-source Dijkstra call."""
    shared: dict[tuple, list[_Origin]] = {}
    alone = []
    for origin in origins:
        if origin.contract_arcs:
            alone.append([origin])
        else:
            shared.setdefault((origin.avoid,), []).append(origin)
    batches = []
    for group in shared.values():
        batches += [group[i:i + 32] for i in range(0, len(group), 32)]
    return batches + alone


def _shortest(graph: CompiledGraph, weights: np.ndarray, usable: np.ndarray,
              sources: np.ndarray, limit: float = np.inf) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Distances and predecessors from each source, with the arc chosen between each pair of
    sub-nodes (the cheapest of parallel arcs); distances above ``limit`` are left infinite.
    Weights made negative by a contract's dual are searched by Bellman-Ford."""
    matrix, chosen = _search_matrix(graph, weights, usable)
    if matrix.data.size == 0 or matrix.data.min() >= 0:
        dist, pred = dijkstra(matrix, directed=True, indices=sources,
                              return_predecessors=True, limit=limit)
    else:
        try:
            dist, pred = bellman_ford(matrix, directed=True, indices=sources,
                                      return_predecessors=True)
        except NegativeCycleError:
            raise InvalidOptionError("a contract minimum makes a loop of negative cost; "
                                     "use the arc formulation for this network") from None
    return np.atleast_2d(dist), np.atleast_2d(pred), chosen


class _Layout:
    """The sparsity of a search matrix over a fixed set of arcs, worked out once: each round
    only fills in the weights (the pairs of sub-nodes joined by parallel arcs, if any, take
    the cheapest, as :func:`_search_matrix` does)."""

    def __init__(self, graph: CompiledGraph, usable: np.ndarray) -> None:
        arcs = np.flatnonzero(usable)
        keys = graph.tail[arcs].astype(np.int64) * graph.n_sub + graph.head[arcs]
        order = np.argsort(keys, kind="stable")
        self.arcs, self.keys = arcs[order], keys[order]
        self.usable = usable
        self.parallel = bool(len(keys)) and bool((self.keys[1:] == self.keys[:-1]).any())
        tails = graph.tail[self.arcs].astype(np.int64)
        self.indptr = np.searchsorted(tails, np.arange(graph.n_sub + 1)).astype(np.int32)
        self.indices = graph.head[self.arcs].astype(np.int32)

    def matrix(self, graph: CompiledGraph, weights: np.ndarray
               ) -> tuple[csr_matrix, tuple[np.ndarray, np.ndarray]]:
        """As :func:`_search_matrix` for these arcs and non-negative ``weights``."""
        w = weights[self.arcs]
        if self.parallel or not len(w) or w.min() < 0:
            return _search_matrix(graph, weights, self.usable)
        matrix = csr_matrix((np.maximum(w, 1e-12), self.indices, self.indptr),
                            shape=(graph.n_sub, graph.n_sub))
        return matrix, (self.keys, self.arcs)


def _search_matrix(graph: CompiledGraph, weights: np.ndarray,
                   usable: np.ndarray) -> tuple[csr_matrix, tuple[np.ndarray, np.ndarray]]:
    """The CSR matrix a search runs on (the cheapest of parallel arcs between two sub-nodes),
    and the arc chosen for each pair of sub-nodes as (sorted pair keys, arc ids)."""
    arcs = np.flatnonzero(usable)
    keys = graph.tail[arcs].astype(np.int64) * graph.n_sub + graph.head[arcs]
    order = np.lexsort((weights[arcs], keys))
    keys, arcs = keys[order], arcs[order]
    first = np.concatenate(([True], keys[1:] != keys[:-1]))
    arcs, keys = arcs[first], keys[first]
    w = np.maximum(weights[arcs], 1e-12) if (weights[arcs] >= 0).all() else weights[arcs]
    matrix = csr_matrix((w, (graph.tail[arcs], graph.head[arcs])),
                        shape=(graph.n_sub, graph.n_sub))
    return matrix, (keys, arcs)


def _node_arcs(graph: CompiledGraph, chosen: tuple[np.ndarray, np.ndarray],
               nodes: np.ndarray) -> np.ndarray:
    """The arcs of a path given as sub-nodes (the cheapest of parallel arcs, as searched)."""
    keys, arcs = chosen
    return arcs[np.searchsorted(keys, nodes[:-1] * graph.n_sub + nodes[1:])]


def assign_paths(network: Network, demand: pd.DataFrame, scenario: object = None,
                 time_limit_s: float | None = None, processes: int | None = None) -> FlowResult:
    """Assign yearly demand by route generation: the arc formulation's optimum
    (:func:`corridor.flow.assign`) with a programme that grows with the routes used.

    Parameters and result as for :func:`corridor.flow.assign`; ``totals`` gains ``routes``
    (columns generated) and ``rounds`` (pricing rounds).
    """
    deadline = None if time_limit_s is None else time.monotonic() + time_limit_s
    from corridor.scenario import scenario_inputs

    network, demand, name = scenario_inputs(network, demand, scenario)
    paths = PathAssignment(network, demand, processes)
    values, duals = paths.solve(deadline)
    model, column_values = paths.arc_model(values)
    result = build_result(model, column_values, duals, name)
    result.totals["routes"] = float(paths.generated)
    result.totals["rounds"] = float(paths.rounds)
    return result
