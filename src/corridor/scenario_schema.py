"""The schema of a scenario, declared once (pydantic) for the TOML files and the API.

:mod:`corridor.scenario` takes every key it accepts from these models and checks each file and
each posted body against them; the service publishes them in its OpenAPI document. The
models say which keys exist and what type each holds; the checks that need the network or
give friendlier messages (ranges with units, "did you mean", exactly one selector) stay in
:mod:`corridor.scenario`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from corridor.errors import DataError

#: A selector takes one id or a list of ids.
Ids = str | list[str]
SELECTOR_NAMES = ("link", "node", "corridor", "country", "mode", "passage")
TEXT_KEYS = ("assumption", "source")
TIMING_KEYS = ("start", "duration_days", "months")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Change(_Strict):
    """What every change carries: why, where the numbers come from, and when it is in force."""

    assumption: str = Field(description="Why, and what the numbers are (required).")
    source: str = Field("", description="Where the numbers come from.")
    start: dt.date | None = Field(None, description="First day in force (with duration_days).")
    duration_days: float | None = Field(None, description="How long, from start.")
    months: list[int] | None = Field(None, description="Months of every year in force (1-12).")


class Close(Change):
    """Close the selected links (give exactly one selector)."""

    link: Ids | None = None
    node: Ids | None = None
    corridor: Ids | None = None
    country: Ids | None = None
    mode: Ids | None = None
    passage: Ids | None = None


class Open(Change):
    """Open planned, under-construction or closed links."""

    link: Ids | None = None
    corridor: Ids | None = None


class ScaleCapacity(Change):
    """Scale the selected links' yearly capacity (``factor``, on tonnes and TEU alike), or set
    it (``capacity_t_per_year``, ``capacity_teu_per_year`` or both)."""

    link: Ids | None = None
    corridor: Ids | None = None
    factor: float | None = None
    capacity_t_per_year: float | None = None
    capacity_teu_per_year: float | None = None


class MultiplyCost(Change):
    """Multiply the money cost of the selected links."""

    link: Ids | None = None
    corridor: Ids | None = None
    mode: Ids | None = None
    country: Ids | None = None
    passage: Ids | None = None
    factor: float = Field(description="> 0")


class MultiplyTime(MultiplyCost):
    """Multiply the time of the selected links."""


class DemandChange(Change):
    """Scale the matching demand rows (factor), or add a row (t_per_year)."""

    factor: float | None = None
    origin: Ids | None = None
    destination: Ids | None = None
    commodity: Ids | None = None
    origin_country: Ids | None = None
    destination_country: Ids | None = None
    t_per_year: float | None = None
    year: int | None = None
    allowed_modes: str | None = None
    avoid_countries: str | None = None
    source_id: str | None = None
    estimated: str | None = None
    estimate_method: str | None = None
    notes: str | None = None


def _add_node_model() -> type[Change]:
    """A full ``node.csv`` row (its columns, declared once in :mod:`corridor.network`)."""
    from corridor.network import NODE_COLUMNS

    kinds: dict[str, Any] = {"float": float, "int": int, "bool": bool | int, "str": str}
    fields: dict[str, Any] = {}
    for column in NODE_COLUMNS:
        kind = kinds[column.kind]
        fields[column.name] = (kind, ...) if column.required else (kind | None, None)
    return create_model("AddNode", __base__=Change,
                        __doc__="Add a node (a new station, port or junction): a full node.csv "
                                "row.", **fields)


AddNode = _add_node_model()


def _add_link_model() -> type[Change]:
    """A full ``link.csv`` row (its columns, declared once in :mod:`corridor.network`) and the
    investment it takes."""
    from corridor.network import LINK_COLUMNS

    kinds: dict[str, Any] = {"float": float, "int": int, "bool": bool | int, "str": str}
    fields: dict[str, Any] = {}
    for column in LINK_COLUMNS:
        kind = kinds[column.kind]
        fields[column.name] = (kind, ...) if column.required else (kind | None, None)
    fields["investment_usd"] = (float | None, None)
    return create_model("AddLink", __base__=Change, __doc__="Add a link: a full link.csv row.",
                        **fields)


AddLink = _add_link_model()


class Source(_Strict):
    """A publication the scenario cites beyond the dataset."""

    source_id: str
    title: str
    publisher: str | None = None
    url: str | None = None
    year: str | int | None = None
    used_for: str | None = None


#: The kinds of change, in the order they are applied, and their models.
ACTIONS: dict[str, type[Change]] = {
    "add_node": AddNode, "add_link": AddLink, "open": Open, "close": Close,
    "scale_capacity": ScaleCapacity, "multiply_cost": MultiplyCost,
    "multiply_time": MultiplyTime, "demand": DemandChange}


class ScenarioSchema(_Strict):
    """A scenario: a title, what it inherits, and lists of changes (``[[close]]`` …)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "title": "CPC closed", "description": "The CPC pipeline is out for a year.",
        "close": [{"corridor": "CPC", "assumption": "drone damage closes the pipeline"}]}]})
    name: str | None = None
    title: str | None = None
    description: str | None = None
    inherits: str | None = Field(None, description="A scenario to start from.")
    year: int | None = None
    periods: Literal["month"] | None = Field(
        None, description='"month" to cut the year into months; a change with "start" and '
                          '"duration_days" or "months" does it too.')
    sources: list[Source] | None = None
    add_node: list[AddNode] | None = None  # type: ignore[valid-type]
    add_link: list[AddLink] | None = None  # type: ignore[valid-type]
    open: list[Open] | None = None
    close: list[Close] | None = None
    scale_capacity: list[ScaleCapacity] | None = None
    multiply_cost: list[MultiplyCost] | None = None
    multiply_time: list[MultiplyTime] | None = None
    demand: list[DemandChange] | None = None


TOP_KEYS = tuple(ScenarioSchema.model_fields)


def keys(kind: str) -> tuple[str, ...]:
    """The keys a change of ``kind`` may hold besides its text and timing."""
    return tuple(k for k in ACTIONS[kind].model_fields if k not in TEXT_KEYS + TIMING_KEYS)


def selectors(kind: str) -> tuple[str, ...]:
    """The selectors a change of ``kind`` takes (empty: it selects no links)."""
    if kind in ("add_node", "add_link", "demand"):
        return ()
    return tuple(k for k in keys(kind) if k in SELECTOR_NAMES)


def validate(data: dict, label: str) -> ScenarioSchema:
    """Check ``data`` against the schema; the first fault is a DataError naming ``label`` and
    the key (``close[1].factor``)."""
    try:
        return ScenarioSchema.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ""
        for part in first["loc"]:
            where += f"[{part + 1}]" if isinstance(part, int) else (
                f".{part}" if where else str(part))
        raise DataError(first["msg"], file=label, field=where or None) from None
