"""Generators of hostile input, shared by the fuzz tests and ``scripts/fuzz_campaign.py``.

Each generator is a Hypothesis strategy; each ``check_*`` function runs one generated case
against the real loaders, command line or API and raises AssertionError when Corridor answers
with anything but a result or a clear error (a traceback, a 5xx, a changed input file).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

from corridor.errors import CorridorError, DataError

FIXTURES = Path(__file__).parent / "fixtures"
TINY = FIXTURES / "tiny"
FLOWS = FIXTURES / "flows"

HOSTILE_TEXT = [
    "", " ", "[/x]", "[bold]", "[red]x[/]", ":smile:", "nan", "NaN", "inf", "-inf", "1e308",
    "-1e308", "1e309", "9" * 400, "-" + "9" * 400, "-0", "0x10", "1_000", "1,5", "true", "\x00",
    "\u202e", "💥", "a,b", '"', '""', "'", "\n", "\r\n", "../../etc/passwd", "/dev/null",
    "/dev/zero", "NUL", "%s%s", "{0}", "<script>alert(1)</script>", "javascript:alert(1)",
    "Алматы", "a" * 5000, "-1", "1e-320", "2147483648", "-9223372036854775809", "0", "1",
    "2024", "RUS", "rail", "transfer", "container", "crude_oil", "a", "z", "Alpha", "Zulu",
]


def hostile_text() -> st.SearchStrategy[str]:
    """Short texts meant to break parsers, consoles and number handling."""
    return st.one_of(
        st.sampled_from(HOSTILE_TEXT),
        st.text(max_size=20),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.integers(min_value=-(10 ** 40), max_value=10 ** 40).map(str),
    )


# -- data files ---------------------------------------------------------------------------------

DATA_FILES = ("network/node.csv", "network/link.csv", "network/sources.csv",
              "costs/commodities.csv", "costs/modes.csv", "costs/transfers.csv",
              "costs/sources.csv", "demand.csv", "sources.csv")
STRUCTURAL = ("extra_field", "drop_field", "unclosed_quote", "bad_bytes", "truncate", "empty",
              "duplicate_header", "blank_lines", "bom", "nul")


@dataclass(frozen=True)
class Mutation:
    """One change to one file of a copy of the tiny network and demand."""

    file: str
    kind: str  # "cell" or one of STRUCTURAL
    row: int  # 1-based data row (cell and row-level kinds)
    column: int
    value: str

    def apply(self, folder: Path) -> None:
        path = folder / self.file
        text = path.read_text(encoding="utf-8")
        rows = list(csv.reader(io.StringIO(text)))
        row = min(self.row, max(len(rows) - 1, 1))
        column = self.column % len(rows[0])
        if self.kind == "cell":
            rows[row][column] = self.value
            path.write_text(_csv(rows), encoding="utf-8")
        elif self.kind == "extra_field":
            rows[row].append(self.value)
            path.write_text(_csv(rows), encoding="utf-8")
        elif self.kind == "drop_field":
            del rows[row][column]
            path.write_text(_csv(rows), encoding="utf-8")
        elif self.kind == "unclosed_quote":
            lines = text.splitlines()
            cells = lines[row].split(",")
            cells[column % len(cells)] = '"' + cells[column % len(cells)]
            lines[row] = ",".join(cells)
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        elif self.kind == "bad_bytes":
            data = text.encode("utf-8")
            cut = (self.column * 7919) % max(len(data), 1)
            path.write_bytes(data[:cut] + b"\xff\xfe\xc3" + data[cut:])
        elif self.kind == "truncate":
            data = text.encode("utf-8")
            path.write_bytes(data[:(self.column * 7919) % max(len(data), 1)])
        elif self.kind == "empty":
            path.write_bytes(b"")
        elif self.kind == "duplicate_header":
            rows[0][column] = rows[0][(column + 1) % len(rows[0])]
            path.write_text(_csv(rows), encoding="utf-8")
        elif self.kind == "blank_lines":
            path.write_text(text.replace("\n", "\n\n\n"), encoding="utf-8")
        elif self.kind == "bom":
            path.write_text("\ufeff" + text, encoding="utf-8")
        elif self.kind == "nul":
            path.write_text(text.replace(",", ",\x00", 1), encoding="utf-8")


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def mutations() -> st.SearchStrategy[Mutation]:
    """One cell replaced by hostile text (mostly) or one structural fault in one file."""
    return st.builds(
        Mutation,
        file=st.sampled_from(DATA_FILES),
        kind=st.one_of(st.just("cell"), st.just("cell"), st.just("cell"),
                       st.sampled_from(STRUCTURAL)),
        row=st.integers(min_value=1, max_value=12),
        column=st.integers(min_value=0, max_value=30),
        value=hostile_text(),
    )


def make_workspace(folder: Path) -> Path:
    """A writable copy of the tiny network, its costs, a demand table and two scenarios."""
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(TINY, folder)
    shutil.copy(FLOWS / "demand.csv", folder / "demand.csv")
    shutil.copy(FLOWS / "sources.csv", folder / "sources.csv")
    shutil.copytree(FLOWS / "scenarios", folder / "scenarios")
    return folder


def snapshot(folder: Path) -> dict[str, str]:
    """A digest of every file under ``folder`` (inputs must never change)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def check_loaders(folder: Path, mutation: Mutation) -> str:
    """Load the mutated copy; anything but success or a DataError naming the file fails.

    Returns ``"ok"`` or ``"error"``.
    """
    import corridor
    from corridor.demand import load_demand

    mutation.apply(folder)
    try:
        net = corridor.load_network(folder / "network", folder / "costs")
        load_demand(folder / "demand.csv", net)
    except DataError as exc:
        assert exc.file, f"{mutation}: error names no file: {exc}"
        assert str(exc).strip(), f"{mutation}: empty message"
        if mutation.kind == "cell" and exc.file == str(folder / mutation.file) and \
                exc.row is not None and "duplicate" not in str(exc):
            assert exc.field, f"{mutation}: row error without a field: {exc}"
        return "error"
    return "ok"


