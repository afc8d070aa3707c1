"""A network's snapshot for answering plain route queries without loading the network.

``corridor route A B`` spent most of a second importing pandas and SciPy and reading the
network's tables, for a query that takes a fraction of a millisecond. The first time a
network answers a plain query (the best route, with no countries, modes or passages avoided,
no via, service or month) its snapshot is stored in the user's cache folder: place names, the
compiled graph of every commodity as plain lists, the links, the passages and the warnings of
loading. The snapshot is keyed by the size and modification time of every file in the network
and cost-model folders and of Corridor's own modules, so an edited table or a new release is
never answered from an old snapshot.

Later plain queries are answered from it with Dijkstra's algorithm in plain Python, which on
a network of this size is as quick as SciPy's, and the routes are built by the router's own
code (:func:`corridor.routes.build_route`): the same :class:`~corridor.routes.Route` objects.
A query the snapshot cannot answer with certainty (an unknown name, no route, anything but a
plain query) goes the full way, which gives the errors and the other options.

The cache folder is ``$CORRIDOR_CACHE_DIR``, else ``$XDG_CACHE_HOME/corridor``, else
``~/.cache/corridor``; setting ``CORRIDOR_CACHE_DIR`` to an empty string turns snapshots off.
Snapshots are written atomically, the :data:`KEEP` most recently used are kept, and a folder
that cannot be written only costs speed.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import json
import logging
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corridor.lookup import normalise_name, passages_on_path
from corridor.routes import (
    LINK_COLUMNS,
    ROUTE_OBJECTIVES,
    TIGHT,
    ZERO_WEIGHT,
    Places,
    Route,
    build_route,
    canonical_path,
)

if TYPE_CHECKING:
    from corridor.network import Network

log = logging.getLogger(__name__)

#: Bumped when the layout of a snapshot changes.
FORMAT = 1
#: Snapshots kept in the cache folder (the most recently used; an edited network makes a new
#: one).
KEEP = 8
#: The per-arc columns of a compiled graph that a snapshot keeps.
_ARC_COLUMNS = ("tail", "head", "kind", "arc_link", "arc_node", "arc_forward", "km", "days",
                "cost_usd", "co2_kg", "border", "transfer_kind")
#: The objective of a route query -> the column its Dijkstra weighs arcs by.
_WEIGHTS = {"cost": "cost_usd", "time": "days", "co2": "co2_kg", "distance": "km"}


@dataclass(frozen=True)
class Answer:
    """Routes answered from a snapshot, with what the command prints beside them."""

    routes: list[Route]
    passage_names: dict[str, str]
    warnings: list[str]


def cache_folder() -> Path | None:
    """Where snapshots live (None: turned off with an empty ``CORRIDOR_CACHE_DIR``)."""
    chosen = os.environ.get("CORRIDOR_CACHE_DIR")
    if chosen is not None:
        return Path(chosen) if chosen.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "corridor"


def answer(network: str | Path | None, costs: str | Path | None, origin: str,
           destination: str, commodity: str = "container",
           optimize: str = "cost") -> Answer | None:
    """The best route between two places from the network's snapshot, or None when there is
    no current snapshot or it cannot answer with certainty (the full router then does)."""
    folder = _snapshot_folder(network, costs)
    if folder is None or optimize not in ROUTE_OBJECTIVES:
        return None
    try:
        index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
        if commodity not in index["commodities"]:
            return None
        graph = _Graph(json.loads((folder / f"graph-{commodity}.json").read_text(
            encoding="utf-8")), index["node_ids"])
    except (OSError, ValueError, KeyError):
        return None
    starts = _resolve(index, origin, commodity)
    ends = _resolve(index, destination, commodity)
    if not starts or not ends:
        return None
    places = _places(index)
    best: tuple[float, list[int], str, str] | None = None
    weights = [max(w, ZERO_WEIGHT) for w in getattr(graph, _WEIGHTS[optimize])]
    for start in starts:
        for end in ends:
            if start == end:
                continue
            s = graph.source_of[places.node_row[start]]
            t = graph.sink_of[places.node_row[end]]
            if s < 0 or graph.source_of[places.node_row[end]] < 0:
                continue
            found = _dijkstra(graph, weights, s, t)
            if found is None:
                return None
            if best is not None and abs(found[0] - best[0]) <= TIGHT:
                return None  # two meanings of a name tie: the full way picks
            if best is None or found[0] < best[0]:
                best = (found[0], found[1], start, end)
    if best is None:
        return None
    _, arcs, start, end = best
    route = build_route(graph, arcs, places, rank=1, start=start, end=end,
                        commodity=commodity, objective=optimize)
    with contextlib.suppress(OSError):  # most recently used: kept longest
        os.utime(folder)
    return Answer([route], index["passage_names"], index["warnings"])


def store(net: Network, network: str | Path | None, costs: str | Path | None) -> Path | None:
    """Write the snapshot of a loaded network (the one ``network`` and ``costs`` name);
    returns its folder, or None when the cache folder cannot be written."""
    key = _key(network, costs)
    root = cache_folder()
    if key is None or root is None:
        return None
    target = root / f"network-{key}"
    if (target / "index.json").is_file():
        return target
    from corridor.graph import compile_graph

    try:
        root.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".network-", dir=root))
    except OSError as exc:
        log.debug("no route snapshot: %s", exc)
        return None
    try:
        commodities = [str(c) for c in net.costs.commodities.index]
        for commodity in commodities:
            graph = compile_graph(net, commodity)
            data = {name: getattr(graph, name).tolist() for name in _ARC_COLUMNS}
            data |= {"sub_layer": graph.sub_layer.tolist(),
                     "source_of": graph.source_of.tolist(), "sink_of": graph.sink_of.tolist()}
            _write(work / f"graph-{commodity}.json", data)
        _write(work / "index.json", _index(net, commodities))
        os.replace(work, target)
    except OSError as exc:  # another process stored it first, or the disk refused
        log.debug("no route snapshot: %s", exc)
        shutil.rmtree(work, ignore_errors=True)
        return target if (target / "index.json").is_file() else None
    _prune(root)
    return target


def _prune(root: Path) -> None:
    """Remove all but the :data:`KEEP` most recently used snapshots."""
    try:
        stored = sorted(root.glob("network-*"), key=lambda p: p.stat().st_mtime_ns,
                        reverse=True)
    except OSError:
        return
    for old in stored[KEEP:]:
        shutil.rmtree(old, ignore_errors=True)


# -- the snapshot's contents ----------------------------------------------------------------


class _Graph:
    """A compiled graph's columns as lists (what :func:`build_route` and Dijkstra read)."""

    def __init__(self, data: dict[str, list], node_ids: list[str]) -> None:
        for name, values in data.items():
            setattr(self, name, values)
        self.node_ids = node_ids
        self.adjacency: list[list[int]] = [[] for _ in self.sub_layer]
        self.incoming: list[list[int]] = [[] for _ in self.sub_layer]
        for arc, (tail, head) in enumerate(zip(self.tail, self.head, strict=True)):
            self.adjacency[tail].append(arc)
            self.incoming[head].append(arc)


