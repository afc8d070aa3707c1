"""Load test of ``GET /api/route``: requests per second and p50/p99 latency on loopback.

Starts ``corridor serve`` (uvicorn, one process) in a subprocess on a free port and drives it
with 1, 4 and 16 concurrent httpx/asyncio clients, each asking for routes between pairs of
places drawn (with a fixed seed) from the network's cities and ports. Prints a table.

Usage::

    python bench/bench_load.py                 # the shipped dataset
    python bench/bench_load.py --tiny          # the hand-made test network
    python bench/bench_load.py --requests 400 --concurrency 1 4 16 --alternatives 3
    python bench/bench_load.py --workers 2    # two uvicorn processes
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "tests" / "fixtures" / "tiny"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int, tiny: bool, workers: int = 1) -> subprocess.Popen:
    command = [sys.executable, "-m", "corridor", "serve", "--port", str(port),
               "--workers", str(workers)]
    if tiny:
        command += ["--network", str(TINY / "network"), "--costs", str(TINY / "costs")]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server failed: {process.stderr.read().decode()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("server did not start in 60 s")


def pairs(base: str, count: int, seed: int = 7) -> list[tuple[str, str]]:
    """Origin–destination pairs of places that have a container route."""
    places = httpx.get(f"{base}/api/places", params={"limit": 50}, timeout=10).json()["places"]
    every = [p["id"] for p in places]
    rng = random.Random(seed)
    found: list[tuple[str, str]] = []
    tries = 0
    while len(found) < count and tries < 40 * count:
        tries += 1
        a, b = rng.sample(every, 2)
        response = httpx.get(f"{base}/api/route", params={"origin": a, "destination": b},
                             timeout=30)
        if response.status_code == 200:
            found.append((a, b))
    if not found:
        raise SystemExit("no routable pair found")
    return found


async def run_level(base: str, od: list[tuple[str, str]], concurrency: int, total: int,
                    alternatives: int) -> dict:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        for i in counter:
            origin, destination = od[i % len(od)]
            started = time.perf_counter()
            response = await client.get("/api/route", params={
                "origin": origin, "destination": destination, "alternatives": alternatives})
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                errors += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    return {"concurrency": concurrency, "requests": len(latencies), "errors": errors,
            "rps": len(latencies) / elapsed, "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * p99}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="use the hand-made test network")
    parser.add_argument("--requests", type=int, default=300, help="requests per level")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--alternatives", type=int, default=1)
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    args = parser.parse_args()
    port = free_port()
    server = start_server(port, args.tiny, args.workers)
    base = f"http://127.0.0.1:{port}"
    try:
        od = pairs(base, args.pairs)
        for origin, destination in od:  # warm-up: every pair once
            httpx.get(f"{base}/api/route", params={"origin": origin, "destination": destination,
                                                   "alternatives": args.alternatives})
        rows = [asyncio.run(run_level(base, od, c, args.requests, args.alternatives))
                for c in args.concurrency]
    finally:
        server.terminate()
        server.wait(10)
    network = "tiny test network" if args.tiny else "shipped dataset"
    print(f"GET /api/route on loopback, {network}, {len(od)} OD pairs, alternatives="
          f"{args.alternatives}, {args.workers} uvicorn process(es), {os.cpu_count()} CPUs")
    print()
    print("| clients | requests | errors | req/s | p50 ms | p99 ms |")
    print("|--------:|---------:|-------:|------:|-------:|-------:|")
    for row in rows:
        print(f"| {row['concurrency']:>7} | {row['requests']:>8} | {row['errors']:>6} | "
              f"{row['rps']:>5.0f} | {row['p50_ms']:>6.1f} | {row['p99_ms']:>6.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
