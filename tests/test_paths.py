"""Route generation: the same optimum as the arc formulation (objective and stranded tonnes)
on the tiny network under congestion, on the shipped data and its scenarios."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

import corridor
from corridor.demand import load_demand
from corridor.errors import InvalidOptionError
from corridor.flow import assign, search
from corridor.flow.paths import PathAssignment, _Layout, _search_matrix
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


def test_searches_over_worker_processes_find_the_same_routes(
        net: corridor.Network, monkeypatch: pytest.MonkeyPatch) -> None:
    links = net.links.copy()  # halved capacities: many rounds of searches
    links["capacity_t_per_year"] *= 0.5
    tight = dataclasses.replace(net, links=links)
    table = load_demand(network=net)
    here = PathAssignment(tight, table, processes=1)
    here.solve()
    monkeypatch.setattr(search, "PARALLEL_WORK", 0)  # the shipped data is small: force them
    used: list[bool] = []
    run = search.Searcher.run

    def counted(self: search.Searcher, matrix, batches):  # noqa: ANN001, ANN202
        used.append(self._pool is not None)
        return run(self, matrix, batches)

    monkeypatch.setattr(search.Searcher, "run", counted)
    spread = PathAssignment(tight, table, processes=2)
    spread.solve()
    assert any(used)
    assert spread.rounds == here.rounds
    assert [(od, a.tolist()) for od, a in spread.routes] == \
        [(od, a.tolist()) for od, a in here.routes]


def test_split_searches_come_back_in_order() -> None:
    rng = np.random.default_rng(3)
    n = 60
    tail, head = rng.integers(0, n, 400), rng.integers(0, n, 400)
    matrix = csr_matrix((rng.uniform(1, 10, 400), (tail, head)), shape=(n, n))
    batches = [search.Batch(np.array(s), tuple(rng.integers(-1, n, 4) for _ in s), limit)
               for s, limit in (([0, 5, 9], np.inf), ([12], 15.0), ([20, 30], np.inf))]
    pieces = search._split(batches, 2)
    assert sum(len(b.sources) for part in pieces for b in part) == 6
    again = search._regroup([search.shortest_paths(matrix, part) for part in pieces], batches)
    direct = search.shortest_paths(matrix, batches)
    assert [[[None if p is None else p.tolist() for p in o] for o in b] for b in again] == \
        [[[None if p is None else p.tolist() for p in o] for o in b] for b in direct]
    dist = dijkstra(matrix, indices=0)
    for sink, path in zip(batches[0].sinks[0], direct[0][0], strict=True):
        if sink < 0 or not np.isfinite(dist[sink]):
            assert path is None
        else:
            assert path[0] == 0 and path[-1] == sink
            assert matrix[path[:-1], path[1:]].sum() == pytest.approx(dist[sink])


def test_a_search_layout_gives_the_matrix_built_afresh(net: corridor.Network) -> None:
    paths = PathAssignment(net, load_demand(network=net))
    rng = np.random.default_rng(5)
    for key, graph in paths.graphs.items():
        origin = next(o for o in paths.origins if o.graph_key == key)
        searched = origin.usable & paths.searched[key]
        layout = _Layout(graph, searched)
        weights = rng.uniform(0.0, 50.0, len(graph.tail))
        weights[rng.random(len(weights)) < 0.1] = 0.0
        fast, (keys, arcs) = layout.matrix(graph, weights)
        fresh, (keys0, arcs0) = _search_matrix(graph, weights, searched)
        assert (fast != fresh).nnz == 0
        assert keys.tolist() == keys0.tolist() and arcs.tolist() == arcs0.tolist()
