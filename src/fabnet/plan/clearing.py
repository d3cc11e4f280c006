"""Clearing functions: a site's throughput as a concave function of its work in process.

Pure numpy (no linopy): the CLI, the fab layer's ``fab curve`` and the planner all use it.

An *operating curve* is a set of points measured (or computed) at several loads:

* ``load``            released wafers / capacity, in (0, 1];
* ``throughput_frac`` output wafers / capacity, in (0, 1];
* ``flow_factor``     mean cycle time / raw process time (≥ 1).

With the WIP normalised by what the site holds at full capacity with no queueing,
``wip_norm = WIP / (capacity × raw process time)``, Little's law gives
``wip_norm = flow_factor × throughput_frac``. The *clearing function*
``X = f(W)`` (Karmarkar 1989; Asmundsson, Rardin and Uzsoy 2006) maps normalised WIP
``W`` to the throughput fraction ``X`` it can clear per unit of raw process time. It is
increasing and concave; the planner uses it through tangent segments

    X ≤ a_k + b_k · W      for every segment k,

i.e. ``f(W) = min_k (a_k + b_k W)``. :func:`fit_clearing_function` builds these segments
as an *outer* approximation of the points (every point lies on or below every segment):
the least concave majorant of the points and the origin, capped at capacity (X ≤ 1), and
— when it has more than ``max_segments`` pieces — thinned by dropping, one at a time, the
segment whose removal raises the flow-factor error least (dropping a segment of a minimum
of lines only raises the function, so the result stays an outer approximation). The first
segment, through the origin with slope 1 / (flow factor of the lightest point), is kept.

The error reported is the relative error of the flow factor the fit implies at each
point's throughput, ``f⁻¹(X_i) / X_i`` against ``W_i / X_i``. Being an outer
approximation, the fit is never pessimistic: its cycle time at a given throughput is at
most the measured one.

References: U. S. Karmarkar, "Capacity loading and release planning with work-in-progress
(WIP) and leadtimes", J. Manufacturing and Operations Management 2 (1989) 105–123;
S. Asmundsson, R. L. Rardin, R. Uzsoy, "Tractable nonlinear production planning models for
semiconductor wafer fabrication facilities", IEEE Trans. Semiconductor Manufacturing 19
(2006) 95–111; H. Missbauer, R. Uzsoy, *Production Planning with Capacitated Resources and
Congestion*, Springer 2020.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fabnet.errors import PlanError, Problem

F = npt.NDArray[np.float64]

__all__ = [
    "ClearingData",
    "ClearingFunction",
    "OperatingPoints",
    "curve_from_points",
    "fit_clearing_function",
    "queueing_flow_factor",
    "queueing_points",
]

#: Relative slack allowed when checking that a throughput does not exceed capacity or its
#: load (simulated points carry sampling noise of this order: 0.5 %).
_NOISE = 5e-3


def _as_array(name: str, values: npt.ArrayLike, source: str | None) -> F:
    try:
        arr = np.asarray(values, dtype=float).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise PlanError(
            Problem(f"{name} is not a list of numbers ({exc})", "give numbers", file=source),
            title="bad operating curve",
        ) from None
    return arr


def _fail(message: str, hint: str, source: str | None, field: str | None = None) -> PlanError:
    return PlanError(Problem(message, hint, file=source, field=field), title="bad operating curve")


@dataclass(frozen=True)
class OperatingPoints:
    """Validated points of an operating curve, sorted by load (see the module docstring)."""

    load: F
    throughput_frac: F
    flow_factor: F

    @property
    def wip_norm(self) -> F:
        """Normalised WIP, ``flow_factor × throughput_frac`` (Little's law)."""
        out: F = self.flow_factor * self.throughput_frac
        return out

    def fit(self, max_segments: int = 6) -> ClearingFunction:
        """The tangent-segment clearing function of these points."""
        return fit_clearing_function(self.wip_norm, self.throughput_frac, max_segments)


def operating_points(
    load: npt.ArrayLike,
    throughput_frac: npt.ArrayLike,
    flow_factor: npt.ArrayLike,
    source: str | None = None,
) -> OperatingPoints:
    """Check and sort operating-curve points; raise :class:`PlanError` naming what is wrong.

    Bad: fewer than 2 points, unequal lengths, NaN, load outside (0, 1], throughput outside
    (0, 1] or above its load, flow factor below 1, a load given twice, or a curve that is
    not monotone (throughput or WIP falling as load rises). ``source`` names the file or
    scenario field the points come from, for the message.
    """
    x_load = _as_array("load", load, source)
    x_thr = _as_array("throughput_frac", throughput_frac, source)
    x_ff = _as_array("flow_factor", flow_factor, source)
    if not len(x_load) == len(x_thr) == len(x_ff):
        raise _fail(
            f"columns have different lengths (load {len(x_load)}, throughput_frac "
            f"{len(x_thr)}, flow_factor {len(x_ff)})",
            "give one load, throughput_frac and flow_factor per point",
            source,
        )
    if len(x_load) < 2:
        raise _fail(
            f"{len(x_load)} point(s); a clearing function needs at least 2",
            "measure the curve at 2 or more loads",
            source,
        )
    for name, arr in (("load", x_load), ("throughput_frac", x_thr), ("flow_factor", x_ff)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise _fail(
                f"{name} of point {bad[0] + 1} is not a number",
                "fill in every value",
                source,
                name,
            )
    for name, arr in (("load", x_load), ("throughput_frac", x_thr)):
        bad = np.flatnonzero((arr <= 0) | (arr > 1 + _NOISE))
        if bad.size:
            raise _fail(
                f"{name} of point {bad[0] + 1} is {arr[bad[0]]:g}, outside (0, 1]",
                f"{name} is a fraction of the site's capacity; a load above 1 is not "
                "sustainable and has no steady-state cycle time",
                source,
                name,
            )
    bad = np.flatnonzero(x_thr > x_load * (1 + _NOISE))
    if bad.size:
        raise _fail(
            f"throughput_frac of point {bad[0] + 1} ({x_thr[bad[0]]:g}) exceeds its load "
            f"({x_load[bad[0]]:g})",
            "a site cannot put out more than it is given",
            source,
            "throughput_frac",
        )
    bad = np.flatnonzero(x_ff < 1.0)
    if bad.size:
        raise _fail(
            f"flow_factor of point {bad[0] + 1} is {x_ff[bad[0]]:g}, below 1",
            "flow factor is mean cycle time / raw process time, at least 1",
            source,
            "flow_factor",
        )
    order = np.argsort(x_load, kind="stable")
    x_load, x_thr, x_ff = x_load[order], x_thr[order], x_ff[order]
    dup = np.flatnonzero(np.diff(x_load) == 0)
    if dup.size:
        raise _fail(
            f"load {x_load[dup[0]]:g} is given twice",
            "average the seeds of one load into one point",
            source,
            "load",
        )
    wip = x_ff * x_thr
    for name, arr in (("throughput_frac", x_thr), ("wip (flow_factor × throughput_frac)", wip)):
        drop = np.flatnonzero(np.diff(arr) < 0)
        if drop.size:
            i = drop[0]
            raise _fail(
                f"curve is not monotone: {name} falls from {arr[i]:g} at load "
                f"{x_load[i]:g} to {arr[i + 1]:g} at load {x_load[i + 1]:g}",
                "throughput and WIP must rise with load; re-measure with more seeds or "
                "drop the noisy point",
                source,
                "load",
            )
    return OperatingPoints(x_load, x_thr, x_ff)


@dataclass(frozen=True)
class ClearingFunction:
    """Tangent segments ``X ≤ intercepts[k] + slopes[k] · W`` of a clearing function.

    ``W`` is WIP / (capacity × raw process time), ``X`` throughput / capacity. The last
    segment is the capacity, ``X ≤ 1`` (slope 0). ``wip_norm`` and ``throughput_frac`` are
    the points fitted; ``max_flow_factor_error`` the largest relative error of the flow
    factor the fit implies over them (0 when the fit passes through every point).
    """

    slopes: F
    intercepts: F
    wip_norm: F
    throughput_frac: F
    max_flow_factor_error: float

    @property
    def n_segments(self) -> int:
        return len(self.slopes)

    def evaluate(self, wip_norm: npt.ArrayLike) -> F:
        """``f(W) = min_k (a_k + b_k W)``, the throughput fraction at normalised WIP ``W``."""
        w = np.asarray(wip_norm, dtype=float)
        out: F = np.min(self.intercepts + self.slopes * w[..., None], axis=-1)
        return out

    def wip_for(self, throughput_frac: npt.ArrayLike) -> F:
        """Least normalised WIP that clears ``throughput_frac`` (``f⁻¹``; inf above capacity)."""
        x = np.asarray(throughput_frac, dtype=float)[..., None]
        pos = self.slopes > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            need = np.where(pos, (x - self.intercepts) / np.where(pos, self.slopes, 1.0), 0.0)
            flat_short = (~pos) & (self.intercepts < x - 1e-12)
        need = np.where(flat_short, np.inf, need)
        out: F = np.maximum(np.max(need, axis=-1), 0.0)
        return out

    def flow_factor(self, throughput_frac: npt.ArrayLike) -> F:
        """Flow factor (cycle time / raw process time) the fit implies at a throughput."""
        x = np.asarray(throughput_frac, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            out: F = self.wip_for(x) / x
        return out


def _upper_hull(w: F, x: F) -> list[int]:
    """Indices of the upper concave hull of points sorted by ``w`` (Andrew's monotone chain)."""
    hull: list[int] = []
    for i in range(len(w)):
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            cross = (w[b] - w[a]) * (x[i] - x[a]) - (x[b] - x[a]) * (w[i] - w[a])
            if cross >= 0:  # b lies on or below the chord a→i: not a hull vertex
                hull.pop()
            else:
                break
        hull.append(i)
    return hull


def _ff_error(slopes: F, intercepts: F, w: F, x: F) -> float:
    cf = ClearingFunction(slopes, intercepts, w, x, 0.0)
    fitted = cf.wip_for(x)
    return float(np.max(np.abs(fitted - w) / w))


def fit_clearing_function(
    wip_norm: npt.ArrayLike,
    throughput_frac: npt.ArrayLike,
    max_segments: int = 6,
    source: str | None = None,
) -> ClearingFunction:
    """Concave piecewise-linear outer approximation of ``throughput_frac`` against ``wip_norm``.

    ``max_segments`` counts every segment, the capacity cap ``X ≤ 1`` included (≥ 2). Raises
    :class:`PlanError` for fewer than 2 points, NaN, values outside (0, 1] (throughput) or
    ≤ 0 (WIP), or points whose throughput falls as WIP rises.
    """
    w = _as_array("wip_norm", wip_norm, source)
    x = _as_array("throughput_frac", throughput_frac, source)
    if len(w) != len(x):
        raise _fail(
            f"wip_norm has {len(w)} points, throughput_frac {len(x)}",
            "give one of each per point",
            source,
        )
    if len(w) < 2:
        raise _fail(
            f"{len(w)} point(s); a clearing function needs at least 2",
            "measure the curve at 2 or more loads",
            source,
        )
    if max_segments < 2:
        raise _fail(
            f"max_segments {max_segments} is below 2",
            "allow at least one sloped segment and the capacity cap",
            source,
        )
    if not (np.all(np.isfinite(w)) and np.all(np.isfinite(x))):
        raise _fail("a point is not a number", "fill in every value", source)
    if np.any(w <= 0):
        raise _fail("a normalised WIP is not positive", "WIP must be above 0", source)
    bad = np.flatnonzero((x <= 0) | (x > 1 + _NOISE))
    if bad.size:
        raise _fail(
            f"throughput_frac {x[bad[0]]:g} is outside (0, 1]",
            "throughput is a fraction of the site's capacity",
            source,
            "throughput_frac",
        )
    order = np.argsort(w, kind="stable")
    w, x = w[order], x[order]
    drop = np.flatnonzero(np.diff(x) < 0)
    if drop.size:
        i = drop[0]
        raise _fail(
            f"curve is not monotone: throughput falls from {x[i]:g} to {x[i + 1]:g} as WIP "
            f"rises from {w[i]:g} to {w[i + 1]:g}",
            "throughput must rise with WIP; average seeds per load or drop the noisy point",
            source,
            "throughput_frac",
        )
    x = np.minimum(x, 1.0)  # noise above capacity: the cap segment is the bound
    # least concave majorant of the origin and the points
    hw = np.concatenate([[0.0], w])
    hx = np.concatenate([[0.0], x])
    hull = _upper_hull(hw, hx)
    a_list: list[float] = []
    b_list: list[float] = []
    for i, j in itertools.pairwise(hull):
        b = (hx[j] - hx[i]) / (hw[j] - hw[i])
        if b <= 0:
            break  # flat from here: the capacity cap (or a flat hull edge) bounds it
        a_list.append(hx[i] - b * hw[i])
        b_list.append(b)
    a_list.append(1.0)
    b_list.append(0.0)
    slopes = np.asarray(b_list)
    intercepts = np.asarray(a_list)
    # thin to max_segments: drop the sloped segment whose removal raises the error least;
    # the first (through the origin, slope 1/flow factor at the lightest load) stays, so the
    # fit never implies a flow factor below the lightest point's
    while len(slopes) > max_segments:
        best_k, best_err = 1, np.inf
        for k in range(1, len(slopes) - 1):
            keep = np.arange(len(slopes)) != k
            err = _ff_error(slopes[keep], intercepts[keep], w, x)
            if err < best_err:
                best_k, best_err = k, err
        keep = np.arange(len(slopes)) != best_k
        slopes, intercepts = slopes[keep], intercepts[keep]
    return ClearingFunction(
        slopes=slopes,
        intercepts=intercepts,
        wip_norm=w,
        throughput_frac=x,
        max_flow_factor_error=_ff_error(slopes, intercepts, w, x),
    )


def curve_from_points(
    load: npt.ArrayLike,
    throughput_frac: npt.ArrayLike,
    flow_factor: npt.ArrayLike,
    max_segments: int = 6,
    source: str | None = None,
) -> ClearingFunction:
    """Check operating-curve points (:func:`operating_points`) and fit their clearing function.

    ``wip_norm = flow_factor × throughput_frac`` (Little's law in units of capacity × raw
    process time).
    """
    return operating_points(load, throughput_frac, flow_factor, source).fit(max_segments)


def queueing_flow_factor(
    load: npt.ArrayLike, tools: float, ca2: float = 1.0, ce2: float = 1.0
) -> F:
    """Flow factor of a G/G/m station at utilisation ``load``: Sakasegawa's approximation.

    ``FF = 1 + (ca2 + ce2)/2 · u^(√(2(m+1)) − 1) / (m (1 − u))`` — the queueing time over
    the process time (Hopp & Spearman, *Factory Physics*, eq. 8.12; H. Sakasegawa, Annals
    of the Inst. of Statistical Mathematics 29 (1977) 67–75; for m = 1 it is Kingman's
    formula). A site is taken as a line of such stations all loaded alike, so its flow
    factor is the station's. ``ca2``/``ce2``: squared coefficients of variation of
    inter-arrival and effective process times; ``tools`` (m): parallel tools per station.
    """
    u = np.asarray(load, dtype=float)
    m = float(tools)
    out: F = 1.0 + (ca2 + ce2) / 2.0 * u ** (np.sqrt(2.0 * (m + 1.0)) - 1.0) / (m * (1.0 - u))
    return out


def queueing_points(
    loads: npt.ArrayLike, tools: float, ca2: float = 1.0, ce2: float = 1.0
) -> OperatingPoints:
    """Operating points of the G/G/m approximation at ``loads`` (< 1); throughput = load."""
    u = _as_array("load", loads, None)
    if tools < 1 or ca2 < 0 or ce2 < 0:
        raise _fail(
            f"queueing parameters tools={tools:g}, ca2={ca2:g}, ce2={ce2:g} are invalid",
            "tools ≥ 1, ca2 ≥ 0, ce2 ≥ 0",
            None,
        )
    if np.any((u <= 0) | (u >= 1)):
        raise _fail("a queueing load is outside (0, 1)", "use loads below 1", None, "load")
    return operating_points(u, u, queueing_flow_factor(u, tools, ca2, ce2))


@dataclass
class ClearingData:
    """The planner's clearing functions (``--lead-times load``), built from the scenario's
    curves by :func:`fabnet.plan.clearing_constraints.build_clearing_data`.

    ``routes`` (Rc,) route indices with a curve; ``slopes``/``intercepts`` (Rc, K) their
    tangent segments (padded with the capacity cap); ``raw_days`` (Rc,) raw process time,
    days; ``pipeline_periods`` (Rc,) the initial pipeline allowed, in periods of capacity;
    ``site_curve``/``site_raw_days`` the curve and raw process time of each site index.
    """

    routes: npt.NDArray[np.int64]
    slopes: F
    intercepts: F
    raw_days: F
    pipeline_periods: F
    site_curve: dict[int, ClearingFunction]
    site_raw_days: dict[int, float]
    n_routes: int

    @property
    def is_cf(self) -> npt.NDArray[np.bool_]:
        """(R,) True for a route with a clearing function."""
        out = np.zeros(self.n_routes, dtype=bool)
        out[self.routes] = True
        return out

    @property
    def pipeline_by_route(self) -> F:
        """(R,) ``pipeline_periods`` on the full route index (0 without a curve)."""
        out = np.zeros(self.n_routes)
        out[self.routes] = self.pipeline_periods
        return out
