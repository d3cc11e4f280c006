"""docs/cli.md is generated from the CLI itself and must match it (regenerate: `make docs`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_cli_reference_is_current(tmp_path: Path) -> None:
    typer_cli = str(Path(sys.executable).parent / "typer")
    if not Path(typer_cli).exists():
        typer_cli = shutil.which("typer") or typer_cli
    if not Path(typer_cli).exists():
        pytest.skip("the typer command is not installed")
    out = tmp_path / "cli.md"
    subprocess.run(
        [typer_cli, "fabnet.cli", "utils", "docs", "--name", "fabnet", "--output", str(out)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert out.read_text() == DOCS.read_text(), "docs/cli.md is stale: run `make docs`"
