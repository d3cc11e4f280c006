"""Closed loop: release a plan's wafer starts at one site into a simulated fab and compare.

The planner decides wafer starts per site and period and assumes an output and a cycle
time for them: a fixed cycle time (``--lead-times fixed``), or the one its clearing function
gives at the planned load (``--lead-times load``). :func:`check_site_plan` releases lots
into a fab model at the planned rates, simulates, and measures what comes out.

**Scaling** (one fab model stands for the site):

* *capacity.* The model's capacity ``capacity_wpd`` (wafers per day) is its throughput at
  ``load = 1``: by default (``capacity="bottleneck"``) the release rate that would load the
  busiest tool family to 100 % (:func:`fabnet.fab.flow.bottleneck_capacity_wpd`), the
  convention of ``fab curve``'s points and of the planner's site capacity (the most a fab
  can sustain); ``capacity="nominal"`` takes the order file's release rate instead
  (:func:`fabnet.fab.flow.nominal_release_wpd`). The plan's load in a period is
  ``starts / capacity_wafers`` of the site; the model releases ``load × capacity_wpd``
  wafers a day in that period (every stream of the order file scaled alike,
  :class:`~fabnet.fab.releases.ReleaseSchedule`).
* *time.* A plan period of ``period_days`` maps to ``days_per_period`` simulated days. By
  default the map keeps cycle time in proportion to the period: ``days_per_period =
  period_days × model RPT / site RPT`` (raw process times, days), so a fab whose raw process
  time is a third of the site's runs a third of a year per plan year, and a cycle time
  measured in the model reads as ``model CT × site RPT / model RPT`` plan days. Setting
  ``days_per_period`` maps time by that ratio instead (``site RPT`` is then unused for time,
  ``period_days / days_per_period`` converts).
* *wafers.* Realised output in plan wafers = realised throughput fraction (wafers completed
  in the period's window ÷ ``capacity_wpd × days_per_period``) × the site's capacity in the
  period; WIP likewise.

Before the first period the model runs ``warmup_days`` at the first period's load, so the
WIP it starts from matches that load (the model's own initial WIP is kept).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from fabnet.errors import FabModelError, Problem
from fabnet.fab.flow import bottleneck_capacity_wpd, nominal_release_wpd, window_flow
from fabnet.fab.kpi import raw_process_time_days
from fabnet.fab.model import FabModel
from fabnet.fab.releases import ReleaseSchedule
from fabnet.fab.simulate import SimOptions, simulate_seeds

__all__ = [
    "CHECK_COLUMNS",
    "CheckResult",
    "PlannedSite",
    "bottleneck_capacity_wpd",
    "check_site_plan",
    "model_raw_process_days",
]

F = npt.NDArray[np.float64]
Capacity = Literal["nominal", "bottleneck"]

#: Columns of :attr:`CheckResult.table`, in order.
CHECK_COLUMNS: tuple[str, ...] = (
    "period",
    "load",
    "planned_starts",
    "planned_output",
    "realised_output",
    "output_gap_pct",
    "planned_ct_days",
    "realised_ct_days",
    "ct_gap_pct",
    "realised_flow_factor",
    "planned_wip_wafers",
    "realised_wip_wafers",
)


@dataclass(frozen=True)
class PlannedSite:
    """What a plan decided and assumed at one site, per period (arrays of equal length).

    ``starts_wafers``: wafer starts; ``capacity_wafers``: the site's capacity (the plan's
    denominator of load); ``output_wafers``: the output the plan counts on;
    ``cycle_time_days``: the cycle time it assumes (plan days); ``wip_wafers``: its WIP (NaN
    when the plan has none); ``raw_process_days``: the site's raw process time;
    ``period_days``: days in a plan period.
    """

    site: str
    periods: tuple[str, ...]
    starts_wafers: F
    capacity_wafers: F
    output_wafers: F
    cycle_time_days: F
    wip_wafers: F
    raw_process_days: float
    period_days: float
    lead_times: str = "fixed"

    def __post_init__(self) -> None:
        n = len(self.periods)
        problems: list[Problem] = []
        if n == 0:
            problems.append(Problem("no periods to check", field="periods"))
        for name in (
            "starts_wafers",
            "capacity_wafers",
            "output_wafers",
            "cycle_time_days",
            "wip_wafers",
        ):
            if len(getattr(self, name)) != n:
                problems.append(Problem(f"{name} has not one value per period", field=name))
        if problems:
            raise FabModelError(problems, title=f"cannot check the plan at {self.site}")
        if np.any(~(self.capacity_wafers > 0)):
            bad = self.periods[int(np.flatnonzero(~(self.capacity_wafers > 0))[0])]
            raise FabModelError(
                Problem(
                    f"the site has no capacity in period {bad}",
                    field="periods",
                    hint="check periods in which the site runs",
                )
            )

    @property
    def load(self) -> F:
        """Planned starts ÷ capacity per period."""
        out: F = self.starts_wafers / self.capacity_wafers
        return out


@dataclass
class CheckResult:
    """The comparison (``table``, columns :data:`CHECK_COLUMNS`) and how it was scaled."""

    table: pd.DataFrame
    capacity_wpd: float
    days_per_period: float
    warmup_days: float
    model_raw_process_days: float
    time_scale: float  # simulated days per plan day
    seeds: list[int]
    wall_s: float


def model_raw_process_days(model: FabModel) -> float:
    """Raw process time of the model's product mix at its order-file rates (wafer-weighted)."""
    rpt = raw_process_time_days(model)
    w: dict[str, float] = {}
    for r in model.releases:
        iv = r.interval.mean
        if iv > 0:
            w[r.part] = w.get(r.part, 0.0) + r.pieces * max(r.lots_per_release, 1) / iv
    total = sum(w.values())
    if total <= 0:
        raise FabModelError(Problem("the model releases no lots", field="order.txt"))
    return sum(rpt.get(p, math.nan) * x for p, x in w.items()) / total


