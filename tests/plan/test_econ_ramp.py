"""Own-chip economics and ramps (issue 7 §1), worked out by hand on tiny scenarios.

Base scenario (tests/plan/helpers.py): 143 good units per wafer at 10 000 USD (69.93 USD
per PFLOP/s), a GPU at 30 000 USD per PFLOP/s, 1000 PFLOP/s in service every year of
2025-2027, units live one year, no discounting. Each test adds one feature:

* design partner: ``design_partner_markup`` on wafers (logic, HBM, packaging) and assembly;
* NRE: the process's ``tapeout_usd`` and the option's ``porting_cost_usd``, paid once;
* yield learning: ``d0_learning`` multiplies the process's D0 by years since first wafers;
* production ramp: ``max_units_per_year`` caps good units of all versions of a product;
* supplier share: ``policies.max_supplier_share`` caps the designer's wafers at a company's
  existing and planned sites per process kind, against their whole capacity;
* co-funding: a ``cofunded`` candidate costs the designer capex × its reservable share.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from fabnet.economics import economics_table
from fabnet.errors import ScenarioError
from fabnet.plan import plan
from tests.plan.helpers import BASE, CANDIDATE, DIES_400, scenario

UNIT_USD = 10000 / DIES_400
GPU_USD = 30000.0


def test_design_partner_markup_on_wafers_and_assembly() -> None:
    s = scenario(
        {"products.acc.design_partner_markup": 0.5, "products.acc.assembly_cost_usd": 10.0}
    )
    p = plan(s)
    making = 3000 * (UNIT_USD + 10.0)
    assert p.objective_usd == pytest.approx(1.5 * making, rel=1e-7)
    costs = p.costs.groupby("category")["cost_usd"].sum()
    assert costs["design_partner"] == pytest.approx(0.5 * making, rel=1e-7)
    assert costs["wafers"] == pytest.approx(3000 * UNIT_USD, rel=1e-7)
    assert costs["assembly"] == pytest.approx(3000 * 10.0, rel=1e-7)


def test_design_partner_markup_tips_the_choice_to_gpus() -> None:
    # own units cost 69.93 USD; a markup of 500 makes them 35 035 USD > 30 000 USD
    p = plan(scenario({"products.acc.design_partner_markup": 500.0}))
    assert p.objective_usd == pytest.approx(3000 * GPU_USD, rel=1e-7)
    assert p.supply[p.supply["source_kind"] == "own"]["units"].sum() == pytest.approx(0, abs=1e-6)


def test_tapeout_and_port_are_paid_once_and_not_twice() -> None:
    s = scenario(
        {"processes.n3.tapeout_usd": 1.0e6, "products.acc.process_options.0.porting_cost_usd": 2e6}
    )
    p = plan(s)
    assert p.objective_usd == pytest.approx(3000 * UNIT_USD + 3.0e6, rel=1e-7)
    costs = p.costs.set_index(["year", "category"])["cost_usd"]
    assert costs[(2025, "porting")] == pytest.approx(3.0e6)
    assert costs[(2026, "porting")] == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize(("tapeout", "own"), [(8.9e7, True), (9.0e7, False)])
def test_tapeout_against_its_break_even(tapeout: float, own: bool) -> None:
    """Own units save 3000 × (30 000 − 69.93) = 89.79 M USD over three years: a tape-out
    below that is worth paying, one above is not."""
    p = plan(scenario({"processes.n3.tapeout_usd": tapeout}))
    expected = 3000 * UNIT_USD + tapeout if own else 3000 * GPU_USD
    assert p.objective_usd == pytest.approx(expected, rel=1e-7)


def _learning_changes() -> dict[str, Any]:
    # Poisson at D0 0.25 per cm² on a 4 cm² die: yield e^-1; learning doubles D0 in the
    # first year of wafers (2025): yield e^-2 then
    return {
        "processes.n3.d0_per_cm2": {2025: 0.25},
        "products.acc.d0_learning": {0: 2.0, 1: 1.0},
        "products.acc.process_options.0.available_from_year": 2025,
    }


def test_yield_learning_raises_the_first_years_cost() -> None:
    p = plan(scenario(_learning_changes()))
    first = 1000 * 10000 / (DIES_400 * math.exp(-2.0))
    later = 2000 * 10000 / (DIES_400 * math.exp(-1.0))
    assert p.objective_usd == pytest.approx(first + later, rel=1e-7)
    wafers = p.supply.groupby("period")["wafers"].sum()
    assert wafers["2025"] == pytest.approx(1000 / (DIES_400 * math.exp(-2.0)), rel=1e-7)
    assert wafers["2026"] == pytest.approx(1000 / (DIES_400 * math.exp(-1.0)), rel=1e-7)


def test_yield_learning_in_the_economics_table() -> None:
    frame = economics_table(scenario(_learning_changes()), [2025, 2026, 2027])
    own = frame[frame["kind"] == "own"].set_index("year")
    assert own["d0_per_cm2"].to_dict() == pytest.approx({2025: 0.5, 2026: 0.25, 2027: 0.25})
    assert own.loc[2025, "die_yield"] == pytest.approx(math.exp(-2.0))


def test_yield_learning_counts_from_the_option_tape_out() -> None:
    """Learning starts at the option's first wafers (2026 here), not at the horizon."""
    changes = {**_learning_changes(), "products.acc.process_options.0.available_from_year": 2026}
    changes["demand.compute.0.installed_pflops"] = {2025: 0, 2026: 1000}
    p = plan(scenario(changes))
    first = 1000 * 10000 / (DIES_400 * math.exp(-2.0))  # 2026, the first year of wafers
    later = 1000 * 10000 / (DIES_400 * math.exp(-1.0))  # 2027
    assert p.objective_usd == pytest.approx(first + later, rel=1e-7)


