"""The solved plan: tidy tables read from the model (columns as in docs/planner.md)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fabnet.plan.constraints import CANDIDATE_CAPACITY, SITE_CAPACITY
from fabnet.plan.model import PlanModel
from fabnet.plan.objective import OBJECTIVE_SCALE, salvage_usd
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

COST_CATEGORIES = (
    "wafers",
    "hbm",
    "packaging",
    "assembly",
    "gpus",
    "energy",
    "capex",
    "porting",
    "unmet_penalty",
)

TABLE_COLUMNS: dict[str, list[str]] = {
    "supply": [
        "period", "year", "source_kind", "source", "vendor", "site", "process", "country",
        "wafers", "good_dies", "units", "pflops_added",
    ],
    "compute": [
        "period", "year", "source", "source_kind", "vendor", "pflops_installed", "pflops_added",
    ],
    "shares": ["year", "kind", "key", "share", "cap"],
    "costs": ["year", "category", "cost_usd", "cost_pv_usd"],
    "builds": [
        "site", "name", "country", "tags", "start_period", "online_period", "full_period",
        "capex_usd", "capacity_wspm",
    ],
    "utilisation": [
        "period", "year", "site", "site_kind", "country", "capacity_wafers", "used_wafers",
        "utilization",
    ],
    "shadow_prices": ["period", "year", "site", "usd_per_wafer", "source"],
    "unmet": ["period", "year", "demand_id", "kind", "required", "delivered", "unmet"],
    "binding": ["policy", "year", "period", "slack", "dual_usd", "message"],
}  # fmt: skip


@dataclass(frozen=True, eq=False)
class Plan:
    """Result of one planner run: run facts, diagnosis messages and tidy tables."""

    scenario_name: str
    status: str
    objective_usd: float
    mip_gap: float | None
    timings_s: dict[str, float]
    model_size: dict[str, int]
    messages: list[str]
    supply: pd.DataFrame
    compute: pd.DataFrame
    shares: pd.DataFrame
    costs: pd.DataFrame
    builds: pd.DataFrame
    utilisation: pd.DataFrame
    shadow_prices: pd.DataFrame
    unmet: pd.DataFrame
    binding: pd.DataFrame
    options: dict[str, Any] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every tidy table by name (the keys of :data:`TABLE_COLUMNS`)."""
        return {name: getattr(self, name) for name in TABLE_COLUMNS}

    def summary(self, run_id: str | None = None) -> dict[str, Any]:
        """The ``--json`` object: run facts, per-year compute, shares, unmet, cost, builds."""
        years: list[dict[str, Any]] = []
        comp = self.compute
        for y in sorted(self.costs["year"].unique()) if len(self.costs) else []:
            c = comp[comp["year"] == y]
            n_per = max(1, c["period"].nunique())
            by_src = c.groupby("source", sort=True)["pflops_installed"].sum() / n_per
            sh = self.shares[self.shares["year"] == y]
            un = self.unmet[(self.unmet["year"] == y) & (self.unmet["kind"] == "compute")]
            n_un = max(1, un["period"].nunique())
            years.append(
                {
                    "year": int(y),
                    "compute_pflops": {str(k): _num(v) for k, v in by_src.items()},
                    "vendor_share": {
                        str(r.key): _num(r.share) for r in sh[sh["kind"] == "vendor"].itertuples()
                    },
                    "country_share": {
                        str(r.key): _num(r.share) for r in sh[sh["kind"] == "country"].itertuples()
                    },
                    "unmet_pflops": _num(un["unmet"].sum() / n_un),
                    "cost_usd": _num(self.costs.loc[self.costs["year"] == y, "cost_usd"].sum()),
                }
            )
        return {
            "run_id": run_id,
            "scenario": self.scenario_name,
            "status": self.status,
            "objective_usd": _num(self.objective_usd),
            "mip_gap": None if self.mip_gap is None else _num(self.mip_gap),
            "model_size": dict(self.model_size),
            "timings_s": {k: round(v, 3) for k, v in self.timings_s.items()},
            "messages": list(self.messages),
            "years": years,
            "builds": [
                {
                    "site": str(r.site),
                    "start_period": str(r.start_period),
                    "online_period": str(r.online_period),
                }
                for r in self.builds.itertuples()
            ],
        }


