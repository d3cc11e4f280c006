"""Closed loop: a plan's starts released into a simulated fab (small generated fab, few days;
a real plan solved by HiGHS and stored in a real DuckDB file)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tests.cli_runner import run_cli

from fabnet.errors import FabModelError
from fabnet.fab import load_smt2020
from fabnet.fab.closed_loop import (
    CHECK_COLUMNS,
    PlannedSite,
    bottleneck_capacity_wpd,
    check_site_plan,
    model_raw_process_days,
)
from fabnet.fab.flow import nominal_release_wpd
from fabnet.fab.generate import generate_fab, write_smt2020
from fabnet.fab.model import FabModel
from fabnet.store import Store


@pytest.fixture(scope="module")
def fab_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    fab = generate_fab(8, 30, products=2, seed=3, bottleneck_load=0.85)
    return write_smt2020(fab, tmp_path_factory.mktemp("loop") / "fab")


@pytest.fixture(scope="module")
def model(fab_dir: Path) -> FabModel:
    return load_smt2020(fab_dir)


def _planned(model: FabModel, loads: list[float], time_ratio: float) -> PlannedSite:
    """A site of capacity 1000 wafers a period whose raw process time is ``time_ratio`` ×
    the model's; output and cycle time as a fixed-lead-time plan would assume them."""
    n = len(loads)
    cap = np.full(n, 1000.0)
    starts = np.asarray(loads) * cap
    rpt = model_raw_process_days(model) * time_ratio
    return PlannedSite(
        site="s",
        periods=tuple(str(2030 + k) for k in range(n)),
        starts_wafers=starts,
        capacity_wafers=cap,
        output_wafers=starts.copy(),
        cycle_time_days=np.full(n, 1.5 * rpt),
        wip_wafers=np.full(n, np.nan),
        raw_process_days=rpt,
        period_days=365.25,
    )


def test_releases_follow_the_plan_and_time_is_scaled(model: FabModel) -> None:
    """Loads 0.5 then 0.9: in steady state the fab puts out what it is given, so realised
    output follows the load; the default time map makes a plan period last period × model
    RPT / site RPT simulated days and reads cycle times back in plan days."""
    planned = _planned(model, [0.5, 0.9, 0.9], time_ratio=20.0)
    res = check_site_plan(model, planned, seeds=[0, 1], processes=1)
    t = res.table
    assert list(t.columns) == list(CHECK_COLUMNS)
    assert res.days_per_period == pytest.approx(365.25 / 20.0)
    assert res.time_scale == pytest.approx(1 / 20.0)
    assert res.capacity_wpd == pytest.approx(bottleneck_capacity_wpd(model))  # the default
    np.testing.assert_allclose(t["load"], [0.5, 0.9, 0.9])
    # the last periods are past the change of load by more than a cycle time
    np.testing.assert_allclose(t["realised_output"].iloc[1:], 900.0, rtol=0.08)
    np.testing.assert_allclose(t["realised_output"].iloc[0], 500.0, rtol=0.08)
    # cycle time in plan days = flow factor × site RPT; the fab queues, so above the RPT
    ff = t["realised_flow_factor"].to_numpy()
    np.testing.assert_allclose(t["realised_ct_days"], ff * planned.raw_process_days, rtol=0.02)
    assert (ff > 1.0).all()
    gap = 100 * (t["realised_ct_days"] / t["planned_ct_days"] - 1)
    np.testing.assert_allclose(t["ct_gap_pct"], gap)
    # Little's law in plan units: WIP ≈ output per day × cycle time
    little = t["realised_output"] / 365.25 * t["realised_ct_days"]
    np.testing.assert_allclose(t["realised_wip_wafers"].iloc[1:], little.iloc[1:], rtol=0.2)


def test_bottleneck_capacity_is_above_the_nominal_rate(model: FabModel) -> None:
    """Generated at 85 % bottleneck load: the rate that loads it fully is about 1/0.85 ×."""
    ratio = bottleneck_capacity_wpd(model) / nominal_release_wpd(model)
    assert 1.0 < ratio < 1.3


def test_planned_site_refuses_mismatched_arrays(model: FabModel) -> None:
    p = _planned(model, [0.5, 0.9], 10.0)
    with pytest.raises(FabModelError, match="one value per period"):
        PlannedSite(
            site="s",
            periods=p.periods,
            starts_wafers=p.starts_wafers[:1],
            capacity_wafers=p.capacity_wafers,
            output_wafers=p.output_wafers,
            cycle_time_days=p.cycle_time_days,
            wip_wafers=p.wip_wafers,
            raw_process_days=1.0,
            period_days=365.25,
        )


