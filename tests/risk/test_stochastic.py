"""Two-stage stochastic planning worked out by hand on the planner's toy (tests/plan/helpers.py).

Toy: 1000 PFLOP/s a year in 2025–2027 from own units (UNIT_USD per PFLOP/s from fab-a) or
GPUs (30 000 USD per PFLOP/s), no discounting. A candidate fab ``fab-b`` (no build time,
capex K) can replace fab-a. A disruption takes fab-a out for some periods from period 0;
without fab-b those years go to GPUs, so the build pays only under the disruption.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from fabnet.plan import PlanOptions, plan
from fabnet.risk.effects import Effects
from fabnet.risk.recourse import FirstStage, Recourse, RecourseSpec, anticipative
from fabnet.risk.stats import var_cvar
from fabnet.risk.stochastic import (
    ExtensiveForm,
    RiskMeasure,
    StochasticOptions,
    solve_extensive,
    stochastic_plan,
)
from fabnet.scenario import load_scenario
from fabnet.scenario.schema import Scenario
from fabnet.store import Store
from tests.cli_runner import run_cli
from tests.plan.helpers import BASE, DIES_400, scenario
from tests.risk.test_run import CATALOGUE, TOY

UNIT_USD = 10000 / DIES_400
GPU_USD = 30000.0
#: extra cost of one year of fab-a lost: 1000 PFLOP/s of GPUs instead of own units
LOSS_USD = 1000 * (GPU_USD - UNIT_USD)


def _toy(capex_usd: float) -> Scenario:
    cand = {
        "id": "fab-b",
        "owner": "fabco",
        "country": "US",
        "processes": ["n3"],
        "capacity_wspm": {2025: 100},
        "status": "candidate",
        "capex_usd": capex_usd,
        "build_years": 0,
        "earliest_start_year": 2025,
    }
    return scenario(base={**BASE, "sites": [*BASE["sites"], cand]})


def _fab_a_out(sc: Scenario, periods: int) -> Effects:
    """fab-a out for the first ``periods`` periods (none: the undisturbed world)."""
    ef = ExtensiveForm(sc, PlanOptions(), [_none(sc)])
    d = ef.layout.data
    eff = ef.layout.none()
    cap = eff.site_capacity.copy()
    cap[d.site_ids.index("fab-a"), :periods] = 0.0
    return replace(eff, site_capacity=cap, first_period=0 if periods else d.n_periods)


def _none(sc: Scenario) -> Effects:
    from fabnet.plan import build_model

    d = build_model(sc).data
    return Effects.none(
        len(d.site_ids),
        len(d.route_ids),
        len(d.offer_ids),
        len(d.compute_ids),
        len(d.unit_ids),
        d.n_periods,
    )


def test_two_scenarios_expected_cost_vss_and_evpi() -> None:
    """p = ½ each: normal, or fab-a out for the whole horizon. K = 10 M USD."""
    K = 1.0e7
    sc = _toy(K)
    normal, out = _fab_a_out(sc, 0), _fab_a_out(sc, 3)
    own = 3000 * UNIT_USD
    rp = solve_extensive(sc, PlanOptions(), [normal, out])
    assert rp.status == "optimal"
    assert [b[0] for b in rp.first_stage.builds] == ["fab-b"]
    assert rp.first_stage.builds[0][1] == "2025"
    assert rp.scenario_cost_usd == pytest.approx([K + own, K + own], rel=1e-9)
    assert rp.expected_cost_usd == pytest.approx(K + own, rel=1e-9)
    assert rp.objective_usd == pytest.approx(K + own, rel=1e-9)
    # the deterministic plan builds nothing; on the two scenarios it costs (EEV)
    det = plan(sc)
    assert len(det.builds) == 0
    eev = solve_extensive(sc, PlanOptions(), [normal, out], fixed=FirstStage())
    assert eev.scenario_cost_usd == pytest.approx([own, own + 3 * LOSS_USD], rel=1e-9)
    assert eev.expected_cost_usd == pytest.approx(own + 1.5 * LOSS_USD, rel=1e-9)
    # wait and see: each scenario with its own first stage
    ws = [solve_extensive(sc, PlanOptions(), [e]).scenario_cost_usd[0] for e in (normal, out)]
    assert ws == pytest.approx([own, K + own], rel=1e-9)
    vss = eev.expected_cost_usd - rp.expected_cost_usd
    evpi = rp.expected_cost_usd - float(np.mean(ws))
    assert vss == pytest.approx(1.5 * LOSS_USD - K, rel=1e-9)
    assert evpi == pytest.approx(K / 2, rel=1e-9)
    # the whole pipeline gives the same figures
    opts = StochasticOptions(scenarios=2)
    res = stochastic_plan(sc, PlanOptions(), opts, workers=1, effects=[normal, out])
    s = res.summary()
    assert s["vss_usd"] == pytest.approx(1.5 * LOSS_USD - K, rel=1e-9)
    assert s["evpi_usd"] == pytest.approx(K / 2, rel=1e-9)
    assert s["expected_cost_usd"] == pytest.approx(K + own, rel=1e-9)
    assert s["first_stage"]["builds"][0]["site"] == "fab-b"
    # the stored view: the stochastic first stage in the undisturbed world
    assert res.plan.builds["site"].tolist() == ["fab-b"]
    assert res.plan.objective_usd == pytest.approx(K + own, rel=1e-9)


def _four(sc: Scenario) -> list[Effects]:
    return [_fab_a_out(sc, k) for k in range(4)]


@pytest.mark.parametrize("alpha", [0.6, 0.75])
def test_cvar_term_is_the_cvar_of_the_scenario_costs(alpha: float) -> None:
    sc = _toy(5.0e7)
    for w in (0.3, 1.0):
        s = solve_extensive(sc, PlanOptions(), _four(sc), measure=RiskMeasure(w, alpha))
        _, cvar = var_cvar(s.scenario_cost_usd, alpha)
        assert s.cvar_term_usd == pytest.approx(cvar, rel=1e-9)
        assert s.objective_usd == pytest.approx((1 - w) * s.expected_cost_usd + w * cvar, rel=1e-9)


def test_risk_aversion_zero_is_risk_neutral_and_one_never_raises_cvar() -> None:
    """Four scenarios, fab-a out 0–3 years; K = 50 M USD > E[loss] = 1.5 years ≈ 44.9 M
    USD, so the risk-neutral plan does not build; the worst case (3 years, 89.8 M) does."""
    K = 5.0e7
    sc = _toy(K)
    eff = _four(sc)
    own = 3000 * UNIT_USD
    neutral = solve_extensive(sc, PlanOptions(), eff)
    zero = solve_extensive(sc, PlanOptions(), eff, measure=RiskMeasure(0.0, 0.75))
    assert neutral.first_stage == zero.first_stage == FirstStage((), ())
    assert zero.expected_cost_usd == pytest.approx(own + 1.5 * LOSS_USD, rel=1e-9)
    assert zero.objective_usd == pytest.approx(neutral.objective_usd, rel=1e-12)
    cvars, means = [], []
    for w in (0.0, 0.25, 0.5, 0.75, 1.0):
        s = solve_extensive(sc, PlanOptions(), eff, measure=RiskMeasure(w, 0.75))
        cvars.append(s.cvar_cost_usd(0.75))
        means.append(s.expected_cost_usd)
    assert all(b <= a * (1 + 1e-9) for a, b in itertools.pairwise(cvars))
    assert all(b >= a * (1 - 1e-9) for a, b in itertools.pairwise(means))
    assert cvars[0] == pytest.approx(own + 3 * LOSS_USD, rel=1e-9)
    assert cvars[-1] == pytest.approx(K + own, rel=1e-9)


def test_unmet_cvar_cap() -> None:
    """GPUs limited to 400 a year: with fab-a out, 600 PFLOP/s go unmet unless fab-b is
    built. The penalty (1e6 USD per PFLOP/s-year) is below the capex, so only a cap on the
    CVaR of unmet compute makes the plan build."""
    cand_capex = 1.0e10
    sc = _toy(cand_capex)
    from fabnet.scenario.io import Source, apply_overrides, validate_source

    src = apply_overrides(
        Source(name="<test>", data=sc.model_dump(mode="json", exclude_none=True)),
        {"offers.gpu.max_units_per_year": {2025: 400}},
        "test",
    )
    sc = validate_source(src)
    eff = [_fab_a_out(sc, 0), _fab_a_out(sc, 3)]
    free = solve_extensive(sc, PlanOptions(), eff)
    assert free.first_stage.builds == ()
    assert free.cvar_unmet_pflops(0.5) == pytest.approx(600.0, rel=1e-9)
    capped = solve_extensive(
        sc, PlanOptions(), eff, measure=RiskMeasure(0.0, 0.5, unmet_cvar_cap_pflops=100.0)
    )
    assert [b[0] for b in capped.first_stage.builds] == ["fab-b"]
    assert capped.cvar_unmet_pflops(0.5) <= 100.0 + 1e-6


@pytest.mark.parametrize("name", ["hand", "toy"])
def test_one_undisturbed_scenario_is_the_deterministic_plan(name: str) -> None:
    sc = _toy(1.0e7) if name == "hand" else load_scenario("toy")
    for opts in (PlanOptions(), PlanOptions(relax=True)):
        det = plan(sc, opts)
        s = solve_extensive(sc, opts, [_none(sc)])
        assert s.objective_usd == pytest.approx(det.objective_usd, rel=1e-6)
        assert s.scenario_cost_usd[0] == pytest.approx(det.objective_usd, rel=1e-6)


def test_anticipative_recourse_equals_the_scenario_block() -> None:
    """The risk engine in anticipative mode prices a first stage on a scenario exactly as
    the extensive form's block does (like-for-like in-sample / out-of-sample)."""
    sc = _toy(1.0e7)
    eff = _fab_a_out(sc, 2)
    fs = FirstStage()
    block = solve_extensive(sc, PlanOptions(), [eff], fixed=fs)
    rec = Recourse(RecourseSpec(sc, PlanOptions(), fs))
    assert rec.evaluate(anticipative(eff)).cost_pv_usd == pytest.approx(
        block.scenario_cost_usd[0], rel=1e-9
    )
    assert block.scenario_cost_usd[0] == pytest.approx(3000 * UNIT_USD + 2 * LOSS_USD, rel=1e-9)


