"""Logit assignment: the split follows the logit formula, capacities hold, a sharp spread
gives back the linear programme, and the shipped model runs with it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import corridor
from corridor.demand import load_demand
from corridor.errors import InvalidOptionError
from corridor.flow import assign
from corridor.flow.logit import assign_logit
from tests.conftest import FIXTURES

FLOWS = FIXTURES / "flows"


@pytest.fixture(scope="module")
def boxes(tiny: corridor.Network) -> pd.DataFrame:
    """Only the containers a -> z: two routes, North (rail) and the ferry line."""
    demand = load_demand(FLOWS / "demand.csv", network=tiny)
    return demand[(demand["origin"] == "a") & (demand["destination"] == "z")]


def test_the_split_follows_the_logit_formula(tiny: corridor.Network, boxes) -> None:
    spread = 5.0
    result = assign_logit(tiny, boxes, spread=spread)
    split = result.route_split
    # three routes: North by rail, North to the sea at Bravo, the ferry line (each the best
    # way around a transit country of the cheapest)
    assert len(split) == 3
    value_of_time = tiny.costs.value_of_time_usd_per_t_day("container")
    cost = (split["cost_usd_per_t"] + value_of_time * split["days"]).to_numpy()
    weight = np.exp(-spread * (cost - cost.min()) / cost.min())
    assert split["share"].to_numpy() == pytest.approx(weight / weight.sum(), rel=1e-3)
    assert split["share"].max() < 0.9
    sharper = assign_logit(tiny, boxes, spread=50.0).route_split
    assert sharper["share"].max() > split["share"].max()


def test_capacity_holds_and_nothing_strands_while_there_is_room(tiny: corridor.Network,
                                                                 boxes) -> None:
    links = tiny.links.copy()
    links.loc["cd", "capacity_t_per_year"] = 0.4e6  # North takes 0.4 of the 1 Mt
    narrow = dataclasses.replace(tiny, links=links)
    result = assign_logit(narrow, boxes, spread=50.0)
    assert result.link_flows.at["cd", "flow_t_per_year"] <= 0.4e6 * 1.001
    assert result.link_flows.at["cd", "flow_t_per_year"] == pytest.approx(0.4e6, rel=0.01)
    assert result.totals["stranded_t"] == pytest.approx(0.0, abs=1e3)
    assert result.link_flows.at["cd", "shadow_price_usd_per_t"] > 0


def test_a_sharp_spread_gives_back_the_linear_programme(tiny: corridor.Network) -> None:
    demand = load_demand(FLOWS / "demand.csv", network=tiny)
    lp = assign(tiny, demand).link_flows["flow_t_per_year"]
    logit = assign_logit(tiny, demand, spread=1000.0).link_flows["flow_t_per_year"]
    assert logit.to_numpy() == pytest.approx(lp.to_numpy(), rel=1e-3, abs=1e3)


def test_spread_out_of_range_is_refused(tiny: corridor.Network, boxes) -> None:
    with pytest.raises(InvalidOptionError, match="spread"):
        assign_logit(tiny, boxes, spread=0.5)


def test_shipped_model_with_logit_keeps_capacities_and_demand(net: corridor.Network) -> None:
    demand = load_demand(network=net)
    result = assign_logit(net, demand)
    flows = result.link_flows
    capped = flows[flows["capacity_t_per_year"] > 0]
    assert (capped["flow_t_per_year"] <= capped["capacity_t_per_year"] * 1.01).all()
    assert result.totals["delivered_t"] + result.totals["stranded_t"] == pytest.approx(
        result.totals["demand_t"], rel=1e-6)
    outage = assign_logit(net, demand, "cpc-outage")
    assert outage.totals["stranded_t"] > 30e6  # the CPC's crude has no room elsewhere
