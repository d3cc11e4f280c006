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
from fabnet.risk.sampler import SAMPLINGS, Sampler
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
from tests.plan.helpers import BASE, CANDIDATE, DIES_400, scenario
from tests.risk.test_run import CATALOGUE, TOY, write_toy_risk

UNIT_USD = 10000 / DIES_400
GPU_USD = 30000.0
#: extra cost of one year of fab-a lost: 1000 PFLOP/s of GPUs instead of own units
LOSS_USD = 1000 * (GPU_USD - UNIT_USD)


def _toy(capex_usd: float) -> Scenario:
    cand = {**CANDIDATE, "capex_usd": capex_usd, "build_years": 0, "ramp_years": 0}
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
    toy = write_toy_risk(tmp_path)
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
    toy = write_toy_risk(tmp_path)
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


# In-sample scenario sets: Monte Carlo, importance sampling, stratified ---------------------

#: The risk toy (tests/risk/test_run.py: 2025–2028) and a probability event: gpu-ban
#: (0.1 a year over 4 years, occurs with probability 1 − e^−0.4 = 0.33) and strike
#: (probability 0.2) are rare (below 0.5); fire, hbm-cut and surge (1 − e^−1.2 = 0.70) not.
STRIKE = """  - id: strike
    kind: demand_shock
    probability: 0.2
    window_years: [2026, 2027]
    hits: {demands: all}
    demand_factor: 1.2
    duration_days: 60
"""


@pytest.fixture(scope="module")
def risk_toy() -> Scenario:
    from fabnet.scenario.io import scenario_from_text

    head, tail = TOY.read_text(encoding="utf-8").split("variants:", 1)
    return scenario_from_text(head + CATALOGUE.lstrip() + STRIKE + "variants:" + tail, "toy")


@pytest.fixture(scope="module")
def toy_sampler(risk_toy: Scenario) -> Sampler:
    from fabnet.plan.sets import build_data

    return Sampler(build_data(risk_toy), risk_toy)


def test_rare_events_and_strata(toy_sampler: Sampler) -> None:
    ids = toy_sampler.event_ids
    assert [ids[i] for i in toy_sampler.rare_events()] == ["strike", "gpu-ban"]
    p = toy_sampler.occurrence_probability()
    assert p[ids.index("gpu-ban")] == pytest.approx(1 - np.exp(-0.4), rel=1e-12)
    assert p[ids.index("strike")] == pytest.approx(0.2, rel=1e-12)
    _rare, pats, probs = toy_sampler.strata(8)
    assert len(pats) == 4 and probs.sum() == pytest.approx(1.0, rel=1e-12)
    q = 1 - np.exp(-0.4)
    assert probs[pats.index((1, 1))] == pytest.approx(0.2 * q, rel=1e-12)
    assert probs[pats.index((0, 0))] == pytest.approx(0.8 * (1 - q), rel=1e-12)
    assert len(toy_sampler.strata(3)[1]) == 2  # 2**k ≤ n: only the rarest with 3 scenarios


@pytest.mark.parametrize("sampling", SAMPLINGS)
def test_scenario_probabilities_sum_to_one(toy_sampler: Sampler, sampling: str) -> None:
    for n in (4, 9, 30):
        ss = toy_sampler.scenario_set(sampling, 5, n)
        assert len(ss.effects) == n and ss.probabilities.shape == (n,)
        assert ss.probabilities.sum() == pytest.approx(1.0, rel=1e-12)
        assert (ss.probabilities > 0).all()
        if sampling == "mc":
            assert np.allclose(ss.probabilities, 1.0 / n)
    # stratified with a Neyman allocation: every stratum carries its probability exactly
    rare, pats, P = toy_sampler.strata(30)
    ss = toy_sampler.stratified(5, 30, sd=[1.0, 5.0, 0.0, 2.0])
    for h, pat in enumerate(pats):
        mine = ss.stratum == h
        assert mine.sum() >= 1
        assert ss.probabilities[mine].sum() == pytest.approx(P[h], rel=1e-12)
        for e in np.flatnonzero(mine):  # the stratum's rare events occur, the others do not
            hit = {x.event for x in ss.effects[e].events}
            for ev, o in zip(rare, pat, strict=True):
                assert (toy_sampler.event_ids[ev] in hit) == bool(o)
    # more scenarios go where the pilot says cost varies more (sd 5 against 1)
    assert (ss.stratum == 1).sum() > (ss.stratum == 0).sum()


def _pmf(n: int, lam: float) -> float:
    return float(np.exp(-lam) * lam**n / np.prod(np.arange(1, n + 1, dtype=float)))


def test_likelihood_ratio_is_the_ratio_of_the_pmfs(toy_sampler: Sampler) -> None:
    ids = toy_sampler.event_ids
    lam, prob = toy_sampler.tilted(0.5)
    g, s = ids.index("gpu-ban"), ids.index("strike")
    assert 1 - np.exp(-lam[g]) == pytest.approx(0.5) and prob[s] == 0.5
    for n_gpu, n_strike in itertools.product(range(4), range(2)):
        counts = np.zeros(len(ids), dtype=np.int64)
        counts[ids.index("fire")] = 2  # untilted events do not change the ratio
        counts[g], counts[s] = n_gpu, n_strike
        hand = _pmf(n_gpu, 0.4) / _pmf(n_gpu, float(np.log(2.0)))
        hand *= (0.2 / 0.5) if n_strike else (0.8 / 0.5)
        assert toy_sampler.likelihood_ratio(counts, lam, prob) == pytest.approx(hand, rel=1e-12)


