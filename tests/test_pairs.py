"""Combined failures: pairs ranked by damage and interaction, the bounds never prune a pair
that belongs in the ranking (checked against solving every pair)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

import corridor
from corridor.critical import Reoptimiser
from corridor.demand import load_demand
from corridor.errors import InvalidOptionError
from corridor.flow import MT, FlowModel
from corridor.pairs import _elements, critical_pairs
from tests.conftest import FIXTURES

FLOWS = FIXTURES / "flows"


@pytest.fixture(scope="module")
def demand(tiny: corridor.Network) -> pd.DataFrame:
    return load_demand(FLOWS / "demand.csv", tiny)


def brute_force(network: corridor.Network, demand: pd.DataFrame,
                kinds: tuple[str, ...]) -> dict[frozenset[str], float]:
    """The damage of every pair, each solved from scratch (no bounds, no warm start)."""
    model = FlowModel(network, demand)
    reopt = Reoptimiser(model)
    base = float(np.maximum(reopt.base_values, 0) @ model.col_cost) * MT
    from corridor.flow import build_result

    routes = build_result(model, reopt.base_values, np.zeros(model.n_rows)).route_split
    names, _, sets = _elements(network, model, routes, kinds)
    out = {}
    for a, b in itertools.combinations(range(len(names)), 2):
        cols = np.union1d(model.link_columns(sets[a]), model.link_columns(sets[b]))
        values = reopt.close(cols, "cold")
        out[frozenset((names[a], names[b]))] = float(
            np.maximum(values, 0) @ model.col_cost) * MT - base
    return out


def test_the_bounds_never_prune_a_pair_of_the_ranking(tiny: corridor.Network,
                                                      demand: pd.DataFrame) -> None:
    kinds = ("link", "corridor")
    truth = brute_force(tiny, demand, kinds)
    ranking = critical_pairs(tiny, demand, top=6, kinds=kinds)
    expected = sorted(truth.values(), reverse=True)[:6]
    assert ranking["damage_usd"].to_numpy() == pytest.approx(expected, rel=1e-6, abs=1.0)
    for row in ranking.itertuples():
        assert row.damage_usd <= row.upper_bound_usd * (1 + 1e-9) + 1.0
        assert row.damage_usd >= max(row.first_alone_usd, row.second_alone_usd) - 1.0
    assert ranking.attrs["pruned"] > 0


def test_parallel_corridors_are_worse_together_than_apart(tiny: corridor.Network,
                                                          demand: pd.DataFrame) -> None:
    ranking = critical_pairs(tiny, demand, top=3, kinds=("corridor",), by="interaction")
    first = ranking.iloc[0]
    assert {first["first"], first["second"]} == {"North", "Middle"}
    assert first["interaction_usd"] > 0
    # containers a -> z and a -> q have no way left: stranded together, not apart
    assert first["stranded_t"] == pytest.approx(1_200_000, rel=1e-6)
    assert first["first_alone_usd"] + first["second_alone_usd"] < first["damage_usd"]


def test_pairs_refuse_unknown_kinds_and_rankings(tiny: corridor.Network,
                                                 demand: pd.DataFrame) -> None:
    with pytest.raises(InvalidOptionError, match="kinds"):
        critical_pairs(tiny, demand, kinds=("airport",))
    with pytest.raises(InvalidOptionError, match="by must be"):
        critical_pairs(tiny, demand, by="size")


def test_command_line_ranks_pairs(tmp_path) -> None:  # noqa: ANN001
    import json

    from typer.testing import CliRunner

    from corridor.cli import app
    from tests.conftest import TINY

    args = ["critical", "--k", "2", "--top", "3", "--kinds", "corridor", "--json",
            "--network", str(TINY / "network"), "--costs", str(TINY / "costs"),
            "--demand", str(FLOWS / "demand.csv")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["k"] == 2 and len(body["ranking"]) == 3
    bad = CliRunner().invoke(app, ["critical", "--k", "2", "--by", "size", "--network",
                                   str(TINY / "network"), "--costs", str(TINY / "costs"),
                                   "--demand", str(FLOWS / "demand.csv")])
    assert bad.exit_code == 2 and "by must be" in bad.output


def test_pairs_progress_ends_at_the_re_solves_made(tiny: corridor.Network,
                                                   demand: pd.DataFrame) -> None:
    seen: list[tuple[int, int]] = []
    ranking = critical_pairs(tiny, demand, top=3,
                             progress=lambda n, total: seen.append((n, total)))
    done = sum(n for n, _ in seen)
    assert done == ranking.attrs["solved"]  # the single failures and the pairs
    assert seen[-1][1] >= done  # the plan never falls below what is already done
