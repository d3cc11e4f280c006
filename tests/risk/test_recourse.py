"""Recourse evaluation worked out by hand on the planner's toy (tests/plan/helpers.py).

Base toy: 143 good units per 10 000 USD wafer (69.93 USD per PFLOP/s), GPUs at 30 000 USD
per PFLOP/s, 1000 PFLOP/s required every year of 2025–2027, units live one year, no
discounting, an unmet penalty of 1e6 USD per PFLOP/s-year. The plan makes everything itself.
"""

from __future__ import annotations

import pickle
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from fabnet.plan import PlanOptions, build_model, read_solution, solve_model
from fabnet.plan.variables import OFFER, WAFERS
from fabnet.risk.effects import Effects
from fabnet.risk.recourse import (
    FirstStage,
    Recourse,
    RecourseSpec,
    evaluate_batch,
    recourse_for,
)
from fabnet.scenario import load_scenario
from fabnet.scenario.schema import Scenario
from tests.plan.helpers import BASE, CANDIDATE, DIES_400, scenario

UNIT_USD = 10000 / DIES_400
GPU_USD = 30000.0
PENALTY = 1.0e6


def _recourse(sc: Scenario, options: PlanOptions | None = None) -> tuple[Recourse, float]:
    # the hand-solved figures count no salvage value (units serving after the horizon)
    opts = options or PlanOptions(terminal="none")
    pm = solve_model(build_model(sc, opts))
    assert pm.objective_usd is not None
    return Recourse(RecourseSpec(sc, opts, FirstStage.from_plan_model(pm))), pm.objective_usd


def _none(rec: Recourse) -> Effects:
    d = rec.data
    return Effects.none(
        len(d.site_ids),
        len(d.route_ids),
        len(d.offer_ids),
        len(d.compute_ids),
        len(d.unit_ids),
        d.n_periods,
    )


def _edit(eff: Effects, first: int, **arrays: dict[tuple[int, int], float]) -> Effects:
    """A copy of ``eff`` with some entries of its arrays set and ``first_period``."""
    changes: dict[str, Any] = {"first_period": first}
    for name, cells in arrays.items():
        arr = getattr(eff, name).copy()
        for (i, t), v in cells.items():
            arr[i, t] = v
        changes[name] = arr
    return replace(eff, **changes)


@pytest.fixture(scope="module")
def limited() -> tuple[Recourse, float]:
    """The toy with GPUs limited to 400 a year."""
    return _recourse(scenario({"offers.gpu.max_units_per_year": {2025: 400}}))


def test_losing_the_site_for_one_year(limited: tuple[Recourse, float]) -> None:
    rec, obj = limited
    assert rec.baseline.cost_pv_usd == pytest.approx(obj, rel=1e-9)
    assert rec.baseline.cost_pv_usd == pytest.approx(3000 * UNIT_USD, rel=1e-9)
    out = rec.evaluate(_edit(_none(rec), 1, site_capacity={(0, 1): 0.0}))
    # 2026: 400 GPUs (the allocation) and 600 PFLOP/s unmet; 2025 and 2027 as planned
    assert out.status == "optimal"
    assert out.unmet_pflops == pytest.approx([0, 600, 0], abs=1e-6)
    assert out.cost_pv_usd == pytest.approx(
        2000 * UNIT_USD + 400 * GPU_USD + 600 * PENALTY, rel=1e-9
    )
    assert out.spend_pv_usd == pytest.approx(2000 * UNIT_USD + 400 * GPU_USD, rel=1e-9)
    assert out.service_level == pytest.approx(1 - 600 / 3000, rel=1e-12)
    assert out.first_period == 1
    # the screen re-routes nothing: the whole year is lost, an upper bound of the exact cost
    scr = rec.screen(_edit(_none(rec), 1, site_capacity={(0, 1): 0.0}))
    assert scr.method == "screen"
    assert scr.unmet_pflops == pytest.approx([0, 1000, 0], abs=1e-6)
    assert scr.cost_pv_usd == pytest.approx(2000 * UNIT_USD + 1000 * PENALTY, rel=1e-9)
    assert scr.cost_pv_usd >= out.cost_pv_usd


