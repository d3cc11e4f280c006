"""What a route asks of the fab in expectation: performances per step (sampling and rework),
moves between performed steps, a lot's time at a step, a tool's occupancy per job and the raw
process time of a product. The one home of these formulas for the queueing model
(:mod:`fabnet.fab.queueing`), the generator (:mod:`fabnet.fab.generate`), the KPIs
(:mod:`fabnet.fab.kpi`) and the kernel's tables (:mod:`fabnet.fab.compile`).

Not to be confused with :mod:`fabnet.fab.flow`, which *measures* throughput, WIP and cycle
time on simulated runs; this module *computes* expectations from the model's data alone and
depends only on :mod:`fabnet.fab.model` (no import cycle with the simulator or the queueing
model).

**Expected performances** (docs/fab-readings.md, "Rework", reading A4). A lot reaching a
step by the normal flow performs it with its sampling share ``s``; after a performed step
``k`` it is reworked with probability ``r_k`` and goes back to step ``t_k``, which it then
performs without a sampling draw, and repeats the steps from there (each with its own draw,
rework included): any number of times. A skipped step takes no time, no transport and no
rework draw. This is an absorbing Markov chain over the states "step i reached by the flow"
(``x_i`` expected entries) and "step i performed" (``P_i`` expected performances):

    x_0 = 1,   x_{i+1} = (1 − s_i)·x_i + (1 − r_i)·P_i,   P_i = s_i·x_i + Σ_{k: t_k = i} r_k·P_k,

solved exactly for nested and repeated rework loops (:func:`expected_performances`). One step
reworked with probability r onto itself: ``P = 1/(1 − r)``.

**Moves.** Transport happens between consecutive *performed* steps: from ``k`` to ``t_k``
(``r_k·P_k`` times), and from ``i`` forward to the next performed step ``j``
(``(1 − r_i)·P_i·Π_{i<m<j}(1 − s_m)·s_j`` times). The release goes to the first performed
step without transport.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from fabnet.fab.model import FabModel, PerKind, Route, Step, ToolFamily

__all__ = [
    "Moves",
    "RouteRework",
    "expected_moves",
    "expected_performances",
    "job_occupancy_min",
    "lone_lot_time_coeffs_min",
    "lone_lot_time_min",
    "lot_time_coeffs_min",
    "product_pieces",
    "raw_process_time_min",
    "route_rework",
    "route_visits",
    "transport_into_min",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Expected moves below this are dropped (a run of sampled steps makes them geometric).
_MOVE_EPS = 1e-15

RouteRework = tuple[FloatArray, IntArray, FloatArray]


def _checked(
    sample_share: npt.ArrayLike, rework_target: npt.ArrayLike, rework_prob: npt.ArrayLike
) -> RouteRework:
    s = np.asarray(sample_share, dtype=np.float64)
    t = np.asarray(rework_target, dtype=np.int64)
    r = np.asarray(rework_prob, dtype=np.float64)
    n = len(s)
    if t.shape != (n,) or r.shape != (n,):
        raise ValueError("sample_share, rework_target and rework_prob must have one value per step")
    if ((s < 0) | (s > 1)).any() or ((r < 0) | (r >= 1)).any():
        raise ValueError("sampling shares must lie in [0, 1] and rework probabilities in [0, 1)")
    r = np.where(t >= 0, r, 0.0)
    if (t >= n).any():
        raise ValueError("a rework target lies outside the route")
    return s, t, r


def expected_performances(
    sample_share: npt.ArrayLike, rework_target: npt.ArrayLike, rework_prob: npt.ArrayLike
) -> FloatArray:
    """Expected number of times a lot performs each step of a route (module docstring).

    ``sample_share``: chance (0–1) that a lot reaching step i by the flow performs it;
    ``rework_target``: 0-based step a rework after step i sends the lot back to (−1: none);
    ``rework_prob``: chance (0–1, below 1) of that rework after each performance of step i.

    The chain is solved exactly on its few unknowns: x changes only at rework steps and
    rework targets (elsewhere ``x_{i+1} = x_i``), so one sweep over those steps gives the
    flow as a linear function of the forced entries y_j at the m targets, and
    ``y = R·P(y)`` is an m × m linear system (numpy only; scipy would add 0.2 s to the start
    of every ``fab simulate``, whose KPIs use this).
    """
    s, t, r = _checked(sample_share, rework_target, rework_prob)
    n = len(s)
    rw = np.flatnonzero((t >= 0) & (r > 0))  # rework steps
    targets = np.unique(t[rw])
    m = len(targets)
    col = np.full(n, -1, dtype=np.int64)
    col[targets] = np.arange(m)
    events = np.union1d(rw, targets)
    # flow before / after each event step as columns: [release, unit forced entry at target j]
    before = np.empty((len(events), m + 1))
    after = np.empty((len(events), m + 1))
    perf = np.empty((len(events), m + 1))
    cur = np.zeros(m + 1)
    cur[0] = 1.0
    for a, e in enumerate(events):
        before[a] = cur
        p = s[e] * cur
        if col[e] >= 0:
            p[1 + col[e]] += 1.0
        perf[a] = p
        cur = (1.0 - s[e]) * cur + (1.0 - r[e]) * p
        after[a] = cur
    # forced entries: y_j = Σ_{k: t_k = target j} r_k · (perf_k · [1, y])
    at = perf[np.searchsorted(events, rw)]
    red = np.zeros((m, len(rw)))
    red[col[t[rw]], np.arange(len(rw))] = r[rw]
    y: FloatArray = np.zeros(0)
    if m:
        y = np.asarray(np.linalg.solve(np.eye(m) - red @ at[:, 1:], red @ at[:, 0]), np.float64)
    w = np.concatenate([[1.0], y])
    last = np.searchsorted(events, np.arange(n), side="right") - 1  # last event ≤ i
    x = np.where(last >= 0, (after @ w)[np.maximum(last, 0)], 1.0) if len(events) else np.ones(n)
    if len(events):
        x[events] = before @ w
    out = s * x
    out[targets] += y
    return np.maximum(out, 0.0)


class Moves(NamedTuple):
    """Expected moves between performed steps as triplets: ``expected[k]`` moves from step
    ``src[k]`` straight to step ``dst[k]`` (0-based), over a lot's life."""

    src: IntArray
    dst: IntArray
    expected: FloatArray


