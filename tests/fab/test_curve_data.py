"""Operating curves as data: flow measures of a window, curve points, the CSV, the stored
``curve`` run and the clearing-function fit (real simulations of small fabs, a real store)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.cli_runner import run_cli
from tests.fab.smallfabs import deterministic_fab

from fabnet.fab import SimOptions, load_smt2020, simulate
from fabnet.fab.curve import simulate_loads
from fabnet.fab.flow import (
    CURVE_POINT_COLUMNS,
    bottleneck_capacity_wpd,
    curve_points,
    nominal_release_wpd,
    window_flow,
)
from fabnet.fab.generate import generate_fab, write_smt2020
from fabnet.fab.model import FabModel
from fabnet.store import Store


@pytest.fixture(scope="module")
def gen_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    fab = generate_fab(10, 48, products=2, seed=11, bottleneck_load=0.85)
    return write_smt2020(fab, tmp_path_factory.mktemp("curvedata") / "fab")


@pytest.fixture(scope="module")
def gen_model(gen_dir: Path) -> FabModel:
    return load_smt2020(gen_dir)


def test_window_flow_of_a_fab_without_queues(tmp_path: Path) -> None:
    """A lot of 25 wafers every 120 min, 59 min of work and no waiting: 12 lots = 300 wafers
    a day, WIP 25 × 59/120 wafers (Little's law exactly), flow factor 1."""
    fab = deterministic_fab(tmp_path / "det")
    model = load_smt2020(fab.path)
    assert nominal_release_wpd(model) == pytest.approx(300.0)
    res = simulate(model, SimOptions(days=6.0), seed=0)
    f = window_flow(model, res, 1.0, 5.0)
    assert f["throughput_wpd"] == pytest.approx(300.0)
    assert f["released_wafers"] == pytest.approx(4 * 300.0)
    assert f["wip_wafers"] == pytest.approx(25.0 * 59.0 / 120.0)
    assert f["cycle_time_mean_days"] == pytest.approx(59.0 / 1440.0)
    assert f["cycle_time_p90_days"] == pytest.approx(59.0 / 1440.0)
    assert f["flow_factor"] == pytest.approx(1.0)


def test_curve_points_obey_littles_law_and_follow_the_load(gen_model: FabModel) -> None:
    runs = simulate_loads(gen_model, [0.6, 0.95], 120.0, 30.0, [0, 1], processes=1)
    pts = curve_points(gen_model, runs, 120.0, 30.0)
    assert list(pts.columns) == list(CURVE_POINT_COLUMNS)
    assert pts["release_scale"].tolist() == [0.6, 0.95]
    assert (pts["seeds"] == 2).all()
    # one capacity for load and throughput: the rate loading the bottleneck to 100 %
    cap = bottleneck_capacity_wpd(gen_model)
    nominal = nominal_release_wpd(gen_model)
    assert cap > nominal  # generated at 85 % bottleneck load
    np.testing.assert_allclose(pts["capacity_wpd"], cap)
    np.testing.assert_allclose(pts["nominal_release_wpd"], nominal)
    np.testing.assert_allclose(pts["load"], pts["release_scale"] * nominal / cap)
    np.testing.assert_allclose(pts["throughput_frac"], pts["throughput_wpd"] / cap)
    # steady state: the fab puts out what it is given, and WIP = throughput × cycle time
    np.testing.assert_allclose(pts["throughput_frac"], pts["load"], rtol=0.05)
    little = pts["throughput_wpd"] * pts["cycle_time_mean_days"]
    np.testing.assert_allclose(pts["wip_wafers"], little, rtol=0.15)
    np.testing.assert_allclose(
        pts["flow_factor"], pts["cycle_time_mean_days"] / pts["raw_process_time_days"]
    )
    assert (pts["cycle_time_p90_days"] >= pts["cycle_time_mean_days"] * 0.9).all()
    assert (pts["flow_factor"] > 1.0).all()
    assert pts["wip_wafers"].iloc[1] > pts["wip_wafers"].iloc[0]


def test_fab_curve_writes_csv_stores_run_and_fits(
    gen_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "curve.csv"
    db = tmp_path / "runs.duckdb"
    args = [
        "fab", "curve", str(gen_dir), "--loads", "0.5,0.8,0.95", "--days", "90",
        "--warmup-days", "20", "--seeds", "0-1", "--workers", "1", "-o", str(csv),
        "--store", str(db), "--json",
    ]  # fmt: skip
    code, out, err = run_cli(args, capsys)
    assert code == 0, err
    obj = json.loads(out)
    pts = pd.read_csv(csv)
    assert list(pts.columns) == list(CURVE_POINT_COLUMNS)
    assert pts["release_scale"].tolist() == [0.5, 0.8, 0.95]
    np.testing.assert_allclose(pts["load"], pts["release_scale"] * 0.85, rtol=0.01)
    assert obj["csv"] == str(csv) and obj["html"] is None
    assert [p["release_scale"] for p in obj["points"]] == [0.5, 0.8, 0.95]
    rec = Store(db, create=False).load_run(obj["run_id"])
    assert rec.kind == "curve"
    stored = rec.table("points")
    np.testing.assert_allclose(
        stored["flow_factor"].to_numpy(), pts["flow_factor"].to_numpy(), rtol=1e-5
    )
    assert rec.options["loads"] == [0.5, 0.8, 0.95]
    cf = obj["clearing_function"]
    if cf is None:  # a noisy short curve may be non-monotone: then the reason is given
        assert obj["fit_error"]
    else:
        assert 2 <= len(cf["slopes"]) <= 6 and cf["slopes"][-1] == 0.0
        assert cf["intercepts"][-1] == 1.0 and cf["max_flow_factor_error"] >= 0.0
        assert len(rec.table("segments")) == len(cf["slopes"])


def test_fab_curve_above_capacity_still_writes_points_and_says_why_no_fit(
    gen_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "over.csv"
    args = [
        "fab", "curve", str(gen_dir), "--loads", "0.7,1.2", "--days", "40",
        "--warmup-days", "10", "--seeds", "0", "--workers", "1", "-o", str(csv),
    ]  # fmt: skip
    code, out, err = run_cli(args, capsys)
    assert code == 0, err
    assert len(pd.read_csv(csv)) == 2
    assert "no clearing-function fit" in err and "outside (0, 1]" in err
    assert "points written to" in out


def test_ggm_only_refuses_a_points_csv_or_store(
    gen_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "g.csv"
    code, _, err = run_cli(["fab", "curve", str(gen_dir), "--ggm-only", "-o", str(csv)], capsys)
    assert code == 2 and "--ggm-only simulates nothing" in err
    assert not csv.exists()
    code, _, err = run_cli(
        ["fab", "curve", str(gen_dir), "--ggm-only", "--store", str(tmp_path / "r.duckdb")],
        capsys,
    )
    assert code == 2 and "--store" in err


def _toy_with_curve(folder: Path, curve: dict[str, object]) -> Path:
    """The built-in toy scenario with process n3's ``operating_curve`` set (cycle 90 days)."""
    from importlib import resources

    text = (resources.files("fabnet.scenario") / "builtin" / "toy.yaml").read_text("utf-8")
    needle = "    cycle_time_days: 0\n"
    assert needle in text
    text = text.replace(
        needle,
        f"    cycle_time_days: 90\n    operating_curve: {json.dumps(curve)}\n",
        1,
    )
    path = folder / "toy-curve.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_fab_curve_csv_round_trips_into_a_load_plan(
    gen_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``fab curve -o curve.csv`` → ``operating_curve: {file: curve.csv}`` without edits →
    ``plan --lead-times load`` solves, its curve the CSV's points (load on one convention)."""
    csv = tmp_path / "curve.csv"
    args = [
        "fab", "curve", str(gen_dir), "--loads", "0.5,0.65,0.8", "--days", "90",
        "--warmup-days", "20", "--seeds", "0-1", "--workers", "1", "-o", str(csv), "--json",
        "--store", str(tmp_path / "curves.duckdb"),
    ]  # fmt: skip
    code, out, err = run_cli(args, capsys)
    assert code == 0, err
    made = json.loads(out)
    assert made["clearing_function"] is not None, made["fit_error"]
    pts = pd.read_csv(csv)
    db = tmp_path / "runs.duckdb"

    def plan_with(curve: dict[str, object], store: Path = db) -> tuple[int, str, str]:
        scen = _toy_with_curve(tmp_path, {**curve, "nominal_load": 0.9})
        return run_cli(
            ["plan", str(scen), "--lead-times", "load", "--store", str(store), "--json"], capsys
        )

    def stored_points(run_id: str) -> list[list[float]]:
        rec = Store(db, create=False).load_run(run_id)
        assert rec.status == "optimal" and rec.options.get("lead_times") == "load"
        assert len(rec.table("clearing")) > 0
        curve = rec.scenario.processes[0].operating_curve
        assert curve is not None and curve.points is not None
        return [[p.load, p.throughput_frac, p.flow_factor] for p in curve.points]

    want = pts[["load", "throughput_frac", "flow_factor"]].to_numpy()
    code, out, err = plan_with({"file": "curve.csv"})
    assert code == 0, err
    np.testing.assert_allclose(stored_points(json.loads(out)["run_id"]), want)
    # the same curve from the runs store: {store: PATH, run: ID} (relative to the scenario)
    code, out, err = plan_with({"store": "curves.duckdb", "run": made["run_id"]})
    assert code == 0, err
    np.testing.assert_allclose(stored_points(json.loads(out)["run_id"]), want, rtol=1e-5)
    # {run: ID} alone reads the command's --store
    code, out, err = plan_with({"run": made["run_id"][:8]}, store=tmp_path / "curves.duckdb")
    assert code == 0, err
    # a missing store, a missing run, a run of another kind: errors naming the field
    code, _, err = plan_with({"store": "nowhere.duckdb", "run": made["run_id"]})
    assert code == 2 and "operating_curve.run" in err and "no runs store" in err
    code, _, err = plan_with({"store": "curves.duckdb", "run": "ffffffffffff"})
    assert code == 2 and "operating_curve.run" in err and "ffffffffffff" in err
    plan_id = str(Store(db, create=False).list_runs(kind="plan")["id"].iloc[0])
    code, _, err = plan_with({"store": "runs.duckdb", "run": plan_id})
    assert code == 2 and "is a plan run, not a curve" in err


def test_a_stored_curve_needs_the_cli_to_read_it(tmp_path: Path) -> None:
    """Without the CLI's reader the scenario layer reads no store: a clear error."""
    from fabnet.errors import ScenarioError
    from fabnet.scenario import load_scenario
    from fabnet.scenario.curves import set_curve_run_reader

    scen = _toy_with_curve(tmp_path, {"run": "abc", "nominal_load": 0.9})
    previous = set_curve_run_reader(None)
    try:
        with pytest.raises(ScenarioError, match="only the fabnet CLI reads"):
            load_scenario(str(scen))
    finally:
        set_curve_run_reader(previous)
