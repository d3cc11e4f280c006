"""Two-stage stochastic and risk-averse planning over sampled disruptions (docs/stochastic.md).

First stage, shared by every scenario: candidate builds (with their start period) and porting
decisions. Second stage, one copy per scenario: every other column of the planner's LP (wafer
starts, units, GPUs, commitments not taken, unmet demand) with the scenario's
:class:`~fabnet.risk.effects.Effects` applied from period 0.

The extensive form is assembled from the planner's own LP matrix (linopy → HiGHS), not by
rebuilding every constraint family with a scenario dimension: rows that touch only
first-stage columns once, every other row once per scenario (block-angular), each block's
bounds and coefficients set by :class:`~fabnet.risk.recourse.LpLayout` (the mapping the risk
engine's recourse uses). Risk aversion adds the Rockafellar–Uryasev CVaR rows.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import highspy
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from fabnet.errors import PlanError, Problem
from fabnet.plan import Plan, PlanModel, PlanOptions, build_model, plan, read_solution, solve_model
from fabnet.plan.model import _silence_banner
from fabnet.plan.objective import OBJECTIVE_SCALE
from fabnet.plan.sets import PlanData, build_data
from fabnet.plan.variables import BUILD, PORT
from fabnet.risk.effects import Effects
from fabnet.risk.recourse import FirstStage, LpLayout, RecourseSpec, _put, evaluate_batch
from fabnet.risk.sampler import SAMPLINGS, Sampler, ScenarioSet, catalogue_sampler
from fabnet.risk.stats import mean, var_cvar
from fabnet.scenario.schema import Scenario

F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]  # noqa: E741


@dataclass(frozen=True)
class RiskMeasure:
    """How scenario costs are aggregated: (1 − ω)·E[cost] + ω·CVaR_α(cost), and an optional
    cap on CVaR_α of the horizon-mean unmet compute (PFLOP/s)."""

    risk_aversion: float = 0.0  #: ω, 0 (risk neutral) – 1 (CVaR only)
    alpha: float = 0.95  #: CVaR level α, 0 < α < 1
    unmet_cvar_cap_pflops: float | None = None  #: cap on CVaR_α of unmet compute, PFLOP/s

    def check(self) -> None:
        """Raise a PlanError naming the option when a value is out of range."""
        if not 0.0 <= self.risk_aversion <= 1.0:
            raise PlanError(Problem(f"--risk-aversion {self.risk_aversion} is not in [0, 1]",
                                    "give a weight between 0 (risk neutral) and 1"))  # fmt: skip
        if not 0.0 < self.alpha < 1.0:
            raise PlanError(Problem(f"--cvar-alpha {self.alpha} is not in (0, 1)",
                                    "give a level such as 0.95"))  # fmt: skip
        cap = self.unmet_cvar_cap_pflops
        if cap is not None and not (math.isfinite(cap) and cap >= 0):
            raise PlanError(Problem(f"--unmet-cvar-cap {cap} must be a number ≥ 0",
                                    "give a cap in PFLOP/s"))  # fmt: skip


@dataclass(frozen=True, eq=False)
class ExtensiveSolution:
    """The solved extensive form: first stage, scenario costs and unmet compute."""

    status: str  #: "optimal", "time_limit", … (HiGHS model status in words)
    first_stage: FirstStage
    probabilities: F  #: (S,) scenario weights, sum 1
    scenario_cost_usd: F  #: (S,) PV USD of each scenario (first-stage cost included)
    scenario_unmet_pflops: F  #: (S,) horizon mean of unmet compute, PFLOP/s
    objective_usd: float  #: (1 − ω)·E + ω·CVaR_α as solved (LP value), PV USD
    cvar_term_usd: float  #: θ + Σ p a / (1 − α) at the solution (ω > 0), else NaN
    mip_gap: float | None
    size: dict[str, int]
    solve_s: float
    build_s: float
    measure: RiskMeasure

    @property
    def expected_cost_usd(self) -> float:
        return mean(self.scenario_cost_usd, self.probabilities)

    def cvar_cost_usd(self, alpha: float) -> float:
        return var_cvar(self.scenario_cost_usd, alpha, self.probabilities)[1]

    def cvar_unmet_pflops(self, alpha: float) -> float:
        return var_cvar(self.scenario_unmet_pflops, alpha, self.probabilities)[1]

    def risk_objective_usd(self) -> float:
        """(1 − ω)·E[cost] + ω·CVaR_α(cost) of the scenario costs, PV USD."""
        w = self.measure.risk_aversion
        cvar = self.cvar_cost_usd(self.measure.alpha) if w > 0 else 0.0
        return (1.0 - w) * self.expected_cost_usd + w * cvar


_STATUS = {"Optimal": "optimal", "Time limit reached": "time_limit"}


def _status(highs_status: str, gap: float | None, tolerance: float) -> str:
    """The solve's status in words. HiGHS checks ``mip_rel_gap`` only between its search
    steps; an incumbent found by a root heuristic (sub-MIP) that runs into the time limit
    ends as "Time limit reached" although its gap is within the tolerance (measured: 0.42 %
    against 1 %, docs/stochastic.md). Such a solve met the request: ``optimal`` (within
    ``--gap``), as HiGHS would have declared it at its next check."""
    st = _STATUS.get(highs_status, highs_status.lower())
    if st == "time_limit" and gap is not None and math.isfinite(gap) and gap <= tolerance:
        return "optimal"
    return st


class ExtensiveForm:
    """The block-angular deterministic equivalent of the two-stage problem, in HiGHS.

    ``effects``: one :class:`Effects` per scenario (applied from period 0, whatever their
    ``first_period``); ``probabilities``: their weights (equal when ``None``);
    ``fixed``: a first stage to fix (EEV), else the first stage is optimised.
    ``model``: ``build_model(scenario, options)`` when the caller already has it (only its
    matrices are read, so one model serves several extensive forms); built here otherwise.
    """

    def __init__(
        self,
        scenario: Scenario,
        options: PlanOptions,
        effects: Sequence[Effects],
        probabilities: npt.ArrayLike | None = None,
        measure: RiskMeasure | None = None,
        fixed: FirstStage | None = None,
        model: PlanModel | None = None,
    ) -> None:
        _silence_banner()
        t0 = time.perf_counter()
        if not effects:
            raise ValueError("the extensive form needs at least one scenario")
        self.measure = ms = measure or RiskMeasure()
        ms.check()
        self.options = options
        pm = model if model is not None else build_model(scenario, options)
        self.pm = pm
        h0 = pm.model.to_highspy()
        lay = self.layout = LpLayout(pm, h0)
        lp0 = h0.getLp()
        S = len(effects)
        p = (
            np.full(S, 1.0 / S)
            if probabilities is None
            else np.asarray(probabilities, dtype=float).reshape(S) / float(np.sum(probabilities))
        )
        self.p = p
        n, m = lay.n_col, lay.n_row
        first = np.zeros(n, dtype=bool)
        for c in lay.first_cols.values():
            first[c[c >= 0]] = True
        fcols = np.flatnonzero(first)
        scols = np.flatnonzero(~first)
        nF, nS = fcols.size, scols.size
        fpos = np.full(n, -1, dtype=np.int64)
        fpos[fcols] = np.arange(nF)
        spos = np.full(n, -1, dtype=np.int64)
        spos[scols] = np.arange(nS)
        A = lay.A if lay.A is not None else sp.csr_matrix((m, n))
        A = sp.csr_matrix(A)
        touches_second = np.asarray((A[:, scols] != 0).sum(axis=1)).ravel() > 0
        r1 = np.flatnonzero(~touches_second)  # first-stage only: once
        r2 = np.flatnonzero(touches_second)  # once per scenario
        n1, n2 = r1.size, r2.size
        rpos2 = np.full(m, -1, dtype=np.int64)
        rpos2[r2] = np.arange(n2)
        A2 = A[r2].tocoo()
        key2 = r2[A2.row].astype(np.int64) * n + A2.col
        order = np.argsort(key2)

        def entries(rows: I, cols: I) -> I:
            k = rows.astype(np.int64) * n + cols
            i = np.searchsorted(key2[order], k)
            out: I = order[np.clip(i, 0, order.size - 1)]
            if k.size and not np.array_equal(key2[out], k):
                raise PlanError("stochastic: a coefficient of the layout is not in the matrix")
            return out

        bom_ix = entries(lay.coef_row, lay.coef_col)
        # a candidate row without wafer columns (no route there) has only builds: −K·b ≤ 0
        # holds whatever its multiplier, so it stays shared and unscaled
        in2 = touches_second[lay.cand_coef_row]
        cand_ix = entries(lay.cand_coef_row[in2], lay.cand_coef_col[in2])

        # per-scenario bounds and coefficients (second-stage columns, replicated rows)
        lb_s = np.empty((S, nS))
        ub_s = np.empty((S, nS))
        rlb_s = np.empty((S, n2))
        rub_s = np.empty((S, n2))
        val_s = np.empty((S, A2.nnz))
        for s, eff in enumerate(effects):
            lay.check(eff)
            ub = lay.col_ub.copy()
            rlb, rub = lay.row_lb.copy(), lay.row_ub.copy()
            coef = lay.apply(eff, ub, rlb, rub)
            lb_s[s] = lay.col_lb[scols]
            ub_s[s] = ub[scols]
            rlb_s[s] = rlb[r2]
            rub_s[s] = rub[r2]
            v = A2.data.astype(float)
            v[bom_ix] = coef
            v[cand_ix] = lay.cand_coef(eff)[in2]
            val_s[s] = v

        # first-stage bounds and integrality
        lbF, ubF = lay.col_lb[fcols].copy(), lay.col_ub[fcols].copy()
        integ0 = np.asarray(lp0.integrality_, dtype=object)
        is_int = np.zeros(nF, dtype=bool)
        if integ0.size == n:
            is_int = np.array([x != highspy.HighsVarType.kContinuous for x in integ0[fcols]])
        if fixed is not None:
            val = self._first_vector(fixed)
            lbF = ubF = val[fcols]
            is_int[:] = False

        # CVaR columns and rows
        w, a = ms.risk_aversion, ms.alpha
        cap = ms.unmet_cvar_cap_pflops
        cost = lay.cost
        use_cvar = w > 0
        use_cap = cap is not None
        base = nF + S * nS
        n_extra = (1 + S if use_cvar else 0) + (1 + S if use_cap else 0)
        N = base + n_extra
        col_cost = np.zeros(N)
        col_cost[:nF] = (1.0 - w) * cost[fcols]
        col_cost[nF:base] = ((1.0 - w) * p[:, None] * cost[scols][None, :]).ravel()
        col_lb = np.concatenate([lbF, lb_s.ravel(), np.zeros(n_extra)])
        col_ub = np.concatenate([ubF, ub_s.ravel(), np.full(n_extra, np.inf)])

        # matrix: R1 block, S copies of R2, CVaR rows
        rows_l: list[I] = []
        cols_l: list[I] = []
        vals_l: list[F] = []
        A1 = A[r1].tocoo()
        rows_l.append(A1.row.astype(np.int64))
        cols_l.append(fpos[A1.col])
        vals_l.append(A1.data.astype(float))
        c2 = A2.col.astype(np.int64)
        is_f2 = first[c2]
        s_ix = np.arange(S, dtype=np.int64)[:, None]
        rows_l.append((n1 + s_ix * n2 + A2.row[None, :]).ravel())
        cols_l.append(
            np.where(is_f2[None, :], fpos[c2][None, :], nF + s_ix * nS + spos[c2]).ravel()
        )
        vals_l.append(val_s.ravel())
        row_lb = [lay.row_lb[r1], rlb_s.ravel()]
        row_ub = [lay.row_ub[r1], rub_s.ravel()]
        nrow = n1 + S * n2
        self._theta = self._eta = -1
        nzF = np.flatnonzero(cost[fcols])
        nzS = np.flatnonzero(cost[scols])
        wU = lay.unmet_weights()[scols]
        nzU = np.flatnonzero(wU)
        nxt = base
        if use_cvar:
            # a_s + θ − c_F x_F − c_S y_s ≥ 0 (offset left out of both sides: CVaR shifts by it)
            theta = self._theta = nxt
            acol = theta + 1 + np.arange(S)
            col_lb[theta] = -np.inf
            col_cost[theta] = w
            col_cost[acol] = w * p / (1.0 - a)
            for s in range(S):
                r = nrow + s
                k = nzF.size + nzS.size + 2
                rows_l.append(np.full(k, r, dtype=np.int64))
                cols_l.append(np.concatenate([nzF, nF + s * nS + nzS, [theta, acol[s]]]))
                vals_l.append(np.concatenate([-cost[fcols][nzF], -cost[scols][nzS], [1.0, 1.0]]))
            row_lb.append(np.zeros(S))
            row_ub.append(np.full(S, np.inf))
            nrow += S
            nxt = theta + 1 + S
        if use_cap:
            eta = self._eta = nxt
            bcol = eta + 1 + np.arange(S)
            col_lb[eta] = -np.inf
            for s in range(S):  # b_s + η − unmet_s ≥ 0
                rows_l.append(np.full(nzU.size + 2, nrow + s, dtype=np.int64))
                cols_l.append(np.concatenate([nF + s * nS + nzU, [eta, bcol[s]]]))
                vals_l.append(np.concatenate([-wU[nzU], [1.0, 1.0]]))
            row_lb.append(np.zeros(S))
            row_ub.append(np.full(S, np.inf))
            # η + Σ p b / (1 − α) ≤ cap
            rows_l.append(np.full(S + 1, nrow + S, dtype=np.int64))
            cols_l.append(np.concatenate([[eta], bcol]))
            vals_l.append(np.concatenate([[1.0], p / (1.0 - a)]))
            row_lb.append(np.array([-np.inf]))
            row_ub.append(np.array([float(cap or 0.0)]))
            nrow += S + 1
        Aext = sp.csc_matrix(
            (np.concatenate(vals_l), (np.concatenate(rows_l), np.concatenate(cols_l))),
            shape=(nrow, N),
        )
        Aext.sum_duplicates()
        Aext.sort_indices()

        lp = highspy.HighsLp()
        lp.num_col_ = N
        lp.num_row_ = nrow
        lp.col_cost_ = col_cost
        lp.col_lower_ = col_lb
        lp.col_upper_ = col_ub
        lp.row_lower_ = np.concatenate(row_lb)
        lp.row_upper_ = np.concatenate(row_ub)
        lp.offset_ = 0.0
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.num_col_ = N
        lp.a_matrix_.num_row_ = nrow
        lp.a_matrix_.start_ = Aext.indptr.astype(np.int32)
        lp.a_matrix_.index_ = Aext.indices.astype(np.int32)
        lp.a_matrix_.value_ = Aext.data
        self.is_mip = bool(is_int.any())
        if self.is_mip:
            integ = [highspy.HighsVarType.kContinuous] * N
            for j in np.flatnonzero(is_int):
                integ[int(j)] = highspy.HighsVarType.kInteger
            lp.integrality_ = integ
        h = highspy.Highs()  # type: ignore[no-untyped-call]
        h.setOptionValue("output_flag", False)
        h.setOptionValue("log_to_console", False)
        h.passModel(lp)
        self.h = h
        self.S, self.nF, self.nS, self.fcols, self.scols = S, nF, nS, fcols, scols
        self.size = {
            "scenarios": S,
            "variables": N,
            "constraints": nrow,
            "nonzeros": int(Aext.nnz),
            "binaries": int(is_int.sum()),
        }
        self.build_s = time.perf_counter() - t0

    def _first_vector(self, fs: FirstStage) -> F:
        """A full-length column vector with the first stage ``fs`` at the build and port columns."""
        d = self.layout.data
        b = np.zeros((len(d.cand_ids), d.n_periods))
        for cand, period, share in fs.builds:
            if cand in d.cand_ids and period in d.labels:
                b[d.cand_ids.index(cand), d.labels.index(period)] += share
        z = np.zeros(len(d.option_ids))
        for opt, v in fs.ports:
            if opt in d.option_ids:
                z[d.option_ids.index(opt)] = v
        out = np.zeros(self.layout.n_col)
        for name, val in ((BUILD, b), (PORT, z)):
            if name in self.layout.first_cols:
                _put(out, self.layout.first_cols[name], val)
        return out

    def solve(self, start: FirstStage | None = None) -> ExtensiveSolution:
        """Solve with HiGHS (MIP gap, time limit and threads of the plan options).

        ``start``: a first stage given to the MIP as a partial start (HiGHS completes the
        flows), e.g. the deterministic plan's: the search begins with an incumbent.
        """
        o, h = self.options, self.h
        if self.is_mip:
            h.setOptionValue("mip_rel_gap", float(o.mip_gap))
            if start is not None:
                val = self._first_vector(start)[self.fcols]
                h.setSolution(self.nF, np.arange(self.nF, dtype=np.int32), val)
        if o.time_limit_s is not None:
            h.setOptionValue("time_limit", float(o.time_limit_s))
        if o.threads is not None:
            h.setOptionValue("threads", int(o.threads))
        t0 = time.perf_counter()
        try:
            h.run()
        finally:
            _reset_threads()
        solve_s = time.perf_counter() - t0
        st = h.modelStatusToString(h.getModelStatus())
        info = h.getInfo()
        status = _status(st, float(info.mip_gap) if self.is_mip else None, o.mip_gap)
        sol = np.asarray(h.getSolution().col_value, dtype=float)
        if sol.size != self.size["variables"] or not np.all(np.isfinite(sol)):
            raise PlanError(
                Problem(f"the stochastic plan has no solution ({st})",
                        "raise --time-limit, loosen --gap or the --unmet-cvar-cap"),
                title="no stochastic plan",
            )  # fmt: skip
        lay = self.layout
        S, nF, nS = self.S, self.nF, self.nS
        xF = sol[:nF]
        Y = sol[nF : nF + S * nS].reshape(S, nS)
        cost = lay.cost
        cF = float(cost[self.fcols] @ xF)
        sc = (cF + Y @ cost[self.scols] + lay.offset) / OBJECTIVE_SCALE
        unmet = Y @ lay.unmet_weights()[self.scols]
        full = np.zeros(lay.n_col)
        full[self.fcols] = xF
        fs = _first_stage(lay, full, relax=self.options.relax)
        gap = float(info.mip_gap) if self.is_mip else (0.0 if status == "optimal" else None)
        obj = (float(info.objective_function_value) + lay.offset) / OBJECTIVE_SCALE
        ms = self.measure
        cvar_term = float("nan")
        if self._theta >= 0:
            th = sol[self._theta]
            aa = sol[self._theta + 1 : self._theta + 1 + S]
            cvar_term = (th + float(self.p @ aa) / (1.0 - ms.alpha) + lay.offset) / OBJECTIVE_SCALE
        return ExtensiveSolution(
            status=status,
            first_stage=fs,
            probabilities=self.p,
            scenario_cost_usd=np.asarray(sc, dtype=float),
            scenario_unmet_pflops=np.asarray(unmet, dtype=float),
            objective_usd=obj,
            cvar_term_usd=cvar_term,
            mip_gap=gap,
            size=dict(self.size),
            solve_s=solve_s,
            build_s=self.build_s,
            measure=ms,
        )


def _reset_threads() -> None:
    """Forget HiGHS's process-wide thread scheduler: a later solve with another ``threads``
    setting (the recourse runs with one thread) would otherwise fail ("Not Set")."""
    highspy.Highs.resetThreadScheduler(True)


def _first_stage(lay: LpLayout, full: F, relax: bool) -> FirstStage:
    """The builds and ports of a full-length solution vector (as ``FirstStage.from_plan_model``)."""
    d = lay.data
    builds: list[tuple[str, str, float]] = []
    ports: list[tuple[str, float]] = []
    if BUILD in lay.first_cols:
        c = lay.first_cols[BUILD]
        b = np.where(c >= 0, full[np.clip(c, 0, None)], 0.0)
        b = b if relax else np.round(b)
        for ci, ti in zip(*np.nonzero(b > 1e-6), strict=True):
            builds.append((d.cand_ids[ci], d.labels[ti], float(min(1.0, b[ci, ti]))))
    if PORT in lay.first_cols:
        c = lay.first_cols[PORT]
        z = np.where(c >= 0, full[np.clip(c, 0, None)], 0.0)
        z = z if relax else np.round(z)
        ports = [
            (k, float(np.clip(v, 0.0, 1.0)) + 0.0) for k, v in zip(d.option_ids, z, strict=True)
        ]
    return FirstStage(tuple(builds), tuple(ports))


def _data(scenario: Scenario, options: PlanOptions) -> PlanData:
    """The planner's index sets and coefficients for ``options`` (no linopy model)."""
    return build_data(scenario, options.period, options.build_start, options.terminal)


def mean_effects(effects: Sequence[Effects], probabilities: npt.ArrayLike | None = None) -> Effects:
    """The mean-value scenario: every multiplier averaged over ``effects`` (weighted by
    ``probabilities``, equal when None), in force from the first period (the expected-value
    problem of Birge & Louveaux)."""
    e0 = effects[0]
    w = None if probabilities is None else np.asarray(probabilities, dtype=float)

    def avg(name: str) -> F:
        arr = np.array([getattr(e, name) for e in effects], dtype=float)
        if w is None:
            out: F = arr.mean(axis=0)
        else:  # tensordot, not np.average: it fails on an empty multiplier array
            out = np.tensordot(w / w.sum(), arr, axes=1)
        return out

    return Effects(
        avg("site_capacity"),
        avg("route_output"),
        avg("offer_allocation"),
        avg("compute_demand"),
        avg("unit_demand"),
        min(e.first_period for e in effects) if effects else e0.first_period,
        (),
    )


def solve_extensive(
    scenario: Scenario,
    options: PlanOptions,
    effects: Sequence[Effects],
    probabilities: npt.ArrayLike | None = None,
    measure: RiskMeasure | None = None,
    fixed: FirstStage | None = None,
    start: FirstStage | None = None,
    model: PlanModel | None = None,
) -> ExtensiveSolution:
    """Build and solve the extensive form (see :class:`ExtensiveForm`); ``start``: a MIP
    start for the first stage (see :meth:`ExtensiveForm.solve`)."""
    ef = ExtensiveForm(scenario, options, effects, probabilities, measure, fixed, model)
    return ef.solve(start)


