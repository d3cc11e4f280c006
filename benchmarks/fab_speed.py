"""Speed of the fab simulator: 730 simulated days of SMT2020 HVLM, one seed, one core.

Interleaves, for each of several runs, (a) the kernel in this process (`simulate`: wall time,
CPU time — the figure other processes on a shared machine do not inflate — events, events per
second) and (b) the whole command ``fabnet fab simulate HVLM --days 730 --processes 1`` in a
child process (wall time, peak resident memory); then the medians. Start-up is the whole
command for one simulated day (imports, loading the model, loading the compiled kernel from
numba's cache). Events are counted twice: all events the kernel handles, and as the compiled
peer of FORMAT.md §8 counts them (70.5 M per 1,460 days), i.e. without the cascading tools'
slot-1 events, which only fabnet's cascading reading schedules. The kernel-speed figure is
the peer's count over the kernel's CPU time: on a shared machine CPU time (process time) is
the figure other processes inflate least, and counting as the peer does keeps events/s
comparable (counting the slot-1 events too would flatter fabnet by 21 %).

    .venv/bin/python benchmarks/fab_speed.py [--days 730] [--runs 3] [--no-cli]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from fabnet.fab import SimOptions, load_smt2020, simulate

HVLM = Path(__file__).resolve().parents[1] / ".." / "shared" / "smt2020" / "HVLM"


def _cli(model: Path, days: float) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak MiB of ``fabnet fab simulate`` in a child process."""
    cmd = [sys.executable, "-m", "fabnet", "fab", "simulate", str(model), "--days", f"{days:g}"]
    cmd += ["--processes", "1"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    t = time.perf_counter()
    pid = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, env=env).pid
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - t
    if status != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({status})")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=730.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", type=Path, default=HVLM)
    ap.add_argument("--no-cli", action="store_true", help="only the kernel in this process")
    args = ap.parse_args()
    t = time.perf_counter()
    model = load_smt2020(args.model)
    print(
        f"load {args.model.resolve().name}: {time.perf_counter() - t:.2f} s; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    t = time.perf_counter()
    simulate(model, SimOptions(days=1.0), seed=args.seed)
    print(f"compile or cache load + 1 day: {time.perf_counter() - t:.2f} s")
    walls: list[float] = []
    cpus: list[float] = []
    rates: list[float] = []
    peer_rates: list[float] = []
    cli_walls: list[float] = []
    cli_cpus: list[float] = []
    starts: list[float] = []
    start_cpus: list[float] = []
    cli_peak = 0.0
    for k in range(args.runs):
        c0 = time.process_time()
        res = simulate(model, SimOptions(days=args.days), seed=args.seed)
        cpu = time.process_time() - c0
        peer = res.events - res.counters["slot1_events"]
        walls.append(res.wall_s)
        cpus.append(cpu)
        rates.append(res.events / cpu)
        peer_rates.append(peer / cpu)
        print(
            f"run {k + 1}: {args.days:g} days, {res.wall_s:.2f} s wall, {cpu:.2f} s CPU, "
            f"{res.events:,} events ({peer:,} as the peer counts), per CPU second "
            f"{peer / cpu / 1e6:.2f} M events as the peer counts ({res.events / cpu / 1e6:.2f} M "
            "all events)"
        )
        if not args.no_cli:
            w, c, peak = _cli(args.model, args.days)
            s, sc, _ = _cli(args.model, 1.0)
            cli_walls.append(w)
            cli_cpus.append(c)
            starts.append(s)
            start_cpus.append(sc)
            cli_peak = max(cli_peak, peak)
            print(
                f"  whole command: {w:.2f} s wall, {c:.2f} s CPU, peak {peak:.0f} MiB; "
                f"start-up (1 day) {s:.2f} s wall, {sc:.2f} s CPU"
            )
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(
        f"median kernel: {statistics.median(walls):.2f} s wall, {statistics.median(cpus):.2f} s "
        f"CPU, {statistics.median(peer_rates) / 1e6:.2f} M events per CPU second as the peer "
        f"counts ({statistics.median(rates) / 1e6:.2f} M all events); "
        f"peak memory {peak_mib:.0f} MiB"
    )
    if cli_walls:
        print(
            f"median whole command: {statistics.median(cli_walls):.2f} s wall, "
            f"{statistics.median(cli_cpus):.2f} s CPU; start-up {statistics.median(starts):.2f} s "
            f"wall, {statistics.median(start_cpus):.2f} s CPU; peak memory {cli_peak:.0f} MiB"
        )
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
