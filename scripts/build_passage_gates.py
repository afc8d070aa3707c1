"""Draw the gates of the straits and canals in ``passages.csv`` from searoute's MARNET network.

MARNET (the Eurostat sea-lane network that searoute ships) marks the edge that runs through
each strait and canal with a ``passage`` property. For every passage of :data:`GATES` this
script draws a gate: a straight line through a point of that edge (a fraction along one of
its segments, chosen inside the strait itself), perpendicular to the segment, reaching
``half_km`` to each side so that it spans the water from shore to shore. A sea link passes
the strait when its lane crosses the gate (:mod:`corridor.passages`).

Rows of ``passages.csv`` whose ``passage_id`` is not in :data:`GATES` keep the gate they have.
The file is rewritten atomically.

Usage::

    python scripts/build_passage_gates.py [--network DIR] [--check]

``--check`` only reports gates that differ from the drawn ones and exits 1 if there are any.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from pathlib import Path

import searoute as sr

from corridor.outputs import write_text

DEFAULT_NETWORK = Path(__file__).resolve().parents[1] / "src" / "corridor" / "data" / "network"
MARNET = Path(sr.__file__).parent / "data" / "marnet_searoute.geojson"
#: passage_id: (MARNET passage, segment of its edge, fraction along it, half-length km)
GATES = {
    "bosporus": ("bosporus", 3, 0.5, 6.0),
    "dardanelles": ("dardanelles", 0, 0.5, 8.0),
    "suez": ("suez", 4, 0.5, 25.0),
    "bab_el_mandeb": ("babalmandab", 0, 0.5, 40.0),
    "hormuz": ("ormuz", 1, 0.5, 45.0),
    "malacca": ("malacca", 0, 0.5, 60.0),
    "gibraltar": ("gibraltar", 1, 0.5, 20.0),
}
KM_PER_DEGREE_LAT = 110.57
KM_PER_DEGREE_LON_EQUATOR = 111.32


def marnet_edges() -> dict[str, list[list[float]]]:
    """MARNET passage name -> the coordinates of its edge."""
    features = json.loads(MARNET.read_text(encoding="utf-8"))["features"]
    return {f["properties"]["passage"]: f["geometry"]["coordinates"]
            for f in features if f["properties"].get("passage")}


def gate(edge: list[list[float]], segment: int, fraction: float,
         half_km: float) -> tuple[str, float, float]:
    """WKT of the gate across ``edge`` and the point it is drawn through (lon, lat)."""
    (x0, y0), (x1, y1) = edge[segment][:2], edge[segment + 1][:2]
    xm, ym = x0 + fraction * (x1 - x0), y0 + fraction * (y1 - y0)
    kx = KM_PER_DEGREE_LON_EQUATOR * math.cos(math.radians(ym))
    dx, dy = (x1 - x0) * kx, (y1 - y0) * KM_PER_DEGREE_LAT
    norm = math.hypot(dx, dy)
    px, py = -dy / norm * half_km, dx / norm * half_km  # the normal, in km
    a = (xm - px / kx, ym - py / KM_PER_DEGREE_LAT)
    b = (xm + px / kx, ym + py / KM_PER_DEGREE_LAT)
    text = f"LINESTRING ({a[0]:.4f} {a[1]:.4f}, {b[0]:.4f} {b[1]:.4f})"
    return text, round(xm, 4), round(ym, 4)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", type=Path, default=DEFAULT_NETWORK)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    path = args.network / "passages.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    at = {name: header.index(name) for name in ("passage_id", "gate", "lon", "lat")}
    edges = marnet_edges()
    differ = []
    for row in rows[1:]:
        spec = GATES.get(row[at["passage_id"]])
        if spec is None:
            continue
        name, segment, fraction, half_km = spec
        text, lon, lat = gate(edges[name], segment, fraction, half_km)
        if (row[at["gate"]], row[at["lon"]], row[at["lat"]]) != (text, str(lon), str(lat)):
            differ.append(row[at["passage_id"]])
        row[at["gate"]], row[at["lon"]], row[at["lat"]] = text, str(lon), str(lat)
    if args.check:
        for passage in differ:
            print(f"gate of {passage} differs from MARNET")
        return 1 if differ else 0
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    write_text(path, out.getvalue())
    print(f"{len(differ)} gate(s) written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
