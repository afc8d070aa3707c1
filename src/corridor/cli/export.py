"""Command: ``export`` (the network, flows and routes as GeoPackage, GeoParquet or GeoJSON;
the network as GMNS)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from corridor.cli.common import (
    CostsOption,
    DemandOption,
    NetworkOption,
    ScenarioOption,
    app,
    console,
    handle_errors,
    open_network,
    run_inputs,
)
from corridor.errors import InvalidOptionError

#: What ``--format`` takes: the GIS formats of :func:`corridor.outputs.write_layers`, and GMNS.
FORMATS = ("gpkg", "geoparquet", "geojson", "gmns")


def _format(path: Path, fmt: str | None) -> str:
    """The format asked for, else the one the file name's suffix names."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise InvalidOptionError(f"Unknown format {fmt!r}; choose one of "
                                     f"{', '.join(FORMATS)}.")
        return fmt
    if path.suffix.lower() == ".gpkg":
        return "gpkg"
    raise InvalidOptionError(f"Say which format to write into {path}: --format gpkg, "
                             "geoparquet, geojson or gmns (a name ending in .gpkg means gpkg).")


def _route_pair(text: str) -> tuple[str, str]:
    origin, sep, destination = text.partition(":")
    if not sep or not origin.strip() or not destination.strip():
        raise InvalidOptionError(f"--route takes ORIGIN:DESTINATION, e.g. Almaty:Rotterdam; "
                                 f"got {text!r}.")
    return origin.strip(), destination.strip()


@app.command("export")
@handle_errors
def export_command(
    path: Annotated[Path, typer.Argument(
        help="A .gpkg file, or a folder for geoparquet and geojson (one file per layer) "
             "and for gmns.")],
    fmt: Annotated[str | None, typer.Option(
        "--format", "-f", help="gpkg, geoparquet, geojson or gmns (the network as a GMNS "
                               "folder; default: from the suffix).")
    ] = None,
    scenario: ScenarioOption = None,
    route: Annotated[list[str] | None, typer.Option(
        "--route", "-r", help="ORIGIN:DESTINATION of a route to add (repeatable).")] = None,
    commodity: Annotated[str, typer.Option(help="Commodity of the --route layers.")
                         ] = "container",
    network: NetworkOption = None,
    costs: CostsOption = None,
    demand: DemandOption = None,
) -> None:
    """Write the network, flows and routes for GIS (GeoPackage, GeoParquet, GeoJSON) or GMNS.

    The network's nodes, links and passages; with --scenario also the year's flows on every
    link and the routes of the assignment; with --route the best route between two places.

    Examples:
      corridor export corridor.gpkg --scenario cpc-outage --route Almaty:Rotterdam
      corridor export out/ --format geoparquet
      corridor export gmns/ --format gmns
    """
    from corridor.geometry import links_frame, nodes_frame, passages_frame
    from corridor.routing import route as find_route

    kind = _format(path, fmt)
    pairs = [_route_pair(text) for text in route or []]
    if kind == "gmns" and (pairs or scenario is not None):
        raise InvalidOptionError("--format gmns writes the network only; --route and "
                                 "--scenario need a GIS format (gpkg, geoparquet, geojson).")
    net = open_network(network, costs)
    if kind == "gmns":
        from corridor.gmns import write_gmns

        written = write_gmns(net, path)
        console.print(f"wrote GMNS {', '.join(p.name for p in written)} to {path}")
        return
    layers = {"nodes": nodes_frame(net), "links": links_frame(net)}
    if len(net.passages):
        layers["passages"] = passages_frame(net)
    inputs = run_inputs(net)
    if pairs:
        import pandas as pd

        frames = []
        for origin, destination in pairs:
            best = find_route(net, origin, destination, commodity=commodity)[0]
            frame = best.to_geodataframe(net)
            frame.insert(0, "query", f"{origin}:{destination}")
            frames.append(frame)
        layers["routes_asked"] = pd.concat(frames, ignore_index=True)
    if scenario is not None:
        from corridor.demand import load_demand
        from corridor.flow.logit import assign_flows
        from corridor.scenario import load_scenario

        chosen = None if scenario == "baseline" else load_scenario(scenario)
        table = load_demand(demand, net)
        inputs = run_inputs(net, demand, [chosen])
        result = assign_flows(net, table, chosen)
        layers["flows"] = result.to_geodataframe("links")
        layers["flow_routes"] = result.to_geodataframe("routes")
    from corridor.outputs import write_layers

    written = write_layers(path, layers, kind, inputs)
    console.print(f"wrote {', '.join(layers)} ({kind}) to "
                  f"{written[0] if len(written) == 1 else path}")
