"""Planner optima worked out by hand on tiny scenarios (cost and decisions).

Base scenario (tests/plan/helpers.py): a 400 mm² die gives 143 gross dies on a
300 mm wafer (no edge exclusion) and D0 = 0, so 143 good units per wafer at 10 000 USD,
i.e. 10 000 / 143 = 69.93 USD per PFLOP/s; a GPU costs 30 000 USD per PFLOP/s.
Demand is 1000 PFLOP/s in service every year; units live one year.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from fabnet.plan import PlanModel, PlanOptions, build_model, plan, read_solution, solve_model
from fabnet.scenario import load_scenario
from tests.plan.helpers import CANDIDATE, DIES_400, scenario

UNIT_USD = 10000 / DIES_400  # own accelerator, USD per unit (= per PFLOP/s)
GPU_USD = 30000.0


def test_base_buys_only_own_units() -> None:
    p = plan(scenario())
    assert p.status == "optimal"
    assert p.objective_usd == pytest.approx(3 * 1000 * UNIT_USD, rel=1e-7)
    assert p.supply["source_kind"].eq("own").all()
    assert p.supply["units"].sum() == pytest.approx(3000, rel=1e-7)
    assert p.supply["wafers"].sum() == pytest.approx(3000 / DIES_400, rel=1e-7)
    assert p.unmet["unmet"].sum() == pytest.approx(0, abs=1e-6)
    assert p.messages == []


def test_gpu_only_with_discounting_at_period_midpoints() -> None:
    s = scenario({"sites.fab-a.capacity_wspm.2025": 0, "discount_rate": 0.1})
    p = plan(s)
    expected = 1000 * GPU_USD * sum(1.1 ** -(k + 0.5) for k in range(3))
    assert p.objective_usd == pytest.approx(expected, rel=1e-7)
    costs = p.costs.set_index(["year", "category"])
    assert costs.loc[(2026, "gpus"), "cost_usd"] == pytest.approx(3e7)
    assert costs.loc[(2026, "gpus"), "cost_pv_usd"] == pytest.approx(3e7 * 1.1**-1.5)


def test_toy_with_hbm_and_packaging() -> None:
    """Toy: 143 dies × exp(-0.4) Poisson yield, 4 stacks × 300 USD, 8000 USD / 20 packages;
    the fleet of 1000 + 2000 + 3000 + 4000 unit-years draws 500 W each at PUE 1.0 and
    0.10 USD/kWh (438.3 USD per unit-year). Without the terminal value (units live past
    the horizon; the salvage value is checked in test_edges.py)."""
    p = plan(load_scenario("toy"), PlanOptions(terminal="none"))
    per_unit = 20000 / (143 * math.exp(-0.4)) + 4 * 300 + 8000 / 20
    energy = 10000 * 0.5 * 1.0 * 8766 * 0.10
    assert p.objective_usd == pytest.approx(4000 * per_unit + energy, rel=1e-7)
    costs = p.costs.groupby("category")["cost_usd"].sum()
    assert costs["energy"] == pytest.approx(energy, rel=1e-9)
    assert p.builds.empty
    assert p.costs.loc[p.costs["category"] == "gpus", "cost_usd"].sum() == 0
    util = p.utilisation.set_index(["site", "period"])
    # HBM wafers = units × 4 stacks / 30 stacks per wafer; packaging wafers = units / 20
    hbm = util.xs("mem-a")["used_wafers"].sum()
    pack = util.xs("pack-a")["used_wafers"].sum()
    assert hbm == pytest.approx(4000 * 4 / 30, rel=1e-7)
    assert pack == pytest.approx(4000 / 20, rel=1e-7)


def test_vendor_cap_before_own_product_leaves_demand_unmet_and_says_why() -> None:
    s = scenario(
        {
            "policies.max_vendor_share.gpuco": 0.3,
            "products.acc.process_options.0.available_from_year": 2026,
        }
    )
    p = plan(s)
    unmet = p.unmet.set_index("period")["unmet"]
    assert unmet["2025"] == pytest.approx(1000)
    assert unmet["2026"] == pytest.approx(0, abs=1e-6)
    assert p.objective_usd == pytest.approx(1000 * 1e6 + 2000 * UNIT_USD, rel=1e-7)
    msg = next(m for m in p.messages if "cap of 30 % on gpuco" in m)
    assert "In 2025" in msg
    assert "1 EFLOP/s" in msg
    assert "no own accelerator arrives before 2026" in msg
    assert "raise the cap to 100 %" in msg
    assert (p.binding["policy"] == "max_vendor_share[gpuco]").any()


def test_allocation_limit_is_named_when_demand_is_unmet() -> None:
    s = scenario(
        {"sites.fab-a.capacity_wspm.2025": 0, "offers.gpu.max_units_per_year": {2025: 400}}
    )
    p = plan(s)
    assert p.unmet["unmet"].to_numpy() == pytest.approx([600, 600, 600])
    assert any("allocation limit: gpu" in m and "no policy binds" in m for m in p.messages)


def test_shadow_price_of_a_full_fab() -> None:
    """Half a wafer a month: 6 wafers a year make 858 units; 142 GPUs fill the rest.

    One more wafer saves 143 GPUs and costs one wafer: 143 × 30 000 - 10 000 USD.
    """
    s = scenario({"sites.fab-a.capacity_wspm.2025": 0.5, "discount_rate": 0.1})
    p = plan(s)
    sp = p.shadow_prices.set_index("period")["usd_per_wafer"]
    assert sp.to_numpy() == pytest.approx([143 * GPU_USD - 10000] * 3, rel=1e-6)
    assert (p.shadow_prices["source"] == "lp").all()
    util = p.utilisation["utilization"].to_numpy()
    assert util == pytest.approx([1.0, 1.0, 1.0])


def test_lead_time_shifts_arrival_by_whole_periods() -> None:
    s = scenario(
        {
            "products.acc.lead_time_days": 400,  # rounds to one yearly period
            "demand.compute.0.installed_pflops": {2025: 0, 2026: 1000, 2027: 1000},
        }
    )
    p = plan(s)
    made = p.supply.groupby("period")["units"].sum()
    # 2027's units serve 2028: the model runs a lead time past the horizon, with 2027's
    # demand held there (docs/planner.md, "End of the horizon")
    assert made.to_dict() == pytest.approx({"2025": 1000, "2026": 1000, "2027": 1000})
    comp = p.compute[p.compute["source"] == "acc"].set_index("period")
    assert comp["pflops_added"].to_dict() == pytest.approx({"2025": 0, "2026": 1000, "2027": 1000})


def _with_candidate(extra: dict[str, object] | None = None) -> PlanModel:
    from tests.plan.helpers import BASE

    base = {**BASE, "sites": [*BASE["sites"], CANDIDATE]}
    changes: dict[str, object] = {
        "sites.fab-a.capacity_wspm.2025": 0,
        "demand.compute.0.installed_pflops": {2025: 0, 2026: 1000, 2027: 1000},
        **(extra or {}),
    }
    return build_model(scenario(changes, base=base))


def test_candidate_is_built_once_with_ramp() -> None:
    pm = solve_model(_with_candidate())
    p = read_solution(pm)
    assert p.objective_usd == pytest.approx(1e6 + 2000 * UNIT_USD, rel=1e-7)
    b = p.builds.iloc[0]
    assert (b.site, b.start_period, b.online_period, b.full_period) == ("fab-b", "2025", "2026", "")
    assert b.capex_usd == pytest.approx(1e6)
    cap = p.utilisation[p.utilisation["site"] == "fab-b"].set_index("period")["capacity_wafers"]
    # online 2026-01-01, linear ramp over two years: mean 0.25 in 2026, 0.75 in 2027
    assert cap.to_dict() == pytest.approx({"2025": 0, "2026": 300, "2027": 900})
    # a start in 2027 would come online after the horizon: only 2025 and 2026 are decisions
    assert p.model_size["binaries"] == 2
    assert pm.dual_source == "lp_fixed_builds"
    assert p.summary()["builds"] == [
        {
            "site": "fab-b",
            "start_period": "2025",
            "online_period": "2026",
            "fraction": 1.0,
            "fractional": False,
        }
    ]


def test_capex_budget_rules_out_the_build_and_is_named() -> None:
    p = read_solution(
        solve_model(_with_candidate({"policies.capex_budget_usd_per_year": {2025: 5e5}}))
    )
    assert p.builds.empty
    assert p.objective_usd == pytest.approx(2000 * GPU_USD, rel=1e-7)
    # the GPUs are cheaper than the penalty, so nothing is unmet and no message is needed
    assert p.unmet["unmet"].sum() == pytest.approx(0, abs=1e-6)


def test_capex_budget_named_when_it_causes_unmet_demand() -> None:
    extra = {
        "policies.capex_budget_usd_per_year": {2025: 5e5},
        "offers.gpu.max_units_per_year": {2025: 100},
    }
    p = read_solution(solve_model(_with_candidate(extra)))
    assert any("capital budget" in m and "fab-b" in m for m in p.messages), p.messages


def test_relaxation_is_a_lower_bound() -> None:
    milp = read_solution(solve_model(_with_candidate({"sites.fab-b.capex_usd": 3e7})))
    pm = build_model(
        _with_candidate({"sites.fab-b.capex_usd": 3e7}).scenario, PlanOptions(relax=True)
    )
    lp = read_solution(solve_model(pm))
    assert lp.model_size["binaries"] == 0
    assert lp.objective_usd <= milp.objective_usd + 1e-6


def test_porting_pays_off_and_single_sourcing() -> None:
    from tests.plan.helpers import BASE

    base = {
        **BASE,
        "processes": [
            *BASE["processes"],
            {**BASE["processes"][0], "id": "n5", "wafer_price_usd": {2025: 11000}},
        ],
        "sites": [
            *BASE["sites"],
            {"id": "fab-c", "owner": "fabco", "country": "TW", "processes": ["n5"],
             "capacity_wspm": {2025: 100}},
        ],
        "products": [
            {**BASE["products"][0],
             "process_options": [{"process": "n3"}, {"process": "n5", "porting_cost_usd": 1e6}]},
        ],
    }  # fmt: skip
    small = {"sites.fab-a.capacity_wspm.2025": 0.5}
    p = plan(scenario(small, base=base))
    # 6 wafers a year on n3 make 858 units; the other 142 a year come from n5 after porting
    n5_unit = 11000 / DIES_400
    assert p.objective_usd == pytest.approx(1e6 + 3 * (858 * UNIT_USD + 142 * n5_unit), rel=1e-7)
    assert p.costs.loc[p.costs["category"] == "porting", "cost_usd"].sum() == pytest.approx(1e6)
    assert set(p.supply["process"]) == {"n3", "n5"}
    single = plan(scenario({**small, "policies.allow_multi_sourcing": False}, base=base))
    assert set(single.supply["process"]) == {"n5"}
    assert single.objective_usd == pytest.approx(1e6 + 3000 * n5_unit, rel=1e-7)
    costly = plan(
        scenario({**small, "products.acc.process_options.1.porting_cost_usd": 2e7}, base=base)
    )
    assert set(costly.supply.loc[costly.supply["source_kind"] == "own", "process"]) == {"n3"}
    assert costly.objective_usd == pytest.approx(3 * (858 * UNIT_USD + 142 * GPU_USD), rel=1e-7)


def test_country_cap_moves_wafers_to_a_dearer_site() -> None:
    from tests.plan.helpers import BASE

    base = {
        **BASE,
        "sites": [
            *BASE["sites"],
            {"id": "fab-us", "owner": "fabco", "country": "US", "processes": ["n3"],
             "capacity_wspm": {2025: 100}, "wafer_price_factor": 1.5},
        ],
    }  # fmt: skip
    p = plan(scenario({"policies.max_country_share.TW": 0.6}, base=base))
    w = 3000 / DIES_400
    assert p.objective_usd == pytest.approx(w * (0.6 * 10000 + 0.4 * 15000), rel=1e-7)
    tw = p.shares[(p.shares["kind"] == "country") & (p.shares["key"] == "TW")]
    assert tw["share"].to_numpy() == pytest.approx([0.6] * 3)
    assert tw["cap"].to_numpy() == pytest.approx([0.6] * 3)
    assert any("logic wafers made in TW" in m for m in p.messages)


def test_unit_demand_is_delivered_and_not_counted_as_compute() -> None:
    from tests.plan.helpers import BASE

    base = {
        **BASE,
        "products": [
            *BASE["products"],
            {"id": "soc", "kind": "soc", "designer": "acme", "die_area_mm2": 100,
             "process_options": [{"process": "n3"}], "lead_time_days": 0},
        ],
        "demand": {**BASE["demand"], "units": [
            {"id": "phone", "product": "soc", "units_per_year": {2025: 1.0e5}}]},
    }  # fmt: skip
    p = plan(scenario(base=base))
    un = p.unmet[p.unmet["kind"] == "units"]
    assert un["delivered"].to_numpy() == pytest.approx([1e5] * 3)
    assert "soc" not in set(p.compute["source"])
    soc = p.supply[p.supply["source"] == "soc"]
    assert soc["units"].sum() == pytest.approx(3e5, rel=1e-7)


def test_extra_functionality_hook_adds_a_user_constraint() -> None:
    def force_gpus(pm: PlanModel) -> None:
        g = pm.model.variables["Offer-units"]
        pm.model.add_constraints(g.sel(offer="gpu", period="2025") >= 100, name="user-gpus")

    p = plan(scenario(), extra_functionality=force_gpus)
    assert p.objective_usd == pytest.approx(3000 * UNIT_USD + 100 * (GPU_USD - UNIT_USD), rel=1e-7)


def test_quarterly_periods_match_yearly_cost_without_discounting() -> None:
    p = plan(scenario(), PlanOptions(period=None))
    q = plan(scenario({"horizon.period": "quarter"}))
    assert len(q.utilisation) == 12
    assert q.objective_usd == pytest.approx(p.objective_usd, rel=1e-7)
    assert q.unmet["period"].iloc[0] == "2025Q1"
    assert np.isclose(q.unmet["unmet"].sum(), 0.0)


def test_contradicting_policies_are_named_together() -> None:
    """All own wafers are made in TW; a 50 % TW cap forbids them, a 20 % GPU cap the GPUs."""
    p = plan(
        scenario({"policies.max_vendor_share.gpuco": 0.2, "policies.max_country_share.TW": 0.5})
    )
    assert p.unmet["unmet"].to_numpy() == pytest.approx([1000, 1000, 1000])
    (msg,) = p.messages
    assert msg.startswith("In 2025–2027 the cap of 20 % on gpuco")
    assert "the cap of 50 % on logic wafers made in TW binds" in msg
    assert "raise the cap to 100 %" in msg


def test_nothing_to_plan_is_a_user_error() -> None:
    from fabnet.errors import PlanError
    from tests.plan.helpers import BASE

    with pytest.raises(PlanError, match="nothing to plan"):
        plan(scenario(base={**BASE, "products": [], "offers": [], "demand": {}}))


def test_vendor_caps_that_add_up_to_less_than_all_are_explained() -> None:
    p = plan(
        scenario({"policies.max_vendor_share.gpuco": 0.2, "policies.max_vendor_share.acme": 0.5})
    )
    assert p.unmet["unmet"].to_numpy() == pytest.approx([1000, 1000, 1000])
    (msg,) = p.messages
    assert "the vendor caps add up to only 70 % (acme 50 %, gpuco 20 %)" in msg
    assert "at least 100 %" in msg
