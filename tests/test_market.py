"""Tariffs that follow a market index (market.csv): priced at a month or a year."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import corridor
from corridor.cli import app
from corridor.demand import load_demand
from corridor.errors import DataError, InvalidOptionError
from corridor.routing import route
from corridor.service import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

runner = CliRunner()
SEA = ("container", "sea", "", "")
REFERENCE = ("wci_shanghai_rotterdam", "2024-11-28")


def _readings(net: corridor.Network, period: str, index: str = REFERENCE[0]) -> pd.Series:
    market = net.costs.market
    mine = market[(market["index_id"] == index)
                  & market["date"].astype(str).str.startswith(period)]
    return mine["value"].astype(float)


def _reference(net: corridor.Network, index: str = REFERENCE[0]) -> float:
    market = net.costs.market
    row = market[(market["index_id"] == index) & (market["date"] == REFERENCE[1])]
    return float(row["value"].iloc[0])


@pytest.mark.parametrize("period", ["2024-08", "2023-11", "2024"])
def test_sea_tariffs_follow_the_index_and_nothing_else_moves(net: corridor.Network,
                                                             period: str) -> None:
    priced = net.priced_at(period)
    factor = _readings(net, period).mean() / _reference(net)
    modes, shipped = priced.costs.modes, net.costs.modes
    assert modes.at[SEA, "tariff_usd_per_tkm"] == pytest.approx(
        shipped.at[SEA, "tariff_usd_per_tkm"] * factor)
    follows = shipped["market_index"].fillna("") != ""
    assert follows.sum() >= 2
    pd.testing.assert_series_equal(modes.loc[~follows, "tariff_usd_per_tkm"],
                                   shipped.loc[~follows, "tariff_usd_per_tkm"])
    # one sea lane and no charges: the route's price moves with the index exactly
    options = {"avoid_modes": ["rail", "road", "ferry"]}
    before = route(net, "shanghai_port", "rotterdam_port", **options)[0]
    after = route(priced, "shanghai_port", "rotterdam_port", **options)[0]
    assert after.cost_usd_per_t == pytest.approx(before.cost_usd_per_t * factor)
    assert after.days == pytest.approx(before.days)
    # pricing again starts from the shipped tariffs, not from the priced ones
    again = priced.priced_at("2024-11").costs.modes.at[SEA, "tariff_usd_per_tkm"]
    assert again == pytest.approx(net.priced_at("2024-11").costs.modes.at[
        SEA, "tariff_usd_per_tkm"])
    assert priced.costs.priced_at == period and net.costs.priced_at == ""


def _factor(net: corridor.Network, index: str, period: str) -> float:
    return _readings(net, period, index).mean() / _reference(net, index)


@pytest.mark.parametrize("period", ["2024-01", "2023", "2025-06"])
def test_sea_lanes_are_priced_by_port_range(net: corridor.Network, period: str) -> None:
    # Asia to the Mediterranean and the Black Sea follows the Shanghai-Genoa index; Asia to
    # North Europe and to the Gulf the Shanghai-Rotterdam one
    priced = net.priced_at(period)
    sea_only = {"avoid_modes": ["rail", "road", "ferry"]}
    for origin, destination, index in (
            ("shanghai_port", "poti_port", "wci_shanghai_genoa"),
            ("busan_port", "istanbul_port", "wci_shanghai_genoa"),
            ("bandar_abbas_port", "constanta_port", "wci_shanghai_genoa"),
            ("yokohama_port", "rotterdam_port", "wci_shanghai_rotterdam"),
            ("shanghai_port", "bandar_abbas_port", "wci_shanghai_rotterdam")):
        before = route(net, origin, destination, **sea_only)[0]
        after = route(priced, origin, destination, **sea_only)[0]
        assert len(before.legs) == len(after.legs) == 1, (origin, destination)
        assert after.cost_usd_per_t == pytest.approx(
            before.cost_usd_per_t * _factor(net, index, period)), (origin, destination)
    # per km, the Mediterranean cost more than North Europe at the reference reading
    to_med = route(net, "shanghai_port", "istanbul_port", **sea_only)[0]
    to_north = route(net, "shanghai_port", "rotterdam_port", **sea_only)[0]
    assert (to_med.cost_usd_per_t / to_med.length_km
            > 1.2 * to_north.cost_usd_per_t / to_north.length_km)


@pytest.mark.parametrize("period", [None, "2024", "2025"])
def test_no_sea_route_changes_ships_to_save_money(net: corridor.Network,
                                                  period: str | None) -> None:
    # two port ranges priced apart must not make a cheaper "through rate" by changing ships
    priced = net if period is None else net.priced_at(period)
    ocean = net.nodes.index[net.nodes["sea_area"].fillna("") == "ocean"]
    sea_only = {"avoid_modes": ["rail", "road", "ferry"]}
    for origin in ocean:
        for destination in ocean:
            if origin != destination:
                best = route(priced, origin, destination, **sea_only)[0]
                assert len(best.legs) == 1, (period, best.link_ids)


def test_the_red_sea_peak_is_dearer_than_the_autumn(net: corridor.Network) -> None:
    peak = net.priced_at("2024-07").costs.modes.at[SEA, "tariff_usd_per_tkm"]
    calm = net.priced_at("2023-10").costs.modes.at[SEA, "tariff_usd_per_tkm"]
    assert peak > 5 * calm


@pytest.mark.parametrize(("period", "message"), [
    ("2024-13", "is not a month"),
    ("Sept", "is not a month"),
    ("2019-01", "no reading in 2019-01 (its readings cover 2023-01 to 2025-06)"),
])
def test_a_month_without_readings_is_refused(net: corridor.Network, period: str,
                                             message: str) -> None:
    with pytest.raises(InvalidOptionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        net.priced_at(period)


def _tiny_with_market(tiny_copy: Path, market: str, index: str = "wci",
                      date: str = "2024-11-28") -> Path:
    costs = tiny_copy / "costs"
    (costs / "market.csv").write_text(
        "index_id,date,value,unit,source_id,estimated,estimate_method,notes\n" + market)
    modes = pd.read_csv(costs / "modes.csv", dtype=str, keep_default_na=False)
    modes["market_index"] = ""
    modes["market_date"] = ""
    sea = modes["mode"] == "sea"
    modes.loc[sea, "market_index"] = index
    modes.loc[sea, "market_date"] = date
    modes.to_csv(costs / "modes.csv", index=False)
    return costs


def test_a_small_market_file_prices_the_tiny_network(tiny_copy: Path) -> None:
    costs = _tiny_with_market(tiny_copy, "wci,2024-11-28,4000,USD/FEU,hand_cost,,,\n"
                                         "wci,2024-08-22,8000,USD/FEU,hand_cost,,,\n"
                                         "wci,2024-08-29,6000,USD/FEU,hand_cost,,,\n")
    net = corridor.load_network(tiny_copy / "network", costs)
    priced = net.priced_at("2024-08")
    key = ("container", "sea", "", "")
    assert priced.costs.modes.at[key, "tariff_usd_per_tkm"] == pytest.approx(0.005 * 7000 / 4000)


@pytest.mark.parametrize(("market", "index", "date", "where", "message"), [
    ("wci,28/11/2024,4000,USD/FEU,hand_cost,,,\n", "wci", "2024-11-28", ("market.csv", "row 1",
                                                                         "date"), "not a date"),
    ("wci,2024-02-30,4000,USD/FEU,hand_cost,,,\n", "wci", "2024-11-28", ("market.csv", "row 1",
                                                                         "date"), "not a date"),
    ("wci,2024-11-28,4000,USD/FEU,nobody,,,\n", "wci", "2024-11-28", ("market.csv", "row 1",
                                                                      "source_id"), "nobody"),
    ("wci,2024-11-28,4000,USD/FEU,hand_cost,,,\nwci,2024-11-28,4100,USD/FEU,hand_cost,,,\n",
     "wci", "2024-11-28", ("market.csv", "row 2", "date"), "a second reading"),
    ("wci,2024-11-28,-5,USD/FEU,hand_cost,,,\n", "wci", "2024-11-28", ("market.csv", "row 1",
                                                                       "value"), ""),
    ("wci,2024-11-28,4000,USD/FEU,hand_cost,,,\n", "wci", "2024-11-21",
     ("modes.csv", "row", "market_date"), "no reading of wci on 2024-11-21"),
    ("wci,2024-11-28,4000,USD/FEU,hand_cost,,,\n", "scfi", "2024-11-28",
     ("modes.csv", "row", "market_date"), "no such index"),
])
def test_a_broken_market_file_names_file_row_and_field(tiny_copy: Path, market: str,
                                                       index: str, date: str,
                                                       where: tuple[str, str, str],
                                                       message: str) -> None:
    costs = _tiny_with_market(tiny_copy, market, index, date)
    with pytest.raises(DataError) as info:
        corridor.load_network(tiny_copy / "network", costs)
    text = str(info.value)
    for part in where:
        assert part in text, text
    assert message in text


def test_cli_prices_a_route_and_refuses_a_bad_month() -> None:
    args = ["route", "Shanghai", "Rotterdam", "--avoid-mode", "rail,road,ferry", "--json"]
    shipped = runner.invoke(app, args)
    peak = runner.invoke(app, [*args, "--month", "2024-08"])
    assert shipped.exit_code == 0 and peak.exit_code == 0, peak.output
    cost = [json.loads(r.stdout)["routes"][0]["cost_usd_per_t"] for r in (shipped, peak)]
    assert cost[1] > 1.5 * cost[0]
    bad = runner.invoke(app, [*args, "--month", "2019-01"])
    assert bad.exit_code == 2 and "no reading in 2019-01" in bad.output
    assert "Traceback" not in bad.output
    flows = runner.invoke(app, ["flows", "--month", "2024-13"])
    assert flows.exit_code == 2 and "is not a month" in flows.output


def test_api_prices_a_route_and_answers_a_bad_month_with_json(net: corridor.Network) -> None:
    client = TestClient(create_app(net, load_demand(network=net)),
                        raise_server_exceptions=False)
    params = {"origin": "Shanghai", "destination": "Rotterdam",
              "avoid_modes": "rail,road,ferry"}
    shipped = client.get("/api/route", params=params)
    peak = client.get("/api/route", params={**params, "month": "2024-08"})
    assert shipped.status_code == 200 and peak.status_code == 200, peak.text
    assert (peak.json()["routes"][0]["cost_usd_per_t"]
            > 1.5 * shipped.json()["routes"][0]["cost_usd_per_t"])
    bad = client.get("/api/route", params={**params, "month": "2019-01"})
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_option"
    assert "2023-01 to 2025-06" in bad.json()["message"]


def test_calibration_prices_dated_rates_and_says_they_share_the_index(
        net: corridor.Network) -> None:
    from corridor.calibration import calibrate

    table = calibrate(net, load_demand(network=net)).table.set_index("obs_id")
    peak = table.loc["wci_aug_2024"]
    assert "priced at the 2024-08 market" in peak["note"]
    assert not peak["independent"]
    assert abs(peak["error_pct"]) < 5
    # an undated tariff (a pipeline) is not priced
    assert "priced" not in table.loc["cpc_tariff", "note"]


def test_shipped_market_file_is_copied_with_the_costs(tmp_path: Path) -> None:
    from corridor.cost import COST_FILES

    assert "market.csv" in COST_FILES
    shipped = Path(corridor.__file__).parent / "data" / "costs"
    target = tmp_path / "costs"
    shutil.copytree(shipped, target)
    net = corridor.load_network(costs=target)
    assert net.costs.market_indices() == ("wci_shanghai_genoa", "wci_shanghai_rotterdam")