# -- scenarios ----------------------------------------------------------------------------------

SCENARIO_KEYS = ("name", "title", "description", "inherits", "year", "sources", "add_link",
                 "open", "close", "scale_capacity", "multiply_cost", "multiply_time", "demand")
ACTION_KEYS = ("link", "node", "corridor", "country", "mode", "factor", "capacity_t_per_year",
               "assumption", "source", "origin", "destination", "commodity", "t_per_year",
               "year", "allowed_modes", "source_id", "link_id", "from_node_id", "to_node_id",
               "directed", "length_km", "gauge_mm", "investment_usd", "status", "notes",
               "origin_country", "destination_country", "estimated")
IDS = ("ab", "bc", "cd", "dz", "ap", "pq", "qz", "op", "ob", "bz", "a", "b", "z", "o", "North",
       "Middle", "Pipe", "RUS", "KAZ", "rail", "sea", "container", "crude_oil", "hand", "new",
       "close-pipe", "baseline", "child")


def scalar() -> st.SearchStrategy[object]:
    return st.one_of(
        st.sampled_from(IDS), hostile_text(), st.booleans(),
        st.integers(min_value=-(10 ** 30), max_value=10 ** 30),
        st.floats(allow_nan=False, allow_infinity=False),
        st.sampled_from([0, 1, 2, 0.5, 1000, 1e10, 1e308, -1, 2024, 10 ** 400]),
    )


_SHAPES = {  # kind -> (keys always given, keys sometimes given)
    "close": (("link",), ("node", "corridor", "country", "mode", "source")),
    "open": (("corridor",), ("link",)),
    "scale_capacity": (("link",), ("factor", "capacity_t_per_year")),
    "multiply_cost": (("mode",), ("factor", "link", "country")),
    "multiply_time": (("corridor",), ("factor",)),
    "demand": ((), ("factor", "origin", "destination", "commodity", "t_per_year", "year",
                    "allowed_modes", "origin_country", "source_id", "notes")),
    "add_link": (("link_id", "from_node_id", "to_node_id", "directed", "mode", "length_km",
                  "source_id"), ("gauge_mm", "capacity_t_per_year", "investment_usd",
                                 "time_days", "tariff_usd_per_t", "country", "status")),
}


