"""Fidelity of the fab simulator against the published SMT2020 HVLM reference KPIs.

Protocol (the reference's, see docs/fab-readings.md): 730 simulated days from the initial WIP,
no warm-up; lot KPIs over lots released by order.txt and completed within the 730 days (initial
WIP lots excluded); tool-family shares over the whole 730 days; each family's own dispatching
rule from the data; several seeds in parallel processes (mean and 95 % CI half-width).

Targets (issue 10): every lot type's mean cycle time within ±2 % of the reference, lots
completed within ±1 %, on time within 3 points; tool families as close as before (issue 4:
every litho family's utilisation within ±3 points).

    .venv/bin/python benchmarks/fab_fidelity.py [--seeds 0-4] [--days 730] [--processes 2]
        [--option rule_reading=fwlrank --option cr_at_arrival=true ...]

``--option NAME=VALUE`` sets a ``SimOptions`` field (booleans true/false), to measure a reading.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from _sim_options import with_options
from fabnet.cli.fab import parse_seeds
from fabnet.fab import SimOptions, load_smt2020, simulate_seeds
from fabnet.fab.reference import compare_tables, load_reference

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "smt2020"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0-4")
    ap.add_argument("--days", type=float, default=730.0)
    ap.add_argument("--processes", type=int, default=None)
    ap.add_argument("--model", type=Path, default=SHARED / "HVLM")
    ap.add_argument("--reference", type=Path, default=SHARED / "reference")
    ap.add_argument("--option", action="append", default=[], metavar="NAME=VALUE")
    args = ap.parse_args()
    opts = with_options(SimOptions(days=args.days), args.option)
    model = load_smt2020(args.model)
    ref = load_reference(args.reference, args.model.resolve().name)
    seeds = parse_seeds(args.seeds)
    t = time.perf_counter()
    multi = simulate_seeds(model, opts, seeds, processes=args.processes)
    wall = time.perf_counter() - t
    pd.set_option("display.width", 200)
    pd.set_option("display.max_rows", 200)
    lots = compare_tables(
        multi.lot_types,
        ref.lot_types,
        ["completed", "cycle_time_mean_days", "on_time_pct"],
        {"completed", "cycle_time_mean_days"},
    )
    ci = multi.lot_types.set_index("name")
    lots["ct_ci95"] = lots["name"].map(ci["cycle_time_mean_days_ci95"])
    lots["on_time_ci95"] = lots["name"].map(ci["on_time_pct_ci95"])
    print(f"HVLM fidelity: {len(seeds)} seeds, {args.days:g} days, {wall:.0f} s wall")
    print(f"options: {' '.join(args.option) or '(defaults)'}\n")
    print("Lot types (diff: percent for completed and cycle time, points for on-time)")
    print(lots.round(2).to_string(index=False))
    tools = compare_tables(
        multi.tool_groups,
        ref.tool_groups,
        ["availability_pct", "utilization_pct", "down_pct", "pm_pct", "setup_pct"],
        set(),
    )
    print("\nTool families (percent; diff in points)")
    print(tools.round(2).to_string(index=False))
    d = tools["utilization_pct_diff"].abs()
    litho = tools[tools["name"].str.startswith("Litho")]
    print("\nSummary against the targets")
    for _, r in lots.iterrows():
        ok = (
            abs(r["cycle_time_mean_days_diff"]) <= 2.0
            and abs(r["completed_diff"]) <= 1.0
            and abs(r["on_time_pct_diff"]) <= 3.0
        )
        print(
            f"  {r['name']}: cycle time {r['cycle_time_mean_days']:.2f} d vs "
            f"{r['cycle_time_mean_days_ref']:.2f} ({r['cycle_time_mean_days_diff']:+.1f} %), "
            f"completed {r['completed_diff']:+.2f} %, on time {r['on_time_pct']:.1f} % vs "
            f"{r['on_time_pct_ref']:.1f} ({r['on_time_pct_diff']:+.1f} pt) "
            f"{'meets' if ok else 'MISSES'} the targets"
        )
    print(
        f"  litho families within ±3 pt utilisation: "
        f"{int((litho['utilization_pct_diff'].abs() <= 3).sum())}/{len(litho)} "
        f"(max |diff| {litho['utilization_pct_diff'].abs().max():.2f} pt)"
    )
    print(
        f"  all families within ±3 pt: {int((d <= 3).sum())}/{len(d)}; "
        f"mean |diff| {d.mean():.2f} pt"
    )


if __name__ == "__main__":
    main()
