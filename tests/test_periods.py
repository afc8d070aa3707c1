"""A year cut into periods: the calendar, events and seasons, storage between periods, and
the shipped six-week CPC outage."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

import corridor
from corridor.demand import load_demand
from corridor.errors import DataError
from corridor.flow import assign
from corridor.flow.periods import calendar_of
from corridor.scenario import parse_scenario
from tests.conftest import CRUDE_T, FIXTURES

FLOWS = FIXTURES / "flows"
LEAP = 366  # 2024


def scenario(*changes: dict, year: int = 2024, **top: object) -> corridor.Scenario:
    tables: dict[str, list] = {}
    for change in changes:
        kind = change["kind"]
        body = {k: v for k, v in change.items() if k != "kind"}
        tables.setdefault(kind, []).append({"assumption": "test", **body})
    return parse_scenario({"year": year, **top, **tables})


def with_storage(net: corridor.Network, node: str, capacity_t: float) -> corridor.Network:
    table = pd.DataFrame([{"storage_id": f"tank_{node}", "node_id": node,
                           "commodity": "crude_oil", "capacity_t": capacity_t,
                           "source_id": "hand", "estimated": "", "estimate_method": "",
                           "notes": ""}]).set_index("storage_id")
    return dataclasses.replace(net, storage=table)


@pytest.fixture(scope="module")
def demand(tiny: corridor.Network) -> pd.DataFrame:
    return load_demand(FLOWS / "demand.csv", tiny)



SPRING_OUTAGE = {"kind": "close", "link": "ob", "start": "2024-03-01", "duration_days": 61}


# -- the calendar ------------------------------------------------------------------------------


def test_calendar_cuts_months_and_event_edges() -> None:
    periods = calendar_of(scenario({**SPRING_OUTAGE, "start": "2024-03-10"}), 2024)
    assert sum(p.days for p in periods) == LEAP
    starts = [p.start for p in periods]
    assert dt.date(2024, 3, 10) in starts and dt.date(2024, 5, 10) in starts
    closed = [p for p in periods if p.in_force]
    assert sum(p.days for p in closed) == 61
    assert closed[0].start == dt.date(2024, 3, 10) and closed[-1].end == dt.date(2024, 5, 10)
    assert all(p.changes == ("close[1]",) for p in closed)


def test_a_season_is_in_force_in_its_months_only() -> None:
    periods = calendar_of(scenario({"kind": "close", "link": "pq", "months": [12, 1, 2]}), 2024)
    assert len(periods) == 12
    assert [p.start.month for p in periods if p.in_force] == [1, 2, 12]


def test_an_event_running_into_the_next_year_is_cut_at_new_year() -> None:
    periods = calendar_of(scenario({**SPRING_OUTAGE, "start": "2024-12-20",
                                    "duration_days": 30}), 2024)
    assert sum(p.days for p in periods if p.in_force) == 12


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"start": "2023-01-05"}, "close[1].start", "outside the scenario's year 2024"),
    ({"start": "17 Feb"}, "close[1].start", "must be a date"),
    ({"duration_days": 0}, "close[1].duration_days", "duration_days"),
    ({"duration_days": None}, "close[1].duration_days", "missing"),
    ({"months": [2]}, "close[1].months", "either start and duration_days"),
])
def test_bad_timing_names_the_key(tiny: corridor.Network, demand: pd.DataFrame,
                                  change: dict, field: str, words: str) -> None:
    body = {k: v for k, v in {**SPRING_OUTAGE, **change}.items() if v is not None}
    with pytest.raises(DataError) as error:
        assign(tiny, demand, scenario(body))
    assert error.value.field == field
    assert words in str(error.value)


def test_months_must_be_month_numbers() -> None:
    with pytest.raises(DataError, match="month numbers 1-12"):
        scenario({"kind": "close", "link": "pq", "months": [0, 13]})
    with pytest.raises(DataError, match="periods"):
        scenario(periods="week")


# -- events without storage --------------------------------------------------------------------


def test_an_outage_strands_its_share_of_the_year(one_pipe: corridor.Network,
                                                 demand: pd.DataFrame) -> None:
    result = assign(one_pipe, demand, scenario(SPRING_OUTAGE))
    periods = result.periods
    assert periods is not None and len(periods) == 12
    expected = CRUDE_T * 61 / LEAP
    assert result.totals["stranded_t"] == pytest.approx(expected, rel=1e-6)
    hit = periods[periods["stranded_t"] > 0]
    assert list(hit["start"]) == ["2024-03-01", "2024-04-01"]
    assert list(hit["changes"]) == ["close[1]", "close[1]"]
    assert periods["demand_t"].sum() == pytest.approx(result.totals["demand_t"])
    assert result.totals["demand_t"] == pytest.approx(demand["t_per_year"].sum())
    # the year's link table sums the periods; the closed link's capacity counts only open days
    ob = result.link_flows.loc["ob"]
    assert ob["flow_t_per_year"] == pytest.approx(CRUDE_T - expected, rel=1e-6)
    assert ob["capacity_t_per_year"] == pytest.approx(1.2 * CRUDE_T * (LEAP - 61) / LEAP)


def test_a_season_moves_capacity_between_months(one_pipe: corridor.Network,
                                                 demand: pd.DataFrame) -> None:
    winter = {"kind": "scale_capacity", "link": "ob", "factor": 0.5, "months": [1, 2]}
    result = assign(one_pipe, demand, scenario(winter))
    days = (31 + 29) / LEAP
    offered = 1.2 * CRUDE_T * (1 - days) + 0.6 * CRUDE_T * days
    assert result.link_flows.loc["ob", "capacity_t_per_year"] == pytest.approx(offered)
    # half the capacity (0.6 x demand) in January and February strands 40 % of their crude
    assert result.totals["stranded_t"] == pytest.approx(0.4 * CRUDE_T * days, rel=1e-6)


def test_a_periodic_year_without_events_is_the_yearly_answer(tiny: corridor.Network,
                                                             demand: pd.DataFrame) -> None:
    year = assign(tiny, demand)
    months = assign(tiny, demand, scenario(periods="month"))
    assert len(months.periods) == 12
    for key in ("cost_usd", "delivered_t", "tonne_km", "co2_t", "objective_usd"):
        assert months.totals[key] == pytest.approx(year.totals[key], rel=1e-6)
    assert months.route_split["t_per_year"].sum() == pytest.approx(
        year.route_split["t_per_year"].sum(), rel=1e-6)


def test_seasonal_demand_moves_tonnes_between_months(tiny: corridor.Network,
                                                     demand: pd.DataFrame) -> None:
    harvest = {"kind": "demand", "commodity": "crude_oil", "factor": 2.0, "months": [10]}
    result = assign(tiny, demand, scenario(harvest))
    periods = result.periods.set_index("start")
    ratio = (periods.loc["2024-10-01", "demand_t"] / periods.loc["2024-08-01", "demand_t"])
    crude, other = CRUDE_T, demand["t_per_year"].sum() - CRUDE_T
    assert ratio == pytest.approx((2 * crude + other) / (crude + other))


# -- storage -----------------------------------------------------------------------------------


def test_storage_at_the_origin_holds_crude_through_the_outage(one_pipe: corridor.Network,
                                                              demand: pd.DataFrame) -> None:
    without = assign(one_pipe, demand, scenario(SPRING_OUTAGE))
    tank = 300_000.0
    result = assign(with_storage(one_pipe, "o", tank), demand, scenario(SPRING_OUTAGE))
    waiting = result.periods["waiting_t"].to_numpy()
    assert waiting.max() == pytest.approx(tank, rel=1e-6)  # the tank fills during the outage
    assert (waiting <= tank * (1 + 1e-9)).all()
    assert waiting[-1] == pytest.approx(0.0, abs=1e-3)  # nothing waits into next year
    # the tank's crude is shipped after the outage, not stranded
    assert result.totals["stranded_t"] == pytest.approx(
        without.totals["stranded_t"] - tank, rel=1e-6)
    assert result.totals["delivered_t"] + result.totals["stranded_t"] == pytest.approx(
        result.totals["demand_t"])
    assert result.totals["waiting_t_days"] > 0


def test_tanks_at_a_closed_port_fill_from_the_pipeline_and_ship_later(
        one_pipe: corridor.Network, demand: pd.DataFrame) -> None:
    """The CPC case: the sea outlet is shut, the pipeline keeps filling the terminal's tanks,
    and the tanks are emptied by ship once the outlet is open again."""
    shut = {**SPRING_OUTAGE, "link": ["bz", "bc"]}  # the port, and rail out of Bravo
    without = assign(one_pipe, demand, scenario(shut))
    assert without.totals["stranded_t"] > 200_000.0
    result = assign(with_storage(one_pipe, "b", 200_000.0), demand, scenario(shut))
    assert result.totals["stranded_t"] == pytest.approx(
        without.totals["stranded_t"] - 200_000.0, rel=1e-6)
    periods = result.periods.set_index("start")
    assert periods.loc["2024-04-01", "waiting_t"] == pytest.approx(200_000.0, rel=1e-6)
    # after the outage the sea leg carries the month's crude plus the tanks' contents
    may = result.period_results[4].link_flows.loc["bz", "flow_t_per_year"]
    assert may == pytest.approx(CRUDE_T * 31 / LEAP + 200_000.0, rel=1e-6)


def test_storage_nobody_can_use_changes_nothing(one_pipe: corridor.Network,
                                                demand: pd.DataFrame) -> None:
    plain = assign(one_pipe, demand, scenario(SPRING_OUTAGE))
    empty = assign(with_storage(one_pipe, "o", 0.0), demand, scenario(SPRING_OUTAGE))
    for key in ("objective_usd", "stranded_t", "cost_usd"):
        assert empty.totals[key] == pytest.approx(plain.totals[key], rel=1e-6)


def test_storage_after_the_closed_link_does_not_help(one_pipe: corridor.Network,
                                                     demand: pd.DataFrame) -> None:
    plain = assign(one_pipe, demand, scenario(SPRING_OUTAGE))
    beyond = assign(with_storage(one_pipe, "z", 1e6), demand, scenario(SPRING_OUTAGE))
    assert beyond.totals["stranded_t"] == pytest.approx(plain.totals["stranded_t"], rel=1e-6)
    assert np.allclose(beyond.periods["waiting_t"], 0.0, atol=1e-3)


# -- the shipped six-week CPC outage -------------------------------------------------------------


def test_six_weeks_without_cpc_strand_a_share_of_the_yearly_outage(net: corridor.Network
                                                                   ) -> None:
    table = load_demand(network=net)
    weeks = assign(net, table, "cpc-six-weeks")
    year = assign(net, table, "cpc-outage")
    periods = weeks.periods
    closed = periods[periods["changes"] != ""]
    assert closed["days"].sum() == 42
    assert closed["start"].iloc[0] == "2025-02-17"
    assert 0 < weeks.totals["stranded_t"] <= year.totals["stranded_t"] * 42 / 365 * (1 + 1e-6)
    assert (periods.loc[periods["changes"] == "", "stranded_t"] < 1.0).all()
    storage = net.storage.groupby("node_id")["capacity_t"].sum().sum()
    assert (periods["waiting_t"] <= storage * (1 + 1e-9)).all()


def test_scenario_show_says_when_a_change_is_in_force() -> None:
    from typer.testing import CliRunner

    from corridor.cli import app

    result = CliRunner().invoke(app, ["scenario", "show", "cpc-kropotkinskaya-2025"])
    assert result.exit_code == 0, result.output
    assert "from 2025-02-17 for 95 days" in " ".join(result.output.split())
