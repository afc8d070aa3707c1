"""Dependency shares, HHI, exposure and scenario comparison."""

from __future__ import annotations

import pandas as pd
import pytest

from corridor.demand import load_demand
from corridor.flow import assign
from corridor.metrics import compare, dependency, exposure, hhi
from corridor.scenario import load_scenario
from tests.conftest import FIXTURES

FLOWS = FIXTURES / "flows"


@pytest.fixture(scope="module")
def demand(tiny) -> pd.DataFrame:
    return load_demand(FLOWS / "demand.csv", tiny)


@pytest.fixture(scope="module")
def base(tiny, demand):
    return assign(tiny, demand)


@pytest.mark.parametrize(
    ("shares", "expected"),
    [([100], 10_000), ([50, 50], 5_000), ([25, 25, 25, 25], 2_500), ([1, 1], 5_000),
     ([80, 20], 6_800), ([], 0)],
)
def test_hhi(shares: list[float], expected: float) -> None:
    assert hhi(shares) == pytest.approx(expected)


def test_dependency_by_transit_partner_corridor_and_mode(base) -> None:
    # KAZ exports: a->z containers 1 Mt (RUS, BLR, POL), o->z crude 5 Mt (RUS), a->q 0.2 Mt
    # (no transit); destinations NLD 6 Mt and AZE 0.2 Mt
    dep = dependency(base)
    assert dep.share("KAZ", "transit", "RUS") == pytest.approx(100 * 6 / 6.2)
    assert dep.share("KAZ", "transit", "BLR") == pytest.approx(100 * 1 / 6.2)
    assert dep.share("KAZ", "partner", "NLD") == pytest.approx(100 * 6 / 6.2)
    assert dep.share("KAZ", "corridor", "Pipe") == pytest.approx(100 * 5 / 6.2)
    assert dep.share("KAZ", "mode", "ferry") == pytest.approx(100 * 0.2 / 6.2)
    table = dep.hhi.set_index(["exporter", "dimension"])["hhi"]
    # transit on tonne-uses RUS 6, BLR 1, POL 1 -> 75/12.5/12.5 %
    assert table[("KAZ", "transit")] == pytest.approx(75**2 + 2 * 12.5**2)
    assert table[("KAZ", "partner")] == pytest.approx((600 / 6.2) ** 2 + (20 / 6.2) ** 2)
    crude = dependency(base, commodity="crude_oil")
    assert crude.share("KAZ", "corridor", "Pipe") == pytest.approx(100.0)
    assert set(crude.hhi["dimension"]) == {"transit", "corridor", "mode", "partner", "passage"}
    assert crude.share("KAZ", "passage", "narrows") == pytest.approx(100.0)  # o-b-z by sea


def test_compare_reports_what_changed(tiny, demand, base) -> None:
    other = assign(tiny, demand, load_scenario(FLOWS / "scenarios" / "close-pipe.toml"))
    diff = compare(base, other)
    totals = diff.totals.set_index("metric")
    # crude o->z detours o-p-a-b-z: 143 instead of 48 USD/t on 5 Mt
    assert totals.loc["cost_usd", "change"] == pytest.approx(5e6 * (143 - 48))
    assert totals.loc["stranded_t", "change"] == 0
    assert totals.loc["delivered_t", "change"] == 0
    corridors = diff.corridors.set_index("corridor")
    assert corridors.loc["Middle", "change_t"] == pytest.approx(5e6)
    links = diff.links.set_index("link_id")
    assert links.loc["ob", "change_t"] == pytest.approx(-5e6)
    assert links.loc["op", "change_t"] == pytest.approx(5e6)
    assert set(diff.to_dict()) >= {"totals", "corridors", "hhi", "links", "stranded"}
    assert set(diff.csv_tables()) == {f"compare_{n}.csv" for n in
                                      ("totals", "corridors", "hhi", "links", "stranded")}


def test_exposure_matches_a_fresh_solve(tiny, demand, base, tmp_path) -> None:
    table = exposure(tiny, demand).set_index(["exporter", "closed_country"])
    assert set(table.index) == {("KAZ", "RUS"), ("KAZ", "BLR"), ("KAZ", "POL")}
    # without Russia crude cannot reach z (only b-z and the rail line via b lead there)
    assert table.loc[("KAZ", "RUS"), "stranded_t"] == pytest.approx(5e6)
    assert table.loc[("KAZ", "RUS"), "transit_share_pct"] == pytest.approx(100 * 6 / 6.2)
    path = tmp_path / "no-rus.toml"
    path.write_text('[[close]]\ncountry = "RUS"\nassumption = "test"\n', encoding="utf-8")
    closed = assign(tiny, demand, load_scenario(path))
    assert closed.totals["stranded_t"] == pytest.approx(5e6)
    assert table.loc[("KAZ", "RUS"), "added_cost_usd"] == pytest.approx(
        closed.totals["cost_usd"] - base.totals["cost_usd"], rel=1e-6)


def test_cpc_share_counts_stranded_demand_in_the_denominator(tiny, demand) -> None:
    from corridor.metrics import cpc_share
    from tests.test_assign import with_links

    base = assign(tiny, demand)
    assert cpc_share(base, corridor="Pipe") == pytest.approx(1.0)
    # b-z capped at 1 Mt, b-c at 0.5 Mt: 1.5 of the 5 Mt arrive (1 Mt through the o-b pipe,
    # 0.5 Mt by rail from b, which also starts on the pipe), 3.5 Mt are stranded
    capped = assign(with_links(tiny, capacity_t_per_year={"bz": 1e6, "bc": 0.5e6}), demand)
    assert cpc_share(capped, corridor="Pipe") == pytest.approx(1.5 / 5)
    assert cpc_share(capped, exporter="NLD", corridor="Pipe") == 0.0
