"""Routing on hand-made networks where the right answer is known, and against networkx."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import corridor
from corridor.errors import DataError, InvalidOptionError, NoRouteError, UnknownPlaceError

TINY_COSTS = Path(__file__).parent / "fixtures" / "tiny" / "costs"


def test_cheapest_route_by_hand(tiny: corridor.Network) -> None:
    best = corridor.route(tiny, "Alpha", "Zulu")[0]
    # rail a-b 1000 km × 0.05 + border 5, transfer rail→sea 10, sea b-z 9000 × 0.005 + border 5
    assert best.link_ids == ["ab", "bz"]
    assert best.cost_usd_per_t == pytest.approx(50 + 5 + 10 + 45 + 5)
    assert best.days == pytest.approx(1.0 + 0.5 + 0.5 + 15.0 + 0.5)
    assert [t.kind for t in best.transfers] == ["mode_change"]


def test_gauge_change_costs_a_transfer(tiny: corridor.Network) -> None:
    fastest = corridor.route(tiny, "Alpha", "Zulu", optimize="time")[0]
    assert fastest.link_ids == ["ab", "bc", "cd", "dz"]
    (change,) = fastest.transfers
    assert (change.node_id, change.kind) == ("c", "gauge_change")
    assert (change.from_layer, change.to_layer) == ("rail1520", "rail1435")
    assert change.cost_usd_per_t == 20 and change.days == 1
    assert fastest.days == pytest.approx(3.01 + 1 + 4 * 0.5)


def test_borders_inside_a_customs_union_pay_no_customs_charge(tiny_copy: Path) -> None:
    (tiny_copy / "costs" / "customs_unions.csv").write_text(
        "customs_union,country,source_id\nEAEU,KAZ,hand_cost\nEAEU,RUS,hand_cost\n"
        "EAEU,BLR,hand_cost\nEU,POL,hand_cost\nEU,NLD,hand_cost\n", encoding="utf-8")
    net = corridor.load_network(tiny_copy / "network", tiny_copy / "costs")
    fastest = corridor.route(net, "Alpha", "Zulu", optimize="time")[0]
    assert fastest.link_ids == ["ab", "bc", "cd", "dz"]
    # only BLR-POL (EAEU to EU) keeps its 5 USD/t and 0.5 day; the other three are inside
    # one union; every crossing is still listed
    assert fastest.days == pytest.approx(3.01 + 1 + 0.5)
    assert fastest.cost_usd_per_t == pytest.approx(3010 * 0.05 + 20 + 5)
    assert len(fastest.border_crossings) == 4


def test_a_mode_row_wait_is_added_on_its_section_for_its_commodity_only(
        tiny_copy: Path) -> None:
    base = corridor.load_network(tiny_copy / "network", tiny_copy / "costs")
    links = (tiny_copy / "network" / "link.csv").read_text(encoding="utf-8").splitlines()
    links[0] += ",section"
    links[1:] = [row + (",feeder" if row.startswith("qz,") else ",") for row in links[1:]]
    (tiny_copy / "network" / "link.csv").write_text("\n".join(links) + "\n", encoding="utf-8")
    modes = (tiny_copy / "costs" / "modes.csv").read_text(encoding="utf-8").splitlines()
    rows = ["commodity,mode,section,tariff_usd_per_tkm,speed_km_per_day,co2_g_per_tkm,"
            "wait_days,source_id,estimated,estimate_method"]
    for row in modes[1:]:  # the same rows with an empty section and no wait
        cells = row.split(",")
        rows.append(",".join([*cells[:2], "", *cells[2:5], "", *cells[5:]]))
    rows.append("container,sea,feeder,0.005,600,10,4.5,hand_cost,,")
    (tiny_copy / "costs" / "modes.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    waited = corridor.load_network(tiny_copy / "network", tiny_copy / "costs")
    before = corridor.route(base, "q", "z", commodity="container", avoid_modes=["rail", "road",
                                                                                  "ferry"])[0]
    after = corridor.route(waited, "q", "z", commodity="container", avoid_modes=["rail", "road",
                                                                                   "ferry"])[0]
    assert after.link_ids == before.link_ids == ["qz"]
    assert after.days == pytest.approx(before.days + 4.5)
    assert after.cost_usd_per_t == pytest.approx(before.cost_usd_per_t)
    crude = [corridor.route(n, "q", "z", commodity="crude_oil", avoid_modes=["rail"])[0]
             for n in (base, waited)]
    assert crude[1].days == pytest.approx(crude[0].days)


def test_a_bad_customs_union_row_is_named(tiny_copy: Path) -> None:
    (tiny_copy / "costs" / "customs_unions.csv").write_text(
        "customs_union,country,source_id\nEU,POL,hand_cost\nEU,Poland,hand_cost\n",
        encoding="utf-8")
    with pytest.raises(DataError) as info:
        corridor.load_network(tiny_copy / "network", tiny_copy / "costs")
    assert (info.value.row, info.value.field) == (2, "country")
    assert "customs_unions.csv" in str(info.value.file)


def test_avoiding_a_country_takes_the_ferry(tiny: corridor.Network) -> None:
    best = corridor.route(tiny, "Alpha", "Zulu", avoid=["RUS"])[0]
    assert "RUS" not in best.countries
    assert "ferry" in best.modes


def test_alternatives_are_distinct_ranked_and_loopless(tiny: corridor.Network) -> None:
    routes = corridor.route(tiny, "Alpha", "Zulu", alternatives=10, max_shared=1.0)
    assert [r.rank for r in routes] == list(range(1, len(routes) + 1))
    costs = [r.cost_usd_per_t for r in routes]
    assert costs == sorted(costs)
    assert len({tuple(r.link_ids) for r in routes}) == len(routes)
    for r in routes:
        assert len(set(r.node_ids)) == len(r.node_ids)
    # the tiny network has exactly three loopless container routes from Alpha to Zulu
    assert len(routes) == 3


def test_pipelines_carry_oil_not_containers(tiny: corridor.Network) -> None:
    oil = corridor.route(tiny, "Oilfield", "Zulu", commodity="crude_oil")[0]
    assert oil.legs[0].mode == "oil_pipeline"
    with pytest.raises(NoRouteError) as info:
        corridor.route(tiny, "Oilfield", "Zulu", commodity="container")
    assert info.value.constraint == "commodity"


def test_directed_pipeline_is_one_way(tiny: corridor.Network) -> None:
    with pytest.raises(NoRouteError):
        corridor.route(tiny, "Port East", "Oilfield", commodity="crude_oil")


def test_via_forces_the_route_through_a_place(tiny: corridor.Network) -> None:
    best = corridor.route(tiny, "Alpha", "Zulu", via="Port West")[0]
    assert "q" in best.node_ids


def test_via_route_does_not_turn_back_through_its_first_half(tiny: corridor.Network) -> None:
    # the fastest way on from Port East runs back through Alpha, where the route began
    onward = corridor.route(tiny, "Port East", "Zulu", optimize="time")[0]
    assert onward.node_ids[:2] == ["p", "a"]
    via = corridor.route(tiny, "Alpha", "Zulu", via="Port East", optimize="time")
    assert via[0].node_ids == ["a", "p", "q", "z"]
    assert len(set(via[0].node_ids)) == len(via[0].node_ids)


def test_blocking_constraint_is_named(tiny: corridor.Network) -> None:
    with pytest.raises(NoRouteError) as info:
        corridor.route(tiny, "Alpha", "Zulu", avoid=["RUS", "AZE"])
    assert info.value.constraint == "avoid"
    with pytest.raises(NoRouteError, match="avoid-mode"):
        corridor.route(tiny, "Alpha", "Zulu", avoid_modes=["rail"])
    with pytest.raises(NoRouteError, match="origin Bravo lies in RUS"):
        corridor.route(tiny, "Bravo", "Zulu", avoid=["RUS"])


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"commodity": "bananas"}, InvalidOptionError),
        ({"optimize": "beauty"}, InvalidOptionError),
        ({"avoid_modes": ["hovercraft"]}, InvalidOptionError),
        ({"avoid": ["XXX"]}, InvalidOptionError),
        ({"alternatives": 0}, InvalidOptionError),
        ({"via": "Nowhere"}, UnknownPlaceError),
    ],
)
def test_bad_options_are_errors(tiny: corridor.Network, options: dict, error: type) -> None:
    with pytest.raises(error):
        corridor.route(tiny, "Alpha", "Zulu", **options)


def _random_network(tmp: Path, edges: list[tuple[int, int, int]]) -> corridor.Network:
    """A one-country, one-gauge rail network: no transfers, no borders, cost = 0.05 × km."""
    folder = tmp / "network"
    folder.mkdir(exist_ok=True)
    (folder / "sources.csv").write_text("source_id,title,publisher,url,year,used_for\n"
                                        "gen,Generated,tests,,2026,all\n")
    nodes = sorted({n for a, b, _ in edges for n in (a, b)})
    pd.DataFrame({"node_id": [f"n{n}" for n in nodes], "name": [f"N{n}" for n in nodes],
                  "country": "KAZ", "lon": 70.0, "lat": 45.0, "kind": "city",
                  "source_id": "gen"}).to_csv(folder / "node.csv", index=False)
    pd.DataFrame({"link_id": [f"l{i}" for i in range(len(edges))],
                  "from_node_id": [f"n{a}" for a, _, _ in edges],
                  "to_node_id": [f"n{b}" for _, b, _ in edges], "directed": 0, "mode": "rail",
                  "length_km": [km for _, _, km in edges], "gauge_mm": 1520, "country": "KAZ",
                  "source_id": "gen"}).to_csv(folder / "link.csv", index=False)
    return corridor.load_network(folder, TINY_COSTS)


edge_lists = st.lists(
    st.tuples(st.integers(0, 7), st.integers(0, 7), st.integers(1, 2000)),
    min_size=4, max_size=20,
).map(lambda es: list({tuple(sorted((a, b))): (a, b, km) for a, b, km in es if a != b}.values()))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edges=edge_lists, k=st.integers(1, 4))
def test_k_best_costs_match_networkx(tmp_path: Path, edges: list, k: int) -> None:
    reference = nx.Graph()
    for a, b, km in edges:
        reference.add_edge(f"n{a}", f"n{b}", weight=0.05 * km)
    if not reference.has_node("n0") or not reference.has_node("n1"):
        return
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = _random_network(tmp_path, edges)
    if not nx.has_path(reference, "n0", "n1"):
        with pytest.raises(NoRouteError):
            corridor.route(net, "n0", "n1")
        return
    ours = [r.cost_usd_per_t for r in corridor.route(net, "n0", "n1", alternatives=k,
                                                     max_shared=1.0)]
    theirs = []
    for path in nx.shortest_simple_paths(reference, "n0", "n1", weight="weight"):
        theirs.append(nx.path_weight(reference, path, "weight"))
        if len(theirs) == k:
            break
    assert ours == pytest.approx(theirs)
    # materially different alternatives: the best route first, then routes that share at
    # most 60 % of their length with every better one (one country here, so no other rule)
    distinct = corridor.route(net, "n0", "n1", alternatives=k)
    assert distinct[0].cost_usd_per_t == pytest.approx(theirs[0])
    costs = [r.cost_usd_per_t for r in distinct]
    assert costs == sorted(costs)
    for i, later in enumerate(distinct):
        for better in distinct[:i]:
            assert _shared_share(later, better) <= 0.6 + 1e-9


def _shared_share(route: corridor.Route, other: corridor.Route) -> float:
    """The share of ``route``'s length on links between places ``other`` also joins."""
    theirs = {frozenset((leg.from_id, leg.to_id)) for leg in other.legs}
    shared = sum(leg.length_km for leg in route.legs
                 if frozenset((leg.from_id, leg.to_id)) in theirs)
    return shared / route.length_km


