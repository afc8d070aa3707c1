"""Benchmark: the arc formulation against route generation, side by side in one run.

Both assign the same demand on the same network: the shipped dataset and its scenarios, then
generated rail grids (``bench_assign.grid_network``, a third of the links capacitated) with
container demand from a number of origins. The table gives each formulation's wall time
(building and solving), route generation's time again with every search in one process, its
programme size, the share of capacitated links that bind at the optimum, the relative gap
between the two objectives and the difference in stranded tonnes. A run over its budget is
marked ``>``; the arc programme is not built when it would have more than
``ARC_COLUMN_LIMIT`` columns (``skipped``).

Usage::

    .venv/bin/python bench/bench_formulations.py [--budget 120]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

from corridor.demand import load_demand
from corridor.errors import TimeLimitError
from corridor.flow import assign
from corridor.network import load_network

sys.path.insert(0, str(Path(__file__).parent))
from bench_assign import grid_demand, grid_network  # noqa: E402

#: Above this many columns the arc programme is not built (memory): about 10 GB of arrays.
ARC_COLUMN_LIMIT = 5_000_000
#: (links, origins, demands per origin, demand scale): the last case carries a tenth of the
#: demand of the others, so that fewer of its links bind
CASES = [(1_000, 10, 10, 1.0), (5_000, 10, 10, 1.0), (10_000, 10, 10, 1.0),
         (10_000, 32, 32, 1.0), (100_000, 100, 10, 1.0), (100_000, 100, 10, 0.1)]


def _run(network, demand, scenario, formulation: str, budget: float,  # noqa: ANN001, ANN202
         processes: int | None = None):
    started = time.perf_counter()
    try:
        result = assign(network, demand, scenario, time_limit_s=budget, formulation=formulation,
                        processes=processes)
    except TimeLimitError:
        return None, time.perf_counter() - started
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=120.0, help="seconds per solve")
    parser.add_argument("--skip-large", action="store_true", help="leave out the 100k grid")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    net = load_network()
    demand = load_demand(network=net)
    cases = [("dataset", s, net, demand) for s in (None, "cpc-outage", "bypass-russia")]
    for links, origins, per, scale in CASES:
        if args.skip_large and links > 20_000:
            continue
        grid = grid_network(links)
        table = grid_demand(grid, origins, per)
        table["t_per_year"] *= scale
        label = f"grid {links:,} links, {origins} origins"
        label += "" if scale == 1 else f", demand ×{scale:g}"
        cases.append((label, None, grid, table))
    print(f"{'case':<50}{'ODs':>6}{'arc s':>9}{'paths s':>9}{'ratio':>7}{'1 proc s':>9}"
          f"{'routes':>8}{'rounds':>7}{'binding':>9}{'objective gap':>15}{'stranded diff t':>17}")
    for label, scenario, network, table in cases:
        name = f"{label}{' ' + scenario if scenario else ''}"
        # the arc programme has about one column per origin and arc (two arcs a link)
        columns = table["origin"].nunique() * 2 * len(network.links)
        if columns > ARC_COLUMN_LIMIT:
            arc, arc_s = None, float("nan")
        else:
            arc, arc_s = _run(network, table, scenario, "arc", args.budget)
        paths, paths_s = _run(network, table, scenario, "paths", args.budget)
        # the same with every search in this process (the default spreads them over the
        # cores on a large network)
        alone, alone_s = _run(network, table, scenario, "paths", args.budget, processes=1)
        gap = diff = "–"
        if arc is not None and paths is not None:
            a, b = arc.totals["objective_usd"], paths.totals["objective_usd"]
            gap = f"{(b - a) / a:.1e}"
            diff = f"{paths.totals['stranded_t'] - arc.totals['stranded_t']:,.1f}"
        arc_text = (f"{arc_s:.2f}" if arc is not None else
                    "skipped" if arc_s != arc_s else f">{args.budget:.0f}")
        paths_text = f"{paths_s:.2f}" if paths is not None else f">{args.budget:.0f}"
        ratio = f"{arc_s / paths_s:.1f}" if arc is not None and paths is not None else "–"
        alone_text = f"{alone_s:.2f}" if alone is not None else f">{args.budget:.0f}"
        routes = f"{paths.totals['routes']:,.0f}" if paths is not None else "–"
        rounds = f"{paths.totals['rounds']:.0f}" if paths is not None else "–"
        binding = "–"
        if paths is not None:  # share of the capacitated links that bind at the optimum
            flows = paths.link_flows
            capacitated = flows["capacity_t_per_year"].notna()
            binding = f"{(flows['saturated'] & capacitated).sum() / capacitated.sum():.1%}"
        print(f"{name:<50}{len(table):>6}{arc_text:>9}{paths_text:>9}{ratio:>7}{alone_text:>9}"
              f"{routes:>8}"
              f"{rounds:>7}{binding:>9}{gap:>15}{diff:>17}", flush=True)


if __name__ == "__main__":
    main()
