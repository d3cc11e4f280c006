"""Hand-worked optima for the installed base, committed purchases, performance per process
and energy in the objective (docs/planner.md eqs. 11, 19, 20).

Base scenario (tests/plan/helpers.py): 143 good units per 10 000 USD wafer (69.93 USD per
unit and PFLOP/s), a GPU at 30 000 USD per PFLOP/s, demand 1000 PFLOP/s every year of
2025–2027, units live one year, no lead times, no discounting, no power.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fabnet.plan import PlanOptions, plan
from fabnet.scenario import Period
from tests.plan.helpers import BASE, DIES_400, scenario
from tests.plan.test_properties import SETTINGS, small_scenarios

UNIT_USD = 10000 / DIES_400
GPU_USD = 30000.0
HOURS = 365.25 * 24


def test_installed_base_meets_demand_and_is_not_new_compute() -> None:
    """600 and 300 PFLOP/s of GPUs already in service: own units make up 400, 700, 1000.

    The GPU vendor is capped at 0 % of new compute; the installed base is not new compute,
    so it still counts and nothing is unmet.
    """
    s = scenario(
        {
            "demand.compute.0.installed_base": [
                {"id": "old-gpus", "vendor": "gpuco", "pflops": {2025: 600, 2026: 300, 2027: 0}}
            ],
            "policies.max_vendor_share.gpuco": 0.0,
        }
    )
    p = plan(s)
    assert p.objective_usd == pytest.approx((400 + 700 + 1000) * UNIT_USD, rel=1e-7)
    assert p.unmet["unmet"].sum() == pytest.approx(0, abs=1e-6)
    inst = p.compute[p.compute["source"] == "old-gpus"].set_index("period")
    assert set(inst["source_kind"]) == {"installed"} and set(inst["vendor"]) == {"gpuco"}
    assert inst["pflops_installed"].to_list() == pytest.approx([600, 300, 0])
    assert inst["pflops_added"].sum() == 0
    shares = p.shares[(p.shares["kind"] == "vendor") & (p.shares["key"] == "gpuco")]
    assert shares["share"].to_list() == pytest.approx([0, 0, 0])
    years = {y["year"]: y["compute_pflops"] for y in p.summary()["years"]}
    assert years[2025] == pytest.approx({"acc": 400, "gpu": 0, "old-gpus": 600})


def test_installed_base_above_demand_leaves_nothing_to_make() -> None:
    s = scenario(
        {
            "demand.compute.0.installed_base": [
                {"id": "old", "vendor": "gpuco", "pflops": {2025: 1500, 2026: 1500, 2027: 0}}
            ]
        }
    )
    p = plan(s)
    assert p.objective_usd == pytest.approx(1000 * UNIT_USD, rel=1e-7)
    assert p.supply.groupby("year")["units"].sum().to_dict() == pytest.approx({2027: 1000})


def test_commitment_is_taken_when_the_cap_allows() -> None:
    """500 GPUs committed in 2026: they are paid for anyway, so the plan takes them and
    makes 500 own units fewer that year."""
    p = plan(scenario({"offers.gpu.min_units_per_year": {2026: 500}}))
    assert p.objective_usd == pytest.approx(500 * GPU_USD + 2500 * UNIT_USD, rel=1e-7)
    bought = p.supply[p.supply["source_kind"] == "offer"].set_index("period")["units"]
    assert bought.to_dict() == pytest.approx({"2026": 500})
    # one committed unit less saves a GPU and costs one own unit: 30 000 - 69.93 USD
    row = p.binding.set_index("policy").loc["min_units_per_year[gpu]"]
    assert row["year"] == 2026 and row["dual_usd"] == pytest.approx(GPU_USD - UNIT_USD, rel=1e-6)
    msg = next(m for m in p.messages if "commitment" in m)
    assert "The commitment to buy 500 gpu a year binds in 2026" in msg
    assert "would save up to 29.9 k USD" in msg


def test_commitment_above_the_vendor_cap_is_paid_but_not_taken() -> None:
    """A 25 % cap on gpuco: with g GPUs taken in 2026, own units must be ≥ 3 g and ≥ 1000 - g,
    cheapest at g = 250 and 750 own units; the other 250 committed units are paid, not taken.
    The commitment alone is 500 / (1000 + 250) = 40 % of the new compute of 2026."""
    s = scenario(
        {"offers.gpu.min_units_per_year": {2026: 500}, "policies.max_vendor_share.gpuco": 0.25}
    )
    p = plan(s)
    assert p.objective_usd == pytest.approx(500 * GPU_USD + 2750 * UNIT_USD, rel=1e-7)
    bought = p.supply[p.supply["source_kind"] == "offer"]["units"].sum()
    assert bought == pytest.approx(250, rel=1e-7)
    costs = p.costs.set_index(["year", "category"])["cost_usd"]
    assert costs[(2026, "gpus")] == pytest.approx(500 * GPU_USD, rel=1e-7)
    msg = next(m for m in p.messages if "commitment" in m)
    assert "The commitment to buy 500 gpu in 2026" in msg
    assert "alone is 40 % of the new compute arriving in 2026, above the 25 % cap on gpuco" in msg
    assert "250 units" in msg and "paid for and not taken" in msg
    assert "lower the commitment or raise the cap (to 40 % in 2026)" in msg


@pytest.mark.parametrize("period", ["quarter", "month"])
def test_commitment_and_energy_do_not_depend_on_the_period_length(period: str) -> None:
    """Units live one year and arrive at once: a year cut into quarters or months gives the
    yearly plan's cost, energy included, and the same commitment message."""
    s = scenario(
        {
            "offers.gpu.min_units_per_year": {2026: 500},
            "policies.max_vendor_share.gpuco": 0.25,
            "offers.gpu.power_w": 100,
            "products.acc.power_w": 300,
        }
    )
    # without the terminal value: a monthly unit made after January serves into the next
    # year, so its salvage value (test_edges.py) differs from the yearly plan's
    yearly = plan(s, PlanOptions(terminal="none"))
    finer = plan(s, PlanOptions(period=Period(period), terminal="none"))
    assert finer.objective_usd == pytest.approx(yearly.objective_usd, rel=1e-7)
    energy = [p.costs.groupby("category")["cost_usd"].sum()["energy"] for p in (yearly, finer)]
    assert energy[1] == pytest.approx(energy[0], rel=1e-9)
    assert [m for m in finer.messages if "commitment" in m] == [
        m for m in yearly.messages if "commitment" in m
    ]


