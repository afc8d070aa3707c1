"""The HTTP service: a JSON API over the routing and flow engine, and the web page.

``create_app()`` builds a FastAPI application around one :class:`Engine`, which loads and
compiles the network once per process. Endpoints are plain ``def`` functions, so Starlette runs
them in its thread pool and requests are answered concurrently; shared state is either
read-only after start-up (network, compiled graphs, basemap) or guarded by a lock (the LRU cache
of scenario results). Each thread routes with its own :class:`~corridor.routing.Router`, all
sharing the same read-only compiled graphs.

Every :class:`~corridor.errors.CorridorError` becomes a 4xx JSON body
``{"error": kind, "message": ..., ...}`` in one place (:func:`_corridor_error`), as do request
validation errors and oversized bodies; a user mistake never gives a 500.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import hashlib
import json
import logging
import math
import re
import threading
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import anyio
import anyio.to_thread
import numpy as np
import pandas as pd
from fastapi import Body, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from corridor.errors import CorridorError, DataError, InvalidOptionError
from corridor.geometry import basemap_geojson, flows_geojson, route_geojson
from corridor.network import Network, load_network, normalise_name
from corridor.routing import MAX_SHARED, Router

#: Request limits (work per request).
MAX_BODY_BYTES = 256 * 1024
MAX_ALTERNATIVES = 10
MAX_CRITICAL_TOP = 200
MAX_SCENARIO_EDITS = 200
MAX_PLACES = 50
SCENARIO_CACHE_SIZE = 8
#: Threads per kind of work. Routing is CPU-bound under the GIL: one thread answering route
#: queries in arrival order gives the same throughput as many and a far shorter latency tail
#: (bench/bench_load.py), and a long scenario solve (``heavy``) never holds up routing.
THREADS = {"route": 1, "heavy": 2}
#: Requests that may wait for a thread of each kind; more are answered 503 with Retry-After.
MAX_WAITING = {"route": 64, "heavy": 8}
#: Expensive requests (flows, compare, dependency, critical, posted scenarios) one client may
#: have running or waiting at once; more are answered 429 with Retry-After.
MAX_HEAVY_PER_CLIENT = 4
#: Wall-clock budget of one solve (critical: of the whole ranking), seconds.
REQUEST_BUDGET_S = 30.0
RETRY_AFTER_S = 5
WEB_BBOX = (-30.0, -10.0, 180.0, 80.0)  # extent of the web page's basemap
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")

STATUS_OF_KIND = {"unknown_place": 404, "not_found": 404, "no_route": 404,
                  "invalid_option": 422, "data_error": 422, "too_large": 413,
                  "unavailable": 501, "busy": 503, "time_limit": 503, "conflict": 409,
                  "too_many_requests": 429}
_RETRY_KINDS = ("busy", "time_limit", "too_many_requests")
log = logging.getLogger(__name__)


class NotFoundError(CorridorError):
    """A named resource (scenario) that does not exist; carries close matches."""

    kind = "not_found"

    def __init__(self, message: str, suggestions: list[str] | None = None) -> None:
        self.suggestions = suggestions or []
        super().__init__(message)

    def to_dict(self) -> dict:
        return {**super().to_dict(), "suggestions": self.suggestions}


class UnavailableError(CorridorError):
    """A feature whose module is not installed in this build."""

    kind = "unavailable"


class ConflictError(CorridorError):
    """A request the served data cannot answer (observations of another network)."""

    kind = "conflict"


class BusyError(CorridorError):
    """The service has as much expensive work queued as it takes; try again shortly."""

    kind = "busy"


class TooManyRequestsError(CorridorError):
    """One client has as many expensive requests in flight as it may."""

    kind = "too_many_requests"


# -- JSON helpers -----------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """Plain JSON data: NaN/inf become null, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def records(table: pd.DataFrame, limit: int | None = None) -> list[dict]:
    """A DataFrame as JSON-ready records (index kept when it is named)."""
    if table.index.name:
        table = table.reset_index()
    if limit is not None:
        table = table.head(limit)
    return jsonable(table.to_dict(orient="records"))


