"""Benchmark: what a user waits for when running one command, measured as whole processes.

Each command runs ``--repeat`` times as a fresh process (after one unmeasured warm-up run that
fills the OS file cache); the table gives the median and the fastest wall time. Floors put the
figures in context: the bare interpreter, and the imports the route path pulls in (pandas,
SciPy's graph module) on their own.

Usage::

    .venv/bin/python bench/bench_startup.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
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
    ("corridor route Almaty Rotterdam", [str(BIN / "corridor"), "route", "Almaty", "Rotterdam"]),
    ("corridor route ... --json", [str(BIN / "corridor"), "route", "Almaty", "Rotterdam",
                                   "--json"]),
]


def _time(command: list[str], repeat: int) -> list[float]:
    subprocess.run(command, capture_output=True, check=True)  # warm the file cache
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        out.append(time.perf_counter() - start)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)
    print(f"{'process':36s} {'median_s':>9s} {'min_s':>7s}")
    for label, command in CASES:
        times = _time(command, args.repeat)
        print(f"{label:36s} {statistics.median(times):9.3f} {min(times):7.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