@st.composite
def _shaped_action(draw: st.DrawFn) -> tuple[str, dict]:
    """An action with the keys its kind expects, valid or hostile values."""
    kind = draw(st.sampled_from(sorted(_SHAPES)))
    always, sometimes = _SHAPES[kind]
    keys = list(always) + draw(st.lists(st.sampled_from(sometimes), unique=True, max_size=4))
    hostile = st.one_of(scalar(), st.lists(st.sampled_from(IDS), min_size=1, max_size=2))
    action = {key: draw(_VALID.get(key, hostile) if draw(st.integers(0, 4)) else hostile)
              for key in keys}
    if action.get("mode") == "rail" and kind == "add_link":
        action.setdefault("gauge_mm", 1520)
    action["assumption"] = draw(st.sampled_from(["x", "x", "x", "[/x]", ""]) | hostile_text())
    return kind, action


_NODES = st.sampled_from(["a", "b", "c", "d", "p", "q", "z", "o"])
_VALID: dict[str, st.SearchStrategy] = {
    "link": st.sampled_from(["ab", "bc", "cd", "dz", "ap", "pq", "qz", "op", "ob", "bz"]),
    "node": _NODES, "origin": _NODES, "destination": _NODES, "from_node_id": _NODES,
    "to_node_id": _NODES,
    "corridor": st.sampled_from(["North", "Middle", "Pipe"]),
    "country": st.sampled_from(["RUS", "KAZ", "AZE"]),
    "origin_country": st.sampled_from(["RUS", "KAZ"]),
    "mode": st.sampled_from(["rail", "sea", "ferry", "oil_pipeline", "road"]),
    "factor": st.floats(min_value=0.001, max_value=50),
    "capacity_t_per_year": st.floats(min_value=0, max_value=1e8),
    "t_per_year": st.floats(min_value=0, max_value=1e8),
    "commodity": st.sampled_from(["container", "crude_oil"]),
    "year": st.integers(2020, 2030), "source_id": st.just("hand"),
    "link_id": st.sampled_from(["new1", "new2", "ab"]), "directed": st.booleans(),
    "length_km": st.floats(min_value=1, max_value=20_000), "gauge_mm": st.just(1520),
    "investment_usd": st.floats(min_value=0, max_value=1e10),
    "time_days": st.floats(min_value=0, max_value=30),
    "tariff_usd_per_t": st.floats(min_value=0, max_value=500),
    "status": st.sampled_from(["operating", "planned"]),
    "allowed_modes": st.sampled_from(["rail", "rail;ferry", "sea", ""]),
    "notes": st.just("fuzz"),
}


def scenario_data() -> st.SearchStrategy[dict]:
    """Scenario-shaped dicts: well-formed actions with hostile values half of the time, free
    structure with unknown keys and odd types the other half."""
    value = st.one_of(scalar(), st.lists(scalar(), max_size=3))
    action = st.dictionaries(st.one_of(st.sampled_from(ACTION_KEYS), st.text(max_size=8)),
                             value, max_size=7)
    entry = st.one_of(st.lists(action, max_size=3), action, scalar())
    free = st.dictionaries(st.one_of(st.sampled_from(SCENARIO_KEYS), st.text(max_size=8)),
                           entry, max_size=5)

    def gather(actions: list[tuple[str, dict]]) -> dict:
        data: dict = {}
        for kind, params in actions:
            data.setdefault(kind, []).append(params)
        return data

    shaped = st.lists(_shaped_action(), min_size=1, max_size=4).map(gather)
    return st.one_of(shaped, free)


def check_scenario(data: dict, network, demand) -> str:  # noqa: ANN001
    """Parse and apply a generated scenario; only a result or a DataError may come out."""
    from corridor.scenario import apply_scenario, parse_scenario

    try:
        scenario = parse_scenario(data, "fuzz", FLOWS / "scenarios")
        apply_scenario(network, scenario, demand)
    except DataError as exc:
        assert str(exc).strip()
        return "error"
    return "ok"


# -- the command line ---------------------------------------------------------------------------

COMMANDS = ("route", "places", "validate", "sources", "scenario show", "scenario list", "flows",
            "report", "compare", "dependency", "exposure", "critical", "demo")


