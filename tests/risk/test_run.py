"""`fabnet risk` end to end: the Monte Carlo run, its parallel reproducibility, the store, the
report and the CLI's errors — on the toy scenario with a small catalogue of its own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fabnet.plan import PlanOptions, build_model, solve_model
from fabnet.risk.recourse import FirstStage, RecourseSpec
from fabnet.risk.run import RISK_TABLE_COLUMNS, RiskOptions, run_risk
from fabnet.scenario import load_scenario
from fabnet.store import Store
from tests.cli_runner import run_cli
from tests.dask_cluster import ROOT, dask_scheduler

__all__ = ["dask_scheduler"]

TOY = ROOT / "src" / "fabnet" / "scenario" / "builtin" / "toy.yaml"

#: A catalogue for the toy network: a fire at one of its fabs, an HBM cut, a GPU export rule
#: and a demand surge (rates made high so that 40 samples hold every kind of event).
CATALOGUE = """
disruptions:
  - id: fire
    kind: fire
    rate_per_year: 0.3
    hits: {sites: [fab-a, fab-b]}
    scope: one
    capacity_loss: 1.0
    recovery: [[0, 0], [29, 0], [73, 0.88], [98, 1]]
  - id: hbm-cut
    kind: allocation_cut
    rate_per_year: 0.3
    hits: {hbm_suppliers: [memco]}
    allocation_loss: 0.5
    duration_days: 365
  - id: gpu-ban
    kind: export_control
    rate_per_year: 0.1
    hits: {vendors: [gpuco]}
    allocation_loss: 1.0
  - id: surge
    kind: demand_shock
    rate_per_year: 0.3
    hits: {demands: all}
    demand_factor: 1.3
    duration_days: 365
