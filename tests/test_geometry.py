"""GeoJSON of the network, routes and flows; the TopoJSON basemap decoder."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import corridor
from corridor.geometry import (
    basemap_geojson,
    basemap_path,
    bounds,
    flows_geojson,
    link_coordinates,
    network_geojson,
    route_geojson,
    topojson_features,
)
from tests.conftest import TINY


def test_network_geojson_has_nodes_and_links_with_properties(tiny: corridor.Network) -> None:
    data = tiny.to_geojson()
    assert data["type"] == "FeatureCollection"
    kinds = [f["properties"]["feature"] for f in data["features"]]
    assert kinds.count("node") == len(tiny.nodes) and kinds.count("link") == len(tiny.links)
    link = next(f for f in data["features"] if f["properties"].get("id") == "pq")
    assert link["geometry"]["type"] == "LineString"
    for key in ("id", "mode", "corridor", "capacity", "status"):
        assert key in link["properties"]
    assert link["properties"]["mode"] == "ferry" and link["properties"]["status"] == "operating"
    node = next(f for f in data["features"] if f["properties"].get("id") == "a")
    assert node["geometry"] == {"type": "Point", "coordinates": [70.0, 45.0]}
    json.dumps(data, allow_nan=False)  # valid JSON, no NaN


def test_sea_leg_follows_its_wkt_geometry(tiny_copy) -> None:
    links = pd.read_csv(tiny_copy / "network" / "link.csv", dtype=str, keep_default_na=False)
    links["geometry"] = ""
    # drawn from z to q on purpose: the line must be turned to start at the link's from node
    links.loc[links["link_id"] == "qz", "geometry"] = \
        "LINESTRING (5 52, -5 45, 10 37, 30 33, 50 40)"
    links.to_csv(tiny_copy / "network" / "link.csv", index=False)
    net = corridor.load_network(tiny_copy / "network", tiny_copy / "costs")
    coords = link_coordinates(net, "qz")
    assert coords[0] == [50.0, 40.0] and coords[-1] == [5.0, 52.0] and len(coords) == 5
    assert link_coordinates(net, "qz", reverse=True)[0] == [5.0, 52.0]
    feature = next(f for f in network_geojson(net)["features"]
                   if f["properties"].get("id") == "qz")
    assert len(feature["geometry"]["coordinates"]) == 5
    # a plain link is a straight segment between its nodes
    assert link_coordinates(net, "ab") == [[70.0, 45.0], [60.0, 50.0]]


def test_route_geojson_legs_run_in_travel_order(tiny: corridor.Network) -> None:
    best = corridor.route(tiny, "Zulu", "Alpha")[0]
    data = route_geojson(tiny, best)
    assert [f["properties"]["seq"] for f in data["features"]] == list(
        range(1, len(best.legs) + 1))
    first, last = data["features"][0], data["features"][-1]
    assert first["geometry"]["coordinates"][0] == [5.0, 52.0]  # starts at Zulu
    assert last["geometry"]["coordinates"][-1] == [70.0, 45.0]  # ends at Alpha
    assert first["properties"]["from_name"] == "Zulu"


def test_flows_geojson_keeps_used_closed_and_saturated_links(tiny: corridor.Network) -> None:
    flows = pd.DataFrame({
        "mode": ["rail", "oil_pipeline", "ferry", "sea"],
        "corridor": ["North", "Pipe", "Middle", "Middle"],
        "status": ["operating", "closed", "operating", "operating"],
        "capacity_t_per_year": [None, None, 1e5, None],
        "flow_t_per_year": [2e6, 0.0, 1e5, 0.0],
        "utilisation": [None, None, 1.0, None],
        "shadow_price_usd_per_t": [0.0, 0.0, 12.5, 0.0],
        "saturated": [False, False, True, False],
    }, index=pd.Index(["ab", "ob", "pq", "qz"], name="link_id"))
    data = flows_geojson(tiny, flows)
    ids = {f["properties"]["id"]: f["properties"] for f in data["features"]}
    assert set(ids) == {"ab", "ob", "pq"}  # qz carries nothing and is open
    assert ids["ob"]["closed"] and ids["pq"]["saturated"] and ids["ab"]["flow"] == 2e6
    assert ids["ab"]["capacity"] is None
    json.dumps(data, allow_nan=False)


def test_topojson_decoder_handles_quantized_delta_arcs_and_reversed_arcs() -> None:
    topology = {
        "type": "Topology",
        "transform": {"scale": [0.5, 0.5], "translate": [10, 20]},
        "arcs": [[[0, 0], [2, 0], [0, 2]], [[2, 2], [-2, 0], [0, -2]]],
        "objects": {"countries": {"type": "GeometryCollection", "geometries": [
            {"type": "Polygon", "arcs": [[0, 1]], "id": "1", "properties": {"name": "Square"}},
            {"type": "MultiPolygon", "arcs": [[[~1, ~0]]], "id": "2",
             "properties": {"name": "Reversed"}},
        ]}},
    }
    square, reverse = topojson_features(topology)
    ring = square["geometry"]["coordinates"][0]
    assert ring == [[10, 20], [11, 20], [11, 21], [10, 21], [10, 20]]
    assert square["properties"]["name"] == "Square"
    back = reverse["geometry"]["coordinates"][0][0]
    assert back[0] == [10, 20] and back[-1] == [10, 20] and back[1] == [10, 21]


@pytest.mark.skipif(not basemap_path().is_file(), reason="basemap not generated")
def test_shipped_basemap_decodes_and_clips() -> None:
    world = basemap_geojson(bbox=None, tolerance=0.0)
    names = {f["properties"].get("name") for f in world["features"]}
    assert {"Kazakhstan", "Japan", "Azerbaijan", "Russia"} <= names
    region = basemap_geojson(bbox=(40.0, 35.0, 90.0, 56.0))
    west, south, east, north = bounds(region, pad=0)
    assert west >= 38.5 and east <= 91.5 and south >= 33.5 and north <= 57.5
    assert "Brazil" not in {f["properties"].get("name") for f in region["features"]}
    json.dumps(region, allow_nan=False)


def test_missing_basemap_gives_empty_collection(tmp_path) -> None:
    data = basemap_geojson(path=tmp_path / "none.json")
    assert data["features"] == []


def test_lines_crossing_the_antimeridian_are_unwrapped(tiny_copy) -> None:
    nodes = pd.read_csv(tiny_copy / "network" / "node.csv", dtype=str, keep_default_na=False)
    nodes.loc[nodes["node_id"] == "z", "lon"] = "-170"
    nodes.loc[nodes["node_id"] == "q", "lon"] = "175"
    nodes.to_csv(tiny_copy / "network" / "node.csv", index=False)
    net = corridor.load_network(TINY / "network", TINY / "costs")
    assert link_coordinates(net, "qz")[0][0] == 50.0  # the original is untouched
    moved = corridor.load_network(tiny_copy / "network", tiny_copy / "costs")
    (x0, _), (x1, _) = link_coordinates(moved, "qz")
    assert abs(x1 - x0) < 180
