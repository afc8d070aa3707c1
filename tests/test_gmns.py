"""GMNS in and out: the shipped network round-trips without loss, and a real GMNS example
loads, routes and round-trips."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from shapely import wkt
from typer.testing import CliRunner

import corridor
from corridor.cli import app
from corridor.errors import CorridorWarning, DataError
from corridor.gmns import GMNS_VERSION, is_gmns, write_gmns
from tests.conftest import FIXTURES

FREEWAY = FIXTURES / "gmns" / "freeway_interchange"
MILE_KM = 1.609344
runner = CliRunner()


def _same(a: corridor.Network, b: corridor.Network) -> None:
    for table in ("nodes", "links", "terminals", "contracts", "storage", "passages",
                  "place_names"):
        left, right = getattr(a, table), getattr(b, table)
        assert set(left.columns) == set(right.columns), table
        pd.testing.assert_frame_equal(left, right[left.columns], check_dtype=False,
                                      obj=table)


def test_the_shipped_network_round_trips_through_gmns(net: corridor.Network,
                                                      tmp_path: Path) -> None:
    write_gmns(net, tmp_path / "gmns")
    node = pd.read_csv(tmp_path / "gmns" / "node.csv", dtype=str)
    link = pd.read_csv(tmp_path / "gmns" / "link.csv", dtype=str, keep_default_na=False)
    config = pd.read_csv(tmp_path / "gmns" / "config.csv", dtype=str).iloc[0]
    assert list(node.columns[:4]) == ["node_id", "name", "x_coord", "y_coord"]
    assert {"length", "allowed_uses", "directed", "geometry"} <= set(link.columns)
    assert "lon" not in node.columns and "length_km" not in link.columns
    assert (config["long_length"], config["crs"], config["version_number"]) == (
        "km", "EPSG:4326", GMNS_VERSION)
    back = corridor.load_network(tmp_path / "gmns")
    assert is_gmns(tmp_path / "gmns") and back.path == tmp_path / "gmns"
    _same(net, back)
    a = corridor.route(net, "Almaty", "Rotterdam", avoid=["RUS"])[0]
    b = corridor.route(back, "Almaty", "Rotterdam", avoid=["RUS"])[0]
    assert (a.link_ids, a.cost_usd_per_t, a.passages) == (b.link_ids, b.cost_usd_per_t,
                                                         b.passages)


def test_a_real_gmns_example_loads_in_its_own_units() -> None:
    with pytest.warns(CorridorWarning, match="'mile' are 5.2.e\\+03 times the straight"):
        net = corridor.load_network(FREEWAY)
    source_nodes = pd.read_csv(FREEWAY / "node.csv", dtype={"node_id": str})
    source_links = pd.read_csv(FREEWAY / "link.csv", dtype={"link_id": str, "from_node_id": str,
                                                            "to_node_id": str,
                                                            "geometry_id": str})
    assert list(net.nodes.index) == list(source_nodes["node_id"])
    assert net.nodes["lon"].tolist() == pytest.approx(source_nodes["x_coord"].tolist())
    assert net.nodes["lat"].tolist() == pytest.approx(source_nodes["y_coord"].tolist())
    assert set(net.nodes["country"]) == {"USA"}  # near Boston, from the country outlines
    assert (net.nodes["estimated"] == "country").all()
    assert list(net.links.index) == list(source_links["link_id"])
    assert (net.links["from_node_id"] == source_links["from_node_id"].to_numpy()).all()
    assert net.links["directed"].all() and set(net.links["mode"]) == {"road"}
    assert net.links["length_km"].tolist() == pytest.approx(
        (source_links["length"] * MILE_KM).tolist())
    geometry = pd.read_csv(FREEWAY / "geometry.csv", dtype=str).set_index("geometry_id")
    first = source_links.iloc[0]
    assert wkt.loads(net.links.at[first["link_id"], "geometry"]).equals(
        wkt.loads(geometry.at[first["geometry_id"], "geometry"]))
    assert net.links.at["578608", "facility_type"] == "freeway"  # GMNS fields stay
    best = corridor.route(net, "4", "1")[0]
    assert best.link_ids[0] == "578761" and best.legs[-1].to_id == "1"


def test_a_real_gmns_example_round_trips(tmp_path: Path) -> None:
    with pytest.warns(CorridorWarning):
        first = corridor.load_network(FREEWAY)
    write_gmns(first, tmp_path / "again")
    with pytest.warns(CorridorWarning, match="'km' are 5.2.e\\+03 times"):
        second = corridor.load_network(tmp_path / "again")  # the same lengths, now in km
    _same(first, second)
    written = pd.read_csv(tmp_path / "again" / "link.csv", dtype={"link_id": str})
    source = pd.read_csv(FREEWAY / "link.csv", dtype={"link_id": str})
    assert written["length"].tolist() == pytest.approx((source["length"] * MILE_KM).tolist())
    assert written["allowed_uses"].eq("road").all()


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "gmns"
    shutil.copytree(FREEWAY, folder)
    return folder


@pytest.mark.parametrize(
    ("file", "old", "new", "row", "field", "message"),
    [("config.csv", ",4326,", ",32619,", None, "crs", "not supported"),
     ("config.csv", ",mile,", ",furlong,", None, "long_length", "unknown length unit"),
     ("link.csv", ",auto,", ",tram,", 1, "allowed_uses", "no Corridor mode"),
     ("link.csv", ",2193.040865,", ",long,", 1, "length", "is not a number"),
     ("node.csv", "1,,-71.22271369", "1,,-271.22271369", 1, "x_coord", "-180"),
     ("link.csv", "578653,US3 NB,5,1", "578653,US3 NB,5,99", 1, "to_node_id",
      "unknown node id '99'")])
def test_gmns_faults_name_the_gmns_file_row_and_field(tmp_path: Path, file: str, old: str,
                                                      new: str, row: int | None, field: str,
                                                      message: str) -> None:
    folder = _copy(tmp_path)
    text = (folder / file).read_text(encoding="utf-8")
    assert old in text
    (folder / file).write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(DataError, match=message) as err:
        corridor.load_network(folder)
    assert (Path(err.value.file), err.value.row, err.value.field) == (folder / file, row, field)


def test_cli_exports_gmns_and_routes_on_it(tmp_path: Path) -> None:
    done = runner.invoke(app, ["export", str(tmp_path / "g"), "--format", "gmns"])
    assert done.exit_code == 0, done.output
    routed = runner.invoke(app, ["route", "Aktau", "Baku", "--network", str(tmp_path / "g")])
    assert routed.exit_code == 0 and "Alat" in routed.output
    both = runner.invoke(app, ["export", str(tmp_path / "h"), "--format", "gmns",
                               "--scenario", "cpc-outage"])
    assert both.exit_code == 2 and "network only" in both.output
    assert not (tmp_path / "h").exists()
