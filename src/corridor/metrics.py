"""Dependency and exposure measures, and the comparison of two assignments.

Dependency is measured on the routes of an assignment (:attr:`FlowResult.route_split`): for each
exporting country (the country of the origin node) the share of its exported tonnes that
passes through each foreign country, uses each corridor and each mode, goes to each partner
(the destination's country) and passes each named passage (a strait, canal, Caspian crossing,
border post or gauge-change station of ``passages.csv``: the chokepoint dependency), with the
Herfindahl–Hirschman index (HHI) of each distribution:
the sum of squared percentage shares, 0–10,000 (10,000 = everything on one option; the US
DOJ/FTC guidelines call markets above 2,500 highly concentrated).

A tonne can cross several countries, use several corridors and modes; its shares of *exported
tonnes* (``share_pct``) may therefore add up to more than 100. The HHI of those dimensions is
computed on the shares of *tonne-uses* (``use_share_pct``, which add up to 100). Exports that
cross no foreign country do not enter the transit HHI (they depend on nobody's territory), nor
exports that pass no named passage the passage HHI; the partner dimension is a true partition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from corridor.flow import FlowModel, FlowResult
from corridor.network import Network

DIMENSIONS = ("transit", "corridor", "mode", "partner", "passage")


@dataclass
class Dependency:
    """Shares and HHI per exporter.

    Attributes
    ----------
    shares
        Long table ``exporter, dimension, key, t_per_year, share_pct, use_share_pct``.
    hhi
        ``exporter, dimension, hhi, exported_t, top_key, top_share_pct``.
    """

    shares: pd.DataFrame
    hhi: pd.DataFrame

    def to_dict(self) -> dict:
        return {"shares": self.shares.to_dict(orient="records"),
                "hhi": self.hhi.to_dict(orient="records")}

    def share(self, exporter: str, dimension: str, key: str) -> float:
        """Share (%) of ``exporter``'s exported tonnes using ``key`` (0 if none)."""
        rows = self.shares[(self.shares["exporter"] == exporter)
                           & (self.shares["dimension"] == dimension)
                           & (self.shares["key"] == key)]
        return float(rows["share_pct"].sum())


def hhi(shares_pct: np.ndarray | pd.Series) -> float:
    """Herfindahl–Hirschman index of percentage shares (0–10,000).

    Parameters
    ----------
    shares_pct
        Shares in percent; they are normalised to add up to 100 first.

    Returns
    -------
    float
    """
    values = np.asarray(shares_pct, dtype=float)
    total = values.sum()
    if total <= 0:
        return 0.0
    pct = 100.0 * values / total
    return float((pct ** 2).sum())


def dependency(result: FlowResult, network: Network | None = None,
               commodity: str | None = None) -> Dependency:
    """Shares and HHI of each exporter's tonnes by transit country, corridor, mode and partner.

    Parameters
    ----------
    result
        An assignment.
    network
        The network the assignment ran on (default: ``result.network``); gives node countries.
    commodity
        Only this commodity (default: all).

    Returns
    -------
    Dependency
    """
    net = network if network is not None else result.network
    if net is None:
        raise ValueError("dependency needs the network the result was computed on")
    routes = result.route_split
    if commodity is not None:
        routes = routes[routes["commodity"] == commodity]
    country = net.nodes["country"]
    rows = []
    exported: dict[str, float] = {}
    for route in routes.itertuples(index=False):
        exporter = country[route.origin].split(";")[0]
        partner = country[route.destination].split(";")[0]
        tonnes = float(route.t_per_year)
        exported[exporter] = exported.get(exporter, 0.0) + tonnes
        foreign = [c for c in route.countries.split(";")
                   if c and c not in (exporter, partner)]
        passages = str(getattr(route, "passages", "") or "")
        for dimension, keys in (("transit", foreign),
                                ("corridor", [c for c in route.corridors.split(";") if c]),
                                ("mode", [m for m in route.modes.split(";") if m]),
                                ("partner", [partner]),
                                ("passage", [p for p in passages.split(";") if p])):
            for key in dict.fromkeys(keys):
                rows.append((exporter, dimension, key, tonnes))
    if not rows:
        empty = pd.DataFrame(columns=["exporter", "dimension", "key", "t_per_year",
                                      "share_pct", "use_share_pct"])
        return Dependency(empty, pd.DataFrame(columns=["exporter", "dimension", "hhi",
                                                       "exported_t", "top_key",
                                                       "top_share_pct"]))
    table = (pd.DataFrame(rows, columns=["exporter", "dimension", "key", "t_per_year"])
             .groupby(["exporter", "dimension", "key"], as_index=False)["t_per_year"].sum())
    table["share_pct"] = 100.0 * table["t_per_year"] / table["exporter"].map(exported)
    uses = table.groupby(["exporter", "dimension"])["t_per_year"].transform("sum")
    table["use_share_pct"] = 100.0 * table["t_per_year"] / uses
    table = table.sort_values(["exporter", "dimension", "t_per_year"],
                              ascending=[True, True, False]).reset_index(drop=True)
    summary = []
    for (exporter, dimension), group in table.groupby(["exporter", "dimension"], sort=True):
        top = group.iloc[0]
        summary.append({"exporter": exporter, "dimension": dimension,
                        "hhi": hhi(group["use_share_pct"]), "exported_t": exported[exporter],
                        "top_key": top["key"], "top_share_pct": float(top["share_pct"])})
    return Dependency(table, pd.DataFrame(summary))


