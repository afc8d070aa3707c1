"""The route snapshot answers plain queries as the router does, and only when it is current."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import corridor
from corridor import snapshot
from corridor.cli import app
from corridor.errors import CorridorError
from corridor.routing import Router

PLACES = ["Almaty", "Tashkent", "Tengiz", "Rotterdam", "Constanta", "Shanghai", "Yokohama",
          "Baku", "Novorossiysk", "Poti", "Xian", "Urumqi", "Turkmenbashi", "Atyrau",
          "Duisburg", "Ceyhan", "Bandar Abbas", "Ust-Luga", "Navoi", "Алматы"]
runner = CliRunner()


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("CORRIDOR_CACHE_DIR", str(folder))
    return folder


def _router_answer(router: Router, origin: str, destination: str, commodity: str,
                   optimize: str) -> list | None:
    try:
        return router.route(origin, destination, commodity=commodity, optimize=optimize)
    except CorridorError:
        return None


def test_snapshot_answers_exactly_as_the_router(net: corridor.Network, cache: Path) -> None:
    assert snapshot.answer(None, None, "Almaty", "Rotterdam") is None  # nothing stored yet
    assert snapshot.store(net, None, None) is not None
    router = Router(net)
    asked: dict[str, int] = {}
    answered: dict[str, int] = {}
    queries = [(a, b, "container", o) for a, b in itertools.permutations(PLACES[:10], 2)
               for o in ("cost", "time", "co2", "distance")]
    queries += [(a, b, c, "cost") for a, b in itertools.permutations(PLACES, 2)
                for c in ("crude_oil", "grain", "metals", "uranium", "natural_gas")]
    for origin, destination, commodity, optimize in queries:
        expected = _router_answer(router, origin, destination, commodity, optimize)
        found = snapshot.answer(None, None, origin, destination, commodity, optimize)
        if expected is None:  # the full way gives the error, with its suggestions
            assert found is None, (origin, destination, commodity, optimize)
            continue
        asked[optimize] = asked.get(optimize, 0) + 1
        if found is None:  # two meanings of a name that tie are left to the router
            continue
        assert found.routes == expected[:1], (origin, destination, commodity, optimize)
        answered[optimize] = answered.get(optimize, 0) + 1
    shares = {o: answered.get(o, 0) / n for o, n in asked.items()}
    assert asked["cost"] > 500 and min(shares.values()) > 0.95, shares
    # what the command prints beside the route comes along
    found = snapshot.answer(None, None, "Shanghai", "Rotterdam")
    assert found is not None and "suez" in found.routes[0].passages
    assert found.passage_names["suez"] == net.passage_index().name("suez")


def test_snapshot_leaves_unknown_names_and_odd_queries_to_the_router(
        net: corridor.Network, cache: Path) -> None:
    snapshot.store(net, None, None)
    assert snapshot.answer(None, None, "Almaty", "Rotterdam") is not None
    assert snapshot.answer(None, None, "Almatty", "Rotterdam") is None  # did you mean …?
    assert snapshot.answer(None, None, "Almaty", "Almaty") is None
    assert snapshot.answer(None, None, "Almaty", "Rotterdam", commodity="coal") is None
    assert snapshot.answer(None, None, "Almaty", "Rotterdam", optimize="beauty") is None


def test_an_edited_network_is_never_answered_from_an_old_snapshot(tiny_copy: Path,
                                                                  cache: Path) -> None:
    folders = (tiny_copy / "network", tiny_copy / "costs")
    net = corridor.load_network(*folders)
    place_a, place_b = "a", "z"
    snapshot.store(net, *folders)
    before = snapshot.answer(*folders, place_a, place_b)
    assert before is not None
    assert before.routes == Router(net).route(place_a, place_b)[:1]
    links = folders[0] / "link.csv"
    stat = links.stat()
    os.utime(links, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert snapshot.answer(*folders, place_a, place_b) is None


def test_cli_writes_the_snapshot_then_answers_from_it(cache: Path) -> None:
    args = ["route", "Almaty", "Rotterdam"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert list(cache.glob("network-*/index.json"))
    second = runner.invoke(app, args)
    assert second.exit_code == 0 and second.output == first.output
    as_json = runner.invoke(app, [*args, "--json"])
    full = runner.invoke(app, [*args, "--json"], env={"CORRIDOR_CACHE_DIR": ""})
    assert json.loads(as_json.output) == json.loads(full.output)


def test_a_snapshot_answer_loads_neither_pandas_nor_scipy(cache: Path) -> None:
    code = ("import sys\nfrom corridor.cli import app\n"
            "sys.argv = ['corridor', 'route', 'Tengiz', 'Novorossiysk', '--commodity', "
            "'crude_oil']\n"
            "try:\n    app()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('pandas', 'numpy', 'scipy') if m in sys.modules), "
            "file=sys.stderr)")
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True) for _ in range(2)]
    assert runs[0].stderr.strip().endswith("['numpy', 'pandas', 'scipy']")  # wrote it
    assert runs[1].stderr.strip().endswith("[]")
    assert runs[0].stdout == runs[1].stdout and "CPC" in runs[1].stdout


@pytest.mark.parametrize("setting", ["", "file"])
def test_route_works_when_snapshots_are_off_or_cannot_be_written(tmp_path: Path,
                                                                 setting: str) -> None:
    if setting == "file":
        setting = str(tmp_path / "a-file")
        Path(setting).write_text("not a folder")
    result = runner.invoke(app, ["route", "Almaty", "Rotterdam"],
                           env={"CORRIDOR_CACHE_DIR": setting})
    assert result.exit_code == 0 and "Rotterdam" in result.output
    assert [p.name for p in tmp_path.iterdir()] == (["a-file"] if setting else [])


def test_only_the_most_recently_used_snapshots_are_kept(tmp_path: Path, cache: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from tests.conftest import TINY

    monkeypatch.setattr(snapshot, "KEEP", 2)
    folders, stored = [], []
    for name in ("one", "two", "three"):
        shutil.copytree(TINY, tmp_path / name)
        folders.append((tmp_path / name / "network", tmp_path / name / "costs"))
    for when, pair in enumerate(folders[:2], start=1):
        stored.append(snapshot.store(corridor.load_network(*pair), *pair))
        os.utime(stored[-1], ns=(when, when))  # written long ago, the second later
    assert snapshot.answer(*folders[0], "a", "z") is not None  # the first is used again
    snapshot.store(corridor.load_network(*folders[2]), *folders[2])
    assert len(list(cache.iterdir())) == 2
    assert snapshot.answer(*folders[0], "a", "z") is not None
    assert snapshot.answer(*folders[2], "a", "z") is not None
    assert snapshot.answer(*folders[1], "a", "z") is None
