"""Best routes and ranked loopless alternatives between two places.

Shortest paths run on the compiled CSR graph with SciPy's Dijkstra; alternatives come from
Yen's algorithm (Yen 1971, "Finding the k shortest loopless paths in a network"), loopless in
physical nodes, so a route never passes a city twice even in different modes.
"""

from __future__ import annotations

import heapq
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy.sparse.csgraph import dijkstra

from corridor.errors import InvalidOptionError, NoRouteError
from corridor.graph import LINK, TRANSFER, CompiledGraph, compile_graph
from corridor.network import Network

ROUTE_OBJECTIVES = ("cost", "time", "co2", "distance")


@dataclass(frozen=True)
class Leg:
    """One link of a route, in the direction travelled."""

    link_id: str
    from_id: str
    from_name: str
    to_id: str
    to_name: str
    mode: str
    gauge_mm: int | None
    length_km: float
    days: float
    cost_usd_per_t: float
    co2_kg_per_t: float
    country: str
    corridor: str
    border_crossing: bool


@dataclass(frozen=True)
class Transfer:
    """A change of mode or of rail gauge at a node."""

    node_id: str
    node_name: str
    kind: str
    from_layer: str
    to_layer: str
    days: float
    cost_usd_per_t: float


@dataclass(frozen=True)
class Route:
    """A route with its legs, transfers and totals (per tonne of the commodity)."""

    rank: int
    origin: str
    destination: str
    commodity: str
    objective: str
    legs: tuple[Leg, ...]
    transfers: tuple[Transfer, ...]
    length_km: float
    days: float
    cost_usd_per_t: float
    co2_kg_per_t: float
    countries: tuple[str, ...]
    border_crossings: tuple[str, ...]
    modes: tuple[str, ...] = field(default=())

    @property
    def node_ids(self) -> list[str]:
        return [self.legs[0].from_id] + [leg.to_id for leg in self.legs]

    @property
    def link_ids(self) -> list[str]:
        return [leg.link_id for leg in self.legs]

    def to_dict(self) -> dict:
        """Plain data for JSON: the same fields as the table."""
        return asdict(self)

    def legs_frame(self) -> pd.DataFrame:
        """The legs as a DataFrame, one row per link."""
        return pd.DataFrame([asdict(leg) for leg in self.legs])


