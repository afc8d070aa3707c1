"""Benchmark: what a user waits for when running one command, measured as whole processes.

Each command runs ``--repeat`` times as a fresh process (after one unmeasured warm-up run that
fills the OS file cache); the table gives the median and the fastest wall time. Floors put the
figures in context: the bare interpreter, and the imports the full route path pulls in (pandas,
SciPy's graph module) on their own.

``corridor route`` runs three ways, each with its own empty cache folder
(``CORRIDOR_CACHE_DIR``): answered from the network's snapshot (the usual case: the snapshot
is written by the first plain query), the first query, which loads the network and writes the
snapshot (the cache is emptied before every run), and with snapshots turned off.

Usage::

    .venv/bin/python bench/bench_startup.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
CASES = [
    ("python -c pass (floor)", [sys.executable, "-c", "pass"]),
    ("import numpy", [sys.executable, "-c", "import numpy"]),
    ("import scipy.sparse.csgraph", [sys.executable, "-c", "import scipy.sparse.csgraph"]),
    ("import pandas", [sys.executable, "-c", "import pandas"]),
    ("import corridor", [sys.executable, "-c", "import corridor"]),
    ("corridor --help", [str(BIN / "corridor"), "--help"]),
]
ROUTE = [str(BIN / "corridor"), "route", "Almaty", "Rotterdam"]
#: (label, command, cache: "snapshot" | "first" | "off")
ROUTE_CASES = [
    ("corridor route Almaty Rotterdam", ROUTE, "snapshot"),
    ("corridor route ... --json", [*ROUTE, "--json"], "snapshot"),
    ("corridor route ... (first query)", ROUTE, "first"),
    ("corridor route ... (snapshots off)", ROUTE, "off"),
    ("corridor route ... --alternatives 3", [*ROUTE, "--alternatives", "3"], "snapshot"),
]


def _time(command: list[str], repeat: int, cache: Path | None = None,
          mode: str = "off") -> list[float]:
    env = dict(os.environ)
    if cache is not None:
        env["CORRIDOR_CACHE_DIR"] = "" if mode == "off" else str(cache)
    subprocess.run(command, capture_output=True, check=True, env=env)  # warm the file cache
    out = []
    for _ in range(repeat):
        if mode == "first" and cache is not None:
            shutil.rmtree(cache, ignore_errors=True)
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True, env=env)
        out.append(time.perf_counter() - start)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)
    print(f"{'process':36s} {'median_s':>9s} {'min_s':>7s}")
    rows = [(label, command, None, "off") for label, command in CASES]
    with tempfile.TemporaryDirectory(prefix="corridor-bench-") as tmp:
        rows += [(label, command, Path(tmp) / str(i), mode)
                 for i, (label, command, mode) in enumerate(ROUTE_CASES)]
        for label, command, cache, mode in rows:
            times = _time(command, args.repeat, cache, mode)
            print(f"{label:36s} {statistics.median(times):9.3f} {min(times):7.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
