"""The configuration file: default data paths for every command.

``corridor.toml`` in the current folder, else ``$XDG_CONFIG_HOME/corridor/config.toml``
(``~/.config/corridor/config.toml``), or the file named by ``--config`` or
``CORRIDOR_CONFIG``::

    network = "my-network/"      # folder, relative to this file
    costs = "my-costs/"
    demand = "my-demand.csv"

A value given on the command line wins, then an environment variable (``CORRIDOR_NETWORK`` …),
then the file, then the shipped data.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from corridor.errors import DataError, did_you_mean

KEYS = ("network", "costs", "demand")
FILE_NAME = "corridor.toml"


def config_path(given: Path | None) -> Path | None:
    """The configuration file to read: ``given``, else the first that exists of
    ``./corridor.toml`` and the user's ``corridor/config.toml``; None when there is none."""
    if given is not None:
        if not given.is_file():
            raise DataError("configuration file not found", file=str(given))
        return given
    home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    for candidate in (Path.cwd() / FILE_NAME, home / "corridor" / "config.toml"):
        if candidate.is_file():
            return candidate
    return None


def read_config(path: Path) -> dict[str, str]:
    """The data paths of a configuration file, resolved against its folder."""
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot parse TOML ({exc})", file=str(path)) from None
    out = {}
    for key, value in table.items():
        if key not in KEYS:
            raise DataError(f"unknown key {key!r}{did_you_mean(key, KEYS)} (the file may set "
                            f"{', '.join(KEYS)})", file=str(path), field=key)
        if not isinstance(value, str) or not value.strip():
            raise DataError("must be a path in quotes", file=str(path), field=key)
        out[key] = str((path.parent / value).expanduser())
    return out
