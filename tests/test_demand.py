"""Demand loader: typed table, and every fault named by file, row and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from corridor.demand import DEMAND_FIELDS, aggregate_od, load_demand
from corridor.errors import DataError
from tests.conftest import FIXTURES

FLOWS = FIXTURES / "flows"
HEADER = "origin,destination,commodity,t_per_year,year,source_id,estimated,estimate_method,notes"


def _write(tmp_path: Path, *rows: str) -> Path:
    folder = tmp_path / "demand"
    folder.mkdir()
    shutil.copy(FLOWS / "sources.csv", folder / "sources.csv")
    path = folder / "baseline.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def test_fixture_loads_typed(tiny) -> None:
    demand = load_demand(FLOWS / "demand.csv", tiny)
    assert list(demand.columns[:len(DEMAND_FIELDS)]) == DEMAND_FIELDS
    assert demand["t_per_year"].dtype == float
    assert demand["t_per_year"].sum() == pytest.approx(6.2e6)
    assert str(demand["year"].dtype) == "Int64"


def test_folder_path_reads_baseline_csv(tiny, tmp_path: Path) -> None:
    path = _write(tmp_path, "a,z,container,10,2024,hand_demand,,,")
    assert len(load_demand(path.parent, tiny)) == 1


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        ("alpha,z,container,10,2024,hand_demand,,,", "origin", "did you mean node id 'a'"),
        ("a,zz,container,10,2024,hand_demand,,,", "destination", "unknown node id 'zz'"),
        ("a,z,tea,10,2024,hand_demand,,,", "commodity", "unknown commodity 'tea'"),
        ("a,z,container,-5,2024,hand_demand,,,", "t_per_year",
         "-5.0 t/year is outside the allowed range 0 to"),
        ("a,z,container,,2024,hand_demand,,,", "t_per_year", "value is missing"),
        ("a,z,container,lots,2024,hand_demand,,,", "t_per_year", "not a valid float"),
        ("a,z,container,10,2024,,,,", "source_id", "value is missing"),
        ("a,z,container,10,2024,nobody,,,", "source_id", "unknown source id 'nobody'"),
        ("a,a,container,10,2024,hand_demand,,,", "destination", "same node"),
        ("a,z,container,10,2024,hand_demand,t_per_year,,", "estimate_method", "estimate_method"),
    ],
)
def test_errors_name_file_row_and_field(tiny, tmp_path: Path, row: str, field: str,
                                        message: str) -> None:
    path = _write(tmp_path, "a,q,container,10,2024,hand_demand,,,", row)
    with pytest.raises(DataError) as info:
        load_demand(path, tiny)
    error = info.value
    assert error.file == str(path)
    assert error.row == 2
    assert error.field == field
    assert message in str(error)


def test_missing_file_is_a_data_error(tiny, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        load_demand(tmp_path / "nope.csv", tiny)


def test_aggregate_sums_duplicate_pairs(tiny, tmp_path: Path) -> None:
    path = _write(tmp_path, "a,z,container,10,2023,hand_demand,,,",
                  "a,z,container,15,2024,hand_demand,,,", "a,q,container,1,2024,hand_demand,,,")
    od = aggregate_od(load_demand(path, tiny))
    assert od.to_dict(orient="records") == [
        {"origin": "a", "destination": "z", "commodity": "container", "allowed_modes": "",
         "avoid_countries": "", "t_per_year": 25.0},
        {"origin": "a", "destination": "q", "commodity": "container", "allowed_modes": "",
         "avoid_countries": "", "t_per_year": 1.0},
    ]


def test_allowed_modes_are_normalised_and_keep_segments_apart(tiny, tmp_path: Path) -> None:
    path = _write_with_modes(tmp_path, "a,z,container,10,ferry; rail,hand_demand",
                             "a,z,container,15,,hand_demand",
                             "a,z,container,5,rail;ferry,hand_demand")
    demand = load_demand(path, tiny)
    assert demand["allowed_modes"].tolist() == ["rail;ferry;transfer", "",
                                                "rail;ferry;transfer"]
    od = aggregate_od(demand)
    assert od[["allowed_modes", "t_per_year"]].values.tolist() == [
        ["rail;ferry;transfer", 15.0], ["", 15.0]]


@pytest.mark.parametrize(("modes", "message"), [
    ("rail;hovercraft", "unknown mode 'hovercraft'"),
    ("oil_pipeline", "container cannot move by oil_pipeline"),
])
def test_bad_allowed_modes_name_row_and_field(tiny, tmp_path: Path, modes: str,
                                              message: str) -> None:
    path = _write_with_modes(tmp_path, "a,z,container,10,,hand_demand",
                             f"a,z,container,10,{modes},hand_demand")
    with pytest.raises(DataError, match=message) as info:
        load_demand(path, tiny)
    assert (info.value.row, info.value.field) == (2, "allowed_modes")


def _write_with_modes(tmp_path: Path, *rows: str) -> Path:
    path = _write(tmp_path)
    header = "origin,destination,commodity,t_per_year,allowed_modes,source_id"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_shipped_demand_refers_to_the_shipped_network(net) -> None:
    """Integration: every node id, commodity and source of baseline.csv resolves."""
    demand = load_demand(network=net)
    assert len(demand) > 10
    assert (demand["t_per_year"] >= 0).all()
    assert set(demand["origin"]) <= set(net.nodes.index)
    assert set(demand["destination"]) <= set(net.nodes.index)
