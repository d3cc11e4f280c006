"""Statistics of a Monte Carlo sample of plan outcomes (docs/risk-evaluation.md).

Losses are "higher is worse" (cost, unmet compute). Samples may carry weights (importance
sampling or a stratified design); without weights every sample counts the same.

* VaR and CVaR follow Rockafellar and Uryasev (2002): ``VaR_α`` is the smallest loss whose
  cumulative probability reaches α and ``CVaR_α = VaR_α + E[(X − VaR_α)⁺] / (1 − α)``,
  which is exact for a discrete sample, including the fractional part of the atom at VaR.
* Monte Carlo standard errors: of a mean, ``sqrt(Σ w²(x − x̄)²) / Σw`` (with the n/(n − 1)
  correction); of CVaR, the asymptotic formula ``sd(VaR + (X − VaR)⁺/(1 − α)) / sqrt(n_eff)``
  (the CVaR estimator is the mean of that influence variable at the estimated VaR); of a
  probability ``sqrt(p(1 − p)/n_eff)``; ``n_eff = (Σw)² / Σw²``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from fabnet.plan.sets import PlanData
from fabnet.risk.effects import EventHit
from fabnet.risk.recourse import Outcome, SampleBatch

F = npt.NDArray[np.float64]

#: Service level a sample must reach to count in ``p_service_95``.
SERVICE_TARGET = 0.95


def _weights(n: int, w: npt.ArrayLike | None) -> F:
    if w is None:
        return np.ones(n)
    out = np.asarray(w, dtype=float).reshape(-1)
    if out.shape != (n,) or (out < 0).any() or not out.sum() > 0:
        raise ValueError("weights must be n non-negative numbers with a positive sum")
    return out


def n_effective(w: npt.ArrayLike | None, n: int) -> float:
    """Kish's effective sample size ``(Σw)² / Σw²`` (n without weights)."""
    ww = _weights(n, w)
    return float(ww.sum() ** 2 / (ww**2).sum())


def mean(x: npt.ArrayLike, w: npt.ArrayLike | None = None) -> float:
    """Weighted mean."""
    xx = np.asarray(x, dtype=float).reshape(-1)
    ww = _weights(xx.size, w)
    return float(ww @ xx / ww.sum())


def se_mean(x: npt.ArrayLike, w: npt.ArrayLike | None = None) -> float:
    """Monte Carlo standard error of the (weighted) mean; 0 for fewer than 2 samples."""
    xx = np.asarray(x, dtype=float).reshape(-1)
    n = xx.size
    if n < 2:
        return 0.0
    ww = _weights(n, w)
    mu = ww @ xx / ww.sum()
    var = float((ww**2) @ (xx - mu) ** 2) / ww.sum() ** 2 * n / (n - 1)
    return math.sqrt(max(var, 0.0))


