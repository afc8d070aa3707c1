"""The HTML report: one self-contained file with map, charts, tables, assumptions, sources."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import corridor
import corridor.calibration
from corridor.cli import app
from corridor.demand import load_demand
from corridor.report import (
    Projection,
    build_map,
    build_report,
    hbar_chart,
    headline,
    new_bottlenecks,
    render_report,
    stacked_chart,
    write_report,
)
from tests.conftest import FIXTURES, TINY

FLOWS = FIXTURES / "flows"
SCENARIOS = FLOWS / "scenarios"
TINY_ARGS = ["--network", str(TINY / "network"), "--costs", str(TINY / "costs"),
             "--demand", str(FLOWS / "demand.csv")]
runner = CliRunner()


@pytest.fixture(scope="module")
def demand(tiny: corridor.Network):
    return load_demand(FLOWS / "demand.csv", network=tiny)


@pytest.fixture(scope="module")
def child_report(tiny: corridor.Network, demand, tmp_path_factory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("report") / "sub" / "child.html"
    write_report(tiny, SCENARIOS / "child.toml", None, path, demand=demand, critical_top=5)
    return path, path.read_text(encoding="utf-8")


def test_report_is_one_self_contained_file(child_report: tuple[Path, str]) -> None:
    path, html = child_report
    assert html.startswith("<!doctype html>") or html.lstrip().startswith("<!doctype html>")
    assert not re.search(r"<script[^>]+src=", html)
    assert not re.search(r"<link[^>]+href=", html)
    assert not re.search(r"""(src|href)=["']//""", html)
    assert "@import" not in html and "url(http" not in html
    # links to the cited publications are fine; nothing is loaded from the network
    loaded = re.findall(r"""<(?:img|script|iframe|link|source)[^>]*(?:src|href)=["']([^"']+)""",
                        html)
    assert loaded == []
    leftovers = [p for p in path.parent.iterdir() if p.name != path.name]
    assert leftovers == []  # atomic write leaves no temporary file
    assert path.stat().st_mode & 0o777 == 0o644


def test_report_has_map_charts_tables_assumptions_and_sources(
        child_report: tuple[Path, str]) -> None:
    _, html = child_report
    assert 'id="map"' in html and html.count("<path") > 20  # basemap, links, flows
    for chart in ("chart-totals", "chart-utilisation", "chart-critical"):
        assert f'id="{chart}"' in html, chart
    assert 'class="link closed' in html  # the closed pipeline is marked
    assert "a second, faster ferry line" in html and "sanctions risk premium" in html
    assert "Hand-made scenario numbers" in html and "Hand-made test network" in html
    assert "Totals: child against baseline" in html
    assert "Origin–destination results" in html


def test_report_headline_and_summary(tiny: corridor.Network, demand) -> None:
    data = build_report(tiny, SCENARIOS / "close-pipe.toml", "baseline", demand,
                        critical_top=0)
    assert data.headline[0].startswith("close-pipe:")
    assert "Against baseline" in data.headline[1]
    cost = next(c for c in data.summary if c["label"] == "Transport cost per delivered tonne")
    assert cost["delta"].startswith("+") and cost["cls"] == "worse"
    assert not any(c["id"] == "chart-critical" for c in data.charts)


def test_a_scenario_that_strands_cargo_never_reads_cheaper() -> None:
    from corridor.flow import run_scenario

    net = corridor.load_network()
    base, outage = run_scenario("baseline", net), run_scenario("cpc-outage", net)
    assert outage.totals["cost_usd"] < base.totals["cost_usd"]  # less cargo moves
    lines = headline(outage, base)
    lost = outage.totals["stranded_value_usd"] - base.totals["stranded_value_usd"]
    value = outage.network.costs.value_usd_per_t("crude_oil")
    assert lost == pytest.approx(value * (outage.totals["stranded_t"]
                                          - base.totals["stranded_t"]), rel=0.02)
    assert f"losing USD {lost / 1e9:,.1f} bn" in lines[1]
    assert "per delivered tonne (+" in lines[1]
    data = build_report(net, "cpc-outage", "baseline", critical_top=0)
    cards = {c["label"]: c for c in data.summary}
    assert cards["Transport cost of delivered cargo"]["cls"] == ""
    assert cards["Stranded cargo value"]["cls"] == "worse"
    # the report carries the baseline's calibration: one row per observation
    kinds = {row[0]["text"] for row in data.calibration["summary"]["rows"]}
    assert {"volume", "time", "rate", "length"} <= kinds
    observed = corridor.calibration.load_observations(network=net)
    assert len(data.calibration["observations"]["rows"]) == sum(
        len(t) for t in observed.tables.values())
    html = render_report(data)
    assert 'id="calibration"' in html and "cpc_throughput_2024" in html


