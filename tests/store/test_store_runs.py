"""The DuckDB runs store on real files: round trip, ids, atomicity, locking and bad files."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
from tests.store_lock import holding_lock

from fabnet.errors import StoreError
from fabnet.scenario import Scenario, load_scenario
from fabnet.store import SCHEMA_VERSION, Store, scenario_hash


@pytest.fixture(scope="module")
def toy() -> Scenario:
    return load_scenario("toy")


def _summary(objective: float, unmet: float = 0.0, gpu_share: float = 0.5) -> dict[str, Any]:
    """A plan summary shaped like ``Plan.summary()`` (run_id None until stored)."""
    return {
        "run_id": None,
        "scenario": "toy",
        "status": "optimal",
        "objective_usd": objective,
        "years": [
            {
                "year": 2025,
                "compute_pflops": {"acc": 400.0, "gpu": 600.0},
                "vendor_share": {"acme": 1 - gpu_share, "gpuco": gpu_share},
                "country_share": {"TW": 1.0},
                "unmet_pflops": unmet,
                "cost_usd": 1.0e8,
            },
            {
                "year": 2026,
                "compute_pflops": {"acc": 1400.0, "gpu": 600.0},
                "vendor_share": {"acme": 1.0, "gpuco": 0.0},
                "country_share": {"TW": 0.4, "US": 0.6},
                "unmet_pflops": 0.0,
                "cost_usd": 2.0e8,
            },
        ],
        "builds": [{"site": "fab-b", "start_period": "2025", "online_period": "2026"}],
    }


def _tables(scale: float = 1.0) -> dict[str, pd.DataFrame]:
    return {
        "supply": pd.DataFrame(
            {
                "period": ["2025", "2026", "2026"],
                "year": [2025, 2026, 2026],
                "source": ["acc", "acc", "gpu"],
                "site": ["fab-a", "fab-b", ""],
                "wafers": [100.0 * scale, 250.0 * scale, 0.0],
            }
        ),
        "shares": pd.DataFrame(
            {
                "year": [2025, 2025],
                "kind": ["vendor", "vendor"],
                "key": ["acme", "gpuco"],
                "share": [0.5, 0.5],
                "cap": [np.nan, 0.6],
            }
        ),
        "builds": pd.DataFrame(
            {"site": pd.Series([], dtype=object), "capex_usd": pd.Series([], dtype=float)}
        ),
    }


def _save(store: Store, scenario: Scenario, objective: float, **kw: Any) -> str:
    args: dict[str, Any] = {
        "kind": "plan",
        "scenario": scenario,
        "options": {"relax": False, "mip_gap": 0.001, "period": None},
        "status": "optimal",
        "timings_s": {"build": 0.5, "solve": 1.5, "read": 0.1},
        "summary": _summary(objective),
        "tables": _tables(),
        "messages": ["The GPU vendor cap binds in 2026."],
    }
    args.update(kw)
    return store.save_run(**args)


def _raw(path: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_round_trip_save_list_load_compare(tmp_path: Path, toy: Scenario) -> None:
    path = tmp_path / "runs.duckdb"
    store = Store(path)
    assert path.exists() and store.schema_version() == SCHEMA_VERSION
    a = _save(store, toy, 3.0e8)
    b = _save(
        Store(path),
        toy,
        2.5e8,
        options={"relax": True},
        summary=_summary(2.5e8, unmet=12.0, gpu_share=0.3),
    )
    assert a != b and a < b  # ids sort in time order

    runs = Store(path).list_runs()
    assert list(runs["id"]) == [b, a]  # newest first
    assert list(runs["objective_usd"]) == [2.5e8, 3.0e8]
    assert list(runs["unmet_pflops"]) == [12.0, 0.0]
    assert runs["time_s"].iloc[0] == pytest.approx(2.1)
    assert set(runs["scenario"]) == {"toy"} and set(runs["kind"]) == {"plan"}
    assert Store(path).list_runs(kind="fab").empty

    rec = Store(path).load_run(a)
    assert rec.id == a and rec.kind == "plan" and rec.status == "optimal"
    assert rec.scenario == toy
    assert rec.meta["scenario_hash"] == scenario_hash(toy)
    assert rec.options == {"relax": False, "mip_gap": 0.001, "period": None}
    assert rec.timings_s == {"build": 0.5, "solve": 1.5, "read": 0.1}
    assert rec.messages == ["The GPU vendor cap binds in 2026."]
    assert rec.summary["run_id"] == a  # filled in when stored
    assert rec.summary["years"] == _summary(3.0e8)["years"]
    assert set(rec.tables) == {"supply", "shares", "builds"}
    for name, frame in _tables().items():
        pd.testing.assert_frame_equal(
            rec.tables[name], frame, check_dtype=False, check_index_type=False
        )
    assert rec.tables["builds"].empty and list(rec.tables["builds"].columns) == [
        "site",
        "capex_usd",
    ]

    cmp = Store(path).compare([a, "latest"])
    assert list(cmp.columns) == [a, b]
    assert cmp.loc["objective (PV, USD)", a] == 3.0e8
    assert cmp.loc["objective (PV, USD)", b] == 2.5e8
    assert cmp.loc["unmet compute (PFLOP/s·yr)", b] == 12.0
    assert cmp.loc["vendor share max/yr: gpuco", b] == 0.3
    assert cmp.loc["country share max/yr: US", a] == 0.6
    assert cmp.loc["build schedule", a] == "fab-b (2025→2026)"
    assert cmp.loc["time solve (s)", a] == 1.5
    assert cmp.loc["option relax", b] is True


def test_tables_gain_columns_and_runs_load_as_saved(tmp_path: Path, toy: Scenario) -> None:
    store = Store(tmp_path / "runs.duckdb")
    a = _save(store, toy, 1.0)
    wider = _tables(2.0)
    wider["supply"] = wider["supply"].assign(country=["TW", "US", ""])
    b = _save(store, toy, 2.0, tables=wider)
    cols = [r[0] for r in _raw(store.path, "DESCRIBE plan_supply")]
    assert cols == ["run_id", "period", "year", "source", "site", "wafers", "country"]
    assert "country" not in store.load_run(a).tables["supply"].columns
    assert list(store.load_run(b).tables["supply"]["country"]) == ["TW", "US", ""]
    assert list(store.load_run(b).tables["supply"]["wafers"]) == [200.0, 500.0, 0.0]


def test_prefix_latest_unknown_and_ambiguous_ids(tmp_path: Path, toy: Scenario) -> None:
    store = Store(tmp_path / "runs.duckdb")
    with pytest.raises(StoreError, match="holds no runs yet"):
        store.load_run("latest")
    ids = [_save(store, toy, float(i)) for i in range(3)]
    assert len(set(ids)) == 3 and ids == sorted(ids)
    assert store.resolve_id("latest") == ids[-1]
    unique = next(
        ids[0][:k] for k in range(1, 19) if not any(i.startswith(ids[0][:k]) for i in ids[1:])
    )
    assert store.load_run(unique).id == ids[0]

    with pytest.raises(StoreError) as unknown:
        store.load_run("19990101-0000")
    text = unknown.value.format()
    assert "no run with id '19990101-0000'" in text
    assert all(i in text for i in ids) and "latest" in text  # the hint lists recent ids

    common = "20"  # every id of this century
    with pytest.raises(StoreError, match=r"matches 3 runs") as ambiguous:
        store.load_run(common)
    assert all(i in ambiguous.value.format() for i in ids)


class _Interrupting(dict[str, pd.DataFrame]):
    """Result tables that raise KeyboardInterrupt (Ctrl-C) after the first one is written."""

    def items(self) -> Iterator[tuple[str, pd.DataFrame]]:  # type: ignore[override]
        first = next(iter(dict.items(self)))
        yield first
        raise KeyboardInterrupt


def _assert_only(path: Path, ids: list[str]) -> None:
    """The file holds exactly these runs and no result row of any other run."""
    assert sorted(r[0] for r in _raw(path, "SELECT id FROM runs")) == sorted(ids)
    tables = [r[0] for r in _raw(path, "SELECT table_name FROM information_schema.tables")]
    for table in tables:
        if table.startswith("plan_"):
            run_ids = {r[0] for r in _raw(path, f"SELECT DISTINCT run_id FROM {table}")}
            assert run_ids <= set(ids), table


def test_failed_write_midway_rolls_back_and_keeps_earlier_runs(
    tmp_path: Path, toy: Scenario
) -> None:
    path = tmp_path / "runs.duckdb"
    store = Store(path)
    good = [_save(store, toy, 1.0), _save(store, toy, 2.0)]
    before = store.load_run(good[0]).tables["supply"]

    # The first table (new) is written, then the second cannot be: text in a DOUBLE column.
    bad = {
        "unmet": pd.DataFrame({"period": ["2025"], "unmet": [3.0]}),
        "shares": _tables()["shares"].assign(share=["half", "half"]),
    }
    with pytest.raises(StoreError, match="nothing of this run was written"):
        _save(store, toy, 9.0, tables=bad)
    _assert_only(path, good)
    assert "plan_unmet" not in {r[0] for r in _raw(path, "SHOW TABLES")}  # DDL rolled back

    # Ctrl-C while the tables are being written.
    with pytest.raises(KeyboardInterrupt):
        _save(store, toy, 9.0, tables=_Interrupting(_tables()))
    _assert_only(path, good)

    pd.testing.assert_frame_equal(store.load_run(good[0]).tables["supply"], before)
    assert _save(store, toy, 3.0)  # the store still takes new runs


def test_killed_process_leaves_no_trace(tmp_path: Path, toy: Scenario) -> None:
    path = tmp_path / "runs.duckdb"
    good = _save(Store(path), toy, 1.0)
    script = tmp_path / "killed.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import os, signal
            import pandas as pd
            from fabnet.scenario import load_scenario
            from fabnet.store import Store

            class Killing(dict):
                def items(self):
                    yield "supply", pd.DataFrame({{"period": ["2025"] * 5000, "wafers": 1.0}})
                    yield "extra", pd.DataFrame({{"x": range(5000)}})
                    os.kill(os.getpid(), signal.SIGKILL)

            Store({str(path)!r}).save_run(
                kind="plan", scenario=load_scenario("toy"), options={{}}, status="optimal",
                timings_s={{}}, summary={{}}, tables=Killing(),
            )
            """
        )
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    _assert_only(path, [good])
    assert "plan_extra" not in {r[0] for r in _raw(path, "SHOW TABLES")}
    assert len(Store(path).load_run(good).tables["supply"]) == 3


