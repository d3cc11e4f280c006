"""Planner speed on synthetic supply networks (a benchmark, not a test).

Prints model size, build time, solve time and peak memory (medians of several runs,
each run in a fresh process so the peak resident memory is its own):

* ``lp``: 200 sites × 10 products × 288 monthly periods as an LP (~1 M variables);
  targets: built < 5 s, solved < 120 s, < 4 GiB;
* ``milp``: 30 candidate sites as binaries on a quarterly 24-year horizon, builds may
  start in any quarter (``build_start=quarter``: one binary per candidate and quarter);
  target: within 1 % of optimal in < 120 s;
* ``lp-versions``: ``lp`` with a performance and power of its own on every process option
  (each product splits into 5 versions, with their own HBM and packaging routes) and power
  on the offers (energy in the objective): the worst case of per-process performance; no
  target, for information (not in ``all``);
* ``openai``: ``fabnet plan openai-2024 --no-store`` end to end (Python start
  included); target < 15 s; ``openai-quarter``: the same with ``--period quarter``
  (no target, for information); ``openai-quarter-any``: the same with builds starting in
  any quarter (``PlanOptions.build_start``, in this process); ``openai-month``: ``--period
  month``, target < 60 s. Every case reports the 1-minute load average at its end.

Usage: ``python benchmarks/plan_scale.py [lp|lp-versions|milp|openai|openai-quarter|
openai-quarter-any|openai-month|all]
[--repeats N]`` (``lp-builds``, the name of ``lp-versions`` before issue 7, still works).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def synthetic(
    n_sites: int = 200,
    n_products: int = 10,
    first_year: int = 2024,
    last_year: int = 2047,
    period: str = "month",
    n_candidates: int = 0,
    seed: int = 0,
    logic_scale: float = 1.0,
    support_scale: float = 1.0,
    demand_scale: float = 1.0,
) -> dict[str, Any]:
    """A synthetic scenario as a dict: 70 % logic sites, 15 % HBM, 15 % packaging.

    Each logic site runs up to three of six logic processes; each product can be made on
    five of them, needs HBM of one of two generations and one of two packaging processes.
    Demand grows over the horizon; two GPU offers with allocation limits compete.
    ``n_candidates`` of the logic sites are candidates (build decisions). The scales
    multiply the capacity of existing logic sites, of HBM and packaging sites, and demand.
    """
    rng = np.random.default_rng(seed)
    years = list(range(first_year, last_year + 1))
    n_logic = round(0.7 * n_sites)
    n_hbm = round(0.15 * n_sites)
    n_pack = n_sites - n_logic - n_hbm
    companies = [
        {"id": "designer", "name": "D", "roles": ["designer"], "country": "US"},
        {"id": "foundry", "name": "F", "roles": ["foundry", "packaging"], "country": "TW"},
        {"id": "memory", "name": "M", "roles": ["memory"], "country": "KR"},
        {"id": "gpuco", "name": "G", "roles": ["gpu_vendor"], "country": "US"},
    ]
    logic_procs = [f"n{i}" for i in range(6)]
    processes: list[dict[str, Any]] = [
        {
            "id": p,
            "kind": "logic",
            "owner": "foundry",
            "wafer_price_usd": {first_year: float(15000 + 2000 * i)},
            "d0_per_cm2": {first_year: 0.12, last_year: 0.06},
            "cycle_time_days": 90,
        }
        for i, p in enumerate(logic_procs)
    ]
    processes += [
        {
            "id": f"hbm{g}",
            "kind": "hbm",
            "owner": "memory",
            "generation": f"gen{g}",
            "good_stacks_per_wafer": 25.0,
            "stack_price_usd": {first_year: 1200.0 + 300 * g},
            "cycle_time_days": 60,
        }
        for g in range(2)
    ]
    processes += [
        {
            "id": f"pack{k}",
            "kind": "packaging",
            "owner": "foundry",
            "price_usd_per_wafer": {first_year: 9000.0},
            "assembly_yield": 0.97,
            "cycle_time_days": 30,
        }
        for k in range(2)
    ]
    countries = ["TW", "US", "KR", "JP", "DE"]
    sites: list[dict[str, Any]] = []
    for i in range(n_logic):
        procs = sorted({logic_procs[(i + k * (1 + i // 6)) % 6] for k in range(3)})
        site: dict[str, Any] = {
            "id": f"L{i}",
            "owner": "foundry",
            "country": countries[i % len(countries)],
            "processes": procs,
            "capacity_wspm": {
                first_year: float(rng.integers(2, 20) * 1000)
                * (1.0 if i < n_candidates else logic_scale)
            },
            "reservable_share": 0.3,
            "wafer_price_factor": float(1.0 + 0.1 * (i % 3)),
        }
        if i < n_candidates:
            site.update(
                status="candidate",
                capex_usd=float(rng.integers(10, 30)) * 1e9,
                build_years=2.0 + (i % 3) * 0.5,
                ramp_years=1.0 + (i % 2),
                earliest_start_year=first_year + (i % 4),
            )
        sites.append(site)
    for i in range(n_hbm):
        sites.append(
            {
                "id": f"H{i}",
                "owner": "memory",
                "country": "KR" if i % 3 else "US",
                "processes": [f"hbm{i % 2}"],
                "capacity_wspm": {first_year: float(rng.integers(5, 30) * 1000) * support_scale},
                "reservable_share": 0.4,
            }
        )
    for i in range(n_pack):
        sites.append(
            {
                "id": f"P{i}",
                "owner": "foundry",
                "country": "TW" if i % 2 else "US",
                "processes": [f"pack{i % 2}"],
                "capacity_wspm": {first_year: float(rng.integers(2, 10) * 1000) * support_scale},
                "reservable_share": 0.5,
            }
        )
    products = []
    for j in range(n_products):
        opts = [logic_procs[(j + k) % 6] for k in range(5)]
        products.append(
            {
                "id": f"acc{j}",
                "designer": "designer",
                "die_area_mm2": float(300 + 40 * j),
                "chiplets": 1 + j % 2,
                "process_options": [
                    {"process": p, "available_from_year": first_year + k}
                    for k, p in enumerate(opts)
                ],
                "hbm_generation": f"gen{j % 2}",
                "hbm_stacks": 4 + 2 * (j % 3),
                "packaging_options": ["pack0", "pack1"],
                "packages_per_wafer": 16.0,
                "assembly_cost_usd": 500.0,
                "pflops_bf16": 1.0 + 0.5 * j,
                "service_life_years": 5,
                "lead_time_days": 60,
            }
        )
    offers = [
        {
            "id": f"gpu{k}",
            "vendor": "gpuco",
            "price_usd": {first_year: 30000.0 + 10000 * k, last_year: 15000.0},
            "pflops_bf16": 1.0 + k,
            "max_units_per_year": {first_year: 5.0e5},
            "service_life_years": 5,
            "lead_time_days": 180,
        }
        for k in range(2)
    ]
    demand = {
        "compute": [
            {
                "id": "fleet",
                "installed_pflops": {
                    y: float(2.0e5 * demand_scale * (1.25 ** (y - first_year))) for y in years[::4]
                },
                "unmet_penalty_usd_per_pflops_year": 1.0e5,
            }
        ]
    }
    return {
        "name": "synthetic",
        "horizon": {"first_year": first_year, "last_year": last_year, "period": period},
        "discount_rate": 0.08,
        "designer": "designer",
        "companies": companies,
        "processes": processes,
        "sites": sites,
        "products": products,
        "offers": offers,
        "demand": demand,
        "policies": {"max_vendor_share": {"gpuco": 0.6}} if n_candidates else {},
    }


def with_versions(data: dict[str, Any]) -> dict[str, Any]:
    """Give every process option its own performance (-10 % per option after the first)
    and power (+10 %), and the offers a power draw: every option becomes a product version."""
    for p in data["products"]:
        for k, opt in enumerate(p["process_options"]):
            opt["pflops_bf16"] = p["pflops_bf16"] * (1 - 0.1 * k)
            opt["power_w"] = 700.0 * (1 + 0.1 * k)
    for o in data["offers"]:
        o["power_w"] = 1000.0
    return data


def _single(case: str) -> dict[str, Any]:
    """One run of ``case`` in this process; returns its figures."""
    from fabnet.plan import PlanOptions, build_model, read_solution, solve_model
    from fabnet.scenario.schema import Period, Scenario

    if case == "lp":
        sc = Scenario.model_validate(synthetic())
        opts = PlanOptions(relax=True)
    elif case == "lp-versions":
        sc = Scenario.model_validate(with_versions(synthetic()))
        opts = PlanOptions(relax=True)
    elif case == "milp":
        sc = Scenario.model_validate(
            synthetic(
                n_sites=100,
                period="quarter",
                n_candidates=30,
                logic_scale=0.05,
                support_scale=5.0,
                demand_scale=50.0,
            )
        )
        opts = PlanOptions(mip_gap=0.01, time_limit_s=300, build_start=Period.quarter)
    elif case == "openai-quarter-any":
        from fabnet.scenario import load_scenario

        sc = load_scenario("openai-2024")
        opts = PlanOptions(period=Period.quarter, build_start=Period.quarter)
    else:
        raise SystemExit(f"unknown case {case}")
    t0 = time.perf_counter()
    pm = build_model(sc, opts)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    solve_model(pm)
    solve = time.perf_counter() - t0
    t0 = time.perf_counter()
    plan = read_solution(pm)
    read = time.perf_counter() - t0
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    return {
        **pm.size(),
        "build_s": build,
        "solve_s": solve,
        "read_s": read,
        "peak_gib": peak_gib,
        "status": plan.status,
        "mip_gap": plan.mip_gap,
        "objective_usd": plan.objective_usd,
        "builds": len(plan.builds),
        "load_1min": os.getloadavg()[0],
    }


def _openai(*extra: str) -> dict[str, Any]:
    """``fabnet plan openai-2024`` end to end, with this checkout's source first on the path
    (so it also runs from a git worktree without its own virtual environment)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "fabnet", "plan", "openai-2024", "--no-store", "--json", *extra],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd="/tmp",
        env=env,
    )
    return {"end_to_end_s": time.perf_counter() - t0, "load_1min": os.getloadavg()[0]}


