"""A self-contained HTML report of a scenario: map, charts, tables, assumptions and sources.

The report is one HTML file with no external reference (no CDN, no network): the map and the
charts are inline SVG drawn from data here, the styles are inline CSS, and the basemap is
Natural Earth's country outlines from the shipped world-atlas file
(:func:`corridor.geometry.basemap_geojson`). The map uses an equirectangular projection
scaled by the cosine of the map's middle latitude, which is faithful enough for a region that
spans 5°–62° N.

Flow results (link flows, stranded volume, dependency, critical links) come from
:mod:`corridor.flow`, :mod:`corridor.metrics` and :mod:`corridor.critical`; when those are not
installed the report shows the network alone.
"""

from __future__ import annotations

import datetime as dt
import importlib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd

from corridor.errors import CorridorError
from corridor.geometry import basemap_geojson, bounds, network_geojson
from corridor.network import Network
from corridor.outputs import check_file, write_text

MAP_WIDTH = 1000
MODE_STYLE = {  # colour, dash pattern
    "rail": ("#1f4e79", ""),
    "road": ("#7f6000", "2 2"),
    "sea": ("#2e86c1", "6 4"),
    "ferry": ("#17a589", "4 3"),
    "oil_pipeline": ("#6c3483", ""),
    "gas_pipeline": ("#c2185b", ""),
    "transfer": ("#999999", "1 2"),
}
SUMMARY_METRICS = (  # key, label, scale, unit, digits
    ("demand_t", "Demand", 1e-6, "Mt", 1),
    ("delivered_t", "Delivered", 1e-6, "Mt", 1),
    ("stranded_t", "Stranded", 1e-6, "Mt", 2),
    ("stranded_value_usd", "Stranded cargo value", 1e-9, "USD bn/yr", 1),
    ("cost_usd_per_t", "Transport cost per delivered tonne", 1.0, "USD/t", 1),
    ("cost_usd", "Transport cost of delivered cargo", 1e-9, "USD bn", 2),
    ("avg_days", "Average time", 1.0, "days", 1),
    ("co2_t", "CO2", 1e-6, "Mt", 2),
    ("tonne_km", "Tonne-km", 1e-9, "bn tkm", 1),
)


#: Totals over the cargo that moves: they fall when cargo strands, which is no improvement.
MOVED_TOTALS = ("cost_usd", "co2_t", "tonne_km", "avg_days")


# -- projection and map -----------------------------------------------------------------------


@dataclass
class Projection:
    """Equirectangular projection of a lon/lat box onto an SVG canvas ``width`` wide."""

    bbox: tuple[float, float, float, float]
    width: int = MAP_WIDTH

    def __post_init__(self) -> None:
        x0, y0, x1, y1 = self.bbox
        self.kx = math.cos(math.radians((y0 + y1) / 2))
        self.scale = self.width / ((x1 - x0) * self.kx)
        self.height = int(round((y1 - y0) * self.scale))

    def point(self, lon: float, lat: float) -> tuple[float, float]:
        x0, _, _, y1 = self.bbox
        return (round((lon - x0) * self.kx * self.scale, 1), round((y1 - lat) * self.scale, 1))

    def path(self, coords: list, close: bool = False) -> str:
        points = [self.point(c[0], c[1]) for c in coords]
        text = "M" + "L".join(f"{x},{y}" for x, y in points)
        return text + ("Z" if close else "")


def _polygon_paths(projection: Projection, basemap: dict) -> list[dict]:
    out = []
    for feature in basemap["features"]:
        geometry = feature["geometry"]
        polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" \
            else geometry["coordinates"]
        d = "".join(projection.path(ring, close=True) for polygon in polygons for ring in polygon
                    if len(ring) > 2)
        if d:
            out.append({"d": d, "name": feature["properties"].get("name", "")})
    return out


def _width(flow: float, largest: float) -> float:
    """Line width in px for a yearly flow: 1–12 px, by square root (area-like)."""
    if flow <= 0 or largest <= 0:
        return 0.0
    return round(1.0 + 11.0 * math.sqrt(flow / largest), 2)


def build_map(network: Network, link_flows: pd.DataFrame | None = None,
              width: int = MAP_WIDTH, stranded: pd.DataFrame | None = None,
              highlight: dict[str, str] | None = None) -> dict:
    """Everything the SVG map template draws: basemap, links, flows, nodes, legend.

    Parameters
    ----------
    network
        The (scenario) network.
    link_flows
        ``FlowResult.link_flows`` or None (network only).
    width
        Canvas width in px.
    stranded
        ``FlowResult.stranded`` (``origin, stranded_t`` …): a red circle at each origin, its
        area ∝ the tonnes stranded there.
    highlight
        Link id -> a label (e.g. the project that builds it): drawn over the rest.

    Returns
    -------
    dict
        ``width, height, countries, links, flows, nodes, modes``; every shape has an SVG
        path ``d`` and a ``title`` (tooltip).
    """
    geo = network_geojson(network)
    box = bounds(geo, pad=0.05)
    projection = Projection(box, width)
    countries = _polygon_paths(projection, basemap_geojson(bbox=box, tolerance=0.05))
    links, flows = [], []
    largest = 0.0
    if link_flows is not None and len(link_flows):
        largest = float(link_flows["flow_t_per_year"].max())
    for feature in geo["features"]:
        props = feature["properties"]
        if props["feature"] != "link":
            continue
        colour, dash = MODE_STYLE.get(props["mode"], ("#555", ""))
        d = projection.path(feature["geometry"]["coordinates"])
        status = props["status"]
        title = f"{props['id']} · {props['mode']} · {props['corridor'] or '-'} · {status}"
        row = link_flows.loc[props["id"]] if link_flows is not None and \
            props["id"] in link_flows.index else None
        closed = status == "closed" or (row is not None and row.get("status") == "closed")
        saturated = bool(row["saturated"]) if row is not None else False
        label = (highlight or {}).get(props["id"])
        links.append({"d": d, "colour": colour, "dash": dash, "closed": closed,
                      "planned": status in ("planned", "under_construction") and not label,
                      "project": bool(label),
                      "title": title + (f" · project: {label}" if label else "")})
        if row is not None and row["flow_t_per_year"] > 0.5:
            util = row.get("utilisation")
            util_text = f", {100 * util:.0f}% of capacity" if pd.notna(util) else ""
            flows.append({"d": d, "colour": colour, "saturated": saturated,
                          "width": _width(float(row["flow_t_per_year"]), largest),
                          "title": f"{props['id']}: {row['flow_t_per_year'] / 1e6:.2f} Mt/yr"
                                   f"{util_text}" + (" — saturated" if saturated else "")})
        elif saturated:
            flows.append({"d": d, "colour": colour, "saturated": True, "width": 2,
                          "title": f"{props['id']}: saturated"})
    flows.sort(key=lambda f: -f["width"])
    nodes = []
    for feature in geo["features"]:
        props = feature["properties"]
        if props["feature"] != "node":
            continue
        x, y = projection.point(*feature["geometry"]["coordinates"])
        major = props["kind"] in ("seaport", "lake_port", "city", "oil_field")
        nodes.append({"x": x, "y": y, "name": props["name"], "major": major,
                      "title": f"{props['name']} ({props['name_ru']}) · {props['country']}"})
    marks = []
    if stranded is not None and len(stranded):
        for origin, tonnes in stranded.groupby("origin")["stranded_t"].sum().items():
            if origin not in network.nodes.index or tonnes <= 0:
                continue
            x, y = projection.point(float(network.nodes.at[origin, "lon"]),
                                    float(network.nodes.at[origin, "lat"]))
            marks.append({"x": x, "y": y, "r": round(4 + 3 * math.sqrt(tonnes / 1e6), 1),
                          "title": f"{network.node_name(origin)}: {tonnes / 1e6:,.2f} Mt/yr "
                                   "stranded"})
    modes = sorted(set(network.links["mode"]))
    return {"width": projection.width, "height": projection.height, "countries": countries,
            "links": links, "flows": flows, "nodes": nodes, "stranded": marks,
            "modes": [{"mode": m, "colour": MODE_STYLE.get(m, ("#555", ""))[0],
                       "dash": MODE_STYLE.get(m, ("#555", ""))[1]} for m in modes],
            "largest_flow_mt": largest / 1e6}


# -- charts -----------------------------------------------------------------------------------


def hbar_chart(title: str, rows: list[dict], unit: str = "", width: int = 760,
               row_height: int = 22) -> dict:
    """A horizontal bar chart: ``rows`` of ``label, value`` and optional ``base`` (drawn as a
    thin grey bar behind), ``note`` and ``cls`` (CSS class)."""
    values = [abs(r["value"]) for r in rows] + [abs(r.get("base") or 0) for r in rows]
    top = max(values) if values and max(values) > 0 else 1.0
    label_w, bar_w = 250, width - 250 - 200
    bars = []
    for i, row in enumerate(rows):
        y = 24 + i * row_height
        label = str(row["label"])
        short = label if len(label) <= 34 else label[:33] + "…"
        bars.append({**row, "label": short, "full": label, "y": y,
                     "w": round(bar_w * abs(row["value"]) / top, 1),
                     "bw": round(bar_w * abs(row.get("base") or 0) / top, 1)
                     if row.get("base") is not None else None,
                     "negative": row["value"] < 0})
    return {"title": title, "unit": unit, "width": width, "label_w": label_w, "bar_w": bar_w,
            "height": 30 + len(rows) * row_height, "bars": bars, "row_h": row_height}


