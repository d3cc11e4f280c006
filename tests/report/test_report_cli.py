"""`fabnet runs list|show|compare` and `fabnet report`: output and exit codes on real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from report_testdata import store_fake_plan

from fabnet.cli import main


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(args)
    captured = capsys.readouterr()
    code = done.value.code
    return (code if isinstance(code, int) else 1), captured.out, captured.err


@pytest.fixture
def two_runs(tmp_path: Path) -> tuple[Path, str, str]:
    path = tmp_path / "runs.duckdb"
    _, first = store_fake_plan(path)
    _, second = store_fake_plan(path)
    return path, first, second


def test_runs_list_json_and_table(
    two_runs: tuple[Path, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, first, second = two_runs
    code, out, _ = _run(["runs", "list", "--store", str(path), "--json"], capsys)
    assert code == 0
    rows = json.loads(out)
    assert [r["id"] for r in rows] == [second, first]
    assert rows[0]["kind"] == "plan" and rows[0]["scenario"] == "toy"
    assert rows[0]["objective_usd"] == pytest.approx(4.032e9)
    code, out, _ = _run(["runs", "list", "--store", str(path)], capsys)
    assert code == 0 and first in out and second in out and "$4.03 bn" in out
    code, out, _ = _run(["runs", "list", "--store", str(path), "--limit", "1"], capsys)
    assert code == 0 and second in out and first not in out and "1 older runs" in out


def test_runs_show(two_runs: tuple[Path, str, str], capsys: pytest.CaptureFixture[str]) -> None:
    path, first, _ = two_runs
    code, out, _ = _run(["runs", "show", first, "--store", str(path), "--json"], capsys)
    assert code == 0
    obj = json.loads(out)
    assert obj["run_id"] == first and obj["scenario"] == "toy" and obj["status"] == "optimal"
    assert [y["year"] for y in obj["years"]] == [2025, 2026, 2027, 2028]
    assert obj["builds"] == [{"site": "fab-b", "start_period": "2025", "online_period": "2026"}]
    assert obj["tables"]["costs"] == 32 and obj["timings_s"]["solve"] == 0.43
    code, out, _ = _run(["runs", "show", "latest", "--store", str(path)], capsys)
    assert code == 0 and "fab-b (start 2025, online 2026)" in out and "TEST DATA" in out


def test_runs_compare(two_runs: tuple[Path, str, str], capsys: pytest.CaptureFixture[str]) -> None:
    path, first, second = two_runs
    code, out, _ = _run(["runs", "compare", first, second, "--store", str(path), "--json"], capsys)
    assert code == 0
    obj = json.loads(out)
    assert list(obj) == [first, second]
    assert obj[first]["objective (PV, USD)"] == pytest.approx(4.032e9)
    assert obj[first]["vendor share max/yr: gpuco"] == 1.0
    code, out, _ = _run(["runs", "compare", first, "latest", "--store", str(path)], capsys)
    assert code == 0 and "objective (PV, USD)" in out and "$4.03 bn" in out
    code, _, err = _run(["runs", "compare", first, "--store", str(path)], capsys)
    assert code == 2 and "at least two run ids" in err


def test_unknown_ids_and_missing_store_exit_2(
    two_runs: tuple[Path, str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _, second = two_runs
    code, _, err = _run(["runs", "show", "17000101", "--store", str(path)], capsys)
    assert code == 2 and "no run with id '17000101'" in err and second in err
    assert "Traceback" not in err
    code, _, err = _run(
        ["report", "nope", "--store", str(path), "-o", str(tmp_path / "x.html")], capsys
    )
    assert code == 2 and "no run with id 'nope'" in err
    assert not (tmp_path / "x.html").exists()
    missing = tmp_path / "none.duckdb"
    code, _, err = _run(["runs", "list", "--store", str(missing)], capsys)
    assert code == 2 and "no runs store here yet" in err and not missing.exists()


def test_report_writes_html(
    two_runs: tuple[Path, str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, first, _ = two_runs
    target = tmp_path / "out" / "x.html"
    code, out, _ = _run(["report", first, "-o", str(target), "--store", str(path)], capsys)
    assert code == 0 and f"wrote {target}" in out
    html = target.read_text(encoding="utf-8")
    assert first in html and html.count("* plotly.js v") == 1
    assert not [p for p in target.parent.iterdir() if p.name != "x.html"]  # no temp files left


def test_cli_end_to_end_in_a_fresh_process(two_runs: tuple[Path, str, str], tmp_path: Path) -> None:
    path, _, second = two_runs
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "fabnet",
            "report",
            "latest",
            "-o",
            str(tmp_path / "p.html"),
            "--store",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert second in (tmp_path / "p.html").read_text(encoding="utf-8")
    bad = subprocess.run(
        [sys.executable, "-m", "fabnet", "runs", "show", "nope", "--store", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and "recent runs" in bad.stderr and "Traceback" not in bad.stderr
