"""Command-line interface: `fabnet ...` (typer). Only this layer prints and reads files.

The command modules (``fabnet.cli.fab``, ``fabnet.cli.plan``, …) register their commands on
:data:`fabnet.cli.app.app` when imported. :func:`main` imports only the modules the command
word names (``fabnet fab …`` loads ``fab`` and every ``fab_*`` module), so a fab command does
not pay for the planner's and the scenario schema's imports (about 0.3 s of start-up);
any other word (``--help``, ``report``, a typo) loads them all. ``fabnet.cli.app`` read from
this package is the complete application.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from typing import Any

from fabnet.cli import app as _app_module

# importing the submodule bound ``app`` here to the module; ``app`` is the application
# (``__getattr__`` below), so the binding goes
globals().pop("app", None)

__all__ = ["app", "command_modules", "load_commands", "main"]

#: Modules of this package that register no command.
_HELPERS = frozenset({"app", "checks", "parallel_opts"})


def command_modules(word: str | None = None) -> list[str]:
    """Names of the command modules; with ``word``, those named ``word`` or ``word_*``
    (an empty list when none is)."""
    names = [
        m.name
        for m in pkgutil.iter_modules(__path__)
        if not m.name.startswith("_") and m.name not in _HELPERS
    ]
    if word is None:
        return sorted(names)
    return sorted(n for n in names if n == word or n.startswith(word + "_"))


def load_commands(word: str | None = None) -> None:
    """Import the command modules ``word`` selects (:func:`command_modules`), all of them if
    it selects none."""
    for name in command_modules(word) or command_modules():
        importlib.import_module(f"{__name__}.{name}")


def main(argv: list[str] | None = None) -> None:
    """Run the CLI (``fabnet`` console script, ``python -m fabnet``), loading only the
    command modules the first command word needs."""
    args = list(sys.argv[1:] if argv is None else argv)
    word = next((a for a in args if not a.startswith("-")), None)
    load_commands(word)
    _app_module.main(args)


def __getattr__(name: str) -> Any:
    """``fabnet.cli.app``: the application with every command registered."""
    if name == "app":
        load_commands()
        return _app_module.app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "app"])
