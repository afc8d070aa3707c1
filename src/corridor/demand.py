"""Load and validate yearly trade demand (origin–destination tonnes per commodity).

The demand table is ``data/demand/baseline.csv`` with a ``sources.csv`` beside it (see
``docs/data-model.md``). It is validated like the network: every error names the file, the
1-based data row and the field.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

from corridor import limits
from corridor.errors import DataError, UnknownPlaceError
from corridor.network import Network, load_network
from corridor.tables import (
    PROVENANCE_COLUMNS,
    SOURCE_COLUMNS,
    Column,
    check_estimates,
    check_references,
    check_unique,
    iso3_list,
    read_table,
)

DEMAND_COLUMNS = [
    Column("origin", required=True),
    Column("destination", required=True),
    Column("commodity", required=True),
    Column("t_per_year", "float", required=True, allowed=limits.TONNES_PER_YEAR),
    Column("year", "int", allowed=limits.YEAR),
    Column("allowed_modes"),
    Column("avoid_countries", check=iso3_list),
    *PROVENANCE_COLUMNS,
    Column("notes"),
]

#: What makes one demand segment: rows sharing these are summed before assignment.
OD_KEYS = ("origin", "destination", "commodity", "allowed_modes", "avoid_countries")
#: What makes one group of the assignment: a commodity, its allowed modes, countries avoided.
SEGMENT_KEYS = ("commodity", "allowed_modes", "avoid_countries")

#: The columns of a demand table, in order (what :func:`load_demand` returns).
DEMAND_FIELDS = [column.name for column in DEMAND_COLUMNS]


def default_demand_path() -> Path:
    """The shipped baseline demand file."""
    return Path(str(resources.files("corridor") / "data" / "demand" / "baseline.csv"))


def demand_files(path: str | Path | None = None) -> list[Path]:
    """The files :func:`load_demand` reads for ``path`` (the table and its ``sources.csv``)."""
    file = Path(path) if path is not None else default_demand_path()
    if file.is_dir():
        file = file / "baseline.csv"
    return [file, file.parent / "sources.csv"]


def load_demand(path: str | Path | None = None, network: Network | None = None) -> pd.DataFrame:
    """Read and validate a demand table.

    Parameters
    ----------
    path
        A demand CSV file (``origin, destination, commodity, t_per_year, year, allowed_modes,
        source_id, estimated, estimate_method, notes``), or a folder holding ``baseline.csv``.
        Its ``sources.csv`` is read from the same folder. Defaults to the shipped baseline.
        ``allowed_modes`` (optional, ``;``-separated) keeps a row on some of its commodity's
        modes, e.g. ``rail;ferry`` for cargo booked on land-bridge rail services; empty means
        every mode of the commodity.
    network
        The network whose node ids, commodities and sources the rows must refer to. Defaults
        to the shipped network.

    Returns
    -------
    pandas.DataFrame
        One row per demand row, columns as in the file (``t_per_year`` float, ``year`` Int64,
        ``allowed_modes`` normalised: modes in a fixed order, ``transfer`` kept, "" for all).

    Raises
    ------
    DataError
        Naming the file, the 1-based data row and the field: unknown node id, unknown
        commodity, negative or missing tonnes, missing or unknown source, origin equal to
        destination, a mode the commodity may not use.
    """
    file = Path(path) if path is not None else default_demand_path()
    if file.is_dir():
        file = file / "baseline.csv"
    net = network if network is not None else load_network()
    label = str(file)
    table = read_table(file, DEMAND_COLUMNS)
    check_estimates(table, label)

    source_file = file.parent / "sources.csv"
    known_sources = set(net.sources.index)
    if source_file.is_file():
        sources = read_table(source_file, SOURCE_COLUMNS)
        check_unique(sources, "source_id", str(source_file))
        known_sources |= set(sources["source_id"])
    check_references(table, "source_id", known_sources, label, "source id")
    for end in ("origin", "destination"):
        _check_nodes(table, end, net, label)
    check_references(table, "commodity", set(net.costs.commodities.index), label, "commodity")
    table["allowed_modes"] = _allowed_modes(table, net, label)
    table["avoid_countries"] = [avoid_key(v) for v in table["avoid_countries"].fillna("")]
    for row_number, (a, b) in enumerate(zip(table["origin"], table["destination"], strict=True),
                                        start=1):
        if a == b:
            raise DataError("origin and destination are the same node", file=label,
                            row=row_number, field="destination")
    table["year"] = table["year"].astype("Int64")
    return table[DEMAND_FIELDS + [c for c in table.columns if c not in DEMAND_FIELDS]]


def avoid_key(text: object) -> str:
    """``"RUS; irn"`` → ``"IRN;RUS"``: the countries a segment avoids, in one spelling."""
    return ";".join(sorted({c.strip().upper() for c in str(text or "").split(";")
                            if c.strip()}))


def _allowed_modes(table: pd.DataFrame, network: Network, label: str) -> list[str]:
    """Each row's ``allowed_modes``, normalised; a bad mode names its row and field."""
    out = []
    for row_number, (commodity, modes) in enumerate(
            zip(table["commodity"], table["allowed_modes"].fillna(""), strict=True), start=1):
        try:
            out.append(network.costs.restrict_modes(commodity, modes))
        except ValueError as exc:
            raise DataError(str(exc), file=label, row=row_number, field="allowed_modes") from None
    return out


def _check_nodes(table: pd.DataFrame, field: str, network: Network, label: str) -> None:
    """Unknown node ids get the network's "did you mean" suggestions."""
    known = network.nodes.index
    for row_number, value in enumerate(table[field].tolist(), start=1):
        if value in known:
            continue
        hint = ""
        try:
            match = network.resolve(value)
            hint = f"; did you mean node id {match!r}?"
        except UnknownPlaceError as exc:
            if exc.suggestions:
                hint = f"; did you mean {', '.join(repr(s) for s in exc.suggestions)}?"
        raise DataError(f"unknown node id {value!r}{hint}", file=label, row=row_number,
                        field=field)


def aggregate_od(demand: pd.DataFrame) -> pd.DataFrame:
    """Sum demand rows that share origin, destination, commodity and allowed modes.

    Parameters
    ----------
    demand
        A demand table as returned by :func:`load_demand`.

    Returns
    -------
    pandas.DataFrame
        Columns ``origin, destination, commodity, allowed_modes, t_per_year`` (one row per
        demand segment, in first-seen order; rows with zero tonnes are kept; ``allowed_modes``
        is "" when the segment may use every mode of its commodity).
    """
    if demand.empty:
        return pd.DataFrame({key: pd.Series(dtype=str) for key in OD_KEYS}
                            | {"t_per_year": pd.Series(dtype=float)})
    for key in ("allowed_modes", "avoid_countries"):
        if key not in demand:
            demand = demand.assign(**{key: ""})
        demand = demand.assign(**{key: demand[key].fillna("").astype(str)})
    grouped = (demand.groupby(list(OD_KEYS), sort=False)["t_per_year"].sum().reset_index())
    grouped["t_per_year"] = grouped["t_per_year"].astype(float)
    return grouped