def _wait_and_see(
    scenario: Scenario, options: PlanOptions, effects: Effects
) -> tuple[float, float, str]:
    """One scenario solved with its own first stage: (cost PV USD, unmet PFLOP/s, status)."""
    s = solve_extensive(scenario, options, [effects])
    return float(s.scenario_cost_usd[0]), float(s.scenario_unmet_pflops[0]), s.status


# The whole stochastic plan ---------------------------------------------------------------


@dataclass(frozen=True)
class StochasticOptions:
    """What ``fabnet plan --stochastic N`` asks for."""

    scenarios: int = 50  #: N in-sample scenarios
    seed: int = 0  #: sampler seed of the in-sample scenarios
    #: how they are drawn: "mc" (equal weights), "importance" (rare events oversampled,
    #: self-normalised likelihood ratios) or "stratified" (docs/stochastic.md)
    sampling: str = "stratified"
    #: plain Monte Carlo samples of the deterministic plan that set the stratified allocation
    pilot_samples: int = 200
    measure: RiskMeasure = field(default_factory=RiskMeasure)
    events: tuple[str, ...] | None = None  #: catalogue events sampled (all when None)
    wait_and_see: bool = True  #: solve each scenario alone for WS / EVPI
    #: fresh samples for the out-of-sample check (0: none); seed = seed + OOS_SEED_OFFSET
    oos_samples: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenarios": self.scenarios,
            "seed": self.seed,
            "sampling": self.sampling,
            "pilot_samples": self.pilot_samples,
            "risk_aversion": self.measure.risk_aversion,
            "cvar_alpha": self.measure.alpha,
            "unmet_cvar_cap_pflops": self.measure.unmet_cvar_cap_pflops,
            "events": list(self.events) if self.events is not None else None,
            "oos_samples": self.oos_samples,
        }


