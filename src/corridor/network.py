"""Load, validate and query the multimodal corridor network.

The network is a folder of GMNS-like CSV files (``node.csv``, ``link.csv``, ``sources.csv``);
see ``docs/data-model.md``. Loading validates everything before anything is returned, so a bad
file never leaves a half-built network behind.
"""

from __future__ import annotations

import difflib
import re
import tomllib
import warnings
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from corridor import limits
from corridor.cost import COST_FILES, MODES, CostModel, load_cost_model
from corridor.errors import CorridorWarning, DataError, UnknownPlaceError
from corridor.gmns import field_of, is_gmns, translate_gmns
from corridor.lookup import normalise_name
from corridor.passages import PassageIndex, empty_passages, index_passages, read_passages
from corridor.tables import (
    PROVENANCE_COLUMNS,
    SOURCE_COLUMNS,
    Column,
    check_estimates,
    check_references,
    check_unique,
    iso3_list,
    one_of,
    read_table,
)

FORMAT_VERSION = "1"
#: The files of a network folder (``network.toml`` is optional).
NETWORK_FILES = ("node.csv", "link.csv", "sources.csv", "terminals.csv", "contracts.csv",
                 "storage.csv", "places.csv", "passages.csv", "network.toml")
NODE_KINDS = (
    "city", "seaport", "lake_port", "river_port", "border_crossing", "rail_terminal",
    "rail_junction", "dry_port", "oil_field", "gas_field", "pipeline_terminal",
    "pumping_station", "junction",
)
LINK_STATUS = ("operating", "planned", "under_construction")
#: Sea areas: every two ports of one area are joined by a sea link (scripts/build_sea_legs.py).
SEA_AREAS = ("ocean", "caspian")
_ID = re.compile(r"^[a-z0-9_]+$")


def _identifier(value: object) -> str | None:
    return None if _ID.match(str(value)) else f"{value!r} must match [a-z0-9_]+"


def _gauge(value: object) -> str | None:
    return None if value in (1435, 1520, 1524, 1668, 1676, 1067) else f"unknown gauge {value} mm"


NODE_COLUMNS = [
    Column("node_id", required=True, check=_identifier),
    Column("name", required=True),
    Column("name_ru"),
    Column("aliases"),
    Column("country", required=True, check=iso3_list),
    Column("lon", "float", required=True, allowed=limits.LONGITUDE),
    Column("lat", "float", required=True, allowed=limits.LATITUDE),
    Column("kind", required=True, check=one_of(NODE_KINDS)),
    Column("sea_area", check=one_of(SEA_AREAS)),
    Column("sea_basin", check=_identifier),
    *PROVENANCE_COLUMNS,
    Column("notes"),
]

LINK_COLUMNS = [
    Column("link_id", required=True, check=_identifier),
    Column("from_node_id", required=True),
    Column("to_node_id", required=True),
    Column("directed", "bool", required=True),
    Column("mode", required=True, check=one_of(MODES)),
    Column("length_km", "float", required=True, allowed=limits.LENGTH_KM),
    Column("length_method"),
    Column("gauge_mm", "int", check=_gauge),
    Column("country", check=iso3_list),
    Column("corridor"),
    Column("section", check=_identifier),
    Column("capacity_t_per_year", "float", allowed=limits.TONNES_PER_YEAR),
    Column("capacity_teu_per_year", "float", allowed=limits.TEU_PER_YEAR),
    Column("time_days", "float", allowed=limits.DAYS),
    Column("tariff_usd_per_t", "float", allowed=limits.USD_PER_T),
    Column("border_delay_days", "float", allowed=limits.DAYS),
    Column("border_days", "float", allowed=limits.DAYS),
    Column("wait_days", "float", allowed=limits.DAYS),
    Column("status", check=one_of(LINK_STATUS)),
    *PROVENANCE_COLUMNS,
    Column("notes"),
    Column("geometry"),
]