def _num(v: Any) -> float:
    f = float(v)
    return f if math.isfinite(f) else float("nan")


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
    own_units_fleet: F  # (P, T) units in service (fleet builds only)
    offer_units_fleet: F  # (O, T)
    untaken: F  # (O, Y) committed units paid for and not taken
    cand_capacity: F  # (C, T) wafers per period available from builds


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
    )


def _supply(d: PlanData, s: Solution) -> pd.DataFrame:
    T = d.n_periods
    logic = np.flatnonzero(d.route_kind == 0)
    rows: list[pd.DataFrame] = []
    if logic.size:
        x = s.x[logic]
        upw = d.route_yield_units[logic]
        contrib = x * upw  # logic units made from wafers started at t
        prod = d.route_product[logic]
        sh = d.route_shift[logic]
        arrive = np.zeros((len(d.product_ids), T))  # logic units ready per assembly period
        shifted = _shift_rows(contrib, sh)
        np.add.at(arrive, prod, shifted)
        # good units assembled at tau, allocated pro rata to the wafers that fed them
        tau = np.arange(T)[None, :] + sh[:, None]
        inside = tau < T
        tau_c = np.clip(tau, 0, T - 1)
        avail = arrive[prod[:, None], tau_c]
        made = s.u[prod[:, None], tau_c]
        units = np.where(inside & (avail > EPS), made * contrib / np.maximum(avail, EPS), 0.0)
        keep = x > EPS
        ri, ti = np.nonzero(keep)
        r = logic[ri]
        pflops = (d.product_pflops * d.product_in_fleet)[d.route_product[r]]
        rows.append(
            pd.DataFrame(
                {
                    "period": np.asarray(d.labels, dtype=object)[ti],
                    "year": d.years[ti],
                    "source_kind": "own",
                    "source": np.asarray(d.product_source, dtype=object)[d.route_product[r]],
                    "vendor": np.asarray(d.product_vendor, dtype=object)[d.route_product[r]],
                    "site": np.asarray(d.site_ids, dtype=object)[d.route_site[r]],
                    "process": np.asarray(d.route_process, dtype=object)[r],
                    "country": np.asarray(d.site_country, dtype=object)[d.route_site[r]],
                    "wafers": x[ri, ti],
                    "good_dies": x[ri, ti] * d.route_good_dies[r, ti],
                    "units": units[ri, ti],
                    "pflops_added": units[ri, ti] * pflops,
                }
            )
        )
    oi, ti = np.nonzero(s.g > EPS)
    if oi.size:
        rows.append(
            pd.DataFrame(
                {
                    "period": np.asarray(d.labels, dtype=object)[ti],
                    "year": d.years[ti],
                    "source_kind": "offer",
                    "source": np.asarray(d.offer_ids, dtype=object)[oi],
                    "vendor": np.asarray(d.offer_vendor, dtype=object)[oi],
                    "site": "",
                    "process": "",
                    "country": np.asarray(d.offer_country, dtype=object)[oi],
                    "wafers": 0.0,
                    "good_dies": 0.0,
                    "units": s.g[oi, ti],
                    "pflops_added": s.g[oi, ti] * d.offer_pflops[oi],
                }
            )
        )
    return _frame("supply", rows)


def _frame(name: str, parts: list[pd.DataFrame]) -> pd.DataFrame:
    cols = TABLE_COLUMNS[name]
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in cols})
    df = pd.concat(parts, ignore_index=True)[cols]
    return df.reset_index(drop=True)


