"""The model against observed trade: loading observations, measuring them, and the targets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import corridor
from corridor.calibration import calibrate, summarise
from corridor.cli import app
from corridor.demand import load_demand
from corridor.errors import DataError
from corridor.observed import load_observations, observed_folder
from tests.conftest import FIXTURES

runner = CliRunner()
HEADERS = {
    "volumes.csv": "obs_id,what,element,commodity,origin_country,destination_country,value,unit,"
                   "period,source_id,notes",
    "shares.csv": "obs_id,what,numerator,denominator,commodity,origin_country,"
                  "destination_country,value_pct,period,source_id,notes",
    "times.csv": "obs_id,what,origin,destination,via,commodity,modes,avoid,service,days_low,"
                 "days_high,basis,period,source_id,notes",
    "rates.csv": "obs_id,what,origin,destination,via,commodity,modes,avoid,service,value_low,"
                 "value_high,unit,basis,period,source_id,notes",
    "lengths.csv": "obs_id,what,origin,destination,via,commodity,modes,avoid,service,km,period,"
                   "source_id,notes",
}


def _tiny_observations(tmp_path: Path, **rows: list[str]) -> Path:
    folder = tmp_path / "observed"
    folder.mkdir()
    (folder / "sources.csv").write_text(
        "source_id,title,publisher,url,year,used_for\n"
        "obs_hand,Hand-made observations,Corridor tests,https://example.org/obs,2026,tests\n")
    (folder / "units.csv").write_text("unit,tonnes,source_id,notes\nt,1,obs_hand,\n"
                                      "Mt,1000000,obs_hand,\n")
    for name, header in HEADERS.items():
        (folder / name).write_text("\n".join([header, *rows.get(name.split(".")[0], [])])
                                   + "\n")
    return folder


@pytest.fixture()
def tiny_inputs(tiny: corridor.Network):
    return tiny, load_demand(FIXTURES / "flows" / "demand.csv", tiny)


def test_measures_known_answers_on_the_tiny_network(tmp_path: Path, tiny_inputs) -> None:
    net, demand = tiny_inputs
    folder = _tiny_observations(
        tmp_path,
        volumes=["north_rail,North line,link:cd,container,,,1.2,Mt,2024,obs_hand,",
                 "pipe_half,Pipeline half year,link:ob,crude_oil,,,2.5,Mt,2024-01/2024-06,"
                 "obs_hand,"],
        shares=["north_share,North share of containers,link:cd,od:*,container,,,80,2024,"
                "obs_hand,"],
        lengths=["north_km,North line,a,z,,container,rail,,,3010,2024,obs_hand,"],
        times=["north_days,North line,a,z,,container,rail,,,10,14,terminal,2024,obs_hand,"],
        rates=["north_rate,North rate,a,z,,container,rail,,,190.5,190.5,USD/t,tariff,2024,"
               "obs_hand,",
               "north_haul,North line haul,a,z,,container,rail,,,150.5,150.5,USD/t,line_haul,"
               "2024,obs_hand,"],
    )
    result = calibrate(net, demand, observations=load_observations(folder, net))
    table = result.table.set_index("obs_id")
    # a->z containers (1 Mt) run the North line; a->q (0.2 Mt) goes by the Middle line
    assert table.at["north_rail", "modelled"] == pytest.approx(1.0)
    assert table.at["north_rail", "error_pct"] == pytest.approx(100 * (1.0 - 1.2) / 1.2)
    assert table.at["pipe_half", "modelled"] == pytest.approx(2.5)  # 5 Mt/yr x 6/12
    assert table.at["north_share", "modelled"] == pytest.approx(100 / 1.2)
    assert table.at["north_km", "modelled"] == pytest.approx(3010)
    assert table.at["north_rate", "modelled"] == pytest.approx(190.5)
    # carriage alone: 3,010 km at 0.05 USD/t-km, without the border and transfer charges
    assert table.at["north_haul", "modelled"] == pytest.approx(0.05 * 3010)
    assert bool(table.at["north_rate", "within_15"])
    summary = result.summary.set_index(["kind", "subset"])
    assert summary.at[("length", "all"), "within_15_pct"] == 100.0
    assert summary.at[("volume", "all"), "count"] == 2


def test_an_observation_citing_an_input_is_not_independent(tmp_path: Path, tiny_inputs) -> None:
    net, demand = tiny_inputs
    folder = _tiny_observations(
        tmp_path, lengths=["north_km,North line,a,z,,container,rail,,,3010,2024,hand,",
                           "own_km,North line,a,z,,container,rail,,,3010,2024,obs_hand,"])
    table = calibrate(net, demand, observations=load_observations(folder, net)).table
    independent = dict(zip(table["obs_id"], table["independent"], strict=True))
    assert independent == {"north_km": False, "own_km": True}  # 'hand' sources the links


def test_summary_weights_errors_in_the_base_unit() -> None:
    table = pd.DataFrame({
        "kind": ["volume", "volume"], "observed": [1.0, 1000.0], "modelled": [2.0, 1000.0],
        "error": [1.0, 0.0], "error_pct": [100.0, 0.0], "to_base": [1e6, 1.0],
        "within_15": [False, True], "within_30": [False, True], "independent": [True, True]})
    row = summarise(table).iloc[0]
    # 1 Mt wrong out of 1 Mt + 1,000 t observed: weighted by tonnes, not by the raw numbers
    assert row["wape_pct"] == pytest.approx(100 * 1e6 / (1e6 + 1000))
    assert row["within_15_pct"] == 50.0


@pytest.mark.parametrize(("table", "line", "field", "message"), [
    ("volumes", "v,What,link:nowhere,,,,1,Mt,2024,obs_hand,", "element", "unknown link id"),
    ("volumes", "v,What,pipe:ob,,,,1,Mt,2024,obs_hand,", "element", "is not an element"),
    ("volumes", "v,What,link:ob,,,,1,parsecs,2024,obs_hand,", "unit", "unknown unit"),
    ("volumes", "v,What,link:ob,,,,1,Mt,soon,obs_hand,", "period", "is not a period"),
    ("volumes", "v,What,link:ob,,,,1,Mt,2024-13,obs_hand,", "period", "month outside"),
    ("volumes", "v,What,link:ob,,,,-1,Mt,2024,obs_hand,", "value", "outside the allowed range"),
    ("times", "t,S,a,zz,,container,rail,,,1,2,terminal,2024,obs_hand,", "destination",
     "unknown node id"),
    ("times", "t,S,a,z,,container,rail,,,5,2,terminal,2024,obs_hand,", "days_high", "below"),
    ("rates", "r,S,a,z,,container,rail,,,1,2,EUR/t,tariff,2024,obs_hand,", "unit",
     "unknown rate unit"),
    ("lengths", "l,L,a,z,,tea,rail,,,1,2024,obs_hand,", "commodity", "unknown commodity"),
    ("lengths", "l,L,a,z,,container,rail,,,1,2024,nobody,", "source_id", "unknown source id"),
    ("times", "t,S,a,z,,container,rail,,overnight,1,2,terminal,2024,obs_hand,", "service",
     "unknown service"),
])
def test_bad_observations_name_file_row_and_field(tmp_path: Path, tiny: corridor.Network,
                                                  table: str, line: str, field: str,
                                                  message: str) -> None:
    folder = _tiny_observations(tmp_path, **{table: [line]})
    with pytest.raises(DataError) as info:
        load_observations(folder, tiny)
    assert (info.value.row, info.value.field) == (1, field)
    assert info.value.file.endswith(f"{table}.csv") and message in str(info.value)


def test_an_obs_id_is_unique_across_tables(tmp_path: Path, tiny: corridor.Network) -> None:
    folder = _tiny_observations(
        tmp_path, volumes=["same,What,link:ob,,,,1,Mt,2024,obs_hand,"],
        lengths=["same,L,a,z,,container,rail,,,1,2024,obs_hand,"])
    with pytest.raises(DataError, match="used twice"):
        load_observations(folder, tiny)


# -- the shipped model against the shipped observations -----------------------------------------


@pytest.fixture(scope="module")
def shipped() -> object:
    net = corridor.load_network()
    return calibrate(net, load_demand(network=net))


def test_shipped_observations_cover_every_kind(shipped) -> None:
    counts = shipped.table.groupby("kind").size()
    assert counts.sum() >= 80
    assert all(counts[kind] >= 10 for kind in ("volume", "time", "rate", "length"))
    assert shipped.table["source_id"].str.len().gt(0).all()


def test_volumes_meet_the_targets(shipped) -> None:
    volume = shipped.kind("volume")
    assert volume["wape_pct"] <= 20.0, volume
    assert volume["within_30_pct"] >= 75.0, volume


def test_cpc_share_is_within_five_points(shipped) -> None:
    row = shipped.table.set_index("obs_id").loc["cpc_share_2024"]
    assert abs(row["modelled"] - row["observed"]) <= 5.0, row


def test_lengths_meet_the_target(shipped) -> None:
    assert shipped.kind("length")["within_15_pct"] >= 85.0
    assert shipped.kind("length", independent=True)["within_15_pct"] >= 85.0


def test_times_meet_the_target(shipped) -> None:
    time = shipped.kind("time")
    assert time["within_15_pct"] >= 85.0 and time["wape_pct"] <= 10.0, time


def test_rates_do_not_fall_below_the_level_reached(shipped) -> None:
    # the target is 85 % within ±15 %; not met yet (docs/calibration.md says why), so this
    # holds the level reached and a data change that loses ground fails
    rate = shipped.kind("rate")
    assert rate["within_15_pct"] >= 75.0 and rate["wape_pct"] <= 14.0, rate


def test_fitted_schedules_are_kept(shipped) -> None:
    table = shipped.table.set_index("obs_id")
    for obs_id in ("erai_transit_2024", "erai_rate_2024", "china_poland_2024",
                   "altynkol_aktau_2024", "xian_duisburg_express_2024"):
        assert abs(table.at[obs_id, "error_pct"]) <= 5.0, obs_id
        assert not table.at[obs_id, "independent"], obs_id


def test_calibration_command_prints_tables_and_writes_csv(tmp_path: Path) -> None:
    result = runner.invoke(app, ["calibration", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {row["kind"] for row in data["summary"]} >= {"volume", "time", "rate", "length"}
    out = tmp_path / "cal"
    result = runner.invoke(app, ["calibration", "--csv", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "calibration.csv").is_file() and (out / "calibration_summary.csv").is_file()
    copy = tmp_path / "observed"
    shutil.copytree(observed_folder(), copy)
    (copy / "calibration.csv").symlink_to(copy / "volumes.csv")
    result = runner.invoke(app, ["calibration", "--observations", str(copy), "--csv", str(copy)])
    assert result.exit_code == 2 and "is an input of this run" in result.stderr


def test_calibration_under_a_scenario_reports_it(tmp_path: Path) -> None:
    folder = tmp_path / "observed"
    shutil.copytree(observed_folder(), folder)
    result = runner.invoke(app, ["calibration", "-s", "cpc-outage", "--json",
                                 "--observations", str(folder)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["scenario"] == "cpc-outage"
    cpc = next(r for r in data["observations"] if r["obs_id"] == "cpc_kazakh_2024")
    assert cpc["modelled"] == 0.0
