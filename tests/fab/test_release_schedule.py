"""Piecewise-constant release schedules: release times by hand, and a real simulation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.fab.smallfabs import deterministic_fab

from fabnet.errors import FabModelError
from fabnet.fab import SimOptions, load_smt2020, simulate
from fabnet.fab.releases import ReleaseSchedule, release_times_min


def test_constant_scale_is_the_order_file_rate() -> None:
    t = release_times_min(0.0, 100.0, 1000, 950.0, scale=2.0)
    np.testing.assert_allclose(t, np.arange(0.0, 951.0, 50.0))
    one = release_times_min(
        0.0, 100.0, 1000, 950.0, scale=2.0, schedule=ReleaseSchedule((0.0,), (1.0,))
    )
    np.testing.assert_allclose(one, t)


def test_rate_changes_at_the_breakpoint() -> None:
    """Interval 100 min; scale 1 for the first day, then 2: lots every 100 min up to 1440,
    then every 50 min, with the lot straddling the breakpoint placed by the cumulative
    rate (14.4 lots by 1440 min, lot 15 needs 0.6 more at 2/100 per min = 30 min)."""
    sched = ReleaseSchedule((0.0, 1.0), (1.0, 2.0))
    t = release_times_min(0.0, 100.0, 10_000, 2000.0, schedule=sched)
    np.testing.assert_allclose(t[:15], np.arange(15) * 100.0)
    assert t[15] == pytest.approx(1470.0)
    np.testing.assert_allclose(np.diff(t[15:]), 50.0)
    assert t[-1] <= 2000.0


def test_zero_scale_stops_and_resumes_releases() -> None:
    sched = ReleaseSchedule((0.0, 1.0, 2.0), (0.0, 1.0, 0.0))
    t = release_times_min(0.0, 144.0, 10_000, 3 * 1440.0, schedule=sched)
    assert t[0] == pytest.approx(1440.0)  # nothing before the rate becomes positive
    # 10 lots in the day at rate 1/144 per min; the count reaches 10 exactly at 2880 (the
    # half-open next piece), after that nothing
    assert int((t < 2880.0).sum()) == 10 and t[-1] == pytest.approx(2880.0) and len(t) == 11
    assert len(release_times_min(0.0, 144.0, 10_000, 1000.0, schedule=sched)) == 0


def test_repeats_still_cap_the_stream() -> None:
    sched = ReleaseSchedule((0.0, 0.5), (1.0, 3.0))
    assert len(release_times_min(0.0, 60.0, 7, 1e6, schedule=sched)) == 7


@pytest.mark.parametrize(
    ("starts", "scales"),
    [((0.0, 1.0), (1.0,)), ((1.0,), (1.0,)), ((0.0, 0.0), (1.0, 1.0)), ((0.0,), (-1.0,))],
)
def test_bad_schedules_are_clear_errors(
    starts: tuple[float, ...], scales: tuple[float, ...]
) -> None:
    with pytest.raises(FabModelError, match="release schedule"):
        ReleaseSchedule(starts, scales)


def test_periods_builder_and_scale_at() -> None:
    s = ReleaseSchedule.periods([0.5, 1.0, 0.8], 10.0)
    assert s.start_days == (0.0, 10.0, 20.0)
    np.testing.assert_allclose(s.scale_at([0.0, 9.9, 10.0, 25.0, 99.0]), [0.5, 0.5, 1.0, 0.8, 0.8])


def test_simulation_releases_follow_the_schedule(tmp_path: Path) -> None:
    """Deterministic fab, a lot every 120 min; 2 days at scale 1, 2 days at 0.5: 24 + 12
    released lots (plus the one due exactly at the horizon) and every lot completes its
    59 minutes of work without waiting at either rate."""
    fab = deterministic_fab(tmp_path / "det")
    model = load_smt2020(fab.path)
    sched = ReleaseSchedule.periods([1.0, 0.5], 2.0)
    res = simulate(model, SimOptions(days=4.0, release_schedule=sched), seed=0)
    rel = res.lots["release_min"].to_numpy()
    assert int((rel < 2 * 1440).sum()) == 24
    assert int(((rel >= 2 * 1440) & (rel < 4 * 1440)).sum()) == 12
    done = res.lots.dropna(subset=["done_min"])
    ct = (done["done_min"] - done["release_min"]).to_numpy()
    np.testing.assert_allclose(ct, fab.expect["cycle_time_min"])
    assert (res.lots["pieces"] == 25).all()
