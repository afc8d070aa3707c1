"""The loader rejects malformed files with file, row and field, and changes nothing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import corridor
from corridor.errors import DataError


def _edit(folder: Path, name: str, row: int, field: str, value: str) -> None:
    path = folder / name
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table.loc[row - 1, field] = value
    table.to_csv(path, index=False)


def _load(folder: Path) -> corridor.Network:
    return corridor.load_network(folder / "network", folder / "costs")


@pytest.mark.parametrize(
    ("name", "row", "field", "value", "message"),
    [
        ("link.csv", 3, "to_node_id", "nowhere", "unknown node id 'nowhere'"),
        ("link.csv", 2, "length_km", "-5", "-5.0 km is outside the allowed range > 0 to 40,000 km"),
        ("link.csv", 2, "length_km", "", "value is missing"),
        ("link.csv", 4, "mode", "teleport", "'teleport' is not one of"),
        ("link.csv", 2, "link_id", "ab", "duplicate id 'ab'"),
        ("link.csv", 6, "gauge_mm", "1520", "only allowed on rail"),
        ("link.csv", 1, "source_id", "nobody", "unknown source id 'nobody'"),
        ("node.csv", 2, "lat", "95", "95.0 degrees is outside the allowed range -90 to 90 degrees"),
        ("node.csv", 3, "lon", "east", "not a valid float"),
        ("node.csv", 1, "country", "XXX", "unknown ISO 3166"),
        ("node.csv", 4, "node_id", "a", "duplicate id 'a'"),
    ],
)
def test_bad_network_file_names_file_row_and_field(tiny_copy: Path, name: str, row: int,
                                                   field: str, value: str, message: str) -> None:
    _edit(tiny_copy / "network", name, row, field, value)
    before = (tiny_copy / "network" / name).read_bytes()
    with pytest.raises(DataError) as info:
        _load(tiny_copy)
    error = info.value
    assert error.file.endswith(name)
    assert error.row == row
    assert error.field == field
    assert message in str(error)
    assert (tiny_copy / "network" / name).read_bytes() == before  # loading never writes


def test_missing_column_is_named(tiny_copy: Path) -> None:
    path = tiny_copy / "network" / "link.csv"
    table = pd.read_csv(path, dtype=str, keep_default_na=False).drop(columns=["mode"])
    table.to_csv(path, index=False)
    with pytest.raises(DataError, match="missing column"):
        _load(tiny_copy)


def test_estimated_fields_need_a_method(tiny_copy: Path) -> None:
    _edit(tiny_copy / "network", "link.csv", 1, "estimated", "length_km")
    with pytest.raises(DataError, match="estimate_method is empty") as info:
        _load(tiny_copy)
    assert info.value.field == "estimate_method"


def test_disconnected_piece_warns(tiny_copy: Path) -> None:
    path = tiny_copy / "network" / "node.csv"
    with path.open("a") as handle:
        handle.write("lonely,Lonely,Одинокий,,KAZ,60,40,city,hand,,,\n")
    with pytest.warns(UserWarning, match="disconnected"):
        net = _load(tiny_copy)
    assert any("lonely" in note for note in net.warnings)


def test_bad_cost_model_names_file(tiny_copy: Path) -> None:
    _edit(tiny_copy / "costs", "modes.csv", 2, "speed_km_per_day", "0")
    with pytest.raises(DataError) as info:
        _load(tiny_copy)
    assert info.value.file.endswith("modes.csv")
    assert info.value.row == 2
    assert info.value.field == "speed_km_per_day"


def test_missing_folder_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        corridor.load_network(tmp_path / "nope")


def test_places_resolve_by_name_alias_russian_and_case(tiny: corridor.Network) -> None:
    assert tiny.resolve("alpha") == "a"
    assert tiny.resolve("ALFA") == "a"
    assert tiny.resolve("Альфа") == "a"
    assert tiny.resolve("port-east") == "p"


def test_unknown_place_suggests(tiny: corridor.Network) -> None:
    with pytest.raises(corridor.UnknownPlaceError) as info:
        tiny.resolve("Alpah")
    assert info.value.suggestions[0] == "Alpha"
    assert "Did you mean 'Alpha'" in str(info.value)


def test_unsupported_format_version_is_refused(tiny_copy: Path) -> None:
    (tiny_copy / "network" / "network.toml").write_text('format_version = "9"\n')
    with pytest.raises(DataError, match="format_version '9' is not supported") as info:
        _load(tiny_copy)
    assert info.value.field == "format_version"


def test_terminal_modes_must_be_allowed_modes(tiny_copy: Path) -> None:
    # pandas creates the column on the first edit; crude may not be restricted to road
    _edit(tiny_copy / "costs", "commodities.csv", 2, "terminal_modes", "rail;road")
    with pytest.raises(DataError) as info:
        _load(tiny_copy)
    assert (info.value.row, info.value.field) == (2, "terminal_modes")
    assert "road" in str(info.value) and info.value.file.endswith("commodities.csv")


@pytest.mark.parametrize(("rows", "row", "field", "message"), [
    (["Zulu,container,nowhere,hand,,,"], 1, "node_ids", "unknown node id nowhere"),
    (["Zulu,,z,hand,,,", "zulu,,q,hand,,,"], 2, "place", "given twice"),
    (["Zulu,,z,hand,,,", "Alpha,bananas,a,hand,,,"], 2, "commodity", "unknown commodity"),
])
def test_bad_place_names_name_the_row(tiny_copy: Path, rows: list[str], row: int,
                                      field: str, message: str) -> None:
    (tiny_copy / "network" / "places.csv").write_text(
        "place,commodity,node_ids,source_id,estimated,estimate_method,notes\n"
        + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match=message) as info:
        _load(tiny_copy)
    assert (info.value.row, info.value.field) == (row, field)
    assert info.value.file.endswith("places.csv")


def test_a_place_name_resolves_per_commodity(tiny_copy: Path) -> None:
    (tiny_copy / "network" / "places.csv").write_text(
        "place,commodity,node_ids,source_id,estimated,estimate_method,notes\n"
        "Zulu,crude_oil,p;z,hand,,,crude for Zulu loads at Port East or Zulu\n")
    net = _load(tiny_copy)
    assert net.resolve_for("zulu", "crude_oil") == ("p", "z")
    assert net.resolve_for("Zulu", "container") == ("z",)
    oil = corridor.route(net, "Oilfield", "Zulu", commodity="crude_oil")[0]
    assert oil.destination == "p"  # the pipeline ends at Port East: the nearer of the two
