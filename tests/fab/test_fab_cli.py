"""`fabnet fab simulate` and `fabnet fab compare`: JSON shape, tables, seeds and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from tests.cli_runner import run_cli as run
from tests.dask_cluster import dask_scheduler
from tests.fab.smallfabs import mm1_fab
from tests.fab.test_loader import HVLM, needs_hvlm, write_tiny

from fabnet.cli.fab import parse_seeds
from fabnet.errors import FabModelError
from fabnet.fab import SimOptions, load_smt2020, simulate_seeds

__all__ = ["dask_scheduler"]  # the fixture, imported for a test below


def test_parse_seeds() -> None:
    assert parse_seeds("0-3") == [0, 1, 2, 3]
    assert parse_seeds("1,5, 7") == [1, 5, 7]
    assert parse_seeds("0-1,9") == [0, 1, 9]
    with pytest.raises(FabModelError):
        parse_seeds("3-1")
    with pytest.raises(FabModelError):
        parse_seeds("a")


def test_simulate_json_on_tiny_fab(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = write_tiny(tmp_path / "tiny")
    code, out, _ = run(["fab", "simulate", str(d), "--days", "2", "--json"], capsys)
    assert code == 0
    obj = json.loads(out)
    assert {"lot_types", "tool_groups", "events", "wall_s"} <= set(obj)
    lot = obj["lot_types"][0]
    assert lot["name"] == "Lot_1" and lot["completed"] == 24
    assert lot["cycle_time_mean_days"] == pytest.approx(90 / 1440)
    assert lot["on_time_pct"] == 100.0
    tg = obj["tool_groups"][0]
    assert set(tg) >= {
        "name",
        "availability_pct",
        "utilization_pct",
        "down_pct",
        "pm_pct",
        "setup_pct",
    }
    assert obj["events"] > 0


def test_simulate_tables_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = write_tiny(tmp_path / "tiny")
    code, out, _ = run(
        [
            "fab",
            "simulate",
            str(d),
            "--days",
            "1",
            "--seeds",
            "0-1",
            "--processes",
            "1",
            "--dispatcher",
            "edd",
        ],
        capsys,
    )
    assert code == 0
    assert "Lot_1" in out and "F1" in out and "events" in out
    code, _, err = run(["fab", "simulate", str(tmp_path / "missing")], capsys)
    assert code == 2 and "not a directory" in err
    code, _, err = run(["fab", "simulate", str(d), "--dispatcher", "magic"], capsys)
    assert code == 2 and "dispatcher" in err


@needs_hvlm
def test_compare_json(capsys: pytest.CaptureFixture[str]) -> None:
    ref = HVLM.parent / "reference"
    code, out, _ = run(
        [
            "fab",
            "compare",
            str(HVLM),
            "--reference",
            str(ref),
            "--days",
            "1",
            "--seeds",
            "0",
            "--json",
        ],
        capsys,
    )
    assert code == 0
    obj = json.loads(out)
    names = [r["name"] for r in obj["lot_types"]]
    assert names == ["Lot_3", "Lot_4", "HotLot_3", "HotLot_4"]
    assert obj["lot_types"][0]["cycle_time_mean_days_ref"] == 51.21
    assert len(obj["tool_groups"]) == 105


def test_simulate_stores_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--store` saves a kind-fab run whose tables are the ones printed, and `runs list` sees it."""
    from fabnet.store import Store

    d = write_tiny(tmp_path / "tiny")
    db = tmp_path / "runs.duckdb"
    code, out, _ = run(
        ["fab", "simulate", str(d), "--days", "2", "--seeds", "0-1", "--processes", "1",
         "--json", "--store", str(db)],
        capsys,
    )  # fmt: skip
    assert code == 0
    obj = json.loads(out)
    rec = Store(db, create=False).load_run(obj["run_id"])
    assert rec.kind == "fab"
    assert set(rec.tables) == {"lot_types", "tool_groups", "wip"}
    assert rec.tables["lot_types"]["name"].tolist() == [r["name"] for r in obj["lot_types"]]
    assert sorted(set(rec.tables["wip"]["seed"])) == [0, 1]
    assert rec.summary["events"] == obj["events"]
    code, out, _ = run(["runs", "list", "--store", str(db), "--kind", "fab"], capsys)
    assert code == 0 and obj["run_id"] in out


def test_seeds_in_parallel_equal_the_serial_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dask_scheduler: str
) -> None:
    """Two seeds of a random fab (exponential times) on a local cluster and on a separate
    scheduler + worker give, bit for bit, the tables of the in-process run."""
    model = load_smt2020(mm1_fab(tmp_path / "mm1").path)
    opts = SimOptions(days=10)
    serial = simulate_seeds(model, opts, [0, 1], processes=1)
    assert not serial.results[0].lots["done_min"].equals(serial.results[1].lots["done_min"])
    for where in ({"processes": 2}, {"scheduler": dask_scheduler}):
        multi = simulate_seeds(model, opts, [0, 1], **where)  # type: ignore[arg-type]
        assert [r.seed for r in multi.results] == [0, 1]
        for a, b in zip(serial.results, multi.results, strict=True):
            for name in ("lot_types", "tool_groups", "wip", "lots", "steps"):
                pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
            assert a.counters == b.counters and a.events == b.events
        pd.testing.assert_frame_equal(serial.lot_types, multi.lot_types, check_exact=True)
        pd.testing.assert_frame_equal(serial.tool_groups, multi.tool_groups, check_exact=True)
    # the CLI: --workers 2 and --scheduler print what --workers 1 prints
    base = ["fab", "simulate", str(tmp_path / "mm1"), "--days", "10", "--seeds", "0-1", "--json"]
    objs = []
    for extra in (["--workers", "1"], ["--workers", "2"], ["--scheduler", dask_scheduler]):
        code, out, err = run([*base, *extra], capsys)
        assert code == 0, err
        objs.append({k: v for k, v in json.loads(out).items() if k != "wall_s"})
    assert objs[0] == objs[1] == objs[2]
    code, _, err = run([*base, "--scheduler", "127.0.0.1"], capsys)
    assert code == 2 and "cannot reach the Dask scheduler at 127.0.0.1" in err
    assert "Traceback" not in err