def scenario_toml(data: dict) -> str:
    """Write a scenario posted as JSON in the structure of the TOML files as TOML text.

    Only what scenario files hold is accepted: top-level strings/numbers and arrays of flat
    tables whose values are strings, numbers, booleans or lists of those.

    Raises
    ------
    DataError
        For anything else (nested tables, non-finite numbers, odd key names).
    """

    def scalar(value: Any, where: str) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise DataError("numbers must be finite", file="request body", field=where)
            return repr(value)
        if isinstance(value, str):
            return json.dumps(value, ensure_ascii=False)
        if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
            return "[" + ", ".join(scalar(v, where) for v in value) + "]"
        raise DataError("must be a string, number, boolean or list of those",
                        file="request body", field=where)

    def key(name: str, where: str) -> str:
        if not _BARE_KEY.match(name):
            raise DataError(f"bad key {name!r}", file="request body", field=where)
        return name

    head, tables = [], []
    for name, value in data.items():
        if value is None:
            continue
        if isinstance(value, dict):
            value = [value]
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for i, table in enumerate(value, start=1):
                tables.append(f"[[{key(name, name)}]]")
                for field, item in table.items():
                    where = f"{name}[{i}].{field}"
                    tables.append(f"{key(field, where)} = {scalar(item, where)}")
                tables.append("")
        elif isinstance(value, list) and not value:
            continue
        else:
            head.append(f"{key(name, name)} = {scalar(value, name)}")
    return "\n".join(head + [""] + tables) + "\n"


# -- the engine -------------------------------------------------------------------------------