def _dtype(col: str) -> str:
    if col == "year":
        return "int64"
    if col in {
        "period", "source_kind", "source", "vendor", "site", "process", "country", "kind",
        "key", "category", "name", "tags", "start_period", "online_period", "full_period",
        "site_kind", "demand_id", "policy", "message",
    }:  # fmt: skip
        return "object"
    return "float64"


def _compute(d: PlanData, s: Solution) -> pd.DataFrame:
    """PFLOP/s in service and added per source and period: own products (their builds
    summed), offers, and the installed base (in service, never added)."""
    T = d.n_periods
    fleet = np.flatnonzero(d.product_in_fleet)
    own_src = list(dict.fromkeys(d.product_source[i] for i in fleet))
    own_inst = np.zeros((len(own_src), T))
    own_add = np.zeros((len(own_src), T))
    for i in fleet:
        k = own_src.index(d.product_source[i])
        own_inst[k] += s.own_fleet[i]
        own_add[k] += s.own_added[i]
    own_vendor = [d.product_vendor[next(i for i in fleet if d.product_source[i] == p)]
                  for p in own_src]  # fmt: skip
    n_inst = len(d.installed_ids)
    src = own_src + list(d.offer_ids) + list(d.installed_ids)
    kind = ["own"] * len(own_src) + ["offer"] * len(d.offer_ids) + ["installed"] * n_inst
    vendor = own_vendor + list(d.offer_vendor) + list(d.installed_vendor)
    inst = np.vstack([own_inst, s.offer_fleet, d.installed_pflops]).reshape(len(src), T)
    add = np.vstack([own_add, s.offer_added, np.zeros((n_inst, T))]).reshape(len(src), T)
    n = len(src)
    return _frame(
        "compute",
        [
            pd.DataFrame(
                {
                    "period": np.tile(np.asarray(d.labels, dtype=object), n),
                    "year": np.tile(d.years, n),
                    "source": np.repeat(np.asarray(src, dtype=object), T),
                    "source_kind": np.repeat(np.asarray(kind, dtype=object), T),
                    "vendor": np.repeat(np.asarray(vendor, dtype=object), T),
                    "pflops_installed": inst.ravel(),
                    "pflops_added": add.ravel(),
                }
            )
        ],
    )


def yearly(d: PlanData, a: F) -> F:
    """Sum of (…, T) values over the periods of each year → (…, Y)."""
    out: F = a @ d.year_slice_matrix().T.astype(float)
    return out


def _share_rows(
    d: PlanData, kind: str, key: str, value: F, total: F, cap: F | None
) -> list[dict[str, Any]]:
    """One ``shares`` row per year: ``value / total`` (0 where nothing was added) and its cap."""
    return [
        {
            "year": y,
            "kind": kind,
            "key": key,
            "share": value[yi] / total[yi] if total[yi] > EPS else 0.0,
            "cap": float(cap[yi]) if cap is not None else float("nan"),
        }
        for yi, y in enumerate(d.year_list)
    ]


def _shares(d: PlanData, s: Solution) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    vendors = sorted(set(np.asarray(d.product_vendor)[d.product_in_fleet]) | set(d.offer_vendor))
    vendors += [v for v in d.vendor_caps if v not in vendors]
    added_p, added_o = yearly(d, s.own_added), yearly(d, s.offer_added)
    total = added_p.sum(axis=0) + added_o.sum(axis=0)
    for v in vendors:
        pv = np.array([pv == v for pv in d.product_vendor], dtype=bool)
        ov = np.array([ov == v for ov in d.offer_vendor], dtype=bool)
        val = added_p[pv].sum(axis=0) + added_o[ov].sum(axis=0)
        rows += _share_rows(d, "vendor", v, val, total, d.vendor_caps.get(v))
    logic = np.flatnonzero(d.route_kind == 0)
    wafers = yearly(d, s.x[logic]) if logic.size else np.zeros((0, len(d.year_list)))
    total_w = wafers.sum(axis=0)
    countries = sorted({d.site_country[d.route_site[r]] for r in logic})
    countries += [c for c in d.country_caps if c not in countries]
    for c in countries:
        mask = np.array([d.site_country[d.route_site[r]] == c for r in logic], dtype=bool)
        val = wafers[mask].sum(axis=0) if mask.size else np.zeros(len(d.year_list))
        rows += _share_rows(d, "country", c, val, total_w, d.country_caps.get(c))
    return _frame("shares", [pd.DataFrame(rows)])


