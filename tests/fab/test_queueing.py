"""Queueing formulas against textbook values (Kingman, Sakasegawa, Erlang C, Hopp & Spearman)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fabnet.fab.queueing import (
    QueueNetwork,
    QueueStation,
    QueueVisit,
    departure_scv,
    erlang_c,
    kingman_wait,
    mm1_wait,
    mmm_wait,
    nonpreemptive_outage,
    preemptive_outage,
    sakasegawa_wait,
    setup_rate,
    solve_network,
    utilization,
    wait_to_batch,
    x_factor,
)


def test_mm1_exact() -> None:
    # M/M/1 at u = 0.8 with te = 1: Wq = u/(1-u) te = 4 (exact)
    assert float(mm1_wait(0.8, 1.0)) == pytest.approx(4.0)
    assert float(kingman_wait(1.0, 1.0, 0.8, 2.5)) == pytest.approx(10.0)
    # sakasegawa with one server is Kingman
    assert float(sakasegawa_wait(0.5, 2.0, 0.7, 3.0, 1)) == pytest.approx(
        float(kingman_wait(0.5, 2.0, 0.7, 3.0))
    )


def test_md1_is_pollaczek_khinchine() -> None:
    # M/D/1: Wq = u / (2 (1 - u)) te  (Pollaczek-Khinchine with ce2 = 0)
    u = np.array([0.3, 0.6, 0.9])
    np.testing.assert_allclose(kingman_wait(1.0, 0.0, u, 1.0), u / (2 * (1 - u)))


def test_saturation_gives_inf_and_zero_load_zero() -> None:
    assert math.isinf(float(kingman_wait(1, 1, 1.0, 1)))
    assert math.isinf(float(sakasegawa_wait(1, 1, 1.2, 1, 4)))
    assert float(sakasegawa_wait(1, 1, 0.0, 1, 4)) == 0.0
    assert math.isinf(mmm_wait(1.0, 1.0, 3))


def test_erlang_c_textbook_values() -> None:
    # M/M/2 with offered load 1 (u = 0.5): C = 1/3
    assert erlang_c(0.5, 2) == pytest.approx(1.0 / 3.0)
    # M/M/3, lambda = 2, mu = 1: P0 = 1/9, C = 4/9, Wq = C / (m mu - lambda) = 4/9
    assert erlang_c(2.0 / 3.0, 3) == pytest.approx(4.0 / 9.0)
    assert mmm_wait(2.0 / 3.0, 1.0, 3) == pytest.approx(4.0 / 9.0)
    # one server: C = u
    assert erlang_c(0.73, 1) == pytest.approx(0.73)


@pytest.mark.parametrize("m", [1, 2, 3, 5, 10, 20, 50])
@pytest.mark.parametrize("u", [0.5, 0.7, 0.8, 0.9, 0.95])
def test_sakasegawa_against_erlang_c(m: int, u: float) -> None:
    """Sakasegawa's M/M/m wait is close to exact where it matters (Hopp & Spearman §8.4)."""
    exact = mmm_wait(u, 1.0, m)
    approx = float(sakasegawa_wait(1.0, 1.0, u, 1.0, m))
    assert abs(approx - exact) <= 0.035  # absolute, in units of te
    if u >= 0.9:
        assert approx == pytest.approx(exact, rel=0.06)


