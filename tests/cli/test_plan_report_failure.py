"""A report that cannot be written never loses the stored plan run."""

from __future__ import annotations

from pathlib import Path

from fabnet.store import Store
from tests.cli_runner import fabnet


def test_unwritable_report_keeps_the_stored_run(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the report's folder should be")
    store = tmp_path / "runs.duckdb"
    r = fabnet("plan", "toy", "--store", str(store), "--report", str(blocker / "plan.html"))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "cannot write the report" in r.stderr and "is stored as run" in r.stderr
    runs = Store(store).list_runs()
    assert len(runs) == 1 and runs["status"].iloc[0] == "optimal"
    assert str(runs["id"].iloc[0]) in r.stderr
