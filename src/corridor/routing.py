"""Best routes and ranked loopless alternatives between two places.

Shortest paths run on the compiled CSR graph with SciPy's Dijkstra; alternatives come from
Yen's algorithm (Yen 1971, "Finding the k shortest loopless paths in a network"), loopless in
physical nodes, so a route never passes a city twice even in different modes.
"""

from __future__ import annotations

import heapq
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse.csgraph import dijkstra

from corridor.errors import InvalidOptionError, NoRouteError
from corridor.graph import CompiledGraph, compile_graph
from corridor.limits import MAX_SHARED
from corridor.network import Network
from corridor.routes import (
    LINK,
    LINK_COLUMNS,
    ROUTE_OBJECTIVES,
    ZERO_WEIGHT,
    Leg,
    Places,
    Route,
    RouteOptions,
    Transfer,
    build_route,
    canonical_path,
)

__all__ = ["MAX_SHARED", "ROUTE_OBJECTIVES", "Leg", "Route", "RouteOptions", "Router",
           "Transfer", "route", "route_places"]

#: How much dearer a link grows each time a search for alternatives finds it again.
PENALTY = 1.5
#: Searches per wanted route before the search for alternatives gives up.
PENALTY_ROUNDS = 12
#: Searches that avoid transit countries, per wanted route, before the penalty method.
COUNTRY_SEARCHES = 8
#: Modes on water: a route never calls at a port to sail on without handling cargo there.
WATER_MODES = ("sea", "ferry")

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
        self._places = route_places(network)

    def graph(self, commodity: str, service: str = "") -> CompiledGraph:
        """The compiled graph of a commodity and service (built on first use)."""
        key = f"{commodity}/{service}" if service else commodity
        if key not in self._graphs:
            self._graphs[key] = compile_graph(self.network, commodity, service=service)
        return self._graphs[key]

    def route(self, origin: str, destination: str, options: RouteOptions | None = None,
              **fields: Any) -> list[Route]:
        """Best route and up to ``alternatives - 1`` ranked alternatives that differ materially.

        Parameters
        ----------
        origin, destination
            Place names, ids, aliases or Russian names. A name that means different places
            for different cargo (``places.csv``: "Baku" is the port of Baku at Alat for
            containers and Sangachal for crude) resolves for the commodity; where it names
            several places the route takes the best of them.
        options
            What the query asks for (:class:`RouteOptions`); default: containers by cost.
        **fields
            Fields of :class:`RouteOptions` given one by one (``commodity="crude_oil"``,
            ``avoid=["RUS"]`` …); they replace those of ``options``.

        Returns
        -------
        list[Route]
            Ranked best first; fewer than asked when no more distinct routes exist.

        Raises
        ------
        UnknownPlaceError, InvalidOptionError, NoRouteError
        """
        opts = RouteOptions.of(options, **fields)
        net = self.network
        starts = net.resolve_for(origin, opts.commodity)
        ends = net.resolve_for(destination, opts.commodity)
        stop = net.resolve(opts.via) if opts.via else None
        self._check_options(opts)
        passages = net.passage_index()
        pairs = [(a, b) for a in starts for b in ends if a != b and stop not in (a, b)]
        if not pairs:
            raise InvalidOptionError("origin, destination and via must be different places.")
        graph = self.graph(opts.commodity, opts.service)
        weights = graph.weights(opts.optimize)
        allowed = graph.allowed(opts.avoid, opts.avoid_modes)
        closed_nodes = passages.node_mask(opts.avoid_passages, len(net.nodes))
        if opts.avoid_passages:
            allowed &= graph.outside(passages.link_mask(opts.avoid_passages, len(net.links)),
                                     closed_nodes)
        best: tuple[list, str, str] | None = None
        failure: NoRouteError | None = None
        for start, end in pairs:
            try:
                self._check_ends(start, end, stop, closed_nodes, opts.avoid_passages)
                paths = self._paths(graph, weights, allowed, (start, end, stop), opts)
            except NoRouteError as exc:
                failure = failure or exc
                continue
            if best is None or paths[0][0] < best[0][0][0]:
                best = (paths, start, end)
        if best is None:
            assert failure is not None
            raise failure
        paths, start, end = best
        return [build_route(graph, arcs, self._places, rank=rank, start=start, end=end,
                            commodity=opts.commodity, objective=opts.optimize)
                for rank, (_, arcs) in enumerate(paths, start=1)]

    def _check_ends(self, start: str, end: str, stop: str | None, closed_nodes: np.ndarray,
                    avoid_passages: tuple[str, ...]) -> None:
        """Refuse a trip that starts, ends or stops inside an avoided passage."""
        net = self.network
        for place, role in ((start, "origin"), (end, "destination"), (stop, "via")):
            if place is not None and closed_nodes[net.nodes.index.get_loc(place)]:
                index = net.passage_index()
                names = [index.name(p) for p in avoid_passages
                         if net.nodes.index.get_loc(place) in index.node_rows[p]]
                raise NoRouteError(
                    f"No route: the {role} {net.node_name(place)} is part of "
                    f"{', '.join(names)}, which --avoid-passage excludes.",
                    constraint="avoid-passage")

    def _paths(self, graph: CompiledGraph, weights: np.ndarray, allowed: np.ndarray,
               places: tuple[str, str, str | None],
               opts: RouteOptions) -> list[tuple[float, list[int]]]:
        """The ranked paths between two places (the body of :meth:`route`)."""
        start, end, stop = places
        commodity, avoid, alternatives = opts.commodity, opts.avoid, opts.alternatives
        max_shared = opts.max_shared
        net = self.network
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
        distinct = max_shared < 1.0 and alternatives > 1
        if stop is None and distinct:
            paths = self._distinct_paths(graph, weights, allowed, start, end, alternatives,
                                         max_shared)
        elif stop is None:
            paths = self._k_paths(graph, weights, allowed, start, end, alternatives)
        else:
            wanted = alternatives * 4 if distinct else alternatives
            first = self._k_paths(graph, weights, allowed, start, stop, wanted)
            second = self._k_paths(graph, weights, allowed, stop, end, wanted)
            paths = _join(graph, weights, first, second, wanted)
            if len(paths) < wanted:
                paths = self._join_apart(graph, weights, allowed, first, paths, stop, end,
                                         wanted)
            if distinct:
                paths = _keep_distinct(graph, paths, alternatives, max_shared,
                                       self._ends(graph, start, end))
            paths = paths[:alternatives]
        if not paths:
            message, constraint = self._explain(graph, weights, places, opts)
            raise NoRouteError(message, constraint=constraint)
        return paths

    # -- internals -------------------------------------------------------------------------

    def _check_options(self, opts: RouteOptions) -> None:
        from corridor.cost import MODES
        from corridor.tables import ISO3

        self.network.costs.check_commodity(opts.commodity)
        avoidable = [m for m in MODES if m != "transfer"]
        if "transfer" in opts.avoid_modes:
            raise InvalidOptionError(
                "The mode 'transfer' cannot be avoided: transfer links join terminals to their "
                f"lines. Avoid one of {', '.join(avoidable)} instead.")
        bad = [m for m in opts.avoid_modes if m not in MODES]
        if bad:
            raise InvalidOptionError(
                f"Unknown mode(s) {', '.join(bad)}; choose from {', '.join(avoidable)}.")
        bad = [c for c in opts.avoid if c not in ISO3]
        if bad:
            raise InvalidOptionError(
                f"Unknown country code(s) {', '.join(bad)}; use ISO 3166 alpha-3 codes such as "
                f"RUS, KAZ, IRN.")
        self.network.passage_index().check(opts.avoid_passages)

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
        return _unique(graph, found, k)

    def _best(self, graph: CompiledGraph, weights: np.ndarray, allowed: np.ndarray,
              start: str, end: str) -> tuple[int, int, tuple[float, list[int]] | None]:
        """The source and sink sub-nodes of two places and the cheapest path between them
        (where paths tie, :func:`~corridor.routes.canonical_path`'s choice)."""
        nodes = self.network.nodes.index
        s = int(graph.source_of[nodes.get_loc(start)])
        t = int(graph.sink_of[nodes.get_loc(end)])
        dist = dijkstra(graph.matrix(weights, allowed), directed=True, indices=s)
        if not np.isfinite(dist[t]):
            return s, t, None
        barred = np.where(allowed, np.maximum(weights, ZERO_WEIGHT), np.inf)
        arcs = canonical_path(s, t, dist.tolist(), barred.tolist(), graph.tail, graph.incoming)
        return s, t, (float(dist[t]), arcs)

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
        s, t, best = self._best(graph, weights, allowed, start, end)
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

    def _distinct_paths(self, graph: CompiledGraph, weights: np.ndarray, allowed: np.ndarray,
                        start: str, end: str, k: int,
                        max_shared: float) -> list[tuple[float, list[int]]]:
        """Up to ``k`` routes that differ materially, ranked by cost.

        Other corridors first: the best route that keeps out of one transit country of the
        best route, then out of one more of that route's, and so on (cheapest first, each
        the best route for the countries it avoids). When that gives fewer than ``k``
        routes, the penalty method adds more: each search makes the links of the last route
        dearer, so the next one leaves them where another line is close in cost. A route is
        kept when, against every route kept before it, it keeps out of one of that route's
        transit countries or shares at most ``max_shared`` of its length with it.
        """
        s, t, best = self._best(graph, weights, allowed, start, end)
        if best is None:
            return []
        ends = self._ends(graph, start, end)
        kept = [best]

        def differs(path: list[int]) -> bool:
            return all(_differs(graph, path, other[1], max_shared, ends) for other in kept)

        # other corridors: Lawler's enumeration over the sets of transit countries avoided
        frontier: list[tuple[float, int, frozenset[int], list[int]]] = []
        tried: set[frozenset[int]] = set()
        counter = 0

        def expand(avoided: frozenset[int], path: list[int]) -> None:
            nonlocal counter
            transit = _transit(graph, path, ends)
            for bit in range(len(graph.countries)):
                if not transit >> bit & 1:
                    continue
                more = avoided | {bit}
                if more in tried:
                    continue
                tried.add(more)
                mask = allowed & graph.allowed(tuple(graph.countries[b] for b in more), ())
                found = self._shortest(graph, weights, mask, s, t)
                if found is not None:
                    counter += 1
                    heapq.heappush(frontier, (found[0], counter, more, found[1]))

        expand(frozenset(), best[1])
        searches = 0
        while frontier and len(kept) < k and searches < COUNTRY_SEARCHES * k:
            searches += 1
            cost, _, avoided, path = heapq.heappop(frontier)
            if _physical_loopless(graph, path) and differs(path):
                kept.append((cost, path))
            expand(avoided, path)

        # other lines: the penalty method
        penalised = weights.astype(float).copy()
        positive = weights[weights > 0]
        floor = (float(np.median(positive)) if len(positive) else 1.0) * 1e-3
        water = np.isin(graph.mode_code, [i for i, m in enumerate(graph.modes)
                                          if m in WATER_MODES])
        path = best[1]
        for _ in range(PENALTY_ROUNDS * k):
            if len(kept) >= k:
                break
            links = np.unique(graph.arc_link[[a for a in path if graph.kind[a] == LINK]])
            hit = (graph.kind == LINK) & np.isin(graph.arc_link, links)
            penalised[hit] = (penalised[hit] + floor) * PENALTY
            found = self._shortest(graph, penalised, allowed, s, t)
            if found is None:
                break
            path = found[1]
            if (_physical_loopless(graph, path) and not _calls_without_cargo(graph, path, water)
                    and differs(path)):
                kept.append((float(weights[path].sum()), path))
        return sorted(kept, key=lambda item: item[0])

    def _ends(self, graph: CompiledGraph, start: str, end: str) -> int:
        """The bit set of the countries of a route's origin and destination."""
        bit = {code: 1 << i for i, code in enumerate(graph.countries)}
        ends = 0
        for place in (start, end):
            for code in str(self.network.nodes.at[place, "country"]).split(";"):
                ends |= bit.get(code, 0)
        return ends

    def _explain(self, graph: CompiledGraph, weights: np.ndarray,
                 places: tuple[str, str, str | None], opts: RouteOptions) -> tuple[str, str]:
        """Find which constraint blocks the route by relaxing them one at a time.

        Returns the message and the name of the blocking constraint.
        """
        start, end, stop = places
        commodity, avoid, avoid_modes = opts.commodity, opts.avoid, opts.avoid_modes
        avoid_passages = opts.avoid_passages
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
        if avoid_passages and reachable(graph.allowed(avoid, avoid_modes)):
            index = net.passage_index()
            n_links, n_nodes = len(net.links), len(net.nodes)
            for passage in avoid_passages:
                alone = graph.outside(index.link_mask((passage,), n_links),
                                      index.node_mask((passage,), n_nodes))
                if not reachable(alone & graph.allowed(avoid, avoid_modes)):
                    return (f"No {commodity} route from {names} that avoids "
                            f"{index.name(passage)}: every connection passes it (constraint "
                            f"--avoid-passage).", "avoid-passage")
            return (f"No {commodity} route from {names} that avoids all of "
                    f"{', '.join(index.name(p) for p in avoid_passages)} at once (constraint "
                    f"--avoid-passage).", "avoid-passage")
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