def exposure(network: Network, demand: pd.DataFrame, scenario: object = None,
             countries: list[str] | None = None, workers: int = 1) -> pd.DataFrame:
    """What each exporter loses if one transit country closes (full re-solve per country).

    Parameters
    ----------
    network
        A loaded network.
    demand
        A demand table.
    scenario
        Optional scenario applied first.
    countries
        Countries to close; default: every foreign country some export crosses in the
        baseline assignment.
    workers
        Worker processes for the re-solves.

    Returns
    -------
    pandas.DataFrame
        ``exporter, closed_country, exported_t, transit_share_pct, stranded_t,
        added_cost_usd`` (money cost of the exporter's cargo that still moves, minus the
        baseline's; stranded tonnes are counted in ``stranded_t``, not priced), most stranded
        first.
    """
    from corridor.critical import Reoptimiser, run_closures
    from corridor.flow import build_result
    from corridor.scenario import apply_scenario, touches_country

    if scenario is not None:
        network, demand = apply_scenario(network, scenario, demand)
    model = FlowModel(network, demand)
    reopt = Reoptimiser(model)
    result = build_result(model, reopt.base_values, np.zeros(model.n_rows))
    dep = dependency(result, network)
    transit = dep.shares[dep.shares["dimension"] == "transit"]
    if countries is None:
        countries = sorted(transit["key"].unique())
    base = reopt.measure(reopt.base_values)
    group_exporter = np.array([network.nodes.at[g.origin, "country"].split(";")[0]
                               for g in model.groups])
    jobs = [model.link_columns(np.flatnonzero(touches_country(network.links, network.nodes,
                                                              code).to_numpy()))
            for code in countries]
    outcomes = run_closures(reopt, jobs, "warm", workers)
    exported = dep.hhi.drop_duplicates("exporter").set_index("exporter")["exported_t"]
    rows = []
    for code, outcome in zip(countries, outcomes, strict=True):
        for exporter in sorted(set(group_exporter)):
            if exporter == code:
                continue
            mine = group_exporter == exporter
            stranded = float((outcome["stranded_by_group"][mine]
                              - base["stranded_by_group"][mine]).sum())
            added = float((outcome["cost_by_group"][mine] - base["cost_by_group"][mine]).sum())
            share = transit[(transit["exporter"] == exporter) & (transit["key"] == code)]
            rows.append({"exporter": exporter, "closed_country": code,
                         "exported_t": float(exported.get(exporter, 0.0)),
                         "transit_share_pct": float(share["share_pct"].sum()),
                         "stranded_t": stranded if abs(stranded) >= 0.5 else 0.0,
                         "added_cost_usd": added if abs(added) >= 1.0 else 0.0})
    table = pd.DataFrame(rows, columns=["exporter", "closed_country", "exported_t",
                                        "transit_share_pct", "stranded_t", "added_cost_usd"])
    return table.sort_values(["stranded_t", "added_cost_usd"], ascending=False) \
        .reset_index(drop=True)


@dataclass
class Comparison:
    """What changed between two assignments.

    Attributes
    ----------
    totals
        ``metric, base, other, change, change_pct`` for cost, generalised cost, tonne-km,
        average days, CO2, delivered, stranded and investment.
    corridors
        Tonnes using each corridor: ``corridor, base_t, other_t, change_t``.
    hhi
        Transit-country HHI per exporter: ``exporter, base_hhi, other_hhi, change``.
    links
        Links whose flow changed most: ``link_id, corridor, mode, base_t, other_t, change_t``.
    stranded
        Stranded tonnes by commodity: ``commodity, base_t, other_t, change_t``.
    """

    base: str
    other: str
    totals: pd.DataFrame
    corridors: pd.DataFrame
    hhi: pd.DataFrame
    links: pd.DataFrame
    stranded: pd.DataFrame

    def to_dict(self) -> dict:
        return {"base": self.base, "other": self.other,
                **{name: getattr(self, name).to_dict(orient="records")
                   for name in ("totals", "corridors", "hhi", "links", "stranded")}}

    def csv_tables(self) -> dict[str, pd.DataFrame]:
        """The tables to export, by file name (the names are :data:`COMPARE_CSV_FILES`)."""
        return {f"compare_{name}.csv": getattr(self, name) for name in _COMPARE_TABLES}