@dataclass
class Network:
    """A validated corridor network.

    Attributes
    ----------
    nodes
        One row per node, indexed by ``node_id`` (columns of ``node.csv``).
    links
        One row per link, indexed by ``link_id`` (columns of ``link.csv``).
    sources
        Every source the network and the cost model cite, indexed by ``source_id``.
    terminals
        Where a commodity may change mode, and how much a year (``terminals.csv``, indexed by
        ``terminal_id``; empty when the folder has none).
    contracts
        Agreements and access rules that bound what some shippers send through a link
        (``contracts.csv``, indexed by ``contract_id``; empty when the folder has none).
    storage
        Tanks and yards that can hold a commodity from one period to the next
        (``storage.csv``, indexed by ``storage_id``; empty when the folder has none).
    costs
        The cost model (commodities, per-mode tariffs, speeds, CO2, transfer costs).
    place_names
        Names that mean other places for some cargo (``places.csv``; see
        :meth:`resolve_for`).
    passages
        Named straits, canals, Caspian crossings, border posts and gauge-change stations
        (``passages.csv``, indexed by ``passage_id``; see :mod:`corridor.passages`).
    path
        The folder the network was read from.
    """

    nodes: pd.DataFrame
    links: pd.DataFrame
    sources: pd.DataFrame
    costs: CostModel
    path: Path | None = None
    warnings: list[str] = field(default_factory=list)
    terminals: pd.DataFrame = field(default_factory=lambda: _empty_terminals())
    contracts: pd.DataFrame = field(default_factory=lambda: _empty_contracts())
    storage: pd.DataFrame = field(default_factory=lambda: _empty_storage())
    place_names: pd.DataFrame = field(default_factory=lambda: _empty_places())
    passages: pd.DataFrame = field(default_factory=empty_passages)

    def __post_init__(self) -> None:
        self._names: dict[str, str] = {}
        self._display: dict[str, str] = {}
        for node_id, row in self.nodes.iterrows():
            labels = [node_id, row["name"], row.get("name_ru") or ""]
            labels += [a for a in (row.get("aliases") or "").split("|") if a.strip()]
            for label in labels:
                key = normalise_name(label)
                if key and key not in self._names:
                    self._names[key] = node_id
                    self._display[key] = label.strip()
        self._compiled: dict = {}
        self._meanings: dict[tuple[str, str], tuple[str, ...]] = {
            (key, str(commodity)): tuple(n.strip() for n in str(ids).split(";") if n.strip())
            for key, commodity, ids in zip(self.place_names["key"], self.place_names["commodity"],
                                           self.place_names["node_ids"], strict=True)}

    def priced_at(self, period: str) -> Network:
        """The same network with the market-following tariffs priced at ``period`` (a month
        ``YYYY-MM`` or a year ``YYYY``; see :meth:`corridor.cost.CostModel.at`).

        Examples
        --------
        >>> from corridor import load_network
        >>> from corridor.routing import route
        >>> net = load_network()
        >>> calm, peak = (route(n, "Shanghai", "Rotterdam", avoid_modes=["rail", "road"])[0]
        ...               for n in (net.priced_at("2023-10"), net.priced_at("2024-07")))
        >>> round(peak.cost_usd_per_t / calm.cost_usd_per_t, 1)
        8.0
        """
        return replace(self, costs=self.costs.at(period))

    def __repr__(self) -> str:
        return f"<Network {len(self.nodes)} nodes, {len(self.links)} links from {self.path}>"

    def resolve(self, place: str) -> str:
        """Return the node id of a place name, id, alias or Russian name.

        Raises
        ------
        UnknownPlaceError
            With up to three close matches ("did you mean …").
        """
        key = normalise_name(place)
        if key in self._names:
            return self._names[key]
        close = difflib.get_close_matches(key, list(self._names), n=6, cutoff=0.6)
        suggestions: list[str] = []
        for match in close:
            label = self.nodes.at[self._names[match], "name"]
            if label not in suggestions:
                suggestions.append(label)
        raise UnknownPlaceError(place, suggestions[:3])

    def name_index(self) -> tuple[dict[str, str], dict[tuple[str, str], tuple[str, ...]]]:
        """What place names resolve by: folded name -> node id, and (folded name, commodity
        or "") -> the node ids ``places.csv`` gives it (see :meth:`resolve_for`)."""
        return dict(self._names), dict(self._meanings)

    def resolve_for(self, place: str, commodity: str) -> tuple[str, ...]:
        """The node ids a place name means for a commodity.

        ``places.csv`` gives names that mean other places for some cargo ("Baku" for
        containers is the port of Baku at Alat; "Novorossiysk" for crude is either the CPC
        terminal or Sheskharis); any other name resolves as :meth:`resolve` does.
        """
        key = normalise_name(place)
        for wanted in (commodity, ""):
            if (key, wanted) in self._meanings:
                return self._meanings[(key, wanted)]
        return (self.resolve(place),)

    def passage_index(self) -> PassageIndex:
        """The passages resolved against this network's links and nodes (built once)."""
        if "passages" not in self._compiled:
            self._compiled["passages"] = index_passages(self.passages, self.nodes, self.links)
        return self._compiled["passages"]

    def places(self) -> pd.DataFrame:
        """Nodes as a table of searchable places (id, name, Russian name, country, kind)."""
        return self.nodes[["name", "name_ru", "aliases", "country", "kind", "lon", "lat"]]

    def node_name(self, node_id: str) -> str:
        return str(self.nodes.at[node_id, "name"])

    def input_files(self) -> list[Path]:
        """The files this network and its cost model were read from (outputs never replace
        them)."""
        files = [self.path / name for name in NETWORK_FILES] if self.path else []
        if self.costs.path is not None:
            files += [self.costs.path / name for name in COST_FILES]
        return files

    def to_geojson(self) -> dict:
        """Nodes and links as a GeoJSON FeatureCollection (links with their sea-lane geometry)."""
        from corridor.geometry import network_geojson

        return network_geojson(self)


