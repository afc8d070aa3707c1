"""The ledger of projects and agreements, and the appraisal of a project."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import corridor
from corridor.appraisal import appraise, bcr, cash_flows, irr, npv
from corridor.cli import app
from corridor.demand import load_demand
from corridor.errors import DataError, InvalidOptionError
from corridor.ledger import load_ledger
from corridor.scenario import parse_scenario
from tests.conftest import FIXTURES, TINY

LEDGER = FIXTURES / "ledger"
FLOWS = FIXTURES / "flows"
TINY_ARGS = ["--network", str(TINY / "network"), "--costs", str(TINY / "costs"),
             "--demand", str(FLOWS / "demand.csv"), "--ledger", str(LEDGER)]
runner = CliRunner()


@pytest.fixture(scope="module")
def demand(tiny: corridor.Network) -> pd.DataFrame:
    return load_demand(FLOWS / "demand.csv", tiny)


@pytest.fixture(scope="module")
def ledger():  # noqa: ANN201
    return load_ledger(LEDGER)


def test_entries_filter_by_kind_country_partner_and_status(ledger) -> None:  # noqa: ANN001
    every = ledger.entries()
    assert len(every) == 5 and set(every["entry"]) == {"project", "agreement"}
    assert list(ledger.entries(kind="agreement")["id"]) == ["test_deal", "minerals"]
    assert set(ledger.entries(country="uzb")["id"]) == {"minerals"}
    assert set(ledger.entries(partner="test bank")["id"]) == {"second_pipe", "test_deal"}
    assert set(ledger.entries(status="signed")["id"]) == {"caspian_ferry", "test_deal"}


@pytest.mark.parametrize(("file", "old", "new", "row", "field", "message"), [
    ("projects.csv", ",announced,2025,800000000", ",rumoured,2025,800000000", 1, "status",
     "'rumoured' is not one of"),
    ("projects.csv", "KAZ;RUS,Test Bank", "KAZ;RUX,Test Bank", 1, "countries", "RUX"),
    ("projects.csv", "2028,2,25,,,,hand_ledger", "2028,2,25,nosuch,,,hand_ledger", 1, "requires",
     "unknown project id 'nosuch'"),
    ("projects.csv", "2028,2,25,,,,hand_ledger", "2028,2,25,caspian_ferry,caspian_ferry,,"
     "hand_ledger", 1, "excludes", "both required and excluded"),
    ("projects.csv", "800000000,20000000", "-5,20000000", 1, "capex_usd", "0 to"),
    ("agreements.csv", ",second_pipe,hand_ledger", ",third_pipe,hand_ledger", 1, "projects",
     "unknown project id 'third_pipe'"),
    ("agreements.csv", "signed,transport,second_pipe,hand_ledger",
     "signed,transport,second_pipe,nobody", 1, "source_id", "unknown source id 'nobody'"),
])
def test_ledger_faults_name_file_row_and_field(tmp_path: Path, file: str, old: str, new: str,
                                               row: int, field: str, message: str) -> None:
    folder = tmp_path / "ledger"
    shutil.copytree(LEDGER, folder)
    text = (folder / file).read_text(encoding="utf-8")
    assert old in text
    (folder / file).write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(DataError, match=message) as err:
        load_ledger(folder)
    assert (Path(err.value.file).name, err.value.row, err.value.field) == (file, row, field)


def test_a_change_file_belongs_to_a_listed_project(tmp_path: Path,
                                                  tiny: corridor.Network,
                                                  demand: pd.DataFrame) -> None:
    folder = tmp_path / "ledger"
    shutil.copytree(LEDGER, folder)
    (folder / "projects" / "caspian_ferry.toml").rename(folder / "projects" / "ferries.toml")
    with pytest.raises(DataError, match="projects/ferries.toml changes the network"):
        load_ledger(folder)
    (folder / "projects" / "ferries.toml").unlink()
    table = pd.read_csv(folder / "projects.csv", dtype=str, keep_default_na=False)
    table.loc[table["project_id"] == "caspian_ferry", "not_modelled"] = "no ferry schedule"
    table.to_csv(folder / "projects.csv", index=False)
    book = load_ledger(folder)
    assert not book.modelled("caspian_ferry") and book.modelled("second_pipe")
    with pytest.raises(DataError, match="no network change is modelled"):
        appraise(tiny, demand, book, "caspian_ferry")


def test_a_project_says_why_it_changes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "ledger"
    shutil.copytree(LEDGER, folder)
    (folder / "projects" / "caspian_ferry.toml").unlink()
    table = pd.read_csv(folder / "projects.csv", dtype=str, keep_default_na=False)
    with pytest.raises(DataError, match="'caspian_ferry' has no network change") as err:
        load_ledger(folder)
    assert (Path(err.value.file).name, err.value.row, err.value.field) == (
        "projects.csv", 2, "not_modelled")
    table.loc[table["project_id"] == "caspian_ferry", "not_modelled"] = "no ferry schedule"
    table.loc[table["project_id"] == "second_pipe", "not_modelled"] = "because"
    table.to_csv(folder / "projects.csv", index=False)
    with pytest.raises(DataError, match="'second_pipe' has a network change") as err:
        load_ledger(folder)
    assert err.value.row == 1
    table.loc[table["project_id"] == "second_pipe", "not_modelled"] = ""
    table.to_csv(folder / "projects.csv", index=False)
    book = load_ledger(folder)
    entries = book.entries(kind="project").set_index("id")
    assert entries.at["caspian_ferry", "network"] == "no ferry schedule"
    assert entries.at["second_pipe", "network"] == "modelled"
    with pytest.raises(DataError, match="no ferry schedule"):
        book.project_file("caspian_ferry")


def test_every_shipped_project_is_modelled_or_says_why() -> None:
    book = load_ledger()
    projects = book.entries(kind="project")
    assert (projects["network"] != "").all() and "not modelled" not in set(projects["network"])
    assert (projects["network"] == "modelled").sum() >= 8


def test_cash_flows_npv_irr_and_bcr_by_hand() -> None:
    flows = cash_flows(capex=100.0, opex=5.0, benefit=35.0, build_years=1, life_years=5,
                       rate=0.1)
    assert flows["capex_usd"].tolist() == [100.0, 0, 0, 0, 0, 0]
    assert flows["net_usd"].tolist() == [-100.0, 30, 30, 30, 30, 30]
    by_hand = -100 + sum(30 / 1.1 ** t for t in range(1, 6))
    assert npv(flows, 0.1) == pytest.approx(by_hand)
    rate = irr(flows)
    assert npv(flows, rate) == pytest.approx(0.0, abs=1e-6)
    # -100 now and 30 a year for five years: the rate x where 30 * annuity(x, 5) = 100
    annuity = 30 * (1 - 1.1524 ** -5) / 0.1524
    assert abs(annuity - 100) < 0.02
    assert rate == pytest.approx(0.1524, abs=1e-4)
    costs = 100 + sum(5 / 1.1 ** t for t in range(1, 6))
    assert bcr(flows, 0.1) == pytest.approx(sum(35 / 1.1 ** t for t in range(1, 6)) / costs)
    spread = cash_flows(capex=90.0, opex=0.0, benefit=10.0, build_years=3, life_years=2,
                        rate=0.05)
    assert spread["capex_usd"].tolist() == [30.0, 30.0, 30.0, 0.0, 0.0]
    assert irr(cash_flows(100.0, 0.0, 0.0, 0, 10, 0.1)) is None  # never pays back


def test_a_twin_pipeline_keeps_the_crude_moving_when_the_first_is_cut(
        tiny: corridor.Network, demand: pd.DataFrame, ledger) -> None:  # noqa: ANN001
    both = parse_scenario({"name": "both-cut", "close": [{"link": ["ob", "op"],
                                                          "assumption": "both pipes out"}]})
    result = appraise(tiny, demand, ledger, "second_pipe", scenarios=(None, both), rate=0.09)
    cases = result.cases.set_index("case")
    assert cases.at["baseline", "benefit_usd"] == 0.0  # ob has room: the twin is idle
    crude = 5_000_000
    value = tiny.costs.value_usd_per_t("crude_oil")
    assert cases.at["both-cut", "stranded_avoided_t"] == pytest.approx(crude)
    assert cases.at["both-cut", "stranded_value_avoided_usd"] == pytest.approx(crude * value)
    # the benefit is the cargo value kept less what moving it costs
    assert cases.at["both-cut", "benefit_usd"] == pytest.approx(
        crude * value + cases.at["both-cut", "generalised_saved_usd"])
    assert cases.at["both-cut", "npv_usd"] > 0 > cases.at["baseline", "npv_usd"]
    flows = result.cash_flows
    assert flows["capex_usd"].sum() == pytest.approx(800e6)
    assert cases.at["baseline", "npv_usd"] == pytest.approx(npv(flows, 0.09))


def test_expected_benefit_over_risk_draws(tiny: corridor.Network, demand: pd.DataFrame,
                                         ledger) -> None:  # noqa: ANN001
    from corridor.risk import parse_risk

    risk = parse_risk({"year": 2024, "event": [{
        "name": "pipes", "link": ["ob", "op"], "factor": 0.0, "probability": 0.5,
        "duration_days": [30, 60, 90], "assumption": "test"}]}, "test.toml")
    once = appraise(tiny, demand, ledger, "second_pipe", risk=risk, draws=30, seed=4)
    again = appraise(tiny, demand, ledger, "second_pipe", risk=risk, draws=30, seed=4)
    expected = once.cases.set_index("case").loc["expected"]
    assert expected["benefit_usd"] == again.cases.set_index("case").at["expected",
                                                                       "benefit_usd"]
    full_year = 5_000_000 * tiny.costs.value_usd_per_t("crude_oil")
    assert 0 < expected["stranded_value_avoided_usd"] < full_year / 2


def test_appraisal_refuses_what_it_cannot_do(tiny: corridor.Network, demand: pd.DataFrame,
                                             ledger) -> None:  # noqa: ANN001
    with pytest.raises(DataError, match="did you mean 'second_pipe'"):
        appraise(tiny, demand, ledger, "second_pip")
    with pytest.raises(InvalidOptionError, match="rate"):
        appraise(tiny, demand, ledger, "second_pipe", rate=-0.1)


def test_a_project_without_capital_cost_is_appraised_for_its_benefits(
        tiny: corridor.Network, demand: pd.DataFrame, ledger) -> None:  # noqa: ANN001
    bare = appraise(tiny, demand, ledger, "no_cost",
                    (None, FLOWS / "scenarios" / "close-pipe.toml"))
    assert list(bare.cases["case"]) == ["baseline", "close-pipe"]
    for case in bare.cases.itertuples(index=False):
        # Its change opens a link that is open already: nothing to gain, and no money measures.
        assert case.benefit_usd == pytest.approx(0.0, abs=1e-6)
        assert math.isnan(case.npv_usd) and case.bcr is None and case.irr is None
    assert bare.cash_flows.empty and "capex_usd" in bare.cash_flows
    with pytest.raises(InvalidOptionError, match="rate"):
        appraise(tiny, demand, ledger, "second_pipe", rate=0.9)


def test_shipped_projects_pay_where_their_limit_binds(net: corridor.Network) -> None:
    shipped = load_ledger()
    demand = load_demand(network=net)
    # The rail access to Aktau's dry-cargo berths is full in the baseline: the hub relieves it.
    hub = appraise(net, demand, shipped, "aktau_container_hub").cases.iloc[0]
    assert hub["benefit_usd"] > 1e6 and hub["cost_saved_usd"] > 0
    # With Russian transit closed, the Port of Baku's container limit binds.
    alat = appraise(net, demand, shipped, "alat_port_phase2", ("bypass-russia",)).cases.iloc[0]
    assert alat["stranded_avoided_t"] > 1e5 and math.isnan(alat["npv_usd"])
    # The CPC debottlenecking changes nothing in an ordinary year, and keeps crude moving
    # through the outages of the CPC's record.
    cpc = appraise(net, demand, shipped, "cpc_debottlenecking", risk="cpc-record", draws=12,
                   seed=3).cases.set_index("case")
    assert cpc.at["baseline", "benefit_usd"] == pytest.approx(0.0, abs=1.0)
    assert cpc.at["expected", "stranded_avoided_t"] > 0
    assert cpc.at["expected", "benefit_usd"] > 0


def test_cli_ledger_and_appraise(tmp_path: Path) -> None:
    listed = runner.invoke(app, ["ledger", "--json", "--partner", "fund", "--ledger",
                                 str(LEDGER)])
    assert listed.exit_code == 0, listed.output
    assert {e["id"] for e in json.loads(listed.stdout)} == {"caspian_ferry", "minerals"}
    bad = runner.invoke(app, ["ledger", "--status", "rumoured", "--ledger", str(LEDGER)])
    assert bad.exit_code == 2 and "announced, signed" in bad.output
    done = runner.invoke(app, ["appraise", "second_pipe", "--scenarios",
                               f"baseline,{FLOWS / 'scenarios' / 'close-pipe.toml'}",
                               "--csv", str(tmp_path / "out"), *TINY_ARGS])
    assert done.exit_code == 0, done.output
    cases = pd.read_csv(tmp_path / "out" / "cases.csv")
    assert list(cases["case"]) == ["baseline", "close-pipe"]
    assert cases.loc[1, "benefit_usd"] > 0
    wrong = runner.invoke(app, ["appraise", "nosuch", *TINY_ARGS])
    assert wrong.exit_code == 2 and "unknown project 'nosuch'" in wrong.output


def _brute(values, costs, budget, requires, excludes, maximise=True):  # noqa: ANN001, ANN202
    import itertools

    best, best_value = None, None
    for bits in itertools.product([False, True], repeat=len(values)):
        x = np.array(bits)
        if costs @ x > budget + 1e-9:
            continue
        if any(x[i] and not x[j] for i, needs in enumerate(requires) for j in needs):
            continue
        if any(x[i] and x[j] for i, rules in enumerate(excludes) for j in rules):
            continue
        value = float(values @ x)
        if best is None or (value > best_value if maximise else value < best_value):
            best, best_value = x, value
    return best_value


@pytest.mark.parametrize("seed", range(12))
def test_the_portfolio_programme_matches_brute_force(seed: int) -> None:
    from corridor.portfolio import choose

    rng = np.random.default_rng(seed)
    n = 7
    values = rng.normal(100, 120, n)
    costs = rng.uniform(10, 100, n)
    budget = float(rng.uniform(50, 300))
    requires = [[int(j)] if rng.random() < 0.2 and j != i else []
                for i, j in enumerate(rng.integers(0, n, n))]
    excludes = [[int(j)] if rng.random() < 0.2 and j != i else []
                for i, j in enumerate(rng.integers(0, n, n))]
    for maximise in (True, False):
        picked = choose(values, costs, budget, requires, excludes, maximise)
        assert costs @ picked <= budget + 1e-6
        assert values @ picked == pytest.approx(
            _brute(values, costs, budget, requires, excludes, maximise), abs=1e-6)


def test_invest_picks_what_pays_within_the_budget(tiny: corridor.Network,
                                                   demand: pd.DataFrame,
                                                   ledger) -> None:  # noqa: ANN001
    from corridor.portfolio import invest

    cut = parse_scenario({"name": "cut", "close": [{"link": "ob", "assumption": "x"}]})
    rich = invest(tiny, demand, ledger, 1e9, (None, cut), steps=5)
    chosen = rich.candidates.set_index("project_id")
    assert bool(chosen.at["second_pipe", "chosen"]) and not chosen.at["caspian_ferry",
                                                                      "chosen"]
    assert "no gain" in chosen.at["caspian_ferry", "why"]
    assert "no_cost" not in chosen.index  # nothing to appraise without a capital cost
    values = rich.frontier["value"].to_numpy()
    assert (np.diff(values) >= -1e-6).all() and values[0] == 0.0
    joint = rich.joint.set_index("case")
    assert joint.at["cut", "joint_benefit_usd"] == pytest.approx(
        joint.at["cut", "sum_of_parts_usd"])  # one project: the whole is its part
    poor = invest(tiny, demand, ledger, 5e8, (None, cut), steps=2)
    assert not poor.candidates["chosen"].any()
    assert "budget" in poor.candidates.set_index("project_id").at["second_pipe", "why"]
    with pytest.raises(InvalidOptionError, match="objective"):
        invest(tiny, demand, ledger, 1e9, objective="profit")


def test_invest_over_risk_draws_values_the_expected_case(tiny: corridor.Network,
                                                        demand: pd.DataFrame,
                                                        ledger) -> None:  # noqa: ANN001
    from corridor.portfolio import Valuation, invest
    from corridor.risk import parse_risk

    risk = parse_risk({"year": 2024, "event": [{
        "name": "pipes", "link": ["ob", "op"], "factor": 0.0, "probability": 0.5,
        "duration_days": [30, 60, 90], "assumption": "test"}]}, "test.toml")
    # In an ordinary year the twin pipeline saves nothing: it is not worth its cost...
    plain = invest(tiny, demand, ledger, 1e9, steps=2).candidates.set_index("project_id")
    assert not plain.at["second_pipe", "chosen"]
    # ...but over outages of the first pipe it keeps crude moving, and pays.
    chosen = invest(tiny, demand, ledger, 1e9, valuation=Valuation(risk=risk, draws=30, seed=4),
                    steps=2)
    table = chosen.candidates.set_index("project_id")
    alone = appraise(tiny, demand, ledger, "second_pipe", risk=risk, draws=30, seed=4)
    expected = alone.cases.set_index("case").loc["expected"]
    assert table.at["second_pipe", "benefit_usd_per_year"] == pytest.approx(
        expected["benefit_usd"])
    assert table.at["second_pipe", "npv_usd"] == pytest.approx(expected["npv_usd"])
    assert expected["npv_usd"] > 0 and bool(table.at["second_pipe", "chosen"])
    joint = chosen.joint.set_index("case")
    assert joint.at["expected", "joint_benefit_usd"] == pytest.approx(expected["benefit_usd"])


def test_api_ledger_appraise_and_partners(tiny: corridor.Network,
                                          demand: pd.DataFrame) -> None:
    from fastapi.testclient import TestClient

    from corridor.service import create_app

    client = TestClient(create_app(tiny, demand, scenarios=FLOWS / "scenarios",
                                   ledger=LEDGER))
    entries = client.get("/api/ledger", params={"kind": "project"}).json()["entries"]
    twin = next(e for e in entries if e["id"] == "second_pipe")
    assert twin["modelled"] and twin["links"] == ["ob2"]
    assert [f["properties"]["id"] for f in twin["geojson"]["features"]] == ["ob2"]
    body = client.get("/api/appraise/second_pipe", params={"scenario": "close-pipe"}).json()
    assert body["cases"][0]["benefit_usd"] > 0 and body["scenario"] == "close-pipe"
    wrong = client.get("/api/appraise/second_pip")
    assert wrong.status_code == 422 and "did you mean 'second_pipe'" in wrong.json()["message"]
    bad = client.get("/api/ledger", params={"status": "maybe"})
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_option"
    profiles = client.get("/api/partners").json()
    assert {r["dimension"] for r in profiles["summary"]} == {"transit", "markets", "labour",
                                                              "finance"}


def test_api_invest_gives_the_frontier(tiny: corridor.Network, demand: pd.DataFrame) -> None:
    from fastapi.testclient import TestClient

    from corridor.service import create_app

    client = TestClient(create_app(tiny, demand, scenarios=FLOWS / "scenarios",
                                   ledger=LEDGER))
    body = client.get("/api/invest", params={"budget_usd": 1e9,
                                             "scenario": "close-pipe"}).json()
    chosen = [c["project_id"] for c in body["candidates"] if c["chosen"]]
    assert chosen == ["second_pipe"] and body["frontier"][0]["value"] == 0.0
    bad = client.get("/api/invest", params={"budget_usd": -1})
    assert bad.status_code == 422
    listed = client.get("/api/risks").json()["risks"]
    assert any(r["name"] == "cpc-record" and r["events"] >= 1 and r["title"] for r in listed)
    risky = client.get("/api/invest", params={"budget_usd": 1e9, "risk": "cpc-recrod"})
    assert risky.status_code == 422 and "did you mean 'cpc-record'" in risky.json()["message"]
    path = client.get("/api/invest", params={"budget_usd": 1e9, "risk": "../../etc/passwd"})
    assert path.status_code == 422 and path.json()["error"] == "invalid_option"
    many = client.get("/api/invest", params={"budget_usd": 1e9, "risk": "cpc-record",
                                             "draws": 10_000})
    assert many.status_code == 422
