"""Hostile and careless input: one regression test per class of fault, never a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import corridor
from corridor import limits
from corridor.cli import app
from corridor.demand import load_demand
from corridor.errors import DataError, UnknownPlaceError
from corridor.report import build_report, render_report, web_link
from corridor.scenario import apply_scenario, load_scenario, parse_scenario
from corridor.tables import read_rows
from tests.conftest import FIXTURES, TINY

runner = CliRunner()
TINY_ARGS = ["--network", str(TINY / "network"), "--costs", str(TINY / "costs")]


def _run(args: list[str]):
    result = runner.invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        f"traceback for {args}: {result.exception!r}"
    return result


def _copy(tmp_path: Path, name: str = "tiny") -> Path:
    target = tmp_path / name
    shutil.copytree(TINY, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# -- console markup ---------------------------------------------------------------------------


@pytest.mark.parametrize("place", ["[/x]", "[bold]Alpha[/bold]", "Alpha[x]", ":smile:"])
def test_markup_in_arguments_is_printed_literally(place: str) -> None:
    result = _run(["route", place, "Zulu", *TINY_ARGS])
    assert result.exit_code == 2
    assert f"Unknown place {place!r}" in result.stderr


def test_markup_in_flag_values_is_printed_literally() -> None:
    result = _run(["route", "Alpha", "Zulu", "--avoid-mode", "[/red]", *TINY_ARGS])
    assert result.exit_code == 2 and "[/red]" in result.stderr


def test_markup_in_data_and_folder_names_is_printed_literally(tmp_path: Path) -> None:
    folder = _copy(tmp_path, "net[/x]")
    _edit(folder / "network" / "node.csv", "a,Alpha,", "a,[/b]Alpha [red],")
    result = _run(["route", "a", "Zulu", "--network", str(folder / "network"),
                   "--costs", str(folder / "costs")])
    assert result.exit_code == 0, result.output
    assert "[/b]Alpha [red]" in result.stdout
    result = _run(["validate", str(folder / "network"), "--costs", str(folder / "costs")])
    assert result.exit_code == 0 and result.stdout.startswith("ok:")
    _edit(folder / "network" / "link.csv", "ab,a,b,0,rail,1000", "ab,a,b,0,rail,-1")
    result = _run(["validate", str(folder / "network"), "--costs", str(folder / "costs")])
    assert result.exit_code == 2 and "net[/x]" in result.stderr


def test_markup_in_scenario_text_is_printed_literally(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('title = "[/x] closes [bold]"\ndescription = "[red]"\n[[close]]\n'
                    'link = "ab"\nassumption = "[/i]"\n', encoding="utf-8")
    result = _run(["scenario", "show", str(path)])
    assert result.exit_code == 0, result.output
    assert "[/x] closes [bold]" in result.stdout and "[/i]" in result.stdout


# -- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("file", "old", "new", "field", "unit"), [
    ("network/link.csv", "ab,a,b,0,rail,1000,published,1520,KAZ;RUS,North,,",
     "ab,a,b,0,rail,1000,published,1520,KAZ;RUS,North,1e308,", "capacity_t_per_year", "t/year"),
    ("network/link.csv", "ab,a,b,0,rail,1000,", "ab,a,b,0,rail," + "9" * 400 + ",",
     "length_km", "km"),
    ("network/link.csv", "ab,a,b,0,rail,1000,published,1520,KAZ;RUS,North,,,,",
     "ab,a,b,0,rail,1000,published,1520,KAZ;RUS,North,,,1e9,", "time_days", "days"),
    ("network/link.csv", "ab,a,b,0,rail,1000,", "ab,a,b,0,rail,nan,", "length_km", ""),
    ("network/link.csv", "ab,a,b,0,rail,1000,published,1520",
     "ab,a,b,0,rail,1000,published," + "1" * 400, "gauge_mm", ""),
    ("network/node.csv", "a,Alpha,Альфа,Alfa,KAZ,70.0,", "a,Alpha,Альфа,Alfa,KAZ,inf,", "lon",
     ""),
])
def test_numbers_out_of_range_in_files_name_file_row_field_and_unit(
        tmp_path: Path, file: str, old: str, new: str, field: str, unit: str) -> None:
    folder = _copy(tmp_path)
    _edit(folder / file, old, new)
    with pytest.raises(DataError) as info:
        corridor.load_network(folder / "network", folder / "costs")
    assert (info.value.file, info.value.row, info.value.field) == (
        str(folder / file), 1, field)
    assert unit in str(info.value)
    result = _run(["validate", str(folder / "network"), "--costs", str(folder / "costs")])
    assert result.exit_code == 2 and field in result.stderr


def test_cost_model_numbers_are_bounded(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    modes = folder / "costs" / "modes.csv"
    lines = modes.read_text().splitlines()
    header = lines[0].split(",")
    first = lines[1].split(",")
    first[header.index("tariff_usd_per_tkm")] = "1e300"
    modes.write_text("\n".join([lines[0], ",".join(first), *lines[2:]]) + "\n")
    with pytest.raises(DataError, match="USD/t-km is outside the allowed range") as info:
        corridor.load_network(folder / "network", folder / "costs")
    assert info.value.field == "tariff_usd_per_tkm" and info.value.row == 1


@pytest.mark.parametrize(("body", "field"), [
    ('[[multiply_cost]]\nmode = "rail"\nfactor = 1e308\nassumption = "x"',
     "multiply_cost[1].factor"),
    ('[[multiply_time]]\nmode = "rail"\nfactor = ' + "9" * 400 + '\nassumption = "x"',
     "multiply_time[1].factor"),
    ('[[demand]]\norigin = "a"\ndestination = "z"\ncommodity = "container"\n'
     't_per_year = 1e300\nassumption = "x"', "demand[1].t_per_year"),
    ('[[demand]]\norigin = "a"\ndestination = "z"\ncommodity = "container"\n'
     't_per_year = 5\nyear = "soon"\nassumption = "x"', "demand[1].year"),
    ('[[scale_capacity]]\nlink = "ab"\ncapacity_t_per_year = 1e11\nassumption = "x"',
     "scale_capacity[1].capacity_t_per_year"),
    ('year = ' + "2" * 30, "year"),
])
def test_numbers_out_of_range_in_scenarios(tmp_path: Path, body: str, field: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(body + "\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_scenario(path)
    assert info.value.field == field
    result = _run(["scenario", "show", str(path)])
    assert result.exit_code == 2 and field in result.stderr


def test_compounded_factors_stay_in_range(tiny: corridor.Network) -> None:
    changes = [{"mode": "rail", "factor": 1000, "assumption": "x"}] * 3
    scenario = parse_scenario({"multiply_cost": changes})
    with pytest.raises(DataError, match="becomes 1e\\+09") as info:
        apply_scenario(tiny, scenario, load_demand(
            FIXTURES / "flows" / "demand.csv", tiny))
    assert info.value.field == "multiply_cost[3].factor"


@pytest.mark.parametrize("args", [
    ["route", "Alpha", "Zulu", "-k", "1" + "0" * 30],
    ["route", "Alpha", "Zulu", "-k", "0"],
    ["critical", "--top", "-5"],
    ["critical", "--workers", "100000"],
    ["serve", "--port", "70000"],
])
def test_numbers_out_of_range_on_the_command_line(args: list[str]) -> None:
    result = _run([*args, *TINY_ARGS])
    assert result.exit_code == 2
    assert "range" in result.output or "less than" in result.output or \
        "greater than" in result.output


def test_every_range_is_documented() -> None:
    text = (Path(__file__).parents[1] / "docs" / "security.md").read_text(encoding="utf-8")
    for name, allowed in limits.RANGES.items():
        assert f"| {name} | {allowed.describe()} |" in text, name


# -- smaller faults ---------------------------------------------------------------------------


def test_validate_refuses_an_empty_network(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    for name in ("node.csv", "link.csv"):
        path = folder / "network" / name
        path.write_text(path.read_text().splitlines()[0] + "\n")
    result = _run(["validate", str(folder / "network"), "--costs", str(folder / "costs")])
    assert result.exit_code == 2
    assert "node.csv" in result.stderr and "at least 1" in result.stderr


def test_validate_prints_each_warning_once(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    nodes = folder / "network" / "node.csv"
    nodes.write_text(nodes.read_text() + "lone,Lonely,,,KAZ,60.0,40.0,city,hand,,,\n")
    links = folder / "network" / "link.csv"
    links.write_text(links.read_text() + "xl,lone,o,0,road,10,published,,KAZ,,,,,,,operating,"
                     "hand,,,\n")
    nodes.write_text(nodes.read_text() + "far,Far,,,KAZ,61.0,41.0,city,hand,,,\n"
                     "farther,Farther,,,KAZ,61.5,41.5,city,hand,,,\n")
    links.write_text(links.read_text() + "ff,far,farther,0,road,10,published,,KAZ,,,,,,,"
                     "operating,hand,,,\n")
    result = _run(["validate", str(folder / "network"), "--costs", str(folder / "costs")])
    assert result.exit_code == 0, result.output
    assert result.output.count("disconnected pieces") == 1


@pytest.mark.parametrize(("line", "row", "field", "message"), [
    ("b,Bravo,Браво,,RUS,60.0,50.0,city,hand,,,,extra", 2, "notes", "extra value 'extra'"),
    ("b,Bravo,Браво,,RUS,60.0,50.0,city", 2, "source_id", "no value for 'source_id'"),
    ('b,Bravo,"Браво,,RUS,60.0,50.0,city,hand,,,', 2, "name_ru", "unexpected end of data"),
    ('b,Bravo,Браво,"AKA"x,RUS,60.0,50.0,city,hand,,,', 2, "aliases", "expected after"),
])
def test_malformed_rows_name_the_right_row_and_field(tmp_path: Path, line: str, row: int,
                                                     field: str, message: str) -> None:
    folder = _copy(tmp_path)
    path = folder / "network" / "node.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = line
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_rows(path)
    assert (info.value.row, info.value.field) == (row, field), str(info.value)
    assert message in str(info.value)


def test_non_utf8_and_binary_files_are_data_errors(tmp_path: Path) -> None:
    scenario = tmp_path / "latin.toml"
    scenario.write_bytes('title = "caf\xe9"\n'.encode("latin-1"))
    result = _run(["scenario", "show", str(scenario)])
    assert result.exit_code == 2 and "not UTF-8" in result.stderr and "latin.toml" in \
        result.stderr
    folder = _copy(tmp_path)
    (folder / "network" / "node.csv").write_bytes(b"node_id,name\n\xff\xfe\x00\x00\n")
    result = _run(["validate", str(folder / "network"), "--costs", str(folder / "costs")])
    assert result.exit_code == 2 and "node.csv" in result.stderr


def test_avoiding_the_transfer_mode_is_refused() -> None:
    result = _run(["route", "Alpha", "Zulu", "--avoid-mode", "transfer", *TINY_ARGS])
    assert result.exit_code == 2 and "'transfer' cannot be avoided" in result.stderr


def test_suggestions_never_repeat(tiny: corridor.Network) -> None:
    with pytest.raises(UnknownPlaceError) as info:
        tiny.resolve("Alph")
    assert info.value.suggestions and len(set(info.value.suggestions)) == len(
        info.value.suggestions)
    error = UnknownPlaceError("x", ["Alpha", "Alpha", "Bravo"])
    assert error.suggestions == ["Alpha", "Bravo"] and str(error).count("'Alpha'") == 1


@pytest.mark.parametrize(("url", "live"), [
    ("https://example.org/report.pdf", True),
    ("http://example.org", True),
    ("javascript:alert(1)", False),
    ("JavaScript:alert(1)", False),
    ("data:text/html,<script>1</script>", False),
    ("//example.org", False),
    ("https://exa mple.org", False),
    ("", False),
])
def test_report_links_only_web_addresses(url: str, live: bool) -> None:
    assert bool(web_link(url)) is live


def test_report_shows_a_javascript_url_as_text(tiny_copy: Path) -> None:
    sources = tiny_copy / "network" / "sources.csv"
    sources.write_text(sources.read_text().replace(
        "Hand-made test network,Corridor tests,,", "Hand-made test network,Corridor tests,"
        "javascript:alert(document.cookie),"), encoding="utf-8")
    net = corridor.load_network(tiny_copy / "network", tiny_copy / "costs")
    demand = load_demand(FIXTURES / "flows" / "demand.csv", net)
    html = render_report(build_report(net, None, None, demand, critical_top=0))
    assert 'href="javascript:' not in html and "javascript:alert(document.cookie)" in html