def cost_by_period(d: PlanData, s: Solution) -> dict[str, F]:
    """Undiscounted cost per category and period, USD."""
    T = d.n_periods
    rc = s.x * d.route_cost_usd
    by_kind = [rc[d.route_kind == k].sum(axis=0) for k in range(3)]
    capex = (
        np.einsum("cs,cst->t", s.b * d.cand_capex_usd[:, None], d.cand_capex_share)
        if len(d.cand_ids)
        else np.zeros(T)
    )
    porting = np.zeros(T)
    np.add.at(porting, d.option_pay_period, s.z * d.option_cost_usd)
    unmet = (s.unmet_c * d.compute_penalty_usd[:, None] * d.length_years).sum(axis=0) + (
        s.unmet_u * d.unit_penalty_usd[:, None]
    ).sum(axis=0)
    # committed units paid for and not taken: spread over the periods of their year
    per_year = len(d.labels) // len(d.year_list)
    untaken = (s.untaken[:, d.year_index] / per_year * d.offer_price_usd).sum(axis=0)
    watts = (s.own_units_fleet * d.product_power_w[:, None]).sum(axis=0) + (
        s.offer_units_fleet * d.offer_power_w[:, None]
    ).sum(axis=0)
    credit = salvage_usd(d)  # eq. 19b: negative, in the period of the decision
    salvage = -sum(
        (credit[n] * a).sum(axis=0)
        for n, a in ((WAFERS, s.x), (UNITS, s.u), (OFFER, s.g))
        if n in credit
    ) + np.zeros(T)
    return {
        "wafers": by_kind[0],
        "hbm": by_kind[1],
        "packaging": by_kind[2],
        "assembly": (s.u * d.product_assembly_usd[:, None]).sum(axis=0),
        "gpus": (s.g * d.offer_price_usd).sum(axis=0) + untaken,
        "energy": watts * d.energy_usd_per_w,
        "capex": capex,
        "porting": porting,
        "unmet_penalty": unmet,
        "salvage": salvage,
    }


def _costs(d: PlanData, s: Solution) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for cat, per in cost_by_period(d, s).items():
        und, pv = yearly(d, per), yearly(d, per * d.discount)
        for yi, y in enumerate(d.year_list):
            rows.append({"year": y, "category": cat, "cost_usd": und[yi], "cost_pv_usd": pv[yi]})
    return _frame("costs", [pd.DataFrame(rows)])


def _builds(d: PlanData, s: Solution) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for ci, si in enumerate(d.cand_site):
        site = d.scenario.sites[si]
        for ts in np.flatnonzero(s.b[ci] > 1e-6):
            ramp = d.cand_ramp[ci, ts]
            on = np.flatnonzero(ramp > 1e-9)
            full = np.flatnonzero(ramp >= 1 - 1e-9)
            rows.append(
                {
                    "site": site.id,
                    "name": site.name,
                    "country": site.country,
                    "tags": ",".join(site.tags),
                    "start_period": d.labels[ts],
                    "online_period": d.labels[on[0]] if on.size else "",
                    "full_period": d.labels[full[0]] if full.size else "",
                    "capex_usd": float(s.b[ci, ts] * d.cand_capex_usd[ci]),
                    "capacity_wspm": float(max(site.capacity_wspm.values())) * float(s.b[ci, ts]),
                }
            )
    df = _frame("builds", [pd.DataFrame(rows)])
    return df.sort_values(["start_period", "site"], kind="stable").reset_index(drop=True)