def test_half_capacity_of_an_underused_site_costs_nothing(limited: tuple[Recourse, float]) -> None:
    rec, _ = limited
    eff = _edit(_none(rec), 1, site_capacity={(0, 1): 0.5})
    for out in (rec.evaluate(eff), rec.screen(eff)):
        assert out.cost_pv_usd == pytest.approx(rec.baseline.cost_pv_usd, rel=1e-9)
        assert out.unmet_pflops == pytest.approx([0, 0, 0], abs=1e-6)


def test_yield_loss_is_made_up_by_more_wafers(limited: tuple[Recourse, float]) -> None:
    rec, _ = limited
    eff = _edit(_none(rec), 1, route_output={(0, 1): 0.5})
    out = rec.evaluate(eff, flows=True)
    assert out.flows is not None
    assert out.flows[WAFERS][0] == pytest.approx(np.array([1, 2, 1]) * 1000 / DIES_400)
    assert out.cost_pv_usd == pytest.approx(4000 * UNIT_USD, rel=1e-9)
    # the screen keeps the wafers and loses half the units of 2026
    scr = rec.screen(eff)
    assert scr.unmet_pflops == pytest.approx([0, 500, 0], abs=1e-6)
    assert scr.cost_pv_usd == pytest.approx(3000 * UNIT_USD + 500 * PENALTY, rel=1e-9)


def test_withdrawn_offer_and_demand_shock() -> None:
    rec, _ = _recourse(scenario({"sites.fab-a.capacity_wspm.2025": 0}))
    assert rec.baseline.cost_pv_usd == pytest.approx(3000 * GPU_USD, rel=1e-9)
    eff = _edit(_none(rec), 1, offer_allocation={(0, 1): 0.0})
    out, scr = rec.evaluate(eff), rec.screen(eff)
    for o in (out, scr):  # nothing else to buy: the screen is exact here
        assert o.unmet_pflops == pytest.approx([0, 1000, 0], abs=1e-6)
        assert o.cost_pv_usd == pytest.approx(2000 * GPU_USD + 1000 * PENALTY, rel=1e-9)
    shock = rec.evaluate(_edit(_none(rec), 2, compute_demand={(0, 2): 1.5}))
    assert shock.cost_pv_usd == pytest.approx(3500 * GPU_USD, rel=1e-9)
    assert shock.service_level == pytest.approx(1.0)


def test_periods_before_the_event_stay_as_planned() -> None:
    """Lead time one year and two-year service life: demand 1000 in 2026 and 2027 is met
    by wafers started in 2025. A 2027 demand of 2000 is a surprise in 2027 (GPUs, no lead
    time) but would be met by own wafers started in 2026 with a year's warning."""
    sc = scenario(
        {
            "products.acc.lead_time_days": 400,
            "products.acc.service_life_years": 2,
            "demand.compute.0.installed_pflops": {2025: 0, 2026: 1000, 2027: 1000},
        }
    )
    rec, _ = _recourse(sc)
    base = rec.evaluate(_none(rec), flows=True)
    assert base.flows is not None
    assert base.cost_pv_usd == pytest.approx(1000 * UNIT_USD, rel=1e-9)
    late = rec.evaluate(_edit(_none(rec), 2, compute_demand={(0, 2): 2.0}), flows=True)
    assert late.flows is not None
    assert late.cost_pv_usd == pytest.approx(1000 * UNIT_USD + 1000 * GPU_USD, rel=1e-9)
    np.testing.assert_array_equal(late.flows[WAFERS][:, :2], base.flows[WAFERS][:, :2])
    assert late.flows[OFFER][0, 2] == pytest.approx(1000)
    warned = rec.evaluate(_edit(_none(rec), 1, compute_demand={(0, 2): 2.0}))
    assert warned.cost_pv_usd == pytest.approx(2000 * UNIT_USD, rel=1e-9)


@pytest.fixture(scope="module")
def with_candidate() -> tuple[Any, ...]:
    base = {**BASE, "sites": [*BASE["sites"], CANDIDATE]}
    sc = scenario(
        {
            "sites.fab-a.capacity_wspm.2025": 0,
            "demand.compute.0.installed_pflops": {2025: 0, 2026: 1000, 2027: 1000},
        },
        base=base,
    )
    pm = solve_model(build_model(sc))
    return sc, pm, read_solution(pm)


