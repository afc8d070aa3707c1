"""Compile a network into arrays once, so that thousands of route queries are cheap.

Each physical node is split into one sub-node per *layer* that meets there (a layer is a mode,
and for rail a gauge: ``rail1520``, ``rail1435``, ``sea``, ``ferry`` …). Links become arcs inside
a layer; moving between layers at a node is a transfer arc that carries the transfer cost and
time (gauge change or mode change). Every node also gets a virtual source and sink sub-node, so
a trip may start and end in any layer without paying a transfer. The result is a directed graph
stored as SciPy CSR arrays; objectives and constraints only change the arc weights.

Sea lanes join every two ports directly and are priced port to port, as container lines sell
them (a line's own transhipment is in its price). A lane ends in an arrival layer of its port
(``sea:arrival``), from which cargo goes on by another mode or ends its trip. Cargo that boards
another lane there is discharged and loaded again, two mode changes with their charges and
days: a change of ships is never free, so two lanes priced apart do not undercut the market's
port-to-port price for nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix

from corridor.errors import InvalidOptionError
from corridor.network import Network
from corridor.routes import ACCESS, ARRIVAL, EGRESS, LINK, SPLIT, TRANSFER, ZERO_WEIGHT

OBJECTIVES = ("cost", "time", "co2", "distance", "generalised")


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
    arc_terminal: np.ndarray | None = None  # row of network.terminals (-1: not a terminal)
    _indptr: np.ndarray | None = None
    _indices: np.ndarray | None = None
    _order: np.ndarray | None = None
    _keys: np.ndarray | None = None
    _in_order: np.ndarray | None = None
    _in_indptr: np.ndarray | None = None

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
        """Arc weights for an objective: USD/t, days, kg CO2/t, km, or cost plus value of time."""
        if objective == "cost":
            return self.cost_usd
        if objective == "time":
            return self.days
        if objective == "co2":
            return self.co2_kg
        if objective == "distance":
            return self.km
        if objective == "generalised":
            return self.cost_usd + self.value_of_time * self.days
        raise ValueError(objective)

    def matrix(self, weights: np.ndarray, allowed: np.ndarray | None = None) -> csr_matrix:
        """CSR matrix of ``weights``; arcs not ``allowed`` get an infinite weight."""
        data = np.maximum(weights, ZERO_WEIGHT)
        if allowed is not None:
            data = np.where(allowed, data, np.inf)
        return csr_matrix((data[self._order], self._indices, self._indptr),
                          shape=(self.n_sub, self.n_sub))

    def incoming(self, node: int) -> np.ndarray:
        """The arcs into a sub-node (the index is built on first use)."""
        if self._in_order is None or self._in_indptr is None:
            self._in_order = np.argsort(self.head, kind="stable")
            self._in_indptr = np.concatenate(
                ([0], np.cumsum(np.bincount(self.head, minlength=self.n_sub))))
        return self._in_order[self._in_indptr[node]:self._in_indptr[node + 1]]

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


    def outside(self, link_mask: np.ndarray, node_mask: np.ndarray) -> np.ndarray:
        """Boolean mask of arcs that use none of the masked links (rows of
        ``network.links``) and touch none of the masked nodes (rows of ``network.nodes``)."""
        link_arc = self.kind == LINK
        ok = ~(link_arc & link_mask[np.where(link_arc, self.arc_link, 0)])
        if node_mask.any():
            ok &= ~(node_mask[self.sub_node[self.tail]] | node_mask[self.sub_node[self.head]])
        return ok


def compile_graph(network: Network, commodity: str, allowed_modes: str = "",
                  service: str = "") -> CompiledGraph:
    """Build the layered arc arrays of ``network`` for one commodity.

    Only links in ``operating`` status whose mode the commodity may use are kept. Optional link
    columns ``cost_factor`` and ``time_factor`` (set by scenarios) scale a link's cost and time.
    The work is vectorised over links, so a million-link network compiles in seconds.

    Parameters
    ----------
    network
        A loaded network.
    commodity
        A commodity id of the cost model.
    allowed_modes
        Optional ``;``-separated subset of the commodity's modes (a demand segment held to,
        say, rail and ferry); empty means every mode of the commodity.
    service
        A named service of the cost model (``express`` …) whose speeds, tariffs and dwell
        times replace the standard ones where it has rows; empty is the standard service.
        Per-link parameters come from the link's ``section`` (see
        :meth:`corridor.cost.CostModel.mode`).

    Returns
    -------
    CompiledGraph
    """
    costs = network.costs
    costs.check_commodity(commodity)
    costs.check_service(commodity, service)
    try:
        restricted = costs.restrict_modes(commodity, allowed_modes)
    except ValueError as exc:
        raise InvalidOptionError(f"allowed modes: {exc}") from None
    usable_modes = set(restricted.split(";") if restricted else costs.allowed_modes(commodity))
    modes = tuple(sorted(usable_modes))
    links, nodes = network.links, network.nodes
    node_ids = nodes.index.to_numpy()
    node_country = nodes["country"].to_numpy()

    usable = ((links["status"] == "operating") & links["mode"].isin(usable_modes)).to_numpy()
    link_rows = np.flatnonzero(usable)
    sel = links.iloc[link_rows]
    n_links = len(sel)
    mode = sel["mode"].to_numpy()
    gauge = sel["gauge_mm"].to_numpy(dtype=float, na_value=np.nan)
    layer = np.where(mode == "rail", np.char.add("rail", np.nan_to_num(gauge).astype(int)
                                                  .astype(str)), mode).astype(object)
    # the layer a link's arc ends in: sea lanes end in their port's arrival layer
    arrive = np.where(mode == "sea", "sea" + ARRIVAL, layer).astype(object)
    a = nodes.index.get_indexer(sel["from_node_id"])
    b = nodes.index.get_indexer(sel["to_node_id"])

    # sub-nodes: one per (node, layer) that a usable link touches
    ends = pd.DataFrame({"node": np.concatenate([a, b, a, b]),
                         "layer": np.concatenate([layer, layer, arrive, arrive])})
    subs = ends.drop_duplicates().sort_values(["node", "layer"]).reset_index(drop=True)
    sub_index = pd.MultiIndex.from_frame(subs)
    sa = sub_index.get_indexer(pd.MultiIndex.from_arrays([a, layer]))
    sb = sub_index.get_indexer(pd.MultiIndex.from_arrays([b, layer]))
    ra = sub_index.get_indexer(pd.MultiIndex.from_arrays([a, arrive]))
    rb = sub_index.get_indexer(pd.MultiIndex.from_arrays([b, arrive]))
    n_layer_subs = len(subs)
    places = np.unique(subs["node"].to_numpy())
    source_of = np.full(len(node_ids), -1, dtype=np.int64)
    sink_of = np.full(len(node_ids), -1, dtype=np.int64)
    source_of[places] = n_layer_subs + np.arange(len(places))
    sink_of[places] = n_layer_subs + len(places) + np.arange(len(places))
    sub_node = np.concatenate([subs["node"].to_numpy(), places, places]).astype(np.int64)
    sub_layer = np.concatenate([subs["layer"].to_numpy(dtype=object),
                                np.full(len(places), "src", dtype=object),
                                np.full(len(places), "snk", dtype=object)])

    # link metrics, per tonne
    length = sel["length_km"].to_numpy(dtype=float)
    tariff, speed, co2_g, wait = (np.zeros(n_links) for _ in range(4))
    section = (sel["section"].fillna("").astype(str).to_numpy(dtype=object)
               if "section" in sel else np.full(n_links, "", dtype=object))
    for m, tag in set(zip(mode, section, strict=True)):
        if m == "transfer":
            continue
        params = costs.mode(commodity, m, tag, service)
        pick = (mode == m) & (section == tag)
        tariff[pick], speed[pick], co2_g[pick], wait[pick] = (
            params.tariff_usd_per_tkm, params.speed_km_per_day, params.co2_g_per_tkm,
            params.wait_days)
    fixed_tariff = sel["tariff_usd_per_t"].to_numpy(dtype=float, na_value=np.nan)
    fixed_time = sel["time_days"].to_numpy(dtype=float, na_value=np.nan)
    cost = np.where(np.isnan(fixed_tariff), tariff * length, fixed_tariff)
    days = np.where(np.isnan(fixed_time), length / np.where(speed > 0, speed, 1.0), fixed_time)
    co2 = co2_g * length / 1000.0
    handling = costs.charge(commodity, "mode_change", service=service)
    is_transfer = mode == "transfer"
    cost[is_transfer], days[is_transfer], co2[is_transfer] = (handling.cost_usd_per_t,
                                                              handling.time_days, 0.0)
    crosses = node_country[a] != node_country[b]
    # no customs stop between two members of one customs union (EU, EAEU): no charge there
    union = np.array([costs.customs_unions.get(c, "") for c in pd.unique(node_country)],
                     dtype=object)[pd.factorize(node_country)[0]]
    customs = crosses & ~((union[a] == union[b]) & (union[a] != ""))
    # a crossing with its own published time replaces the average one, unless the service has
    # its own border row (express trains have priority at borders)
    own_days = (sel["border_days"].to_numpy(dtype=float, na_value=np.nan)
                if "border_days" in sel else np.full(n_links, np.nan))
    for m in set(mode[customs]):
        charge = costs.charge(commodity, "border_crossing", m, service)
        pick = customs & (mode == m)
        cost[pick] += charge.cost_usd_per_t
        crossing_days = np.full(n_links, charge.time_days)
        if not costs.has_service_charge(commodity, "border_crossing", m, service):
            crossing_days = np.where(np.isnan(own_days), charge.time_days, own_days)
        days[pick] += crossing_days[pick]
    days += np.nan_to_num(sel["border_delay_days"].to_numpy(dtype=float, na_value=np.nan))
    days += wait  # waiting for a scheduled departure of the mode on this section
    if "wait_days" in sel:  # waiting for a ferry or a berth, apart from the sailing time
        days += np.nan_to_num(sel["wait_days"].to_numpy(dtype=float, na_value=np.nan))
    for column, target in (("cost_factor", cost), ("time_factor", days)):
        if column in sel:
            target *= np.nan_to_num(sel[column].to_numpy(dtype=float, na_value=np.nan), nan=1.0)

    codes = set(pd.unique(nodes["country"])) | set(pd.unique(links["country"]))
    countries = tuple(sorted({c for cs in codes if cs for c in cs.split(";")}))
    bit = {c: 1 << i for i, c in enumerate(countries)}
    masks: dict[str, int] = {}

    def mask_of(codes: str) -> int:
        if codes not in masks:
            masks[codes] = sum(bit[c] for c in set(codes.split(";")) if c)
        return masks[codes]

    node_mask = _lookup(node_country, mask_of)
    link_mask = _lookup(sel["country"].to_numpy(dtype=object), mask_of)
    link_mask |= node_mask[a] | node_mask[b]
    mode_code = _lookup(mode, modes.index)

    back = ~sel["directed"].to_numpy(dtype=bool)
    link_part = {
        "tail": np.concatenate([sa, sb[back]]), "head": np.concatenate([rb, ra[back]]),
        "kind": np.full(n_links + back.sum(), LINK, dtype=np.int8),
        "link": np.concatenate([link_rows, link_rows[back]]),
        "node": np.full(n_links + back.sum(), -1, dtype=np.int64),
        "fwd": np.concatenate([np.ones(n_links, bool), np.zeros(back.sum(), bool)]),
        "cost": np.concatenate([cost, cost[back]]), "days": np.concatenate([days, days[back]]),
        "co2": np.concatenate([co2, co2[back]]),
        "km": np.concatenate([length, length[back]]),
        "mode": np.concatenate([mode_code, mode_code[back]]),
        "cmask": np.concatenate([link_mask, link_mask[back]]),
        "border": np.concatenate([crosses, crosses[back]]),
        "tkind": np.full(n_links + back.sum(), "", dtype=object),
        "terminal": np.full(n_links + back.sum(), -1, dtype=np.int64),
    }

    # access (source -> layer) and egress (layer -> sink) arcs: free; a trip starts in a
    # port's sea layer, not in its arrival layer, and ends in the arrival layer
    arrival = subs["layer"].str.endswith(ARRIVAL).to_numpy()
    departure = (subs["layer"] == "sea").to_numpy()
    layer_nodes = sub_node[:n_layer_subs]
    starts, ends_at = np.flatnonzero(~arrival), np.flatnonzero(~departure)
    access = _virtual(source_of[layer_nodes[starts]], starts, ACCESS, layer_nodes[starts],
                      node_mask[layer_nodes[starts]])
    egress = _virtual(ends_at, sink_of[layer_nodes[ends_at]], EGRESS, layer_nodes[ends_at],
                      node_mask[layer_nodes[ends_at]])

    # transfers between every two layers at a node (only at terminals for a commodity that
    # has terminals); out of a port's arrival layer, into its sea layer, never to another ship
    pairs = subs.reset_index().merge(subs.reset_index(), on="node", suffixes=("", "_to"))
    pairs = pairs[(pairs["layer"] != pairs["layer_to"])
                  & ~arrival[pairs["index_to"].to_numpy()]
                  & ~departure[pairs["index"].to_numpy()]
                  & ~(arrival[pairs["index"].to_numpy()]
                      & departure[pairs["index_to"].to_numpy()])].reset_index(drop=True)
    pair_terminal, pairs = _terminals(network, commodity, pairs, node_ids)
    layers = _terminal_layers(network, commodity, subs, node_ids)
    if layers is not None:  # crude enters and leaves in rail or sea only at a berth
        reachable, berth = layers
        access["terminal"] = berth[starts]
        egress["terminal"] = berth[ends_at]
        access = {k: v[reachable[starts]] for k, v in access.items()}
        egress = {k: v[reachable[ends_at]] for k, v in egress.items()}
    t_cost = np.zeros(len(pairs))
    t_days = np.zeros(len(pairs))
    t_kind = np.empty(len(pairs), dtype=object)
    for (from_layer, to_layer), group in pairs.groupby(["layer", "layer_to"]).groups.items():
        pick = pairs.index.get_indexer(group)
        if "transfer" in (from_layer, to_layer):
            kind, charge = "mode_change", None  # the transfer link carries the handling charge
        elif from_layer.startswith("rail") and to_layer.startswith("rail"):
            kind, charge = "gauge_change", costs.charge(commodity, "gauge_change", "rail",
                                                        service)
        else:
            kind, charge = "mode_change", costs.charge(commodity, "mode_change", to_layer,
                                                       service)
        t_kind[pick] = kind
        if charge is not None:
            t_cost[pick], t_days[pick] = charge.cost_usd_per_t, charge.time_days
    _terminal_charges(network, pair_terminal, t_cost, t_days)
    t_nodes = pairs["node"].to_numpy(dtype=np.int64)
    transfer = _virtual(pairs["index"].to_numpy(), pairs["index_to"].to_numpy(), TRANSFER,
                        t_nodes, node_mask[t_nodes])
    transfer.update(cost=t_cost, days=t_days, tkind=t_kind, terminal=pair_terminal)

    parts = [link_part, access, egress, transfer]
    arcs = {key: np.concatenate([part[key] for part in parts]) for key in link_part}
    tail, head, extra = _split_parallel(arcs["tail"].astype(np.int64),
                                        arcs["head"].astype(np.int64), len(sub_node))
    pad = len(tail) - len(arcs["tail"])
    # a helper sits at the same place as the head it leads to
    sub_node = np.concatenate([sub_node, sub_node[head[len(head) - extra:]]])
    sub_layer = np.concatenate([sub_layer, np.full(extra, "split", dtype=object)])
    fills = {"kind": SPLIT, "link": -1, "node": -1, "fwd": True, "cost": 0.0, "days": 0.0,
             "co2": 0.0, "km": 0.0, "mode": -1, "cmask": 0, "border": False, "tkind": "",
             "terminal": -1}

    def col(key: str) -> np.ndarray:
        values = arcs[key]
        return np.concatenate([values, np.full(pad, fills[key], dtype=values.dtype)])

    return CompiledGraph(
        commodity=commodity, node_ids=node_ids, sub_node=sub_node, sub_layer=sub_layer,
        source_of=source_of, sink_of=sink_of, tail=tail, head=head,
        kind=col("kind").astype(np.int8), arc_link=col("link").astype(np.int64),
        arc_node=col("node").astype(np.int64), arc_forward=col("fwd").astype(bool),
        cost_usd=col("cost").astype(float), days=col("days").astype(float),
        co2_kg=col("co2").astype(float), km=col("km").astype(float),
        mode_code=col("mode").astype(np.int64), modes=modes,
        country_mask=col("cmask").astype(np.int64), countries=countries,
        border=col("border").astype(bool), transfer_kind=col("tkind"),
        arc_terminal=col("terminal").astype(np.int64),
        value_of_time=costs.value_of_time_usd_per_t_day(commodity),
    )


def _family(layer: str) -> str:
    return "rail" if layer.startswith("rail") else layer.removesuffix(ARRIVAL)


def terminal_directions(modes: object) -> tuple[list[str], list[str]]:
    """The modes a terminal takes cargo from and hands it to.

    ``"rail>sea"`` loads tank cars onto tankers only; ``"oil_pipeline;rail>sea"`` takes from
    either; ``"rail;sea"`` (no ``>``) works both ways between every two of its modes; a single
    mode (``"sea"``) is a berth where trips begin or end.
    """
    text = str(modes)
    if ">" in text:
        left, _, right = text.partition(">")
    else:
        left = right = text
    def split(part: str) -> list[str]:
        return [m.strip() for m in part.split(";") if m.strip()]

    return split(left), split(right)


def _terminals(network: Network, commodity: str, pairs: pd.DataFrame,
               node_ids: np.ndarray) -> tuple[np.ndarray, pd.DataFrame]:
    """Keep the layer changes a commodity may make; returns (terminal per pair, pairs).

    A change between two modes is matched to the first terminal of the commodity at that node
    that lists both (its capacity then bounds it). For a commodity with ``terminal_modes``
    (crude oil: rail and sea) a change into or out of one of those modes is kept only where a
    terminal matches; a change of rail gauge is always kept, and one to or from a transfer
    link where the commodity has a terminal at that place.
    The terminal is the row position in ``network.terminals`` (-1 for no terminal).
    """
    terminals = network.terminals
    terminal = np.full(len(pairs), -1, dtype=np.int64)
    mine = np.flatnonzero((terminals["commodity"] == commodity).to_numpy()) \
        if len(terminals) else np.zeros(0, dtype=np.int64)
    restricted = set(network.costs.terminal_modes(commodity))
    if not len(mine) and not restricted:
        return terminal, pairs
    source = pairs["layer"].map(_family).to_numpy(dtype=object)
    target = pairs["layer_to"].map(_family).to_numpy(dtype=object)
    place = node_ids[pairs["node"].to_numpy()]
    for position in mine:
        row = terminals.iloc[position]
        ins, outs = terminal_directions(row["modes"])
        hit = ((place == row["node_id"]) & np.isin(source, ins) & np.isin(target, outs)
               & (source != target) & (terminal < 0))
        terminal[hit] = position
    needs = np.isin(source, list(restricted)) | np.isin(target, list(restricted))
    # a transfer link joins a station to its port: the commodity uses it only at places
    # where it has a terminal (crude does not load a tanker at a container port)
    served = np.isin(place, terminals["node_id"].to_numpy()[mine]) if len(mine) else \
        np.zeros(len(place), dtype=bool)
    linked = (source == "transfer") | (target == "transfer")
    free = (source == target) | (linked & (served | ~needs))
    keep = free | ~needs | (terminal >= 0)
    return terminal[keep], pairs[keep].reset_index(drop=True)


def _terminal_layers(network: Network, commodity: str, subs: pd.DataFrame,
                     node_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Which layer sub-nodes a commodity may start or end a trip in, and through which berth.

    For a commodity with ``terminal_modes`` (crude oil: rail and sea), a trip starts or ends
    in one of those modes only where a terminal of the commodity lists that single mode: a
    loading or discharge berth (crude leaves Turkmenistan by tanker at its oil berth and
    reaches a market port at its discharge berth). A terminal that lists several modes is a
    place to change between them (rail to tanker), not to begin or end a trip, so crude leaves
    an oil field by rail only through its loading terminal. Returns (keep mask, berth per
    layer sub-node: its row in ``network.terminals`` or -1), or None when every layer is open.
    """
    restricted = set(network.costs.terminal_modes(commodity))
    if not restricted:
        return None
    terminals = network.terminals
    berths: dict[tuple[str, str], int] = {}
    if len(terminals):
        for position in np.flatnonzero((terminals["commodity"] == commodity).to_numpy()):
            row = terminals.iloc[position]
            ins, outs = terminal_directions(row["modes"])
            if ins == outs and len(ins) == 1:
                berths.setdefault((row["node_id"], ins[0]), int(position))
    place = node_ids[subs["node"].to_numpy()]
    family = subs["layer"].map(_family).to_numpy(dtype=object)
    berth = np.array([berths.get((node, fam), -1) for node, fam in
                      zip(place, family, strict=True)], dtype=np.int64)
    keep = np.array([fam not in restricted for fam in family], dtype=bool) | (berth >= 0)
    return keep, berth


