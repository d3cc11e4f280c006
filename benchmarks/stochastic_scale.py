"""Scale of the two-stage stochastic planner on openai-2024 (a benchmark, not a test).

Two runs, each in a fresh child process so that its peak resident memory is its own:

* ``--stochastic 50`` (the MILP) to a 1 % relative gap: issue target ≤ 5 min, ≤ 8 GiB;
* ``--stochastic 200 --relax`` (the LP): issue target ≤ 10 min.

Each reports the extensive form's size, the build and solve times of the stochastic problem
(RP) alone, the EEV solve, and the peak RSS. The wait-and-see solves (EVPI) and the
out-of-sample check are left out (``--ws`` adds the wait-and-see solves on ``--workers``).
The machine is shared: its load average is printed beside the figures.

``--oos-study N``: the in-sample / out-of-sample gap instead: ``--seeds`` independent
scenario sets of N scenarios (seeds 1, 2, …), each plan evaluated on ``--oos`` fresh samples
by the risk engine in anticipative mode (like for like with the in-sample objective);
prints RP, the out-of-sample expected cost and the gap per seed. ``--sampling`` (default
``mc``, as the recorded figures); ``benchmarks/stochastic_gap.py`` compares the samplings.

Usage: ``python benchmarks/stochastic_scale.py [--n 50] [--n-relax 200] [--only mip|lp]``,
``python benchmarks/stochastic_scale.py --oos-study 10 --seeds 5 --oos 500``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time


def _one(
    n: int,
    relax: bool,
    gap: float,
    ws: bool,
    workers: int | None,
    limit: float | None,
    sampling: str = "mc",
) -> dict[str, object]:
    from fabnet.plan import PlanOptions
    from fabnet.risk.stochastic import StochasticOptions, stochastic_plan
    from fabnet.scenario import load_scenario

    sc = load_scenario("openai-2024")
    t0 = time.perf_counter()
    res = stochastic_plan(
        sc,
        PlanOptions(relax=relax, mip_gap=gap, time_limit_s=limit),
        StochasticOptions(scenarios=n, seed=1, wait_and_see=ws, oos_samples=0, sampling=sampling),
        workers=workers,
        progress=lambda m: print(f"{time.perf_counter() - t0:7.1f} s  {m}", file=sys.stderr),
    )
    wall = time.perf_counter() - t0
    s = res.summary()
    return {
        "scenarios": n,
        "relax": relax,
        "status": s["status"],
        "mip_gap": s["mip_gap"],
        "size": s["size"],
        "rp_build_s": round(res.rp.build_s, 2),
        "rp_solve_s": round(res.rp.solve_s, 2),
        "timings_s": {k: round(v, 2) for k, v in res.timings_s.items()},
        "wall_s": round(wall, 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0),
        "rp_usd": s["rp_usd"],
        "eev_usd": s["eev_usd"],
        "vss_usd": s["vss_usd"],
        "evpi_usd": s["evpi_usd"],
        "builds": s["first_stage"]["builds"],
        "load_avg_1min": os.getloadavg()[0],
    }


def _oos_study(n: int, seeds: int, oos: int, gap: float, relax: bool, sampling: str) -> None:
    from fabnet.plan import PlanOptions
    from fabnet.risk.stochastic import StochasticOptions, stochastic_plan
    from fabnet.scenario import load_scenario

    sc = load_scenario("openai-2024")
    print(f"load average before: {os.getloadavg()}", flush=True)
    for seed in range(1, seeds + 1):
        t0 = time.perf_counter()
        res = stochastic_plan(
            sc,
            PlanOptions(mip_gap=gap, relax=relax),
            StochasticOptions(
                scenarios=n, seed=seed, wait_and_see=False, oos_samples=oos, sampling=sampling
            ),
            workers=1,
        )
        s = res.summary()
        o = s["out_of_sample"]["stochastic"]
        rp, ant = s["rp_usd"], o["anticipative_expected_cost_usd"]
        print(json.dumps({
            "seed": seed, "scenarios": n, "relax": relax, "rp_usd": rp, "oos_anticipative_usd": ant,
            "oos_recourse_usd": o["recourse_expected_cost_usd"],
            "gap_pct": 100 * (ant - rp) / ant, "mip_gap": s["mip_gap"],
            "wall_s": round(time.perf_counter() - t0, 1), "load": os.getloadavg()[0],
        }), flush=True)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=50, help="scenarios of the MILP run")
    ap.add_argument("--n-relax", type=int, default=200, help="scenarios of the LP run")
    ap.add_argument("--gap", type=float, default=0.01)
    ap.add_argument("--only", choices=["mip", "lp"], default=None)
    ap.add_argument("--ws", action="store_true", help="also the wait-and-see solves")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--time-limit", type=float, default=None, help="solver limit, seconds")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--oos-study", type=int, default=0, metavar="N")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--oos", type=int, default=500)
    ap.add_argument("--relax", action="store_true", help="--oos-study on the LP relaxation")
    ap.add_argument(
        "--sampling", default="mc", help="mc (the measured figures), importance, stratified"
    )
    a = ap.parse_args()
    if a.oos_study:
        _oos_study(a.oos_study, a.seeds, a.oos, a.gap, a.relax, a.sampling)
        return
    if a.child:
        n, relax = a.child.split(",")
        print(json.dumps(_one(int(n), relax == "1", a.gap, a.ws, a.workers, a.time_limit,
                              a.sampling)))  # fmt: skip
        return
    runs = [("mip", a.n, "0"), ("lp", a.n_relax, "1")]
    for name, n, relax in runs:
        if a.only and a.only != name:
            continue
        print(f"load average before: {os.getloadavg()}", flush=True)
        cmd = [sys.executable, __file__, "--child", f"{n},{relax}", "--gap", str(a.gap),
               "--sampling", a.sampling]  # fmt: skip
        if a.ws:
            cmd.append("--ws")
        if a.workers:
            cmd += ["--workers", str(a.workers)]
        if a.time_limit:
            cmd += ["--time-limit", str(a.time_limit)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        print(proc.stderr[-3000:], flush=True)
        if proc.returncode != 0:
            continue
        print(json.dumps(json.loads(proc.stdout.strip().splitlines()[-1]), indent=1), flush=True)


if __name__ == "__main__":
    main()
