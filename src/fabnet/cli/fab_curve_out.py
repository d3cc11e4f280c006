"""`fabnet fab curve`'s curve as data: the points CSV, the stored ``curve`` run and the
clearing-function fit printed beside them.

The CSV has one row per load, columns :data:`fabnet.fab.flow.CURVE_POINT_COLUMNS`:

* ``load``: release rate ÷ ``capacity_wpd`` (the bottleneck's utilisation);
* ``release_scale``: release rate as a multiple of the order file's (``--loads``);
* ``throughput_wpd``: wafers completed per day in the statistics window (mean over seeds);
* ``throughput_frac``: ``throughput_wpd`` ÷ ``capacity_wpd``;
* ``cycle_time_mean_days``, ``cycle_time_p90_days``: wafer-weighted mean and lot P90 of the
  cycle time of lots released and completed in the window (seeds pooled);
* ``wip_wafers``: time-average wafers in the fab over the window (mean over seeds);
* ``raw_process_time_days``: wafer-weighted raw process time of the same lots;
* ``flow_factor``: mean cycle time ÷ raw process time;
* ``capacity_wpd``: the model's capacity, the release rate (wafers per day) that loads its
  busiest tool family to 100 % (:func:`fabnet.fab.flow.bottleneck_capacity_wpd`), the
  planner's reading of a site's capacity;
* ``nominal_release_wpd``: the order file's release rate (wafers per day);
* ``seeds``: the runs averaged.

A scenario's ``operating_curve: {file: ...}`` reads ``load``, ``throughput_frac`` and
``flow_factor`` unchanged (docs/closed-loop.md).

The fit is :func:`fabnet.plan.clearing.curve_from_points` on ``load``, ``throughput_frac``
and ``flow_factor`` (normalised WIP = flow factor × throughput fraction, Little's law).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from rich import box
from rich.table import Table

from fabnet.cli.app import err, out
from fabnet.errors import FabModelError, FabnetError, Problem

if TYPE_CHECKING:
    from fabnet.fab.model import FabModel
    from fabnet.fab.simulate import SimResult
    from fabnet.plan.clearing import ClearingFunction

#: The flow-factor error the issue targets for the fit (fraction).
FIT_ERROR_TARGET = 0.05


def check_curve_data_options(ggm_only: bool, output: Path | None, store: Path | None) -> None:
    """Points come from simulated runs: a CSV or a stored curve with ``--ggm-only`` is refused."""
    wants = [
        f
        for f, on in (
            ("-o NAME.csv", output is not None and output.suffix.lower() == ".csv"),
            ("--store", store is not None),
        )
        if on
    ]
    if ggm_only and wants:
        raise FabModelError(
            Problem(
                f"{' and '.join(wants)} need{'s' if len(wants) == 1 else ''} simulated points; "
                "--ggm-only simulates nothing",
                field="--ggm-only",
                hint="drop --ggm-only, or write the chart with -o NAME.html",
            )
        )


def fit_points(points: pd.DataFrame) -> tuple[ClearingFunction | None, str | None]:
    """The clearing function of the points, or ``(None, why not)`` for a curve that cannot be
    fitted (a load above 1, a non-monotone point: the message of the planner's check).

    A throughput above its load can only be sampling noise of the window (lots released
    before it, completed in it): the fit takes ``min(throughput_frac, load)``; the CSV and
    the store keep the measured value."""
    from fabnet.plan.clearing import curve_from_points

    load = points["load"].to_numpy(dtype=float)
    thr = np.minimum(points["throughput_frac"].to_numpy(dtype=float), load)
    try:
        fit = curve_from_points(load, thr, points["flow_factor"], max_segments=6)
    except FabnetError as e:
        return None, str(e)
    return fit, None


def fit_json(fit: ClearingFunction | None) -> dict[str, Any] | None:
    """Segments ``throughput_frac ≤ intercept + slope × wip_norm`` and the fit's error."""
    if fit is None:
        return None
    return {
        "slopes": [float(x) for x in fit.slopes],
        "intercepts": [float(x) for x in fit.intercepts],
        "max_flow_factor_error": float(fit.max_flow_factor_error),
    }


def _clean(rows: Sequence[Mapping[Any, Any]]) -> list[dict[str, Any]]:
    return [
        {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in (
                (str(k), v.item() if isinstance(v, np.generic) else v) for k, v in r.items()
            )
        }
        for r in rows
    ]


def points_json(points: pd.DataFrame) -> list[dict[str, Any]]:
    """The points as JSON records (NaN as null)."""
    return _clean(points.to_dict(orient="records"))


def write_points_csv(points: pd.DataFrame, path: Path) -> None:
    """Write the points (columns as in the module docstring)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    points.to_csv(path, index=False, float_format="%.6g")


def store_curve(
    store_path: Path,
    directory: Path,
    points: pd.DataFrame,
    fit: ClearingFunction | None,
    options: dict[str, Any],
    wall_s: float,
) -> str:
    """Save the curve as a run of kind ``curve`` (result table ``points``, table ``segments``
    when fitted), filed under the model's folder name and the SHA-256 of its files."""
    from fabnet.store import Store

    digest = hashlib.sha256()
    for p in sorted(q for q in directory.iterdir() if q.is_file()):
        digest.update(p.name.encode("utf-8") + b"\0" + p.read_bytes())
    tables = {"points": points}
    if fit is not None:
        tables["segments"] = pd.DataFrame(
            {
                "segment": np.arange(1, fit.n_segments + 1),
                "slope": fit.slopes,
                "intercept": fit.intercepts,
            }
        )
    summary = {
        "model": directory.resolve().name,
        "points": len(points),
        "clearing_function": fit_json(fit),
    }
    return Store(store_path).save_run(
        kind="curve",
        scenario=None,
        input_name=directory.resolve().name,
        input_hash=digest.hexdigest(),
        options=options,
        status="ok",
        timings_s={"simulate": float(wall_s)},
        summary=summary,
        tables=tables,
    )


def print_points(points: pd.DataFrame, fit: ClearingFunction | None, why_not: str | None) -> None:
    """The points table and the fit (segments and flow-factor error against the 5 % target)."""
    tab = Table(
        title="Operating-curve points (site level, all products)",
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    cols = [
        ("load", "load", 3),
        ("release_scale", "rel×", 2),
        ("throughput_wpd", "wfr/d", 0),
        ("throughput_frac", "thr", 3),
        ("cycle_time_mean_days", "CT d", 2),
        ("cycle_time_p90_days", "P90 d", 2),
        ("wip_wafers", "WIP", 0),
        ("raw_process_time_days", "RPT d", 2),
        ("flow_factor", "FF", 2),
    ]
    for _c, head, _d in cols:  # numbers never wrap
        tab.add_column(head, justify="right", no_wrap=True)
    for _, row in points.iterrows():
        tab.add_row(*(_num(row[c], d) for c, _h, d in cols))
    if len(points):
        tab.caption = (
            f"{int(points['seeds'].max())} seed(s) per load; wfr/d: wafers out per day; load, thr: ÷ capacity {float(points['capacity_wpd'].iloc[0]):,.1f} wafers/d "
            "(the rate loading the busiest tools to 100 %); rel×: of the order file's "
            f"{float(points['nominal_release_wpd'].iloc[0]):,.1f} wafers/d; WIP in wafers; "
            "FF: flow factor (CT / RPT)"
        )
        tab.caption_justify = "left"
    out.print(tab)
    if fit is None:
        err.print(f"[yellow]no clearing-function fit:[/] {why_not}", soft_wrap=True)
        return
    err_pct = 100.0 * fit.max_flow_factor_error
    verdict = "within" if fit.max_flow_factor_error <= FIT_ERROR_TARGET else "above"
    out.print(
        f"clearing function: {fit.n_segments} tangent segments "
        "(throughput_frac ≤ a + b × wip_norm, wip_norm = flow factor × throughput_frac); "
        f"max flow-factor error {err_pct:.2f} % ({verdict} the 5 % target)"
    )
    for k, (b, a) in enumerate(zip(fit.slopes, fit.intercepts, strict=True), start=1):
        out.print(f"  segment {k}: a = {a:.4f}, b = {b:.4f}")


def _num(v: Any, digits: int) -> str:
    x = float(v)
    if math.isnan(x):
        return ""
    return f"{x:,.{digits}f}"


@dataclass
class CurveData:
    """A curve's points, their fit (or why there is none), where they went."""

    points: pd.DataFrame
    fit: ClearingFunction | None
    why_not: str | None
    csv: Path | None
    run_id: str | None
    store: Path | None

    def json(self) -> dict[str, Any]:
        """What the curve's data adds to ``fab curve --json``."""
        return {
            "points": points_json(self.points),
            "clearing_function": fit_json(self.fit),
            "fit_error": self.why_not,
            "csv": str(self.csv) if self.csv is not None else None,
            "run_id": self.run_id,
        }

    def show(self) -> None:
        """Print the points, the fit and where they were written."""
        print_points(self.points, self.fit, self.why_not)
        if self.csv is not None:
            out.print(f"points written to {self.csv}")
        if self.run_id is not None:
            out.print(f"stored as run {self.run_id} in {self.store}")


def curve_data(
    model: FabModel,
    runs: Sequence[tuple[float, Sequence[SimResult]]],
    days: float,
    warmup_days: float,
    directory: Path,
    csv: Path | None,
    store: Path | None,
    dispatcher: str | None,
    wall_s: float,
) -> CurveData:
    """Measure the points of simulated runs, fit them, write the CSV and store the run."""
    from fabnet.fab.flow import curve_points

    points = curve_points(model, runs, days, warmup_days)
    fit, why_not = fit_points(points)
    if csv is not None:
        write_points_csv(points, csv)
    run_id = None
    if store is not None:
        options = {
            "model_dir": str(directory),
            "loads": [float(x) for x, _ in runs],
            "seeds": [r.seed for r in runs[0][1]] if runs else [],
            "days": days,
            "warmup_days": warmup_days,
            "dispatcher": dispatcher,
        }
        run_id = store_curve(store, directory, points, fit, options, wall_s)
    return CurveData(points, fit, why_not, csv, run_id, store)
