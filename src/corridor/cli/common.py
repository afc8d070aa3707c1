"""Shared pieces of the command line: the app, error handling, output helpers.

Text from users and from data files is never read as console markup: the consoles are built
with markup and emoji codes off, and styled words are passed as styles, not tags.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from corridor.errors import CorridorError, CorridorWarning

app = typer.Typer(
    name="corridor",
    help="Route, stress-test and diversify Eurasia's trade corridors through Central Asia.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)
console = Console(width=None if sys.stdout.isatty() else 120, markup=False, emoji=False,
                  highlight=False)


def _show_version(value: bool) -> None:
    if value:
        from corridor import __version__

        print(f"corridor {__version__}")
        raise typer.Exit()


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record is logged (tests swap it)."""

    @property
    def stream(self):  # noqa: ANN201
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # noqa: ANN001
        pass


#: Set by ``--quiet``: warnings are not printed.
QUIET = {"on": False}


def _defaults(command: Any, paths: dict[str, str]) -> dict[str, Any]:
    """A ``default_map`` giving ``paths`` to every command (groups nest)."""
    out: dict[str, Any] = {}
    for name, sub in getattr(command, "commands", {}).items():
        out[name] = _defaults(sub, paths) if hasattr(sub, "commands") else dict(paths)
    return out


@app.callback()
def _options(
    ctx: typer.Context,
    config: Annotated[Path | None, typer.Option(
        "--config", envvar="CORRIDOR_CONFIG",
        help="TOML file with default network, costs and demand paths (default: "
             "./corridor.toml, else ~/.config/corridor/config.toml).")] = None,
    version: Annotated[bool, typer.Option(
        "--version", callback=_show_version, is_eager=True,
        help="Print the version and exit.")] = False,
    verbose: Annotated[int, typer.Option(
        "--verbose", "-v", count=True,
        help="Log what the engine does on stderr (-v: steps, -vv: details).")] = 0,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="Print no warnings, only results and errors.")] = False,
) -> None:
    """Route, stress-test and diversify Eurasia's trade corridors through Central Asia."""
    QUIET["on"] = quiet
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("corridor")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.ERROR if quiet else level)
    from corridor.cli.config import config_path, read_config

    try:
        path = config_path(config)
        paths = read_config(path) if path is not None else {}
    except CorridorError as exc:
        error(str(exc))
        raise typer.Exit(EXIT_USER_ERROR) from None
    if paths:
        logger.info("data paths from %s: %s", path, paths)
        ctx.default_map = _defaults(ctx.command, paths)
err_console = Console(stderr=True, markup=False, emoji=False, highlight=False)

EXIT_USER_ERROR = 2
EXIT_NO_ROUTE = 3
EXIT_INTERRUPTED = 130


@contextlib.contextmanager
def progress_bar(label: str, total: int | None = None,
                 shown: bool = True) -> Iterator[Callable[[int, int | None], None]]:
    """A progress bar on stderr while the block runs (only on a terminal, and gone after);
    yields ``advance(n, total=None)``, which also updates the total when it is given."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    visible = shown and sys.stderr.isatty()
    with Progress(label, BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err_console, disable=not visible, transient=True) as bar:
        task = bar.add_task(label, total=total)

        def advance(n: int, new_total: int | None = None) -> None:
            if new_total is not None:
                bar.update(task, total=new_total)
            bar.advance(task, n)

        yield advance


def handle_errors(command: Callable) -> Callable:
    """Turn a CorridorError into a one-line message on stderr and a non-zero exit code.

    Library warnings (:class:`~corridor.errors.CorridorWarning`) are not printed by Python's
    warning machinery: commands show them once, in their own words. A path the system refuses
    (too long, no permission) is an error of the user's too. A closed pipe (``| head``) ends
    the command quietly, and Ctrl-C exits with 130 without a traceback.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", CorridorWarning)
                return command(*args, **kwargs)
        except CorridorError as exc:
            error(str(exc))
            code = EXIT_NO_ROUTE if exc.kind == "no_route" else EXIT_USER_ERROR
            raise typer.Exit(code) from None
        except BrokenPipeError:
            # the reader went away: point stdout at /dev/null so the final flush is silent
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(0) from None
        except OSError as exc:  # a path given on the command line the system refuses
            name = str(exc.filename or "")
            shown = name if len(name) <= 80 else f"{name[:60]}…({len(name)} characters)"
            error(f"{shown}: {exc.strerror or exc}" if shown else str(exc.strerror or exc))
            raise typer.Exit(EXIT_USER_ERROR) from None
        except KeyboardInterrupt:
            error("interrupted")
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper


