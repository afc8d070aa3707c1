"""Assignment that spreads each demand over its competing routes as shippers do (logit).

The linear programme of :mod:`corridor.flow` sends each demand down its cheapest route
until a capacity binds: a corner solution, all or nothing. Shippers split between routes of
similar cost (contracts, reliability, habit, information the model lacks). This module solves
the same problem with an entropy term, the capacity-constrained logit assignment:

    minimise   sum_p c_p x_p + sum_i (1 / theta_i) sum_{p in i} x_p (ln(x_p / d_i) - 1)
    subject to sum_{p in i} x_p = d_i            (each demand, stranding one of its options)
               l <= A x <= u                     (link, terminal and contract rows)

over a set of routes ``p`` per demand ``i`` with generalised cost ``c_p``. Its solution is a
logit split, ``x_p = d_i exp(-theta_i g_p) / sum exp(-theta_i g_q)``, with ``g_p`` the route
cost plus the prices of the side rows it uses; the prices come from maximising the concave
dual with L-BFGS-B (SciPy), which keeps every hard capacity to a small tolerance. The scale
``theta_i = spread / c_i`` makes ``spread`` unitless: a route dearer by a share ``s`` of the
cheapest gets ``exp(-spread * s)`` of its traffic. A large ``spread`` gives back the linear
programme's answer; the calibration picks the value (see ``docs/calibration.md``).

Routes come from the same graphs as the linear programme: for every demand the cheapest
route, the cheapest route around each of its transit countries (other corridors), and, in
rounds of column generation, the cheapest route under the current prices, until no new route
is found. The result is a :class:`corridor.flow.FlowResult` built from the same columns
as the linear programme's, so every table, report and calibration reads it alike.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from corridor.errors import InvalidOptionError, TimeLimitError
from corridor.flow import MT, FlowModel, FlowResult, assign, build_result
from corridor.graph import LINK
from corridor.network import Network

#: The spread that reproduces the observed volumes best (``docs/calibration.md``).
DEFAULT_SPREAD = 10.0
#: Rounds of column generation (new routes under the current prices) at most.
MAX_ROUNDS = 8
#: Side rows may be exceeded by this share of their bound (the dual is solved numerically).
CAPACITY_TOLERANCE = 1e-3


@dataclass
class _Route:
    od: int  # row of model.od
    cols: np.ndarray  # LP columns of the route's arcs
    cost: float  # generalised USD/t (the LP's column costs)
    side: np.ndarray  # row positions among the side rows
    side_coef: np.ndarray


def assign_logit(network: Network, demand: pd.DataFrame, scenario: object = None,
                 spread: float = DEFAULT_SPREAD,
                 time_limit_s: float | None = None) -> FlowResult:
    """Assign the demand as shippers split it over competing routes, within capacities.

    Parameters
    ----------
    network, demand, scenario
        As for :func:`corridor.flow.assign`.
    spread
        How sharply shippers prefer the cheapest route: a route dearer by a share ``s`` of
        the cheapest carries ``exp(-spread * s)`` as much (between 1 and 1,000).
    time_limit_s
        Wall-clock budget (None: no limit).

    Returns
    -------
    FlowResult
        With the same tables as the linear programme's; ``totals["spread"]`` is ``spread``.

    Raises
    ------
    InvalidOptionError, TimeLimitError
    """
    if not 1.0 <= spread <= 1000.0:
        raise InvalidOptionError("spread must be between 1 and 1,000.")
    deadline = None if time_limit_s is None else time.monotonic() + time_limit_s
    from corridor.scenario import as_scenario, scenario_inputs

    scenario = as_scenario(scenario)
    if scenario is not None and scenario.is_periodic:
        from corridor.flow.periods import assign_periods

        result = assign_periods(network, demand, scenario, time_limit_s,
                                solve=lambda model, limit: _Logit(model, spread, limit).solve())
    else:
        network, demand, name = scenario_inputs(network, demand, scenario)
        model = FlowModel(network, demand)
        values, duals = _Logit(model, spread, deadline).solve()
        result = build_result(model, values, duals, name)
    result.totals["spread"] = spread
    return result


def assign_flows(network: Network, demand: pd.DataFrame, scenario: object = None,
                 spread: float | None = None, formulation: str = "arc") -> FlowResult:
    """The linear programme (:func:`corridor.flow.assign`, in its ``formulation``), or the
    logit assignment when a ``spread`` is given: the one choice the command line offers for
    every flow run."""
    if spread is None:
        return assign(network, demand, scenario, formulation=formulation)
    return assign_logit(network, demand, scenario, spread=spread)


class _Logit:
    """The dual of the capacity-constrained logit assignment over a growing route set."""

    def __init__(self, model: FlowModel, spread: float, deadline: float | None) -> None:
        self.model, self.spread, self.deadline = model, spread, deadline
        first = model.n_conservation_rows
        self.side = model.matrix[first:, :].tocsc()
        self.lower = model.row_lower[first:]
        self.upper = model.row_upper[first:]
        self.has_upper = np.isfinite(self.upper)
        self.has_lower = np.isfinite(self.lower)
        # a contract minimum is soft: its slack column caps its price at the penalty
        self.lower_cap = np.full(len(self.lower), np.inf)
        slack = np.flatnonzero(model.is_slack)
        if len(slack):
            rows = self.side[:, slack].tocoo()
            self.lower_cap[rows.row] = model.col_cost[slack[rows.col]]
        self.routes: list[_Route] = []
        self.known: set[tuple[int, tuple[int, ...]]] = set()
        self.od_demand = model.od["t_per_year"].to_numpy(dtype=float) / MT
        self.penalty = np.zeros(len(model.od))
        for group in model.groups:
            self.penalty[group.od_rows] = model.col_cost[group.strand_cols]
        self.scale = np.ones(len(model.od))  # theta_i, set from the cheapest route
        self.prices = np.zeros(2 * len(self.lower))

    # -- route sets --------------------------------------------------------------------------

    def _tree(self, g: int, extra: np.ndarray | None,
              banned: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
        """Shortest-path tree of group ``g`` over its columns (costs plus ``extra``, arcs in
        ``banned`` closed): distances, predecessors and the arc between two sub-nodes."""
        group = self.model.groups[g]
        graph = self.model.graphs[group.graph_key]
        cols = group.col_start + np.arange(len(group.arcs))
        weight = self.model.col_cost[cols] + (extra[cols] if extra is not None else 0.0)
        keep = np.ones(len(cols), dtype=bool) if banned is None else ~banned[group.arcs]
        tail, head = graph.tail[group.arcs], graph.head[group.arcs]
        order = np.lexsort((weight, head, tail))
        order = order[keep[order]]
        pairs = tail[order].astype(np.int64) * graph.n_sub + head[order]
        first = order[np.unique(pairs, return_index=True)[1]]  # cheapest arc per node pair
        matrix = csr_matrix((np.maximum(weight[first], 1e-12), (tail[first], head[first])),
                            shape=(graph.n_sub, graph.n_sub))
        dist, pred = dijkstra(matrix, directed=True, indices=group.source,
                              return_predecessors=True)
        arc_of = dict(zip(zip(tail[first].tolist(), head[first].tolist(), strict=True),
                          first.tolist(), strict=True))
        return dist, pred, arc_of

    def _path(self, g: int, sink: int, dist: np.ndarray, pred: np.ndarray,
              arc_of: dict) -> np.ndarray | None:
        group = self.model.groups[g]
        if not np.isfinite(dist[sink]):
            return None
        local = []
        node = sink
        while node != group.source:
            before = int(pred[node])
            local.append(arc_of[(before, node)])
            node = before
        local.reverse()
        return group.col_start + np.asarray(local, dtype=np.int64)

    def _add(self, od: int, cols: np.ndarray) -> bool:
        key = (od, tuple(cols.tolist()))
        if key in self.known:
            return False
        self.known.add(key)
        column = self.side[:, cols].sum(axis=1).A1
        rows = np.flatnonzero(np.abs(column) > 0)
        self.routes.append(_Route(od, cols, float(self.model.col_cost[cols].sum()), rows,
                                  column[rows]))
        return True

    def _seed(self) -> None:
        """Per demand: the cheapest route and the cheapest around each transit country."""
        model = self.model
        for g, group in enumerate(model.groups):
            if group.source < 0:
                continue
            graph = model.graphs[group.graph_key]
            dist, pred, arc_of = self._tree(g, None)
            around: dict[int, tuple[np.ndarray, np.ndarray, dict]] = {}
            for od, sink in zip(group.od_rows, group.sinks, strict=True):
                if sink < 0:
                    continue
                cols = self._path(g, int(sink), dist, pred, arc_of)
                if cols is None:
                    continue
                self.scale[od] = self.spread / max(float(dist[sink]), 1.0)
                self._add(int(od), cols)
                arcs = group.arcs[cols - group.col_start]
                links = arcs[graph.kind[arcs] == LINK]
                mask = int(np.bitwise_or.reduce(graph.country_mask[links])) if len(links) else 0
                own = self._end_countries(graph, int(od))
                for bit in range(len(graph.countries)):
                    if not (mask >> bit) & 1 or (own >> bit) & 1:
                        continue
                    if bit not in around:  # one tree per country closed, for every sink
                        around[bit] = self._tree(g, None, (graph.country_mask >> bit) & 1 == 1)
                    other = self._path(g, int(sink), *around[bit])
                    if other is not None:
                        self._add(int(od), other)

    def _generate(self) -> int:
        """Add the cheapest route of every demand under the current prices; how many new."""
        model = self.model
        net_price = self.prices[:len(self.lower)] - self.prices[len(self.lower):]
        extra = self.side.T @ net_price
        added = 0
        for g, group in enumerate(model.groups):
            if group.source < 0:
                continue
            dist, pred, arc_of = self._tree(g, extra)
            for od, sink in zip(group.od_rows, group.sinks, strict=True):
                if sink < 0:
                    continue
                cols = self._path(g, int(sink), dist, pred, arc_of)
                if cols is not None and self._add(int(od), cols):
                    added += 1
        return added

    def _end_countries(self, graph, od: int) -> int:  # noqa: ANN001 (CompiledGraph)
        """The countries of a demand's origin and destination (never avoided)."""
        bit = {code: 1 << i for i, code in enumerate(graph.countries)}
        nodes = self.model.network.nodes
        mask = 0
        for end in ("origin", "destination"):
            for code in str(nodes.at[self.model.od.at[od, end], "country"]).split(";"):
                mask |= bit.get(code, 0)
        return mask

    # -- the dual ----------------------------------------------------------------------------

    def _arrays(self) -> None:
        n = len(self.routes)
        self.r_od = np.array([r.od for r in self.routes], dtype=np.int64)
        self.r_cost = np.array([r.cost for r in self.routes])
        rows = np.concatenate([r.side for r in self.routes]) if n else np.zeros(0, int)
        cols = np.concatenate([np.full(len(r.side), i) for i, r in enumerate(self.routes)]) \
            if n else np.zeros(0, int)
        vals = np.concatenate([r.side_coef for r in self.routes]) if n else np.zeros(0)
        self.incidence = csr_matrix((vals, (rows, cols)), shape=(len(self.lower), n))

    def _flows(self, prices: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """Route flows, stranded flow per demand and the log-sum part of the dual."""
        m = len(self.lower)
        net_price = prices[:m] - prices[m:]
        cost = self.r_cost + self.incidence.T @ net_price
        theta = self.scale[self.r_od]
        n_od = len(self.od_demand)
        # per demand, logit over its routes and stranding (cost: the penalty)
        lowest = self.penalty.copy()
        np.minimum.at(lowest, self.r_od, cost)
        weight = np.exp(-theta * (cost - lowest[self.r_od]))
        strand_w = np.exp(-self.scale * (self.penalty - lowest))
        total = strand_w.copy()
        np.add.at(total, self.r_od, weight)
        flow = self.od_demand[self.r_od] * weight / total[self.r_od]
        stranded = self.od_demand * strand_w / total
        served = np.zeros(n_od, dtype=bool)
        served[self.r_od] = True
        stranded[~served] = self.od_demand[~served]
        logsum = np.where(served, lowest - np.log(total) / self.scale, self.penalty)
        return flow, stranded, float(self.od_demand @ logsum)

    def _negative_dual(self, prices: np.ndarray) -> tuple[float, np.ndarray]:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise TimeLimitError("the assignment did not finish within its time budget")
        m = len(self.lower)
        flow, _, value = self._flows(prices)
        use = self.incidence @ flow
        upper = np.where(self.has_upper, self.upper, 0.0)
        lower = np.where(self.has_lower, self.lower, 0.0)
        dual = value - prices[:m] @ upper + prices[m:] @ lower
        gradient = np.concatenate([use - upper, lower - use])
        return -dual, -gradient

    def _maximise(self) -> None:
        m = len(self.lower)
        bounds = [(0.0, None) if ok else (0.0, 0.0) for ok in self.has_upper]
        bounds += [(0.0, None if not np.isfinite(cap) else float(cap)) if ok else (0.0, 0.0)
                   for ok, cap in zip(self.has_lower, self.lower_cap, strict=True)]
        if not m:
            return
        found = minimize(self._negative_dual, self.prices, jac=True, method="L-BFGS-B",
                         bounds=bounds, options={"maxiter": 5000, "ftol": 1e-12,
                                                 "gtol": 1e-9})
        self.prices = np.asarray(found.x, dtype=float)

    def solve(self) -> tuple[np.ndarray, np.ndarray]:
        """Column values and row duals in the linear programme's layout."""
        self._seed()
        for _ in range(MAX_ROUNDS):
            self._arrays()
            self._maximise()
            if not self._generate():
                break
        self._arrays()
        self._maximise()
        return self._columns()

    def _columns(self) -> tuple[np.ndarray, np.ndarray]:
        model = self.model
        flow, stranded, _ = self._flows(self.prices)
        values = np.zeros(model.n_cols)
        for route, amount in zip(self.routes, flow, strict=True):
            values[route.cols] += amount
        for group in model.groups:
            values[group.strand_cols] = stranded[group.od_rows]
        slack = np.flatnonzero(model.is_slack)
        if len(slack):
            use = self.side @ values
            rows = self.side[:, slack].tocoo()
            short = np.maximum(self.lower[rows.row] - use[rows.row], 0.0)
            values[slack[rows.col]] = short
        m = len(self.lower)
        duals = np.zeros(model.n_rows)
        duals[model.n_conservation_rows:] = -self.prices[:m] + self.prices[m:]
        return values, duals
