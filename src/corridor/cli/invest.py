"""Commands: ``ledger`` (projects and agreements) and ``appraise`` (a project's NPV, BCR, IRR)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from corridor.cli.common import (
    CostsOption,
    CsvOption,
    DemandOption,
    JsonOption,
    NetworkOption,
    app,
    console,
    handle_errors,
    open_inputs,
    print_json,
    progress_bar,
    run_inputs,
)
from corridor.errors import InvalidOptionError

LedgerOption = Annotated[Path | None, typer.Option(
    "--ledger", envvar="CORRIDOR_LEDGER", help="Ledger folder (projects.csv, agreements.csv, "
                                               "projects/*.toml, sources.csv).")]
DrawsOption = Annotated[int, typer.Option("--draws", min=1, max=100_000,
                                          help="Draws with --risk.")]
SeedOption = Annotated[int, typer.Option("--seed", help="Seed of the risk draws.")]


def _kt(tonnes: float) -> str:
    return "–" if tonnes != tonnes else f"{tonnes / 1e3:,.0f}"


def _year(value: object) -> str:
    return "–" if value is None or value != value else str(int(value))


def _usd(amount: float) -> str:
    if amount != amount:  # NaN
        return "–"
    return f"{amount / 1e9:,.2f} bn" if abs(amount) >= 1e9 else f"{amount / 1e6:,.1f} m"


@app.command("ledger")
@handle_errors
def ledger_command(
    kind: Annotated[str | None, typer.Option(
        "--kind", help="project or agreement (default: both).")] = None,
    country: Annotated[str | None, typer.Option(help="A republic's ISO3 code, e.g. KAZ.")
                       ] = None,
    partner: Annotated[str | None, typer.Option(help="Part of a partner's name, e.g. Japan.")
                       ] = None,
    status: Annotated[str | None, typer.Option(
        help="The lowest status to list: announced, signed, financed, building, operating.")
    ] = None,
    as_json: JsonOption = False,
    ledger: LedgerOption = None,
) -> None:
    """List the ledger's projects and agreements, with amounts, partners and status.

    Example: corridor ledger --partner Japan --status signed
    """
    from corridor.ledger import STATUSES, load_ledger

    if kind is not None and kind not in ("project", "agreement"):
        raise InvalidOptionError(f"Unknown kind {kind!r}; choose project or agreement.")
    if status is not None and status not in STATUSES:
        raise InvalidOptionError(f"Unknown status {status!r}; choose one of "
                                 f"{', '.join(STATUSES)}.")
    table = load_ledger(ledger).entries(kind, country, partner, status)
    if as_json:
        print_json(table.to_dict(orient="records"))
        return
    out = Table(title=f"Ledger: {len(table)} entries", title_justify="left")
    for name, justify, width in (("entry", "left", 9), ("id", "left", 28),
                                 ("title", "left", 36), ("countries", "left", 11),
                                 ("partners", "left", 18), ("status", "left", 9),
                                 ("USD", "right", 9), ("year", "right", 4)):
        out.add_column(name, justify=justify, max_width=width, no_wrap=True,
                       overflow="ellipsis", min_width=4 if name == "year" else None)
    for row in table.itertuples(index=False):
        out.add_row(row.entry, row.id, row.title, row.countries, str(row.partners or ""),
                    row.status, _usd(float(row.amount_usd)), _year_text(row.year))
    console.print(out)
    projects = table[table["entry"] == "project"]
    if len(projects):
        network = Table(title="Network change of each project ('modelled': corridor appraise "
                              "ID works; otherwise why it changes nothing)",
                        title_justify="left")
        network.add_column("id", no_wrap=True)
        network.add_column("network change")
        for row in projects.itertuples(index=False):
            network.add_row(row.id, row.network)
        console.print(network)


def _year_text(value: object) -> str:
    try:
        return str(int(float(str(value))))
    except ValueError:
        return "–"


@app.command("appraise")
@handle_errors
def appraise_command(
    project: Annotated[str, typer.Argument(help="A project id of the ledger.")],
    scenarios: Annotated[list[str] | None, typer.Option(
        "--scenarios", "-s", help="Scenarios to appraise under, comma-separated or the "
                                  "option again (baseline, the default, is the network as "
                                  "shipped).")] = None,
    risk: Annotated[str | None, typer.Option(
        help="A risk file: adds the expected case over its draws.")] = None,
    draws: DrawsOption = 200,
    seed: SeedOption = 0,
    rate: Annotated[float, typer.Option(help="Discount rate a year.")] = 0.09,
    as_json: JsonOption = False,
    csv: CsvOption = None,
    ledger: LedgerOption = None,
    network: NetworkOption = None,
    costs: CostsOption = None,
    demand: DemandOption = None,
) -> None:
    """A project's yearly benefit under each scenario, and its NPV, BCR and IRR.

    The benefit is the generalised cost and the export value of stranded cargo that the
    project saves in the modelled year; the capital cost is spread over its building years.

    Example: corridor appraise sarzha_terminal --scenarios baseline,cpc-outage
    """
    from corridor.appraisal import appraise
    from corridor.ledger import load_ledger
    from corridor.outputs import check_folder, write_tables

    book = load_ledger(ledger)
    book.check_project(project)
    net, table = open_inputs(network, costs, demand)
    from corridor.tables import split_lists

    names = [None if s == "baseline" else s for s in split_lists(scenarios)] or [None]
    if csv is not None:
        check_folder(csv, ("cases.csv", "hhi.csv", "cash_flows.csv"), run_inputs(net, demand))
    with progress_bar("solves", shown=not as_json and risk is not None):
        result = appraise(net, table, book, project, tuple(names), rate=rate, risk=risk,
                          draws=draws, seed=seed)
    if csv is not None:
        write_tables(csv, {"cases.csv": result.cases, "hhi.csv": result.hhi,
                           "cash_flows.csv": result.cash_flows}, run_inputs(net, demand))
    if as_json:
        print_json(result.to_dict())
        return
    row = book.projects.loc[project]
    capex = float(row["capex_usd"])
    capital = (f"capital {_usd(capex)} USD" if capex == capex
               else "no published capital cost (benefits only)")
    console.print(f"{row['name']} ({project}): {capital}, "
                  f"opens {_year(row['opening_year'])}, discount rate {rate:.1%}")
    out = Table(title_justify="left")
    for name in ("case", "benefit USD/yr", "cost saved", "stranded avoided Mt",
                 "cargo value kept", "CO2 saved kt", "NPV USD", "BCR", "IRR"):
        out.add_column(name, justify="left" if name == "case" else "right")
    for case in result.cases.itertuples(index=False):
        out.add_row(case.case, _usd(case.benefit_usd), _usd(case.cost_saved_usd),
                    f"{case.stranded_avoided_t / 1e6:,.2f}",
                    _usd(case.stranded_value_avoided_usd),
                    _kt(case.co2_saved_t),
                    _usd(case.npv_usd),
                    "–" if case.bcr is None or case.bcr != case.bcr else f"{case.bcr:.2f}",
                    "–" if case.irr is None or case.irr != case.irr else f"{case.irr:.1%}")
    console.print(out)
    moved = result.hhi[result.hhi["change"].abs() >= 0.5]
    if moved.empty:
        console.print("No exporter's transit HHI changes.")
        return
    hhi = Table(title="Transit HHI with and without the project", title_justify="left")
    for name in ("case", "exporter", "without", "with", "change"):
        hhi.add_column(name, justify="left" if name in ("case", "exporter") else "right")
    for row in moved.itertuples(index=False):
        hhi.add_row(row.case, row.exporter, f"{row.transit_hhi_without:,.0f}",
                    f"{row.transit_hhi_with:,.0f}", f"{row.change:+,.0f}")
    console.print(hhi)


@app.command("invest")
@handle_errors
def invest_command(
    budget: Annotated[float, typer.Option("--budget", min=0.0,
                                          help="Capital available, USD (e.g. 2e9).")],
    scenarios: Annotated[list[str] | None, typer.Option(
        "--scenarios", "-s", help="Scenarios the projects are appraised under, "
                                  "comma-separated or the option again (default: "
                                  "baseline); values are their mean.")] = None,
    objective: Annotated[str, typer.Option(
        help="npv (most net present value) or hhi (lowest transit HHI of --exporter).")
    ] = "npv",
    exporter: Annotated[str, typer.Option(help="The exporter of objective hhi.")] = "KAZ",
    rate: Annotated[float, typer.Option(help="Discount rate a year.")] = 0.09,
    risk: Annotated[str | None, typer.Option(
        help="A risk file: each project is valued by its expected case over the draws "
             "(expected cost plus stranding).")] = None,
    draws: DrawsOption = 100,
    seed: SeedOption = 0,
    as_json: JsonOption = False,
    ledger: LedgerOption = None,
    network: NetworkOption = None,
    costs: CostsOption = None,
    demand: DemandOption = None,
) -> None:
    """The set of ledger projects that does most for a budget, and the frontier up to it.

    Solved as a 0-1 programme with HiGHS; requires and excludes of projects.csv hold.

    Example: corridor invest --budget 5e9 --risk cpc-record --draws 100
    """
    from corridor.ledger import load_ledger
    from corridor.portfolio import Valuation, invest

    book = load_ledger(ledger)
    net, table = open_inputs(network, costs, demand)
    from corridor.tables import split_lists

    names = [None if s == "baseline" else s for s in split_lists(scenarios)] or [None]
    valuation = Valuation(objective=objective, exporter=exporter.strip().upper(), rate=rate,
                          risk=risk or None, draws=draws, seed=seed)
    with progress_bar("solves", shown=not as_json and risk is not None):
        result = invest(net, table, book, budget, tuple(names), valuation)
    if as_json:
        print_json(result.to_dict())
        return
    out = Table(title=f"Projects for {_usd(budget)} USD, by {objective}", title_justify="left")
    for name in ("project", "capital USD", "benefit USD/yr", "NPV USD", "BCR", "why"):
        out.add_column(name, justify="left" if name in ("project", "why") else "right")
    for row in result.candidates.itertuples(index=False):
        out.add_row(row.project_id, _usd(row.capex_usd), _usd(row.benefit_usd_per_year),
                    _usd(row.npv_usd), f"{row.bcr:.2f}" if row.bcr == row.bcr else "–",
                    row.why, style="bold" if row.chosen else "")
    console.print(out)
    frontier = Table(title="Frontier: budget against value", title_justify="left")
    for name in ("budget USD", "value", "capital used", "projects"):
        frontier.add_column(name, justify="left" if name == "projects" else "right")
    for row in result.frontier.itertuples(index=False):
        value = _usd(row.value) if objective == "npv" else f"{row.value:+,.0f}"
        frontier.add_row(_usd(row.budget_usd), value, _usd(row.capex_usd), row.projects or "–")
    console.print(frontier)


@app.command("partners")
@handle_errors
def partners_command(
    republic: Annotated[str | None, typer.Option(
        help="One republic's shares in detail (KAZ, UZB, TKM, KGZ, TJK).")] = None,
    scenario: Annotated[str | None, typer.Option(
        "--scenario", "-s", help="Scenario of the transit dimension.")] = None,
    as_json: JsonOption = False,
    ledger: LedgerOption = None,
    network: NetworkOption = None,
    costs: CostsOption = None,
    demand: DemandOption = None,
) -> None:
    """How each republic depends on its partners: transit, markets, labour and finance.

    Shares and HHI per dimension; where published shares cover part of the partners the HHI
    is a range. Without --republic the five are set side by side.

    Example: corridor partners --republic UZB
    """
    from corridor.flow.logit import assign_flows
    from corridor.ledger import load_ledger
    from corridor.metrics import dependency
    from corridor.partners import REPUBLICS, load_shares, profiles
    from corridor.scenario import load_scenario

    if republic is not None and republic.strip().upper() not in REPUBLICS:
        raise InvalidOptionError(f"Unknown republic {republic!r}; choose one of "
                                 f"{', '.join(REPUBLICS)}.")
    net, table = open_inputs(network, costs, demand)
    chosen = None if scenario in (None, "baseline") else load_scenario(scenario)
    result = profiles(load_shares(), load_ledger(ledger),
                      dependency(assign_flows(net, table, chosen)))
    if republic is not None:
        code = republic.strip().upper()
        shares = result.shares[result.shares["republic"] == code]
        summary = result.summary[result.summary["republic"] == code]
    else:
        shares, summary = result.shares, result.summary
    if as_json:
        print_json({"shares": shares.to_dict(orient="records"),
                    "summary": summary.to_dict(orient="records")})
        return
    out = Table(title="Dependency on partners (HHI 0-10,000; a range where published shares "
                      "cover part of the partners)", title_justify="left")
    for name in ("republic", "dimension", "table", "period", "coverage %", "HHI",
                 "largest partner"):
        out.add_column(name, justify="right" if name in ("coverage %", "HHI") else "left")
    for row in summary.itertuples(index=False):
        if not row.detail:
            gap = ("no exports in the model's demand" if row.dimension == "transit" else
                   "no agreement in USD in the ledger" if row.dimension == "finance" else
                   "no published shares found")
            out.add_row(row.republic, row.dimension, gap, "", "", "", "")
            continue
        span = (f"{row.hhi_low:,.0f}" if abs(row.hhi_high - row.hhi_low) < 1 else
                f"{row.hhi_low:,.0f}-{row.hhi_high:,.0f}")
        out.add_row(row.republic, row.dimension, row.detail, row.period,
                    f"{row.coverage_pct:.0f}", span,
                    f"{row.top_partner} {row.top_share_pct:.0f} %")
    console.print(out)
    if republic is not None:
        detail = Table(title=f"{republic.upper()}: the shares", title_justify="left")
        for name in ("dimension", "table", "partner", "share %", "period", "source"):
            detail.add_column(name, justify="right" if name == "share %" else "left")
        for row in shares.itertuples(index=False):
            detail.add_row(row.dimension, row.detail, row.partner, f"{row.share_pct:.1f}",
                           row.period, row.source_id)
        console.print(detail)
