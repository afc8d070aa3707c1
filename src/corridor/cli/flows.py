"""Commands: ``flows``, ``scenario list|show|run``, ``compare``, ``critical``, ``dependency``,
``exposure``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from corridor import limits
from corridor.cli.common import (
    CostsOption,
    CsvOption,
    DemandOption,
    JsonOption,
    MonthOption,
    NetworkOption,
    ScenarioOption,
    SpreadOption,
    app,
    console,
    handle_errors,
    missing,
    open_inputs,
    print_json,
    progress_bar,
    run_inputs,
    styled,
)

if TYPE_CHECKING:
    import pandas as pd

scenario_app = typer.Typer(help="List, show and run what-if scenarios.", no_args_is_help=True)
app.add_typer(scenario_app, name="scenario")


class _Run:
    """What a flow command reads and where it writes, checked before the solve."""

    def __init__(self, network: Path | None, costs: Path | None, demand: Path | None,
                 scenarios: tuple[str | None, ...] = (), csv: Path | None = None,
                 csv_files: tuple[str, ...] = (), month: str | None = None) -> None:
        from corridor.scenario import load_scenario

        self.net, self.demand = open_inputs(network, costs, demand)
        if month:
            self.net = self.net.priced_at(month)
        self.scenarios = [None if name in (None, "baseline") else load_scenario(name)
                          for name in scenarios]
        self.inputs = run_inputs(self.net, demand, self.scenarios)
        self.csv = csv
        if csv is not None:
            from corridor.outputs import check_folder

            check_folder(csv, csv_files, self.inputs)

    def assign(self, scenario: object, spread: float | None = None,  # noqa: ANN201
               formulation: str = "arc"):
        """The FlowResult of ``scenario`` (logit when ``spread`` is given)."""
        from corridor.flow.logit import assign_flows

        return assign_flows(self.net, self.demand, scenario, spread, formulation)

    def write_csv(self, tables: dict[str, pd.DataFrame]) -> None:
        if self.csv is not None:
            from corridor.outputs import write_tables

            write_tables(self.csv, tables, self.inputs)
            console.print(f"wrote {len(tables)} CSV files to {self.csv}")


def _mt(tonnes: float) -> str:
    return f"{tonnes / 1e6:,.2f}"


def _usd(amount: float) -> str:
    return f"{amount / 1e9:,.2f} bn" if abs(amount) >= 1e9 else f"{amount / 1e6:,.1f} m"


def _show_result(result) -> None:  # noqa: ANN001 (FlowResult, imported lazily)
    from corridor.flow import segment_label

    t = result.totals
    console.print(styled(
        (f"Scenario {result.scenario}", "bold"),
        f": demand {_mt(t['demand_t'])} Mt, delivered {_mt(t['delivered_t'])} Mt, ",
        (f"stranded {_mt(t['stranded_t'])} Mt"
         + (f" (cargo worth {_usd(t['stranded_value_usd'])} USD/yr)"
            if t.get("stranded_value_usd", 0) >= 0.5e6 else ""), "red"),
        f"; transport {_usd(t['cost_usd'])} USD/yr, {t.get('cost_usd_per_t', 0):,.1f} USD per "
        f"delivered tonne (generalised {_usd(t['generalised_cost_usd'])}), "
        f"{t['tonne_km'] / 1e9:,.1f} bn tkm, {t['avg_days']:.1f} days on average, "
        f"{t['co2_t'] / 1e6:,.2f} Mt CO2"
        + (f", investment {_usd(t['investment_usd'])} USD" if t.get("investment_usd") else "")))
    od = Table(title="Demand served", title_justify="left")
    for name, justify in (("origin", "left"), ("destination", "left"), ("commodity", "left"),
                          ("demand Mt", "right"), ("delivered Mt", "right"),
                          ("stranded Mt", "right"), ("USD/t", "right"), ("days", "right"),
                          ("main route (share)", "left")):
        od.add_column(name, justify=justify)
    split = result.route_split
    for row in result.od.itertuples(index=False):
        routes = split[(split["origin"] == row.origin) & (split["destination"] == row.destination)
                       & (split["commodity"] == row.commodity)
                       & (split["allowed_modes"] == row.allowed_modes)
                       & (split["avoid_countries"] == row.avoid_countries)]
        main = ""
        if len(routes):
            best = routes.iloc[0]
            main = f"{best['corridors'] or '-'} via {best['countries']} ({best['share']:.0%})"
        od.add_row(row.origin, row.destination,
                   segment_label(row.commodity, row.allowed_modes, row.avoid_countries),
                   _mt(row.demand_t),
                   _mt(row.delivered_t), _mt(row.stranded_t),
                   "" if missing(row.cost_usd_per_t) else f"{row.cost_usd_per_t:,.1f}",
                   "" if missing(row.days) else f"{row.days:.1f}", main,
                   style="red" if row.stranded_t > 0.5 else None)
    console.print(od)
    saturated = result.saturated
    if len(saturated):
        table = Table(title="Saturated links (shadow price = USD/yr saved per extra tonne of "
                            "yearly capacity)", title_justify="left")
        for name, justify in (("link", "left"), ("corridor", "left"), ("flow Mt", "right"),
                              ("capacity Mt", "right"), ("USD/t", "right")):
            table.add_column(name, justify=justify)
        for link_id, row in saturated.iterrows():
            table.add_row(link_id, row["corridor"], _mt(row["flow_t_per_year"]),
                          _mt(row["capacity_t_per_year"]),
                          f"{row['shadow_price_usd_per_t']:,.2f}")
        console.print(table)
    if result.periods is not None:
        _show_periods(result.periods)


def _show_periods(periods: pd.DataFrame) -> None:
    """The year period by period: when each change is in force, what is stranded or waits."""
    table = Table(title="Period by period (the tables above sum the year)",
                  title_justify="left")
    for name, justify in (("period", "left"), ("days", "right"), ("changes in force", "left"),
                          ("demand Mt", "right"), ("stranded Mt", "right"),
                          ("stranded value USD", "right"), ("in tanks at end Mt", "right"),
                          ("avg days", "right")):
        table.add_column(name, justify=justify)
    for row in periods.itertuples(index=False):
        table.add_row(row.period, str(row.days), row.changes or "-", _mt(row.demand_t),
                      _mt(row.stranded_t), _usd(row.stranded_value_usd) if row.stranded_t > 0.5
                      else "", _mt(row.waiting_t) if row.waiting_t > 0.5 else "",
                      f"{row.avg_days:.1f}", style="red" if row.stranded_t > 0.5 else None)
    console.print(table)


def _run(scenario: str | None, network: Path | None, costs: Path | None,
         demand: Path | None, as_json: bool, csv: Path | None,
         spread: float | None = None, formulation: str = "arc",
         month: str | None = None) -> None:
    from corridor.flow import CSV_FILES

    run = _Run(network, costs, demand, (scenario,), csv, CSV_FILES, month)
    result = run.assign(run.scenarios[0], spread, formulation)
    run.write_csv(result.csv_tables())
    if as_json:
        print_json(result.to_dict())
    elif csv is None:
        if month:
            console.print(f"Tariffs that follow a market index priced at {run.net.costs.priced_at}")
        _show_result(result)


@app.command("flows")
@handle_errors
def flows_command(
    scenario: ScenarioOption = None,
    as_json: JsonOption = False,
    csv: CsvOption = None,
    network: NetworkOption = None,
    costs: CostsOption = None,
    demand: DemandOption = None,
    spread: SpreadOption = None,
    formulation: Annotated[str, typer.Option(
        "--formulation", help="arc (one column per origin and arc) or paths (routes "
                              "generated as needed; the same optimum, for large networks)."
    )] = "arc",
    month: MonthOption = None,
) -> None:
    """Assign the yearly demand to the network within link capacities (min generalised cost).

    Example: corridor flows --scenario cpc-six-weeks
    """
    _run(scenario, network, costs, demand, as_json, csv, spread, formulation, month)


@scenario_app.command("list")
@handle_errors
def scenario_list(as_json: JsonOption = False) -> None:
    """List the built-in scenarios.

    Example: corridor scenario list
    """
    from corridor.scenario import list_scenarios

    scenarios = list_scenarios()
    if as_json:
        print_json([{"name": s.name, "title": s.title, "inherits": s.inherits,
                     "changes": len(s.all_actions()), "file": s.file} for s in scenarios])
        return
    table = Table()
    for name in ("name", "title", "inherits", "changes"):
        table.add_column(name)
    for s in scenarios:
        table.add_row(s.name, s.title, s.inherits or "", str(len(s.all_actions())))
    console.print(table)


@scenario_app.command("show")
@handle_errors
def scenario_show(
    name: Annotated[str, typer.Argument(help="Scenario name or TOML file.")],
    as_json: JsonOption = False,
) -> None:
    """Show a scenario's changes with their assumptions and sources.

    Example: corridor scenario show cpc-outage
    """
    from corridor.scenario import load_scenario

    scenario = load_scenario(name)
    if as_json:
        print_json(scenario.to_dict())
        return
    console.print(styled((scenario.name, "bold"), f": {scenario.title}"))
    if scenario.description:
        console.print(scenario.description)
    table = Table(show_lines=True)
    for column in ("change", "what", "assumption", "source"):
        table.add_column(column, overflow="fold")
    for action in scenario.all_actions():
        what = ", ".join(f"{k}={v}" for k, v in action.params.items()
                         if k not in ("estimated", "estimate_method", "notes", "geometry"))
        if action.start is not None:
            what += f", from {action.start.isoformat()} for {action.duration_days:g} days"
        elif action.months:
            what += f", in months {', '.join(map(str, action.months))}"
        table.add_row(action.key, what, action.assumption, action.source)
    console.print(table)


@scenario_app.command("run")
@handle_errors
def scenario_run(
    name: Annotated[str, typer.Argument(help="Scenario name or TOML file.")],
    as_json: JsonOption = False,
    csv: CsvOption = None,
    network: NetworkOption = None,
    costs: CostsOption = None,
    demand: DemandOption = None,
) -> None:
    """Assign the demand under a scenario.

    Example: corridor scenario run bypass-russia
    """
    _run(name, network, costs, demand, as_json, csv)


@app.command("compare")
@handle_errors
def compare_command(
    base: Annotated[str, typer.Argument(help="Base scenario (e.g. baseline).")],
    other: Annotated[str, typer.Argument(help="Scenario to compare with it.")],
    as_json: JsonOption = False,
    csv: CsvOption = None,
    network: NetworkOption = None,
    costs: CostsOption = None,
    demand: DemandOption = None,
) -> None:
    """What changes between two scenarios: cost, days, CO2, stranded, corridors, HHI.

    Example: corridor compare baseline cpc-outage
    """
    from corridor.metrics import COMPARE_CSV_FILES, compare

    run = _Run(network, costs, demand, (base, other), csv, COMPARE_CSV_FILES)
    result = compare(run.assign(run.scenarios[0]), run.assign(run.scenarios[1]))
    run.write_csv(result.csv_tables())
    if as_json:
        print_json(result.to_dict())
        return
    if csv is not None:
        return
    totals = Table(title=f"{result.base} → {result.other}", title_justify="left")
    for name, justify in (("metric", "left"), (result.base, "right"), (result.other, "right"),
                          ("change", "right"), ("change %", "right")):
        totals.add_column(name, justify=justify)
    for row in result.totals.itertuples(index=False):
        fmt = "{:,.1f}" if row.metric == "avg_days" else "{:,.0f}"
        totals.add_row(row.metric, fmt.format(row.base), fmt.format(row.other),
                       fmt.format(row.change),
                       "" if missing(row.change_pct) else f"{row.change_pct:+.1f}%")
    console.print(totals)
    for title, frame, columns in (
        ("Tonnes by corridor (Mt)", result.corridors, ("corridor", "base_t", "other_t",
                                                       "change_t")),
        ("Stranded by commodity (Mt)", result.stranded, ("commodity", "base_t", "other_t",
                                                         "change_t")),
        ("Largest link flow changes (Mt)", result.links, ("link_id", "corridor", "base_t",
                                                          "other_t", "change_t")),
    ):
        table = Table(title=title, title_justify="left")
        for column in columns:
            table.add_column(column, justify="right" if column.endswith("_t") else "left")
        for row in frame.itertuples(index=False):
            table.add_row(*[_mt(getattr(row, c)) if c.endswith("_t") else str(getattr(row, c))
                            for c in columns])
        console.print(table)
    hhi = Table(title="Transit dependency (HHI 0-10,000)", title_justify="left")
    for column in ("exporter", "base", "other", "change"):
        hhi.add_column(column, justify="left" if column == "exporter" else "right")
    for row in result.hhi.itertuples(index=False):
        hhi.add_row(row.exporter, f"{row.base_hhi:,.0f}", f"{row.other_hhi:,.0f}",
                    f"{row.change:+,.0f}")
    console.print(hhi)


def _pairs(scenario: str | None, top: int, workers: int, by: str, kinds: list[str] | None,
           as_json: bool, csv: Path | None, network: Path | None, costs: Path | None,
           demand: Path | None) -> None:
    from corridor.pairs import KINDS, critical_pairs
    from corridor.tables import split_lists

    chosen = tuple(split_lists(kinds)) or KINDS
    run = _Run(network, costs, demand, (scenario,), csv, ("critical_pairs.csv",))
    with progress_bar("re-solves", shown=not as_json) as advance:
        ranking = critical_pairs(run.net, run.demand, run.scenarios[0], top=top,
                                 kinds=chosen, by=by, workers=workers, progress=advance)
    run.write_csv({"critical_pairs.csv": ranking})
    if as_json:
        print_json({"k": 2, "by": by, **ranking.attrs,
                    "ranking": ranking.to_dict(orient="records")})
        return
    if csv is not None:
        return
    out = Table(title=f"Pairs failing together, by {by} ({ranking.attrs['solved']} re-solves "
                      f"of {ranking.attrs['pairs']:,} pairs, {ranking.attrs['pruned']:,} "
                      f"pruned by bounds, {ranking.attrs['seconds']:.1f} s)",
                title_justify="left")
    for column in ("#", "first", "second", "damage USD/yr", "alone USD/yr", "interaction",
                   "stranded Mt", "loss USD/yr"):
        out.add_column(column, justify="left" if column in ("first", "second") else "right")
    for row in ranking.itertuples(index=False):
        out.add_row(str(row.rank), f"{row.first} ({row.first_kind})",
                    f"{row.second} ({row.second_kind})", _usd(row.damage_usd),
                    f"{_usd(row.first_alone_usd)} + {_usd(row.second_alone_usd)}",
                    _usd(row.interaction_usd), _mt(row.stranded_t), _usd(row.loss_usd))
    console.print(out)
    console.print("damage: rise of generalised cost plus stranded tonnes at the stranding "
                  "penalty (what the assignment minimises); loss: stranded cargo value plus "
                  "added generalised cost")


@app.command("critical")
@handle_errors
def critical_command(
    scenario: ScenarioOption = None,
    top: Annotated[int, typer.Option("--top", min=1, max=limits.CRITICAL_TOP[1],
                                     help="Show the N most critical.")] = 15,
    nodes: Annotated[bool, typer.Option("--nodes", help="Rank nodes instead of links.")] = False,
    workers: Annotated[int, typer.Option("--workers", min=limits.WORKERS[0],
                                         max=limits.WORKERS[1],
                                         help="Worker processes.")] = 1,
    k: Annotated[int, typer.Option("--k", min=1, max=2, help="1: single failures; 2: pairs "
                                   "failing together (links, nodes, corridors, countries), "
                                   "pruned with bounds.")] = 1,
    by: Annotated[str, typer.Option("--by", help="With --k 2: rank by 'damage' or by "
                                    "'interaction' (worse together than apart).")] = "damage",
    kinds: Annotated[list[str] | None, typer.Option(
        "--kinds", help="With --k 2: element kinds to pair, comma-separated or the option "
                        "again (default: link,node,corridor,country).")] = None,
    as_json: JsonOption = False,
    csv: CsvOption = None,
    network: NetworkOption = None,
    costs: CostsOption = None,
    demand: DemandOption = None,
) -> None:
    """Rank links (or nodes) by what their loss strands and costs after a full re-solve.

    Example: corridor critical --k 2 --by interaction --top 10
    """
    from corridor.critical import critical

    if k == 2:
        _pairs(scenario, top, workers, by, kinds, as_json, csv, network, costs, demand)
        return
    run = _Run(network, costs, demand, (scenario,), csv, ("critical.csv",))
    with progress_bar("re-solves", shown=not as_json) as advance:
        ranking = critical(run.net, run.demand, run.scenarios[0], top=top,
                           what="node" if nodes else "link", workers=workers,
                           progress=advance)
    run.write_csv({"critical.csv": ranking})
    if as_json:
        print_json({"what": "node" if nodes else "link", "solves": ranking.attrs["solves"],
                    "seconds": ranking.attrs["seconds"],
                    "ranking": ranking.to_dict(orient="records")})
        return
    if csv is not None:
        return
    key = "node_id" if nodes else "link_id"
    out = Table(title=f"Single points of failure ({ranking.attrs['solves']} re-solves, "
                      f"{ranking.attrs['seconds']:.1f} s)", title_justify="left")
    for column, justify in (("#", "right"), (key, "left"), ("corridor" if not nodes else
                                                          "country", "left"),
                            ("flow Mt", "right"), ("stranded Mt", "right"),
                            ("stranded %", "right"), ("cargo value USD/yr", "right"),
                            ("added cost USD/yr", "right"), ("loss USD/yr", "right")):
        out.add_column(column, justify=justify)
    for row in ranking.itertuples(index=False):
        out.add_row(str(row.rank), getattr(row, key),
                    row.country if nodes else row.corridor, _mt(row.flow_t_per_year),
                    _mt(row.stranded_t), f"{row.stranded_pct:.1f}",
                    _usd(row.stranded_value_usd), _usd(row.added_cost_usd), _usd(row.loss_usd))
    out.caption = ("loss = value of the stranded cargo at the commodity prices of the cost "
                   "model + added transport cost and time of the cargo that still moves")
    console.print(out)


@app.command("dependency")
@handle_errors
def dependency_command(
    scenario: ScenarioOption = None,
    exporter: Annotated[str | None, typer.Option(help="Only this exporter (ISO3).")] = None,
    commodity: Annotated[str | None, typer.Option(help="Only this commodity.")] = None,
    as_json: JsonOption = False,
    network: NetworkOption = None,
    costs: CostsOption = None,
    demand: DemandOption = None,
) -> None:
    """Shares and HHI of each exporter's tonnes by transit, corridor, mode, partner, chokepoint.

    Example: corridor dependency --exporter KAZ --scenario bypass-russia
    """
    from corridor.metrics import dependency

    run = _Run(network, costs, demand, (scenario,))
    result = run.assign(run.scenarios[0])
    dep = dependency(result, commodity=commodity)
    shares, hhi = dep.shares, dep.hhi
    if exporter:
        shares = shares[shares["exporter"] == exporter.upper()]
        hhi = hhi[hhi["exporter"] == exporter.upper()]
    if as_json:
        print_json({"shares": shares.to_dict(orient="records"),
                    "hhi": hhi.to_dict(orient="records")})
        return
    out = Table(title="Dependency (share of exported tonnes; HHI 0-10,000)",
                title_justify="left")
    for column in ("exporter", "dimension", "HHI", "exported Mt", "shares"):
        out.add_column(column, overflow="fold")
    for row in hhi.itertuples(index=False):
        mine = shares[(shares["exporter"] == row.exporter)
                      & (shares["dimension"] == row.dimension)]
        text = ", ".join(f"{r.key} {r.share_pct:.0f}%" for r in mine.head(6).itertuples())
        out.add_row(row.exporter, row.dimension, f"{row.hhi:,.0f}", _mt(row.exported_t), text)
    console.print(out)


@app.command("exposure")
@handle_errors
def exposure_command(
    scenario: ScenarioOption = None,
    exporter: Annotated[str | None, typer.Option(help="Only this exporter (ISO3).")] = None,
    as_json: JsonOption = False,
    network: NetworkOption = None,
    costs: CostsOption = None,
    demand: DemandOption = None,
) -> None:
    """For each exporter and transit country: stranded tonnes and added cost if it closes.

    Example: corridor exposure --exporter KAZ
    """
    from corridor.metrics import exposure

    run = _Run(network, costs, demand, (scenario,))
    frame = exposure(run.net, run.demand, run.scenarios[0])
    if exporter:
        frame = frame[frame["exporter"] == exporter.upper()]
    if as_json:
        print_json(frame.to_dict(orient="records"))
        return
    out = Table(title="Exposure to the closure of a transit country", title_justify="left")
    for column in ("exporter", "closed", "transit share %", "stranded Mt", "added cost USD/yr"):
        out.add_column(column, justify="left" if column in ("exporter", "closed") else "right")
    for row in frame.itertuples(index=False):
        out.add_row(row.exporter, row.closed_country, f"{row.transit_share_pct:.0f}",
                    _mt(row.stranded_t), _usd(row.added_cost_usd))
    console.print(out)