def error(message: str) -> None:
    """``error: <message>`` on stderr; the message is printed as plain text."""
    err_console.print(Text.assemble(("error:", "bold red"), " ", message), soft_wrap=True)


def warn(message: str) -> None:
    """``warning: <message>`` on stderr (not with ``--quiet``); printed as plain text."""
    if QUIET["on"]:
        return
    err_console.print(Text.assemble(("warning:", "yellow"), " ", message), soft_wrap=True)


def styled(*parts: str | tuple[str, str]) -> Text:
    """Console text from plain strings and ``(text, style)`` pairs, never parsed as markup."""
    return Text.assemble(*parts)


def missing(value: object) -> bool:
    """Whether a table cell holds no value (None, NaN or pandas' NA), without importing pandas."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except TypeError:  # pandas.NA: its comparisons are NA themselves
        return True


def print_json(data: Any) -> None:
    """Write ``data`` as JSON to stdout (NaN becomes null)."""
    from corridor.outputs import jsonable

    sys.stdout.write(json.dumps(jsonable(data), ensure_ascii=False, indent=2, default=str) + "\n")


def run_inputs(network: Any, demand: Path | None = None,
               scenarios: Iterable[Any] = ()) -> list[Path]:
    """Every file a run reads: the network and cost model, the demand table, scenario files.

    Outputs are checked against these before the work starts, so no command can replace one
    of its own inputs.
    """
    from corridor.demand import demand_files

    files = list(network.input_files()) + demand_files(demand)
    for scenario in scenarios:
        if scenario is not None:
            files += scenario.files()
    return files


NetworkOption = Annotated[Path | None, typer.Option(
    "--network", envvar="CORRIDOR_NETWORK",
    help="Network folder (node.csv, link.csv, sources.csv).")]
CostsOption = Annotated[Path | None, typer.Option(
    "--costs", envvar="CORRIDOR_COSTS", help="Cost model folder.")]
DemandOption = Annotated[Path | None, typer.Option(
    "--demand", envvar="CORRIDOR_DEMAND", help="Demand CSV file.")]
ScenarioOption = Annotated[str | None, typer.Option(
    "--scenario", "-s", help="Built-in scenario name or TOML file.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
MonthOption = Annotated[str | None, typer.Option(
    "--month", help="Price sea freight at a month's market (YYYY-MM) or a year's (YYYY) "
                    "instead of the tariffs' own dates.")]
SpreadOption = Annotated[float | None, typer.Option(
    "--spread", min=1.0, max=1000.0,
    help="Split each demand over competing routes (logit): a route dearer by a share s of "
         "the cheapest carries exp(-SPREAD*s) as much. Default: the linear programme "
         "(cheapest routes within capacities, with contracts).")]
CsvOption = Annotated[Path | None, typer.Option("--csv", help="Write CSV tables into DIR.")]


def open_network(network: Path | None, costs: Path | None, *, show_warnings: bool = True):
    """Load a network folder (default: the shipped one); its warnings go to stderr once."""
    from corridor.network import load_network

    net = load_network(network, costs)
    if show_warnings:
        for note in net.warnings:
            warn(note)
    return net


def open_inputs(network: Path | None, costs: Path | None, demand: Path | None):
    """The network and the demand table of a command's options."""
    from corridor.demand import load_demand

    net = open_network(network, costs)
    return net, load_demand(demand, net)
