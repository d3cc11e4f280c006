"""Speed of the fab simulator: 730 simulated days of SMT2020 HVLM, one seed, one core.

Prints, for each of several runs, wall time, CPU time of this process (the machine may be
shared: CPU time is the figure that other processes do not inflate), events processed, events
per second and the process's peak resident memory (ru_maxrss); then the medians. The first
call compiles the numba kernel (or loads it from numba's cache); it is timed separately.

    .venv/bin/python benchmarks/fab_speed.py [--days 730] [--runs 3]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

from fabnet.fab import SimOptions, load_smt2020, simulate

HVLM = Path(__file__).resolve().parents[1] / ".." / "shared" / "smt2020" / "HVLM"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=730.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", type=Path, default=HVLM)
    args = ap.parse_args()
    t = time.perf_counter()
    model = load_smt2020(args.model)
    print(f"load {args.model.resolve().name}: {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    simulate(model, SimOptions(days=1.0), seed=args.seed)
    print(f"compile or cache load + 1 day: {time.perf_counter() - t:.2f} s")
    walls: list[float] = []
    cpus: list[float] = []
    rates: list[float] = []
    for k in range(args.runs):
        c0 = time.process_time()
        res = simulate(model, SimOptions(days=args.days), seed=args.seed)
        cpu = time.process_time() - c0
        walls.append(res.wall_s)
        cpus.append(cpu)
        rates.append(res.events / res.wall_s)
        print(
            f"run {k + 1}: {args.days:g} days, {res.wall_s:.2f} s wall, {cpu:.2f} s CPU, "
            f"{res.events:,} events, {res.events / res.wall_s / 1e6:.2f} M events/s (wall)"
        )
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(
        f"median: {statistics.median(walls):.2f} s wall, {statistics.median(cpus):.2f} s CPU, "
        f"{statistics.median(rates) / 1e6:.2f} M events/s; peak memory {peak_mib:.0f} MiB"
    )


if __name__ == "__main__":
    main()