def test_baseline_is_the_fixed_build_lp_and_candidates_lose_capacity(
    with_candidate: tuple[Any, ...],
) -> None:
    sc, pm, plan = with_candidate
    assert pm.dual_source == "lp_fixed_builds"
    fs = FirstStage.from_plan_model(pm)
    assert fs.builds == (("fab-b", "2025", 1.0),) and fs.build_starts == {"fab-b": "2025"}
    rec = Recourse(RecourseSpec(sc, PlanOptions(), fs))
    assert rec.baseline.cost_pv_usd == pytest.approx(pm.objective_usd, rel=1e-6)
    assert rec.baseline.cost_pv_usd == pytest.approx(1e6 + 2000 * UNIT_USD, rel=1e-9)
    # fab-b (site 1) out in 2026: its 1000 units come as GPUs; the capex stays paid
    out = rec.evaluate(_edit(_none(rec), 1, site_capacity={(1, 1): 0.0}))
    assert out.cost_pv_usd == pytest.approx(1e6 + 1000 * UNIT_USD + 1000 * GPU_USD, rel=1e-9)
    # a stored plan gives the same first stage (builds table + summary ports)
    again = FirstStage.from_tables(plan.builds, plan.summary()["ports"], scenario=sc)
    assert again == fs
    # a co-funded build shows the designer's part of the capex in the table; it is still whole
    cof = scenario(None, base={**sc.model_dump(mode="json"), "sites": [
        {**x, "cofunded": True, "reservable_share": 0.5} if x["id"] == "fab-b" else x
        for x in sc.model_dump(mode="json")["sites"]
    ]})  # fmt: skip
    pm2 = solve_model(build_model(cof, PlanOptions()))
    plan2 = read_solution(pm2)
    assert len(plan2.builds) == 1
    fs2 = FirstStage.from_tables(plan2.builds, plan2.summary()["ports"], scenario=cof)
    assert fs2 == FirstStage.from_plan_model(pm2) and fs2.builds[0][2] == 1.0
    rec2 = Recourse(RecourseSpec(cof, PlanOptions(), fs2))
    assert rec2.baseline.cost_pv_usd == pytest.approx(pm2.objective_usd, rel=1e-6)


def test_stored_ports_or_supply_give_the_first_stage() -> None:
    from tests.plan.helpers import BASE as B

    base = {
        **B,
        "processes": [*B["processes"], {**B["processes"][0], "id": "n5"}],
        "sites": [{**B["sites"][0], "processes": ["n3", "n5"]}],
        "products": [
            {
                **B["products"][0],
                "process_options": [
                    {"process": "n3", "porting_cost_usd": 1000.0},
                    {"process": "n5", "porting_cost_usd": 5.0e6},
                ],
            }
        ],
    }
    sc = scenario(None, base=base)
    pm = solve_model(build_model(sc))
    plan = read_solution(pm)
    fs = FirstStage.from_plan_model(pm)
    assert dict(fs.ports) == {"acc|n3": 1.0, "acc|n5": 0.0}
    assert plan.summary()["ports"] == {"acc|n3": 1.0, "acc|n5": 0.0}
    from_supply = FirstStage.from_tables(plan.builds, None, scenario=sc, supply=plan.supply)
    assert dict(from_supply.ports) == {"acc|n3": 1.0}
    rec = Recourse(RecourseSpec(sc, PlanOptions(), from_supply))
    assert rec.baseline.cost_pv_usd == pytest.approx(pm.objective_usd, rel=1e-9)
    # the unported n5 stays unusable in the recourse: losing the site leaves demand unmet
    # except for GPUs, exactly as without n5
    out = rec.evaluate(_edit(_none(rec), 1, site_capacity={(0, 1): 0.0}))
    assert out.cost_pv_usd == pytest.approx(1000 + 2000 * UNIT_USD + 1000 * GPU_USD, rel=1e-9)


