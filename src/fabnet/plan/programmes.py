"""Programme membership, progress and targets as constraints.

A site belongs to programme ``P`` when ``P`` is among its ``tags``. Its new fabs are its
planned sites (online from the first year whose ``capacity_wspm`` at mid-year is above 0)
and its candidate sites (online when the plan's build brings them online).
``Programme.min_fabs_by_year[y] = k`` adds
``Σ_{c ∈ P} Σ_τ [build started in τ is online by the end of y] b_{c,τ} ≥ k − planned(y)``.
Years after the horizon are not enforced (the plan cannot see them).
"""

from __future__ import annotations

import numpy as np
from linopy import Model

from fabnet.errors import PlanError, Problem
from fabnet.plan.sets import F, PlanData
from fabnet.plan.terms import gather
from fabnet.plan.variables import BUILD, index
from fabnet.scenario.schema import Programme, SiteStatus, series_at

PROGRAMME_MIN_FABS = "Programme-min-fabs"


def online_by_year(d: PlanData) -> F:
    """(C, Ts, Y) 1 where a build of candidate c started in Ts is online by the end of year y."""
    C, T = len(d.cand_ids), d.n_periods
    out = np.zeros((C, T, len(d.year_list)))
    on = d.cand_ramp > 1e-9  # (C, Ts, T)
    first = np.where(on.any(axis=2), on.argmax(axis=2), T)  # (C, Ts) first period online
    first_year = np.where(first < T, d.year_index[np.minimum(first, T - 1)], len(d.year_list))
    out[:] = np.arange(len(d.year_list))[None, None, :] >= first_year[:, :, None]
    return out


def planned_online(d: PlanData, prog: Programme, purpose: str | None = None) -> F:
    """(Y,) the programme's planned sites (of ``purpose``, or all) online by the end of each
    year: from the first year whose capacity at mid-year is above 0."""
    mid = np.asarray(d.year_list, dtype=float) + 0.5
    out = np.zeros(len(d.year_list))
    for s in d.scenario.sites:
        mine = prog.id in s.tags and s.status is SiteStatus.planned
        if mine and (purpose is None or s.purpose == purpose):
            on = np.asarray(series_at(s.capacity_wspm, mid)) > 0
            out += np.cumsum(on) > 0
    return out


def add_programme_targets(m: Model, d: PlanData) -> None:
    """Rows ``Programme-min-fabs`` (one per programme year with a minimum inside the horizon)."""
    sc = d.scenario
    if not len(d.cand_ids) and not any(p.min_fabs_by_year for p in sc.programmes):
        return
    online = online_by_year(d) * d.cand_allowed[:, :, None]
    cand_of_site = {int(si): k for k, si in enumerate(d.cand_site)}
    ix = index(d)
    for pi, prog in enumerate(sc.programmes):
        ks = [cand_of_site[i] for i, s in enumerate(sc.sites)
              if prog.id in s.tags and i in cand_of_site]  # fmt: skip
        for y, k_min in sorted(prog.min_fabs_by_year.items()):
            if y > sc.horizon.last_year or y not in d.year_list or k_min <= 0:
                continue
            yi = d.year_list.index(y)
            coef = np.zeros((len(d.cand_ids), d.n_periods))
            coef[ks] = online[ks, :, yi]
            planned = int(planned_online(d, prog)[yi])
            reachable = (int(coef.max(axis=1).sum()) if ks else 0) + planned
            if reachable < k_min:
                raise PlanError(
                    Problem(
                        f"programme {prog.id} asks for {k_min} new fabs online by {y}, but only "
                        f"{reachable} of its planned and candidate sites can be online by then",
                        "lower the minimum, move it later, or add or bring forward candidate "
                        "sites (earliest_start_year, build_years) tagged with the programme",
                        field=f"programmes[{pi}].min_fabs_by_year.{y}",
                    ),
                    title="programme target out of reach",
                )
            if k_min - planned <= 0:
                continue  # the planned sites alone meet it
            # Σ coef · build over the allowed (unmasked) build starts
            C, T = coef.shape
            rows, cols = np.repeat(np.arange(C), T), np.tile(np.arange(T), C)
            lhs = gather(m, m.variables[BUILD], rows, cols, coef.ravel(), (), ix)
            m.add_constraints(lhs >= k_min - planned, name=f"{PROGRAMME_MIN_FABS}[{prog.id},{y}]")
