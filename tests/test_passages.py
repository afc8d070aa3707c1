"""Named passages: which straits, crossings and border posts a route or a flow uses, and
routing around them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import searoute
from fastapi.testclient import TestClient
from shapely import wkt
from typer.testing import CliRunner

import corridor
from corridor.cli import app
from corridor.errors import DataError, InvalidOptionError, NoRouteError
from corridor.flow import assign
from corridor.metrics import dependency
from corridor.scenario import apply_scenario
from tests.conftest import TINY

runner = CliRunner()
TINY_ARGS = ["--network", str(TINY / "network"), "--costs", str(TINY / "costs")]
#: searoute's names for the straits that both it and passages.csv know
MARNET = {"suez": "suez", "babalmandab": "bab_el_mandeb", "ormuz": "hormuz",
          "malacca": "malacca", "gibraltar": "gibraltar"}


def _lanes(net: corridor.Network) -> pd.DataFrame:
    return net.links[net.links["geometry"].fillna("").str.startswith("LINESTRING")]


def test_gates_agree_with_searoute_on_every_shipped_lane(net: corridor.Network) -> None:
    index = net.passage_index()
    nodes = net.nodes
    lanes = _lanes(net)
    checked = 0
    for position, (link_id, row) in enumerate(net.links.iterrows()):
        if link_id not in lanes.index or row["mode"] != "sea":
            continue
        a, b = nodes.loc[row["from_node_id"]], nodes.loc[row["to_node_id"]]
        restrictions = ["northwest"]
        if row["length_method"] == "searoute_avoiding_suez":
            restrictions += ["suez", "babalmandab"]
        lane = searoute.searoute([a["lon"], a["lat"]], [b["lon"], b["lat"]], units="km",
                                 restrictions=restrictions, return_passages=True)
        theirs = {MARNET[p] for p in lane["properties"]["traversed_passages"] if p in MARNET}
        ours = {p for p in MARNET.values() if position in index.link_rows[p]}
        assert ours == theirs, link_id
        checked += 1
    assert checked > 150


def test_the_turkish_straits_are_told_apart(net: corridor.Network) -> None:
    index = net.passage_index()

    def straits(link_id: str) -> set[str]:
        row = net.links.index.get_loc(link_id)
        return {p for p in ("bosporus", "dardanelles") if row in index.link_rows[p]}

    # the Black Sea has one way out; Istanbul lies between the two straits
    assert straits("sea_rotterdam_port_constanta_port") == {"bosporus", "dardanelles"}
    assert straits("sea_istanbul_port_constanta_port") == {"bosporus"}
    assert straits("sea_istanbul_port_trieste_port") == {"dardanelles"}
    assert straits("sea_poti_port_constanta_port") == set()


def test_a_route_lists_its_passages_in_travel_order(net: corridor.Network) -> None:
    east = corridor.route(net, "Shanghai", "Rotterdam", avoid_modes=["rail", "road"])[0]
    assert east.passages == ("malacca", "bab_el_mandeb", "suez", "gibraltar")
    west = corridor.route(net, "Rotterdam", "Shanghai", avoid_modes=["rail", "road"])[0]
    assert west.passages == tuple(reversed(east.passages))
    crude = corridor.route(net, "Tengiz", "Rotterdam", commodity="crude_oil")[0]
    assert crude.passages[:2] == ("bosporus", "dardanelles")
    china = corridor.route(net, "Xi'an", "Almaty")[0]
    assert {"dostyk_alashankou", "altynkol_khorgos"} & set(china.passages)


def test_avoiding_suez_sails_round_the_cape(net: corridor.Network) -> None:
    suez = corridor.route(net, "Shanghai", "Rotterdam", avoid_modes=["rail", "road"])[0]
    cape = corridor.route(net, "Shanghai", "Rotterdam", avoid_modes=["rail", "road"],
                          avoid_passages=["suez"])[0]
    assert "suez" not in cape.passages and "bab_el_mandeb" not in cape.passages
    assert [leg.link_id for leg in cape.legs] == ["sea_shanghai_port_rotterdam_port_via_cape"]
    # Notteboom et al.: the Cape adds 7 to 14 days between Shanghai and Rotterdam
    assert 7 <= cape.days - suez.days <= 14
    assert cape.cost_usd_per_t > suez.cost_usd_per_t


def test_avoiding_a_border_post_takes_another(net: corridor.Network) -> None:
    best = corridor.route(net, "Urumqi", "Almaty")[0]
    post = next(p for p in best.passages if p in ("dostyk_alashankou", "altynkol_khorgos"))
    other = corridor.route(net, "Urumqi", "Almaty", avoid_passages=[post])[0]
    assert post not in other.passages
    assert {"dostyk_alashankou", "altynkol_khorgos"} - {post} <= set(other.passages)


def test_passage_errors_say_what_to_do(net: corridor.Network,
                                       tiny: corridor.Network) -> None:
    with pytest.raises(InvalidOptionError, match="Did you mean bosporus"):
        corridor.route(net, "Almaty", "Rotterdam", avoid_passages=["bosphorus"])
    with pytest.raises(NoRouteError, match="origin Dostyk is part of Dostyk gauge change") as err:
        corridor.route(net, "Dostyk", "Almaty", avoid_passages=["gauge_dostyk"])
    assert err.value.constraint == "avoid-passage"
    with pytest.raises(NoRouteError, match="avoids Charlie–Delta: every connection") as err:
        corridor.route(tiny, "Alpha", "Zulu", avoid_modes=["sea", "ferry"],
                       avoid_passages=["brest_post"])
    assert err.value.constraint == "avoid-passage"
    with pytest.raises(NoRouteError, match="avoids all of Charlie–Delta, The Narrows, "
                                           "Caspian crossing at once"):
        corridor.route(tiny, "Alpha", "Zulu", avoid_passages=["brest_post", "narrows",
                                                              "caspian"])


def test_flows_and_dependency_count_passages(tiny: corridor.Network) -> None:
    demand = pd.DataFrame({"origin": ["a", "a"], "destination": ["z", "z"],
                           "commodity": ["container", "container"],
                           "t_per_year": [1000.0, 3000.0], "avoid_countries": ["POL", ""]})
    result = assign(tiny, demand)
    split = result.route_split.set_index("avoid_countries")
    assert split.at["POL", "passages"] == "narrows"  # by sea from Bravo
    assert split.at["", "passages"] == "gauge_c;brest_post"  # by rail through Charlie
    dep = dependency(result)
    assert dep.share("KAZ", "passage", "narrows") == pytest.approx(25.0)
    assert dep.share("KAZ", "passage", "brest_post") == pytest.approx(75.0)
    hhi = dep.hhi.set_index(["exporter", "dimension"]).at[("KAZ", "passage"), "hhi"]
    # tonne-uses: narrows 1000, gauge_c 3000, brest_post 3000 of 7000
    assert hhi == pytest.approx(sum((100 * t / 7000) ** 2 for t in (1000, 3000, 3000)))


def test_a_scenario_closes_a_passage(tiny: corridor.Network, tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[[close]]\npassage = ["narrows", "gauge_c"]\nassumption = "x"\n',
                    encoding="utf-8")
    demand = pd.DataFrame({"origin": ["a"], "destination": ["z"], "commodity": ["container"],
                           "t_per_year": [1000.0]})
    network, _ = apply_scenario(tiny, path, demand)
    closed = set(network.links.index[network.links["status"] == "closed"])
    assert closed == {"bz", "bc", "cd"}  # the strait's lane and both lines into Charlie
    assert list(network.passages.index) == list(tiny.passages.index)
    path.write_text('[[close]]\npassage = "narows"\nassumption = "x"\n', encoding="utf-8")
    with pytest.raises(DataError, match="did you mean 'narrows'") as err:
        apply_scenario(tiny, path, demand)
    assert err.value.field == "close[1].passage"


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        ("x,X,strait,nolink,,,,,hand,,,", "link_ids", "unknown link id 'nolink'"),
        ("x,X,strait,,nonode,,,,hand,,,", "node_ids", "unknown node id 'nonode'"),
        ("x,X,strait,,,,,,hand,,,", "link_ids", "needs link_ids, node_ids or a gate"),
        ("x,X,lake,bz,,,,,hand,,,", "kind", "'lake' is not one of"),
        ('x,X,strait,,,"LINESTRING (1 2",,,hand,,,', "gate", "not valid WKT"),
        ('x,X,strait,,,"POINT (1 2)",,,hand,,,', "gate", "must be a WKT LINESTRING"),
        ('x,X,strait,,,"LINESTRING (1 2, 200 3)",,,hand,,,', "gate", "not a longitude"),
        ("narrows,X,strait,bz,,,,,hand,,,", "passage_id", "duplicate id 'narrows'"),
        ("x,X,strait,bz,,,,,nosource,,,", "source_id", "unknown source id 'nosource'"),
    ])
def test_malformed_passages_name_row_and_field(tiny_copy: Path, row: str, field: str,
                                               message: str) -> None:
    path = tiny_copy / "network" / "passages.csv"
    shutil.copy(TINY / "network" / "passages.csv", path)
    path.write_text(path.read_text(encoding="utf-8") + row + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=message) as err:
        corridor.load_network(tiny_copy / "network", tiny_copy / "costs")
    assert err.value.field == field and err.value.row == 5
    assert err.value.file.endswith("passages.csv")


def test_a_gate_crosses_a_drawn_lane(tiny_copy: Path) -> None:
    links = tiny_copy / "network" / "link.csv"
    table = pd.read_csv(links, dtype=str, keep_default_na=False)
    table["geometry"] = ""
    table.loc[table["link_id"] == "qz", "geometry"] = "LINESTRING (50 40, 30 45, 5 52)"
    table.to_csv(links, index=False)
    (tiny_copy / "network" / "passages.csv").write_text(
        "passage_id,name,kind,link_ids,node_ids,gate,lon,lat,source_id,estimated,"
        "estimate_method,notes\n"
        'mid,Mid strait,strait,,,"LINESTRING (30 40, 30 50)",30,45,hand,,,\n',
        encoding="utf-8")
    net = corridor.load_network(tiny_copy / "network", tiny_copy / "costs")
    assert net.passage_index().link_rows["mid"].tolist() == [net.links.index.get_loc("qz")]
    assert wkt.loads(net.links.at["qz", "geometry"]).intersects(
        wkt.loads(net.passages.at["mid", "gate"]))
    best = corridor.route(net, "Port East", "Zulu", avoid_modes=["rail"])[0]
    assert "mid" in best.passages


def test_cli_lists_passages_and_avoids_them() -> None:
    listed = runner.invoke(app, ["passages", "--json", *TINY_ARGS])
    assert listed.exit_code == 0, listed.output
    assert {p["passage_id"] for p in json.loads(listed.stdout)} == {
        "narrows", "caspian", "brest_post", "gauge_c"}
    table = runner.invoke(app, ["route", "Alpha", "Zulu", *TINY_ARGS])
    assert "passes: The Narrows" in table.output
    around = runner.invoke(app, ["route", "Alpha", "Zulu", "--avoid-passage", "narrows",
                                 "--json", *TINY_ARGS])
    assert around.exit_code == 0, around.output
    assert json.loads(around.stdout)["routes"][0]["passages"] == ["caspian"]
    wrong = runner.invoke(app, ["route", "Alpha", "Zulu", "--avoid-passage", "narows",
                                *TINY_ARGS])
    assert wrong.exit_code == 2 and "Did you mean narrows" in wrong.output
    kind = runner.invoke(app, ["passages", "--kind", "lake", *TINY_ARGS])
    assert kind.exit_code == 2 and "strait, canal" in kind.output


def test_api_lists_passages_and_avoids_them(tiny: corridor.Network) -> None:
    from corridor.service import create_app

    client = TestClient(create_app(tiny))
    listed = client.get("/api/passages").json()["passages"]
    assert {p["kind"] for p in listed} == {"strait", "sea_crossing", "border_post",
                                           "gauge_change"}
    body = client.get("/api/route", params={"origin": "Alpha", "destination": "Zulu",
                                            "avoid_passages": "narrows,caspian"}).json()
    assert body["routes"][0]["passages"] == ["gauge_c", "brest_post"]
    assert body["routes"][0]["passage_names"] == ["Charlie gauge change", "Charlie–Delta"]
    wrong = client.get("/api/route", params={"origin": "Alpha", "destination": "Zulu",
                                             "avoid_passages": "narows"})
    assert wrong.status_code == 422 and "narrows" in wrong.json()["message"]
