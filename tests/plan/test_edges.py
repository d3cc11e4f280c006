"""The model's edges: the salvage value at the end of the horizon and build start periods."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from fabnet.plan import PlanOptions, plan
from fabnet.plan.sets import build_data, salvage_shares
from fabnet.scenario import Period
from tests.plan.helpers import BASE, DIES_400, scenario
from tests.plan.helpers import CANDIDATE as HAND_CANDIDATE

UNIT_USD = 10000 / DIES_400
GPU_USD = 30000.0
#: Demand only in the last year (2027); discounting at 10 % per year.
LAST_YEAR_ONLY = {
    "demand.compute.0.installed_pflops": {2025: 0, 2026: 0, 2027: 1000},
    "discount_rate": 0.1,
}


def test_salvage_credits_the_service_after_the_horizon_gpu() -> None:
    """1000 GPUs bought in 2027 serve 2027 and 2028. Paid for as an annuity over the two
    years, the 2028 payment (δ = 1.1^-3.5 against 1.1^-2.5 for 2027) is the salvage value:
    the share 1.1^-1 / (1 + 1.1^-1) = 1/2.1 of the price."""
    s = scenario(
        {**LAST_YEAR_ONLY, "sites.fab-a.capacity_wspm.2025": 0, "offers.gpu.service_life_years": 2}
    )
    paid = 1000 * GPU_USD * 1.1**-2.5
    full = plan(s, PlanOptions(terminal="none"))
    assert full.objective_usd == pytest.approx(paid, rel=1e-7)
    p = plan(s)
    assert p.objective_usd == pytest.approx(paid * (1 - 1 / 2.1), rel=1e-7)
    costs = p.costs.set_index(["year", "category"])["cost_pv_usd"]
    assert costs[(2027, "salvage")] == pytest.approx(-paid / 2.1, rel=1e-7)
    assert p.costs["cost_pv_usd"].sum() == pytest.approx(p.objective_usd, rel=1e-9)


def test_salvage_of_own_units_is_credited_on_their_wafers() -> None:
    """Own units made in 2027 (from 2027 wafers, no cycle time) live 3 years: 2027 inside,
    2028 and 2029 after. Salvage share = (q + q²) / (1 + q + q²), q = 1/1.1."""
    s = scenario({**LAST_YEAR_ONLY, "products.acc.service_life_years": 3})
    q = 1 / 1.1
    share = (q + q * q) / (1 + q + q * q)
    p = plan(s)
    assert p.objective_usd == pytest.approx(1000 * UNIT_USD * 1.1**-2.5 * (1 - share), rel=1e-7)
    assert p.supply["units"].sum() == pytest.approx(1000, rel=1e-7)


def test_no_salvage_in_the_model_for_units_that_serve_only_after_its_end() -> None:
    """In the model's objective a unit that enters service after its last period (the end of
    the extension) is credited nothing (in full it would be free and useless); in the plan's
    read-out, at the scenario's horizon, a unit that serves only after it is work in
    progress made for that service, credited in full."""
    s = scenario({"products.acc.lead_time_days": 400, "products.acc.service_life_years": 3})
    d = build_data(s)
    assert d.extension_years == 1 and d.labels == ["2025", "2026", "2027", "2028"]
    assert d.reported_periods == 3
    # no discounting: shares of service periods; 2025's units serve 2026-2028, inside
    model = salvage_shares(d)["units"][0]
    assert model == pytest.approx([0.0, 1 / 3, 2 / 3, 0.0])  # 2028's serve 2029-31: 0
    read = salvage_shares(d, d.reported_periods, wip=True)["units"][0]
    assert read[:3] == pytest.approx([1 / 3, 2 / 3, 1.0])  # 2027: serves 2028-30, all after


#: Two years, 2026-2027; logic wafers take a year (cycle time 365 days: one period), units
#: live one year, 10 % discounting; demand 1000 PFLOP/s in 2026 and 2000 from 2027.
TWO_YEARS = {
    "horizon.first_year": 2026,
    "discount_rate": 0.1,
    "processes.n3.cycle_time_days": 365,
    "demand.compute.0.installed_pflops": {2026: 1000, 2027: 2000},
}


def test_wafers_started_in_the_last_year_serve_after_it() -> None:
    """Hand-solved. The model runs to 2028 (one lead time past 2027), with 2027's demand
    (2000) held there. 2026 needs 1000 GPUs (no own unit can arrive: wafers take a year);
    2026 wafers make 2000 units for 2027 and 2027 wafers 2000 units for 2028. Before the
    extension no wafer was started in 2027 (its units arrived outside the model).

    The plan reports 2026-2027: the 2027 wafers serve only after the horizon, so they are
    work in progress credited in full as salvage; the horizon's cost is
    δ_2026 (1000 × 30 000 + 2000 × U) with δ_2026 = 1.1^-0.5, U = 10 000 / 143 USD."""
    s = scenario(TWO_YEARS)
    unit = 2000 * UNIT_USD
    p = plan(s)
    wafers = p.supply[p.supply["source_kind"] == "own"].groupby("period")["wafers"].sum()
    assert wafers.to_dict() == pytest.approx({"2026": 2000 / DIES_400, "2027": 2000 / DIES_400})
    assert p.objective_usd == pytest.approx(1.1**-0.5 * (1000 * GPU_USD + unit), rel=1e-7)
    costs = p.costs.set_index(["year", "category"])["cost_pv_usd"]
    assert costs[(2027, "salvage")] == pytest.approx(-unit * 1.1**-1.5, rel=1e-7)
    assert costs[(2027, "wafers")] == pytest.approx(unit * 1.1**-1.5, rel=1e-7)
    assert set(p.costs["year"]) == {2026, 2027} and set(p.supply["period"]) <= {"2026", "2027"}
    # without the terminal value the model ends in 2027 and starts no wafer then
    none = plan(s, PlanOptions(terminal="none"))
    w_none = none.supply[none.supply["source_kind"] == "own"].groupby("period")["wafers"].sum()
    assert w_none.get("2027", 0.0) == pytest.approx(0.0, abs=1e-9)
    assert none.objective_usd == pytest.approx(p.objective_usd, rel=1e-7)


#: the shared candidate at full capacity as soon as it is built
CANDIDATE = {**HAND_CANDIDATE, "ramp_years": 0}


def _with_candidate() -> dict[str, object]:
    base = copy.deepcopy(BASE)
    base["sites"].append(dict(CANDIDATE))  # type: ignore[attr-defined]
    return base


@pytest.mark.parametrize(
    ("period", "build_start", "starts"),
    [
        # a 1-year build must be online before 2028: starts 2025-01 .. 2026-12
        ("year", None, ["2025", "2026"]),
        ("quarter", None, ["2025Q1", "2026Q1"]),
        ("quarter", Period.quarter, [f"{y}Q{q}" for y in (2025, 2026) for q in range(1, 5)]),
        ("month", Period.quarter, [f"{y}-{m:02d}" for y in (2025, 2026) for m in (1, 4, 7, 10)]),
        ("month", Period.month, [f"{y}-{m:02d}" for y in (2025, 2026) for m in range(1, 13)]),
        ("year", Period.month, ["2025", "2026"]),  # never finer than the period
    ],
)
def test_build_start_periods(period: str, build_start: Period | None, starts: list[str]) -> None:
    s = scenario(base=_with_candidate())
    d = build_data(s, Period(period), build_start)
    allowed = [d.labels[t] for t in np.flatnonzero(d.cand_allowed[0])]
    assert allowed == starts


def test_a_build_may_start_in_any_quarter_on_request() -> None:
    """Quarterly, 10 % discounting: demand (1000 PFLOP/s at mid-2025 and mid-2026, 3000 at
    mid-2027, linear between) passes fab-a's fleet of 4 × 3 wafers × 143 = 1716 units in
    2026Q4 (mid 2026.875: 1750). The 1-year build then starts in 2025Q4, a quarter after
    the cheapest 1 January start (2025Q1, the default) would have paid its capex (and is
    cheaper). The MIP start from the yearly plan (2025) is feasible and improved on."""
    s = scenario(
        {
            "demand.compute.0.installed_pflops": {2025: 1000, 2026: 1000, 2027: 3000},
            "sites.fab-a.capacity_wspm.2025": 1,
            "discount_rate": 0.1,
        },
        base=_with_candidate(),
    )
    yearly = plan(s, PlanOptions(period=Period.quarter, mip_gap=0))
    any_q = plan(s, PlanOptions(period=Period.quarter, build_start=Period.quarter, mip_gap=0))
    assert list(yearly.builds["start_period"]) == ["2025Q1"]
    assert list(any_q.builds["start_period"]) == ["2025Q4"]
    assert any_q.objective_usd < yearly.objective_usd


def test_a_late_build_is_credited_the_life_it_has_left() -> None:
    """Hand-solved, no discounting: 1000 PFLOP/s only in 2027 and no existing fab. fab-b
    (capex 60 M USD, a year to build, 4 years of service life) started in 2026 serves
    2027-2030: 3 of its 4 years are after the horizon, so 3/4 of its capex is credited
    (straight line). Built, 2027 costs 60 M / 4 + 1000 units × U = 15.07 M USD; 1000 GPUs
    cost 30 M. Without the credit (``--terminal none``) the build does not pay."""
    s = scenario(
        {
            **LAST_YEAR_ONLY,
            "discount_rate": 0.0,
            "sites.fab-a.capacity_wspm.2025": 0,
            "sites.fab-b.capex_usd": 60e6,
            "sites.fab-b.service_life_years": 4,
        },
        base=_with_candidate(),
    )
    d = build_data(s)
    assert d.cand_salvage_share[0].tolist() == pytest.approx([0.5, 0.75, 1.0])
    p = plan(s, PlanOptions(mip_gap=0))
    assert list(p.builds["start_period"]) == ["2026"]
    assert p.objective_usd == pytest.approx(60e6 / 4 + 1000 * UNIT_USD, rel=1e-9)
    costs = p.costs.groupby("category")["cost_usd"].sum()
    assert costs["capex"] == pytest.approx(60e6) and costs["salvage"] == pytest.approx(-45e6)
    none = plan(s, PlanOptions(mip_gap=0, terminal="none"))
    assert none.builds.empty
    assert none.objective_usd == pytest.approx(1000 * GPU_USD, rel=1e-9)


def test_a_site_gives_no_capacity_after_its_life() -> None:
    """Half a year of life from first output (2027.0): half of 2027's capacity."""
    s = scenario({"sites.fab-b.service_life_years": 0.5}, base=_with_candidate())
    d = build_data(s)
    assert d.cand_ramp[0, 1].tolist() == pytest.approx([0.0, 0.0, 0.5])  # started 2026