def _dijkstra(graph: _Graph, weights: list[float], source: int,
              target: int) -> tuple[float, list[int]] | None:
    """The cheapest arcs from sub-node ``source`` to ``target`` and their weight (where paths
    tie, :func:`~corridor.routes.canonical_path`'s choice, as the router makes it)."""
    inf = float("inf")
    tentative = {source: 0.0}
    dist = [inf] * len(graph.adjacency)
    heap = [(0.0, source)]
    head, adjacency = graph.head, graph.adjacency
    while heap:
        d, node = heapq.heappop(heap)
        if dist[node] < inf:
            continue
        dist[node] = d
        if node == target:  # every node a cheapest path could come through is settled
            arcs = canonical_path(source, target, dist, weights, graph.tail,
                                  graph.incoming.__getitem__)
            return d, arcs
        for arc in adjacency[node]:
            nxt = head[arc]
            candidate = d + weights[arc]
            if candidate < tentative.get(nxt, inf):
                tentative[nxt] = candidate
                heapq.heappush(heap, (candidate, nxt))
    return None


def _index(net: Network, commodities: list[str]) -> dict[str, Any]:
    from corridor.routing import route_places

    index = net.passage_index()
    places = route_places(net)
    names, meanings = net.name_index()
    return {
        "format": FORMAT,
        "commodities": commodities,
        "warnings": list(net.warnings),
        "names": names,
        "meanings": [[key, commodity, list(ids)] for (key, commodity), ids
                     in meanings.items()],
        "node_ids": net.nodes.index.tolist(),
        "node_names": net.nodes["name"].tolist(),
        "node_countries": net.nodes["country"].tolist(),
        "link_ids": list(places.link_ids),
        "link_rows": [[row[c] for c in LINK_COLUMNS] for row in places.link_rows],
        "by_node": {str(k): list(v) for k, v in index.by_node.items()},
        "by_link": {str(k): [list(p) for p in v] for k, v in index.by_link.items()},
        "passage_names": {p: index.name(p) for p in index.ids},
    }