def _terminal_charges(network: Network, terminal: np.ndarray, cost: np.ndarray,
                      days: np.ndarray) -> None:
    """A terminal's own handling cost and time replace the cost model's where it gives them."""
    if not (terminal >= 0).any():
        return
    table = network.terminals
    for column, target in (("cost_usd_per_t", cost), ("time_days", days)):
        values = table[column].to_numpy(dtype=float)[np.maximum(terminal, 0)]
        given = (terminal >= 0) & np.isfinite(values)
        target[given] = values[given]


def _lookup(values: np.ndarray, fn) -> np.ndarray:
    """Apply ``fn`` once per distinct value (a few countries or modes among many links)."""
    uniques, inverse = np.unique(values.astype(str), return_inverse=True)
    return np.array([fn(u) for u in uniques], dtype=np.int64)[inverse]


def _virtual(tail: np.ndarray, head: np.ndarray, kind: int, node: np.ndarray,
             cmask: np.ndarray) -> dict[str, np.ndarray]:
    """Arcs that are not links (access, egress, transfer): zero cost unless set later."""
    n = len(tail)
    return {
        "tail": np.asarray(tail, dtype=np.int64), "head": np.asarray(head, dtype=np.int64),
        "kind": np.full(n, kind, dtype=np.int8), "link": np.full(n, -1, dtype=np.int64),
        "node": np.asarray(node, dtype=np.int64), "fwd": np.ones(n, dtype=bool),
        "cost": np.zeros(n), "days": np.zeros(n), "co2": np.zeros(n), "km": np.zeros(n),
        "mode": np.full(n, -1, dtype=np.int64), "cmask": np.asarray(cmask, dtype=np.int64),
        "border": np.zeros(n, dtype=bool), "tkind": np.full(n, "", dtype=object),
        "terminal": np.full(n, -1, dtype=np.int64),
    }


def _split_parallel(tail: np.ndarray, head: np.ndarray,
                    n_sub: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Give every repeated (tail, head) pair its own helper sub-node.

    A CSR matrix keeps one weight per cell, so the second and later of two parallel arcs are
    re-routed through a new helper node: tail -> helper keeps the arc's data, helper -> head is
    an extra zero-weight arc appended at the end.
    """
    keys = tail * (n_sub + len(tail)) + head
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    repeated = np.sort(order[1:][ordered[1:] == ordered[:-1]])
    if not len(repeated):
        return tail, head, 0
    helpers = n_sub + np.arange(len(repeated))
    new_head = head.copy()
    new_head[repeated] = helpers
    return (np.concatenate([tail, helpers]), np.concatenate([new_head, head[repeated]]),
            len(repeated))
