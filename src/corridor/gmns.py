"""GMNS (General Modeling Network Specification, version 0.96) in and out.

Corridor keeps its own file layout (``node.csv``/``link.csv`` with ``lon``/``lat``, ``kind``,
``mode``, ``length_km`` and a source on every row, see ``docs/data-model.md``) and maps it to
GMNS at the edge: :func:`write_gmns` writes a GMNS folder, and :func:`corridor.load_network`
reads a GMNS folder (one whose ``node.csv`` has ``x_coord``/``y_coord``) through
:func:`translate_gmns`. GMNS allows fields beyond its own, so everything Corridor knows travels
as extra fields and extra tables, and a network written and read back is the same network.

The mapping:

=====================  ===========================================================
GMNS                   Corridor
=====================  ===========================================================
``config.csv``         ``long_length`` converts ``length`` to ``length_km``; ``crs``
                       must be WGS84 longitude/latitude (EPSG:4326)
``node.x_coord/y``     ``lon``/``lat``
``node.node_type``     ``kind`` (a type Corridor does not know becomes ``junction``)
``link.directed``      ``directed`` (1: one way from ``from_node_id``)
``link.allowed_uses``  ``mode`` (``auto``, ``truck``, ``bus``, ``bike``, ``walk`` … are
                       ``road``; ``rail``/``train`` are ``rail``; Corridor's own modes
                       are kept)
``link.length``        ``length_km`` (in ``long_length`` units)
``link.geometry``      ``geometry`` (WKT), or ``geometry.csv`` by ``geometry_id``
=====================  ===========================================================

A GMNS network from elsewhere has no country or source per row: a node's country is the
Natural Earth country that contains it (the outlines shipped for the map, ``world-atlas``),
marked as an estimate, and every row cites the dataset (``config.csv``'s ``dataset_name``).
"""

from __future__ import annotations

import csv
import functools
import io
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from corridor.errors import DataError
from corridor.tables import read_rows

if TYPE_CHECKING:
    from corridor.network import Network

GMNS_VERSION = "0.96"
NODE_FIELDS = ["node_id", "name", "x_coord", "y_coord", "z_coord", "node_type", "ctrl_type",
               "zone_id", "parent_node_id"]
LINK_FIELDS = ["link_id", "name", "from_node_id", "to_node_id", "directed", "geometry_id",
               "geometry", "parent_link_id", "dir_flag", "length", "grade", "facility_type",
               "capacity", "free_speed", "lanes", "bike_facility", "ped_facility", "parking",
               "allowed_uses", "toll", "jurisdiction", "row_width"]
#: Corridor columns that GMNS fields carry (the rest travel as extra fields)
_NODE_MAP = {"lon": "x_coord", "lat": "y_coord", "kind": "node_type"}
_LINK_MAP = {"length_km": "length", "mode": "allowed_uses"}
#: Length units of ``config.long_length``, in km
LENGTH_UNITS_KM = {"km": 1.0, "kilometer": 1.0, "kilometers": 1.0, "kilometre": 1.0,
                   "kilometres": 1.0, "m": 0.001, "meter": 0.001, "meters": 0.001,
                   "metre": 0.001, "metres": 0.001, "mi": 1.609344, "mile": 1.609344,
                   "miles": 1.609344, "ft": 0.0003048, "foot": 0.0003048, "feet": 0.0003048}
_ROAD_USES = {"auto", "truck", "bus", "hov", "hov2", "hov3", "vehicle", "car", "bike",
              "bicycle", "walk", "ped", "pedestrian", "taxi", "motorcycle", "all"}
_RAIL_USES = {"rail", "train", "freight_rail", "railway"}
_WGS84 = {"4326", "epsg:4326", "wgs84", "wgs 84", "epsg 4326", "+proj=longlat +datum=wgs84"}
GMNS_SOURCE_ID = "gmns_dataset"
#: Files of a Corridor network folder that GMNS has no table for: copied as they are
EXTRA_TABLES = ("sources.csv", "terminals.csv", "contracts.csv", "storage.csv", "places.csv",
                "passages.csv")


def is_gmns(folder: Path) -> bool:
    """True when ``folder/node.csv`` is laid out as GMNS (``x_coord`` and ``y_coord``)."""
    node_file = folder / "node.csv"
    if not node_file.is_file():
        return False
    with node_file.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        header = next(csv.reader(handle), [])
    fields = {h.strip() for h in header}
    return {"x_coord", "y_coord"} <= fields and "lon" not in fields


def field_of(corridor_file: str, corridor_field: str | None) -> str | None:
    """The GMNS field that a Corridor field is read from (for error messages)."""
    mapping = _NODE_MAP if corridor_file == "node.csv" else _LINK_MAP
    return mapping.get(corridor_field or "", corridor_field)


