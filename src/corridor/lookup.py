"""Lookups in plain Python, shared by the loaded network and its route snapshot.

Neither needs pandas or NumPy, so a route answered from the snapshot (:mod:`corridor.snapshot`)
folds a place name and lists the passages of a path exactly as the loaded network does.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence


def normalise_name(text: str) -> str:
    """Fold a place name for matching: case, accents, punctuation and spacing are ignored.

    >>> normalise_name("Khorgos–Altynkol")
    'khorgosaltynkol'
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    bare = bare.replace("ё", "е")
    return re.sub(r"[\W_]+", "", bare)


def passages_on_path(by_node: Mapping[int, Sequence[str]],
                     by_link: Mapping[int, Sequence[tuple[float, str]]],
                     link_rows: Sequence[int], node_rows: Sequence[int],
                     forward: Sequence[bool] | None = None) -> list[str]:
    """Passage ids that a path of links and nodes uses, in the order it meets them.

    ``by_node`` maps a node's row to the passages it makes; ``by_link`` a link's row to its
    passages, each with its position along the link (0 at ``from_node_id``). ``node_rows``
    are the path's nodes in travel order (one more than the links); every node counts, its
    ends included. ``forward`` tells for each link whether it is travelled from its
    ``from_node_id`` (default: yes); it orders the straits along a lane.
    """
    found: dict[str, None] = {}
    for step, node in enumerate(node_rows):
        for passage in by_node.get(int(node), ()):
            found.setdefault(passage)
        if step < len(link_rows):
            along = by_link.get(int(link_rows[step]), ())
            ahead = True if forward is None else bool(forward[step])
            for _, passage in sorted(along, reverse=not ahead):
                found.setdefault(passage)
    return list(found)