#: Seed offset of the out-of-sample draws (a different stream from the in-sample scenarios).
OOS_SEED_OFFSET = 1_000_003
#: Seed offset of the pilot draws of the stratified allocation (another stream again).
PILOT_SEED_OFFSET = 2_000_003


def pilot_sd(
    scenario: Scenario,
    options: PlanOptions,
    sampler: Sampler,
    fs: FirstStage,
    n: int,
    seed: int,
    samples: int,
) -> F:
    """Standard deviation of the cost (PV USD) of first stage ``fs`` in each stratum of
    :meth:`Sampler.strata` for ``n`` scenarios, from ``samples`` plain Monte Carlo draws
    (seed ``seed + PILOT_SEED_OFFSET``) evaluated by the risk engine (anticipative flows,
    like the two-stage model). A stratum with fewer than 2 pilot draws gets the largest
    estimated deviation (it is not under-sampled for lack of data)."""
    _, pats, _ = sampler.strata(n)
    drawn = [sampler.draw_counts(seed + PILOT_SEED_OFFSET, i) for i in range(samples)]
    _reset_threads()
    b = evaluate_batch(RecourseSpec(scenario, options, fs), [e for e, _ in drawn], "exact",
                       anticipative_flows=True)  # fmt: skip
    h = np.array([sampler.stratum_of(c, n) for _, c in drawn], dtype=np.int64)
    sd = np.full(len(pats), np.nan)
    for k in range(len(pats)):
        x = b.cost_pv_usd[h == k]
        if x.size >= 2:
            sd[k] = float(np.std(x, ddof=1))
    fill = float(np.nanmax(sd)) if np.isfinite(sd).any() else 1.0
    out: F = np.where(np.isfinite(sd), sd, fill)
    return out