class Engine:
    """The network, demand and scenarios one service answers from, loaded once.

    Parameters
    ----------
    network
        A loaded network (default: the shipped dataset).
    demand
        A demand table (default: the shipped baseline, read lazily on first flow request).
    scenarios
        A folder of scenario TOML files (default: the built-ins).
    budget_s
        Wall-clock budget of one solve (a critical ranking: of all its re-solves); work that
        overruns it fails with :class:`~corridor.errors.TimeLimitError`. None: no limit.
    """

    def __init__(self, network: Network | None = None, demand: pd.DataFrame | None = None,
                 scenarios: str | Path | None = None,
                 budget_s: float | None = REQUEST_BUDGET_S,
                 observations: str | Path | None = None) -> None:
        self.network = network if network is not None else load_network()
        self._observation_folder = Path(observations) if observations is not None else None
        self.budget_s = budget_s
        self._demand = demand
        self._scenario_folder = Path(scenarios) if scenarios is not None else None
        self._graphs = {}
        seed = Router(self.network)
        for commodity in self.network.costs.commodities.index:
            try:
                self._graphs[commodity] = seed.graph(commodity)
            except CorridorError:
                continue
        self._local = threading.local()
        self._lock = threading.Lock()
        self._cache: collections.OrderedDict[str, Any] = collections.OrderedDict()
        self._computing: dict[str, threading.Lock] = {}
        self._network_geojson: dict | None = None
        self._basemap: dict | None = None

    # -- static data -----------------------------------------------------------------------

    def router(self) -> Router:
        """This thread's router (its own scratch state, the shared compiled graphs)."""
        router = getattr(self._local, "router", None)
        if router is None:
            router = Router(self.network, graphs=self._graphs)
            self._local.router = router
        return router

    def places(self, query: str | None, limit: int = MAX_PLACES) -> dict:
        """Places matching ``query`` (any of id, English, Russian name, aliases), best first.

        Returns ``{"places": [...], "suggestions": [...]}``; suggestions (close spellings) are
        given when nothing contains the query.
        """
        table = self.network.places().reset_index()
        suggestions: list[str] = []
        if query:
            key = normalise_name(query)
            hay = (table["node_id"] + " " + table["name"].fillna("") + " "
                   + table["name_ru"].fillna("") + " " + table["aliases"].fillna(""))
            folded = hay.map(normalise_name)
            hit = folded.str.contains(key, regex=False) if key else folded.astype(bool)
            starts = table["name"].map(normalise_name).str.startswith(key) | \
                table["name_ru"].fillna("").map(normalise_name).str.startswith(key)
            table = table[hit].assign(_rank=~starts[hit]).sort_values(["_rank", "name"])
            table = table.drop(columns="_rank")
            if table.empty:
                try:
                    self.network.resolve(query)
                except CorridorError as exc:
                    suggestions = list(getattr(exc, "suggestions", []))
        return {"places": records(table.rename(columns={"node_id": "id"}), limit),
                "suggestions": suggestions}

    def network_geojson(self) -> dict:
        if self._network_geojson is None:
            self._network_geojson = self.network.to_geojson()
        return self._network_geojson

    def basemap(self) -> dict:
        if self._basemap is None:
            self._basemap = basemap_geojson(bbox=WEB_BBOX)
        return self._basemap

    def sources(self) -> list[dict]:
        return records(self.network.sources)

    def passages(self) -> list[dict]:
        """The named passages with their kind and where they are."""
        index = self.network.passage_index()
        table = index.table
        return [{"passage_id": p, "name": index.name(p), "kind": str(table.at[p, "kind"]),
                 "links": len(index.link_rows[p]), "nodes": len(index.node_rows[p])}
                for p in index.ids]

    def routes(self, origin: str, destination: str, **options: Any) -> dict:
        """Ranked routes, each with the GeoJSON of its legs."""
        alternatives = options.get("alternatives", 1)
        if not 1 <= alternatives <= MAX_ALTERNATIVES:
            raise InvalidOptionError(f"alternatives must be between 1 and {MAX_ALTERNATIVES}.")
        found = self.router().route(origin, destination, **options)
        out = []
        index = self.network.passage_index()
        for result in found:
            item = jsonable(result.to_dict())
            item["passage_names"] = [index.name(p) for p in result.passages]
            item["geojson"] = route_geojson(self.network, result)
            out.append(item)
        return {"routes": out}

    # -- scenarios and flows ----------------------------------------------------------------

    def demand(self) -> pd.DataFrame:
        if self._demand is None:
            from corridor.demand import load_demand

            with self._lock:
                if self._demand is None:
                    self._demand = load_demand(network=self.network)
        return self._demand

    def _scenario_files(self) -> list[Path]:
        from corridor.scenario import scenario_folder

        folder = self._scenario_folder or scenario_folder()
        return sorted(folder.glob("*.toml"))

    def scenario_names(self) -> list[str]:
        return [path.stem for path in self._scenario_files()]

    def load_scenario(self, name: str):
        """A scenario by name (from this engine's folder), or NotFoundError with suggestions."""
        from corridor.scenario import load_scenario

        known = {path.stem: path for path in self._scenario_files()}
        if name == "baseline" and name not in known:
            return None
        if not _NAME.match(name) or name not in known:
            import difflib

            close = difflib.get_close_matches(name, list(known) + ["baseline"], n=3)
            raise NotFoundError(f"Unknown scenario {name!r}; known: "
                                f"{', '.join(['baseline', *known])}.", close)
        return load_scenario(known[name])

    def scenarios(self) -> list[dict]:
        out = []
        if "baseline" not in self.scenario_names():
            out.append({"name": "baseline", "title": "Baseline", "description":
                        "The network and demand as shipped, no change.", "inherits": None,
                        "actions": 0})
        files = sorted(self._scenario_files(), key=lambda p: (p.stem != "baseline", p.stem))
        for path in files:
            scenario = self.load_scenario(path.stem)
            out.append({"name": path.stem, "title": scenario.title,
                        "description": scenario.description, "inherits": scenario.inherits,
                        "actions": len(scenario.all_actions())})
        return out

    def scenario(self, name: str) -> dict:
        scenario = self.load_scenario(name)
        if scenario is None:
            return {"name": "baseline", "title": "Baseline", "description": "No change.",
                    "file": None, "inherits": None, "year": None, "actions": [],
                    "sources": []}
        data = jsonable(scenario.to_dict())
        data["file"] = Path(data["file"]).name if data.get("file") else None
        return data

    def _cached(self, key: str, compute: Callable[[], Any]) -> Any:
        """LRU cache of results by key; a key is computed once even under concurrency."""
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            gate = self._computing.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                if key in self._cache:
                    return self._cache[key]
            try:
                value = compute()
            finally:
                with self._lock:
                    self._computing.pop(key, None)
            with self._lock:
                self._cache[key] = value
                self._cache.move_to_end(key)
                while len(self._cache) > SCENARIO_CACHE_SIZE:
                    self._cache.popitem(last=False)
        return value

    def flow_result(self, name: str):
        """The :class:`corridor.flow.FlowResult` of a named scenario (cached)."""
        assign = _module("corridor.flow")
        scenario = self.load_scenario(name)
        return self._cached(f"flows:{name}", lambda: assign.assign(
            self.network, self.demand(), scenario, time_limit_s=self.budget_s))

    def flows(self, name: str, top: int = 50) -> dict:
        return self._flows_payload(self.flow_result(name), top)

    def _flows_payload(self, result: Any, top: int) -> dict:
        net = result.network if result.network is not None else self.network
        used = result.link_flows.sort_values("flow_t_per_year", ascending=False)
        return {
            "scenario": result.scenario,
            "totals": jsonable(result.totals),
            "stranded": records(result.stranded),
            "stranded_by_commodity": records(result.stranded_by_commodity()),
            "od": records(result.od),
            "link_flows": records(used[used["flow_t_per_year"] > 0], top),
            "saturated": records(result.saturated, top),
            "geojson": flows_geojson(net, result.link_flows),
            "periods": records(result.periods) if result.periods is not None else None,
        }

    def run_posted(self, body: dict, top: int = 50) -> dict:
        """Assign the demand under a scenario posted as JSON (same structure as the TOML).

        Results are cached by the scenario's text, like named scenarios.
        """
        _module("corridor.flow")
        edits = sum(len(v) if isinstance(v, list) else 1 for k, v in body.items()
                    if isinstance(v, list | dict) and k != "sources")
        if edits > MAX_SCENARIO_EDITS:
            raise InvalidOptionError(f"a posted scenario may hold at most {MAX_SCENARIO_EDITS} "
                                     f"changes (got {edits}).")
        parent = body.get("inherits")
        if parent is not None:
            if not isinstance(parent, str):
                raise DataError("must be a scenario name", file="request body", field="inherits")
            self.load_scenario(parent)  # only known names, never a path on the server
        from corridor.scenario import parse_scenario, scenario_folder

        body = {"name": "posted", **body}
        scenario = parse_scenario(body, "request body",
                                  self._scenario_folder or scenario_folder())
        # titles and descriptions do not change the result: they are not part of the key
        text = scenario_toml({k: v for k, v in body.items() if k not in ("title", "description")})
        key = "posted:" + hashlib.sha256(text.encode()).hexdigest()
        assign = _module("corridor.flow")
        return self._flows_payload(self._cached(key, lambda: assign.assign(
            self.network, self.demand(), scenario, time_limit_s=self.budget_s)), top)

    def compare(self, base: str, other: str) -> dict:
        """Totals of two scenarios, their differences (other − base) and what moved.

        ``detail`` holds :func:`corridor.metrics.compare`'s tables (totals, corridors, transit
        HHI, links whose flow changed most, stranded by commodity).
        """
        a, b = self.flow_result(base), self.flow_result(other)
        delta = {k: (b.totals.get(k, 0.0) - v) for k, v in a.totals.items()
                 if isinstance(v, int | float)}
        out: dict[str, Any] = {"base": base, "other": other, "totals": {
            "base": jsonable(a.totals), "other": jsonable(b.totals), "delta": jsonable(delta)}}
        metrics = _module("corridor.metrics", required=False)
        if metrics is not None:
            comparison = metrics.compare(a, b)
            out["detail"] = {name: records(getattr(comparison, name)) for name in
                             ("totals", "corridors", "hhi", "links", "stranded")}
        return out

    def dependency(self, name: str, exporter: str | None = None) -> dict:
        """Each exporter's shares and HHI by transit country, corridor, mode and partner."""
        metrics = _module("corridor.metrics")
        dep = metrics.dependency(self.flow_result(name))
        shares, hhi = dep.shares, dep.hhi
        if exporter:
            code = exporter.strip().upper()
            shares, hhi = shares[shares["exporter"] == code], hhi[hhi["exporter"] == code]
        return {"scenario": name, "shares": records(shares), "hhi": records(hhi)}

    def critical(self, name: str, top: int) -> dict:
        if not 1 <= top <= MAX_CRITICAL_TOP:
            raise InvalidOptionError(f"top must be between 1 and {MAX_CRITICAL_TOP}.")
        module = _module("corridor.critical")
        scenario = self.load_scenario(name)
        table = self._cached(f"critical:{name}", lambda: module.critical(
            self.network, self.demand(), scenario=scenario, top=MAX_CRITICAL_TOP,
            time_limit_s=self.budget_s))
        return {"scenario": name, "links": records(table, top)}


    def calibration(self, name: str) -> dict:
        """The model under a scenario against the shipped observations (per observation and
        per kind)."""
        module = _module("corridor.calibration")
        scenario = self.load_scenario(name)

        def run() -> Any:
            from corridor.observed import load_observations

            network, demand = self.network, self.demand()
            result = self.flow_result(name)
            if scenario is not None:
                from corridor.scenario import apply_scenario

                network, demand = apply_scenario(network, scenario, demand)
            try:
                observed = load_observations(self._observation_folder, network)
            except DataError as exc:
                where = Path(str(exc.file)).name if exc.file else "observations"
                row = f", row {exc.row}" if exc.row is not None else ""
                raise ConflictError(
                    "Calibration needs observations that fit the served network; the "
                    f"observation tables do not ({where}{row}: {exc.reason}).") from None
            return module.calibrate(network, demand, observations=observed, result=result)

        return self._cached(f"calibration:{name}", run).to_dict()


