"""GeoJSON and GeoDataFrames of the network, of routes and of link flows, and the country
basemap.

Links are drawn as straight lines between their end nodes, except links that carry a WKT
``geometry`` (sea lanes from searoute), which are drawn along it. Coordinates are WGS84
longitude/latitude; a line that crosses the antimeridian is unwrapped (longitudes beyond 180°)
so that it is drawn the short way round.

The basemap is Natural Earth's country outlines as shipped by the npm package ``world-atlas``
(TopoJSON), kept in ``corridor/web/basemap/`` and decoded here (see :func:`topojson_features`).
"""

from __future__ import annotations

import functools
import json
import math
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import shapely
from shapely import wkt
from shapely.geometry import mapping, shape

if TYPE_CHECKING:
    from corridor.network import Network

BASEMAP_FILE = "countries-50m.json"
#: Default extent of maps (lon_min, lat_min, lon_max, lat_max): Western Europe to Japan.
DEFAULT_BBOX = (-12.0, 5.0, 150.0, 62.0)


# -- lines -----------------------------------------------------------------------------------


def _unwrap(coords: list[tuple[float, float]]) -> list[list[float]]:
    """Shift longitudes by ±360° so that no step is longer than 180° (antimeridian)."""
    out: list[list[float]] = []
    for lon, lat in coords:
        if out:
            prev = out[-1][0]
            while lon - prev > 180:
                lon -= 360
            while prev - lon > 180:
                lon += 360
        out.append([round(float(lon), 5), round(float(lat), 5)])
    return out


def _has_geometry(value: object) -> bool:
    return isinstance(value, str) and value.strip().upper().startswith("LINESTRING")


def link_coordinates(network: Network, link_id: str, reverse: bool = False) -> list[list[float]]:
    """Coordinates of a link, from its start node to its end node (or reversed).

    Parameters
    ----------
    network
        The network holding the link.
    link_id
        Id of the link.
    reverse
        Return the line from ``to_node_id`` to ``from_node_id``.

    Returns
    -------
    list[list[float]]
        ``[[lon, lat], ...]``: the WKT geometry when the link has one (oriented so that it
        starts nearest the start node), else the straight segment between the two nodes.
    """
    row = network.links.loc[link_id]
    nodes = network.nodes
    a, b = row["from_node_id"], row["to_node_id"]
    start = (float(nodes.at[a, "lon"]), float(nodes.at[a, "lat"]))
    end = (float(nodes.at[b, "lon"]), float(nodes.at[b, "lat"]))
    coords: list[tuple[float, float]] = [start, end]
    geometry = row.get("geometry")
    if _has_geometry(geometry):
        try:
            line = wkt.loads(geometry)
            points = [(float(x), float(y)) for x, y, *_ in line.coords]
        except (shapely.errors.ShapelyError, ValueError, AttributeError):
            points = []
        if len(points) >= 2:
            first, last = points[0], points[-1]
            if math.dist(last, start) + math.dist(first, end) < \
                    math.dist(first, start) + math.dist(last, end):
                points.reverse()
            coords = points
    if reverse:
        coords = coords[::-1]
    return _unwrap(coords)


