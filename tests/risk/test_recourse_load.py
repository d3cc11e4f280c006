"""The recourse of a plan made with load-dependent lead times (``--lead-times load``): the
risk engine re-solves the planner's LP with its clearing functions, so the baseline sample
reproduces the plan and a disruption reaches the fab's output, not only its starts."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fabnet.errors import PlanError
from fabnet.plan import PlanOptions, build_model, solve_model
from fabnet.plan.clearing_constraints import OUTPUT
from fabnet.risk.effects import Effects
from fabnet.risk.recourse import FirstStage, Recourse, RecourseSpec
from fabnet.store import Store
from tests.cli_runner import run_cli
from tests.plan.helpers import scenario

#: fab-a at 12 wafers a year, about 7 of them needed: load ≈ 0.6 on a G/G/2 curve
CHANGES: dict[str, Any] = {
    "processes.n3.cycle_time_days": 30,
    "processes.n3.operating_curve": {"queueing": {"tools": 2}, "nominal_load": 0.9},
    "sites.fab-a.capacity_wspm.2025": 1,
    "offers.gpu.max_units_per_year": {2025: 400},
}


@pytest.fixture(scope="module")
def load_recourse() -> tuple[Recourse, float]:
    sc = scenario(CHANGES)
    opts = PlanOptions(terminal="none", lead_times="load")
    pm = solve_model(build_model(sc, opts))
    assert pm.objective_usd is not None and pm.data.clearing is not None
    return Recourse(RecourseSpec(sc, opts, FirstStage.from_plan_model(pm))), pm.objective_usd


def _none(rec: Recourse, first: int) -> Effects:
    d = rec.data
    shape = (len(d.site_ids), len(d.route_ids), len(d.offer_ids), len(d.compute_ids))
    eff = Effects.none(*shape, len(d.unit_ids), d.n_periods)
    return replace(eff, first_period=first)


def test_baseline_reproduces_the_load_plan(load_recourse: tuple[Recourse, float]) -> None:
    rec, obj = load_recourse
    assert rec.data.clearing is not None and rec.data.clearing.routes.size
    assert rec.baseline.cost_pv_usd == pytest.approx(obj, rel=1e-9)


def test_a_site_outage_stops_the_fabs_output(load_recourse: tuple[Recourse, float]) -> None:
    """fab-a down in 2026: its capacity shared by the clearing functions is 0 too, so no
    wafer leaves the fab that year (without the allocation rows, WIP would still flow out)."""
    rec, _ = load_recourse
    base = rec.evaluate(_none(rec, 1), flows=True)
    assert base.flows is not None and base.flows[OUTPUT][0, 1] > 1e-6
    eff = _none(rec, 1)
    cap = eff.site_capacity.copy()
    cap[0, 1] = 0.0
    out = rec.evaluate(replace(eff, site_capacity=cap), flows=True)
    assert out.status == "optimal" and out.flows is not None
    assert out.flows[OUTPUT][0, 1] == pytest.approx(0.0, abs=1e-9)
    assert out.cost_pv_usd > rec.baseline.cost_pv_usd * (1 + 1e-6)


def test_a_yield_loss_reaches_the_fabs_output(load_recourse: tuple[Recourse, float]) -> None:
    """Route output 0 in 2026: the wafers leaving the fab that year make no dies (the
    multiplier scales the output column's coefficient, as it scales the starts' when fixed)."""
    rec, _ = load_recourse
    eff = _none(rec, 1)
    mult = eff.route_output.copy()
    mult[0, 1] = 0.0
    out = rec.evaluate(replace(eff, route_output=mult))
    assert out.cost_pv_usd > rec.baseline.cost_pv_usd * (1 + 1e-6)
    with pytest.raises(PlanError, match="drop --screen"):
        rec.screen(eff)


def test_risk_of_a_stored_load_plan_keeps_its_lead_times(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``fabnet risk RUN_ID`` on a plan made with --lead-times load evaluates that plan: the
    stored options reach the recourse, whose baseline is the plan's cost."""
    from fabnet.cli.risk import _spec_from_run

    db = tmp_path / "runs.duckdb"
    code, out, err = run_cli(
        [
            "plan", "toy", "--lead-times", "load", "--terminal", "none", "--store", str(db),
            "--json", "--set", "sites.fab-a.capacity_wspm={2025: 1}",
            "--set", "processes.n3.cycle_time_days=90",
            "--set", "processes.n3.operating_curve={queueing: {tools: 4}, nominal_load: 0.9}",
            "--set", "disruptions=[{id: fire, kind: fire, rate_per_year: 2, hits: {sites: "
            "[fab-a]}, scope: one, capacity_loss: 1.0, recovery: [[0, 0], [60, 0], [120, 1]]}]",
        ],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    plan_id = json.loads(out)["run_id"]
    rec = Store(db, create=False).load_run(plan_id)
    spec = _spec_from_run(rec)
    assert spec.options.lead_times == "load" and spec.options.terminal == "none"
    recourse = Recourse(spec)
    cost = float(rec.summary["objective_usd"])
    assert recourse.baseline.cost_pv_usd == pytest.approx(cost, rel=1e-6)
    code, out, err = run_cli(
        ["risk", plan_id, "--store", str(db), "--samples", "4", "--workers", "1", "--json"],
        capsys,
    )
    assert code == 0, err
    obj = json.loads(out)
    assert obj["plan_run_id"] == plan_id and obj["samples"] == 4
    assert obj["baseline_cost_usd"] == pytest.approx(cost, rel=1e-6)
    code, _, err = run_cli(
        ["risk", plan_id, "--store", str(db), "--samples", "4", "--workers", "1", "--screen"],
        capsys,
    )
    assert code == 2 and "drop --screen" in err


def test_salvage_credits_the_fabs_output_under_load() -> None:
    """With clearing functions a route's wafers are credited when they leave the fab (the
    units assembled in the output period), not at the fixed shift from their start; the
    costs table still adds up to the objective."""
    from fabnet.plan import plan
    from fabnet.plan.sets import salvage_shares

    sc = scenario({**CHANGES, "products.acc.service_life_years": 2})
    pm = build_model(sc, PlanOptions(lead_times="load"))
    d = pm.data
    assert d.clearing is not None
    cf = np.asarray(d.clearing.is_cf, dtype=bool)
    share = salvage_shares(d)
    assert cf.any() and (share["units"] > 0).any()
    np.testing.assert_array_equal(share["wafers"][cf], 0.0)
    np.testing.assert_allclose(share["fab_output"][cf], share["units"][d.route_product[cf]])
    np.testing.assert_array_equal(share["fab_output"][~cf], 0.0)
    fixed = salvage_shares(build_model(sc, PlanOptions()).data)
    assert not fixed["fab_output"].any() and fixed["wafers"].any()
    p = plan(sc, PlanOptions(lead_times="load"))
    assert p.costs["cost_usd"].sum() == pytest.approx(p.objective_usd, rel=1e-9)


def test_supply_follows_the_wafers_out_of_the_fab_first_in_first_out() -> None:
    """A 200-day cycle at load: 2025's starts leave the fab in 2026 with part of 2026's.
    ``supply`` gives each start period the units its wafers become, first in, first out,
    so every wafer carries the same units (one yield) and no unit is lost or made twice."""
    from fabnet.plan import plan

    p = plan(scenario({**CHANGES, "processes.n3.cycle_time_days": 200}),
             PlanOptions(lead_times="load"))  # fmt: skip
    own = p.supply[p.supply["source_kind"] == "own"]
    c = p.clearing
    assert c["wip_wafers"].iloc[0] > 0.1 and c["output_wafers"].iloc[0] == pytest.approx(0.0)
    per_wafer = (own["units"] / own["wafers"]).to_numpy()
    np.testing.assert_allclose(per_wafer, per_wafer[0], rtol=1e-6)
    # the wafers in the fab at the horizon's end leave it in the model's extension (docs/
    # planner.md, "End of the horizon"), cut from the clearing table
    out_total = float(c["output_wafers"].sum()) + float(c["wip_wafers"].iloc[-1])
    np.testing.assert_allclose(own["units"].sum(), out_total * per_wafer[0], rtol=1e-6)
