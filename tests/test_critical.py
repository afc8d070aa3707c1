"""Criticality ranking: damage of losing each link or node, warm and cold re-solves agree."""

from __future__ import annotations

import pandas as pd
import pytest

from corridor.critical import critical
from corridor.demand import load_demand
from corridor.errors import InvalidOptionError
from corridor.flow import assign
from corridor.scenario import load_scenario
from tests.conftest import FIXTURES

FLOWS = FIXTURES / "flows"


@pytest.fixture(scope="module")
def demand(tiny) -> pd.DataFrame:
    return load_demand(FLOWS / "demand.csv", tiny)


@pytest.fixture(scope="module")
def ranking(tiny, demand) -> pd.DataFrame:
    return critical(tiny, demand)


def _closed(tiny, demand, tmp_path, selector: str, value: str):
    path = tmp_path / f"close-{value}.toml"
    path.write_text(f'[[close]]\n{selector} = "{value}"\nassumption = "test"\n', "utf-8")
    return assign(tiny, demand, load_scenario(path))


def test_every_link_is_ranked_and_unused_links_do_no_harm(tiny, ranking) -> None:
    assert set(ranking["link_id"]) == set(tiny.links.index)
    assert list(ranking["rank"]) == list(range(1, len(tiny.links) + 1))
    unused = ranking[ranking["flow_t_per_year"] == 0]
    assert set(unused["link_id"]) == {"op", "qz"}
    assert (unused[["stranded_t", "added_cost_usd", "added_generalised_usd"]] == 0).all().all()
    assert ranking.attrs["solves"] == len(tiny.links) - 2


def test_hand_checked_damage(ranking) -> None:
    row = ranking.set_index("link_id").loc["ob"]
    # crude o->z detours o-p-a-b-z at 143 instead of 48 USD/t: +95 x 5 Mt
    assert row["added_cost_usd"] == pytest.approx(5e6 * 95)
    assert row["stranded_t"] == 0
    # ranked by damage: generalised cost added, most first (nothing strands in this network)
    assert ranking["added_generalised_usd"].is_monotonic_decreasing
    assert ranking.iloc[0]["link_id"] == "ob"


def test_damage_equals_a_fresh_assignment_without_the_link(tiny, demand, ranking,
                                                           tmp_path) -> None:
    base = assign(tiny, demand)
    for row in ranking[ranking["flow_t_per_year"] > 0].itertuples():
        fresh = _closed(tiny, demand, tmp_path, "link", row.link_id)
        assert row.stranded_t == pytest.approx(
            fresh.totals["stranded_t"] - base.totals["stranded_t"], abs=1.0)
        assert row.added_cost_usd == pytest.approx(
            fresh.totals["cost_usd"] - base.totals["cost_usd"], rel=1e-6, abs=1.0)


def test_warm_cold_and_parallel_agree(tiny, demand, ranking) -> None:
    columns = ["link_id", "stranded_t", "added_cost_usd", "added_generalised_usd"]
    for method, workers in (("cold", 1), ("warm", 2)):
        other = critical(tiny, demand, method=method, workers=workers)
        merged = ranking[columns].merge(other[columns], on="link_id")
        for name in columns[1:]:
            assert merged[f"{name}_x"].to_numpy() == pytest.approx(
                merged[f"{name}_y"].to_numpy(), rel=1e-6, abs=1.0)


def test_nodes_strand_their_own_demand(tiny, demand, tmp_path) -> None:
    nodes = critical(tiny, demand, what="node").set_index("node_id")
    # z receives a->z (1 Mt) and o->z (5 Mt); o ships 5 Mt; a ships 1.2 Mt
    assert nodes.loc["z", "stranded_t"] == pytest.approx(6e6)
    assert nodes.loc["o", "stranded_t"] == pytest.approx(5e6)
    assert nodes.loc["a", "stranded_t"] == pytest.approx(1.2e6)
    # ranked by loss: a's 1.2 Mt of containers (50,000 USD/t in the tiny cost model) are
    # worth more than z's 1 Mt of containers and 5 Mt of crude (500 USD/t)
    assert nodes.loc["a", "stranded_value_usd"] == pytest.approx(1.2e6 * 50_000)
    assert nodes.loc["z", "stranded_value_usd"] == pytest.approx(1e6 * 50_000 + 5e6 * 500)
    assert nodes.index[0] == "a"
    assert nodes["loss_usd"].is_monotonic_decreasing
    assert nodes.loc["z", "flow_t_per_year"] == pytest.approx(6e6)
    fresh = _closed(tiny, demand, tmp_path, "node", "b")
    assert nodes.loc["b", "stranded_t"] == pytest.approx(fresh.totals["stranded_t"])


def test_options(tiny, demand) -> None:
    assert len(critical(tiny, demand, top=3)) == 3
    with pytest.raises(InvalidOptionError):
        critical(tiny, demand, what="edge")
    with pytest.raises(InvalidOptionError):
        critical(tiny, demand, method="lukewarm")


def test_shipped_dataset_ranking_is_consistent(net) -> None:
    demand = load_demand(network=net)
    ranking = critical(net, demand, top=3)
    base = assign(net, demand)
    for row in ranking.itertuples():
        fresh = assign(net, demand, _scenario_closing(row.link_id))
        assert row.stranded_t == pytest.approx(
            fresh.totals["stranded_t"] - base.totals["stranded_t"], abs=10.0)


def _scenario_closing(link_id: str):
    from corridor.scenario import Action, Scenario

    return Scenario(name=f"close-{link_id}", actions=[
        Action("close", {"link": [link_id]}, "test", "", "<test>", "close[1]")])


def test_cli_critical_compare_and_flows() -> None:
    import json

    from typer.testing import CliRunner

    from corridor.cli import app
    from tests.conftest import TINY

    runner = CliRunner()
    args = ["--network", str(TINY / "network"), "--costs", str(TINY / "costs"),
            "--demand", str(FLOWS / "demand.csv")]
    out = runner.invoke(app, ["critical", "--top", "3", "--json", *args])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert [r["rank"] for r in data["ranking"]] == [1, 2, 3]
    assert data["ranking"][0]["link_id"] == "ob"
    table = runner.invoke(app, ["critical", "--nodes", *args])
    assert table.exit_code == 0 and "Single points of failure" in table.output
    compared = runner.invoke(app, ["compare", "baseline",
                                   str(FLOWS / "scenarios" / "close-pipe.toml"), "--json", *args])
    assert compared.exit_code == 0, compared.output
    totals = {r["metric"]: r for r in json.loads(compared.stdout)["totals"]}
    assert totals["cost_usd"]["change"] == pytest.approx(5e6 * 95)
    flows = runner.invoke(app, ["flows", *args])
    assert flows.exit_code == 0 and "Demand served" in flows.output
    dependency = runner.invoke(app, ["dependency", "--exporter", "KAZ", "--json", *args])
    assert dependency.exit_code == 0
    assert any(r["key"] == "RUS" for r in json.loads(dependency.stdout)["shares"])


@pytest.mark.parametrize("workers", [1, 2])
def test_progress_counts_every_re_solve(tiny, demand, workers: int) -> None:
    seen: list[tuple[int, int]] = []
    ranking = critical(tiny, demand, workers=workers,
                       progress=lambda n, total: seen.append((n, total)))
    assert sum(n for n, _ in seen) == ranking.attrs["solves"]
    assert {total for _, total in seen} == {ranking.attrs["solves"]}
