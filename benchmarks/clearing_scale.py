"""Solve time of load-dependent lead times (clearing functions) against fixed ones.

Plans a built-in scenario with ``lead_times="fixed"`` and ``"load"`` alternately (so both
see the same machine load), ``--repeats`` times each, in this process, and prints model
size, build and solve seconds (medians) and the ratio of the medians. Target (issue 12):
openai-2024 with ``--lead-times load`` solves in ≤ 2× the time of ``fixed``.

Usage: ``python benchmarks/clearing_scale.py [--scenario openai-2024] [--period year]
[--repeats 3]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from fabnet.plan import PlanOptions, plan
from fabnet.scenario import load_scenario
from fabnet.scenario.schema import Period


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="openai-2024")
    ap.add_argument("--period", default=None, choices=[p.value for p in Period])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    sc = load_scenario(args.scenario)
    period = Period(args.period) if args.period else None
    times: dict[str, dict[str, list[float]]] = {
        k: {"build": [], "solve": [], "total": []} for k in ("fixed", "load")
    }
    info: dict[str, str] = {}
    for _ in range(args.repeats):
        for lt in ("fixed", "load"):
            t0 = time.perf_counter()
            p = plan(sc, PlanOptions(period=period, lead_times=lt))  # type: ignore[arg-type]
            times[lt]["total"].append(time.perf_counter() - t0)
            times[lt]["build"].append(p.timings_s.get("build", float("nan")))
            times[lt]["solve"].append(p.timings_s.get("solve", float("nan")))
            ms = p.model_size
            info[lt] = (
                f"{ms['variables']:,} vars, {ms['constraints']:,} rows, {ms['binaries']} bin; "
                f"{p.status}, {p.objective_usd / 1e9:,.2f} bn USD"
            )
    load1 = os.getloadavg()[0]
    print(f"{args.scenario} ({args.period or 'scenario period'}), {args.repeats} run(s) each, "
          f"load average {load1:.1f}")  # fmt: skip
    med = {k: {m: statistics.median(v) for m, v in d.items()} for k, d in times.items()}
    for lt in ("fixed", "load"):
        m = med[lt]
        runs = ", ".join(f"{s:.1f}" for s in times[lt]["solve"])
        print(
            f"  --lead-times {lt:5s}: build {m['build']:.2f} s, solve {m['solve']:.2f} s "
            f"(runs {runs}), total {m['total']:.2f} s — {info[lt]}"
        )
    ratio = med["load"]["solve"] / med["fixed"]["solve"]
    total = med["load"]["total"] / med["fixed"]["total"]
    print(f"  ratio load / fixed: solve {ratio:.2f}×, build+solve+read {total:.2f}× (target ≤ 2×)")


if __name__ == "__main__":
    main()
