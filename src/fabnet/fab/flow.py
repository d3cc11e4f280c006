"""Flow of wafers through a fab over a time window: throughput, WIP, cycle time, flow factor.

The planner sees a fab as one site with a capacity (wafers per day) and, with clearing
functions, an operating curve: throughput and flow factor against load
(:mod:`fabnet.plan.clearing`). This module measures those quantities on simulated runs, so
``fab curve`` writes them as data and ``fab check-plan`` compares a plan with them. What a
route asks of the fab in expectation (performances per step, transport, lot time,
occupancy, raw process time), computed from the data alone, is in
:mod:`fabnet.fab.route_flow`.

Definitions, for a window ``[t0, t1)`` of a run (days):

* **capacity** of a model, ``capacity_wpd`` (:func:`bottleneck_capacity_wpd`): the release
  rate (wafers per day, order-file mix) that loads its busiest tool family to 100 %, the
  most the fab can sustain. The planner's site capacity is that limit too, so a curve's
  ``load = release rate / capacity_wpd`` (the bottleneck's utilisation) and
  ``throughput_frac = throughput_wpd / capacity_wpd`` are on the planner's scale. The
  order file's own rate, ``nominal_release_wpd`` (``release_scale = 1``), is only one
  operating point (HVLM's loads its bottleneck to 97.5 %, a generated fab's to its
  ``bottleneck_load``), so it is kept beside it, not used as the denominator.
* ``throughput_wpd``: wafers of lots completed in the window (released ones and initial WIP)
  ÷ window length.
* ``wip_wafers``: time-average of the wafers in the fab over the window (exact, from each
  lot's release and completion; initial WIP counts from 0).
* ``cycle_time_mean_days``: wafer-weighted mean cycle time of the lots released by the order
  file and completed in the window (initial WIP has no release time);
  ``cycle_time_p90_days``: 90th percentile over those lots.
* ``raw_process_time_days``: wafer-weighted mean raw process time
  (:func:`fabnet.fab.kpi.raw_process_time_days`) of the same lots, so the product mix of the
  window weighs it; ``flow_factor = cycle_time_mean_days / raw_process_time_days``.

With these, Little's law reads ``wip_wafers ≈ throughput_wpd × cycle_time_mean_days`` in
steady state, and ``flow_factor × throughput_frac`` is the normalised WIP of the clearing
function.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from fabnet.fab.kpi import MIN_PER_DAY, raw_process_time_days
from fabnet.fab.model import FabModel
from fabnet.fab.queueing import network_from_model, solve_network
from fabnet.fab.simulate import SimResult

__all__ = [
    "CURVE_POINT_COLUMNS",
    "bottleneck_capacity_wpd",
    "curve_points",
    "nominal_release_wpd",
    "window_flow",
]

#: Columns of :func:`curve_points`, in order (one row per load; ``seeds``: runs averaged).
CURVE_POINT_COLUMNS: tuple[str, ...] = (
    "load",
    "release_scale",
    "throughput_wpd",
    "throughput_frac",
    "cycle_time_mean_days",
    "cycle_time_p90_days",
    "wip_wafers",
    "raw_process_time_days",
    "flow_factor",
    "capacity_wpd",
    "nominal_release_wpd",
    "seeds",
)


def nominal_release_wpd(model: FabModel) -> float:
    """Wafers released per day at the order file's rates: Σ over streams of pieces × lots per
    release ÷ interval (days). A stream whose interval is 0 adds nothing (one-off releases)."""
    total = 0.0
    for r in model.releases:
        iv_days = r.interval.mean / MIN_PER_DAY
        if iv_days > 0:
            total += r.pieces * max(r.lots_per_release, 1) / iv_days
    return total


def bottleneck_capacity_wpd(model: FabModel) -> float:
    """Release rate (wafers/day) that loads the busiest tool family to 100 %: the nominal rate
    ÷ the highest G/G/m station load (capacity in use, outages and PMs included) at it."""
    sol = solve_network(network_from_model(model), 1.0)
    u = float(sol.stations["load_pct"].max()) / 100.0
    return nominal_release_wpd(model) / u


def _lots_in_window(
    result: SimResult, t0_min: float, t1_min: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All lots completed in ``[t0, t1)``, and those of them released by the order file."""
    lots = result.lots
    done = lots["done_min"].to_numpy(dtype=float)
    sel = (done >= t0_min) & (done < t1_min)
    out = lots.loc[sel]
    return out, out.loc[~out["initial_wip"].to_numpy(dtype=bool)]