def test_check_plan_cli_on_a_stored_plan(
    fab_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Solve the toy plan with a small fab-a (about 87 % loaded), store it, check it."""
    db = tmp_path / "runs.duckdb"
    code, out, err = run_cli(
        [
            "plan", "toy", "--store", str(db), "--json",
            "--set", "sites.fab-a.capacity_wspm={2025: 1}",
            "--set", "processes.n3.cycle_time_days=90",
        ],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    plan_id = json.loads(out)["run_id"]
    args = [
        "fab", "check-plan", plan_id, str(fab_dir), "--site", "fab-a", "--store", str(db),
        "--periods", "2025-2027", "--workers", "1", "--json",
    ]  # fmt: skip
    code, out, err = run_cli(args, capsys)
    assert code == 0, err
    obj = json.loads(out)
    assert obj["lead_times"] == "fixed" and obj["site"] == "fab-a"
    assert [r["period"] for r in obj["rows"]] == ["2025", "2026", "2027"]
    assert obj["site_raw_process_days"] == pytest.approx(90.0)  # no curve: the CT itself
    for r in obj["rows"]:
        assert r["load"] == pytest.approx(r["planned_starts"] / 12.0)
        assert r["planned_ct_days"] == pytest.approx(90.0)
        assert r["planned_output"] == pytest.approx(r["planned_starts"])  # 90 d: same year
    rec = Store(db, create=False).load_run(obj["run_id"])
    assert rec.kind == "check" and rec.options["plan_run_id"] == plan_id
    assert len(rec.table("periods")) == 3

    # a site without starts, a non-plan run and a period the site does not run are errors
    code, _, err = run_cli(
        ["fab", "check-plan", plan_id, str(fab_dir), "--site", "nowhere", "--store", str(db)],
        capsys,
    )
    assert code == 2 and "no site 'nowhere'" in err
    code, _, err = run_cli(
        ["fab", "check-plan", obj["run_id"], str(fab_dir), "--site", "fab-a", "--store", str(db)],
        capsys,
    )
    assert code == 2 and "not a plan" in err
    code, _, err = run_cli(
        [
            "fab", "check-plan", plan_id, str(fab_dir), "--site", "fab-a", "--store", str(db),
            "--periods", "1999",
        ],
        capsys,
    )  # fmt: skip
    assert code == 2 and "1999" in err


def test_check_plan_reads_a_clearing_function_plan(
    fab_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --lead-times load the plan's own output, cycle time, WIP and raw process time
    per period (its ``clearing`` table) are what the simulation is compared with."""
    db = tmp_path / "runs.duckdb"
    code, out, err = run_cli(
        [
            "plan", "toy", "--lead-times", "load", "--store", str(db), "--json",
            "--set", "sites.fab-a.capacity_wspm={2025: 1}",
            "--set", "processes.n3.cycle_time_days=90",
            "--set", "processes.n3.operating_curve={queueing: {tools: 4}, nominal_load: 0.9}",
        ],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    plan_id = json.loads(out)["run_id"]
    clearing = Store(db, create=False).load_run(plan_id).table("clearing")
    cl = clearing[clearing["site"] == "fab-a"]
    cl = cl.set_index(cl["period"].astype(str))
    args = [
        "fab", "check-plan", plan_id, str(fab_dir), "--site", "fab-a", "--store", str(db),
        "--periods", "2025-2026", "--workers", "1", "--json", "--no-store",
    ]  # fmt: skip
    code, out, err = run_cli(args, capsys)
    assert code == 0, err
    obj = json.loads(out)
    assert obj["lead_times"] == "load" and "run_id" not in obj
    assert obj["site_raw_process_days"] == pytest.approx(float(cl["raw_process_days"].iloc[0]))
    for r in obj["rows"]:
        row = cl.loc[r["period"]]
        assert r["planned_output"] == pytest.approx(float(row["output_wafers"]))
        assert r["planned_ct_days"] == pytest.approx(float(row["cycle_time_days"]))
        assert r["planned_wip_wafers"] == pytest.approx(float(row["wip_wafers"]))
        assert r["planned_starts"] == pytest.approx(float(row["starts_wafers"]))
