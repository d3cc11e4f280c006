"""The disruption catalogue compiled into numpy arrays in the planner's index space.

:func:`compile_catalogue` runs once per :class:`~fabnet.risk.sampler.Sampler`: it resolves
each event's targets (sites, routes, offers, demands) to indices of
:class:`~fabnet.plan.sets.PlanData`, turns its recovery into a :class:`LossCurve` and its
D0 multiplier into route output ratios through the real yield model. Nothing here is
random and nothing of pydantic is left for the sampling loop. Readings: docs/risk.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fabnet.economics import die_yield
from fabnet.plan.sets import DAYS_PER_YEAR, PlanData
from fabnet.scenario.schema import Disruption, DisruptionScope, Scenario, series_at, site_hit

F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]  # noqa: E741

#: Recovery points closer than this (years, ~0.03 s) are a jump: no slope is computed over
#: the gap (it could overflow); the integral over it is still its trapezoid.
_JUMP_YEARS = 1e-9


@dataclass(frozen=True)
class LossCurve:
    """Share of the event's full loss still in force τ years after the onset, ℓ(τ) = 1 − r(τ).

    Piecewise linear through ``(x_years, loss)`` from τ = 0; ``tail`` after the last knot
    (0: recovered, 1: permanent); 0 before the onset.
    """

    x_years: F  # (K,) knots, years since onset, non-decreasing, x[0] = 0
    loss: F  # (K,) ℓ at the knots
    tail: float  # ℓ after the last knot

    @classmethod
    def of(cls, event: Disruption) -> LossCurve:
        """The loss curve of a catalogue event (recovery curve, step or permanent)."""
        if event.recovery is not None:
            pts = np.array(event.recovery, dtype=float).reshape(-1, 2)
            return cls(pts[:, 0] / DAYS_PER_YEAR, 1.0 - pts[:, 1], 0.0)
        if event.duration_days is not None:
            d = event.duration_days / DAYS_PER_YEAR
            return cls(np.array([0.0, d]), np.array([1.0, 1.0]), 0.0)
        return cls(np.array([0.0]), np.array([1.0]), 1.0)

    @property
    def permanent(self) -> bool:
        """True when the loss never ends."""
        return self.tail > 0

    def integral(self, x: F) -> F:
        """∫₀ˣ ℓ(τ) dτ (years × share), exact for the piecewise-linear curve; 0 for x ≤ 0."""
        xk, lk = self.x_years, self.loss
        dx = np.diff(xk)
        slope = np.divide(np.diff(lk), dx, out=np.zeros_like(dx), where=dx > _JUMP_YEARS)
        cum = np.concatenate([[0.0], np.cumsum(dx * (lk[:-1] + lk[1:]) / 2.0)])
        x = np.asarray(x, dtype=float)
        k = np.clip(np.searchsorted(xk, x, side="right") - 1, 0, len(xk) - 1)
        d = x - xk[k]
        seg_slope = np.concatenate([slope, [0.0]])[k]
        inside = cum[k] + lk[k] * d + 0.5 * seg_slope * d * d
        after = cum[-1] + self.tail * (x - xk[-1])
        out: F = np.where(x <= 0.0, 0.0, np.where(x >= xk[-1], after, inside))
        return out

    def average(self, onset_year: float, a: F, b: F) -> F:
        """Exact average of ℓ over each calendar interval ``[a, b]`` (years) for an onset."""
        out: F = (self.integral(b - onset_year) - self.integral(a - onset_year)) / (b - a)
        return out

    def lost_years(self, horizon_years: float) -> float:
        """∫ ℓ over the first ``horizon_years`` after the onset: how bad the curve is."""
        return float(self.integral(np.array([horizon_years]))[0])


@dataclass(frozen=True)
class PackedCurves:
    """The loss curves of every catalogue event in padded arrays, so that the period averages
    of many occurrences (of different events) are computed in one vectorised pass.

    Each curve gets a last knot repeating its last day with ℓ = ``tail`` (a jump to the
    value after the curve), so one quadratic formula holds from day 0 to infinity.
    """

    xk: F  # (E, K) knots, years since onset; padding: after the last knot
    lk: F  # (E, K) ℓ at the knots
    cum: F  # (E, K) ∫₀^xk ℓ
    slope: F  # (E, K) slope of ℓ on the segment starting at each knot (0 on the last)
    shift: float  # offset between the events' knot blocks in ``sorted_knots``, years
    sorted_knots: F  # (E * K,) xk + e * shift, flattened: one sorted array for all events
    table: F  # (4, E * K) xk, cum, lk and slope / 2, flattened: one gather per evaluation

    @classmethod
    def of(cls, curves: list[LossCurve], span_years: float) -> PackedCurves:
        """Pack ``curves`` (one per event, in event order); ``span_years`` bounds the time
        since an onset at which they are evaluated (the horizon's length)."""
        n = len(curves)
        k_max = max((len(c.x_years) + 1 for c in curves), default=1)
        last = max((float(c.x_years[-1]) for c in curves), default=0.0)
        # blocks 4x further apart than any knot or point (0 <= x <= span_years), padding halfway
        shift = float(2.0 ** np.ceil(np.log2(4.0 * (max(last, span_years) + 1.0))))
        xk = np.full((n, k_max), shift / 2.0)
        lk = np.zeros((n, k_max))
        cum = np.zeros((n, k_max))
        slope = np.zeros((n, k_max))
        for e, c in enumerate(curves):
            x = np.append(c.x_years, c.x_years[-1])
            ell = np.append(c.loss, c.tail)
            k = len(x)
            dx = np.diff(x)
            sl = np.divide(np.diff(ell), dx, out=np.zeros_like(dx), where=dx > _JUMP_YEARS)
            cu = np.concatenate([[0.0], np.cumsum(dx * (ell[:-1] + ell[1:]) / 2.0)])
            xk[e, :k], lk[e, :k], cum[e, :k] = x, ell, cu
            lk[e, k:], cum[e, k:] = ell[-1], cu[-1]
            slope[e, : k - 1] = sl
        sorted_knots = (xk + shift * np.arange(n)[:, None]).ravel()
        table = np.stack([xk.ravel(), cum.ravel(), lk.ravel(), 0.5 * slope.ravel()])
        return cls(xk, lk, cum, slope, shift, sorted_knots, table)

    def integral(self, event: I, x: F) -> F:
        """(n, m) ∫₀ˣ ℓ of ``event[i]``'s curve at ``x[i, j]`` (years since onset).

        The segment of each point is found by one ``searchsorted`` over all events' knots
        (each block shifted by ``shift``); the integral is then the exact quadratic of that
        segment. Rounding of the shift can only move a point lying within ~1e-12 years of a
        knot to the neighbouring segment, where the same continuous integral is extrapolated.
        """
        x = np.maximum(x, 0.0)
        base = (event * self.xk.shape[1])[:, None]
        flat = np.searchsorted(self.sorted_knots, x + (event * self.shift)[:, None], "right") - 1
        flat = np.maximum(flat, base)  # never before the event's own first knot
        xk, cum, lk, half_slope = self.table[:, flat]
        d = x - xk
        out: F = cum + d * (lk + half_slope * d)
        return out

    def average(self, event: I, onset_year: F, edges: F) -> F:
        """(n, T) exact average of each occurrence's ℓ over the periods between ``edges``
        ((T+1,) calendar years, contiguous periods)."""
        g = self.integral(event, edges[None, :] - onset_year[:, None])
        out: F = (g[:, 1:] - g[:, :-1]) / (edges[1:] - edges[:-1])[None, :]
        return out


@dataclass(frozen=True)
class CompiledEvent:
    """One catalogue event in index space. Arrays over the event's candidate sites ``k``
    (the sites it can hit) and its routes ``q`` (routes at those sites it acts on)."""

    id: str
    kind: str
    rate_per_year: float  # 0 for a probability event
    probability: float  # 0 for a rate event
    window: tuple[float, float]  # calendar years [lo, hi) in which onsets fall
    scope_one: bool
    curve: LossCurve
    sites: I  # (K,) site indices
    site_depth: F  # (K,) share of capacity lost at full loss (capacity and allocation cuts)
    routes: I  # (Q,) route indices
    route_pos: I  # (Q,) position in ``sites`` of each route's site
    routes_at: tuple[I, ...]  # per candidate site position: indices into ``routes``
    route_d0_loss: F | None  # (Q, T) 1 − yield(D0·m)/yield(D0) of wafers started in t
    route_cycle_years: F  # (Q,) process cycle time, years (WIP in flight)
    wip_share: float
    offers: I  # offers hit (vendors, offer countries)
    allocation_loss: float
    compute: I  # compute demands hit
    units: I  # unit demands hit
    demand_factor: float
    site_targets: tuple[str, ...]  # ids of ``sites``
    site_processes: tuple[tuple[str, ...], ...]  # per site: named processes a D0 excursion hits
    other_targets: tuple[str, ...]  # ids of the offers and demands hit

    @property
    def n_sites(self) -> int:
        """Number of candidate sites."""
        return len(self.sites)

    def targets(self, positions: Sequence[int]) -> tuple[str, ...]:
        """Ids of what an occurrence at these candidate-site positions hits: the sites, the
        processes of a D0 excursion there, the offers and the demands."""
        procs = dict.fromkeys(p for k in positions for p in self.site_processes[k])
        return tuple(self.site_targets[k] for k in positions) + tuple(procs) + self.other_targets


def _d0_loss(data: PlanData, scenario: Scenario, routes: I, multiplier: float) -> F:
    """(Q, T) share of good output lost per wafer started in t on each route when D0 is
    multiplied by ``multiplier``: 1 − yield(D0·m)/yield(D0), as the planner's yield model
    (die area split over the chiplets, the process's model and α, D0 at the period middle).
    Non-logic routes lose nothing."""
    out = np.zeros((len(routes), data.n_periods))
    products = scenario.products
    for q, r in enumerate(routes.tolist()):
        if data.route_kind[r] != 0:
            continue
        pr = scenario.process(data.route_process[r])
        prod = products[int(data.product_base[data.route_product[r]])]
        assert pr.d0_per_cm2 is not None
        area = prod.die_area_mm2 / prod.chiplets
        d0 = series_at(pr.d0_per_cm2, data.mid)
        base = np.asarray(die_yield(pr.yield_model, area, d0, pr.yield_alpha), dtype=float)
        hit = np.asarray(
            die_yield(pr.yield_model, area, d0 * multiplier, pr.yield_alpha), dtype=float
        )
        out[q] = 1.0 - np.divide(hit, base, out=np.ones_like(base), where=base > 0)
    return out


def compile_event(data: PlanData, scenario: Scenario, event: Disruption) -> CompiledEvent:
    """Resolve one event's targets to planner indices (see :class:`CompiledEvent`)."""
    sc = scenario
    hits = event.hits
    kinds = {p.id: p.kind.value for p in sc.processes}
    first, end = float(sc.horizon.first_year), float(sc.horizon.last_year + 1)

    # sites: selector sites lose capacity_loss, supplier sites allocation_loss; research
    # sites give no capacity to plans and are never hit
    sel = np.array(
        [
            s.purpose == "production"
            and site_hit(hits, s.id, s.region, s.country, s.owner, s.processes)
            for s in sc.sites
        ],
        dtype=bool,
    ).reshape(len(sc.sites))
    sup = np.zeros(len(sc.sites), dtype=bool)
    for i, s in enumerate(sc.sites):
        run = {kinds[p] for p in s.processes}
        hbm = s.owner in hits.hbm_suppliers and "hbm" in run
        packaging = s.owner in hits.packaging_suppliers and "packaging" in run
        if s.purpose == "production" and (hbm or packaging):
            sup[i] = True
    sites = np.flatnonzero(sel | sup).astype(np.int64)
    depth = 1.0 - (1.0 - event.capacity_loss * sel[sites]) * (
        1.0 - event.allocation_loss * sup[sites]
    )

    # routes at selector sites (of the hit processes and products, when they are named)
    procs, prods = set(hits.processes), set(hits.products)
    pos_of = {int(s): k for k, s in enumerate(sites.tolist())}
    r_list = [
        r
        for r in range(len(data.route_ids))
        if sel[data.route_site[r]]
        and (not procs or data.route_process[r] in procs)
        and (not prods or data.product_source[data.route_product[r]] in prods)
    ]
    routes = np.array(r_list, dtype=np.int64)
    route_pos = np.array([pos_of[int(data.route_site[r])] for r in r_list], dtype=np.int64)
    routes_at = tuple(np.flatnonzero(route_pos == k).astype(np.int64) for k in range(len(sites)))
    cycle = {p.id: p.cycle_time_days / DAYS_PER_YEAR for p in sc.processes}
    route_cycle = np.array([cycle[data.route_process[r]] for r in r_list], dtype=float)
    d0_loss = (
        _d0_loss(data, sc, routes, event.d0_multiplier) if event.d0_multiplier != 1.0 else None
    )

    offers = np.array(
        [
            o
            for o in range(len(data.offer_ids))
            if data.offer_vendor[o] in hits.vendors
            or (data.offer_country[o] and data.offer_country[o] in hits.offer_countries)
        ],
        dtype=np.int64,
    )
    if hits.demands == "all":
        compute = np.arange(len(data.compute_ids), dtype=np.int64)
        units = np.zeros(0, dtype=np.int64)
    else:
        wanted = set(hits.demands)
        compute = np.array(
            [d for d, i in enumerate(data.compute_ids) if i in wanted], dtype=np.int64
        )
        units = np.array([u for u, i in enumerate(data.unit_ids) if i in wanted], dtype=np.int64)

    if event.probability is not None and event.window_years is not None:
        lo, hi = float(event.window_years[0]), float(event.window_years[1] + 1)
        window = (max(lo, first), min(hi, end))
    else:
        window = (first, end)
    # processes whose yield the excursion hits, per candidate site
    site_procs = tuple(
        tuple(p for p in hits.processes if p in sc.sites[int(s)].processes)
        if event.d0_multiplier != 1.0
        else ()
        for s in sites.tolist()
    )
    other = (
        tuple(data.offer_ids[o] for o in offers.tolist())
        + tuple(data.compute_ids[d] for d in compute.tolist())
        + tuple(data.unit_ids[u] for u in units.tolist())
    )
    return CompiledEvent(
        id=event.id,
        kind=event.kind.value,
        rate_per_year=float(event.rate_per_year or 0.0),
        probability=float(event.probability or 0.0),
        window=window,
        scope_one=event.scope is DisruptionScope.one,
        curve=LossCurve.of(event),
        sites=sites,
        site_depth=np.asarray(depth, dtype=float),
        routes=routes,
        route_pos=route_pos,
        routes_at=routes_at,
        route_d0_loss=d0_loss,
        route_cycle_years=route_cycle,
        wip_share=float(event.wip_scrapped_share),
        offers=offers,
        allocation_loss=float(event.allocation_loss),
        compute=compute,
        units=units,
        demand_factor=float(event.demand_factor),
        site_targets=tuple(data.site_ids[s] for s in sites.tolist()),
        site_processes=site_procs,
        other_targets=other,
    )


def compile_catalogue(data: PlanData, scenario: Scenario) -> list[CompiledEvent]:
    """Every event of the scenario's catalogue, compiled (in catalogue order)."""
    return [compile_event(data, scenario, e) for e in scenario.disruptions]