def var_cvar(x: npt.ArrayLike, alpha: float, w: npt.ArrayLike | None = None) -> tuple[float, float]:
    """(VaR_α, CVaR_α) of a discrete sample of losses (Rockafellar–Uryasev, exact).

    VaR is the α-quantile (the smallest loss with cumulative probability ≥ α); CVaR is the
    mean of the worst 1 − α of the probability mass, the atom at VaR counted fractionally.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha {alpha} must be in (0, 1)")
    xx = np.asarray(x, dtype=float).reshape(-1)
    if xx.size == 0:
        raise ValueError("no samples")
    ww = _weights(xx.size, w)
    order = np.argsort(xx, kind="stable")
    xs, ps = xx[order], ww[order] / ww.sum()
    cum = np.cumsum(ps)
    k = int(np.searchsorted(cum, alpha - 1e-12, side="left"))
    k = min(k, xs.size - 1)
    var = float(xs[k])
    cvar = var + float(ps @ np.maximum(xs - var, 0.0)) / (1.0 - alpha)
    return var, max(cvar, var)


def se_cvar(x: npt.ArrayLike, alpha: float, w: npt.ArrayLike | None = None) -> float:
    """Asymptotic Monte Carlo standard error of the CVaR estimate (see the module doc)."""
    xx = np.asarray(x, dtype=float).reshape(-1)
    if xx.size < 2:
        return 0.0
    var, _ = var_cvar(xx, alpha, w)
    infl = var + np.maximum(xx - var, 0.0) / (1.0 - alpha)
    return se_mean(infl, w)


def probability(flags: npt.ArrayLike, w: npt.ArrayLike | None = None) -> tuple[float, float]:
    """(p, standard error) of the share of samples where ``flags`` is true."""
    ff = np.asarray(flags, dtype=bool).reshape(-1)
    ww = _weights(ff.size, w)
    p = float(ww @ ff / ww.sum())
    ne = n_effective(ww, ff.size)
    return p, math.sqrt(max(p * (1.0 - p), 0.0) / ne) if ne > 0 else 0.0


@dataclass(frozen=True)
class Convergence:
    """Running estimates of one figure at n/4, n/2 and n samples.

    ``converged``: the last half moved the estimate by less than 2 standard errors
    (|est(n) − est(n/2)| < 2 SE(n)); with fewer than 8 samples it is False.
    """

    n: tuple[int, ...]
    values: tuple[float, ...]
    std_error: float
    converged: bool

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values."""
        return {
            "n": list(self.n),
            "values": [_num(v) for v in self.values],
            "std_error": _num(self.std_error),
            "converged": self.converged,
        }


