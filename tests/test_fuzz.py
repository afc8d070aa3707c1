"""Property-based fuzzing of the loaders, scenarios, command line and API (a small budget).

The same generators run with a large budget in ``scripts/fuzz_campaign.py``; here each property
gets enough examples to catch a regression of any class of fault in a CI run.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import corridor
from corridor.demand import load_demand
from tests.strategies import (
    FLOWS,
    TINY,
    Mutation,
    check_cli,
    check_loaders,
    check_scenario,
    cli_args,
    make_workspace,
    mutations,
    scenario_data,
)

FAST = settings(max_examples=120, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


@FAST
@given(mutations())
def test_loaders_answer_every_mutation_with_data_or_a_located_error(mutation: Mutation) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = make_workspace(Path(tmp) / "w")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check_loaders(folder, mutation)


@pytest.fixture(scope="module")
def tiny_inputs() -> tuple[corridor.Network, object]:
    net = corridor.load_network(TINY / "network", TINY / "costs")
    return net, load_demand(FLOWS / "demand.csv", net)


@FAST
@given(scenario_data())
def test_scenarios_answer_every_input_with_a_result_or_a_data_error(tiny_inputs,
                                                                    data: dict) -> None:
    network, demand = tiny_inputs
    before = network.links.copy(), demand.copy()
    check_scenario(data, network, demand)
    assert network.links.equals(before[0]) and demand.equals(before[1])  # inputs untouched


@settings(max_examples=80, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(cli_args())
def test_command_line_never_tracebacks_or_changes_inputs(args: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_cli(Path(tmp) / "w", args)


def _api_schema():  # noqa: ANN202
    import schemathesis

    from corridor.service import create_app

    net = corridor.load_network(TINY / "network", TINY / "costs")
    app = create_app(net, load_demand(FLOWS / "demand.csv", net), FLOWS / "scenarios")
    return schemathesis.openapi.from_asgi("/openapi.json", app)


api_schema = _api_schema()


@api_schema.parametrize()
@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_answers_generated_requests_without_a_server_error(case) -> None:  # noqa: ANN001
    response = case.call()
    assert response.status_code < 500, (case.path, case.query, case.body, response.text)
    if response.status_code >= 400:
        body = response.json()
        assert body["error"] and body["message"] and "Traceback" not in response.text