def test_locked_file_and_bad_files_give_store_errors(tmp_path: Path, toy: Scenario) -> None:
    path = tmp_path / "runs.duckdb"
    Store(path)
    with holding_lock(path) as holder:
        with pytest.raises(StoreError, match="in use by another process") as locked:
            Store(path, lock_timeout_s=0.0).list_runs()
        assert f"PID {holder.pid}" in locked.value.format()
        with pytest.raises(StoreError, match="in use by another process"):
            Store(path, lock_timeout_s=0.0)  # opening to write waits, then gives up
    assert Store(path).list_runs().empty  # usable again once the other process is gone

    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 100)
    with pytest.raises(StoreError, match="not a DuckDB runs store"):
        Store(text)
    with pytest.raises(StoreError, match="not a DuckDB runs store"):
        Store(text, create=False).list_runs()
    with pytest.raises(StoreError, match="no runs store here yet"):
        Store(tmp_path / "missing.duckdb", create=False)
    assert not (tmp_path / "missing.duckdb").exists()
    with pytest.raises(StoreError, match="is a directory"):
        Store(tmp_path)


def test_newer_layout_and_bad_inputs_are_refused(tmp_path: Path, toy: Scenario) -> None:
    path = tmp_path / "runs.duckdb"
    store = Store(path)
    with pytest.raises(StoreError, match="kind"):
        _save(store, toy, 1.0, kind="Plan Runs")
    with pytest.raises(StoreError, match="table name"):
        _save(store, toy, 1.0, tables={"Supply Table": pd.DataFrame({"a": [1]})})
    with pytest.raises(StoreError, match="not a DataFrame"):
        _save(store, toy, 1.0, tables={"supply": [1, 2]})
    assert store.list_runs().empty

    con = duckdb.connect(str(path))
    con.execute(
        "UPDATE fabnet_meta SET value = ? WHERE key = 'schema_version'", [SCHEMA_VERSION + 1]
    )
    con.close()
    with pytest.raises(StoreError, match="upgrade fabnet"):
        Store(path)
    with pytest.raises(StoreError, match="upgrade fabnet"):
        Store(path, create=False).list_runs()