def test_commitment_with_energy_costlier_than_it_saves_is_left_idle() -> None:
    """GPUs draw 1 kW at 10 USD/kWh (87 660 USD a year) against 69.93 USD for an own unit:
    the committed 500 GPUs are paid for and not run."""
    s = scenario(
        {
            "offers.gpu.min_units_per_year": {2026: 500},
            "offers.gpu.power_w": 1000,
            "electricity_usd_per_kwh": {2025: 10.0},
            "pue": 1.0,
        }
    )
    p = plan(s)
    assert p.objective_usd == pytest.approx(500 * GPU_USD + 3000 * UNIT_USD, rel=1e-7)
    assert any("more than the plan needs" in m for m in p.messages)


def _two_nodes(changes: dict[str, Any]) -> dict[str, Any]:
    """Base plus an N2-like process (6000 USD wafers, also 143 units) at a second fab."""
    base = copy.deepcopy(BASE)
    base["processes"].append({**base["processes"][0], "id": "n2", "wafer_price_usd": {2025: 6000}})
    base["sites"].append(
        {**base["sites"][0], "id": "fab-b", "processes": ["n2"], "capacity_wspm": {2025: 100}}
    )
    base["products"][0]["process_options"] = [{"process": "n3"}, {"process": "n2", **changes}]
    return base


def test_slower_port_is_used_only_for_what_the_native_node_cannot_make() -> None:
    """On n2 the unit gives 0.5 PF (83.9 USD per PF/s against 69.93 on n3). fab-a makes
    0.35 × 12 = 4.2 wafers a year (600.6 PF/s); n2 makes the other 399.4 PF/s from 798.8
    units, i.e. 798.8 / 143 wafers at 6000 USD."""
    base = _two_nodes({"pflops_bf16": 0.5})
    s = scenario({"sites.fab-a.capacity_wspm.2025": 0.35}, base=base)
    p = plan(s)
    per_year = 4.2 * 10000 + 798.8 / DIES_400 * 6000
    assert p.objective_usd == pytest.approx(3 * per_year, rel=1e-7)
    by = p.supply.groupby("process")[["units", "pflops_added"]].sum()
    assert by.loc["n3", "units"] == pytest.approx(3 * 600.6, rel=1e-7)
    assert by.loc["n2", "units"] == pytest.approx(3 * 798.8, rel=1e-7)
    assert by.loc["n2", "pflops_added"] == pytest.approx(3 * 399.4, rel=1e-7)
    assert set(p.compute.loc[p.compute["source_kind"] == "own", "source"]) == {"acc"}


def test_without_a_performance_override_the_cheaper_node_wins() -> None:
    p = plan(scenario(base=_two_nodes({})))
    assert p.objective_usd == pytest.approx(3000 * 6000 / DIES_400, rel=1e-7)
    assert set(p.supply["process"]) == {"n2"}


