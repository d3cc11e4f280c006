"""Regression on the built-in openai-2024 plan: its key outputs, recorded.

When a change to the model or to the scenario moves these numbers on purpose, update
them here and write the reason in the log below (newest first), so a reader can tell a
deliberate change from a regression.

Log:
- 2026-11-29, first recording (PLAN-MODEL): planner as in docs/planner.md, scenario at
  commit 5706923 ("OSAT 2025 capacity is the geometric mean it claims").
"""

from __future__ import annotations

import pytest

from fabnet.plan import Plan, plan
from fabnet.scenario import load_scenario


@pytest.fixture(scope="module")
def result() -> Plan:
    return plan(load_scenario("openai-2024"))


def test_status_and_cost(result: Plan) -> None:
    assert result.status == "optimal"
    assert result.mip_gap is not None and result.mip_gap <= 0.001 + 1e-9
    # the MILP stops within 0.1 %, so the recorded cost is matched to 0.2 %
    assert result.objective_usd == pytest.approx(4.0103e11, rel=2e-3)


def test_build_schedule(result: Plan) -> None:
    builds = {r.site: r.start_period for r in result.builds.itertuples()}
    assert builds == {
        "amkor-az": "2025",
        "tsmc-f21-p4": "2027",
        "skhynix-yongin-2": "2030",
        "tsmc-ap-tw-new": "2032",
        "micron-boise": "2032",
    }


def test_dependence_and_unmet(result: Plan) -> None:
    added = result.compute.groupby("vendor")["pflops_added"].sum()
    share = added / added.sum()
    assert share["openai"] == pytest.approx(0.888, abs=0.01)
    assert share["nvidia"] == pytest.approx(0.110, abs=0.01)
    unmet = result.unmet.groupby("kind")["unmet"].sum()
    # 2025 only: nothing ordered in the horizon arrives in time and GPUs are allocated
    assert unmet["compute"] == pytest.approx(50350, rel=1e-3)
    assert unmet["units"] == pytest.approx(0, abs=1)
    assert any(m.startswith("In 2025 up to 50.4 EFLOP/s") for m in result.messages)


def test_cost_breakdown(result: Plan) -> None:
    pv = result.costs.groupby("category")["cost_pv_usd"].sum() / 1e9
    expected = {
        "gpus": 112.9,
        "hbm": 99.0,
        "wafers": 65.9,
        "capex": 48.4,
        "packaging": 45.6,
        "assembly": 24.5,
        "unmet_penalty": 4.49,
        "porting": 0.17,
    }
    for cat, bn in expected.items():
        assert pv[cat] == pytest.approx(bn, rel=0.05, abs=0.05), cat