@st.composite
def cli_args(draw: st.DrawFn) -> list[str]:
    """A command with hostile or valid arguments and options (tiny data added by the caller)."""
    text = st.one_of(st.sampled_from(["Alpha", "Zulu", "a", "z", "Port East", "close-pipe",
                                      "baseline", "child"]), hostile_text())
    number = st.one_of(st.sampled_from(["1", "2", "0", "-1", "21", "1" + "0" * 30, "abc", ""]),
                       hostile_text())
    out = st.one_of(st.sampled_from(["out/report.html", "out", "network/link.csv",
                                     "costs/modes.csv", "demand.csv", "/dev/null", "network",
                                     "scenarios/close-pipe.toml", "", "out/[x].html"]),
                    hostile_text())
    command = draw(st.sampled_from(COMMANDS)).split()
    args = list(command)
    if command[0] == "route":
        args += [draw(text), draw(text)]
        for option, values in (("--commodity", st.sampled_from(["container", "crude_oil",
                                                                 "tea"]) | hostile_text()),
                               ("--optimize", st.sampled_from(["cost", "time", "co2"])
                                | hostile_text()),
                               ("--avoid", st.sampled_from(["RUS", "AZE,RUS", "xx"])
                                | hostile_text()),
                               ("--avoid-mode", st.sampled_from(["sea", "transfer", "warp"])
                                | hostile_text()),
                               ("--via", text), ("-k", number)):
            if draw(st.booleans()):
                args += [option, draw(values)]
        if draw(st.booleans()):
            args.append("--json")
    elif command[0] in ("places",):
        args.append(draw(text))
    elif command[0] == "validate":
        args.append(draw(st.sampled_from(["network", "costs", "/dev/null", "nowhere"])
                         | hostile_text()))
    elif command == ["scenario", "show"]:
        args.append(draw(text))
    elif command[0] in ("flows", "dependency", "exposure", "critical"):
        if draw(st.booleans()):
            args += ["--scenario", draw(text)]
        if command[0] == "flows" and draw(st.booleans()):
            args += ["--csv", draw(out)]
        if command[0] == "dependency" and draw(st.booleans()):
            args += ["--exporter", draw(text)]
        if command[0] == "critical":
            args += ["--top", draw(number)]
    elif command[0] == "report":
        args += [draw(text), "-o", draw(out), "--critical-top", draw(st.sampled_from(["0", "1"])
                                                                      | number)]
    elif command[0] == "compare":
        args += [draw(text), draw(text)]
    elif command[0] == "demo":
        args += ["-o", draw(out), "--critical-top", "0", "-s", draw(text)]
    return args


def data_options(folder: Path, command: list[str]) -> list[str]:
    """The options pointing a command at the workspace's network, costs and demand."""
    base = ["--network", str(folder / "network"), "--costs", str(folder / "costs")]
    if command[0] in ("validate",):
        return ["--costs", str(folder / "costs")]
    if command[0] in ("route", "places", "sources"):
        return base
    if command[0] == "scenario":
        return []
    return base + ["--demand", str(folder / "demand.csv")]


def check_cli(folder: Path, args: list[str]) -> int:
    """Run one command on a fresh workspace in ``folder``.

    It must exit 0, 2 or 3 without a traceback and leave every input of the run unchanged (the
    network, cost model, demand and the scenario files it names).
    """
    from typer.testing import CliRunner

    from corridor.cli import app

    make_workspace(folder)
    before = snapshot(folder)
    here = os.getcwd()
    os.chdir(folder)
    try:
        result = CliRunner().invoke(app, [*args, *data_options(folder, args)])
    finally:
        os.chdir(here)
    shown = [a if len(a) <= 40 else a[:20] + f"…({len(a)})" for a in args]
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{shown}: {result.exception!r:.300}")
    assert result.exit_code in (0, 2, 3), f"{shown}: exit {result.exit_code}: {result.output}"
    assert "Traceback" not in result.output, f"{shown}: {result.output:.300}"
    after = snapshot(folder)
    named = {Path(a).stem for a in args} | ({"close-pipe"} if "child" in " ".join(args) else set())
    inputs = [k for k in before if not k.startswith("scenarios/") or Path(k).stem in named]
    changed = [k for k in inputs if before[k] != after.get(k)]
    assert not changed, f"{shown} changed input files {changed}"
    return result.exit_code


def is_clean(exc: BaseException) -> bool:
    """A user error Corridor reports itself (what every generated input may end in)."""
    return isinstance(exc, CorridorError)
