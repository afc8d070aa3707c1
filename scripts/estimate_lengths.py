"""Estimate the lengths of links that have no published length, with measured circuity factors.

Reads ``src/corridor/data/network/node.csv`` and ``link.csv``. The circuity of a mode in a
region (the first country of a link) is measured on the links of that mode and region whose
length is published, derived from published figures or measured on OpenStreetMap
(``length_method`` ``published``, ``published_derived`` or ``osm``) and longer than
80 km (on shorter links the offset of city nodes from stations dominates):
Σ length ÷ Σ great-circle distance. A region with fewer than three such links uses the
median ratio of its mode over all regions (a median, so that one mountain road does not set the
factor of every steppe road). Every link whose ``length_method`` is an estimate
(``great_circle…`` or ``circuity…``) then gets great-circle × factor, rounded to 1 km, with
``length_method = circuity_x<factor>`` and the method (factor, region and the links it was
measured on) in ``estimate_method``. Great-circle distances are WGS84 geodesics
(``pyproj.Geod``). Every other row is left as it was parsed; the file is rewritten atomically.

Usage::

    python scripts/estimate_lengths.py [--network DIR] [--check]

``--check`` reports the factors and the estimated share and exits 1 when a stored estimate
differs from the recomputed one; nothing is written.
"""

from __future__ import annotations

import argparse
import csv
import io
import statistics
import sys
from collections import defaultdict
from pathlib import Path

from pyproj import Geod

from corridor.outputs import write_text

DEFAULT_NETWORK = Path(__file__).resolve().parents[1] / "src" / "corridor" / "data" / "network"
MEASURED = ("published", "published_derived", "osm")
ESTIMATED = ("great_circle", "circuity")
MIN_KM = 80.0
MIN_LINKS = 3
ESTIMATE_SOURCE = "net_est_geod"
_GEOD = Geod(ellps="WGS84")


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _great_circle_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    return _GEOD.inv(a[0], a[1], b[0], b[1])[2] / 1000.0


def _region(link: dict[str, str], node_country: dict[str, str]) -> str:
    codes = [c for c in (link.get("country") or "").split(";") if c]
    return codes[0] if codes else node_country[link["from_node_id"]].split(";")[0]


def factors(links: list[dict[str, str]], position: dict, node_country: dict) -> dict:
    """``(mode, region) -> (factor, n_links)`` (weighted) and ``(mode, "*") -> (factor,
    n_links)`` (the median ratio of the mode)."""
    sums: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    ratios: dict[str, list[float]] = defaultdict(list)
    for link in links:
        if link.get("length_method") not in MEASURED:
            continue
        gc = _great_circle_km(position[link["from_node_id"]], position[link["to_node_id"]])
        if gc < MIN_KM:
            continue
        km = float(link["length_km"])
        key = (link["mode"], _region(link, node_country))
        sums[key][0] += km
        sums[key][1] += gc
        sums[key][2] += 1
        ratios[link["mode"]].append(km / gc)
    table = {key: (total / gc, int(n)) for key, (total, gc, n) in sums.items() if gc > 0}
    for mode, values in ratios.items():
        table[(mode, "*")] = (float(statistics.median(values)), len(values))
    return table


def build(network: Path, check: bool = False) -> tuple[int, int, int]:
    """Re-estimate lengths; returns (links estimated, all links, links that drifted)."""
    _, nodes = _read(network / "node.csv")
    position = {n["node_id"]: (float(n["lon"]), float(n["lat"])) for n in nodes}
    node_country = {n["node_id"]: n["country"] for n in nodes}
    link_file = network / "link.csv"
    fields, links = _read(link_file)
    table = factors(links, position, node_country)
    estimated = drift = 0
    for link in links:
        if not (link.get("length_method") or "").startswith(ESTIMATED):
            continue
        mode, region = link["mode"], _region(link, node_country)
        chosen = table.get((mode, region))
        scope = f"{mode} links in {region}"
        if chosen is None or chosen[1] < MIN_LINKS:
            chosen = table.get((mode, "*"), (1.0, 0))
            scope = f"{mode} links in every region (median ratio)"
        factor, n = chosen
        gc = _great_circle_km(position[link["from_node_id"]], position[link["to_node_id"]])
        km = max(1, round(gc * factor))
        method = f"circuity_x{factor:.2f}"
        text = (f"great-circle distance {gc:.0f} km (WGS84 geodesic between the node "
                f"coordinates, pyproj.Geod) x {factor:.2f}, the circuity measured on {n} "
                f"{scope} with published or OSM-measured lengths over {MIN_KM:.0f} km "
                f"(sum of lengths / sum of great-circle distances; scripts/estimate_lengths.py)")
        estimated += 1
        if link["length_km"] != str(km) or link["length_method"] != method:
            drift += 1
        link["length_km"], link["length_method"] = str(km), method
        marks = [f for f in (link.get("estimated") or "").split(";") if f]
        if "length_km" not in marks:
            marks.append("length_km")
        link["estimated"] = ";".join(marks)
        others = [t for t in (link.get("estimate_method") or "").split(" | ")
                  if t and not t.startswith(("great-circle distance", "great-circle x",
                                             "set by scripts/estimate_lengths.py"))]
        link["estimate_method"] = " | ".join([text, *others])
        ids = [s for s in (link.get("source_id") or "").split(";") if s]
        if ESTIMATE_SOURCE not in ids:
            link["source_id"] = ";".join([*ids, ESTIMATE_SOURCE])
    for (mode, region), (factor, n) in sorted(table.items()):
        print(f"  circuity {mode:13s} {region:4s} x{factor:.3f} over {n} links", file=sys.stderr)
    if check:
        return estimated, len(links), drift
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(links)
    write_text(link_file, text.getvalue())  # atomic, keeps the file's mode
    return estimated, len(links), drift


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", type=Path, default=DEFAULT_NETWORK)
    parser.add_argument("--check", action="store_true", help="report drift, write nothing")
    args = parser.parse_args(argv)
    estimated, total, drift = build(args.network, check=args.check)
    print(f"{estimated} of {total} links have an estimated length "
          f"({100.0 * estimated / total:.1f} %); {drift} changed")
    return 1 if args.check and drift else 0


if __name__ == "__main__":
    sys.exit(main())
