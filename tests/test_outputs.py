"""Output writing: regular files only, never an input, atomic, mode kept, checked before work."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import corridor
import corridor.flow
from corridor.cli import app
from corridor.errors import OutputError
from corridor.outputs import check_file, check_folder, write_tables, write_text
from tests.conftest import FIXTURES, TINY

runner = CliRunner()
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def test_writes_atomically_and_creates_folders(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "report.html"
    assert write_text(target, "<p>one</p>") == target
    assert target.read_text() == "<p>one</p>"
    write_text(target, "<p>two</p>")
    assert target.read_text() == "<p>two</p>"
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]  # no temp files left


def test_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "private.html"
    target.write_text("old")
    target.chmod(0o600)
    write_text(target, "new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text() == "new"


def test_new_file_gets_the_usual_mode(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        write_text(tmp_path / "new.html", "x")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "new.html").stat().st_mode) == 0o644


@pytest.mark.parametrize("target", ["/dev/null", "/dev/zero"])
def test_devices_are_refused(target: str) -> None:
    with pytest.raises(OutputError, match="not a regular file"):
        check_file(target)


def test_fifo_and_folder_and_empty_name_are_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match="not a regular file"):
        write_text(fifo, "x")
    with pytest.raises(OutputError, match="is a folder"):
        write_text(tmp_path, "x")
    with pytest.raises(OutputError, match="names no file"):
        check_file("")
    with pytest.raises(OutputError, match="names no file"):
        check_file(str(tmp_path) + "/")


def test_a_file_where_a_folder_is_needed_is_refused(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("x")
    with pytest.raises(OutputError, match="is not a folder"):
        check_file(tmp_path / "plain" / "deeper" / "report.html")
    with pytest.raises(OutputError, match="is not a folder"):
        check_folder(tmp_path / "plain", ["flows.csv"])


@pytest.mark.skipif(IS_ROOT, reason="root may write into read-only folders")
def test_read_only_folder_and_file_are_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "old.html").write_text("x")
    (locked / "old.html").chmod(0o444)
    locked.chmod(0o555)
    try:
        with pytest.raises(OutputError, match="not writable|read-only"):
            check_file(locked / "new.html")
        with pytest.raises(OutputError, match="read-only"):
            check_file(locked / "old.html")
    finally:
        locked.chmod(0o755)


def test_inputs_are_never_targets_even_through_a_link(tmp_path: Path) -> None:
    source = tmp_path / "link.csv"
    source.write_text("keep me")
    alias = tmp_path / "alias.csv"
    alias.symlink_to(source)
    hard = tmp_path / "hard.csv"
    os.link(source, hard)
    for target in (source, alias, hard, tmp_path / "." / "link.csv"):
        with pytest.raises(OutputError, match="is an input of this run"):
            write_text(target, "overwritten", inputs=[source])
    assert source.read_text() == "keep me"


def test_a_symlink_target_is_replaced_and_the_link_kept(tmp_path: Path) -> None:
    real = tmp_path / "real.html"
    real.write_text("old")
    link = tmp_path / "link.html"
    link.symlink_to(real)
    write_text(link, "new")
    assert link.is_symlink() and real.read_text() == "new"


def test_tables_are_all_checked_before_the_first_is_written(tmp_path: Path) -> None:
    (tmp_path / "b.csv").mkdir()  # the second target is a folder
    with pytest.raises(OutputError, match="b.csv is a folder"):
        write_tables(tmp_path, {"a.csv": pd.DataFrame({"x": [1]}),
                                "b.csv": pd.DataFrame({"x": [2]})})
    assert not (tmp_path / "a.csv").exists()


# -- the command line uses it everywhere, before the work -------------------------------------


@pytest.fixture()
def no_solve(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail loudly if a command reaches the solver: targets must be checked before."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the solve started before the output was checked")

    monkeypatch.setattr(corridor.flow, "assign", refuse)
    monkeypatch.setattr(corridor.flow, "solve_model", refuse)


def _tiny_copy(tmp_path: Path) -> tuple[Path, list[str]]:
    folder = tmp_path / "tiny"
    shutil.copytree(TINY, folder)
    shutil.copy(FIXTURES / "flows" / "demand.csv", folder / "demand.csv")
    shutil.copy(FIXTURES / "flows" / "sources.csv", folder / "sources.csv")
    return folder, ["--network", str(folder / "network"), "--costs", str(folder / "costs"),
                    "--demand", str(folder / "demand.csv")]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("command", [
    ["report", "baseline", "-o", "{net}/link.csv", "--critical-top", "0"],
    ["report", "baseline", "-o", "{costs}/modes.csv", "--critical-top", "0"],
    ["report", "baseline", "-o", "{demand}", "--critical-top", "0"],
    ["flows", "--csv", "{net}/.."],  # its link_flows.csv is a link to an input (set below)
    ["report", "baseline", "-o", "/dev/null", "--critical-top", "0"],
    ["report", "baseline", "-o", "{net}", "--critical-top", "0"],
    ["demo", "-o", "/dev/null/out", "--critical-top", "0"],
    ["critical", "--csv", "{net}/node.csv"],
])
def test_commands_refuse_bad_targets_before_solving(tmp_path: Path, command: list[str],
                                                    no_solve: None) -> None:
    folder, options = _tiny_copy(tmp_path)
    before = _snapshot(folder)
    args = [a.format(net=folder / "network", costs=folder / "costs",
                     demand=folder / "demand.csv") for a in command]
    if args[0] == "flows":
        (folder / "link_flows.csv").symlink_to(folder / "network" / "link.csv")
        before = _snapshot(folder)
    result = runner.invoke(app, [*args, *options])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error:")
    assert isinstance(result.exception, SystemExit), result.exception
    assert _snapshot(folder) == before


def test_report_scenario_file_is_protected_too(tmp_path: Path, no_solve: None) -> None:
    scenario = tmp_path / "what-if.toml"
    shutil.copy(FIXTURES / "flows" / "scenarios" / "close-pipe.toml", scenario)
    text = scenario.read_bytes()
    _, options = _tiny_copy(tmp_path)
    result = runner.invoke(app, ["report", str(scenario), "-o", str(scenario),
                                 "--critical-top", "0", *options])
    assert result.exit_code == 2 and "is an input of this run" in result.stderr
    assert scenario.read_bytes() == text


def test_report_keeps_the_mode_of_the_file_it_replaces(tmp_path: Path) -> None:
    _, options = _tiny_copy(tmp_path)
    target = tmp_path / "report.html"
    target.write_text("old")
    target.chmod(0o600)
    result = runner.invoke(app, ["report", "baseline", "-o", str(target), "--critical-top", "0",
                                 *options])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text().startswith("<!doctype html>")


def test_flow_result_to_csv_protects_the_network(tmp_path: Path) -> None:
    folder, _ = _tiny_copy(tmp_path)
    net = corridor.load_network(folder / "network", folder / "costs")
    from corridor.demand import load_demand

    result = corridor.flow.assign(net, load_demand(folder / "demand.csv", net))
    (folder / "network" / "od.csv").write_text("not an input")
    written = result.to_csv(folder / "out")
    assert sorted(p.name for p in written) == sorted(corridor.flow.CSV_FILES)
    with pytest.raises(OutputError, match="is an input of this run"):
        result.to_csv(folder / "network2", inputs=[folder / "network2" / "od.csv"])
