"""Monte Carlo over uncertain outages and parameters: how likely, how long, how bad.

A *risk file* (TOML, see ``docs/risk.md``) declares events and parameter ranges::

    title = "..."
    scenario = "baseline"          # the year the draws disturb
    year = 2025

    [[event]]
    name = "cpc_mooring"
    corridor = "CPC"               # a selector: link, node, corridor, country or mode
    factor = 0.5                   # capacity left while it lasts (0: closed)
    rate_per_year = 0.9            # occurrences a year (Poisson), or probability = 0.3
    duration_days = [30, 56, 95]   # triangular (low, most likely, high), or one number
    months = [11, 12, 1, 2, 3]     # optional: the months it may start in
    assumption = "..."
    source = "..."

    [[parameter]]
    name = "sea_tariff"
    tariff_mode = "sea"            # the money of every link of a mode, or
    # value_of_time = true         # the value of time of every commodity
    range = [0.6, 1.8]             # a uniform factor
    assumption = "..."
    source = "..."

Each draw samples every event's occurrences (start uniform over the year or its months,
duration from its distribution) and every parameter's factor. The year is stationary: the
part of an event that runs past 31 December falls at the start of the year (it is last year's
event going on), so an event of ``d`` days always takes ``d`` days of the year. The year is
cut where an event starts or ends; in each part the base programme
(:class:`corridor.flow.FlowModel`) is solved again with the events in force (closed links lose
their columns, derated links a share of their capacity rows) and weighted by its days. Without
parameter ranges an event set is solved once for every draw it appears in; with them, each
draw re-solves warm from the base basis. Draws do not use storage (``storage.csv``): each
part of the year stands alone.

Every draw has its own random stream (``numpy.random.default_rng([seed, draw])``), so the same
seed gives the same draws however they are split among processes.
"""

from __future__ import annotations

import logging
import math
import time
import tomllib
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import highspy
import numpy as np
import pandas as pd

from corridor import limits
from corridor.errors import DataError, InvalidOptionError, did_you_mean
from corridor.flow import MT, TIE_BREAK_USD_PER_T, FlowModel, highs_from_arrays, solve_model
from corridor.network import Network
from corridor.scenario import array_of_tables, check_keys

_TOP = ("title", "description", "scenario", "year", "draws", "event", "parameter")
_EVENT = ("name", "link", "node", "corridor", "country", "mode", "passage", "factor",
          "rate_per_year", "probability", "duration_days", "months", "assumption", "source")
_PARAMETER = ("name", "tariff_mode", "value_of_time", "range", "assumption", "source")
_SELECTORS = ("link", "node", "corridor", "country", "mode", "passage")
log = logging.getLogger(__name__)

#: Occurrences of one event in one year are capped here (a Poisson tail beyond is noise).
MAX_OCCURRENCES = 6
#: Quantiles reported for every metric.
QUANTILES = (0.5, 0.9, 0.99)
METRICS = ("stranded_t", "stranded_value_usd", "cost_usd", "generalised_cost_usd", "loss_usd",
           "avg_days")


@dataclass(frozen=True)
class Event:
    """An outage or derating that may strike in a year."""

    name: str
    selector: tuple[str, tuple[str, ...]]
    factor: float
    rate_per_year: float | None
    probability: float | None
    duration_days: tuple[float, float, float]
    months: tuple[int, ...]
    assumption: str
    source: str
    key: str


@dataclass(frozen=True)
class Parameter:
    """A cost factor drawn uniformly from a range."""

    name: str
    tariff_mode: str | None
    value_of_time: bool
    low: float
    high: float
    assumption: str
    source: str


@dataclass
class RiskFile:
    """A checked risk file."""

    name: str
    title: str
    description: str
    scenario: str | None
    year: int
    draws: int
    events: list[Event] = field(default_factory=list)
    parameters: list[Parameter] = field(default_factory=list)
    file: str = ""


def risk_folder() -> Path:
    """The folder of the shipped risk files."""
    return Path(__file__).parent / "data" / "risk"


def load_risk(name_or_path: str | Path) -> RiskFile:
    """Read and check a risk file (a shipped name like ``cpc-record`` or a path).

    Raises
    ------
    DataError
        Naming the file and the key (``event[2].duration_days``).
    """
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        shipped = sorted(p.stem for p in risk_folder().glob("*.toml"))
        if str(name_or_path) not in shipped:
            raise DataError(f"unknown risk file {str(name_or_path)!r}"
                            f"{did_you_mean(str(name_or_path), shipped, n=1)} (shipped: "
                            f"{', '.join(shipped)})", file=str(name_or_path))
        path = risk_folder() / f"{name_or_path}.toml"
    label = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"invalid TOML: {exc}", file=label) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read the file ({exc})", file=label) from None
    return parse_risk(data, label, path.stem)


