"""The plan's explanations, hand-checked: why-not entry prices, programme progress and the
diagnosis (docs/planner.md, "Why not", "Programmes" and "Diagnosis").

Base scenario (tests/plan/helpers.py): 143 good units of 1 PFLOP/s per 10 000 USD wafer,
a GPU at 30 000 USD per PFLOP/s, 1000 PFLOP/s in service every year, units live one year.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from fabnet.plan import plan, read_solution, solve_model
from tests.plan.helpers import BASE, DIES_400, scenario
from tests.plan.test_hand import GPU_USD, _with_candidate

UNIT_USD = 10000 / DIES_400


def _why(p: Any, kind: str, id_: str) -> Any:
    rows = p.why_not[(p.why_not["kind"] == kind) & (p.why_not["id"] == id_)]
    assert len(rows) == 1, p.why_not
    return rows.iloc[0]


def test_dearer_second_foundry_enters_at_the_cheaper_price() -> None:
    """fab-c charges 1.2 × the wafer price; fab-a has room for all. With discounting the
    reduced cost is 2000 USD × δ_t, so the undiscounted entry price is 10 000 USD."""
    fab_c = {**BASE["sites"][0], "id": "fab-c", "wafer_price_factor": 1.2}
    p = plan(scenario({"discount_rate": 0.1}, base={**BASE, "sites": [*BASE["sites"], fab_c]}))
    assert p.supply.loc[p.supply["site"] == "fab-c", "wafers"].sum() == 0
    row = _why(p, "site", "fab-c")
    assert row.current_usd == pytest.approx(12000, rel=1e-9)
    assert row.entry_price_usd == pytest.approx(10000, rel=1e-6)
    assert row.unit == "USD/wafer"
    assert not (p.why_not["id"] == "fab-a").any()  # used: not in the table
    js = p.summary()["why_not"]
    assert {"kind": "site", "id": "fab-c"}.items() <= js[0].items()
    assert js[0]["entry_price_usd"] == pytest.approx(10000, rel=1e-6)


def test_unused_offer_enters_at_the_own_unit_cost() -> None:
    """The GPU would enter at the cost of an own unit, 10 000 / 143 USD per PFLOP/s."""
    p = plan(scenario({"discount_rate": 0.1}))
    row = _why(p, "offer", "gpu")
    assert row.current_usd == pytest.approx(GPU_USD)
    assert row.entry_price_usd == pytest.approx(UNIT_USD, rel=1e-6)
    assert row.unit == "USD/unit"
    assert p.summary()["why_not"][0]["entry_price_usd"] == pytest.approx(UNIT_USD, rel=1e-6)


def test_unbuilt_candidate_entry_capex() -> None:
    """fab-b gives 3 wafers a year at full capacity (0.25 wspm): started in 2025 it is online
    in 2026 with a two-year ramp, 0.75 wafers in 2026 and 2.25 in 2027, each replacing 143
    GPUs for one wafer (4.28 M USD). Break-even capex (PV at 2025's midpoint, 10 %):
    4.28 M × (0.75 δ_2026 + 2.25 δ_2027) / δ_2025, below its 20 M USD capex."""
    pm = _with_candidate(
        {"sites.fab-b.capacity_wspm.2025": 0.25, "sites.fab-b.capex_usd": 2e7,
         "discount_rate": 0.1}
    )  # fmt: skip
    p = read_solution(solve_model(pm))
    assert p.builds.empty
    saving = 143 * GPU_USD - 10000
    d = [1.1 ** -(k + 0.5) for k in range(3)]
    expected = saving * (0.75 * d[1] + 2.25 * d[2]) / d[0]
    row = _why(p, "candidate", "fab-b")
    assert row.period == "2025"
    assert row.current_usd == pytest.approx(2e7)
    assert row.entry_cost_usd == pytest.approx(expected, rel=1e-6)
    js = next(r for r in p.summary()["why_not"] if r["id"] == "fab-b")
    assert js["entry_cost_usd"] == pytest.approx(expected, rel=1e-6)
    assert "entry_price_usd" not in js


def _programme_scenario(extra: dict[str, Any] | None = None, planned: bool = False) -> Any:
    """fab-a (existing) and candidates fab-b (production, cheap: built in 2025, online 2026)
    and fab-r (research) in programme ``cluster``: 2 new production and 1 new research fab
    by 2027 from 2025, 3 existing fabs. ``planned``: also fab-q, a planned research fab
    with capacity from 2027 (a research fab gives plans no capacity)."""
    from tests.plan.test_hand import CANDIDATE

    fab_a = {**BASE["sites"][0], "tags": ["cluster"]}
    fab_b = {**CANDIDATE, "tags": ["cluster"]}
    fab_r = {**CANDIDATE, "id": "fab-r", "purpose": "research", "tags": ["cluster"]}
    fab_q = {**BASE["sites"][0], "id": "fab-q", "status": "planned", "purpose": "research",
             "capacity_wspm": {2026: 0, 2027: 10}, "tags": ["cluster"]}  # fmt: skip
    base = {
        **BASE,
        "sites": [fab_a, fab_b, fab_r, *([fab_q] if planned else [])],
        "programmes": [
            {
                "id": "cluster",
                "name": "Cluster",
                "new_production_fabs": 2,
                "new_research_fabs": 1,
                "existing_fabs": 3,
                "start_year": 2025,
                "target_year": 2027,
            }
        ],
    }
    changes: dict[str, Any] = {
        "sites.fab-a.capacity_wspm.2025": 0,
        "demand.compute.0.installed_pflops": {2025: 0, 2026: 1000, 2027: 1000},
        **(extra or {}),
    }
    return scenario(changes, base=base)


def test_programme_built_against_a_linear_target() -> None:
    p = plan(_programme_scenario())
    assert list(p.builds["site"]) == ["fab-b"]
    pr = p.programmes.set_index(["kind", "year"])
    assert [pr.loc[("new_production", y), "built"] for y in (2025, 2026, 2027)] == [0, 1, 1]
    assert [pr.loc[("new_production", y), "target"] for y in (2025, 2026, 2027)] == (
        pytest.approx([2 / 3, 4 / 3, 2])
    )
    assert [pr.loc[("new_research", y), "built"] for y in (2025, 2026, 2027)] == [0, 0, 0]
    assert pr.loc[("new_research", 2027), "target"] == pytest.approx(1)
    assert [pr.loc[("existing", y), "built"] for y in (2025, 2026, 2027)] == [1, 1, 1]
    assert pr.loc[("existing", 2026), "target"] == 3
    js = [r for r in p.summary()["programmes"] if r["kind"] == "new_production"]
    assert js[1] == {
        "id": "cluster", "year": 2026, "kind": "new_production", "built": 1.0,
        "target": pytest.approx(4 / 3),
    }  # fmt: skip
    # the research fab gives no capacity: no price makes it pay, so it has no why-not row
    assert not (p.why_not["id"] == "fab-r").any()


def test_programme_minimum_forces_the_cheapest_fabs() -> None:
    """fab-b costs 100 M USD (the GPUs, 2 × 30 M USD, are cheaper), fab-r 1 M USD. One fab
    online by 2026: the research fab (1 M USD; GPUs still serve the demand). Two: both, and
    fab-b's wafers replace the GPUs."""
    from fabnet.errors import PlanError

    dear = {"sites.fab-b.capex_usd": 1e8}
    assert plan(_programme_scenario(dear)).builds.empty
    one = plan(_programme_scenario({**dear, "programmes.0.min_fabs_by_year": {2026: 1}}))
    assert list(one.builds["site"]) == ["fab-r"]
    assert one.objective_usd == pytest.approx(1e6 + 2000 * GPU_USD, rel=1e-7)
    two = plan(_programme_scenario({**dear, "programmes.0.min_fabs_by_year": {2026: 2}}))
    assert sorted(two.builds["site"]) == ["fab-b", "fab-r"]
    assert two.objective_usd == pytest.approx(1e8 + 1e6 + 2000 * UNIT_USD, rel=1e-7)
    built = two.programmes.set_index(["kind", "year"])["built"]
    assert built[("new_production", 2026)] + built[("new_research", 2026)] == 2
    with pytest.raises(PlanError, match=r"only 0 of its planned and candidate sites can be"):
        plan(_programme_scenario({"programmes.0.min_fabs_by_year": {2025: 1}}))


def test_planned_fabs_count_from_their_first_year_with_capacity() -> None:
    """fab-q (planned research, capacity from 2027) counts as a new research fab from 2027,
    and meets a minimum of one fab by 2027 alone (nothing is forced); two by 2027 force the
    cheaper candidate, the research fab fab-r (1 M USD)."""
    dear = {"sites.fab-b.capex_usd": 1e8}
    p = plan(_programme_scenario(dear, planned=True))
    pr = p.programmes.set_index(["kind", "year"])["built"]
    assert [pr[("new_research", y)] for y in (2025, 2026, 2027)] == [0, 0, 1]
    one = plan(_programme_scenario({**dear, "programmes.0.min_fabs_by_year": {2027: 1}},
                                   planned=True))  # fmt: skip
    assert one.builds.empty
    two = plan(_programme_scenario({**dear, "programmes.0.min_fabs_by_year": {2027: 2}},
                                   planned=True))  # fmt: skip
    assert list(two.builds["site"]) == ["fab-r"]


# Diagnosis ------------------------------------------------------------------------------


def test_earliest_arrival_counts_the_hbm_route() -> None:
    """HBM takes a year to make and the GPU is not for sale: the first units arrive in 2026
    because of the HBM (started in 2025), not for want of memory capacity."""
    from fabnet.scenario import load_scenario

    s = load_scenario(
        "toy",
        overrides=["processes.hbm3e.cycle_time_days=365", "offers.gpu.max_units_per_year.2025=0"],
    )
    p = plan(s)
    assert p.unmet.set_index("period")["unmet"]["2025"] == pytest.approx(1000)
    msg = next(m for m in p.messages if m.startswith("In 2025"))
    assert "no own accelerator arrives before 2026" in msg
    assert "HBM on hbm3e at mem-a from 2025 + 1 period(s)" in msg
    assert "sites at capacity" not in msg  # memory is not what holds 2025 back


def test_capex_budget_that_delays_a_build_binds_with_its_cost() -> None:
    """fab-b (1 M USD, built in one year, two-year ramp) pays in 2025 without a budget; a
    budget of 0.5 M USD in 2025 delays it to 2026, so 2026's 1000 PFLOP/s are GPUs:
    +1000 × (30 000 − 10 000/143) USD, undiscounted."""
    from fabnet.plan.diagnosis import budget_cost
    from fabnet.plan.readout import solution_arrays

    pm = solve_model(
        _with_candidate({"policies.capex_budget_usd_per_year": {2025: 5e5, 2026: 2e6}})
    )
    p = read_solution(pm)
    assert list(p.builds["start_period"]) == ["2026"]
    cost = 1000 * (GPU_USD - UNIT_USD)
    assert p.objective_usd == pytest.approx(1e6 + 1000 * GPU_USD + 1000 * UNIT_USD, rel=1e-7)
    bc = budget_cost(pm, solution_arrays(pm))
    assert bc is not None
    assert bc.cost_usd == pytest.approx(cost, rel=1e-6)
    assert bc.share == pytest.approx(cost / (1e6 + 2000 * UNIT_USD), rel=1e-6)
    assert bc.years == [2025]
    rows = p.binding[p.binding["policy"] == "capex_budget_usd_per_year"]
    assert list(rows["year"]) == [2025]
    msg = next(m for m in p.messages if "capital budget" in m)
    assert "binds in 2025" in msg and "29.9 M USD" in msg
    assert "with the budget: fab-b (2026); without: fab-b (2025)" in msg


def test_budget_that_changes_nothing_is_not_binding() -> None:
    pm = solve_model(_with_candidate({"policies.capex_budget_usd_per_year": {2025: 2e6}}))
    p = read_solution(pm)
    assert list(p.builds["start_period"]) == ["2025"]
    assert not any("capital budget" in m for m in p.messages)
    assert p.binding.empty


def test_savings_over_several_years_are_a_total() -> None:
    """A 50 % cap on Taiwan's logic wafers moves half of them to a US fab 20 % dearer in
    each of 2025–2027: the message sums the three years' savings and says so."""
    fab_u = {**BASE["sites"][0], "id": "fab-u", "country": "US", "wafer_price_factor": 1.2}
    s = scenario(
        {"policies.max_country_share.TW": 0.5},
        base={**BASE, "sites": [*BASE["sites"], fab_u]},
    )
    p = plan(s)
    rows = p.binding[p.binding["policy"] == "max_country_share[TW]"]
    assert list(rows["year"]) == [2025, 2026, 2027]
    total = float(rows["dual_usd"].sum())
    # one point of cap moves 1 % of the 1000/143 wafers a year back to Taiwan: 2000 USD each
    assert total == pytest.approx(3 * 0.01 * 1000 / DIES_400 * 2000, rel=1e-6)
    msg = next(m for m in p.messages if "logic wafers made in TW" in m)
    assert "in total over 2025–2027" in msg
    assert "in each of these years would save" in msg


def test_candidate_that_cannot_come_online_warns_and_has_no_shadow_price() -> None:
    """Starting in 2027 with a one-year build, fab-b would be online after the horizon."""
    p = read_solution(solve_model(_with_candidate({"sites.fab-b.earliest_start_year": 2027})))
    assert any("candidate site fab-b cannot come online within the horizon" in m
               for m in p.messages)  # fmt: skip
    sp = p.shadow_prices
    assert sp.loc[sp["site"] == "fab-b", "usd_per_wafer"].isna().all()
    # fab-a has no capacity in any year: no shadow price either
    assert sp.loc[sp["site"] == "fab-a", "usd_per_wafer"].isna().all()


def test_shadow_price_means_leave_out_periods_before_a_site_exists() -> None:
    """fab-a has capacity from 2026 only (half a wafer a month: every wafer is worth
    143 GPUs less its price); in 2025 it has no price, and the mean is over 2026–2027."""
    s = scenario({"sites.fab-a.capacity_wspm": {2025: 0, 2026: 0.5}})
    p = plan(s)
    sp = p.shadow_prices.set_index("period")["usd_per_wafer"]
    assert np.isnan(sp["2025"])
    assert sp[["2026", "2027"]].to_numpy() == pytest.approx([143 * GPU_USD - 10000] * 2)
    assert p.shadow_prices.groupby("site")["usd_per_wafer"].mean()["fab-a"] == pytest.approx(
        143 * GPU_USD - 10000
    )


def test_research_fab_note_once_per_scenario_not_per_plan(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.cli_runner import run_cli

    p = plan(_programme_scenario())
    assert not any("research fab" in m for m in p.messages)
    code, out, _ = run_cli(["scenario", "validate", "openai-2024"], capsys)
    assert code == 0
    assert out.count("research fab") == 1
    assert "samsung-giheung-r3 is a research fab" in out


def test_cli_json_and_tables_show_programmes_and_why_not(
    capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    """The toy with a programme over its two foundry sites; the GPU is left unused."""
    import json

    import yaml

    from fabnet.scenario.io import builtin_text
    from tests.cli_runner import run_cli

    data = yaml.safe_load(builtin_text("toy"))
    data["programmes"] = [
        {"id": "fabs", "name": "Fabs", "new_production_fabs": 1, "target_year": 2028}
    ]
    for site in data["sites"]:
        if site["id"] in ("fab-a", "fab-b"):
            site["tags"] = ["fabs"]
    path = tmp_path / "toy-prog.yaml"
    path.write_text(yaml.safe_dump(data), "utf-8")
    code, out, _ = run_cli(["plan", str(path), "--no-store", "--json"], capsys)
    assert code == 0
    js = json.loads(out)
    prog = [r for r in js["programmes"] if r["kind"] == "new_production"]
    assert [r["year"] for r in prog] == [2025, 2026, 2027, 2028]
    assert prog[-1]["target"] == pytest.approx(1.0)
    assert set(prog[0]) >= {"id", "year", "built", "target"}
    gpu = next(r for r in js["why_not"] if r["id"] == "gpu")
    assert gpu["kind"] == "offer" and gpu["unit"] == "USD/unit"
    assert 0 < gpu["entry_price_usd"] < 30000
    code, out, _ = run_cli(["plan", str(path), "--no-store"], capsys)
    assert code == 0
    assert "Programmes:" in out and "new prod." in out
    assert "Why not" in out and "gpu" in out


def test_site_no_product_can_use_has_no_entry_price() -> None:
    """A fab on a process no product has an option on: no price brings it in, and it says so."""
    n5 = {**BASE["processes"][0], "id": "n5"}
    fab_5 = {**BASE["sites"][0], "id": "fab-5", "processes": ["n5"]}
    base = {**BASE, "processes": [*BASE["processes"], n5], "sites": [*BASE["sites"], fab_5]}
    p = plan(scenario(base=base))
    row = _why(p, "site", "fab-5")
    assert np.isnan(row.entry_price_usd)
    assert "no product has a process option on n5" in row.detail
    assert p.why_not["kind"].tolist()[-1] == "site"  # rows with no price come last
    assert (
        p.summary()["why_not"][-1]["entry_price_usd"]
        != p.summary()["why_not"][-1]["entry_price_usd"]
    )  # NaN in the summary, null in --json
