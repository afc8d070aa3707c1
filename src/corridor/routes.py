"""Routes as plain data, and how a path of arcs becomes one.

This module needs neither pandas nor NumPy: the router (:mod:`corridor.routing`) builds its
routes here from a compiled graph's arrays, and the route snapshot (:mod:`corridor.snapshot`)
from the same arrays kept as lists, so a route answered either way is the same object.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from corridor.errors import InvalidOptionError
from corridor.limits import MAX_SHARED

if TYPE_CHECKING:
    import pandas as pd

    from corridor.network import Network

#: Kinds of arc in a compiled graph: a link, a change of layer (gauge or mode) at a node, the
#: way in from a place's source, the way out to its sink, and the virtual node that splits
#: parallel links.
LINK, TRANSFER, ACCESS, EGRESS, SPLIT = 0, 1, 2, 3, 4
#: Stands in for a zero weight in shortest-path searches (a CSR matrix cannot hold a zero).
ZERO_WEIGHT = 1e-9
#: Two paths whose weights differ by at most this much tie. It lies below the least weight of
#: an arc (1e-9: a zero weight stands in as that) and above rounding in a sum of weights.
TIGHT = 1e-10
#: Marks the layer in which a sea lane ends at a port (``sea`` + this): cargo leaves it for
#: another mode or the end of its trip, so a change of ships is a discharge and a load.
ARRIVAL = ":arrival"
#: What a route reads of each link (``network.links`` columns).
LINK_COLUMNS = ("from_node_id", "to_node_id", "mode", "gauge_mm", "country", "corridor")

ROUTE_OBJECTIVES = ("cost", "time", "co2", "distance")


@dataclass(frozen=True)
class Leg:
    """One link of a route, in the direction travelled."""

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
    country: str
    corridor: str
    border_crossing: bool


@dataclass(frozen=True)
class Transfer:
    """A change of mode or of rail gauge at a node."""

    node_id: str
    node_name: str
    kind: str
    from_layer: str
    to_layer: str
    days: float
    cost_usd_per_t: float


@dataclass(frozen=True)
class Route:
    """A route with its legs, transfers and totals (per tonne of the commodity)."""

    rank: int
    origin: str
    destination: str
    commodity: str
    objective: str
    legs: tuple[Leg, ...]
    transfers: tuple[Transfer, ...]
    length_km: float
    days: float
    cost_usd_per_t: float
    co2_kg_per_t: float
    countries: tuple[str, ...]
    border_crossings: tuple[str, ...]
    modes: tuple[str, ...] = field(default=())
    passages: tuple[str, ...] = field(default=())

    @property
    def node_ids(self) -> list[str]:
        return [self.legs[0].from_id] + [leg.to_id for leg in self.legs]

    @property
    def link_ids(self) -> list[str]:
        return [leg.link_id for leg in self.legs]

    def to_dict(self) -> dict:
        """Plain data for JSON: the same fields as the table."""
        return asdict(self)

    def to_geodataframe(self, network: Network) -> Any:
        """The legs as a GeoDataFrame of LineStrings (WGS84) in travel order; ``network`` is
        the network the route was found on. Needs geopandas (``pip install 'corridor[geo]'``).
        """
        from corridor.geometry import route_frame

        return route_frame(network, self)

    def legs_frame(self) -> pd.DataFrame:
        """The legs as a DataFrame, one row per link."""
        import pandas as pd

        return pd.DataFrame([asdict(leg) for leg in self.legs])


@dataclass(frozen=True, kw_only=True)
class RouteOptions:
    """What a route query asks for besides its two ends (one object for the CLI, the API and
    Python; every field is keyword-only).

    Attributes
    ----------
    commodity
        A commodity of the cost model (``container``, ``crude_oil`` …).
    optimize
        ``cost`` (USD/t), ``time`` (days), ``co2`` (kg CO2/t) or ``distance`` (km).
    avoid
        ISO3 codes of countries the route may not touch.
    avoid_modes
        Modes the route may not use.
    avoid_passages
        Ids of named passages (``passages.csv``: straits, canals, Caspian crossings, border
        posts, gauge-change stations) the route may not use.
    via
        A place the route must pass.
    alternatives
        How many routes to return at most (1 = only the best; at most 20).
    service
        A named service of the cost model (e.g. ``express`` block trains) whose speeds,
        tariffs and dwell replace the standard ones; empty is the standard service.
    max_shared
        How much of its length an alternative may share with each better route (0-1), unless
        it passes through other countries. ``1`` returns the k shortest loopless routes
        instead, which are often near-copies of the best one.
    """

    commodity: str = "container"
    optimize: str = "cost"
    avoid: tuple[str, ...] = ()
    avoid_modes: tuple[str, ...] = ()
    avoid_passages: tuple[str, ...] = ()
    via: str | None = None
    alternatives: int = 1
    service: str = ""
    max_shared: float = MAX_SHARED

    def __post_init__(self) -> None:
        def clean(items: Iterable[str], fold: Callable[[str], str]) -> tuple[str, ...]:
            return tuple(dict.fromkeys(fold(i.strip()) for i in items if i.strip()))

        object.__setattr__(self, "avoid", clean(self.avoid, str.upper))
        object.__setattr__(self, "avoid_modes", clean(self.avoid_modes, str))
        object.__setattr__(self, "avoid_passages", clean(self.avoid_passages, str.lower))
        if self.optimize not in ROUTE_OBJECTIVES:
            raise InvalidOptionError(f"Unknown objective {self.optimize!r}; choose one of "
                                     f"{', '.join(ROUTE_OBJECTIVES)}.")
        if not 1 <= self.alternatives <= 20:
            raise InvalidOptionError("alternatives must be between 1 and 20.")
        if not 0.0 <= self.max_shared <= 1.0:
            raise InvalidOptionError("max_shared must be between 0 and 1.")

    @classmethod
    def of(cls, options: RouteOptions | None = None, **fields: Any) -> RouteOptions:
        """``options`` with ``fields`` replaced (unknown names are an InvalidOptionError)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(fields) - known)
        if unknown:
            raise InvalidOptionError(f"Unknown route option(s) {', '.join(unknown)}; choose "
                                     f"from {', '.join(sorted(known))}.")
        base = options if options is not None else cls()
        return dataclasses.replace(base, **fields) if fields else base