class Router:
    """Answers route queries on one network; compiled graphs are built once and reused.

    Parameters
    ----------
    network
        A loaded :class:`~corridor.network.Network`.
    graphs
        Compiled graphs to share with other routers (e.g. one router per server thread);
        they are only read once built.
    """

    def __init__(self, network: Network,
                 graphs: dict[str, CompiledGraph] | None = None) -> None:
        self.network = network
        self._graphs: dict[str, CompiledGraph] = graphs if graphs is not None else {}
        # plain-Python views for building results: pandas row access costs ~10 µs a field
        links = network.links
        self._link_ids = links.index.tolist()
        self._link_rows = links[["from_node_id", "to_node_id", "mode", "gauge_mm", "country",
                                 "corridor"]].to_dict("records")
        self._names = network.nodes["name"].to_dict()
        self._countries = network.nodes["country"].to_dict()

    def graph(self, commodity: str, service: str = "") -> CompiledGraph:
        """The compiled graph of a commodity and service (built on first use)."""
        key = f"{commodity}/{service}" if service else commodity
        if key not in self._graphs:
            self._graphs[key] = compile_graph(self.network, commodity, service=service)
        return self._graphs[key]

    def route(
        self,
        origin: str,
        destination: str,
        commodity: str = "container",
        optimize: str = "cost",
        avoid: tuple[str, ...] | list[str] = (),
        avoid_modes: tuple[str, ...] | list[str] = (),
        via: str | None = None,
        alternatives: int = 1,
        service: str = "",
    ) -> list[Route]:
        """Best route and up to ``alternatives - 1`` ranked loopless alternatives.

        Parameters
        ----------
        origin, destination, via
            Place names, ids, aliases or Russian names.
        commodity
            A commodity of the cost model (``container``, ``crude_oil`` …).
        optimize
            ``cost`` (USD/t), ``time`` (days), ``co2`` (kg CO2/t) or ``distance`` (km).
        avoid
            ISO3 codes of countries the route may not touch.
        avoid_modes
            Modes the route may not use.
        alternatives
            How many routes to return at most (1 = only the best).
        service
            A named service of the cost model (e.g. ``express`` block trains) whose speeds,
            tariffs and dwell replace the standard ones; empty is the standard service.

        Returns
        -------
        list[Route]
            Ranked best first; fewer than asked when no more distinct routes exist.

        Raises
        ------
        UnknownPlaceError, InvalidOptionError, NoRouteError
        """
        net = self.network
        start, end = net.resolve(origin), net.resolve(destination)
        stop = net.resolve(via) if via else None
        if optimize not in ROUTE_OBJECTIVES:
            raise InvalidOptionError(
                f"Unknown objective {optimize!r}; choose one of {', '.join(ROUTE_OBJECTIVES)}.")
        if alternatives < 1 or alternatives > 20:
            raise InvalidOptionError("alternatives must be between 1 and 20.")
        avoid = tuple(dict.fromkeys(c.strip().upper() for c in avoid if c.strip()))
        avoid_modes = tuple(dict.fromkeys(m.strip() for m in avoid_modes if m.strip()))
        self._check_options(commodity, avoid, avoid_modes)
        if start == end or stop in (start, end):
            raise InvalidOptionError("origin, destination and via must be different places.")
        graph = self.graph(commodity, service)
        for place, role in ((start, "origin"), (end, "destination"), (stop, "via")):
            if place is None:
                continue
            if graph.source_of[net.nodes.index.get_loc(place)] < 0:
                raise NoRouteError(
                    f"No {commodity} route: {net.node_name(place)} ({role}) has no link that "
                    f"{commodity} may use ({', '.join(net.costs.allowed_modes(commodity))}).",
                    constraint="commodity")
            country = net.nodes.at[place, "country"]
            if set(country.split(";")) & set(avoid):
                raise NoRouteError(
                    f"No route: the {role} {net.node_name(place)} lies in {country}, which "
                    f"--avoid excludes.", constraint="avoid")
        weights = graph.weights(optimize)
        allowed = graph.allowed(avoid, avoid_modes)
        if stop is None:
            paths = self._k_paths(graph, weights, allowed, start, end, alternatives)
        else:
            first = self._k_paths(graph, weights, allowed, start, stop, alternatives)
            second = self._k_paths(graph, weights, allowed, stop, end, alternatives)
            paths = _join(graph, weights, first, second, alternatives)
            if len(paths) < alternatives:
                paths = self._join_apart(graph, weights, allowed, first, paths, stop, end,
                                         alternatives)
        if not paths:
            message, constraint = self._explain(graph, weights, start, end, stop, commodity,
                                                avoid, avoid_modes)
            raise NoRouteError(message, constraint=constraint)
        return [self._build(graph, arcs, rank, start, end, commodity, optimize)
                for rank, (_, arcs) in enumerate(paths, start=1)]

    # -- internals -------------------------------------------------------------------------

    def _check_options(self, commodity: str, avoid: tuple[str, ...],
                       avoid_modes: tuple[str, ...]) -> None:
        self.network.costs.check_commodity(commodity)
        from corridor.cost import MODES
        from corridor.tables import ISO3

        avoidable = [m for m in MODES if m != "transfer"]
        if "transfer" in avoid_modes:
            raise InvalidOptionError(
                "The mode 'transfer' cannot be avoided: transfer links join terminals to their "
                f"lines. Avoid one of {', '.join(avoidable)} instead.")
        bad = [m for m in avoid_modes if m not in MODES]
        if bad:
            raise InvalidOptionError(
                f"Unknown mode(s) {', '.join(bad)}; choose from {', '.join(avoidable)}.")
        bad = [c for c in avoid if c not in ISO3]
        if bad:
            raise InvalidOptionError(
                f"Unknown country code(s) {', '.join(bad)}; use ISO 3166 alpha-3 codes such as "
                f"RUS, KAZ, IRN.")

    def _join_apart(self, graph: CompiledGraph, weights: np.ndarray, allowed: np.ndarray,
                    first: list, paths: list, stop: str, end: str,
                    k: int) -> list[tuple[float, list[int]]]:
        """Add via-routes whose second half keeps away from the places of the first half.

        The best second half may run back through a place the first half visited (a loop);
        searching it again with those places closed finds the best loopless continuation.
        """
        stop_at = self.network.nodes.index.get_loc(stop)
        found = list(paths)
        for cost, arcs in first:
            links = [a for a in arcs if graph.kind[a] == LINK]
            visited = set(graph.sub_node[graph.tail[links]].tolist())
            visited |= set(graph.sub_node[graph.head[links]].tolist())
            visited.discard(stop_at)
            closed = np.isin(graph.sub_node[graph.tail], list(visited)) | np.isin(
                graph.sub_node[graph.head], list(visited))
            second = self._k_paths(graph, weights, allowed & ~closed, stop, end, k)
            found += _join(graph, weights, [(cost, arcs)], second, k)
        found.sort(key=lambda item: item[0])
        unique, seen = [], set()
        for cost, arcs in found:
            key = _link_key(graph, arcs)
            if key not in seen:
                seen.add(key)
                unique.append((cost, arcs))
        return unique[:k]

    def _shortest(self, graph: CompiledGraph, weights: np.ndarray, allowed: np.ndarray,
                  source: int, target: int) -> tuple[float, list[int]] | None:
        """Cheapest arc list from sub-node ``source`` to ``target`` (None if unreachable)."""
        matrix = graph.matrix(weights, allowed)
        dist, pred = dijkstra(matrix, directed=True, indices=source, return_predecessors=True)
        if not np.isfinite(dist[target]):
            return None
        nodes = [target]
        while nodes[-1] != source:
            nodes.append(int(pred[nodes[-1]]))
        nodes.reverse()
        arr = np.asarray(nodes)
        arcs = graph.arcs_between(arr[:-1], arr[1:]).tolist()
        return float(dist[target]), arcs

    def _k_paths(self, graph: CompiledGraph, weights: np.ndarray, allowed: np.ndarray,
                 start: str, end: str, k: int) -> list[tuple[float, list[int]]]:
        """Yen's k shortest loopless paths, distinct in the links they use.

        Paths that differ only in where cargo changes layer (e.g. a useless transfer at the
        destination) are explored for spurs but not reported as separate routes.
        """
        net = self.network
        s = int(graph.source_of[net.nodes.index.get_loc(start)])
        t = int(graph.sink_of[net.nodes.index.get_loc(end)])
        best = self._shortest(graph, weights, allowed, s, t)
        if best is None:
            return []
        found = [best]
        distinct = [best]
        link_keys = {_link_key(graph, best[1])}
        seen = {tuple(best[1])}
        candidates: list[tuple[float, int, list[int]]] = []
        counter = 0
        for _ in range(max(20, 10 * k)):
            if len(distinct) >= k:
                break
            _, last = found[-1]
            for i in range(len(last)):
                root = last[:i]
                spur_node = int(graph.tail[last[i]])
                blocked = allowed.copy()
                for _, path in found:
                    if path[:i] == root and len(path) > i:
                        blocked[path[i]] = False
                # loopless in physical nodes: the root's places may not be entered again
                root_places = {int(graph.sub_node[graph.tail[a]]) for a in root}
                if root_places:
                    blocked &= ~np.isin(graph.sub_node[graph.head], list(root_places))
                spur = self._shortest(graph, weights, blocked, spur_node, t)
                if spur is None:
                    continue
                path = root + spur[1]
                if tuple(path) in seen:
                    continue
                seen.add(tuple(path))
                counter += 1
                heapq.heappush(candidates, (float(weights[path].sum()), counter, path))
            while candidates:
                cost, _, path = heapq.heappop(candidates)
                if _physical_loopless(graph, path):
                    found.append((cost, path))
                    key = _link_key(graph, path)
                    if key not in link_keys:
                        link_keys.add(key)
                        distinct.append((cost, path))
                    break
            else:
                break
        return distinct

    def _explain(self, graph: CompiledGraph, weights: np.ndarray, start: str, end: str,
                 stop: str | None, commodity: str, avoid: tuple[str, ...],
                 avoid_modes: tuple[str, ...]) -> tuple[str, str]:
        """Find which constraint blocks the route by relaxing them one at a time.

        Returns the message and the name of the blocking constraint.
        """
        net = self.network
        names = f"{net.node_name(start)} to {net.node_name(end)}"
        full = np.ones(len(graph.tail), dtype=bool)
        legs = [(start, stop), (stop, end)] if stop else [(start, end)]

        def reachable(mask: np.ndarray) -> bool:
            return all(self._k_paths(graph, weights, mask, a, b, 1) for a, b in legs)

        if not reachable(full):
            return (f"No {commodity} route from {names}: the network has no connection for "
                    f"{commodity} (modes {', '.join(net.costs.allowed_modes(commodity))}).",
                    "commodity")
        if avoid and reachable(graph.allowed((), avoid_modes)):
            for code in avoid:
                if reachable(graph.allowed((code,), ())):
                    continue
                return (f"No {commodity} route from {names} that avoids {code}: every "
                        f"connection passes through {code} (constraint --avoid).", "avoid")
            return (f"No {commodity} route from {names} that avoids all of "
                    f"{', '.join(avoid)} at once (constraint --avoid).", "avoid")
        flag = "--avoid-mode " + ",".join(avoid_modes) if avoid_modes else "--avoid"
        return (f"No {commodity} route from {names} under {flag}.",
                "avoid-mode" if avoid_modes else "avoid")

    def _build(self, graph: CompiledGraph, arcs: list[int], rank: int, start: str, end: str,
               commodity: str, objective: str) -> Route:
        names = self._names
        legs: list[Leg] = []
        transfers: list[Transfer] = []
        kinds, arc_link, forward = graph.kind[arcs], graph.arc_link[arcs], graph.arc_forward[arcs]
        for i, arc in enumerate(arcs):
            kind = kinds[i]
            if kind == LINK:
                position = int(arc_link[i])
                row = self._link_rows[position]
                a, b = row["from_node_id"], row["to_node_id"]
                if not forward[i]:
                    a, b = b, a
                gauge = row["gauge_mm"]
                legs.append(Leg(
                    link_id=self._link_ids[position], from_id=a, from_name=names[a],
                    to_id=b, to_name=names[b], mode=row["mode"],
                    gauge_mm=None if pd.isna(gauge) else int(gauge),
                    length_km=float(graph.km[arc]), days=float(graph.days[arc]),
                    cost_usd_per_t=float(graph.cost_usd[arc]),
                    co2_kg_per_t=float(graph.co2_kg[arc]), country=row["country"] or "",
                    corridor=row["corridor"] or "", border_crossing=bool(graph.border[arc])))
            elif kind == TRANSFER:
                node = graph.node_ids[graph.arc_node[arc]]
                transfers.append(Transfer(
                    node_id=node, node_name=names[node], kind=graph.transfer_kind[arc],
                    from_layer=graph.sub_layer[graph.tail[arc]],
                    to_layer=graph.sub_layer[graph.head[arc]],
                    days=float(graph.days[arc]), cost_usd_per_t=float(graph.cost_usd[arc])))
        countries: list[str] = []
        for node in [legs[0].from_id] + [leg.to_id for leg in legs]:
            for code in self._countries[node].split(";"):
                if code not in countries:
                    countries.append(code)
        borders = tuple(f"{leg.from_name}–{leg.to_name}" for leg in legs if leg.border_crossing)
        return Route(
            rank=rank, origin=start, destination=end, commodity=commodity, objective=objective,
            legs=tuple(legs), transfers=tuple(transfers),
            length_km=round(sum(leg.length_km for leg in legs), 1),
            days=sum(leg.days for leg in legs) + sum(t.days for t in transfers),
            cost_usd_per_t=sum(leg.cost_usd_per_t for leg in legs)
            + sum(t.cost_usd_per_t for t in transfers),
            co2_kg_per_t=sum(leg.co2_kg_per_t for leg in legs),
            countries=tuple(countries), border_crossings=borders,
            modes=tuple(dict.fromkeys(leg.mode for leg in legs)),
        )