def expected_moves(
    sample_share: npt.ArrayLike,
    rework_target: npt.ArrayLike,
    rework_prob: npt.ArrayLike,
    performances: FloatArray | None = None,
) -> Moves:
    """Expected number of moves from a performance of step i straight to one of step j
    (module docstring): rework returns and forward moves past skipped steps. Per step i they
    add up to its performances not followed by completion; the release's move to the first
    performed step is not counted (it takes no transport)."""
    s, t, r = _checked(sample_share, rework_target, rework_prob)
    n = len(s)
    p = expected_performances(s, t, r) if performances is None else performances
    rw = np.flatnonzero((t >= 0) & (r > 0))
    rows = [rw]
    cols = [t[rw]]
    vals = [r[rw] * p[rw]]
    q = (1.0 - r) * p  # leaving each step forward, not yet at a performed step
    src = np.arange(n)
    for d in range(1, n):
        keep = (src + d < n) & (q > _MOVE_EPS)
        src, q = src[keep], q[keep]
        if not len(src):
            break
        j = src + d
        rows.append(src)
        cols.append(j)
        vals.append(q * s[j])
        q = q * (1.0 - s[j])
    v = np.concatenate(vals)
    keep_v = v > 0
    return Moves(
        np.concatenate(rows)[keep_v].astype(np.int64),
        np.concatenate(cols)[keep_v].astype(np.int64),
        v[keep_v],
    )


def transport_into_min(moves: Moves, location: npt.ArrayLike, time_min: FloatArray) -> FloatArray:
    """Expected transport minutes into each step over a lot's life: Σ_i moves(i → j) ×
    ``time_min[location[i], location[j]]`` (mean move time between location indices)."""
    loc = np.asarray(location, dtype=np.int64)
    w = moves.expected * time_min[loc[moves.src], loc[moves.dst]]
    return np.bincount(moves.dst, weights=w, minlength=len(loc)).astype(np.float64)


def route_rework(route: Route) -> RouteRework:
    """The plain arrays of a route for :func:`expected_performances`: sampling share,
    0-based rework target (−1: none) and rework probability per step (as the kernel reads
    them: a ``REWORK`` without ``RWKSTEP`` never reworks)."""
    steps = route.steps
    share = np.array([st.sample_pct / 100.0 for st in steps], dtype=np.float64)
    target = np.array(
        [st.rework_step - 1 if st.rework_step else -1 for st in steps], dtype=np.int64
    )
    prob = np.array(
        [st.rework_pct / 100.0 if st.rework_step else 0.0 for st in steps], dtype=np.float64
    )
    return share, target, prob


# ------------------------------------------------------------------ time at one step
def lot_time_coeffs_min(
    per: PerKind,
    ptime_min: float,
    load_unload_min: float,
    *,
    cascading: bool = False,
    part_interval_min: float | None = None,
) -> tuple[float, float]:
    """Mean time of one lot alone at a step as ``(fixed, per_wafer)`` minutes, so that a lot
    of n wafers takes fixed + n·per_wafer incl. load and unload (FORMAT.md §2.2.1, §8.1):
    processing n·p̄ (``piece``), p̄ + (n − 1)·c (``piece`` on a cascading tool with part
    interval c), p̄ (``lot``, ``batch``; a cascading tool's batch interval does not delay
    the lot itself)."""
    if per == "piece":
        if cascading and part_interval_min is not None:
            return load_unload_min + ptime_min - part_interval_min, part_interval_min
        return load_unload_min, ptime_min
    return load_unload_min + ptime_min, 0.0


