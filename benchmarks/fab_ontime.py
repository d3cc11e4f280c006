"""Where the on-time share of a lot type comes from: the shape of its cycle-time distribution.

The SMT2020 reference gives per lot type only the mean cycle time and the on-time share
(`../shared/smt2020/reference/lots_HVLM.txt`), so the distribution can be compared only
through what those two imply. This prints, per lot type, over the seeds (mean of per-seed
figures; lots released by order.txt and completed in [warm-up, horizon], as the fidelity
protocol counts them):

* the distribution: mean, standard deviation, p10 / p50 / p90, on time; the standard deviation
  a normal distribution with the reference's mean and on-time share would have at the due
  date's allowance ("ref-implied sd");
* on time with every lot's cycle time shifted so the seed's mean equals the reference's
  ("at ref mean"), with the 30-day release-month means removed ("detrended": only the spread
  within a release month is left), and both;
* mean cycle time and on time by release quarter (the trend from the initial WIP);
* on time under other definitions (completion < due instead of <= due; initial-WIP lots
  included);
* what the initial WIP (`WIP.txt`) says about the fab it was taken from: lots per type over the
  release rate (Little's law) and the age (allowance minus due date) of the lots at the last
  five route steps, i.e. about the cycle time of that fab at that moment.

    .venv/bin/python benchmarks/fab_ontime.py [--seeds 0-4] [--days 730] [--warmup 0]
        [--processes 1] [--option NAME=VALUE ...]

See docs/fab-readings.md, "Lot_3 on time".
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd

from _sim_options import with_options
from fabnet.cli.fab import parse_seeds
from fabnet.fab import SimOptions, load_smt2020, simulate_seeds
from fabnet.fab.reference import load_reference

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "smt2020"
DAY = 1440.0


def _norm_ppf(p: float) -> float:
    """Standard normal quantile by bisection on erf (no scipy)."""
    lo, hi = -10.0, 10.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if 0.5 * (1 + math.erf(mid / math.sqrt(2))) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0-4")
    ap.add_argument("--days", type=float, default=730.0)
    ap.add_argument("--warmup", type=float, default=0.0)
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--model", type=Path, default=SHARED / "HVLM")
    ap.add_argument("--reference", type=Path, default=SHARED / "reference")
    ap.add_argument("--option", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument(
        "--released-in-window",
        action="store_true",
        help="count only lots released after the warm-up (FORMAT.md §8's reference protocol "
        "read with the reference's counts: 1-year warm-up, lots released and completed in the "
        "report window)",
    )
    args = ap.parse_args()
    opts = with_options(SimOptions(days=args.days, warmup_days=args.warmup), args.option)
    model = load_smt2020(args.model)
    ref = load_reference(args.reference, args.model.resolve().name).lot_types.set_index("name")
    seeds = parse_seeds(args.seeds)
    multi = simulate_seeds(model, opts, seeds, processes=args.processes)
    streams = [n for n in ref.index if n in {r.name for r in model.releases}]
    allow = {r.name: r.due_offset_min / DAY for r in model.releases}
    lo, hi = args.warmup * DAY, args.days * DAY
    pd.set_option("display.width", 220)

    dist, quarters, defs = [], [], []
    for res in multi.results:
        lots = res.lots
        for name in streams:
            every = lots[(lots["stream"] == name) & (lots["done_min"] >= lo)]
            every = every[every["done_min"] <= hi]
            d = every[~every["initial_wip"]]
            if args.released_in_window:
                d = d[d["release_min"] >= lo]
            ct = ((d["done_min"] - d["release_min"]) / DAY).to_numpy()
            due = allow[name]
            m_ref = float(ref.loc[name, "cycle_time_mean_days"])
            month = ((d["release_min"].to_numpy() - lo) // (30 * DAY)).astype(int)
            det = ct - pd.Series(ct).groupby(month).transform("mean").to_numpy() + ct.mean()
            dist.append(
                {
                    "name": name,
                    "mean": ct.mean(),
                    "sd": ct.std(),
                    "sd_in_month": det.std(),
                    "p10": np.percentile(ct, 10),
                    "p50": np.percentile(ct, 50),
                    "p90": np.percentile(ct, 90),
                    "on_time": 100 * (ct <= due).mean(),
                    "at_ref_mean": 100 * (ct - ct.mean() + m_ref <= due).mean(),
                    "detrended": 100 * (det <= due).mean(),
                    "detrended_at_ref_mean": 100 * (det - ct.mean() + m_ref <= due).mean(),
                }
            )
            q = (d["release_min"].to_numpy() - lo) // (91.25 * DAY)
            for k in np.unique(q):
                sel = q == k
                quarters.append(
                    {
                        "name": name,
                        "quarter": int(k),
                        "ct": ct[sel].mean(),
                        "on_time": 100 * (ct[sel] <= due).mean(),
                    }
                )
            defs.append(
                {
                    "name": name,
                    "done <= due": 100 * (d["done_min"] <= d["due_min"]).mean(),
                    "done < due": 100 * (d["done_min"] < d["due_min"]).mean(),
                    "with initial WIP": 100 * (every["done_min"] <= every["due_min"]).mean(),
                }
            )

    print(
        f"{args.model.name}: {len(seeds)} seeds, {args.days:g} d, warm-up {args.warmup:g} d"
        + (", lots released in the window" if args.released_in_window else "")
    )
    print(f"options: {' '.join(args.option) or '(defaults)'}\n")
    t = pd.DataFrame(dist).groupby("name", sort=False).mean()
    t.insert(0, "ref_mean", ref.loc[t.index, "cycle_time_mean_days"])
    t.insert(1, "ref_on_time", ref.loc[t.index, "on_time_pct"])
    t.insert(2, "allowance", [allow[n] for n in t.index])
    t.insert(
        3,
        "ref_implied_sd",
        [
            (allow[n] - ref.loc[n, "cycle_time_mean_days"])
            / _norm_ppf(ref.loc[n, "on_time_pct"] / 100)
            for n in t.index
        ],
    )
    print("Cycle-time distribution (days) and on time (%), mean over seeds")
    print(t.round(2).to_string())
    qt = pd.DataFrame(quarters).groupby(["name", "quarter"], sort=False).mean()
    print("\nBy release quarter: mean cycle time (days)")
    print(qt["ct"].unstack().round(2).to_string())
    print("\nBy release quarter: on time (%)")
    print(qt["on_time"].unstack().round(1).to_string())
    print("\nOn time (%) under other definitions")
    print(pd.DataFrame(defs).groupby("name", sort=False).mean().round(2).to_string())

    print("\nInitial WIP (WIP.txt): what it says about the fab it was taken from")
    for name in streams:
        rs = next(r for r in model.releases if r.name == name)
        w = [x for x in model.wip if x.stream == name]
        if not w:
            continue
        rate = 1440.0 / rs.interval.mean * max(rs.lots_per_release, 1)
        last = len(model.routes[model.product(rs.part).route].steps)
        ages = [allow[name] - x.due_min / DAY for x in w if x.cur_step > last - 5]
        at_end = (
            f"age of the {len(ages)} lots at the last 5 steps {np.mean(ages):.2f} d; "
            if ages
            else ""
        )
        print(
            f"  {name}: {len(w)} lots / {rate:.2f} per day = {len(w) / rate:.2f} d (Little); "
            f"{at_end}reference mean {ref.loc[name, 'cycle_time_mean_days']:.2f} d"
        )


if __name__ == "__main__":
    main()
