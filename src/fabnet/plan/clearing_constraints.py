"""Clearing functions in the planner: load-dependent lead times (``--lead-times load``).

For every route ``r`` whose site (or process) has an operating curve, per period ``t``
(docs/planner.md, "Clearing functions", eqs. C1–C5):

* ``Route-output`` ``X[r,t]`` wafers coming out of the fab, ``Route-wip`` ``W[r,t]`` wafers
  in process at the end of the period, ``Route-wip_initial`` ``W0[r]`` the pipeline at the
  start of the horizon, ``Route-clearing_capacity`` ``Y[r,t]`` the share of the site's
  capacity (wafers per period) allocated to the route;
* (C1) WIP balance ``W[r,t] = W[r,t-1] + x[r,t] - X[r,t]`` (``W[r,-1] = W0[r]``);
* (C2) allocated clearing function (Asmundsson, Rardin and Uzsoy 2006), one row per
  tangent segment ``k``: ``X[r,t] ≤ a_k Y[r,t] + b_k (period_days / raw_days_r) W[r,t-1]``;
* (C3) ``Σ_{r at s} Y[r,t] + Σ_{other routes at s} x[r,t] ≤ capacity[s,t]`` (for a
  candidate: its built, ramped capacity, as eq. 12);
* (C4) ``Σ_{r at s} W0[r] ≤ capacity[s,0] · max(0, cycle_time/period − shift)``: the
  pipeline the fixed model assumes (none when its lead time is a whole period or more);
  paid for at the first period's wafer price (C5, in the objective).

The fab's output ``X`` then feeds the bill of materials in the period it comes out, in
place of the starts shifted by the fixed lead time. The model stays an LP for fixed builds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from linopy import LinearExpression, Model

from fabnet.plan.clearing import (
    ClearingData,
    ClearingFunction,
    operating_points,
    queueing_points,
)
from fabnet.plan.sets import F, I, PlanData
from fabnet.plan.terms import Part, gather, gather_sum, group_terms, weighted_total
from fabnet.plan.variables import BUILD, WAFERS, index

if TYPE_CHECKING:
    from fabnet.plan.model import PlanModel
    from fabnet.scenario.schema import OperatingCurve

OUTPUT = "Route-output"
WIP = "Route-wip"
WIP_INITIAL = "Route-wip_initial"
ALLOCATION = "Route-clearing_capacity"
WIP_BALANCE = "Route-wip_balance"
CLEARING = "Route-clearing"
SITE_ALLOCATION = "Site-clearing_capacity"
CANDIDATE_ALLOCATION = "Candidate-clearing_capacity"
PIPELINE = "Site-initial_wip"


def fit_curve(curve: OperatingCurve, source: str) -> tuple[ClearingFunction, float]:
    """The fitted clearing function of a scenario curve and its flow factor at
    ``nominal_load`` (1 without one: ``cycle_time_days`` is then the raw process time)."""
    if curve.points is not None:
        pts = operating_points(
            [p.load for p in curve.points],
            [p.throughput_frac for p in curve.points],
            [p.flow_factor for p in curve.points],
            source=source,
        )
    else:
        assert curve.queueing is not None
        q = curve.queueing
        pts = queueing_points(q.loads, q.tools, q.ca2, q.ce2)
    cf = pts.fit(curve.max_segments)
    ff = 1.0 if curve.nominal_load is None else float(cf.flow_factor(curve.nominal_load))
    return cf, ff


def build_clearing_data(d: PlanData) -> ClearingData:
    """Clearing functions of the routes whose site or process has an operating curve."""
    sc = d.scenario
    proc = {p.id: p for p in sc.processes}
    R = len(d.route_ids)
    cache: dict[int, tuple[ClearingFunction, float]] = {}
    site_curve: dict[int, ClearingFunction] = {}
    site_raw: dict[int, float] = {}
    rows: list[int] = []
    fits: list[ClearingFunction] = []
    raw: list[float] = []
    for r in range(R):
        si = int(d.route_site[r])
        site, pr = sc.sites[si], proc[d.route_process[r]]
        curve = site.operating_curve or pr.operating_curve
        if curve is None:
            continue
        if pr.cycle_time_days <= 0:
            d.warnings.append(
                f"site {site.id}: process {pr.id} has no cycle time; its operating curve is unused"
            )
            continue
        key = id(curve)
        if key not in cache:
            owner = f"site {site.id}" if site.operating_curve else f"process {pr.id}"
            cache[key] = fit_curve(curve, f"operating_curve of {owner}")
        cf, ff_nominal = cache[key]
        rows.append(r)
        fits.append(cf)
        raw.append(pr.cycle_time_days / ff_nominal)
        site_curve.setdefault(si, cf)
        site_raw.setdefault(si, pr.cycle_time_days / ff_nominal)
    K = max((cf.n_segments for cf in fits), default=1)
    slopes = np.zeros((len(rows), K))
    intercepts = np.ones((len(rows), K))  # padding repeats the capacity cap X ≤ Y
    for i, cf in enumerate(fits):
        slopes[i, : cf.n_segments] = cf.slopes
        intercepts[i, : cf.n_segments] = cf.intercepts
    routes = np.array(rows, dtype=np.int64)
    raw_days = np.array(raw, dtype=float)
    # C4: the pipeline the fixed model assumes, as a share of a period's capacity
    ct_periods = np.array([proc[d.route_process[r]].cycle_time_days for r in rows], dtype=float)
    pipeline = np.maximum(0.0, ct_periods / d.period_days - d.route_shift[routes])
    return ClearingData(
        routes=routes,
        slopes=slopes,
        intercepts=intercepts,
        raw_days=raw_days,
        pipeline_periods=pipeline,
        site_curve=site_curve,
        site_raw_days=site_raw,
        n_routes=R,
    )


def _cf(d: PlanData) -> ClearingData:
    assert d.clearing is not None
    return d.clearing


def add_clearing_variables(m: Model, d: PlanData) -> None:
    """(C) output, WIP, initial WIP and capacity allocation of the routes with a curve."""
    c = _cf(d)
    ix = index(d)
    mask = np.zeros((len(d.route_ids), d.n_periods), dtype=bool)
    mask[c.routes] = True
    import xarray as xr

    m_da = xr.DataArray(mask, dims=("route", "period"), coords=[ix["route"], ix["period"]])
    for name in (OUTPUT, WIP, ALLOCATION):
        m.add_variables(lower=0.0, coords=[ix["route"], ix["period"]], name=name, mask=m_da)
    m0 = xr.DataArray(c.is_cf & (c.pipeline_by_route > 0), dims=("route",), coords=[ix["route"]])
    m.add_variables(lower=0.0, coords=[ix["route"]], name=WIP_INITIAL, mask=m0)


def supply_parts(m: Model, d: PlanData, members: I, sign: float) -> list[Part]:
    """BOM terms (product, period, K): ``sign × units per wafer × X[r, t]`` of the clearing
    routes among ``members`` (P, K) — their output feeds assembly in the period it leaves."""
    c = _cf(d)
    mem = np.clip(members, 0, None)
    T = d.n_periods
    t = np.arange(T)
    ok = (members >= 0) & c.is_cf[mem]
    coeff = np.where(ok[:, None, :], d.route_yield_units[mem][:, :, :].transpose(0, 2, 1), 0.0)
    return [(m.variables[OUTPUT], np.where(ok, members, -1)[:, None, :], t[None, :, None],
             sign * coeff)]  # fmt: skip


def add_clearing_constraints(m: Model, d: PlanData) -> None:
    """(C1)–(C4) of the module docstring."""
    c = _cf(d)
    if not c.routes.size:
        return
    ix = index(d)
    T, S = d.n_periods, len(d.site_ids)
    t = np.arange(T)
    rc = c.routes
    rix = {**ix, "route": ix["route"][rc]}
    out, wip, alloc = m.variables[OUTPUT], m.variables[WIP], m.variables[ALLOCATION]
    w0 = m.variables[WIP_INITIAL]
    rows = rc[:, None, None]
    first = (t == 0)[None, :, None]
    # (C1) W[t] - W[t-1] - x[t] + X[t] = 0, W[-1] = W0
    bal = gather_sum(
        m,
        [
            (wip, rows, t[None, :, None], 1.0),
            (wip, rows, t[None, :, None] - 1, -1.0),
            (w0, 0, np.broadcast_to(rc[:, None, None], (len(rc), T, 1)),
             np.where(first, -1.0, 0.0)),
            (m.variables[WAFERS], rows, t[None, :, None], -1.0),
            (out, rows, t[None, :, None], 1.0),
        ],
        ("route", "period"),
        rix,
    )  # fmt: skip
    m.add_constraints(bal == 0, name=WIP_BALANCE)
    # (C2) X[t] - a_k Y[t] - b_k (P / raw) W[t-1] ≤ 0 for every segment k
    K = c.slopes.shape[1]
    kix = {**rix, "segment": pd.Index(np.arange(K), name="segment")}
    rate = d.period_days / c.raw_days  # (Rc,)
    b = (c.slopes * rate[:, None])[:, None, :, None]  # (Rc, 1, K, 1)
    a = c.intercepts[:, None, :, None]
    shape = (len(rc), T, K, 1)
    tt = np.broadcast_to(t[None, :, None, None], shape)
    rr = np.broadcast_to(rc[:, None, None, None], shape)
    lhs = gather_sum(
        m,
        [
            (out, rr, tt, 1.0),
            (alloc, rr, tt, np.broadcast_to(-a, shape)),
            (wip, rr, tt - 1, np.broadcast_to(-b, shape)),
            (w0, 0, rr, np.broadcast_to(np.where((t == 0)[None, :, None, None], -b, 0.0), shape)),
        ],
        ("route", "period", "segment"),
        kix,
    )
    m.add_constraints(lhs <= 0, name=CLEARING)
    # (C3) capacity allocated to clearing routes plus starts of the other routes ≤ capacity
    cf_site = np.where(c.is_cf, d.route_site, -1)
    other_site = np.where(c.is_cf, -1, d.route_site)
    has = np.zeros(S, dtype=bool)
    has[d.route_site[rc]] = True
    mem_cf = group_terms(cf_site, S)
    mem_other = group_terms(other_site, S)
    fixed = np.flatnonzero(has & ~d.site_is_candidate)
    if fixed.size:
        fix_ix = {**ix, "site": ix["site"][fixed]}
        used = gather_sum(
            m,
            [
                (alloc, mem_cf[fixed][:, None, :], t[None, :, None], 1.0),
                (m.variables[WAFERS], mem_other[fixed][:, None, :], t[None, :, None], 1.0),
            ],
            ("site", "period"),
            fix_ix,
        )
        import xarray as xr

        cap = xr.DataArray(
            d.site_cap_wafers[fixed], dims=("site", "period"), coords=[fix_ix["site"], ix["period"]]
        )
        m.add_constraints(used <= cap, name=SITE_ALLOCATION)
    cands = np.flatnonzero(has[d.cand_site]) if len(d.cand_ids) else np.zeros(0, np.int64)
    if cands.size:
        cix = {**ix, "candidate": ix["candidate"][cands]}
        sites = d.cand_site[cands]
        coeff = d.site_full_wafers[sites][:, None, :] * d.cand_ramp[cands]  # (C, Ts, T)
        lhs = gather_sum(
            m,
            [
                (alloc, mem_cf[sites][:, None, :], t[None, :, None], 1.0),
                (m.variables[WAFERS], mem_other[sites][:, None, :], t[None, :, None], 1.0),
                (m.variables[BUILD], cands[:, None, None], t[None, None, :],
                 -np.moveaxis(coeff, 1, 2)),
            ],
            ("candidate", "period"),
            cix,
        )  # fmt: skip
        m.add_constraints(lhs <= 0, name=CANDIDATE_ALLOCATION)
    # (C4) the initial pipeline of a site
    pipe_sites = np.flatnonzero(has & ~d.site_is_candidate)
    bound = np.zeros(S)
    np.maximum.at(bound, d.route_site[rc], c.pipeline_periods)
    bound = bound * d.site_cap_wafers[:, 0]
    if pipe_sites.size and (bound[pipe_sites] > 0).any():
        pix = {**ix, "site": ix["site"][pipe_sites]}
        members = group_terms(np.where(c.is_cf & (c.pipeline_by_route > 0), d.route_site, -1), S)
        lhs = gather(m, w0, 0, members[pipe_sites], 1.0, ("site",), pix)
        import xarray as xr

        rhs = xr.DataArray(bound[pipe_sites], dims=("site",), coords=[pix["site"]])
        m.add_constraints(lhs <= rhs, name=PIPELINE)


def objective_parts(m: Model, d: PlanData, scale: float) -> list[LinearExpression]:
    """(C5) the initial pipeline, paid at the first period's wafer price (and markup)."""
    c = _cf(d)
    if not c.routes.size or WIP_INITIAL not in m.variables:
        return []
    price = (d.route_cost_usd[:, 0] + d.route_partner_usd[:, 0]) * d.discount[0] * scale
    return [weighted_total(m, m.variables[WIP_INITIAL], price)]


