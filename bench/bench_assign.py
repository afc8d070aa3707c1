"""Benchmark: assignment and criticality, warm vs cold re-solves, 1 vs 2 worker processes.

Runs on the shipped dataset (full criticality of every link) and on generated grid networks of
growing size (rail grids with random capacities and random container demand). On the large
grids a cold re-solve per link takes too long to run in full, so every method re-solves the
same sample of the most-used links and the full time is extrapolated from the time per
re-solve (marked ``~``).

Usage::

    .venv/bin/python bench/bench_assign.py                 # dataset + 1k/5k/20k-link grids
    .venv/bin/python bench/bench_assign.py --sizes 1000 --sample 20
"""

from __future__ import annotations

import argparse
import time
import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from corridor.cost import load_cost_model
from corridor.critical import Reoptimiser, run_closures
from corridor.demand import load_demand
from corridor.flow import FlowModel, build_result, solve_model
from corridor.network import Network, load_network


def grid_network(n_links: int, seed: int = 0) -> Network:
    """A square rail grid with about ``n_links`` links, a third of them capacitated."""
    rng = np.random.default_rng(seed)
    side = int(round((1 + np.sqrt(1 + 2 * n_links)) / 2))  # 2 * side * (side - 1) links
    ids = [f"n{i}_{j}" for i in range(side) for j in range(side)]
    nodes = pd.DataFrame({
        "name": ids, "name_ru": "", "aliases": "", "country": "KAZ",
        "lon": np.repeat(np.linspace(50, 80, side), side),
        "lat": np.tile(np.linspace(40, 55, side), side), "kind": "rail_junction",
        "source_id": "bench", "estimated": "", "estimate_method": "", "notes": "",
    }, index=pd.Index(ids, name="node_id"))
    a, b = [], []
    for i in range(side):
        for j in range(side):
            if j + 1 < side:
                a.append(f"n{i}_{j}")
                b.append(f"n{i}_{j + 1}")
            if i + 1 < side:
                a.append(f"n{i}_{j}")
                b.append(f"n{i + 1}_{j}")
    n = len(a)
    capacity = np.where(rng.random(n) < 1 / 3, rng.uniform(0.5e6, 4e6, n), np.nan)
    links = pd.DataFrame({
        "from_node_id": a, "to_node_id": b, "directed": False, "mode": "rail",
        "length_km": rng.uniform(50, 300, n), "length_method": "bench",
        "gauge_mm": pd.array([1520] * n, dtype="Int64"), "country": "KAZ",
        "corridor": "Grid", "capacity_t_per_year": capacity,
        "capacity_teu_per_year": np.nan, "time_days": np.nan, "tariff_usd_per_t": np.nan,
        "border_delay_days": np.nan, "status": "operating", "source_id": "bench",
        "estimated": "", "estimate_method": "", "notes": "", "geometry": "",
    }, index=pd.Index([f"l{k}" for k in range(n)], name="link_id"))
    costs = load_cost_model(Path(str(resources.files("corridor") / "data" / "costs")))
    return Network(nodes=nodes, links=links, sources=costs.sources, costs=costs)


def grid_demand(network: Network, n_origins: int = 8, per_origin: int = 4,
                seed: int = 1) -> pd.DataFrame:
    """Random container demand between grid nodes (origins on the west edge, any destination)."""
    rng = np.random.default_rng(seed)
    ids = network.nodes.index.to_numpy()
    rows = []
    for origin in rng.choice(ids, n_origins, replace=False):
        for destination in rng.choice(ids, per_origin, replace=False):
            if destination != origin:
                rows.append({"origin": origin, "destination": destination,
                             "commodity": "container",
                             "t_per_year": float(rng.uniform(0.2e6, 3e6))})
    return pd.DataFrame(rows)


def bench_one(label: str, network: Network, demand: pd.DataFrame,
              sample: int | None) -> list[dict]:
    started = time.perf_counter()
    model = FlowModel(network, demand)
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    values, duals = solve_model(model.highs())
    solve_s = time.perf_counter() - started
    result = build_result(model, values, duals)
    assign_s = build_s + solve_s
    print(f"{label}: {len(network.links)} links, LP {model.n_cols} x {model.n_rows}, "
          f"assignment {assign_s:.2f} s (build {build_s:.2f}, solve {solve_s:.2f})", flush=True)
    flows = result.link_flows["flow_t_per_year"].to_numpy()
    used = np.flatnonzero(flows > 0.5)
    order = used[np.argsort(-flows[used])]
    chosen = order if sample is None else order[:sample]
    jobs = [model.link_columns([p]) for p in chosen]
    reopt = Reoptimiser(model)
    rows = []
    timings = {}
    for method, workers in (("cold", 1), ("warm", 1), ("warm", 2)):
        started = time.perf_counter()
        run_closures(reopt, jobs, method, workers)
        seconds = time.perf_counter() - started
        per_solve = seconds / max(len(jobs), 1)
        full = per_solve * len(used)
        timings[(method, workers)] = full
        print(f"  {label}: {method}/{workers}p {len(jobs)} re-solves in {seconds:.2f} s",
              flush=True)
        rows.append({"network": label, "links": len(network.links),
                     "lp": f"{model.n_cols}x{model.n_rows}", "assign_s": assign_s,
                     "method": f"{method}/{workers}p", "resolves": len(jobs),
                     "ms_per_resolve": 1000 * per_solve,
                     "full_criticality_s": full, "extrapolated": len(jobs) < len(used),
                     "links_used": len(used)})
    for row in rows:
        row["speedup_vs_cold"] = timings[("cold", 1)] / row["full_criticality_s"]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 5000, 20000])
    parser.add_argument("--sample", type=int, default=30,
                        help="re-solves per method on generated grids")
    parser.add_argument("--no-dataset", action="store_true")
    parser.add_argument("--demand", type=Path, default=None,
                        help="demand CSV for the dataset run (default: the shipped baseline)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rows: list[dict] = []
    if not args.no_dataset:
        net = load_network()
        rows += bench_one("dataset", net, load_demand(args.demand, net), None)
    for size in args.sizes:
        net = grid_network(size)
        rows += bench_one(f"grid {size}", net, grid_demand(net), args.sample)
    table = pd.DataFrame(rows)
    table["full_criticality_s"] = [
        f"{'~' if ex else ''}{s:,.1f}" for s, ex in zip(table["full_criticality_s"],
                                                       table["extrapolated"], strict=True)]
    table = table.drop(columns="extrapolated")
    with pd.option_context("display.width", 200, "display.max_columns", 20,
                           "display.float_format", "{:,.2f}".format):
        print(table.to_string(index=False))


if __name__ == "__main__":
    main()
