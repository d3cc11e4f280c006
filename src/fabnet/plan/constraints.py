"""Physical constraints of the planner (eqs. 7–15 of docs/planner.md).

Every constraint family is built as one expression, vectorised, with
:func:`fabnet.plan.terms.gather_sum` (no Python loops over periods or sites).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from linopy import Model

from fabnet.plan.clearing_constraints import add_clearing_constraints
from fabnet.plan.clearing_constraints import supply_parts as clearing_supply_parts
from fabnet.plan.policies import periods_of_years
from fabnet.plan.sets import B, F, I, PlanData
from fabnet.plan.terms import Part, gather, gather_sum, group_terms, window_terms
from fabnet.plan.variables import (
    BUILD,
    OFFER,
    PORT,
    UNITS,
    UNMET_COMPUTE,
    UNMET_UNITS,
    UNTAKEN,
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
CANDIDATE_ORDER = "Candidate-twin_order"
OPTION_USE = "Option-use"
OPTION_SINGLE = "Option-single"
OFFER_COMMITMENT = "Offer-commitment"
PRODUCT_RAMP = "Product-max_units"


def _members(d: PlanData, kind: int) -> I:
    """(P, K) routes of ``kind`` per product, padded with -1."""
    grp = np.where(d.route_kind == kind, d.route_product, -1)
    out: I = group_terms(grp, len(d.product_ids))
    return out


def _packages_parts(m: Model, d: PlanData, scale: F) -> list[Part]:
    """Terms of A[p, t] × scale[p]: packages assembled (eq. 8).

    Products with packaging options: Σ packaging wafers × packages per wafer; others: u[p, t].
    """
    T, P = d.n_periods, len(d.product_ids)
    t = np.arange(T)
    mem = _members(d, 2)
    ppw = np.where(mem >= 0, d.route_yield_units[np.clip(mem, 0, None), 0], 0.0)
    direct = (~d.product_packaged).astype(float) * scale
    return [
        (
            m.variables[WAFERS],
            mem[:, None, :],
            t[None, :, None],
            (ppw * scale[:, None])[:, None, :],
        ),
        (m.variables[UNITS], np.arange(P)[:, None, None], t[None, :, None], direct[:, None, None]),
    ]


def _shifted_supply_part(m: Model, d: PlanData, kind: int, sign: float) -> list[Part]:
    """Terms of Σ over routes of ``kind``: output per wafer × wafers started ``shift`` earlier
    (routes with a clearing function: × wafers coming out of the fab, clearing_constraints)."""
    T = d.n_periods
    t = np.arange(T)
    members = _members(d, kind)  # (P, K)
    mem = np.clip(members, 0, None)
    src_t = t[None, :, None] - d.route_shift[mem][:, None, :]  # (P, T, K)
    coeff = np.where(
        (members[:, None, :] >= 0) & (src_t >= 0),
        d.route_yield_units[mem[:, None, :], np.clip(src_t, 0, T - 1)],
        0.0,
    )
    if d.clearing is not None:
        coeff = np.where(d.clearing.is_cf[mem][:, None, :], 0.0, coeff)
        return [(m.variables[WAFERS], members[:, None, :], src_t, sign * coeff),
                *clearing_supply_parts(m, d, members, sign)]  # fmt: skip
    return [(m.variables[WAFERS], members[:, None, :], src_t, sign * coeff)]


def _labelled(values: B | F, dims: tuple[str, ...], ix: dict[str, pd.Index]) -> xr.DataArray:
    """``values`` with named dims and coordinates: linopy pairs a bare numpy array with an
    expression's dims by position, which its next major version refuses."""
    return xr.DataArray(values, dims=dims, coords={k: ix[k] for k in dims})


