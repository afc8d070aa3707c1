"""Exception types of Corridor.

Every error a user can cause is a :class:`CorridorError`; the CLI and the API turn these into a
message with a non-zero exit code or a 4xx response, in one place each.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class CorridorError(Exception):
    """Base class of all errors caused by input (files, places, options)."""

    kind = "error"

    def to_dict(self) -> dict:
        return {"error": self.kind, "message": str(self)}


class CorridorWarning(UserWarning):
    """Something in the input that works but deserves a look (e.g. a disconnected network)."""


class DataError(CorridorError):
    """A data file (network, costs, demand, scenario) is malformed.

    Carries the file, the 1-based data row (header excluded) and the field at fault.
    """

    kind = "data_error"

    def __init__(self, message: str, file: str | None = None, row: int | None = None,
                 field: str | None = None) -> None:
        self.file, self.row, self.field, self.reason = file, row, field, message
        where = []
        if file:
            where.append(str(file))
        if row is not None:
            where.append(f"row {row}")
        if field:
            where.append(f"field '{field}'")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)

    def to_dict(self) -> dict:
        return {**super().to_dict(), "file": self.file, "row": self.row, "field": self.field}


class UnknownPlaceError(CorridorError):
    """A place name that matches no node; carries close matches."""

    kind = "unknown_place"

    def __init__(self, name: str, suggestions: list[str]) -> None:
        self.name, self.suggestions = name, list(dict.fromkeys(suggestions))
        suggestions = self.suggestions
        hint = f" Did you mean {', '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        super().__init__(f"Unknown place {name!r}.{hint}")

    def to_dict(self) -> dict:
        return {**super().to_dict(), "name": self.name, "suggestions": self.suggestions}


class NoRouteError(CorridorError):
    """No route exists under the given constraints; names the constraint that blocks it."""

    kind = "no_route"

    def __init__(self, message: str, constraint: str | None = None) -> None:
        self.constraint = constraint
        super().__init__(message)

    def to_dict(self) -> dict:
        return {**super().to_dict(), "constraint": self.constraint}


class InvalidOptionError(CorridorError):
    """An option has a value outside its allowed set (commodity, mode, objective …)."""

    kind = "invalid_option"


class OutputError(CorridorError):
    """An output path that cannot or must not be written (not a regular file, an input of the
    same run, an unwritable folder)."""

    kind = "output_error"


class TimeLimitError(CorridorError):
    """Work that did not finish within its time budget."""

    kind = "time_limit"


def suggest(value: str, known: Iterable[str], n: int = 3, cutoff: float = 0.6) -> list[str]:
    """Up to ``n`` distinct entries of ``known`` close to ``value`` (case is ignored if need be).

    The one "did you mean" of the project: place names, scenario names, keys, ids and modes all
    use it, so suggestions look and rank the same everywhere.
    """
    pool = list(dict.fromkeys(str(k) for k in known))
    close = difflib.get_close_matches(value, pool, n=n, cutoff=cutoff)
    if not close:
        lowered: dict[str, str] = {}
        for item in pool:
            lowered.setdefault(item.lower(), item)
        close = [lowered[k] for k in difflib.get_close_matches(value.lower(), list(lowered),
                                                               n=n, cutoff=cutoff)]
    return list(dict.fromkeys(close))


def did_you_mean(value: str, known: Iterable[str], n: int = 3, cutoff: float = 0.6) -> str:
    """``"; did you mean 'a', 'b'?"`` or ``""`` when nothing is close."""
    close = suggest(value, known, n, cutoff)
    return f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
