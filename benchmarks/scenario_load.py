"""Time to load (parse and validate) large scenario files: 1, 2 and 5 MB by default.

Builds a scenario from the built-in ``toy`` with many extra sites and offers (each with a
ten-year series) until the YAML text reaches the size asked for, writes it to a temporary
file, and times ``load_scenario(path)`` in a fresh process per size (so the peak memory,
``ru_maxrss``, is that one load's). Prints the median wall time of the repeats, seconds per
MB, the CPU time (the machine is shared: CPU time is the steadier figure) and the peak
memory. Loading should be linear in the file size (issue 11: 5 MB ≤ 5 s).

    .venv/bin/python benchmarks/scenario_load.py [--sizes 1,2,5] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from fabnet.scenario.io import builtin_text

_YEARS = range(2025, 2035)


def _site(i: int) -> str:
    series = ", ".join(f"{y}: {100 + (i * 7 + y) % 900}" for y in _YEARS)
    return (
        f"  - id: bench-site-{i}\n"
        f"    owner: fabco\n"
        f"    country: TW\n"
        f"    region: Region {i % 50}\n"
        f"    processes: [n3]\n"
        f"    capacity_wspm: {{{series}}}\n"
    )


def _offer(i: int) -> str:
    series = ", ".join(f"{y}: {25000 + (i * 13 + y) % 5000}" for y in _YEARS)
    return (
        f"  - id: bench-gpu-{i}\n"
        f"    vendor: gpuco\n"
        f"    price_usd: {{{series}}}\n"
        f"    pflops_bf16: 1.0\n"
        f"    power_w: 700\n"
    )


def synthetic_text(target_bytes: int) -> str:
    """The toy scenario with extra sites and offers, about ``target_bytes`` long."""
    base = builtin_text("toy")
    head, _, rest = base.partition("sites:\n")
    sites_part, _, tail = rest.partition("products:\n")
    offers_head, _, offers_rest = tail.partition("offers:\n")
    one = len(_site(0)) + len(_offer(0))
    n = max(1, (target_bytes - len(base)) // one)
    sites = "".join(_site(i) for i in range(n))
    offers = "".join(_offer(i) for i in range(n))
    return (
        f"{head}sites:\n{sites_part}{sites}products:\n{offers_head}offers:\n{offers}{offers_rest}"
    )


_CHILD = """
import json, resource, sys, time
from fabnet.scenario import load_scenario
t0, c0 = time.perf_counter(), time.process_time()
s = load_scenario(sys.argv[1])
dt, cpu = time.perf_counter() - t0, time.process_time() - c0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"s": dt, "cpu": cpu, "rss": rss, "sites": len(s.sites), "offers": len(s.offers)}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,2,5", help="File sizes in MB, comma-separated.")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    print(
        f"{'size':>8} {'sites':>7} {'offers':>7} {'load s':>8} {'cpu s':>7} {'s/MB':>6} "
        f"{'peak MiB':>9}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for mb in (float(x) for x in args.sizes.split(",")):
            path = Path(tmp) / f"bench-{mb:g}mb.yaml"
            path.write_text(synthetic_text(int(mb * 1e6)), "utf-8")
            size = path.stat().st_size
            runs = []
            for _ in range(args.repeats):
                done = subprocess.run(
                    [sys.executable, "-c", _CHILD, str(path)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                runs.append(json.loads(done.stdout))
            wall = statistics.median(r["s"] for r in runs)
            cpu = statistics.median(r["cpu"] for r in runs)
            peak = max(r["rss"] for r in runs) / 2**20
            print(
                f"{size / 1e6:>6.2f}MB {runs[0]['sites']:>7} {runs[0]['offers']:>7} "
                f"{wall:>8.2f} {cpu:>7.2f} {wall / (size / 1e6):>6.2f} {peak:>9.0f}"
            )


if __name__ == "__main__":
    main()
