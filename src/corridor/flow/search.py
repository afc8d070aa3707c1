"""Shortest-path searches of route generation, in this process or spread over local processes.

A pricing round runs one Dijkstra per origin on the same sub-node matrix. SciPy's Dijkstra
holds the interpreter lock, so threads do not run two at once; on a large network the
searches are split over worker processes, each given the matrix once a round, and each
returns only the paths wanted (as sub-node sequences), not the distance and predecessor rows.
"""

from __future__ import annotations

import os
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

#: Below this much work a round (sources x sub-nodes searched), searches stay in this process:
#: a worker's start and the matrix's copy cost more than they save.
PARALLEL_WORK = 2_000_000


@dataclass(frozen=True, eq=False)
class Batch:
    """Sources searched in one Dijkstra call: each source's wanted sinks, and a distance above
    which no path is wanted (``limit``)."""

    sources: np.ndarray
    sinks: tuple[np.ndarray, ...]
    limit: float


def shortest_paths(matrix: csr_matrix, batches: list[Batch]) -> list[list[list[np.ndarray | None]]]:
    """The cheapest path from each batch's sources to each of their sinks, as arrays of
    sub-nodes from source to sink (``None``: no path within the batch's limit).

    The matrix's weights must be non-negative.
    """
    out = []
    for batch in batches:
        dist, pred = dijkstra(matrix, directed=True, indices=batch.sources,
                              return_predecessors=True, limit=batch.limit)
        dist, pred = np.atleast_2d(dist), np.atleast_2d(pred)
        found = []
        for k, (source, sinks) in enumerate(zip(batch.sources, batch.sinks, strict=True)):
            found.append([path_nodes(pred[k], int(source), int(sink))
                          if sink >= 0 and np.isfinite(dist[k, sink]) else None
                          for sink in sinks])
        out.append(found)
    return out


def path_nodes(pred: np.ndarray, source: int, sink: int) -> np.ndarray:
    """The sub-nodes from ``source`` to ``sink`` along a predecessor row of a search."""
    nodes = [sink]
    node = sink
    while node != source:
        node = int(pred[node])
        if node < 0:
            raise RuntimeError("broken predecessor chain")
        nodes.append(node)
    nodes.reverse()
    return np.asarray(nodes, dtype=np.int64)


class Searcher:
    """Runs the searches of a round, here or over ``processes`` worker processes.

    Use as a context manager: the workers start on entry, forked before the solve's first
    HiGHS run, and stop on exit; they only ever run SciPy, never HiGHS. ``processes`` None
    takes every core this process may use; 1 keeps every search here, as does a ``work``
    (sources x sub-nodes a round, at most) below :data:`PARALLEL_WORK`.
    """

    def __init__(self, processes: int | None = None, work: float = 0.0) -> None:
        available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
            else (os.cpu_count() or 1)
        wanted = available if processes is None else processes
        self.processes = max(1, wanted) if work >= PARALLEL_WORK else 1
        self._pool: Executor | None = None

    def __enter__(self) -> Searcher:
        if self.processes > 1:
            import multiprocessing

            self._pool = ProcessPoolExecutor(self.processes,
                                             mp_context=multiprocessing.get_context("fork"))
            # a fork-context pool starts every worker at its first task
            self._pool.submit(int).result()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def run(self, matrix: csr_matrix, batches: list[Batch]) -> list[list[list[np.ndarray | None]]]:
        """:func:`shortest_paths` over the batches, split over the workers when the round is
        large enough (:data:`PARALLEL_WORK`) to gain."""
        sources = sum(len(b.sources) for b in batches)
        if self._pool is None or sources < 2 or sources * matrix.shape[0] < PARALLEL_WORK:
            return shortest_paths(matrix, batches)
        parts = _split(batches, self.processes)
        futures = [self._pool.submit(shortest_paths, matrix, part)
                   for part in parts]
        return _regroup([future.result() for future in futures], batches)


def _split(batches: list[Batch], parts: int) -> list[list[Batch]]:
    """The batches' sources dealt into ``parts`` lists of batches of about equal size, in order
    (a batch may be cut in two; :func:`_regroup` joins the pieces)."""
    pieces = []
    for batch in batches:
        for k in range(len(batch.sources)):
            pieces.append((batch, k))
    size = -(-len(pieces) // parts)
    out = []
    for start in range(0, len(pieces), size):
        chunk = pieces[start:start + size]
        part: list[Batch] = []
        for batch in dict.fromkeys(b for b, _ in chunk):
            ks = [k for b, k in chunk if b is batch]
            part.append(Batch(batch.sources[ks], tuple(batch.sinks[k] for k in ks),
                              batch.limit))
        out.append(part)
    return out


def _regroup(found: list[list[list[list[np.ndarray | None]]]], batches: list[Batch]
             ) -> list[list[list[np.ndarray | None]]]:
    """The parts' results (in order) back into one list per batch."""
    flat = [paths for part in found for piece in part for paths in piece]
    out, at = [], 0
    for batch in batches:
        out.append(flat[at:at + len(batch.sources)])
        at += len(batch.sources)
    return out
