"""Issue 10 §1: the critical ratio is formed at each dispatching decision (FORMAT.md §8.1),
remaining work depends on the lot size, and user rules can be re-keyed at selection."""

from __future__ import annotations

from pathlib import Path

import pytest

from fabnet.errors import FabModelError
from fabnet.fab import LotView, SimOptions, load_smt2020, simulate
from fabnet.fab.generate import generate_fab, write_smt2020

try:
    from tests.fab import smallfabs as sf
except ImportError:  # tests/fab is not a package: pytest puts this folder on sys.path
    import smallfabs as sf  # type: ignore[no-redef]


def _first_on_x(path: Path, opts: SimOptions) -> str:
    """Which of lots A and B the tool X took first (the one that waited less)."""
    lots = simulate(load_smt2020(path), opts, seed=0).lots.set_index("stream")
    wait_a = float(lots.loc["Lot_A", "wait_min"])
    wait_b = float(lots.loc["Lot_B", "wait_min"])
    assert abs(wait_a - wait_b) == pytest.approx(10.0)  # one X step apart
    return "A" if wait_a < wait_b else "B"


@pytest.mark.parametrize(("block_min", "first"), [(100.0, "A"), (580.0, "B")])
def test_critical_ratio_order_changes_with_time(
    tmp_path: Path, block_min: float, first: str
) -> None:
    fab = sf.critical_ratio_fab(tmp_path / "cr", block_min)
    assert _first_on_x(fab.path, SimOptions(days=2.0)) == first
    # the first pass froze the ratio at queue arrival (t 1), where A always ranks first
    assert _first_on_x(fab.path, SimOptions(days=2.0, cr_at_arrival=True)) == "A"


def test_remaining_work_depends_on_lot_size(tmp_path: Path) -> None:
    # lot B of 5 wafers: a per-lot step does not depend on the size, so its CR is unchanged
    # and the order at t 581 is still B first; the view a user rule gets says so too
    fab = sf.critical_ratio_fab(tmp_path / "cr", 580.0, lot_b_pieces=5)
    seen: dict[str, float] = {}

    def record(v: LotView) -> float:
        seen.setdefault(v.stream, v.remaining_work_min)
        return 0.0

    simulate(load_smt2020(fab.path), SimOptions(days=2.0, user_rule=record), seed=0)
    assert seen["Lot_A"] == pytest.approx(510.0)
    assert seen["Lot_B"] == pytest.approx(50.0)


def test_per_piece_remaining_work_scales_with_wafers(tmp_path: Path) -> None:
    tools = [sf.tool_row("X"), sf.tool_row("Y")]
    route = [sf.step_row("r", 1, "X", 2.0, per="per_piece"), sf.step_row("r", 2, "Y", 30.0)]
    orders = [
        {**sf.order_row("Lot_10", "part_1", 1e6, releases=1), "PIECES": 10},
        sf.order_row("Lot_25", "part_1", 1e6, releases=1, start_min=500.0),
    ]
    path = sf.write_fab(tmp_path / "pp", tools, {"part_1": route}, orders)
    seen: dict[str, float] = {}

    def record(v: LotView) -> float:
        seen.setdefault(v.stream, v.remaining_work_min)
        return 0.0

    simulate(load_smt2020(path), SimOptions(days=2.0, user_rule=record), seed=0)
    assert seen["Lot_10"] == pytest.approx(10 * 2.0 + 30.0)
    assert seen["Lot_25"] == pytest.approx(25 * 2.0 + 30.0)


def _user_cr(v: LotView) -> float:
    return (v.due_min - v.now_min) / v.remaining_work_min


def test_user_rule_key_is_fixed_at_arrival_unless_rekeyed_at_selection(tmp_path: Path) -> None:
    fab = sf.critical_ratio_fab(tmp_path / "cr", 580.0)
    fixed = SimOptions(days=2.0, user_rule=_user_cr)
    assert _first_on_x(fab.path, fixed) == "A"
    rekeyed = SimOptions(days=2.0, user_rule=_user_cr, user_rule_at_selection=True)
    assert _first_on_x(fab.path, rekeyed) == "B"


@pytest.mark.parametrize(("with_route_stime", "first"), [(False, "Lot_X"), (True, "Lot_Y")])
def test_rank_setup_uses_the_setup_table_only(
    tmp_path: Path, with_route_stime: bool, first: str
) -> None:
    fab = sf.rank_setup_fab(tmp_path / "rs")
    opts = SimOptions(days=2.0, rank_setup_with_route_stime=with_route_stime)
    lots = simulate(load_smt2020(fab.path), opts, seed=0).lots.set_index("stream")
    done = lots.loc[["Lot_X", "Lot_Y"], "done_min"]
    assert done.notna().all()
    assert done.idxmin() == first


def test_generated_high_mix_fab_is_dispatched_by_critical_ratio(tmp_path: Path) -> None:
    fab = generate_fab(6, 24, 4, seed=0, bottleneck_load=0.9, due_factor=1.6, final_rank="rank_CR")
    model = load_smt2020(write_smt2020(fab, tmp_path / "hm"))
    assert all(f.ranks[-1] == "rank_CR" for f in model.families)
    now = simulate(model, SimOptions(days=40.0), seed=0)
    frozen = simulate(model, SimOptions(days=40.0, cr_at_arrival=True), seed=0)
    assert now.counters["completed"] > 100 and frozen.counters["completed"] > 100
    # same lots, same random streams: only the ranking differs, and it changes the waits
    assert (now.lots["wait_min"] != frozen.lots["wait_min"]).any()
    with pytest.raises(FabModelError, match="final_rank"):
        generate_fab(6, 24, 4, final_rank="rank_XYZ")


def test_batch_key_qualifies_by_the_batch_it_forms(tmp_path: Path) -> None:
    # FORMAT.md §8.1: one batch tool, BATCHMN 100 / BATCHMX 110 wafers; lots of 60 (t 0),
    # 60 (t 1) and 50 wafers (t 100). At t 1 the two 60s hold 120 wafers, but the batch formed
    # in rank order is 60 (the second does not fit): below the minimum, so the tool waits; at
    # t 100 it forms 60 + 50 = 110 (lots A and C, done at t 130); B is left alone and starts
    # when no lot can arrive any more (t 130, done t 160). A test of the wafer total alone
    # would have started A by itself at t 1.
    tools = [sf.tool_row("D", batch=True)]
    route = [sf.step_row("r", 1, "D", 30.0, per="per_batch", batch_pieces=(100, 110))]
    orders = [
        {**sf.order_row("Lot_A", "part_1", 1e6, releases=1), "PIECES": 60},
        {**sf.order_row("Lot_B", "part_1", 1e6, releases=1, start_min=1.0), "PIECES": 60},
        {**sf.order_row("Lot_C", "part_1", 1e6, releases=1, start_min=100.0), "PIECES": 50},
    ]
    path = sf.write_fab(tmp_path / "b", tools, {"part_1": route}, orders)
    lots = simulate(load_smt2020(path), SimOptions(days=1.0), seed=0).lots.set_index("stream")
    assert lots["done_min"].to_dict() == pytest.approx(
        {"Lot_A": 130.0, "Lot_B": 160.0, "Lot_C": 130.0}
    )
