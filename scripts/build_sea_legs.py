"""Build the sea network: a sea link between every two ports of one sea area, measured by searoute.

Reads ``src/corridor/data/network/node.csv`` and ``link.csv``. Every node with a ``sea_area``
(``ocean`` for the world ocean with the Black Sea and the Mediterranean, ``caspian`` for the
Caspian) gets a sea link to every other node of the same area (its ``section`` is
``caspian`` on the Caspian; on the ocean it follows the port ranges (``sea_basin``) of its two
ports, see ``_section``);
searoute (Eurostat MARNET sea-lane network) gives the shortest lane between the two node
coordinates, so any two ports have a realistic sea distance and no hand-picked hub lanes are
needed. Each link's length (0.1 km) and geometry (WKT LINESTRING, simplified to 0.02
degrees, endpoints kept) include the straight access legs from the ports to the lane.

Every other link whose ``length_method`` is ``searoute`` (the Caspian ferry lines) is measured
the same way.

Where the lane between two ocean ports runs through the Suez Canal, a second link
(``…_via_cape``, ``length_method`` ``searoute_avoiding_suez``) takes searoute's lane with the
Suez Canal and Bab-el-Mandeb closed: round the Cape of Good Hope, as ships sailed in the Red Sea
crisis. It is dearer and slower, so it carries cargo only when a scenario or ``--avoid-passage``
closes the canal. Links of mode ``sea`` that no longer join two ports of one area are removed; all
other rows are kept as they were parsed. The file is rewritten atomically.

Usage::

    python scripts/build_sea_legs.py [--network DIR] [--check]

``--check`` only reports links whose stored length differs from searoute by more than 0.1 km,
and missing or surplus sea links, and exits 1 if there are any; nothing is written.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import sys
from pathlib import Path

import searoute as sr
from shapely.geometry import LineString

from corridor.outputs import write_text

DEFAULT_NETWORK = Path(__file__).resolve().parents[1] / "src" / "corridor" / "data" / "network"
SEAROUTE_SOURCE_ID = "net_searoute"
SIMPLIFY_DEGREES = 0.02
CORRIDOR = {"ocean": "Maritime", "caspian": "Caspian"}
#: searoute's default restriction (the Northwest Passage) and, for the Cape lanes, the Red Sea
DEFAULT_RESTRICTIONS = ["northwest"]
CAPE_RESTRICTIONS = ["northwest", "suez", "babalmandab"]
CAPE_METHOD = "searoute_avoiding_suez"


def _uses_suez(origin: tuple[float, float], destination: tuple[float, float]) -> bool:
    feature = sr.searoute(list(origin), list(destination), units="km", return_passages=True)
    return "suez" in feature["properties"]["traversed_passages"]


def _lane(origin: tuple[float, float], destination: tuple[float, float],
          restrictions: list[str] | None = None) -> tuple[float, str]:
    """Length in km (0.1) and simplified WKT of the searoute lane between two points."""
    # searoute snaps both ends to the nearest MARNET vertex; append_orig_dest adds the straight
    # access legs from the ports themselves, so the length and the drawn lane agree.
    feature = sr.searoute(list(origin), list(destination), units="km", append_orig_dest=True,
                          restrictions=restrictions or DEFAULT_RESTRICTIONS)
    length_km = round(float(feature["properties"]["length"]), 1)
    coords = [list(origin)] + [list(c) for c in feature["geometry"]["coordinates"]] + [
        list(destination)]
    points: list[tuple[float, float]] = []
    for lon, lat in coords:
        point = (round(float(lon), 4), round(float(lat), 4))
        if not points or points[-1] != point:
            points.append(point)
    if len(points) < 2:
        points.append(points[0])
    line = LineString(points).simplify(SIMPLIFY_DEGREES, preserve_topology=False)
    wkt = "LINESTRING (" + ", ".join(f"{x:.4f} {y:.4f}" for x, y in line.coords) + ")"
    return length_km, wkt


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


#: Port ranges east of Suez, and the section of a lane from one of them into the
#: Mediterranean, the Black Sea or the other range: container freight is sold by port range.
EAST_OF_SUEZ = ("east_asia", "gulf")
RANGE_SECTIONS = {"mediterranean": "asia_med", "black_sea": "asia_black_sea",
                  "east_asia": "asia_gulf", "gulf": "asia_gulf"}


def _section(a: dict[str, str], b: dict[str, str], area: str) -> str:
    """``caspian`` on the Caspian. On the ocean, by the ``sea_basin`` (port range) of its two
    ports: a lane from east of Suez (``east_asia``, ``gulf``) into the ``mediterranean`` is
    ``asia_med``, into the ``black_sea`` ``asia_black_sea``, and one between East Asia and the
    Gulf ``asia_gulf``; another lane to or from a port inside the Black Sea is ``black_sea``
    (served by feeders there, directly or through a hub outside); else none."""
    if area == "caspian":
        return "caspian"
    basins = [(p.get("sea_basin") or "").strip() for p in (a, b)]
    for here, there in (basins, basins[::-1]):
        if here in EAST_OF_SUEZ and there in RANGE_SECTIONS and there != here:
            return RANGE_SECTIONS[there]
    return "black_sea" if "black_sea" in basins else ""


def _sea_link(a: dict[str, str], b: dict[str, str], area: str,
              cape: bool = False) -> dict[str, str]:
    suffix, method = ("_via_cape", CAPE_METHOD) if cape else ("", "searoute")
    lane = ("ocean sea lane round the Cape of Good Hope, searoute/MARNET with the Suez Canal "
            "and Bab-el-Mandeb closed" if cape else f"{area} sea lane, searoute/MARNET")
    return {"link_id": f"sea_{a['node_id']}_{b['node_id']}{suffix}", "from_node_id": a["node_id"],
            "to_node_id": b["node_id"], "directed": "0", "mode": "sea",
            "length_method": method, "corridor": CORRIDOR[area],
            "section": _section(a, b, area), "status": "operating",
            "source_id": SEAROUTE_SOURCE_ID,
            "notes": f"{a['name']} - {b['name']} ({lane})"}


def build(network: Path, check: bool = False) -> int:
    """Rebuild the sea links of ``network``; returns the number of links measured (-1 when
    ``check`` finds drift)."""
    _, nodes = _read(network / "node.csv")
    position = {n["node_id"]: (float(n["lon"]), float(n["lat"])) for n in nodes}
    link_file = network / "link.csv"
    fields, links = _read(link_file)
    for column in ("section", "geometry"):
        if column not in fields:
            fields.append(column)
    wanted: dict[str, dict[str, str]] = {}
    for area in CORRIDOR:
        ports = [n for n in nodes if n.get("sea_area") == area]
        for a, b in itertools.combinations(ports, 2):
            row = _sea_link(a, b, area)
            wanted[row["link_id"]] = row
            ends = position[a["node_id"]], position[b["node_id"]]
            if area == "ocean" and _uses_suez(*ends):
                row = _sea_link(a, b, area, cape=True)
                wanted[row["link_id"]] = row
    kept, drift = [], []
    for link in links:
        if link["mode"] == "sea" and link["link_id"] not in wanted:
            drift.append(f"{link['link_id']}: surplus sea link")
            continue
        want = wanted.get(link["link_id"])
        if want and (link.get("section") or "") != want["section"]:
            drift.append(f"{link['link_id']}: section {link.get('section')!r}, "
                         f"wanted {want['section']!r}")
            link["section"] = want["section"]
        kept.append(link)
    present = {link["link_id"] for link in kept}
    for link_id, row in wanted.items():
        if link_id not in present:
            drift.append(f"{link_id}: missing sea link")
            kept.append({**{f: "" for f in fields}, **row})
    measured = 0
    for link in kept:
        method = (link.get("length_method") or "").strip()
        if method not in ("searoute", CAPE_METHOD):
            continue
        a, b = link["from_node_id"], link["to_node_id"]
        if a not in position or b not in position:
            raise SystemExit(f"{link_file}: link {link['link_id']} has an unknown endpoint")
        restrictions = CAPE_RESTRICTIONS if method == CAPE_METHOD else None
        length_km, wkt = _lane(position[a], position[b], restrictions)
        measured += 1
        stored = float(link.get("length_km") or "nan")
        if not abs(stored - length_km) <= 0.1:
            drift.append(f"{link['link_id']}: stored {stored}, searoute {length_km}")
        link["length_km"] = f"{length_km:.1f}"
        link["geometry"] = wkt
        ids = [s for s in (link.get("source_id") or "").split(";") if s.strip()]
        if SEAROUTE_SOURCE_ID not in ids:
            link["source_id"] = ";".join(ids + [SEAROUTE_SOURCE_ID])
    if check:
        for line in drift:
            print(line)
        return -1 if drift else measured
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(kept)
    write_text(link_file, text.getvalue())  # atomic, keeps the file's mode
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
