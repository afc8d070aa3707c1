"""Read and validate the CSV tables Corridor ships and users edit.

One checker for every table (network, costs, demand): each column is declared once with its
type and rule, and the first fault found raises :class:`~corridor.errors.DataError` naming the
file, the 1-based data row and the field.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pycountry

from corridor.errors import DataError
from corridor.limits import Range

ISO3 = frozenset(c.alpha_3 for c in pycountry.countries)
MAX_FIELD_CHARS = 100_000  # a longer cell is not a hand-edited value (csv's own limit is 131,072)


@dataclass(frozen=True)
class Column:
    """One column of a table: its type, whether it must be filled, its range and an extra rule.

    ``allowed`` (numbers only) bounds the value and gives its unit for messages; ``check``
    returns an error text or None.
    """

    name: str
    kind: str = "str"  # str | float | int | bool
    required: bool = False
    check: Callable[[object], str | None] | None = None
    allowed: Range | None = None


def one_of(allowed: Iterable[str]) -> Callable[[object], str | None]:
    allowed = tuple(allowed)

    def check(value: object) -> str | None:
        return None if value in allowed else f"{value!r} is not one of {', '.join(allowed)}"

    return check


def iso3_list(value: object) -> str | None:
    bad = [c for c in str(value).split(";") if c not in ISO3]
    return f"unknown ISO 3166 alpha-3 code(s) {', '.join(bad)}" if bad else None


def split_list(text: str | None, separator: str = ",") -> list[str]:
    """``"RUS, IRN"`` → ``["RUS", "IRN"]``: the items of a list typed by a user or held in a
    cell (``separator`` ``;``), stripped, empty ones dropped."""
    return [item.strip() for item in str(text or "").split(separator) if item.strip()]


def split_lists(texts: list[str] | tuple[str, ...] | None) -> list[str]:
    """The items of an option a user may give more than once, each time as a list:
    ``["RUS,IRN", "GEO"]`` → ``["RUS", "IRN", "GEO"]`` (repeats kept once, in order)."""
    items: list[str] = []
    for text in texts or ():
        items += [item for item in split_list(text) if item not in items]
    return items


def _convert(value: str, column: Column) -> object:
    if column.kind == "float":
        number = float(value)
        if math.isnan(number) or math.isinf(number):
            raise ValueError(value)
        return number
    if column.kind == "int":
        try:
            return int(value)
        except ValueError:
            number = float(value)
            if not number.is_integer():
                raise
            return int(number)
    if column.kind == "bool":
        if value.strip().lower() in ("1", "true", "yes"):
            return True
        if value.strip().lower() in ("0", "false", "no"):
            return False
        raise ValueError(value)
    return value


def read_rows(path: Path, label: str | None = None) -> tuple[list[str], list[list[str]]]:
    """The header and the data rows of a CSV file, strictly parsed.

    Blank lines are skipped and not counted; every other row must have exactly as many values
    as the header has names. A fault names the file, the 1-based data row and, where it can be
    told, the field (an unclosed quote names the field it opens).

    Raises
    ------
    DataError
        File missing or unreadable, not UTF-8, binary, no header, repeated or empty column
        names, a row with too many or too few values, a quoting error.
    """
    name = label or str(path)
    if not path.is_file():
        raise DataError("file not found" if not path.exists() else "not a regular file",
                        file=name)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read the file ({exc.strerror or exc})", file=name) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise DataError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line})",
                        file=name, row=line - 1 if line > 1 else None) from None
    if "\x00" in text:
        raise DataError("holds NUL bytes: not a CSV text file", file=name)
    lines = text.splitlines()
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, skipinitialspace=True)
    header: list[str] | None = None
    rows: list[list[str]] = []
    try:
        for record in reader:
            if not record or (len(record) == 1 and not record[0].strip()):
                continue  # blank line
            if header is None:
                header = [h.strip() for h in record]
                _check_header(header, name)
                continue
            _check_width(record, header, name, len(rows) + 1)
            rows.append(record)
    except csv.Error as exc:
        row = len(rows) + 1 if header is not None else None
        start = reader.line_num
        field = None
        if header is not None:
            field = _quote_fault(lines, start, header)
        raise DataError(f"cannot parse CSV: {exc}", file=name, row=row, field=field) from None
    if header is None:
        raise DataError("file is empty: no header row", file=name)
    return header, rows


def _check_header(header: list[str], name: str) -> None:
    seen: set[str] = set()
    for position, column in enumerate(header, start=1):
        if not column:
            raise DataError(f"column {position} of the header has no name", file=name)
        if column in seen:
            raise DataError(f"column {column!r} appears twice in the header", file=name,
                            field=column)
        seen.add(column)


def _check_width(record: list[str], header: list[str], name: str, row: int) -> None:
    if len(record) > len(header):
        raise DataError(f"row has {len(record)} values but the header names {len(header)} "
                        f"columns (extra value {record[len(header)]!r} after the last column)",
                        file=name, row=row, field=header[-1])
    if len(record) < len(header):
        missing = header[len(record)]
        raise DataError(f"row has {len(record)} values but the header names {len(header)} "
                        f"columns (no value for {missing!r} or later)", file=name, row=row,
                        field=missing)
    for column, value in zip(header, record, strict=True):
        if len(value) > MAX_FIELD_CHARS:
            raise DataError(f"value is {len(value):,} characters long (at most "
                            f"{MAX_FIELD_CHARS:,})", file=name, row=row, field=column)


def _quote_fault(lines: list[str], line_number: int, header: list[str]) -> str | None:
    """The column where a quoting error begins, scanning the record's lines by hand."""
    # the failing record ends at reader.line_num; walk back to the line it started on
    for first in range(max(line_number - 1, 0), -1, -1):
        column = _open_quote_column("\n".join(lines[first:line_number]))
        if column is not None:
            return header[min(column, len(header) - 1)]
    return None