def route_places(network: Network) -> Places:
    """Plain-Python views of a network for building routes (pandas row access costs ~10 µs a
    field): links, place names and countries, node rows and the passages."""
    links = network.links
    rows = links[list(LINK_COLUMNS)].to_dict("records")
    for row in rows:
        gauge = row["gauge_mm"]
        row["gauge_mm"] = None if pd.isna(gauge) else int(gauge)
    return Places(link_ids=links.index.tolist(), link_rows=rows,
                  names=network.nodes["name"].to_dict(),
                  countries=network.nodes["country"].to_dict(),
                  node_row={node: i for i, node in enumerate(network.nodes.index)},
                  passages=lambda links_on, nodes_on, forward:
                  network.passage_index().of_path(links_on, nodes_on, forward))


def _link_key(graph: CompiledGraph, arcs: list[int]) -> tuple:
    """The links a path uses, with direction: what tells two routes apart."""
    return tuple((int(graph.arc_link[a]), bool(graph.arc_forward[a])) for a in arcs
                 if graph.kind[a] == LINK)


def _differs(graph: CompiledGraph, arcs: list[int], other: list[int], max_shared: float,
             ends: int) -> bool:
    """True when route ``arcs`` differs materially from route ``other``: it keeps out of a
    transit country of ``other``, or at most ``max_shared`` of its length runs on links of
    ``other``. ``ends`` are the countries of origin and destination."""
    mine = [a for a in arcs if graph.kind[a] == LINK]
    theirs = [a for a in other if graph.kind[a] == LINK]
    if _transit(graph, theirs, ends) & ~_transit(graph, mine, ends):
        return True
    length = float(graph.km[mine].sum())
    if length <= 0:
        return False
    # links between the same two places count as shared (a ferry and a ship on one lane)
    shared = np.isin(_place_pairs(graph, mine), _place_pairs(graph, theirs))
    return float(graph.km[mine][shared].sum()) <= max_shared * length


