"""`fabnet economics`: JSON output, tables, years, variants and errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.cli_runner import run_cli as run

from fabnet.scenario.io import builtin_text


def test_json_rows(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["economics", "toy", "--json", "--year", "2026"], capsys)
    assert code == 0
    rows = json.loads(out)
    assert [(r["year"], r["kind"], r["id"]) for r in rows] == [
        (2026, "own", "acc"),
        (2026, "offer", "gpu"),
    ]
    own, offer = rows
    assert own["unit_cost_usd"] == pytest.approx(1808.6468, abs=1e-3)
    assert own["gross_dies_per_wafer"] == 143
    assert offer["unit_cost_usd"] == 30000
    assert offer["cost_per_good_die_usd"] is None  # NaN becomes null


def test_all_years_and_variant(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["economics", "toy", "--json", "--all-years"], capsys)
    assert code == 0
    assert sorted({r["year"] for r in json.loads(out)}) == [2025, 2026, 2027, 2028]
    code, out, _ = run(
        ["economics", "toy", "--variant", "no-gpu", "--set", "offers.gpu.price_usd={2025: 1000}"],
        capsys,
    )
    assert code == 0
    assert "1,000" in out


def test_table_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["economics", "toy", "-y", "2025"], capsys)
    assert code == 0
    assert "Economics of toy" in out
    assert "acc @ n3" in out
    for value in ("143", "67.0%", "209", "1,809", "30,000", "890", "8,114"):
        assert value in out


def test_year_outside_horizon_is_noted(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["economics", "toy", "--year", "2040"], capsys)
    assert code == 0
    assert "outside the horizon" in err


def test_unknown_scenario_exits_2_with_message(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["economics", "no-such-scenario"], capsys)
    assert code == 2
    assert "no scenario file or built-in scenario named 'no-such-scenario'" in err
    assert "Traceback" not in err + out


def test_yaml_file_and_console_script(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(builtin_text("toy").replace("{2025: 20000}", "{2025: 10000}"), "utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "fabnet", "economics", str(path), "--json", "-y", "2025"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    own = json.loads(proc.stdout)[0]
    assert own["wafer_price_usd"] == 10000
    bad = subprocess.run(
        [sys.executable, "-m", "fabnet", "economics", str(tmp_path / "missing.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert "file not found" in bad.stderr