def test_report_on_a_network_the_observations_do_not_fit_says_so(tiny: corridor.Network,
                                                                  demand) -> None:
    data = build_report(tiny, "baseline", demand=demand, critical_top=0)
    assert "Calibration skipped" in data.calibration["note"]
    assert "summary" not in data.calibration


def test_new_bottlenecks_name_the_link_and_its_shadow_price(tiny: corridor.Network,
                                                            demand) -> None:
    import dataclasses

    from corridor.flow import assign

    base = assign(tiny, demand)
    links = tiny.links.copy()
    links.loc["ob", "capacity_t_per_year"] = 3e6  # below the 5 Mt of crude that wants it
    tight = assign(dataclasses.replace(tiny, links=links), demand)
    (line,) = new_bottlenecks(base, tight)
    price = tight.link_flows.at["ob", "shadow_price_usd_per_t"]
    assert price > 0
    assert line.startswith("Oilfield–Bravo (oil_pipeline") and f"{price:,.0f} USD" in line
    assert new_bottlenecks(tight, tight) == []


def test_baseline_report_without_comparison(tiny: corridor.Network, demand,
                                            tmp_path: Path) -> None:
    data = write_report(tiny, None, None, tmp_path / "base.html", demand=demand,
                        critical_top=0)
    assert data.base_name is None and data.assumptions == []
    html = (tmp_path / "base.html").read_text()
    assert "No change to the shipped network" in html


def test_unknown_scenario_raises_data_error(tiny: corridor.Network, demand,
                                            tmp_path: Path) -> None:
    with pytest.raises(corridor.DataError, match="unknown scenario"):
        write_report(tiny, "no-such-scenario", None, tmp_path / "x.html", demand=demand)
    assert not (tmp_path / "x.html").exists()


def test_projection_keeps_aspect_and_orientation() -> None:
    projection = Projection((0.0, 40.0, 20.0, 60.0), width=1000)
    assert projection.point(0, 60) == (0.0, 0.0)
    x, y = projection.point(20, 40)
    assert x == pytest.approx(1000, abs=0.2) and y == pytest.approx(projection.height, abs=1)
    assert projection.height > 1000  # 20° of latitude is taller than 20° of longitude at 50° N


def test_map_marks_flows_saturated_and_closed_links(tiny: corridor.Network) -> None:
    import pandas as pd

    flows = pd.DataFrame({"flow_t_per_year": [4e6, 1e6, 0.0], "utilisation": [None, 1.0, None],
                          "saturated": [False, True, False],
                          "status": ["operating", "operating", "closed"]},
                         index=pd.Index(["ab", "pq", "ob"], name="link_id"))
    stranded = pd.DataFrame({"origin": ["o", "o"], "stranded_t": [3e6, 1e6]})
    drawn = build_map(tiny, flows, stranded=stranded)
    assert len(drawn["stranded"]) == 1 and "4.00 Mt/yr stranded" in drawn["stranded"][0]["title"]
    by_width = {f["title"].split(":")[0]: f for f in drawn["flows"]}
    assert by_width["ab"]["width"] > by_width["pq"]["width"] > 0
    assert by_width["pq"]["saturated"] and "saturated" in by_width["pq"]["title"]
    assert sum(link["closed"] for link in drawn["links"]) == 1
    assert drawn["countries"] and drawn["height"] > 0


def test_chart_geometry() -> None:
    chart = hbar_chart("t", [{"label": "a", "value": 2.0, "base": 1.0},
                             {"label": "b", "value": -1.0}])
    a, b = chart["bars"]
    assert a["w"] == chart["bar_w"] and a["bw"] == pytest.approx(chart["bar_w"] / 2)
    assert b["negative"] and b["bw"] is None
    stacked = stacked_chart("s", [{"label": "KAZ", "parts": [("RUS", 75.0), ("AZE", 25.0)]}])
    parts = stacked["rows"][0]["parts"]
    assert parts[1]["x"] == pytest.approx(parts[0]["w"]) and len(stacked["legend"]) == 2


