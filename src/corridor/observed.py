"""Observed trade: what moved, how long it took, what it cost, how long the lines are.

``data/observed/`` holds one table per kind of observation (``volumes.csv``, ``shares.csv``,
``times.csv``, ``rates.csv``, ``lengths.csv``), a ``units.csv`` of conversions and a
``sources.csv``. Every row says which model element it compares with: a set of links or ports
(volumes), a ratio of two such elements (shares), or a route between two places under stated
modes (times, rates, lengths). Tables are validated like the network: an error names the file,
the 1-based data row and the field. See ``docs/calibration.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from corridor import limits
from corridor.cost import MODES
from corridor.errors import DataError, did_you_mean
from corridor.limits import Range
from corridor.network import Network
from corridor.tables import (
    ISO3,
    SOURCE_COLUMNS,
    Column,
    check_references,
    check_unique,
    one_of,
    read_table,
)

KINDS = ("volume", "share", "time", "rate", "length")
FILES = {"volume": "volumes.csv", "share": "shares.csv", "time": "times.csv",
         "rate": "rates.csv", "length": "lengths.csv"}
BASIS = ("terminal", "sailing", "border", "tariff", "line", "line_haul")
#: units of a volume that are a number of containers: converted with the commodity's t_per_teu
TEU_UNITS = {"TEU": 1.0, "FEU": 2.0}
_ID = re.compile(r"^[a-z0-9_]+$")
_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:/(\d{4})-(\d{2}))?$")
_ELEMENT = re.compile(r"^(link|port|od):([a-z0-9_*]+(?:\+[a-z0-9_]+)*)$")
POSITIVE = Range(0, 1e12, low_open=True)
PERCENT = Range(0, 100)


def _identifier(value: object) -> str | None:
    return None if _ID.match(str(value)) else f"{value!r} must match [a-z0-9_]+"


def _period(value: object) -> str | None:
    match = _PERIOD.match(str(value))
    if not match:
        return f"{value!r} is not a period (YYYY, or YYYY-MM/YYYY-MM)"
    months = [int(m) for m in (match.group(2), match.group(4)) if m is not None]
    if any(not 1 <= m <= 12 for m in months) or (match.group(3) and match.group(2) is None):
        return f"{value!r} has a month outside 01-12"
    return None


def _element(value: object) -> str | None:
    return None if _ELEMENT.match(str(value)) else (
        f"{value!r} is not an element (link:<id>[+<id>…], port:<id>[+<id>…] or od:*)")


def _countries(value: object) -> str | None:
    bad = [c for c in str(value).lstrip("!").split(";") if c not in ISO3]
    return f"unknown ISO 3166 alpha-3 code(s) {', '.join(bad)}" if bad else None


def _service(value: object) -> str | None:
    return None if _ID.match(str(value)) else f"{value!r} must match [a-z0-9_]+"


def _modes(value: object) -> str | None:
    bad = [m for m in str(value).split(";") if m not in MODES]
    return f"unknown mode(s) {', '.join(bad)}" if bad else None


_COMMON_HEAD = [Column("obs_id", required=True, check=_identifier)]
_COMMON_TAIL = [
    Column("period", required=True, check=_period),
    Column("source_id", required=True),
    Column("notes"),
]
_FILTERS = [
    Column("commodity"),
    Column("origin_country", check=_countries),
    Column("destination_country", check=_countries),
]
_ROUTE = [
    Column("origin", required=True),
    Column("destination", required=True),
    Column("via"),
    Column("commodity", required=True),
    Column("modes", check=_modes),
    Column("avoid", check=_countries),
    Column("service", check=_service),
]
COLUMNS = {
    "volume": [*_COMMON_HEAD, Column("what", required=True),
               Column("element", required=True, check=_element), *_FILTERS,
               Column("value", "float", required=True, allowed=POSITIVE),
               Column("unit", required=True), *_COMMON_TAIL],
    "share": [*_COMMON_HEAD, Column("what", required=True),
              Column("numerator", required=True, check=_element),
              Column("denominator", required=True, check=_element), *_FILTERS,
              Column("value_pct", "float", required=True, allowed=PERCENT), *_COMMON_TAIL],
    "time": [*_COMMON_HEAD, Column("what", required=True), *_ROUTE,
             Column("days_low", "float", required=True, allowed=limits.DAYS),
             Column("days_high", "float", required=True, allowed=limits.DAYS),
             Column("basis", required=True, check=one_of(BASIS)), *_COMMON_TAIL],
    "rate": [*_COMMON_HEAD, Column("what", required=True), *_ROUTE,
             Column("value_low", "float", required=True, allowed=POSITIVE),
             Column("value_high", "float", required=True, allowed=POSITIVE),
             Column("unit", required=True),
             Column("basis", required=True, check=one_of(BASIS)), *_COMMON_TAIL],
    "length": [*_COMMON_HEAD, Column("what", required=True), *_ROUTE,
               Column("km", "float", required=True, allowed=limits.LENGTH_KM),
               *_COMMON_TAIL],
}
UNIT_COLUMNS = [
    Column("unit", required=True),
    Column("tonnes", "float", required=True, allowed=POSITIVE),
    Column("source_id", required=True),
    Column("notes"),
]
#: money units of rates: ``USD/<unit>`` where <unit> is t, TEU, FEU or a row of units.csv
RATE_PREFIX = "USD/"


@dataclass
class Observations:
    """The observation tables, one DataFrame per kind (see :data:`KINDS`).

    Attributes
    ----------
    tables
        ``kind -> DataFrame`` with the columns of the file and ``fraction`` (the share of a
        year the period covers: a model's yearly volume is scaled by it).
    units
        ``unit -> tonnes`` for volumes and rates.
    sources
        Every source the observations cite (indexed by ``source_id``).
    path
        The folder read.
    """

    tables: dict[str, pd.DataFrame]
    units: dict[str, float]
    sources: pd.DataFrame
    path: Path | None = None

    def __len__(self) -> int:
        return sum(len(t) for t in self.tables.values())

    def files(self) -> list[Path]:
        """The files the observations were read from."""
        if self.path is None:
            return []
        return [self.path / name for name in (*FILES.values(), "units.csv", "sources.csv")]


def observed_folder() -> Path:
    """The shipped observations."""
    return Path(str(resources.files("corridor") / "data" / "observed"))


def load_observations(path: str | Path | None = None,
                      network: Network | None = None) -> Observations:
    """Read and validate the observation tables of a folder.

    Parameters
    ----------
    path
        A folder with ``volumes.csv``, ``shares.csv``, ``times.csv``, ``rates.csv``,
        ``lengths.csv``, ``units.csv`` and ``sources.csv`` (default: the shipped ones).
    network
        The network whose node and link ids, commodities and sources the rows must name
        (default: the shipped network).

    Returns
    -------
    Observations

    Raises
    ------
    DataError
        Naming the file, the 1-based data row and the field of the first fault: an unknown
        link, node, commodity, mode, country, unit or source, a bad period, a low bound above
        the high one, a repeated ``obs_id``.
    """
    from corridor.network import load_network

    folder = Path(path) if path is not None else observed_folder()
    if not folder.is_dir():
        raise DataError("observations folder not found", file=str(folder))
    net = network if network is not None else load_network()
    sources = read_table(folder / "sources.csv", SOURCE_COLUMNS)
    check_unique(sources, "source_id", str(folder / "sources.csv"))
    known_sources = set(sources["source_id"]) | set(net.sources.index) | _demand_sources()
    units_table = read_table(folder / "units.csv", UNIT_COLUMNS)
    check_unique(units_table, "unit", str(folder / "units.csv"))
    check_references(units_table, "source_id", known_sources, str(folder / "units.csv"),
                     "source id")
    units = dict(zip(units_table["unit"], units_table["tonnes"].astype(float), strict=True))
    tables: dict[str, pd.DataFrame] = {}
    seen: dict[str, str] = {}
    for kind in KINDS:
        file = folder / FILES[kind]
        label = str(file)
        table = read_table(file, COLUMNS[kind])
        for row_number, obs_id in enumerate(table["obs_id"], start=1):
            if obs_id in seen:
                raise DataError(f"obs_id {obs_id!r} is used twice (also in {seen[obs_id]})",
                                file=label, row=row_number, field="obs_id")
            seen[obs_id] = FILES[kind]
        check_references(table, "source_id", known_sources, label, "source id")
        _check_rows(kind, table, net, units, label)
        table["fraction"] = [_fraction(p) for p in table["period"]]
        tables[kind] = table
    return Observations(tables=tables, units=units,
                        sources=sources.set_index("source_id"), path=folder)


def _demand_sources() -> set[str]:
    from corridor.demand import default_demand_path
    from corridor.tables import read_table as read

    path = default_demand_path().parent / "sources.csv"
    return set(read(path, SOURCE_COLUMNS)["source_id"]) if path.is_file() else set()


def _fraction(period: str) -> float:
    """The share of a year a period covers (``2024`` → 1, ``2024-01/2024-10`` → 10/12)."""
    match = _PERIOD.match(period)
    assert match is not None
    if not match.group(3):
        return 1.0
    start = int(match.group(1)) * 12 + int(match.group(2) or 1)
    end = int(match.group(3)) * 12 + int(match.group(4))
    return max(end - start + 1, 1) / 12.0


def _check_rows(kind: str, table: pd.DataFrame, net: Network, units: dict[str, float],
                label: str) -> None:
    commodities = list(net.costs.commodities.index)
    for row_number, row in enumerate(table.to_dict(orient="records"), start=1):
        def fail(field: str, message: str, row_number: int = row_number) -> DataError:
            return DataError(message, file=label, row=row_number, field=field)

        for field in ("commodity",):
            for item in str(row.get(field) or "").split(";"):
                if item and item not in commodities:
                    raise fail(field, f"unknown commodity {item!r}"
                                      f"{did_you_mean(item, commodities)}")
        for field in ("element", "numerator", "denominator"):
            if row.get(field):
                _check_element(row[field], net, fail, field)
        if row.get("service") and row.get("commodity") in commodities and row["service"] \
                not in net.costs.services(row["commodity"]):
            raise fail("service", f"unknown service {row['service']!r} for "
                                  f"{row['commodity']}")
        for field in ("origin", "destination", "via"):
            value = row.get(field)
            if value and value not in net.nodes.index:
                raise fail(field, f"unknown node id {value!r}"
                                  f"{did_you_mean(value, list(net.nodes.index), cutoff=0.5)}")
        low, high = (("days_low", "days_high") if kind == "time" else
                     ("value_low", "value_high") if kind == "rate" else (None, None))
        if low and row[low] > row[high]:
            raise fail(high, f"{row[high]} is below {low} {row[low]}")
        if kind == "volume" and row["unit"] not in units and row["unit"] not in TEU_UNITS:
            raise fail("unit", f"unknown unit {row['unit']!r}; use one of "
                               f"{', '.join([*units, *TEU_UNITS])}")
        if kind == "rate":
            unit = str(row["unit"])
            per = unit[len(RATE_PREFIX):].removesuffix("-km") if unit.startswith(
                RATE_PREFIX) else None
            if per is None or (per not in units and per not in TEU_UNITS):
                raise fail("unit", f"unknown rate unit {unit!r}; use USD/ and one of "
                                   f"{', '.join([*units, *TEU_UNITS])}")
        if kind in ("volume", "rate") and (str(row.get("unit", "")).removesuffix("-km")
                                           .endswith(("TEU", "FEU"))):
            commodity = str(row.get("commodity") or "")
            if commodity not in commodities or pd.isna(
                    net.costs.commodities.at[commodity, "t_per_teu"]):
                raise fail("commodity", "a number of containers needs one commodity with "
                                        "t_per_teu in the cost model")


def _check_element(value: str, net: Network, fail, field: str) -> None:  # noqa: ANN001
    match = _ELEMENT.match(value)
    assert match is not None
    kind, ids = match.group(1), match.group(2).split("+")
    if kind == "od":
        if ids != ["*"]:
            raise fail(field, "od takes '*' (all delivered demand, narrowed by the filters)")
        return
    known = net.links.index if kind == "link" else net.nodes.index
    for item in ids:
        if item not in known:
            raise fail(field, f"unknown {kind} id {item!r}"
                              f"{did_you_mean(item, list(known), cutoff=0.5)}")
