"""Stores that are not fabnet's, damaged, read-only or locked (issue 11 §1): each is a clear
StoreError naming the file, never a raw DuckDB traceback, and nothing is added to a file that
is not a fabnet store."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from tests.store_lock import duckdb_tables, holding_lock

from fabnet.errors import StoreError
from fabnet.scenario import load_scenario
from fabnet.store import Store, check_writable


def _save(store: Store) -> str:
    return store.save_run(
        kind="plan",
        scenario=load_scenario("toy"),
        options={},
        status="optimal",
        timings_s={"solve": 1.0},
        summary={"objective_usd": 1.0},
        tables={"supply": pd.DataFrame({"site": ["fab-a"], "wafers": [1.0]})},
    )


def test_unrelated_duckdb_file_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "sales.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE sales (region VARCHAR, usd DOUBLE)")
    con.close()
    with pytest.raises(StoreError) as exc:
        Store(path)
    text = exc.value.format()
    assert str(path) in text and "not a fabnet runs store" in text and "sales" in text
    assert "new file name" in text
    with pytest.raises(StoreError, match="not a fabnet runs store"):
        Store(path, create=False).list_runs()
    with pytest.raises(StoreError, match="not a fabnet runs store"):
        check_writable(path)
    assert duckdb_tables(path) == ["sales"]  # no fabnet table was added


def test_new_empty_duckdb_and_zero_byte_files_become_stores(tmp_path: Path) -> None:
    empty_db = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty_db)).close()
    zero = tmp_path / "zero.duckdb"
    zero.touch()
    for path in (empty_db, zero):
        check_writable(path)
        store = Store(path)
        run_id = _save(store)
        assert store.load_run(run_id).tables["supply"]["site"].tolist() == ["fab-a"]


def test_foreign_runs_table_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE runs (id INTEGER, athlete VARCHAR, km DOUBLE)")
    con.close()
    for action in (lambda: Store(path), lambda: Store(path, create=False).list_runs()):
        with pytest.raises(StoreError) as exc:
            action()
        text = exc.value.format()
        assert str(path) in text and "'runs' table of this file is not fabnet's" in text
    assert duckdb_tables(path) == ["runs"]


def test_missing_result_table_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "runs.duckdb"
    store = Store(path)
    run_id = _save(store)
    con = duckdb.connect(str(path))
    con.execute("DROP TABLE plan_supply")
    con.close()
    with pytest.raises(StoreError) as exc:
        store.load_run(run_id)
    text = exc.value.format()
    assert f"run {run_id}'s result table plan_supply" in text and "missing" in text
    assert str(path) in text
    assert len(store.list_runs()) == 1  # the runs table still reads


def test_lost_runs_table_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "runs.duckdb"
    Store(path)
    con = duckdb.connect(str(path))
    con.execute("DROP TABLE runs")
    con.close()
    with pytest.raises(StoreError, match="lost its 'runs' table"):
        Store(path)


def test_folder_and_file_in_the_way(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory"):
        check_writable(tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="is a file, not a folder"):
        check_writable(blocker / "sub" / "runs.duckdb")
    check_writable(tmp_path / "new" / "deeper" / "runs.duckdb")  # folders are made on saving
    assert not (tmp_path / "new").exists()  # the check changes nothing


def _folder_is_read_only(folder: Path) -> bool:
    try:
        (folder / ".fabnet-probe").touch()
    except OSError:
        return True
    (folder / ".fabnet-probe").unlink()
    return False


def test_read_only_folder(tmp_path: Path) -> None:
    """/sys is read-only even for root; a chmod'ed folder only for other users."""
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        candidates = [folder, Path("/sys")]
        read_only = [f for f in candidates if f.is_dir() and _folder_is_read_only(f)]
        if not read_only:
            pytest.skip("no read-only folder here")
        for f in read_only:
            with pytest.raises(StoreError) as exc:
                check_writable(f / "runs.duckdb")
            assert "read-only" in exc.value.format() and str(f) in exc.value.format()
            with pytest.raises(StoreError, match="read-only"):
                Store(f / "runs.duckdb")
    finally:
        folder.chmod(0o755)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files")
def test_read_only_file(tmp_path: Path) -> None:
    path = tmp_path / "runs.duckdb"
    Store(path)
    path.chmod(0o444)
    try:
        with pytest.raises(StoreError, match="read-only"):
            check_writable(path)
    finally:
        path.chmod(0o644)


def test_locked_store_is_refused_by_the_check(tmp_path: Path) -> None:
    path = tmp_path / "runs.duckdb"
    Store(path)
    with holding_lock(path):
        with pytest.raises(StoreError) as exc:
            check_writable(path, lock_timeout_s=0.0)
        assert "in use by another process" in exc.value.format()
        assert str(path) in exc.value.format()
    check_writable(path)