def parse_risk(data: dict, label: str = "risk", name: str = "risk") -> RiskFile:
    """Check a risk file given as data (what ``tomllib`` returns)."""
    check_keys(data, _TOP, label, "")
    year = data.get("year", 2025)
    if isinstance(year, bool) or not isinstance(year, int) or limits.YEAR.problem(year):
        raise DataError(f"must be a year ({limits.YEAR.describe()})", file=label, field="year")
    draws = data.get("draws", 1000)
    if isinstance(draws, bool) or not isinstance(draws, int) or not 1 <= draws <= 1_000_000:
        raise DataError("must be a whole number of draws from 1 to 1,000,000", file=label,
                        field="draws")
    scenario = data.get("scenario")
    if scenario is not None and not isinstance(scenario, str):
        raise DataError("must be a scenario name or path", file=label, field="scenario")
    events = [_event(t, label, f"event[{i}]") for i, t in
              enumerate(array_of_tables(data, "event", label), start=1)]
    parameters = [_parameter(t, label, f"parameter[{i}]") for i, t in
                  enumerate(array_of_tables(data, "parameter", label), start=1)]
    if not events and not parameters:
        raise DataError("declare at least one [[event]] or [[parameter]]", file=label)
    names = [e.name for e in events] + [p.name for p in parameters]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise DataError(f"the name {twice[0]!r} is used twice", file=label)
    return RiskFile(name=name, title=str(data.get("title", "")),
                    description=str(data.get("description", "")), scenario=scenario,
                    year=year, draws=draws, events=events, parameters=parameters, file=label)


