"""Partner profiles: transit, markets, labour and finance, with HHI ranges where published
shares cover part of the partners."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import corridor
from corridor.cli import app
from corridor.errors import DataError
from corridor.ledger import load_ledger
from corridor.metrics import dependency
from corridor.partners import hhi_range, load_shares, partners_folder, profiles

runner = CliRunner()


def test_hhi_range_brackets_every_split_of_the_rest() -> None:
    coverage, low, high = hhi_range([50.0, 30.0])
    assert coverage == 80.0 and low == 50**2 + 30**2 and high == low + 20**2
    for rest in ([20.0], [10.0, 10.0], [5.0] * 4):  # any split of the missing 20 %
        assert low <= sum(s * s for s in [50.0, 30.0, *rest]) <= high
    assert hhi_range([60.0, 40.0])[1:] == (5200.0, 5200.0)  # complete: exact


@pytest.mark.parametrize(("row", "message"), [
    ("UZB,trade,Japan,101,2023,par_01,,,\n", "not a share from 0 to 100"),
    ("UZB,trade,Japan,60,2023,par_01,,,\n", "add up to 113.4 %"),
    ("XYZ,trade,Japan,1,2023,par_01,,,\n", "'XYZ' is not one of"),
    ("UZB,trade,Japan,1,2023,nobody,,,\n", "unknown source id 'nobody'"),
])
def test_bad_shares_are_named(tmp_path: Path, row: str, message: str) -> None:
    folder = tmp_path / "partners"
    shutil.copytree(partners_folder(), folder)
    with (folder / "shares.csv").open("a", encoding="utf-8") as handle:
        handle.write(row)
    with pytest.raises(DataError, match=message):
        load_shares(folder)


def test_profiles_put_the_four_dimensions_together(net: corridor.Network) -> None:
    from corridor.demand import load_demand
    from corridor.flow import assign

    dep = dependency(assign(net, load_demand(network=net)))
    result = profiles(load_shares(), load_ledger(), dep)
    summary = result.summary.set_index(["republic", "dimension", "detail"])
    kaz_transit = summary.loc[("KAZ", "transit", "transit")]
    exact = dep.hhi.set_index(["exporter", "dimension"]).at[("KAZ", "transit"), "hhi"]
    assert kaz_transit["hhi_low"] == pytest.approx(exact) == kaz_transit["hhi_high"]
    uzb_labour = summary.loc[("UZB", "labour", "remittances")]
    assert uzb_labour["top_partner"] == "Russia" and uzb_labour["hhi_low"] == 77**2
    finance = result.shares[result.shares["dimension"] == "finance"]
    assert finance.groupby("republic")["share_pct"].sum().to_numpy() == pytest.approx(100.0)
    assert set(result.summary["republic"]) == {"KAZ", "UZB", "TKM", "KGZ", "TJK"}
    gaps = result.summary[result.summary["detail"] == ""]
    assert ("TKM", "labour") in set(zip(gaps["republic"], gaps["dimension"], strict=True))


def test_cli_partners() -> None:
    done = runner.invoke(app, ["partners", "--republic", "uzb", "--json"])
    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)
    assert {row["republic"] for row in data["summary"]} == {"UZB"}
    assert pd.DataFrame(data["shares"])["dimension"].isin(
        ["transit", "markets", "labour", "finance"]).all()
    wrong = runner.invoke(app, ["partners", "--republic", "RUS"])
    assert wrong.exit_code == 2 and "KAZ, UZB" in wrong.output
