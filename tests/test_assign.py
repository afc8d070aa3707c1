"""Capacity-constrained assignment: hand-checked answers on the tiny network, optimality
properties, and integration checks on the shipped dataset."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order

from corridor.demand import OD_KEYS, load_demand
from corridor.flow import FlowModel, FlowResult, assign, run_scenario, solve_model
from corridor.graph import LINK, compile_graph
from corridor.metrics import cpc_share
from corridor.network import Network
from tests.conftest import FIXTURES

FLOWS = FIXTURES / "flows"
VOT_CRUDE = 500 * 0.10 / 365  # tiny cost model: crude worth 500 USD/t, 10 %/yr


def with_links(net: Network, **columns: dict[str, float]) -> Network:
    """A copy of ``net`` with some link cells changed: with_links(net, capacity_t_per_year=…)."""
    links = net.links.copy()
    for column, values in columns.items():
        if column not in links:
            links[column] = np.nan
        for link_id, value in values.items():
            links.loc[link_id, column] = value
    return dataclasses.replace(net, links=links)


@pytest.fixture(scope="module")
def demand(tiny) -> pd.DataFrame:
    return load_demand(FLOWS / "demand.csv", tiny)


# -- invariants every result must satisfy ----------------------------------------------------


def check_invariants(result: FlowResult) -> None:
    """Conservation at every node, capacities, demand = delivered + stranded, route split sums,
    and stranded demand cut off by saturated links (otherwise it could have been delivered)."""
    net = result.network
    assert net is not None
    od = result.od
    assert np.allclose(od["delivered_t"] + od["stranded_t"], od["demand_t"], atol=1.0)
    assert (od["stranded_t"] >= -1e-6).all() and (od["delivered_t"] >= -1e-6).all()
    if len(result.route_split):
        routed = result.route_split.groupby(list(OD_KEYS))["t_per_year"].sum()
        delivered = od.set_index(list(OD_KEYS))["delivered_t"]
        assert np.allclose(routed.reindex(delivered.index).fillna(0), delivered, atol=2.0,
                           rtol=1e-6)
    flows = result.link_flows
    capacity = flows["capacity_t_per_year"]
    binding = capacity.notna()
    assert (flows.loc[binding, "flow_t_per_year"]
            <= capacity[binding] * (1 + 1e-6) + 1.0).all()
    closed = flows["status"] != "operating"
    assert (flows.loc[closed, "flow_t_per_year"] == 0).all()
    # conservation: what enters a node minus what leaves it = delivered there - shipped from it
    nodes = net.nodes.index
    inflow = (flows.groupby("to_node_id")["flow_forward_t"].sum().reindex(nodes, fill_value=0)
              + flows.groupby("from_node_id")["flow_backward_t"].sum()
              .reindex(nodes, fill_value=0))
    outflow = (flows.groupby("from_node_id")["flow_forward_t"].sum()
               .reindex(nodes, fill_value=0)
               + flows.groupby("to_node_id")["flow_backward_t"].sum()
               .reindex(nodes, fill_value=0))
    sink = od.groupby("destination")["delivered_t"].sum().reindex(nodes, fill_value=0)
    source = od.groupby("origin")["delivered_t"].sum().reindex(nodes, fill_value=0)
    assert np.allclose(inflow - outflow, sink - source, atol=5.0, rtol=1e-6)
    # optimality: stranded tonnes have no path of unsaturated links left
    saturated = set(flows.index[flows["saturated"] | (flows["utilisation"] >= 0.999)])
    terminals = result.terminal_flows
    full = np.flatnonzero(terminals["saturated"].to_numpy(dtype=bool)) if len(terminals) \
        else np.zeros(0, dtype=np.int64)
    for row in od[od["stranded_t"] > 1.0].itertuples():
        graph = compile_graph(net, row.commodity, row.allowed_modes)
        start = graph.source_of[nodes.get_loc(row.origin)]
        end = graph.sink_of[nodes.get_loc(row.destination)]
        if start < 0 or end < 0:
            continue
        blocked = np.zeros(len(graph.tail), dtype=bool)
        is_link = graph.kind == LINK
        link_ids = np.asarray(net.links.index)[np.maximum(graph.arc_link, 0)]
        # links its shippers may not use (a contract with no capacity for them)
        barred = [c["link_id"] for c in net.contracts.to_dict(orient="records")
                  if c["commodity"] == row.commodity and c["max_t_per_year"] == 0
                  and c["origin"] == row.origin]
        blocked[is_link] = np.isin(link_ids[is_link], list(saturated) + barred)
        blocked |= np.isin(graph.arc_terminal, full)
        keep = ~blocked & graph.allowed(tuple(c for c in row.avoid_countries.split(";") if c))
        adjacency = csr_matrix((np.ones(keep.sum()), (graph.tail[keep], graph.head[keep])),
                               shape=(graph.n_sub, graph.n_sub))
        reach = breadth_first_order(adjacency, int(start), return_predecessors=False)
        assert end not in set(reach), (
            f"{row.origin}->{row.destination} {row.commodity} is stranded although a route "
            f"of unsaturated links exists")


# -- tiny network: answers known by hand ---------------------------------------------------


def test_uncapacitated_flows_take_the_cheapest_routes(tiny, demand) -> None:
    result = assign(tiny, demand)
    check_invariants(result)
    od = result.od.set_index(["origin", "destination", "commodity"])
    # a->z container by the North rail line: 3010 km x 0.05 USD/tkm = 150.5, + 20 gauge change
    # at c (1520 -> 1435 mm), + 4 border crossings x 5 = 190.5 USD/t
    assert od.loc[("a", "z", "container"), "cost_usd_per_t"] == pytest.approx(190.5)
    # o->z crude: pipeline o-b 800 km x 0.02 = 16, mode change at b 3, sea b-z 9000 km x 0.003
    # = 27, border crossing by sea (RUS->NLD) 2: 48 USD/t
    assert od.loc[("o", "z", "crude_oil"), "cost_usd_per_t"] == pytest.approx(48.0)
    assert result.totals["stranded_t"] == 0
    assert result.totals["delivered_t"] == pytest.approx(6.2e6)
    assert result.link_flows.loc["ob", "flow_t_per_year"] == pytest.approx(5e6)
    assert result.link_flows.loc["qz", "flow_t_per_year"] == pytest.approx(0.0, abs=1e-3)
    assert not result.link_flows["saturated"].any()
    # totals: money cost is tonnes x USD/t of each OD
    expected = 1e6 * 190.5 + 5e6 * 48.0 + 0.2e6 * od.loc[("a", "q", "container"),
                                                         "cost_usd_per_t"]
    assert result.totals["cost_usd"] == pytest.approx(expected, rel=1e-6)


def test_capacity_splits_flow_and_prices_the_bottleneck(tiny, demand) -> None:
    net = with_links(tiny, capacity_t_per_year={"ob": 3e6})
    result = assign(net, demand)
    check_invariants(result)
    split = result.route_split.query("commodity == 'crude_oil'").set_index("link_ids")
    assert split.loc["ob;bz", "t_per_year"] == pytest.approx(3e6)
    assert split.loc["op;ap;ab;bz", "t_per_year"] == pytest.approx(2e6)
    assert split.loc["ob;bz", "share"] == pytest.approx(0.6)
    # the shadow price is what one more tonne through o-b saves: the generalised cost gap
    # between the detour and the direct route
    gap = ((split.loc["op;ap;ab;bz", "cost_usd_per_t"] + VOT_CRUDE
            * split.loc["op;ap;ab;bz", "days"])
           - (split.loc["ob;bz", "cost_usd_per_t"] + VOT_CRUDE * split.loc["ob;bz", "days"]))
    # (within the 0.001 USD/t per arc tie-break the LP adds against zero-cost cycles)
    assert result.link_flows.loc["ob", "shadow_price_usd_per_t"] == pytest.approx(gap, abs=0.02)
    assert list(result.saturated.index) == ["ob"]


def test_shadow_price_matches_a_finite_difference(tiny, demand) -> None:
    base = assign(with_links(tiny, capacity_t_per_year={"ob": 3e6}), demand)
    more = assign(with_links(tiny, capacity_t_per_year={"ob": 3e6 + 1000}), demand)
    saved = base.totals["objective_usd"] - more.totals["objective_usd"]
    assert saved / 1000 == pytest.approx(base.link_flows.loc["ob", "shadow_price_usd_per_t"],
                                         rel=1e-6)


def test_capacity_is_shared_by_commodities_and_directions(tiny, demand) -> None:
    # with o-b capped, a-b (2.5 Mt) is wanted by crude (2 Mt detour) and containers (1 Mt)
    net = with_links(tiny, capacity_t_per_year={"ob": 3e6, "ab": 2.5e6})
    result = assign(net, demand)
    check_invariants(result)
    assert result.link_flows.loc["ab", "flow_t_per_year"] == pytest.approx(2.5e6)
    by = result.link_flows_by_commodity.query("link_id == 'ab'").set_index("commodity")
    assert by["flow_t_per_year"].sum() == pytest.approx(2.5e6)
    assert set(by.index) == {"container", "crude_oil"}
    # both directions count: containers b->a compete for the same 2.5 Mt
    back = pd.concat([demand, demand.iloc[[0]].assign(origin="b", destination="a")],
                     ignore_index=True)
    both = assign(net, back)
    check_invariants(both)
    row = both.link_flows.loc["ab"]
    assert row["flow_forward_t"] + row["flow_backward_t"] == pytest.approx(2.5e6)
    assert row["flow_backward_t"] > 0
    assert row["flow_forward_t"] < result.link_flows.loc["ab", "flow_forward_t"]


def test_teu_capacity_limits_containers_only(tiny, demand) -> None:
    net = with_links(tiny, capacity_teu_per_year={"ab": 50_000})  # 10 t/TEU -> 0.5 Mt
    result = assign(net, demand)
    check_invariants(result)
    by = result.link_flows_by_commodity.query("link_id == 'ab'").set_index("commodity")
    assert by.loc["container", "flow_t_per_year"] == pytest.approx(0.5e6)
    middle = result.route_split.query("origin == 'a' and destination == 'z'")
    assert set(middle["corridors"]) == {"North", "Middle"}


def test_unservable_demand_is_stranded_not_an_error(tiny, demand) -> None:
    # crude reaches z only by sea from b (b-z, 1 Mt here) or by rail b-c-d-z (b-c, 0.5 Mt);
    # containers a->z have the Middle route, so the LP leaves the rail capacity to crude and
    # strands 5 - 1 - 0.5 = 3.5 Mt of crude
    net = with_links(tiny, capacity_t_per_year={"bz": 1e6, "bc": 0.5e6})
    result = assign(net, demand)
    check_invariants(result)
    stranded = result.stranded.set_index(["origin", "destination", "commodity"])
    assert stranded.loc[("o", "z", "crude_oil"), "stranded_t"] == pytest.approx(3.5e6)
    assert result.totals["stranded_t"] == pytest.approx(3.5e6)
    assert result.totals["delivered_t"] + result.totals["stranded_t"] == pytest.approx(6.2e6)
    assert set(result.saturated.index) == {"bz", "bc"}
    # with b-z and b-c closed no crude route to z exists at all: stranded in full
    cut = assign(with_links(tiny, status={"bz": "closed", "bc": "closed"}), demand)
    check_invariants(cut)
    row = cut.od.query("commodity == 'crude_oil'").iloc[0]
    assert row["stranded_t"] == pytest.approx(5e6)
    assert row["routes"] == 0


def test_a_segment_held_to_some_modes_gets_its_own_routes(tiny, demand) -> None:
    """The same OD pair split in two segments: one free, one held to rail and ferry."""
    held = demand.iloc[[0]].assign(allowed_modes="rail;ferry;transfer", t_per_year=3e5)
    both = pd.concat([demand, held], ignore_index=True)
    result = assign(tiny, both)
    check_invariants(result)
    od = result.od.set_index(list(OD_KEYS))
    assert od.loc[("a", "z", "container", "", ""), "demand_t"] == pytest.approx(1e6)
    assert od.loc[("a", "z", "container", "rail;ferry;transfer", ""), "demand_t"] == 3e5
    # with the North line cut at b-c the free segment goes by rail to b and sails b-z; the held
    # one cannot (b-z and q-z are sea) and is stranded in full, although the same OD pair is
    # delivered
    closed = assign(with_links(tiny, status={"bc": "closed"}), both)
    check_invariants(closed)
    od = closed.od.set_index(list(OD_KEYS))
    assert od.loc[("a", "z", "container", "", ""), "stranded_t"] == pytest.approx(0.0, abs=1.0)
    assert od.loc[("a", "z", "container", "rail;ferry;transfer", ""), "stranded_t"] == 3e5
    free = closed.route_split.query("allowed_modes == '' and commodity == 'container' "
                                    "and destination == 'z'")
    assert set(free["link_ids"]) == {"ab;bz"}
    assert "container [rail;ferry;transfer]" in closed.penalty_usd_per_t


def test_result_exports_json_and_csv(tiny, demand, tmp_path: Path) -> None:
    result = assign(tiny, demand)
    data = json.loads(result.to_json())
    assert data["scenario"] == "baseline"
    assert data["totals"]["delivered_t"] == pytest.approx(6.2e6)
    assert {r["link_ids"] for r in data["route_split"]} >= {"ab;bc;cd;dz", "ob;bz"}
    written = result.to_csv(tmp_path / "out")
    assert {p.name for p in written} == set(result.csv_tables())
    assert len(pd.read_csv(tmp_path / "out" / "od.csv")) == 3


def test_inputs_are_not_mutated(tiny, demand) -> None:
    links, frame = tiny.links.copy(), demand.copy()
    assign(tiny, demand, FLOWS / "scenarios" / "child.toml")
    pd.testing.assert_frame_equal(tiny.links, links)
    pd.testing.assert_frame_equal(demand, frame)


CAPPED = {"ob": 3e6, "ab": 2.5e6, "pq": 1.5e5, "bz": 4.8e6}


@settings(max_examples=40, deadline=None)
@given(factors=st.lists(st.floats(min_value=1.0, max_value=3.0), min_size=len(CAPPED),
                        max_size=len(CAPPED)),
       extra=st.dictionaries(st.sampled_from(["ap", "qz", "op", "bc"]),
                             st.floats(min_value=1e5, max_value=1e7), max_size=2))
def test_adding_capacity_never_makes_the_optimum_worse(tiny, demand, factors, extra) -> None:
    """Property: raising capacities enlarges the feasible set, so the optimum cannot rise."""
    before_caps = dict(CAPPED)
    after_caps = {k: v * f for (k, v), f in zip(CAPPED.items(), factors, strict=True)}
    for link_id, capacity in extra.items():  # a newly capped link, then loosened
        before_caps[link_id] = capacity
        after_caps[link_id] = capacity * 1.5

    def objective(caps: dict[str, float]) -> float:
        model = FlowModel(with_links(tiny, capacity_t_per_year=caps), demand)
        values, _ = solve_model(model.highs())
        return float(values @ model.col_cost)

    assert objective(after_caps) <= objective(before_caps) * (1 + 1e-9) + 1e-9


@settings(max_examples=25, deadline=None)
@given(caps=st.dictionaries(st.sampled_from(["ab", "bc", "ap", "pq", "qz", "op", "ob", "bz"]),
                            st.floats(min_value=0.0, max_value=8e6), max_size=8))
def test_invariants_hold_for_random_capacities(tiny, demand, caps) -> None:
    check_invariants(assign(with_links(tiny, capacity_t_per_year=caps), demand))


# -- the shipped dataset ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_demand(net) -> pd.DataFrame:
    return load_demand(network=net)


@pytest.fixture(scope="module")
def baseline(net, real_demand) -> FlowResult:
    return assign(net, real_demand)


def test_baseline_is_consistent(baseline) -> None:
    check_invariants(baseline)
    assert baseline.totals["delivered_t"] > 0.95 * baseline.totals["demand_t"]


def test_baseline_reproduces_the_published_cpc_share(baseline) -> None:
    """CPC carried 54.9 of 68.6 Mt of Kazakh crude exports in 2024 (80.1 %, KZ Ministry of
    Energy via tukib.kz; data brief §5/§6e). The model must route 80 % ± 10 points of the
    Kazakh crude in the baseline demand through CPC links, by cost and capacity alone."""
    share = cpc_share(baseline)
    assert share == pytest.approx(54.9 / 68.6, abs=0.10), f"modelled CPC share {share:.1%}"


def test_cpc_outage_moves_crude_to_other_outlets_up_to_capacity(net, real_demand,
                                                                baseline) -> None:
    outage = run_scenario("cpc-outage", net, real_demand)
    check_invariants(outage)  # incl.: stranded crude has no unsaturated route left
    flows = outage.link_flows
    cpc = flows["corridor"].fillna("").str.split(";").map(lambda tags: "CPC" in tags)
    assert cpc.any()
    assert flows.loc[cpc, "flow_t_per_year"].sum() == 0
    assert cpc_share(outage) == 0
    crude_before = baseline.od.query("commodity == 'crude_oil'")
    crude_after = outage.od.query("commodity == 'crude_oil'")
    assert crude_after["demand_t"].sum() == pytest.approx(crude_before["demand_t"].sum())
    non_cpc_before = baseline.route_split.query("commodity == 'crude_oil'")
    non_cpc_before = non_cpc_before[~non_cpc_before["corridors"].str.contains("CPC")]
    # the other outlets carry at least what they carried before, plus what CPC lost, minus
    # what is stranded
    assert crude_after["delivered_t"].sum() >= non_cpc_before["t_per_year"].sum() - 1.0


def test_partial_cpc_outage_caps_the_pipeline(net, real_demand) -> None:
    partial = run_scenario("cpc-outage-partial", net, real_demand)
    check_invariants(partial)
    flows = partial.link_flows
    cpc = flows["corridor"].fillna("").str.split(";").map(lambda tags: "CPC" in tags)
    capacity = net.links.loc[cpc[cpc].index, "capacity_t_per_year"] * 0.55
    assert (flows.loc[cpc, "flow_t_per_year"] <= capacity + 1.0).all()


def _containers_via(result: FlowResult, country: str) -> float:
    routes = result.route_split.query("commodity == 'container'")
    return float(routes.loc[routes["countries"].str.split(";").map(
        lambda codes: country in codes), "t_per_year"].sum())


def _containers_over_caspian(result: FlowResult) -> float:
    links = result.network.links
    caspian = links.index[(links["mode"] == "ferry")
                          & links["corridor"].fillna("").str.contains("Middle")]
    by = result.link_flows_by_commodity
    return float(by[(by["commodity"] == "container")
                    & by["link_id"].isin(caspian)]["flow_t_per_year"].sum())


def _alat_containers_t(result: FlowResult) -> float:
    by = result.link_flows_by_commodity
    return float(by[(by["commodity"] == "container")
                    & (by["link_id"] == "transfer_alat_station_alat_port")]
                 ["flow_t_per_year"].sum())


def test_closing_russia_moves_container_transit_to_the_caspian(net, real_demand,
                                                               baseline) -> None:
    closed = run_scenario("bypass-russia", net, real_demand)
    check_invariants(closed)
    before = _containers_via(baseline, "RUS")
    # the China-Europe block-train volume (held to rail and ferry) runs via Russia today
    assert before > 0.5 * real_demand.query("commodity == 'container'")["t_per_year"].sum()
    assert _containers_via(closed, "RUS") == 0
    assert _containers_over_caspian(closed) > _containers_over_caspian(baseline)
    # ... up to the port of Baku's container capacity (100k TEU = 1 Mt at 10 t/TEU) and no
    # further: that capacity row binds, with a positive shadow price
    per_teu = float(net.costs.commodities.at["container", "t_per_teu"])
    teu_cap = float(net.links.at["transfer_alat_station_alat_port", "capacity_teu_per_year"])
    assert _alat_containers_t(closed) == pytest.approx(teu_cap * per_teu, rel=1e-6)
    assert closed.link_flows.at["transfer_alat_station_alat_port", "shadow_price_usd_per_t"] > 0


def test_closing_russia_and_iran_strands_what_baku_cannot_take(net, real_demand) -> None:
    closed = run_scenario("bypass-russia-and-iran", net, real_demand)
    check_invariants(closed)  # incl.: stranded containers have no unsaturated route left
    assert _containers_via(closed, "RUS") == _containers_via(closed, "IRN") == 0
    held = closed.od.query("commodity == 'container' and destination == 'duisburg'")
    assert len(held) == 1 and held["stranded_t"].iloc[0] > 0
    # every block-train tonne delivered crossed the Caspian and Baku
    delivered = held["delivered_t"].iloc[0]
    assert delivered > 0
    assert _alat_containers_t(closed) >= delivered - 1.0


def test_a_deadline_counts_from_now_however_long_highs_has_run(tiny, demand) -> None:
    """HiGHS holds its time limit against its run time over every solve of an instance; a
    deadline further off than the next solve needs must still let that solve finish."""
    import time

    model = FlowModel(tiny, demand)
    h = model.highs()
    while h.getRunTime() < 0.2:  # many solves on one instance, as route generation makes
        h.clearSolver()
        h.run()
    h.clearSolver()
    values, _ = solve_model(h, time.monotonic() + h.getRunTime() / 2)
    expected, _ = solve_model(model.highs())
    assert float(values @ model.col_cost) == pytest.approx(float(expected @ model.col_cost))
