"""`fabnet plan`, run as a user runs it (a real process, a real store file)."""

from __future__ import annotations

import json
from pathlib import Path

from fabnet.plan.tables import COST_CATEGORIES
from fabnet.store import Store
from tests.cli_runner import fabnet
from tests.dask_cluster import dask_scheduler

__all__ = ["dask_scheduler"]  # the fixture, imported for a test below


def test_plan_json_is_stored(tmp_path: Path) -> None:
    db = tmp_path / "runs.duckdb"
    r = fabnet("plan", "toy", "--store", str(db), "--json")
    assert r.returncode == 0, r.stderr
    obj = json.loads(r.stdout)
    assert obj["scenario"] == "toy"
    assert obj["status"] == "optimal"
    assert obj["run_id"]
    assert [y["year"] for y in obj["years"]] == [2025, 2026, 2027, 2028]
    first = obj["years"][0]
    assert set(first) >= {"year", "compute_pflops", "vendor_share", "country_share",
                          "unmet_pflops", "cost_usd"}  # fmt: skip
    assert obj["builds"] == []
    rec = Store(db, create=False).load_run(obj["run_id"])
    assert rec.summary["objective_usd"] == obj["objective_usd"]
    assert {"supply", "compute", "shares", "costs", "utilisation", "unmet"} <= set(rec.tables)


def test_bad_override_gets_validation_messages(tmp_path: Path) -> None:
    r = fabnet("plan", "toy", "--no-store", "--set", "policies.max_vendor_shar.gpuco=0.3")
    assert r.returncode == 2
    assert "unknown key 'max_vendor_shar'" in r.stderr
    assert "did you mean 'max_vendor_share'" in r.stderr
    assert "Traceback" not in r.stderr
    r = fabnet("plan", "toy", "--no-store", "--set", "policies.max_vendor_share.gpuco=1.5")
    assert r.returncode == 2
    assert "less than or equal to 1" in r.stderr


def test_all_variants_side_by_side_with_report(tmp_path: Path) -> None:
    db = tmp_path / "runs.duckdb"
    html = tmp_path / "plan.html"
    r = fabnet(
        "plan", "toy", "--variant", "all", "--store", str(db), "--report", str(html),
        "--set", "products.acc.process_options.0.available_from_year=2026",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "Variants side by side" in r.stdout
    assert "no-gpu" in r.stdout and "base" in r.stdout
    for cat in COST_CATEGORIES:  # one list of categories: no cost row is dropped
        assert ("unmet" if cat == "unmet_penalty" else cat) + " (PV)" in r.stdout
    # the no-gpu variant caps GPUs at 10 % while no own accelerator exists in 2025
    assert "cap of 10 % on gpuco" in r.stdout
    assert (tmp_path / "plan-base.html").stat().st_size > 10_000
    assert (tmp_path / "plan-no-gpu.html").stat().st_size > 10_000
    assert len(Store(db, create=False).list_runs()) == 2


def test_variants_in_parallel_equal_the_serial_run(tmp_path: Path, dask_scheduler: str) -> None:
    """`--variant all` on a local cluster and on a separate scheduler + worker prints, in the
    same order, the plans the in-process run prints; only this process writes the store."""

    def plans(*extra: str) -> list[dict[str, object]]:
        r = fabnet("plan", "toy", "--variant", "all", "--json", *extra)
        assert r.returncode == 0, r.stderr
        objs: list[dict[str, object]] = json.loads(r.stdout)
        return [{k: v for k, v in o.items() if k not in ("run_id", "timings_s")} for o in objs]

    serial = plans("--no-store", "--workers", "1")
    assert [o["variant"] for o in serial] == ["base", "no-gpu"]
    db = tmp_path / "runs.duckdb"
    assert plans("--store", str(db), "--workers", "2") == serial
    assert plans("--no-store", "--scheduler", dask_scheduler) == serial
    stored = Store(db, create=False).list_runs()
    assert len(stored) == 2
    # a scheduler that cannot be reached: exit 2, a clear message, nothing stored
    r = fabnet("plan", "toy", "--variant", "all", "--store", str(db), "--scheduler", "127.0.0.1")
    assert r.returncode == 2
    assert "cannot reach the Dask scheduler at 127.0.0.1" in r.stderr
    assert "Traceback" not in r.stderr
    assert len(Store(db, create=False).list_runs()) == 2
