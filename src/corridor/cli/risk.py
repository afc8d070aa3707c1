"""Command: ``risk`` (Monte Carlo over outages and tariffs: how likely, how long, how bad)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from corridor.cli.common import (
    CostsOption,
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

DrawsOption = Annotated[int | None, typer.Option(
    "--draws", help="Number of draws (default: the risk file's).", min=1, max=1_000_000)]
SeedOption = Annotated[int, typer.Option("--seed", help="The same seed gives the same draws.")]
WorkersOption = Annotated[int, typer.Option(
    "--workers", help="Local processes to spread the draws over.", min=1, max=64)]
EngineOption = Annotated[str, typer.Option(
    "--engine", help="Where the draws run: local processes, or a Dask cluster (dask).")]
AddressOption = Annotated[str | None, typer.Option(
    "--address", help="Join a running Dask scheduler (tcp://host:8786) with --engine dask.")]
OutOption = Annotated[Path | None, typer.Option(
    "--out", help="Save every draw to FILE (.parquet or .csv).")]


def _money(value: float) -> str:
    return f"{value / 1e9:,.2f} bn" if abs(value) >= 1e9 else f"{value / 1e6:,.1f} m"


_SHOWN = {"stranded_t": ("stranded Mt", lambda v: f"{v / 1e6:,.2f}"),
          "stranded_value_usd": ("stranded value USD", _money),
          "loss_usd": ("loss from outages USD", _money),
          "cost_usd": ("transport cost USD", _money),
          "avg_days": ("average days", lambda v: f"{v:,.2f}")}


@app.command("risk")
@handle_errors
def risk_command(
    risk_file: Annotated[str, typer.Argument(
        help="A shipped risk file (e.g. cpc-record) or a TOML path.")] = "cpc-record",
    draws: DrawsOption = None,
    seed: SeedOption = 0,
    workers: WorkersOption = 1,
    engine: EngineOption = "local",
    address: AddressOption = None,
    out: OutOption = None,
    as_json: JsonOption = False,
    network: NetworkOption = None,
    costs: CostsOption = None,
    demand: DemandOption = None,
) -> None:
    """Draw many years of outages and tariffs; print the tails of what they strand and cost.

    Example: corridor risk cpc-record --draws 2000 --seed 7 --out draws.parquet
    """
    from corridor.outputs import check_file
    from corridor.risk import load_risk, run_risk, write_draws

    risk = load_risk(risk_file)
    net, table = open_inputs(network, costs, demand)
    inputs = run_inputs(net, demand, []) + [Path(risk.file)]
    if out is not None:
        if Path(out).suffix not in (".parquet", ".csv"):
            raise InvalidOptionError("--out must end in .parquet or .csv")
        check_file(out, inputs)
    total = draws if draws is not None else risk.draws
    with progress_bar("draws", total, shown=not as_json) as advance:
        result = run_risk(net, table, risk, draws=total, seed=seed, workers=workers,
                          progress=advance, engine=engine, address=address)
    if out is not None:
        write_draws(result, out, inputs)
    if as_json:
        print_json(result.to_dict())
        return
    rate = len(result.draws) / result.seconds * 60 if result.seconds else 0.0
    console.print(f"{risk.title or risk.name}: {len(result.draws):,} draws, seed {seed}, "
                  f"{result.seconds:.1f} s ({rate:,.0f} draws a minute)")
    tails = Table(title="A year of outages: mean and tails over the draws",
                  title_justify="left")
    for name in ("", "mean", "P50", "P90", "P99", "worst tenth"):
        tails.add_column(name, justify="left" if not name else "right")
    summary = result.summary.set_index("metric")
    for metric, (label, fmt) in _SHOWN.items():
        row = summary.loc[metric]
        tails.add_row(label, *(fmt(row[c]) for c in ("mean", "p50", "p90", "p99",
                                                     "worst_tenth_mean")))
    for metric in summary.index:
        if metric.startswith("hhi_"):
            row = summary.loc[metric]
            tails.add_row(f"transit HHI of {metric[4:]}", *(f"{row[c]:,.0f}" for c in (
                "mean", "p50", "p90", "p99", "worst_tenth_mean")))
    console.print(tails)
    events = Table(title="Events", title_justify="left")
    for name in ("event", "per year", "mean days", "years hit", "mean loss in a year hit"):
        events.add_column(name, justify="left" if name == "event" else "right")
    for row in result.events.itertuples(index=False):
        events.add_row(row.event, f"{row.occurrences_per_year:.2f}", f"{row.mean_days:.0f}",
                       f"{row.share_of_years_hit:.0%}", _money(row.mean_loss_usd_in_years_hit))
    console.print(events)
    links = Table(title="Links that lose the most tonnes (expected over the draws)",
                  title_justify="left")
    for name in ("link", "corridor", "undisturbed Mt", "mean Mt", "P10 Mt", "expected lost Mt"):
        links.add_column(name, justify="left" if name in ("link", "corridor") else "right")
    for row in result.links.head(10).itertuples(index=False):
        links.add_row(row.link_id, str(row.corridor), f"{row.undisturbed_t / 1e6:,.2f}",
                      f"{row.mean_t / 1e6:,.2f}", f"{row.p10_t / 1e6:,.2f}",
                      f"{row.expected_lost_t / 1e6:,.2f}")
    console.print(links)
    if out is not None:
        console.print(f"wrote {len(result.draws):,} draws to {out}")
