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

from corridor.service.app import app_from_env, create_app, web_folder
from corridor.service.engine import (
    MAX_ALTERNATIVES,
    MAX_CRITICAL_TOP,
    MAX_PLACES,
    MAX_SCENARIO_EDITS,
    REQUEST_BUDGET_S,
    SCENARIO_CACHE_SIZE,
    BusyError,
    ConflictError,
    Engine,
    NotFoundError,
    TooManyRequestsError,
    UnavailableError,
    records,
    scenario_toml,
)
from corridor.service.middleware import (
    MAX_BODY_BYTES,
    MAX_HEAVY_PER_CLIENT,
    MAX_WAITING,
    RETRY_AFTER_S,
    THREADS,
)

__all__ = [
    "MAX_ALTERNATIVES", "MAX_BODY_BYTES", "MAX_CRITICAL_TOP", "MAX_HEAVY_PER_CLIENT",
    "MAX_PLACES", "MAX_SCENARIO_EDITS", "MAX_WAITING", "REQUEST_BUDGET_S", "RETRY_AFTER_S",
    "SCENARIO_CACHE_SIZE", "THREADS", "BusyError", "ConflictError", "Engine", "NotFoundError",
    "TooManyRequestsError", "UnavailableError", "app_from_env", "create_app", "records",
    "scenario_toml", "web_folder",
]