def canonical_path(source: int, target: int, dist: Sequence[float], weights: Sequence[float],
                   tail: Sequence[int], incoming: Callable[[int], Iterable[int]]) -> list[int]:
    """The cheapest path from ``source`` to ``target`` that, read back from the target, always
    enters a node by its lowest-numbered cheapest arc.

    ``dist`` holds the settled distance of every sub-node from ``source`` (infinite when
    unknown), ``weights`` every arc's weight (at least 1e-9, infinite when barred) and
    ``incoming(node)`` the arcs into a node. Where paths tie, Dijkstra's choice depends on how
    its queue orders equal keys; this choice depends only on the distances, so SciPy's
    Dijkstra and the route snapshot's agree.
    """
    arcs: list[int] = []
    node = target
    while node != source:
        reached = dist[node]
        arc = min(int(a) for a in incoming(node)
                  if abs(dist[tail[a]] + weights[a] - reached) <= TIGHT)
        arcs.append(arc)
        node = int(tail[arc])
    arcs.reverse()
    return arcs


class ArcTable(Protocol):
    """The per-arc columns a route is built from (a compiled graph, or its snapshot)."""

    kind: Sequence[int]
    arc_link: Sequence[int]
    arc_node: Sequence[int]
    arc_forward: Sequence[bool]
    tail: Sequence[int]
    head: Sequence[int]
    km: Sequence[float]
    days: Sequence[float]
    cost_usd: Sequence[float]
    co2_kg: Sequence[float]
    border: Sequence[bool]
    transfer_kind: Sequence[str]
    sub_layer: Sequence[str]
    node_ids: Sequence[str]


@dataclass(frozen=True)
class Places:
    """What turns a path into a route besides the arcs: the network's links, place names,
    countries and passages.

    ``link_rows`` hold per link (in ``network.links`` order) its :data:`LINK_COLUMNS`, with
    ``gauge_mm`` an int or None;
    ``passages(link_rows, node_rows, forward)`` lists the passages a path meets.
    """

    link_ids: Sequence[str]
    link_rows: Sequence[Mapping[str, Any]]
    names: Mapping[str, str]
    countries: Mapping[str, str]
    node_row: Mapping[str, int]
    passages: Callable[[list[int], list[int], list[bool]], list[str]]


def build_route(graph: ArcTable, arcs: Sequence[int], places: Places, *, rank: int,
                start: str, end: str, commodity: str, objective: str) -> Route:
    """The route of a path of arcs from ``start`` to ``end``: its legs, transfers and totals."""
    names = places.names
    legs: list[Leg] = []
    transfers: list[Transfer] = []
    on_links: list[int] = []
    directions: list[bool] = []
    for arc in arcs:
        kind = graph.kind[arc]
        if kind == LINK:
            position = int(graph.arc_link[arc])
            forward = bool(graph.arc_forward[arc])
            row = places.link_rows[position]
            a, b = row["from_node_id"], row["to_node_id"]
            if not forward:
                a, b = b, a
            on_links.append(position)
            directions.append(forward)
            legs.append(Leg(
                link_id=places.link_ids[position], from_id=a, from_name=names[a],
                to_id=b, to_name=names[b], mode=row["mode"], gauge_mm=row["gauge_mm"],
                length_km=float(graph.km[arc]), days=float(graph.days[arc]),
                cost_usd_per_t=float(graph.cost_usd[arc]),
                co2_kg_per_t=float(graph.co2_kg[arc]), country=row["country"] or "",
                corridor=row["corridor"] or "", border_crossing=bool(graph.border[arc])))
        elif kind == TRANSFER:
            node = graph.node_ids[graph.arc_node[arc]]
            transfers.append(Transfer(
                node_id=node, node_name=names[node], kind=graph.transfer_kind[arc],
                from_layer=graph.sub_layer[graph.tail[arc]].removesuffix(ARRIVAL),
                to_layer=graph.sub_layer[graph.head[arc]].removesuffix(ARRIVAL),
                days=float(graph.days[arc]), cost_usd_per_t=float(graph.cost_usd[arc])))
    stops = [legs[0].from_id] + [leg.to_id for leg in legs]
    countries: list[str] = []
    for node in stops:
        for code in places.countries[node].split(";"):
            if code not in countries:
                countries.append(code)
    borders = tuple(f"{leg.from_name}–{leg.to_name}" for leg in legs if leg.border_crossing)
    passages = tuple(places.passages(on_links, [places.node_row[n] for n in stops],
                                     directions))
    return Route(
        rank=rank, origin=start, destination=end, commodity=commodity, objective=objective,
        legs=tuple(legs), transfers=tuple(transfers),
        length_km=round(sum(leg.length_km for leg in legs), 1),
        days=sum(leg.days for leg in legs) + sum(t.days for t in transfers),
        cost_usd_per_t=sum(leg.cost_usd_per_t for leg in legs)
        + sum(t.cost_usd_per_t for t in transfers),
        co2_kg_per_t=sum(leg.co2_kg_per_t for leg in legs),
        countries=tuple(countries), border_crossings=borders,
        modes=tuple(dict.fromkeys(leg.mode for leg in legs)),
        passages=passages,
    )