def test_a_crossing_with_its_own_time_replaces_the_average(net: corridor.Network) -> None:
    links = net.links
    own = links.at["rail_alashankou_dostyk", "border_days"]
    average = net.costs.charge("container", "border_crossing", "rail").time_days
    assert own < average  # CAREC: Alashankou-Dostyk is quicker than the CAREC rail average
    standard = corridor.route(net, "alashankou", "dostyk", commodity="container")[0]
    express = corridor.route(net, "alashankou", "dostyk", commodity="container",
                             service="express")[0]
    run = links.at["rail_alashankou_dostyk", "length_km"]
    assert standard.link_ids == express.link_ids == ["rail_alashankou_dostyk"]
    speed = net.costs.mode("container", "rail", "cn", "").speed_km_per_day
    assert standard.days == pytest.approx(run / speed + own)
    express_border = net.costs.charge("container", "border_crossing", "rail", "express")
    assert express_border.time_days < own  # express trains keep their priority
    assert express.days < standard.days
    average_only = dataclasses.replace(net, links=links.assign(border_days=float("nan")))
    plain = corridor.route(average_only, "alashankou", "dostyk", commodity="container")[0]
    assert plain.days == pytest.approx(standard.days - own + average)


def test_route_options_are_one_checked_object(tiny: corridor.Network) -> None:
    options = corridor.RouteOptions(avoid=["rus", " RUS", ""], avoid_passages=["Narrows"],
                                    alternatives=2)
    assert options.avoid == ("RUS",) and options.avoid_passages == ("narrows",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.commodity = "grain"  # type: ignore[misc]
    with pytest.raises(TypeError):
        corridor.RouteOptions("grain")  # type: ignore[misc]  (keyword-only)
    with pytest.raises(InvalidOptionError, match="between 1 and 20"):
        corridor.RouteOptions(alternatives=0)
    by_object = corridor.route(tiny, "Alpha", "Zulu", options)
    by_fields = corridor.route(tiny, "Alpha", "Zulu", avoid=["RUS"],
                               avoid_passages=["narrows"], alternatives=2)
    assert [r.link_ids for r in by_object] == [r.link_ids for r in by_fields]
    # fields given one by one replace those of the object
    assert all("RUS" not in r.countries for r in by_object)
    replaced = corridor.route(tiny, "Alpha", "Zulu", options, avoid=[])
    assert any("RUS" in r.countries for r in replaced)
    with pytest.raises(InvalidOptionError, match="Unknown route option.*avoid_country"):
        corridor.route(tiny, "Alpha", "Zulu", avoid_country=["RUS"])


def test_a_change_of_ships_is_a_discharge_and_a_load(net: corridor.Network) -> None:
    # a lane ends in its port's arrival layer: cargo that boards another lane there is
    # discharged and loaded again (two mode changes, their charges and days), never moved
    # from ship to ship for nothing
    sea_only = {"avoid_modes": ["rail", "road", "ferry"]}
    direct = corridor.route(net, "Shanghai", "Poti", **sea_only)[0]
    assert direct.link_ids == ["sea_shanghai_port_poti_port"]
    links = net.links.copy()
    links.at["sea_shanghai_port_poti_port", "tariff_usd_per_t"] = 10 * direct.cost_usd_per_t
    best = corridor.route(dataclasses.replace(net, links=links), "Shanghai", "Poti",
                          **sea_only)[0]
    assert len(best.legs) == 2 and all(leg.mode == "sea" for leg in best.legs)
    port = best.legs[0].to_id
    change = [t for t in best.transfers if t.node_id == port]
    assert len(change) == 2 and change[0].from_layer == "sea" and change[1].to_layer == "sea"
    assert all(t.kind == "mode_change" and t.cost_usd_per_t > 0 and t.days > 0
               for t in change)
    assert best.cost_usd_per_t == pytest.approx(
        sum(leg.cost_usd_per_t for leg in best.legs)
        + sum(t.cost_usd_per_t for t in best.transfers))