def in_sample_scenarios(
    scenario: Scenario,
    options: PlanOptions,
    sto: StochasticOptions,
    sampler: Sampler,
    fs: FirstStage | None = None,
) -> ScenarioSet:
    """The in-sample scenarios of ``sto`` (``sto.sampling``); stratified with a pilot of
    first stage ``fs`` (Neyman allocation, :func:`pilot_sd`) when given, else proportional."""
    if sto.sampling not in SAMPLINGS:
        raise PlanError(Problem(f"--sampling {sto.sampling!r} is not one of {', '.join(SAMPLINGS)}",
                                "give --sampling mc, importance or stratified"))  # fmt: skip
    sd = None
    if sto.sampling == "stratified":
        H = len(sampler.strata(sto.scenarios)[1])
        if fs is not None and sto.pilot_samples > 0 and H > 1:
            sd = pilot_sd(scenario, options, sampler, fs, sto.scenarios, sto.seed,
                          sto.pilot_samples)  # fmt: skip
    return sampler.scenario_set(sto.sampling, sto.seed, sto.scenarios, sd)


@dataclass
class StochasticResult:
    """A stochastic plan: the stored plan view, the measures, and the deterministic baseline.

    ``plan`` is the planner's :class:`Plan` with the first stage fixed at the stochastic
    decisions in the undisturbed world (its tables are the flows of that world).
    """

    plan: Plan
    rp: ExtensiveSolution  #: the stochastic (recourse) problem
    eev: ExtensiveSolution  #: the deterministic plan's first stage on the same scenarios
    deterministic: Plan  #: the deterministic plan (one scenario, no disruption)
    deterministic_first_stage: FirstStage
    ws_cost_usd: F | None  #: (S,) each scenario with its own first stage (None: not solved)
    options: StochasticOptions
    oos: dict[str, dict[str, float]] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)
    #: the textbook mean-value problem (Birge & Louveaux): the plan for the scenarios' mean
    #: multipliers, and its first stage on the same scenarios (None: not solved)
    mean_value: ExtensiveSolution | None = None
    eev_mean_value: ExtensiveSolution | None = None
    #: how the in-sample scenarios were drawn (None: given by the caller, equal weights)
    scenario_set: ScenarioSet | None = None

    def _risk(self, costs: F) -> float:
        ms = self.options.measure
        p = self.rp.probabilities
        cvar = var_cvar(costs, ms.alpha, p)[1] if ms.risk_aversion > 0 else 0.0
        return (1.0 - ms.risk_aversion) * mean(costs, p) + ms.risk_aversion * cvar

    @property
    def rp_usd(self) -> float:
        return self.rp.risk_objective_usd()

    @property
    def eev_usd(self) -> float:
        return self.eev.risk_objective_usd()

    @property
    def ws_usd(self) -> float | None:
        return None if self.ws_cost_usd is None else self._risk(self.ws_cost_usd)

    def summary(self) -> dict[str, Any]:
        """The ``stochastic`` object of ``fabnet plan --stochastic N --json``."""
        rp, o = self.rp, self.options
        ws = self.ws_usd
        det_fs = self.deterministic_first_stage
        return {
            "scenarios": o.scenarios,
            "seed": o.seed,
            "sampling": o.sampling if self.scenario_set is not None else "given",
            "probabilities": _prob_words(o.sampling if self.scenario_set is not None else "mc"),
            "effective_scenarios": float(1.0 / np.sum(rp.probabilities**2)),
            "risk_aversion": o.measure.risk_aversion,
            "cvar_alpha": o.measure.alpha,
            "unmet_cvar_cap_pflops": o.measure.unmet_cvar_cap_pflops,
            "status": rp.status,
            "mip_gap": rp.mip_gap,
            "objective_usd": self.rp_usd,
            "expected_cost_usd": rp.expected_cost_usd,
            "cvar95_cost_usd": rp.cvar_cost_usd(0.95),
            "expected_unmet_pflops": mean(rp.scenario_unmet_pflops, rp.probabilities),
            "cvar95_unmet_pflops": rp.cvar_unmet_pflops(0.95),
            "deterministic": {
                "objective_usd": self.deterministic.objective_usd,
                "eev_usd": self.eev_usd,
                "expected_cost_usd": self.eev.expected_cost_usd,
                "cvar95_cost_usd": self.eev.cvar_cost_usd(0.95),
                "cvar95_unmet_pflops": self.eev.cvar_unmet_pflops(0.95),
                "first_stage": _fs_json(det_fs),
            },
            "rp_usd": self.rp_usd,
            "eev_usd": self.eev_usd,
            "ws_usd": ws,
            "vss_usd": self.eev_usd - self.rp_usd,
            "evpi_usd": None if ws is None else self.rp_usd - ws,
            "mean_value": None
            if self.mean_value is None or self.eev_mean_value is None
            else {
                "first_stage": _fs_json(self.mean_value.first_stage),
                "eev_usd": self.eev_mean_value.risk_objective_usd(),
                "vss_usd": self.eev_mean_value.risk_objective_usd() - self.rp_usd,
            },
            "first_stage": _fs_json(rp.first_stage),
            "size": rp.size,
            "out_of_sample": self.oos,
            "timings_s": self.timings_s,
        }


