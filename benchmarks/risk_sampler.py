"""Disruption sampler speed: draws per second of the openai-2024 catalogue.

Prints, for yearly and quarterly periods, the wall and CPU time of ``--samples`` draws
(median of ``--repeats`` runs; CPU time is what other processes on a shared machine cannot
inflate), the mean number of occurrences per sample and the stress-case count. Target: 10,000
yearly draws well under 2 s on one core (issue 8).
"""

from __future__ import annotations

import argparse
import statistics
import time

from fabnet.plan.sets import build_data
from fabnet.risk.sampler import Sampler
from fabnet.scenario import load_scenario
from fabnet.scenario.schema import Period


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    scenario = load_scenario("openai-2024")
    for period in (Period.year, Period.quarter):
        data = build_data(scenario, period)
        t0 = time.perf_counter()
        sampler = Sampler(data, scenario)
        compile_s = time.perf_counter() - t0
        walls, cpus = [], []
        occurrences = 0
        for _ in range(args.repeats):
            w, c = time.perf_counter(), time.process_time()
            occurrences = sum(len(sampler.draw(0, i).events) for i in range(args.samples))
            walls.append(time.perf_counter() - w)
            cpus.append(time.process_time() - c)
        print(
            f"{period.value:8s} T={data.n_periods:3d}  compile {compile_s:.3f} s  "
            f"{args.samples} draws: wall {statistics.median(walls):.2f} s, "
            f"cpu {statistics.median(cpus):.2f} s  "
            f"({occurrences / args.samples:.1f} occurrences per sample)  "
            f"stress cases {len(sampler.stress_cases())}"
        )


if __name__ == "__main__":
    main()
