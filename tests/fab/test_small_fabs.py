"""Issue 4 §7: small hand-made fabs whose behaviour is known exactly or from queueing theory."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fabnet.fab import SimOptions, load_smt2020, simulate

try:
    from tests.fab import smallfabs as sf
except ImportError:  # tests/fab is not a package: pytest puts this folder on sys.path
    import smallfabs as sf  # type: ignore[no-redef]


def _done(res_lots: pd.DataFrame) -> pd.DataFrame:
    return res_lots[res_lots["done_min"].notna()]


def _ci(values: np.ndarray, level: float) -> tuple[float, float]:
    """Mean and Student-t confidence half-width at ``level``."""
    n = len(values)
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * values.std(ddof=1) / math.sqrt(n))
    return float(values.mean()), half


def test_deterministic_tools_give_the_exact_cycle_time(tmp_path: Path) -> None:
    fab = sf.deterministic_fab(tmp_path / "det")
    res = simulate(load_smt2020(fab.path), SimOptions(days=2.0), seed=0)
    done = _done(res.lots)
    assert len(done) >= 20
    ct = (done["done_min"] - done["release_min"]).to_numpy()
    np.testing.assert_allclose(ct, fab.expect["cycle_time_min"], atol=1e-3)
    np.testing.assert_allclose(done["wait_min"].to_numpy(), 0.0, atol=1e-3)
    row = res.lot_types.set_index("name").loc["Lot_1"]
    assert float(row["x_factor"]) == pytest.approx(1.0, abs=1e-4)
    assert float(row["on_time_pct"]) == 100.0


def test_mm1_tool_mean_wait_matches_the_formula(tmp_path: Path) -> None:
    """Mean wait at an M/M/1 tool (u = 0.7) from 6 seeds is within the 99 % CI of u/(1−u)·te."""
    fab = sf.mm1_fab(tmp_path / "mm1", utilization=0.7, service_min=30.0)
    model = load_smt2020(fab.path)
    warm = fab.expect["warmup_min"]
    means = []
    for seed in range(6):
        res = simulate(model, SimOptions(days=warm / 1440.0 + 500.0), seed=seed)
        done = _done(res.lots)
        done = done[done["done_min"] >= warm]  # arrivals at the tool are stationary by then
        assert len(done) > 10000
        means.append(float(done["wait_min"].mean()))
    mean, half = _ci(np.array(means), 0.99)
    assert abs(mean - fab.expect["wait_min"]) <= half, (mean, half, fab.expect["wait_min"])
    # and the CI is tight enough to mean something (±12 % of the formula)
    assert half < 0.12 * fab.expect["wait_min"]


def test_batches_form_between_min_and_max(tmp_path: Path) -> None:
    fab = sf.batch_fab(tmp_path / "batch", releases=7)
    res = simulate(load_smt2020(fab.path), SimOptions(days=1.0), seed=0)
    done = np.sort(_done(res.lots)["done_min"].to_numpy())
    np.testing.assert_allclose(done, [110, 110, 210, 210, 210, 310, 310], atol=1e-3)
    assert res.counters["batches"] == 3
    tg = res.tool_groups.set_index("name").loc["B"]
    assert int(tg["jobs"]) == 3


def test_lone_lot_batch_starts_when_no_partner_can_arrive(tmp_path: Path) -> None:
    fab = sf.batch_fab(tmp_path / "batch1", releases=1)
    res = simulate(load_smt2020(fab.path), SimOptions(days=1.0), seed=0)
    done = _done(res.lots)["done_min"].to_numpy()
    np.testing.assert_allclose(done, [100.0], atol=1e-3)


def test_breakdown_and_pm_calendars_give_the_set_shares(tmp_path: Path) -> None:
    fab = sf.breakdown_fab(tmp_path / "bd")
    model = load_smt2020(fab.path)
    rows = [
        simulate(model, SimOptions(days=140.0), seed=s).tool_groups.set_index("name").loc["E"]
        for s in range(5)
    ]
    down = np.array([float(r["down_pct"]) for r in rows])
    pm = np.array([float(r["pm_pct"]) for r in rows])
    avail = np.array([float(r["availability_pct"]) for r in rows])
    mean, half = _ci(down, 0.99)
    assert abs(mean - fab.expect["down_pct"]) <= half, (mean, half)
    assert half < 1.0
    # PMs are deterministic: 20 PMs of 12 h per tool in 140 days (first at day 1, weekly)
    np.testing.assert_allclose(pm, fab.expect["pm_pct"], atol=0.35)
    np.testing.assert_allclose(avail, 100.0 - down - pm, atol=1e-6)


@pytest.mark.parametrize(
    ("second", "every_lot"),
    [("SB", True), ("SA", False), ("", False)],
    ids=["other-state", "same-state", "no-setup"],
)
def test_setups_happen_only_on_change(tmp_path: Path, second: str, every_lot: bool) -> None:
    fab = sf.setup_fab(tmp_path / f"su{second}", second)
    res = simulate(load_smt2020(fab.path), SimOptions(days=3.0), seed=0)
    tg = res.tool_groups.set_index("name").loc["S"]
    jobs = int(tg["jobs"])
    assert jobs >= 80
    if every_lot:
        assert int(tg["setups"]) == jobs
        expected_ct = fab.expect["setup_min"] + fab.expect["process_min"]
    else:
        assert int(tg["setups"]) == 1  # the first lot sets the tool up, nothing else does
        expected_ct = fab.expect["process_min"]
    done = _done(res.lots)
    ct = (done["done_min"] - done["release_min"]).to_numpy()
    # the first lot always pays the first setup
    np.testing.assert_allclose(ct[1:], expected_ct, atol=1e-3)


def test_conservation_released_equals_completed_plus_wip(tmp_path: Path) -> None:
    """At every check: lots in the fab = released (incl. initial WIP) − completed.

    Checked at the end of two horizons (counters) and at every WIP sample that does not
    coincide with a release or completion (the sample at t = 0 sits between simultaneous
    releases, which are chained events).
    """
    from fabnet.fab.generate import generate_fab, write_smt2020

    path = write_smt2020(generate_fab(8, 40, seed=5, initial_wip_lots=12), tmp_path / "g")
    model = load_smt2020(path)
    for days in (3.0, 7.5):
        res = simulate(model, SimOptions(days=days), seed=1)
        c = res.counters
        assert c["released"] + c["initial_wip"] == c["completed"] + c["in_fab"]
        lots = res.lots
        rel = np.where(lots["initial_wip"], 0.0, lots["release_min"].to_numpy())
        done = lots["done_min"].to_numpy()
        for t_days, wip in zip(res.wip["t_days"], res.wip["wip_lots"], strict=True):
            t = t_days * 1440.0
            if np.isclose(rel, t).any() or np.isclose(done, t).any():
                continue  # a release or completion at the sampling instant: order of ties
            in_fab = int(((rel <= t) & ~(done <= t)).sum())
            assert int(wip) == in_fab, (t_days, wip, in_fab)


def test_same_seed_same_result_other_seed_other_result(tmp_path: Path) -> None:
    model = load_smt2020(sf.mm1_fab(tmp_path / "det_seed").path)
    a = simulate(model, SimOptions(days=10.0), seed=3)
    b = simulate(model, SimOptions(days=10.0), seed=3)
    c = simulate(model, SimOptions(days=10.0), seed=4)
    pd.testing.assert_frame_equal(a.lots, b.lots)
    assert not a.lots["done_min"].equals(c.lots["done_min"])


def test_min_run_lock_ends_when_no_lot_of_the_setup_can_arrive(tmp_path: Path) -> None:
    fab = sf.min_run_fab(tmp_path / "minrun", releases=2, min_run=3)
    res = simulate(load_smt2020(fab.path), SimOptions(days=2.0), seed=0)
    assert res.counters["completed"] == fab.expect["lots"]


@pytest.mark.parametrize(
    ("seed", "reworks", "done"),
    [
        (2, [1, 0], [240.0, 130.0]),  # lot 0 waits for lot 1 to leave T without rework
        (5, [1, 1], [240.0, 250.0]),  # both come back: they batch again at 130
    ],
)
def test_short_batch_waits_for_a_lot_that_may_return_by_rework(
    tmp_path: Path, seed: int, reworks: list[int], done: list[float]
) -> None:
    fab = sf.rework_batch_fab(tmp_path / "rw")
    res = simulate(load_smt2020(fab.path), SimOptions(days=2.0), seed=seed)
    assert res.lots["reworks"].tolist() == reworks  # the draws this case is about
    np.testing.assert_allclose(res.lots["done_min"].to_numpy(), done, atol=1e-6)


@pytest.mark.parametrize("waits_for_slot1", [True, False])
def test_cascading_tool_takes_the_next_lot_when_its_first_slot_frees(
    tmp_path: Path, waits_for_slot1: bool
) -> None:
    fab = sf.cascade_fab(tmp_path / "casc")
    opts = SimOptions(days=1.0, cascade_waits_for_slot1=waits_for_slot1)
    res = simulate(load_smt2020(fab.path), opts, seed=0)
    done = np.sort(res.lots["done_min"].to_numpy())
    expect = fab.expect["done" if waits_for_slot1 else "done_any_slot"]
    np.testing.assert_allclose(done, expect, atol=1e-6)
