"""`fabnet plan` never loses finished work (issue 11 §2): a store that cannot be written is
refused before the plan is built and solved; a store that fails after solving leaves the
result in a rescue store that the message names. Also `risk` and `frontier`."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from fabnet.store import Store
from tests.cli_runner import run_cli
from tests.store_lock import duckdb_tables, holding_lock


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _foreign(path: Path) -> Path:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE sales (region VARCHAR, usd DOUBLE)")
    con.close()
    return path


@pytest.mark.parametrize("command", ["plan", "risk", "frontier"])
def test_unrelated_duckdb_store_is_refused_before_any_work(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = _foreign(tmp_path / "sales.duckdb")
    code, out, err = run_cli([command, "toy", "--store", str(store)], capsys)
    assert code == 2 and "Traceback" not in err
    msg = _one_line(err)
    assert str(store) in msg and "not a fabnet runs store" in msg and "--store PATH" in msg
    assert out == ""  # nothing was planned or shown
    assert duckdb_tables(store) == ["sales"]


def test_the_store_is_checked_before_the_scenario_is_even_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The check comes first: with a bad store and a scenario that does not exist, the store
    is what is reported (so no model is ever built for a store that cannot take it)."""
    store = _foreign(tmp_path / "sales.duckdb")
    code, _out, err = run_cli(
        ["plan", str(tmp_path / "missing.yaml"), "--store", str(store)], capsys
    )
    assert code == 2 and "not a fabnet runs store" in _one_line(err)


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda p: p.mkdir() or p, "is a directory"),
        (lambda p: (p.write_text("hello: world\n" * 50), p)[1], "not a DuckDB runs store"),
        (lambda p: Path("/sys/fabnet-test.duckdb"), "read-only"),
    ],
    ids=["folder", "not-duckdb", "read-only-folder"],
)
def test_bad_store_paths_are_refused_before_solving(
    make: object, fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = make(tmp_path / "store.duckdb")  # type: ignore[operator]
    if str(path).startswith("/sys") and not Path("/sys").is_dir():
        pytest.skip("no /sys here")
    code, out, err = run_cli(["plan", "toy", "--store", str(path)], capsys)
    assert code == 2 and "Traceback" not in err
    assert fragment in _one_line(err) and str(path) in _one_line(err)
    assert out == ""


def test_locked_store_is_refused_before_solving(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "runs.duckdb"
    Store(store)
    with holding_lock(store):
        code, out, err = run_cli(["plan", "toy", "--store", str(store)], capsys)
    assert code == 2 and "Traceback" not in err
    assert "in use by another process" in _one_line(err) and out == ""


def _store_failing_after_solve(path: Path) -> Path:
    """A fabnet store whose plan_costs table has a column type no plan can be written into:
    it passes the check before solving and fails when the run is written."""
    Store(path)
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE plan_costs (run_id VARCHAR NOT NULL, cost_usd STRUCT(a INTEGER))")
    con.close()
    return path


def test_store_failing_after_solving_saves_the_plan_to_a_named_rescue_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = _store_failing_after_solve(tmp_path / "runs.duckdb")
    report = tmp_path / "plan.html"
    code, out, err = run_cli(
        ["plan", "toy", "--store", str(store), "--json", "--report", str(report)], capsys
    )
    assert code == 2 and "Traceback" not in err
    msg = _one_line(err)
    assert "could not store the results" in msg and "Conversion Error" in msg
    rescues = sorted(tmp_path.glob("runs-unsaved-*.duckdb"))
    assert len(rescues) == 1
    assert str(rescues[0]) in msg and f"fabnet runs list --store {rescues[0]}" in msg
    runs = Store(rescues[0]).list_runs()
    assert len(runs) == 1 and runs["status"].iloc[0] == "optimal"
    summary = json.loads(out)  # the result is still shown
    assert summary["run_id"] == runs["id"].iloc[0]
    assert Store(rescues[0]).load_run(summary["run_id"]).tables["costs"]["cost_usd"].sum() > 0
    assert report.exists() and summary["run_id"] in report.read_text("utf-8")
    assert Store(store).list_runs().empty  # nothing half-written in the failing store


def test_every_variant_goes_to_the_same_rescue_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = _store_failing_after_solve(tmp_path / "runs.duckdb")
    code, _out, err = run_cli(
        ["plan", "toy", "--variant", "all", "--workers", "1", "--store", str(store), "--json"],
        capsys,
    )
    assert code == 2 and "Traceback" not in err
    (rescue,) = tmp_path.glob("runs-unsaved-*.duckdb")
    assert len(Store(rescue).list_runs()) == 2  # base and no-gpu


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["plan", "toy", "--time-limit", "nan"], "--time-limit"),
        (["plan", "toy", "--time-limit", "inf"], "--time-limit"),
        (["plan", "toy", "--time-limit", "-3"], "--time-limit"),
        (["plan", "toy", "--gap", "nan"], "--gap"),
        (["plan", "toy", "--gap", "-0.1"], "--gap"),
        (["plan", "toy", "--threads", "100000"], "--threads"),
        (["plan", "toy", "--threads", "0"], "--threads"),
        (["plan", "toy", "--stochastic", "2", "--risk-aversion", "nan"], "--risk-aversion"),
        (["plan", "toy", "--stochastic", "2", "--cvar-alpha", "1"], "--cvar-alpha"),
        (["plan", "toy", "--stochastic", "2", "--unmet-cvar-cap", "inf"], "--unmet-cvar-cap"),
        (["frontier", "toy", "--gap", "nan"], "--gap"),
        (["frontier", "toy", "--time-limit", "-1"], "--time-limit"),
        (["frontier", "toy", "--cvar-alpha", "nan"], "--cvar-alpha"),
        (["frontier", "toy", "--unmet-cvar-cap", "-5"], "--unmet-cvar-cap"),
        (["risk", "toy", "--alpha", "nan"], "--alpha"),
    ],
)
def test_non_finite_and_negative_numeric_flags_are_refused(
    args: list[str], flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "runs.duckdb"
    code, out, err = run_cli([*args, "--store", str(store)], capsys)
    assert code == 2 and "Traceback" not in err
    assert flag in _one_line(err)
    assert out == "" and not store.exists()  # refused before anything ran


_FIRE = """disruptions:
  - id: fire
    kind: fire
    rate_per_year: 0.5
    hits: {sites: [fab-a]}
    capacity_loss: 1.0
    recovery: [[0, 0], [29, 0], [73, 0.88], [98, 1]]
"""


def test_risk_saves_its_plan_and_risk_run_to_the_rescue_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fabnet.scenario.io import builtin_text

    scen = tmp_path / "toy-risk.yaml"
    scen.write_text(builtin_text("toy") + _FIRE, "utf-8")
    store = _store_failing_after_solve(tmp_path / "runs.duckdb")
    code, out, err = run_cli(
        ["risk", str(scen), "--samples", "10", "--workers", "1", "--store", str(store),
         "--json"],
        capsys,
    )  # fmt: skip
    assert code == 2 and "Traceback" not in err
    (rescue,) = tmp_path.glob("runs-unsaved-*.duckdb")
    assert str(rescue) in _one_line(err)
    runs = Store(rescue).list_runs()
    assert sorted(runs["kind"]) == ["plan", "risk"]
    obj = json.loads(out)
    assert obj["run_id"] in set(runs["id"]) and obj["plan_run_id"] in set(runs["id"])


def test_json_is_the_last_resort_when_no_rescue_store_can_be_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the store failing and every rescue store path taken (here by folders), the run is
    written as JSON, and the error names that file."""
    import tempfile

    import pandas as pd

    from fabnet.cli.saving import RunSaver
    from fabnet.errors import StoreError
    from fabnet.scenario import load_scenario

    for sub in ("cwd", "tmp"):
        (tmp_path / sub).mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    store = _store_failing_after_solve(tmp_path / "runs.duckdb")
    saver = RunSaver(store)
    saver.check()
    for path in saver._candidates(".duckdb"):
        path.mkdir()  # a folder where each rescue store would go
    run = {
        "kind": "plan",
        "scenario": load_scenario("toy"),
        "options": {"variant": None},
        "status": "optimal",
        "timings_s": {"solve": 1.0},
        "summary": {"objective_usd": 12.5},
        "tables": {"costs": pd.DataFrame({"category": ["wafers"], "cost_usd": [12.5]})},
    }
    assert saver.save(**run) is None
    assert saver.rescue is not None and saver.rescue.suffix == ".json"
    assert saver.rescue.parent == tmp_path
    (saved,) = json.loads(saver.rescue.read_text("utf-8"))
    assert saved["summary"]["objective_usd"] == 12.5 and saved["scenario"]["name"] == "toy"
    assert saved["tables"]["costs"] == [{"category": "wafers", "cost_usd": 12.5}]
    with pytest.raises(StoreError) as exc:
        saver.finish()
    assert str(saver.rescue) in exc.value.format() and "as JSON" in exc.value.format()