def _places(index: dict[str, Any]) -> Places:
    by_node = {int(k): v for k, v in index["by_node"].items()}
    by_link = {int(k): [tuple(p) for p in v] for k, v in index["by_link"].items()}
    return Places(
        link_ids=index["link_ids"],
        link_rows=[dict(zip(LINK_COLUMNS, row, strict=True)) for row in index["link_rows"]],
        names=dict(zip(index["node_ids"], index["node_names"], strict=True)),
        countries=dict(zip(index["node_ids"], index["node_countries"], strict=True)),
        node_row={node: i for i, node in enumerate(index["node_ids"])},
        passages=lambda links, nodes, forward: passages_on_path(by_node, by_link, links,
                                                                nodes, forward))


def _resolve(index: dict[str, Any], place: str, commodity: str) -> list[str]:
    """The node ids a name means for a commodity, as the network resolves it; empty when the
    name is not known exactly (the full way then suggests close matches)."""
    key = normalise_name(place)
    meanings = {(k, c): ids for k, c, ids in index["meanings"]}
    for wanted in (commodity, ""):
        if (key, wanted) in meanings:
            return meanings[(key, wanted)]
    node = index["names"].get(key)
    return [node] if node else []


# -- where a snapshot lives ---------------------------------------------------------------


def _snapshot_folder(network: str | Path | None, costs: str | Path | None) -> Path | None:
    key = _key(network, costs)
    root = cache_folder()
    if key is None or root is None:
        return None
    folder = root / f"network-{key}"
    return folder if (folder / "index.json").is_file() else None


def _key(network: str | Path | None, costs: str | Path | None) -> str | None:
    """A digest of everything a snapshot depends on: the size and modification time of each
    file of the network and cost-model folders and of Corridor's modules, and the versions."""
    from corridor import __version__

    data = Path(str(resources.files("corridor") / "data"))
    folders = [Path(network) if network is not None else data / "network",
               Path(costs) if costs is not None else data / "costs",
               Path(__file__).parent]
    digest = hashlib.sha256(f"{FORMAT} {__version__} {sys.version}".encode())
    try:
        for folder in folders:
            digest.update(str(folder.resolve()).encode())
            for entry in sorted(os.scandir(folder), key=lambda e: e.name):
                if entry.is_file():
                    info = entry.stat()
                    digest.update(f"{entry.name} {info.st_size} {info.st_mtime_ns}".encode())
    except OSError:
        return None
    return digest.hexdigest()[:24]


def _write(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")),
                    encoding="utf-8")
