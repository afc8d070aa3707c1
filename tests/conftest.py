"""Shared fixtures: the hand-made tiny network and the shipped dataset."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import corridor

FIXTURES = Path(__file__).parent / "fixtures"
TINY = FIXTURES / "tiny"


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
