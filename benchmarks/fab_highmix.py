"""A high-mix test fab dispatched by the critical ratio: the ratio formed at each dispatching
decision (FORMAT.md §8.1, the default) against the first pass's ratio frozen at queue arrival.

The fab is generated (``fabnet.fab.generate.generate_fab``: 10 products, every family ranked
``rank_HP;rank_RSETUP;rank_CR``); there is no published reference for it, so the table shows
the two readings side by side (mean over the seeds): per product the mean cycle time and the
on-time share, and the tool-family utilisations' mean absolute difference between the two.

    .venv/bin/python benchmarks/fab_highmix.py [--seeds 0-1] [--days 365] [--products 10]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from fabnet.cli.fab import parse_seeds
from fabnet.fab import SimOptions, load_smt2020, simulate_seeds
from fabnet.fab.generate import generate_fab, write_smt2020


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0-1")
    ap.add_argument("--days", type=float, default=365.0)
    ap.add_argument("--products", type=int, default=10)
    ap.add_argument("--tool-groups", type=int, default=30)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--load", type=float, default=0.9)
    ap.add_argument("--due-factor", type=float, default=1.6, help="due date = factor × RPT")
    ap.add_argument("--processes", type=int, default=None)
    args = ap.parse_args()
    fab = generate_fab(
        args.tool_groups,
        args.steps,
        args.products,
        seed=0,
        bottleneck_load=args.load,
        due_factor=args.due_factor,
        final_rank="rank_CR",
    )
    seeds = parse_seeds(args.seeds)
    with tempfile.TemporaryDirectory() as tmp:
        model = load_smt2020(write_smt2020(fab, Path(tmp) / "highmix"))
    out = {}
    tools = {}
    for name, frozen in (("at selection", False), ("at arrival", True)):
        t = time.perf_counter()
        opts = SimOptions(days=args.days, cr_at_arrival=frozen)
        multi = simulate_seeds(model, opts, seeds, processes=args.processes)
        print(f"CR {name}: {time.perf_counter() - t:.0f} s wall")
        lt = multi.lot_types.set_index("name")
        out[name] = lt[["cycle_time_mean_days", "x_factor", "on_time_pct"]]
        tools[name] = multi.tool_groups.set_index("name")["utilization_pct"]
    table = pd.concat(out, axis=1)
    pd.set_option("display.width", 200)
    print(
        f"\nHigh-mix fab: {args.products} products, {args.tool_groups} families, "
        f"{len(seeds)} seeds, {args.days:g} days, bottleneck load {args.load}, "
        f"due = {args.due_factor} × raw process time (hot lots 1.5 ×)"
    )
    print(table.round(2).to_string())
    gap = (tools["at selection"] - tools["at arrival"]).abs()
    print(f"\ntool-family utilisation, mean |difference| {gap.mean():.2f} pt (max {gap.max():.2f})")


if __name__ == "__main__":
    main()
