"""Monte Carlo risk: risk files checked with their keys, draws reproducible with any number of
processes, outages that strand exactly their share of the year, the shipped record."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import corridor
from corridor.cli import app
from corridor.demand import load_demand
from corridor.errors import DataError, InvalidOptionError
from corridor.risk import draw_year, load_risk, parse_risk, parts_of, run_risk, write_draws
from tests.conftest import CRUDE_T, FIXTURES

FLOWS = FIXTURES / "flows"
runner = CliRunner()


def risk(*events: dict, parameters: tuple[dict, ...] = (), **top: object):
    body = [{"assumption": "test", **e} for e in events]
    params = [{"assumption": "test", **p} for p in parameters]
    return parse_risk({"year": 2025, "event": body, "parameter": params, **top}, "test.toml")


PIPE_OUT = {"name": "pipe_out", "link": "ob", "factor": 0.0, "probability": 1.0,
            "duration_days": 73}


@pytest.fixture(scope="module")
def demand(tiny: corridor.Network) -> pd.DataFrame:
    return load_demand(FLOWS / "demand.csv", tiny)



@pytest.mark.parametrize(("change", "field", "words"), [
    ({"duration_days": [10, 5, 20]}, "event[1].duration_days", "low <= most likely"),
    ({"duration_days": 0}, "event[1].duration_days", "above 0"),
    ({"factor": 1.5}, "event[1].factor", "from 0 to 1"),
    ({"rate_per_year": 1.0}, "event[1]", "exactly one of rate_per_year"),
    ({"months": [13]}, "event[1].months", "month numbers"),
    ({"lnk": "ob"}, "event[1].lnk", "did you mean 'link'"),
])
def test_a_bad_event_names_its_key(change: dict, field: str, words: str) -> None:
    with pytest.raises(DataError) as error:
        risk({**PIPE_OUT, **change})
    assert error.value.field == field
    assert words in str(error.value)


def test_a_bad_parameter_and_an_empty_file_are_refused() -> None:
    with pytest.raises(DataError, match=r"low <= high"):
        risk(parameters=({"name": "sea", "tariff_mode": "sea", "range": [2.0, 1.0]},))
    with pytest.raises(DataError, match="at least one"):
        parse_risk({"year": 2025}, "empty.toml")
    with pytest.raises(DataError, match="did you mean 'cpc-record'"):
        load_risk("cpc-recrod")


def test_a_draw_depends_only_on_the_seed_and_its_number() -> None:
    chosen = risk({**PIPE_OUT, "probability": 0.5, "duration_days": [5, 10, 40]},
                  parameters=({"name": "sea", "tariff_mode": "sea", "range": [0.5, 2.0]},))
    first = [draw_year(chosen, 7, i) for i in range(20)]
    again = [draw_year(chosen, 7, i) for i in reversed(range(20))][::-1]
    for (a, fa), (b, fb) in zip(first, again, strict=True):
        assert a == b and np.array_equal(fa, fb)
    assert any(occ for occ, _ in first) and not all(occ for occ, _ in first)
    assert all(0.5 <= f[0] <= 2.0 for _, f in first)
    assert [draw_year(chosen, 8, i) for i in range(20)] != first


def test_the_parts_of_a_year_add_up_to_the_year() -> None:
    parts = parts_of([(0, 10, 30), (1, 30, 30)], 365)
    assert sum(days for _, days in parts) == 365
    by_set = dict(parts)
    assert by_set[frozenset({0, 1})] == 10 and by_set[frozenset({0})] == 20
    assert by_set[frozenset()] == 365 - 50
    # an event running past new year takes its days at the start of the same year
    wrapped = dict(parts_of([(0, 360, 20)], 365))
    assert wrapped[frozenset({0})] == 20


def test_a_certain_outage_strands_its_share_of_every_year(one_pipe: corridor.Network,
                                                          demand: pd.DataFrame) -> None:
    result = run_risk(one_pipe, demand, risk(PIPE_OUT), draws=12, seed=1)
    stranded = result.draws["stranded_t"].to_numpy()
    assert stranded == pytest.approx(np.full(12, CRUDE_T * 73 / 365), rel=1e-6)
    row = result.summary.set_index("metric").loc["stranded_t"]
    assert row["p50"] == pytest.approx(row["p99"])
    assert (result.draws["loss_usd"] > 0).all()
    ob = result.links.set_index("link_id").loc["ob"]
    assert ob["expected_lost_t"] == pytest.approx(CRUDE_T * 73 / 365, rel=1e-6)
    assert result.events.iloc[0]["share_of_years_hit"] == 1.0


def test_tariff_draws_change_cost_not_tonnes(one_pipe: corridor.Network,
                                             demand: pd.DataFrame) -> None:
    chosen = risk(parameters=({"name": "rail", "tariff_mode": "rail", "range": [0.5, 2.0]},))
    result = run_risk(one_pipe, demand, chosen, draws=10, seed=3)
    assert result.draws["stranded_t"].max() == pytest.approx(0.0, abs=1e-3)
    assert result.draws["cost_usd"].std() > 0
    cheap = result.draws.sort_values("factor_rail")
    assert cheap["cost_usd"].iloc[0] < cheap["cost_usd"].iloc[-1]
    assert result.draws["loss_usd"].abs().max() == pytest.approx(0.0, abs=1.0)


def test_the_same_seed_gives_the_same_draws_with_two_processes(
        one_pipe: corridor.Network, demand: pd.DataFrame) -> None:
    chosen = risk({**PIPE_OUT, "probability": 0.6, "duration_days": [5, 30, 90]},
                  parameters=({"name": "sea", "tariff_mode": "sea", "range": [0.5, 2.0]},))
    one = run_risk(one_pipe, demand, chosen, draws=16, seed=11)
    two = run_risk(one_pipe, demand, chosen, draws=16, seed=11, workers=2)
    pd.testing.assert_frame_equal(one.draws, two.draws)


def test_draws_are_saved_as_parquet(one_pipe: corridor.Network, demand: pd.DataFrame,
                                    tmp_path: Path) -> None:
    result = run_risk(one_pipe, demand, risk(PIPE_OUT), draws=4, seed=1)
    path = write_draws(result, tmp_path / "draws.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(path), result.draws)
    with pytest.raises(InvalidOptionError, match="parquet"):
        write_draws(result, tmp_path / "draws.xlsx")


def test_a_scenario_with_dated_changes_is_not_a_base_year(one_pipe: corridor.Network,
                                                          demand: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="dated changes") as error:
        run_risk(one_pipe, demand, risk(PIPE_OUT, scenario="cpc-six-weeks"), draws=2)
    assert error.value.field == "scenario"


def test_an_unknown_mode_is_named(one_pipe: corridor.Network, demand: pd.DataFrame) -> None:
    chosen = risk(parameters=({"name": "air", "tariff_mode": "air", "range": [0.5, 2.0]},))
    with pytest.raises(DataError, match="no link has mode 'air'"):
        run_risk(one_pipe, demand, chosen, draws=2)


def test_the_shipped_record_runs_from_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "draws.csv"
    result = runner.invoke(app, ["risk", "cpc-record", "--draws", "30", "--seed", "5",
                                 "--json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    summary = {row["metric"]: row for row in body["summary"]}
    assert summary["stranded_t"]["p99"] >= summary["stranded_t"]["p50"] >= 0
    assert {e["event"] for e in body["events"]} >= {"cpc_mooring_damage", "dostyk_jam"}
    assert len(pd.read_csv(out)) == 30


def test_the_command_line_refuses_bad_input_without_a_traceback(tmp_path: Path) -> None:
    result = runner.invoke(app, ["risk", "no-such-file"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    bad = tmp_path / "bad.toml"
    bad.write_text('[[event]]\nname = "x"\nlink = "ob"\nprobability = 2\n'
                   'duration_days = 3\nassumption = "x"\n')
    result = runner.invoke(app, ["risk", str(bad)])
    assert result.exit_code != 0 and "event[1].probability" in result.output
    result = runner.invoke(app, ["risk", "cpc-record", "--draws", "2", "--out",
                                 str(tmp_path / "d.txt")])
    assert result.exit_code != 0 and ".parquet" in result.output


def test_a_local_dask_cluster_gives_the_same_draws(one_pipe: corridor.Network,
                                                   demand: pd.DataFrame) -> None:
    pytest.importorskip("distributed")
    chosen = risk({**PIPE_OUT, "probability": 0.6, "duration_days": [5, 30, 90]},
                  parameters=({"name": "sea", "tariff_mode": "sea", "range": [0.5, 2.0]},))
    local = run_risk(one_pipe, demand, chosen, draws=16, seed=11)
    cluster = run_risk(one_pipe, demand, chosen, draws=16, seed=11, workers=2, engine="dask")
    pd.testing.assert_frame_equal(local.draws, cluster.draws)


def test_engine_options_are_checked(one_pipe: corridor.Network, demand: pd.DataFrame) -> None:
    with pytest.raises(InvalidOptionError, match="engine must be one of"):
        run_risk(one_pipe, demand, risk(PIPE_OUT), draws=2, engine="spark")
    with pytest.raises(InvalidOptionError, match="--engine dask"):
        run_risk(one_pipe, demand, risk(PIPE_OUT), draws=2, address="tcp://127.0.0.1:1")
    pytest.importorskip("distributed")
    with pytest.raises(InvalidOptionError, match="cannot reach the Dask scheduler"):
        run_risk(one_pipe, demand, risk(PIPE_OUT), draws=2, engine="dask",
                 address="tcp://127.0.0.1:9")
