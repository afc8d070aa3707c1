"""Corridor: route, stress-test and diversify Central Asia's trade corridors."""

from typing import TYPE_CHECKING, Any

from corridor.errors import (
    CorridorError,
    DataError,
    InvalidOptionError,
    NoRouteError,
    UnknownPlaceError,
)

if TYPE_CHECKING:
    from corridor.network import Network, load_network
    from corridor.routes import Route, RouteOptions
    from corridor.routing import Router, route

#: Names imported on first use, so that ``import corridor`` (and ``corridor --help``) does not
#: load pandas and SciPy.
_LAZY = {"Network": "corridor.network", "load_network": "corridor.network",
         "Route": "corridor.routes", "RouteOptions": "corridor.routes",
         "Router": "corridor.routing", "route": "corridor.routing"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'corridor' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value

__all__ = [
    "CorridorError",
    "DataError",
    "InvalidOptionError",
    "Network",
    "NoRouteError",
    "Route",
    "RouteOptions",
    "Router",
    "UnknownPlaceError",
    "load_network",
    "route",
]
__version__ = "0.1.0"