def _random_effects(rec: Recourse, n: int, seed: int) -> list[Effects]:
    rng = np.random.default_rng(seed)
    base = _none(rec)
    S, T = base.site_capacity.shape
    out = []
    for _ in range(n):
        s, t0, k = int(rng.integers(S)), int(rng.integers(T)), int(rng.integers(1, 4))
        cap = base.site_capacity.copy()
        cap[s, t0 : t0 + k] = rng.uniform(0.0, 0.5)
        out.append(replace(base, site_capacity=cap, first_period=t0))
    return out


def _same(a: Any, b: Any) -> bool:
    return (
        a.cost_pv_usd == b.cost_pv_usd
        and a.spend_pv_usd == b.spend_pv_usd
        and a.service_level == b.service_level
        and np.array_equal(a.unmet_pflops, b.unmet_pflops)
        and np.array_equal(a.unmet_units, b.unmet_units)
    )


@pytest.fixture(scope="module")
def openai() -> tuple[RecourseSpec, float]:
    sc = load_scenario("openai-2024")
    pm = solve_model(build_model(sc))
    assert pm.objective_usd is not None
    return RecourseSpec(sc, PlanOptions(), FirstStage.from_plan_model(pm)), pm.objective_usd


@pytest.mark.slow
def test_openai_baseline_and_bit_identical_in_any_order(
    openai: tuple[RecourseSpec, float],
) -> None:
    spec, obj = openai
    rec = Recourse(pickle.loads(pickle.dumps(spec)))
    assert rec.baseline.cost_pv_usd == pytest.approx(obj, rel=1e-6)
    effs = _random_effects(rec, 12, seed=3)
    first = [rec.evaluate(e) for e in effs]
    again = [rec.evaluate(e) for e in reversed(effs)][::-1]
    assert all(o.status == "optimal" for o in first)
    assert all(_same(a, b) for a, b in zip(first, again, strict=True))
    # a fresh process-cached Recourse gives the same bits, and screening never beats exact
    # (the plan has share policies, so this is checked, not assumed: see the docs)
    batch = evaluate_batch(spec, effs)
    assert recourse_for(spec) is recourse_for(spec)
    np.testing.assert_array_equal(batch.cost_pv_usd, [o.cost_pv_usd for o in first])
    assert batch.unmet_pflops.shape == (12, len(rec.data.year_list))
    assert all(o.cost_pv_usd >= rec.baseline.cost_pv_usd * (1 - 1e-9) for o in first)


def test_screened_flows_are_feasible_without_policies(limited: tuple[Recourse, float]) -> None:
    """Without share policies the screened point is feasible in the recourse LP, so its
    cost bounds the exact cost from above (random disruptions of every kind)."""
    rec, _ = limited
    rng = np.random.default_rng(7)
    base = _none(rec)
    for _ in range(20):
        t0 = int(rng.integers(3))
        eff = replace(
            base,
            site_capacity=np.where(np.arange(3) >= t0, rng.uniform(0, 1, (1, 3)), 1.0),
            route_output=np.where(np.arange(3) >= t0, rng.uniform(0.2, 1, (1, 3)), 1.0),
            offer_allocation=np.where(np.arange(3) >= t0, rng.uniform(0, 1, (1, 3)), 1.0),
            compute_demand=np.where(np.arange(3) >= t0, rng.uniform(0.8, 1.5, (1, 3)), 1.0),
            first_period=t0,
        )
        ex, sc = rec.evaluate(eff), rec.screen(eff)
        assert sc.cost_pv_usd >= ex.cost_pv_usd * (1 - 1e-9)
        assert 0.0 <= ex.service_level <= 1.0 and 0.0 <= sc.service_level <= 1.0


