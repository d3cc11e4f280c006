"""Speed of the recourse evaluation on the openai-2024 base plan (a benchmark, not a test).

Solves the plan once (MILP, default options; its first stage is cached in the system's
temporary folder, keyed by the scenario hash), builds :class:`fabnet.risk.recourse.Recourse`
and evaluates ``--samples`` disruptions built here (a random site at 0–50 % of its capacity
for 1–3 periods from a random period). Prints, for each HiGHS setting tried, the median
milliseconds per exact sample and whether the results are bit-identical when the samples
are evaluated in reverse order; then the median per screened sample and the implied wall
time of 10,000 samples on 1 and 2 cores (one recourse build per core plus the samples, from
the median and from the mean, which long solves of early disruptions pull up;
process start and the plan's solve not included).

Usage: ``python benchmarks/risk_recourse.py [--samples 200] [--seed 0] [--modes all]``.
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from fabnet.plan import PlanOptions, build_model, solve_model
from fabnet.risk.effects import Effects
from fabnet.risk.recourse import FirstStage, Outcome, Recourse, RecourseSpec
from fabnet.scenario import load_scenario

#: name → (HiGHS options over the defaults in recourse.HIGHS_OPTIONS, warm start, clear)
MODES: dict[str, tuple[dict[str, Any], bool, bool]] = {
    "warm-dual (default)": ({}, True, True),
    "warm-primal": ({"simplex_strategy": 4}, True, True),
    "warm-dual, no clearSolver": ({}, True, False),
    "cold-dual, presolve on": ({"presolve": "on"}, False, True),
    "cold-dual, presolve off": ({}, False, True),
}


def first_stage(spec_options: PlanOptions) -> tuple[Any, FirstStage, float]:
    """The openai-2024 scenario, its plan's first stage and objective (cached on disk)."""
    sc = load_scenario("openai-2024")
    key = hashlib.sha256(sc.model_dump_json().encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"fabnet-risk-first-stage-{key}.pkl"
    if path.exists():
        fs, obj = pickle.loads(path.read_bytes())
        return sc, fs, obj
    t0 = time.perf_counter()
    pm = solve_model(build_model(sc, spec_options))
    print(f"plan solved in {time.perf_counter() - t0:.1f} s (cached in {path})")
    fs, obj = FirstStage.from_plan_model(pm), float(pm.objective_usd or 0.0)
    path.write_bytes(pickle.dumps((fs, obj)))
    return sc, fs, obj


def effects(rec: Recourse, n: int, seed: int) -> list[Effects]:
    """``n`` samples: a random site at 0–50 % capacity for 1–3 periods from a random period."""
    d = rec.data
    base = Effects.none(
        len(d.site_ids),
        len(d.route_ids),
        len(d.offer_ids),
        len(d.compute_ids),
        len(d.unit_ids),
        d.n_periods,
    )
    rng = np.random.default_rng(seed)
    S, T = base.site_capacity.shape
    out = []
    for _ in range(n):
        s, t0, k = int(rng.integers(S)), int(rng.integers(T)), int(rng.integers(1, 4))
        cap = base.site_capacity.copy()
        cap[s, t0 : t0 + k] = rng.uniform(0.0, 0.5)
        out.append(replace(base, site_capacity=cap, first_period=t0))
    return out


def _same(a: Outcome, b: Outcome) -> bool:
    return a.cost_pv_usd == b.cost_pv_usd and np.array_equal(a.unmet_pflops, b.unmet_pflops)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--modes", default="all", help="'all' or 'default'")
    args = ap.parse_args()
    opts = PlanOptions()
    sc, fs, obj = first_stage(opts)
    t0 = time.perf_counter()
    rec = Recourse(RecourseSpec(sc, opts, fs))
    build_s = time.perf_counter() - t0
    rel = abs(rec.baseline.cost_pv_usd - obj) / abs(obj)
    print(f"recourse built and baseline solved in {build_s:.2f} s; baseline vs plan objective: "
          f"{rec.baseline.cost_pv_usd:.6e} vs {obj:.6e} USD (rel. diff {rel:.1e})")  # fmt: skip
    print(f"HiGHS LP: {rec._h.getNumCol()} columns, {rec._h.getNumRow()} rows")
    effs = effects(rec, args.samples, args.seed)
    modes = MODES if args.modes == "all" else dict(list(MODES.items())[:1])
    default_ms = default_mean_ms = float("nan")
    for name, (extra, warm, clear) in modes.items():
        r = Recourse(RecourseSpec(sc, opts, fs)) if extra else rec
        for k, v in extra.items():
            r._h.setOptionValue(k, v)
        r.warm_start, r.clear_solver = warm, clear
        times, outs = [], []
        for e in effs:
            t = time.perf_counter()
            outs.append(r.evaluate(e))
            times.append(time.perf_counter() - t)
        back = [r.evaluate(e) for e in reversed(effs)][::-1]
        same = all(_same(a, b) for a, b in zip(outs, back, strict=True))
        ms = 1000 * statistics.median(times)
        bad = sum(o.status != "optimal" for o in outs)
        print(f"exact  {name:28s} median {ms:6.2f} ms/sample, mean {1000 * np.mean(times):6.2f}"
              f" ms; reverse order bit-identical: {same}; not optimal: {bad}")  # fmt: skip
        if r is rec and warm and clear:
            default_ms, default_mean_ms = ms, 1000 * float(np.mean(times))
        r.warm_start, r.clear_solver = True, True
    times = []
    for e in effs:
        t = time.perf_counter()
        rec.screen(e)
        times.append(time.perf_counter() - t)
    screen_ms = 1000 * statistics.median(times)
    print(f"screen median {screen_ms:6.3f} ms/sample")
    for cores in (1, 2):
        wall = build_s + 10_000 * default_ms / 1000 / cores
        wall_mean = build_s + 10_000 * default_mean_ms / 1000 / cores
        wall_s = build_s + 10_000 * screen_ms / 1000 / cores
        print(f"10,000 samples on {cores} core(s): exact ≈ {wall:5.1f} s (median; "
              f"{wall_mean:5.1f} s with the mean), screen ≈ {wall_s:5.1f} s "
              "(recourse build + time per sample × samples / cores)")  # fmt: skip


if __name__ == "__main__":
    main()