def test_cli_stochastic_plan_json_store_and_risk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toy = tmp_path / "toy-risk.yaml"
    head, tail = TOY.read_text(encoding="utf-8").split("variants:", 1)
    toy.write_text(head + CATALOGUE.lstrip() + "variants:" + tail, encoding="utf-8")
    store = tmp_path / "runs.duckdb"
    code, out, err = run_cli(
        ["plan", str(toy), "--stochastic", "6", "--seed", "1", "--risk-aversion", "0.5",
         "--oos-samples", "20", "--workers", "1", "--json", "--store", str(store)],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    obj = json.loads(out)
    st = obj["stochastic"]
    for key in ("scenarios", "risk_aversion", "expected_cost_usd", "cvar95_cost_usd",
                "vss_usd", "evpi_usd", "first_stage", "out_of_sample"):  # fmt: skip
        assert key in st, key
    assert st["scenarios"] == 6 and st["risk_aversion"] == 0.5
    assert st["vss_usd"] >= -1e-6 * abs(st["rp_usd"])  # RP ≤ EEV (the gap allows a little)
    assert st["evpi_usd"] >= -1e-6 * abs(st["rp_usd"])  # WS ≤ RP
    # the textbook mean-value problem's first stage is no better than the optimum either
    assert st["mean_value"]["vss_usd"] >= -1e-6 * abs(st["rp_usd"])
    rec = Store(store, create=False).load_run(obj["run_id"])
    assert rec.kind == "plan" and rec.options["stochastic"]["scenarios"] == 6
    assert sorted(rec.table("builds")["site"]) == sorted(
        b["site"] for b in st["first_stage"]["builds"]
    )
    # the stored stochastic plan is a plan the risk engine can evaluate
    code, out, err = run_cli(
        ["risk", obj["run_id"], "--samples", "5", "--workers", "1", "--json", "--store",
         str(store)],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["plan_run_id"] == obj["run_id"]
    # its report shows what hedging buys and the first stage beside the deterministic one
    code, _out, err = run_cli(
        ["report", obj["run_id"], "-o", str(tmp_path / "sto.html"), "--store", str(store)], capsys
    )
    assert code == 0, err
    page = (tmp_path / "sto.html").read_text(encoding="utf-8")
    assert "Stochastic plan: what hedging buys" in page and "VSS = EEV" in page
    assert "First stage: deterministic vs stochastic" in page
    # the terminal view: measures and the first-stage table
    code, out, err = run_cli(
        ["plan", str(toy), "--stochastic", "3", "--oos-samples", "0", "--no-evpi",
         "--workers", "1", "--no-store"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "VSS" in out and "First stage" in out
    code, _out, err = run_cli(["plan", str(toy), "--stochastic", "3", "--risk-aversion", "2"],
                              capsys)  # fmt: skip
    assert code == 2 and "--risk-aversion" in err
    # a scenario without a catalogue has nothing to hedge against: said, not planned
    for cmd in (["plan", "toy", "--stochastic", "3"], ["frontier", "toy", "--points", "2"]):
        code, _out, err = run_cli([*cmd, "--workers", "1", "--no-store"], capsys)
        assert code == 2 and "no disruption catalogue" in err, (cmd, err)


def test_hedged_plan_has_lower_out_of_sample_cvar() -> None:
    """The hand toy with fab-a just large enough (0.6 wafers a month: 7.2 a year for the 7
    needed) and a fire catalogue at fab-a (about one fire every two years, out for a
    year): fab-b (10 M USD) pays for itself under fires, so the stochastic plan builds
    it and its out-of-sample CVaR95 of cost (fresh samples) is strictly below the
    deterministic plan's, which builds nothing."""
    base = {
        **_toy(1.0e7).model_dump(mode="json", exclude_none=True),
        "disruptions": [
            {
                "id": "fire",
                "kind": "fire",
                "rate_per_year": 0.5,
                "hits": {"sites": ["fab-a"]},
                "capacity_loss": 1.0,
                "recovery": [[0, 0], [365, 0], [366, 1]],
            }
        ],
    }
    sc = scenario({"sites.fab-a.capacity_wspm.2025": 0.6}, base=base)
    res = stochastic_plan(
        sc, PlanOptions(), StochasticOptions(scenarios=20, seed=3, oos_samples=200), workers=1
    )
    s = res.summary()
    assert s["deterministic"]["first_stage"]["builds"] == []
    assert [b["site"] for b in s["first_stage"]["builds"]] == ["fab-b"]
    oos = s["out_of_sample"]
    assert (
        oos["stochastic"]["recourse_cvar95_cost_usd"]
        < oos["deterministic"]["recourse_cvar95_cost_usd"]
    )
    assert s["vss_usd"] > 0


def test_cli_frontier_stores_one_run_per_point(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toy = tmp_path / "toy-risk.yaml"
    head, tail = TOY.read_text(encoding="utf-8").split("variants:", 1)
    toy.write_text(head + CATALOGUE.lstrip() + "variants:" + tail, encoding="utf-8")
    store = tmp_path / "runs.duckdb"
    code, out, err = run_cli(
        ["frontier", str(toy), "--points", "3", "--stochastic", "4", "--cvar-alpha", "0.75",
         "--workers", "1", "--json", "--store", str(store), "--report",
         str(tmp_path / "frontier.html")],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    pts = json.loads(out)
    assert [p["risk_aversion"] for p in pts] == [0.0, 0.5, 1.0]
    for p in pts:
        for key in ("expected_cost_usd", "cvar95_unmet_pflops", "run_id", "first_stage"):
            assert key in p, key
    # more weight on the tail never lowers the expected cost of the optimum (same scenarios)
    costs = [p["expected_cost_usd"] for p in pts]
    assert all(b >= a * (1 - 1e-6) for a, b in itertools.pairwise(costs))
    runs = Store(store, create=False).list_runs(kind="plan")
    assert len(runs) == 3
    page = (tmp_path / "frontier.html").read_text(encoding="utf-8")
    assert "Risk–cost frontier" in page and 'id="chart-frontier"' in page
    assert all(str(p["run_id"]) in page for p in pts)


def test_stored_builds_of_a_cofunded_site_are_whole_builds() -> None:
    """The builds table holds what the designer pays (capex × reservable share for a
    co-funded site): reading it back gives share 1 for a MILP build, not the paid share."""
    cand = {
        "id": "fab-b", "owner": "fabco", "country": "US", "processes": ["n3"],
        "capacity_wspm": {2025: 100}, "status": "candidate", "capex_usd": 1.0e6,
        "build_years": 0, "earliest_start_year": 2025, "reservable_share": 0.5,
        "cofunded": True,
    }  # fmt: skip
    sc = scenario({"sites.fab-a.capacity_wspm.2025": 0},
                  base={**BASE, "sites": [*BASE["sites"], cand]})  # fmt: skip
    p = plan(sc)
    assert p.builds["capex_usd"].tolist() == pytest.approx([5.0e5])
    fs = FirstStage.from_tables(p.builds, scenario=sc)
    assert fs.builds == (("fab-b", "2025", 1.0),)
