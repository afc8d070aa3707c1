"""A large fuzzing campaign over the loaders, scenarios, command line and API; prints a table.

Runs the generators of ``tests/strategies.py`` (the CI tests run them with a small budget) and
Schemathesis cases generated from the API's OpenAPI schema, and counts for each surface the
cases tried, the clear errors, and the failures: tracebacks (any exception that is not a
Corridor error), 5xx responses and changed input files. The first failures are printed.

Usage::

    python scripts/fuzz_campaign.py [--cases N] [--seed S]

``--cases`` is the budget per surface (default 3,000: over 10,000 cases in all, about three
minutes on two cores). Figures are in ``docs/security.md``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import corridor  # noqa: E402
from corridor.demand import load_demand  # noqa: E402
from tests.strategies import (  # noqa: E402
    FLOWS,
    TINY,
    check_cli,
    check_loaders,
    check_scenario,
    cli_args,
    make_workspace,
    mutations,
    scenario_data,
)


class Tally:
    """Counts of one surface."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.cases = self.errors = 0
        self.failures: list[str] = []
        self.seconds = 0.0

    def run(self, case: Callable[[], str | int | bool]) -> None:
        self.cases += 1
        try:
            outcome = case()
        except AssertionError as exc:
            text = str(exc)
            self.failures.append(text if len(text) <= 600 else f"{text[:200]} … {text[-400:]}")
            return
        except Exception as exc:  # noqa: BLE001 (a traceback is exactly what we count)
            self.failures.append(f"{type(exc).__name__}: {str(exc)[:300]}")
            return
        if outcome in ("error", 2, 3, "4xx"):
            self.errors += 1


def _explore(strategy: st.SearchStrategy, cases: int, seed: int,
             body: Callable[[object], None]) -> None:
    """Draw ``cases`` examples of ``strategy`` (no shrinking) and hand each to ``body``."""

    @settings(max_examples=cases, deadline=None, database=None, derandomize=False,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(example: object) -> None:
        body(example)

    run._hypothesis_internal_use_seed = seed  # type: ignore[attr-defined]
    run()


def loaders(cases: int, seed: int) -> Tally:
    tally = Tally("loaders (network, costs, demand files)")
    with tempfile.TemporaryDirectory() as tmp:
        def body(mutation) -> None:  # noqa: ANN001
            folder = make_workspace(Path(tmp) / "w")
            tally.run(lambda: check_loaders(folder, mutation))
        _explore(mutations(), cases, seed, body)
    return tally


def scenarios(cases: int, seed: int) -> Tally:
    tally = Tally("scenarios (parsed and applied)")
    net = corridor.load_network(TINY / "network", TINY / "costs")
    demand = load_demand(FLOWS / "demand.csv", net)
    _explore(scenario_data(), cases, seed,
             lambda data: tally.run(lambda: check_scenario(data, net, demand)))
    return tally


def command_line(cases: int, seed: int) -> Tally:
    tally = Tally("command line (every command)")
    with tempfile.TemporaryDirectory() as tmp:
        _explore(cli_args(), cases, seed,
                 lambda args: tally.run(lambda: check_cli(Path(tmp) / "w", args)))
    return tally


def api(cases: int, seed: int) -> Tally:
    """Schemathesis cases from the OpenAPI schema plus generated posted scenarios."""
    import schemathesis
    from fastapi.testclient import TestClient

    from corridor.service import create_app

    tally = Tally("API (OpenAPI-generated + posted scenarios)")
    net = corridor.load_network(TINY / "network", TINY / "costs")
    demand = load_demand(FLOWS / "demand.csv", net)
    app = create_app(net, demand, FLOWS / "scenarios")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    per_operation = max(1, cases // 2 // len(operations))

    def call(case) -> str:  # noqa: ANN001
        response = case.call()
        assert response.status_code < 500, (
            f"{case.method} {case.path} {case.query} {case.body!r:.200}: "
            f"{response.status_code} {response.text[:200]}")
        if response.status_code >= 400:
            body = response.json()
            assert body.get("error") and body.get("message"), response.text[:200]
            assert "Traceback" not in response.text
            return "4xx"
        return "ok"

    for operation in operations:
        _explore(operation.as_strategy(), per_operation, seed,
                 lambda case: tally.run(lambda: call(case)))
    client = TestClient(app, raise_server_exceptions=False)

    def post(data: dict) -> str:
        response = client.post("/api/scenarios/run", json=data)
        assert response.status_code < 500, f"{data!r:.300}: {response.text[:200]}"
        return "4xx" if response.status_code >= 400 else "ok"

    rest = cases - per_operation * len(operations)
    _explore(scenario_data(), rest, seed, lambda data: tally.run(lambda: post(data)))
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=3000, help="cases per surface")
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    tallies = []
    for surface in (loaders, scenarios, command_line, api):
        started = time.perf_counter()
        tally = surface(args.cases, args.seed)
        tally.seconds = time.perf_counter() - started
        tallies.append(tally)
        print(f"  {tally.name}: {tally.cases} cases, {len(tally.failures)} failures, "
              f"{tally.seconds:.0f} s", file=sys.stderr)
    print("| surface | cases | clear errors | failures | seconds |")
    print("|---|---:|---:|---:|---:|")
    for t in tallies:
        print(f"| {t.name} | {t.cases:,} | {t.errors:,} | {len(t.failures)} | {t.seconds:.0f} |")
    total = sum(t.cases for t in tallies)
    failures = sum(len(t.failures) for t in tallies)
    print(f"| all | {total:,} | {sum(t.errors for t in tallies):,} | {failures} | "
          f"{sum(t.seconds for t in tallies):.0f} |")
    for t in tallies:
        for failure in t.failures[:5]:
            print(f"\n[{t.name}] {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
