"""Route generation: the same optimum as the arc formulation (objective and stranded tonnes)
on the tiny network under congestion, on the shipped data and its scenarios."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import corridor
from corridor.demand import load_demand
from corridor.errors import InvalidOptionError
from corridor.flow import assign
from corridor.flow.paths import PathAssignment
from tests.conftest import FIXTURES

FLOWS = FIXTURES / "flows"


@pytest.fixture(scope="module")
def demand(tiny: corridor.Network) -> pd.DataFrame:
    return load_demand(FLOWS / "demand.csv", tiny)


def same_optimum(network: corridor.Network, demand: pd.DataFrame, scenario=None) -> None:  # noqa: ANN001
    arc = assign(network, demand, scenario)
    paths = assign(network, demand, scenario, formulation="paths")
    assert paths.totals["objective_usd"] == pytest.approx(arc.totals["objective_usd"],
                                                          rel=1e-6)
    assert paths.totals["stranded_t"] == pytest.approx(arc.totals["stranded_t"], abs=1.0)
    assert paths.od["delivered_t"].sum() == pytest.approx(arc.od["delivered_t"].sum(), abs=1.0)
    cap = arc.link_flows["capacity_t_per_year"].to_numpy()
    flow = paths.link_flows["flow_t_per_year"].to_numpy()
    assert (flow[np.isfinite(cap)] <= cap[np.isfinite(cap)] * (1 + 1e-6) + 1.0).all()


@settings(max_examples=25, deadline=None)
@given(capacities=st.lists(st.one_of(st.none(), st.floats(0.0, 6e6)), min_size=10,
                           max_size=10))
def test_same_optimum_as_the_arc_formulation_under_any_capacities(
        tiny: corridor.Network, demand: pd.DataFrame, capacities: list[float | None]) -> None:
    links = tiny.links.copy()
    links["capacity_t_per_year"] = [np.nan if c is None else c for c in capacities]
    same_optimum(dataclasses.replace(tiny, links=links), demand)


@pytest.mark.parametrize("scenario", [None, "cpc-outage", "bypass-russia"])
def test_same_optimum_on_the_shipped_data(net: corridor.Network, scenario: str | None) -> None:
    same_optimum(net, load_demand(network=net), scenario)


def test_idle_dear_routes_leave_and_the_optimum_stays(net: corridor.Network) -> None:
    links = net.links.copy()  # every capacity halved: more rounds, routes priced out
    links["capacity_t_per_year"] *= 0.5
    links["capacity_teu_per_year"] *= 0.5
    tight = dataclasses.replace(net, links=links)
    demand = load_demand(network=net)
    paths = PathAssignment(tight, demand)
    paths.solve()
    assert paths.rounds >= 5 and paths.generated > len(paths.routes) >= len(paths.od)
    same_optimum(tight, demand)


def test_rows_join_only_when_broken(net: corridor.Network) -> None:
    paths = PathAssignment(net, load_demand(network=net))
    paths.solve()
    capacity_rows = paths.n_rows - len(paths.od) - len(paths.contract_rows)
    joined = len(paths.master_rows) - len(paths.od) - len(paths.contract_rows)
    assert 0 < joined < capacity_rows
    assert paths.rounds >= 1 and len(paths.routes) >= len(paths.od)


def test_an_unknown_formulation_is_refused(tiny: corridor.Network,
                                           demand: pd.DataFrame) -> None:
    with pytest.raises(InvalidOptionError, match="formulation"):
        assign(tiny, demand, formulation="nodes")


def test_command_line_chooses_the_formulation() -> None:
    import json

    from typer.testing import CliRunner

    from corridor.cli import app
    from tests.conftest import TINY

    base = ["flows", "--json", "--network", str(TINY / "network"), "--costs",
            str(TINY / "costs"), "--demand", str(FLOWS / "demand.csv")]
    arc = json.loads(CliRunner().invoke(app, base).output)
    paths = json.loads(CliRunner().invoke(app, base + ["--formulation", "paths"]).output)
    assert paths["totals"]["objective_usd"] == pytest.approx(arc["totals"]["objective_usd"])
    assert paths["totals"]["routes"] >= 1 and "routes" not in arc["totals"]
    bad = CliRunner().invoke(app, base + ["--formulation", "nodes"])
    assert bad.exit_code == 2 and "formulation must be one of" in bad.output
