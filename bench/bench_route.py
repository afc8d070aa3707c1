"""Route-query speed: Corridor's compiled CSR engine against networkx on the same graphs.

Prints a table for (1) the shipped dataset and (2) a generated network of about a million
links. Both engines answer the same queries on the same arc weights in one run; the ratio is
networkx time / Corridor time. Run: ``python bench/bench_route.py [--links 1000000]``.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
import warnings
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
from scipy.sparse.csgraph import dijkstra

import corridor
from corridor.graph import compile_graph

ROOT = Path(__file__).resolve().parents[1]
PLACES = ["Almaty", "Tashkent", "Tengiz", "Xi'an", "Urumqi", "Lianyungang", "Shanghai",
          "Rotterdam", "Constanta", "Istanbul", "Yokohama", "Busan", "Duisburg", "Poti",
          "Bandar Abbas", "Aktau", "Moscow", "Baku"]


def _timeit(fn, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def _each(fn, graph: nx.DiGraph, sources: np.ndarray) -> None:
    """Run a networkx single-source function from each source, keeping no result."""
    for source in sources:
        fn(graph, int(source))


def _nx_graph(graph, weights: np.ndarray) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_weighted_edges_from(zip(graph.tail.tolist(), graph.head.tolist(),
                                  np.maximum(weights, 1e-9).tolist(), strict=True))
    return g


def bench_dataset(rows: list[dict]) -> None:
    net = corridor.load_network()
    router = corridor.Router(net)
    graph = router.graph("container")
    weights = graph.weights("cost")
    pairs = [(a, b) for a in PLACES for b in PLACES if a != b]
    for a, b in pairs[:5]:  # warm up caches
        with contextlib.suppress(corridor.CorridorError):
            router.route(a, b)

    def all_routes() -> None:
        for a, b in pairs:
            with contextlib.suppress(corridor.CorridorError):
                router.route(a, b)

    per_query = min(_timeit(all_routes, 3)) / len(pairs)
    matrix = graph.matrix(weights)
    sources = graph.source_of[graph.source_of >= 0]
    one = int(sources[0])
    core = statistics.median(_timeit(lambda: dijkstra(matrix, indices=one), 200))
    reference = _nx_graph(graph, weights)
    nx_one = statistics.median(_timeit(
        lambda: nx.single_source_dijkstra_path_length(reference, one), 50))
    ours = min(_timeit(lambda: dijkstra(matrix, indices=sources), 5))
    theirs = min(_timeit(lambda: [nx.single_source_dijkstra_path_length(reference, int(s))
                                  for s in sources], 2))
    # a route query needs the path too: predecessors on both sides (full path lists from
    # networkx would need tens of GB on the million-link graph)
    ours_paths = min(_timeit(lambda: dijkstra(matrix, indices=sources,
                                              return_predecessors=True), 5))
    theirs_paths = min(_timeit(lambda: _each(nx.dijkstra_predecessor_and_distance, reference,
                                             sources), 2))
    k5 = min(_timeit(lambda: router.route("Almaty", "Rotterdam", alternatives=5), 5))
    yen = min(_timeit(lambda: router.route("Almaty", "Rotterdam", alternatives=5,
                                           max_shared=1.0), 5))
    check = dijkstra(matrix, indices=one)
    ref = nx.single_source_dijkstra_path_length(reference, one)
    assert all(abs(check[n] - d) < 1e-6 for n, d in ref.items())  # same answers
    size = f"{len(net.links)} links, {graph.n_sub} sub-nodes, {len(graph.tail)} arcs"
    rows += [
        {"graph": "dataset", "size": size, "query": "route() end to end, one OD (mean)",
         "corridor_ms": per_query * 1e3, "networkx_ms": None},
        {"graph": "dataset", "size": size, "query": "one-to-all shortest paths, 1 source",
         "corridor_ms": core * 1e3, "networkx_ms": nx_one * 1e3},
        {"graph": "dataset", "size": size,
         "query": f"batch: all {len(sources)} sources",
         "corridor_ms": ours * 1e3, "networkx_ms": theirs * 1e3},
        {"graph": "dataset", "size": size,
         "query": f"batch: all {len(sources)} sources, with paths",
         "corridor_ms": ours_paths * 1e3, "networkx_ms": theirs_paths * 1e3},
        {"graph": "dataset", "size": size,
         "query": "route() with 5 alternatives (other corridors)",
         "corridor_ms": k5 * 1e3, "networkx_ms": None},
        {"graph": "dataset", "size": size,
         "query": "route() with 5 alternatives (Yen, near-copies)",
         "corridor_ms": yen * 1e3, "networkx_ms": None},
    ]


def generated_network(n_links: int, seed: int = 7) -> corridor.Network:
    """A rail lattice with random shortcuts: ``n_links`` links, one country, one gauge."""
    rng = np.random.default_rng(seed)
    side = int(np.sqrt(n_links / 2.0)) + 1
    n = side * side
    ids = np.arange(n)
    right = ids[(ids % side) < side - 1]
    down = ids[ids < n - side]
    a = np.concatenate([right, down])
    b = np.concatenate([right + 1, down + side])
    extra = n_links - len(a)
    if extra > 0:
        ra, rb = rng.integers(0, n, extra), rng.integers(0, n, extra)
        keep = ra != rb
        a, b = np.concatenate([a, ra[keep]]), np.concatenate([b, rb[keep]])
    a, b = a[:n_links], b[:n_links]
    node_ids = np.char.add("n", ids.astype(str)).astype(object)
    nodes = pd.DataFrame({
        "name": node_ids, "name_ru": "", "aliases": "", "country": "KAZ",
        "lon": 50 + (ids % side) * 0.01, "lat": 40 + (ids // side) * 0.01, "kind": "city",
        "source_id": "gen", "estimated": "", "estimate_method": "", "notes": "",
    }, index=pd.Index(node_ids, name="node_id"))
    links = pd.DataFrame({
        "from_node_id": node_ids[a], "to_node_id": node_ids[b], "directed": False,
        "mode": "rail", "length_km": rng.uniform(5, 200, len(a)), "gauge_mm": 1520,
        "country": "KAZ", "corridor": "", "capacity_t_per_year": np.nan,
        "capacity_teu_per_year": np.nan, "time_days": np.nan, "tariff_usd_per_t": np.nan,
        "border_delay_days": np.nan, "status": "operating", "source_id": "gen",
    }, index=pd.Index([f"l{i}" for i in range(len(a))], name="link_id"))
    links["gauge_mm"] = links["gauge_mm"].astype("Int64")
    costs = corridor.cost.load_cost_model(ROOT / "tests" / "fixtures" / "tiny" / "costs")
    sources = pd.DataFrame({"title": ["generated"]}, index=pd.Index(["gen"], name="source_id"))
    return corridor.Network(nodes=nodes, links=links, sources=sources, costs=costs)


def bench_generated(rows: list[dict], n_links: int, n_sources: int) -> None:
    net = generated_network(n_links)
    start = time.perf_counter()
    graph = compile_graph(net, "container")
    compile_s = time.perf_counter() - start
    weights = graph.weights("cost")
    matrix = graph.matrix(weights)
    rng = np.random.default_rng(1)
    sources = rng.choice(graph.source_of, n_sources, replace=False)
    ours = min(_timeit(lambda: dijkstra(matrix, indices=sources), 2))
    ours_paths = min(_timeit(lambda: dijkstra(matrix, indices=sources,
                                              return_predecessors=True), 2))
    start = time.perf_counter()
    reference = _nx_graph(graph, weights)
    build_nx = time.perf_counter() - start
    theirs = min(_timeit(lambda: _each(nx.single_source_dijkstra_path_length, reference,
                                       sources), 1))
    theirs_paths = min(_timeit(lambda: _each(nx.dijkstra_predecessor_and_distance, reference,
                                             sources), 1))
    check = dijkstra(matrix, indices=int(sources[0]))
    ref = nx.single_source_dijkstra_path_length(reference, int(sources[0]))
    assert all(abs(check[n] - d) < 1e-6 for n, d in list(ref.items())[:1000])
    size = f"{len(net.links):,} links, {len(graph.tail):,} arcs"
    rows += [
        {"graph": "generated", "size": size, "query": "compile network to CSR arrays",
         "corridor_ms": compile_s * 1e3, "networkx_ms": build_nx * 1e3},
        {"graph": "generated", "size": size, "query": f"batch: one-to-all from {n_sources} sources",
         "corridor_ms": ours * 1e3, "networkx_ms": theirs * 1e3},
        {"graph": "generated", "size": size,
         "query": f"batch: {n_sources} sources, with paths",
         "corridor_ms": ours_paths * 1e3, "networkx_ms": theirs_paths * 1e3},
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--links", type=int, default=1_000_000, help="generated network size")
    parser.add_argument("--sources", type=int, default=8, help="batch sources on it")
    args = parser.parse_args()
    rows: list[dict] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bench_dataset(rows)
        bench_generated(rows, args.links, args.sources)
    table = pd.DataFrame(rows)
    table["ratio_nx_over_corridor"] = table["networkx_ms"] / table["corridor_ms"]
    with pd.option_context("display.width", 200, "display.max_colwidth", 60,
                           "display.float_format", "{:,.3f}".format):
        print(table.to_string(index=False))


if __name__ == "__main__":
    main()