def _text(table: dict, name: str, label: str, key: str, required: bool = True) -> str:
    value = table.get(name, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise DataError("a text is required" if required else "must be text", file=label,
                        field=f"{key}.{name}")
    return value.strip()


def _number(value: object, label: str, where: str, low: float, high: float,
            low_open: bool = False) -> float:
    ok = (not isinstance(value, bool) and isinstance(value, int | float)
          and math.isfinite(value) and (value > low if low_open else value >= low)
          and value <= high)
    if not ok:
        bound = f"{'above' if low_open else 'from'} {low:g} {'to' if not low_open else 'up to'}"
        raise DataError(f"must be a number {bound} {high:g}, got {value!r}", file=label,
                        field=where)
    return float(value)  # type: ignore[arg-type]


def _event(table: dict, label: str, key: str) -> Event:
    check_keys(table, _EVENT, label, key)
    chosen = [s for s in _SELECTORS if s in table]
    if len(chosen) != 1:
        raise DataError(f"give exactly one of {', '.join(_SELECTORS)}", file=label, field=key)
    ids = table[chosen[0]]
    ids = ids if isinstance(ids, list) else [ids]
    if not ids or not all(isinstance(i, str) and i.strip() for i in ids):
        raise DataError("must be an id or a list of ids", file=label, field=f"{key}.{chosen[0]}")
    if ("rate_per_year" in table) == ("probability" in table):
        raise DataError("give exactly one of rate_per_year (occurrences a year) and "
                        "probability (of at least one a year)", file=label, field=key)
    rate = probability = None
    if "rate_per_year" in table:
        rate = _number(table["rate_per_year"], label, f"{key}.rate_per_year", 0, 50)
    else:
        probability = _number(table["probability"], label, f"{key}.probability", 0, 1)
    raw = table.get("duration_days")
    where = f"{key}.duration_days"
    if isinstance(raw, list):
        if len(raw) != 3:
            raise DataError("must be one number or [low, most likely, high]", file=label,
                            field=where)
        low, mode, high = (_number(v, label, where, 0, 366, low_open=True) for v in raw)
        if not low <= mode <= high:
            raise DataError("needs low <= most likely <= high", file=label, field=where)
    else:
        low = mode = high = _number(raw, label, where, 0, 366, low_open=True)
    months = table.get("months", [])
    if not isinstance(months, list) or not all(
            isinstance(m, int) and not isinstance(m, bool) and 1 <= m <= 12 for m in months):
        raise DataError("must be a list of month numbers 1-12", file=label,
                        field=f"{key}.months")
    return Event(name=_text(table, "name", label, key), selector=(chosen[0], tuple(ids)),
                 factor=_number(table.get("factor", 0.0), label, f"{key}.factor", 0, 1),
                 rate_per_year=rate, probability=probability,
                 duration_days=(low, mode, high), months=tuple(sorted(set(months))),
                 assumption=_text(table, "assumption", label, key),
                 source=_text(table, "source", label, key, required=False), key=key)


def _parameter(table: dict, label: str, key: str) -> Parameter:
    check_keys(table, _PARAMETER, label, key)
    mode = table.get("tariff_mode")
    vot = table.get("value_of_time", False)
    if (mode is None) == (not vot):
        raise DataError("give exactly one of tariff_mode and value_of_time = true", file=label,
                        field=key)
    if mode is not None and not isinstance(mode, str):
        raise DataError("must be a mode", file=label, field=f"{key}.tariff_mode")
    span = table.get("range")
    if not isinstance(span, list) or len(span) != 2:
        raise DataError("must be [low, high]", file=label, field=f"{key}.range")
    low, high = (_number(v, label, f"{key}.range", 0, 100, low_open=True) for v in span)
    if low > high:
        raise DataError("needs low <= high", file=label, field=f"{key}.range")
    return Parameter(name=_text(table, "name", label, key), tariff_mode=mode,
                     value_of_time=bool(vot), low=low, high=high,
                     assumption=_text(table, "assumption", label, key),
                     source=_text(table, "source", label, key, required=False))


# -- drawing -------------------------------------------------------------------------------------


def draw_year(risk: RiskFile, seed: int, draw: int
              ) -> tuple[list[tuple[int, int, int]], np.ndarray]:
    """One draw: the occurrences ``(event, first day, days)`` (days of the year from 0) and the
    parameter factors. Depends only on ``seed`` and ``draw``."""
    rng = np.random.default_rng([seed, draw])
    days = 366 if _leap(risk.year) else 365
    starts_by_month = np.cumsum([0] + [_month_days(risk.year, m) for m in range(1, 13)])
    out = []
    for e, event in enumerate(risk.events):
        if event.rate_per_year is not None:
            count = min(int(rng.poisson(event.rate_per_year)), MAX_OCCURRENCES)
        else:
            count = int(rng.random() < event.probability)
        for _ in range(count):
            if event.months:
                month = event.months[int(rng.integers(len(event.months)))]
                first = starts_by_month[month - 1] + int(rng.integers(
                    _month_days(risk.year, month)))
            else:
                first = int(rng.integers(days))
            low, mode, high = event.duration_days
            length = int(max(1, round(rng.triangular(low, mode, high) if high > low else low)))
            out.append((e, int(first), min(length, days)))
    factors = np.array([rng.uniform(p.low, p.high) for p in risk.parameters])
    return out, factors


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _month_days(year: int, month: int) -> int:
    return (31, 29 if _leap(year) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]


def parts_of(occurrences: list[tuple[int, int, int]], days: int
             ) -> list[tuple[frozenset[int], int]]:
    """The year cut where an event starts or ends: (events in force, days), merged by set.

    The year is stationary: the part of an event that runs past its last day falls at the
    start of the year (last year's event going on).
    """
    spans = []
    for e, first, length in occurrences:
        end = first + length
        spans.append((e, first, min(end, days)))
        if end > days:
            spans.append((e, 0, end - days))
    cuts = sorted({0, days} | {a for _, a, _ in spans} | {b for _, _, b in spans})
    totals: dict[frozenset[int], int] = {}
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        on = frozenset(e for e, s, t in spans if s <= a and b <= t)
        totals[on] = totals.get(on, 0) + (b - a)
    return sorted(totals.items(), key=lambda item: sorted(item[0]))


# -- solving ---------------------------------------------------------------------------------------


@dataclass
class _Plan:
    """What a worker needs: the programme as arrays, what each event changes, the measures."""

    arrays: dict[str, np.ndarray]
    event_cols: list[np.ndarray]  # columns an event closes (factor 0)
    event_rows: list[np.ndarray]  # capacity rows it derates
    event_factor: np.ndarray
    cost_parts: dict[str, np.ndarray]  # money by parameter, time, rest
    measures: dict[str, np.ndarray]
    n_links: int
    exporters: tuple[str, ...]
    countries: tuple[str, ...]
    year_days: int
    parameter_names: list[str] = field(default_factory=list)
    #: ids and corridor tags of the links of the scenario's network (it may add links)
    link_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    link_corridors: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))


