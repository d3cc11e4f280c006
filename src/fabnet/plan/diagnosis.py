"""Diagnosis: which policies and limits bind, and sentences a planner can act on.

The model is always feasible (unmet demand is a penalised slack), so "infeasible
policies" show up as unmet demand. For every stretch of years with unmet demand the
diagnosis names the policies that bind there (from the duals of the policy
constraints and their slack), why other supply cannot fill the gap (nothing arrives
in time, capacity or allocation exhausted, the penalty is cheaper), and what to
change. Binding policies without unmet demand are reported with what relaxing them
would save.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fabnet.plan.constraints import OFFER_COMMITMENT
from fabnet.plan.model import PlanModel
from fabnet.plan.objective import OBJECTIVE_SCALE, capex_pv_per_build
from fabnet.plan.policies import CAPEX_BUDGET, COUNTRY_SHARE, VENDOR_SHARE, capex_by_year
from fabnet.plan.readout import (
    EPS,
    Solution,
    _dual,
    candidate_wafer_value,
    site_capacity_and_use,
    site_could_have_capacity,
    site_shadow_prices,
    yearly,
)
from fabnet.plan.sets import F, PlanData


@dataclass
class Binding:
    """One binding policy constraint in one year."""

    policy: str
    kind: str  # vendor | country | budget
    key: str
    year: int
    cap: float
    slack: float
    dual_usd: float
    message: str


def fmt_pflops(v: float) -> str:
    """PFLOP/s in readable units (EFLOP/s from 1000 PFLOP/s)."""
    if abs(v) >= 1e5:
        return f"{v / 1000:,.0f} EFLOP/s"
    if abs(v) >= 1000:
        return f"{v / 1000:.3g} EFLOP/s"
    return f"{v:.3g} PFLOP/s"


def fmt_usd(v: float) -> str:
    """USD with a B/M/k suffix."""
    a = abs(v)
    for div, suf in ((1e12, " T"), (1e9, " B"), (1e6, " M"), (1e3, " k")):
        if a >= div:
            return f"{v / div:.3g}{suf} USD"
    return f"{v:.3g} USD"


def fmt_pct(v: float) -> str:
    """A share as a percentage."""
    return f"{100 * v:.0f} %" if abs(100 * v - round(100 * v)) < 0.05 else f"{100 * v:.1f} %"


def span(years: list[int]) -> str:
    """``2025`` or ``2025–2027``."""
    return str(years[0]) if years[0] == years[-1] else f"{years[0]}–{years[-1]}"


def _runs(flags: np.ndarray, years: list[int]) -> list[list[int]]:
    out: list[list[int]] = []
    cur: list[int] = []
    for y, f in zip(years, flags, strict=True):
        if f:
            cur.append(y)
        elif cur:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def _vendor_flows(d: PlanData, s: Solution, v: str) -> tuple[F, F]:
    """(Y,) PFLOP/s added from vendor v and in total, per year."""
    return s.vendor_added[v], s.added_total


def _bindings(pm: PlanModel, s: Solution) -> list[Binding]:
    d = pm.data
    out: list[Binding] = []
    tol = 1e-7
    dv = _dual(pm, VENDOR_SHARE)
    for i, v in enumerate(d.vendor_caps):
        val, total = _vendor_flows(d, s, v)
        for yi, y in enumerate(d.year_list):
            cap = float(d.vendor_caps[v][yi])
            slack = cap * total[yi] - val[yi]
            dual = float(dv[i, yi]) if dv is not None else 0.0
            saving = -dual / OBJECTIVE_SCALE * total[yi] * 0.01
            if abs(dual) > tol or (
                slack <= 1e-6 * max(1.0, total[yi]) and cap < 1 and val[yi] > EPS
            ):
                msg = f"the cap of {fmt_pct(cap)} on new compute from {v} binds in {y}"
                if saving > 1:
                    msg += f": one more point of cap would save {fmt_usd(saving)} (present value)"
                out.append(
                    Binding(f"max_vendor_share[{v}]", "vendor", v, y, cap, slack, saving, msg)
                )
    dc = _dual(pm, COUNTRY_SHARE)
    logic = np.flatnonzero(d.route_kind == 0)
    if logic.size:
        wafers = yearly(d, s.x[logic])
        total_w = wafers.sum(axis=0)
        for i, c in enumerate(d.country_caps):
            mask = np.array([d.site_country[d.route_site[r]] == c for r in logic], dtype=bool)
            val = wafers[mask].sum(axis=0)
            for yi, y in enumerate(d.year_list):
                cap = float(d.country_caps[c][yi])
                slack = cap * total_w[yi] - val[yi]
                dual = float(dc[i, yi]) if dc is not None else 0.0
                saving = -dual / OBJECTIVE_SCALE * total_w[yi] * 0.01
                if abs(dual) > tol:
                    msg = f"the cap of {fmt_pct(cap)} on logic wafers made in {c} binds in {y}"
                    if saving > 1:
                        msg += (
                            f": one more point of cap would save {fmt_usd(saving)} (present value)"
                        )
                    out.append(
                        Binding(f"max_country_share[{c}]", "country", c, y, cap, slack, saving, msg)
                    )
    dm = _dual(pm, OFFER_COMMITMENT)
    if dm is not None:
        per_year = d.n_periods // len(d.year_list)
        for o, yi in zip(*np.nonzero(d.offer_min_units > 0), strict=True):
            cost = float(dm[o, yi]) / OBJECTIVE_SCALE  # PV USD per committed unit
            if cost <= 1.0:
                continue
            oid, y = d.offer_ids[o], d.year_list[yi]
            units = float(d.offer_min_units[o, yi])
            taken = float(s.g[o, yi * per_year : (yi + 1) * per_year].sum())
            msg = (
                f"the commitment to buy {units:,.0f} {oid} in {y} binds: each unit less "
                f"would save {fmt_usd(cost)} (present value)"
            )
            out.append(
                Binding(
                    f"min_units_per_year[{oid}]",
                    "commitment",
                    oid,
                    y,
                    units,
                    taken + float(s.untaken[o, yi]) - units,
                    cost,
                    msg,
                )
            )
    db = _dual(pm, CAPEX_BUDGET)
    if d.capex_budget_usd is not None and len(d.cand_ids):
        spend = np.einsum("cs,csy->y", s.b, capex_by_year(d))
        for yi, y in enumerate(d.year_list):
            budget = float(d.capex_budget_usd[yi])
            dual = float(db[yi]) if db is not None else 0.0
            saving = -dual  # PV USD saved per USD of extra budget (scale cancels)
            if abs(dual) > tol:
                msg = (
                    f"the capital budget of {fmt_usd(budget)} per year binds in {y}: "
                    f"each extra dollar of budget saves {saving:.2f} USD (present value)"
                )
                out.append(
                    Binding(
                        "capex_budget_usd_per_year",
                        "budget",
                        "",
                        y,
                        budget,
                        budget - float(spend[yi]),
                        saving,
                        msg,
                    )
                )
    return out


def _usable(d: PlanData) -> np.ndarray:
    """(R, T) True where route r can take wafers in t: available, and its site has (or, for
    a candidate, could have if built as early as allowed) capacity then."""
    out: np.ndarray = d.route_available & site_could_have_capacity(d)[d.route_site]
    return out


def _route_start_text(d: PlanData, r: int, t0: int) -> str:
    """Why route r cannot start before period t0: a tape-out, a build, or the site's start."""
    kind = int(d.route_kind[r])
    site = d.site_ids[d.route_site[r]]
    if d.site_is_candidate[d.route_site[r]]:
        return f"site {site} must be built first (online from {d.labels[t0]})"
    if kind == 0:
        src = d.scenario.product(d.product_source[d.route_product[r]])
        opt = next(o for o in src.process_options if o.process == d.route_process[r])
        if opt.available_from_year is not None:
            return f"tape-out on {opt.process} in {opt.available_from_year}"
        return f"wafers on {opt.process} from {d.labels[t0]}"
    what = "HBM" if kind == 1 else "packaging"
    return f"{what} on {d.route_process[r]} at {site} from {d.labels[t0]}"