def test_energy_makes_the_efficient_gpu_cheaper() -> None:
    """At 4 USD/kWh and PUE 1.3 an own unit drawing 1 kW costs 45 583 USD a year to run;
    a 100 W GPU 4 558 USD: 30 000 + 4 558 < 69.93 + 45 583, so the plan buys GPUs."""
    changes = {
        "products.acc.power_w": 1000,
        "offers.gpu.power_w": 100,
        "electricity_usd_per_kwh": {2025: 4.0},
        "pue": 1.3,
    }
    p = plan(scenario(changes))
    gpu_energy = 0.1 * 1.3 * HOURS * 4.0
    assert p.objective_usd == pytest.approx(3000 * (GPU_USD + gpu_energy), rel=1e-7)
    energy = p.costs.groupby("category")["cost_usd"].sum()["energy"]
    assert energy == pytest.approx(3000 * gpu_energy, rel=1e-9)
    # at 0.08 USD/kWh the own unit is cheaper again, energy included
    p = plan(scenario({**changes, "electricity_usd_per_kwh": {2025: 0.08}}))
    own_energy = 1.0 * 1.3 * HOURS * 0.08
    assert p.objective_usd == pytest.approx(3000 * (UNIT_USD + own_energy), rel=1e-7)


def test_energy_uses_the_process_options_power_and_stops_at_the_horizon() -> None:
    """Units live 3 years; the n2 version draws 2 kW (the product 1 kW) at 1 USD/kWh, PUE 1.
    All 1000 units are made in 2025 on n3 (n2 is dearer to run: 17 532 vs 8 766 USD a year
    against 27.97 USD cheaper wafers per unit) and run three years."""
    base = _two_nodes({"power_w": 2000})
    base["products"][0]["service_life_years"] = 3
    base["products"][0]["power_w"] = 1000
    s = scenario({"electricity_usd_per_kwh": {2025: 1.0}, "pue": 1.0}, base=base)
    p = plan(s)
    assert p.objective_usd == pytest.approx(1000 * (UNIT_USD + 3 * HOURS), rel=1e-7)
    assert set(p.supply["process"]) == {"n3"}
    assert set(p.supply["period"]) == {"2025"}
    # demand only in 2027: the units made then run one year inside the horizon, and only
    # that year's electricity is counted
    s = scenario(
        {
            "electricity_usd_per_kwh": {2025: 1.0},
            "pue": 1.0,
            "demand.compute.0.installed_pflops": {2025: 0, 2026: 0, 2027: 1000},
        },
        base=base,
    )
    p = plan(s, PlanOptions(terminal="none"))  # no salvage of the two years after 2027
    assert p.objective_usd == pytest.approx(1000 * (UNIT_USD + HOURS), rel=1e-7)


# Properties (hypothesis, on the random scenarios of test_properties.py) -----------------


def _tol(a: float) -> float:
    return 1e-6 * max(1.0, abs(a)) + 1e-3


@SETTINGS
@given(small_scenarios(), st.floats(0, 2000), st.floats(0, 2000))
def test_an_installed_base_never_costs_more(changes: dict[str, Any], a: float, b: float) -> None:
    before = plan(scenario(changes)).objective_usd
    base = [{"id": "old", "vendor": "gpuco", "pflops": {2025: a, 2026: b, 2027: 0}}]
    after = plan(scenario({**changes, "demand.compute.0.installed_base": base})).objective_usd
    assert after <= before + _tol(before)


@SETTINGS
@given(small_scenarios(), st.floats(0, 3000), st.sampled_from([2025, 2026, 2027]))
def test_a_commitment_never_costs_less(changes: dict[str, Any], units: float, year: int) -> None:
    cap = changes["offers.gpu.max_units_per_year"][2025]
    commit = {year: min(units, cap)}
    before = plan(scenario(changes)).objective_usd
    after = plan(scenario({**changes, "offers.gpu.min_units_per_year": commit})).objective_usd
    assert after >= before - _tol(before)


@SETTINGS
@given(small_scenarios(), st.floats(0, 2000), st.floats(0, 2000), st.floats(0, 5))
def test_energy_in_the_cost_table_matches_the_objective(
    changes: dict[str, Any], w_own: float, w_gpu: float, price: float
) -> None:
    """Without discounting, the undiscounted cost table adds up to the objective, energy
    included (the objective charges each decision for its service periods; the table
    charges each period for the units in service)."""
    extra = {
        "products.acc.power_w": w_own,
        "offers.gpu.power_w": w_gpu,
        "electricity_usd_per_kwh": {2025: price},
        "discount_rate": 0.0,
    }
    p = plan(scenario({**changes, **extra}))
    assert p.costs["cost_usd"].sum() == pytest.approx(p.objective_usd, rel=1e-6, abs=1e-3)