def build_plan(network: Network, demand: pd.DataFrame, risk: RiskFile) -> _Plan:
    """The base programme of the risk file's scenario and what each event and parameter
    changes in it.

    Raises
    ------
    DataError
        An event selector that matches nothing, an unknown mode (naming the risk file's key).
    """
    from corridor.scenario import Action, _select, as_scenario, scenario_inputs

    chosen = as_scenario(risk.scenario)
    if chosen is not None and chosen.is_periodic:
        raise DataError(f"scenario {chosen.name!r} has dated changes; draws start from a "
                        f"year without them (declare outages as [[event]] instead)",
                        file=risk.file, field="scenario")
    network, demand, _ = scenario_inputs(network, demand, chosen)
    model = FlowModel(network, demand)
    arrays = model.arrays()
    links, nodes = network.links, network.nodes
    event_cols, event_rows = [], []
    cap_rows = model.n_conservation_rows + np.arange(len(model.cap_link))
    for event in risk.events:
        kind, ids = event.selector
        action = Action("close", {kind: list(ids)}, event.assumption, event.source, risk.file,
                        event.key)
        chosen = np.flatnonzero(_select(action, links, nodes, network).to_numpy())
        if event.factor == 0:
            event_cols.append(model.link_columns(chosen))
            event_rows.append(np.zeros(0, dtype=np.int64))
        else:
            event_cols.append(np.zeros(0, dtype=np.int64))
            event_rows.append(cap_rows[np.isin(model.cap_link[:, 0], chosen)])
    parts = _cost_parts(model, risk)
    measures = _measures(model)
    exporters, countries, entries = _entries(model)
    measures["entry"] = entries
    return _Plan(arrays=arrays, event_cols=event_cols, event_rows=event_rows,
                 event_factor=np.array([e.factor for e in risk.events]), cost_parts=parts,
                 measures=measures, n_links=len(links), exporters=exporters,
                 countries=countries, year_days=366 if _leap(risk.year) else 365,
                 parameter_names=[p.name for p in risk.parameters],
                 link_ids=links.index.to_numpy(dtype=object),
                 link_corridors=links["corridor"].to_numpy(dtype=object))


def _cost_parts(model: FlowModel, risk: RiskFile) -> dict[str, np.ndarray]:
    """The objective split so that parameter factors can scale it: money of each tariff
    parameter's mode, the value-of-time part, and the rest."""
    modes = model.network.links["mode"].to_numpy()
    arc = ~(model.is_strand | model.is_slack)
    col_mode = np.where(model.col_link >= 0, modes[np.maximum(model.col_link, 0)], "")
    time_part = np.where(arc, model.col_cost - model.col_money - TIE_BREAK_USD_PER_T, 0.0)
    parts = {"time": time_part}
    known = set(modes)
    for p in risk.parameters:
        if p.tariff_mode is not None:
            if p.tariff_mode not in known:
                raise DataError(f"no link has mode {p.tariff_mode!r}"
                                f"{did_you_mean(p.tariff_mode, sorted(known), n=1)}",
                                file=risk.file, field=f"parameter {p.name}.tariff_mode")
            parts[p.name] = np.where(arc & (col_mode == p.tariff_mode), model.col_money, 0.0)
    parts["rest"] = model.col_cost - sum(parts.values())
    return parts


def _measures(model: FlowModel) -> dict[str, np.ndarray]:
    worth = np.array([model.network.costs.value_usd_per_t(c) for c in model.commodities])
    return {"is_strand": model.is_strand, "is_slack": model.is_slack, "money": model.col_money,
            "days": model.col_days, "link": model.col_link,
            "worth": worth[model.col_commodity],
            "demand_t": np.asarray(model.od["t_per_year"].sum())}