def _earliest_own_arrival(d: PlanData) -> dict[int, tuple[int, str]]:
    """Per fleet product: first period a unit can be in service, and why not earlier.

    A unit assembled in τ needs dies (logic wafers started σ_r before), HBM stacks (HBM
    wafers started σ_r before) and packages (packaging wafers in τ): the earliest assembly
    is the latest of the earliest ready material of each kind the product needs; the kind
    that sets it is the reason given.
    """
    out: dict[int, tuple[int, str]] = {}
    T = d.n_periods
    usable = _usable(d)
    for p in np.flatnonzero(d.product_in_fleet & (d.product_pflops > 0)):
        routes = np.flatnonzero(d.route_product == p)
        need = [0]
        if d.product_hbm_stacks[p] > 0:
            need.append(1)
        if d.product_packaged[p]:
            need.append(2)
        latest, why = -1, "no site can make it"
        for k in need:
            best, best_r, best_t0 = T, -1, T
            for r in routes[d.route_kind[routes] == k]:
                first = np.flatnonzero(usable[r])
                if first.size and int(first[0] + d.route_shift[r]) < best:
                    best, best_r, best_t0 = int(first[0] + d.route_shift[r]), int(r), int(first[0])
            if best_r < 0:
                latest, why = (
                    T,
                    (
                        "no site can make it"
                        if k == 0
                        else f"no site can make its {'HBM' if k == 1 else 'packaging'}"
                    ),
                )
                break
            if best > latest:
                lead = int(d.route_shift[best_r] + d.product_arrival_shift[p])
                latest = best
                why = f"{_route_start_text(d, best_r, best_t0)} + {lead} period(s) of cycle and lead time"
        t = latest + int(d.product_arrival_shift[p]) if latest < T else T
        out[int(p)] = (min(t, T), why)
    return out