def check_site_plan(
    model: FabModel,
    planned: PlannedSite,
    *,
    seeds: Sequence[int] = (0,),
    capacity: Capacity = "bottleneck",
    days_per_period: float | None = None,
    warmup_days: float | None = None,
    processes: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CheckResult:
    """Simulate ``model`` releasing ``planned``'s starts and compare per period (module
    docstring for the scaling). ``warmup_days`` defaults to one period. Realised figures are
    means over ``seeds``; gaps are ``100 × (realised − planned) / planned``."""
    seed_list = list(seeds)
    if capacity not in ("nominal", "bottleneck"):
        raise FabModelError(
            Problem(
                f"unknown capacity {capacity!r}", field="capacity", hint="nominal or bottleneck"
            )
        )
    nominal = nominal_release_wpd(model)
    cap_wpd = nominal if capacity == "nominal" else bottleneck_capacity_wpd(model)
    m_rpt = model_raw_process_days(model)
    if days_per_period is None:
        if not planned.raw_process_days > 0:
            raise FabModelError(
                Problem(
                    "the site's raw process time is unknown",
                    field="raw_process_days",
                    hint="give days_per_period (the simulated days per plan period)",
                )
            )
        days_per_period = planned.period_days * m_rpt / planned.raw_process_days
    if not days_per_period > 0:
        raise FabModelError(Problem("days per period must be positive", field="days_per_period"))
    if warmup_days is None:
        warmup_days = days_per_period
    scale = days_per_period / planned.period_days  # simulated days per plan day
    load = planned.load
    n = len(load)
    scales = np.concatenate([[load[0]], load]) * cap_wpd / nominal
    starts = [0.0] + [warmup_days + k * days_per_period for k in range(n)]
    if warmup_days <= 0:
        scales, starts = scales[1:], [s - starts[1] for s in starts[1:]]
    schedule = ReleaseSchedule(tuple(starts), tuple(float(x) for x in scales))
    horizon = warmup_days + n * days_per_period
    opts = SimOptions(days=horizon, release_schedule=schedule)
    multi = simulate_seeds(model, opts, seed_list, processes=processes, progress=progress)
    rows: list[dict[str, object]] = []
    for k, period in enumerate(planned.periods):
        t0 = warmup_days + k * days_per_period
        flows = [window_flow(model, r, t0, t0 + days_per_period) for r in multi.results]
        thr_frac = float(np.mean([f["throughput_wpd"] for f in flows])) / cap_wpd
        ct_model = _finite_mean([f["cycle_time_mean_days"] for f in flows])
        wip_model = float(np.mean([f["wip_wafers"] for f in flows]))
        cap_k = float(planned.capacity_wafers[k])
        realised_out = thr_frac * cap_k
        realised_ct = ct_model / scale
        # WIP: model wafers ÷ (model wafers/day at capacity) × (plan wafers per plan day)
        realised_wip = wip_model / cap_wpd * cap_k / planned.period_days / scale
        p_out = float(planned.output_wafers[k])
        p_ct = float(planned.cycle_time_days[k])
        rows.append(
            {
                "period": period,
                "load": float(load[k]),
                "planned_starts": float(planned.starts_wafers[k]),
                "planned_output": p_out,
                "realised_output": realised_out,
                "output_gap_pct": _gap(realised_out, p_out),
                "planned_ct_days": p_ct,
                "realised_ct_days": realised_ct,
                "ct_gap_pct": _gap(realised_ct, p_ct),
                "realised_flow_factor": float(np.nanmean([f["flow_factor"] for f in flows])),
                "planned_wip_wafers": float(planned.wip_wafers[k]),
                "realised_wip_wafers": realised_wip,
            }
        )
    return CheckResult(
        table=pd.DataFrame(rows, columns=list(CHECK_COLUMNS)),
        capacity_wpd=cap_wpd,
        days_per_period=float(days_per_period),
        warmup_days=float(warmup_days),
        model_raw_process_days=m_rpt,
        time_scale=scale,
        seeds=seed_list,
        wall_s=multi.wall_s,
    )


def _finite_mean(values: Sequence[float]) -> float:
    """Mean of the finite values (NaN when a window completed no timed lot in any seed)."""
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    return float(arr.mean()) if len(arr) else math.nan


def _gap(realised: float, planned: float) -> float:
    return 100.0 * (realised - planned) / planned if planned > 0 else math.nan