# -- reading --------------------------------------------------------------------------------


def _table(path: Path) -> pd.DataFrame:
    header, rows = read_rows(path)
    return pd.DataFrame(rows, columns=[h.strip() for h in header], dtype=str).fillna("")


def _config(folder: Path) -> dict[str, str]:
    path = folder / "config.csv"
    if not path.is_file():
        return {}
    table = _table(path)
    return {k: str(v).strip() for k, v in table.iloc[0].items()} if len(table) else {}


def _km_per_unit(config: Mapping[str, str], folder: Path) -> float:
    unit = config.get("long_length", "").strip().lower()
    if not unit:
        raise DataError("long_length is missing: say in which unit link lengths are given "
                        "(km, m, mi or ft)", file=str(folder / "config.csv"),
                        field="long_length")
    if unit not in LENGTH_UNITS_KM:
        raise DataError(f"unknown length unit {unit!r}; use one of km, m, mi, ft",
                        file=str(folder / "config.csv"), field="long_length")
    return LENGTH_UNITS_KM[unit]


def _check_crs(config: Mapping[str, str], folder: Path) -> None:
    crs = config.get("crs", "").strip().lower()
    if crs and crs not in _WGS84:
        raise DataError(f"crs {config['crs']!r} is not supported: Corridor reads longitude and "
                        "latitude in WGS84 (EPSG:4326)", file=str(folder / "config.csv"),
                        field="crs")


def _mode(uses: str, row: int, path: Path) -> str:
    from corridor.cost import MODES

    found = []
    for use in (u.strip().lower() for u in uses.replace(";", ",").split(",")):
        if not use:
            continue
        if use in MODES:
            mode = use
        elif use in _ROAD_USES:
            mode = "road"
        elif use in _RAIL_USES:
            mode = "rail"
        else:
            raise DataError(f"allowed use {use!r} has no Corridor mode (road uses such as "
                            f"auto or truck, rail, or one of {', '.join(MODES)})",
                            file=str(path), row=row, field="allowed_uses")
        if mode not in found:
            found.append(mode)
    if len(found) > 1:
        raise DataError(f"allowed uses {uses!r} mix modes {', '.join(found)}; give one link "
                        "per mode", file=str(path), row=row, field="allowed_uses")
    return found[0] if found else "road"


@functools.lru_cache(maxsize=1)
def _countries() -> tuple[list, list[str]]:
    """Natural Earth country outlines (shapely) and their ISO 3166 alpha-3 codes."""
    import json

    import pycountry
    import shapely
    from shapely.geometry import shape

    from corridor.geometry import basemap_path, topojson_features

    topology = json.loads(basemap_path().read_text(encoding="utf-8"))
    shapes, codes = [], []
    for feature in topojson_features(topology):
        country = pycountry.countries.get(numeric=str(feature.get("id") or "").zfill(3))
        if country is None or not feature.get("geometry"):
            continue
        shapes.append(shapely.make_valid(shape(feature["geometry"])))
        codes.append(country.alpha_3)
    return shapes, codes


def country_at(lon: float, lat: float) -> str:
    """ISO3 code of the Natural Earth country at a point, else of the nearest one."""
    from shapely.geometry import Point

    shapes, codes = _countries()
    point = Point(lon, lat)
    for shape, code in zip(shapes, codes, strict=True):
        if shape.covers(point):
            return code
    distances = [shape.distance(point) for shape in shapes]
    return codes[min(range(len(codes)), key=distances.__getitem__)]