def _caps_short(d: PlanData, run: list[int]) -> tuple[float, dict[str, float]] | None:
    """When every vendor with compute to sell is capped and the caps add up to less than
    100 % in some year of ``run``: the smallest sum and each vendor's cap then."""
    fleet = d.product_in_fleet & (d.product_pflops > 0)
    vendors = set(np.asarray(d.product_vendor, dtype=object)[fleet]) | set(d.offer_vendor)
    if not vendors or not vendors <= set(d.vendor_caps):
        return None
    yi = [d.year_list.index(y) for y in run]
    totals = [sum(float(d.vendor_caps[v][i]) for v in vendors) for i in yi]
    worst = int(np.argmin(totals))
    if totals[worst] >= 1 - 1e-9:
        return None
    return totals[worst], {v: float(d.vendor_caps[v][yi[worst]]) for v in sorted(vendors)}


def _first_per_policy(binds: list[Binding]) -> list[Binding]:
    seen: dict[str, Binding] = {}
    for b in binds:
        seen.setdefault(b.policy, b)
    return list(seen.values())


def _policy_phrase(b: Binding) -> str:
    if b.kind == "country":
        return f"the cap of {fmt_pct(b.cap)} on logic wafers made in {b.key} binds"
    if b.kind == "budget":
        return f"the capital budget of {fmt_usd(b.cap)} per year binds"
    return f"the cap of {fmt_pct(b.cap)} on {b.key} binds"


def _vendor_sources(
    d: PlanData, s: Solution, v: str, run: list[int], earliest: dict[int, tuple[int, str]]
) -> list[str]:
    """Sources of vendor ``v`` that could add compute in the years ``run`` if the cap allowed."""
    out: list[str] = []
    in_run = np.isin(d.years, run)
    T = d.n_periods
    for o, ov in enumerate(d.offer_vendor):
        if ov != v:
            continue
        t = np.arange(T)
        arrives_in_run = np.zeros(T, dtype=bool)
        ok = t + d.offer_shift[o] < T
        arrives_in_run[ok] = in_run[(t + d.offer_shift[o])[ok]]
        room = s.g[o] < d.offer_upper[o] - 1e-6 * np.maximum(1.0, np.nan_to_num(d.offer_upper[o]))
        if (d.offer_available[o] & arrives_in_run & room).any():
            out.append(d.offer_ids[o])
    run_end = int(np.flatnonzero(d.years == run[-1])[-1])
    out += [d.product_source[p] for p, (t0, _) in earliest.items()
            if d.product_vendor[p] == v and t0 <= run_end]  # fmt: skip
    return list(dict.fromkeys(out))


