"""Corridor: route, stress-test and diversify Central Asia's trade corridors."""

from corridor.errors import (
    CorridorError,
    DataError,
    InvalidOptionError,
    NoRouteError,
    UnknownPlaceError,
)
from corridor.network import Network, load_network
from corridor.routing import Route, RouteOptions, Router, route

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