def translate_gmns(folder: Path, target: Path, node_kinds: tuple[str, ...]) -> list[str]:
    """Write the GMNS network of ``folder`` into ``target`` in Corridor's layout; returns
    notes on what looks wrong but can be read (a length unit that does not fit).
    ``node_kinds`` are the kinds Corridor knows (any other ``node_type`` becomes
    ``junction``).

    Rows keep their order, so a fault found later in ``target`` is at the same row of the
    GMNS file (:func:`field_of` names its GMNS field).
    """
    config = _config(folder)
    _check_crs(config, folder)
    km = _km_per_unit(config, folder)
    node_file, link_file = folder / "node.csv", folder / "link.csv"
    nodes, links = _table(node_file), _table(link_file)
    own_sources = (folder / "sources.csv").is_file()
    dataset = config.get("dataset_name") or folder.name
    # nodes
    out_nodes = _drop_empty(nodes, NODE_FIELDS).rename(
        columns={v: k for k, v in _NODE_MAP.items()})
    names = out_nodes.get("name", pd.Series("", index=out_nodes.index))
    out_nodes["name"] = names.where(names != "", out_nodes["node_id"])
    kind = out_nodes.get("kind", pd.Series("", index=out_nodes.index)).str.strip()
    out_nodes["kind"] = kind.where(kind.isin(node_kinds), "junction")
    if "country" not in out_nodes or (out_nodes["country"] == "").any():
        derived = out_nodes.get("country", pd.Series("", index=out_nodes.index)) == ""
        codes = []
        for row_number, (lon, lat, empty) in enumerate(
                zip(out_nodes["lon"], out_nodes["lat"], derived, strict=True), start=1):
            if not empty:
                codes.append("")
                continue
            try:
                x, y = float(lon), float(lat)
            except ValueError:
                raise DataError(f"{lon!r}, {lat!r} are not coordinates", file=str(node_file),
                                row=row_number, field="x_coord") from None
            codes.append(country_at(x, y) if math.isfinite(x) and math.isfinite(y) else "")
        out_nodes["country"] = [c or code for c, code in
                                zip(out_nodes.get("country", [""] * len(codes)), codes,
                                    strict=True)]
        _mark_estimated(out_nodes, derived, "country", "country: the Natural Earth country "
                        "(world-atlas 50m outlines) that contains the GMNS node, or the nearest")
    if "source_id" not in out_nodes or not own_sources:
        out_nodes["source_id"] = GMNS_SOURCE_ID
    # links
    geometry = _geometries(folder)
    out_links = _drop_empty(links, LINK_FIELDS).rename(columns={"length": "_length"})
    lengths = []
    for row_number, value in enumerate(out_links.get("_length", [""] * len(out_links)),
                                       start=1):
        try:
            lengths.append(round(float(value) * km, 6))
        except ValueError:
            raise DataError(f"length {value!r} is not a number (every link needs one, in "
                            f"{config.get('long_length')})", file=str(link_file),
                            row=row_number, field="length") from None
    out_links["length_km"] = lengths
    notes = _check_length_unit(out_nodes, out_links, config)
    if "mode" not in out_links:
        uses = out_links.get("allowed_uses", pd.Series("", index=out_links.index))
        out_links["mode"] = [_mode(u, i, link_file) for i, u in enumerate(uses, start=1)]
    if "geometry" not in out_links:
        out_links["geometry"] = ""
    if geometry and "geometry_id" in out_links:
        out_links["geometry"] = [g or geometry.get(gid, "") for g, gid in
                                 zip(out_links["geometry"], out_links["geometry_id"],
                                     strict=True)]
    out_links["directed"] = out_links["directed"].str.strip().str.lower().map(
        {"1": "1", "true": "1", "0": "0", "false": "0", "": "0"}).fillna(out_links["directed"])
    if "length_method" not in out_links:
        out_links["length_method"] = "gmns"
    if "source_id" not in out_links or not own_sources:
        out_links["source_id"] = GMNS_SOURCE_ID
    drop = [c for c in ("_length", "allowed_uses", "geometry_id", "dir_flag") if c in out_links]
    out_links = out_links.drop(columns=drop)
    target.mkdir(parents=True, exist_ok=True)
    out_nodes.to_csv(target / "node.csv", index=False)
    out_links.to_csv(target / "link.csv", index=False)
    for name in EXTRA_TABLES:
        if (folder / name).is_file() and own_sources:
            (target / name).write_bytes((folder / name).read_bytes())
    if not own_sources:
        pd.DataFrame([{"source_id": GMNS_SOURCE_ID, "title": f"GMNS dataset {dataset}",
                       "publisher": config.get("publisher", ""), "url": config.get("url", ""),
                       "year": config.get("year", ""),
                       "used_for": "nodes and links read from GMNS"}]).to_csv(
            target / "sources.csv", index=False)
    return notes


def _check_length_unit(nodes: pd.DataFrame, links: pd.DataFrame,
                       config: Mapping[str, str]) -> list[str]:
    """A note when the lengths are far from the distances between the nodes: a wrong
    ``long_length`` unit (a length in feet read as miles is 5,280 times too long)."""
    position = {n: (float(x), float(y)) for n, x, y in
                zip(nodes["node_id"], nodes["lon"], nodes["lat"], strict=True)}
    ratios = []
    for a, b, km in zip(links["from_node_id"], links["to_node_id"], links["length_km"],
                        strict=True):
        if a in position and b in position:
            straight = _haversine_km(position[a], position[b])
            if straight > 0.01:
                ratios.append(km / straight)
    if not ratios:
        return []
    ratio = sorted(ratios)[len(ratios) // 2]
    if 0.5 <= ratio <= 20:
        return []
    return [f"config.csv: link lengths read in {config.get('long_length')!r} are "
            f"{ratio:,.3g} times the straight distance between their nodes (median); is "
            "long_length the unit of link.csv's length?"]


def _haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    (lon1, lat1), (lon2, lat2) = (tuple(map(math.radians, p)) for p in (a, b))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, h)))


