"""The command line's conveniences: a configuration file, shell completion, examples in help."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from corridor.cli import app
from tests.conftest import TINY

runner = CliRunner()


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder holding a copy of the tiny network, with no user configuration."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for name in ("CORRIDOR_CONFIG", "CORRIDOR_NETWORK", "CORRIDOR_COSTS", "CORRIDOR_DEMAND"):
        monkeypatch.delenv(name, raising=False)
    shutil.copytree(TINY, tmp_path / "tiny")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _route(*args: str, env: dict[str, str] | None = None):  # noqa: ANN202
    return runner.invoke(app, [*args, "route", "Alpha", "Zulu", "--json"], env=env)


def test_corridor_toml_in_the_current_folder_sets_the_data(home: Path) -> None:
    assert _route().exit_code == 2  # the shipped network has no Alpha
    (home / "corridor.toml").write_text('network = "tiny/network"\ncosts = "tiny/costs"\n',
                                        encoding="utf-8")
    done = _route()
    assert done.exit_code == 0, done.output
    assert '"origin": "a"' in done.stdout


def test_the_user_configuration_is_read_when_the_folder_has_none(home: Path) -> None:
    folder = home / "xdg" / "corridor"
    folder.mkdir(parents=True)
    (folder / "config.toml").write_text(f'network = "{home}/tiny/network"\n'
                                        f'costs = "{home}/tiny/costs"\n', encoding="utf-8")
    assert _route().exit_code == 0


def test_flags_beat_environment_beat_the_file(home: Path) -> None:
    (home / "other.toml").write_text('network = "nowhere"\ncosts = "tiny/costs"\n',
                                     encoding="utf-8")
    missing = _route("--config", "other.toml")
    assert missing.exit_code == 2 and "nowhere" in missing.output
    env = {"CORRIDOR_NETWORK": str(home / "tiny" / "network")}
    assert _route("--config", "other.toml", env=env).exit_code == 0
    flag = runner.invoke(app, ["--config", "other.toml", "route", "Alpha", "Zulu",
                               "--network", str(home / "tiny" / "network")])
    assert flag.exit_code == 0, flag.output


@pytest.mark.parametrize(("text", "message"), [
    ('netwrok = "x"\n', "unknown key 'netwrok'; did you mean 'network'?"),
    ("network = 3\n", "field 'network': must be a path in quotes"),
    ("network = \n", "cannot parse TOML"),
])
def test_a_bad_configuration_is_named(home: Path, text: str, message: str) -> None:
    (home / "corridor.toml").write_text(text, encoding="utf-8")
    done = _route()
    assert done.exit_code == 2 and message in done.output and "corridor.toml" in done.output
    assert "Traceback" not in done.output


def test_a_missing_configuration_file_is_an_error(home: Path) -> None:
    done = runner.invoke(app, ["--config", "none.toml", "places"])
    assert done.exit_code == 2 and "configuration file not found" in done.output


def test_shell_completion_is_offered() -> None:
    done = runner.invoke(app, ["--show-completion", "bash"])
    assert done.exit_code == 0 and "_corridor_completion" in done.output


def test_every_command_shows_an_example() -> None:
    def commands(group, prefix=""):  # noqa: ANN001, ANN202
        for name, command in group.commands.items():
            if hasattr(command, "commands"):
                yield from commands(command, f"{prefix}{name} ")
            else:
                yield f"{prefix}{name}", command

    for name, command in commands(get_command(app)):
        assert "Example" in (command.help or ""), name
        assert (command.help or "").splitlines()[0].endswith("."), name  # one-line summary


def test_the_cli_loads_no_table_or_graph_library_until_a_command_needs_one() -> None:
    import subprocess
    import sys

    code = ("import sys, corridor, corridor.cli; "
            "print(sorted(m for m in ('pandas', 'scipy', 'numpy', 'highspy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"
    # the lazy names still resolve
    import corridor

    assert corridor.load_network.__module__ == "corridor.network"
    assert corridor.Route.__module__ == "corridor.routes"
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        corridor.nothing  # noqa: B018