"""


def write_toy_risk(folder: Path) -> Path:
    """The toy scenario with :data:`CATALOGUE`, written as ``folder/toy-risk.yaml``."""
    head, tail = TOY.read_text(encoding="utf-8").split("variants:", 1)
    path = folder / "toy-risk.yaml"
    path.write_text(head + CATALOGUE.lstrip() + "variants:" + tail, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def toy_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_toy_risk(tmp_path_factory.mktemp("risk"))


@pytest.fixture(scope="module")
def spec(toy_file: Path) -> RecourseSpec:
    sc = load_scenario(str(toy_file))
    pm = solve_model(build_model(sc, PlanOptions()))
    return RecourseSpec(sc, PlanOptions(), FirstStage.from_plan_model(pm))


def _frames_equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


def test_run_has_every_table_and_figure(spec: RecourseSpec) -> None:
    res = run_risk(spec, RiskOptions(samples=40, seed=3, workers=1, chunk_size=7))
    for name, cols in RISK_TABLE_COLUMNS.items():
        if name != "stress":
            assert list(res.tables[name].columns) == cols, name
    s = res.summary
    for key in (
        "samples", "seed", "expected_cost_usd", "cvar95_cost_usd", "expected_unmet_pflops",
        "cvar95_unmet_pflops", "p_service_95", "std_errors", "by_event", "wall_s",
    ):  # fmt: skip
        assert key in s, key
    samples = res.tables["samples"]
    assert len(samples) == 40 and s["samples"] == 40
    assert set(samples["sample"]) == set(range(40))
    # the mean of the stored per-sample costs is the summary's expected cost
    assert np.isclose(samples["cost_pv_usd"].mean(), s["expected_cost_usd"], rtol=1e-12)
    # no sample costs less than the undisturbed plan can (a disruption only takes away)...
    # ...except a demand surge, which costs more too: every cost is at least the baseline's
    assert (samples["cost_pv_usd"] >= s["baseline_cost_usd"] * (1 - 1e-9)).all()
    # events drawn are catalogue events, and a sample without events costs the baseline
    drawn = {e for row in samples["events"] for e in row.split(",") if e}
    assert drawn <= {"fire", "hbm-cut", "gpu-ban", "surge"} and drawn
    calm = samples[samples["n_events"] == 0]
    assert np.allclose(calm["cost_pv_usd"], s["baseline_cost_usd"], rtol=1e-9)


def test_results_do_not_depend_on_chunks_or_workers(
    spec: RecourseSpec, dask_scheduler: str
) -> None:
    base = run_risk(spec, RiskOptions(samples=24, seed=11, workers=1, chunk_size=24))
    other_chunks = run_risk(spec, RiskOptions(samples=24, seed=11, workers=1, chunk_size=5))
    local2 = run_risk(spec, RiskOptions(samples=24, seed=11, workers=2, chunk_size=4))
    remote = run_risk(
        spec, RiskOptions(samples=24, seed=11, scheduler=dask_scheduler, chunk_size=6)
    )
    for other in (other_chunks, local2, remote):
        _frames_equal(base.tables["samples"], other.tables["samples"])
        _frames_equal(base.tables["unmet_years"], other.tables["unmet_years"])
        assert base.summary["cvar95_cost_usd"] == other.summary["cvar95_cost_usd"]


def test_a_subset_of_events_keeps_their_occurrences(spec: RecourseSpec) -> None:
    full = run_risk(spec, RiskOptions(samples=30, seed=5, workers=1)).tables["samples"]
    only = run_risk(spec, RiskOptions(samples=30, seed=5, workers=1, events=("fire",)))
    kept = only.tables["samples"]["events"]
    expect = full["events"].map(lambda e: ",".join(x for x in e.split(",") if x == "fire"))
    assert kept.tolist() == expect.tolist()
    assert only.summary["events"] == ["fire"]


def test_stress_knocks_out_each_site_and_supplier(spec: RecourseSpec) -> None:
    res = run_risk(spec, RiskOptions(samples=1, workers=1, stress=True, stress_onset_year=2026))
    st = res.tables["stress"]
    assert list(st.columns) == RISK_TABLE_COLUMNS["stress"]
    assert {"fab-a", "fab-b", "mem-a", "pack-a"} <= set(st["target"])
    assert (st["onset_year"] == 2026.0).all()
    assert (st["lost_pflops_years"] >= -1e-9).all()
    # the only packaging line: without it no own accelerator is made while it is out
    pack = st[st["target"] == "pack-a"].iloc[0]
    assert pack["lost_pflops_years"] > 0 or pack["extra_cost_usd"] > 0


def test_cli_risk_stores_reports_and_compares(
    toy_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "runs.duckdb"
    code, out, err = run_cli(
        ["risk", str(toy_file), "--samples", "30", "--seed", "2", "--workers", "1", "--json",
         "--store", str(store)],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    obj = json.loads(out)
    for key in ("run_id", "plan_run_id", "samples", "seed", "expected_cost_usd",
                "cvar95_cost_usd", "expected_unmet_pflops", "cvar95_unmet_pflops",
                "p_service_95", "std_errors", "by_event", "wall_s"):  # fmt: skip
        assert key in obj, key
    assert obj["samples"] == 30 and obj["seed"] == 2
    st = Store(store, create=False)
    risk = st.load_run(obj["run_id"])
    assert risk.kind == "risk" and risk.options["plan_run_id"] == obj["plan_run_id"]
    assert len(risk.table("samples")) == 30
    # a second call reuses the stored plan instead of planning again
    code, out2, err = run_cli(
        ["risk", str(toy_file), "--samples", "5", "--workers", "1", "--json", "--store",
         str(store)],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out2)["plan_run_id"] == obj["plan_run_id"]
    assert len(st.list_runs(kind="plan")) == 1
    # an edited catalogue does not change the plan: it is reused too
    edited = tmp_path / "toy-edited.yaml"
    edited.write_text(
        toy_file.read_text(encoding="utf-8").replace("rate_per_year: 0.3", "rate_per_year: 0.2"),
        encoding="utf-8",
    )
    code, out4, err = run_cli(
        ["risk", str(edited), "--samples", "5", "--workers", "1", "--json", "--store",
         str(store)],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out4)["plan_run_id"] == obj["plan_run_id"]
    assert len(st.list_runs(kind="plan")) == 1
    # reports: the risk run alone, and the plan with its latest risk run in it
    code, _, err = run_cli(
        ["report", obj["run_id"], "-o", str(tmp_path / "risk.html"), "--store", str(store)], capsys
    )
    assert code == 0, err
    html = (tmp_path / "risk.html").read_text(encoding="utf-8")
    assert "Unmet compute per year" in html and "Contribution by event type" in html
    code, _, err = run_cli(
        ["report", obj["plan_run_id"], "-o", str(tmp_path / "plan.html"), "--store", str(store)],
        capsys,
    )
    assert code == 0, err
    assert "Risk: unmet compute per year" in (tmp_path / "plan.html").read_text(encoding="utf-8")
    code, out3, err = run_cli(
        ["runs", "compare", obj["run_id"], json.loads(out2)["run_id"], "--store", str(store)],
        capsys,
    )
    assert code == 0, err
    assert "expected_cost_usd" in out3
    # the dashboard's risk page shows the report's charts
    from fabnet.web import create_app
    from tests.web.conftest import TestClient

    page = TestClient(create_app(store)).get(f"/runs/{obj['run_id']}")
    assert page.status_code == 200
    assert "Unmet compute per year" in page.text and 'id="chart-fan"' in page.text


def test_cli_errors_exit_2_without_traceback(
    toy_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "runs.duckdb")
    cases = [
        (["risk", str(toy_file), "--events", "fir", "--store", store], "did you mean"),
        (["risk", str(toy_file), "--samples", "0", "--store", store], "--samples"),
        (["risk", "toy", "--samples", "5", "--workers", "1", "--store", store], "no disruption"),
        (["risk", "20991231-0000-ffff", "--store", store], "no run"),
        (["risk", "latest", "--store", str(tmp_path / "none.duckdb")], "no runs store"),
        (["risk", str(toy_file), "--seed", "-1", "--store", store], "--seed"),
        (["risk", str(toy_file), "--events", ",,", "--store", store], "names no event"),
        (
            [
                "risk",
                str(toy_file),
                "--stress",
                "--stress-year",
                "1900",
                "--workers",
                "1",
                "--store",
                store,
            ],
            "outside the horizon",
        ),
    ]
    for args, text in cases:
        code, _out, err = run_cli(args, capsys)
        assert code == 2, (args, err)
        assert "Traceback" not in err and text in err.lower(), (args, err)


def test_a_killed_risk_run_leaves_the_store_intact(toy_file: Path, tmp_path: Path) -> None:
    store = tmp_path / "runs.duckdb"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    first = subprocess.run(
        [sys.executable, "-m", "fabnet", "risk", str(toy_file), "--samples", "5",
         "--workers", "1", "--store", str(store)],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    before = Store(store, create=False).list_runs()
    proc = subprocess.Popen(
        [sys.executable, "-m", "fabnet", "risk", str(toy_file), "--samples", "100000",
         "--workers", "1", "--store", str(store)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    time.sleep(6.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    after = Store(store, create=False).list_runs()
    assert list(after["id"]) == list(before["id"])