def test_cli_report_and_errors(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    result = runner.invoke(app, ["report", str(SCENARIOS / "close-pipe.toml"), "-o", str(out),
                                 "--critical-top", "0", *TINY_ARGS])
    assert result.exit_code == 0, result.output
    assert out.is_file() and "close-pipe:" in result.output
    bad = runner.invoke(app, ["report", "nope", "-o", str(tmp_path / "n.html"), *TINY_ARGS])
    assert bad.exit_code == 2 and "unknown scenario" in bad.output
    assert "Traceback" not in bad.output


def test_cli_demo_writes_one_report_per_scenario(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "-o", str(tmp_path), "--critical-top", "0",
                                 "-s", str(SCENARIOS / "close-pipe.toml"),
                                 "-s", str(SCENARIOS / "child.toml"), *TINY_ARGS])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["child.html", "close-pipe.html"]
    assert "Against baseline" in result.output and "stranded" in result.output


def test_report_on_the_shipped_dataset(tmp_path: Path) -> None:
    try:
        net = corridor.load_network()
        table = load_demand(network=net)
    except corridor.CorridorError as exc:  # the shipped dataset may be mid-edit
        pytest.skip(f"shipped dataset does not load: {exc}")
    data = write_report(net, "cpc-outage", "baseline", tmp_path / "cpc.html", demand=table,
                        critical_top=3)
    html = (tmp_path / "cpc.html").read_text(encoding="utf-8")
    assert data.headline and "cpc-outage" in data.headline[0]
    assert "Kazakhstan" in html  # the basemap is drawn
    assert 'class="link closed' in html  # the CPC is closed
    assert len(html) < 3_000_000


def test_report_shows_periods_and_a_risk_section(tiny: corridor.Network, demand) -> None:
    from corridor.report import render_report
    from corridor.risk import parse_risk, run_risk
    from corridor.scenario import parse_scenario

    outage = parse_scenario({"year": 2024, "close": [{
        "link": "ob", "start": "2024-03-01", "duration_days": 61, "assumption": "spring"}]})
    chosen = parse_risk({"year": 2024, "event": [{
        "name": "pipe", "link": "ob", "factor": 0.0, "probability": 0.5,
        "duration_days": [10, 30, 60], "assumption": "test"}]}, "test.toml")
    drawn = run_risk(tiny, demand, chosen, draws=40, seed=2)
    data = build_report(tiny, outage, "baseline", demand, critical_top=0, risk=drawn)
    html = render_report(data)
    assert 'id="chart-periods"' in html and "Period by period" in html
    assert 'id="risk"' in html and 'id="chart-risk-stranded"' in html
    assert "Tails over the draws" in html and "40 years drawn" in html
    shares = [bar["value"] for bar in data.risk["charts"][0]["bars"]]
    assert sum(shares) == pytest.approx(100.0)


def test_report_shows_the_ledger_projects_frontier_and_partners(net: corridor.Network) -> None:
    data = build_report(net, None, None, load_demand(network=net), critical_top=0)
    titles = [t["title"] for t in data.invest["tables"]]
    assert titles[0].startswith("Ledger") and any(t.startswith("Frontier") for t in titles)
    assert any(t.startswith("Dependency on partners") for t in titles)
    from corridor.ledger import load_ledger

    book = load_ledger()
    appraisable = [p for p in book.projects.index
                   if book.modelled(p) and book.projects.at[p, "capex_usd"] == book.projects.at[
                       p, "capex_usd"]]
    modelled = next(t for t in data.invest["tables"] if t["title"].startswith("Modelled"))
    assert [row[0]["text"] for row in modelled["rows"]] == appraisable
    charts = {c["id"] for c in data.invest["charts"]}
    assert {"chart-invest-npv", "chart-invest-frontier"} <= charts
    drawn = [link for link in data.invest["map"]["links"] if link["project"]]
    named = {p for t in drawn for p in t["title"].split("project: ")[1].split(", ")}
    assert {"cku_railway", "sarzha_mmt_kuryk", "aktau_kuryk_ports_2028_plan",
            "cpc_debottlenecking"} <= named
    html = render_report(data)
    assert 'id="invest"' in html and "Tokyo" in html and 'id="projects-map"' in html
    assert html.count('class="link project"') == len(drawn)