def add_constraints(m: Model, d: PlanData) -> None:
    """Add the physical constraints: capacity, bill of materials, demand, builds, porting."""
    ix = index(d)
    T, S, P = d.n_periods, len(d.site_ids), len(d.product_ids)
    t = np.arange(T)
    x = m.variables[WAFERS]

    # (7) capacity of existing and planned sites, wafers per period
    members = group_terms(d.route_site, S)  # (S, K)
    fixed = np.flatnonzero(~d.site_is_candidate)
    if fixed.size:
        fix_ix = {**ix, "site": ix["site"][fixed]}
        used = gather(
            m, x, members[fixed][:, None, :], t[None, :, None], 1.0, ("site", "period"), fix_ix
        )
        cap = _labelled(d.site_cap_wafers[fixed], ("site", "period"), fix_ix)
        m.add_constraints(used <= cap, name=SITE_CAPACITY)
    # (12) capacity of candidate sites: full capacity × ramp share of each build start
    C = len(d.cand_ids)
    if C:
        cix = {**ix, "site": ix["candidate"]}
        full = d.site_full_wafers[d.cand_site]  # (C, T)
        coeff = full[:, None, :] * d.cand_ramp  # (C, Ts, T)
        lhs = gather_sum(
            m,
            [
                (x, members[d.cand_site][:, None, :], t[None, :, None], 1.0),
                (m.variables[BUILD], np.arange(C)[:, None, None], t[None, None, :],
                 -np.moveaxis(coeff, 1, 2)),
            ],
            ("candidate", "period"),
            cix,
        )  # fmt: skip
        m.add_constraints(lhs <= 0, name=CANDIDATE_CAPACITY)
        # (13) a candidate is built at most once
        once = gather(
            m, m.variables[BUILD], np.arange(C)[:, None], t[None, :], 1.0, ("candidate",), cix
        )
        m.add_constraints(once <= 1, name=CANDIDATE_ONCE)
        add_twin_order(m, d)

    # (8)-(10) bill of materials per product and period
    pt = ("product", "period")
    if P:
        ones = np.ones(P)
        lhs = gather_sum(
            m, [*_packages_parts(m, d, ones), *_shifted_supply_part(m, d, 0, -1.0)], pt, ix
        )
        m.add_constraints(lhs <= 0, name=PRODUCT_DIES)
        hbm = d.product_hbm_stacks > 0
        if hbm.any():
            parts = [
                *_packages_parts(m, d, d.product_hbm_stacks),
                *_shifted_supply_part(m, d, 1, -1.0),
            ]
            lhs = gather_sum(m, parts, pt, ix)
            mask = _labelled(np.repeat(hbm[:, None], T, axis=1), pt, ix)
            m.add_constraints(lhs <= 0, name=PRODUCT_HBM, mask=mask)
        if d.product_packaged.any():
            mem = _members(d, 2)
            good = np.where(mem >= 0, d.route_good_units[np.clip(mem, 0, None)], 0.0)
            lhs = gather_sum(
                m,
                [
                    (m.variables[UNITS], np.arange(P)[:, None, None], t[None, :, None], 1.0),
                    (x, mem[:, None, :], t[None, :, None], -good[:, None, :]),
                ],
                pt,
                ix,
            )
            mask = _labelled(np.repeat(d.product_packaged[:, None], T, axis=1), pt, ix)
            m.add_constraints(lhs <= 0, name=PRODUCT_PACKAGING, mask=mask)

    # (11) installed compute: fleet of own units and offers in service, plus unmet
    if d.compute_ids:
        D = len(d.compute_ids)
        parts = [
            *fleet_parts(m, d),
            (m.variables[UNMET_COMPUTE], np.arange(D)[None, :], t[:, None], 1.0),
        ]
        lhs = gather_sum(m, parts, ("period",), ix)
        rhs = _labelled(
            d.compute_required.sum(axis=0) - d.installed_pflops.sum(axis=0), ("period",), ix
        )
        m.add_constraints(lhs >= rhs, name=COMPUTE_DEMAND)
    # (14) unit demand: units of every version of the product arriving in the period, plus unmet
    if d.unit_ids:
        U = len(d.unit_ids)
        versions = group_terms(d.product_base, len(d.base_product_ids))[d.unit_product]  # (U, K)
        shift = d.product_arrival_shift[np.clip(versions, 0, None)]
        src = t[None, :, None] - shift[:, None, :]  # (U, T, K)
        lhs = gather_sum(
            m,
            [
                (m.variables[UNITS], versions[:, None, :], src, 1.0),
                (m.variables[UNMET_UNITS], np.arange(U)[:, None, None], t[None, :, None], 1.0),
            ],
            ("unit_demand", "period"),
            ix,
        )
        required = _labelled(d.unit_required.reshape(U, T), ("unit_demand", "period"), ix)
        m.add_constraints(lhs >= required, name=UNIT_DEMAND)

    # (15) porting: a process option is used only once ported; single sourcing
    Z = len(d.option_ids)
    if Z:
        mem = group_terms(d.route_option, Z)
        lhs = gather_sum(
            m,
            [
                (x, mem[:, None, :], t[None, :, None], 1.0),
                (m.variables[PORT], 0, np.arange(Z)[:, None, None], -d.option_big_m[:, :, None]),
            ],
            ("option", "period"),
            ix,
        )
        m.add_constraints(lhs <= 0, name=OPTION_USE)
        if not d.allow_multi_sourcing:
            mem_p = group_terms(d.option_product, len(d.base_product_ids))
            bix = {**ix, "product": pd.Index(d.base_product_ids, name="product", dtype=object)}
            per_product = gather(m, m.variables[PORT], 0, mem_p, 1.0, ("product",), bix)
            m.add_constraints(per_product <= 1, name=OPTION_SINGLE)

    # (20) committed purchases: units ordered in year y plus units paid for and not taken
    committed = d.offer_min_units > 0
    if committed.any():
        ty = periods_of_years(d)  # (Y, n)
        n_off = len(d.offer_ids)
        lhs = gather_sum(
            m,
            [
                (m.variables[OFFER], np.arange(n_off)[:, None, None], ty[None, :, :], 1.0),
                (m.variables[UNTAKEN], np.arange(n_off)[:, None, None],
                 np.arange(len(d.year_list))[None, :, None], 1.0),
            ],
            ("offer", "year"),
            ix,
        )  # fmt: skip
        mask = _labelled(committed, ("offer", "year"), ix)
        min_units = _labelled(d.offer_min_units, ("offer", "year"), ix)
        m.add_constraints(lhs >= min_units, name=OFFER_COMMITMENT, mask=mask)

    add_product_ramp(m, d)
    if d.clearing is not None:  # --lead-times load: WIP balance and clearing functions
        add_clearing_constraints(m, d)