def _open_quote_column(text: str) -> int | None:
    """0-based column of an unclosed quote or of text after a closing quote, or None."""
    column, in_quotes, at_start, closed, opened_at = 0, False, True, False, 0
    i = 0
    while i < len(text):
        ch = text[i]
        if in_quotes:
            if ch == '"':
                if text[i + 1:i + 2] == '"':
                    i += 1
                else:
                    in_quotes, closed = False, True
        elif ch == ",":
            column, at_start, closed = column + 1, True, False
        elif ch == "\n":
            return None  # a complete record ended before the fault
        elif ch == '"' and at_start:
            in_quotes, opened_at, at_start = True, column, False
        elif ch == " " and at_start:
            pass
        elif closed:
            return column  # text after a closing quote
        else:
            at_start = False
        i += 1
    return opened_at if in_quotes else None


def read_table(path: Path, columns: list[Column], *, label: str | None = None,
               min_rows: int = 0) -> pd.DataFrame:
    """Read one CSV file and check it against ``columns``.

    Parameters
    ----------
    path
        The CSV file.
    columns
        The declared columns; columns in the file that are not declared are kept as text.
    label
        Name of the file in error messages (defaults to the path).
    min_rows
        Fewest data rows the table must hold.

    Returns
    -------
    pandas.DataFrame
        Typed columns; empty optional cells are ``""`` in text columns and NaN in numbers.

    Raises
    ------
    DataError
        On a missing file, a malformed CSV (see :func:`read_rows`), a missing column, an
        unparseable value or one outside its range (the message gives the unit).
    """
    name = label or str(path)
    header, rows = read_rows(path, name)
    if len(rows) < min_rows:
        raise DataError(f"has {len(rows)} data rows; at least {min_rows} needed", file=name)
    missing = [c.name for c in columns if c.required and c.name not in header]
    if missing:
        raise DataError(f"missing column(s) {', '.join(missing)}", file=name, row=None,
                        field=missing[0])
    position = {column: i for i, column in enumerate(header)}
    out: dict[str, list[object]] = {}
    for column in columns:
        if column.name not in position:
            out[column.name] = ["" if column.kind == "str" else None] * len(rows)
            continue
        at = position[column.name]
        values: list[object] = []
        for row_number, record in enumerate(rows, start=1):
            text = record[at].strip()
            if text == "":
                if column.required:
                    raise DataError("value is missing", file=name, row=row_number,
                                    field=column.name)
                values.append("" if column.kind == "str" else None)
                continue
            try:
                value = _convert(text, column)
            except ValueError:
                raise DataError(f"{_clip(text)!r} is not a valid {column.kind}", file=name,
                                row=row_number, field=column.name) from None
            problem = column.allowed.problem(value) if column.allowed is not None else None
            if problem is None and column.check is not None:
                problem = column.check(value)
            if problem:
                raise DataError(problem, file=name, row=row_number, field=column.name)
            values.append(value)
        out[column.name] = values
    table = pd.DataFrame(out, index=pd.RangeIndex(len(rows)))
    for column in columns:
        if column.kind in ("float", "int"):
            table[column.name] = pd.to_numeric(table[column.name], errors="coerce")
            if column.kind == "float":
                table[column.name] = table[column.name].astype(float)
    for extra in header:
        if extra not in table.columns:
            table[extra] = [record[position[extra]].strip() for record in rows]
    return table


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


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
