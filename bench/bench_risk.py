"""Benchmark: Monte Carlo draws a minute on the shipped data, by number of local processes.

Each run draws the same years (same seed) of the shipped ``cpc-record`` risk file; the table
gives the wall time of the whole run (building the base programme included, and starting the
cluster for the Dask engine), draws a minute, and whether the draws equal those of one
process. A second block times the same file without
its parameter ranges, where every event set is solved once and reused by every draw.

Usage::

    .venv/bin/python bench/bench_risk.py [--draws 2000] [--workers 1 2] [--dask]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time

import pandas as pd

from corridor.demand import load_demand
from corridor.network import load_network
from corridor.risk import load_risk, run_risk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dask", action="store_true",
                        help="also run on a local Dask cluster of the largest --workers")
    args = parser.parse_args()
    net = load_network()
    demand = load_demand(network=net)
    full = load_risk("cpc-record")
    events_only = dataclasses.replace(full, parameters=[])
    print(f"{os.cpu_count()} cores; {args.draws} draws of cpc-record; seed {args.seed}")
    print(f"{'risk file':<28}{'processes':>10}{'seconds':>10}{'draws/min':>12}"
          f"{'same draws':>12}")
    for label, risk in (("events and tariff ranges", full), ("events only", events_only)):
        reference: pd.DataFrame | None = None
        runs = [("local", w) for w in args.workers]
        if args.dask:
            runs.append(("dask", max(args.workers)))
        for engine, workers in runs:
            start = time.perf_counter()
            result = run_risk(net, demand, risk, draws=args.draws, seed=args.seed,
                              workers=workers, engine=engine)
            seconds = time.perf_counter() - start
            if reference is None:
                reference = result.draws
            same = result.draws.equals(reference)
            shown = f"{workers}" if engine == "local" else f"dask {workers}"
            print(f"{label:<28}{shown:>10}{seconds:>10.2f}{args.draws / seconds * 60:>12,.0f}"
                  f"{'yes' if same else 'NO':>12}")


if __name__ == "__main__":
    main()