def _entries(model: FlowModel) -> tuple[tuple[str, ...], tuple[str, ...], np.ndarray]:
    """For each column, the exporter (origin country) and the country its arc enters
    (-1 when it stays in one country): tonnes entering each transit country, by exporter."""
    node_country = model.network.nodes["country"].fillna("").astype(str).str.split(";").str[0]
    links = model.network.links
    start = node_country.reindex(links["from_node_id"]).to_numpy()
    end = node_country.reindex(links["to_node_id"]).to_numpy()
    countries = tuple(sorted(set(node_country) - {""}))
    position = {c: i for i, c in enumerate(countries)}
    origin_country = [node_country.get(g.origin, "") for g in model.groups]
    exporters = tuple(sorted(set(origin_country) - {""}))
    col_exporter = np.array([exporters.index(origin_country[g]) if origin_country[g] else -1
                             for g in model.col_group], dtype=np.int64)
    entry = np.full(model.n_cols, -1, dtype=np.int64)
    own = model.col_link >= 0
    link = model.col_link[own]
    head = np.where(model.col_forward[own], end[link], start[link])
    tail = np.where(model.col_forward[own], start[link], end[link])
    entered = np.array([position.get(c, -1) for c in head], dtype=np.int64)
    entry[own] = np.where(head != tail, entered, -1)
    keep = (entry >= 0) & (col_exporter >= 0)
    # one index per (exporter, country) pair; -1 for the rest
    return exporters, countries, np.where(keep, col_exporter * len(countries) + entry, -1)


class _Solver:
    """A warm HiGHS instance of the base programme, re-solved per event set and factors."""

    def __init__(self, plan: _Plan) -> None:
        self.plan = plan
        self.h = highs_from_arrays(plan.arrays)
        self.base, _ = solve_model(self.h)
        self.basis = self.h.getBasis()
        self.cache: dict[tuple, dict] = {}
        self.cost = plan.arrays["cost"]

    def solve(self, events: frozenset[int], factors: np.ndarray) -> dict:
        key = (events, tuple(np.round(factors, 12)))
        if key in self.cache:
            return self.cache[key]
        plan, h = self.plan, self.h
        cols = np.unique(np.concatenate([plan.event_cols[e] for e in events] +
                                        [np.zeros(0, dtype=np.int64)])).astype(np.int32)
        rows, scale = _derated(plan, events)
        cost = self._cost(factors)
        changed_cost = not np.array_equal(cost, self.cost)
        if changed_cost:
            h.changeColsCost(len(cost), np.arange(len(cost), dtype=np.int32), cost)
        if len(cols):
            zeros = np.zeros(len(cols))
            h.changeColsBounds(len(cols), cols, zeros, zeros)
        if len(rows):
            lower = plan.arrays["row_lower"][rows]
            upper = plan.arrays["row_upper"][rows] * scale
            h.changeRowsBounds(len(rows), rows.astype(np.int32),
                               np.where(np.isinf(lower), -highspy.kHighsInf, lower), upper)
        h.clearSolver()  # the solve depends on the basis only, not on earlier draws
        h.setBasis(self.basis)
        try:
            values, _ = solve_model(h)
        finally:
            _restore(h, plan, cols, rows)
            if changed_cost:
                h.changeColsCost(len(self.cost), np.arange(len(self.cost), dtype=np.int32),
                                 self.cost)
        result = measure(plan, values, cost, self._money(factors))
        if not len(factors):  # with parameters every draw differs: nothing to reuse
            self.cache[key] = result
        return result

    def _money(self, factors: np.ndarray) -> np.ndarray:
        """Money per column at the drawn tariffs."""
        money = self.plan.measures["money"]
        parts = self.plan.cost_parts
        for name, factor in zip(self.plan.parameter_names, factors, strict=True):
            if name in parts:
                money = money + parts[name] * (factor - 1.0)
        return money

    def _cost(self, factors: np.ndarray) -> np.ndarray:
        if not len(factors):
            return self.cost
        parts = self.plan.cost_parts
        cost = parts["rest"].copy()
        time_factor = 1.0
        names = [k for k in parts if k not in ("time", "rest")]
        for name, factor in zip(self.plan.parameter_names, factors, strict=True):
            if name in names:
                cost += parts[name] * factor
            else:
                time_factor *= factor
        for name in names:
            if name not in self.plan.parameter_names:
                cost += parts[name]
        return cost + parts["time"] * time_factor


def _derated(plan: _Plan, events: frozenset[int]) -> tuple[np.ndarray, np.ndarray]:
    """Capacity rows derated by the events in force, and their factor (the smallest)."""
    factor: dict[int, float] = {}
    for e in events:
        for row in plan.event_rows[e]:
            factor[int(row)] = min(factor.get(int(row), 1.0), float(plan.event_factor[e]))
    rows = np.array(sorted(factor), dtype=np.int64)
    return rows, np.array([factor[r] for r in rows])