def _place_pairs(graph: CompiledGraph, arcs: list[int]) -> np.ndarray:
    """One key per link arc for the unordered pair of places it joins."""
    a = graph.sub_node[graph.tail[arcs]].astype(np.int64)
    b = graph.sub_node[graph.head[arcs]].astype(np.int64)
    return np.minimum(a, b) * (int(graph.sub_node.max()) + 1) + np.maximum(a, b)


def _calls_without_cargo(graph: CompiledGraph, arcs: list[int], water: np.ndarray) -> bool:
    """True when the route sails into a port and out again without handling cargo there.

    Every two ports of a sea are joined directly, so such a call only appears when the
    search for alternatives has made the direct lane dearer; it is no other route.
    """
    for a, b in zip(arcs, arcs[1:], strict=False):
        if graph.kind[a] == LINK and graph.kind[b] == LINK and water[a] and water[b]:
            return True
    return False


def _transit(graph: CompiledGraph, arcs: list[int], ends: int) -> int:
    """The bit set of countries a route touches besides ``ends`` (those of its two ends)."""
    return _countries(graph, [a for a in arcs if graph.kind[a] == LINK]) & ~ends


def _countries(graph: CompiledGraph, arcs: list[int]) -> int:
    """The bit set of the countries the link arcs touch."""
    return int(np.bitwise_or.reduce(graph.country_mask[arcs])) if len(arcs) else 0