def _drop_empty(table: pd.DataFrame, standard: list[str]) -> pd.DataFrame:
    """Drop the GMNS fields that no row fills (they mean nothing to Corridor)."""
    keep = ("node_id", "link_id", "from_node_id", "to_node_id", "directed", "length",
            "x_coord", "y_coord")
    empty = [c for c in standard if c in table and c not in keep
             and (table[c].str.strip() == "").all()]
    return table.drop(columns=empty)


def _mark_estimated(table: pd.DataFrame, rows: pd.Series, field: str, method: str) -> None:
    for column in ("estimated", "estimate_method"):
        if column not in table:
            table[column] = ""
    for i in table.index[rows.to_numpy()]:
        fields = [f for f in str(table.at[i, "estimated"]).split(";") if f] + [field]
        table.at[i, "estimated"] = ";".join(dict.fromkeys(fields))
        methods = [m for m in str(table.at[i, "estimate_method"]).split(" | ") if m]
        table.at[i, "estimate_method"] = " | ".join([*methods, method])


def _geometries(folder: Path) -> dict[str, str]:
    path = folder / "geometry.csv"
    if not path.is_file():
        return {}
    table = _table(path)
    if "geometry_id" not in table or "geometry" not in table:
        return {}
    return dict(zip(table["geometry_id"], table["geometry"], strict=True))


# -- writing --------------------------------------------------------------------------------


def gmns_tables(network: Network) -> dict[str, str]:
    """The network as GMNS CSV texts: ``config.csv``, ``node.csv``, ``link.csv``,
    ``use_definition.csv`` and Corridor's extra tables (sources, terminals …)."""
    name = network.path.name if network.path is not None else "corridor"
    config = pd.DataFrame([{"dataset_name": name, "short_length": "m", "long_length": "km",
                            "speed": "km/h", "crs": "EPSG:4326", "geometry_field_format": "WKT",
                            "currency": "USD", "version_number": GMNS_VERSION,
                            "id_type": "string"}])
    nodes = network.nodes.reset_index().rename(columns=_NODE_MAP)
    for field in NODE_FIELDS:
        if field not in nodes:
            nodes[field] = ""
    nodes = nodes[NODE_FIELDS + [c for c in nodes.columns if c not in NODE_FIELDS]]
    links = network.links.reset_index()
    links = links.assign(length=links["length_km"], allowed_uses=links["mode"],
                         dir_flag=1).drop(columns=["length_km"])
    links["directed"] = links["directed"].astype(bool).astype(int)
    for field in LINK_FIELDS:
        if field not in links:
            links[field] = ""
    links = links[LINK_FIELDS + [c for c in links.columns if c not in LINK_FIELDS]]
    uses = pd.DataFrame([{"use": mode, "persons_per_vehicle": "", "pce": "",
                          "special_conditions": "", "description": _USE_TEXT.get(mode, mode)}
                         for mode in sorted(set(network.links["mode"]))])
    texts = {"config.csv": config, "node.csv": nodes, "link.csv": links,
             "use_definition.csv": uses}
    out = {name: _csv(table) for name, table in texts.items()}
    own = network.sources[~network.sources.index.isin(network.costs.sources.index)]
    out["sources.csv"] = _csv(own.reset_index())  # the cost model keeps its own
    for name, table in (("terminals.csv", network.terminals),
                        ("contracts.csv", network.contracts), ("storage.csv", network.storage),
                        ("passages.csv", network.passages)):
        if len(table):
            out[name] = _csv(table.reset_index())
    if len(network.place_names):
        out["places.csv"] = _csv(network.place_names.drop(columns=["key"], errors="ignore"))
    return out


_USE_TEXT = {"rail": "rail freight (gauge in gauge_mm)", "road": "road freight (trucks)",
             "sea": "sea shipping", "ferry": "rail and road ferries",
             "oil_pipeline": "crude oil pipeline", "gas_pipeline": "natural gas pipeline",
             "transfer": "an in-port link between terminals"}


def _csv(table: pd.DataFrame) -> str:
    text = io.StringIO()
    table.to_csv(text, index=False, lineterminator="\n")
    return text.getvalue()


def write_gmns(network: Network, folder: str | Path,
               inputs: list[str | Path] | None = None) -> list[Path]:
    """Write ``network`` as a GMNS folder (every file checked first, each written
    atomically); returns the files written."""
    from corridor.outputs import check_folder, write_text

    texts = gmns_tables(network)
    protected = list(inputs or []) + network.input_files()
    check_folder(folder, texts, protected)
    return [write_text(Path(folder) / name, text, protected) for name, text in texts.items()]