def _default_data() -> Path:
    return Path(str(resources.files("corridor") / "data"))


def load_network(path: str | Path | None = None, costs: str | Path | None = None) -> Network:
    """Read and validate a network folder.

    Parameters
    ----------
    path
        Folder holding ``node.csv``, ``link.csv`` and ``sources.csv``. Defaults to the shipped
        dataset (v1).
    costs
        Folder of the cost model (``commodities.csv``, ``modes.csv``, ``transfers.csv``,
        ``sources.csv``). Defaults to the shipped cost model.

    Returns
    -------
    Network

    Raises
    ------
    DataError
        Naming the file, the row and the field of the first problem found.

    Examples
    --------
    >>> net = load_network()
    >>> net.resolve("Алматы")
    'almaty'
    """
    folder = Path(path) if path is not None else _default_data() / "network"
    if is_gmns(folder):
        return _load_gmns(folder, costs)
    nodes, links, sources, notes = _read_network(folder)
    terminals = _read_terminals(folder / "terminals.csv", nodes)
    contracts = _read_contracts(folder / "contracts.csv", nodes, links)
    storage = _read_storage(folder / "storage.csv", nodes)
    places = _read_places(folder / "places.csv", nodes)
    passages = read_passages(folder / "passages.csv", nodes, links)
    cost_model = load_cost_model(Path(costs) if costs is not None else _default_data() / "costs")
    all_sources = pd.concat([sources, cost_model.sources])
    check_unique(all_sources.reset_index(), "source_id", str(folder / "sources.csv"))
    known = set(all_sources.index)
    for table, name in ((nodes, "node.csv"), (links, "link.csv"),
                        (terminals, "terminals.csv"), (contracts, "contracts.csv"),
                        (storage, "storage.csv"), (places, "places.csv"),
                        (passages.reset_index(), "passages.csv")):
        check_references(table.reset_index(), "source_id", known, str(folder / name), "source id")
    _check_terminal_modes(terminals, cost_model, str(folder / "terminals.csv"))
    check_references(contracts.reset_index(), "commodity", set(cost_model.commodities.index),
                     str(folder / "contracts.csv"), "commodity")
    check_references(storage.reset_index(), "commodity", set(cost_model.commodities.index),
                     str(folder / "storage.csv"), "commodity")
    check_references(places, "commodity", set(cost_model.commodities.index),
                     str(folder / "places.csv"), "commodity")
    return Network(nodes=nodes, links=links, sources=all_sources, costs=cost_model,
                   path=folder, warnings=notes, terminals=terminals, contracts=contracts,
                   storage=storage, place_names=places, passages=passages)


