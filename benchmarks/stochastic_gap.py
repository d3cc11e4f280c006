"""In-sample vs out-of-sample gap of the stochastic plan's objective (issue 9; a benchmark,
not a test).

For each sampling (``mc``, ``importance``, ``stratified``; docs/stochastic.md), each N and
each of ``--seeds`` independent scenario sets (seeds 1, 2, …) on openai-2024, risk neutral:

* solves the two-stage plan on N in-sample scenarios (``--relax``: the LP relaxation) and
  takes its in-sample objective RP;
* evaluates its first stage with the risk engine's recourse (anticipative flows, like the
  two-stage model; ``fabnet.risk.recourse.evaluate_batch``) on ``--oos`` fresh plain Monte
  Carlo samples, the same for every plan (seed ``OOS_SEED``: common random numbers, so the
  plans differ by their first stage, not by their test samples);
* prints RP, the out-of-sample expected cost, its standard error and the gap
  ``(OOS − RP) / OOS`` per set, one JSON line each, then a table: per sampling and N, the
  gaps of the sets, their largest absolute value and whether all are ≤ 2 %.

The machine is shared: the load average is printed with every line.

Usage: ``python benchmarks/stochastic_gap.py --relax --ns 10,25,50,100 --seeds 5 --oos 2000
[--samplings mc,stratified]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

#: Seed of the shared out-of-sample draws (a stream no in-sample set uses).
OOS_SEED = 9_000_011


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--ns", default="10,25,50,100", help="comma-separated N")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--oos", type=int, default=2000, help="fresh samples per plan")
    ap.add_argument("--samplings", default="mc,stratified")
    ap.add_argument("--relax", action="store_true", help="LP relaxation of the first stage")
    ap.add_argument("--gap", type=float, default=0.01, help="MIP gap (without --relax)")
    ap.add_argument("--time-limit", type=float, default=None)
    ap.add_argument("--pilot", type=int, default=200, help="pilot samples (stratified)")
    ap.add_argument("--scenario", default="openai-2024")
    a = ap.parse_args()

    from fabnet.plan import PlanOptions, build_model, solve_model
    from fabnet.risk.recourse import FirstStage, RecourseSpec, evaluate_batch
    from fabnet.risk.sampler import catalogue_sampler
    from fabnet.risk.stats import var_cvar
    from fabnet.risk.stochastic import (
        StochasticOptions,
        _data,
        _reset_threads,
        in_sample_scenarios,
        solve_extensive,
    )
    from fabnet.scenario import load_scenario

    t_all = time.perf_counter()
    sc = load_scenario(a.scenario)
    opts = PlanOptions(relax=a.relax, mip_gap=a.gap, time_limit_s=a.time_limit)
    print(f"load average before: {os.getloadavg()}", flush=True)
    det = FirstStage.from_plan_model(solve_model(build_model(sc, opts)))
    sampler = catalogue_sampler(_data(sc, opts), sc)
    fresh = [sampler.draw(OOS_SEED, i) for i in range(a.oos)]

    def oos(fs: FirstStage) -> tuple[float, float, float]:
        """Mean, standard error and CVaR95 of the cost of ``fs`` on the fresh samples."""
        _reset_threads()
        c = evaluate_batch(RecourseSpec(sc, opts, fs), fresh, "exact", anticipative_flows=True)
        x = c.cost_pv_usd
        return float(x.mean()), float(x.std(ddof=1) / np.sqrt(x.size)), var_cvar(x, 0.95)[1]

    t = time.perf_counter()
    m, se, cv = oos(det)
    print(json.dumps({"plan": "deterministic", "oos_usd": m, "oos_se_usd": se,
                      "oos_cvar95_usd": cv, "oos_samples": a.oos,
                      "eval_s": round(time.perf_counter() - t, 1),
                      "load": os.getloadavg()[0]}), flush=True)  # fmt: skip
    rows: list[dict[str, object]] = []
    for n in [int(x) for x in a.ns.split(",")]:
        for sampling in a.samplings.split(","):
            for seed in range(1, a.seeds + 1):
                t0 = time.perf_counter()
                sto = StochasticOptions(scenarios=n, seed=seed, sampling=sampling,
                                        pilot_samples=a.pilot)  # fmt: skip
                ss = in_sample_scenarios(sc, opts, sto, sampler, det)
                t1 = time.perf_counter()
                rp = solve_extensive(sc, opts, ss.effects, ss.probabilities, start=det)
                t2 = time.perf_counter()
                m, se, _ = oos(rp.first_stage)
                rpv = rp.risk_objective_usd()
                row = {
                    "sampling": sampling, "n": n, "seed": seed, "status": rp.status,
                    "rp_usd": rpv, "oos_usd": m, "oos_se_usd": se,
                    "gap_pct": 100.0 * (m - rpv) / m, "ess": round(ss.effective_size, 1),
                    "sample_s": round(t1 - t0, 1), "solve_s": round(t2 - t1, 1),
                    "eval_s": round(time.perf_counter() - t2, 1), "load": os.getloadavg()[0],
                }  # fmt: skip
                rows.append(row)
                print(json.dumps(row), flush=True)
    print(f"\nout of sample: {a.oos} fresh plain Monte Carlo samples (seed {OOS_SEED}), "
          f"shared by every plan; {'LP relaxation' if a.relax else f'MILP gap {a.gap}'}")  # fmt: skip
    print(f"{'sampling':>11} {'N':>4}  gap % per set{'':26} max|gap|  ≤2 %")
    for n in [int(x) for x in a.ns.split(",")]:
        for sampling in a.samplings.split(","):
            g = [float(r["gap_pct"]) for r in rows if r["n"] == n and r["sampling"] == sampling]  # type: ignore[arg-type]
            if g:
                gs = " ".join(f"{x:+6.1f}" for x in g)
                mx = max(abs(x) for x in g)
                print(f"{sampling:>11} {n:>4}  {gs:<40} {mx:7.1f}  {'yes' if mx <= 2 else 'no'}")
    print(f"total {time.perf_counter() - t_all:.0f} s; load average after: {os.getloadavg()}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