def add_twin_order(m: Model, d: PlanData) -> None:
    """(13b) a candidate with an earlier twin (``cand_twin``) is built no earlier than it:
    ``Σ_{τ ≤ t} b_{twin,τ} ≥ Σ_{τ ≤ t} b_{c,τ}`` at every period the twin may start in.
    Symmetry breaking: any plan can be rewritten to meet it at the same cost (swap the two
    sites), so it changes no optimum, but branch and bound no longer explores both."""
    later = np.flatnonzero(d.cand_twin >= 0)
    if not later.size:
        return
    ix = index(d)
    T = d.n_periods
    t = np.arange(T)
    earlier = d.cand_twin[later]
    upto = (t[None, :] <= t[:, None]).astype(float)[None, :, :]  # (1, t, τ): τ ≤ t
    cix = {**ix, "candidate": ix["candidate"][later]}
    b = m.variables[BUILD]
    lhs = gather_sum(
        m,
        [(b, earlier[:, None, None], t[None, None, :], upto),
         (b, later[:, None, None], t[None, None, :], -upto)],
        ("candidate", "period"),
        cix,
    )  # fmt: skip
    mask = _labelled(d.cand_allowed[earlier], ("candidate", "period"), cix)
    m.add_constraints(lhs >= 0, name=CANDIDATE_ORDER, mask=mask)


def add_product_ramp(m: Model, d: PlanData) -> None:
    """(21) production ramp: good units of all versions of a product per period ≤ its cap."""
    capped = np.isfinite(d.product_max_units)  # (Pb, T)
    if not capped.any():
        return
    ix = index(d)
    T = d.n_periods
    bix = {**ix, "product": pd.Index(d.base_product_ids, name="product", dtype=object)}
    versions = group_terms(d.product_base, len(d.base_product_ids))  # (Pb, K)
    t = np.arange(T)
    lhs = gather(
        m, m.variables[UNITS], versions[:, None, :], t[None, :, None], 1.0, ("product", "period"),
        bix,
    )  # fmt: skip
    rhs = _labelled(np.where(capped, d.product_max_units, 0.0), ("product", "period"), bix)
    m.add_constraints(
        lhs <= rhs, name=PRODUCT_RAMP, mask=_labelled(capped, ("product", "period"), bix)
    )


def fleet_parts(m: Model, d: PlanData) -> list[Part]:
    """Terms of the PFLOP/s in service per period: own fleet products and offers in their life."""
    t = np.arange(d.n_periods)
    mem, lag = window_terms(d.product_arrival_shift, d.product_life)
    coeff = (d.product_pflops * d.product_in_fleet)[mem]
    omem, olag = window_terms(d.offer_shift, d.offer_life)
    return [
        (m.variables[UNITS], mem[None, :], t[:, None] - lag[None, :], coeff[None, :]),
        (
            m.variables[OFFER],
            omem[None, :],
            t[:, None] - olag[None, :],
            d.offer_pflops[omem][None, :],
        ),
    ]
