"""Run the `fabnet` CLI from tests: in-process (fast) or as a real process (as a user does)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fabnet.cli import main


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the real CLI entry point in-process; (exit status, stdout, stderr)."""
    with pytest.raises(SystemExit) as exc:
        main(args)
    captured = capsys.readouterr()
    code = exc.value.code
    return (code if isinstance(code, int) else 1), captured.out, captured.err


def fabnet(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m fabnet ARGS`` as a separate process and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "fabnet", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )
