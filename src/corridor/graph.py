"""Compile a network into arrays once, so that thousands of route queries are cheap.

Each physical node is split into one sub-node per *layer* that meets there (a layer is a mode,
and for rail a gauge: ``rail1520``, ``rail1435``, ``sea``, ``ferry`` …). Links become arcs inside
a layer; moving between layers at a node is a transfer arc that carries the transfer cost and
time (gauge change or mode change). Every node also gets a virtual source and sink sub-node, so
a trip may start and end in any layer without paying a transfer. The result is a directed graph
stored as SciPy CSR arrays; objectives and constraints only change the arc weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix

from corridor.network import Network

LINK, TRANSFER, ACCESS, EGRESS, SPLIT = 0, 1, 2, 3, 4
OBJECTIVES = ("cost", "time", "co2", "generalised")
_EPS = 1e-9  # stands in for a zero weight, which a CSR matrix cannot hold


def layer_of(mode: str, gauge_mm: object) -> str:
    """The layer a link belongs to: its mode, and for rail its gauge."""
    return f"rail{int(gauge_mm)}" if mode == "rail" else mode


@dataclass
class CompiledGraph:
    """A commodity's view of the network as flat arrays (one entry per arc).

    ``arc_link`` is the row of the link in ``network.links`` (-1 for non-link arcs),
    ``arc_node`` the physical node of transfer/access/egress arcs (-1 for links).
    """

    commodity: str
    node_ids: np.ndarray  # physical node ids, position = physical index
    sub_node: np.ndarray  # physical index of each sub-node
    sub_layer: np.ndarray  # layer name of each sub-node ('src', 'snk', 'split' for virtual)
    source_of: np.ndarray  # physical index -> its source sub-node (-1 if not in this view)
    sink_of: np.ndarray
    tail: np.ndarray
    head: np.ndarray
    kind: np.ndarray
    arc_link: np.ndarray
    arc_node: np.ndarray
    arc_forward: np.ndarray  # link arcs: True when travelling from -> to
    cost_usd: np.ndarray
    days: np.ndarray
    co2_kg: np.ndarray
    km: np.ndarray
    mode_code: np.ndarray  # index into ``modes`` (-1 for non-link arcs)
    modes: tuple[str, ...]
    country_mask: np.ndarray  # int64 bit set of countries each arc touches
    countries: tuple[str, ...]
    border: np.ndarray  # link arcs that cross a border
    transfer_kind: np.ndarray  # '' | 'gauge_change' | 'mode_change'
    value_of_time: float
    _indptr: np.ndarray | None = None
    _indices: np.ndarray | None = None
    _order: np.ndarray | None = None
    _keys: np.ndarray | None = None

    @property
    def n_sub(self) -> int:
        return len(self.sub_node)

    def __post_init__(self) -> None:
        order = np.lexsort((self.head, self.tail))
        counts = np.bincount(self.tail, minlength=self.n_sub)
        self._indptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int32)
        self._indices = self.head[order].astype(np.int32)
        self._order = order
        self._keys = self.tail[order].astype(np.int64) * self.n_sub + self.head[order]

    def weights(self, objective: str) -> np.ndarray:
        """Arc weights for an objective: USD/t, days, kg CO2/t, or cost plus value of time."""
        if objective == "cost":
            return self.cost_usd
        if objective == "time":
            return self.days
        if objective == "co2":
            return self.co2_kg
        if objective == "generalised":
            return self.cost_usd + self.value_of_time * self.days
        raise ValueError(objective)

    def matrix(self, weights: np.ndarray, allowed: np.ndarray | None = None) -> csr_matrix:
        """CSR matrix of ``weights``; arcs not ``allowed`` get an infinite weight."""
        data = np.maximum(weights, _EPS)
        if allowed is not None:
            data = np.where(allowed, data, np.inf)
        return csr_matrix((data[self._order], self._indices, self._indptr),
                          shape=(self.n_sub, self.n_sub))

    def arcs_between(self, tails: np.ndarray, heads: np.ndarray) -> np.ndarray:
        """Arc ids for consecutive sub-node pairs of a path."""
        keys = tails.astype(np.int64) * self.n_sub + heads
        return self._order[np.searchsorted(self._keys, keys)]

    def allowed(self, avoid_countries: tuple[str, ...] = (),
                avoid_modes: tuple[str, ...] = ()) -> np.ndarray:
        """Boolean mask of arcs usable when avoiding countries and modes."""
        ok = np.ones(len(self.tail), dtype=bool)
        if avoid_countries:
            bits = 0
            for code in avoid_countries:
                if code in self.countries:
                    bits |= 1 << self.countries.index(code)
            ok &= (self.country_mask & bits) == 0
        if avoid_modes:
            codes = [self.modes.index(m) for m in avoid_modes if m in self.modes]
            ok &= ~np.isin(self.mode_code, codes)
        return ok


def compile_graph(network: Network, commodity: str) -> CompiledGraph:
    """Build the layered arc arrays of ``network`` for one commodity.

    Only links in ``operating`` status whose mode the commodity may use are kept. Optional link
    columns ``cost_factor`` and ``time_factor`` (set by scenarios) scale a link's cost and time.

    Parameters
    ----------
    network
        A loaded network.
    commodity
        A commodity id of the cost model.

    Returns
    -------
    CompiledGraph
    """
    costs = network.costs
    costs.check_commodity(commodity)
    allowed_modes = set(costs.allowed_modes(commodity))
    links = network.links
    nodes = network.nodes
    node_ids = nodes.index.to_numpy()
    node_pos = {node_id: i for i, node_id in enumerate(node_ids)}
    node_country = nodes["country"].to_numpy()

    usable = (links["status"] == "operating") & links["mode"].isin(allowed_modes)
    link_rows = np.flatnonzero(usable.to_numpy())
    sel = links.iloc[link_rows]
    layers = [layer_of(m, g) for m, g in zip(sel["mode"], sel["gauge_mm"], strict=True)]
    a_idx = sel["from_node_id"].map(node_pos).to_numpy()
    b_idx = sel["to_node_id"].map(node_pos).to_numpy()

    # sub-nodes: one per (node, layer), plus a source and a sink per node that has any layer
    sub_key: dict[tuple[int, str], int] = {}
    sub_node: list[int] = []
    sub_layer: list[str] = []

    def sub(node: int, layer: str) -> int:
        key = (node, layer)
        if key not in sub_key:
            sub_key[key] = len(sub_node)
            sub_node.append(node)
            sub_layer.append(layer)
        return sub_key[key]

    for a, b, layer in zip(a_idx, b_idx, layers, strict=True):
        sub(int(a), layer)
        sub(int(b), layer)
    layers_at: dict[int, list[str]] = {}
    for (node, layer) in list(sub_key):
        layers_at.setdefault(node, []).append(layer)
    source_of = np.full(len(node_ids), -1, dtype=np.int64)
    sink_of = np.full(len(node_ids), -1, dtype=np.int64)
    for node in sorted(layers_at):
        source_of[node] = sub(node, "src")
        sink_of[node] = sub(node, "snk")

    countries = tuple(sorted({c for cs in nodes["country"] for c in cs.split(";")}
                             | {c for cs in links["country"] if cs for c in cs.split(";")}))
    bit = {c: 1 << i for i, c in enumerate(countries)}

    def mask_of(codes: str | None) -> int:
        return 0 if not codes else sum(bit[c] for c in set(codes.split(";")))

    modes = tuple(sorted(allowed_modes))
    arcs: dict[str, list] = {k: [] for k in (
        "tail", "head", "kind", "link", "node", "fwd", "cost", "days", "co2", "km", "mode",
        "cmask", "border", "tkind")}

    def add(tail, head, kind, link=-1, node=-1, fwd=True, cost=0.0, days=0.0, co2=0.0, km=0.0,
            mode=-1, cmask=0, border=False, tkind=""):
        for key, value in (("tail", tail), ("head", head), ("kind", kind), ("link", link),
                           ("node", node), ("fwd", fwd), ("cost", cost), ("days", days),
                           ("co2", co2), ("km", km), ("mode", mode), ("cmask", cmask),
                           ("border", border), ("tkind", tkind)):
            arcs[key].append(value)

    cost_factor = (sel["cost_factor"].fillna(1.0).to_numpy() if "cost_factor" in sel
                   else np.ones(len(sel)))
    time_factor = (sel["time_factor"].fillna(1.0).to_numpy() if "time_factor" in sel
                   else np.ones(len(sel)))
    transfer_charge = costs.charge(commodity, "mode_change")
    for i, (row, a, b, layer) in enumerate(zip(sel.itertuples(), a_idx, b_idx, layers,
                                               strict=True)):
        mode = row.mode
        if mode == "transfer":
            cost, days, co2 = transfer_charge.cost_usd_per_t, transfer_charge.time_days, 0.0
        else:
            params = costs.mode(commodity, mode)
            cost = (row.tariff_usd_per_t if not pd.isna(row.tariff_usd_per_t)
                    else params.tariff_usd_per_tkm * row.length_km)
            days = (row.time_days if not pd.isna(row.time_days)
                    else row.length_km / params.speed_km_per_day)
            co2 = params.co2_g_per_tkm * row.length_km / 1000.0
        crosses = node_country[a] != node_country[b]
        if crosses:
            charge = costs.charge(commodity, "border_crossing", mode)
            cost += charge.cost_usd_per_t
            days += charge.time_days
        if not pd.isna(row.border_delay_days):
            days += row.border_delay_days
        cost *= cost_factor[i]
        days *= time_factor[i]
        cmask = mask_of(row.country) | mask_of(node_country[a]) | mask_of(node_country[b])
        ends = [(sub_key[(a, layer)], sub_key[(b, layer)], True)]
        if not row.directed:
            ends.append((sub_key[(b, layer)], sub_key[(a, layer)], False))
        for tail, head, fwd in ends:
            add(tail, head, LINK, link=int(link_rows[i]), fwd=fwd, cost=cost, days=days, co2=co2,
                km=row.length_km, mode=modes.index(mode), cmask=cmask, border=bool(crosses))

    for node, node_layers in layers_at.items():
        cmask = mask_of(node_country[node])
        for layer in node_layers:
            add(source_of[node], sub_key[(node, layer)], ACCESS, node=node, cmask=cmask)
            add(sub_key[(node, layer)], sink_of[node], EGRESS, node=node, cmask=cmask)
            for other in node_layers:
                if other == layer:
                    continue
                if "transfer" in (layer, other):
                    cost = days = 0.0  # the transfer link itself carries the handling charge
                    tkind = "mode_change"
                else:
                    tkind = ("gauge_change" if layer.startswith("rail") and other.startswith("rail")
                             else "mode_change")
                    charge = costs.charge(commodity, tkind, other if tkind == "mode_change"
                                          else "rail")
                    cost, days = charge.cost_usd_per_t, charge.time_days
                add(sub_key[(node, layer)], sub_key[(node, other)], TRANSFER, node=node,
                    cost=cost, days=days, cmask=cmask, tkind=tkind)

    tail = np.asarray(arcs["tail"], dtype=np.int64)
    head = np.asarray(arcs["head"], dtype=np.int64)
    tail, head, extra = _split_parallel(tail, head, len(sub_node))
    # a helper sits at the same place as the head it leads to
    sub_node.extend(np.asarray(sub_node)[head[len(head) - extra:]].tolist())
    sub_layer.extend(["split"] * extra)
    n_arcs = len(arcs["tail"])
    pad = len(tail) - n_arcs

    def col(key: str, dtype, fill) -> np.ndarray:
        return np.concatenate([np.asarray(arcs[key], dtype=dtype), np.full(pad, fill, dtype)])

    return CompiledGraph(
        commodity=commodity,
        node_ids=node_ids,
        sub_node=np.asarray(sub_node, dtype=np.int64),
        sub_layer=np.asarray(sub_layer, dtype=object),
        source_of=source_of,
        sink_of=sink_of,
        tail=tail,
        head=head,
        kind=col("kind", np.int8, SPLIT),
        arc_link=col("link", np.int64, -1),
        arc_node=col("node", np.int64, -1),
        arc_forward=col("fwd", bool, True),
        cost_usd=col("cost", float, 0.0),
        days=col("days", float, 0.0),
        co2_kg=col("co2", float, 0.0),
        km=col("km", float, 0.0),
        mode_code=col("mode", np.int64, -1),
        modes=modes,
        country_mask=col("cmask", np.int64, 0),
        countries=countries,
        border=col("border", bool, False),
        transfer_kind=col("tkind", object, ""),
        value_of_time=costs.value_of_time_usd_per_t_day(commodity),
    )


def _split_parallel(tail: np.ndarray, head: np.ndarray,
                    n_sub: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Give every repeated (tail, head) pair its own helper sub-node.

    A CSR matrix keeps one weight per cell, so the second and later of two parallel arcs are
    re-routed through a new helper node: tail -> helper keeps the arc's data, helper -> head is
    an extra zero-weight arc appended at the end.
    """
    keys = tail * (n_sub + len(tail)) + head
    _, first = np.unique(keys, return_index=True)
    repeated = np.setdiff1d(np.arange(len(tail)), first)
    if not len(repeated):
        return tail, head, 0
    helpers = n_sub + np.arange(len(repeated))
    new_head = head.copy()
    new_head[repeated] = helpers
    return (np.concatenate([tail, helpers]), np.concatenate([new_head, head[repeated]]),
            len(repeated))
