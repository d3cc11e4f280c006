"""`fabnet WORD …` imports only the command modules named WORD or WORD_* (start-up time);
every command the full application has must be reachable that way."""

from __future__ import annotations

import subprocess
import sys

from fabnet.cli import app, command_modules


def _modules_of(info: object) -> set[str]:
    """Modules whose functions a registered command or group runs."""
    callback = getattr(info, "callback", None)
    module = getattr(callback, "__module__", "") or ""
    mods = {module.rsplit(".", 1)[-1]} if module.startswith("fabnet.cli.") else set()
    sub = getattr(info, "typer_instance", None)
    if sub is not None:
        for cmd in sub.registered_commands:
            mods |= _modules_of(cmd)
        for grp in sub.registered_groups:
            mods |= _modules_of(grp)
    return mods


def test_every_command_word_loads_the_modules_that_register_it() -> None:
    entries = [*app.registered_commands, *app.registered_groups]
    assert len(entries) >= 9
    for info in entries:
        word = info.name
        assert word is not None
        selected = command_modules(word)
        if not selected:
            continue  # a word no module is named after loads every module
        missing = _modules_of(info) - set(selected)
        assert not missing, f"`fabnet {word}` would not load {sorted(missing)}"


def _loaded_by(args: list[str]) -> str:
    """The fabnet modules imported after running ``fabnet ARGS`` in a fresh process."""
    code = (
        "import sys\n"
        "from fabnet.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('fabnet.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    return out.strip().splitlines()[-1]


def test_a_fab_command_does_not_import_the_planner_or_the_scenario_schema() -> None:
    loaded = _loaded_by(["fab", "simulate", "--help"])
    assert "'fabnet.cli.fab'" in loaded
    assert "fabnet.scenario" not in loaded
    assert "fabnet.plan" not in loaded


def test_other_commands_install_the_stored_curve_reader() -> None:
    """A scenario may name a stored curve run; every command that may load a scenario has
    the reader installed (fabnet.cli.curve_source), as when all modules were imported."""
    for args in (
        ["scenario", "list"],
        ["economics", "--help"],
        ["--help"],
        ["fab", "check-plan", "--help"],
    ):
        assert "'fabnet.cli.curve_source'" in _loaded_by(args), args
