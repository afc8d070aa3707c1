"""The command line: readable tables, JSON for programs, clear errors with exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from corridor.cli import app
from tests.conftest import TINY

runner = CliRunner()
TINY_ARGS = ["--network", str(TINY / "network"), "--costs", str(TINY / "costs")]


def test_route_table_and_json_agree() -> None:
    table = runner.invoke(app, ["route", "Alpha", "Zulu", "-k", "2", *TINY_ARGS])
    assert table.exit_code == 0, table.output
    assert "#1" in table.output and "#2" in table.output
    data = runner.invoke(app, ["route", "Alpha", "Zulu", "-k", "2", "--json", *TINY_ARGS])
    routes = json.loads(data.stdout)["routes"]
    assert [r["rank"] for r in routes] == [1, 2]
    assert f"${routes[0]['cost_usd_per_t']:,.0f}/t" in table.output
    assert routes[0]["legs"][0]["from_id"] == "a"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["route", "Alpah", "Zulu"], 2, "Did you mean 'Alpha'"),
        (["route", "Alpha", "Zulu", "--commodity", "tea"], 2, "Unknown commodity 'tea'"),
        (["route", "Alpha", "Zulu", "--avoid", "RUS,AZE"], 3, "constraint --avoid"),
        (["route", "Alpha", "Zulu", "--avoid-mode", "warp"], 2, "Unknown mode(s) warp"),
        (["route", "Alpha", "Zulu", "--optimize", "vibes"], 2, "Unknown objective"),
    ],
)
def test_user_mistakes_exit_non_zero_without_traceback(args: list[str], code: int,
                                                       message: str) -> None:
    result = runner.invoke(app, [*args, *TINY_ARGS])
    assert result.exit_code == code
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_list_options_may_repeat() -> None:
    # a repeated option adds to the list: the second country does not replace the first
    for country in ("RUS", "AZE"):
        alone = runner.invoke(app, ["route", "Alpha", "Zulu", "--avoid", country, *TINY_ARGS])
        assert alone.exit_code == 0, alone.output
    both = runner.invoke(app, ["route", "Alpha", "Zulu", "--avoid", "RUS", "--avoid", "AZE",
                               *TINY_ARGS])
    assert both.exit_code == 3 and "constraint --avoid" in both.stderr
    rail = runner.invoke(app, ["route", "Alpha", "Zulu", "--avoid-mode", "ferry",
                               "--avoid-mode", "sea", "--json", *TINY_ARGS])
    legs = json.loads(rail.stdout)["routes"][0]["legs"]
    assert {leg["mode"] for leg in legs} == {"rail"}


def test_bad_network_folder_names_the_file(tmp_path) -> None:
    (tmp_path / "node.csv").write_text("node_id,name\nx,X\n")
    result = runner.invoke(app, ["validate", str(tmp_path), "--costs", str(TINY / "costs")])
    assert result.exit_code == 2
    assert "sources.csv" in result.stderr


def test_places_search_finds_russian_names() -> None:
    result = runner.invoke(app, ["places", "Альфа", "--json", *TINY_ARGS])
    assert result.exit_code == 0
    assert [p["node_id"] for p in json.loads(result.stdout)] == ["a"]


def test_real_process_exit_code_and_stderr() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "corridor", "route", "Nowhere", "Zulu", *TINY_ARGS],
        capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert "Unknown place 'Nowhere'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_input_folders_can_come_from_the_environment() -> None:
    env = {"CORRIDOR_NETWORK": str(TINY / "network"), "CORRIDOR_COSTS": str(TINY / "costs")}
    result = runner.invoke(app, ["route", "Alpha", "Zulu", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert '"to_name": "Zulu"' in result.output
    # an option on the command line wins over the environment
    wrong = {**env, "CORRIDOR_NETWORK": "/no/such/folder"}
    result = runner.invoke(app, ["route", "Alpha", "Zulu", "--network", str(TINY / "network")],
                           env=wrong)
    assert result.exit_code == 0, result.output


def test_verbose_logs_the_engine_and_quiet_hides_warnings(tiny_copy) -> None:  # noqa: ANN001
    nodes = tiny_copy / "network" / "node.csv"
    lines = nodes.read_text(encoding="utf-8").splitlines()
    lonely = lines[1].split(",", 1)[1]  # a copy of the first node, with no link
    nodes.write_text("\n".join([*lines, f"lonely,{lonely}"]) + "\n", encoding="utf-8")
    args = ["validate", str(tiny_copy / "network"), "--costs", str(tiny_copy / "costs")]
    loud = runner.invoke(app, args)
    assert loud.exit_code == 0 and "warning:" in loud.output
    quiet = runner.invoke(app, ["-q", *args])
    assert quiet.exit_code == 0 and "warning:" not in quiet.output and "ok:" in quiet.output
    verbose = runner.invoke(app, ["-v", "flows", "--formulation", "paths", "--json", *TINY_ARGS,
                                  "--demand", str(TINY.parent / "flows" / "demand.csv")])
    assert verbose.exit_code == 0
    assert "INFO corridor.flow.paths: route generation" in verbose.output