def _module(name: str, required: bool = True):
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        if required:
            raise UnavailableError(f"{name} is not available in this build.") from None
        return None


# -- request / response models ----------------------------------------------------------------


class ErrorBody(BaseModel):
    """Every error response: a kind, a human message and kind-specific details."""

    model_config = ConfigDict(extra="allow")
    error: str = Field(description="unknown_place, no_route, invalid_option, data_error, "
                                   "not_found, invalid_request, too_large, unavailable")
    message: str


class Place(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    name: str
    name_ru: str | None = None
    country: str
    kind: str
    lon: float
    lat: float


class PlacesResponse(BaseModel):
    places: list[Place]
    suggestions: list[str] = Field(description="Close spellings when nothing matched.")


class LegModel(BaseModel):
    link_id: str
    from_id: str
    from_name: str
    to_id: str
    to_name: str
    mode: str
    gauge_mm: int | None
    length_km: float
    days: float
    cost_usd_per_t: float
    co2_kg_per_t: float
    country: str | None
    corridor: str | None
    border_crossing: bool


class RouteModel(BaseModel):
    model_config = ConfigDict(extra="allow")
    rank: int
    origin: str
    destination: str
    commodity: str
    objective: str
    legs: list[LegModel]
    length_km: float
    days: float
    cost_usd_per_t: float
    co2_kg_per_t: float
    countries: list[str]
    border_crossings: list[str]
    passages: list[str] = Field(default_factory=list, description=
                                "ids of the named passages the route uses, in order")
    passage_names: list[str] = Field(default_factory=list)
    geojson: dict[str, Any] = Field(description="GeoJSON FeatureCollection of the legs.")


class PassageModel(BaseModel):
    passage_id: str
    name: str
    kind: str
    links: int
    nodes: int


class PassagesResponse(BaseModel):
    passages: list[PassageModel]


class RoutesResponse(BaseModel):
    routes: list[RouteModel]


class ScenarioSummary(BaseModel):
    name: str
    title: str
    description: str
    inherits: str | None
    actions: int


class ScenarioBody(BaseModel):
    """A scenario in the structure of the TOML files (see docs/flows.md)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "title": "CPC closed", "description": "The CPC pipeline is out for a year.",
        "close": [{"corridor": "CPC", "assumption": "drone damage closes the pipeline"}]}]})
    name: str | None = None
    title: str | None = None
    description: str | None = None
    inherits: str | None = None
    year: int | None = None
    periods: str | None = Field(None, description='"month" to cut the year into months; a '
                                'change with "start" and "duration_days" or "months" does it '
                                'too.')
    sources: list[dict[str, Any]] | None = None
    close: list[dict[str, Any]] | None = None
    open: list[dict[str, Any]] | None = None
    add_link: list[dict[str, Any]] | None = None
    scale_capacity: list[dict[str, Any]] | None = None
    multiply_cost: list[dict[str, Any]] | None = None
    multiply_time: list[dict[str, Any]] | None = None
    demand: list[dict[str, Any]] | None = None


class FlowsResponse(BaseModel):
    scenario: str
    totals: dict[str, float | None]
    stranded: list[dict[str, Any]]
    stranded_by_commodity: list[dict[str, Any]]
    od: list[dict[str, Any]]
    link_flows: list[dict[str, Any]] = Field(description="Links with flow, largest first.")
    saturated: list[dict[str, Any]]
    geojson: dict[str, Any]
    periods: list[dict[str, Any]] | None = Field(
        None, description="One row per period when the scenario has dated changes.")


class CompareResponse(BaseModel):
    model_config = ConfigDict(extra="allow")
    base: str
    other: str
    totals: dict[str, dict[str, float | None]]
    detail: dict[str, list[dict[str, Any]]] | None = None


class DependencyResponse(BaseModel):
    scenario: str
    shares: list[dict[str, Any]]
    hhi: list[dict[str, Any]]


class CriticalResponse(BaseModel):
    scenario: str
    links: list[dict[str, Any]]


class CalibrationResponse(BaseModel):
    scenario: str
    summary: list[dict[str, Any]]
    observations: list[dict[str, Any]]


# -- the app ----------------------------------------------------------------------------------


class BodyLimit:
    """ASGI middleware: reject request bodies larger than ``limit`` bytes with 413."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await _too_large(self.limit)(scope, receive, send)
            return
        seen = 0
        started = rejected = False

        async def counted() -> Message:
            nonlocal seen, rejected
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit and not rejected:
                if not started:  # answer now; whatever the app sends afterwards is dropped
                    rejected = True
                    await _too_large(self.limit)(scope, receive, send)
                raise _BodyTooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if rejected:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _BodyTooLarge:
            if not started and not rejected:
                await _too_large(self.limit)(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse({"error": "too_large", "message":
                         f"request body larger than {limit // 1024} KB"}, status_code=413)


def _error(status: int, body: dict) -> JSONResponse:
    return JSONResponse(jsonable(body), status_code=status)


def _corridor_error(request: Request, exc: CorridorError) -> JSONResponse:
    body = exc.to_dict()
    if exc.kind == "data_error" and body.get("file"):
        body["file"] = Path(str(body["file"])).name  # never leak server paths
        body["message"] = str(exc).replace(str(exc.file), body["file"])
    response = _error(STATUS_OF_KIND.get(exc.kind, 400), body)
    if exc.kind in _RETRY_KINDS:
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    details = [{"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg")}
               for e in exc.errors()]
    text = "; ".join(f"{d['field']}: {d['message']}" for d in details)
    return _error(422, {"error": "invalid_request", "message": text, "details": details})


def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    kind = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
        exc.status_code, "http_error")
    return _error(exc.status_code, {"error": kind, "message": str(exc.detail)})


