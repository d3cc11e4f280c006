"""Issue 10 §4: one formula for expected performances per step (sampling, rework any number of
times), moves between performed steps and raw process time, checked by hand and against the
kernel, and used alike by the KPIs, the queueing model and the generator."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from fabnet.errors import FabModelError
from fabnet.fab import SimOptions, load_smt2020, simulate
from fabnet.fab.generate import generate_fab
from fabnet.fab.kpi import raw_process_time_days
from fabnet.fab.queueing import network_from_model, solve_network
from fabnet.fab.route_flow import (
    expected_moves,
    expected_performances,
    raw_process_time_min,
    route_rework,
)

try:
    from tests.fab import smallfabs as sf
except ImportError:  # tests/fab is not a package: pytest puts this folder on sys.path
    import smallfabs as sf  # type: ignore[no-redef]


@pytest.mark.parametrize("r", [0.0, 0.1, 0.5, 0.9])
def test_one_step_reworked_onto_itself_is_performed_one_over_one_minus_r_times(r: float) -> None:
    assert expected_performances([1.0], [0], [r])[0] == pytest.approx(1.0 / (1.0 - r))
    # the same step sampled at 40 %: only a performed step is drawn for rework
    assert expected_performances([0.4], [0], [r])[0] == pytest.approx(0.4 / (1.0 - r))


def test_rework_target_is_performed_without_a_sampling_draw() -> None:
    """Step 1 sampled 50 %, step 2 sends a lot back to step 1 with chance r: every pass
    through step 2 is reworked with chance r, so P2 = 1/(1 − r), and step 1 is performed by
    half the releases plus once per rework: P1 = 0.5 + r/(1 − r) (one repeat would say
    0.5 + 0.5·r, the geometric series over sampled times 0.5/(1 − r))."""
    r = 0.3
    p = expected_performances([0.5, 1.0], [-1, 0], [0.0, r])
    assert p == pytest.approx([0.5 + r / (1 - r), 1.0 / (1 - r)])


def test_nested_loops_by_hand() -> None:
    """Inner loop: step 3 sends a lot back to step 2 with chance a; outer loop around it:
    step 4 sends it back to step 1 with chance b."""
    a, b = 0.4, 0.2
    p = expected_performances([1.0] * 4, [-1, -1, 1, 0], [0.0, 0.0, a, b])
    p4 = 1.0 / (1.0 - b)  # every pass through step 4 (all of them reach it)
    p1 = p4  # once per release plus once per outer rework: 1 + b·p4 = p4
    p3 = p1 / (1.0 - a)  # each arrival from step 1 loops geometrically at step 3
    assert p == pytest.approx([p1, p3, p3, p4])


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_every_performance_is_reached_by_one_move_or_the_release(data: st.DataObject) -> None:
    """The moves into a step plus the release's first performed step are its
    performances; the moves out of it plus completion from it are its performances too."""
    n = data.draw(st.integers(1, 12))
    share = np.array(
        data.draw(st.lists(st.sampled_from([0.0, 0.3, 0.7, 1.0]), min_size=n, max_size=n))
    )
    target = np.array([data.draw(st.integers(-1, k)) for k in range(n)])
    prob = np.array(data.draw(st.lists(st.floats(0.0, 0.9), min_size=n, max_size=n)))
    p = expected_performances(share, target, prob)
    m = expected_moves(share, target, prob, performances=p)
    into = np.bincount(m.dst, weights=m.expected, minlength=n)
    out_of = np.bincount(m.src, weights=m.expected, minlength=n)
    first = share * np.concatenate([[1.0], np.cumprod(1.0 - share)[:-1]])
    np.testing.assert_allclose(into + first, p, atol=1e-9)
    # leaving step i for good: no rework and no later step performed
    r_eff = np.where(target >= 0, prob, 0.0)
    tail = np.concatenate([np.cumprod((1.0 - share)[::-1])[::-1][1:], [1.0]])
    np.testing.assert_allclose(out_of + (1.0 - r_eff) * p * tail, p, atol=1e-9)
    assert (p >= share - 1e-12).all()


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_reduced_solve_equals_the_whole_chain_solved_densely(data: st.DataObject) -> None:
    """The m × m solve over the rework targets gives what the whole chain over (x_i, P_i)
    gives when solved as one dense 2n × 2n system (an independent statement of it)."""
    n = data.draw(st.integers(1, 15))
    share = np.array(data.draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n)))
    target = np.array([data.draw(st.integers(-1, k)) for k in range(n)])
    prob = np.where(
        target >= 0, data.draw(st.lists(st.floats(0.0, 0.95), min_size=n, max_size=n)), 0.0
    )
    a = np.eye(2 * n)  # unknowns [x_0..x_{n-1}, P_0..P_{n-1}]
    for i in range(n):
        a[n + i, i] -= share[i]  # P_i = s_i x_i + forced entries
        if i + 1 < n:
            a[i + 1, i] -= 1.0 - share[i]  # x_{i+1} = (1 − s_i) x_i + (1 − r_i) P_i
            a[i + 1, n + i] -= 1.0 - prob[i]
        if target[i] >= 0:
            a[n + target[i], n + i] -= prob[i]
    b = np.zeros(2 * n)
    b[0] = 1.0
    dense = np.linalg.solve(a, b)[n:]
    np.testing.assert_allclose(
        expected_performances(share, target, prob), dense, rtol=1e-9, atol=1e-12
    )


def test_bad_arrays_are_refused() -> None:
    with pytest.raises(ValueError, match="rework probabilities"):
        expected_performances([1.0], [0], [1.0])
    with pytest.raises(ValueError, match="one value per step"):
        expected_performances([1.0, 1.0], [0], [0.1])


def test_rework_of_100_percent_is_refused_by_the_loader(tmp_path: Path) -> None:
    """A step reworked onto itself with 100 % would loop for ever (the kernel too): the
    loader names the file, line and field."""
    route = [sf.step_row("r", 1, "A", 10.0)]
    route[0].update({"RWKSTEP": 1, "REWORK": 100.0, "RWKTYPE": "lot"})
    path = sf.write_fab(
        tmp_path / "f", [sf.tool_row("A")], {"part_1": route}, [sf.order_row("L", "part_1", 60.0)]
    )
    with pytest.raises(FabModelError) as e:
        load_smt2020(path)
    assert any(
        p.field == "REWORK" and p.line == 2 and p.file == "route_1.txt" for p in e.value.problems
    ), e.value.problems


def test_kernel_performs_steps_as_the_formula_says(tmp_path: Path) -> None:
    """Ten seeds of 3,000 lots through sampling and nested rework loops: the simulated mean
    performances per step (the kernel's visit counters) are within a 99.9 % confidence
    interval of the formula, and that interval excludes the earlier one-repeat formula where
    it differs. The mean time a lot spends in process and transport (cycle time − queue
    wait) is the raw process time within its interval too."""
    fab = sf.sampled_rework_fab(tmp_path / "rw")
    model = load_smt2020(fab.path)
    route = model.routes["r_1"]
    share, target, prob = route_rework(route)
    n = len(route.steps)
    np.testing.assert_allclose(share, [fab.expect[f"share_{k}"] for k in range(n)])
    np.testing.assert_array_equal(target, [fab.expect[f"target_{k}"] for k in range(n)])
    np.testing.assert_allclose(prob, [fab.expect[f"prob_{k}"] for k in range(n)])
    formula = expected_performances(share, target, prob)
    rpt = raw_process_time_min(model)["part_1"]

    days = fab.expect["lots"] * fab.expect["interval_min"] / 1440.0 + 30.0
    per_seed, busy_min = [], []
    for seed in range(10):
        res = simulate(model, SimOptions(days=days), seed=seed)
        lots = res.lots
        assert lots["done_min"].notna().all()
        steps = res.steps.sort_values("step")
        visits = (steps["visits_regular"] + steps["visits_hot"]).to_numpy(dtype=float)
        per_seed.append(visits / len(lots))
        assert visits.sum() == lots["steps"].sum()
        busy_min.append(float((lots["done_min"] - lots["release_min"] - lots["wait_min"]).mean()))
    sim = np.array(per_seed)
    t = float(stats.t.ppf(0.9995, len(sim) - 1))
    half = t * sim.std(axis=0, ddof=1) / math.sqrt(len(sim))
    mean = sim.mean(axis=0)
    assert (np.abs(mean - formula) <= half + 1e-9).all(), (mean, formula, half)

    one_repeat = share.copy()
    for k in range(n):
        if target[k] >= 0:
            one_repeat[target[k] : k + 1] += share[k] * prob[k] * share[target[k] : k + 1]
    differs = np.abs(one_repeat - formula) > 0.05
    assert differs.any()
    assert (np.abs(mean - one_repeat)[differs] > half[differs]).all()

    b = np.array(busy_min)
    b_half = t * b.std(ddof=1) / math.sqrt(len(b))
    assert abs(b.mean() - rpt) <= b_half, (b.mean(), rpt, b_half)


def test_kpi_queueing_and_generator_share_one_raw_process_time() -> None:
    """The generator's raw process time, the KPI one of the fab it wrote and the queueing
    model's are the same numbers (one formula), and the queueing model's visits per step
    are the expected performances."""
    fab = generate_fab(12, 60, 2, seed=2)
    assert fab.model is not None
    kpi = raw_process_time_days(fab.model)
    assert kpi == pytest.approx(fab.raw_process_time_days, rel=1e-12)
    net = network_from_model(fab.model)
    q = solve_network(net, 0.5).products.set_index("product")["raw_process_time_days"]
    for part, days in kpi.items():
        assert float(q[part]) == pytest.approx(days, rel=1e-12)
    route = fab.model.routes[fab.model.product("part_1").route]
    shares = [v.share for v in net.visits if v.product == "part_1"]
    np.testing.assert_allclose(shares, expected_performances(*route_rework(route)))
