"""Command: ``calibration`` (the model against observed volumes, times, rates and lengths)."""

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
    ScenarioOption,
    SpreadOption,
    app,
    console,
    handle_errors,
    missing,
    open_inputs,
    print_json,
    run_inputs,
    styled,
)

ObservedOption = Annotated[Path | None, typer.Option(
    "--observations", help="Folder of observation tables (default: the shipped ones).")]


def _number(value: float, unit: str) -> str:
    if missing(value):
        return "–"
    if unit in ("Mt", "bcm", "Mbbl", "%", "days"):
        return f"{value:,.2f}"
    if unit == "km" or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


@app.command("calibration")
@handle_errors
def calibration_command(
    scenario: ScenarioOption = None,
    observations: ObservedOption = None,
    as_json: JsonOption = False,
    csv: CsvOption = None,
    network: NetworkOption = None,
    costs: CostsOption = None,
    demand: DemandOption = None,
    spread: SpreadOption = None,
) -> None:
    """How well the model reproduces observed volumes, shares, times, rates and lengths.

    Prints each observation (observed, modelled, error) and, per kind, the count, the WAPE,
    the mean bias and the share within ±15 % and ±30 % (shares: within ±5 points).
    Observations marked "fit" share a publication with an input of the model.

    Example: corridor calibration --csv out/calibration/
    """
    from corridor.calibration import CSV_FILES, calibrate
    from corridor.observed import load_observations
    from corridor.outputs import check_folder, write_tables
    from corridor.scenario import load_scenario

    net, table = open_inputs(network, costs, demand)
    chosen = None if scenario in (None, "baseline") else load_scenario(scenario)
    observed = load_observations(observations, net)
    inputs = run_inputs(net, demand, [chosen]) + observed.files()
    if csv is not None:
        check_folder(csv, CSV_FILES, inputs)
    from corridor.flow.logit import assign_flows

    flows = assign_flows(net, table, chosen, spread)
    result = calibrate(net, table, chosen, observed, result=flows)
    if csv is not None:
        write_tables(csv, result.csv_tables(), inputs)
        console.print(f"wrote {len(CSV_FILES)} CSV files to {csv}")
    if as_json:
        print_json(result.to_dict())
        return
    if csv is not None:
        return
    for kind, frame in result.table.groupby("kind", sort=False):
        out = Table(title=f"{kind} observations ({len(frame)})", title_justify="left")
        for name, justify in (("obs_id", "left"), ("element", "left"), ("observed", "right"),
                              ("modelled", "right"), ("unit", "left"), ("error", "right"),
                              ("", "left")):
            out.add_column(name, justify=justify, overflow="fold")
        for row in frame.itertuples(index=False):
            error = "–" if missing(row.error_pct) else (
                f"{row.error_pct:+.1f} pt" if kind == "share" else f"{row.error_pct:+.0f}%")
            mark = ("✓" if row.within_15 else "~" if row.within_30 else "✗") + (
                "" if row.independent else " fit")
            out.add_row(row.obs_id, row.element, _number(row.observed, row.unit),
                        _number(row.modelled, row.unit), row.unit, error, mark,
                        style=None if row.within_30 else "red")
        console.print(out)
    summary = Table(title=f"Model against observations ({result.scenario}): ✓ within ±15 %, "
                          "~ within ±30 %, fit = shares a source with an input",
                    title_justify="left")
    for name in ("kind", "subset", "count", "missing", "WAPE %", "bias %", "±15 %", "±30 %"):
        summary.add_column(name, justify="left" if name in ("kind", "subset") else "right")
    for row in result.summary.itertuples(index=False):
        if row.kind == "share":
            wape, bias = f"{row.mean_abs_points:.1f} pt", f"{row.bias_pct:+.1f} pt"
        else:
            wape = "–" if missing(row.wape_pct) else f"{row.wape_pct:.1f}"
            bias = "–" if missing(row.bias_pct) else f"{row.bias_pct:+.1f}"
        summary.add_row(row.kind, row.subset, str(row.count), str(row.missing), wape, bias,
                        f"{row.within_15_pct:.0f}", f"{row.within_30_pct:.0f}")
    console.print(summary)
    console.print(styled(("shares: ", "dim"), "error in points, ±5 points in both columns"))
