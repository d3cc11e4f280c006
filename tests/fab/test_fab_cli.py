"""`fabnet fab simulate` and `fabnet fab compare`: JSON shape, tables, seeds and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.cli_runner import run_cli as run
from tests.fab.test_loader import HVLM, needs_hvlm, write_tiny

from fabnet.cli.fab import parse_seeds
from fabnet.errors import FabModelError


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