def _restore(h: highspy.Highs, plan: _Plan, cols: np.ndarray, rows: np.ndarray) -> None:
    if len(cols):
        upper = plan.arrays["upper"][cols]
        h.changeColsBounds(len(cols), cols, plan.arrays["lower"][cols],
                           np.where(np.isinf(upper), highspy.kHighsInf, upper))
    if len(rows):
        lower, upper = plan.arrays["row_lower"][rows], plan.arrays["row_upper"][rows]
        h.changeRowsBounds(len(rows), rows.astype(np.int32),
                           np.where(np.isinf(lower), -highspy.kHighsInf, lower),
                           np.where(np.isinf(upper), highspy.kHighsInf, upper))


def measure(plan: _Plan, values: np.ndarray, cost: np.ndarray, money: np.ndarray) -> dict:
    """The year-rate figures of one solution (each linear in the solution), at the column
    costs ``cost`` and money ``money`` it was solved with."""
    m = plan.measures
    tonnes = np.maximum(values, 0.0) * MT
    strand = m["is_strand"]
    moved = np.where(strand | m["is_slack"], 0.0, tonnes)
    used = m["link"] >= 0
    entry = m["entry"] >= 0
    n_pairs = len(plan.exporters) * len(plan.countries)
    return {
        "stranded_t": float(tonnes[strand].sum()),
        "stranded_value_usd": float(tonnes[strand] @ m["worth"][strand]),
        "cost_usd": float(moved @ money),
        "generalised_cost_usd": float(moved @ (cost - TIE_BREAK_USD_PER_T)),
        "tonne_days": float(moved @ m["days"]),
        "delivered_t": float(m["demand_t"] - tonnes[strand].sum()),
        "link_t": np.bincount(m["link"][used], weights=tonnes[used], minlength=plan.n_links),
        "entry_t": np.bincount(m["entry"][entry], weights=tonnes[entry], minlength=n_pairs),
    }


def _run_draws(plan: _Plan, risk: RiskFile, seed: int, draws: list[int],
               solver: _Solver | None = None,
               tick: Callable[[int], None] | None = None) -> list[dict]:
    solver = solver or _Solver(plan)
    out = []
    for i in draws:
        out.append(_one_draw(plan, risk, solver, seed, i))
        if tick is not None:
            tick(1)
    return out


def _one_draw(plan: _Plan, risk: RiskFile, solver: _Solver, seed: int, i: int) -> dict:
    occurrences, factors = draw_year(risk, seed, i)
    memo: dict[frozenset[int], dict] = {}

    def solved(events: frozenset[int]) -> dict:
        if events not in memo:
            memo[events] = solver.solve(events, factors)
        return memo[events]

    year = {k: 0.0 for k in ("stranded_t", "stranded_value_usd", "cost_usd",
                             "generalised_cost_usd", "tonne_days", "delivered_t")}
    link_t = np.zeros(plan.n_links)
    entry_t = np.zeros(len(plan.exporters) * len(plan.countries))
    for events, days in parts_of(occurrences, plan.year_days):
        share = days / plan.year_days
        part = solved(events)
        for k in year:
            year[k] += share * part[k]
        link_t += share * part["link_t"]
        entry_t += share * part["entry_t"]
    # what the outages cost: generalised cost above the same year without them (at the same
    # tariffs), plus the export value of what they strand
    calm = solved(frozenset())
    year["loss_usd"] = (year["generalised_cost_usd"] - calm["generalised_cost_usd"]
                        + year["stranded_value_usd"] - calm["stranded_value_usd"])
    year["avg_days"] = year["tonne_days"] / year["delivered_t"] if year["delivered_t"] else 0.0
    return {"draw": i, **year, "link_t": link_t, "entry_t": entry_t,
            "events": ";".join(f"{risk.events[e].name}@{a}+{n}d" for e, a, n in occurrences),
            **{f"factor_{p.name}": float(f) for p, f in
               zip(risk.parameters, factors, strict=True)}}


def _worker(plan: _Plan, risk: RiskFile, seed: int, draws: list[int]) -> list[dict]:
    return _run_draws(plan, risk, seed, draws)


#: Where the draws run: processes of this machine, or a Dask cluster.
ENGINES = ("local", "dask")