def test_max_units_per_year_caps_the_ramp_and_gpus_fill_the_rest() -> None:
    # cap 400 units in 2025, 700 in 2026 (held in 2027)
    p = plan(scenario({"products.acc.max_units_per_year": {2025: 400, 2026: 700}}))
    assert p.objective_usd == pytest.approx(1800 * UNIT_USD + 1200 * GPU_USD, rel=1e-7)
    own = p.supply[p.supply["source_kind"] == "own"].groupby("period")["units"].sum()
    assert own.to_dict() == pytest.approx({"2025": 400, "2026": 700, "2027": 700})


def test_max_units_per_year_counts_every_version_of_the_product() -> None:
    """Two process options with their own performance are two versions; the cap covers both."""
    base = {
        **BASE,
        "processes": [
            *BASE["processes"],
            {**BASE["processes"][0], "id": "n5"},
        ],
        "sites": [{**BASE["sites"][0], "processes": ["n3", "n5"]}],
    }
    changes = {
        "products.acc.process_options": [
            {"process": "n3"},
            {"process": "n5", "pflops_bf16": 0.5},
        ],
        "products.acc.max_units_per_year": {2025: 400},
    }
    p = plan(scenario(changes, base=base))
    # n3 units give 1 PF each at the same wafer cost: all 400 units a year are n3 units
    assert p.objective_usd == pytest.approx(1200 * UNIT_USD + 1800 * GPU_USD, rel=1e-7)


def test_supplier_share_caps_wafers_against_whole_capacity() -> None:
    """fab-a has 1200 wafers a year, of which the designer may reserve half (600); a
    supplier share of 0.4 % allows 0.004 × 1200 = 4.8 wafers a year (686.4 units)."""
    s = scenario(
        {"sites.fab-a.reservable_share": 0.5, "policies.max_supplier_share": {"fabco": 0.004}}
    )
    p = plan(s)
    own = 4.8 * DIES_400
    assert p.objective_usd == pytest.approx(3 * (4.8 * 10000 + (1000 - own) * GPU_USD), rel=1e-7)
    wafers = p.utilisation.set_index("period")["used_wafers"]
    assert wafers.to_dict() == pytest.approx({"2025": 4.8, "2026": 4.8, "2027": 4.8})


def test_supplier_share_by_year_and_outside_for_a_candidate() -> None:
    cand = {**CANDIDATE, "build_years": 0, "ramp_years": 0}
    base = {**BASE, "sites": [*BASE["sites"], cand]}
    # a cap of 0 in 2025 rising to 0.004 in 2026 would leave 2025 to GPUs (30 M USD); the
    # candidate the designer builds (1 M USD) is outside the cap, so it is built at once
    s = scenario({"policies.max_supplier_share": {"fabco": {2025: 0.0, 2026: 0.004}}}, base=base)
    p = plan(s)
    assert p.objective_usd == pytest.approx(1.0e6 + 3000 * UNIT_USD, rel=1e-7)
    assert p.builds["start_period"].tolist() == ["2025"]
    used = p.utilisation.groupby(["site", "period"])["used_wafers"].sum()
    assert used[("fab-a", "2025")] == pytest.approx(0.0, abs=1e-6)


def test_cofunded_candidate_costs_its_reservable_share_of_capex() -> None:
    cand = {
        "id": "fab-b",
        "owner": "fabco",
        "country": "US",
        "processes": ["n3"],
        "capacity_wspm": {2025: 200},
        "status": "candidate",
        "capex_usd": 4.0e7,
        "build_years": 0,
        "earliest_start_year": 2025,
        "reservable_share": 0.25,
        "cofunded": True,
    }
    base = {**BASE, "sites": [*BASE["sites"], cand]}
    # without fab-a, own units need fab-b: 10 M USD (a quarter of 40 M) against 90 M of GPUs
    p = plan(scenario({"sites.fab-a.capacity_wspm.2025": 0}, base=base))
    assert p.objective_usd == pytest.approx(1.0e7 + 3000 * UNIT_USD, rel=1e-7)
    assert p.builds.iloc[0].capex_usd == pytest.approx(1.0e7)
    assert p.utilisation.set_index(["site", "period"])["capacity_wafers"][
        ("fab-b", "2025")
    ] == pytest.approx(200 * 12 * 0.25)
    # the same site paid in full (not co-funded) costs 40 M USD: still cheaper than GPUs
    full = plan(
        scenario({"sites.fab-a.capacity_wspm.2025": 0, "sites.fab-b.cofunded": False}, base=base)
    )
    assert full.objective_usd == pytest.approx(4.0e7 + 3000 * UNIT_USD, rel=1e-7)


