"""Closed loop on SMT2020 HVLM: plans made with fixed and with load-dependent lead times,
their wafer starts at one busy site released into the simulated fab, realised throughput and
cycle time beside what each plan assumed.

1. ``fabnet plan openai-2024 --lead-times fixed`` and ``--lead-times load`` (stored).
2. The site: the logic site with the most periods at a load in [0.9, 1) in *both* plans
   (a load of 1 is the clearing function's capacity cap, where a real fab has no steady
   state), and the first ``--periods`` consecutive such periods common to both.
3. ``fabnet fab check-plan RUN --site SITE HVLM --capacity bottleneck`` for each plan:
   capacity = the release rate that loads HVLM's busiest tool family to 100 %, the reading of
   load in the scenario's HVLM curve (load = bottleneck utilisation; openai-2024.yaml).
4. Mean gaps (realised − planned, % of planned) of throughput and cycle time.

Targets (issue 12 §3): with ``--lead-times load`` throughput within ±5 % and cycle time
within ±10 %; with ``--lead-times fixed`` the gap is shown (expected: realised cycle time
well above the fixed assumption).

    .venv/bin/python benchmarks/closed_loop.py [--periods 4] [--seeds 0-1] [--store PATH]
        [--site tsmc-taichung-a14 --capacity nominal]   # a site both plans run at 100 %
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from fabnet.store import Store

HVLM = Path(__file__).resolve().parents[1] / ".." / "shared" / "smt2020" / "HVLM"


def _fabnet(*args: str) -> dict[str, Any]:
    """Run ``python -m fabnet ARGS --json`` and return its JSON object."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-m", "fabnet", *args, "--json"]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{res.stderr}")
    obj: dict[str, Any] = json.loads(res.stdout)
    return obj


def _busy_periods(store: Path, run_id: str, below_one: bool) -> pd.DataFrame:
    """Logic sites' periods at a load ≥ 0.9 (and < 1 if ``below_one``) of a stored plan
    (load = starts / capacity)."""
    rec = Store(store, create=False).load_run(run_id)
    u = rec.table("utilisation")
    s = rec.table("supply")
    starts = s[s["site"].astype(str) != ""].groupby(["site", "period"])["wafers"].sum()
    u = u[(u["site_kind"] == "logic") & (u["capacity_wafers"] > 0)].copy()
    u["load"] = [
        starts.get((site, p), 0.0) / c
        for site, p, c in zip(u["site"], u["period"], u["capacity_wafers"], strict=True)
    ]
    u["period"] = u["period"].astype(str)
    keep = (u["load"] >= 0.9) & ((u["load"] < 0.999) | (not below_one))
    return u[keep][["site", "period", "load"]]


def _pick(
    store: Path, fixed_id: str, load_id: str, n: int, site: str | None
) -> tuple[str, list[str]]:
    a = _busy_periods(store, fixed_id, site is None)
    b = _busy_periods(store, load_id, site is None)
    both = a.merge(b, on=["site", "period"], suffixes=("_fixed", "_load"))
    if site is not None:
        both = both[both["site"] == site]
    if both.empty:
        raise SystemExit("no logic site runs at ≥ 90 % load in both plans")
    if site is None:
        site = str(both.groupby("site").size().idxmax())
    periods = sorted(both.loc[both["site"] == site, "period"])
    run = [periods[0]]
    for p in periods[1:]:  # first run of consecutive periods
        if len(run) >= n or int(p) != int(run[-1]) + 1:
            break
        run.append(p)
    return site, run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--periods", type=int, default=4, help="plan periods to simulate")
    ap.add_argument("--seeds", default="0-1")
    ap.add_argument("--model", type=Path, default=HVLM)
    ap.add_argument("--store", type=Path, default=None, help="runs store [a temporary file]")
    ap.add_argument("--workers", default=None)
    ap.add_argument(
        "--site", default=None, help="check this site (periods at ≥ 90 %% load in both plans)"
    )
    ap.add_argument("--capacity", default="bottleneck", choices=["bottleneck", "nominal"])
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    store = args.store or Path(tmp.name) / "closed_loop.duckdb"
    ids: dict[str, str] = {}
    for lead in ("fixed", "load"):
        t = time.perf_counter()
        obj = _fabnet("plan", "openai-2024", "--lead-times", lead, "--store", str(store))
        ids[lead] = str(obj["run_id"])
        print(f"plan --lead-times {lead}: run {ids[lead]} ({time.perf_counter() - t:.1f} s)")
    site, periods = _pick(store, ids["fixed"], ids["load"], args.periods, args.site)
    print(f"site {site}, periods {periods[0]}-{periods[-1]} (load ≥ 0.9 in both plans)")
    results: dict[str, dict[str, Any]] = {}
    for lead in ("fixed", "load"):
        t = time.perf_counter()
        extra = ["--workers", args.workers] if args.workers else []
        results[lead] = _fabnet(
            "fab", "check-plan", ids[lead], str(args.model), "--site", site,
            "--store", str(store), "--periods", f"{periods[0]}-{periods[-1]}",
            "--capacity", args.capacity, "--seeds", args.seeds, *extra,
        )  # fmt: skip
        obj = results[lead]
        print(
            f"\n--lead-times {lead}: check-plan {time.perf_counter() - t:.0f} s wall; "
            f"{float(obj['days_per_period']):.1f} simulated days per period "
            f"(+{float(obj['warmup_days']):.1f} d warm-up), site RPT "
            f"{float(obj['site_raw_process_days']):.1f} d, HVLM RPT "
            f"{float(obj['model_raw_process_days']):.2f} d"
        )
        frame = pd.DataFrame(obj["rows"])
        cols = [
            "period", "load", "planned_output", "realised_output", "output_gap_pct",
            "planned_ct_days", "realised_ct_days", "ct_gap_pct", "realised_flow_factor",
        ]  # fmt: skip
        print(frame[cols].to_string(index=False, float_format=lambda x: f"{x:,.2f}"))
    print("\nmean gaps (realised vs planned)      throughput     cycle time   targets")
    for lead, target in (("fixed", "show the gap"), ("load", "±5 % / ±10 %")):
        obj = results[lead]
        thr = float(obj["mean_output_gap_pct"])
        ct = float(obj["mean_ct_gap_pct"])
        print(
            f"  --lead-times {lead:<5}                 {thr:+7.1f} %      {ct:+7.1f} %   {target}"
        )
    tmp.cleanup()


if __name__ == "__main__":
    main()