def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    """A fault of the service itself: logged in full here, never echoed to the client."""
    log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return _error(500, {"error": "internal", "message": "internal error; the server log has "
                                                        "the details"})


def web_folder() -> Path:
    """The static web page (index.html, app.js, style.css, vendor/)."""
    return Path(str(resources.files("corridor") / "web"))


_DOCS_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Corridor API</title>
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css"></head><body>
<div id="swagger-ui"></div><script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui"});</script></body></html>"""
_NO_DOCS_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Corridor API</title>
</head><body><h1>Corridor API</h1><p>Swagger UI assets are not installed (run
<code>npm ci &amp;&amp; python scripts/web_assets.py</code>). The schema is at
<a href="/openapi.json">/openapi.json</a>.</p></body></html>"""

ERRORS = {status: {"model": ErrorBody} for status in (404, 413, 422)}
ScenarioName = Annotated[str, Query(max_length=64, description="A scenario name.")]


def create_app(network: Network | None = None, demand: pd.DataFrame | None = None,
               scenarios: str | Path | None = None,
               budget_s: float | None = REQUEST_BUDGET_S,
               observations: str | Path | None = None) -> FastAPI:
    """Build the FastAPI application.

    Parameters
    ----------
    network
        The network to serve (default: the shipped dataset, loaded now).
    demand
        The demand table for flows (default: the shipped baseline, loaded on first use).
    scenarios
        Folder of scenario files (default: the built-ins).
    budget_s
        Wall-clock budget of one solve, seconds (see :class:`Engine`).
    observations
        Folder of observation tables for ``/api/calibration`` (default: the shipped ones).

    Returns
    -------
    fastapi.FastAPI
        With the engine in ``app.state.engine``. ``/docs`` serves Swagger UI from the locally
        vendored ``swagger-ui-dist`` (no CDN); ``/openapi.json`` is the schema.
    """
    engine = Engine(network, demand, scenarios, budget_s, observations)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202
        app.state.limiters = {kind: anyio.CapacityLimiter(tokens)
                              for kind, tokens in THREADS.items()}
        app.state.heavy_in_flight = collections.Counter()
        yield

    app = FastAPI(title="Corridor API", version="1", docs_url=None, redoc_url=None,
                  lifespan=lifespan,
                  description="Routes, flows, scenarios and dependency of Eurasia's trade "
                              "corridors through Central Asia.")
    app.state.engine = engine
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    app.add_exception_handler(CorridorError, _corridor_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)
    web = web_folder()

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        page = web / "index.html"
        if not page.is_file():
            return HTMLResponse("<h1>Corridor</h1><p>web page not installed</p>")
        return FileResponse(page, media_type="text/html")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        bundled = (web / "vendor" / "swagger-ui" / "swagger-ui-bundle.js").is_file()
        return HTMLResponse(_DOCS_PAGE if bundled else _NO_DOCS_PAGE)

    @app.get("/api/health", tags=["meta"])
    def health() -> dict:
        """Liveness and what the service holds."""
        net = engine.network
        return {"status": "ok", "nodes": len(net.nodes), "links": len(net.links),
                "commodities": list(net.costs.commodities.index)}

    @app.get("/api/places", response_model=PlacesResponse, tags=["network"])
    def places(q: Annotated[str | None, Query(max_length=100, description=
                                              "Part of a name (English, Russian, alias, id).")]
               = None,
               limit: Annotated[int, Query(ge=1, le=MAX_PLACES)] = 20) -> dict:
        """Search places by name."""
        return engine.places(q, limit)

    @app.get("/api/network", tags=["network"])
    def network_geojson() -> dict:
        """The network as GeoJSON (nodes as Points, links as LineStrings)."""
        return engine.network_geojson()

    @app.get("/api/basemap", tags=["network"])
    def basemap() -> dict:
        """Country outlines (Natural Earth via world-atlas) clipped to the region, GeoJSON."""
        return engine.basemap()

    @app.get("/api/passages", response_model=PassagesResponse, tags=["network"])
    def passages() -> dict:
        """Named straits, canals, Caspian crossings, border posts and gauge-change stations
        (the ids ``avoid_passages`` takes)."""
        return {"passages": engine.passages()}

    @app.get("/api/sources", tags=["network"])
    def sources() -> dict:
        """Every publication the network and the cost model cite."""
        return {"sources": engine.sources()}

    @app.get("/api/route", response_model=RoutesResponse, responses=ERRORS, tags=["routes"])
    async def route(
        request: Request,
        origin: Annotated[str, Query(min_length=1, max_length=100)],
        destination: Annotated[str, Query(min_length=1, max_length=100)],
        commodity: Annotated[str, Query(max_length=40)] = "container",
        optimize: Annotated[str, Query(max_length=20, description="cost, time or co2")] = "cost",
        avoid: Annotated[str | None, Query(max_length=200, description=
                                           "ISO3 countries, comma-separated")] = None,
        avoid_modes: Annotated[str | None, Query(max_length=200)] = None,
        avoid_passages: Annotated[str | None, Query(max_length=400, description=
                                                    "passage ids, comma-separated (see "
                                                    "/api/passages)")] = None,
        via: Annotated[str | None, Query(max_length=100)] = None,
        alternatives: Annotated[int, Query(ge=1, le=MAX_ALTERNATIVES)] = 1,
        max_shared: Annotated[float, Query(ge=0.0, le=1.0, description=
                                           "share of its length an alternative may run on a "
                                           "better route's links (1: near-copies too)")
                              ] = MAX_SHARED,
        service: Annotated[str, Query(max_length=40, description=
                                      "a named service, e.g. express")] = "",
    ) -> dict:
        """Best route and ranked alternatives, each with the GeoJSON of its legs.

        Alternatives differ materially: each keeps out of a transit country of every better
        route or shares at most ``max_shared`` of its length with it.
        """
        return await _in_thread(request, "route", engine.routes, origin, destination,
                                commodity=commodity, optimize=optimize, avoid=_split(avoid),
                                avoid_modes=_split(avoid_modes), via=via or None,
                                alternatives=alternatives, max_shared=max_shared,
                                service=service, avoid_passages=_split(avoid_passages))

    @app.get("/api/scenarios", response_model=list[ScenarioSummary], tags=["scenarios"])
    def scenarios() -> list[dict]:
        """The scenarios the service knows ("baseline" first)."""
        return engine.scenarios()

    @app.get("/api/scenarios/{name}", responses=ERRORS, tags=["scenarios"])
    def scenario(name: str) -> dict:
        """A scenario's changes, assumptions and sources."""
        return engine.scenario(name)

    @app.post("/api/scenarios/run", response_model=FlowsResponse, responses=ERRORS,
              tags=["scenarios"])
    async def run_scenario(request: Request, body: Annotated[ScenarioBody, Body()],
                           top: Annotated[int, Query(ge=1, le=500)] = 50) -> dict:
        """Assign the demand under a posted scenario (JSON in the structure of the TOML)."""
        return await _in_thread(request, "heavy", engine.run_posted,
                                body.model_dump(exclude_none=True), top)

    @app.get("/api/flows", response_model=FlowsResponse, responses=ERRORS, tags=["flows"])
    async def flows(request: Request, scenario: ScenarioName = "baseline",
                    top: Annotated[int, Query(ge=1, le=500)] = 50) -> dict:
        """Link flows, stranded volume and totals of a scenario (cached per scenario)."""
        return await _in_thread(request, "heavy", engine.flows, scenario, top)

    @app.get("/api/compare", response_model=CompareResponse, responses=ERRORS, tags=["flows"])
    async def compare(request: Request, base: ScenarioName = "baseline",
                      other: ScenarioName = "cpc-outage") -> dict:
        """Totals of two scenarios and their difference (other − base)."""
        return await _in_thread(request, "heavy", engine.compare, base, other)

    @app.get("/api/dependency", response_model=DependencyResponse, responses=ERRORS,
             tags=["flows"])
    async def dependency(request: Request, scenario: ScenarioName = "baseline",
                         exporter: Annotated[str | None, Query(max_length=3)] = None) -> dict:
        """Shares and HHI of each exporter by transit country, corridor, mode and partner."""
        return await _in_thread(request, "heavy", engine.dependency, scenario, exporter)

    @app.get("/api/calibration", response_model=CalibrationResponse, responses=ERRORS,
             tags=["flows"])
    async def calibration(request: Request, scenario: ScenarioName = "baseline") -> dict:
        """The model against published observations: each observation (observed, modelled,
        error, the element compared, whether it is independent of the inputs) and, per kind,
        the count, WAPE, mean bias and the share within ±15 % and ±30 %."""
        return await _in_thread(request, "heavy", engine.calibration, scenario)

    @app.get("/api/critical", response_model=CriticalResponse, responses=ERRORS,
             tags=["flows"])
    async def critical(request: Request, scenario: ScenarioName = "baseline",
                       top: Annotated[int, Query(ge=1, le=MAX_CRITICAL_TOP)] = 20) -> dict:
        """Links ranked by the damage their loss does (stranded tonnes, added cost)."""
        return await _in_thread(request, "heavy", engine.critical, scenario, top)

    if web.is_dir():
        app.mount("/static", StaticFiles(directory=web), name="static")
    return app


