"""Speed of the runs store and the HTML report on a large synthetic plan.

Builds plan tables with the columns of ``fabnet.plan.Plan`` for SITES sites x PRODUCTS
products x monthly periods (random numbers: this measures I/O, not planning), then times
``Store.save_run`` (one transaction), ``list_runs``, ``load_run``, ``compare`` and
``plan_report_html``, each several times, and prints the medians, the DuckDB file size
and the report size.

    .venv/bin/python benchmarks/store_report.py [--sites 200] [--products 10] [--years 24]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fabnet.report import plan_report_html
from fabnet.scenario import load_scenario, period_labels
from fabnet.store import Store


def synthetic_tables(sites: int, products: int, periods: list[str]) -> dict[str, pd.DataFrame]:
    """Random plan tables with the planner's columns (benchmark data, not a plan)."""
    rng = np.random.default_rng(0)
    years = np.array([int(p[:4]) for p in periods])
    site_ids = [f"site-{i:03d}" for i in range(sites)]
    countries = np.array(["TW", "KR", "US", "JP"])[np.arange(sites) % 4]
    n = sites * products * len(periods)
    s_idx = np.repeat(np.arange(sites), products * len(periods))
    p_idx = np.tile(np.repeat(np.arange(products), len(periods)), sites)
    t_idx = np.tile(np.arange(len(periods)), sites * products)
    wafers = rng.uniform(0, 1000, n)
    supply = pd.DataFrame(
        {
            "period": np.array(periods)[t_idx],
            "year": years[t_idx],
            "source_kind": "own",
            "source": np.array([f"prod-{j}" for j in range(products)])[p_idx],
            "vendor": "designer",
            "site": np.array(site_ids)[s_idx],
            "process": "n3",
            "country": countries[s_idx],
            "wafers": wafers,
            "good_dies": wafers * 60,
            "units": wafers * 55,
            "pflops_added": wafers * 55 * 2.0,
        }
    )
    compute = (
        supply.groupby(["period", "year", "source", "source_kind", "vendor"], as_index=False)[
            "pflops_added"
        ]
        .sum()
        .assign(pflops_installed=lambda d: d.groupby("source")["pflops_added"].cumsum())
    )
    uy = sorted(set(years))
    shares = pd.DataFrame(
        [
            {"year": y, "kind": "country", "key": c, "share": 0.25, "cap": np.nan}
            for y in uy
            for c in ("TW", "KR", "US", "JP")
        ]
        + [
            {"year": y, "kind": "vendor", "key": "designer", "share": 1.0, "cap": np.nan}
            for y in uy
        ]
    )
    costs = pd.DataFrame(
        [
            {"year": y, "category": c, "cost_usd": 1e9, "cost_pv_usd": 9e8}
            for y in uy
            for c in ("wafers", "hbm", "packaging", "capex")
        ]
    )
    grid_site = np.repeat(np.arange(sites), len(periods))
    grid_t = np.tile(np.arange(len(periods)), sites)
    util = pd.DataFrame(
        {
            "period": np.array(periods)[grid_t],
            "year": years[grid_t],
            "site": np.array(site_ids)[grid_site],
            "site_kind": "logic",
            "country": countries[grid_site],
            "capacity_wafers": 30000.0,
            "used_wafers": rng.uniform(0, 30000, len(grid_t)),
        }
    ).assign(utilization=lambda d: d["used_wafers"] / d["capacity_wafers"])
    shadow = util[["period", "year", "site"]].assign(
        usd_per_wafer=np.where(
            rng.uniform(size=len(util)) < 0.2, rng.uniform(0, 1e5, len(util)), 0
        ),
        source="lp_fixed_builds",
    )
    unmet = pd.DataFrame(
        {
            "period": periods,
            "year": years,
            "demand_id": "fleet",
            "kind": "compute",
            "required": np.linspace(1e3, 1e6, len(periods)),
            "delivered": np.linspace(1e3, 1e6, len(periods)),
            "unmet": 0.0,
        }
    )
    builds = pd.DataFrame(
        [
            {
                "site": site_ids[i],
                "name": "",
                "country": countries[i],
                "tags": "",
                "start_period": periods[i],
                "online_period": periods[i + 24],
                "full_period": periods[i + 36],
                "capex_usd": 2e10,
                "capacity_wspm": 30000.0,
            }
            for i in range(0, min(sites, len(periods) - 40), 20)
        ]
    )
    binding = pd.DataFrame(columns=["policy", "year", "period", "slack", "dual_usd", "message"])
    return {
        "supply": supply,
        "compute": compute,
        "shares": shares,
        "costs": costs,
        "builds": builds,
        "utilisation": util,
        "shadow_prices": shadow,
        "unmet": unmet,
        "binding": binding,
    }


def _median(label: str, fn: Callable[[], Any], runs: int) -> Any:
    walls: list[float] = []
    result: Any = None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        walls.append(time.perf_counter() - t)
    print(f"{label:<34} median {statistics.median(walls):7.3f} s  (runs: "
          + ", ".join(f"{w:.3f}" for w in walls) + ")")  # fmt: skip
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, default=200)
    ap.add_argument("--products", type=int, default=10)
    ap.add_argument("--years", type=int, default=24)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    scenario = load_scenario(
        "toy",
        overrides={
            "horizon.first_year": 2025,
            "horizon.last_year": 2024 + args.years,
            "horizon.period": "month",
        },
    )
    periods = period_labels(scenario.horizon)
    tables = synthetic_tables(args.sites, args.products, periods)
    rows = sum(len(t) for t in tables.values())
    print(
        f"{args.sites} sites x {args.products} products x {len(periods)} periods: "
        f"{rows:,} table rows ({len(tables['supply']):,} supply rows)"
    )
    summary: dict[str, Any] = {"objective_usd": 1.0e12, "years": [], "builds": []}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "runs.duckdb"
        store = Store(path)

        def save() -> str:
            return store.save_run(
                kind="plan",
                scenario=scenario,
                options={"period": "month"},
                status="optimal",
                timings_s={"build": 1.0, "solve": 2.0},
                summary=summary,
                tables=tables,
            )

        run_id = _median("save_run (one transaction)", save, args.runs)
        print(
            f"{'DuckDB file after ' + str(args.runs) + ' runs':<34} {path.stat().st_size / 1e6:7.1f} MB"
        )
        _median("list_runs", store.list_runs, args.runs)
        record = _median("load_run (all tables)", lambda: store.load_run(run_id), args.runs)
        _median("compare (3 runs)", lambda: store.compare(list(store.list_runs()["id"])), args.runs)
        html = _median("plan_report_html", lambda: plan_report_html(record), args.runs)
        print(f"{'report size':<34} {len(html.encode()) / 1e6:7.1f} MB")


if __name__ == "__main__":
    main()
