"""Scenarios: schema checks with file and key in every error, application to copies."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
import pytest

import corridor
from corridor.demand import load_demand
from corridor.errors import DataError
from corridor.flow import assign
from corridor.scenario import (
    Scenario,
    apply_scenario,
    list_scenarios,
    load_scenario,
    parse_scenario,
    scenario_folder,
)
from tests.conftest import FIXTURES

FLOWS = FIXTURES / "flows"
BUILT_INS = {"baseline", "cpc-outage", "cpc-outage-partial", "bypass-russia",
             "caspian-expansion", "middle-corridor-target"}


@pytest.fixture(scope="module")
def demand(tiny) -> pd.DataFrame:
    return load_demand(FLOWS / "demand.csv", tiny)


def _toml(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_built_ins_are_listed_with_their_assumptions() -> None:
    scenarios = {s.name: s for s in list_scenarios()}
    assert set(scenarios) >= BUILT_INS
    for name, scenario in scenarios.items():
        assert scenario.title and scenario.description, name
        for action in scenario.all_actions():
            assert action.assumption and action.source, f"{name} {action.key}"
    assert scenarios["middle-corridor-target"].inherits == "caspian-expansion"
    assert scenarios["cpc-outage"].inherits == "baseline"


def test_every_built_in_applies_to_the_shipped_network(net) -> None:
    """Catches link, node or corridor ids that drifted away from link.csv."""
    demand = pd.DataFrame(columns=["origin", "destination", "commodity", "t_per_year"])
    for scenario in list_scenarios():
        network, _ = apply_scenario(net, scenario, demand)
        assert len(network.links) >= len(net.links)


def test_capacity_in_tonnes_and_teu(net) -> None:
    empty = pd.DataFrame(columns=["origin", "destination", "commodity", "t_per_year"])
    scaled = parse_scenario({"name": "half", "scale_capacity": [
        {"link": ["ferry_van_tatvan", "rail_tbilisi_poti_port"], "factor": 0.5,
         "assumption": "half"}]})
    network, _ = apply_scenario(net, scaled, empty)
    before, after = net.links, network.links
    assert after.at["ferry_van_tatvan", "capacity_t_per_year"] == pytest.approx(
        before.at["ferry_van_tatvan", "capacity_t_per_year"] / 2)
    for link in ("ferry_van_tatvan", "rail_tbilisi_poti_port"):
        assert after.at[link, "capacity_teu_per_year"] == pytest.approx(
            before.at[link, "capacity_teu_per_year"] / 2)
    assert pd.isna(after.at["rail_tbilisi_poti_port", "capacity_t_per_year"])
    alat = "transfer_alat_station_alat_port"
    built, _ = apply_scenario(net, parse_scenario({"name": "teu", "scale_capacity": [
        {"link": alat, "capacity_teu_per_year": 5e5, "assumption": "phase 2"}]}), empty)
    assert built.links.at[alat, "capacity_teu_per_year"] == 5e5
    assert built.links.at[alat, "capacity_t_per_year"] == net.links.at[alat,
                                                                       "capacity_t_per_year"]
    with pytest.raises(DataError, match="either factor or a capacity"):
        parse_scenario({"name": "both", "scale_capacity": [
            {"link": alat, "factor": 2, "capacity_teu_per_year": 5e5, "assumption": "x"}]})


def test_cpc_scenarios_touch_the_cpc(net) -> None:
    empty = pd.DataFrame(columns=["origin", "destination", "commodity", "t_per_year"])
    cpc = net.links["corridor"].fillna("").str.split(";").map(lambda tags: "CPC" in tags)
    assert cpc.sum() >= 2
    full, _ = apply_scenario(net, "cpc-outage", empty)
    assert (full.links.loc[cpc, "status"] == "closed").all()
    partial, _ = apply_scenario(net, "cpc-outage-partial", empty)
    assert list(partial.links.loc[cpc, "capacity_t_per_year"]) == pytest.approx(
        list(net.links.loc[cpc, "capacity_t_per_year"] * 0.55))
    russia, _ = apply_scenario(net, "bypass-russia", empty)
    open_links = russia.links[russia.links["status"] == "operating"]
    countries = open_links["from_node_id"].map(net.nodes["country"]) + ";" + \
        open_links["to_node_id"].map(net.nodes["country"]) + ";" + open_links["country"]
    assert not countries.str.contains("RUS").any()


def test_apply_returns_modified_copies(tiny, demand) -> None:
    links, nodes, frame = tiny.links.copy(), tiny.nodes.copy(), demand.copy()
    network, table = apply_scenario(tiny, FLOWS / "scenarios" / "child.toml", demand)
    pd.testing.assert_frame_equal(tiny.links, links)
    pd.testing.assert_frame_equal(tiny.nodes, nodes)
    pd.testing.assert_frame_equal(demand, frame)
    assert network is not tiny and network.links is not tiny.links
    # inherited close, added link, capacity set, cost factor, demand scaled and added
    assert network.links.loc["ob", "status"] == "closed"
    assert network.links.loc["pq2", "investment_usd"] == 1.2e8
    assert network.links.loc["pq2", "mode"] == "ferry"
    assert network.links.loc["pq", "capacity_t_per_year"] == 1e5
    assert network.links.loc["ab", "cost_factor"] == 1.5
    assert network.links.loc["ap", "cost_factor"] == 1.0
    assert table["t_per_year"].sum() == pytest.approx(2e6 + 5e6 + 0.4e6 + 0.1e6)
    assert "hand_scenario" in network.sources.index
    assert network.resolve("Alfa") == "a"


def test_cost_factor_changes_the_assignment(tiny, demand, tmp_path: Path) -> None:

    path = _toml(tmp_path, """