def _prob_words(sampling: str) -> str:
    """How the scenario probabilities were set, in words (the summary's ``probabilities``)."""
    return {
        "mc": "equal",
        "importance": "self-normalised likelihood ratios",
        "stratified": "stratum probability / scenarios in the stratum",
    }[sampling]


def _fs_json(fs: FirstStage) -> dict[str, Any]:
    return {
        "builds": [{"site": c, "start_period": t, "share": s} for c, t, s in fs.builds],
        "ports": {k: v for k, v in fs.ports if v > 0},
    }


def fixed_plan(scenario: Scenario, options: PlanOptions, fs: FirstStage) -> Plan:
    """The planner's :class:`Plan` with the first stage fixed at ``fs`` (undisturbed world)."""

    def fix(pm: PlanModel) -> None:
        m = pm.model
        d = pm.data
        b = np.zeros((len(d.cand_ids), d.n_periods))
        for cand, period, share in fs.builds:
            b[d.cand_ids.index(cand), d.labels.index(period)] += share
        z = np.zeros(len(d.option_ids))
        for opt, v in fs.ports:
            if opt in d.option_ids:
                z[d.option_ids.index(opt)] = v
        for name, val in ((BUILD, b), (PORT, z)):
            if name in m.variables:
                var = m.variables[name]
                var.fix(np.round(val) if not options.relax else val)

    return plan(scenario, options, extra_functionality=fix)


