"""Release schedules: release streams run at a rate that changes over time.

``order.txt`` gives each release stream a constant interval; :class:`SimOptions.release_scale`
multiplies every stream's rate by one number. A :class:`ReleaseSchedule` makes that number a
piecewise-constant function of time: ``scales[k]`` holds from ``start_days[k]`` until the next
start (the last one until the horizon), so a plan's wafer starts per period can be released
into a fab (``fabnet fab check-plan``).

A stream releases its ``j``-th lot when its cumulative rate reaches ``j``: with interval
``Δ`` and scale ``s(t)``, lot ``j`` is released at the first ``t ≥ start`` where
``∫_start^t s(τ) dτ / Δ = j``. For a constant scale this is ``start + j · Δ / s``, exactly
what ``release_scale`` gives, so a one-piece schedule equals ``release_scale``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fabnet.errors import FabModelError, Problem

__all__ = ["ReleaseSchedule", "release_times_min"]

F = npt.NDArray[np.float64]

MIN_PER_DAY = 1440.0


@dataclass(frozen=True)
class ReleaseSchedule:
    """Release-rate multipliers, piecewise constant in time.

    ``start_days``: start of each piece, days from the simulation start, increasing, the first
    0; ``scales``: the multiplier of every stream's nominal rate in each piece (≥ 0; 0 stops
    releases). Raises :class:`FabModelError` when the two do not fit together.
    """

    start_days: tuple[float, ...]
    scales: tuple[float, ...]

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        if len(self.start_days) != len(self.scales):
            problems.append(
                Problem(
                    f"{len(self.start_days)} start days but {len(self.scales)} scales",
                    field="release_schedule",
                    hint="give one scale per piece",
                )
            )
        elif not self.start_days:
            problems.append(Problem("a release schedule needs a piece", field="release_schedule"))
        else:
            s = np.asarray(self.start_days, dtype=float)
            r = np.asarray(self.scales, dtype=float)
            if s[0] != 0.0:
                problems.append(
                    Problem(
                        f"the first piece starts at day {s[0]:g}, not 0",
                        field="release_schedule",
                        hint="start the schedule at day 0",
                    )
                )
            if not np.all(np.isfinite(s)) or np.any(np.diff(s) <= 0):
                problems.append(
                    Problem("start days must increase", field="release_schedule.start_days")
                )
            if not np.all(np.isfinite(r)) or np.any(r < 0):
                problems.append(
                    Problem(
                        "scales must be finite and ≥ 0",
                        field="release_schedule.scales",
                        hint="0 stops releases; 1 is the order file's rate",
                    )
                )
        if problems:
            raise FabModelError(problems, title="bad release schedule")

    @classmethod
    def periods(cls, scales: Sequence[float], days_per_period: float) -> ReleaseSchedule:
        """Equal periods of ``days_per_period`` days, one scale each."""
        if not days_per_period > 0:
            raise FabModelError(
                Problem("days per period must be positive", field="days_per_period")
            )
        return cls(tuple(k * float(days_per_period) for k in range(len(scales))), tuple(scales))

    def scale_at(self, t_days: npt.ArrayLike) -> F:
        """The scale in force at each time (days)."""
        t = np.asarray(t_days, dtype=float)
        k = np.searchsorted(np.asarray(self.start_days), t, side="right") - 1
        out: F = np.asarray(self.scales, dtype=float)[np.clip(k, 0, None)]
        return out


def release_times_min(
    start_min: float,
    interval_min: float,
    repeats: int,
    end_min: float,
    scale: float = 1.0,
    schedule: ReleaseSchedule | None = None,
) -> F:
    """Release times (minutes) of one stream's lots up to ``end_min`` (at most ``repeats``).

    Without a schedule: ``start_min + j · interval_min / scale``. With one, the rate is
    ``scale × schedule.scale_at(t)`` and lot ``j`` leaves when the cumulative rate since
    ``start_min`` reaches ``j`` (module docstring). Vectorised: one interpolation over the
    schedule's pieces.
    """
    if repeats <= 0:
        return np.zeros(0)
    if schedule is None:
        n = int(repeats)
        iv = interval_min / scale
        if iv > 0:
            n = min(n, int(np.floor((end_min - start_min) / iv + 1e-9)) + 1)
        times: F = start_min + np.arange(max(n, 0), dtype=np.float64) * iv
        return times[times <= end_min]
    # breakpoints of the cumulative count N(t) (lots), from start_min to end_min
    bps = np.asarray(schedule.start_days, dtype=float) * MIN_PER_DAY
    bps = bps[(bps > start_min) & (bps < end_min)]
    t = np.concatenate([[start_min], bps, [end_min]])
    if t[-1] <= t[0]:
        return np.array([start_min]) if start_min <= end_min else np.zeros(0)
    rate = scale * schedule.scale_at(t[:-1] / MIN_PER_DAY) / interval_min  # lots per minute
    cum = np.concatenate([[0.0], np.cumsum(rate * np.diff(t))])
    positive = np.flatnonzero(rate > 0)
    if positive.size == 0:
        return np.zeros(0)
    # lot 0 leaves when the rate first becomes positive (at start_min for a constant scale)
    first = t[positive[0]]
    n = min(int(repeats), int(np.floor(cum[-1] + 1e-9)) + 1)
    j = np.arange(1, n, dtype=float)
    # N is piecewise linear and non-decreasing: the first time it reaches j
    k = np.clip(np.searchsorted(cum, j - 1e-9, side="left"), 1, len(t) - 1)
    seg_rate = rate[k - 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = np.where(seg_rate > 0, (j - cum[k - 1]) / seg_rate, 0.0)
    out: F = np.concatenate([[first], t[k - 1] + np.maximum(inside, 0.0)])
    return out[out <= end_min]