def test_kingman_against_simulated_gg1() -> None:
    """Lindley recursion: uniform service (ce2 = 1/3·(0.5)^2·4 ...) and exponential arrivals."""
    rng = np.random.default_rng(7)
    n = 200_000
    te, u = 1.0, 0.85
    inter = rng.exponential(te / u, n)  # ca2 = 1
    service = rng.uniform(0.0, 2.0 * te, n)  # mean 1, ce2 = 1/3
    w = np.zeros(n)
    for i in range(1, n):
        w[i] = max(0.0, w[i - 1] + service[i - 1] - inter[i])
    sim = w[n // 10 :].mean()
    formula = float(kingman_wait(1.0, 1.0 / 3.0, u, te))  # M/G/1: exact in steady state
    assert sim == pytest.approx(formula, rel=0.12)


def test_outage_formulas() -> None:
    # Hopp & Spearman eq. 8.6/8.7: te = t0/A, ce2 = c0^2 + (1 + cr^2) A (1 - A) mr / t0
    te, ce2 = preemptive_outage(15.0, 0.25, 0.75, 248.0, 1.0)
    assert float(te) == pytest.approx(20.0)
    assert float(ce2) == pytest.approx(0.25 + 2.0 * 0.75 * 0.25 * 248.0 / 15.0)
    te, ce2 = preemptive_outage(15.0, 0.25, 1.0, 0.0, 1.0)
    assert (float(te), float(ce2)) == (15.0, 0.25)
    # setups of 2 h every 10 jobs of 1 h (var 0.25): te = 1.2, var = 0.25 + 0 + 9/100·4
    te, var = nonpreemptive_outage(1.0, 0.25, 2.0, 0.0, 10.0)
    assert float(te) == pytest.approx(1.2)
    assert float(var) == pytest.approx(0.25 + 9.0 / 100.0 * 4.0)
    te, var = nonpreemptive_outage(1.0, 0.25, 2.0, 0.0, math.inf)
    assert (float(te), float(var)) == (1.0, 0.25)


def test_setup_rate_random_order_min_run_and_queue() -> None:
    # empty queue, no min run: random order, a change with chance 1 - q
    assert float(setup_rate(0.0, 1 / 3, 1 / 3)) == pytest.approx(2 / 3)
    # a min run of k: runs last k - 1 + 1/p lots
    assert float(setup_rate(0.0, 1 / 3, 1 / 3, 7)) == pytest.approx(1 / (6 + 1.5))
    # one state only: never a change
    assert float(setup_rate(5.0, 1.0, 0.5)) == 0.0
    # setups get rarer as the queue grows
    r = setup_rate(np.array([0.0, 1.0, 10.0, 100.0]), 0.25, 0.1)
    assert (np.diff(r) < 0).all()


def test_linking_batching_and_basics() -> None:
    assert float(departure_scv(0.3, 2.0, 0.0, 1)) == pytest.approx(0.3)  # idle: cd2 = ca2
    assert float(departure_scv(0.3, 2.0, 1.0, 1)) == pytest.approx(2.0)  # busy: cd2 = ce2
    assert float(wait_to_batch(1, 0.5)) == 0.0
    assert float(wait_to_batch(4, 0.5)) == pytest.approx(3.0)
    assert float(utilization(0.1, 25.0, 5)) == pytest.approx(0.5)
    assert float(x_factor(30.0, 12.0)) == pytest.approx(2.5)


def test_network_of_one_station_is_mm1_and_dd1() -> None:
    # rate 0.8/job minutes: u = 0.8 on one tool
    net = QueueNetwork(
        stations=(QueueStation("S", 1),),
        visits=(QueueVisit("p", 1, 0, 1.0, 10.0, 100.0, 10.0, 10.0),),
        release_lots_per_min={"p": 0.08},
        release_scv={"p": 1.0},
    )
    sol = solve_network(net, 1.0)
    assert float(sol.stations["wait_min"].iloc[0]) == pytest.approx(40.0)  # M/M/1: 4 te
    assert float(sol.products["cycle_time_days"].iloc[0]) * 1440 == pytest.approx(50.0)
    assert float(sol.products["x_factor"].iloc[0]) == pytest.approx(5.0)
    dd = QueueNetwork(
        net.stations, (QueueVisit("p", 1, 0, 1.0, 10.0, 0.0, 10.0, 10.0),), {"p": 0.08}
    )
    assert float(solve_network(dd, 1.0).stations["wait_min"].iloc[0]) == pytest.approx(0.0)
    # linking off: every station sees Poisson arrivals (M/D/1)
    md1 = solve_network(dd, 1.0, linking=False)
    assert float(md1.stations["wait_min"].iloc[0]) == pytest.approx(20.0)


def test_network_tandem_linking_and_load_monotone() -> None:
    st = (QueueStation("A", 1), QueueStation("B", 2, availability=0.9, outage_mean_min=60.0))
    visits = (
        QueueVisit("p", 1, 0, 1.0, 10.0, 100.0, 10.0, 10.0),
        QueueVisit("p", 2, 1, 1.0, 15.0, 0.0, 15.0, 15.0, previous_station=0),
    )
    net = QueueNetwork(st, visits, {"p": 0.07}, {"p": 1.0})
    sol = solve_network(net, 1.0)
    u_a = 0.7
    cd2_a = float(departure_scv(1.0, 1.0, u_a, 1))
    assert float(sol.stations["ca2"].iloc[1]) == pytest.approx(cd2_a)
    assert float(sol.stations["utilization_pct"].iloc[1]) == pytest.approx(
        100 * 0.07 * 15 / 2 / 0.9
    )
    cts = [
        float(solve_network(net, s).products["cycle_time_days"].iloc[0])
        for s in (0.5, 0.8, 1.0, 1.2)
    ]
    assert cts == sorted(cts)
    assert math.isinf(float(solve_network(net, 1.5).products["cycle_time_days"].iloc[0]))


_SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "smt2020"


@pytest.mark.skipif(not (_SHARED / "HVLM").is_dir(), reason="SMT2020 HVLM data not found")
def test_hvlm_network_utilisation_matches_the_reference_where_exact() -> None:
    """Utilisation computed from the HVLM data alone (visits, times, tools, calendars) is
    within 1 point of the published reference for families without setups, batches or
    cascading, where the G/G/m occupancy is exact; the prediction is finite at load 1."""
    from fabnet.fab import load_smt2020
    from fabnet.fab.queueing import fab_gg_m_curve, network_from_model

    model = load_smt2020(_SHARED / "HVLM")
    net = network_from_model(model)
    sol = solve_network(net, 1.0)
    ref = pd.read_csv(_SHARED / "reference" / "machines_HVLM.txt", sep=r"\s+").set_index("name")
    plain = {
        f.name
        for f in model.families
        if not f.cascading
        and not any(
            s.setup or s.per == "batch"
            for r in model.routes.values()
            for s in r.steps
            if s.family == f.name
        )
    }
    st = sol.stations.set_index("station")
    names = sorted(plain & set(ref.index))
    assert len(names) >= 40
    diff = (st.loc[names, "utilization_pct"] - ref.loc[names, "util"]).abs()
    assert diff.max() < 1.0, diff.sort_values().tail()
    ct = fab_gg_m_curve(model, [1.0])["ggm_cycle_time_days"]
    assert np.isfinite(ct).all()
