"""The FastAPI application: endpoints over the engine, the web page and the API docs."""

from __future__ import annotations

import collections
import contextlib
import functools
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import anyio
import anyio.to_thread
import pandas as pd
from fastapi import Body, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from corridor.errors import CorridorError
from corridor.network import Network, load_network
from corridor.routing import MAX_SHARED, RouteOptions
from corridor.service.engine import (
    MAX_ALTERNATIVES,
    MAX_CRITICAL_TOP,
    MAX_INVEST_DRAWS,
    MAX_PLACES,
    REQUEST_BUDGET_S,
    Engine,
)
from corridor.service.middleware import (
    MAX_BODY_BYTES,
    THREADS,
    BodyLimit,
    handle_corridor_error,
    handle_http_error,
    handle_internal_error,
    handle_validation_error,
    in_thread,
)
from corridor.service.models import (
    ERRORS,
    CalibrationResponse,
    CompareResponse,
    CriticalResponse,
    DependencyResponse,
    FlowsResponse,
    PassagesResponse,
    PlacesResponse,
    RoutesResponse,
    ScenarioSummary,
)
from corridor.tables import split_lists


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
ScenarioName = Annotated[str, Query(max_length=64, description="A scenario name.")]


def create_app(network: Network | None = None, demand: pd.DataFrame | None = None,
               scenarios: str | Path | None = None,
               budget_s: float | None = REQUEST_BUDGET_S,
               observations: str | Path | None = None,
               ledger: str | Path | None = None) -> FastAPI:
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
    ledger
        Folder of the ledger for ``/api/ledger``, ``/api/appraise`` and ``/api/partners``
        (default: the shipped one).

    Returns
    -------
    fastapi.FastAPI
        With the engine in ``app.state.engine``. ``/docs`` serves Swagger UI from the locally
        vendored ``swagger-ui-dist`` (no CDN); ``/openapi.json`` is the schema.
    """
    engine = Engine(network, demand, scenarios, budget_s, observations, ledger)

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
    app.add_exception_handler(CorridorError, handle_corridor_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
    app.add_exception_handler(Exception, handle_internal_error)
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
        avoid: Annotated[list[str] | None, Query(max_length=200, description=
                                                 "ISO3 countries, comma-separated or the "
                                                 "parameter again")] = None,
        avoid_modes: Annotated[list[str] | None, Query(max_length=200)] = None,
        avoid_passages: Annotated[list[str] | None, Query(max_length=400, description=
                                                          "passage ids (see /api/passages), "
                                                          "comma-separated or the parameter "
                                                          "again")] = None,
        via: Annotated[str | None, Query(max_length=100)] = None,
        alternatives: Annotated[int, Query(ge=1, le=MAX_ALTERNATIVES)] = 1,
        max_shared: Annotated[float, Query(ge=0.0, le=1.0, description=
                                           "share of its length an alternative may run on a "
                                           "better route's links (1: near-copies too)")
                              ] = MAX_SHARED,
        service: Annotated[str, Query(max_length=40, description=
                                      "a named service, e.g. express")] = "",
        month: Annotated[str | None, Query(max_length=7, description=
                                           "price sea and rail at a month's market (YYYY-MM) "
                                           "or a year's (YYYY)")] = None,
    ) -> dict:
        """Best route and ranked alternatives, each with the GeoJSON of its legs.

        Alternatives differ materially: each keeps out of a transit country of every better
        route or shares at most ``max_shared`` of its length with it.
        """
        options = RouteOptions(commodity=commodity, optimize=optimize,
                               avoid=split_lists(avoid),
                               avoid_modes=split_lists(avoid_modes),
                               avoid_passages=split_lists(avoid_passages), via=via or None,
                               alternatives=alternatives, max_shared=max_shared,
                               service=service)
        return await in_thread(request, "route", engine.routes, origin, destination, options,
                               month or None)

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
    async def run_scenario(request: Request, body: Annotated[dict[str, Any], Body()],
                           top: Annotated[int, Query(ge=1, le=500)] = 50) -> dict:
        """Assign the demand under a posted scenario (JSON in the structure of the TOML).

        The body follows the scenario schema (``ScenarioSchema`` in the OpenAPI document, the
        one the TOML files follow); a fault is a 422 naming the key, with close matches."""
        return await in_thread(request, "heavy", engine.run_posted,
                                {k: v for k, v in body.items() if v is not None}, top)

    @app.get("/api/flows", response_model=FlowsResponse, responses=ERRORS, tags=["flows"])
    async def flows(request: Request, scenario: ScenarioName = "baseline",
                    top: Annotated[int, Query(ge=1, le=500)] = 50) -> dict:
        """Link flows, stranded volume and totals of a scenario (cached per scenario)."""
        return await in_thread(request, "heavy", engine.flows, scenario, top)

    @app.get("/api/compare", response_model=CompareResponse, responses=ERRORS, tags=["flows"])
    async def compare(request: Request, base: ScenarioName = "baseline",
                      other: ScenarioName = "cpc-outage") -> dict:
        """Totals of two scenarios and their difference (other − base)."""
        return await in_thread(request, "heavy", engine.compare, base, other)

    @app.get("/api/dependency", response_model=DependencyResponse, responses=ERRORS,
             tags=["flows"])
    async def dependency(request: Request, scenario: ScenarioName = "baseline",
                         exporter: Annotated[str | None, Query(max_length=3)] = None) -> dict:
        """Shares and HHI of each exporter by transit country, corridor, mode and partner."""
        return await in_thread(request, "heavy", engine.dependency, scenario, exporter)

    @app.get("/api/calibration", response_model=CalibrationResponse, responses=ERRORS,
             tags=["flows"])
    async def calibration(request: Request, scenario: ScenarioName = "baseline") -> dict:
        """The model against published observations: each observation (observed, modelled,
        error, the element compared, whether it is independent of the inputs) and, per kind,
        the count, WAPE, mean bias and the share within ±15 % and ±30 %."""
        return await in_thread(request, "heavy", engine.calibration, scenario)

    @app.get("/api/ledger", responses=ERRORS, tags=["invest"])
    def ledger(kind: Annotated[str | None, Query(max_length=20)] = None,
               country: Annotated[str | None, Query(max_length=3)] = None,
               partner: Annotated[str | None, Query(max_length=60)] = None,
               status: Annotated[str | None, Query(max_length=20)] = None) -> dict:
        """Projects and agreements of the ledger, filtered by kind, republic, partner and
        lowest status."""
        return engine.ledger(kind, country, partner, status)

    @app.get("/api/appraise/{project}", responses=ERRORS, tags=["invest"])
    async def appraise(request: Request, project: Annotated[str, PathParam(max_length=80)],
                       scenario: ScenarioName = "baseline") -> dict:
        """A project's yearly benefit, NPV, BCR and IRR under a scenario."""
        return await in_thread(request, "heavy", engine.appraisal, project, scenario)

    @app.get("/api/risks", tags=["invest"])
    def risks() -> dict:
        """The shipped risk files (outage records and parameter ranges) that ``/api/invest``
        can value projects over."""
        return {"risks": engine.risks()}

    @app.get("/api/invest", responses=ERRORS, tags=["invest"])
    async def invest(request: Request,
                     budget_usd: Annotated[float, Query(ge=0, le=1e13)],
                     scenario: ScenarioName = "baseline",
                     objective: Annotated[str, Query(max_length=10)] = "npv",
                     risk: Annotated[str | None, Query(max_length=60, description=
                                                       "a shipped risk file, e.g. cpc-record: "
                                                       "projects valued over its draws")
                                     ] = None,
                     draws: Annotated[int, Query(ge=1, le=MAX_INVEST_DRAWS)] = 20,
                     seed: Annotated[int, Query(ge=0, le=2**31)] = 0) -> dict:
        """The set of ledger projects that does most for a budget, and the frontier of budget
        against value (a 0-1 programme solved with HiGHS); with ``risk``, each project is
        valued by its expected case over the risk file's draws."""
        return await in_thread(request, "heavy", engine.portfolio, budget_usd, scenario,
                               objective, risk or None, draws, seed)

    @app.get("/api/partners", responses=ERRORS, tags=["invest"])
    async def partners(request: Request, scenario: ScenarioName = "baseline") -> dict:
        """Each republic's dependency on its partners: transit, markets, labour, finance."""
        return await in_thread(request, "heavy", engine.partners, scenario)

    @app.get("/api/critical", response_model=CriticalResponse, responses=ERRORS,
             tags=["flows"])
    async def critical(request: Request, scenario: ScenarioName = "baseline",
                       top: Annotated[int, Query(ge=1, le=MAX_CRITICAL_TOP)] = 20) -> dict:
        """Links ranked by the damage their loss does (stranded tonnes, added cost)."""
        return await in_thread(request, "heavy", engine.critical, scenario, top)

    if web.is_dir():
        app.mount("/static", StaticFiles(directory=web), name="static")
    app.openapi = functools.partial(_openapi, app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with the posted scenario's body described by the one scenario
    schema (:class:`corridor.scenario_schema.ScenarioSchema`)."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        from corridor.scenario_schema import ScenarioSchema

        document = get_openapi(title=app.title, version=app.version,
                               description=app.description, routes=app.routes)
        scenario = ScenarioSchema.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas.update(scenario.pop("$defs", {}))
        schemas["ScenarioSchema"] = scenario
        body = document["paths"]["/api/scenarios/run"]["post"]["requestBody"]
        body["content"]["application/json"]["schema"] = {
            "$ref": "#/components/schemas/ScenarioSchema"}
        app.openapi_schema = document
    return app.openapi_schema


def app_from_env() -> FastAPI:
    """App factory for ``uvicorn --factory`` and multi-process serving.

    Reads the folders from ``CORRIDOR_NETWORK``, ``CORRIDOR_COSTS``, ``CORRIDOR_DEMAND``,
    ``CORRIDOR_SCENARIOS`` and ``CORRIDOR_LEDGER`` (each optional; defaults are the shipped
    data).
    """
    import os

    network = load_network(os.environ.get("CORRIDOR_NETWORK") or None,
                           os.environ.get("CORRIDOR_COSTS") or None)
    demand = None
    if os.environ.get("CORRIDOR_DEMAND"):
        from corridor.demand import load_demand

        demand = load_demand(os.environ["CORRIDOR_DEMAND"], network)
    return create_app(network, demand, os.environ.get("CORRIDOR_SCENARIOS") or None,
                      ledger=os.environ.get("CORRIDOR_LEDGER") or None)
