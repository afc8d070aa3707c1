"""Market indices: freight rates that move from month to month (``data/costs/market.csv``).

A tariff of ``modes.csv`` that was derived from one reading of a published index (the Drewry
World Container Index for sea lanes, the ERAI for the 1520 mm rail transit) names that index and
the date of the reading (``market_index``, ``market_date``). Priced at another month, the tariff
is scaled by the index in that month over the reading it came from; rows that name no index keep
their tariff. See ``docs/cost-model.md``.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd

from corridor import limits
from corridor.errors import DataError, InvalidOptionError
from corridor.tables import (
    PROVENANCE_COLUMNS,
    Column,
    check_estimates,
    check_references,
    read_table,
)

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PERIOD = re.compile(r"^\d{4}(-\d{2})?$")


def _date(value: object) -> str | None:
    text = str(value)
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return f"{value!r} is not a date (YYYY-MM-DD)"
    return None if _DATE.match(text) else f"{value!r} is not a date (YYYY-MM-DD)"


def _index_id(value: object) -> str | None:
    return None if re.match(r"^[a-z0-9_]+$", str(value)) else f"{value!r} must match [a-z0-9_]+"


MARKET_COLUMNS = [
    Column("index_id", required=True, check=_index_id),
    Column("date", required=True, check=_date),
    Column("value", "float", required=True, allowed=limits.INDEX_VALUE),
    Column("unit", required=True),
    *PROVENANCE_COLUMNS,
    Column("notes"),
]


def empty_market() -> pd.DataFrame:
    """A market table with no readings."""
    return pd.DataFrame(columns=[c.name for c in MARKET_COLUMNS])


def load_market(path: Path, known_sources: set[str]) -> pd.DataFrame:
    """Read ``market.csv`` (empty table when the file is absent): one row per index reading.

    Raises
    ------
    DataError
        Naming the file, the row and the field of the first problem (a bad date, an unknown
        source, two readings of one index on one date).
    """
    if not path.is_file():
        return empty_market()
    table = read_table(path, MARKET_COLUMNS)
    label = str(path)
    check_estimates(table, label)
    check_references(table, "source_id", known_sources, label, "source id")
    seen: set[tuple[str, str]] = set()
    for row, key in enumerate(zip(table["index_id"], table["date"], strict=True), start=1):
        if key in seen:
            raise DataError(f"a second reading of {key[0]} on {key[1]}", file=label, row=row,
                            field="date")
        seen.add(key)
    return table


def check_uses(modes: pd.DataFrame, market: pd.DataFrame, label: str) -> None:
    """Every ``modes.csv`` row that names an index names a reading that exists."""
    if "market_index" not in modes:
        return
    readings = set(zip(market["index_id"], market["date"], strict=True))
    for row, (index, date) in enumerate(
            zip(modes["market_index"].fillna(""), modes["market_date"].fillna(""),
                strict=True), start=1):
        if not index and not date:
            continue
        if not index or not date:
            raise DataError("market_index and market_date go together", file=label, row=row,
                            field="market_date" if index else "market_index")
        if (index, date) not in readings:
            known = sorted(d for i, d in readings if i == index)
            hint = (f"; {index} has readings from {known[0]} to {known[-1]}" if known
                    else "; no such index in market.csv")
            raise DataError(f"no reading of {index} on {date}{hint}", file=label, row=row,
                            field="market_date")


def check_period(period: str) -> str:
    """``YYYY-MM`` or ``YYYY``, or an InvalidOptionError that says so."""
    text = str(period).strip()
    if not _PERIOD.match(text) or (len(text) == 7 and not 1 <= int(text[5:]) <= 12):
        raise InvalidOptionError(f"month: {period!r} is not a month (YYYY-MM) or a year "
                                 f"(YYYY)")
    return text


def index_value(market: pd.DataFrame, index: str, period: str) -> float:
    """The mean of ``index``'s readings dated in ``period`` (a month or a year).

    Raises
    ------
    InvalidOptionError
        The index has no reading in that period (the message gives the months it covers).
    """
    rows = market[market["index_id"] == index]
    inside = rows[rows["date"].astype(str).str.startswith(period)]
    if inside.empty:
        months = sorted({d[:7] for d in rows["date"].astype(str)})
        cover = f"{months[0]} to {months[-1]}" if months else "no month"
        raise InvalidOptionError(f"month: the {index} index has no reading in {period} (its "
                                 f"readings cover {cover})")
    return float(inside["value"].astype(float).mean())


def factors(modes: pd.DataFrame, market: pd.DataFrame, period: str) -> pd.Series:
    """Per ``modes`` row, the factor that prices its tariff at ``period`` (1 where the row
    names no index)."""
    period = check_period(period)
    out = pd.Series(1.0, index=modes.index)
    if "market_index" not in modes:
        return out
    values = market.set_index(["index_id", "date"])["value"].astype(float)
    for key, index, date in zip(modes.index, modes["market_index"], modes["market_date"],
                                strict=True):
        if isinstance(index, str) and index:
            out[key] = index_value(market, index, period) / float(values[(index, date)])
    return out
