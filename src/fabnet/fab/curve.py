"""Operating curve of a fab: cycle time and x-factor against bottleneck utilisation.

:func:`operating_curve` runs the simulator at several *loads* and puts the G/G/m
prediction (:func:`fabnet.fab.queueing.fab_gg_m_curve`) beside it. A **load** is the
``release_scale`` of the simulator: every release stream of ``order.txt`` runs at ``load``
× its nominal rate (``load = 1`` is the model as given; 0.9 releases 10 % fewer lots).
The initial WIP is kept as it is in the files.

The planner uses the result as a site's load-dependent lead time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from fabnet.errors import FabModelError, Problem
from fabnet.fab.kpi import raw_process_time_days
from fabnet.fab.model import FabModel
from fabnet.fab.queueing import network_from_model, solve_network
from fabnet.fab.simulate import SimOptions, SimResult, simulate_seeds, t975

__all__ = [
    "CURVE_COLUMNS",
    "ggm_operating_curve",
    "lead_time_days",
    "operating_curve",
    "product_cycle_times",
    "short_run_warnings",
]

#: Columns of :func:`operating_curve`'s table, in order.
CURVE_COLUMNS: tuple[str, ...] = (
    "load",
    "bottleneck_group",
    "bottleneck_utilization_pct",
    "bottleneck_utilization_pct_ci95",
    "product",
    "completed",
    "cycle_time_mean_days",
    "cycle_time_mean_days_ci95",
    "x_factor",
    "x_factor_ci95",
    "raw_process_time_days",
    "ggm_cycle_time_days",
    "ggm_x_factor",
    "ggm_bottleneck_utilization_pct",
)


def _t95(n: int) -> float:
    """Student-t 97.5 % quantile for ``n`` samples (NaN below 2); no scipy needed."""
    return t975(n - 1) if n >= 2 else math.nan


def product_cycle_times(result: SimResult) -> pd.DataFrame:
    """Per part of one run: lots completed and their mean cycle time over all lot types.

    The mean weights each lot type (``Lot_3``, ``HotLot_3``, ...) by its lots completed, so
    it is the mean over every completed lot of the part — the quantity a G/G/m model that
    ignores priorities predicts. Columns: ``product``, ``completed``,
    ``cycle_time_mean_days`` (NaN when no lot completed).
    """
    lt = result.lot_types
    rows = []
    for part, grp in lt.groupby("part", sort=False):
        n = grp["completed"].to_numpy(dtype=float)
        ct = grp["cycle_time_mean_days"].to_numpy(dtype=float)
        total = float(n.sum())
        mean = float(np.nansum(n * ct) / total) if total > 0 else math.nan
        rows.append({"product": str(part), "completed": total, "cycle_time_mean_days": mean})
    return pd.DataFrame(rows, columns=["product", "completed", "cycle_time_mean_days"])


def operating_curve(
    model: FabModel,
    loads: Sequence[float],
    days: float,
    warmup_days: float,
    seeds: Sequence[int],
    *,
    dispatcher: str | None = None,
    processes: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    linking: bool = True,
    setup_share: float | None = None,
) -> pd.DataFrame:
    """Simulate ``model`` at every load (× nominal release rates) and add the G/G/m curve.

    Each load runs ``seeds`` replications of ``days`` days, statistics after
    ``warmup_days`` (lots released by ``order.txt`` and completed in the window).
    ``progress(done, total)`` counts finished runs over all loads.

    The bottleneck group is the tool family with the highest simulated utilisation (of
    available time), averaged over the loads; its utilisation is reported at each load,
    simulated (``bottleneck_utilization_pct``, mean ± 95 % CI over seeds) and predicted
    (``ggm_bottleneck_utilization_pct``). Per product: lots completed per run, mean cycle
    time over all its lots (days, ± 95 % CI, Student t over seeds), x-factor = cycle time
    / raw process time (the simulator's definition, :func:`fabnet.fab.kpi.raw_process_time_days`),
    and the G/G/m cycle time and x-factor (``inf`` at or beyond saturation).
    Columns: :data:`CURVE_COLUMNS`, one row per (load, product).
    """
    load_list = [float(x) for x in loads]
    seed_list = list(seeds)
    problems = [
        Problem(f"load {x:g} must be positive", field="loads") for x in load_list if not x > 0
    ]
    if not load_list:
        problems.append(Problem("no loads given", field="loads", hint="e.g. 0.6,0.8,0.9"))
    if not seed_list:
        problems.append(Problem("no seeds given", field="seeds"))
    if problems:
        raise FabModelError(problems, title="cannot compute the operating curve")

    rpt = raw_process_time_days(model)
    total = len(load_list) * len(seed_list)
    done_runs = 0
    per_load: list[tuple[float, list[SimResult]]] = []
    for load in load_list:
        opts = SimOptions(
            days=days, warmup_days=warmup_days, dispatcher=dispatcher, release_scale=load
        )
        base = done_runs

        def tick(k: int, n: int, base: int = base) -> None:
            if progress is not None:
                progress(base + k, total)

        multi = simulate_seeds(model, opts, seed_list, processes=processes, progress=tick)
        done_runs += len(seed_list)
        per_load.append((load, multi.results))

    # bottleneck: highest simulated utilisation, averaged over loads and seeds
    util = pd.concat([r.tool_groups[["name", "utilization_pct"]] for _, rs in per_load for r in rs])
    mean_util = util.groupby("name", sort=False)["utilization_pct"].mean()
    bottleneck = str(mean_util.idxmax())

    net = network_from_model(model, setup_share=setup_share)
    solutions = {load: solve_network(net, load, linking=linking) for load in load_list}

    rows: list[dict[str, object]] = []
    for load, results in per_load:
        bu = np.array(
            [_column_value(r.tool_groups, "name", bottleneck, "utilization_pct") for r in results]
        )
        per_seed = pd.concat(
            [product_cycle_times(r).assign(seed=r.seed) for r in results], ignore_index=True
        )
        for product, grp in per_seed.groupby("product", sort=False):
            ct = grp["cycle_time_mean_days"].to_numpy(dtype=float)
            ct = ct[~np.isnan(ct)]
            p_rpt = rpt.get(str(product), math.nan)
            sol = solutions[load]
            g_ct = _column_value(sol.products, "product", str(product), "cycle_time_days")
            n = len(ct)
            t = _t95(n)
            ct_mean = float(ct.mean()) if n else math.nan
            ct_half = float(t * ct.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
            rows.append(
                {
                    "load": load,
                    "bottleneck_group": bottleneck,
                    "bottleneck_utilization_pct": float(bu.mean()),
                    "bottleneck_utilization_pct_ci95": float(
                        _t95(len(bu)) * bu.std(ddof=1) / math.sqrt(len(bu))
                    )
                    if len(bu) > 1
                    else math.nan,
                    "product": str(product),
                    "completed": float(grp["completed"].mean()),
                    "cycle_time_mean_days": ct_mean,
                    "cycle_time_mean_days_ci95": ct_half,
                    "x_factor": ct_mean / p_rpt if p_rpt > 0 else math.nan,
                    "x_factor_ci95": ct_half / p_rpt if p_rpt > 0 else math.nan,
                    "raw_process_time_days": p_rpt,
                    "ggm_cycle_time_days": g_ct,
                    "ggm_x_factor": g_ct / p_rpt if p_rpt > 0 else math.nan,
                    "ggm_bottleneck_utilization_pct": _column_value(
                        sol.stations, "station", bottleneck, "utilization_pct"
                    ),
                }
            )
    return pd.DataFrame(rows, columns=list(CURVE_COLUMNS))


def ggm_operating_curve(
    model: FabModel,
    loads: Sequence[float],
    *,
    linking: bool = True,
    setup_share: float | None = None,
) -> pd.DataFrame:
    """The G/G/m half of :func:`operating_curve` alone (no simulation, about a second).

    Same columns (:data:`CURVE_COLUMNS`); the simulated ones are NaN. The bottleneck group
    is the family with the highest predicted load at ``load = 1``.
    """
    load_list = [float(x) for x in loads]
    bad = [Problem(f"load {x:g} must be positive", field="loads") for x in load_list if not x > 0]
    if bad or not load_list:
        raise FabModelError(bad or [Problem("no loads given", field="loads")])
    rpt = raw_process_time_days(model)
    net = network_from_model(model, setup_share=setup_share)
    nominal = solve_network(net, 1.0, linking=linking).stations
    bottleneck = str(nominal["station"].iloc[int(np.argmax(nominal["load_pct"].to_numpy()))])
    rows: list[dict[str, object]] = []
    for load in load_list:
        sol = solve_network(net, load, linking=linking)
        u = _column_value(sol.stations, "station", bottleneck, "utilization_pct")
        for product, ct in zip(
            sol.products["product"].astype(str),
            sol.products["cycle_time_days"].to_numpy(dtype=float),
            strict=True,
        ):
            p_rpt = rpt.get(product, math.nan)
            row: dict[str, object] = dict.fromkeys(CURVE_COLUMNS, math.nan)
            row.update(
                load=load,
                bottleneck_group=bottleneck,
                product=product,
                raw_process_time_days=p_rpt,
                ggm_cycle_time_days=float(ct),
                ggm_x_factor=float(ct) / p_rpt if p_rpt > 0 else math.nan,
                ggm_bottleneck_utilization_pct=u,
            )
            rows.append(row)
    return pd.DataFrame(rows, columns=list(CURVE_COLUMNS))


def lead_time_days(
    curve: pd.DataFrame, product: str, utilization_pct: float, *, source: str = "simulated"
) -> float:
    """Cycle time (days) of ``product`` at a bottleneck utilisation, read off a curve.

    Linear interpolation between the curve's points (``source`` ``"simulated"``: the
    simulated cycle time against the simulated utilisation; ``"ggm"``: the G/G/m columns);
    outside the curve's range the nearest end point's value is returned, and ``inf``
    above a point that is already saturated. Raises :class:`FabModelError` if the curve
    has no usable point for ``product``.
    """
    if source not in ("simulated", "ggm"):
        raise FabModelError(Problem(f"unknown source {source!r}", hint="simulated or ggm"))
    x_col, y_col = (
        ("bottleneck_utilization_pct", "cycle_time_mean_days")
        if source == "simulated"
        else ("ggm_bottleneck_utilization_pct", "ggm_cycle_time_days")
    )
    pts = curve.loc[curve["product"] == product, [x_col, y_col]].to_numpy(dtype=float)
    pts = pts[~np.isnan(pts).any(axis=1)]
    if len(pts) == 0:
        raise FabModelError(
            Problem(f"the curve has no {source} point for product {product!r}", field="product")
        )
    pts = pts[np.argsort(pts[:, 0], kind="stable")]
    x, y = pts[:, 0], pts[:, 1]
    finite = np.isfinite(y)
    if not finite.any():
        return math.inf
    if not finite.all():
        first_inf = float(x[~finite].min())
        if utilization_pct >= first_inf:
            return math.inf
        x, y = x[finite], y[finite]
    return float(np.interp(utilization_pct, x, y))


def _column_value(frame: pd.DataFrame, key: str, name: str, column: str) -> float:
    """``frame[column]`` in the first row whose ``key`` is ``name`` (NaN if none)."""
    values = frame.loc[frame[key] == name, column].to_numpy(dtype=float)
    return float(values[0]) if len(values) else math.nan


def short_run_warnings(
    curve: pd.DataFrame, days: float, warmup_days: float, initial_wip_lots: int
) -> list[str]:
    """Why an operating curve from ``days`` simulated days (statistics after
    ``warmup_days``) may not show the loads it names; empty when the run is long enough.

    Derived, not tuned: a lot takes about its cycle time CT in the fab, so the initial WIP
    (or, without one, the empty start) shapes the fab until about CT has passed — the
    warm-up must be at least CT — and a lot released after the warm-up finishes about CT
    later — the statistics window must be at least CT long, or only the fast lots are
    counted. CT at each load is the G/G/m prediction of ``curve`` (at least the raw process
    time); the longest over products and loads is used. Loads the G/G/m model predicts to be
    saturated are named: their queue grows for the whole run.
    """
    if curve.empty:
        return []
    rpt = curve["raw_process_time_days"].to_numpy(dtype=float)
    ggm = curve["ggm_cycle_time_days"].to_numpy(dtype=float)
    ct = np.fmax(np.where(np.isfinite(ggm), ggm, np.nan), rpt)
    warnings: list[str] = []
    saturated = sorted({float(x) for x in curve.loc[np.isposinf(ggm), "load"]})
    if saturated:
        warnings.append(
            "at load " + ", ".join(f"{x:g}" for x in saturated) + " the G/G/m model predicts "
            "a saturated bottleneck: the queue grows for the whole run, so the simulated cycle "
            "time there depends on --days"
        )
    if not np.isfinite(ct).any():
        return warnings
    k = int(np.nanargmax(ct))
    need = float(ct[k])
    load = float(curve["load"].iloc[k])
    start = (
        f"the initial WIP ({initial_wip_lots:,} lots)" if initial_wip_lots else "the empty start"
    )
    window = days - warmup_days
    if warmup_days < need or window < need:
        short = []
        if warmup_days < need:
            short.append(
                f"the warm-up ({warmup_days:g} d) is shorter, so {start} still fills "
                "the fab while statistics are taken"
            )
        if window < need:
            short.append(
                f"the statistics window ({window:g} d) is shorter, so only lots "
                "faster than it are counted"
            )
        warnings.append(
            f"short run: at load {load:g} a lot takes about {need:.1f} d (G/G/m cycle time); "
            + "; ".join(short)
            + f". Utilisation and cycle time then reflect {start.split(' (')[0]} more than "
            "the load — use a "
            f"warm-up of at least {math.ceil(need)} d and --days of at least "
            f"{math.ceil(max(warmup_days, need) + need)} (with the default warm-up, a quarter "
            f"of --days: --days {math.ceil(4 * need)})"
        )
    return warnings