def test_twin_candidates_are_built_in_order() -> None:
    """fab-c is fab-b with another id and a later earliest start: its twin. One fab is
    needed (no existing capacity, 2027 demand only); the plan builds fab-b, at the cost of
    a plan with fab-b alone (the order rows change no optimum)."""
    base = _with_candidate()
    base["sites"].append({**CANDIDATE, "id": "fab-c", "earliest_start_year": 2026})  # type: ignore[attr-defined]
    changes = {**LAST_YEAR_ONLY, "discount_rate": 0.0, "sites.fab-a.capacity_wspm.2025": 0}
    s = scenario(changes, base=base)
    d = build_data(s)
    assert d.cand_ids == ["fab-b", "fab-c"] and d.cand_twin.tolist() == [-1, 0]
    p = plan(s, PlanOptions(mip_gap=0))
    assert p.builds["site"].tolist() == ["fab-b"]
    alone = plan(scenario(changes, base=_with_candidate()), PlanOptions(mip_gap=0))
    assert p.objective_usd == pytest.approx(alone.objective_usd, rel=1e-9)
    # a different capex makes them no twins
    other = scenario({**changes, "sites.fab-c.capex_usd": 2.0e6}, base=base)
    assert build_data(other).cand_twin.tolist() == [-1, -1]
