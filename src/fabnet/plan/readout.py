"""The solved values a plan is read from: variable values, arrivals, fleets and vendor flows
(computed once here), duals and shadow prices, as numpy arrays.

Both :mod:`fabnet.plan.solution` (the tidy tables) and :mod:`fabnet.plan.diagnosis` (the
messages) read a :class:`Solution`; neither imports the other's internals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fabnet.plan.clearing_constraints import OUTPUT as FAB_OUTPUT
from fabnet.plan.clearing_constraints import WIP_INITIAL
from fabnet.plan.constraints import CANDIDATE_CAPACITY, SITE_CAPACITY
from fabnet.plan.model import PlanModel
from fabnet.plan.objective import OBJECTIVE_SCALE
from fabnet.plan.sets import F, PlanData
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

#: Values below this are solver noise and are read as zero.
EPS = 1e-7


def _sol(pm: PlanModel, name: str) -> F:
    v = pm.model.variables[name]
    arr: F = np.nan_to_num(np.asarray(v.solution.values, dtype=float), nan=0.0)
    arr[np.abs(arr) < EPS] = 0.0
    return arr


def _dual(pm: PlanModel, name: str) -> F | None:
    if pm.dual_source is None or name not in pm.model.constraints:
        return None
    try:
        d = pm.model.constraints[name].dual
    except (AttributeError, KeyError, ValueError):
        return None
    out: F = np.nan_to_num(np.asarray(d.values, dtype=float), nan=0.0)
    return out


def _shift(a: F, k: int) -> F:
    """Shift along the last axis by ``k`` periods (later), zero-filled."""
    out = np.zeros_like(a)
    T = a.shape[-1]
    if k < T:
        out[..., k:] = a[..., : T - k]
    return out


def _shift_rows(a: F, ks: np.ndarray) -> F:
    out = np.zeros_like(a)
    for k in np.unique(ks):  # a handful of distinct lead times, not periods
        rows = ks == k
        out[rows] = _shift(a[rows], int(k))
    return out


def _window(a: F, lives: np.ndarray) -> F:
    """Fleet: Σ of the last ``life`` periods of arrivals (per row)."""
    c = np.cumsum(a, axis=-1)
    out = c.copy()
    for life in np.unique(lives):
        rows = lives == life
        out[rows] = c[rows] - _shift(c[rows], int(life))
    return out


@dataclass
class Solution:
    """Solved variable values and derived flows, as numpy arrays (used by the diagnosis)."""

    x: F
    u: F
    g: F
    b: F
    z: F
    unmet_c: F
    unmet_u: F
    own_added: F  # (P, T) PFLOP/s arriving
    own_fleet: F
    offer_added: F  # (O, T)
    offer_fleet: F
    own_units_fleet: F  # (P, T) units in service (product versions in the fleet only)
    offer_units_fleet: F  # (O, T)
    untaken: F  # (O, Y) committed units paid for and not taken
    cand_capacity: F  # (C, T) wafers per period available from builds
    vendor_added: dict[str, F]  # (Y,) PFLOP/s added per year from each vendor
    added_total: F  # (Y,) PFLOP/s added per year from all vendors
    fab_output: F | None = None  # (R, T) wafers leaving the fab (--lead-times load only)
    wip_initial: F | None = None  # (R,) initial pipeline, wafers (--lead-times load only)


def solution_arrays(pm: PlanModel) -> Solution:
    """Variable values and the arrivals and fleets they imply."""
    d = pm.data
    u, g = _sol(pm, UNITS), _sol(pm, OFFER)
    own_units = _window(_shift_rows(u, d.product_arrival_shift), d.product_life)
    own_units *= d.product_in_fleet[:, None]
    offer_units = _window(_shift_rows(g, d.offer_shift), d.offer_life)
    fleet_w = (d.product_pflops * d.product_in_fleet)[:, None]
    own_added = _shift_rows(u, d.product_arrival_shift) * fleet_w
    offer_added = _shift_rows(g, d.offer_shift) * d.offer_pflops[:, None]
    b = _sol(pm, BUILD)
    cand_cap = (
        np.einsum("cs,cst->ct", b, d.cand_ramp) * d.site_full_wafers[d.cand_site]
        if len(d.cand_ids)
        else np.zeros((0, d.n_periods))
    )
    added_p, added_o = yearly(d, own_added), yearly(d, offer_added)
    product_vendor, offer_vendor = np.asarray(d.product_vendor), np.asarray(d.offer_vendor)
    vendors = sorted(set(d.product_vendor) | set(d.offer_vendor) | set(d.vendor_caps))
    vendor_added = {
        v: added_p[product_vendor == v].sum(axis=0) + added_o[offer_vendor == v].sum(axis=0)
        for v in vendors
    }
    return Solution(
        x=_sol(pm, WAFERS),
        u=u,
        g=g,
        b=b,
        z=_sol(pm, PORT),
        unmet_c=_sol(pm, UNMET_COMPUTE),
        unmet_u=_sol(pm, UNMET_UNITS),
        own_added=own_added,
        own_fleet=_window(own_added, d.product_life),
        offer_added=offer_added,
        offer_fleet=_window(offer_added, d.offer_life),
        own_units_fleet=own_units,
        offer_units_fleet=offer_units,
        untaken=_sol(pm, UNTAKEN),
        cand_capacity=cand_cap,
        vendor_added=vendor_added,
        added_total=added_p.sum(axis=0) + added_o.sum(axis=0),
        fab_output=_sol(pm, FAB_OUTPUT) if FAB_OUTPUT in pm.model.variables else None,
        wip_initial=_sol(pm, WIP_INITIAL) if WIP_INITIAL in pm.model.variables else None,
    )


def yearly(d: PlanData, a: F) -> F:
    """Sum of (…, T) values over the periods of each year → (…, Y)."""
    out: F = a @ d.year_slice_matrix().T.astype(float)
    return out


def site_capacity_and_use(d: PlanData, s: Solution) -> tuple[F, F]:
    """(S, T) wafers per period the designer may use, and wafers started."""
    cap = d.site_cap_wafers.copy()
    if len(d.cand_ids):
        cap[d.cand_site] = s.cand_capacity
    used = np.zeros_like(cap)
    np.add.at(used, d.route_site, s.x)
    return cap, used


def site_could_have_capacity(d: PlanData) -> np.ndarray:
    """(S, T) True where a site has capacity (existing, planned) or would have some if built
    as early as allowed (candidates)."""
    could = d.site_cap_wafers > EPS
    for k, si in enumerate(d.cand_site):
        allowed = np.flatnonzero(d.cand_allowed[k])
        ramp = d.cand_ramp[k, allowed].max(axis=0) if allowed.size else np.zeros(d.n_periods)
        could[si] = (ramp > 1e-9) & (d.site_full_wafers[si] > EPS)
    return could


def site_shadow_prices(pm: PlanModel) -> F | None:
    """(S, T) marginal value of one more wafer of site capacity, undiscounted USD.

    NaN where the site has no capacity and could have none (before it exists; a candidate
    that cannot be online then): a capacity that cannot exist has no price.
    """
    d = pm.data
    out = np.zeros((len(d.site_ids), d.n_periods))
    fixed = _dual(pm, SITE_CAPACITY)
    cand = _dual(pm, CANDIDATE_CAPACITY)
    if fixed is None and cand is None:
        return None
    if fixed is not None:
        out[~d.site_is_candidate] = fixed
    if cand is not None:
        out[d.cand_site] = cand
    val: F = -out / OBJECTIVE_SCALE / d.discount[None, :]
    val[np.abs(val) < 1e-6] = 0.0
    val[~site_could_have_capacity(d)] = np.nan
    return val


def candidate_duals_and_least_cost(pm: PlanModel) -> tuple[F, F] | None:
    """``(λ, ρ_min)``, both (C, T) in objective units per wafer: the dual of each candidate's
    capacity row and the least reduced cost of its routes' wafers (inf when it has none).
    None without duals."""
    d = pm.data
    dual = _dual(pm, CANDIDATE_CAPACITY)
    rcx = pm.reduced_costs.get(WAFERS)
    if dual is None or rcx is None:
        return None
    lam = -dual
    least = np.full_like(lam, np.inf)
    for k, si in enumerate(d.cand_site):
        routes = np.flatnonzero(d.route_site == si)
        if routes.size:
            vals = np.where(np.isfinite(rcx[routes]), rcx[routes], np.inf)
            least[k] = vals.min(axis=0)
    return lam, least


def candidate_wafer_value(pm: PlanModel) -> F | None:
    """(C, T) what one more wafer of each candidate's capacity would earn in t, PV USD:
    ``max(0, max_r (λ_t − ρ_{r,t}))`` over the site's routes (λ the dual of its capacity
    row, ρ the routes' reduced costs), which does not depend on the degenerate dual of an
    unbuilt site's ``Σ x ≤ 0``. None without duals."""
    got = candidate_duals_and_least_cost(pm)
    if got is None:
        return None
    lam, least = got
    out: F = np.maximum(0.0, lam - np.minimum(lam, least)) / OBJECTIVE_SCALE
    return out
