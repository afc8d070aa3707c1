"""The engine behind the service: the network, demand and scenarios one process answers
from, loaded once, and the JSON shapes of its answers."""

from __future__ import annotations

import collections
import hashlib
import json
import math
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from corridor.errors import CorridorError, DataError, InvalidOptionError, suggest
from corridor.geometry import basemap_geojson, flows_geojson, route_geojson
from corridor.market import check_period
from corridor.network import Network, load_network, normalise_name
from corridor.outputs import jsonable
from corridor.routing import RouteOptions, Router

#: Request limits (work per request).
MAX_ALTERNATIVES = 10
MAX_CRITICAL_TOP = 200
#: Risk draws one /api/invest request may ask for (each project runs them twice).
MAX_INVEST_DRAWS = 100
MAX_SCENARIO_EDITS = 200
MAX_PLACES = 50
SCENARIO_CACHE_SIZE = 8
#: Wall-clock budget of one solve (critical: of the whole ranking), seconds.
REQUEST_BUDGET_S = 30.0
WEB_BBOX = (-30.0, -10.0, 180.0, 80.0)  # extent of the web page's basemap
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")




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
                 observations: str | Path | None = None,
                 ledger: str | Path | None = None) -> None:
        self.network = network if network is not None else load_network()
        self._ledger_folder = Path(ledger) if ledger is not None else None
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
        self._priced: dict[str, Network] = {}
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

    def priced_router(self, month: str) -> Router:
        """This thread's router on the network priced at ``month`` (a month or a year)."""
        period = check_period(month)
        routers = getattr(self._local, "priced", None)
        if routers is None:
            routers = self._local.priced = {}
        if period not in routers:
            with self._lock:
                network = self._priced.get(period)
                if network is None:
                    network = self._priced[period] = self.network.priced_at(period)
            routers[period] = Router(network)
        return routers[period]

    def routes(self, origin: str, destination: str, options: RouteOptions,
               month: str | None = None) -> dict:
        """Ranked routes, each with the GeoJSON of its legs (tariffs priced at ``month``'s
        market when given)."""
        if not 1 <= options.alternatives <= MAX_ALTERNATIVES:
            raise InvalidOptionError(f"alternatives must be between 1 and {MAX_ALTERNATIVES}.")
        router = self.priced_router(month) if month else self.router()
        found = router.route(origin, destination, options)
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
            close = suggest(name, [*known, "baseline"])
            raise NotFoundError(f"Unknown scenario {name!r}; known: "
                                f"{', '.join(['baseline', *known])}.", close)
        return load_scenario(known[name])

    def risks(self) -> list[dict]:
        """The shipped risk files: name, title and how many events and ranges each has."""
        from corridor.risk import load_risk, risk_folder

        out = []
        for path in sorted(risk_folder().glob("*.toml")):
            risk = load_risk(path.stem)
            out.append({"name": path.stem, "title": risk.title, "events": len(risk.events),
                        "parameters": len(risk.parameters)})
        return out

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
        from corridor.flow import assign

        scenario = self.load_scenario(name)
        return self._cached(f"flows:{name}", lambda: assign(
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
        from corridor.flow import assign

        return self._flows_payload(self._cached(key, lambda: assign(
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
        from corridor.metrics import compare

        comparison = compare(a, b)
        out["detail"] = {name: records(getattr(comparison, name)) for name in
                         ("totals", "corridors", "hhi", "links", "stranded")}
        return out

    def ledger(self, kind: str | None = None, country: str | None = None,
               partner: str | None = None, status: str | None = None) -> dict:
        """The ledger's projects and agreements, filtered (see :meth:`Ledger.entries`)."""
        from corridor.ledger import STATUSES, load_ledger

        if kind is not None and kind not in ("project", "agreement"):
            raise InvalidOptionError(f"Unknown kind {kind!r}; choose project or agreement.")
        if status is not None and status not in STATUSES:
            raise InvalidOptionError(f"Unknown status {status!r}; choose one of "
                                     f"{', '.join(STATUSES)}.")
        book = load_ledger(self._ledger_folder)
        table = book.entries(kind, country, partner, status)
        modelled = [entry == "project" and book.modelled(i)
                    for entry, i in zip(table["entry"], table["id"], strict=True)]
        table["modelled"] = modelled
        table["links"] = [_project_links(book, i) if m else []
                          for i, m in zip(table["id"], modelled, strict=True)]
        out = records(table)
        for entry, is_modelled in zip(out, modelled, strict=True):
            entry["geojson"] = (self._project_geojson(book, entry["id"], entry["links"])
                                if is_modelled else None)
        return {"entries": out}

    def _project_geojson(self, book: Any, project: str, links: list[str]) -> dict | None:
        """The links a project changes or adds, drawn on the network it makes (None when its
        change does not fit this network)."""
        from corridor.geometry import collection, link_features
        from corridor.scenario import apply_scenario

        try:
            built, _ = apply_scenario(self.network, book.scenario(project),
                                      self.demand().head(0))
        except CorridorError:
            return None
        wanted = set(links)
        return collection([f for f in link_features(built) if f["properties"]["id"] in wanted])

    def appraisal(self, project: str, name: str) -> dict:
        """A ledger project's appraisal under a scenario (cached)."""
        from corridor.appraisal import appraise
        from corridor.ledger import load_ledger

        book = load_ledger(self._ledger_folder)
        book.check_project(project)
        scenario = self.load_scenario(name)
        result = self._cached(f"appraise:{project}:{name}", lambda: appraise(
            self.network, self.demand(), book, project, (scenario,)))
        return {"project": project, "scenario": name, **jsonable(result.to_dict())}

    def portfolio(self, budget_usd: float, name: str, objective: str = "npv",
                  risk: str | None = None, draws: int = 100, seed: int = 0) -> dict:
        """The best set of ledger projects for a budget under a scenario (or in expectation
        over a shipped risk file's draws), and the frontier."""
        from corridor.ledger import load_ledger
        from corridor.portfolio import Valuation, invest
        from corridor.risk import load_risk, risk_folder

        scenario = self.load_scenario(name)
        chosen = None
        if risk:
            shipped = sorted(p.stem for p in risk_folder().glob("*.toml"))
            if risk not in shipped:
                close = suggest(risk, shipped)
                raise InvalidOptionError(f"unknown risk file {risk!r}"
                                         + (f"; did you mean {close[0]!r}?" if close else "")
                                         + f" (shipped: {', '.join(shipped)})")
            chosen = load_risk(risk)
        valuation = Valuation(objective=objective, risk=chosen, draws=draws, seed=seed)
        key = f"invest:{budget_usd}:{name}:{objective}:{risk}:{draws}:{seed}"
        result = self._cached(key, lambda: invest(
            self.network, self.demand(), load_ledger(self._ledger_folder), budget_usd,
            (scenario,), valuation))
        return {"scenario": name, "risk": risk, **jsonable(result.to_dict())}

    def partners(self, name: str) -> dict:
        """The republics' partner profiles, with transit under a scenario."""
        from corridor.ledger import load_ledger
        from corridor.metrics import dependency
        from corridor.partners import load_shares, profiles

        result = profiles(load_shares(), load_ledger(self._ledger_folder),
                          dependency(self.flow_result(name)))
        return {"scenario": name, "shares": records(result.shares),
                "summary": records(result.summary)}

    def dependency(self, name: str, exporter: str | None = None) -> dict:
        """Each exporter's shares and HHI by transit country, corridor, mode and partner."""
        from corridor.metrics import dependency

        dep = dependency(self.flow_result(name))
        shares, hhi = dep.shares, dep.hhi
        if exporter:
            code = exporter.strip().upper()
            shares, hhi = shares[shares["exporter"] == code], hhi[hhi["exporter"] == code]
        return {"scenario": name, "shares": records(shares), "hhi": records(hhi)}

    def critical(self, name: str, top: int) -> dict:
        if not 1 <= top <= MAX_CRITICAL_TOP:
            raise InvalidOptionError(f"top must be between 1 and {MAX_CRITICAL_TOP}.")
        from corridor.critical import critical

        scenario = self.load_scenario(name)
        table = self._cached(f"critical:{name}", lambda: critical(
            self.network, self.demand(), scenario=scenario, top=MAX_CRITICAL_TOP,
            time_limit_s=self.budget_s))
        return {"scenario": name, "links": records(table, top)}


    def calibration(self, name: str) -> dict:
        """The model under a scenario against the shipped observations (per observation and
        per kind)."""
        from corridor.calibration import calibrate

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
            return calibrate(network, demand, observations=observed, result=result)

        return self._cached(f"calibration:{name}", run).to_dict()


def _project_links(book: object, project: str) -> list[str]:
    """The links a project's change names (to draw it on the map)."""
    links: list[str] = []
    for action in book.scenario(project).all_actions():
        names = action.params.get("link", [])
        links += [names] if isinstance(names, str) else list(names)
        if action.kind == "add_link":
            links.append(action.params["link_id"])
    return links
