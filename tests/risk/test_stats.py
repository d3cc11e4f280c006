"""Risk statistics on distributions worked out by hand, and their invariants (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fabnet.plan import build_model
from fabnet.risk.effects import EventHit
from fabnet.risk.recourse import Outcome, SampleBatch
from fabnet.risk.stats import (
    contributions,
    convergence,
    mean,
    probability,
    se_cvar,
    se_mean,
    stress_figures,
    summarise,
    var_cvar,
)
from tests.plan.helpers import scenario


def test_cvar_of_a_discrete_distribution_with_a_fractional_atom() -> None:
    # P(0) = 0.9, P(10) = 0.06, P(100) = 0.04: the worst 5 % is 4 % at 100 and 1 % at 10
    x, w = [100.0, 0.0, 10.0], [0.04, 0.9, 0.06]
    var, cvar = var_cvar(x, 0.95, w)
    assert var == 10.0
    assert cvar == pytest.approx((0.01 * 10 + 0.04 * 100) / 0.05, rel=1e-12)  # 82
    # four equal atoms, alpha 0.7: VaR 3, CVaR = (0.05·3 + 0.25·4) / 0.3
    var, cvar = var_cvar([4.0, 1.0, 3.0, 2.0], 0.7)
    assert var == 3.0
    assert cvar == pytest.approx((0.05 * 3 + 0.25 * 4) / 0.3, rel=1e-12)
    # 1..20, alpha 0.9: the mean of the worst two
    assert var_cvar(np.arange(1.0, 21.0), 0.9) == pytest.approx((18.0, 19.5))
    assert var_cvar(np.arange(1.0, 21.0), 0.95) == pytest.approx((19.0, 20.0))


samples = st.lists(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=1, max_size=60
)


@settings(max_examples=200, deadline=None)
@given(samples, st.floats(min_value=0.01, max_value=0.99), st.integers(0, 2**31 - 1))
def test_var_below_cvar_above_mean(x: list[float], alpha: float, seed: int) -> None:
    w = np.random.default_rng(seed).uniform(0.1, 2.0, len(x))
    var, cvar = var_cvar(x, alpha, w)
    tol = 1e-9 * (1 + max(abs(v) for v in x))
    assert var <= cvar + tol
    assert cvar >= mean(x, w) - tol
    assert cvar <= max(x) + tol


def test_standard_errors() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    assert se_mean(x) == pytest.approx(np.std(x, ddof=1) / np.sqrt(5), rel=1e-12)
    p, se = probability([True, True, False, True])
    assert (p, se) == pytest.approx((0.75, np.sqrt(0.75 * 0.25 / 4)))
    # the asymptotic CVaR error matches the spread of the estimate over replications
    rng = np.random.default_rng(11)
    reps = rng.exponential(1.0, (300, 2000))
    est = np.array([var_cvar(r, 0.95)[1] for r in reps])
    ses = np.array([se_cvar(r, 0.95) for r in reps])
    assert np.mean(ses) == pytest.approx(np.std(est, ddof=1), rel=0.15)
    assert np.mean(est) == pytest.approx(1.0 + np.log(20.0), rel=0.02)  # exact CVaR of Exp(1)


def test_convergence() -> None:
    steady = np.random.default_rng(1).normal(5.0, 1.0, 4000)
    c = convergence(steady, "mean")
    assert c.n == (1000, 2000, 4000) and c.converged
    drift = np.concatenate([np.zeros(2000), np.full(2000, 100.0)])
    assert not convergence(drift, "mean").converged
    assert not convergence(drift, "cvar", 0.9).converged


def test_contributions_by_event() -> None:
    cost = np.array([1.0, 10.0, 20.0, 1.0])
    unmet = np.array([0.0, 4.0, 6.0, 0.0])
    events = [[], [EventHit("quake", 2026.5, ("fab-a",))], ["quake", "fire"], ["fire"]]
    by = {c.event: c for c in contributions(cost, unmet, events)}
    assert by["quake"].samples_hit == 2
    assert by["quake"].expected_unmet_pflops == pytest.approx(5.0)
    assert by["quake"].expected_cost_usd == pytest.approx(15.0)
    assert by["quake"].share_of_unmet == pytest.approx(1.0)
    assert by["fire"].expected_unmet_pflops == pytest.approx(3.0)
    assert by["fire"].share_of_unmet == pytest.approx(0.6)
    assert by["fire"].probability == pytest.approx(0.5)


def _outcome(unmet_t: list[float], cost: float) -> Outcome:
    u = np.array(unmet_t)
    return Outcome("exact", "optimal", cost, cost, u, np.zeros(3), 1.0, 0, u)


def test_stress_figures() -> None:
    data = build_model(scenario()).data  # yearly periods 2025–2027
    base = _outcome([0.0, 0.0, 0.0], 1.0)
    hit = _outcome([0.0, 300.0, 100.0], 2.0)
    fig = stress_figures(hit, base, 2025.5, data)
    assert fig.time_to_survive_days == pytest.approx(0.5 * 365.25)
    assert fig.lost_pflops_years == pytest.approx(400.0)
    assert stress_figures(base, base, 2025.5, data).time_to_survive_days is None


def test_summarise_json() -> None:
    rng = np.random.default_rng(5)
    n = 400
    unmet = rng.exponential(10.0, (n, 3))
    service = np.clip(1 - unmet.mean(axis=1) / 200, 0, 1)
    batch = SampleBatch(
        method="exact",
        cost_pv_usd=1e9 + 1e6 * unmet.sum(axis=1),
        spend_pv_usd=np.full(n, 1e9),
        unmet_pflops=unmet,
        unmet_units=np.zeros((n, 3)),
        service_level=service,
        first_period=np.zeros(n, dtype=np.int64),
        years=(2025, 2026, 2027),
    )
    events = [["quake"] if i % 4 == 0 else [] for i in range(n)]
    js = summarise(batch, events).to_json()
    for key in ("expected_cost_usd", "cvar95_cost_usd", "expected_unmet_pflops",
                "cvar95_unmet_pflops", "p_service_95"):  # fmt: skip
        assert key in js and key in js["std_errors"]
    assert js["expected_unmet_pflops"] == pytest.approx(unmet.mean())
    assert js["p_service_95"] == pytest.approx(np.mean(service >= 0.95))
    assert js["by_event"][0]["event"] == "quake" and js["by_event"][0]["samples_hit"] == 100
    assert js["cvar95_cost_usd"] >= js["var95_cost_usd"] >= 0
    assert [r["year"] for r in js["unmet_by_year"]] == [2025, 2026, 2027]
