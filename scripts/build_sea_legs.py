"""Fill the length and lane geometry of every sea/ferry link measured with searoute.

Reads ``src/corridor/data/network/node.csv`` and ``link.csv``; for each link whose
``length_method`` is ``searoute`` it asks searoute (Eurostat MARNET sea-lane network) for the
shortest lane between the two node coordinates and writes ``length_km`` (0.1 km) and
``geometry`` (WKT LINESTRING, 4 decimals); the straight access legs from each node to the
nearest lane vertex are included in both. Every other row is left byte-for-byte as it was
parsed. The file is rewritten atomically (temporary file + ``os.replace``).

Usage::

    python scripts/build_sea_legs.py [--network DIR] [--check]

``--check`` only reports links whose stored length differs from searoute by more than 0.1 km
and exits 1 if there are any; nothing is written.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
from pathlib import Path

import searoute as sr

DEFAULT_NETWORK = Path(__file__).resolve().parents[1] / "src" / "corridor" / "data" / "network"
SEAROUTE_SOURCE_ID = "net_searoute"


def _lane(origin: tuple[float, float], destination: tuple[float, float]) -> tuple[float, str]:
    """Length in km (0.1) and WKT of the searoute lane from ``origin`` to ``destination``."""
    # searoute snaps both ends to the nearest MARNET vertex; append_orig_dest adds the straight
    # access legs from the ports themselves, so the length and the drawn lane agree.
    feature = sr.searoute(list(origin), list(destination), units="km", append_orig_dest=True)
    length_km = round(float(feature["properties"]["length"]), 1)
    coords = feature["geometry"]["coordinates"]
    points = [list(origin)] + [list(c) for c in coords] + [list(destination)]
    cleaned: list[tuple[float, float]] = []
    for lon, lat in points:
        point = (round(float(lon), 4), round(float(lat), 4))
        if not cleaned or cleaned[-1] != point:
            cleaned.append(point)
    if len(cleaned) < 2:
        cleaned.append(cleaned[0])
    wkt = "LINESTRING (" + ", ".join(f"{lon:.4f} {lat:.4f}" for lon, lat in cleaned) + ")"
    return length_km, wkt


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _with_source(value: str) -> str:
    ids = [s for s in (value or "").split(";") if s.strip()]
    if SEAROUTE_SOURCE_ID not in ids:
        ids.append(SEAROUTE_SOURCE_ID)
    return ";".join(ids)


def build(network: Path, check: bool = False) -> int:
    """Recompute searoute legs in ``network``; returns the number of links measured."""
    _, nodes = _read(network / "node.csv")
    position = {n["node_id"]: (float(n["lon"]), float(n["lat"])) for n in nodes}
    link_file = network / "link.csv"
    fields, links = _read(link_file)
    if "geometry" not in fields:
        fields.append("geometry")
    measured = 0
    drift: list[str] = []
    for link in links:
        if (link.get("length_method") or "").strip() != "searoute":
            continue
        a, b = link["from_node_id"], link["to_node_id"]
        if a not in position or b not in position:
            raise SystemExit(f"{link_file}: link {link['link_id']} has an unknown endpoint")
        length_km, wkt = _lane(position[a], position[b])
        measured += 1
        if check:
            stored = float(link["length_km"] or "nan")
            if not abs(stored - length_km) <= 0.1:
                drift.append(f"{link['link_id']}: stored {stored}, searoute {length_km}")
            continue
        link["length_km"] = f"{length_km:.1f}"
        link["geometry"] = wkt
        link["source_id"] = _with_source(link.get("source_id", ""))
    if check:
        for line in drift:
            print(line)
        return -1 if drift else measured
    with tempfile.NamedTemporaryFile("w", delete=False, dir=network, suffix=".tmp",
                                     newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(links)
    try:
        os.replace(handle.name, link_file)
    except BaseException:
        os.unlink(handle.name)
        raise
    return measured


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", type=Path, default=DEFAULT_NETWORK)
    parser.add_argument("--check", action="store_true", help="report drift, write nothing")
    args = parser.parse_args(argv)
    measured = build(args.network, check=args.check)
    if measured < 0:
        return 1
    print(f"{measured} searoute legs {'checked' if args.check else 'written'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
