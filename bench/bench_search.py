"""Benchmark: one pricing round's searches of route generation, by engine, side by side.

A round of route generation runs one Dijkstra per origin over the same sub-node matrix and
keeps the path to each of the origin's destinations. This times that round on a generated
rail grid (``bench_assign.grid_network``) with the demand of ``bench_formulations``: SciPy in
this process, SciPy spread over local worker processes (``corridor.flow.search.Searcher``, as
route generation runs it), and igraph's ``get_shortest_paths`` when igraph is installed
(``pip install igraph``; not a dependency). Median of ``--repeat`` runs.

Usage::

    .venv/bin/python bench/bench_search.py [--links 100000] [--origins 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from corridor.flow.paths import PathAssignment, _Layout
from corridor.flow.search import Batch, Searcher, shortest_paths

sys.path.insert(0, str(Path(__file__).parent))
from bench_assign import grid_demand, grid_network  # noqa: E402


def _median(run, repeat: int) -> float:  # noqa: ANN001
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--links", type=int, default=100_000)
    parser.add_argument("--origins", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    grid = grid_network(args.links)
    paths = PathAssignment(grid, grid_demand(grid, args.origins, 10))
    (key, graph), = paths.graphs.items()
    origins = paths.origins
    searched = origins[0].usable & paths.searched[key]
    matrix, _ = _Layout(graph, searched).matrix(graph, paths.base[key])  # the first round's
    batches = [Batch(np.array([o.source for o in origins[i:i + 32]]),
                     tuple(o.sinks for o in origins[i:i + 32]), np.inf)
               for i in range(0, len(origins), 32)]
    wanted = sum(int((o.sinks >= 0).sum()) for o in origins)
    rows = [("SciPy dijkstra, 1 process", _median(lambda: shortest_paths(matrix, batches),
                                                   args.repeat))]
    with Searcher(work=float("inf")) as searcher:
        label = f"SciPy dijkstra, {searcher.processes} processes"
        rows.append((label, _median(lambda: searcher.run(matrix, batches), args.repeat)))
    try:
        import igraph
    except ImportError:
        igraph = None
    if igraph is not None:
        coo = matrix.tocoo()
        g = igraph.Graph(n=matrix.shape[0], edges=np.column_stack([coo.row, coo.col]).tolist(),
                         directed=True)
        w = coo.data.tolist()

        def igraph_round() -> None:
            for o in origins:
                g.get_shortest_paths(int(o.source), to=[int(s) for s in o.sinks if s >= 0],
                                     weights=w, output="vpath")

        rows.append((f"igraph {igraph.__version__} get_shortest_paths, 1 process",
                     _median(igraph_round, args.repeat)))
    base = rows[0][1]
    print(f"grid of {len(grid.links):,} links ({matrix.shape[0]:,} sub-nodes, "
          f"{matrix.nnz:,} arcs searched), {len(origins)} origins, {wanted:,} paths")
    print(f"{'engine':<48}{'s a round':>10}{'ms an origin':>14}{'vs SciPy':>10}")
    for label, seconds in rows:
        print(f"{label:<48}{seconds:>10.3f}{1000 * seconds / len(origins):>14.2f}"
              f"{seconds / base:>10.2f}")


if __name__ == "__main__":
    main()