def _timed_stats(timed: pd.DataFrame, rpt_part: dict[str, float]) -> tuple[float, float, float]:
    """Cycle-time figures of ``timed`` lots (days): wafer-weighted mean, lot P90, and the
    wafer-weighted mean raw process time (``rpt_part`` per part); NaN without lots."""
    if not len(timed):
        return math.nan, math.nan, math.nan
    w = timed["pieces"].to_numpy(dtype=float)
    ct = (timed["done_min"] - timed["release_min"]).to_numpy(dtype=float) / MIN_PER_DAY
    rpt = timed["part"].map(rpt_part).to_numpy(dtype=float)
    return (
        float(np.average(ct, weights=w)),
        float(np.percentile(ct, 90.0)),
        float(np.average(rpt, weights=w)),
    )


def window_flow(
    model: FabModel, result: SimResult, t0_days: float, t1_days: float
) -> dict[str, float]:
    """Flow measures of one run over ``[t0_days, t1_days)`` (module docstring).

    Keys: ``throughput_wpd``, ``wip_wafers``, ``cycle_time_mean_days``,
    ``cycle_time_p90_days``, ``raw_process_time_days``, ``flow_factor``, ``completed_wafers``,
    ``released_wafers`` (wafers released in the window). NaN where no lot qualifies.
    """
    t0, t1 = t0_days * MIN_PER_DAY, t1_days * MIN_PER_DAY
    span_days = t1_days - t0_days
    lots = result.lots
    pieces = lots["pieces"].to_numpy(dtype=float)
    init = lots["initial_wip"].to_numpy(dtype=bool)
    rel = np.where(init, 0.0, lots["release_min"].to_numpy(dtype=float))
    done = lots["done_min"].to_numpy(dtype=float)
    end = np.where(np.isnan(done), np.inf, done)
    overlap = np.clip(np.minimum(end, t1) - np.maximum(rel, t0), 0.0, None)
    wip = float((pieces * overlap).sum() / (t1 - t0))
    in_win, timed = _lots_in_window(result, t0, t1)
    completed = float(in_win["pieces"].sum())
    released = float(pieces[(~init) & (rel >= t0) & (rel < t1)].sum())
    rpt_part = raw_process_time_days(model)
    ct_mean, ct_p90, rpt_mean = _timed_stats(timed, rpt_part)
    return {
        "throughput_wpd": completed / span_days,
        "wip_wafers": wip,
        "cycle_time_mean_days": ct_mean,
        "cycle_time_p90_days": ct_p90,
        "raw_process_time_days": rpt_mean,
        "flow_factor": ct_mean / rpt_mean if rpt_mean > 0 else math.nan,
        "completed_wafers": completed,
        "released_wafers": released,
    }


def curve_points(
    model: FabModel,
    runs: Sequence[tuple[float, Sequence[SimResult]]],
    days: float,
    warmup_days: float,
    capacity_wpd: float | None = None,
) -> pd.DataFrame:
    """One operating-curve point per release scale from simulated runs (``(release_scale,
    results)`` pairs: multiples of the order file's rates, as ``fab curve --loads``).

    Each run is measured over its statistics window ``[warmup_days, days)``
    (:func:`window_flow`); a point is the mean over its seeds of throughput and WIP, and the
    cycle-time figures of all their timed lots pooled (wafer-weighted mean, lot P90).
    ``load`` and ``throughput_frac`` are relative to ``capacity_wpd`` (default
    :func:`bottleneck_capacity_wpd`; module docstring). Columns: :data:`CURVE_POINT_COLUMNS`,
    sorted by load.
    """
    nominal = nominal_release_wpd(model)
    cap = bottleneck_capacity_wpd(model) if capacity_wpd is None else float(capacity_wpd)
    rpt_part = raw_process_time_days(model)
    rows: list[dict[str, float]] = []
    for load, results in runs:
        flows = [window_flow(model, r, warmup_days, days) for r in results]
        timed = pd.concat(
            [_lots_in_window(r, warmup_days * MIN_PER_DAY, days * MIN_PER_DAY)[1] for r in results],
            ignore_index=True,
        )
        ct_mean, ct_p90, rpt = _timed_stats(timed, rpt_part)
        thr = float(np.mean([f["throughput_wpd"] for f in flows]))
        rows.append(
            {
                "load": float(load) * nominal / cap if cap > 0 else math.nan,
                "release_scale": float(load),
                "throughput_wpd": thr,
                "throughput_frac": thr / cap if cap > 0 else math.nan,
                "cycle_time_mean_days": ct_mean,
                "cycle_time_p90_days": ct_p90,
                "wip_wafers": float(np.mean([f["wip_wafers"] for f in flows])),
                "raw_process_time_days": rpt,
                "flow_factor": ct_mean / rpt if rpt > 0 else math.nan,
                "capacity_wpd": cap,
                "nominal_release_wpd": nominal,
                "seeds": float(len(results)),
            }
        )
    df = pd.DataFrame(rows, columns=list(CURVE_POINT_COLUMNS))
    df["seeds"] = df["seeds"].astype("int64")
    return df.sort_values("release_scale", kind="stable").reset_index(drop=True)
