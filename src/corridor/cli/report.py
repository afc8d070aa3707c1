"""Commands: ``report``, ``demo``, ``serve``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from corridor import limits
from corridor.cli.common import (
    CostsOption,
    DemandOption,
    NetworkOption,
    app,
    console,
    handle_errors,
    open_network,
    run_inputs,
    styled,
    warn,
)

if TYPE_CHECKING:
    import pandas as pd

    from corridor.network import Network

DEMO_SCENARIOS = ("cpc-outage", "bypass-russia")

CriticalOption = Annotated[int, typer.Option(
    "--critical-top", min=limits.CRITICAL_TOP[0], max=200,
    help="Rank this many most critical links (0 skips the re-solves).")]


def _demand(path: Path | None, net: Network) -> pd.DataFrame | None:
    """The demand table of ``--demand``, or None for the shipped baseline (read lazily)."""
    if path is None:
        return None
    from corridor.demand import load_demand

    return load_demand(path, net)


@app.command("report")
@handle_errors
def report_command(
    scenario: Annotated[str, typer.Argument(help="Built-in scenario name, TOML file, or "
                                                 "'baseline'.")],
    compare: Annotated[str | None, typer.Option(
        "--compare", help="Scenario to compare against (default: baseline).")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")] = Path(
        "report.html"),
    critical_top: CriticalOption = 10,
    risk: Annotated[str | None, typer.Option(
        "--risk", help="Add a Risk section: a Monte Carlo of this risk file (e.g. "
                       "cpc-record).")] = None,
    draws: Annotated[int, typer.Option("--draws", min=1, max=1_000_000,
                                       help="Draws for --risk.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Seed for --risk.")] = 0,
    network: NetworkOption = None,
    costs: CostsOption = None,
    demand: DemandOption = None,
) -> None:
    """Write one self-contained HTML report (map, charts, tables, assumptions, sources).

    Example: corridor report cpc-six-weeks --risk cpc-record -o cpc.html
    """
    from corridor.outputs import check_file
    from corridor.report import write_report

    net = open_network(network, costs)
    table = _demand(demand, net)
    inputs = run_inputs(net, demand)
    drawn = None
    if risk is not None:
        from corridor.demand import load_demand
        from corridor.risk import load_risk, run_risk

        chosen = load_risk(risk)
        check_file(output, inputs + [Path(chosen.file)])
        if table is None:
            table = load_demand(network=net)
        drawn = run_risk(net, table, chosen, draws=draws, seed=seed)
    data = write_report(net, scenario, compare, output, demand=table,
                        critical_top=critical_top, inputs=inputs, risk=drawn)
    for line in data.headline:
        console.print(line)
    console.print(f"wrote {output}")


@app.command("demo")
@handle_errors
def demo_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the reports.")] = Path(
        "out"),
    scenario: Annotated[list[str] | None, typer.Option(
        "--scenario", "-s", help="Scenarios to run (default: cpc-outage, bypass-russia).")] = None,
    critical_top: CriticalOption = 10,
    network: NetworkOption = None,
    costs: CostsOption = None,
    demand: DemandOption = None,
) -> None:
    """The main job: baseline against a CPC outage and against no Russian transit.

    Writes one report per scenario (each compared with the baseline) into the output folder
    and prints a short summary.

    Example: corridor demo -o out/
    """
    from corridor.outputs import check_folder
    from corridor.report import write_report
    from corridor.scenario import load_scenario

    net = open_network(network, costs)
    table = _demand(demand, net)
    names = scenario or list(DEMO_SCENARIOS)
    chosen = [load_scenario(name) for name in names]  # every name checked before any solve
    inputs = run_inputs(net, demand, chosen)
    files = [f"{Path(name).stem}.html" for name in names]
    folder = check_folder(output, files, inputs)
    for item, file in zip(chosen, files, strict=True):
        path = folder / file
        data = write_report(net, item, "baseline", path, demand=table,
                            critical_top=critical_top, inputs=inputs)
        console.print(styled((data.scenario["title"], "bold")))
        for line in data.headline:
            console.print(f"  {line}")
        console.print(f"  report: {path}")


@app.command("serve")
@handle_errors
def serve_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=limits.PORT[0], max=limits.PORT[1],
                                      help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=limits.WORKERS[0], max=limits.WORKERS[1],
                                         help="Worker processes (each loads the network).")
                       ] = 1,
    network: NetworkOption = None,
    costs: CostsOption = None,
    demand: DemandOption = None,
    scenarios: Annotated[Path | None, typer.Option(
        "--scenarios", help="Folder of scenario TOML files (default: the built-ins).")] = None,
    ledger: Annotated[Path | None, typer.Option(
        "--ledger", envvar="CORRIDOR_LEDGER", help="Ledger folder (default: the shipped one).")
    ] = None,
) -> None:
    """Serve the JSON API and the interactive map at http://HOST:PORT/.

    Example: corridor serve --port 8080
    """
    import os

    import uvicorn

    from corridor.service import create_app

    net = open_network(network, costs)  # fail early, with a clear message, on bad data
    demand_table = _demand(demand, net)
    if not _is_loopback(host):
        warn(f"serving on {host}, which other machines can reach: the API has no "
             f"authentication or TLS; see docs/security.md before exposing it")
    console.print(f"Corridor at http://{host}:{port}/  (API docs: /docs)")
    if workers > 1:  # each worker process loads its own copy through the factory
        for name, value in (("CORRIDOR_NETWORK", network), ("CORRIDOR_COSTS", costs),
                            ("CORRIDOR_DEMAND", demand), ("CORRIDOR_SCENARIOS", scenarios),
                            ("CORRIDOR_LEDGER", ledger)):
            if value is not None:
                os.environ[name] = str(Path(value).resolve())
        _serve_processes(host, port, workers)
        return
    uvicorn.run(create_app(net, demand_table, scenarios, ledger=ledger), host=host, port=port,
                log_level="warning")


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _serve_processes(host: str, port: int, workers: int) -> None:
    """Run ``workers`` uvicorn processes on one listening socket.

    The socket is bound here with ``IPPROTO_TCP`` so that asyncio turns on TCP_NODELAY for the
    accepted connections, as it does in single-process mode (a socket uvicorn binds itself for
    several workers has protocol 0, and keep-alive requests then wait ~40 ms on delayed ACKs).
    """
    import inspect
    import socket

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config("corridor.service:app_from_env", factory=True, host=host,
                            port=port, workers=workers, log_level="warning")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    if "target" in inspect.signature(Multiprocess).parameters:  # uvicorn < 0.30
        Multiprocess(config, target=uvicorn.Server(config).run, sockets=[sock]).run()
    else:
        Multiprocess(config, sockets=[sock]).run()
