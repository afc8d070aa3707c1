"""Commands: ``route``, ``places``, ``passages``, ``validate``, ``sources``, ``demo``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from corridor import limits
from corridor.cli.common import (
    CostsOption,
    JsonOption,
    MonthOption,
    NetworkOption,
    app,
    console,
    handle_errors,
    open_network,
    print_json,
    warn,
)
from corridor.limits import MAX_SHARED

if TYPE_CHECKING:
    from corridor.routing import Route


def route_table(result: Route, passages: list[str] | None = None) -> Table:
    """A route as a table; ``passages`` are the names of the passages it uses."""
    title = (f"#{result.rank}  {result.legs[0].from_name} → {result.legs[-1].to_name}  "
             f"{result.commodity}, by {result.objective}: "
             f"${result.cost_usd_per_t:,.0f}/t · {result.days:.1f} days · "
             f"{result.co2_kg_per_t:,.0f} kg CO2/t · {result.length_km:,.0f} km")
    table = Table(title=title, title_justify="left", show_lines=False)
    for name, justify in (("from", "left"), ("to", "left"), ("mode", "left"), ("km", "right"),
                          ("days", "right"), ("USD/t", "right"), ("kg CO2/t", "right"),
                          ("country", "left")):
        table.add_column(name, justify=justify)
    transfers = {t.node_id: t for t in result.transfers}
    for leg in result.legs:
        mode = leg.mode + (f" {leg.gauge_mm}" if leg.gauge_mm else "")
        if leg.border_crossing:
            mode += " ⇄ border"
        table.add_row(leg.from_name, leg.to_name, mode, f"{leg.length_km:,.0f}",
                      f"{leg.days:.1f}", f"{leg.cost_usd_per_t:,.1f}", f"{leg.co2_kg_per_t:,.1f}",
                      leg.country or "sea")
        if leg.to_id in transfers:
            t = transfers[leg.to_id]
            table.add_row("", f"↳ {t.kind.replace('_', ' ')} at {t.node_name}",
                          f"{t.from_layer}→{t.to_layer}", "", f"{t.days:.1f}",
                          f"{t.cost_usd_per_t:,.1f}", "", "", style="dim")
    table.caption = (f"countries: {' → '.join(result.countries)}   "
                     f"border crossings: {len(result.border_crossings)}   "
                     f"transfers: {len(result.transfers)}")
    if passages:
        table.caption += f"\npasses: {', '.join(passages)}"
    table.caption_justify = "left"
    return table


@app.command("route")
@handle_errors
def route_command(
    origin: Annotated[str, typer.Argument(help="Origin place (name, alias or Russian name).")],
    destination: Annotated[str, typer.Argument(help="Destination place.")],
    commodity: Annotated[str, typer.Option(help="container, crude_oil, grain, metals, "
                                                "uranium, natural_gas")] = "container",
    optimize: Annotated[str, typer.Option(help="cost, time or co2")] = "cost",
    avoid: Annotated[list[str] | None, typer.Option(
        help="ISO3 countries to avoid, e.g. RUS,IRN (or the option again).")] = None,
    avoid_mode: Annotated[list[str] | None, typer.Option(
        help="Modes to avoid, e.g. road,ferry (or the option again).")] = None,
    avoid_passage: Annotated[list[str] | None, typer.Option(
        help="Straits, canals, crossings or border posts to avoid, e.g. suez,bosporus "
             "(ids from `corridor passages`; or the option again)")] = None,
    via: Annotated[str | None, typer.Option(help="A place the route must pass.")] = None,
    alternatives: Annotated[int, typer.Option(
        "--alternatives", "-k", min=limits.ALTERNATIVES[0], max=limits.ALTERNATIVES[1],
        help="How many ranked routes.")] = 1,
    max_shared: Annotated[float, typer.Option(
        min=0.0, max=1.0,
        help="Share of its length an alternative may run on a better route's links, unless "
             "it keeps out of one of that route's transit countries; 1 lists near-copies "
             "too.")] = MAX_SHARED,
    service: Annotated[str, typer.Option(
        help="A named service of the cost model, e.g. express (scheduled block trains).")
    ] = "",
    month: MonthOption = None,
    as_json: JsonOption = False,
    network: NetworkOption = None,
    costs: CostsOption = None,
) -> None:
    """Best route and ranked alternatives between two places.

    Example: corridor route Almaty Rotterdam --avoid RUS --alternatives 3
    """
    plain = alternatives == 1 and not (avoid or avoid_mode or avoid_passage or via or service
                                       or month)
    if plain:  # answered from the network's snapshot when it has one (no pandas, no SciPy)
        from corridor import snapshot

        found = snapshot.answer(network, costs, origin, destination, commodity, optimize)
        if found is not None:
            for note in found.warnings:
                warn(note)
            _print_routes(found.routes, found.passage_names, as_json)
            return
    net = open_network(network, costs)
    if month:
        net = net.priced_at(month)
    from corridor.routing import RouteOptions, route
    from corridor.tables import split_lists

    options = RouteOptions(commodity=commodity, optimize=optimize, avoid=split_lists(avoid),
                           avoid_modes=split_lists(avoid_mode),
                           avoid_passages=split_lists(avoid_passage), via=via,
                           alternatives=alternatives, max_shared=max_shared, service=service)
    results = route(net, origin, destination, options)
    index = net.passage_index()
    _print_routes(results, {p: index.name(p) for r in results for p in r.passages}, as_json)
    if plain:
        from corridor import snapshot

        snapshot.store(net, network, costs)


def _print_routes(results: list[Route], passage_names: dict[str, str], as_json: bool) -> None:
    if as_json:
        print_json({"routes": [r.to_dict() for r in results]})
        return
    for result in results:
        console.print(route_table(result, [passage_names[p] for p in result.passages]))
        console.print()


@app.command("passages")
@handle_errors
def passages_command(
    kind: Annotated[str | None, typer.Option(
        help="Only this kind: strait, canal, sea_crossing, border_post, gauge_change")] = None,
    as_json: JsonOption = False,
    network: NetworkOption = None,
    costs: CostsOption = None,
) -> None:
    """List the straits, Caspian crossings, border posts and gauge changes routes can avoid.

    Routes and flows report the passages they use; --avoid-passage takes their ids.

    Example: corridor passages --kind strait
    """
    from corridor.passages import PASSAGE_KINDS

    net = open_network(network, costs)
    if kind is not None and kind not in PASSAGE_KINDS:
        from corridor.errors import InvalidOptionError

        raise InvalidOptionError(f"Unknown passage kind {kind!r}; choose one of "
                                 f"{', '.join(PASSAGE_KINDS)}.")
    index = net.passage_index()
    rows = [{"passage_id": p, "name": index.name(p), "kind": index.table.at[p, "kind"],
             "links": len(index.link_rows[p]), "nodes": len(index.node_rows[p])}
            for p in index.ids if kind in (None, index.table.at[p, "kind"])]
    if as_json:
        print_json(rows)
        return
    out = Table()
    for name in ("passage_id", "name", "kind", "links", "nodes"):
        out.add_column(name, justify="right" if name in ("links", "nodes") else "left")
    for row in rows:
        out.add_row(*(str(row[k]) for k in ("passage_id", "name", "kind", "links", "nodes")))
    console.print(out)


@app.command("places")
@handle_errors
def places_command(
    query: Annotated[str | None, typer.Argument(help="Part of a name to look for.")] = None,
    as_json: JsonOption = False,
    network: NetworkOption = None,
    costs: CostsOption = None,
) -> None:
    """List the places of the network (or those matching QUERY).

    Example: corridor places актау
    """
    from corridor.network import normalise_name

    net = open_network(network, costs)
    table = net.places().reset_index()
    if query:
        key = normalise_name(query)
        hay = (table["node_id"] + " " + table["name"] + " " + table["name_ru"] + " "
               + table["aliases"]).map(normalise_name)
        table = table[hay.str.contains(key, regex=False)]
        if table.empty:
            net.resolve(query)  # raises with suggestions
    if as_json:
        print_json(table.to_dict(orient="records"))
        return
    out = Table()
    for name in ("node_id", "name", "name_ru", "country", "kind"):
        out.add_column(name)
    for row in table.itertuples():
        out.add_row(row.node_id, row.name, row.name_ru, row.country, row.kind)
    console.print(out)


@app.command("validate")
@handle_errors
def validate_command(
    network: Annotated[Path | None, typer.Argument(help="Network folder to check.")] = None,
    costs: CostsOption = None,
) -> None:
    """Check a network folder; print what is wrong (file, row, field) or a summary.

    Example: corridor validate my-network/
    """
    net = open_network(network, costs, show_warnings=False)
    counts = net.links["mode"].value_counts().to_dict()
    console.print(f"ok: {len(net.nodes)} nodes, {len(net.links)} links "
                  f"({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}), "
                  f"{len(net.sources)} sources")
    for note in net.warnings:
        warn(note)


@app.command("sources")
@handle_errors
def sources_command(
    as_json: JsonOption = False,
    network: NetworkOption = None,
    costs: CostsOption = None,
) -> None:
    """List the publications every figure of the data comes from.

    Example: corridor sources --json
    """
    net = open_network(network, costs)
    table = net.sources.reset_index()
    if as_json:
        print_json(table.to_dict(orient="records"))
        return
    out = Table()
    for name in ("source_id", "title", "publisher", "year", "url"):
        out.add_column(name, overflow="fold")
    for row in table.itertuples():
        out.add_row(row.source_id, row.title, row.publisher, str(row.year), row.url)
    console.print(out)
