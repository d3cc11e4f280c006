"""Simulator: exact times on a tiny fab, conservation, determinism, seeds, HVLM smoke run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.fab.test_loader import HVLM, ROUTE_HEAD, needs_hvlm, write_tiny

from fabnet.errors import FabModelError
from fabnet.fab import LotView, SimOptions, load_smt2020, simulate, simulate_seeds


@pytest.fixture(scope="module")
def hvlm():  # type: ignore[no-untyped-def]
    if not HVLM.is_dir():
        pytest.skip(f"SMT2020 HVLM data not found at {HVLM}")
    return load_smt2020(HVLM)


def test_tiny_fab_deterministic_cycle_time(tmp_path: Path) -> None:
    """One tool, steps of 60 and 30 min, a lot every 120 min: no queueing, CT = 90 min."""
    m = load_smt2020(write_tiny(tmp_path / "tiny"))
    r = simulate(m, SimOptions(days=2.0), seed=0)
    row = r.lot_types.set_index("name").loc["Lot_1"]
    # lots released at 0, 120, ..., 2880 min; those done by 2880 min count
    assert row["completed"] == 24
    assert row["cycle_time_mean_days"] * 1440 == pytest.approx(90.0)
    assert row["x_factor"] == pytest.approx(1.0)
    assert row["on_time_pct"] == 100.0
    tg = r.tool_groups.set_index("name").loc["F1"]
    assert tg["availability_pct"] == 100.0
    # busy 90 of every 120 min, the last lot (released at 2880) not yet started... counts 0
    assert tg["utilization_pct"] == pytest.approx(100 * 24 * 90 / 2880, rel=1e-9)


def test_tiny_fab_queueing_and_batching(tmp_path: Path) -> None:
    """Two-lot batches (50..50 wafers) of 100 min on one tool, releases every 60 min: each
    batch waits for its second lot, so the first lot of a pair waits 60 min."""
    route = ROUTE_HEAD + "r_1\t1\t001_B\tF1\tconstant\t100\t\tmin\tper_batch\t50\t50\n"
    m = load_smt2020(
        write_tiny(
            tmp_path / "batch",
            **{
                "route_1.txt": route,
                "order.txt": (
                    "LOT\tPART\tPRIOR\tPIECES\tSTART\tRDIST\tREPEAT\tRUNITS\tRPT#\tLOTSPERRPT\tDUE\n"
                    "Lot_1\tpart_1\t10\t25\t01/01/18 00:00:00\tconstant\t60\tmin\t1000\t1\t01/02/18 00:00:00\n"
                ),
            },
        )
    )
    r = simulate(m, SimOptions(days=1.0), seed=0)
    assert r.counters["batches"] == r.counters["jobs"]
    lots = r.lots.dropna(subset=["done_min"]).sort_values("release_min")
    ct = (lots["done_min"] - lots["release_min"]).to_numpy()
    assert np.allclose(ct[0::2], 160.0) and np.allclose(ct[1::2], 100.0)


def test_bad_options(tmp_path: Path) -> None:
    m = load_smt2020(write_tiny(tmp_path / "tiny"))
    with pytest.raises(FabModelError, match="dispatcher"):
        simulate(m, SimOptions(days=1.0, dispatcher="magic"))
    with pytest.raises(FabModelError, match="warm-up"):
        simulate(m, SimOptions(days=1.0, warmup_days=2.0))


def _in_fab_bounds(lots: pd.DataFrame, t_min: float) -> tuple[int, int]:
    rel = lots["initial_wip"] | (lots["release_min"] <= t_min)
    rel_strict = lots["initial_wip"] | (lots["release_min"] < t_min)
    done = lots["done_min"] <= t_min
    done_strict = lots["done_min"] < t_min
    return int(rel_strict.sum() - done.sum()), int(rel.sum() - done_strict.sum())


def test_hvlm_smoke_conservation_and_determinism(hvlm) -> None:  # type: ignore[no-untyped-def]
    opts = SimOptions(days=4.0, wip_sample_min=720.0)
    a = simulate(hvlm, opts, seed=1)
    b = simulate(hvlm, opts, seed=1)
    c = simulate(hvlm, opts, seed=2)
    assert a.events > 100_000
    assert a.counters["completed"] > 0 and a.counters["batches"] > 0
    assert a.counters["setups"] > 0 and a.counters["breakdowns"] > 0 and a.counters["pms"] > 0
    # conservation: released + initial WIP = completed + in fab, and at every WIP sample
    k = a.counters
    assert k["released"] + k["initial_wip"] == k["completed"] + k["in_fab"]
    for t_days, w in zip(a.wip["t_days"], a.wip["wip_lots"], strict=True):
        lo, hi = _in_fab_bounds(a.lots, t_days * 1440.0)
        assert lo <= w <= hi
    # same seed, same result; different seed, different samples
    pd.testing.assert_frame_equal(a.lots, b.lots)
    pd.testing.assert_frame_equal(a.tool_groups, b.tool_groups)
    assert a.events == b.events
    assert not a.lots["done_min"].equals(c.lots["done_min"])
    tg = a.tool_groups
    assert len(tg) == 106
    assert ((tg["availability_pct"] >= 0) & (tg["availability_pct"] <= 100)).all()
    assert set(a.lot_types["name"]) == {"Lot_3", "Lot_4", "HotLot_3", "HotLot_4", "SuperHotLot_3"}


def test_hvlm_dispatchers_and_user_rule(hvlm) -> None:  # type: ignore[no-untyped-def]
    base = simulate(hvlm, SimOptions(days=1.0), seed=3)
    cr = simulate(hvlm, SimOptions(days=1.0, dispatcher="cr"), seed=3)
    assert not base.lots["done_min"].equals(cr.lots["done_min"])
    pure = simulate(hvlm, SimOptions(days=1.0, dispatcher="cr", pure_rule=True), seed=3)
    assert not pure.lots["done_min"].equals(cr.lots["done_min"])
    seen: list[LotView] = []

    def fifo_key(v: LotView) -> float:
        seen.append(v)
        return v.now_min

    user = simulate(hvlm, SimOptions(days=0.25, user_rule=fifo_key), seed=3)
    fifo = simulate(hvlm, SimOptions(days=0.25, dispatcher="fifo"), seed=3)
    assert len(seen) > 1000
    pd.testing.assert_frame_equal(user.lots, fifo.lots)


@needs_hvlm
def test_simulate_seeds_summary(hvlm) -> None:  # type: ignore[no-untyped-def]
    multi = simulate_seeds(hvlm, SimOptions(days=1.0), seeds=[0, 1], processes=1)
    assert len(multi.results) == 2
    assert {"utilization_pct", "utilization_pct_ci95"} <= set(multi.tool_groups.columns)
    assert multi.events == sum(r.events for r in multi.results)


def test_release_scale_and_initial_wip_switch(tmp_path: Path, hvlm) -> None:  # type: ignore[no-untyped-def]
    m = load_smt2020(write_tiny(tmp_path / "tiny"))
    assert simulate(m, SimOptions(days=2.0)).counters["released"] == 25
    assert simulate(m, SimOptions(days=2.0, release_scale=2.0)).counters["released"] == 49
    r = simulate(hvlm, SimOptions(days=0.5, include_initial_wip=False), seed=0)
    assert r.counters["initial_wip"] == 0 and not r.lots["initial_wip"].any()


def test_fifo_fast_path_gives_the_same_trajectory(hvlm) -> None:  # type: ignore[no-untyped-def]
    """The kernel's FIFO shortcut (first eligible lot of an arrival-ordered queue) must pick
    exactly what the full ranking scan picks."""
    from fabnet.fab import layout as L
    from fabnet.fab.kpi import result_tables
    from fabnet.fab.simulate import _build, _run

    opts = SimOptions(days=3.0)
    lots = []
    for fast in (True, False):
        ar = _build(hvlm, opts, 5)
        if not fast:
            ar.a["fam_i"][:, L.FA_FASTFIFO] = 0
        _run(ar, opts)
        lots.append(result_tables(hvlm, ar, opts.wip_sample_min)[3])
    pd.testing.assert_frame_equal(lots[0], lots[1])


@pytest.mark.parametrize(("limit", "violations"), [("1", True), ("1000", False)])
def test_queue_time_windows_are_counted(tmp_path: Path, limit: str, violations: bool) -> None:
    """Step 1 opens a window to step 2 on the same overloaded tool (a lot every 50 min needs
    90 min): lots queue for step 2 longer than 1 min, never 1000 h."""
    route = ROUTE_HEAD + (
        "r_1\t1\t001_A\tF1\tconstant\t60\t\tmin\tper_lot" + "\t" * 16 + f"\t2\t{limit}\thr\n"
        "r_1\t2\t002_A\tF1\tconstant\t30\t\tmin\tper_lot\n"
    )
    order = (
        "LOT\tPART\tPRIOR\tPIECES\tSTART\tRDIST\tREPEAT\tRUNITS\tRPT#\tLOTSPERRPT\tDUE\n"
        "Lot_1\tpart_1\t10\t25\t01/01/18 00:00:00\tconstant\t50\tmin\t1000\t1\t01/02/18 00:00:00\n"
    )
    m = load_smt2020(write_tiny(tmp_path / "cqt", **{"route_1.txt": route, "order.txt": order}))
    assert m.routes["r_1"].steps[0].cqt_step == 2
    r = simulate(m, SimOptions(days=2.0), seed=0)
    n = r.counters["cqt_violations"]
    assert (n > 0) == violations
    assert int(r.lots["cqt_violations"].sum()) == n
