"""Shared pieces of the command line: the app, error handling, output helpers."""

from __future__ import annotations

import functools
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from corridor.errors import CorridorError

app = typer.Typer(
    name="corridor",
    help="Route, stress-test and diversify Eurasia's trade corridors through Central Asia.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(width=None if sys.stdout.isatty() else 120)
err_console = Console(stderr=True)

EXIT_USER_ERROR = 2
EXIT_NO_ROUTE = 3


def handle_errors(command: Callable) -> Callable:
    """Turn a CorridorError into a one-line message on stderr and a non-zero exit code."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except CorridorError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            code = EXIT_NO_ROUTE if exc.kind == "no_route" else EXIT_USER_ERROR
            raise typer.Exit(code) from None

    return wrapper


def split_list(text: str | None) -> list[str]:
    """``"RUS, IRN"`` → ``["RUS", "IRN"]``."""
    return [item.strip() for item in (text or "").split(",") if item.strip()]


def _clean(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def print_json(data: Any) -> None:
    """Write ``data`` as JSON to stdout (NaN becomes null)."""
    sys.stdout.write(json.dumps(_clean(data), ensure_ascii=False, indent=2, default=str) + "\n")


def write_atomic(path: Path, text: str) -> None:
    """Write a file so that readers see either the old or the whole new content."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