def test_a_cap_the_fixed_past_breaks_is_relaxed_from_the_event_year() -> None:
    """GPUs (one year of lead time) ordered in 2025 for 2026 balance own units under a 50 %
    cap on gpuco; when the own 2026 units are lost the cap cannot hold (the GPUs arrive):
    the sample is solved without the caps from 2026 on and says so."""
    sc = scenario(
        {
            "offers.gpu.lead_time_days": 400,
            "sites.fab-a.capacity_wspm.2025": 500 / DIES_400 / 12,
            "policies.max_vendor_share.gpuco": 0.5,
            "demand.compute.0.installed_pflops": {2025: 0, 2026: 1000, 2027: 1000},
        }
    )
    rec, obj = _recourse(sc)
    assert rec.baseline.cost_pv_usd == pytest.approx(obj, rel=1e-9)
    assert obj == pytest.approx(1000 * GPU_USD + 1000 * UNIT_USD, rel=1e-9)
    eff = _edit(_none(rec), 1, site_capacity={(0, 1): 0.0})
    out = rec.evaluate(eff)
    assert out.status == "policy_relaxed"
    assert out.unmet_pflops == pytest.approx([0, 500, 0], abs=1e-6)
    assert out.cost_pv_usd == pytest.approx(1000 * GPU_USD + 500 * UNIT_USD + 500 * PENALTY)
    # the caps are back for the next sample: half the 2027 units, known in 2026, so the
    # GPUs for 2027 are cut to match (250 + 250) and 500 PFLOP/s are unmet
    late = rec.evaluate(_edit(_none(rec), 1, site_capacity={(0, 2): 0.5}))
    assert late.status == "optimal"
    assert late.unmet_pflops == pytest.approx([0, 0, 500], abs=1e-6)


def _screen_violations(rec: Recourse, eff: Effects) -> tuple[float, set[str]]:
    """Largest relative violation of the sample's rows and column bounds by the screened
    flows, and the constraint names violated (rows of the sample's LP, built here from the
    HiGHS matrix with the sample's coefficients)."""
    import scipy.sparse as sp

    h = rec._h
    lp = h.getLp()
    a = lp.a_matrix_
    A = sp.csc_array(
        (np.array(a.value_), np.array(a.index_), np.array(a.start_)),
        shape=(h.getNumRow(), h.getNumCol()),
    ).tolil()
    e = replace(eff, first_period=min(eff.first_period, rec.data.n_periods))
    lb, ub, rlb, rub, coef = rec._targets(e)
    for r, c, v in zip(rec._coef_row, rec._coef_col, coef, strict=True):
        A[r, c] = v
    out = rec.screen(eff, flows=True)
    assert out.flows is not None
    sol = np.zeros(h.getNumCol())
    for name, cols in rec._var_cols.items():
        sel = cols >= 0
        sol[cols[sel]] = out.flows[name][sel]
    act = A.tocsr() @ sol
    scale = 1.0 + np.abs(act)
    viol_row = np.maximum(rlb - act, act - rub) / scale
    viol_col = np.maximum(lb - sol, sol - ub) / (1.0 + np.abs(sol))
    bad_rows = set(np.flatnonzero(viol_row > 1e-7).tolist())
    names = set()
    m = build_model(rec.spec.scenario, rec.spec.options).model
    clabels = m.matrices.clabels
    for name in m.constraints:
        lab = m.constraints[name].labels.values
        pos = np.searchsorted(clabels, lab[lab >= 0])
        if bad_rows & set(pos.tolist()):
            names.add(name)
    return float(max(viol_row.max(initial=0), viol_col.max(initial=0))), names


def test_screened_flows_satisfy_the_physical_rows_of_the_toy() -> None:
    """The built-in toy has HBM and packaging: the screened point keeps every row of the
    sample's LP (yield, capacity, allocation and demand changes at once)."""
    rec, _ = _recourse(load_scenario("toy"))
    rng = np.random.default_rng(2)
    base = _none(rec)
    T = rec.data.n_periods
    for _ in range(15):
        t0 = int(rng.integers(T))
        after = np.arange(T) >= t0

        def draw(arr: np.ndarray, lo: float, hi: float, after: np.ndarray = after) -> np.ndarray:
            return np.where(after, rng.uniform(lo, hi, arr.shape), 1.0)

        eff = replace(
            base,
            site_capacity=draw(base.site_capacity, 0.0, 1.0),
            route_output=draw(base.route_output, 0.3, 1.0),
            compute_demand=draw(base.compute_demand, 0.8, 1.3),
            first_period=t0,
        )
        worst, names = _screen_violations(rec, eff)
        assert worst <= 1e-7, names
        assert rec.screen(eff).cost_pv_usd >= rec.evaluate(eff).cost_pv_usd * (1 - 1e-9)