def _number(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or math.isinf(number) else number


def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _feature(geometry_type: str, coords: Any, properties: dict) -> dict:
    return {"type": "Feature", "geometry": {"type": geometry_type, "coordinates": coords},
            "properties": properties}


def collection(features: list[dict], **properties: Any) -> dict:
    """A GeoJSON FeatureCollection (extra keyword arguments become foreign members)."""
    return {"type": "FeatureCollection", "features": features, **properties}


# -- network ---------------------------------------------------------------------------------


def node_features(network: Network) -> list[dict]:
    """One Point feature per node: id, name, Russian name, country, kind."""
    features = []
    for node_id, row in network.nodes.iterrows():
        features.append(_feature("Point", [float(row["lon"]), float(row["lat"])], {
            "feature": "node", "id": node_id, "name": _text(row["name"]),
            "name_ru": _text(row.get("name_ru")), "country": _text(row["country"]),
            "kind": _text(row["kind"])}))
    return features


def link_features(network: Network) -> list[dict]:
    """One LineString feature per link: id, ends, mode, corridor, capacity, status, km."""
    features = []
    for link_id, row in network.links.iterrows():
        gauge = row.get("gauge_mm")
        features.append(_feature("LineString", link_coordinates(network, link_id), {
            "feature": "link", "id": link_id, "from": row["from_node_id"],
            "to": row["to_node_id"], "mode": row["mode"], "corridor": _text(row["corridor"]),
            "country": _text(row["country"]),
            "capacity": _number(row.get("capacity_t_per_year")),
            "status": _text(row.get("status")) or "operating",
            "length_km": _number(row["length_km"]),
            "gauge_mm": None if pd.isna(gauge) else int(gauge)}))
    return features


def network_geojson(network: Network) -> dict:
    """The network as one GeoJSON FeatureCollection: nodes (Points), then links (LineStrings).

    Parameters
    ----------
    network
        A loaded (or scenario-modified) network.

    Returns
    -------
    dict
        A FeatureCollection; every feature's ``properties.feature`` is ``"node"`` or ``"link"``.
        Link properties: ``id, from, to, mode, corridor, country, capacity`` (t/yr or null),
        ``status, length_km, gauge_mm``.
    """
    return collection(node_features(network) + link_features(network))


# -- routes and flows ------------------------------------------------------------------------


def route_geojson(network: Network, route: Any) -> dict:
    """The legs of a :class:`~corridor.routing.Route` as LineStrings in travel order.

    Each leg's properties are those of :class:`~corridor.routing.Leg` plus ``seq`` (1-based).
    """
    features = []
    for seq, leg in enumerate(route.legs, start=1):
        reverse = network.links.at[leg.link_id, "from_node_id"] != leg.from_id
        props = {"feature": "leg", "seq": seq, "rank": route.rank, "link_id": leg.link_id,
                 "from_id": leg.from_id, "from_name": leg.from_name, "to_id": leg.to_id,
                 "to_name": leg.to_name, "mode": leg.mode, "length_km": leg.length_km,
                 "days": leg.days, "cost_usd_per_t": leg.cost_usd_per_t,
                 "co2_kg_per_t": leg.co2_kg_per_t, "country": leg.country,
                 "corridor": leg.corridor, "border_crossing": leg.border_crossing}
        features.append(_feature("LineString",
                                 link_coordinates(network, leg.link_id, reverse=reverse), props))
    return collection(features, rank=route.rank)


def flows_geojson(network: Network, link_flows: pd.DataFrame, min_flow_t: float = 0.0) -> dict:
    """Links with their yearly flow, utilisation and status, as GeoJSON LineStrings.

    Parameters
    ----------
    network
        The network the flows were computed on (a scenario may have added links).
    link_flows
        :attr:`corridor.flow.FlowResult.link_flows` (indexed by ``link_id``; columns
        ``flow_t_per_year, capacity_t_per_year, utilisation, shadow_price_usd_per_t,
        saturated, status`` …).
    min_flow_t
        Links with less flow are left out, except closed or saturated ones.

    Returns
    -------
    dict
        A FeatureCollection of links; properties ``id, mode, corridor, status, capacity, flow,
        utilisation, shadow_price, saturated, closed``.
    """
    features = []
    for link_id, row in link_flows.iterrows():
        if link_id not in network.links.index:
            continue
        flow = _number(row.get("flow_t_per_year")) or 0.0
        status = _text(row.get("status")) or "operating"
        saturated = bool(row.get("saturated", False))
        closed = status == "closed"
        if flow <= min_flow_t and not (closed or saturated):
            continue
        features.append(_feature("LineString", link_coordinates(network, link_id), {
            "feature": "flow", "id": link_id, "mode": _text(row.get("mode")),
            "corridor": _text(row.get("corridor")), "status": status,
            "capacity": _number(row.get("capacity_t_per_year")), "flow": flow,
            "utilisation": _number(row.get("utilisation")),
            "shadow_price": _number(row.get("shadow_price_usd_per_t")),
            "saturated": saturated, "closed": closed}))
    return collection(features)


# -- GeoDataFrames ---------------------------------------------------------------------------

#: Every geometry is WGS84 longitude and latitude.
CRS = "EPSG:4326"


def _geopandas() -> Any:
    try:
        import geopandas
    except ImportError:
        from corridor.errors import InvalidOptionError

        raise InvalidOptionError("GeoDataFrames and GIS files need geopandas: "
                                 "pip install 'corridor[geo]'") from None
    return geopandas


def _frame(table: pd.DataFrame, lines: list[list[list[float]]] | None = None,
           points: tuple[list[float], list[float]] | None = None) -> Any:
    """A GeoDataFrame of ``table`` with one line (coordinates) or point per row."""
    gpd = _geopandas()
    if lines is not None:
        geometry = [shapely.LineString(line if len(line) > 1 else line * 2) for line in lines]
    else:
        assert points is not None
        geometry = shapely.points(points[0], points[1])
    return gpd.GeoDataFrame(table.reset_index(drop=True), geometry=geometry, crs=CRS)


def nodes_frame(network: Network) -> Any:
    """The nodes as a GeoDataFrame of Points (every column of ``node.csv``)."""
    table = network.nodes.reset_index()
    return _frame(table, points=(table["lon"].astype(float).tolist(),
                                 table["lat"].astype(float).tolist()))


def links_frame(network: Network) -> Any:
    """The links as a GeoDataFrame of LineStrings: every column of ``link.csv`` (the WKT
    ``geometry`` column becomes the geometry; other links run straight between their nodes)."""
    table = network.links.drop(columns=["geometry"], errors="ignore").reset_index()
    return _frame(table, lines=[link_coordinates(network, i) for i in network.links.index])


def passages_frame(network: Network) -> Any:
    """The named passages as Points: their ``lon``/``lat``, else the middle of their nodes or
    of their links' ends; with the number of links and nodes that make each."""
    index = network.passage_index()
    table = network.passages.reset_index()
    lons, lats = [], []
    nodes, links = network.nodes, network.links
    for passage, lon, lat in zip(table["passage_id"], table["lon"], table["lat"], strict=True):
        if pd.notna(lon) and pd.notna(lat):
            lons.append(float(lon))
            lats.append(float(lat))
            continue
        places = list(nodes.index[index.node_rows[passage]])
        for row in index.link_rows[passage]:
            places += [links.iloc[row]["from_node_id"], links.iloc[row]["to_node_id"]]
        lons.append(float(nodes.loc[places, "lon"].astype(float).mean()))
        lats.append(float(nodes.loc[places, "lat"].astype(float).mean()))
    table["links"] = [len(index.link_rows[p]) for p in table["passage_id"]]
    table["nodes"] = [len(index.node_rows[p]) for p in table["passage_id"]]
    return _frame(table.drop(columns=["lon", "lat"]), points=(lons, lats))


def route_frame(network: Network, route: Any) -> Any:
    """The legs of a :class:`~corridor.routing.Route` as a GeoDataFrame, in travel order: the
    properties of :func:`route_geojson` (``seq``, ``rank``, the fields of each leg)."""
    features = route_geojson(network, route)["features"]
    table = pd.DataFrame([f["properties"] for f in features]).drop(columns=["feature"])
    return _frame(table, lines=[f["geometry"]["coordinates"] for f in features])


def flows_frame(network: Network, link_flows: pd.DataFrame) -> Any:
    """Link flows (:attr:`~corridor.flow.FlowResult.link_flows`) as a GeoDataFrame of
    LineStrings, one row per link of ``network`` that the table holds."""
    table = link_flows[link_flows.index.isin(network.links.index)]
    return _frame(table.rename_axis("link_id").reset_index(),
                  lines=[link_coordinates(network, i) for i in table.index])


def route_split_frame(network: Network, route_split: pd.DataFrame) -> Any:
    """The routes of an assignment (:attr:`~corridor.flow.FlowResult.route_split`) as a
    GeoDataFrame: one LineString per route along its links, in travel order."""
    lines = []
    for link_ids, nodes in zip(route_split["link_ids"], route_split["nodes"], strict=True):
        path = [n for n in str(nodes).split(";") if n]
        coords: list[list[float]] = []
        for step, link_id in enumerate(str(link_ids).split(";")):
            if not link_id:
                continue
            reverse = network.links.at[link_id, "from_node_id"] != path[step]
            part = link_coordinates(network, link_id, reverse=reverse)
            coords += part[1:] if coords else part
        lines.append(_unwrap([tuple(c) for c in coords]) if coords else [[0.0, 0.0]])
    return _frame(route_split, lines=lines)


# -- basemap ---------------------------------------------------------------------------------


def basemap_path() -> Path:
    """The shipped world-atlas TopoJSON file (copied from npm by ``scripts/web_assets.py``)."""
    return Path(str(resources.files("corridor") / "web" / "basemap" / BASEMAP_FILE))


def _decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    """Absolute coordinates of every arc (quantized, delta-encoded when ``transform`` is set)."""
    transform = topology.get("transform")
    arcs = []
    for arc in topology["arcs"]:
        if transform:
            (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
            x = y = 0
            points = []
            for dx, dy, *_ in arc:
                x += dx
                y += dy
                points.append((x * sx + tx, y * sy + ty))
        else:
            points = [(float(p[0]), float(p[1])) for p in arc]
        arcs.append(points)
    return arcs


def _ring(arcs: list[list[tuple[float, float]]], indexes: list[int]) -> list[list[float]]:
    """Stitch arcs into a ring; a negative index ``~i`` means arc ``i`` reversed."""
    ring: list[tuple[float, float]] = []
    for index in indexes:
        points = arcs[index] if index >= 0 else arcs[~index][::-1]
        ring.extend(points if not ring else points[1:])
    return [[round(x, 4), round(y, 4)] for x, y in ring]


def topojson_features(topology: dict, name: str = "countries") -> list[dict]:
    """Decode one object of a TopoJSON topology into GeoJSON features.

    Implements the TopoJSON specification (https://github.com/topojson/topojson-specification)
    for Polygon and MultiPolygon geometries, which is what ``world-atlas`` holds.
    """
    arcs = _decode_arcs(topology)
    features = []
    for geometry in topology["objects"][name]["geometries"]:
        kind = geometry.get("type")
        if kind == "Polygon":
            coords: Any = [_ring(arcs, ring) for ring in geometry["arcs"]]
        elif kind == "MultiPolygon":
            coords = [[_ring(arcs, ring) for ring in polygon] for polygon in geometry["arcs"]]
        else:
            continue
        features.append({"type": "Feature", "id": geometry.get("id"),
                         "properties": dict(geometry.get("properties") or {}),
                         "geometry": {"type": kind, "coordinates": coords}})
    return features


@functools.lru_cache(maxsize=8)
def _basemap_json(path: str, bbox: tuple[float, float, float, float] | None,
                  tolerance: float) -> str:
    topology = json.loads(Path(path).read_text(encoding="utf-8"))
    features = []
    for feature in topojson_features(topology):
        geom = shape(feature["geometry"])
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
        if bbox is not None:
            geom = shapely.clip_by_rect(geom, *bbox)
        if tolerance > 0:
            geom = geom.simplify(tolerance, preserve_topology=True)
        if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon",
                                                   "GeometryCollection"):
            continue
        if geom.geom_type == "GeometryCollection":
            polys = [g for g in geom.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
            if not polys:
                continue
            geom = shapely.union_all(polys)
        features.append({"type": "Feature", "id": feature["id"],
                         "properties": feature["properties"],
                         "geometry": _rounded(mapping(geom))})
    return json.dumps(collection(features, source="Natural Earth via world-atlas (npm)"),
                      separators=(",", ":"))


def _rounded(geometry: dict) -> dict:
    def walk(value: Any) -> Any:
        if isinstance(value, list | tuple):
            if value and isinstance(value[0], int | float):
                return [round(float(v), 3) for v in value]
            return [walk(v) for v in value]
        return value

    return {"type": geometry["type"], "coordinates": walk(geometry["coordinates"])}


def basemap_geojson(bbox: tuple[float, float, float, float] | None = DEFAULT_BBOX,
                    tolerance: float = 0.05, path: str | Path | None = None) -> dict:
    """Country outlines as GeoJSON, clipped to ``bbox`` and simplified.

    Parameters
    ----------
    bbox
        ``(lon_min, lat_min, lon_max, lat_max)`` to clip to, or None for the whole world.
    tolerance
        Douglas–Peucker tolerance in degrees (0 keeps every vertex).
    path
        A world-atlas TopoJSON file; defaults to the shipped copy.

    Returns
    -------
    dict
        A FeatureCollection of Polygon/MultiPolygon features with ``properties.name``.
        Empty (no features) when the basemap file is missing.
    """
    file = Path(path) if path is not None else basemap_path()
    if not file.is_file():
        return collection([], source="missing")
    return json.loads(_basemap_json(str(file), tuple(bbox) if bbox else None, float(tolerance)))


def bounds(geojson: dict, pad: float = 0.08) -> tuple[float, float, float, float]:
    """Bounding box ``(lon_min, lat_min, lon_max, lat_max)`` of a FeatureCollection, padded."""
    xs: list[float] = []
    ys: list[float] = []

    def walk(value: Any) -> None:
        if value and isinstance(value[0], int | float):
            xs.append(float(value[0]))
            ys.append(float(value[1]))
        else:
            for item in value:
                walk(item)

    for feature in geojson["features"]:
        walk(feature["geometry"]["coordinates"])
    if not xs:
        return DEFAULT_BBOX
    dx = (max(xs) - min(xs)) * pad + 1.0
    dy = (max(ys) - min(ys)) * pad + 1.0
    return (min(xs) - dx, min(ys) - dy, max(xs) + dx, max(ys) + dy)
