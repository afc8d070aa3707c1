"""GeoDataFrames and GIS files: the network, flows and routes for QGIS and geopandas."""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely import wkt
from typer.testing import CliRunner

import corridor
from corridor.cli import app
from corridor.errors import InvalidOptionError
from corridor.flow import assign
from tests.conftest import FIXTURES, TINY

FLOWS = FIXTURES / "flows"

runner = CliRunner()
TINY_ARGS = ["--network", str(TINY / "network"), "--costs", str(TINY / "costs")]


def test_a_route_gives_its_legs_as_a_geodataframe(net: corridor.Network) -> None:
    best = corridor.route(net, "Almaty", "Rotterdam", avoid=["RUS"])[0]
    frame = best.to_geodataframe(net)
    assert frame.crs.to_epsg() == 4326
    assert list(frame["link_id"]) == best.link_ids
    assert list(frame["seq"]) == list(range(1, len(best.legs) + 1))
    # each leg starts where the one before ended, and the first at Almaty
    almaty = net.nodes.loc["almaty", ["lon", "lat"]].astype(float).tolist()
    assert list(frame.geometry.iloc[0].coords[0]) == pytest.approx(almaty, abs=1e-5)
    for before, after in zip(frame.geometry[:-1], frame.geometry[1:], strict=True):
        assert before.coords[-1] == pytest.approx(after.coords[0], abs=1e-5)
    # a sea leg follows its searoute lane
    sea = frame[frame["mode"] == "sea"].iloc[0]
    lane = wkt.loads(net.links.at[sea["link_id"], "geometry"])
    assert len(sea.geometry.coords) == len(lane.coords) > 2


def test_flow_results_give_links_and_routes(tiny: corridor.Network) -> None:
    demand = pd.DataFrame({"origin": ["a", "o"], "destination": ["z", "z"],
                           "commodity": ["container", "crude_oil"],
                           "t_per_year": [1000.0, 5_000_000.0]})
    result = assign(tiny, demand)
    links = result.to_geodataframe()
    assert set(links["link_id"]) == set(tiny.links.index)
    flows = links.set_index("link_id")["flow_t_per_year"]
    assert flows.to_dict() == pytest.approx(result.link_flows["flow_t_per_year"].to_dict())
    routes = result.to_geodataframe("routes")
    assert len(routes) == len(result.route_split)
    # a route's line runs from its origin to its destination
    for row in routes.itertuples():
        start = tiny.nodes.loc[row.origin, ["lon", "lat"]].astype(float).tolist()
        end = tiny.nodes.loc[row.destination, ["lon", "lat"]].astype(float).tolist()
        assert list(row.geometry.coords[0]) == pytest.approx(start)
        assert list(row.geometry.coords[-1]) == pytest.approx(end)
    with pytest.raises(ValueError, match="'links' or 'routes'"):
        result.to_geodataframe("nodes")


def test_export_writes_a_geopackage_with_every_layer(tmp_path: Path) -> None:
    out = tmp_path / "tiny.gpkg"
    done = runner.invoke(app, ["export", str(out), "--scenario", "baseline", "--route",
                               "Alpha:Zulu", "--demand", str(FLOWS / "demand.csv"),
                               *TINY_ARGS])
    assert done.exit_code == 0, done.output
    layers = dict(pyogrio.list_layers(out))
    assert layers == {"nodes": "Point", "links": "LineString", "passages": "Point",
                      "routes_asked": "LineString", "flows": "LineString",
                      "flow_routes": "LineString"}
    links = gpd.read_file(out, layer="links")
    assert links.crs.to_epsg() == 4326 and len(links) == 10
    asked = gpd.read_file(out, layer="routes_asked")
    assert list(asked["link_id"]) == corridor.route(
        corridor.load_network(TINY / "network", TINY / "costs"), "Alpha", "Zulu")[0].link_ids
    assert [p.name for p in tmp_path.iterdir()] == ["tiny.gpkg"]  # no temporary file left


@pytest.mark.parametrize(("fmt", "suffix"), [("geoparquet", ".parquet"),
                                             ("geojson", ".geojson")])
def test_export_writes_one_file_per_layer(tmp_path: Path, fmt: str, suffix: str) -> None:
    done = runner.invoke(app, ["export", str(tmp_path / "out"), "--format", fmt, *TINY_ARGS])
    assert done.exit_code == 0, done.output
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == [f"links{suffix}", f"nodes{suffix}", f"passages{suffix}"]
    read = gpd.read_parquet if fmt == "geoparquet" else gpd.read_file
    nodes = read(tmp_path / "out" / f"nodes{suffix}")
    assert len(nodes) == 8 and set(nodes.geometry.geom_type) == {"Point"}


@pytest.mark.parametrize(
    ("args", "message"),
    [(["out.shp"], "--format gpkg, geoparquet, geojson or gmns"),
     (["out.gpkg", "--format", "kml"], "Unknown format 'kml'"),
     (["out.gpkg", "--route", "Alpha-Zulu"], "ORIGIN:DESTINATION"),
     (["out.gpkg", "--route", "Alpha:Zuul"], "Zulu"),
     (["out.gpkg", "--scenario", "nosuch"], "nosuch")])
def test_export_errors_write_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     args: list[str], message: str) -> None:
    monkeypatch.chdir(tmp_path)
    done = runner.invoke(app, ["export", *args, *TINY_ARGS])
    assert done.exit_code != 0 and message in done.output, done.output
    assert "Traceback" not in done.output
    assert list(tmp_path.iterdir()) == []


def test_export_never_replaces_an_input(tiny_copy: Path) -> None:
    target = tiny_copy / "network" / "link.csv"
    before = target.read_bytes()
    done = runner.invoke(app, ["export", str(target), "--format", "gpkg", "--network",
                               str(tiny_copy / "network"), "--costs", str(tiny_copy / "costs")])
    assert done.exit_code != 0 and "input" in done.output
    assert target.read_bytes() == before


def test_without_geopandas_the_message_says_what_to_install(
        tiny: corridor.Network, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "geopandas", None)
    with pytest.raises(InvalidOptionError, match=r"pip install 'corridor\[geo\]'"):
        corridor.route(tiny, "Alpha", "Zulu")[0].to_geodataframe(tiny)


def test_export_takes_every_gis_format_the_writer_knows() -> None:
    from corridor.cli.export import FORMATS
    from corridor.outputs import GIS_FORMATS

    assert set(FORMATS) == set(GIS_FORMATS) | {"gmns"}