def stacked_chart(title: str, groups: list[dict], width: int = 760) -> dict:
    """100 % stacked bars: ``groups`` of ``label, note, parts=[(key, pct)]``."""
    palette = ["#1f4e79", "#c0392b", "#17a589", "#b9770e", "#6c3483", "#2e86c1", "#7f8c8d",
               "#d35400", "#27ae60", "#8e44ad"]
    keys: list[str] = []
    for group in groups:
        for key, _ in group["parts"]:
            if key not in keys:
                keys.append(key)
    colour = {k: palette[i % len(palette)] for i, k in enumerate(keys)}
    label_w, bar_w, row_h = 140, width - 140 - 120, 26
    rows = []
    for i, group in enumerate(groups):
        x = 0.0
        parts = []
        total = sum(p for _, p in group["parts"]) or 1.0
        for key, pct in group["parts"]:
            w = bar_w * pct / total
            parts.append({"x": round(x, 1), "w": round(w, 1), "key": key, "pct": pct,
                          "colour": colour[key]})
            x += w
        rows.append({"label": group["label"], "note": group.get("note", ""),
                     "y": 24 + i * row_h, "parts": parts})
    return {"title": title, "width": width, "label_w": label_w, "bar_w": bar_w, "row_h": row_h,
            "height": 34 + len(groups) * row_h + 20 * math.ceil(len(keys) / 5), "rows": rows,
            "legend": [{"key": k, "colour": colour[k], "x": (i % 5) * 120,
                        "y": 34 + len(groups) * row_h + 20 * (i // 5)}
                       for i, k in enumerate(keys)]}


# -- the report data --------------------------------------------------------------------------


@dataclass
class ReportData:
    """What one report shows; built by :func:`build_report`, rendered by :func:`render_report`."""

    title: str
    scenario: dict
    base_name: str | None
    generated: str
    network_summary: dict
    map: dict
    summary: list[dict] = field(default_factory=list)
    charts: list[dict] = field(default_factory=list)
    tables: list[dict] = field(default_factory=list)
    assumptions: list[dict] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    headline: list[str] = field(default_factory=list)
    calibration: dict = field(default_factory=dict)
    risk: dict = field(default_factory=dict)
    invest: dict = field(default_factory=dict)


def _table(title: str, frame: pd.DataFrame, formats: dict[str, str] | None = None,
           note: str = "", limit: int = 50) -> dict:
    formats = formats or {}
    frame = frame.head(limit)
    rows = []
    for record in frame.to_dict(orient="records"):
        cells = []
        for column in frame.columns:
            value = record[column]
            fmt = formats.get(column)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                text = ""
            elif fmt and isinstance(value, int | float):
                text = format(value, fmt)
            else:
                text = str(value)
            cells.append({"text": text, "num": isinstance(value, int | float)
                          and not isinstance(value, bool)})
        rows.append(cells)
    return {"title": title, "columns": list(frame.columns), "rows": rows, "note": note}


def _scenario_info(scenario: Any) -> dict:
    if scenario is None:
        return {"name": "baseline", "title": "Baseline",
                "description": "The network and demand as shipped, with no change."}
    return {"name": scenario.name, "title": scenario.title or scenario.name,
            "description": scenario.description}


def _assumptions(scenario: Any) -> list[dict]:
    if scenario is None:
        return []
    out = []
    for action in scenario.all_actions():
        target = ", ".join(f"{k}={v if not isinstance(v, list) else '/'.join(map(str, v))}"
                           for k, v in action.params.items())
        out.append({"kind": action.kind.replace("_", " "), "target": target,
                    "assumption": action.assumption, "source": action.source})
    return out


def _load_scenario(scenario: Any) -> Any:
    """None/"baseline" → None; a name or path → Scenario; a Scenario passes through."""
    if scenario is None or (isinstance(scenario, str) and scenario == "baseline"):
        return None
    module = importlib.import_module("corridor.scenario")
    if isinstance(scenario, module.Scenario):
        return scenario
    return module.load_scenario(scenario)


def _summary(totals: dict, base: dict | None) -> list[dict]:
    cards = []
    for key, label, scale, unit, digits in SUMMARY_METRICS:
        value = totals.get(key)
        if value is None:
            continue
        card = {"label": label, "value": f"{value * scale:,.{digits}f}", "unit": unit,
                "delta": "", "cls": ""}
        if base is not None and base.get(key) is not None:
            change = (value - base[key]) * scale
            if abs(change) >= 10 ** -digits / 2:
                pct = f" ({100 * (value - base[key]) / base[key]:+.1f}%)" if base[key] else ""
                card["delta"] = f"{change:+,.{digits}f}{pct} vs base"
                worse = change > 0 if key not in ("delivered_t",) else change < 0
                # totals of moved cargo fall when cargo strands: no colour for them then
                moved_less = totals.get("delivered_t", 0) < base.get("delivered_t", 0) - 0.5
                if not (moved_less and key in MOVED_TOTALS):
                    card["cls"] = "worse" if worse else "better"
        cards.append(card)
    return cards


def outlet_shift(base: Any, other: Any, commodity: str = "crude_oil") -> pd.DataFrame:
    """Tonnes of ``commodity`` per corridor in two results: where diverted cargo goes.

    Returns
    -------
    pandas.DataFrame
        ``corridor, base_t, other_t, change_t`` sorted by change (largest gain first).
    """
    def per_corridor(result: Any) -> pd.Series:
        split = result.route_split
        split = split[split["commodity"] == commodity]
        exploded = split.assign(corridor=split["corridors"].str.split(";")).explode("corridor")
        exploded = exploded[exploded["corridor"].fillna("") != ""]
        return exploded.groupby("corridor")["t_per_year"].sum()

    table = pd.DataFrame({"base_t": per_corridor(base), "other_t": per_corridor(other)})
    table = table.fillna(0.0)
    table["change_t"] = table["other_t"] - table["base_t"]
    return table.sort_values("change_t", ascending=False).rename_axis("corridor").reset_index()


def headline(result: Any, base: Any | None) -> list[str]:
    """A few sentences summing up a scenario against its base (for the terminal and report).

    Stranded cargo is valued at the commodity prices of the cost model, and transport cost is
    compared per delivered tonne: a scenario that strands cargo moves less and so spends less
    on transport in total, which must never read as cheaper.
    """
    t = result.totals
    lines = [f"{result.scenario}: {t['delivered_t'] / 1e6:,.1f} of {t['demand_t'] / 1e6:,.1f} "
             f"Mt delivered, {t['stranded_t'] / 1e6:,.2f} Mt stranded"
             + (f" (USD {t['stranded_value_usd'] / 1e9:,.1f} bn of cargo a year)"
                if t.get("stranded_value_usd", 0) >= 0.5e8 else "")
             + f", transport USD {t['cost_usd'] / 1e9:,.2f} bn "
             f"({_per_tonne(t):,.1f} USD per delivered tonne), {t['avg_days']:.1f} days on "
             f"average."]
    if base is None:
        return lines
    b = base.totals
    stranded = (t["stranded_t"] - b["stranded_t"]) / 1e6
    lost = t.get("stranded_value_usd", 0.0) - b.get("stranded_value_usd", 0.0)
    per_t = _per_tonne(t) - _per_tonne(b)
    pct = f" ({100 * per_t / _per_tonne(b):+.1f}%)" if _per_tonne(b) else ""
    parts = [f"Against {base.scenario}:"]
    if abs(stranded) >= 0.005:
        parts.append(f"stranded {stranded:+,.2f} Mt" + (
            f", {'losing' if lost > 0 else 'recovering'} USD {abs(lost) / 1e9:,.1f} bn of "
            f"cargo a year at the prices of the cost model;" if abs(lost) >= 0.5e8 else ";"))
    parts.append(f"transport {per_t:+,.1f} USD per delivered tonne{pct}, time "
                 f"{t['avg_days'] - b['avg_days']:+.1f} days, CO2 "
                 f"{(t['co2_t'] - b['co2_t']) / 1e6:+,.2f} Mt.")
    if stranded > 0.005:
        parts.append("(Totals of cost, time and CO2 cover only the cargo that still moves.)")
    lines.append(" ".join(parts))
    shift = outlet_shift(base, result)
    gains = shift[shift["change_t"] > 0.5e4]
    losses = shift[shift["change_t"] < -0.5e4]
    if len(losses) or len(gains):
        lost = ", ".join(f"{r.corridor} {r.change_t / 1e6:+.1f} Mt"
                         for r in losses.sort_values("change_t").head(3).itertuples())
        took = ", ".join(f"{r.corridor} {r.change_t / 1e6:+.1f} Mt"
                         for r in gains.head(4).itertuples())
        lines.append(f"Crude oil: {lost or 'no corridor loses'}; diverted crude goes to "
                     f"{took or 'no other outlet (it is stranded)'}.")
    bottlenecks = new_bottlenecks(base, result)
    if bottlenecks:
        lines.append("Now at capacity: " + "; ".join(bottlenecks) + ".")
    return lines


def _per_tonne(totals: dict) -> float:
    """Transport cost per delivered tonne (USD/t)."""
    delivered = totals.get("delivered_t", 0.0)
    return totals["cost_usd"] / delivered if delivered else 0.0


def new_bottlenecks(base: Any, other: Any, top: int = 3) -> list[str]:
    """Links saturated in ``other`` but not in ``base``, dearest shadow price first, as text."""
    net = other.network
    names = net.nodes["name"] if net is not None else None
    fresh = other.saturated[~other.saturated.index.isin(base.saturated.index)].head(top)
    out = []
    for link_id, row in fresh.iterrows():
        ends = (f"{names[row['from_node_id']]}–{names[row['to_node_id']]}" if names is not None
                else link_id)
        out.append(f"{ends} ({row['mode']}: each extra tonne of yearly capacity would save "
                   f"{row['shadow_price_usd_per_t']:,.0f} USD)")
    return out


def _flow_sections(data: ReportData, result: Any, base: Any | None, network: Network,
                   critical_top: int, demand: pd.DataFrame, scenario: Any) -> None:
    from corridor import metrics

    totals = result.totals
    data.summary = _summary(totals, base.totals if base is not None else None)
    data.headline = headline(result, base)
    if base is not None:
        rows = []
        for key, label, scale, unit, _ in SUMMARY_METRICS[2:6]:
            rows.append({"label": f"{label} ({unit})", "value": totals[key] * scale,
                         "base": base.totals[key] * scale,
                         "note": f"{totals[key] * scale:,.2f} vs {base.totals[key] * scale:,.2f}"})
        data.charts.append({"kind": "hbar", "id": "chart-totals", **hbar_chart(
            f"{result.scenario} (colour) against {base.scenario} (grey)", rows)})
    if result.periods is not None:
        _period_sections(data, result.periods)
    stranded = result.stranded_by_commodity()
    if len(stranded):
        rows = [{"label": r.commodity, "value": r.stranded_t / 1e6,
                 "base": None, "note": f"{r.stranded_t / 1e6:,.2f} of {r.demand_t / 1e6:,.1f} Mt",
                 "cls": "bad"} for r in stranded.itertuples()]
        if base is not None:
            old = base.stranded_by_commodity().set_index("commodity")["stranded_t"]
            for row in rows:
                row["base"] = float(old.get(row["label"], 0.0)) / 1e6
        data.charts.append({"kind": "hbar", "id": "chart-stranded",
                            **hbar_chart("Stranded volume by commodity (Mt/yr)", rows)})
    flows = result.link_flows
    util = flows[flows["utilisation"].notna() & (flows["flow_t_per_year"] > 0)]
    util = util.sort_values("utilisation", ascending=False).head(15)
    if len(util):
        names = network.nodes["name"]
        rows = [{"label": f"{names.get(r['from_node_id'], r['from_node_id'])} – "
                          f"{names.get(r['to_node_id'], r['to_node_id'])} "
                          f"({r['mode'].replace('_', ' ')})",
                 "value": 100 * r["utilisation"],
                 "note": f"{100 * r['utilisation']:.0f}% · {r['flow_t_per_year'] / 1e6:.1f} Mt",
                 "cls": "bad" if r["saturated"] else ""} for _, r in util.iterrows()]
        data.charts.append({"kind": "hbar", "id": "chart-utilisation",
                            **hbar_chart("Link utilisation, busiest links (% of capacity)",
                                         rows)})
    dep = metrics.dependency(result, network=result.network or network)
    hhi = dep.hhi
    titles = {"transit": "Transit dependency: each exporter's transit tonne-uses by country",
              "corridor": "Corridor dependency: each exporter's tonne-uses by corridor",
              "partner": "Partner dependency: each exporter's tonnes by destination "
                         "country",
              "passage": "Chokepoint dependency: each exporter's tonne-uses by strait, "
                         "canal, crossing and border post"}
    for dimension, title in titles.items():
        shares = dep.shares[dep.shares["dimension"] == dimension]
        groups = []
        for exporter, table in shares.groupby("exporter"):
            row = hhi[(hhi["exporter"] == exporter) & (hhi["dimension"] == dimension)]
            note = f"HHI {row['hhi'].iloc[0]:,.0f}" if len(row) else ""
            groups.append({"label": exporter, "note": note, "parts": [
                (r.key, float(r.use_share_pct)) for r in table.itertuples()]})
        if groups:
            data.charts.append({"kind": "stacked", "id": f"chart-dependency-{dimension}",
                                **stacked_chart(f"{title} (HHI 0–10,000)", groups[:20])})
    passages = dep.shares[dep.shares["dimension"] == "passage"]
    if len(passages):
        index = (result.network or network).passage_index()
        chokepoints = (passages.assign(passage=passages["key"].map(index.name))
                       .groupby("exporter", sort=True).head(6)
                       [["exporter", "passage", "t_per_year", "share_pct"]])
        data.tables.append(_table(
            "Chokepoints: the share of each exporter's exported tonnes that passes each "
            "strait, canal, Caspian crossing, border post or gauge change (largest six)",
            chokepoints, {"t_per_year": ",.0f", "share_pct": ".1f"}))
    if len(hhi):
        wide = hhi.pivot_table(index="exporter", columns="dimension", values="hhi")
        wide = wide.reset_index()
        data.tables.append(_table("Dependency (HHI by dimension, 10,000 = one option only)",
                                  wide, {c: ",.0f" for c in wide.columns}))
        top = hhi[["exporter", "dimension", "top_key", "top_share_pct", "exported_t"]]
        data.tables.append(_table("Largest share per exporter and dimension", top,
                                  {"top_share_pct": ".1f", "exported_t": ",.0f"}))
    if base is not None:
        comparison = metrics.compare(base, result)
        data.tables.insert(0, _table(f"Totals: {result.scenario} against {base.scenario}",
                                     comparison.totals, {"base": ",.1f", "other": ",.1f",
                                                         "change": "+,.1f",
                                                         "change_pct": "+.1f"}))
        corridors = comparison.corridors
        if len(corridors):
            rows = [{"label": r.corridor, "value": r.other_t / 1e6, "base": r.base_t / 1e6,
                     "note": f"{r.change_t / 1e6:+.1f} Mt"} for r in corridors.itertuples()]
            data.charts.append({"kind": "hbar", "id": "chart-corridors", **hbar_chart(
                "Tonnes by corridor (Mt/yr; grey = base)", rows[:15])})
            data.tables.append(_table("Tonnes by corridor", corridors,
                                      {c: ",.0f" for c in ("base_t", "other_t",
                                                           "change_t")}))
        if len(comparison.links):
            data.tables.append(_table("Links whose flow changed most", comparison.links,
                                      {c: ",.0f" for c in ("base_t", "other_t",
                                                           "change_t")}))
    from corridor.critical import critical

    if critical_top > 0:
        table = critical(network, demand, scenario=scenario, top=critical_top)
        if len(table):
            rows = [{"label": f"{r.get('from', '')} – {r.get('to', '')} "
                              f"({str(r.get('mode', '')).replace('_', ' ')})"
                     if r.get("from") else f"{r.get('link_id', '')} ({r.get('mode', '')})",
                     "value": r["stranded_t"] / 1e6 if table["stranded_t"].max() > 0
                     else r["added_cost_usd"] / 1e9,
                     "note": f"{r['stranded_t'] / 1e6:.1f} Mt stranded, "
                             f"{r['added_cost_usd'] / 1e9:+.2f} bn USD",
                     "cls": "bad"} for _, r in table.iterrows()]
            unit = "Mt stranded" if table["stranded_t"].max() > 0 else "bn USD added"
            data.charts.append({"kind": "hbar", "id": "chart-critical", **hbar_chart(
                f"Most critical links: damage if each one fails ({unit})", rows)})
            data.tables.append(_table("Most critical links", table,
                                      {"flow_t_per_year": ",.0f", "stranded_t": ",.0f",
                                       "stranded_pct": ".1f", "added_cost_usd": ",.0f",
                                       "added_generalised_usd": ",.0f"}))
    if len(result.stranded):
        data.tables.append(_table("Stranded demand", result.stranded,
                                  {"demand_t": ",.0f", "stranded_t": ",.0f"}))
    used = flows[flows["flow_t_per_year"] > 0.5].sort_values("flow_t_per_year",
                                                             ascending=False)
    cols = ["from_node_id", "to_node_id", "mode", "corridor", "status", "capacity_t_per_year",
            "flow_t_per_year", "utilisation", "shadow_price_usd_per_t", "saturated"]
    data.tables.append(_table("Link flows (largest first)", used[cols].reset_index(),
                              {"capacity_t_per_year": ",.0f", "flow_t_per_year": ",.0f",
                               "utilisation": ".2f", "shadow_price_usd_per_t": ",.2f"},
                              limit=60))
    od = result.od
    data.tables.append(_table("Origin–destination results", od,
                              {"demand_t": ",.0f", "delivered_t": ",.0f", "stranded_t": ",.0f",
                               "cost_usd_per_t": ",.1f", "days": ".1f", "co2_kg_per_t": ",.1f"},
                              limit=80))


def _period_sections(data: ReportData, periods: pd.DataFrame) -> None:
    """A scenario with dated changes: stranded tonnes period by period, and the table."""
    rows = [{"label": f"{r.period}" + (f" ({r.changes})" if r.changes else ""),
             "value": r.stranded_t / 1e6,
             "note": f"{r.stranded_t / 1e6:,.2f} Mt in {r.days} days"
                     + (f", {r.waiting_t / 1e6:,.2f} Mt in tanks" if r.waiting_t > 0.5 else ""),
             "cls": "bad" if r.stranded_t > 0.5 else ""} for r in periods.itertuples()]
    data.charts.append({"kind": "hbar", "id": "chart-periods", **hbar_chart(
        "Stranded tonnes period by period (Mt)", rows)})
    data.tables.append(_table("Period by period", periods, {
        "demand_t": ",.0f", "delivered_t": ",.0f", "stranded_t": ",.0f",
        "stranded_value_usd": ",.0f", "cost_usd": ",.0f", "avg_days": ",.2f",
        "waiting_t": ",.0f"}, note="The other tables sum these periods; waiting_t is what is "
                                   "in tanks at a period's end."))


def histogram_chart(title: str, values: np.ndarray, scale: float = 1.0, unit: str = "",
                    bins: int = 12) -> dict:
    """A histogram as horizontal bars: one bar per bin, its share of the draws."""
    finite = np.asarray(values, dtype=float)[np.isfinite(values)] * scale
    if not len(finite):
        return hbar_chart(title, [])
    low, high = float(finite.min()), float(finite.max())
    if high <= low:
        high = low + 1.0
    counts, edges = np.histogram(finite, bins=bins, range=(low, high))
    rows = [{"label": f"{a:,.2f} – {b:,.2f} {unit}".strip(),
             "value": 100.0 * c / len(finite), "note": f"{100.0 * c / len(finite):.1f} %"}
            for a, b, c in zip(edges[:-1], edges[1:], counts, strict=True)]
    return hbar_chart(title, rows, "% of draws")


def invest_section(network: Network, demand: pd.DataFrame, scenario: Any,
                   result: Any) -> dict:
    """The shipped ledger, the appraisal of its modelled projects under the report's scenario,
    and the republics' partner profiles, as report charts and tables (empty when the ledger
    does not fit the network, e.g. a network of one's own)."""
    from corridor.appraisal import appraise
    from corridor.ledger import load_ledger
    from corridor.metrics import dependency
    from corridor.partners import load_shares, profiles

    book = load_ledger()
    tables, charts, notes = [], [], []
    entries = book.entries()
    tables.append(_table("Ledger: projects and agreements (amounts in USD where published)",
                         entries.drop(columns=["source_id"]), {"amount_usd": ",.0f"},
                         limit=80))
    rows = []
    for project in book.projects.index:
        if not book.modelled(project) or pd.isna(book.projects.at[project, "capex_usd"]):
            continue
        try:
            case = appraise(network, demand, book, project, (scenario,)).cases.iloc[0]
        except CorridorError as exc:
            notes.append(f"{project}: not appraised on this network ({exc})")
            continue
        rows.append({"project": project, "capex_usd": book.projects.at[project, "capex_usd"],
                     "benefit_usd_per_year": case["benefit_usd"], "npv_usd": case["npv_usd"],
                     "bcr": case["bcr"]})
    if rows:
        appraisals = pd.DataFrame(rows)
        tables.append(_table("Modelled projects under this scenario (9 % a year)", appraisals,
                             {"capex_usd": ",.0f", "benefit_usd_per_year": ",.0f",
                              "npv_usd": ",.0f", "bcr": ".2f"}))
        charts.append({"kind": "hbar", "id": "chart-invest-npv", **hbar_chart(
            "Net present value of the modelled projects (bn USD)",
            [{"label": r["project"], "value": r["npv_usd"] / 1e9,
              "note": f"{r['npv_usd'] / 1e9:+,.2f} bn", "cls": "bad" if r["npv_usd"] < 0
              else ""} for r in rows])})
        frontier = _frontier(book, appraisals)
        charts.append({"kind": "hbar", "id": "chart-invest-frontier", **hbar_chart(
            "Frontier: the most NPV each budget can buy (bn USD)",
            [{"label": f"{r.budget_usd / 1e9:,.1f} bn", "value": r.value / 1e9,
              "note": r.projects or "none"} for r in frontier.itertuples()])})
        tables.append(_table("Frontier: budget against the most NPV (0-1 programme, HiGHS)",
                             frontier, {"budget_usd": ",.0f", "value": ",.0f",
                                        "capex_usd": ",.0f"}))
    project_map = _projects_map(book, network, demand)
    partner = profiles(load_shares(), book, dependency(result))
    summary = partner.summary[partner.summary["detail"] != ""]
    tables.append(_table("Dependency on partners: transit, markets, labour, finance (HHI range "
                         "where published shares cover part of the partners)",
                         summary, {"coverage_pct": ".0f", "hhi_low": ",.0f",
                                   "hhi_high": ",.0f", "top_share_pct": ".0f"}))
    return {"note": ("The ledger holds sourced projects and agreements; a project is appraised "
                     "when its network change is modelled and its capital cost published "
                     "(docs/invest.md)."), "charts": charts, "tables": tables, "notes": notes,
            "map": project_map}


def _projects_map(book: Any, network: Network, demand: pd.DataFrame) -> dict | None:
    """The network with every modelled project built, their links drawn over the rest (None
    when no project's change fits this network)."""
    import dataclasses

    from corridor.scenario import apply_scenario

    combined, touched = None, {}
    for project in book.projects.index:
        if not book.modelled(project):
            continue
        change = book.scenario(project)
        try:
            apply_scenario(network, change, demand.head(0))
        except CorridorError:
            continue
        for action in change.all_actions():
            names = action.params.get("link", [])
            links = [names] if isinstance(names, str) else list(names)
            if action.kind == "add_link":
                links.append(action.params["link_id"])
            for link in links:
                touched.setdefault(link, []).append(project)
        combined = dataclasses.replace(change, parent=combined, name=f"projects+{project}")
    if combined is None:
        return None
    built, _ = apply_scenario(network, combined, demand.head(0))
    labels = {link: ", ".join(dict.fromkeys(projects)) for link, projects in touched.items()}
    return build_map(built, highlight=labels)


def _frontier(book: Any, appraisals: pd.DataFrame, steps: int = 6) -> pd.DataFrame:
    """The most NPV each budget (from zero to every appraised project's capital) can buy."""
    import numpy as np

    from corridor.portfolio import choose
    from corridor.tables import split_list

    ids = list(appraisals["project"])
    position = {p: i for i, p in enumerate(ids)}
    links = {field: [[position[r] for r in split_list(book.projects.at[p, field], ";")
                      if r in position] for p in ids] for field in ("requires", "excludes")}
    values = appraisals["npv_usd"].to_numpy(dtype=float)
    costs = appraisals["capex_usd"].to_numpy(dtype=float)
    rows = []
    for budget in np.linspace(0.0, float(costs.sum()), steps):
        picked = choose(values, costs, budget, links["requires"], links["excludes"])
        rows.append({"budget_usd": budget, "value": float(values[picked].sum()),
                     "capex_usd": float(costs[picked].sum()),
                     "projects": ";".join(np.array(ids)[picked])})
    return pd.DataFrame(rows)


def risk_section(result: Any) -> dict:
    """A Monte Carlo run (:func:`corridor.risk.run_risk`) as report charts and tables."""
    draws = result.draws
    charts = [
        {"kind": "hbar", "id": "chart-risk-stranded", **histogram_chart(
            "Stranded crude and cargo in a year, share of the draws", draws["stranded_t"],
            1e-6, "Mt")},
        {"kind": "hbar", "id": "chart-risk-loss", **histogram_chart(
            "Loss from outages in a year (generalised cost and stranded value), share of "
            "the draws", draws["loss_usd"], 1e-9, "bn USD")},
    ]
    return {
        "title": result.risk.title or result.risk.name,
        "note": (f"{len(draws):,} years drawn from the risk file {result.risk.name} "
                 f"(seed {result.seed}): each event's frequency and duration come from its "
                 f"published record, tariffs and the value of time from their published "
                 f"ranges (docs/risk.md)."),
        "charts": charts,
        "tables": [
            _table("Tails over the draws", result.summary, {
                "mean": ",.2f", "p50": ",.2f", "p90": ",.2f", "p99": ",.2f",
                "worst_tenth_mean": ",.2f"}),
            _table("Events", result.events, {"occurrences_per_year": ",.2f",
                                             "mean_days": ",.1f", "share_of_years_hit": ".0%",
                                             "mean_loss_usd_in_years_hit": ",.0f"}),
            _table("Links that lose the most tonnes", result.links.head(20), {
                "undisturbed_t": ",.0f", "mean_t": ",.0f", "p10_t": ",.0f",
                "expected_lost_t": ",.0f"}),
        ],
    }


def build_report(network: Network, scenario: Any = None, compare: Any = None,
                 demand: pd.DataFrame | None = None, critical_top: int = 10,
                 risk: Any = None) -> ReportData:
    """Compute everything a report shows.

    Parameters
    ----------
    network
        The base network.
    scenario
        A scenario name, TOML path, :class:`~corridor.scenario.Scenario`, or None/"baseline".
    compare
        The scenario to compare against (same forms). ``None`` means the baseline when
        ``scenario`` is not the baseline.
    demand
        Demand table (default: the shipped baseline).
    critical_top
        How many most-critical links to rank (0 skips the re-solves).
    risk
        A :class:`corridor.risk.RiskResult` to show as a "Risk" section (histograms, tails,
        events, links), or None.

    Returns
    -------
    ReportData
    """
    chosen = _load_scenario(scenario)
    base_choice = compare if compare is not None else ("baseline" if chosen is not None
                                                       else None)
    info = _scenario_info(chosen)
    from corridor.flow import assign

    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    net_summary = {"nodes": len(network.nodes), "links": len(network.links),
                   "modes": network.links["mode"].value_counts().to_dict(),
                   "path": network.path.name if network.path else ""}
    result = base = None
    map_network, link_flows = network, None
    notes: list[str] = []
    if demand is None:
        from corridor.demand import load_demand

        demand = load_demand(network=network)
    result = assign(network, demand, chosen)
    if base_choice is not None:
        base = assign(network, demand, _load_scenario(base_choice))
    map_network = result.network or network
    link_flows = result.link_flows
    title = f"Corridor report — {info['title']}"
    data = ReportData(title=title, scenario=info,
                      base_name=base.scenario if base is not None else None, generated=now,
                      network_summary=net_summary,
                      map=build_map(map_network, link_flows,
                                    stranded=result.stranded if result is not None else None),
                      assumptions=_assumptions(chosen), notes=notes)
    if result is not None:
        _flow_sections(data, result, base, network, critical_top, demand, chosen)
        baseline = result if chosen is None else (
            base if base is not None and base.scenario == "baseline" else None)
        data.calibration = calibration_section(network, demand, baseline)
    if risk is not None:
        data.risk = risk_section(risk)
    if result is not None:
        data.invest = invest_section(network, demand, chosen, result)
    sources = map_network.sources.reset_index().fillna("")
    data.sources = [{**row, "link": web_link(row.get("url", ""))}
                    for row in sources.to_dict(orient="records")]
    return data


def calibration_section(network: Network, demand: pd.DataFrame,
                        baseline: Any | None = None) -> dict:
    """The baseline measured against the observations, as report tables.

    Returns ``{"summary": table, "observations": table, "note": text}``, or ``{"note": text}``
    alone when the observations do not fit this network (a network of one's own).
    """
    from corridor.calibration import calibrate

    try:
        result = calibrate(network, demand, result=baseline)
    except CorridorError as exc:
        return {"note": f"Calibration skipped: the shipped observations do not fit this "
                        f"network ({exc})."}
    summary = result.summary.rename(columns={
        "wape_pct": "WAPE %", "bias_pct": "bias %", "within_15_pct": "within ±15 %",
        "within_30_pct": "within ±30 %", "mean_abs_points": "mean |error| points"})
    table = result.table[["obs_id", "kind", "what", "element", "observed", "modelled", "unit",
                          "error_pct", "independent", "period", "source_id"]].rename(
        columns={"error_pct": "error %"})
    return {
        "summary": _table("Model against observations, per kind", summary,
                          {"WAPE %": ",.1f", "bias %": "+,.1f", "within ±15 %": ",.0f",
                           "within ±30 %": ",.0f", "mean |error| points": ",.1f"}),
        "observations": _table("Each observation", table,
                               {"observed": ",.2f", "modelled": ",.2f", "error %": "+,.0f"},
                               limit=500),
        "note": (f"The baseline against {len(result.table)} published observations of "
                 f"2022-2025 (volumes, shares, door-to-door times, rates and line lengths). "
                 f"WAPE is the weighted absolute percentage error; shares are compared in "
                 f"points (a match is within ±5). An observation is independent when no "
                 f"input of the model cites the same publication; the others show how well "
                 f"the model keeps what it was fitted to."),
    }


def web_link(url: object) -> str:
    """``url`` when it is an http(s) address fit for a link, else "" (shown as text only).

    Source URLs come from data files anyone can edit: a ``javascript:`` or ``data:`` address
    must never become a live link in a report.
    """
    text = str(url or "").strip()
    scheme, _, rest = text.partition(":")
    if scheme.lower() in ("http", "https") and rest.startswith("//") and len(rest) > 2 \
            and not any(ch.isspace() or ord(ch) < 32 for ch in text):
        return text
    return ""


# -- rendering --------------------------------------------------------------------------------


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("corridor", "templates"),
                              autoescape=jinja2.select_autoescape(["html", "j2"]),
                              trim_blocks=True, lstrip_blocks=True)


def render_report(data: ReportData) -> str:
    """The report's HTML (one self-contained document)."""
    return _environment().get_template("report.html.j2").render(report=data)


def write_report(network: Network, scenario: Any = None, compare: Any = None,
                 path: str | Path = "report.html", demand: pd.DataFrame | None = None,
                 critical_top: int = 10, inputs: Iterable[str | Path] = (),
                 risk: Any = None) -> ReportData:
    """Build a scenario report and write it atomically as one self-contained HTML file.

    The target is checked before any work (:func:`corridor.outputs.check_file`): it must be a
    regular file, or a new one, in a writable folder, and never one of the run's inputs (the
    network's and cost model's files, the scenario files, and ``inputs``).

    Parameters
    ----------
    network
        The base network.
    scenario, compare
        See :func:`build_report`.
    path
        The HTML file to write (folders are created).
    demand, critical_top, risk
        See :func:`build_report`.
    inputs
        Further files the run read (a demand table), which the report may not replace.

    Returns
    -------
    ReportData
        What was written (its ``headline`` sums the scenario up).

    Raises
    ------
    OutputError
        The target cannot or must not be written (raised before the solve).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from corridor import load_network
    >>> net = load_network()
    >>> out = Path(tempfile.mkdtemp()) / "cpc-outage.html"
    >>> write_report(net, "cpc-outage", "baseline", out).headline[0]
    'cpc-outage: ...'
    >>> out.stat().st_size > 100_000  # one self-contained file
    True
    """
    chosen, other = _load_scenario(scenario), _load_scenario(compare)
    protected = list(network.input_files()) + list(inputs)
    for item in (chosen, other):
        if item is not None:
            protected += item.files()
    check_file(path, protected)
    data = build_report(network, chosen if chosen is not None else scenario,
                        other if other is not None else compare, demand, critical_top, risk)
    write_text(path, render_report(data), protected)
    return data