def evaluate_out_of_sample(
    scenario: Scenario,
    options: PlanOptions,
    fs: FirstStage,
    effects: Sequence[Effects],
    alpha: float = 0.95,
) -> dict[str, float]:
    """The risk engine's recourse of ``fs`` on ``effects``: expected cost, CVaR_α of cost and
    of unmet compute, with the flows kept as planned before each first event (``recourse``)
    and with flows that know the timeline (``anticipative``, like the stochastic model)."""
    spec = RecourseSpec(scenario, options, fs)
    _reset_threads()  # the planner's solves may have started HiGHS with more threads
    out: dict[str, float] = {"samples": float(len(effects))}
    for mode, ant in (("recourse", False), ("anticipative", True)):
        b = evaluate_batch(spec, effects, "exact", anticipative_flows=ant)
        unmet = b.unmet_pflops.mean(axis=1)
        out[f"{mode}_expected_cost_usd"] = mean(b.cost_pv_usd)
        out[f"{mode}_cvar95_cost_usd"] = var_cvar(b.cost_pv_usd, alpha)[1]
        out[f"{mode}_expected_unmet_pflops"] = mean(unmet)
        out[f"{mode}_cvar95_unmet_pflops"] = var_cvar(unmet, alpha)[1]
    return out


def stochastic_plan(
    scenario: Scenario,
    options: PlanOptions,
    sto: StochasticOptions,
    progress: Callable[[str], None] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    effects: Sequence[Effects] | None = None,
) -> StochasticResult:
    """The two-stage plan of ``scenario`` over ``sto.scenarios`` sampled disruption timelines,
    with VSS, EVPI (wait-and-see solves through :func:`fabnet.parallel.parallel_map`) and,
    with ``sto.oos_samples``, the out-of-sample check of both plans.

    ``effects``: the in-sample scenarios themselves (equal weights) instead of sampling the
    catalogue (e.g. hand-made cases); the out-of-sample check still samples the catalogue.
    """
    from fabnet.parallel import parallel_map

    def say(msg: str) -> None:
        if progress:
            progress(msg)

    sto.measure.check()
    if sto.scenarios < 1:
        raise PlanError(Problem(f"--stochastic {sto.scenarios}: needs at least 1 scenario",
                                "give the number of sampled scenarios, e.g. 50"))  # fmt: skip
    tm: dict[str, float] = {}
    t0 = time.perf_counter()
    say("deterministic plan")
    det_pm = solve_model(build_model(scenario, options))
    det_fs = FirstStage.from_plan_model(det_pm)
    det = read_solution(det_pm)
    tm["deterministic"] = time.perf_counter() - t0
    t = time.perf_counter()
    say(f"sampling scenarios ({sto.sampling})")
    sampler: Sampler | None = None
    probs: F | None = None
    sset: ScenarioSet | None = None
    if effects is None:
        sampler = catalogue_sampler(_data(scenario, options), scenario, sto.events)
        sset = in_sample_scenarios(scenario, options, sto, sampler, det_fs)
        effects, probs = sset.effects, sset.probabilities
    tm["sampling"] = time.perf_counter() - t
    say(f"solving the extensive form ({sto.scenarios} scenarios)")
    ef_pm = build_model(scenario, options)  # one planner model for the four extensive forms
    rp = solve_extensive(scenario, options, effects, probs, measure=sto.measure, start=det_fs,
                         model=ef_pm)  # fmt: skip
    tm["extensive_form"] = time.perf_counter() - t
    t = time.perf_counter()
    say("EEV: the deterministic first stage on the same scenarios")
    eev = solve_extensive(scenario, options, effects, probs, measure=sto.measure, fixed=det_fs,
                          model=ef_pm)  # fmt: skip
    tm["eev"] = time.perf_counter() - t
    t = time.perf_counter()
    say("EEV of the mean-value problem (the scenarios' mean multipliers)")
    mv = solve_extensive(scenario, options, [mean_effects(effects, probs)], start=det_fs,
                         model=ef_pm)  # fmt: skip
    eev_mv = solve_extensive(scenario, options, effects, probs, measure=sto.measure,
                             fixed=mv.first_stage, model=ef_pm)  # fmt: skip
    tm["eev_mean_value"] = time.perf_counter() - t
    ws: F | None = None
    if sto.wait_and_see:
        t = time.perf_counter()
        say(f"WS: {sto.scenarios} scenarios, each with its own first stage")
        res = parallel_map(
            partial(_wait_and_see, scenario, options),
            effects,
            workers=workers,
            scheduler=scheduler,
        )
        ws = np.array([r[0] for r in res], dtype=float)
        tm["wait_and_see"] = time.perf_counter() - t
    t = time.perf_counter()
    say("the plan's tables (stochastic first stage, undisturbed world)")
    pl = fixed_plan(scenario, options, rp.first_stage)
    tm["tables"] = time.perf_counter() - t
    result = StochasticResult(
        plan=pl,
        rp=rp,
        eev=eev,
        deterministic=det,
        deterministic_first_stage=det_fs,
        ws_cost_usd=ws,
        options=sto,
        timings_s=tm,
        mean_value=mv,
        eev_mean_value=eev_mv,
        scenario_set=sset,
    )
    if sto.oos_samples > 0:
        t = time.perf_counter()
        say(f"out of sample: {sto.oos_samples} fresh samples")
        if sampler is None:
            sampler = catalogue_sampler(_data(scenario, options), scenario, sto.events)
        fresh = [sampler.draw(sto.seed + OOS_SEED_OFFSET, i) for i in range(sto.oos_samples)]
        result.oos = {
            "stochastic": evaluate_out_of_sample(scenario, options, rp.first_stage, fresh),
            "deterministic": evaluate_out_of_sample(scenario, options, det_fs, fresh),
        }
        tm["out_of_sample"] = time.perf_counter() - t
    tm["total"] = time.perf_counter() - t0
    return result