def test_summary_json_is_plain_json(tmp_path: Path, toy: Scenario) -> None:
    store = Store(tmp_path / "runs.duckdb")
    summary = _summary(1.0)
    summary["years"][0]["unmet_pflops"] = np.float64("nan")
    summary["objective_usd"] = np.float64(5.0)
    run = _save(store, toy, 1.0, summary=summary)
    raw = _raw(store.path, f"SELECT summary_json FROM runs WHERE id = '{run}'")[0][0]
    data = json.loads(raw)  # strict JSON: no NaN
    assert data["years"][0]["unmet_pflops"] is None and data["objective_usd"] == 5.0


def test_two_processes_writing_at_once_both_succeed(tmp_path: Path, toy: Scenario) -> None:
    """Each operation opens the file briefly; a writer that finds it locked waits its turn."""
    path = tmp_path / "runs.duckdb"
    Store(path)
    script = tmp_path / "writer.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys
            import pandas as pd
            from fabnet.scenario import load_scenario
            from fabnet.store import Store

            scenario = load_scenario("toy")
            for i in range(6):
                Store({str(path)!r}, lock_timeout_s=60).save_run(
                    kind="plan", scenario=scenario, options={{"writer": sys.argv[1]}},
                    status="optimal", timings_s={{}}, summary={{"objective_usd": float(i)}},
                    tables={{"supply": pd.DataFrame({{"wafers": [float(i)] * 1000}})}},
                )
            """
        )
    )
    procs = [
        subprocess.Popen([sys.executable, str(script), name], stderr=subprocess.PIPE, text=True)
        for name in ("a", "b")
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    runs = Store(path).list_runs()
    assert len(runs) == 12 and runs["id"].is_unique
    writers = [Store(path).load_run(i).options["writer"] for i in runs["id"]]
    assert sorted(writers) == ["a"] * 6 + ["b"] * 6
    assert _raw(path, "SELECT count(*) FROM plan_supply")[0][0] == 12_000


def test_other_kinds_get_their_own_tables(tmp_path: Path, toy: Scenario) -> None:
    """Tables are ``<kind>_<name>``: a fab simulation and a plan keep separate tables."""
    store = Store(tmp_path / "runs.duckdb")
    plan_id = _save(store, toy, 1.0)
    kpis = pd.DataFrame({"product": ["p1", "p2"], "cycle_time_days": [41.5, 55.0]})
    fab_id = store.save_run(
        kind="fab",
        scenario=toy,
        options={"days": 730, "seed": 0},
        status="ok",
        timings_s={"simulate": 12.0},
        summary={"throughput_wafers_per_day": 310.0, "seeds": [0]},
        tables={"kpis": kpis},
    )
    assert list(store.list_runs(kind="fab")["id"]) == [fab_id]
    assert list(store.list_runs(kind="plan")["id"]) == [plan_id]
    tables = {r[0] for r in _raw(store.path, "SHOW TABLES")}
    assert {"fab_kpis", "plan_supply", "runs", "fabnet_meta"} <= tables
    rec = store.load_run(fab_id)
    assert rec.kind == "fab" and rec.options == {"days": 730, "seed": 0}
    pd.testing.assert_frame_equal(rec.tables["kpis"], kpis, check_dtype=False)
    cmp = store.compare([plan_id, fab_id])
    assert cmp.loc["throughput_wafers_per_day", fab_id] == 310.0
    assert cmp.loc["kind", fab_id] == "fab" and cmp.loc["time simulate (s)", fab_id] == 12.0


def test_a_column_first_seen_empty_takes_the_type_of_later_values(
    tmp_path: Path, toy: Scenario
) -> None:
    store = Store(tmp_path / "runs.duckdb")
    empty = pd.DataFrame({"policy": ["a"], "period": pd.Series([None], dtype=object)})
    first = _save(store, toy, 1.0, tables={"binding": empty})
    later = pd.DataFrame({"policy": ["b"], "period": [2027]})
    second = _save(store, toy, 2.0, tables={"binding": later})
    types_sql = (
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = 'plan_binding'"
    )
    assert dict(_raw(store.path, types_sql))["period"] == "BIGINT"
    assert store.load_run(second).tables["binding"]["period"].tolist() == [2027]
    assert store.load_run(first).tables["binding"]["period"].isna().all()
    # And the other way round: a number column later given only missing values stays numeric.
    third = _save(store, toy, 3.0, tables={"binding": empty})
    assert store.load_run(third).tables["binding"]["period"].isna().all()
    assert dict(_raw(store.path, types_sql))["period"] == "BIGINT"


def test_run_without_a_scenario_is_filed_under_its_input(tmp_path: Path, toy: Scenario) -> None:
    store = Store(tmp_path / "runs.duckdb")
    plan_id = _save(store, toy, 100.0)
    fab_id = store.save_run(
        kind="fab",
        scenario=None,
        input_name="HVLM",
        input_hash="ab" * 32,
        options={"days": 5},
        status="ok",
        timings_s={"simulate": 0.5},
        summary={"model": "HVLM"},
        tables={"lot_types": pd.DataFrame({"name": ["Lot_3"], "completed": [10]})},
    )
    rec = store.load_run(fab_id)
    assert rec.scenario is None
    assert rec.meta["scenario_name"] == "HVLM" and rec.meta["scenario_hash"] == "ab" * 32
    assert rec.tables["lot_types"]["completed"].tolist() == [10]
    assert store.load_run(plan_id).scenario == toy
    assert set(store.list_runs()["kind"]) == {"plan", "fab"}
    with pytest.raises(StoreError, match="needs a scenario or an input_name"):
        store.save_run(
            kind="fab",
            scenario=None,
            options={},
            status="ok",
            timings_s={},
            summary={},
            tables={},
        )
