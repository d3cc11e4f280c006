"""Key performance indicators of a run: per lot type, per tool family, WIP, raw process time.

Definitions (FORMAT.md §5.7 and §8, docs/fab-readings.md):

* cycle time = completion − release, days; x-factor = mean cycle time / raw process time (RPT);
  on-time = share of lots completed by their due date, percent.
* RPT of a product = expected empty-fab cycle time: Σ over steps of sampling share × (load +
  mean processing time of a lone lot + unload) + transport means + expected rework loops.
* tool-family shares are of calendar time in the statistics window [warm-up, horizon]:
  down, PM, setup; availability = 100 − down − PM; utilisation = (busy time not spent down) /
  available time, where busy = setup + load + process + unload, the two lots of a cascading tool
  counted once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fabnet.fab.model import FabModel, Route, Step

MIN_PER_DAY = 1440.0


def lone_lot_time_coeffs_min(
    step: Step, load_min: float, unload_min: float, cascading: bool
) -> tuple[float, float]:
    """Mean time of one lot alone at ``step`` as ``(fixed, per_wafer)`` minutes, so that a lot
    of n wafers takes fixed + n·per_wafer incl. load and unload (FORMAT.md §2.2.1, §8.1):
    processing n·p̄ (``per_piece``), p̄ + (n − 1)·c (``per_piece`` on a cascading tool with
    part interval c), p̄ (``per_lot``, ``per_batch``)."""
    p = step.ptime.mean
    fixed = load_min + unload_min
    if step.per == "piece":
        if cascading and step.part_interval_min is not None:
            return fixed + p - step.part_interval_min, step.part_interval_min
        return fixed, p
    return fixed + p, 0.0


def lone_lot_time_min(
    step: Step, load_min: float, unload_min: float, pieces: int, cascading: bool
) -> float:
    """Mean time of one lot of ``pieces`` wafers alone at ``step`` incl. load and unload,
    minutes (§2.2.1)."""
    fixed, per_wafer = lone_lot_time_coeffs_min(step, load_min, unload_min, cascading)
    return fixed + pieces * per_wafer


def step_times_min(model: FabModel, route: Route, pieces: int) -> np.ndarray:
    """Mean lone-lot time of every step of ``route`` (no sampling, no transport), minutes."""
    fams = {f.name: f for f in model.families}
    out = np.zeros(len(route.steps))
    for k, s in enumerate(route.steps):
        f = fams[s.family]
        out[k] = lone_lot_time_min(s, f.load_min, f.unload_min, pieces, f.cascading)
    return out


def transport_mean_min(model: FabModel, from_loc: str, to_loc: str) -> float:
    """Mean transport time between two locations (0 if ``fromto.txt`` has no row)."""
    for tr in model.transports:
        if tr.from_loc == from_loc and tr.to_loc == to_loc:
            return tr.time.mean
    return 0.0


def raw_process_time_days(model: FabModel) -> dict[str, float]:
    """Raw process time per product (part name), days: sampling-weighted step times, plus
    transport between consecutive steps, plus expected rework loops (FORMAT.md §8)."""
    fams = {f.name: f for f in model.families}
    out: dict[str, float] = {}
    for prod in model.products:
        route = model.routes.get(prod.route)
        if route is None:
            continue
        pieces = next((r.pieces for r in model.releases if r.part == prod.name), 25)
        times = step_times_min(model, route, pieces)
        share = np.array([s.sample_pct / 100.0 for s in route.steps])
        trans = np.zeros(len(route.steps))
        for k in range(1, len(route.steps)):
            a = fams[route.steps[k - 1].family].location
            b = fams[route.steps[k].family].location
            trans[k] = transport_mean_min(model, a, b)
        per_step = share * (times + trans)
        total = float(per_step.sum())
        for k, s in enumerate(route.steps):
            if s.rework_pct > 0 and s.rework_step is not None:
                r = s.rework_pct / 100.0
                loop = float(per_step[s.rework_step - 1 : k + 1].sum())
                total += share[k] * r / (1.0 - r) * loop
        out[prod.name] = total / MIN_PER_DAY
    return out


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