# Read-out ---------------------------------------------------------------------------------

CLEARING_COLUMNS = [
    "period", "year", "site", "capacity_wafers", "starts_wafers", "output_wafers", "load",
    "wip_wafers", "cycle_time_days", "raw_process_days", "flow_factor",
]  # fmt: skip
CURVE_COLUMNS = ["site", "load", "throughput_frac", "flow_factor", "fitted_flow_factor"]


def _values(pm: PlanModel, name: str) -> F:
    arr: F = np.nan_to_num(np.asarray(pm.model.variables[name].solution.values, dtype=float))
    return arr


def clearing_tables(pm: PlanModel, capacity: F) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per site and period with a clearing function: capacity, starts, output, load
    (output / capacity), WIP (end of period, wafers), cycle time from Little's law as the
    clearing function reads it (WIP at the start of the period / output × period days; above
    the curve's when the plan holds more WIP than its output needs), raw process time and
    flow factor;
    and the sites' curve points with the fitted flow factor. Empty without clearing."""
    d = pm.data
    c = d.clearing
    if c is None or not c.routes.size:
        return pd.DataFrame(columns=CLEARING_COLUMNS), pd.DataFrame(columns=CURVE_COLUMNS)
    T = d.n_periods
    x, out, wip = _values(pm, WAFERS), _values(pm, OUTPUT), _values(pm, WIP)
    w0 = _values(pm, WIP_INITIAL) if WIP_INITIAL in pm.model.variables else np.zeros(len(x))
    prev = np.concatenate([w0[:, None], wip[:, :-1]], axis=1)
    rc = c.routes
    sites = sorted(c.site_curve)
    rows: list[pd.DataFrame] = []
    for si in sites:
        rs = rc[d.route_site[rc] == si]
        cap = capacity[si]
        starts, output = x[rs].sum(axis=0), out[rs].sum(axis=0)
        w_end, w_start = wip[rs].sum(axis=0), prev[rs].sum(axis=0)
        load = np.divide(output, cap, out=np.zeros(T), where=cap > 1e-9)
        ct = np.divide(w_start * d.period_days, output, out=np.full(T, np.nan), where=output > 1e-6)
        raw = c.site_raw_days[si]
        rows.append(
            pd.DataFrame(
                {
                    "period": np.asarray(d.labels, dtype=object),
                    "year": d.years,
                    "site": d.site_ids[si],
                    "capacity_wafers": cap,
                    "starts_wafers": starts,
                    "output_wafers": output,
                    "load": load,
                    "wip_wafers": w_end,
                    "cycle_time_days": ct,
                    "raw_process_days": raw,
                    "flow_factor": ct / raw,
                }
            )
        )
    curves = []
    for si in sites:
        cf = c.site_curve[si]
        curves.append(
            pd.DataFrame(
                {
                    "site": d.site_ids[si],
                    "load": cf.throughput_frac,
                    "throughput_frac": cf.throughput_frac,
                    "flow_factor": cf.wip_norm / cf.throughput_frac,
                    "fitted_flow_factor": cf.flow_factor(cf.throughput_frac),
                }
            )
        )
    return (
        pd.concat(rows, ignore_index=True)[CLEARING_COLUMNS],
        pd.concat(curves, ignore_index=True)[CURVE_COLUMNS],
    )
