"""Disruption timelines drawn from the scenario's catalogue, as planner multipliers.

A :class:`Sampler` compiles the catalogue once (:mod:`fabnet.risk.catalogue`); then
``draw(seed, index)`` draws one timeline from a random stream keyed by ``(seed, index)``
only, so a sample never depends on which worker draws it or in what order, and turns it
into :class:`~fabnet.risk.effects.Effects`. ``stress_cases()`` knocks out each site and
each HBM / packaging supplier alone (time to survive). The readings (curve averaging,
overlaps, WIP scrap, D0, permanence) are in docs/risk.md, "The disruption catalogue".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fabnet.errors import Problem, ScenarioError
from fabnet.plan.sets import PlanData
from fabnet.risk.catalogue import CompiledEvent, LossCurve, PackedCurves, compile_catalogue
from fabnet.risk.effects import Effects, EventHit
from fabnet.scenario.schema import Scenario
from fabnet.scenario.validate import did_you_mean

F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]  # noqa: E741


#: An event is *rare* (stratified on, or tilted by importance sampling) when it occurs at
#: least once over its window with a probability below this (docs/stochastic.md).
RARE_BELOW = 0.5
#: The importance proposal makes each rare event occur with this probability.
IMPORTANCE_TARGET = 0.5
#: The ways of drawing the in-sample scenarios of the stochastic plan.
SAMPLINGS = ("mc", "importance", "stratified")


@dataclass(frozen=True, eq=False)
class ScenarioSet:
    """In-sample scenarios and their probabilities (``probabilities`` sum to 1)."""

    effects: list[Effects]
    probabilities: F  #: (N,) scenario probabilities, sum 1
    sampling: str  #: "mc", "importance" or "stratified"
    likelihood_ratio: F  #: (N,) p/q of each draw before normalising (1 unless importance)
    stratum: I  #: (N,) stratum index of each scenario (-1 unless stratified)

    @property
    def effective_size(self) -> float:
        """Kish's effective sample size ``1 / Σ p_s²`` (N for equal probabilities)."""
        return float(1.0 / np.sum(self.probabilities**2))


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of a catalogue event: which event, when, and (scope ``one``) where."""

    event: int  #: index into :attr:`Sampler.events`
    onset_year: float  #: calendar time of the onset, years
    site_pos: int = -1  #: position among the event's candidate sites (scope one), else -1


def _flat(rows: I, n_periods: int) -> I:
    """Indices into a raveled (rows, T) array of every period of ``rows``."""
    out: I = (rows[:, None] * n_periods + np.arange(n_periods)[None, :]).ravel()
    return out


@dataclass(frozen=True)
class _Part:
    """What one occurrence of an event (at one site position) multiplies: rows of the stacked
    (sites, offers, compute demands, unit demands) array with factor ``1 − coef · loss``, and
    routes with ``(1 − d0_loss · loss) · (1 − wip · in-flight share)``."""

    rows: I  # rows of the stacked (sites, offers, compute, units, routes) array
    coef: F
    routes: I  # (Q,) rows of the routes it acts on (empty when it has no D0 or WIP effect)
    flat_rows: I  # every (row, period) of ``rows`` in the raveled array
    flat_routes: I  # the same for ``routes``
    d0_loss: F | None  # (Q, T) 1 − yield ratio of the D0 excursion; None without one
    wip: float  # share of the in-flight output scrapped
    wip_share: F  # (Q,) the same, per route
    cycle: F  # (Q,) process cycle times, years
    event: str  # the event's id
    targets: tuple[str, ...]


class Sampler:
    """Draws disruption timelines of a scenario's catalogue in a plan's index space.

    ``events`` restricts the sampling to those catalogue ids (all when ``None``). The
    random numbers of every catalogue event are drawn whatever the selection, so a sample
    with fewer events has the same occurrences of the events it keeps.
    """

    def __init__(
        self, data: PlanData, scenario: Scenario, events: Sequence[str] | None = None
    ) -> None:
        self.data = data
        self.scenario = scenario
        self.events: list[CompiledEvent] = compile_catalogue(data, scenario)
        ids = [e.id for e in self.events]
        if events is None:
            chosen = list(ids)
        else:
            chosen = list(dict.fromkeys(str(e) for e in events))
            bad = [e for e in chosen if e not in ids]
            if bad:
                raise ScenarioError(
                    [
                        Problem(
                            f"unknown disruption event '{e}' in scenario {scenario.name}",
                            did_you_mean(e, ids),
                            file="--events",
                            field="disruptions",
                        )
                        for e in bad
                    ],
                    title="invalid --events",
                )
        self._selected = np.array([e in chosen for e in ids], dtype=bool).reshape(len(ids))
        self._event_ids = [e for e in ids if e in chosen]
        self._all_selected = bool(self._selected.all())
        self._event_index = np.arange(len(self.events), dtype=np.int64)
        self._rate = np.array([e.rate_per_year for e in self.events], dtype=float)
        self._prob = np.array([e.probability for e in self.events], dtype=float)
        self._lo = np.array([e.window[0] for e in self.events], dtype=float)
        self._hi = np.array([e.window[1] for e in self.events], dtype=float)
        self._is_prob = self._prob > 0
        self._lam = np.where(self._is_prob, 0.0, self._rate * np.maximum(self._hi - self._lo, 0))
        self._n_sites = np.array([e.n_sites for e in self.events], dtype=np.int64)
        self._scope_one = np.array([e.scope_one for e in self.events], dtype=bool)
        self._a = np.asarray(data.start, dtype=float)
        self._b = self._a + data.length_years
        self._edges = np.append(self._a, self._b[-1]) if len(self._a) else np.zeros(1)
        # onsets and period edges both lie in the horizon: |edge - onset| <= its length
        span = float(self._edges[-1] - self._edges[0])
        self._curves = PackedCurves.of([e.curve for e in self.events], span)
        self._n_stack = (
            len(data.site_ids) + len(data.offer_ids) + len(data.compute_ids) + len(data.unit_ids)
        )
        self._parts = self._compile_parts()

    @property
    def event_ids(self) -> list[str]:
        """Ids of the catalogue events this sampler draws, in catalogue order."""
        return list(self._event_ids)

    # Drawing ---------------------------------------------------------------------------

    def _draw_arrays(
        self, seed: int, index: int, lam: F | None = None, prob: F | None = None
    ) -> tuple[I, F, I]:
        """``(event, onset_year, site_pos)`` arrays of one sample, in order of onset.

        ``lam`` / ``prob``: the per-event Poisson means over the window and occurrence
        probabilities to draw from instead of the catalogue's (the tilted proposal of
        :meth:`importance`); the stream is the same."""
        return self._draw_counts(seed, index, lam, prob)[:3]

    def _draw_counts(
        self, seed: int, index: int, lam: F | None = None, prob: F | None = None
    ) -> tuple[I, F, I, I]:
        """:meth:`_draw_arrays` and the per-event counts (every catalogue event)."""
        rng = np.random.default_rng([seed, index])
        n_ev = len(self.events)
        if n_ev == 0:
            return np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64)
        counts = rng.poisson(self._lam if lam is None else lam)
        bern = rng.random(n_ev) < (self._prob if prob is None else prob)
        counts = np.where(self._is_prob, bern.astype(np.int64), counts)
        return (*self._place(rng, counts), counts)

    def _place(
        self, rng: np.random.Generator, counts: I, u_first: F | None = None
    ) -> tuple[I, F, I]:
        """Onsets (uniform in each event's window) and sites (scope one) of ``counts``
        occurrences per event, the unselected events dropped, sorted by onset.

        ``u_first``: per event, the onset uniform of its first occurrence (a stratified
        draw, :meth:`stratified`); the others come from ``rng``."""
        total = int(counts.sum())
        if total == 0:
            return np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64)
        ev = self._event_index.repeat(counts)
        u_onset = rng.random(total)
        u_site = rng.random(total)
        if u_first is not None:
            starts = np.cumsum(counts) - counts
            has = counts > 0
            u_onset[starts[has]] = u_first[has]
        onset = self._lo[ev] + (self._hi[ev] - self._lo[ev]) * u_onset
        n_sites = self._n_sites[ev]
        pos = np.where(
            self._scope_one[ev], np.minimum((u_site * n_sites).astype(np.int64), n_sites - 1), -1
        )
        if not self._all_selected:
            keep = self._selected[ev]
            ev, onset, pos = ev[keep], onset[keep], pos[keep]
        order = onset.argsort(kind="stable")
        return ev[order], onset[order], pos[order]

    def timeline(self, seed: int, index: int) -> list[Occurrence]:
        """The occurrences of sample ``index`` of ``seed``, in order of onset.

        The stream is ``numpy.random.default_rng([seed, index])``; per sample, in this
        order: Poisson counts of every rate event over its window, one uniform per event
        (a probability event occurs when it is below the probability), one uniform per
        occurrence for the onset (uniform in the window), one for the site of scope-one
        events (uniform among the event's sites).
        """
        ev, onset, pos = self._draw_arrays(seed, index)
        return [
            Occurrence(int(e), float(t), int(p))
            for e, t, p in zip(ev.tolist(), onset.tolist(), pos.tolist(), strict=True)
        ]

    def draw(self, seed: int, index: int) -> Effects:
        """The :class:`Effects` of sample ``index`` of ``seed`` (see :meth:`timeline`)."""
        return self._effects(*self._draw_arrays(seed, index))

    def draw_counts(self, seed: int, index: int) -> tuple[Effects, I]:
        """:meth:`draw` and the sample's count of occurrences per catalogue event."""
        ev, onset, pos, counts = self._draw_counts(seed, index)
        return self._effects(ev, onset, pos), counts

    # Scenario sets: plain Monte Carlo, importance sampling, stratified --------------------

    def occurrence_probability(self) -> F:
        """Per catalogue event, the probability that it occurs at least once in its window:
        ``1 − exp(−rate · window)`` for a rate event, its probability for the others."""
        out: F = np.where(self._is_prob, self._prob, -np.expm1(-self._lam))
        return out

    def rare_events(self, below: float = RARE_BELOW) -> list[int]:
        """Catalogue indices of the selected events that occur (at least once over their
        window) with a probability in (0, ``below``): the ones a few Monte Carlo draws hold
        too many or too few of. Rarest first."""
        p = self.occurrence_probability()
        idx = [i for i in range(len(self.events)) if self._selected[i] and 0.0 < p[i] < below]
        return sorted(idx, key=lambda i: (p[i], i))

    def monte_carlo(self, seed: int, n: int) -> ScenarioSet:
        """Samples ``0 … n−1`` of ``seed`` (:meth:`draw`), equal probabilities ``1/n``."""
        eff = [self.draw(seed, i) for i in range(n)]
        return ScenarioSet(eff, np.full(n, 1.0 / n), "mc", np.ones(n), np.full(n, -1))

    def likelihood_ratio(self, counts: I, lam: F, prob: F) -> float:
        """p(counts) / q(counts): the catalogue's probability of these per-event counts over
        that of the proposal (Poisson means ``lam``, occurrence probabilities ``prob``).
        Onsets and sites have the same law under both, so they cancel."""
        c = np.asarray(counts, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            pois = c * np.log(self._lam / lam) + (lam - self._lam)
            bern = np.where(c > 0, np.log(self._prob / prob), np.log((1 - self._prob) / (1 - prob)))
        changed = np.where(self._is_prob, prob != self._prob, lam != self._lam)
        log_w = np.where(changed, np.where(self._is_prob, bern, pois), 0.0)
        return float(np.exp(log_w.sum()))

    def tilted(self, target: float = IMPORTANCE_TARGET) -> tuple[F, F]:
        """The importance proposal: every rare event (:meth:`rare_events` below ``target``)
        made to occur with probability ``target`` over its window (Poisson mean
        ``−ln(1 − target)``); the other events unchanged. Returns ``(lam, prob)``."""
        lam, prob = self._lam.copy(), self._prob.copy()
        for i in self.rare_events(target):
            if self._is_prob[i]:
                prob[i] = target
            else:
                lam[i] = -np.log1p(-target)
        return lam, prob

    def importance(self, seed: int, n: int, target: float = IMPORTANCE_TARGET) -> ScenarioSet:
        """``n`` samples of the tilted proposal (:meth:`tilted`; stream ``(seed, index)`` as
        :meth:`draw`) with self-normalised likelihood-ratio probabilities
        ``p_s = w_s / Σ w`` (sum 1; docs/stochastic.md says why self-normalised)."""
        lam, prob = self.tilted(target)
        eff: list[Effects] = []
        w = np.empty(n)
        for i in range(n):
            ev, onset, pos, counts = self._draw_counts(seed, i, lam, prob)
            eff.append(self._effects(ev, onset, pos))
            w[i] = self.likelihood_ratio(counts, lam, prob)
        return ScenarioSet(eff, w / w.sum(), "importance", w, np.full(n, -1))

    def strata(self, n: int) -> tuple[list[int], list[tuple[int, ...]], F]:
        """The strata of :meth:`stratified` for ``n`` scenarios: the rare events stratified on
        (the rarest ``k`` with ``2**k ≤ n``), every pattern of which of them occur
        (tuples of 0/1 in that order) and each pattern's probability (sum 1)."""
        rare = self.rare_events()
        k = min(len(rare), int(np.floor(np.log2(max(n, 1)))))
        rare = rare[:k]
        p = self.occurrence_probability()
        pats = [tuple((h >> j) & 1 for j in range(k)) for h in range(2**k)]
        probs = np.array(
            [np.prod([p[e] if o else 1.0 - p[e] for e, o in zip(rare, pat, strict=True)])
             for pat in pats]
        )  # fmt: skip
        return rare, pats, probs

    def stratum_of(self, counts: I, n: int) -> int:
        """Index (into :meth:`strata` of ``n``) of the stratum of a sample with ``counts``."""
        rare, _, _ = self.strata(n)
        return int(sum((1 << j) for j, e in enumerate(rare) if counts[e] > 0))

    def stratified(self, seed: int, n: int, sd: npt.ArrayLike | None = None) -> ScenarioSet:
        """``n`` scenarios stratified on which rare events occur (:meth:`strata`), with a
        Latin hypercube inside each stratum on every event's count and first onset.

        Allocation: at least one scenario per stratum, the rest in proportion to
        ``P_h · sd_h`` (Neyman; ``sd``: a pilot's standard deviation of cost per stratum) or
        to ``P_h`` when ``sd`` is None. Probabilities ``P_h / n_h`` (sum 1, unbiased).
        Stream: ``numpy.random.default_rng([seed, n, h, 1])`` for stratum ``h``.
        """
        rare, pats, P = self.strata(n)
        H = len(pats)
        if n < H:
            raise ValueError(f"{n} scenarios cannot fill {H} strata")
        a = P if sd is None else P * np.asarray(sd, dtype=float).reshape(H)
        a = P if not np.isfinite(a).all() or a.sum() <= 0 else a
        share = (n - H) * a / a.sum()
        alloc = 1 + np.floor(share).astype(np.int64)
        rest = n - int(alloc.sum())
        alloc[np.argsort(-(share - np.floor(share)), kind="stable")[:rest]] += 1
        from scipy.stats import poisson

        n_ev = len(self.events)
        eff: list[Effects] = []
        prob_s: list[float] = []
        stratum: list[int] = []
        for h, (pat, nh) in enumerate(zip(pats, alloc.tolist(), strict=True)):
            rng = np.random.default_rng([seed, n, h, 1])

            def lhs(rng: np.random.Generator = rng, nh: int = nh) -> F:
                """(n_ev, nh) Latin hypercube uniforms, one stratified column per event."""
                perm = np.argsort(rng.random((n_ev, nh)), axis=1)
                u: F = np.clip((perm + rng.random((n_ev, nh))) / nh, 1e-12, 1 - 1e-12)
                return u

            u_count, u_first = lhs(), lhs()
            lo = np.zeros(n_ev)  # CDF mass below the stratum's range of each count
            hi = np.ones(n_ev)
            for e, o in zip(rare, pat, strict=True):
                p0 = 1.0 - self._prob[e] if self._is_prob[e] else np.exp(-self._lam[e])
                lo[e], hi[e] = (p0, 1.0) if o else (0.0, p0)
            u = lo[:, None] + (hi - lo)[:, None] * u_count
            counts = np.where(
                self._is_prob[:, None],
                (u >= (1.0 - self._prob)[:, None]).astype(np.int64),
                poisson.ppf(u, self._lam[:, None]).astype(np.int64),
            )
            for e, o in zip(rare, pat, strict=True):
                counts[e] = np.maximum(counts[e], 1) if o else 0
            for i in range(nh):
                eff.append(self._effects(*self._place(rng, counts[:, i], u_first[:, i])))
                prob_s.append(float(P[h]) / nh)
                stratum.append(h)
        pr = np.array(prob_s)
        return ScenarioSet(eff, pr / pr.sum(), "stratified", np.ones(n), np.array(stratum))

    def scenario_set(
        self, sampling: str, seed: int, n: int, sd: npt.ArrayLike | None = None
    ) -> ScenarioSet:
        """The in-sample scenarios of ``fabnet plan --stochastic n --sampling ...``."""
        if sampling == "mc":
            return self.monte_carlo(seed, n)
        if sampling == "importance":
            return self.importance(seed, n)
        if sampling == "stratified":
            return self.stratified(seed, n, sd)
        raise ValueError(f"unknown sampling {sampling!r}")

    # Timeline -> multipliers ---------------------------------------------------------------

    def effects_of(self, occurrences: Sequence[Occurrence]) -> Effects:
        """Per-period multipliers of a timeline: each occurrence's loss curve averaged exactly
        over each period; overlapping effects multiply (docs/risk.md)."""
        occ = sorted(occurrences, key=lambda o: o.onset_year)
        return self._effects(
            np.array([o.event for o in occ], dtype=np.int64),
            np.array([o.onset_year for o in occ], dtype=float),
            np.array([o.site_pos for o in occ], dtype=np.int64),
        )

    def _effects(self, ev: I, onset: F, pos: I) -> Effects:
        """Effects of occurrences given as arrays (sorted by onset), fully vectorised: every
        (occurrence, target) pair is one row of factors; rows of the same target multiply.

        One array holds every multiplier: sites, offers, compute demands, unit demands, routes
        (the :class:`Effects` fields are views of it)."""
        d = self.data
        T = d.n_periods
        S, n_o, D, U = len(d.site_ids), len(d.offer_ids), len(d.compute_ids), len(d.unit_ids)
        world = np.ones((self._n_stack + len(d.route_ids), T))
        hits: tuple[EventHit, ...] = ()
        if len(ev):
            loss = self._curves.average(ev, onset, self._edges)  # (n, T)
            parts = [self._parts[e][p + 1] for e, p in zip(ev.tolist(), pos.tolist(), strict=True)]
            n = len(parts)
            rows: list[I] = [pt.flat_rows for pt in parts]
            sizes = np.fromiter((len(pt.rows) for pt in parts), np.int64, n)
            coef = np.concatenate([pt.coef for pt in parts])
            factors: list[F] = [1.0 - coef[:, None] * loss.repeat(sizes, axis=0)]
            d0_parts = [(j, pt) for j, pt in enumerate(parts) if pt.d0_loss is not None]
            if d0_parts:
                js = np.array([j for j, _ in d0_parts])
                sizes = np.fromiter((len(pt.routes) for _, pt in d0_parts), np.int64, len(js))
                d0 = np.concatenate([pt.d0_loss for _, pt in d0_parts if pt.d0_loss is not None])
                rows += [pt.flat_routes for _, pt in d0_parts]
                factors.append(1.0 - d0 * loss[js].repeat(sizes, axis=0))
            wip_parts = [(j, pt) for j, pt in enumerate(parts) if pt.wip > 0]
            if wip_parts:
                # wafers started within one cycle time before the onset are in flight
                js = np.array([j for j, _ in wip_parts])
                sizes = np.fromiter((len(pt.routes) for _, pt in wip_parts), np.int64, len(js))
                u = onset[js].repeat(sizes)[:, None]
                c = np.concatenate([pt.cycle for _, pt in wip_parts])[:, None]
                share = np.concatenate([pt.wip_share for _, pt in wip_parts])[:, None]
                a, b = self._a[None, :], self._b[None, :]
                overlap = np.maximum(np.minimum(b, u) - np.maximum(a, u - c), 0.0)
                rows += [pt.flat_routes for _, pt in wip_parts]
                factors.append(1.0 - share * overlap / (b - a))
            # world[row] *= factor for every (row, factor) pair; repeated rows multiply
            np.multiply.at(
                world.reshape(-1),
                np.concatenate(rows),
                np.concatenate([f.reshape(-1) for f in factors]),
            )
            hits = tuple(
                [
                    EventHit(pt.event, u, pt.targets)
                    for u, pt in zip(onset.tolist(), parts, strict=True)
                ]
            )
        changed = (world != 1.0).any(axis=0)
        first = int(np.argmax(changed)) if changed.any() else T
        n = self._n_stack
        return Effects(
            world[:S],
            world[n:],
            world[S : S + n_o],
            world[S + n_o : S + n_o + D],
            world[S + n_o + D : S + n_o + D + U],
            first,
            hits,
        )

    def _compile_parts(self) -> list[list[_Part]]:
        """Per event, per site position (index 0: every site, k + 1: candidate site k of a
        scope-one event), the rows it multiplies and their coefficients."""
        d = self.data
        S, n_o, D = len(d.site_ids), len(d.offer_ids), len(d.compute_ids)
        n_stack = self._n_stack
        T = d.n_periods
        out: list[list[_Part]] = []
        for e in self.events:
            common_rows = np.concatenate(
                [S + e.offers, S + n_o + e.compute, S + n_o + D + e.units]
            ).astype(np.int64)
            common_coef = np.concatenate(
                [
                    np.full(len(e.offers), e.allocation_loss),
                    np.full(len(e.compute) + len(e.units), 1.0 - e.demand_factor),
                ]
            )
            routes_effect = e.route_d0_loss is not None or e.wip_share > 0

            def part(
                k: I,
                q: I,
                e: CompiledEvent = e,
                common_rows: I = common_rows,
                common_coef: F = common_coef,
                routes_effect: bool = routes_effect,
            ) -> _Part:
                rows = np.concatenate([e.sites[k], common_rows]).astype(np.int64)
                coef = np.concatenate([e.site_depth[k], common_coef])
                keep = coef != 0.0
                if not routes_effect:
                    q = q[:0]
                d0 = e.route_d0_loss[q] if e.route_d0_loss is not None and len(q) else None
                rows, coef, routes = rows[keep], coef[keep], e.routes[q] + n_stack
                targets = e.targets(k.tolist())
                return _Part(
                    rows,
                    coef,
                    routes,
                    _flat(rows, T),
                    _flat(routes, T),
                    d0,
                    e.wip_share if len(q) else 0.0,
                    np.full(len(q), e.wip_share),
                    e.route_cycle_years[q],
                    e.id,
                    targets,
                )

            all_k = np.arange(e.n_sites)
            parts = [part(all_k, np.arange(len(e.routes)))]
            if e.scope_one:
                parts += [part(np.array([k]), e.routes_at[k]) for k in range(e.n_sites)]
            out.append(parts)
        return out

    # Stress cases --------------------------------------------------------------------------

    def default_onset_year(self) -> float:
        """1 January of the year after the first tape-out: the earliest ``available_from_year``
        of any product's process options (own chips then depend on the sites), or the
        horizon's second year when no option gives one; within the horizon."""
        h = self.scenario.horizon
        years = [
            o.available_from_year
            for p in self.scenario.products
            for o in p.process_options
            if o.available_from_year is not None
        ]
        year = (min(years) + 1) if years else h.first_year + 1
        return float(min(max(year, h.first_year), h.last_year))

    def _worst_curve(self, sites: I) -> tuple[str, LossCurve] | None:
        """The worst loss curve (most capacity-years lost over the horizon) among the selected
        events that can take capacity from any of ``sites``; among all capacity events when
        none can. Ties go to the first in catalogue order."""
        span = float(self._hi.max() - self._lo.min()) if len(self.events) else 0.0

        def candidates(only: I | None) -> list[CompiledEvent]:
            out = []
            for e, chosen in zip(self.events, self._selected.tolist(), strict=True):
                if not chosen or not (e.site_depth > 0).any():
                    continue
                if only is None or np.isin(e.sites[e.site_depth > 0], only).any():
                    out.append(e)
            return out

        pool = candidates(sites) or candidates(None)
        if not pool:
            return None
        worst = max(pool, key=lambda e: e.curve.lost_years(span))
        return worst.id, worst.curve

    def stress_cases(self, onset_year: float | None = None) -> list[tuple[str, str, Effects]]:
        """``(kind, target id, effects)``: each production site (``site``) and each HBM and
        packaging supplier (``hbm_supplier`` / ``packaging_supplier``: all its sites of that
        kind) knocked out alone (capacity 0) from ``onset_year`` (calendar years; default
        :meth:`default_onset_year`) for the recovery of the worst catalogue event that can
        hit it (:meth:`_worst_curve`). Deterministic; empty when the catalogue has no event
        that takes capacity."""
        sc = self.scenario
        d = self.data
        onset = self.default_onset_year() if onset_year is None else float(onset_year)
        kinds = {p.id: p.kind.value for p in sc.processes}
        groups: list[tuple[str, str, I]] = []
        for i, s in enumerate(sc.sites):
            if s.purpose == "production":
                groups.append(("site", s.id, np.array([i], dtype=np.int64)))
        for kind in ("hbm", "packaging"):
            owners: dict[str, list[int]] = {}
            for i, s in enumerate(sc.sites):
                if s.purpose == "production" and kind in {kinds[p] for p in s.processes}:
                    owners.setdefault(s.owner, []).append(i)
            for owner, members in owners.items():
                groups.append((f"{kind}_supplier", owner, np.array(members, dtype=np.int64)))
        out: list[tuple[str, str, Effects]] = []
        T = d.n_periods
        for kind, target, sites in groups:
            found = self._worst_curve(sites)
            if found is None:
                return []
            event_id, curve = found
            loss = curve.average(onset, self._a, self._b)
            none = Effects.none(
                len(d.site_ids),
                len(d.route_ids),
                len(d.offer_ids),
                len(d.compute_ids),
                len(d.unit_ids),
                T,
            )
            site = none.site_capacity
            site[sites] = 1.0 - loss[None, :]
            changed = (site != 1.0).any(axis=0)
            first = int(np.argmax(changed)) if changed.any() else T
            hit = EventHit(event_id, onset, tuple(d.site_ids[i] for i in sites.tolist()))
            out.append(
                (
                    kind,
                    target,
                    Effects(
                        site,
                        none.route_output,
                        none.offer_allocation,
                        none.compute_demand,
                        none.unit_demand,
                        first,
                        (hit,),
                    ),
                )
            )
        return out


def catalogue_sampler(
    data: PlanData, scenario: Scenario, events: Sequence[str] | None = None
) -> Sampler:
    """The :class:`Sampler` of ``scenario``'s catalogue in the index space of ``data``; a
    :class:`ScenarioError` when there is nothing to sample, for every command that samples
    (``fabnet risk``, ``plan --stochastic``, ``frontier``)."""
    sampler = Sampler(data, scenario, events)
    if not sampler.event_ids:
        raise ScenarioError(
            Problem(
                f"scenario {scenario.name} has no disruption catalogue: nothing to sample",
                "add a `disruptions:` section (docs/risk.md shows the fields and an example)",
                field="disruptions",
            )
        )
    return sampler
