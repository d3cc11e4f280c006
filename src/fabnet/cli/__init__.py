"""Command-line interface: `fabnet ...` (typer). Only this layer prints and reads files.

The command modules (``fabnet.cli.fab``, ``fabnet.cli.plan``, …) register their commands on
:data:`fabnet.cli.app.app` when imported. :func:`main` imports only the modules the command
word names (``fabnet fab …`` loads ``fab`` and every ``fab_*`` module), so a fab command does
not pay for the planner's and the scenario schema's imports (about 0.3 s of start-up);
any other word (``--help``, ``report``, a typo) loads them all. Hook modules
(``curve_source``: the scenario loader's reader of stored curves) load with every command
except those that never load a scenario (``fab simulate``, ``compare``, ``curve``,
``generate``). ``fabnet.cli.app`` read from this package is the complete application.
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
#: Modules that install a hook when imported (``curve_source``: the scenario loader's reader
#: of stored curves); loaded for every command that may load a scenario.
_HOOKS = ("curve_source",)
#: Commands that never load a scenario, stored or not (they skip the hooks and the scenario
#: schema's imports); ``fab check-plan`` reads a stored plan's scenario, so it is not here.
_SCENARIO_FREE = frozenset(
    {("fab", "simulate"), ("fab", "compare"), ("fab", "curve"), ("fab", "generate")}
)


def command_modules(word: str | None = None) -> list[str]:
    """Names of the command modules; with ``word``, those named ``word`` or ``word_*``
    (an empty list when none is)."""
    names = [
        m.name
        for m in pkgutil.iter_modules(__path__)
        if not m.name.startswith("_") and m.name not in _HELPERS and m.name not in _HOOKS
    ]
    if word is None:
        return sorted(names)
    return sorted(n for n in names if n == word or n.startswith(word + "_"))


def load_commands(word: str | None = None, command: str | None = None) -> None:
    """Import the command modules ``word`` selects (:func:`command_modules`), all of them if
    it selects none, and the hook modules unless ``word command`` loads no scenario."""
    selected = command_modules(word)
    hooks = () if selected and (word, command) in _SCENARIO_FREE else _HOOKS
    for name in [*(selected or command_modules()), *hooks]:
        importlib.import_module(f"{__name__}.{name}")


def main(argv: list[str] | None = None) -> None:
    """Run the CLI (``fabnet`` console script, ``python -m fabnet``), loading only the
    command modules the first command word needs."""
    args = list(sys.argv[1:] if argv is None else argv)
    words = [a for a in args if not a.startswith("-")][:2]
    load_commands(*words)
    _app_module.main(args)


def __getattr__(name: str) -> Any:
    """``fabnet.cli.app``: the application with every command registered."""
    if name == "app":
        load_commands()
        return _app_module.app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "app"])
