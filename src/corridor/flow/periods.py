"""A year cut into periods: events with a start and a duration, seasons, storage in between.

A scenario whose changes carry ``start`` and ``duration_days`` (an event) or ``months`` (a
season), or that sets ``periods = "month"``, is solved period by period
(:func:`assign_periods`). The year is cut at every month start and at the first day of each
event and the day after it ends, so a change is in force for whole periods. A period of ``d``
days gets ``d / 365`` of every yearly figure (demand, link and terminal capacities, contract
bounds; ``d / 366`` in a leap year) and the network of the changes in force in it.

Without storage the periods are independent, and each one's linear programme is the yearly
programme of its network with every bound scaled by the same factor: its optimum is the yearly
optimum scaled by that factor (the programme is homogeneous). Each distinct set of changes in
force is therefore solved once, whatever the number of periods.

With storage (``storage.csv``: tanks and yards at a node, by commodity) cargo may wait from
one period to the next. The periods' programmes are then stacked into one, joined by *carry*
columns: tonnes of one demand group that stay at a storage node (in any layer, or at the origin
before leaving) at the end of a period and go on in the next. The tonnes waiting at a node at
a period's end are bounded by its capacity; a tonne waiting pays the value of time for the days
it waits (half of each period, on average). Nothing waits into the next year.

The result is one :class:`~corridor.flow.result.FlowResult` for the year (the sum of the
periods) with a ``periods`` table, and one result per period.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import block_diag, coo_matrix, hstack, vstack

from corridor.demand import OD_KEYS
from corridor.errors import DataError
from corridor.flow.model import MT, TIE_BREAK_USD_PER_T, FlowModel
from corridor.flow.result import ROUTE_COLUMNS, SATURATED_UTILISATION, FlowResult, build_result
from corridor.flow.solver import highs_from_arrays, solve_model
from corridor.network import Network

log = logging.getLogger(__name__)

#: Columns of :attr:`FlowResult.periods`.
PERIOD_COLUMNS = ["period", "start", "end", "days", "changes", "demand_t", "delivered_t",
                  "stranded_t", "stranded_value_usd", "cost_usd", "avg_days", "waiting_t"]


@dataclass(frozen=True)
class Period:
    """Days ``start`` to ``end`` (exclusive) with the same changes in force.

    ``in_force`` holds the positions, in :meth:`corridor.scenario.Scenario.all_actions`, of the
    dated changes in force; ``changes`` their keys (``close[1]``).
    """

    start: dt.date
    end: dt.date
    in_force: tuple[int, ...]
    changes: tuple[str, ...]

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def label(self) -> str:
        last = self.end - dt.timedelta(days=1)
        return f"{self.start:%d %b}" if last == self.start else \
            f"{self.start:%d %b}-{last:%d %b}"


def calendar_of(scenario, year: int) -> list[Period]:  # noqa: ANN001 (Scenario)
    """Cut ``year`` at month starts and at the edges of every event of ``scenario``.

    Raises
    ------
    DataError
        An event that does not overlap the year (naming the file and key).
    """
    first, after = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    cuts = {dt.date(year, m, 1) for m in range(1, 13)} | {after}
    actions = scenario.all_actions()
    for action in actions:
        if action.start is None:
            continue
        if action.end <= first or action.start >= after:
            raise DataError(f"the event ({action.start.isoformat()}, {action.duration_days:g} "
                            f"days) lies outside the scenario's year {year}; set year = "
                            f"{action.start.year} or move the event", file=action.file,
                            field=f"{action.key}.start")
        cuts |= {min(max(action.start, first), after), min(action.end, after)}
    edges = sorted(cuts)
    periods = []
    for start, end in zip(edges[:-1], edges[1:], strict=True):
        on = tuple(i for i, a in enumerate(actions) if a.dated and (
            (a.start is not None and a.start <= start and end <= a.end)
            or start.month in a.months))
        periods.append(Period(start, end, on, tuple(actions[i].key for i in on)))
    return periods


def scenario_year(scenario, demand: pd.DataFrame) -> int:  # noqa: ANN001 (Scenario)
    """The year a periodic scenario covers: its ``year`` (or a parent's), else the year of its
    first event, else the latest year of the demand."""
    if scenario.calendar_year is not None:
        return int(scenario.calendar_year)
    starts = [a.start for a in scenario.all_actions() if a.start is not None]
    if starts:
        return min(starts).year
    years = pd.to_numeric(demand.get("year"), errors="coerce") if "year" in demand else None
    if years is not None and years.notna().any():
        return int(years.max())
    return dt.date.today().year


def assign_periods(network: Network, demand: pd.DataFrame, scenario,  # noqa: ANN001
                   time_limit_s: float | None = None,
                   solve=None) -> FlowResult:  # noqa: ANN001 (callable)
    """Assign the demand period by period under a scenario with dated changes.

    Parameters
    ----------
    network, demand
        The network and yearly demand the scenario changes.
    scenario
        A :class:`corridor.scenario.Scenario` (periodic or not: a plain one gives twelve
        months of the same network).
    time_limit_s
        Wall-clock budget for building and solving (None: no limit).
    solve
        ``solve(model, deadline) -> (values, duals)`` for one yearly programme; default the
        linear programme. When given (e.g. the logit assignment) periods are independent and
        storage is not used.

    Returns
    -------
    FlowResult
        The year (sums over the periods), with :attr:`FlowResult.periods` (one row per period)
        and :attr:`FlowResult.period_results`.
    """
    from corridor.scenario import apply_scenario

    deadline = None if time_limit_s is None else time.monotonic() + time_limit_s
    year = scenario_year(scenario, demand)
    periods = calendar_of(scenario, year)
    year_days = 366 if _calendar.isleap(year) else 365
    models: dict[tuple[int, ...], FlowModel] = {}
    hold = tuple(network.storage["node_id"].unique()) if solve is None and len(periods) > 1 \
        else ()
    for period in periods:
        if period.in_force not in models:
            net, table = apply_scenario(network, scenario, demand, in_force=period.in_force)
            models[period.in_force] = FlowModel(net, table, hold)
    chosen = [models[p.in_force] for p in periods]
    share = np.array([p.days / year_days for p in periods])
    carry = None if solve is not None else _Carry.build(chosen, periods, share)
    log.info("%d periods of %d, %d distinct sets of changes, %s", len(periods), year,
             len(models), "independent" if carry is None else
             f"stacked with {len(carry.cost)} carry and late columns")
    if carry is None:
        run = solve or (lambda model, limit: solve_model(model.highs(), limit))
        solved = {key: run(model, deadline) for key, model in models.items()}
        parts = [(solved[p.in_force][0] * f, solved[p.in_force][1])
                 for p, f in zip(periods, share, strict=True)]
        waiting = np.zeros(len(periods))
    else:
        parts, waiting = carry.solve(deadline)
    built: dict[tuple, FlowResult] = {}
    results = []
    for p, (model, (values, duals), f) in enumerate(zip(chosen, parts, share, strict=True)):
        # independent periods of the same changes and length have the same result
        key = (periods[p].in_force, periods[p].days) if carry is None else (p,)
        if key not in built:
            built[key] = build_result(model, values, duals, scenario.name, f)
        results.append(built[key])
    return combine(results, periods, share, waiting, scenario.name)


class _Carry:
    """The periods' programmes stacked into one, joined by storage and late-delivery columns.

    A *carry* column holds a group's tonnes at a storage node from the end of one period to
    the next (at the origin: before they leave). A *late* column lets a destination receive in
    the next period what it was owed in this one (a back-order); it costs the value of time
    of the days in between. The tonnes carried out of a period at a node share its capacity.
    """

    def __init__(self, models: list[FlowModel], share: np.ndarray) -> None:
        self.models, self.share = models, share
        self.col_offset = np.concatenate(([0], np.cumsum([m.n_cols for m in models])))
        self.row_offset = np.concatenate(([0], np.cumsum([m.n_rows for m in models])))
        self.rows_out: list[int] = []  # +1 (the column leaves this row)
        self.rows_in: list[int] = []  # -1
        self.cost: list[float] = []
        self.store_row: list[int] = []  # storage row of a carry column, -1 for a late one
        self.period: list[int] = []
        self.capacity: list[float] = []  # Mt, per storage row
        self._rows: dict[tuple[str, str, int], int] = {}

    @classmethod
    def build(cls, models: list[FlowModel], periods: list[Period],
              share: np.ndarray) -> _Carry | None:
        """The carry and late columns, or None when no cargo could wait anywhere."""
        storage = models[0].network.storage
        if len(models) < 2 or not len(storage):
            return None
        self = cls(models, share)
        places = storage.groupby(["node_id", "commodity"])["capacity_t"].sum()
        nodes_of: dict[str, list[str]] = {}
        for node, commodity in places.index:
            nodes_of.setdefault(commodity, []).append(node)
        for p in range(len(models) - 1):
            days = (periods[p].days + periods[p + 1].days) / 2.0
            later = {(g.segment, g.origin): g for g in models[p + 1].groups}
            for group in models[p].groups:
                match = later.get((group.segment, group.origin))
                if match is None:
                    continue
                stored = False
                for node in nodes_of.get(group.commodity, ()):
                    row = self._store(node, group.commodity, p, places)
                    pairs = _rows_at(models[p], group, node), _rows_at(models[p + 1], match, node)
                    for place, here in pairs[0].items():
                        if place in pairs[1]:
                            self._add(p, here, pairs[1][place], TIE_BREAK_USD_PER_T, row)
                            stored = True
                if stored:
                    self._late(models, p, group, match, days)
        return self if self.capacity else None

    def _store(self, node: str, commodity: str, p: int, places: pd.Series) -> int:
        key = (node, commodity, p)
        if key not in self._rows:
            self._rows[key] = len(self.capacity)
            self.capacity.append(float(places.loc[(node, commodity)]) / MT)
        return self._rows[key]

    def _add(self, p: int, out_row: int, in_row: int, cost: float, store_row: int) -> None:
        self.rows_out.append(int(self.row_offset[p] + out_row))
        self.rows_in.append(int(self.row_offset[p + 1] + in_row))
        self.cost.append(cost)
        self.store_row.append(store_row)
        self.period.append(p)

    def _late(self, models: list[FlowModel], p: int, group, match, days: float  # noqa: ANN001
              ) -> None:
        """Back-orders of each destination of the group into the next period."""
        od_now = models[p].od.loc[group.od_rows, "destination"].tolist()
        od_next = models[p + 1].od.loc[match.od_rows, "destination"].tolist()
        value_of_time = models[p].graphs[group.graph_key].value_of_time
        for i, destination in enumerate(od_now):
            if destination in od_next:
                j = od_next.index(destination)
                # the column enters the sink row of this period and leaves the next one's
                self.rows_out.append(int(self.row_offset[p + 1] + match.sink_rows[j]))
                self.rows_in.append(int(self.row_offset[p] + group.sink_rows[i]))
                self.cost.append(value_of_time * days + TIE_BREAK_USD_PER_T)
                self.store_row.append(-1)
                self.period.append(p)

    def solve(self, deadline: float | None) -> tuple[list[tuple[np.ndarray, np.ndarray]],
                                                    np.ndarray]:
        """Solve the stacked programme; returns each period's (values, duals) and the tonnes
        waiting in storage at the end of each period."""
        models, share = self.models, self.share
        n_extra, n_store = len(self.cost), len(self.capacity)
        n_rows = int(self.row_offset[-1])
        n_cols = int(self.col_offset[-1])
        blocks = block_diag([m.matrix for m in models], format="csc")
        extra = coo_matrix((np.concatenate([np.ones(n_extra), -np.ones(n_extra)]),
                            (np.concatenate([self.rows_out, self.rows_in]),
                             np.tile(np.arange(n_extra), 2))), shape=(n_rows, n_extra))
        carried = np.flatnonzero(np.asarray(self.store_row) >= 0)
        store = coo_matrix((np.ones(len(carried)),
                            (np.asarray(self.store_row)[carried], carried)),
                           shape=(n_store, n_extra))
        matrix = vstack([hstack([blocks, extra]),
                         hstack([coo_matrix((n_store, n_cols)), store])]).tocsc()
        matrix.sort_indices()
        # stranded columns may also strand what was owed from before
        upper = [np.where(m.is_strand, np.inf, m.col_upper * f)
                 for m, f in zip(models, share, strict=True)]
        arrays = {
            "cost": np.concatenate([m.col_cost for m in models] + [np.asarray(self.cost)]),
            "lower": np.concatenate([m.col_lower * f for m, f in zip(models, share, strict=True)]
                                    + [np.zeros(n_extra)]),
            "upper": np.concatenate(upper + [np.full(n_extra, np.inf)]),
            "row_lower": np.concatenate([m.row_lower * f for m, f in
                                         zip(models, share, strict=True)]
                                        + [np.full(n_store, -np.inf)]),
            "row_upper": np.concatenate([m.row_upper * f for m, f in
                                         zip(models, share, strict=True)]
                                        + [np.asarray(self.capacity)]),
            "indptr": matrix.indptr, "indices": matrix.indices, "data": matrix.data,
        }
        values, duals = solve_model(highs_from_arrays(arrays), deadline)
        parts = [(values[self.col_offset[p]:self.col_offset[p + 1]],
                  duals[self.row_offset[p]:self.row_offset[p + 1]]) for p in range(len(models))]
        tonnes = np.maximum(values[n_cols:], 0.0) * MT
        waiting = np.bincount(np.asarray(self.period)[carried], weights=tonnes[carried],
                              minlength=len(models))
        return parts, waiting


def _rows_at(model: FlowModel, group, node: str) -> dict[str, int]:  # noqa: ANN001 (_Group)
    """The group's conservation rows at a node, by layer (``origin`` for its supply row):
    where its cargo can wait."""
    out = {"origin": group.supply_row - group.row_start} if group.origin == node else {}
    graph = model.graphs[group.graph_key]
    where = np.flatnonzero(graph.node_ids == node)
    if not len(where) or not len(group.nodes):
        return {k: v + group.row_start for k, v in out.items()}
    for local in np.flatnonzero(graph.sub_node[group.nodes] == int(where[0])):
        layer = str(graph.sub_layer[group.nodes[local]])
        if layer not in ("src", "snk", "split"):
            out[layer] = int(local)
    return {k: v + group.row_start for k, v in out.items()}


# -- the year from its periods -------------------------------------------------------------------


def combine(results: list[FlowResult], periods: list[Period], share: np.ndarray,
            waiting: np.ndarray, name: str) -> FlowResult:
    """The year as the sum of its periods, with a ``periods`` table."""
    longest = int(np.argmax([sum(p.days for p in periods if p.in_force == q.in_force)
                             for q in periods]))
    links = results[longest].link_flows.copy()
    # the capacity the year offered: each period's own (scaled, or nothing while closed)
    links["capacity_t_per_year"] = sum(
        f * r.link_flows["capacity_t_per_year"].to_numpy(dtype=float)
        * (r.link_flows["status"] != "closed").to_numpy(dtype=float)
        for r, f in zip(results, share, strict=True))
    for column in ("flow_t_per_year", "flow_forward_t", "flow_backward_t"):
        links[column] = sum(r.link_flows[column].to_numpy(dtype=float) for r in results)
    links["shadow_price_usd_per_t"] = sum(
        f * r.link_flows["shadow_price_usd_per_t"].to_numpy(dtype=float)
        for r, f in zip(results, share, strict=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        links["utilisation"] = np.where(links["capacity_t_per_year"] > 0,
                                        links["flow_t_per_year"] / links["capacity_t_per_year"],
                                        np.nan)
    links["saturated"] = ((links["utilisation"] >= SATURATED_UTILISATION)
                          | (links["shadow_price_usd_per_t"] > 1e-6))
    by_commodity = pd.concat([r.link_flows_by_commodity for r in results], ignore_index=True)
    by_commodity = (by_commodity.groupby(["link_id", "commodity"], as_index=False, sort=False)
                    ["flow_t_per_year"].sum())
    split = _routes(results)
    od = _od(results, split)
    keys = list(OD_KEYS)
    stranded = od.loc[od["stranded_t"] > 0.5, keys + ["demand_t", "stranded_t"]
                      ].reset_index(drop=True)
    terminals = _terminals(results, share, longest)
    totals = _totals(results, waiting, periods)
    table = pd.DataFrame([{
        "period": period.label, "start": period.start.isoformat(),
        "end": (period.end - dt.timedelta(days=1)).isoformat(), "days": period.days,
        "changes": ";".join(period.changes),
        "demand_t": r.totals["demand_t"], "delivered_t": r.totals["delivered_t"],
        "stranded_t": r.totals["stranded_t"], "stranded_value_usd": r.totals["stranded_value_usd"],
        "cost_usd": r.totals["cost_usd"], "avg_days": r.totals["avg_days"],
        "waiting_t": float(w)} for period, r, w in zip(periods, results, waiting, strict=True)],
        columns=PERIOD_COLUMNS)
    first = results[longest]
    return FlowResult(link_flows=links, link_flows_by_commodity=by_commodity, od=od,
                      route_split=split, totals=totals, stranded=stranded, scenario=name,
                      penalty_usd_per_t=dict(first.penalty_usd_per_t), network=first.network,
                      terminal_flows=terminals, periods=table, period_results=results)


def _routes(results: list[FlowResult]) -> pd.DataFrame:
    split = pd.concat([r.route_split for r in results if len(r.route_split)],
                      ignore_index=True) if any(len(r.route_split) for r in results) else None
    if split is None:
        return results[0].route_split.copy()
    keys = list(OD_KEYS)
    first = {c: "first" for c in ROUTE_COLUMNS if c not in keys + ["link_ids", "t_per_year",
                                                                    "share", "route"]}
    split = split.groupby(keys + ["link_ids"], sort=False, as_index=False).agg(
        {"t_per_year": "sum", **first})
    split["share"] = split["t_per_year"] / split.groupby(keys)["t_per_year"].transform("sum")
    split = split.sort_values(keys + ["t_per_year"], ascending=[True] * len(keys) + [False])
    split["route"] = split.groupby(keys).cumcount() + 1
    return split[ROUTE_COLUMNS].reset_index(drop=True)


def _od(results: list[FlowResult], split: pd.DataFrame) -> pd.DataFrame:
    keys = list(OD_KEYS)
    every = pd.concat([r.od for r in results], ignore_index=True)
    for metric in ("cost_usd_per_t", "days", "co2_kg_per_t"):
        every[metric] = every[metric].fillna(0.0) * every["delivered_t"]
    od = every.groupby(keys, sort=False, as_index=False)[
        ["demand_t", "delivered_t", "stranded_t", "cost_usd_per_t", "days", "co2_kg_per_t"]
    ].sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        for metric in ("cost_usd_per_t", "days", "co2_kg_per_t"):
            od[metric] = np.where(od["delivered_t"] > 0, od[metric] / od["delivered_t"],
                                  np.nan)
    counts = split.groupby(keys).size() if len(split) else pd.Series(dtype=int)
    od["routes"] = (counts.reindex(pd.MultiIndex.from_frame(od[keys])).fillna(0)
                    .astype(int).to_numpy()) if len(split) else 0
    return od[list(results[0].od.columns)]


def _terminals(results: list[FlowResult], share: np.ndarray, longest: int) -> pd.DataFrame:
    table = results[longest].terminal_flows.copy()
    if not len(table):
        return table
    table["flow_t_per_year"] = sum(r.terminal_flows["flow_t_per_year"].to_numpy(dtype=float)
                                   for r in results)
    table["shadow_price_usd_per_t"] = sum(
        f * r.terminal_flows["shadow_price_usd_per_t"].to_numpy(dtype=float)
        for r, f in zip(results, share, strict=True))
    capacity = table["capacity_t_per_year"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["utilisation"] = np.where(capacity > 0, table["flow_t_per_year"] / capacity,
                                        np.nan)
    table["saturated"] = ((table["utilisation"] >= SATURATED_UTILISATION)
                          | (table["shadow_price_usd_per_t"] > 1e-6))
    return table


def _totals(results: list[FlowResult], waiting: np.ndarray,
            periods: list[Period]) -> dict[str, float]:
    summed = ("cost_usd", "generalised_cost_usd", "tonne_km", "co2_t", "demand_t",
              "delivered_t", "stranded_t", "stranded_value_usd", "contract_shortfall_t",
              "objective_usd")
    totals = {k: float(sum(r.totals[k] for r in results)) for k in summed}
    delivered = totals["delivered_t"]
    day_tonnes = sum(r.totals["avg_days"] * r.totals["delivered_t"] for r in results)
    totals["avg_days"] = day_tonnes / delivered if delivered > 0 else 0.0
    totals["cost_usd_per_t"] = totals["cost_usd"] / delivered if delivered > 0 else 0.0
    totals["investment_usd"] = max(r.totals["investment_usd"] for r in results)
    # tonnes that waited in storage at a period's end, and the tonne-days they waited
    totals["waiting_t"] = float(waiting.sum())
    gaps = [(a.days + b.days) / 2.0 for a, b in zip(periods[:-1], periods[1:], strict=True)]
    totals["waiting_t_days"] = float(np.dot(waiting[:-1], gaps)) if gaps else 0.0
    totals["periods"] = float(len(periods))
    return {k: totals[k] for k in (*results[0].totals, "waiting_t", "waiting_t_days",
                                   "periods") if k in totals}