def _keep_distinct(graph: CompiledGraph, paths: list[tuple[float, list[int]]], k: int,
                   max_shared: float, ends: int) -> list[tuple[float, list[int]]]:
    """The first ``k`` of ``paths`` (best first) that each differ from every better one."""
    kept: list[tuple[float, list[int]]] = []
    for candidate in paths:
        if all(_differs(graph, candidate[1], other[1], max_shared, ends) for other in kept):
            kept.append(candidate)
        if len(kept) == k:
            break
    return kept


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
    return _unique(graph, combos, k)


def _unique(graph: CompiledGraph, paths: list[tuple[float, list[int]]],
            k: int) -> list[tuple[float, list[int]]]:
    """The ``k`` cheapest of ``paths`` that differ in the links they use."""
    unique, seen = [], set()
    for cost, path in sorted(paths, key=lambda item: item[0]):
        key = _link_key(graph, path)
        if key not in seen:
            seen.add(key)
            unique.append((cost, path))
    return unique[:k]


def route(network: Network, origin: str, destination: str,
          options: RouteOptions | None = None, **fields: Any) -> list[Route]:
    """Route on ``network``: :meth:`Router.route` with a :class:`RouteOptions` (or its fields
    one by one, e.g. ``avoid=["RUS"]``).

    The network keeps a :class:`Router`, so repeated calls reuse the compiled graphs.

    Examples
    --------
    >>> from corridor import load_network
    >>> net = load_network()
    >>> best = route(net, "Almaty", "Rotterdam", avoid=["RUS"])[0]
    >>> "RUS" in best.countries
    False
    >>> best.passages[:3]
    ('saryagash_keles', 'bukhara_farap', 'sarakhs')
    """
    router = network._compiled.get("router")
    if router is None:
        router = network._compiled["router"] = Router(network)
    return router.route(origin, destination, options, **fields)