# The risk–cost frontier ------------------------------------------------------------------


@dataclass
class FrontierPoint:
    """One ω of the frontier: the stochastic solution and its plan view (as a stored plan)."""

    risk_aversion: float
    solution: ExtensiveSolution
    plan: Plan

    def to_json(self) -> dict[str, Any]:
        s = self.solution
        return {
            "risk_aversion": self.risk_aversion,
            "status": s.status,
            "mip_gap": s.mip_gap,
            "objective_usd": s.risk_objective_usd(),
            "expected_cost_usd": s.expected_cost_usd,
            "cvar95_cost_usd": s.cvar_cost_usd(0.95),
            "expected_unmet_pflops": mean(s.scenario_unmet_pflops, s.probabilities),
            "cvar95_unmet_pflops": s.cvar_unmet_pflops(0.95),
            "first_stage": _fs_json(s.first_stage),
        }


def frontier_point(
    scenario: Scenario, options: PlanOptions, sto: StochasticOptions, risk_aversion: float
) -> FrontierPoint:
    """Solve the stochastic plan at one ω (scenarios drawn here: keyed by seed, so every
    point, in any process, sees the same scenarios; a stratified set is allocated in
    proportion to the strata's probabilities, without the pilot of :func:`stochastic_plan`)."""
    sampler = catalogue_sampler(_data(scenario, options), scenario, sto.events)
    sset = in_sample_scenarios(scenario, options, sto, sampler)
    measure = replace(sto.measure, risk_aversion=float(risk_aversion))
    sol = solve_extensive(scenario, options, sset.effects, sset.probabilities, measure=measure)
    return FrontierPoint(float(risk_aversion), sol, fixed_plan(scenario, options, sol.first_stage))


def frontier(
    scenario: Scenario,
    options: PlanOptions,
    sto: StochasticOptions,
    points: int,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[FrontierPoint]:
    """The risk–cost frontier: ``points`` values of ω evenly from 0 to 1, solved in parallel
    through :func:`fabnet.parallel.parallel_map` (one point per task)."""
    from fabnet.parallel import parallel_map

    sto.measure.check()
    if points < 2:
        raise PlanError(Problem(f"--points {points}: a frontier needs at least 2 points",
                                "give e.g. --points 6"))  # fmt: skip
    omegas = [float(w) for w in np.linspace(0.0, 1.0, points)]
    return parallel_map(
        partial(frontier_point, scenario, options, sto),
        omegas,
        workers=workers,
        scheduler=scheduler,
        chunk_size=1,
        progress=progress,
    )