def _needed_share(d: PlanData, s: Solution, v: str, years: list[int], unmet_y: F) -> float:
    val, total = _vendor_flows(d, s, v)
    need = 0.0
    for y in years:
        yi = d.year_list.index(y)
        e = float(unmet_y[yi])
        if total[yi] + e > EPS:
            need = max(need, (val[yi] + e) / (total[yi] + e))
    return min(1.0, math.ceil(need * 100 - 1e-9) / 100)


def _supply_limits(pm: PlanModel, s: Solution, years: list[int]) -> list[str]:
    d = pm.data
    in_run = np.isin(d.years, years)
    notes: list[str] = []
    full = [
        d.offer_ids[o]
        for o in range(len(d.offer_ids))
        if np.isfinite(d.offer_upper[o]).any()
        and (
            (s.g[o] >= d.offer_upper[o] - 1e-6 * np.maximum(1, d.offer_upper[o]))
            & d.offer_available[o]
            & in_run
        ).any()
    ]
    if full:
        notes.append(f"offers at their allocation limit: {', '.join(full)}")
    closed = [
        d.offer_ids[o] for o in range(len(d.offer_ids)) if not (d.offer_available[o] & in_run).any()
    ]
    if closed:
        notes.append(f"offers not on sale then: {', '.join(closed)}")
    cap, used = site_capacity_and_use(pm.data, s)
    busy = [
        d.site_ids[i]
        for i in range(len(d.site_ids))
        if ((cap[i] > EPS) & (used[i] >= cap[i] * (1 - 1e-6)) & in_run).any()
    ]
    if busy:
        notes.append(f"sites at capacity: {', '.join(busy[:6])}" + (" …" if len(busy) > 6 else ""))
    sp = site_shadow_prices(pm)
    unbuilt = [
        (k, d.cand_ids[k])
        for k in range(len(d.cand_ids))
        if s.b[k].sum() < 1e-6 and sp is not None and (sp[d.cand_site[k]][in_run] > 1e-6).any()
    ]
    blocked = budget_blocked(d)
    for k, cid in unbuilt:
        if k in blocked:
            notes.append(
                f"candidate {cid} is not built: its capex of {fmt_usd(blocked[k][1])} in its "
                f"costliest year exceeds the capital budget of {fmt_usd(blocked[k][0])}"
            )
    late = [cid for k, cid in unbuilt if k not in blocked]
    if late:
        more = " …" if len(late) > 4 else ""
        notes.append(
            f"candidates not built (not worth it or too late): {', '.join(late[:4])}{more}"
        )
    return notes


@dataclass
class BudgetCost:
    """What the capital budget costs a MILP plan, measured by re-solving without it."""

    cost_usd: float  # PV USD the plan would save without the budget
    share: float  # cost / objective without the budget
    years: list[int]  # years the plan without the budget spends more than the budget
    bindings: list[Binding]
    message: str


