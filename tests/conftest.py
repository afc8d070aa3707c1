"""Shared fixtures: the hand-made tiny network and the shipped dataset."""

from __future__ import annotations

import atexit
import dataclasses
import os
import shutil
import tempfile
from pathlib import Path

import pytest

import corridor

FIXTURES = Path(__file__).parent / "fixtures"
TINY = FIXTURES / "tiny"
CRUDE_T = 5_000_000  # crude o -> z in the tiny flow demand (fixtures/flows/demand.csv)

# route snapshots of the test runs go to a folder of their own, never the user's cache
_CACHE = tempfile.mkdtemp(prefix="corridor-test-cache-")
os.environ["CORRIDOR_CACHE_DIR"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)


@pytest.fixture(scope="session")
def tiny() -> corridor.Network:
    return corridor.load_network(TINY / "network", TINY / "costs")


@pytest.fixture(scope="session")
def net() -> corridor.Network:
    return corridor.load_network()


@pytest.fixture()
def tiny_copy(tmp_path: Path) -> Path:
    """A writable copy of the tiny network folder (network/ and costs/)."""
    target = tmp_path / "tiny"
    shutil.copytree(TINY, target)
    return target


@pytest.fixture(scope="session")
def one_pipe(tiny: corridor.Network) -> corridor.Network:
    """The tiny network where crude can leave o only by the pipeline o-b, with 20 % spare
    capacity."""
    links = tiny.links.copy()
    links.loc["op", "status"] = "closed"
    links.loc["ob", "capacity_t_per_year"] = 1.2 * CRUDE_T
    return dataclasses.replace(tiny, links=links)
