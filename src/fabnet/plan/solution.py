"""The solved plan: tidy tables read from the model (columns as in docs/planner.md)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from fabnet.plan.clearing_constraints import OUTPUT as FAB_OUTPUT
from fabnet.plan.diagnosis import diagnose
from fabnet.plan.model import PlanModel
from fabnet.plan.objective import OBJECTIVE_SCALE, salvage_usd
from fabnet.plan.programmes import planned_online
from fabnet.plan.readout import (
    EPS,
    Solution,
    _shift_rows,
    candidate_duals_and_least_cost,
    site_capacity_and_use,
    site_could_have_capacity,
    site_shadow_prices,
    solution_arrays,
    yearly,
)
from fabnet.plan.sets import F, PlanData
from fabnet.plan.tables import TABLE_COLUMNS, is_fractional
from fabnet.plan.variables import (
    BUILD,
    OFFER,
    UNITS,
    WAFERS,
)
from fabnet.scenario.schema import SiteStatus


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
    why_not: pd.DataFrame
    programmes: pd.DataFrame
    options: dict[str, Any] = field(default_factory=dict)
    #: Porting decisions, option id (``product|process``) → 0/1 (the risk layer's first stage).
    ports: dict[str, float] = field(default_factory=dict)
    #: --lead-times load: load, WIP and cycle time per site and period, and the sites' curves
    clearing: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=TABLE_COLUMNS["clearing"])
    )
    clearing_curve: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=TABLE_COLUMNS["clearing_curve"])
    )
    #: The objective the solver minimised, USD PV: ``objective_usd`` unless the model runs
    #: past the horizon (docs/planner.md, "End of the horizon"), when it also holds the
    #: extension's costs and the salvage at the extension's end. The MIP gap refers to it.
    model_objective_usd: float | None = None

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
            "model_objective_usd": None
            if self.model_objective_usd is None
            else _num(self.model_objective_usd),
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
                    "fraction": _num(r.fraction),
                    "fractional": is_fractional(r.fraction),
                }
                for r in self.builds.itertuples()
            ],
            "ports": {k: _num(v) for k, v in self.ports.items()},
            "programmes": [
                {
                    "id": str(r.programme),
                    "year": int(str(r.year)),
                    "kind": str(r.kind),
                    "built": _num(r.built),
                    "target": _num(r.target),
                }
                for r in self.programmes.itertuples()
            ],
            "why_not": [_why_not_json(r) for r in self.why_not.itertuples()],
            **({"sites": clearing_summary(self.clearing)} if len(self.clearing) else {}),
        }


def _why_not_json(r: Any) -> dict[str, Any]:
    """One ``why_not`` row for ``--json``: an entry price (per wafer or unit) or entry cost."""
    out: dict[str, Any] = {"kind": str(r.kind), "id": str(r.id)}
    if r.kind == "candidate":
        out["entry_cost_usd"] = _num(r.entry_cost_usd)
    else:
        out["entry_price_usd"] = _num(r.entry_price_usd)
    out.update(
        unit=str(r.unit),
        current_usd=_num(r.current_usd),
        period=str(r.period),
        detail=str(r.detail),
    )
    return out


def _num(v: Any) -> float:
    f = float(v)
    return f if math.isfinite(f) else float("nan")


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
        cf = _cf_routes(d, s, logic)
        if cf.any():  # --lead-times load: the fab's output feeds assembly when it leaves
            assert s.fab_output is not None
            shifted[cf] = s.fab_output[logic[cf]] * upw[cf]
        np.add.at(arrive, prod, shifted)
        # good units assembled at tau, allocated pro rata to the wafers that fed them
        tau = np.arange(T)[None, :] + sh[:, None]
        inside = tau < T
        tau_c = np.clip(tau, 0, T - 1)
        avail = arrive[prod[:, None], tau_c]
        made = s.u[prod[:, None], tau_c]
        units = np.where(inside & (avail > EPS), made * contrib / np.maximum(avail, EPS), 0.0)
        if cf.any():
            # units per assembly period, then back to the start periods first in, first out
            out_units = np.where(
                arrive[prod] > EPS, s.u[prod] * shifted / np.maximum(arrive[prod], EPS), 0.0
            )
            fab_out = s.fab_output
            assert fab_out is not None
            for k in np.flatnonzero(cf):
                r = logic[k]
                w0 = float(s.wip_initial[r]) if s.wip_initial is not None else 0.0
                units[k] = _fifo(x[k], fab_out[r], w0, out_units[k])
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


def _cf_routes(d: PlanData, s: Solution, routes: np.ndarray) -> npt.NDArray[np.bool_]:
    """Which of ``routes`` have a clearing function (``--lead-times load``)."""
    if d.clearing is None or s.fab_output is None:
        return np.zeros(len(routes), dtype=bool)
    out: npt.NDArray[np.bool_] = np.asarray(d.clearing.is_cf, dtype=bool)[routes]
    return out


def _fifo(starts: F, output: F, wip0: F | float, out_units: F) -> F:
    """Units per start period of one route whose wafers leave the fab first in, first out:
    the wafers of ``output[τ]`` are the starts (after the initial WIP ``wip0``) whose
    cumulative count falls in that period's cumulative output; each carries
    ``out_units[τ] / output[τ]`` units."""
    s_hi = float(wip0) + np.cumsum(starts)
    s_lo = s_hi - starts
    o_hi = np.cumsum(output)
    o_lo = o_hi - output
    overlap = np.clip(
        np.minimum(s_hi[:, None], o_hi[None, :]) - np.maximum(s_lo[:, None], o_lo[None, :]),
        0.0,
        None,
    )  # (start t, output τ) wafers
    per_wafer = np.where(output > EPS, out_units / np.maximum(output, EPS), 0.0)
    out: F = overlap @ per_wafer
    return out


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
        "site_kind", "demand_id", "policy", "message", "id", "detail", "unit", "programme",
    }:  # fmt: skip
        return "object"
    return "float64"


def _compute(d: PlanData, s: Solution) -> pd.DataFrame:
    """PFLOP/s in service and added per source and period: own products (their versions
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


def _share_rows(
    d: PlanData, kind: str, key: str, value: F, total: F, cap: F | None
) -> list[dict[str, Any]]:
    """One ``shares`` row per year: ``value / total`` and its cap; NaN where nothing was added
    (a share of nothing is undefined: null in JSON, "–" in the CLI, a gap in the report)."""
    return [
        {
            "year": y,
            "kind": kind,
            "key": key,
            "share": value[yi] / total[yi] if total[yi] > EPS else float("nan"),
            "cap": float(cap[yi]) if cap is not None else float("nan"),
        }
        for yi, y in enumerate(d.year_list)
    ]


def _shares(d: PlanData, s: Solution) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    vendors = sorted(set(np.asarray(d.product_vendor)[d.product_in_fleet]) | set(d.offer_vendor))
    vendors += [v for v in d.vendor_caps if v not in vendors]
    for v in vendors:
        rows += _share_rows(d, "vendor", v, s.vendor_added[v], s.added_total, d.vendor_caps.get(v))
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
    """Undiscounted cost per category and period, USD. The salvage value is the one at the
    end of the scenario's horizon (work in progress included: docs/planner.md, "End of the
    horizon"); the periods after it are the model's extension, cut from the tables."""
    T = d.n_periods
    rc = s.x * d.route_cost_usd
    pipe = np.zeros_like(rc)  # (C5) --lead-times load: the initial WIP, paid in period 0
    if s.wip_initial is not None and rc.size:
        pipe[:, 0] = s.wip_initial
    rc = rc + pipe * d.route_cost_usd[:, :1]
    by_kind = [rc[d.route_kind == k].sum(axis=0) for k in range(3)]
    capex = (
        np.einsum("cs,cst->t", s.b * d.cand_capex_usd[:, None], d.cand_capex_share)
        if len(d.cand_ids)
        else np.zeros(T)
    )
    # a site's salvage value: its capex share for the life left, where the capex is paid
    site_salvage = (
        -np.einsum(
            "cs,cst->t", s.b * d.cand_capex_usd[:, None] * d.cand_salvage_share, d.cand_capex_share
        )
        if len(d.cand_ids) and d.cand_salvage_share.size
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
    # eq. 19b: negative, in the period of the decision
    credit = salvage_usd(d, d.reported_periods, wip=d.extension_years > 0)
    salvage = -sum(
        (credit[n] * a).sum(axis=0)
        for n, a in ((WAFERS, s.x), (UNITS, s.u), (OFFER, s.g), (FAB_OUTPUT, s.fab_output))
        if n in credit and a is not None
    ) + np.zeros(T)
    H = d.reported_periods
    if s.fab_output is not None and d.clearing is not None and H < T:
        # --lead-times load: wafers still in the fab at the horizon's end leave it in the
        # extension (cut from the tables); like the fixed model's work in progress they serve
        # only after the horizon and are credited in full, in its last period
        cf = np.asarray(d.clearing.is_cf, dtype=bool)
        w0 = s.wip_initial if s.wip_initial is not None else np.zeros(len(cf))
        wip_end = w0 + s.x[:, :H].sum(axis=1) - s.fab_output[:, :H].sum(axis=1)
        unit_usd = d.route_cost_usd[:, H - 1] + d.route_partner_usd[:, H - 1]
        if d.terminal != "none":
            salvage[H - 1] -= float(np.sum(np.where(cf, np.maximum(wip_end, 0.0), 0.0) * unit_usd))
    return {
        "wafers": by_kind[0],
        "hbm": by_kind[1],
        "packaging": by_kind[2],
        "assembly": (s.u * d.product_assembly_usd[:, None]).sum(axis=0),
        "design_partner": ((s.x + pipe) * d.route_partner_usd).sum(axis=0)
        + (s.u * d.product_partner_usd[:, None]).sum(axis=0),
        "gpus": (s.g * d.offer_price_usd).sum(axis=0) + untaken,
        "energy": watts * d.energy_usd_per_w,
        "capex": capex,
        "porting": porting,
        "unmet_penalty": unmet,
        "salvage": salvage + site_salvage,
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
                    # Share of one whole fab: 1 in a MILP plan, below 1 only in the LP
                    # relaxation (--relax), where capex and capacity scale with it.
                    "fraction": float(s.b[ci, ts]),
                }
            )
    df = _frame("builds", [pd.DataFrame(rows)])
    return df.sort_values(["start_period", "site"], kind="stable").reset_index(drop=True)


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


def _why_row(
    kind: str, id_: str, detail: str, d: PlanData, t: int, current: float, entry: float, unit: str
) -> dict[str, Any]:
    price = kind != "candidate"
    return {
        "kind": kind,
        "id": id_,
        "detail": detail,
        "period": d.labels[t],
        "year": int(d.years[t]),
        "current_usd": current,
        "entry_price_usd": entry if price else float("nan"),
        "entry_cost_usd": float("nan") if price else entry,
        "unit": unit,
    }


def _closest(fall: F, rows: np.ndarray) -> tuple[int, int] | None:
    """(row, period) of ``rows`` where the needed fall (USD, inf where impossible) is least."""
    if not rows.size:
        return None
    sub = fall[rows]
    if not np.isfinite(sub).any():
        return None
    i, t = np.unravel_index(int(np.argmin(sub)), sub.shape)
    return int(rows[i]), int(t)


def why_not(pm: PlanModel, s: Solution) -> pd.DataFrame:
    """What the plan leaves unused and at what price it would enter (the ``why_not`` table).

    From the reduced costs ``ρ`` of the LP the duals come from (the LP with builds and
    porting fixed for a MILP). For a wafer route or an offer unused in every period, the
    price that would make it enter in period ``t`` is ``c_t − ρ_t / δ_t`` (undiscounted
    USD per wafer or unit); the row is the period where that fall ``ρ_t / δ_t`` is least.
    Rows: unused existing or built sites (``site``: all its routes), unused logic process
    options (``option``, id ``product@process``: all sites), unused offers (``offer``), and
    unbuilt production candidates (``candidate``; research fabs give no capacity). Sites
    no product can use (no process option on their processes) have a row with no entry
    price: no price brings them in. Sorted by the fall needed relative to today's price.: the capex at which starting it in ``τ`` would pay,
    ``capex − ρ_τ / Σ_t share_{τ,t} δ_t``, at the best ``τ``. A build's reduced cost
    prices its whole capacity at today's duals, so for a candidate it is an upper estimate
    of the break-even capex (exact when its capacity displaces supply at one price).
    """
    d = pm.data
    rc = pm.reduced_costs
    rows: list[dict[str, Any]] = []
    if not rc:
        return _frame("why_not", [])
    disc = d.discount[None, :]
    inside = np.arange(d.n_periods)[None, :] < d.reported_periods  # not the extension
    cand_of_site = {int(si): k for k, si in enumerate(d.cand_site)}
    rcx = rc.get(WAFERS)
    if rcx is not None and len(d.route_ids):
        cap, _ = site_capacity_and_use(d, s)
        ok = d.route_available & (cap[d.route_site] > EPS) & np.isfinite(rcx) & inside
        fall = np.where(ok, np.nan_to_num(rcx) / OBJECTIVE_SCALE / disc, np.inf)
        used = s.x.sum(axis=1) > EPS

        def route_row(kind: str, id_: str, routes: np.ndarray, detail: str) -> None:
            best = _closest(fall, routes)
            if best is None:
                return
            r, t = best
            what = f"{d.product_source[d.route_product[r]]} on {d.route_process[r]}"
            where = f" at {d.site_ids[d.route_site[r]]}" if kind == "option" else ""
            c = float(d.route_cost_usd[r, t])
            rows.append(
                _why_row(kind, id_, detail or what + where, d, t, c, c - fall[r, t], "USD/wafer")
            )

        for i, sid in enumerate(d.site_ids):
            routes = np.flatnonzero(d.route_site == i)
            if not routes.size or used[routes].any():
                continue
            k = cand_of_site.get(i)
            if k is not None and s.b[k].sum() < 1e-6:
                continue  # an unbuilt candidate: its own row below
            route_row("site", sid, routes, "")
        options: dict[tuple[str, str], list[int]] = {}
        for r in np.flatnonzero(d.route_kind == 0):
            key = (d.product_source[d.route_product[r]], d.route_process[r])
            options.setdefault(key, []).append(int(r))
        for (prod, proc), rl in options.items():
            routes = np.asarray(rl, dtype=np.int64)
            if not used[routes].any():
                route_row("option", f"{prod}@{proc}", routes, "")
    could = site_could_have_capacity(d)
    for i, sid in enumerate(d.site_ids):
        site = d.scenario.sites[i]
        if (d.route_site == i).any() or site.purpose != "production" or not could[i].any():
            continue
        t = int(np.flatnonzero(could[i])[0])
        rows.append(
            _why_row(
                "candidate" if d.site_is_candidate[i] else "site",
                sid,
                f"no product has a process option on {', '.join(site.processes)}: no price "
                "brings it in (add one to a product's process_options)",
                d,
                t,
                float(d.cand_capex_usd[cand_of_site[i]]) if i in cand_of_site else float("nan"),
                float("nan"),
                "USD capex" if d.site_is_candidate[i] else "USD/wafer",
            )
        )
    rcg = rc.get(OFFER)
    if rcg is not None and len(d.offer_ids):
        ok = d.offer_available & (d.offer_upper > 0) & np.isfinite(rcg) & inside
        fall = np.where(ok, np.nan_to_num(rcg) / OBJECTIVE_SCALE / disc, np.inf)
        for o, oid in enumerate(d.offer_ids):
            if s.g[o].sum() > EPS:
                continue
            best = _closest(fall, np.array([o]))
            if best is None:
                continue
            t = best[1]
            c = float(d.offer_price_usd[o, t])
            rows.append(
                _why_row(
                    "offer", oid, f"{d.offer_vendor[o]} {oid}", d, t, c, c - fall[o, t], "USD/unit"
                )
            )
    rcb = rc.get(BUILD)
    if rcb is not None and len(d.cand_ids):
        # PV per USD of capex, net of the salvage value of the life left after the horizon
        pv = np.einsum("cst,t->cs", d.cand_capex_share, d.discount)
        if d.cand_salvage_share.size:
            pv = pv * (1.0 - d.cand_salvage_share)
        rcb = _undegenerate_builds(pm, rcb)
        for k, cid in enumerate(d.cand_ids):
            if s.b[k].sum() > 1e-6:
                continue
            site = d.scenario.sites[int(d.cand_site[k])]
            if site.purpose != "production" or not (d.route_site == d.cand_site[k]).any():
                continue  # no capacity, or none a product can use: no capex makes it pay
            capex = float(d.cand_capex_usd[k])
            ok = d.cand_allowed[k] & np.isfinite(rcb[k]) & (pv[k] > 0)
            if not ok.any() or capex <= 0:
                continue
            entry = np.where(
                ok,
                capex - np.nan_to_num(rcb[k]) / OBJECTIVE_SCALE / np.where(ok, pv[k], 1),
                -np.inf,
            )
            t = int(np.argmax(entry))
            detail = f"build started in {d.labels[t]}"
            rows.append(
                _why_row("candidate", cid, detail, d, t, capex, float(entry[t]), "USD capex")
            )
    df = _frame("why_not", [pd.DataFrame(rows)])
    if not len(df):
        return df
    # closest to entering first (the smallest fall relative to today's price), then the
    # rows no price brings in
    entry = np.where(df["kind"] == "candidate", df["entry_cost_usd"], df["entry_price_usd"]).astype(
        float
    )
    now = df["current_usd"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        fall = np.where(np.isfinite(entry) & (now != 0), (now - entry) / np.abs(now), np.inf)
    order = np.lexsort((df["id"].to_numpy(dtype=str), fall))
    return df.iloc[order].reset_index(drop=True)


def _undegenerate_builds(pm: PlanModel, rcb: F) -> F:
    """Build reduced costs with the capacity of an unbuilt site valued at what its wafers
    would earn, ``v_t = max(0, max_r (λ_t − ρ_{r,t}))``, instead of the row dual ``λ_t``.

    With the build fixed at 0 the candidate's capacity row ``Σ x ≤ 0`` is degenerate and
    its dual ``λ_t`` may be anything at or above ``v_t``; the reduced cost of the build
    ``ρ_b = coef − Σ_t λ_t C ρ_{τ,t} + …`` is recomputed with ``v_t`` in its place.
    """
    d = pm.data
    got = candidate_duals_and_least_cost(pm)
    if got is None:
        return rcb
    lam, least = got  # (C, T) objective units per wafer
    excess = np.minimum(lam, least)  # λ − v
    coeff = d.site_full_wafers[d.cand_site][:, None, :] * d.cand_ramp  # (C, Ts, T)
    out: F = rcb + np.einsum("cst,ct->cs", coeff, excess)
    return out


#: Kinds of programme rows: new production fabs, new research fabs, existing fabs.
PROGRAMME_KINDS = ("new_production", "new_research", "existing")


def programme_target(target: float | None, start: int, end: int | None, years: F) -> F:
    """Target count by the end of each year: linear from 0 before ``start`` to ``target`` at
    the end of ``end`` (the programme's target year), flat after; NaN without a target."""
    if target is None or end is None:
        return np.full(len(years), np.nan)
    frac = np.clip((years + 1 - start) / max(1, end + 1 - start), 0.0, 1.0)
    out: F = target * frac
    return out


def programmes(d: PlanData, s: Solution) -> pd.DataFrame:
    """Progress of each programme per year: fabs online by the year's end vs target.

    A site belongs to programme ``P`` when ``P`` is among its ``tags``. New fabs are its
    planned sites (from the first year with capacity) and its candidate sites the plan
    builds (from the year the build brings them online; ``b`` summed, so a relaxed build
    counts its fraction), by purpose (production, research); existing fabs are its existing
    sites, counted in every year. Targets: ``new_production_fabs`` and ``new_research_fabs``
    rise linearly from the programme's ``start_year`` (default: the horizon's first year)
    to ``target_year``; ``existing_fabs`` is flat.
    """
    sc = d.scenario
    rows: list[dict[str, Any]] = []
    years = np.asarray(d.year_list, dtype=float)
    cand_of_site = {int(si): k for k, si in enumerate(d.cand_site)}
    # (C, Y): built and online by the end of year y
    online = np.zeros((len(d.cand_ids), len(d.year_list)))
    for k in range(len(d.cand_ids)):
        for ts in np.flatnonzero(s.b[k] > 1e-9):
            on = np.flatnonzero(d.cand_ramp[k, ts] > 1e-9)
            if on.size:
                online[k, int(d.year_index[on[0]]) :] += s.b[k, ts]
    for prog in sc.programmes:
        members = [i for i, site in enumerate(sc.sites) if prog.id in site.tags]
        start = prog.start_year if prog.start_year is not None else sc.horizon.first_year
        for kind in PROGRAMME_KINDS:
            if kind == "existing":
                n_existing = sum(sc.sites[i].status is SiteStatus.existing for i in members)
                built = np.full(len(years), float(n_existing))
                target = np.full(len(years), np.nan if prog.existing_fabs is None
                                 else float(prog.existing_fabs))  # fmt: skip
                if not n_existing and prog.existing_fabs is None:
                    continue
            else:
                purpose = "production" if kind == "new_production" else "research"
                ks = [cand_of_site[i] for i in members
                      if i in cand_of_site and sc.sites[i].purpose == purpose]  # fmt: skip
                planned = planned_online(d, prog, purpose)
                built = planned + (online[ks].sum(axis=0) if ks else 0.0)
                n = prog.new_production_fabs if kind == "new_production" else prog.new_research_fabs
                target = programme_target(
                    None if n is None else float(n), start, prog.target_year, years
                )
                n_members = len(ks) + sum(
                    sc.sites[i].status is SiteStatus.planned and sc.sites[i].purpose == purpose
                    for i in members
                )
                if not n_members and n is None:
                    continue
            for yi, y in enumerate(d.year_list):
                rows.append(
                    {
                        "programme": prog.id,
                        "year": y,
                        "kind": kind,
                        "built": float(built[yi]),
                        "target": float(target[yi]),
                    }
                )
    return _frame("programmes", [pd.DataFrame(rows)])


def _cut(d: PlanData, df: pd.DataFrame) -> pd.DataFrame:
    """The rows of the scenario's horizon: the model's extension past it (docs/planner.md,
    "End of the horizon") is not part of the plan."""
    if not d.extension_years or df.empty or "year" not in df.columns:
        return df
    year = pd.to_numeric(df["year"], errors="coerce")
    keep = year.isna() | (year <= d.scenario.horizon.last_year)
    return df[keep.to_numpy()].reset_index(drop=True)


def read_solution(pm: PlanModel) -> Plan:
    """Read the solved model into a :class:`Plan` with tidy tables and diagnosis messages."""

    t0 = time.perf_counter()
    if pm.status is None or pm.objective_usd is None:
        from fabnet.errors import PlanError

        raise PlanError("the model has not been solved; call solve_model first")
    d = pm.data
    s = solution_arrays(pm)
    messages, binding = diagnose(pm, s)
    timings = dict(pm.timings_s)
    costs = _cut(d, _costs(d, s))
    plan = Plan(
        scenario_name=pm.scenario.name,
        status=pm.status,
        # the model's objective, or, when it runs past the horizon, the horizon's cost net of
        # the salvage value at its end (the costs table's total)
        objective_usd=float(pm.objective_usd)
        if not d.extension_years
        else float(costs["cost_pv_usd"].sum()),
        mip_gap=pm.mip_gap,
        timings_s=timings,
        model_size=pm.size(),
        messages=messages,
        supply=_cut(d, _supply(d, s)),
        compute=_cut(d, _compute(d, s)),
        shares=_cut(d, _shares(d, s)),
        costs=costs,
        builds=_builds(d, s),
        utilisation=_cut(d, _utilisation(d, s)),
        shadow_prices=_cut(d, _shadow(pm)),
        unmet=_cut(d, _unmet(d, s)),
        binding=_cut(d, _frame("binding", [binding])),
        why_not=why_not(pm, s),
        programmes=_cut(d, programmes(d, s)),
        options=pm.options.as_dict(),
        ports={k: float(v) + 0.0 for k, v in zip(d.option_ids, s.z, strict=True)},
        **{k: _cut(d, v) for k, v in _clearing(pm, s).items()},
        model_objective_usd=float(pm.objective_usd),
    )
    timings["read"] = time.perf_counter() - t0
    return plan


def _clearing(pm: PlanModel, s: Solution) -> dict[str, pd.DataFrame]:
    if pm.data.clearing is None:
        return {}
    from fabnet.plan.clearing_constraints import clearing_tables

    table, curve = clearing_tables(pm, site_capacity_and_use(pm.data, s)[0])
    return {"clearing": table, "clearing_curve": curve}


def clearing_summary(table: pd.DataFrame) -> list[dict[str, Any]]:
    """``--json`` ``sites``: per site and year the load (output / capacity), the cycle time
    (output-weighted mean, days) and the mean WIP (wafers) of a clearing-function plan."""
    out: list[dict[str, Any]] = []
    for (site, year), g in table.groupby(["site", "year"], sort=True):
        output = float(g["output_wafers"].sum())
        cap = float(g["capacity_wafers"].sum())
        ct = g["cycle_time_days"].to_numpy(dtype=float)
        w = g["output_wafers"].to_numpy(dtype=float)
        ok = np.isfinite(ct) & (w > 0)
        out.append(
            {
                "site": str(site),
                "year": int(str(year)),
                "load": output / cap if cap > 0 else 0.0,
                "cycle_time_days": float(np.sum(ct[ok] * w[ok]) / np.sum(w[ok]))
                if ok.any()
                else None,
                "wip_wafers": float(g["wip_wafers"].mean()),
            }
        )
    return out
