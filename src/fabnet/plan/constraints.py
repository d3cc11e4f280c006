"""Physical constraints of the planner (eqs. 7–15 of docs/planner.md).

Every constraint family is built in one vectorised call with :func:`fabnet.plan.terms.gather`.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from linopy import LinearExpression, Model

from fabnet.plan.sets import PlanData
from fabnet.plan.terms import gather, group_terms, window_terms
from fabnet.plan.variables import (
    BUILD,
    OFFER,
    PORT,
    UNITS,
    UNMET_COMPUTE,
    UNMET_UNITS,
    WAFERS,
    index,
)

SITE_CAPACITY = "Site-capacity"
CANDIDATE_CAPACITY = "Candidate-capacity"
PRODUCT_DIES = "Product-dies"
PRODUCT_HBM = "Product-hbm"
PRODUCT_PACKAGING = "Product-packaging"
COMPUTE_DEMAND = "Compute-demand"
UNIT_DEMAND = "Units-demand"
CANDIDATE_ONCE = "Candidate-once"
OPTION_USE = "Option-use"
OPTION_SINGLE = "Option-single"


def packages(m: Model, d: PlanData) -> LinearExpression:
    """Packages assembled per product and period, A[p, t] (eq. 8).

    Products with packaging options: Σ packaging wafers × packages per wafer; others: u[p, t].
    """
    ix = index(d)
    T, P = d.n_periods, len(d.product_ids)
    t = np.arange(T)
    pack = np.where(d.route_kind == 2, d.route_product, P)
    members = group_terms(pack, P + 1)[:P]  # (P, K)
    coeff = np.where(members >= 0, d.route_yield_units[np.clip(members, 0, None), 0], 0.0)
    via_pack = gather(
        m,
        m.variables[WAFERS],
        members[:, None, :],
        t[None, :, None],
        coeff[:, None, :],
        ("product", "period"),
        ix,
    )
    direct = gather(
        m,
        m.variables[UNITS],
        np.arange(P)[:, None, None],
        t[None, :, None],
        (~d.product_packaged).astype(float)[:, None, None],
        ("product", "period"),
        ix,
    )
    return via_pack + direct


def _shifted_supply(m: Model, d: PlanData, kind: int) -> LinearExpression:
    """Σ over routes of ``kind`` of output per wafer × wafers started ``shift`` periods earlier."""
    ix = index(d)
    T, P = d.n_periods, len(d.product_ids)
    t = np.arange(T)
    grp = np.where(d.route_kind == kind, d.route_product, P)
    members = group_terms(grp, P + 1)[:P]  # (P, K)
    mem = np.clip(members, 0, None)
    src_t = t[None, :, None] - d.route_shift[mem][:, None, :]  # (P, T, K)
    coeff = np.where(
        (members[:, None, :] >= 0) & (src_t >= 0),
        d.route_yield_units[mem[:, None, :], np.clip(src_t, 0, T - 1)],
        0.0,
    )
    return gather(
        m, m.variables[WAFERS], members[:, None, :], src_t, coeff, ("product", "period"), ix
    )


def add_constraints(m: Model, d: PlanData) -> None:
    """Add the physical constraints: capacity, bill of materials, demand, builds, porting."""
    ix = index(d)
    T, S = d.n_periods, len(d.site_ids)
    t = np.arange(T)
    x = m.variables[WAFERS]

    # (7) capacity of existing and planned sites, wafers per period
    members = group_terms(d.route_site, S)  # (S, K)
    used = gather(m, x, members[:, None, :], t[None, :, None], 1.0, ("site", "period"), ix)
    fixed = ~d.site_is_candidate
    if fixed.any():
        sites = [d.site_ids[i] for i in np.flatnonzero(fixed)]
        m.add_constraints(used.sel(site=sites) <= d.site_cap_wafers[fixed], name=SITE_CAPACITY)
    # (12) capacity of candidate sites: full capacity × ramp share of each build start
    C = len(d.cand_ids)
    if C:
        cix = {**ix, "site": ix["candidate"]}
        full = d.site_full_wafers[d.cand_site]  # (C, T)
        coeff = full[:, None, :] * d.cand_ramp  # (C, Ts, T)
        built = gather(
            m,
            m.variables[BUILD],
            np.arange(C)[:, None, None],
            t[None, None, :],
            np.moveaxis(coeff, 1, 2),  # (C, T, Ts)
            ("candidate", "period"),
            cix,
        )
        cand_used = gather(
            m,
            x,
            members[d.cand_site][:, None, :],
            t[None, :, None],
            1.0,
            ("candidate", "period"),
            cix,
        )
        m.add_constraints(cand_used - built <= 0, name=CANDIDATE_CAPACITY)
        # (13) a candidate is built at most once
        once = gather(
            m, m.variables[BUILD], np.arange(C)[:, None], t[None, :], 1.0, ("candidate",), cix
        )
        m.add_constraints(once <= 1, name=CANDIDATE_ONCE)

    # (8)-(10) bill of materials per product and period
    if d.product_ids:
        a = packages(m, d)
        m.add_constraints(a - _shifted_supply(m, d, 0) <= 0, name=PRODUCT_DIES)
        hbm = d.product_hbm_stacks > 0
        if hbm.any():
            hbm_prod = [d.product_ids[i] for i in np.flatnonzero(hbm)]
            stacks = xr.DataArray(d.product_hbm_stacks, coords={"product": ix["product"]})
            lhs = a * stacks - _shifted_supply(m, d, 1)
            m.add_constraints(lhs.sel(product=hbm_prod) <= 0, name=PRODUCT_HBM)
        if d.product_packaged.any():
            P = len(d.product_ids)
            grp = np.where(d.route_kind == 2, d.route_product, P)
            mem = group_terms(grp, P + 1)[:P]
            good = np.where(mem >= 0, d.route_good_units[np.clip(mem, 0, None)], 0.0)
            made = gather(
                m, x, mem[:, None, :], t[None, :, None], good[:, None, :], ("product", "period"), ix
            )
            packed = [d.product_ids[i] for i in np.flatnonzero(d.product_packaged)]
            lhs = (m.variables[UNITS] - made).sel(product=packed)
            m.add_constraints(lhs <= 0, name=PRODUCT_PACKAGING)

    # (11) installed compute: fleet of own units and offers in service, plus unmet
    if d.compute_ids:
        m.add_constraints(
            fleet_pflops(m, d) + m.variables[UNMET_COMPUTE].sum("compute_demand")
            >= d.compute_required.sum(axis=0),
            name=COMPUTE_DEMAND,
        )
    # (14) unit demand: units arriving in the period plus unmet
    if d.unit_ids:
        U = len(d.unit_ids)
        prod = d.unit_product
        src = t[None, :] - d.product_arrival_shift[prod][:, None]
        delivered = gather(
            m,
            m.variables[UNITS],
            prod[:, None, None],
            src[:, :, None],
            1.0,
            ("unit_demand", "period"),
            ix,
        )
        lhs = delivered + m.variables[UNMET_UNITS]
        m.add_constraints(lhs >= d.unit_required.reshape(U, T), name=UNIT_DEMAND)

    # (15) porting: a process option is used only once ported; single sourcing
    Z = len(d.option_ids)
    if Z:
        grp = np.where(d.route_option >= 0, d.route_option, Z)
        mem = group_terms(grp, Z + 1)[:Z]
        use = gather(m, x, mem[:, None, :], t[None, :, None], 1.0, ("option", "period"), ix)
        bigm = gather(
            m,
            m.variables[PORT],
            0,
            np.arange(Z)[:, None, None],
            d.option_big_m[:, :, None],
            ("option", "period"),
            ix,
        )
        m.add_constraints(use - bigm <= 0, name=OPTION_USE)
        if not d.allow_multi_sourcing:
            P = len(d.product_ids)
            mem_p = group_terms(d.option_product, P)
            per_product = gather(m, m.variables[PORT], 0, mem_p, 1.0, ("product",), ix)
            m.add_constraints(per_product <= 1, name=OPTION_SINGLE)


def fleet_pflops(m: Model, d: PlanData) -> LinearExpression:
    """PFLOP/s in service per period: own fleet products plus offers, each within its life."""
    ix = index(d)
    t = np.arange(d.n_periods)
    mem, lag = window_terms(d.product_arrival_shift, d.product_life)
    coeff = (d.product_pflops * d.product_in_fleet)[mem]
    own = gather(
        m,
        m.variables[UNITS],
        mem[None, :],
        t[:, None] - lag[None, :],
        coeff[None, :],
        ("period",),
        ix,
    )
    omem, olag = window_terms(d.offer_shift, d.offer_life)
    bought = gather(
        m,
        m.variables[OFFER],
        omem[None, :],
        t[:, None] - olag[None, :],
        d.offer_pflops[omem][None, :],
        ("period",),
        ix,
    )
    return own + bought