async def _in_thread(request: Request, kind: str, function: Callable, *args: Any,
                     **kwargs: Any) -> Any:
    """Run blocking engine work in a worker thread, limited per kind of work.

    Admission control: when :data:`MAX_WAITING` requests already wait for a thread of this kind
    the request is refused with 503, and a client with :data:`MAX_HEAVY_PER_CLIENT` expensive
    requests in flight gets 429; both carry ``Retry-After``.
    """
    state = request.app.state
    limiter = getattr(state, "limiters", {}).get(kind)
    if limiter is not None and limiter.statistics().tasks_waiting >= MAX_WAITING[kind]:
        raise BusyError(f"the service is busy ({MAX_WAITING[kind]} {kind} requests waiting); "
                        f"try again in {RETRY_AFTER_S} s")
    in_flight = getattr(state, "heavy_in_flight", None)
    client = request.client.host if request.client else ""
    if kind == "heavy" and in_flight is not None:
        if in_flight[client] >= MAX_HEAVY_PER_CLIENT:
            raise TooManyRequestsError(f"at most {MAX_HEAVY_PER_CLIENT} expensive requests per "
                                       f"client at once; try again in {RETRY_AFTER_S} s")
        in_flight[client] += 1
    try:
        return await anyio.to_thread.run_sync(functools.partial(function, *args, **kwargs),
                                              limiter=limiter)
    finally:
        if kind == "heavy" and in_flight is not None:
            in_flight[client] -= 1
            if in_flight[client] <= 0:
                del in_flight[client]


def app_from_env() -> FastAPI:
    """App factory for ``uvicorn --factory`` and multi-process serving.

    Reads the folders from ``CORRIDOR_NETWORK``, ``CORRIDOR_COSTS``, ``CORRIDOR_DEMAND`` and
    ``CORRIDOR_SCENARIOS`` (each optional; defaults are the shipped data).
    """
    import os

    network = load_network(os.environ.get("CORRIDOR_NETWORK") or None,
                           os.environ.get("CORRIDOR_COSTS") or None)
    demand = None
    if os.environ.get("CORRIDOR_DEMAND"):
        from corridor.demand import load_demand

        demand = load_demand(os.environ["CORRIDOR_DEMAND"], network)
    return create_app(network, demand, os.environ.get("CORRIDOR_SCENARIOS") or None)


def _split(text: str | None) -> list[str]:
    return [item.strip() for item in (text or "").split(",") if item.strip()]