def budget_cost(pm: PlanModel, s: Solution) -> BudgetCost | None:
    """The cost of the capital budget of a MILP plan, or None when it costs nothing.

    With builds fixed, the budget rows hold constants only, so their duals say nothing
    about the build decisions the budget delays or rules out. When a budget is set and
    some candidate start it allows is ruled out by it (given the plan's other spending),
    the plan is solved again without the budget (same options, no user hook): the cost is
    the difference of the two objectives, reported when above the MIP gap; the budget
    binds in the years where the plan without it spends more than the budget.

    The second solve happens only when the budget forbids a start (given the plan's other
    spending) that would pay at the plan's own prices: a start earlier than the chosen one,
    or any start of an unbuilt candidate, whose capacity (valued by
    :func:`candidate_wafer_value`) earns more than its capex, net of what the chosen start
    earns.
    """
    d = pm.data
    if not pm.is_mip or d.capex_budget_usd is None or not len(d.cand_ids):
        return None
    spend_k = capex_by_year(d)  # (C, Ts, Y)
    spend = np.einsum("cs,csy->y", s.b, spend_k)
    value = candidate_wafer_value(pm)
    if value is None:
        return None
    cap = d.site_full_wafers[d.cand_site][:, None, :] * d.cand_ramp  # (C, Ts, T)
    earn = np.einsum("cst,ct->cs", cap, value)  # PV USD a start in Ts would earn
    pay = capex_pv_per_build(d, net=True)
    restricts = False
    for k in range(len(d.cand_ids)):
        chosen = np.flatnonzero(s.b[k] > 0.5)
        own = np.einsum("s,sy->y", s.b[k], spend_k[k])
        base = (earn[k, chosen[0]] - pay[k, chosen[0]]) if chosen.size else 0.0
        for ts in np.flatnonzero(d.cand_allowed[k]):
            if chosen.size and ts >= chosen[0]:
                break  # the budget does not stop a later start than the chosen one
            over = spend - own + spend_k[k, ts] > d.capex_budget_usd * (1 + 1e-9) + 1e-6
            if over.any() and earn[k, ts] - pay[k, ts] > base + 1.0:
                restricts = True  # a start the budget forbids would pay at the plan's prices
                break
        if restricts:
            break
    if not restricts:
        return None
    from fabnet.errors import PlanError
    from fabnet.plan.model import build_model, solve_model
    from fabnet.plan.readout import solution_arrays

    sc = pm.scenario
    free = sc.model_copy(
        update={"policies": sc.policies.model_copy(update={"capex_budget_usd_per_year": None})}
    )
    try:
        pm2 = solve_model(build_model(free, pm.options))
    except PlanError:
        return None
    if pm2.objective_usd is None or pm.objective_usd is None:
        return None
    cost = float(pm.objective_usd - pm2.objective_usd)
    tol = max(1.0, (pm.options.mip_gap or 0.0) * abs(float(pm.objective_usd)))
    if cost <= tol:
        return None
    s2 = solution_arrays(pm2)
    spend2 = np.einsum("cs,csy->y", s2.b, capex_by_year(pm2.data))
    over = [y for yi, y in enumerate(d.year_list) if spend2[yi] > d.capex_budget_usd[yi] + 1e-6]
    share = cost / max(EPS, abs(float(pm2.objective_usd)))

    def starts(sol: Solution) -> str:
        items = [
            f"{d.cand_ids[k]} ({d.labels[t]})"
            for k, t in zip(*np.nonzero(sol.b > 0.5), strict=True)
        ]
        return ", ".join(items) or "none"

    when = span(over) if over else "some years"
    message = (
        f"The capital budget (capex_budget_usd_per_year) binds in {when}: it delays or rules "
        f"out builds and costs {fmt_usd(cost)} (present value, +{fmt_pct(share)}), measured "
        f"by planning again without it. Builds with the budget: {starts(s)}; without: "
        f"{starts(s2)}."
    )
    bindings = [
        Binding(
            "capex_budget_usd_per_year",
            "budget",
            "",
            y,
            float(d.capex_budget_usd[d.year_list.index(y)]),
            float(d.capex_budget_usd[d.year_list.index(y)] - spend[d.year_list.index(y)]),
            float("nan"),
            f"the capital budget binds in {y}: without it the plan would cost "
            f"{fmt_usd(cost)} less in total (present value)",
        )
        for y in over
    ]
    return BudgetCost(cost, share, over, bindings, message)


def budget_blocked(d: PlanData) -> dict[int, tuple[float, float]]:
    """Candidates the capital budget rules out in every start period: (budget, capex per year)."""
    out: dict[int, tuple[float, float]] = {}
    if d.capex_budget_usd is None or not len(d.cand_ids):
        return out
    spend = capex_by_year(d)  # (C, Ts, Y)
    over = spend - d.capex_budget_usd[None, None, :]
    for k in range(len(d.cand_ids)):
        allowed = np.flatnonzero(d.cand_allowed[k])
        if allowed.size and (over[k, allowed].max(axis=1) > 1e-6).all():
            worst = int(np.argmax(spend[k, allowed[0]]))
            out[k] = (float(d.capex_budget_usd[worst]), float(spend[k, allowed[0], worst]))
    return out