def test_unit_demand_shock_and_lost_units() -> None:
    """A phone SoC sold as units (1000 a year, penalty 500 USD a unit) made on the same fab:
    50 % more phones in 2026 are made (143 per wafer); the fab lost in 2027 leaves 1000
    phones and 1000 PFLOP/s short (GPUs cover the compute)."""
    phone = {**BASE["products"][0], "id": "soc", "die_area_mm2": 400}
    base = {
        **BASE,
        "products": [*BASE["products"], phone],
        "demand": {
            **BASE["demand"],
            "units": [
                {"id": "phones", "product": "soc", "units_per_year": {2025: 1000},
                 "unmet_penalty_usd_per_unit": 500.0}
            ],
        },
    }  # fmt: skip
    rec, obj = _recourse(scenario(None, base=base))
    assert obj == pytest.approx(6000 * UNIT_USD, rel=1e-9)
    shock = rec.evaluate(_edit(_none(rec), 1, unit_demand={(0, 1): 1.5}))
    assert shock.cost_pv_usd == pytest.approx(6500 * UNIT_USD, rel=1e-9)
    assert shock.unmet_units == pytest.approx([0, 0, 0], abs=1e-6)
    lost = rec.evaluate(_edit(_none(rec), 2, site_capacity={(0, 2): 0.0}))
    assert lost.unmet_units == pytest.approx([0, 0, 1000], abs=1e-6)
    assert lost.unmet_pflops == pytest.approx([0, 0, 0], abs=1e-6)
    assert lost.cost_pv_usd == pytest.approx(
        4000 * UNIT_USD + 1000 * GPU_USD + 1000 * 500.0, rel=1e-9
    )
    assert lost.spend_pv_usd == pytest.approx(4000 * UNIT_USD + 1000 * GPU_USD, rel=1e-9)
    scr = rec.screen(_edit(_none(rec), 2, site_capacity={(0, 2): 0.0}))
    assert scr.unmet_units == pytest.approx([0, 0, 1000], abs=1e-6)
    assert scr.cost_pv_usd == pytest.approx(4000 * UNIT_USD + 1000 * PENALTY + 500_000, rel=1e-9)


def test_relaxed_plan_shares_from_the_stored_tables(with_candidate: tuple[Any, ...]) -> None:
    sc = with_candidate[0]
    sc = scenario(None, base={**sc.model_dump(mode="json"), "sites": [
        {**s, "capex_usd": 3.0e7} if s["id"] == "fab-b" else s
        for s in sc.model_dump(mode="json")["sites"]
    ]})  # fmt: skip
    opts = PlanOptions(relax=True)
    pm = solve_model(build_model(sc, opts))
    plan = read_solution(pm)
    fs = FirstStage.from_plan_model(pm)
    assert any(share < 1 for _, _, share in fs.builds)
    again = FirstStage.from_tables(plan.builds, plan.summary()["ports"], scenario=sc, relaxed=True)
    assert [b[:2] for b in again.builds] == [b[:2] for b in fs.builds]
    assert [b[2] for b in again.builds] == pytest.approx([b[2] for b in fs.builds], rel=1e-9)
    rec = Recourse(RecourseSpec(sc, opts, again))
    assert rec.baseline.cost_pv_usd == pytest.approx(pm.objective_usd, rel=1e-6)


def test_another_process_gives_the_same_bits(limited: tuple[Recourse, float]) -> None:
    """A spawned worker process builds its own Recourse from the pickled spec."""
    import multiprocessing as mp

    rec, _ = limited
    rng = np.random.default_rng(4)
    base = _none(rec)
    effs = [
        replace(
            base,
            site_capacity=np.where(np.arange(3) >= 1, rng.uniform(0, 1, (1, 3)), 1.0),
            route_output=np.where(np.arange(3) >= 1, rng.uniform(0.3, 1, (1, 3)), 1.0),
            first_period=1,
        )
        for _ in range(6)
    ]
    here = evaluate_batch(rec.spec, effs)
    with mp.get_context("spawn").Pool(1) as pool:
        there = pool.apply(evaluate_batch, (rec.spec, effs[::-1]))
    np.testing.assert_array_equal(here.cost_pv_usd, there.cost_pv_usd[::-1])
    np.testing.assert_array_equal(here.unmet_pflops, there.unmet_pflops[::-1])
    np.testing.assert_array_equal(here.service_level, there.service_level[::-1])
