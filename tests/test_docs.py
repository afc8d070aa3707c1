"""The docs tell the truth: docstring examples run, the citation file matches the version."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import corridor

ROOT = Path(__file__).parents[1]


def _modules() -> list[str]:
    names = [m.name for m in pkgutil.walk_packages(corridor.__path__, "corridor.")]
    return [n for n in names if not n.startswith("corridor.cli") and n != "corridor.__main__"]


def _with_examples() -> list[str]:
    finder = doctest.DocTestFinder()
    return [name for name in _modules()
            if any(t.examples for t in finder.find(importlib.import_module(name)))]


@pytest.mark.parametrize("name", _with_examples())
def test_docstring_examples_run(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), report=False,
                             optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples fail in {name}"


def test_the_public_api_has_examples() -> None:
    assert {"corridor.network", "corridor.routing", "corridor.flow",
            "corridor.report"} <= set(_with_examples())


def test_citation_and_changelog_match_the_version() -> None:
    citation = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    assert re.search(r'^version: "([^"]+)"$', citation, re.M).group(1) == corridor.__version__
    assert re.search(r"^cff-version: 1\.2\.0$", citation, re.M)
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## [{corridor.__version__}]" in changelog and "## [Unreleased]" in changelog


def test_the_documentation_site_builds_offline(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(tmp_path / "site")], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    api = (tmp_path / "site" / "api" / "index.html").read_text(encoding="utf-8")
    for name in ("load_network", "avoid_passages", "to_geodataframe", "critical_pairs",
                 "write_gmns"):
        assert name in api, name
    for page in (tmp_path / "site").rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r'<(script|link)[^>]+(src|href)="https?://', text), page