def site_capacity_and_use(d: PlanData, s: Solution) -> tuple[F, F]:
    """(S, T) wafers per period the designer may use, and wafers started."""
    cap = d.site_cap_wafers.copy()
    if len(d.cand_ids):
        cap[d.cand_site] = s.cand_capacity
    used = np.zeros_like(cap)
    np.add.at(used, d.route_site, s.x)
    return cap, used


def _utilisation(d: PlanData, s: Solution) -> pd.DataFrame:
    cap, used = site_capacity_and_use(d, s)
    S, T = cap.shape
    util = np.divide(used, cap, out=np.zeros_like(used), where=cap > EPS)
    return _frame(
        "utilisation",
        [
            pd.DataFrame(
                {
                    "period": np.tile(np.asarray(d.labels, dtype=object), S),
                    "year": np.tile(d.years, S),
                    "site": np.repeat(np.asarray(d.site_ids, dtype=object), T),
                    "site_kind": np.repeat(np.asarray(d.site_kind, dtype=object), T),
                    "country": np.repeat(np.asarray(d.site_country, dtype=object), T),
                    "capacity_wafers": cap.ravel(),
                    "used_wafers": used.ravel(),
                    "utilization": np.clip(util, 0.0, None).ravel(),
                }
            )
        ],
    )


def site_shadow_prices(pm: PlanModel) -> F | None:
    """(S, T) marginal value of one more wafer of site capacity, undiscounted USD."""
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
    return val


def _shadow(pm: PlanModel) -> pd.DataFrame:
    d = pm.data
    val = site_shadow_prices(pm)
    if val is None:
        return _frame("shadow_prices", [])
    S, T = val.shape
    return _frame(
        "shadow_prices",
        [
            pd.DataFrame(
                {
                    "period": np.tile(np.asarray(d.labels, dtype=object), S),
                    "year": np.tile(d.years, S),
                    "site": np.repeat(np.asarray(d.site_ids, dtype=object), T),
                    "usd_per_wafer": val.ravel(),
                    "source": pm.dual_source,
                }
            )
        ],
    )


def _unmet(d: PlanData, s: Solution) -> pd.DataFrame:
    parts: list[pd.DataFrame] = []
    T = d.n_periods
    for req, un, ids, kind in (
        (d.compute_required, s.unmet_c, d.compute_ids, "compute"),
        (d.unit_required, s.unmet_u, d.unit_ids, "units"),
    ):
        n = len(ids)
        if not n:
            continue
        parts.append(
            pd.DataFrame(
                {
                    "period": np.tile(np.asarray(d.labels, dtype=object), n),
                    "year": np.tile(d.years, n),
                    "demand_id": np.repeat(np.asarray(ids, dtype=object), T),
                    "kind": kind,
                    "required": req.ravel(),
                    "delivered": (req - un).ravel(),
                    "unmet": un.ravel(),
                }
            )
        )
    return _frame("unmet", parts)


def read_solution(pm: PlanModel) -> Plan:
    """Read the solved model into a :class:`Plan` with tidy tables and diagnosis messages."""
    from fabnet.plan.diagnosis import diagnose

    t0 = time.perf_counter()
    if pm.status is None or pm.objective_usd is None:
        from fabnet.errors import PlanError

        raise PlanError("the model has not been solved; call solve_model first")
    d = pm.data
    s = solution_arrays(pm)
    messages, binding = diagnose(pm, s)
    timings = dict(pm.timings_s)
    plan = Plan(
        scenario_name=pm.scenario.name,
        status=pm.status,
        objective_usd=float(pm.objective_usd),
        mip_gap=pm.mip_gap,
        timings_s=timings,
        model_size=pm.size(),
        messages=messages,
        supply=_supply(d, s),
        compute=_compute(d, s),
        shares=_shares(d, s),
        costs=_costs(d, s),
        builds=_builds(d, s),
        utilisation=_utilisation(d, s),
        shadow_prices=_shadow(pm),
        unmet=_unmet(d, s),
        binding=_frame("binding", [binding]),
        options=pm.options.as_dict(),
    )
    timings["read"] = time.perf_counter() - t0
    return plan