def convergence(
    x: npt.ArrayLike, estimate: str, alpha: float = 0.95, w: npt.ArrayLike | None = None
) -> Convergence:
    """Running ``estimate`` ("mean", "cvar" or "probability") of ``x`` (in sample order)."""
    xx = np.asarray(x, dtype=float).reshape(-1)
    n = xx.size
    ww = _weights(n, w)
    ns = tuple(sorted({max(1, n // 4), max(1, n // 2), n}))

    def est(k: int) -> tuple[float, float]:
        xs, ws = xx[:k], ww[:k]
        if estimate == "mean":
            return mean(xs, ws), se_mean(xs, ws)
        if estimate == "cvar":
            return var_cvar(xs, alpha, ws)[1], se_cvar(xs, alpha, ws)
        if estimate == "probability":
            return probability(xs > 0.5, ws)
        raise ValueError(f"unknown estimate {estimate!r}")

    vals = [est(k)[0] for k in ns]
    se = est(n)[1]
    half = est(max(1, n // 2))[0]
    moved = abs(vals[-1] - half)
    ok = n >= 8 and (moved < 2.0 * se or moved <= 1e-12 * max(1.0, abs(vals[-1])))
    return Convergence(ns, tuple(vals), se, bool(ok))


@dataclass(frozen=True)
class EventContribution:
    """What the samples hit by one event type cost and leave unmet."""

    event: str
    samples_hit: int
    probability: float  #: (weighted) share of samples hit
    expected_unmet_pflops: float  #: mean over the samples hit of the horizon-mean unmet
    expected_cost_usd: float  #: mean PV cost over the samples hit
    share_of_unmet: float  #: Σ_hit w·unmet / Σ_all w·unmet (a sample hit twice counts twice)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values."""
        return {
            "event": self.event,
            "samples_hit": self.samples_hit,
            "probability": _num(self.probability),
            "expected_unmet_pflops": _num(self.expected_unmet_pflops),
            "expected_cost_usd": _num(self.expected_cost_usd),
            "share_of_unmet": _num(self.share_of_unmet),
        }


def _event_names(items: Iterable[str | EventHit]) -> set[str]:
    return {it.event if isinstance(it, EventHit) else str(it) for it in items}


def contributions(
    cost: F,
    unmet: F,
    events_per_sample: Sequence[Iterable[str | EventHit]],
    w: npt.ArrayLike | None = None,
) -> list[EventContribution]:
    """Per event type, the samples it hit and their mean cost and unmet, by unmet share."""
    n = cost.size
    if len(events_per_sample) != n:
        raise ValueError(f"{len(events_per_sample)} event lists for {n} samples")
    ww = _weights(n, w)
    names = [_event_names(ev) for ev in events_per_sample]
    total_unmet = float(ww @ unmet)
    out: list[EventContribution] = []
    for ev in sorted(set().union(*names)) if names else []:
        hit = np.array([ev in s for s in names], dtype=bool)
        wh = ww[hit]
        out.append(
            EventContribution(
                event=ev,
                samples_hit=int(hit.sum()),
                probability=float(wh.sum() / ww.sum()),
                expected_unmet_pflops=float(wh @ unmet[hit] / wh.sum()) if wh.sum() > 0 else 0.0,
                expected_cost_usd=float(wh @ cost[hit] / wh.sum()) if wh.sum() > 0 else 0.0,
                share_of_unmet=float(wh @ unmet[hit] / total_unmet) if total_unmet > 0 else 0.0,
            )
        )
    out.sort(key=lambda c: (-c.share_of_unmet, -c.expected_cost_usd, c.event))
    return out


@dataclass(frozen=True)
class StressFigures:
    """Criticality of one site or supplier knocked out alone (``--stress``)."""

    #: days from the onset to the start of the first period whose unmet compute exceeds the
    #: baseline's (0: short in the onset period; None: never short within the horizon)
    time_to_survive_days: float | None
    #: extra unmet compute against the baseline over the horizon, PFLOP/s-years
    lost_pflops_years: float


def stress_figures(
    outcome: Outcome, baseline: Outcome, onset_year: float, data: PlanData, tol: float = 1e-6
) -> StressFigures:
    """Time to survive and lost compute of one stress outcome against the plan's baseline."""
    extra = outcome.unmet_period_pflops - baseline.unmet_period_pflops
    L = data.length_years
    lost = float(extra.sum() * L)
    onset_t = int(np.searchsorted(data.start, onset_year + 1e-9, side="right")) - 1
    onset_t = max(onset_t, 0)
    scale = max(1.0, float(np.abs(baseline.unmet_period_pflops).max(initial=0.0)))
    short = np.flatnonzero(extra[onset_t:] > tol * scale)
    if not short.size:
        return StressFigures(None, lost)
    t = onset_t + int(short[0])
    days = max(0.0, (float(data.start[t]) - onset_year) * 365.25)
    return StressFigures(days, lost)


@dataclass(frozen=True)
class RiskSummary:
    """The summary of a Monte Carlo run (``fabnet risk --json``)."""

    samples: int
    method: str
    alpha: float
    expected_cost_usd: float
    var_cost_usd: float
    cvar_cost_usd: float
    expected_spend_usd: float
    expected_unmet_pflops: float  #: horizon mean of unmet compute, expected, PFLOP/s
    var_unmet_pflops: float
    cvar_unmet_pflops: float
    expected_service_level: float
    p_service_95: float  #: share of samples with service level ≥ 95 %
    std_errors: dict[str, float]
    convergence: dict[str, Convergence]
    by_event: list[EventContribution]
    #: per year: mean, P5, P50, P95 of the yearly mean unmet compute, PFLOP/s (fan chart)
    unmet_by_year: list[dict[str, float]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values; the CVaR/VaR keys carry α in percent (``cvar95_cost_usd``)."""
        a = f"{round(100 * self.alpha):d}"
        se = {k: _num(v) for k, v in self.std_errors.items()}
        return {
            "samples": self.samples,
            "method": self.method,
            "alpha": self.alpha,
            "expected_cost_usd": _num(self.expected_cost_usd),
            f"var{a}_cost_usd": _num(self.var_cost_usd),
            f"cvar{a}_cost_usd": _num(self.cvar_cost_usd),
            "expected_spend_usd": _num(self.expected_spend_usd),
            "expected_unmet_pflops": _num(self.expected_unmet_pflops),
            f"var{a}_unmet_pflops": _num(self.var_unmet_pflops),
            f"cvar{a}_unmet_pflops": _num(self.cvar_unmet_pflops),
            "expected_service_level": _num(self.expected_service_level),
            "p_service_95": _num(self.p_service_95),
            "std_errors": {k.replace("cvar_", f"cvar{a}_"): v for k, v in se.items()},
            "convergence": {k: c.to_json() for k, c in self.convergence.items()},
            "by_event": [c.to_json() for c in self.by_event],
            "unmet_by_year": [{k: _num(v) for k, v in r.items()} for r in self.unmet_by_year],
        }


def _num(v: float) -> float:
    f = float(v)
    return f if math.isfinite(f) else float("nan")


def _weighted_quantile(x: F, q: float, w: F) -> float:
    order = np.argsort(x, kind="stable")
    cum = np.cumsum(w[order]) / w.sum()
    k = min(int(np.searchsorted(cum, q - 1e-12, side="left")), x.size - 1)
    return float(x[order][k])


def summarise(
    batch: SampleBatch,
    events_per_sample: Sequence[Iterable[str | EventHit]] | None = None,
    alpha: float = 0.95,
    weights: npt.ArrayLike | None = None,
) -> RiskSummary:
    """Expected cost and unmet compute, VaR/CVaR, P(service ≥ 95 %), standard errors,
    convergence and contributions by event type of a batch of outcomes (in sample order)."""
    n = len(batch)
    if n == 0:
        raise ValueError("no samples to summarise")
    w = _weights(n, weights)
    cost = batch.cost_pv_usd
    unmet = batch.unmet_pflops.mean(axis=1) if batch.unmet_pflops.size else np.zeros(n)
    ok = batch.service_level >= SERVICE_TARGET - 1e-12
    var_c, cvar_c = var_cvar(cost, alpha, w)
    var_u, cvar_u = var_cvar(unmet, alpha, w)
    p95, se_p95 = probability(ok, w)
    events = events_per_sample if events_per_sample is not None else [()] * n
    by_year: list[dict[str, float]] = []
    for yi, y in enumerate(batch.years):
        col = batch.unmet_pflops[:, yi]
        by_year.append(
            {
                "year": float(y),
                "mean": mean(col, w),
                "p5": _weighted_quantile(col, 0.05, w),
                "p50": _weighted_quantile(col, 0.50, w),
                "p95": _weighted_quantile(col, 0.95, w),
            }
        )
    return RiskSummary(
        samples=n,
        method=batch.method,
        alpha=alpha,
        expected_cost_usd=mean(cost, w),
        var_cost_usd=var_c,
        cvar_cost_usd=cvar_c,
        expected_spend_usd=mean(batch.spend_pv_usd, w),
        expected_unmet_pflops=mean(unmet, w),
        var_unmet_pflops=var_u,
        cvar_unmet_pflops=cvar_u,
        expected_service_level=mean(batch.service_level, w),
        p_service_95=p95,
        std_errors={
            "expected_cost_usd": se_mean(cost, w),
            "cvar_cost_usd": se_cvar(cost, alpha, w),
            "expected_unmet_pflops": se_mean(unmet, w),
            "cvar_unmet_pflops": se_cvar(unmet, alpha, w),
            "p_service_95": se_p95,
        },
        convergence={
            "expected_cost_usd": convergence(cost, "mean", alpha, w),
            "cvar_cost_usd": convergence(cost, "cvar", alpha, w),
            "expected_unmet_pflops": convergence(unmet, "mean", alpha, w),
            "p_service_95": convergence(ok.astype(float), "probability", alpha, w),
        },
        by_event=contributions(cost, unmet, events, w),
        unmet_by_year=by_year,
    )
