"""Key performance indicators of a run and replication statistics: the one home of KPI
definitions (per lot type, per tool family, WIP, lots, route steps, raw process time) and of
the mean and 95 % confidence half-width over seeds (:func:`summarize`, :func:`t975`).

Definitions (FORMAT.md §5.7 and §8, docs/fab-readings.md):

* cycle time = completion − release, days; x-factor = mean cycle time / raw process time (RPT);
  on-time = share of lots completed by their due date, percent.
* RPT of a product = expected empty-fab cycle time: Σ over steps of expected performances
  (sampling and any number of rework loops, :mod:`fabnet.fab.route_flow`) × (load + mean
  processing time of a lone lot + unload) + expected transport between performed steps.
* tool-family shares are of calendar time in the statistics window [warm-up, horizon]:
  down, PM, setup; availability = 100 − down − PM; utilisation = (busy time not spent down) /
  available time, where busy = setup + load + process + unload, the two lots of a cascading tool
  counted once.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from fabnet.fab import layout as L
from fabnet.fab.model import FabModel
from fabnet.fab.route_flow import raw_process_time_min

if TYPE_CHECKING:
    from fabnet.fab.compile import KernelArrays as _Arrays

MIN_PER_DAY = 1440.0


def raw_process_time_days(model: FabModel) -> dict[str, float]:
    """Raw process time per product (part name), days: expected performances × lone-lot
    time plus expected transport between performed steps, rework repeated any number of
    times (:func:`fabnet.fab.route_flow.raw_process_time_min`, FORMAT.md §8)."""
    return {p: v / MIN_PER_DAY for p, v in raw_process_time_min(model).items()}


def lot_type_table(
    lots: pd.DataFrame, rpt_days: dict[str, float], warmup_min: float, end_min: float
) -> pd.DataFrame:
    """Per lot type (release stream): lots completed in [warm-up, horizon] that were released
    by order.txt (initial-WIP lots have no release time and are excluded), cycle time mean /
    p50 / p90 in days, x-factor, on-time percent."""
    done = lots[
        (lots["done_min"] >= warmup_min) & (lots["done_min"] <= end_min) & ~lots["initial_wip"]
    ]
    rows = []
    for name in dict.fromkeys(lots["stream"]):
        d = done[done["stream"] == name]
        part = str(lots.loc[lots["stream"] == name, "part"].iloc[0])
        ct = (d["done_min"] - d["release_min"]).to_numpy() / MIN_PER_DAY
        n = len(ct)
        mean = float(ct.mean()) if n else float("nan")
        rpt = rpt_days.get(part, float("nan"))
        rows.append(
            {
                "name": name,
                "part": part,
                "completed": n,
                "cycle_time_mean_days": mean,
                "cycle_time_p50_days": float(np.percentile(ct, 50)) if n else float("nan"),
                "cycle_time_p90_days": float(np.percentile(ct, 90)) if n else float("nan"),
                "x_factor": mean / rpt if n and rpt > 0 else float("nan"),
                "cqt_violations": int(d["cqt_violations"].sum()) if "cqt_violations" in d else 0,
                "on_time_pct": float(100.0 * (d["done_min"] <= d["due_min"]).mean())
                if n
                else float("nan"),
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- one replication
def result_tables(
    model: FabModel, ar: _Arrays, wip_sample_min: float
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The tables of one replication from the kernel's final state ``ar``: lot types, tool
    families, WIP samples (every ``wip_sample_min``), lots, route steps (columns:
    :class:`fabnet.fab.simulate.SimResult`)."""
    a = ar.a
    li, lf = a["lot_i"], a["lot_f"]
    n = a["st"][L.ST_NWIP] + a["st"][L.ST_NREL]
    done = li[:n, L.L_DONE] == 1
    lots = pd.DataFrame(
        {
            "stream": [ar.stream_names[int(s)] for s in li[:n, L.L_STREAM]],
            "part": ar.lot_part[:n],
            "initial_wip": li[:n, L.L_WIP] == 1,
            "pieces": li[:n, L.L_PIECES],
            "release_min": lf[:n, L.LF_RELEASE],
            "due_min": lf[:n, L.LF_DUE],
            "done_min": np.where(done, lf[:n, L.LF_DONE_T], np.nan),
            "steps": li[:n, L.L_NSTEPS],
            "reworks": li[:n, L.L_REWORKS],
            "wait_min": lf[:n, L.LF_WAIT],
            "cqt_violations": li[:n, L.L_CQVIOL],
        }
    )
    # lots not yet released (stream -1) never exist: n counts only created ones
    lot_types = lot_type_table(
        lots[lots["stream"].isin(ar.stream_names)],
        raw_process_time_days(model),
        ar.warm_min,
        ar.end_min,
    )
    ti, tf = a["tool_i"], a["tool_f"]
    win = ar.end_min - ar.warm_min
    rows = []
    for k, name in enumerate(ar.family_names):
        sel = ti[:, L.T_FAM] == k
        nt = int(sel.sum())
        tot = nt * win
        down = float(tf[sel, L.TF_DOWN].sum())
        pm = float(tf[sel, L.TF_PM].sum())
        busy = float(tf[sel, L.TF_BUSY].sum() - tf[sel, L.TF_DOWNBUSY].sum())
        setup = float(tf[sel, L.TF_SETUP].sum())
        avail = tot - down - pm
        rows.append(
            {
                "name": name,
                "group": ar.family_groups[k],
                "n_tools": nt,
                "availability_pct": 100.0 * avail / tot if tot else float("nan"),
                "utilization_pct": 100.0 * busy / avail if avail > 0 else float("nan"),
                "down_pct": 100.0 * down / tot if tot else float("nan"),
                "pm_pct": 100.0 * pm / tot if tot else float("nan"),
                "setup_pct": 100.0 * setup / tot if tot else float("nan"),
                "busy_pct": 100.0 * busy / tot if tot else float("nan"),
                "jobs": int(ti[sel, L.T_NJOBS].sum()),
                "setups": int(ti[sel, L.T_NSETUPS].sum()),
            }
        )
    tool_groups = pd.DataFrame(rows)
    sf = a["step_f"]
    steps = pd.DataFrame(
        {
            "part": [r[0] for r in ar.step_ref],
            "step": [r[1] for r in ar.step_ref],
            "desc": [r[2] for r in ar.step_ref],
            "family": [r[3] for r in ar.step_ref],
            "visits_regular": sf[:, L.F_WN_REG].astype(np.int64),
            "wait_regular_mean_min": sf[:, L.F_WSUM_REG] / np.maximum(sf[:, L.F_WN_REG], 1),
            "visits_hot": sf[:, L.F_WN_HOT].astype(np.int64),
            "wait_hot_mean_min": sf[:, L.F_WSUM_HOT] / np.maximum(sf[:, L.F_WN_HOT], 1),
        }
    )
    ns = int(a["st"][L.ST_NSAMPLE])
    wip = pd.DataFrame(
        {"t_days": np.arange(ns) * wip_sample_min / MIN_PER_DAY, "wip_lots": a["wip_out"][:ns]}
    )
    return lot_types, tool_groups, wip, lots, steps


