"""Named passages: the straits, canals, Caspian crossings, border posts and gauge-change stations
that cargo has to pass, read from the optional ``passages.csv`` of a network folder.

A passage is made of links, nodes or a *gate*:

* ``link_ids``: the links that make the passage (a border post's crossing links, the ferry and
  sea links of a Caspian crossing);
* ``node_ids``: the nodes that make it (a gauge-change station); a route passes it when it
  touches the node;
* ``gate``: a WKT ``LINESTRING`` drawn across a strait or canal; a link passes it when its
  geometry (the searoute lane of a sea link) crosses the line.

:func:`index_passages` resolves every passage to the rows of the network's links and nodes once;
routes and flows then report the passages they use, and the router can avoid them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from corridor import limits
from corridor.errors import DataError, InvalidOptionError, suggest
from corridor.lookup import passages_on_path
from corridor.tables import (
    PROVENANCE_COLUMNS,
    Column,
    check_estimates,
    check_unique,
    one_of,
    read_table,
    split_list,
)

PASSAGE_KINDS = ("strait", "canal", "sea_crossing", "border_post", "gauge_change")

PASSAGE_COLUMNS = [
    Column("passage_id", required=True),
    Column("name", required=True),
    Column("kind", required=True, check=one_of(PASSAGE_KINDS)),
    Column("link_ids"),
    Column("node_ids"),
    Column("gate"),
    Column("lon", "float", allowed=limits.LONGITUDE),
    Column("lat", "float", allowed=limits.LATITUDE),
    *PROVENANCE_COLUMNS,
    Column("notes"),
]


def empty_passages() -> pd.DataFrame:
    """A passages table with no rows (a network folder without ``passages.csv``)."""
    return pd.DataFrame({c.name: pd.Series(dtype=float if c.kind == "float" else object)
                         for c in PASSAGE_COLUMNS}).set_index("passage_id")


def read_passages(path: Path, nodes: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """Read and check ``passages.csv``; an absent file gives an empty table.

    Every row needs at least one of ``link_ids``, ``node_ids`` and ``gate``; ids must exist in
    the network and a gate must be a WKT ``LINESTRING`` in longitude and latitude.
    """
    if not path.is_file():
        return empty_passages()
    table = read_table(path, PASSAGE_COLUMNS)
    label = str(path)
    check_unique(table, "passage_id", label)
    check_estimates(table, label)
    for row_number, row in enumerate(table.to_dict(orient="records"), start=1):
        if not any(row[f] for f in ("link_ids", "node_ids", "gate")):
            raise DataError("a passage needs link_ids, node_ids or a gate", file=label,
                            row=row_number, field="link_ids")
        for field, known in (("link_ids", links.index), ("node_ids", nodes.index)):
            unknown = [i for i in _ids(row[field]) if i not in known]
            if unknown:
                what = "link" if field == "link_ids" else "node"
                raise DataError(f"unknown {what} id {unknown[0]!r}", file=label,
                                row=row_number, field=field)
        if row["gate"]:
            problem = _gate_problem(str(row["gate"]))
            if problem:
                raise DataError(problem, file=label, row=row_number, field="gate")
    return table.set_index("passage_id")


def _gate_problem(text: str) -> str | None:
    import shapely
    from shapely import wkt

    try:
        line = wkt.loads(text)
    except (shapely.errors.ShapelyError, ValueError, AttributeError):
        return "gate is not valid WKT"
    if line.geom_type != "LineString" or len(line.coords) < 2:
        return "gate must be a WKT LINESTRING of at least two points"
    for lon, lat in line.coords:
        if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
            return f"gate point ({lon}, {lat}) is not a longitude and latitude"
    return None


def _ids(value: object) -> list[str]:
    return split_list(str(value or ""), ";")


@dataclass(frozen=True)
class PassageIndex:
    """Passages resolved against one network.

    Attributes
    ----------
    table
        The passages (``passages.csv``, indexed by ``passage_id``).
    link_rows
        Passage id -> positions in ``network.links`` of the links that pass it.
    node_rows
        Passage id -> positions in ``network.nodes`` of the nodes that make it.
    by_link
        Link position -> its passages, each with its position along the link (0 at
        ``from_node_id``).
    by_node
        Node position -> the passages it makes.
    """

    table: pd.DataFrame
    link_rows: dict[str, np.ndarray]
    node_rows: dict[str, np.ndarray]
    by_link: dict[int, tuple[tuple[float, str], ...]]
    by_node: dict[int, tuple[str, ...]]

    @property
    def ids(self) -> list[str]:
        return list(self.table.index)

    def name(self, passage_id: str) -> str:
        return str(self.table.at[passage_id, "name"])

    def check(self, passage_ids: Iterable[str]) -> tuple[str, ...]:
        """The passage ids, de-duplicated; raise InvalidOptionError naming an unknown one
        with the closest known ids."""
        wanted = tuple(dict.fromkeys(p.strip().lower() for p in passage_ids if p.strip()))
        for passage in wanted:
            if passage not in self.table.index:
                close = suggest(passage, self.ids, cutoff=0.5)
                hint = (f" Did you mean {', '.join(close)}?" if close else
                        " See `corridor passages` for the list.")
                raise InvalidOptionError(f"Unknown passage {passage!r}.{hint}")
        return wanted

    def of_path(self, link_rows: Sequence[int], node_rows: Sequence[int],
                forward: Sequence[bool] | None = None) -> list[str]:
        """Passage ids that a path of links and nodes uses, in the order it meets them.

        ``node_rows`` are the nodes in travel order (one more than the links); every node of
        the path counts, its ends included. ``forward`` tells for each link whether it is
        travelled from its ``from_node_id`` (default: yes); it orders the straits along a lane.
        """
        return passages_on_path(self.by_node, self.by_link, link_rows, node_rows, forward)

    def link_mask(self, passage_ids: Iterable[str], n_links: int) -> np.ndarray:
        """Boolean mask over ``network.links`` rows that belong to any of ``passage_ids``."""
        mask = np.zeros(n_links, dtype=bool)
        for passage in passage_ids:
            mask[self.link_rows[passage]] = True
        return mask

    def node_mask(self, passage_ids: Iterable[str], n_nodes: int) -> np.ndarray:
        """Boolean mask over ``network.nodes`` rows that belong to any of ``passage_ids``."""
        mask = np.zeros(n_nodes, dtype=bool)
        for passage in passage_ids:
            mask[self.node_rows[passage]] = True
        return mask


def index_passages(passages: pd.DataFrame, nodes: pd.DataFrame,
                   links: pd.DataFrame) -> PassageIndex:
    """Resolve every passage to link and node rows (gates against the links' geometry)."""
    import shapely
    from shapely import wkt

    geometry = links["geometry"] if "geometry" in links else pd.Series("", index=links.index)
    has_line = geometry.fillna("").astype(str).str.startswith("LINESTRING").to_numpy()
    lines = np.full(len(links), None, dtype=object)
    if has_line.any():
        lines[has_line] = shapely.from_wkt(geometry.to_numpy()[has_line].astype(str))
    link_rows: dict[str, np.ndarray] = {}
    node_rows: dict[str, np.ndarray] = {}
    by_link: dict[int, tuple[tuple[float, str], ...]] = {}
    for passage, row in passages.iterrows():
        passage = str(passage)
        # where along a link the passage lies (0 = its from node): whole links sit halfway
        at = {r: 0.5 for r in links.index.get_indexer(_ids(row["link_ids"])).tolist()}
        if row["gate"]:
            gate = wkt.loads(str(row["gate"]))
            crossing = np.flatnonzero(has_line)[shapely.intersects(lines[has_line], gate)]
            for r in crossing.tolist():
                point = shapely.intersection(lines[r], gate).representative_point()
                at[r] = float(shapely.line_locate_point(lines[r], point, normalized=True))
        link_rows[passage] = np.array(sorted(at), dtype=np.int64)
        node_rows[passage] = nodes.index.get_indexer(_ids(row["node_ids"])).astype(np.int64)
        for r, fraction in at.items():
            by_link[r] = (*by_link.get(r, ()), (fraction, passage))
    by_node: dict[int, tuple[str, ...]] = {}
    for passage, rows in node_rows.items():
        for r in rows.tolist():
            by_node[r] = (*by_node.get(r, ()), passage)
    return PassageIndex(passages, link_rows, node_rows, by_link, by_node)