def _load_gmns(folder: Path, costs: str | Path | None) -> Network:
    """Read a GMNS folder (:mod:`corridor.gmns`): translated into Corridor's layout and read
    with the same checks; a fault names the GMNS file, row and field."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="corridor-gmns-") as tmp:
        notes = translate_gmns(folder, Path(tmp), NODE_KINDS)
        try:
            network = load_network(tmp, costs)
        except DataError as exc:
            if exc.file is None or not str(exc.file).startswith(tmp):
                raise
            name = Path(exc.file).name
            raise DataError(exc.reason, file=str(folder / name), row=exc.row,
                            field=field_of(name, exc.field)) from None
    network.path = folder
    for note in notes:
        warnings.warn(f"{folder}/{note}", CorridorWarning, stacklevel=3)
    network.warnings = [w.replace(tmp, str(folder)) for w in network.warnings] + [
        f"{folder}/{note}" for note in notes]
    return network


def _check_manifest(folder: Path) -> None:
    """``network.toml`` (optional) names the format version; refuse versions we cannot read."""
    manifest = folder / "network.toml"
    if not manifest.is_file():
        return
    try:
        meta = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot parse TOML ({exc})", file=str(manifest)) from exc
    version = str(meta.get("format_version", FORMAT_VERSION))
    if version != FORMAT_VERSION:
        raise DataError(f"format_version {version!r} is not supported (this Corridor reads "
                        f"{FORMAT_VERSION!r})", file=str(manifest), field="format_version")


def _read_network(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[str]]:
    if not folder.is_dir():
        raise DataError("network folder not found", file=str(folder))
    _check_manifest(folder)
    node_file, link_file = folder / "node.csv", folder / "link.csv"
    source_file = folder / "sources.csv"
    sources = read_table(source_file, SOURCE_COLUMNS)
    check_unique(sources, "source_id", str(source_file))
    nodes = read_table(node_file, NODE_COLUMNS, min_rows=1)
    check_unique(nodes, "node_id", str(node_file))
    check_estimates(nodes, str(node_file))
    links = read_table(link_file, LINK_COLUMNS, min_rows=1)
    check_unique(links, "link_id", str(link_file))
    check_estimates(links, str(link_file))
    known_nodes = set(nodes["node_id"])
    for end in ("from_node_id", "to_node_id"):
        check_references(links, end, known_nodes, str(link_file), "node id")
    for row_number, (mode, gauge, a, b) in enumerate(
        zip(links["mode"], links["gauge_mm"], links["from_node_id"], links["to_node_id"],
            strict=True), start=1):
        if mode != "rail" and not pd.isna(gauge):
            raise DataError("gauge_mm is only allowed on rail links", file=str(link_file),
                            row=row_number, field="gauge_mm")
        if mode == "rail" and pd.isna(gauge):
            raise DataError("rail links need gauge_mm", file=str(link_file), row=row_number,
                            field="gauge_mm")
        if a == b:
            raise DataError("link starts and ends at the same node", file=str(link_file),
                            row=row_number, field="to_node_id")
    links["status"] = links["status"].fillna("").replace("", "operating")
    links["gauge_mm"] = links["gauge_mm"].astype("Int64")
    notes = _connectivity_warnings(nodes, links)
    for note in notes:
        warnings.warn(f"{link_file}: {note}", CorridorWarning, stacklevel=3)
    return nodes.set_index("node_id"), links.set_index("link_id"), sources.set_index(
        "source_id"), notes


TERMINAL_COLUMNS = [
    Column("terminal_id", required=True, check=_identifier),
    Column("node_id", required=True),
    Column("commodity", required=True),
    Column("modes", required=True),
    Column("capacity_t_per_year", "float", allowed=limits.TONNES_PER_YEAR),
    Column("cost_usd_per_t", "float", allowed=limits.USD_PER_T),
    Column("time_days", "float", allowed=limits.DAYS),
    *PROVENANCE_COLUMNS,
    Column("notes"),
]


def _empty(columns: list[Column]) -> pd.DataFrame:
    """A table with no rows and the columns (and number types) of an optional file."""
    return pd.DataFrame({c.name: pd.Series(dtype=float if c.kind == "float" else object)
                         for c in columns})


def _empty_terminals() -> pd.DataFrame:
    return _empty(TERMINAL_COLUMNS).set_index("terminal_id")


def _read_terminals(path: Path, nodes: pd.DataFrame) -> pd.DataFrame:
    """The optional ``terminals.csv``: where a commodity may change between modes.

    A row bounds the tonnes of its commodity changing between the modes it lists (``from>to``
    for one direction) within its yearly capacity. A commodity with ``terminal_modes`` in the
    cost model (crude oil) changes into or out of those modes only at its terminals; other
    commodities change mode wherever their modes meet.
    """
    if not path.is_file():
        return _empty_terminals()
    table = read_table(path, TERMINAL_COLUMNS)
    label = str(path)
    check_unique(table, "terminal_id", label)
    check_estimates(table, label)
    check_references(table, "node_id", set(nodes.index), label, "node id")
    for row_number, modes in enumerate(table["modes"], start=1):
        text = str(modes)
        sides = text.split(">")
        listed = [m.strip() for side in sides for m in side.split(";") if m.strip()]
        bad = [m for m in listed if m not in MODES or m == "transfer"]
        if bad or not listed or len(sides) > 2 or any(not side.strip() for side in sides):
            raise DataError(f"modes must name one or more of {', '.join(MODES[:-1])} "
                            f"separated by ';', optionally as <from modes>><to modes>, got "
                            f"{modes!r}", file=label, row=row_number, field="modes")
    return table.set_index("terminal_id")


def _check_terminal_modes(terminals: pd.DataFrame, costs: CostModel, label: str) -> None:
    for row_number, (commodity, modes) in enumerate(
            zip(terminals["commodity"], terminals["modes"], strict=True), start=1):
        if commodity not in costs.commodities.index:
            raise DataError(f"unknown commodity {commodity!r}", file=label, row=row_number,
                            field="commodity")
        own = costs.allowed_modes(commodity)
        bad = [m for m in str(modes).replace(">", ";").split(";")
               if m.strip() and m.strip() not in own]
        if bad:
            raise DataError(f"{commodity} cannot move by {', '.join(bad)}", file=label,
                            row=row_number, field="modes")


CONTRACT_COLUMNS = [
    Column("contract_id", required=True, check=_identifier),
    Column("what", required=True),
    Column("commodity", required=True),
    Column("origin"),
    Column("origin_country", check=iso3_list),
    Column("link_id", required=True),
    Column("min_t_per_year", "float", allowed=limits.TONNES_PER_YEAR),
    Column("max_t_per_year", "float", allowed=limits.TONNES_PER_YEAR),
    *PROVENANCE_COLUMNS,
    Column("notes"),
]


def _empty_contracts() -> pd.DataFrame:
    return _empty(CONTRACT_COLUMNS).set_index("contract_id")


def _read_contracts(path: Path, nodes: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """The optional ``contracts.csv``: bounds on the tonnes some shippers send through a link.

    A row selects demand by commodity and by origin node or origin country, and bounds the
    yearly tonnes of that demand on one link (``min_t_per_year`` a volume agreed with a
    pipeline or port, ``max_t_per_year`` a quota, ``0`` a link those shippers have no access
    to). The assignment keeps a minimum unless meeting it would strand cargo (it is a soft
    bound at the stranding penalty); a maximum always holds.
    """
    if not path.is_file():
        return _empty_contracts()
    table = read_table(path, CONTRACT_COLUMNS)
    label = str(path)
    check_unique(table, "contract_id", label)
    check_estimates(table, label)
    check_references(table, "origin", set(nodes.index), label, "node id")
    check_references(table, "link_id", set(links.index), label, "link id")
    for row_number, row in enumerate(table.to_dict(orient="records"), start=1):
        low, high = row["min_t_per_year"], row["max_t_per_year"]
        if pd.isna(low) and pd.isna(high):
            raise DataError("give min_t_per_year, max_t_per_year or both", file=label,
                            row=row_number, field="min_t_per_year")
        if not pd.isna(low) and not pd.isna(high) and low > high:
            raise DataError(f"min_t_per_year {low:g} is above max_t_per_year {high:g}",
                            file=label, row=row_number, field="max_t_per_year")
        if bool(row["origin"]) == bool(row["origin_country"]):
            raise DataError("give exactly one of origin and origin_country", file=label,
                            row=row_number, field="origin")
    return table.set_index("contract_id")


STORAGE_COLUMNS = [
    Column("storage_id", required=True, check=_identifier),
    Column("node_id", required=True),
    Column("commodity", required=True),
    Column("capacity_t", "float", required=True, allowed=limits.TONNES),
    *PROVENANCE_COLUMNS,
    Column("notes"),
]


def _empty_storage() -> pd.DataFrame:
    return _empty(STORAGE_COLUMNS).set_index("storage_id")


def _read_storage(path: Path, nodes: pd.DataFrame) -> pd.DataFrame:
    """The optional ``storage.csv``: tanks and yards that hold a commodity between periods.

    When a scenario cuts the year into periods (:mod:`corridor.flow.periods`), cargo may wait
    at such a node from one period to the next, up to ``capacity_t`` at any one time; a year
    run (one period) never uses it.
    """
    if not path.is_file():
        return _empty_storage()
    table = read_table(path, STORAGE_COLUMNS)
    label = str(path)
    check_unique(table, "storage_id", label)
    check_estimates(table, label)
    check_references(table, "node_id", set(nodes.index), label, "node id")
    return table.set_index("storage_id")


PLACE_COLUMNS = [
    Column("place", required=True),
    Column("commodity"),
    Column("node_ids", required=True),
    *PROVENANCE_COLUMNS,
    Column("notes"),
]


def _empty_places() -> pd.DataFrame:
    return _empty(PLACE_COLUMNS).assign(key=pd.Series(dtype=object))


def _read_places(path: Path, nodes: pd.DataFrame) -> pd.DataFrame:
    """The optional ``places.csv``: names that mean other places for some cargo.

    A row says which node or nodes (``;``-separated) a place name means for one commodity
    (or for every commodity when ``commodity`` is empty); a route to or from several nodes
    takes the best of them.
    """
    if not path.is_file():
        return _empty_places()
    table = read_table(path, PLACE_COLUMNS)
    label = str(path)
    check_estimates(table, label)
    table["commodity"] = table["commodity"].fillna("").astype(str)
    table["key"] = table["place"].map(lambda text: normalise_name(str(text)))
    seen: set[tuple[str, str]] = set()
    for row_number, row in enumerate(table.to_dict(orient="records"), start=1):
        ids = [n.strip() for n in str(row["node_ids"]).split(";") if n.strip()]
        unknown = [n for n in ids if n not in nodes.index]
        if not ids or unknown:
            raise DataError(f"unknown node id {', '.join(unknown) or repr(row['node_ids'])}",
                            file=label, row=row_number, field="node_ids")
        if not row["key"]:
            raise DataError("empty place name", file=label, row=row_number, field="place")
        if (row["key"], row["commodity"]) in seen:
            raise DataError(f"place {row['place']!r} is given twice for "
                            f"{row['commodity'] or 'every commodity'}", file=label,
                            row=row_number, field="place")
        seen.add((row["key"], row["commodity"]))
    return table


def _connectivity_warnings(nodes: pd.DataFrame, links: pd.DataFrame) -> list[str]:
    index = {node_id: i for i, node_id in enumerate(nodes["node_id"])}
    a = links["from_node_id"].map(index).to_numpy()
    b = links["to_node_id"].map(index).to_numpy()
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(index), len(index)))
    count, labels = connected_components(graph, directed=False)
    if count <= 1:
        return []
    sizes = np.bincount(labels)
    main = int(np.argmax(sizes))
    ids = nodes["node_id"].to_numpy()
    pieces = []
    for label in range(count):
        if label != main:
            members = ids[labels == label]
            pieces.append(", ".join(members[:5]) + (" …" if len(members) > 5 else ""))
    return [f"network has {count} disconnected pieces; cut off from the rest: "
            + "; ".join(pieces)]