def _run_dask(plan: _Plan, risk: RiskFile, seed: int, chunks: list[list[int]], workers: int,
              address: str | None, progress: Callable[[int], None] | None) -> list[dict]:
    """Run the chunks of draws on a Dask cluster: the one at ``address``, or a new local one
    of ``workers`` single-threaded processes (closed afterwards)."""
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise InvalidOptionError("the dask engine needs the 'distributed' package: pip install "
                                 "'corridor[risk]'") from None
    cluster = None
    try:
        if address is None:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
        else:
            client = Client(address, timeout="5s")
    except (OSError, TimeoutError) as exc:
        raise InvalidOptionError(f"cannot reach the Dask scheduler at {address}: {exc}") \
            from None
    try:
        shared = client.scatter([plan, risk], broadcast=True)
        futures = [client.submit(_worker, shared[0], shared[1], seed, chunk, pure=False)
                   for chunk in chunks]
        done: dict[int, list[dict]] = {}
        position = {f.key: i for i, f in enumerate(futures)}
        for future in as_completed(futures):
            done[position[future.key]] = future.result()
            if progress is not None:
                progress(len(done[position[future.key]]))
        return [row for i in range(len(futures)) for row in done[i]]
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


@dataclass
class RiskResult:
    """The draws of a risk run and their summaries.

    Attributes
    ----------
    draws
        One row per draw: the year's stranded tonnes, their export value, transport cost,
        generalised cost, ``loss_usd``, average days, each exporter's transit HHI
        (``hhi_KAZ`` …), the events drawn (``name@day+days``) and the parameter factors.
    summary
        One row per metric: mean, P50, P90, P99 and the mean of the worst tenth.
    links
        One row per link with flow: undisturbed tonnes, the mean over draws, the 10th
        percentile, and the expected tonnes lost a year.
    events
        One row per event: occurrences per year and mean days drawn, and the expected loss a
        year while it is in force (shared equally when events overlap).
    """

    risk: RiskFile
    seed: int
    draws: pd.DataFrame
    summary: pd.DataFrame
    links: pd.DataFrame
    events: pd.DataFrame
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"risk": self.risk.name, "title": self.risk.title, "seed": self.seed,
                "n_draws": len(self.draws), "seconds": self.seconds,
                "summary": self.summary.to_dict(orient="records"),
                "events": self.events.to_dict(orient="records"),
                "links": self.links.head(30).to_dict(orient="records")}


def run_risk(network: Network, demand: pd.DataFrame, risk: RiskFile | str | Path,
             draws: int | None = None, seed: int = 0, workers: int = 1,
             progress: Callable[[int], None] | None = None, engine: str = "local",
             address: str | None = None) -> RiskResult:
    """Run the Monte Carlo of a risk file.

    Parameters
    ----------
    network, demand
        The network and yearly demand (the risk file's ``scenario`` is applied to them).
    risk
        A :class:`RiskFile`, or a shipped name or path.
    draws
        Number of draws (default: the file's ``draws``).
    seed
        The same seed gives the same draws, with any number of ``workers``.
    workers
        Processes: local ones, or the workers of a new local Dask cluster.
    progress
        Called with the number of draws just finished (one process only; with workers, once
        per finished chunk).
    engine
        ``"local"`` (processes of this machine) or ``"dask"`` (a Dask cluster: a new local
        one with ``workers`` processes, or the one at ``address``).
    address
        A running Dask scheduler to join (``tcp://host:8786``); ``engine="dask"`` only.

    Raises
    ------
    DataError, InvalidOptionError
    """
    start = time.perf_counter()
    if not isinstance(risk, RiskFile):
        risk = load_risk(risk)
    n = draws if draws is not None else risk.draws
    if not 1 <= n <= 1_000_000:
        raise InvalidOptionError("draws must be from 1 to 1,000,000.")
    if not 1 <= workers <= 64:
        raise InvalidOptionError("workers must be from 1 to 64.")
    if engine not in ENGINES:
        raise InvalidOptionError(f"engine must be one of {', '.join(ENGINES)}")
    if address is not None and engine != "dask":
        raise InvalidOptionError("--address joins a Dask cluster: use it with --engine dask")
    plan = build_plan(network, demand, risk)
    solver = _Solver(plan)
    log.info("%s: %d draws, seed %d, %d events, %d parameters, %s engine, %d workers",
             risk.name, n, seed, len(risk.events), len(risk.parameters), engine, workers)
    order = list(range(n))
    size = max(1, min(250, math.ceil(n / (workers * 4))))
    chunks = [order[i:i + size] for i in range(0, n, size)]
    if engine == "dask":
        rows = _run_dask(plan, risk, seed, chunks, workers, address, progress)
    elif workers == 1 or n < 2 * workers:
        rows = _run_draws(plan, risk, seed, order, solver=solver, tick=progress)
    else:
        rows = []
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for part in pool.map(_worker, [plan] * len(chunks), [risk] * len(chunks),
                                 [seed] * len(chunks), chunks):
                rows += part
                if progress is not None:
                    progress(len(part))
    # the undisturbed year's link flows (this process's solver reuses its cached base solve)
    base = solver.solve(frozenset(), np.ones(len(risk.parameters)))["link_t"]
    return _result(plan, risk, seed, rows, base, time.perf_counter() - start)


