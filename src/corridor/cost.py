"""The cost model: what moving a tonne of a commodity costs in money, days and CO2.

All parameters come from the CSV tables in ``data/costs`` (each row sourced or marked estimated);
this module only reads them and answers lookups. See ``docs/cost-model.md``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from corridor import limits
from corridor.errors import DataError, InvalidOptionError
from corridor.market import check_period, check_uses, empty_market, factors, load_market
from corridor.tables import (
    ISO3,
    PROVENANCE_COLUMNS,
    SOURCE_COLUMNS,
    Column,
    check_estimates,
    check_references,
    check_unique,
    one_of,
    read_table,
)

MODES = ("rail", "road", "sea", "ferry", "oil_pipeline", "gas_pipeline", "transfer")
#: The files of a cost model folder (``customs_unions.csv`` is optional).
COST_FILES = ("commodities.csv", "modes.csv", "transfers.csv", "sources.csv",
              "customs_unions.csv", "market.csv")
TRANSFER_KINDS = ("gauge_change", "mode_change", "border_crossing")


def _modes(value: object) -> str | None:
    bad = [m for m in str(value).split(";") if m.strip() not in MODES]
    return f"unknown mode(s) {', '.join(bad)}" if bad else None


COMMODITY_COLUMNS = [
    Column("commodity", required=True),
    Column("name", required=True),
    Column("allowed_modes", required=True, check=_modes),
    Column("terminal_modes", check=_modes),
    Column("t_per_teu", "float", allowed=limits.T_PER_TEU),
    Column("value_usd_per_t", "float", allowed=limits.VALUE_USD_PER_T),
    *PROVENANCE_COLUMNS,
]
_TAG = re.compile(r"^[a-z0-9_]*$")


def _tag(value: object) -> str | None:
    return None if _TAG.match(str(value)) else f"{value!r} must match [a-z0-9_]+"


MODE_COLUMNS = [
    Column("commodity", required=True),
    Column("mode", required=True, check=one_of(MODES)),
    Column("section", check=_tag),
    Column("service", check=_tag),
    Column("tariff_usd_per_tkm", "float", required=True, allowed=limits.USD_PER_TKM),
    Column("speed_km_per_day", "float", required=True, allowed=limits.SPEED_KM_PER_DAY),
    Column("co2_g_per_tkm", "float", required=True, allowed=limits.CO2_G_PER_TKM),
    Column("wait_days", "float", allowed=limits.DAYS),
    Column("market_index", check=_tag),
    Column("market_date"),
    *PROVENANCE_COLUMNS,
]
CUSTOMS_UNION_COLUMNS = [
    Column("customs_union", required=True),
    Column("country", required=True,
           check=lambda v: None if v in ISO3 else f"unknown ISO 3166 alpha-3 code {v!r}"),
    Column("source_id", required=True),
]
TRANSFER_COLUMNS = [
    Column("commodity", required=True),
    Column("kind", required=True, check=one_of(TRANSFER_KINDS)),
    Column("mode", check=one_of(MODES)),
    Column("service", check=_tag),
    Column("cost_usd_per_t", "float", required=True, allowed=limits.USD_PER_T),
    Column("time_days", "float", required=True, allowed=limits.DAYS),
    *PROVENANCE_COLUMNS,
]


@dataclass(frozen=True)
class ModeParams:
    """Per tonne-km tariff, commercial speed and CO2 of one mode for one commodity, and the
    wait for a scheduled departure on each link of the mode (0 where nobody waits)."""

    tariff_usd_per_tkm: float
    speed_km_per_day: float
    co2_g_per_tkm: float
    wait_days: float = 0.0


@dataclass(frozen=True)
class Charge:
    """A fixed cost and delay per tonne (transfer, gauge change, border crossing)."""

    cost_usd_per_t: float
    time_days: float


@dataclass
class CostModel:
    """Lookups over the cost tables; build with :func:`load_cost_model`."""

    commodities: pd.DataFrame  # indexed by commodity
    modes: pd.DataFrame  # indexed by (commodity, mode, section, service); "" = any
    transfers: pd.DataFrame
    sources: pd.DataFrame  # indexed by source_id
    #: ISO3 country -> customs union; a border between two members of one union has no
    #: customs stop, so it pays no ``border_crossing`` charge (optional customs_unions.csv)
    customs_unions: dict[str, str] = field(default_factory=dict)
    path: Path | None = None  # the folder it was read from
    #: readings of the freight-rate indices that tariffs follow (optional market.csv)
    market: pd.DataFrame = field(default_factory=empty_market)
    #: the month or year the tariffs are priced at ("" = as read from modes.csv)
    priced_at: str = ""
    #: the tariffs as read, kept when the model is priced at a period (None: ``modes``)
    shipped_modes: pd.DataFrame | None = None

    def at(self, period: str) -> CostModel:
        """The same model with each tariff that follows a market index priced at ``period``
        (``YYYY-MM`` or ``YYYY``: the mean of the index's readings in it).

        Raises
        ------
        InvalidOptionError
            Not a month or year, or an index without a reading in it.
        """
        period = check_period(period)
        shipped = self.modes if self.shipped_modes is None else self.shipped_modes
        factor = factors(shipped, self.market, period)
        modes = shipped.copy()
        modes["tariff_usd_per_tkm"] = modes["tariff_usd_per_tkm"].astype(float) * factor
        return replace(self, modes=modes, priced_at=period, shipped_modes=shipped)

    def follows_market(self, commodity: str, modes: tuple[str, ...] = ()) -> bool:
        """Whether a tariff of ``commodity`` by one of ``modes`` (any mode when empty) follows
        a market index."""
        if "market_index" not in self.modes:
            return False
        table = self.modes.reset_index()
        mine = table[(table["commodity"] == commodity)
                     & (table["market_index"].fillna("") != "")]
        return bool(len(mine) and (not modes or mine["mode"].isin(modes).any()))

    def market_indices(self) -> tuple[str, ...]:
        """The indices some tariff follows."""
        if "market_index" not in self.modes:
            return ()
        return tuple(sorted(i for i in self.modes["market_index"].dropna().unique() if i))

    def check_commodity(self, commodity: str) -> str:
        """Return the commodity id or raise InvalidOptionError listing the known ones."""
        if commodity not in self.commodities.index:
            known = ", ".join(self.commodities.index)
            raise InvalidOptionError(f"Unknown commodity {commodity!r}; choose one of {known}.")
        return commodity

    def allowed_modes(self, commodity: str) -> tuple[str, ...]:
        text = self.commodities.at[self.check_commodity(commodity), "allowed_modes"]
        return tuple(m.strip() for m in text.split(";") if m.strip())

    def terminal_modes(self, commodity: str) -> tuple[str, ...]:
        """Modes the commodity enters, leaves and changes to only at its terminals
        (``terminals.csv`` of the network): crude oil by rail and sea, for instance."""
        if "terminal_modes" not in self.commodities:
            return ()
        text = self.commodities.at[self.check_commodity(commodity), "terminal_modes"] or ""
        return tuple(m.strip() for m in str(text).split(";") if m.strip())

    def restrict_modes(self, commodity: str, modes: str) -> str:
        """Normalise a demand row's ``allowed_modes`` (``;``-separated) for ``commodity``.

        The result lists the modes in the cost model's order and always keeps ``transfer`` when
        the commodity may use it (transfer links join terminals to their lines); an empty text
        means every mode of the commodity and stays empty.

        Raises
        ------
        ValueError
            A mode that does not exist, or that the commodity may not use (the message names
            the commodity's modes).
        """
        wanted = [m.strip() for m in str(modes).split(";") if m.strip()]
        if not wanted:
            return ""
        own = self.allowed_modes(commodity)
        for mode in wanted:
            if mode not in MODES:
                raise ValueError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
            if mode not in own:
                raise ValueError(f"{commodity} cannot move by {mode}; its modes are "
                                 f"{', '.join(own)}")
        keep = set(wanted) | ({"transfer"} & set(own))
        return ";".join(m for m in MODES if m in keep)

    def mode(self, commodity: str, mode: str, section: str = "",
             service: str = "") -> ModeParams:
        """Tariff, speed and CO2 of ``mode`` for ``commodity`` on links of ``section`` by
        ``service``.

        The most specific row of ``modes.csv`` wins: (section, service), then (section, any
        service), then (any section, service), then the mode's base row.
        """
        table = self._mode_rows()
        for key in ((section, service), (section, ""), ("", service), ("", "")):
            found = table.get((commodity, mode, *key))
            if found is not None:
                return found
        raise KeyError((commodity, mode))

    def _once_per(self, table: pd.DataFrame, build: Callable[[], dict]) -> dict:
        """A lookup derived from ``table``, built on first use and again only when the table
        object is replaced (``dataclasses.replace`` makes a new model, with no lookups)."""
        key = f"_lookup_{build.__name__}"
        cached = self.__dict__.get(key)
        if cached is None or cached[0] is not table:
            cached = self.__dict__[key] = (table, build())
        return cached[1]

    def _mode_rows(self) -> dict[tuple[str, str, str, str], ModeParams]:
        """(commodity, mode, section, service) -> its parameters."""
        return self._once_per(self.modes, self._build_mode_rows)

    def _build_mode_rows(self) -> dict[tuple[str, str, str, str], ModeParams]:
        modes = self.modes
        waits = (modes["wait_days"] if "wait_days" in modes
                 else pd.Series(float("nan"), index=modes.index))
        return {
            tuple(map(str, key)): ModeParams(float(tariff), float(speed), float(co2),
                                             0.0 if pd.isna(wait) else float(wait))
            for key, tariff, speed, co2, wait in zip(
                modes.index, modes["tariff_usd_per_tkm"], modes["speed_km_per_day"],
                modes["co2_g_per_tkm"], waits, strict=True)}

    def services(self, commodity: str) -> tuple[str, ...]:
        """The named services of a commodity (``""``, the standard one, first)."""
        named = {key[3] for key in self._mode_rows() if key[0] == commodity} | {
            key[2] for key in self._charges() if key[0] == commodity}
        return ("", *sorted(named - {""}))

    def charge(self, commodity: str, kind: str, mode: str | None = None,
               service: str = "") -> Charge:
        """The fixed charge of ``kind`` for ``commodity``; a row of the service and of the
        mode wins over a general one."""
        table = self._charges()
        for want_service in dict.fromkeys((service, "")):
            for want_mode in ((mode, "") if mode else ("",)):
                found = table.get((commodity, kind, want_service, want_mode))
                if found is not None:
                    return found
        return Charge(0.0, 0.0)

    def has_service_charge(self, commodity: str, kind: str, mode: str, service: str) -> bool:
        """Whether ``service`` has a ``kind`` row of its own (e.g. express trains at borders)."""
        table = self._charges()
        return bool(service) and any((commodity, kind, service, m) in table for m in (mode, ""))

    def _charges(self) -> dict[tuple[str, str, str, str], Charge]:
        """(commodity, kind, service, mode) -> the first such row of ``transfers``."""
        return self._once_per(self.transfers, self._build_charges)

    def _build_charges(self) -> dict[tuple[str, str, str, str], Charge]:
        rows = self.transfers
        table: dict[tuple[str, str, str, str], Charge] = {}
        for key in zip(rows["commodity"], rows["kind"], rows["service"].fillna(""),
                       rows["mode"].fillna(""), rows["cost_usd_per_t"], rows["time_days"],
                       strict=True):
            table.setdefault(tuple(map(str, key[:4])), Charge(float(key[4]), float(key[5])))
        return table

    def check_service(self, commodity: str, service: str) -> str:
        """Return ``service`` or raise InvalidOptionError naming the commodity's services."""
        known = self.services(commodity)
        if service not in known:
            names = ", ".join(s or "standard" for s in known)
            raise InvalidOptionError(f"Unknown service {service!r} for {commodity}; choose one "
                                     f"of {names}.")
        return service

    def value_usd_per_t(self, commodity: str) -> float:
        """What a tonne of the commodity is worth (its sourced export price; 0 when unknown)."""
        value = self.commodities.at[self.check_commodity(commodity), "value_usd_per_t"]
        return 0.0 if pd.isna(value) else float(value)

    def value_of_time_usd_per_t_day(self, commodity: str, annual_rate: float = 0.10) -> float:
        """Capital cost of cargo in transit: cargo value × ``annual_rate`` / 365."""
        value = self.commodities.at[self.check_commodity(commodity), "value_usd_per_t"]
        return 0.0 if pd.isna(value) else float(value) * annual_rate / 365.0


def load_cost_model(folder: Path) -> CostModel:
    """Read and validate the cost tables in ``folder``.

    Raises
    ------
    DataError
        Naming the file, the row and the field of the first problem found.
    """
    if not folder.is_dir():
        raise DataError("cost model folder not found", file=str(folder))
    paths = {name: folder / f"{name}.csv" for name in
             ("commodities", "modes", "transfers", "sources")}
    sources = read_table(paths["sources"], SOURCE_COLUMNS)
    check_unique(sources, "source_id", str(paths["sources"]))
    commodities = read_table(paths["commodities"], COMMODITY_COLUMNS)
    check_unique(commodities, "commodity", str(paths["commodities"]))
    modes = read_table(paths["modes"], MODE_COLUMNS)
    transfers = read_table(paths["transfers"], TRANSFER_COLUMNS)
    known = set(commodities["commodity"])
    known_sources = set(sources["source_id"])
    readings = load_market(folder / "market.csv", known_sources)
    check_uses(modes, readings, str(paths["modes"]))
    for name, table in (("commodities", commodities), ("modes", modes),
                        ("transfers", transfers)):
        label = str(paths[name])
        check_estimates(table, label)
        check_references(table, "source_id", known_sources, label, "source id")
        if name != "commodities":
            check_references(table, "commodity", known, label, "commodity")
    pairs, keys = set(), set()
    for row_number, key in enumerate(
            zip(modes["commodity"], modes["mode"], modes["section"], modes["service"],
                strict=True), start=1):
        if key in keys:
            where = ", ".join(k for k in key if k)
            raise DataError(f"duplicate row for ({where})", file=str(paths["modes"]),
                            row=row_number, field="mode")
        keys.add(key)
        if not key[2] and not key[3]:
            pairs.add(key[:2])
    if "terminal_modes" in commodities:
        for row_number, (allowed, restricted) in enumerate(
                zip(commodities["allowed_modes"], commodities["terminal_modes"].fillna(""),
                    strict=True), start=1):
            own = {m.strip() for m in str(allowed).split(";")}
            stray = [m.strip() for m in str(restricted).split(";")
                     if m.strip() and m.strip() not in own]
            if stray:
                raise DataError(f"terminal mode(s) {', '.join(stray)} not among the allowed "
                                f"modes", file=str(paths["commodities"]), row=row_number,
                                field="terminal_modes")
    for row_number, (commodity, allowed) in enumerate(
            zip(commodities["commodity"], commodities["allowed_modes"], strict=True), start=1):
        for mode in allowed.split(";"):
            mode = mode.strip()
            if mode and mode != "transfer" and (commodity, mode) not in pairs:
                raise DataError(f"allowed mode {mode!r} has no base row in modes.csv (empty "
                                f"section and service)",
                                file=str(paths["commodities"]), row=row_number,
                                field="allowed_modes")
    return CostModel(
        commodities=commodities.set_index("commodity"),
        modes=modes.set_index(["commodity", "mode", "section", "service"]),
        transfers=transfers,
        sources=sources.set_index("source_id"),
        customs_unions=_customs_unions(folder / "customs_unions.csv", known_sources),
        path=folder,
        market=readings,
    )


def _customs_unions(path: Path, known_sources: set[str]) -> dict[str, str]:
    """Country -> customs union from the optional ``customs_unions.csv``."""
    if not path.is_file():
        return {}
    table = read_table(path, CUSTOMS_UNION_COLUMNS)
    check_references(table, "source_id", known_sources, str(path), "source id")
    check_unique(table, "country", str(path))
    return dict(zip(table["country"], table["customs_union"], strict=True))