def job_occupancy_min(
    per: PerKind,
    ptime_min: float,
    ptime_var_min2: float,
    pieces: int,
    load_unload_min: float,
    *,
    cascading: bool = False,
    part_interval_min: float | None = None,
    batch_interval_min: float | None = None,
) -> tuple[float, float]:
    """Mean and variance (min, min²) of the time a job holds its tool, setup excluded; a
    job is a lot, or a batch on a ``batch`` step. Cascading tools hold a lot of n wafers
    ``n·max(c, p − c)`` (part interval c) or ``max(b, p − b)`` (batch interval b): the next
    lot may start while this one finishes (FORMAT.md §8, the queueing module's reading)."""
    if per == "batch":
        return ptime_min + load_unload_min, ptime_var_min2
    if cascading and per == "piece" and part_interval_min is not None:
        c = part_interval_min
        var = 0.0 if c >= ptime_min - c else pieces * pieces * ptime_var_min2
        return pieces * max(c, ptime_min - c), var
    if cascading and batch_interval_min is not None:
        b = batch_interval_min
        return max(b, ptime_min - b), 0.0 if b >= ptime_min - b else ptime_var_min2
    if per == "piece":
        return pieces * ptime_min + load_unload_min, pieces * pieces * ptime_var_min2
    return ptime_min + load_unload_min, ptime_var_min2


def lone_lot_time_coeffs_min(
    step: Step, load_min: float, unload_min: float, cascading: bool
) -> tuple[float, float]:
    """:func:`lot_time_coeffs_min` of a model step on a family with these load and unload
    times."""
    return lot_time_coeffs_min(
        step.per,
        step.ptime.mean,
        load_min + unload_min,
        cascading=cascading,
        part_interval_min=step.part_interval_min,
    )


def lone_lot_time_min(
    step: Step, load_min: float, unload_min: float, pieces: int, cascading: bool
) -> float:
    """Mean time of one lot of ``pieces`` wafers alone at ``step`` incl. load and unload,
    minutes (§2.2.1)."""
    fixed, per_wafer = lone_lot_time_coeffs_min(step, load_min, unload_min, cascading)
    return fixed + pieces * per_wafer


# ------------------------------------------------------------------ a model's products
def _location_times(model: FabModel) -> tuple[dict[str, int], FloatArray]:
    """Location index and the mean move time between locations (0 without a row)."""
    locs: dict[str, int] = {}
    for f in model.families:
        locs.setdefault(f.location, len(locs))
    for tr in model.transports:
        locs.setdefault(tr.from_loc, len(locs))
        locs.setdefault(tr.to_loc, len(locs))
    tm = np.zeros((len(locs), len(locs)))
    for tr in model.transports:
        tm[locs[tr.from_loc], locs[tr.to_loc]] = max(tr.time.mean, 0.0)
    return locs, tm


def route_visits(
    model: FabModel, route: Route, families: Mapping[str, ToolFamily] | None = None
) -> tuple[FloatArray, FloatArray]:
    """Expected performances per step of ``route`` and expected transport minutes into each
    step over a lot's life (moves between performed steps, :func:`expected_moves`)."""
    fams = {f.name: f for f in model.families} if families is None else families
    arrays = route_rework(route)
    perf = expected_performances(*arrays)
    moves = expected_moves(*arrays, performances=perf)
    locs, tm = _location_times(model)
    loc = np.array([locs[fams[s.family].location] for s in route.steps], dtype=np.int64)
    return perf, transport_into_min(moves, loc, tm)


def product_pieces(model: FabModel, part: str, default: int = 25) -> int:
    """Wafers per lot of ``part``: its first release stream's, else ``default``."""
    return next((r.pieces for r in model.releases if r.part == part), default)


def raw_process_time_min(model: FabModel) -> dict[str, float]:
    """Raw process time per product (part name) whose route the model has, minutes: the
    expected empty-fab cycle time, Σ over steps of expected performances × lone-lot time
    (load + processing + unload) plus the expected transport between performed steps
    (module docstring), for a lot of the product's first release stream's size."""
    fams = {f.name: f for f in model.families}
    out: dict[str, float] = {}
    for prod in model.products:
        route = model.routes.get(prod.route)
        if route is None:
            continue
        n = product_pieces(model, prod.name)
        perf, trans = route_visits(model, route, fams)
        times = np.array(
            [
                lone_lot_time_min(
                    s,
                    fams[s.family].load_min,
                    fams[s.family].unload_min,
                    n,
                    fams[s.family].cascading,
                )
                for s in route.steps
            ]
        )
        out[prod.name] = float(perf @ times + trans.sum())
    return out