def test_importance_weighted_estimator_is_unbiased(toy_sampler: Sampler) -> None:
    """Under the tilted proposal, E_q[w·f] = E_p[f] for f = occurrences of gpu-ban (E = 0.4,
    rate × window), f = 1{strike} (E = 0.2) and f = 1 (E[w] = 1), within 4 standard errors of
    20 000 draws; the proposal itself draws gpu-ban far more often than the catalogue."""
    ids = toy_sampler.event_ids
    g, s = ids.index("gpu-ban"), ids.index("strike")
    lam, prob = toy_sampler.tilted(0.5)
    M = 20000
    w, n_gpu, n_strike = np.empty(M), np.empty(M), np.empty(M)
    for i in range(M):
        counts = toy_sampler._draw_counts(11, i, lam, prob)[3]
        w[i] = toy_sampler.likelihood_ratio(counts, lam, prob)
        n_gpu[i], n_strike[i] = counts[g], counts[s]
    assert (n_gpu > 0).mean() > 0.45  # the catalogue: 0.33
    for f, exact in ((n_gpu, 0.4), ((n_strike > 0).astype(float), 0.2), (np.ones(M), 1.0)):
        est = w * f
        se = est.std(ddof=1) / np.sqrt(M)
        assert abs(est.mean() - exact) < 4 * se, (est.mean(), exact, se)
    # the self-normalised estimator (the probabilities of the extensive form) agrees too
    assert float(w @ n_gpu / w.sum()) == pytest.approx(0.4, rel=0.05)


def test_stratified_estimator_is_unbiased(toy_sampler: Sampler) -> None:
    """Σ p_s f_s over stratified sets of 8 scenarios, averaged over 300 seeds, estimates
    E[occurrences of gpu-ban] = 0.4 and of fire = 1.2 within 4 standard errors."""
    ids = toy_sampler.event_ids
    est = []
    for seed in range(300):
        ss = toy_sampler.stratified(seed, 8)
        n = np.array(
            [[sum(h.event == e for h in eff.events) for e in ("gpu-ban", "fire")]
             for eff in ss.effects], dtype=float,
        )  # fmt: skip
        est.append(ss.probabilities @ n)
    x = np.array(est)
    se = x.std(axis=0, ddof=1) / np.sqrt(len(x))
    assert np.all(np.abs(x.mean(axis=0) - [0.4, 1.2]) < 4 * se + 1e-12), (x.mean(axis=0), se)
    assert ids  # the events named exist


def test_weighted_cvar_matches_a_hand_computation() -> None:
    """Three scenarios (fab-a out 0, 1, 2 years) with probabilities 0.5, 0.3, 0.2 and a fab
    too dear to build: costs c_k = 3000·UNIT + k·LOSS. CVaR_0.7 takes the top 30 % of the
    probability: 0.2 at c_2 and 0.1 at c_1, so (0.2 c_2 + 0.1 c_1) / 0.3."""
    sc = _toy(1.0e15)
    eff = [_fab_a_out(sc, k) for k in range(3)]
    p = [0.5, 0.3, 0.2]
    c = [3000 * UNIT_USD + k * LOSS_USD for k in range(3)]
    hand = (0.2 * c[2] + 0.1 * c[1]) / 0.3
    sol = solve_extensive(sc, PlanOptions(), eff, p, measure=RiskMeasure(0.5, 0.7))
    assert sol.first_stage.builds == ()
    assert np.allclose(sol.scenario_cost_usd, c, rtol=1e-9)
    assert sol.cvar_term_usd == pytest.approx(hand, rel=1e-9)
    assert sol.cvar_cost_usd(0.7) == pytest.approx(hand, rel=1e-9)
    assert sol.expected_cost_usd == pytest.approx(float(np.dot(p, c)), rel=1e-9)
    assert sol.objective_usd == pytest.approx(0.5 * float(np.dot(p, c)) + 0.5 * hand, rel=1e-9)


def test_cli_sampling_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    toy = write_toy_risk(tmp_path)
    for sampling in ("importance", "stratified"):
        code, out, err = run_cli(
            ["plan", str(toy), "--stochastic", "5", "--sampling", sampling, "--no-evpi",
             "--oos-samples", "0", "--workers", "1", "--json", "--no-store"],
            capsys,
        )  # fmt: skip
        assert code == 0, err
        st = json.loads(out)["stochastic"]
        assert st["sampling"] == sampling and 1.0 <= st["effective_scenarios"] <= 5.0
    code, _out, err = run_cli(["plan", str(toy), "--stochastic", "5", "--sampling", "lhs"], capsys)
    assert code == 2 and "--sampling" in err


def test_a_time_limited_solve_within_the_gap_is_optimal() -> None:
    """HiGHS checks mip_rel_gap between search steps only: a root sub-MIP incumbent found at
    the time limit with a gap of 0.42 % (tolerance 1 %) ends as "Time limit reached"."""
    from fabnet.risk.stochastic import _status

    assert _status("Time limit reached", 0.0042, 0.01) == "optimal"
    assert _status("Time limit reached", 0.05, 0.01) == "time_limit"
    assert _status("Time limit reached", None, 0.01) == "time_limit"
    assert _status("Optimal", 0.002, 0.01) == "optimal"
    assert _status("Infeasible", None, 0.01) == "infeasible"


def test_the_gap_option_reaches_highs_as_a_fraction() -> None:
    """--gap 0.01 is mip_rel_gap = 0.01 (1 %) in the extensive form's HiGHS, and the reported
    gap is a fraction within it."""
    sc = _toy(2.0e6)
    ef = ExtensiveForm(sc, PlanOptions(mip_gap=0.01), [_fab_a_out(sc, k) for k in range(3)])
    sol = ef.solve()
    assert ef.is_mip and ef.h.getOptionValue("mip_rel_gap")[1] == 0.01
    assert sol.status == "optimal" and sol.mip_gap is not None and 0.0 <= sol.mip_gap <= 0.01
