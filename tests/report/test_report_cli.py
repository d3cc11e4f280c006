"""`fabnet runs list|show|compare` and `fabnet report` on real plans: output and exit codes."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from report_helpers import BUSY_TOY, plan_and_store
from tests.cli_runner import run_cli as _run

from fabnet.errors import StoreError
from fabnet.report.compare import check_comparable
from fabnet.report.fmt import money
from fabnet.scenario import load_scenario
from fabnet.store import Store


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A store with two real toy plans: the toy as shipped, then the busy toy."""
    path = tmp_path_factory.mktemp("store") / "runs.duckdb"
    first = plan_and_store(path)
    second = plan_and_store(path, overrides=BUSY_TOY)
    return path, first, second


def test_runs_list_json_and_table(
    two_runs: tuple[Path, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, first, second = two_runs
    code, out, _ = _run(["runs", "list", "--store", str(path), "--json"], capsys)
    assert code == 0
    rows = json.loads(out)
    assert [r["id"] for r in rows] == [second, first]  # newest first
    assert {r["kind"] for r in rows} == {"plan"} and {r["scenario"] for r in rows} == {"toy"}
    busy = Store(path).load_run(second)
    assert rows[0]["objective_usd"] == pytest.approx(busy.summary["objective_usd"])
    assert rows[0]["unmet_pflops"] > 0 and rows[1]["unmet_pflops"] == 0
    code, out, _ = _run(["runs", "list", "--store", str(path)], capsys)
    assert code == 0 and first in out and second in out
    assert money(busy.summary["objective_usd"]) in out
    code, out, _ = _run(["runs", "list", "--store", str(path), "--limit", "1"], capsys)
    assert code == 0 and second in out and first not in out and "1 older runs" in out


def test_runs_show(two_runs: tuple[Path, str, str], capsys: pytest.CaptureFixture[str]) -> None:
    path, _, second = two_runs
    code, out, _ = _run(["runs", "show", second, "--store", str(path), "--json"], capsys)
    assert code == 0
    obj = json.loads(out)
    assert obj["run_id"] == second and obj["scenario"] == "toy" and obj["status"] == "optimal"
    assert [y["year"] for y in obj["years"]] == [2025, 2026, 2027, 2028]
    assert obj["builds"] == [
        {
            "site": "fab-b",
            "start_period": "2025",
            "online_period": "2026",
            "fraction": 1.0,
            "fractional": False,
        }
    ]
    # 4 years x 11 cost categories (energy: PLAN-2; design_partner: issue 7 §1; salvage: §4)
    assert obj["tables"]["costs"] == 44 and set(obj["timings_s"]) >= {"build", "solve"}
    assert obj["messages"] and obj["kind"] == "plan" and len(obj["scenario_hash"]) == 64
    code, out, _ = _run(["runs", "show", "latest", "--store", str(path)], capsys)
    assert code == 0 and "fab-b (start 2025, online 2026)" in out and "Messages:" in out


def test_runs_compare(two_runs: tuple[Path, str, str], capsys: pytest.CaptureFixture[str]) -> None:
    path, first, second = two_runs
    code, out, _ = _run(["runs", "compare", first, second, "--store", str(path), "--json"], capsys)
    assert code == 0
    obj = json.loads(out)
    assert list(obj) == [first, second]
    assert obj[first]["builds"] == 0 and obj[second]["builds"] == 1
    assert obj[first]["scenario hash"] != obj[second]["scenario hash"]
    assert obj[second]["vendor share max/yr: gpuco"] == pytest.approx(0.5)
    assert obj[first]["objective (PV, USD)"] < obj[second]["objective (PV, USD)"]
    code, out, _ = _run(["runs", "compare", first, "latest", "--store", str(path)], capsys)
    assert code == 0 and "objective (PV, USD)" in out and "fab-b (2025→2026)" in out
    code, _, err = _run(["runs", "compare", first, "--store", str(path)], capsys)
    assert code == 2 and "at least two run ids" in err


def test_unknown_ids_and_missing_store_exit_2(
    two_runs: tuple[Path, str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _, second = two_runs
    code, _, err = _run(["runs", "show", "17000101", "--store", str(path)], capsys)
    assert code == 2 and "no run with id '17000101'" in err and second in err
    assert "Traceback" not in err
    target = tmp_path / "x.html"
    code, _, err = _run(["report", "nope", "--store", str(path), "-o", str(target)], capsys)
    assert code == 2 and "no run with id 'nope'" in err and not target.exists()
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
    assert [p.name for p in target.parent.iterdir()] == ["x.html"]  # no temp file left
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # the mode of any new file


def test_report_that_cannot_be_written_exits_2_and_leaves_nothing(
    two_runs: tuple[Path, str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, first, _ = two_runs
    (tmp_path / "taken").mkdir()  # a folder where the file should go
    code, _, err = _run(
        ["report", first, "-o", str(tmp_path / "taken"), "--store", str(path)], capsys
    )
    assert code == 2 and "cannot write the report" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]  # no temporary file left


def test_cli_end_to_end_in_a_fresh_process(two_runs: tuple[Path, str, str], tmp_path: Path) -> None:
    path, _, second = two_runs
    out = tmp_path / "p.html"
    ok = subprocess.run(
        [sys.executable, "-m", "fabnet", "report", "latest", "-o", str(out), "--store", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert second in out.read_text(encoding="utf-8")
    bad = subprocess.run(
        [sys.executable, "-m", "fabnet", "runs", "show", "nope", "--store", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and "recent runs" in bad.stderr and "Traceback" not in bad.stderr


def test_other_kinds_show_but_have_no_plan_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "runs.duckdb"
    fab_id = Store(path).save_run(
        kind="fab",
        scenario=load_scenario("toy"),
        options={"days": 730},
        status="ok",
        timings_s={"simulate": 3.2},
        summary={"throughput_wafers_per_day": 300.0},
        tables={},
    )
    code, out, _ = _run(["runs", "show", fab_id, "--store", str(path)], capsys)
    assert code == 0 and "fab run" in out and "throughput_wafers_per_day" in out
    code, out, _ = _run(["runs", "list", "--store", str(path)], capsys)
    assert code == 0 and "Fab runs in" in out and fab_id in out
    code, _, err = _run(
        ["report", fab_id, "--store", str(path), "-o", str(tmp_path / "r.html")], capsys
    )
    assert code == 2 and "made for plan and risk runs" in err
    assert not (tmp_path / "r.html").exists()


def test_comparison_report_of_two_real_plans(
    two_runs: tuple[Path, str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, first, second = two_runs
    target = tmp_path / "compare.html"
    code, out, err = _run(
        ["report", first, second, "-o", str(target), "--store", str(path)], capsys
    )
    assert code == 0, err
    assert f"wrote {target}" in out and f"runs {first}, {second}" in out
    html = target.read_text(encoding="utf-8")
    assert html.count("* plotly.js v") == 1 and not re.search(r"<script[^>]+src=", html)
    charts = re.findall(r'<div id="chart-([a-z_]+)" class="plotly-graph-div"', html)
    assert charts == ["costs", "shares", "compute"]
    store = Store(path)
    a, b = store.load_run(first), store.load_run(second)
    # key figures in the report's units, both objectives, and the busy plan's build
    assert money(a.summary["objective_usd"]) in html and money(b.summary["objective_usd"]) in html
    assert "unmet compute (CSV: PFLOP/s·yr)" in html and "vendor share max/yr: gpuco" in html
    assert "fab-b (US)" in html and "2025 → 2026" in html  # only the busy plan builds it
    # the present value per category adds up to each run's objective (the CSV value is exact)
    for rec in (a, b):
        pv = rec.tables["costs"]["cost_pv_usd"].sum()
        assert pv == pytest.approx(rec.summary["objective_usd"], rel=1e-6)
        assert f'data-v="{float(pv)!r}"' in html
    assert html.count('class="csv"') == 3  # key figures, costs, builds: each downloadable
    # the same ids twice are one run: a comparison needs two different runs
    code, _, err = _run(["report", second, "latest", "--store", str(path)], capsys)
    assert code == 2 and "at least two different plan runs" in err and "Traceback" not in err


def test_comparison_of_mixed_kinds_is_refused(
    two_runs: tuple[Path, str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, first, _ = two_runs
    path = tmp_path / "mixed.duckdb"
    shutil.copy(src, path)
    fab_id = Store(path).save_run(
        kind="fab",
        scenario=None,
        input_name="SMT2020 HVLM",
        input_hash="0" * 64,
        options={"days": 30},
        status="ok",
        timings_s={"simulate": 1.0},
        summary={"throughput_wafers_per_day": 300.0},
        tables={},
    )
    target = tmp_path / "c.html"
    code, _, err = _run(["report", first, fab_id, "-o", str(target), "--store", str(path)], capsys)
    assert code == 2 and "Traceback" not in err
    assert "cannot compare runs of different kinds" in err
    assert f"{first} (plan)" in err and f"{fab_id} (fab)" in err and not target.exists()


def test_comparison_holds_two_to_six_plan_runs(two_runs: tuple[Path, str, str]) -> None:
    path, first, second = two_runs
    a, b = Store(path).load_run(first), Store(path).load_run(second)
    check_comparable([a, b])
    seven = [dataclasses.replace(a, meta={**a.meta, "id": f"run-{i}"}) for i in range(7)]
    check_comparable(seven[:6])
    with pytest.raises(StoreError, match="at most 6 runs; 7 were given"):
        check_comparable(seven)
    with pytest.raises(StoreError, match="at least two different plan runs"):
        check_comparable([a])