# Validation of the new fields ---------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message", "field"),
    [
        (
            {"policies.max_supplier_share": {"fabcoo": 0.1}},
            "unknown company 'fabcoo'",
            "policies.max_supplier_share.fabcoo",
        ),
        (
            {"policies.max_supplier_share": {"gpuco": 0.1}},
            "company 'gpuco' runs no site",
            "policies.max_supplier_share.gpuco",
        ),
        (
            {"policies.max_supplier_share": {"fabco": 1.5}},
            "less than or equal to 1",
            "policies.max_supplier_share.fabco",
        ),
        (
            {"products.acc.max_units_per_year": {}},
            "max_units_per_year needs at least one",
            "products.acc",
        ),
        (
            {"products.acc.d0_learning": {0: -1.0}},
            "greater than 0",
            "products.acc.d0_learning.0",
        ),
        (
            {"products.acc.design_partner_markup": -0.1},
            "greater than or equal to 0",
            "products.acc.design_partner_markup",
        ),
        (
            {"sites.fab-a.cofunded": True},
            "cofunded is for candidate sites",
            "sites.fab-a",
        ),
        (
            {"processes.n3.tapeout_usd": -1.0},
            "greater than or equal to 0",
            "processes.n3.tapeout_usd",
        ),
    ],
)
def test_new_fields_are_validated(changes: dict[str, Any], message: str, field: str) -> None:
    with pytest.raises(ScenarioError) as info:
        scenario(changes)
    text = str(info.value)
    assert message in text, text
    assert field in text, text


def test_tapeout_on_a_packaging_process_is_rejected() -> None:
    base = {
        **BASE,
        "processes": [
            *BASE["processes"],
            {"id": "pk", "kind": "packaging", "owner": "fabco", "price_usd_per_wafer": {2025: 1.0},
             "tapeout_usd": 1.0e6},
        ],
    }  # fmt: skip
    with pytest.raises(ScenarioError) as info:
        scenario(base=base)
    assert "tapeout_usd is for logic processes, not packaging" in str(info.value)


def test_economics_table_shows_the_whole_stack() -> None:
    s = scenario(
        {
            "products.acc.design_partner_markup": 0.5,
            "products.acc.assembly_cost_usd": 10.0,
            "processes.n3.tapeout_usd": 1.0e6,
            "products.acc.process_options.0.porting_cost_usd": 2.0e6,
            "products.acc.max_units_per_year": {2025: 400, 2026: 700},
        }
    )
    frame = economics_table(s, [2025, 2026])
    own = frame[frame["kind"] == "own"].set_index("year")
    making = UNIT_USD + 10.0
    assert own.loc[2025, "manufacturing_cost_usd"] == pytest.approx(making)
    assert own.loc[2025, "design_partner_usd"] == pytest.approx(0.5 * making)
    assert own.loc[2025, "unit_cost_usd"] == pytest.approx(1.5 * making)
    assert own.loc[2025, "usd_per_pflops"] == pytest.approx(1.5 * making)
    assert own.loc[2025, "tapeout_usd"] == 1.0e6
    assert own.loc[2025, "porting_cost_usd"] == 2.0e6
    assert own["max_units_per_year"].to_dict() == {2025: 400.0, 2026: 700.0}
    gpu = frame[frame["kind"] == "offer"].set_index("year")
    assert gpu.loc[2025, "unit_cost_usd"] == GPU_USD


def test_economics_cli_shows_partner_and_nre(capsys: pytest.CaptureFixture[str]) -> None:
    """`fabnet economics openai-2024`: xpu1 in 2028 costs its making cost plus a 100 %
    design-partner markup, and the one-off NRE of each product and process is listed."""
    import json

    from tests.cli_runner import run_cli

    code, out, _ = run_cli(["economics", "openai-2024", "--json", "--year", "2028"], capsys)
    assert code == 0
    rows = {(r["id"], r["process"]): r for r in json.loads(out)}
    xpu1 = rows[("openai-xpu1", "tsmc-n3")]
    assert xpu1["design_partner_usd"] == pytest.approx(xpu1["manufacturing_cost_usd"])
    assert xpu1["unit_cost_usd"] == pytest.approx(2 * xpu1["manufacturing_cost_usd"])
    code, out, _ = run_cli(["economics", "openai-2024", "--year", "2028"], capsys)
    assert code == 0
    assert "openai-xpu2 @ tsmc-n2: tape-out 67 M + design port 50 M = 117 M USD" in out