def diagnose(pm: PlanModel, s: Solution) -> tuple[list[str], pd.DataFrame]:
    """Diagnosis sentences and the ``binding`` table (policy, year, period, slack, dual_usd, message)."""
    d = pm.data
    messages: list[str] = list(d.warnings)
    if pm.status == "time_limit":
        gap = f" with a gap of {fmt_pct(pm.mip_gap)}" if pm.mip_gap is not None else ""
        messages.append(
            f"the solver stopped at the time limit{gap}: the plan may not be optimal; "
            "raise --time-limit or loosen --gap"
        )
    for k, cid in enumerate(d.cand_ids):
        if not d.cand_allowed[k].any():
            site = d.scenario.sites[int(d.cand_site[k])]
            messages.append(
                f"candidate site {cid} cannot come online within the horizon (earliest start "
                f"{site.earliest_start_year or d.year_list[0]} + {site.build_years or 0:g} "
                f"build years is after {d.scenario.horizon.last_year}): it is never built and has no "
                "shadow price; extend the horizon or bring its start forward"
            )
    # only the scenario's years: the model may run past them ("End of the horizon")
    binds = [b for b in _bindings(pm, s) if b.year <= d.scenario.horizon.last_year]
    delay = budget_cost(pm, s)
    if delay is not None:
        binds = [b for b in binds if b.kind != "budget"] + delay.bindings
        messages.append(delay.message)
    years = d.year_list[: d.reported_years]
    # Compute demand -----------------------------------------------------------------
    if len(d.compute_ids):
        per = s.unmet_c.sum(axis=0)
        req = d.compute_required.sum(axis=0)
        n_per = d.n_periods // len(years)
        unmet_y = yearly(d, s.unmet_c.sum(axis=0, keepdims=True))[0] / n_per
        tol = 1e-6 * max(1.0, float(req.max()))
        flags = np.array([per[d.years == y].max() > tol for y in years])
        earliest = _earliest_own_arrival(d)
        for run in _runs(flags, years):
            amount = float(per[np.isin(d.years, run)].max())
            first_own = min(earliest.values(), default=(d.n_periods, "no own product"))
            run_end = int(np.flatnonzero(d.years == run[-1])[-1])
            late = first_own[0] > run_end
            if late and earliest:
                p = min(earliest, key=lambda k: earliest[k][0])
                when = d.labels[first_own[0]] if first_own[0] < d.n_periods else "the horizon's end"
                own = (
                    f"no own accelerator arrives before {when} "
                    f"(product {d.product_source[p]}: {earliest[p][1]})"
                )
            elif late:
                own = "there is no own accelerator to make"
            else:
                own = ""
            vb = [b for b in binds if b.kind == "vendor" and b.year in run]
            other = [b for b in binds if b.kind in ("country", "budget") and b.year in run]
            blamed = False
            short = _caps_short(d, run)
            if short:
                blamed = True
                caps_text = ", ".join(f"{v} {fmt_pct(c)}" for v, c in short[1].items())
                messages.append(
                    f"In {span(run)} the vendor caps add up to only {fmt_pct(short[0])} "
                    f"({caps_text}): every source of new compute is capped, so no new compute "
                    f"can be added at all and up to {fmt_pflops(amount)} is unmet; raise the "
                    "caps so that they add up to at least 100 % or accept the shortfall."
                )
                vb = []
            for v in dict.fromkeys(b.key for b in vb):
                could = _vendor_sources(d, s, v, run, earliest)
                if not could:
                    continue  # the cap binds, but the vendor has nothing to deliver then
                blamed = True
                yrs = sorted({b.year for b in vb if b.key == v})
                caps = sorted({b.cap for b in vb if b.key == v})
                need = _needed_share(d, s, v, run, unmet_y)
                limits = [n for n in _supply_limits(pm, s, run) if v not in n]
                also = [_policy_phrase(b) for b in _first_per_policy(other)]
                why = (
                    "; ".join([x for x in [own, *limits, *also] if x]) or "other supply costs more"
                )
                messages.append(
                    f"In {span(run)} the cap of {fmt_pct(caps[0])} on {v} "
                    f"(binding in {span(yrs)}) leaves up to {fmt_pflops(amount)} of compute "
                    f"unmet: {v} could deliver more ({', '.join(could)}) but {why}; raise the "
                    f"cap to {fmt_pct(need)} in {span(run)} or accept the shortfall."
                )
            if other and not blamed:
                names = ", ".join(dict.fromkeys(b.policy for b in other))
                messages.append(
                    f"In {span(run)} up to {fmt_pflops(amount)} of compute is unmet while "
                    f"{names} bind(s): relax them or accept the shortfall."
                )
            if not blamed and not other:
                notes = _supply_limits(pm, s, run)
                if own:
                    notes.insert(0, own)
                penalty = float(d.compute_penalty_usd.min())
                if not notes:
                    notes.append(
                        f"more supply would cost more than the penalty of {fmt_usd(penalty)} "
                        "per PFLOP/s-year"
                    )
                budget = any("capital budget" in n for n in notes)
                head = (
                    "while the capital budget (capex_budget_usd_per_year) rules out a build"
                    if budget
                    else "although no policy binds"
                )
                messages.append(
                    f"In {span(run)} up to {fmt_pflops(amount)} of compute is unmet {head}: "
                    f"{'; '.join(notes)}. Add supply (offers, capacity, an earlier "
                    "tape-out), raise the unmet penalty, or accept the shortfall."
                )
    messages.extend(_commitment_messages(d, s, binds))
    # Unit demand ----------------------------------------------------------------------
    for ui, uid in enumerate(d.unit_ids):
        tol = 1e-6 * max(1.0, float(d.unit_required[ui].max()))
        flags = np.array([s.unmet_u[ui][d.years == y].max() > tol for y in years])
        p = d.base_product_ids[d.unit_product[ui]]
        for run in _runs(flags, years):
            amount = float(
                yearly(d, s.unmet_u[ui : ui + 1])[0][[years.index(y) for y in run]].max()
            )
            notes = _supply_limits(pm, s, run)
            messages.append(
                f"In {span(run)} up to {amount:,.0f} units per year of {p} (demand {uid}) are not "
                f"delivered: {'; '.join(notes) or 'making them costs more than the penalty'}; "
                "add capacity or accept the shortfall."
            )
    # Binding policies that cost money without causing unmet demand -------------------------
    unmet_years = set()
    if len(d.compute_ids):
        unmet_years = {y for y in years if s.unmet_c.sum(axis=0)[d.years == y].max() > 1e-6}
    idle = {
        (d.offer_ids[o], d.year_list[yi])
        for o, yi in zip(*np.nonzero(s.untaken > 1e-6), strict=True)
    }  # already explained by the commitment messages
    costly = [
        b
        for b in binds
        if b.dual_usd > 1
        and (b.year not in unmet_years or b.kind == "commitment")
        and (b.key, b.year) not in idle
    ]
    for policy in dict.fromkeys(b.policy for b in costly):
        group = [b for b in costly if b.policy == policy]
        yrs = sorted(b.year for b in group)
        for run in _runs(np.array([y in yrs for y in years]), years):
            part = [b for b in group if b.year in run]
            first = part[0]
            when = f"in {run[0]}" if len(run) == 1 else "in each of these years"
            if first.kind == "commitment":
                committed = sorted({b.cap for b in part})
                units_text = (
                    f"{committed[0]:,.0f}"
                    if len(committed) == 1
                    else f"{committed[0]:,.0f}–{committed[-1]:,.0f}"
                )
                most = max(b.dual_usd for b in part)
                messages.append(
                    f"The commitment to buy {units_text} {first.key} a year binds in {span(run)} "
                    f"and raises the plan's cost: each committed unit less {when} would save up "
                    f"to {fmt_usd(most)} (present value); the plan would buy fewer then."
                )
                continue
            if first.kind == "budget":
                what = f"The capital budget of {fmt_usd(first.cap)} per year"
                best = max(b.dual_usd for b in part)
                gain = f"each extra dollar of budget {when} saves up to {best:.2f} USD"
            else:
                target = "new compute from" if first.kind == "vendor" else "logic wafers made in"
                lo, hi = min(b.cap for b in part), max(b.cap for b in part)
                cap = fmt_pct(lo) if hi - lo < 1e-9 else f"{fmt_pct(lo)}–{fmt_pct(hi)}"
                what = f"The cap of {cap} on {target} {first.key}"
                total = sum(b.dual_usd for b in part)
                gain = (
                    f"one more point of cap in {run[0]} would save {fmt_usd(total)}"
                    if len(run) == 1
                    else f"one more point of cap in each of these years would save "
                    f"{fmt_usd(total)} in total over {span(run)}"
                )
            messages.append(
                f"{what} binds in {span(run)} and raises the plan's cost: {gain} "
                "(present value); relax it there if the dependence is acceptable."
            )
    rows: list[dict[str, Any]] = [
        {
            "policy": b.policy,
            "year": b.year,
            "period": str(b.year),
            "slack": b.slack,
            "dual_usd": b.dual_usd,
            "message": b.message,
        }
        for b in binds
    ]
    return _dedupe(messages), pd.DataFrame(rows)