_COMPARE_TABLES = ("totals", "corridors", "hhi", "links", "stranded")
#: The files :meth:`Comparison.csv_tables` names.
COMPARE_CSV_FILES = tuple(f"compare_{name}.csv" for name in _COMPARE_TABLES)


def compare(base: FlowResult, other: FlowResult, top_links: int = 15) -> Comparison:
    """Compare two assignments (e.g. the baseline and a scenario).

    Parameters
    ----------
    base, other
        Two results of :func:`corridor.flow.assign` over the same demand definitions.
    top_links
        How many links with the largest absolute flow change to list.

    Returns
    -------
    Comparison
    """
    metrics = ("cost_usd", "cost_usd_per_t", "generalised_cost_usd", "tonne_km", "avg_days",
               "co2_t", "demand_t", "delivered_t", "stranded_t", "stranded_value_usd",
               "investment_usd")
    rows = []
    for metric in metrics:
        a, b = base.totals.get(metric, 0.0), other.totals.get(metric, 0.0)
        rows.append({"metric": metric, "base": a, "other": b, "change": b - a,
                     "change_pct": 100.0 * (b - a) / a if a else np.nan})
    totals = pd.DataFrame(rows)

    def corridor_tonnes(result: FlowResult) -> pd.Series:
        exploded = result.route_split.assign(
            corridor=result.route_split["corridors"].str.split(";")).explode("corridor")
        exploded = exploded[exploded["corridor"].fillna("") != ""]
        return exploded.groupby("corridor")["t_per_year"].sum()

    a, b = corridor_tonnes(base), corridor_tonnes(other)
    corridors = pd.DataFrame({"base_t": a, "other_t": b}).fillna(0.0)
    corridors["change_t"] = corridors["other_t"] - corridors["base_t"]
    corridors = corridors.sort_values("change_t", key=np.abs, ascending=False) \
        .rename_axis("corridor").reset_index()

    def transit_hhi(result: FlowResult) -> pd.Series:
        if result.network is None:
            return pd.Series(dtype=float)
        table = dependency(result).hhi
        table = table[table["dimension"] == "transit"]
        return table.set_index("exporter")["hhi"]

    ha, hb = transit_hhi(base), transit_hhi(other)
    hhi_table = pd.DataFrame({"base_hhi": ha, "other_hhi": hb}).fillna(0.0)
    hhi_table["change"] = hhi_table["other_hhi"] - hhi_table["base_hhi"]
    hhi_table = hhi_table.rename_axis("exporter").reset_index()

    fa = base.link_flows["flow_t_per_year"]
    fb = other.link_flows["flow_t_per_year"]
    links = pd.DataFrame({"base_t": fa, "other_t": fb}).fillna(0.0)
    links["change_t"] = links["other_t"] - links["base_t"]
    info = pd.concat([other.link_flows[["corridor", "mode"]],
                      base.link_flows[["corridor", "mode"]]])
    info = info[~info.index.duplicated()]
    links = links.join(info)
    links = links[links["change_t"].abs() > 0.5]
    links = links.reindex(links["change_t"].abs().sort_values(ascending=False).index) \
        .head(top_links).rename_axis("link_id").reset_index()
    links = links[["link_id", "corridor", "mode", "base_t", "other_t", "change_t"]]

    sa = base.od.groupby("commodity")["stranded_t"].sum()
    sb = other.od.groupby("commodity")["stranded_t"].sum()
    stranded = pd.DataFrame({"base_t": sa, "other_t": sb}).fillna(0.0)
    stranded["change_t"] = stranded["other_t"] - stranded["base_t"]
    stranded = stranded.rename_axis("commodity").reset_index()
    return Comparison(base.scenario, other.scenario, totals, corridors, hhi_table, links,
                      stranded)


def cpc_share(result: FlowResult, exporter: str = "KAZ", commodity: str = "crude_oil",
              corridor: str = "CPC") -> float:
    """Share (0–1) of an exporter's demand of a commodity that the model routes via a corridor.

    The denominator is the exporter's whole demand (delivered or stranded), like the published
    share of the CPC in Kazakhstan's crude exports (CPC tonnes / all exported tonnes).

    Parameters
    ----------
    result
        An assignment (with its network).
    exporter, commodity, corridor
        ISO3 of the origin country, commodity id, corridor tag.

    Returns
    -------
    float
    """
    if result.network is None:
        raise ValueError("cpc_share needs result.network")
    country = result.network.nodes["country"].map(lambda c: c.split(";")[0])
    od = result.od[(result.od["commodity"] == commodity)
                   & (result.od["origin"].map(country) == exporter)]
    total = float(od["demand_t"].sum())
    if total <= 0:
        return 0.0
    routes = result.route_split[(result.route_split["commodity"] == commodity)
                                & (result.route_split["origin"].map(country) == exporter)]
    uses = routes["corridors"].str.split(";").map(lambda tags: corridor in tags)
    return float(routes.loc[uses, "t_per_year"].sum()) / total
