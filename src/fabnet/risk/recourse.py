"""Recourse evaluation of a plan under one sampled disruption (docs/risk-evaluation.md).

The plan's first stage (candidate builds and porting decisions) stays fixed; the flows
(wafer starts, units, GPU purchases, unmet demand) are re-optimised from the first
disrupted period on, the earlier periods staying as planned (nobody knew). The recourse
problem is the planner's own LP (:func:`fabnet.plan.build_model`), exported once to a
``highspy.Highs`` object per worker; a sample only changes bounds and coefficients there
and restores them afterwards, so the linopy model is never rebuilt.

:class:`RecourseSpec` is the light, picklable description sent to workers;
:class:`Recourse` the heavy solver state built from it once per process
(:func:`evaluate_batch` caches it).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import highspy
import numpy as np
import numpy.typing as npt
import pandas as pd

from fabnet.errors import PlanError, Problem
from fabnet.plan import PlanModel, PlanOptions, build_model
from fabnet.plan.clearing_constraints import CANDIDATE_ALLOCATION, SITE_ALLOCATION
from fabnet.plan.clearing_constraints import OUTPUT as FAB_OUTPUT
from fabnet.plan.constraints import (
    CANDIDATE_CAPACITY,
    COMPUTE_DEMAND,
    PRODUCT_DIES,
    PRODUCT_HBM,
    PRODUCT_PACKAGING,
    SITE_CAPACITY,
    UNIT_DEMAND,
)
from fabnet.plan.model import _silence_banner
from fabnet.plan.objective import OBJECTIVE_SCALE
from fabnet.plan.policies import COUNTRY_SHARE, VENDOR_SHARE
from fabnet.plan.sets import PlanData, build_data
from fabnet.plan.variables import (
    BUILD,
    OFFER,
    PORT,
    UNITS,
    UNMET_COMPUTE,
    UNMET_UNITS,
    UNTAKEN,
    WAFERS,
)
from fabnet.risk.effects import Effects
from fabnet.scenario.schema import Scenario

F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]  # noqa: E741

Method = Literal["exact", "screen"]
#: Flows below this are solver noise (as in :mod:`fabnet.plan.solution`).
EPS = 1e-9


# First stage -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FirstStage:
    """The plan's here-and-now decisions, fixed in the recourse.

    ``builds``: (candidate site id, start period label, share) — the share is 1 for a
    MILP plan and the value of the relaxed build variable with ``--relax``.
    ``ports``: (porting option id ``product|process``, 0–1). Options not listed are 0.
    """

    builds: tuple[tuple[str, str, float], ...] = ()
    ports: tuple[tuple[str, float], ...] = ()

    @property
    def build_starts(self) -> dict[str, str]:
        """Candidate id → start period label (the first start when a relaxed plan splits)."""
        out: dict[str, str] = {}
        for cand, period, _share in self.builds:
            out.setdefault(cand, period)
        return out

    @classmethod
    def from_plan_model(cls, pm: PlanModel) -> FirstStage:
        """The first stage of a solved planner model."""
        if pm.status is None:
            raise PlanError("the model has not been solved; call solve_model first")
        d, m = pm.data, pm.model
        builds: list[tuple[str, str, float]] = []
        if BUILD in m.variables and len(d.cand_ids):
            b = np.nan_to_num(np.asarray(m.variables[BUILD].solution.values, dtype=float))
            b = b if pm.options.relax else np.round(b)
            for ci, ti in zip(*np.nonzero(b > 1e-6), strict=True):
                builds.append((d.cand_ids[ci], d.labels[ti], float(min(1.0, b[ci, ti]))))
        ports: list[tuple[str, float]] = []
        if PORT in m.variables and len(d.option_ids):
            z = np.nan_to_num(np.asarray(m.variables[PORT].solution.values, dtype=float))
            z = z if pm.options.relax else np.round(z)
            ports = [
                (k, float(np.clip(v, 0.0, 1.0)) + 0.0) for k, v in zip(d.option_ids, z, strict=True)
            ]
        return cls(tuple(builds), tuple(ports))

    @classmethod
    def from_tables(
        cls,
        builds: pd.DataFrame,
        ports: Mapping[str, float] | None = None,
        *,
        scenario: Scenario | None = None,
        supply: pd.DataFrame | None = None,
        relaxed: bool = False,
    ) -> FirstStage:
        """The first stage of a stored plan run.

        ``builds`` is the plan's ``builds`` table (``site``, ``start_period``). A MILP plan's
        builds are whole; for a ``relaxed`` plan (``--relax``) with ``scenario`` the share of
        each build is its ``capex_usd`` over the capex the designer pays for a whole build. ``ports`` is
        ``summary["ports"]`` (option id → 0/1), stored since the risk layer; for older runs
        pass the ``supply`` table instead: an option counts as ported when its product was
        made on its process (exact whenever porting costs money, since an optimal plan
        never pays for a port it does not use).
        """
        capex: dict[str, float] = {}
        if scenario is not None and relaxed:
            # what the designer pays for a whole build (capex × reservable share when
            # co-funded), from the planner's own data: the builds table holds that share
            d = build_data(scenario, None)
            capex = {c: float(v) for c, v in zip(d.cand_ids, d.cand_capex_usd, strict=True)}
        rows: list[tuple[str, str, float]] = []
        paid_col = builds["capex_usd"] if "capex_usd" in builds else [None] * len(builds)
        for site_v, start_v, paid in zip(
            builds["site"], builds["start_period"], paid_col, strict=True
        ):
            site, start = str(site_v), str(start_v)
            share = 1.0
            c = capex.get(site, 0.0)
            if c > 0 and paid is not None and math.isfinite(float(paid)):
                share = float(min(1.0, max(0.0, float(paid) / c)))
                share = 1.0 if abs(share - 1.0) < 1e-9 else share
            rows.append((site, start, share))
        port_rows: list[tuple[str, float]] = []
        if ports is not None:
            port_rows = [(str(k), float(v)) for k, v in sorted(ports.items())]
        elif supply is not None and len(supply):
            own = supply[(supply["source_kind"] == "own") & (supply["wafers"] > 0)]
            used = sorted({f"{s}|{p}" for s, p in zip(own["source"], own["process"], strict=True)})
            port_rows = [(k, 1.0) for k in used]
        return cls(tuple(rows), tuple(port_rows))


# Spec, outcome ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RecourseSpec:
    """What a worker needs to build a :class:`Recourse` (light and picklable)."""

    scenario: Scenario
    options: PlanOptions
    first_stage: FirstStage

    def key(self) -> str:
        """A stable hash of the spec (the per-process cache key)."""
        h = hashlib.sha256()
        h.update(self.scenario.model_dump_json().encode())
        h.update(json.dumps(self.options.as_dict(), sort_keys=True).encode())
        h.update(repr(self.first_stage).encode())
        return h.hexdigest()


@dataclass(frozen=True, eq=False)
class Outcome:
    """What one sample costs and leaves unmet (see docs/risk-evaluation.md)."""

    method: str  #: "exact" (recourse LP), "screen" (plan's flows scaled) or "baseline"
    status: str  #: "optimal" for the exact LP; the HiGHS model status otherwise
    cost_pv_usd: float  #: recourse objective, PV USD, unmet penalty included
    spend_pv_usd: float  #: the same without the unmet penalties, PV USD
    unmet_pflops: F  #: (Y,) yearly mean of unmet compute, PFLOP/s
    unmet_units: F  #: (Y,) units of unit demands not delivered per year
    service_level: float  #: delivered / required compute over the horizon, 0–1
    first_period: int  #: first disrupted period (T: undisturbed)
    #: (T,) unmet compute per period, PFLOP/s (for the stress figures' time to survive)
    unmet_period_pflops: F = field(default_factory=lambda: np.zeros(0))
    #: the solved flows by linopy variable name (only with ``evaluate(..., flows=True)``)
    flows: dict[str, F] | None = None


@dataclass(frozen=True, eq=False)
class SampleBatch:
    """Outcomes of many samples as arrays (row i = sample i of the batch)."""

    method: str
    cost_pv_usd: F  #: (n,)
    spend_pv_usd: F  #: (n,)
    unmet_pflops: F  #: (n, Y)
    unmet_units: F  #: (n, Y)
    service_level: F  #: (n,)
    first_period: I  #: (n,)
    status: tuple[str, ...] = ()
    years: tuple[int, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        return int(self.cost_pv_usd.shape[0])

    @classmethod
    def from_outcomes(
        cls, outcomes: Sequence[Outcome], method: str, years: Sequence[int]
    ) -> SampleBatch:
        """Stack outcomes into arrays."""
        Y = len(years)
        return cls(
            method=method,
            cost_pv_usd=np.array([o.cost_pv_usd for o in outcomes], dtype=float),
            spend_pv_usd=np.array([o.spend_pv_usd for o in outcomes], dtype=float),
            unmet_pflops=np.array([o.unmet_pflops for o in outcomes], dtype=float).reshape(-1, Y),
            unmet_units=np.array([o.unmet_units for o in outcomes], dtype=float).reshape(-1, Y),
            service_level=np.array([o.service_level for o in outcomes], dtype=float),
            first_period=np.array([o.first_period for o in outcomes], dtype=np.int64),
            status=tuple(o.status for o in outcomes),
            years=tuple(int(y) for y in years),
        )

    @classmethod
    def concat(cls, batches: Sequence[SampleBatch]) -> SampleBatch:
        """Join batches in order (e.g. the chunks of a parallel map)."""
        if not batches:
            raise ValueError("no batches to join")
        b0 = batches[0]
        return cls(
            method=b0.method,
            cost_pv_usd=np.concatenate([b.cost_pv_usd for b in batches]),
            spend_pv_usd=np.concatenate([b.spend_pv_usd for b in batches]),
            unmet_pflops=np.concatenate([b.unmet_pflops for b in batches]),
            unmet_units=np.concatenate([b.unmet_units for b in batches]),
            service_level=np.concatenate([b.service_level for b in batches]),
            first_period=np.concatenate([b.first_period for b in batches]),
            status=tuple(s for b in batches for s in b.status),
            years=b0.years,
        )


# The recourse model ----------------------------------------------------------------------

#: HiGHS options of the recourse solves (measured in benchmarks/risk_recourse.py):
#: dual simplex from the baseline basis, no presolve (a valid basis skips it anyway),
#: one thread, a fixed seed: the same model and start give the same bits.
HIGHS_OPTIONS: dict[str, Any] = {
    "output_flag": False,
    "log_to_console": False,
    "solver": "simplex",
    "simplex_strategy": 1,
    "presolve": "off",
    "threads": 1,
    "random_seed": 0,
}


def _positions(labels: np.ndarray, pos_of: I) -> I:
    """linopy labels (any shape, -1 masked) → HiGHS column/row positions (-1 masked)."""
    lab = np.asarray(labels, dtype=np.int64)
    inside = (lab >= 0) & (lab < pos_of.size)  # a row linopy dropped has no position
    out: I = np.where(inside, pos_of[np.clip(lab, 0, pos_of.size - 1)], -1)
    return out


def _take(values: F, cols: I) -> F:
    """Values at the positions ``cols`` (0 where masked)."""
    out: F = np.where(cols >= 0, values[np.clip(cols, 0, None)], 0.0)
    return out


def _put(values: F, cols: I, new: F) -> None:
    sel = cols >= 0
    values[cols[sel]] = np.broadcast_to(new, cols.shape)[sel]


def _in_service(a: F, shift: I, life: I) -> F:
    """(N, T): Σ_{j=shift}^{shift+life-1} a[n, t-j] (units in service from decisions ``a``)."""
    N, T = a.shape
    c = np.concatenate([np.zeros((N, 1)), np.cumsum(a, axis=1)], axis=1)  # c[:, k] = Σ a[:, :k]
    t = np.arange(T)[None, :]
    hi = np.clip(t - shift[:, None] + 1, 0, T)
    lo = np.clip(t - shift[:, None] - life[:, None] + 1, 0, T)
    out: F = np.take_along_axis(c, hi, axis=1) - np.take_along_axis(c, lo, axis=1)
    return out


def _mult_bound(bound: F, mult: F) -> F:
    """bound × mult with 0 × inf = 0 (a withdrawn offer without an allocation limit)."""
    with np.errstate(invalid="ignore"):
        out: F = np.where(mult == 0.0, 0.0, bound * mult)
    return out


class LpLayout:
    """Where the planner's quantities sit in its HiGHS LP, and what an :class:`Effects` changes.

    Shared by the recourse (one plan's first stage fixed, :class:`Recourse`) and the
    two-stage stochastic planner (:mod:`fabnet.risk.stochastic`, one block per scenario):
    one mapping from planner index space to HiGHS rows, columns and coefficients.
    ``h`` is ``pm.model.to_highspy()`` (columns and rows in ``model.matrices`` order).
    """

    def __init__(self, pm: PlanModel, h: highspy.Highs) -> None:
        self.data: PlanData = pm.data
        d, m = pm.data, pm.model
        M = m.matrices
        if not np.all(M.var_scaling == 1.0):
            raise PlanError("the recourse needs an unscaled model (linopy solver scaling is on)")
        n_col, n_row = h.getNumCol(), h.getNumRow()
        self.n_col, self.n_row = n_col, n_row
        pos_col = np.full(int(M.vlabels.max()) + 1 if len(M.vlabels) else 1, -1, dtype=np.int64)
        pos_col[M.vlabels] = np.arange(len(M.vlabels))
        pos_row = np.full(int(M.clabels.max()) + 1 if len(M.clabels) else 1, -1, dtype=np.int64)
        pos_row[M.clabels] = np.arange(len(M.clabels))

        def cols(name: str) -> I:
            return _positions(m.variables[name].labels.values, pos_col)

        def rows(name: str) -> I | None:
            if name not in m.constraints:
                return None
            return _positions(m.constraints[name].labels.values, pos_row)

        self.cols = cols
        self.rows = rows
        T = d.n_periods
        self.T = T
        lp = h.getLp()
        self.col_lb = np.array(lp.col_lower_, dtype=float)
        self.col_ub = np.array(lp.col_upper_, dtype=float)
        self.cost = np.array(lp.col_cost_, dtype=float)
        self.row_lb = np.array(lp.row_lower_, dtype=float)
        self.row_ub = np.array(lp.row_upper_, dtype=float)
        self.offset = float(m.objective.expression.const) if _has_const(m) else 0.0
        #: the constraint matrix in HiGHS positions (rows × columns)
        self.A = M.A.tocsr() if M.A is not None else None

        self.var_cols = {name: cols(name) for name in m.variables}
        # Column maps of the flows.
        self.x = cols(WAFERS)  # (R, T)
        self.u = cols(UNITS)  # (P, T)
        self.g = cols(OFFER)  # (O, T)
        self.q = cols(UNTAKEN)  # (O, Y)
        self.e = cols(UNMET_COMPUTE)  # (D, T)
        self.v = cols(UNMET_UNITS)  # (U, T)
        #: first-stage columns (builds, ports) by variable name
        self.first_cols = {n: cols(n) for n in (BUILD, PORT) if n in m.variables}
        # Time of each column (for fixing the periods before the first event): the period,
        # or the last period of the year for yearly variables; first-stage columns never.
        col_time = np.full(n_col, np.iinfo(np.int64).max, dtype=np.int64)
        last_of_year = np.array(
            [np.flatnonzero(d.year_index == y).max() for y in range(len(d.year_list))]
        ).reshape(len(d.year_list))
        for name in m.variables:
            if name in (BUILD, PORT):
                continue
            var = m.variables[name]
            lab = _positions(var.labels.values, pos_col)
            if "period" in var.dims:
                tt = np.broadcast_to(
                    np.arange(T).reshape([T if dim == "period" else 1 for dim in var.dims]),
                    lab.shape,
                )
            elif "year" in var.dims:
                Y = len(d.year_list)
                tt = np.broadcast_to(
                    last_of_year.reshape([Y if dim == "year" else 1 for dim in var.dims]),
                    lab.shape,
                )
            else:
                continue
            sel = lab >= 0
            col_time[lab[sel]] = tt[sel]
        self.col_time = col_time
        order = np.argsort(col_time, kind="stable")
        self.time_order = order
        self.time_sorted = col_time[order]

        # Rows the effects touch.
        def site_rows(name: str) -> tuple[I | None, I]:
            """Rows of a per-site constraint and each row's site index (empty if absent)."""
            r = rows(name)
            if r is None:
                return None, np.zeros(0, dtype=np.int64)
            sites = [str(x) for x in m.constraints[name].labels.coords["site"].values]
            return r, np.array([d.site_ids.index(x) for x in sites], dtype=np.int64)

        self.site_rows, self.site_rows_site = site_rows(SITE_CAPACITY)
        # --lead-times load: the capacity the clearing functions share (C3), scaled alike
        self.alloc_rows, self.alloc_rows_site = site_rows(SITE_ALLOCATION)
        self.cand_alloc_rows: I | None = rows(CANDIDATE_ALLOCATION)  # (C', T)
        self.cand_alloc_cand = np.zeros(0, dtype=np.int64)
        if self.cand_alloc_rows is not None:
            cands = m.constraints[CANDIDATE_ALLOCATION].labels.coords["candidate"].values
            self.cand_alloc_cand = np.array(
                [d.cand_ids.index(str(c)) for c in cands], dtype=np.int64
            )
        A = self.A
        self.cand_rows = rows(CANDIDATE_CAPACITY)  # (C, T)
        # Build coefficients of the candidate-capacity rows (−full × ramp): scaled by the
        # site's capacity multiplier when the builds are decisions (stochastic planner).
        z64 = np.zeros(0, dtype=np.int64)
        self.cand_coef_row, self.cand_coef_col, self.cand_coef_val = z64, z64, np.zeros(0)
        self.cand_coef_c, self.cand_coef_t = z64, z64
        if self.cand_rows is not None and A is not None and BUILD in m.variables:
            row_c = np.full(n_row, -1, dtype=np.int64)
            row_t = np.full(n_row, -1, dtype=np.int64)
            cc, ct = np.nonzero(self.cand_rows >= 0)
            row_c[self.cand_rows[cc, ct]] = cc
            row_t[self.cand_rows[cc, ct]] = ct
            is_build = np.zeros(n_col, dtype=bool)
            bc = cols(BUILD)
            is_build[bc[bc >= 0]] = True
            coo = A.tocoo()
            sel = (row_c[coo.row] >= 0) & is_build[coo.col]
            self.cand_coef_row = coo.row[sel].astype(np.int64)
            self.cand_coef_col = coo.col[sel].astype(np.int64)
            self.cand_coef_val = coo.data[sel].astype(float)
            self.cand_coef_c = row_c[self.cand_coef_row]
            self.cand_coef_t = row_t[self.cand_coef_row]
        # Output coefficients of wafer columns in the bill-of-materials rows: the negative
        # entries (dies, stacks, good packages made), each from wafers started in its period.
        col_route = np.full(n_col, -1, dtype=np.int64)
        col_per = np.full(n_col, -1, dtype=np.int64)
        rr, tt2 = np.nonzero(self.x >= 0)
        col_route[self.x[rr, tt2]] = rr
        col_per[self.x[rr, tt2]] = tt2
        if FAB_OUTPUT in m.variables:  # --lead-times load: the fab's output feeds the BOM
            xo = cols(FAB_OUTPUT)
            rr, tt2 = np.nonzero(xo >= 0)
            col_route[xo[rr, tt2]] = rr
            col_per[xo[rr, tt2]] = tt2
        bom = np.zeros(n_row, dtype=bool)
        for name in (PRODUCT_DIES, PRODUCT_HBM, PRODUCT_PACKAGING):
            rw = rows(name)
            if rw is not None:
                bom[rw[rw >= 0]] = True
        if A is not None:
            coo = A.tocoo()
            sel = bom[coo.row] & (col_route[coo.col] >= 0) & (coo.data < 0)
            self.coef_row = coo.row[sel].astype(np.int64)
            self.coef_col = coo.col[sel].astype(np.int64)
            self.coef_val = coo.data[sel].astype(float)
            self.coef_r = col_route[self.coef_col]
            self.coef_t = col_per[self.coef_col]
        else:
            self.coef_row = self.coef_col = self.coef_r = self.coef_t = z64
            self.coef_val = np.zeros(0)
        # Share-policy rows and the year each belongs to.
        pol_rows: list[I] = []
        pol_year: list[I] = []
        for name in (VENDOR_SHARE, COUNTRY_SHARE):
            rw = rows(name)
            if rw is None:
                continue
            dims = m.constraints[name].labels.dims
            Y = len(d.year_list)
            yy = (
                np.broadcast_to(
                    np.arange(Y).reshape([Y if dim == "year" else 1 for dim in dims]), rw.shape
                )
                if "year" in dims
                else np.zeros(rw.shape, dtype=np.int64)
            )
            pol_rows.append(rw[rw >= 0])
            pol_year.append(yy[rw >= 0])
        self.pol_rows = np.concatenate(pol_rows) if pol_rows else z64
        self.pol_year = np.concatenate(pol_year) if pol_year else z64
        self.dem_rows = rows(COMPUTE_DEMAND)  # (T,)
        self.unit_rows = rows(UNIT_DEMAND)  # (U, T)
        self.installed_t = d.installed_pflops.sum(axis=0)
        self.year_mean = d.year_slice_matrix().astype(float)
        self.year_mean /= self.year_mean.sum(axis=1, keepdims=True)

    def shape(self) -> tuple[int, int, int, int, int, int]:
        """The :class:`Effects` shape (sites, routes, offers, compute, units, periods)."""
        d = self.data
        return (
            len(d.site_ids),
            len(d.route_ids),
            len(d.offer_ids),
            len(d.compute_ids),
            len(d.unit_ids),
            d.n_periods,
        )

    def none(self) -> Effects:
        """The undisturbed world of this model."""
        return Effects.none(*self.shape())

    def check(self, eff: Effects) -> None:
        """Raise ValueError when ``eff`` is not shaped like this model."""
        n_s, n_r, n_o, n_d, n_u, T = self.shape()
        for name, arr, n in (
            ("site_capacity", eff.site_capacity, n_s),
            ("route_output", eff.route_output, n_r),
            ("offer_allocation", eff.offer_allocation, n_o),
            ("compute_demand", eff.compute_demand, n_d),
            ("unit_demand", eff.unit_demand, n_u),
        ):
            if np.shape(arr) != (n, T):
                raise ValueError(f"Effects.{name} has shape {np.shape(arr)}, expected {(n, T)}")

    def required_pflops(self, eff: Effects) -> F:
        """(T,) compute the fleet must supply: Σ_d D·mult − installed, PFLOP/s (may be < 0)."""
        d = self.data
        out: F = (d.compute_required * eff.compute_demand).sum(axis=0) - self.installed_t
        return out

    def apply(self, eff: Effects, ub: F, rlb: F, rub: F) -> F:
        """Write the sample's bounds into ``ub``, ``rlb``, ``rub`` (in place, from their
        baseline values) and return the BOM output coefficients (aligned with ``coef_val``).

        Everything of docs/risk-evaluation.md's table except the candidate-capacity rows
        (their form depends on whether the builds are fixed) and the fixed past.
        """
        d = self.data
        if self.site_rows is not None:
            mult = eff.site_capacity[self.site_rows_site]
            sel = self.site_rows >= 0
            rub[self.site_rows[sel]] = (self.row_ub[self.site_rows] * mult)[sel]
        if self.alloc_rows is not None:
            mult = eff.site_capacity[self.alloc_rows_site]
            sel = self.alloc_rows >= 0
            rub[self.alloc_rows[sel]] = (self.row_ub[self.alloc_rows] * mult)[sel]
        _put(ub, self.g, _mult_bound(_take(self.col_ub, self.g), eff.offer_allocation))
        _put(ub, self.e, d.compute_required * eff.compute_demand)
        if self.dem_rows is not None:
            _put(rlb, self.dem_rows, self.required_pflops(eff))
        if self.unit_rows is not None:
            need = d.unit_required * eff.unit_demand
            _put(rlb, self.unit_rows, need)
            _put(ub, self.v, need)
        coef: F = self.coef_val * eff.route_output[self.coef_r, self.coef_t]
        return coef

    def cand_coef(self, eff: Effects) -> F:
        """Build coefficients of the candidate-capacity rows under ``eff`` (aligned with
        ``cand_coef_val``): −full × ramp × the candidate site's capacity multiplier."""
        d = self.data
        mult = eff.site_capacity[d.cand_site[self.cand_coef_c], self.cand_coef_t]
        out: F = self.cand_coef_val * mult
        return out

    def unmet_weights(self) -> F:
        """(n_col,) weights whose dot product with a solution is the horizon mean of unmet
        compute (mean over years of the yearly mean, as ``summarise``), PFLOP/s."""
        w_t = self.year_mean.mean(axis=0)  # (T,)
        w = np.zeros(self.n_col)
        e = self.e
        sel = e >= 0
        np.add.at(w, e[sel], np.broadcast_to(w_t, e.shape)[sel])
        return w


class Recourse:
    """The recourse LP of one plan in HiGHS, built once per worker (see the module doc)."""

    def __init__(self, spec: RecourseSpec) -> None:
        _silence_banner()
        self.spec = spec
        pm = build_model(spec.scenario, spec.options)
        self.data: PlanData = pm.data
        d, m = pm.data, pm.model
        if not np.all(m.matrices.var_scaling == 1.0):
            raise PlanError("the recourse needs an unscaled model (linopy solver scaling is on)")
        h = m.to_highspy()
        for k, v in HIGHS_OPTIONS.items():
            h.setOptionValue(k, v)
        self._h = h
        lay = self.layout = LpLayout(pm, h)
        n_col = lay.n_col
        cols = lay.cols
        T = d.n_periods
        self._T = T
        self._col_lb0 = lay.col_lb.copy()
        self._col_ub0 = lay.col_ub.copy()
        self._cost = lay.cost
        self._offset = lay.offset

        # Fix the first stage: builds and ports at their values, continuous.
        fs = spec.first_stage
        b = np.zeros((len(d.cand_ids), T))
        for cand, period, share in fs.builds:
            if cand not in d.cand_ids or period not in d.labels:
                raise PlanError(
                    Problem(
                        f"the plan builds {cand!r} from {period!r}, which the scenario "
                        f"does not allow (candidates: {', '.join(d.cand_ids) or 'none'})",
                        "evaluate the plan against the scenario it was made with",
                        field="builds",
                    ),
                    title="cannot evaluate the plan",
                )
            b[d.cand_ids.index(cand), d.labels.index(period)] += share
        z = np.zeros(len(d.option_ids))
        for opt, port in fs.ports:
            if opt in d.option_ids:
                z[d.option_ids.index(opt)] = port
        first_cols: list[I] = []
        for name, val in ((BUILD, b), (PORT, z)):
            if name in m.variables:
                c = cols(name)
                _put(self._col_lb0, c, val)
                _put(self._col_ub0, c, val)
                first_cols.append(c[c >= 0].ravel())
        fixed = np.concatenate(first_cols) if first_cols else np.zeros(0, dtype=np.int64)
        if fixed.size:
            h.changeColsIntegrality(
                fixed.size, fixed.astype(np.int32), np.zeros(fixed.size, dtype=np.uint8)
            )
        h.changeColsBounds(n_col, np.arange(n_col, dtype=np.int32), self._col_lb0, self._col_ub0)
        self._row_lb0 = lay.row_lb
        self._row_ub0 = lay.row_ub

        self._var_cols = lay.var_cols
        self._x, self._u, self._g, self._q, self._e, self._v = (
            lay.x, lay.u, lay.g, lay.q, lay.e, lay.v
        )  # fmt: skip
        self._time_order = lay.time_order
        self._time_sorted = lay.time_sorted
        self._cand_rows: I | None = None
        self._cand_alloc_rows: I | None = None
        A = lay.A
        if A is not None and BUILD in m.variables:
            bvec = np.zeros(n_col)
            _put(bvec, cols(BUILD), b)
            # capacity the fixed builds give each row: -(coefficients · b), one product for
            # the candidate-capacity rows and (--lead-times load) the clearing functions'
            # share of a candidate's capacity (C3)
            built = -(A @ bvec)
            if lay.cand_rows is not None:
                self._cand_cap = built[np.clip(lay.cand_rows, 0, None)]
                self._cand_rows = lay.cand_rows
            if lay.cand_alloc_rows is not None:
                self._cand_alloc_cap = built[np.clip(lay.cand_alloc_rows, 0, None)]
                self._cand_alloc_rows = lay.cand_alloc_rows
        self._coef_row, self._coef_col, self._coef_val = lay.coef_row, lay.coef_col, lay.coef_val
        # Share-policy rows and the year each belongs to (relaxed only when the fixed past
        # makes a cap impossible to keep, see evaluate).
        self._pol_rows, self._pol_year = lay.pol_rows, lay.pol_year
        self._year_mean = lay.year_mean

        # Baseline solve: the plan's own flows.
        h.run()
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise PlanError(
                f"the plan's recourse LP has no optimal solution ({h.modelStatusToString(status)})",
                title="cannot evaluate the plan",
            )
        self._basis0 = h.getBasis()
        self._sol0 = np.array(h.getSolution().col_value, dtype=float)
        self.baseline: Outcome = self._outcome(
            "baseline", "optimal", self._sol0, self._objective(), Effects.none(*self._shape()), T
        )
        self.n_solves = 0
        #: Start every solve from the baseline basis (True) or from scratch (False).
        self.warm_start = True
        #: Clear HiGHS's solver state before each solve. Without it a solve reuses the last
        #: sample's factorisation and edge weights: ~1.5× faster, but the bits of a result
        #: then depend on the order of the samples (benchmarks/risk_recourse.py).
        self.clear_solver = True

    # helpers ---------------------------------------------------------------------------

    def _shape(self) -> tuple[int, int, int, int, int, int]:
        return self.layout.shape()

    def _objective(self) -> float:
        return (float(self._h.getInfo().objective_function_value) + self._offset) / OBJECTIVE_SCALE

    def _check(self, eff: Effects) -> None:
        self.layout.check(eff)

    def required_pflops(self, eff: Effects) -> F:
        """(T,) compute the fleet must supply: Σ_d D·mult − installed, PFLOP/s (may be < 0)."""
        return self.layout.required_pflops(eff)

    def _outcome(
        self, method: str, status: str, sol: F, cost_usd: float, eff: Effects, first: int
    ) -> Outcome:
        e = _take(sol, self._e)
        v = _take(sol, self._v)
        pen_cols = np.concatenate([self._e.ravel(), self._v.ravel()])
        pen_cols = pen_cols[pen_cols >= 0]
        penalty = float(self._cost[pen_cols] @ sol[pen_cols]) / OBJECTIVE_SCALE
        unmet_t = e.sum(axis=0)
        unmet_t[np.abs(unmet_t) < EPS] = 0.0
        req = np.maximum(self.required_pflops(eff), 0.0)
        total = float(req.sum())
        service = 1.0 if total <= 0 else float(np.clip(1.0 - unmet_t.sum() / total, 0.0, 1.0))
        return Outcome(
            method=method,
            status=status,
            cost_pv_usd=cost_usd,
            spend_pv_usd=cost_usd - penalty,
            unmet_pflops=self._year_mean @ unmet_t,
            unmet_units=self.data.year_slice_matrix().astype(float) @ v.sum(axis=0),
            service_level=service,
            first_period=first,
            unmet_period_pflops=unmet_t,
        )

    def _targets(self, eff: Effects) -> tuple[F, F, F, F, F]:
        """Column bounds, row bounds and BOM coefficients of the sample (full arrays)."""
        d = self.data
        lb, ub = self._col_lb0.copy(), self._col_ub0.copy()
        rlb, rub = self._row_lb0.copy(), self._row_ub0.copy()
        coef = self.layout.apply(eff, ub, rlb, rub)
        if self._cand_rows is not None:
            mult = eff.site_capacity[d.cand_site]
            sel = self._cand_rows >= 0
            rub[self._cand_rows[sel]] = ((mult - 1.0) * self._cand_cap)[sel]
        if self._cand_alloc_rows is not None:
            mult = eff.site_capacity[d.cand_site[self.layout.cand_alloc_cand]]
            sel = self._cand_alloc_rows >= 0
            rub[self._cand_alloc_rows[sel]] = ((mult - 1.0) * self._cand_alloc_cap)[sel]
        # the periods before the first event stay as planned
        k = int(np.searchsorted(self._time_sorted, eff.first_period, side="left"))
        past = self._time_order[:k]
        lb[past] = self._sol0[past]
        ub[past] = self._sol0[past]
        return lb, ub, rlb, rub, coef

    # public ----------------------------------------------------------------------------

    def flows_of(self, sol: F) -> dict[str, F]:
        """Column values by variable name, shaped like the variables (0 where masked)."""
        return {name: _take(sol, c) for name, c in self._var_cols.items()}

    def evaluate(self, eff: Effects, flows: bool = False) -> Outcome:
        """The exact recourse of one sample: re-optimise the flows from its first period.

        ``flows=True`` keeps the solved variable values in ``Outcome.flows``.
        """
        self._check(eff)
        eff = replace(eff, first_period=_first_period(eff, self._T))
        lb, ub, rlb, rub, coef = self._targets(eff)
        cc = np.flatnonzero((lb != self._col_lb0) | (ub != self._col_ub0))
        rc = np.flatnonzero((rlb != self._row_lb0) | (rub != self._row_ub0))
        kc = np.flatnonzero(coef != self._coef_val)
        first = _first_period(eff, self._T)
        if not cc.size and not rc.size and not kc.size:
            b = self.baseline
            out = replace(b, method="exact", first_period=first)
            return replace(out, flows=self.flows_of(self._sol0)) if flows else out
        h = self._h
        relaxed = np.zeros(0, dtype=np.int64)
        try:
            if cc.size:
                h.changeColsBounds(cc.size, cc.astype(np.int32), lb[cc], ub[cc])
            if rc.size:
                h.changeRowsBounds(  # type: ignore[attr-defined]
                    rc.size, rc.astype(np.int32), rlb[rc], rub[rc]
                )
            for i in kc.tolist():
                h.changeCoeff(int(self._coef_row[i]), int(self._coef_col[i]), float(coef[i]))
            if self.clear_solver:
                h.clearSolver()  # forget the last sample's factor and edge weights
            if self.warm_start:
                h.setBasis(self._basis0)
            h.run()
            self.n_solves += 1
            st = h.getModelStatus()
            status = "optimal"
            if st != highspy.HighsModelStatus.kOptimal and self._pol_rows.size:
                # The past as planned can make a share cap impossible to keep (GPUs ordered
                # before the event arrive while the own units they were balanced with are
                # lost): keep the LP exact otherwise and drop the caps from the event's year.
                yr = int(self.data.year_index[min(first, self._T - 1)])
                rp = self._pol_rows[self._pol_year >= yr]
                relaxed = rp
                h.changeRowsBounds(  # type: ignore[attr-defined]
                    rp.size,
                    rp.astype(np.int32),
                    np.full(rp.size, -np.inf),
                    np.full(rp.size, np.inf),
                )
                h.clearSolver()
                h.setBasis(self._basis0)
                h.run()
                st = h.getModelStatus()
                status = "policy_relaxed"
            if st != highspy.HighsModelStatus.kOptimal:
                status = h.modelStatusToString(st)
            sol = np.array(h.getSolution().col_value, dtype=float)
            cost = self._objective()
        finally:
            if cc.size:
                h.changeColsBounds(
                    cc.size, cc.astype(np.int32), self._col_lb0[cc], self._col_ub0[cc]
                )
            if rc.size:
                h.changeRowsBounds(  # type: ignore[attr-defined]
                    rc.size, rc.astype(np.int32), self._row_lb0[rc], self._row_ub0[rc]
                )
            for i in kc.tolist():
                h.changeCoeff(
                    int(self._coef_row[i]), int(self._coef_col[i]), float(self._coef_val[i])
                )
            if relaxed.size:
                h.changeRowsBounds(  # type: ignore[attr-defined]
                    relaxed.size,
                    relaxed.astype(np.int32),
                    self._row_lb0[relaxed],
                    self._row_ub0[relaxed],
                )
        out = self._outcome("exact", status, sol, cost, eff, first)
        return replace(out, flows=self.flows_of(sol)) if flows else out

    def screen(self, eff: Effects, flows: bool = False) -> Outcome:
        """The plan's flows scaled by what the sample loses, without re-optimising.

        See docs/risk-evaluation.md ("Screening"): the screened flows are a feasible point
        of the recourse LP when no share policy binds, so their cost is then an upper bound
        of the exact recourse cost.
        """
        self._check(eff)
        d = self.data
        if d.clearing is not None:
            raise PlanError(
                Problem(
                    "screening scales a fixed-lead-time plan's flows; this plan has "
                    "load-dependent lead times (--lead-times load), whose WIP it cannot scale",
                    "evaluate it exactly (drop --screen)",
                ),
                title="cannot screen the plan",
            )
        T = self._T
        first = _first_period(eff, T)
        sol = self._sol0.copy()
        x = _take(sol, self._x)  # (R, T)
        u = _take(sol, self._u)
        g = _take(sol, self._g)
        # Site factor: share of the planned wafer starts the remaining capacity still allows.
        S = len(d.site_ids)
        used = np.zeros((S, T))
        np.add.at(used, d.route_site, x)
        cap = d.site_cap_wafers.copy()
        if len(d.cand_ids):
            b = np.zeros((len(d.cand_ids), T))
            for cand, period, share in self.spec.first_stage.builds:
                b[d.cand_ids.index(cand), d.labels.index(period)] += share
            cap[d.cand_site] = (
                np.einsum("cs,cst->ct", b, d.cand_ramp) * d.site_full_wafers[d.cand_site]
            )
        avail = cap * eff.site_capacity
        with np.errstate(divide="ignore", invalid="ignore"):
            sf = np.where(used > EPS, np.minimum(1.0, avail / np.where(used > EPS, used, 1.0)), 1.0)
        rsf = sf[d.route_site]  # (R, T)
        mo = eff.route_output
        # Worst multiplier along each product's inputs, at its assembly period.
        P = len(d.product_ids)
        fct = np.ones((P, T))
        shift = np.where(d.route_kind == 2, 0, d.route_shift)
        tau = np.arange(T)[None, :] + shift[:, None]  # (R, T) assembly period of wafers at t
        worst = np.where(d.route_kind[:, None] == 2, rsf, rsf * mo)
        ok = (x > EPS) & (tau < T)
        ri, ti = np.nonzero(ok)
        np.minimum.at(fct, (d.route_product[ri], tau[ri, ti]), worst[ri, ti])
        # good-package share of the packaging output (route output of packaging lines)
        pk = d.route_kind == 2
        gam = d.route_good_units[:, None] * x
        num = np.zeros((P, T))
        den = np.zeros((P, T))
        np.add.at(num, d.route_product[pk], (gam * mo)[pk])
        np.add.at(den, d.route_product[pk], gam[pk])
        mbar = np.where(den > EPS, num / np.where(den > EPS, den, 1.0), 1.0)
        u2 = u * fct * mbar
        fr = fct[d.route_product[:, None], np.clip(tau, 0, T - 1)]  # (R, T)
        after = np.arange(T)[None, :] >= first
        with np.errstate(divide="ignore", invalid="ignore"):
            lo_x = np.where(mo > 0, x * fr / np.where(mo > 0, mo, 1.0), 0.0)
        x2 = np.where(pk[:, None], x * fr, np.where(tau < T, lo_x, x * rsf))
        x2 = np.where(after, x2, x)
        g2 = np.minimum(g, _mult_bound(d.offer_upper, eff.offer_allocation))
        # Compute short: required − fleet, given to the cheapest-penalty demands first.
        own = _in_service(u2, d.product_arrival_shift, d.product_life)
        fleet = ((d.product_pflops * d.product_in_fleet)[:, None] * own).sum(axis=0)
        fleet += (d.offer_pflops[:, None] * _in_service(g2, d.offer_shift, d.offer_life)).sum(0)
        short = np.maximum(self.required_pflops(eff) - fleet, 0.0)
        e2 = np.zeros_like(d.compute_required)
        capd = d.compute_required * eff.compute_demand
        for di in np.argsort(d.compute_penalty_usd, kind="stable"):
            e2[di] = np.minimum(short, capd[di])
            short = short - e2[di]
        _put(sol, self._x, x2)
        _put(sol, self._u, u2)
        _put(sol, self._g, g2)
        _put(sol, self._e, e2)
        if len(d.unit_ids):
            U = len(d.unit_ids)
            arrive = np.zeros((U, T))
            for ui in range(U):
                for p in np.flatnonzero(d.product_base == d.unit_product[ui]):
                    a = int(d.product_arrival_shift[p])
                    if a < T:
                        arrive[ui, a:] += u2[p, : T - a]
            v2 = np.maximum(d.unit_required * eff.unit_demand - arrive, 0.0)
            _put(sol, self._v, v2)
        if (self._q >= 0).any():
            q = _take(sol, self._q)
            took = g2 @ d.year_slice_matrix().T.astype(float)  # (O, Y)
            q2 = np.where(d.offer_min_units > 0, np.maximum(q, d.offer_min_units - took), q)
            _put(sol, self._q, q2)
        cost = (float(self._cost @ sol) + self._offset) / OBJECTIVE_SCALE
        out = self._outcome("screen", "screen", sol, cost, eff, first)
        return replace(out, flows=self.flows_of(sol)) if flows else out


def _first_period(eff: Effects, T: int) -> int:
    """``eff.first_period``, or the first period a multiplier differs from 1 when earlier
    (a sampler that announces an event late would otherwise fix disrupted periods)."""
    changed = np.zeros(T, dtype=bool)
    for arr in (
        eff.site_capacity,
        eff.route_output,
        eff.offer_allocation,
        eff.compute_demand,
        eff.unit_demand,
    ):
        if arr.size:
            changed |= (arr != 1.0).any(axis=0)
    hit = np.flatnonzero(changed)
    return int(min(eff.first_period, T, hit[0] if hit.size else T))


def _has_const(m: Any) -> bool:
    try:
        return bool(np.isfinite(float(m.objective.expression.const)))
    except (AttributeError, TypeError, ValueError):
        return False


# Batches ---------------------------------------------------------------------------------

_CACHE: dict[str, Recourse] = {}


def recourse_for(spec: RecourseSpec) -> Recourse:
    """The process's :class:`Recourse` of ``spec``, built on first use (one per spec)."""
    key = spec.key()
    rec = _CACHE.get(key)
    if rec is None:
        if len(_CACHE) >= 4:  # a worker serves one plan at a time; keep memory bounded
            _CACHE.clear()
        rec = _CACHE[key] = Recourse(spec)
    return rec


def anticipative(eff: Effects) -> Effects:
    """``eff`` seen from period 0 (``first_period = 0``): the recourse re-optimises every
    flow knowing the whole timeline, as a scenario of the two-stage stochastic planner does
    (docs/stochastic.md). Only the first stage stays fixed."""
    return replace(eff, first_period=0)


def evaluate_batch(
    spec: RecourseSpec,
    effects_list: Sequence[Effects],
    method: Method = "exact",
    anticipative_flows: bool = False,
) -> SampleBatch:
    """Evaluate many samples with the per-process cached :class:`Recourse` of ``spec``.

    ``anticipative_flows``: evaluate each sample with :func:`anticipative` (flows know the
    timeline from period 0) instead of keeping the periods before its first event as planned.
    """
    rec = recourse_for(spec)
    fn = rec.evaluate if method == "exact" else rec.screen
    if anticipative_flows:
        effects_list = [anticipative(e) for e in effects_list]
    outs = [fn(e) for e in effects_list]
    return SampleBatch.from_outcomes(outs, method, rec.data.year_list)