def _result(plan: _Plan, risk: RiskFile, seed: int, rows: list[dict], base: np.ndarray,
            seconds: float) -> RiskResult:
    from corridor.metrics import hhi

    n_countries = len(plan.countries)
    hhis = {}
    for x, exporter in enumerate(plan.exporters):
        block = np.array([r["entry_t"][x * n_countries:(x + 1) * n_countries] for r in rows])
        own = plan.countries.index(exporter) if exporter in plan.countries else None
        if own is not None:
            block[:, own] = 0.0
        hhis[f"hhi_{exporter}"] = [hhi(b) if b.sum() > 0 else np.nan for b in block]
    scalar = [k for k in rows[0] if k not in ("link_t", "entry_t")]
    table = pd.DataFrame([{k: r[k] for k in scalar} for r in rows])
    for name, values in hhis.items():
        if np.isfinite(values).any():
            table[name] = values
    table = table.drop(columns=["tonne_days", "delivered_t"])
    table.insert(1, "seed", seed)
    metrics = [m for m in METRICS if m in table] + [c for c in table if c.startswith("hhi_")]
    summary = pd.DataFrame([_tails(name, table[name].to_numpy(dtype=float))
                            for name in metrics])
    flows = np.array([r["link_t"] for r in rows])
    links = pd.DataFrame({"link_id": plan.link_ids, "corridor": plan.link_corridors,
                          "undisturbed_t": base, "mean_t": flows.mean(axis=0),
                          "p10_t": np.quantile(flows, 0.1, axis=0),
                          "expected_lost_t": np.maximum(base[None, :] - flows, 0).mean(axis=0)})
    links = links[(links["undisturbed_t"] > 0.5) | (links["mean_t"] > 0.5)]
    links = links.sort_values("expected_lost_t", ascending=False).reset_index(drop=True)
    return RiskResult(risk=risk, seed=seed, draws=table, summary=summary, links=links,
                      events=_event_table(risk, table, plan), seconds=seconds)


def _tails(name: str, values: np.ndarray) -> dict:
    finite = values[np.isfinite(values)]
    if not len(finite):
        return {"metric": name, "mean": np.nan, "p50": np.nan, "p90": np.nan, "p99": np.nan,
                "worst_tenth_mean": np.nan}
    p50, p90, p99 = np.quantile(finite, QUANTILES)
    worst = np.sort(finite)[-max(1, len(finite) // 10):]
    return {"metric": name, "mean": float(finite.mean()), "p50": float(p50), "p90": float(p90),
            "p99": float(p99), "worst_tenth_mean": float(worst.mean())}


def _event_table(risk: RiskFile, draws: pd.DataFrame, plan: _Plan) -> pd.DataFrame:
    rows = []
    n = len(draws)
    for event in risk.events:
        tags = draws["events"].str.findall(rf"(?:^|;){event.name}@\d+\+(\d+)d")
        counts = tags.str.len()
        days = [int(d) for found in tags for d in found]
        hit = counts > 0
        rows.append({"event": event.name, "occurrences_per_year": float(counts.sum() / n),
                     "mean_days": float(np.mean(days)) if days else 0.0,
                     "share_of_years_hit": float(hit.mean()),
                     "mean_loss_usd_in_years_hit": float(draws.loc[hit, "loss_usd"].mean())
                     if hit.any() else 0.0})
    return pd.DataFrame(rows)


def write_draws(result: RiskResult, path: str | Path,
                inputs: list[str | Path] | None = None) -> Path:
    """Save every draw as Parquet (``.parquet``) or CSV (``.csv``), atomically."""
    import io

    from corridor.outputs import write_bytes

    target = Path(path)
    if target.suffix not in (".parquet", ".csv"):
        raise InvalidOptionError("the draws file must end in .parquet or .csv")
    if target.suffix == ".parquet":
        buffer = io.BytesIO()
        result.draws.to_parquet(buffer, index=False)
        data = buffer.getvalue()
    else:
        data = result.draws.to_csv(index=False).encode("utf-8")
    return write_bytes(target, data, inputs or [])
