"""Properties of the planner on small random scenarios (hypothesis).

* adding capacity never raises the optimal cost;
* tightening a vendor cap never lowers it;
* wafers → dies → units → compute balance in the tables;
* the LP relaxation's cost is never above the MILP's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fabnet.plan import PlanOptions, plan
from fabnet.scenario.schema import Scenario
from tests.plan.helpers import BASE, scenario

SETTINGS = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)

CANDIDATE = {
    "id": "fab-b",
    "owner": "fabco",
    "country": "US",
    "processes": ["n3"],
    "capacity_wspm": {2025: 50},
    "status": "candidate",
    "capex_usd": 5.0e6,
    "build_years": 1,
    "ramp_years": 1,
    "earliest_start_year": 2025,
}


@st.composite
def small_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """Override sets on the hand-written base: capacities, prices, demand, timing, caps."""
    demand = {y: draw(st.floats(0, 3000)) for y in (2025, 2026, 2027)}
    return {
        "sites.fab-a.capacity_wspm.2025": draw(st.floats(0, 2)),
        "offers.gpu.price_usd.2025": draw(st.floats(100, 50000)),
        "offers.gpu.max_units_per_year": {2025: draw(st.floats(0, 3000))},
        "offers.gpu.lead_time_days": draw(st.sampled_from([0, 200, 400])),
        "products.acc.lead_time_days": draw(st.sampled_from([0, 200, 400])),
        "products.acc.service_life_years": draw(st.sampled_from([1, 2])),
        "products.acc.process_options.0.available_from_year": draw(
            st.sampled_from([2025, 2026, 2027])
        ),
        "demand.compute.0.installed_pflops": demand,
        "discount_rate": draw(st.sampled_from([0.0, 0.1])),
    }


def _cost(changes: dict[str, Any], base: dict[str, Any] | None = None, **opts: Any) -> float:
    return plan(scenario(changes, base=base), PlanOptions(**opts)).objective_usd


def _tol(a: float) -> float:
    return 1e-6 * max(1.0, abs(a)) + 1e-3


@SETTINGS
@given(small_scenarios(), st.floats(0.1, 3))
def test_more_capacity_never_costs_more(changes: dict[str, Any], extra_wspm: float) -> None:
    before = _cost(changes)
    more = dict(changes)
    more["sites.fab-a.capacity_wspm.2025"] = changes["sites.fab-a.capacity_wspm.2025"] + extra_wspm
    assert _cost(more) <= before + _tol(before)


@SETTINGS
@given(small_scenarios(), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_tighter_vendor_cap_never_costs_less(changes: dict[str, Any], a: float, b: float) -> None:
    loose, tight = max(a, b), min(a, b)
    c_loose = _cost({**changes, "policies.max_vendor_share.gpuco": loose})
    c_tight = _cost({**changes, "policies.max_vendor_share.gpuco": tight})
    assert c_tight >= c_loose - _tol(c_loose)


@SETTINGS
@given(small_scenarios())
def test_wafers_dies_units_compute_balance(changes: dict[str, Any]) -> None:
    s = scenario(changes)
    p = plan(s)
    own = p.supply[p.supply["source_kind"] == "own"]
    # good dies = wafers × gross dies × yield (D0 = 0 in the base: yield 1, 143 dies)
    assert own["good_dies"].to_numpy() == pytest.approx(own["wafers"].to_numpy() * 143.0)
    # units never exceed the dies they are made from (one die per unit)
    assert (own["units"] <= own["good_dies"] + 1e-6).all()
    # PFLOP/s added = units × 1 PFLOP/s each
    assert own["pflops_added"].to_numpy() == pytest.approx(own["units"].to_numpy())
    # compute added per source matches what supply says arrives (lead times inside the horizon)
    comp = p.compute.groupby("source")["pflops_added"].sum()
    offers = p.supply[p.supply["source_kind"] == "offer"]
    shift_g = round(s.offers[0].lead_time_days / 365.25)
    arrived_g = offers.loc[offers["year"] + shift_g <= 2027, "pflops_added"].sum()
    assert comp.get("gpu", 0.0) == pytest.approx(arrived_g, abs=1e-4)
    shift_p = round(s.products[0].lead_time_days / 365.25)
    arrived_p = own.loc[own["year"] + shift_p <= 2027, "pflops_added"].sum()
    assert comp.get("acc", 0.0) == pytest.approx(arrived_p, abs=1e-4)
    # installed + unmet covers the demand in every period
    inst = p.compute.groupby("period")["pflops_installed"].sum()
    un = p.unmet.set_index("period")
    assert (
        inst.reindex(un.index).to_numpy() + un["unmet"].to_numpy() >= un["required"] - 1e-4
    ).all()
    # yearly cost in the summary equals the cost table
    total = sum(y["cost_usd"] for y in p.summary()["years"])
    assert total == pytest.approx(p.costs["cost_usd"].sum())
    if changes["discount_rate"] == 0.0:
        assert total == pytest.approx(p.objective_usd, rel=1e-6, abs=1e-3)


@SETTINGS
@given(small_scenarios(), st.floats(1e5, 5e7))
def test_relaxation_never_costs_more_than_milp(changes: dict[str, Any], capex: float) -> None:
    base = {**BASE, "sites": [*BASE["sites"], {**CANDIDATE, "capex_usd": capex}]}
    milp = plan(scenario(changes, base=base))
    lp = plan(scenario(changes, base=base), PlanOptions(relax=True))
    assert milp.model_size["binaries"] > 0
    # the objectives minimised (with an extension past the horizon, the reported cost of
    # the horizon is another number: docs/planner.md, "End of the horizon")
    assert lp.model_objective_usd is not None and milp.model_objective_usd is not None
    assert lp.model_objective_usd <= milp.model_objective_usd + _tol(milp.model_objective_usd)
    built = milp.builds["site"].tolist()
    assert built in ([], ["fab-b"])


def test_scenario_helper_is_valid() -> None:
    assert isinstance(scenario(), Scenario)
    assert np.isfinite(_cost({}))


TWO_COUNTRIES = {
    **BASE,
    "sites": [
        *BASE["sites"],
        {"id": "fab-us", "owner": "fabco", "country": "US", "processes": ["n3"],
         "capacity_wspm": {2025: 1}, "wafer_price_factor": 1.5},
    ],
}  # fmt: skip


@SETTINGS
@given(small_scenarios(), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_tighter_country_cap_never_costs_less(changes: dict[str, Any], a: float, b: float) -> None:
    loose, tight = max(a, b), min(a, b)
    c_loose = _cost({**changes, "policies.max_country_share.TW": loose}, base=TWO_COUNTRIES)
    c_tight = _cost({**changes, "policies.max_country_share.TW": tight}, base=TWO_COUNTRIES)
    assert c_tight >= c_loose - _tol(c_loose)