def _commitment_messages(d: PlanData, s: Solution, binds: list[Binding]) -> list[str]:
    """Committed purchases paid for and not taken, and why (a vendor cap, or not needed).

    Units ordered in year y arrive ``offer_shift`` periods later; the vendor cap of the
    arrival year is compared with the share the whole commitment would have of the new
    compute then: ``c·pf / (N + q·pf)`` (c committed units, q untaken, N new compute).
    """
    out: list[str] = []
    if not s.untaken.size:
        return out
    per_year = d.n_periods // len(d.year_list)
    for o, yi in zip(*np.nonzero(s.untaken > 1e-6 * np.maximum(1.0, d.offer_min_units)),
                     strict=True):  # fmt: skip
        oid, v = d.offer_ids[o], d.offer_vendor[o]
        y = d.year_list[yi]
        committed = float(d.offer_min_units[o, yi])
        q = float(s.untaken[o, yi])
        pf = float(d.offer_pflops[o])
        t_arrive = yi * per_year + int(d.offer_shift[o])
        what = f"The commitment to buy {committed:,.0f} {oid} in {y} ({fmt_pflops(committed * pf)})"
        paid = f"{q:,.0f} units ({fmt_usd(q * float(d.offer_price_usd[o, yi * per_year]))}) are paid for and not taken"
        if t_arrive >= d.reported_periods:
            out.append(f"{what} arrives after the horizon: {paid} inside it.")
            continue
        ya = int(d.years[t_arrive])
        cap_b = next((b for b in binds if b.kind == "vendor" and b.key == v and b.year == ya), None)
        if cap_b is not None:
            val, total = _vendor_flows(d, s, v)
            yai = d.year_list.index(ya)
            share = committed * pf / max(EPS, float(total[yai]) + q * pf)
            need = min(
                1.0,
                math.ceil(
                    (float(val[yai]) + q * pf) / max(EPS, float(total[yai]) + q * pf) * 100 - 1e-9
                )
                / 100,
            )
            head = (
                f"{what} alone is {fmt_pct(share)} of the new compute arriving in {ya}, above "
                if share > cap_b.cap + 1e-9
                else f"{what} with {v}'s other compute would be {fmt_pct(need)} of the new "
                f"compute arriving in {ya}, above "
            )
            out.append(
                f"{head}the {fmt_pct(cap_b.cap)} cap on {v}: {paid}; lower the commitment or "
                f"raise the cap (to {fmt_pct(need)} in {ya})."
            )
        else:
            out.append(
                f"{what} is more than the plan needs: {paid} (running them would cost more "
                "than it saves); lower the commitment."
            )
    return out


def _dedupe(msgs: list[str]) -> list[str]:
    return list(dict.fromkeys(msgs))