def _link_key(graph: CompiledGraph, arcs: list[int]) -> tuple:
    """The links a path uses, with direction: what tells two routes apart."""
    return tuple((int(graph.arc_link[a]), bool(graph.arc_forward[a])) for a in arcs
                 if graph.kind[a] == LINK)


def _physical_loopless(graph: CompiledGraph, arcs: list[int]) -> bool:
    """True when the links of ``arcs`` never return to a place already visited."""
    link_arcs = [a for a in arcs if graph.kind[a] == LINK]
    if not link_arcs:
        return True
    visited = [int(graph.sub_node[graph.tail[link_arcs[0]]])]
    visited += [int(graph.sub_node[graph.head[a]]) for a in link_arcs]
    return len(visited) == len(set(visited))


def _join(graph: CompiledGraph, weights: np.ndarray, first: list, second: list,
          k: int) -> list[tuple[float, list[int]]]:
    """Combine alternatives of the two halves of a via-route, best first, loopless only.

    The first half ends at the via's sink and the second starts at its source; the two
    virtual arcs at the via are dropped and a transfer arc is inserted where the layers differ.
    """
    combos = []
    for c1, p1 in first:
        for c2, p2 in second:
            left, right = p1[:-1], p2[1:]  # drop egress at via and access at via
            a = int(graph.head[left[-1]])
            b = int(graph.tail[right[0]])
            middle: list[int] = []
            cost = c1 + c2
            if a != b:
                hits = np.flatnonzero((graph.tail == a) & (graph.head == b))
                if not len(hits):
                    continue
                middle = [int(hits[0])]
                cost += float(weights[hits[0]])
            path = left + middle + right
            if _physical_loopless(graph, path):
                combos.append((cost, path))
    combos.sort(key=lambda item: item[0])
    unique, seen = [], set()
    for cost, path in combos:
        key = _link_key(graph, path)
        if key not in seen:
            seen.add(key)
            unique.append((cost, path))
    return unique[:k]


def route(network: Network, origin: str, destination: str, **options) -> list[Route]:
    """Route on ``network`` (see :meth:`Router.route` for the options).

    The network keeps a :class:`Router`, so repeated calls reuse the compiled graphs.

    Examples
    --------
    >>> net = load_network()
    >>> best = route(net, "Almaty", "Rotterdam", avoid=["RUS"])[0]
    >>> "AZE" in best.countries
    True
    """
    router = network._compiled.get("router")
    if router is None:
        router = network._compiled["router"] = Router(network)
    return router.route(origin, destination, **options)