[[multiply_cost]]
corridor = "North"
factor = 1.5
assumption = "risk premium"
""")
    base = assign(tiny, demand).od.set_index("destination")
    dearer = assign(tiny, demand, load_scenario(path)).od.set_index("destination")
    # a->z container: the rail tariff (150.5 USD/t) and the 4 border charges (5 each) sit on
    # North links and scale x1.5; the gauge change at c (20) is a transfer and does not:
    # 170.5 x 1.5 + 20 = 275.75
    assert base.loc["z"].query("commodity == 'container'")["cost_usd_per_t"].iloc[0] == \
        pytest.approx(190.5)
    assert dearer.loc["z"].query("commodity == 'container'")["cost_usd_per_t"].iloc[0] == \
        pytest.approx(275.75)


def test_close_country_closes_every_link_touching_it(tiny, demand, tmp_path: Path) -> None:
    path = _toml(tmp_path, """
[[close]]
country = "RUS"
assumption = "no transit"
""")
    network, _ = apply_scenario(tiny, path, demand)
    closed = set(network.links.index[network.links["status"] == "closed"])
    assert closed == {"ab", "bc", "ob", "bz"}


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ('titel = "x"', "titel", "did you mean 'title'"),
        ('[[clsoe]]\nlink = "ab"\nassumption = "x"', "clsoe", "did you mean 'close'"),
        ('[[close]]\nlnk = "ab"\nassumption = "x"', "close[1].lnk", "did you mean 'link'"),
        ('[[close]]\nlink = "ab"', "close[1].assumption", "needs an 'assumption'"),
        ('[[close]]\nlink = "ab"\nnode = "a"\nassumption = "x"', "close[1]", "exactly one"),
        ('[[scale_capacity]]\nlink = "ab"\nfactor = -2\nassumption = "x"',
         "scale_capacity[1].factor", "-2 is outside the allowed range 0 to 1000"),
        ('[[multiply_cost]]\nmode = "rail"\nfactor = "double"\nassumption = "x"',
         "multiply_cost[1].factor", "'double' is not a number"),
        ('[[multiply_cost]]\nmode = "rail"\nfactor = 0\nassumption = "x"',
         "multiply_cost[1].factor", "0 is outside the allowed range > 0 to 1000"),
        ('[[scale_capacity]]\nlink = "ab"\nassumption = "x"', "scale_capacity[1]",
         "either factor or a capacity to set"),
        ('[[demand]]\nfactor = 2\nt_per_year = 5\nassumption = "x"', "demand[1]",
         "either factor"),
        ('[[add_link]]\nlink_id = "n"\nfrom_node_id = "a"\nto_node_id = "q"\ndirected = 0\n'
         'mode = "rail"\nlength_km = 10\nsource_id = "hand"\nassumption = "x"',
         "add_link[1].gauge_mm", "rail links need gauge_mm"),
        ('[[add_link]]\nlink_id = "n"\nfrom_node_id = "a"\nto_node_id = "q"\ndirected = 0\n'
         'mode = "hovercraft"\nlength_km = 10\nsource_id = "hand"\nassumption = "x"',
         "add_link[1].mode", "not one of"),
        ('year = "soon"', "year", "must be a year"),
        ("close = 3", "close", "array of tables"),
    ],
)
def test_schema_errors_name_file_and_key(tmp_path: Path, text: str, key: str,
                                         message: str) -> None:
    path = _toml(tmp_path, text)
    with pytest.raises(DataError) as info:
        load_scenario(path)
    assert info.value.file == str(path)
    assert info.value.field == key
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ('[[close]]\nlink = "abx"\nassumption = "x"', "close[1].link",
         "unknown link id 'abx'; did you mean 'ab'"),
        ('[[close]]\nnode = "alpha"\nassumption = "x"', "close[1].node", "unknown node id"),
        ('[[close]]\ncorridor = "north"\nassumption = "x"', "close[1].corridor",
         "did you mean 'North'"),
        ('[[close]]\ncountry = "RUSSIA"\nassumption = "x"', "close[1].country",
         "not an ISO 3166"),
        ('[[close]]\ncountry = "CHN"\nassumption = "x"', "close[1].country", "matches no link"),
        ('[[scale_capacity]]\nlink = "ab"\nfactor = 2\nassumption = "x"',
         "scale_capacity[1].factor", "have no capacity"),
        ('[[demand]]\norigin = "a"\ndestination = "zz"\ncommodity = "container"\n'
         't_per_year = 5\nassumption = "x"', "demand[1].destination", "unknown node id 'zz'"),
        ('[[demand]]\nfactor = 2\ncommodity = "tea"\nassumption = "x"', "demand[1]",
         "match no demand row"),
        ('[[demand]]\norigin = "o"\ndestination = "z"\ncommodity = "crude_oil"\n'
         't_per_year = 5\nallowed_modes = "road"\nassumption = "x"',
         "demand[1].allowed_modes", "crude_oil cannot move by road"),
        ('[[add_link]]\nlink_id = "ab"\nfrom_node_id = "a"\nto_node_id = "b"\ndirected = 0\n'
         'mode = "road"\nlength_km = 10\nsource_id = "hand"\nassumption = "x"',
         "add_link[1].link_id", "already exists"),
        ('[[add_link]]\nlink_id = "n"\nfrom_node_id = "a"\nto_node_id = "b"\ndirected = 0\n'
         'mode = "road"\nlength_km = 10\nsource_id = "nobody"\nassumption = "x"',
         "add_link[1].source_id", "unknown source id 'nobody'"),
    ],
)
def test_ids_are_checked_against_the_network(tiny, demand, tmp_path: Path, text: str,
                                             key: str, message: str) -> None:
    path = _toml(tmp_path, text)
    scenario = load_scenario(path)
    with pytest.raises(DataError) as info:
        apply_scenario(tiny, scenario, demand)
    assert info.value.file == str(path)
    assert info.value.field == key
    assert message in str(info.value)


def test_an_added_demand_row_can_be_held_to_some_modes(tiny, demand, tmp_path: Path) -> None:
    path = _toml(tmp_path, '[[demand]]\norigin = "a"\ndestination = "z"\n'
                 'commodity = "container"\nt_per_year = 5000\nallowed_modes = "ferry;rail"\n'
                 'assumption = "block trains only"')
    _, table = apply_scenario(tiny, path, demand)
    added = table.iloc[-1]
    assert (added["t_per_year"], added["allowed_modes"]) == (5000.0, "rail;ferry;transfer")
    od = assign(tiny, demand, load_scenario(path)).od
    assert len(od.query("origin == 'a' and destination == 'z'")) == 2  # two segments


def test_parsed_data_inherits_like_a_file(tiny, demand) -> None:
    import tomllib

    folder = FLOWS / "scenarios"
    data = tomllib.loads((folder / "child.toml").read_text(encoding="utf-8"))
    parsed = parse_scenario(data, "request body", folder)
    from_file = load_scenario(folder / "child.toml")
    assert parsed.name == "posted" and parsed.parent is not None
    assert [a.kind for a in parsed.all_actions()] == [a.kind for a in from_file.all_actions()]
    _, table = apply_scenario(tiny, parsed, demand)
    _, expected = apply_scenario(tiny, from_file, demand)
    pd.testing.assert_frame_equal(table, expected)
    with pytest.raises(DataError) as info:
        parse_scenario({"close": [{"lnk": "ab", "assumption": "x"}]}, "request body", folder)
    assert (info.value.file, info.value.field) == ("request body", "close[1].lnk")


def test_inheritance_cycles_and_unknown_names(tmp_path: Path) -> None:
    _toml(tmp_path, 'inherits = "b"', "a.toml")
    _toml(tmp_path, 'inherits = "a"', "b.toml")
    with pytest.raises(DataError, match="cycle"):
        load_scenario(tmp_path / "a.toml")
    with pytest.raises(DataError, match="(?i)did you mean 'cpc-outage'"):
        load_scenario("cpc-outgae")
    with pytest.raises(DataError, match="invalid TOML"):
        load_scenario(_toml(tmp_path, "[[close]\n", "bad.toml"))


def test_open_makes_planned_links_operating(tiny, demand, tmp_path: Path) -> None:
    links = tiny.links.copy()
    links.loc["qz", "status"] = "planned"
    import dataclasses

    planned = dataclasses.replace(tiny, links=links)
    path = _toml(tmp_path, '[[open]]\nlink = "qz"\nassumption = "built by 2030"')
    network, _ = apply_scenario(planned, path, demand)
    assert network.links.loc["qz", "status"] == "operating"
    assert planned.links.loc["qz", "status"] == "planned"


def test_scenario_object_round_trips_to_dict() -> None:
    scenario = load_scenario("cpc-outage")
    assert isinstance(scenario, Scenario)
    data = scenario.to_dict()
    assert data["inherits"] == "baseline"
    assert [a["kind"] for a in data["actions"]] == ["close", "close"]
    assert Path(data["file"]).parent == scenario_folder()


def test_cli_list_show_run(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from corridor.cli import app
    from tests.conftest import TINY

    runner = CliRunner()
    listed = runner.invoke(app, ["scenario", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert {s["name"] for s in json.loads(listed.stdout)} >= BUILT_INS
    shown = runner.invoke(app, ["scenario", "show", "cpc-outage-partial"])
    assert shown.exit_code == 0 and "Kropotkinskaya" in shown.output
    args = ["--network", str(TINY / "network"), "--costs", str(TINY / "costs"),
            "--demand", str(FLOWS / "demand.csv")]
    run = runner.invoke(app, ["scenario", "run", str(FLOWS / "scenarios" / "child.toml"),
                              "--json", *args])
    assert run.exit_code == 0, run.output
    assert json.loads(run.stdout)["totals"]["investment_usd"] == 1.2e8
    bad = _toml(tmp_path, '[[close]]\nlink = "abx"\nassumption = "x"')
    failed = runner.invoke(app, ["scenario", "run", str(bad), *args])
    assert failed.exit_code == 2
    assert "close[1].link" in failed.output and "did you mean 'ab'" in failed.output
    written = runner.invoke(app, ["scenario", "run", str(FLOWS / "scenarios" / "close-pipe.toml"),
                                  "--csv", str(tmp_path / "out"), *args])
    assert written.exit_code == 0, written.output
    assert (tmp_path / "out" / "route_split.csv").is_file()


def test_a_name_the_file_system_refuses_is_a_data_error() -> None:
    with pytest.raises(DataError, match="not a usable scenario name"):
        parse_scenario({"inherits": "a" * 5000})


def test_one_schema_holds_every_shipped_scenario_and_its_keys() -> None:
    from corridor.scenario import ACTION_KINDS, scenario_folder
    from corridor.scenario_schema import ACTIONS, ScenarioSchema, keys, validate

    assert tuple(ACTIONS) == ACTION_KINDS
    for path in sorted(scenario_folder().glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        assert isinstance(validate(data, str(path)), ScenarioSchema)
    # the link fields an added link may set are link.csv's columns
    from corridor.network import LINK_COLUMNS

    assert set(keys("add_link")) == {c.name for c in LINK_COLUMNS} | {"investment_usd"}


def test_a_scenario_adds_a_node_and_a_line_to_it(tiny, demand) -> None:
    scenario = parse_scenario({
        "add_node": [{"node_id": "e", "name": "Echo", "name_ru": "Эхо", "country": "KAZ",
                      "lon": 65.0, "lat": 48.0, "kind": "rail_junction", "source_id": "hand",
                      "assumption": "a new junction"}],
        "add_link": [{"link_id": "ae", "from_node_id": "a", "to_node_id": "e",
                      "directed": False, "mode": "rail", "gauge_mm": 1520, "length_km": 400,
                      "source_id": "hand", "assumption": "a new line"}]})
    network, _ = apply_scenario(tiny, scenario, demand)
    assert "e" not in tiny.nodes.index  # the input is not changed
    assert network.nodes.at["e", "lat"] == 48.0 and network.resolve("Эхо") == "e"
    assert corridor.route(network, "Alpha", "Echo")[0].link_ids == ["ae"]


@pytest.mark.parametrize(("node", "field", "message"), [
    ({"node_id": "a"}, "add_node[1].node_id", "node id 'a' already exists"),
    ({"lon": 500.0}, "add_node[1].lon", "outside the allowed range -180 to 180"),
    ({"kind": "castle"}, "add_node[1].kind", "'castle' is not one of"),
    ({"country": None}, "add_node[1].country", "value is missing"),
    ({"source_id": "nobody"}, "add_node[1].source_id", "unknown source id 'nobody'"),
])
def test_an_added_node_is_checked_like_node_csv(tiny, demand, node: dict, field: str,
                                                 message: str) -> None:
    row = {"node_id": "e", "name": "Echo", "country": "KAZ", "lon": 65.0, "lat": 48.0,
           "kind": "rail_junction", "source_id": "hand", "assumption": "x", **node}
    row = {k: v for k, v in row.items() if v is not None}
    with pytest.raises(DataError, match=message) as err:
        apply_scenario(tiny, parse_scenario({"add_node": [row]}), demand)
    assert err.value.field == field
