"""Monte Carlo scale of `fabnet risk` on the openai-2024 base plan (a benchmark, not a test).

Plans openai-2024 once (default options, the MILP; its first stage is reused by every run),
then runs :func:`fabnet.risk.run_risk` with the exact recourse LP:

* ``--samples N`` (default 10,000) on ``--workers 2`` (a local Dask cluster started and
  closed inside the timed call: worker start, model build per worker, sampling, summary);
* the same on 1 worker (in process), for the parallel efficiency
  ``t(1) / (2 · t(2))``;
* the results of both are compared bit for bit (they must be identical).

Each figure is the median of ``--repeats`` runs; the peak resident memory of the busiest
worker is read from the workers themselves. The machine is shared: its load average is
printed beside the figures.

Usage: ``python benchmarks/risk_scale.py [--samples 10000] [--repeats 3] [--workers 2]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import pandas as pd

from fabnet.plan import PlanOptions, build_model, solve_model
from fabnet.risk import FirstStage, RecourseSpec, RiskOptions, RiskResult, run_risk
from fabnet.scenario import load_scenario


def _timed(spec: RecourseSpec, opts: RiskOptions) -> tuple[float, RiskResult]:
    t0 = time.perf_counter()
    res = run_risk(spec, opts)
    return time.perf_counter() - t0, res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--serial", action="store_true", help="also time 1 worker (efficiency)")
    args = ap.parse_args()

    sc = load_scenario("openai-2024")
    t0 = time.perf_counter()
    pm = solve_model(build_model(sc, PlanOptions()))
    print(f"plan solved in {time.perf_counter() - t0:.1f} s (not in the figures below)")
    spec = RecourseSpec(sc, PlanOptions(), FirstStage.from_plan_model(pm))

    par: list[float] = []
    res_par: RiskResult | None = None
    for _ in range(args.repeats):
        wall, res_par = _timed(spec, RiskOptions(samples=args.samples, workers=args.workers))
        par.append(wall)
        print(
            f"  {args.samples:,} samples, {args.workers} workers: {wall:.1f} s "
            f"(load {os.getloadavg()[0]:.1f}; worker peak "
            f"{res_par.summary['worker_peak_rss_mib']:.0f} MiB)"
        )
    assert res_par is not None
    print(
        f"{args.samples:,} samples on {args.workers} workers: median {statistics.median(par):.1f} s"
        f" wall incl. worker start; {args.samples / statistics.median(par):,.0f} samples/s; "
        f"worker peak {res_par.summary['worker_peak_rss_mib']:.0f} MiB"
    )
    if args.serial:
        ser: list[float] = []
        res_ser: RiskResult | None = None
        for _ in range(args.repeats):
            wall, res_ser = _timed(spec, RiskOptions(samples=args.samples, workers=1))
            ser.append(wall)
            print(f"  {args.samples:,} samples, 1 worker: {wall:.1f} s")
        assert res_ser is not None
        same = res_ser.tables["samples"].equals(res_par.tables["samples"])
        eff = statistics.median(ser) / (args.workers * statistics.median(par))
        print(
            f"1 worker: median {statistics.median(ser):.1f} s; parallel efficiency at "
            f"{args.workers} workers {100 * eff:.0f} %; results identical: {same}"
        )
    s = res_par.summary
    print(
        pd.Series(
            {
                "expected cost (PV, bn USD)": s["expected_cost_usd"] / 1e9,
                "CVaR95 cost (bn USD)": s["cvar95_cost_usd"] / 1e9,
                "expected unmet (PFLOP/s)": s["expected_unmet_pflops"],
                "CVaR95 unmet (PFLOP/s)": s["cvar95_unmet_pflops"],
                "P(service >= 95 %)": s["p_service_95"],
            }
        ).to_string()
    )


if __name__ == "__main__":
    main()
