"""Read and validate the CSV tables Corridor ships and users edit.

One checker for every table (network, costs, demand): each column is declared once with its
type and rule, and the first fault found raises :class:`~corridor.errors.DataError` naming the
file, the 1-based data row and the field.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pycountry

from corridor.errors import DataError

ISO3 = frozenset(c.alpha_3 for c in pycountry.countries)


@dataclass(frozen=True)
class Column:
    """One column of a table: its type, whether it must be filled, and an extra rule."""

    name: str
    kind: str = "str"  # str | float | int | bool
    required: bool = False
    check: Callable[[object], str | None] | None = None  # returns an error text or None


def positive(value: object) -> str | None:
    return None if value > 0 else f"must be > 0, got {value}"  # type: ignore[operator]


def non_negative(value: object) -> str | None:
    return None if value >= 0 else f"must be >= 0, got {value}"  # type: ignore[operator]


def one_of(allowed: Iterable[str]) -> Callable[[object], str | None]:
    allowed = tuple(allowed)

    def check(value: object) -> str | None:
        return None if value in allowed else f"{value!r} is not one of {', '.join(allowed)}"

    return check


def iso3_list(value: object) -> str | None:
    bad = [c for c in str(value).split(";") if c not in ISO3]
    return f"unknown ISO 3166 alpha-3 code(s) {', '.join(bad)}" if bad else None


def _convert(value: str, column: Column) -> object:
    if column.kind == "float":
        number = float(value)
        if math.isnan(number) or math.isinf(number):
            raise ValueError(value)
        return number
    if column.kind == "int":
        return int(float(value)) if float(value).is_integer() else int(value)
    if column.kind == "bool":
        if value.strip().lower() in ("1", "true", "yes"):
            return True
        if value.strip().lower() in ("0", "false", "no"):
            return False
        raise ValueError(value)
    return value


def read_table(path: Path, columns: list[Column], *, label: str | None = None) -> pd.DataFrame:
    """Read one CSV file and check it against ``columns``.

    Parameters
    ----------
    path
        The CSV file.
    columns
        The declared columns; columns in the file that are not declared are kept as text.
    label
        Name of the file in error messages (defaults to the path).

    Returns
    -------
    pandas.DataFrame
        Typed columns; empty optional cells are ``""`` in text columns and NaN in numbers.

    Raises
    ------
    DataError
        On a missing file, a missing column, an unparseable or invalid value.
    """
    name = label or str(path)
    if not path.is_file():
        raise DataError("file not found", file=name)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"cannot parse CSV ({exc})", file=name) from exc
    missing = [c.name for c in columns if c.required and c.name not in raw.columns]
    if missing:
        raise DataError(f"missing column(s) {', '.join(missing)}", file=name, row=None,
                        field=missing[0])
    out: dict[str, list[object]] = {}
    for column in columns:
        if column.name not in raw.columns:
            out[column.name] = [None] * len(raw)
            continue
        values: list[object] = []
        for row_number, text in enumerate(raw[column.name].tolist(), start=1):
            text = text.strip()
            if text == "":
                if column.required:
                    raise DataError("value is missing", file=name, row=row_number,
                                    field=column.name)
                values.append("" if column.kind == "str" else None)
                continue
            try:
                value = _convert(text, column)
            except ValueError:
                raise DataError(f"{text!r} is not a valid {column.kind}", file=name,
                                row=row_number, field=column.name) from None
            if column.check is not None and (problem := column.check(value)):
                raise DataError(problem, file=name, row=row_number, field=column.name)
            values.append(value)
        out[column.name] = values
    table = pd.DataFrame(out)
    for column in columns:
        if column.kind in ("float", "int"):
            table[column.name] = pd.to_numeric(table[column.name], errors="coerce")
            if column.kind == "float":
                table[column.name] = table[column.name].astype(float)
    for extra in raw.columns:
        if extra not in table.columns:
            table[extra] = raw[extra].str.strip()
    return table


def check_unique(table: pd.DataFrame, field: str, label: str) -> None:
    """Raise a DataError at the first repeated value of ``field``."""
    seen: set[object] = set()
    for row_number, value in enumerate(table[field].tolist(), start=1):
        if value in seen:
            raise DataError(f"duplicate id {value!r}", file=label, row=row_number, field=field)
        seen.add(value)


def check_references(table: pd.DataFrame, field: str, known: set[str], label: str,
                     what: str) -> None:
    """Raise a DataError at the first value of ``field`` that is not in ``known``.

    ``field`` may hold several ids separated by ``;``.
    """
    for row_number, value in enumerate(table[field].tolist(), start=1):
        if not value:
            continue
        for item in str(value).split(";"):
            if item.strip() and item.strip() not in known:
                raise DataError(f"unknown {what} {item.strip()!r}", file=label, row=row_number,
                                field=field)


SOURCE_COLUMNS = [
    Column("source_id", required=True),
    Column("title", required=True),
    Column("publisher"),
    Column("url"),
    Column("year"),
    Column("used_for"),
]

PROVENANCE_COLUMNS = [
    Column("source_id", required=True),
    Column("estimated"),
    Column("estimate_method"),
]


def check_estimates(table: pd.DataFrame, label: str) -> None:
    """Every row that marks fields as estimated must say how they were estimated."""
    for row_number, (fields, method) in enumerate(
        zip(table["estimated"].tolist(), table["estimate_method"].tolist(), strict=True), start=1
    ):
        if fields and not method:
            raise DataError("fields are marked estimated but estimate_method is empty",
                            file=label, row=row_number, field="estimate_method")
        for name in (fields or "").split(";"):
            if name.strip() and name.strip() not in table.columns:
                raise DataError(f"estimated names unknown field {name.strip()!r}", file=label,
                                row=row_number, field="estimated")