# ---------------------------------------------------------------- replication statistics
#: Two-sided 95 % Student t quantiles t(0.975, df) for df = 1..30 (beyond: 1.96).
_T975 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)


def t975(df: int) -> float:
    """Student t quantile for a 95 % two-sided confidence interval with ``df`` degrees: the
    table up to 30, beyond it the Cornish-Fisher expansion about the normal quantile (error
    below 1e-4 there), so no scipy is needed at run time."""
    if df < 1:
        return math.nan
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959963984540054
    return (
        z
        + (z**3 + z) / (4 * df)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3)
    )


def summarize(frames: list[pd.DataFrame], key: str) -> pd.DataFrame:
    """One row per ``key``: the mean over seeds of every numeric column ``x`` and its 95 %
    confidence half-width ``x_ci95`` (Student t; NaN for one seed)."""
    allf = pd.concat(frames, keys=range(len(frames)), names=["seed_ix", "row"])
    num = [c for c in frames[0].columns if c != key and pd.api.types.is_numeric_dtype(frames[0][c])]
    g = allf.groupby(key, sort=False)
    mean = g[num].mean()
    n = len(frames)
    half = g[num].std(ddof=1) * t975(n - 1) / math.sqrt(n) if n > 1 else mean * np.nan
    out = mean.copy()
    for c in num:
        out[f"{c}_ci95"] = half[c]
    first = frames[0].set_index(key)
    for c in frames[0].columns:
        if c != key and c not in num:
            out[c] = first[c]
    return out.reset_index()
