"""Policy constraints the scenario can switch on (eqs. 16–18 of docs/planner.md).

* vendor share: PFLOP/s added in year y from vendor v ≤ cap_v(y) × all PFLOP/s added in y;
* country share: own logic wafers started in country c in year y ≤ cap_c(y) × all own
  logic wafers started in y;
* capital budget: capex paid in year y ≤ budget(y);
* supplier share: the designer's wafers of one process kind at a company's existing and
  planned sites in year y ≤ cap_c(y) × those sites' whole capacity in y.

Reservable share and single sourcing are part of the capacity and porting constraints.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from linopy import LinearExpression, Model

from fabnet.plan.sets import F, I, PlanData
from fabnet.plan.terms import gather, gather_sum, group_terms
from fabnet.plan.variables import BUILD, OFFER, UNITS, WAFERS, index

VENDOR_SHARE = "Policy-vendor_share"
COUNTRY_SHARE = "Policy-country_share"
CAPEX_BUDGET = "Policy-capex_budget"
SUPPLIER_SHARE = "Policy-supplier_share"


def periods_of_years(d: PlanData) -> I:
    """(Y, n) period indices of each calendar year (periods align with years)."""
    Y = len(d.year_list)
    out: I = np.arange(d.n_periods).reshape(Y, d.n_periods // Y)
    return out


def arrivals(
    m: Model,
    d: PlanData,
    weight_products: F,
    weight_offers: F,
    dims: tuple[str, str],
    coords: dict[str, pd.Index],
) -> LinearExpression:
    """Σ over sources and the periods of year y of weight × PFLOP/s arriving (new compute).

    ``weight_products`` is (G, Y, P) and ``weight_offers`` (G, Y, O): a weight per
    output group, year and source.
    """
    ty = periods_of_years(d)  # (Y, n)
    Y, n = ty.shape
    P, n_off = len(d.product_ids), len(d.offer_ids)
    G = weight_products.shape[0]
    # own: u[p, t - shift_p] for t in year y
    src_t = ty[:, :, None] - d.product_arrival_shift[None, None, :]  # (Y, n, P)
    rows = np.broadcast_to(np.arange(P)[None, None, :], (Y, n, P)).reshape(Y, n * P)
    cols = src_t.reshape(Y, n * P)
    w = weight_products * (d.product_pflops * d.product_in_fleet)[None, None, :]
    w = np.repeat(w[:, :, None, :], n, axis=2).reshape(G, Y, n * P)
    src_o = ty[:, :, None] - d.offer_shift[None, None, :]
    rows_o = np.broadcast_to(np.arange(n_off)[None, None, :], (Y, n, n_off)).reshape(Y, n * n_off)
    wo = weight_offers * d.offer_pflops[None, None, :]
    wo = np.repeat(wo[:, :, None, :], n, axis=2).reshape(G, Y, n * n_off)
    return gather_sum(
        m,
        [
            (m.variables[UNITS], rows[None], cols[None], w),
            (m.variables[OFFER], rows_o[None], src_o.reshape(Y, n * n_off)[None], wo),
        ],
        dims,
        coords,
    )


def add_policies(m: Model, d: PlanData) -> None:
    """Add the policy constraints the scenario switches on."""
    ix = index(d)
    Y = len(d.year_list)
    ty = periods_of_years(d)
    n = ty.shape[1]

    # (16) vendor share of new compute
    if d.vendor_caps and (d.product_ids or d.offer_ids):
        vendors = list(d.vendor_caps)
        caps = np.array([d.vendor_caps[v] for v in vendors])  # (V, Y)
        pv = np.array([[1.0 if pv == v else 0.0 for pv in d.product_vendor] for v in vendors])
        ov = np.array([[1.0 if ov == v else 0.0 for ov in d.offer_vendor] for v in vendors])
        wp = pv.reshape(len(vendors), 1, -1) - caps[:, :, None]
        wo = ov.reshape(len(vendors), 1, -1) - caps[:, :, None]
        coords = {**ix, "vendor": pd.Index(vendors, name="vendor", dtype=object)}
        expr = arrivals(m, d, wp, wo, ("vendor", "year"), coords)
        m.add_constraints(expr <= 0, name=VENDOR_SHARE)

    # (17) country share of own logic wafers
    logic = np.flatnonzero(d.route_kind == 0)
    if d.country_caps and logic.size:
        countries = list(d.country_caps)
        caps = np.array([d.country_caps[c] for c in countries])  # (K, Y)
        rc = np.array([d.site_country[s] for s in d.route_site[logic]], dtype=object)
        inc = np.array([[1.0 if c == k else 0.0 for c in rc] for k in countries])  # (K, Rl)
        w = inc[:, None, :] - caps[:, :, None]  # (K, Y, Rl)
        w = np.repeat(w[:, :, None, :], n, axis=2).reshape(len(countries), Y, n * logic.size)
        rows = np.broadcast_to(logic[None, None, :], (Y, n, logic.size)).reshape(Y, -1)
        cols = np.broadcast_to(ty[:, :, None], (Y, n, logic.size)).reshape(Y, -1)
        coords = {**ix, "country": pd.Index(countries, name="country", dtype=object)}
        expr = gather(
            m, m.variables[WAFERS], rows[None], cols[None], w, ("country", "year"), coords
        )
        m.add_constraints(expr <= 0, name=COUNTRY_SHARE)

    # (18) capital budget per year
    C = len(d.cand_ids)
    if d.capex_budget_usd is not None and C:
        spend = capex_by_year(d)  # (C, Ts, Y)
        T = d.n_periods
        b_rows = np.repeat(np.arange(C), T)  # K = C * Ts
        b_cols = np.tile(np.arange(T), C)
        coeff = np.moveaxis(spend, 2, 0).reshape(Y, C * T)
        expr = gather(m, m.variables[BUILD], b_rows[None, :], b_cols[None, :], coeff, ("year",), ix)
        m.add_constraints(expr <= d.capex_budget_usd, name=CAPEX_BUDGET)

    # (22) supplier share: wafers at a company's existing and planned sites, per process kind
    groups, members = supplier_groups(d)
    if groups:
        rows = np.repeat(members, n, axis=1)[:, None, :]  # (G, 1, K n)
        cols = np.tile(ty, members.shape[1])[None, :, :]  # (1, Y, K n)
        coords = {**ix, "supplier": pd.Index(groups, name="supplier", dtype=object)}
        expr = gather(m, m.variables[WAFERS], rows, cols, 1.0, ("supplier", "year"), coords)
        m.add_constraints(expr <= supplier_limit(d, groups), name=SUPPLIER_SHARE)


def _supplier_sites(d: PlanData, group: str) -> I:
    """Existing and planned production sites of a ``company|kind`` group."""
    company, kind = group.split("|")
    out: I = np.flatnonzero(
        (np.array(d.site_owner, dtype=object) == company)
        & (np.array(d.site_kind, dtype=object) == kind)
        & ~d.site_is_candidate
    )
    return out


def supplier_groups(d: PlanData) -> tuple[list[str], I]:
    """Groups ``company|kind`` with a supplier-share cap and capacity, and (G, K) their routes
    (padded with -1): the routes at the company's existing and planned sites of that kind."""
    groups: list[str] = []
    for company in d.supplier_caps:
        for kind in dict.fromkeys(d.site_kind):
            g = f"{company}|{kind}"
            if d.site_total_wafers[_supplier_sites(d, g)].sum() > 0:
                groups.append(g)
    if not groups:
        return [], np.zeros((0, 1), dtype=np.int64)
    group_of_site = np.full(len(d.site_ids), -1, dtype=np.int64)
    for gi, g in enumerate(groups):
        group_of_site[_supplier_sites(d, g)] = gi
    route_group = group_of_site[d.route_site]
    used = np.isin(np.arange(len(groups)), route_group)  # groups the designer can use at all
    keep = [g for g, u in zip(groups, used, strict=True) if u]
    remap = np.cumsum(used) - 1
    route_group = np.where(route_group >= 0, remap[np.clip(route_group, 0, None)], -1)
    return keep, group_terms(route_group, len(keep))


def supplier_limit(d: PlanData, groups: list[str]) -> F:
    """(G, Y) wafers a ``company|kind`` group may make for the designer per year: cap × whole
    capacity of its existing and planned sites in the year."""
    ym = d.year_slice_matrix().astype(float)  # (Y, T)
    out = np.zeros((len(groups), len(d.year_list)))
    for gi, g in enumerate(groups):
        total = d.site_total_wafers[_supplier_sites(d, g)].sum(axis=0)  # (T,)
        out[gi] = d.supplier_caps[g.split("|")[0]] * (ym @ total)
    return out


def capex_by_year(d: PlanData) -> F:
    """(C, Ts, Y) capex paid in year y when candidate c starts building in period Ts, USD."""
    ym = d.year_slice_matrix().astype(float)  # (Y, T)
    out: F = np.einsum("cst,yt->csy", d.cand_capex_share, ym) * d.cand_capex_usd[:, None, None]
    return out