def _run(case: str) -> dict[str, Any]:
    if case == "openai":
        return _openai()
    if case == "openai-quarter":
        return _openai("--period", "quarter")
    if case == "openai-month":
        return _openai("--period", "month")
    proc = subprocess.run(
        [sys.executable, __file__, "--single", case],
        check=True,
        capture_output=True,
        text=True,
    )
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "case",
        nargs="?",
        default="all",
        choices=[
            "lp", "lp-versions", "lp-builds", "milp", "openai", "openai-quarter",
            "openai-quarter-any", "openai-month", "all",
        ],
    )  # fmt: skip
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--single", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.single:
        print(json.dumps(_single(a.single)))
        return
    case = "lp-versions" if a.case == "lp-builds" else a.case  # deprecated name
    cases = ["openai", "lp", "milp"] if case == "all" else [case]
    for case in cases:
        runs = [_run(case) for _ in range(a.repeats)]
        print(f"== {case}: {a.repeats} runs (median, [min–max])")
        for key in runs[0]:
            vals = [r[key] for r in runs]
            if all(isinstance(v, int | float) and not isinstance(v, bool) for v in vals):
                med = statistics.median(vals)
                print(f"  {key:>14}: {med:,.3f}  [{min(vals):,.3f}–{max(vals):,.3f}]")
            else:
                print(f"  {key:>14}: {vals}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
