"""The ``corridor`` command line: thin commands over the library.

Each sub-module registers its commands on :data:`app`; errors a user can cause are turned into a
message and a non-zero exit code in one place (:func:`corridor.cli.common.handle_errors`).
The modules are imported in the order ``--help`` lists their commands: routes first.
"""

# ruff: noqa: I001  (the import order is the order of the commands in --help)
from corridor.cli import route as _route  # noqa: F401  (registers commands)
from corridor.cli import flows as _flows  # noqa: F401
from corridor.cli import risk as _risk  # noqa: F401
from corridor.cli import invest as _invest  # noqa: F401
from corridor.cli import calibration as _calibration  # noqa: F401
from corridor.cli import report as _report  # noqa: F401
from corridor.cli import export as _export  # noqa: F401
from corridor.cli.common import app

__all__ = ["app"]
