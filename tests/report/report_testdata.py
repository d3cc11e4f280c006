"""Report test helpers: headless Chromium, and TEST DATA shaped like a plan of the toy scenario.

The tables follow the column contract of ``fabnet.plan.Plan`` (see
briefs/plan_contract.md) with hand-made numbers; they are not the output of the
planner. Tests on real plans use ``fabnet.plan`` directly.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fabnet.scenario import Scenario, load_scenario
from fabnet.store import Store

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def chromium() -> str | None:
    """Path of a headless-capable Chromium, or None."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def render_dom(html_path: Path, *, screenshot: Path | None = None) -> tuple[str, str]:
    """Open a file in headless Chromium; return (DOM after scripts ran, browser log)."""
    exe = chromium()
    assert exe is not None
    with tempfile.TemporaryDirectory() as profile:
        args = [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--host-resolver-rules=MAP * ~NOTFOUND",  # no network: the page must work offline
            "--enable-logging=stderr",
            "--v=0",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=10000",
            "--window-size=1400,4000",
        ]
        if screenshot is not None:
            args.append(f"--screenshot={screenshot}")
        else:
            args.append("--dump-dom")
        proc = subprocess.run(
            [*args, html_path.resolve().as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    return proc.stdout, proc.stderr


def fake_plan_tables(scenario: Scenario) -> dict[str, pd.DataFrame]:
    """TEST DATA: plan tables for the toy scenario (yearly periods 2025-2028)."""
    years = scenario.horizon.years
    periods = [str(y) for y in years]
    demand = np.array([1000.0, 2000.0, 3000.0, 4000.0])[: len(years)]
    own = np.array([0.0, 1500.0, 2700.0, 4000.0])[: len(years)]
    gpu = np.array([800.0, 500.0, 300.0, 0.0])[: len(years)]
    delivered = own + gpu
    wafers_a = np.array([0.0, 1200.0, 1200.0, 1200.0])[: len(years)]
    wafers_b = np.array([0.0, 1800.0, 4800.0, 5400.0])[: len(years)]
    supply = []
    for i, p in enumerate(periods):
        for site, w, country in (("fab-a", wafers_a[i], "TW"), ("fab-b", wafers_b[i], "US")):
            supply.append(
                {
                    "period": p,
                    "year": years[i],
                    "source_kind": "own",
                    "source": "acc",
                    "vendor": "acme",
                    "site": site,
                    "process": "n3",
                    "country": country,
                    "wafers": w,
                    "good_dies": w * 100,
                    "units": w * 100,
                    "pflops_added": w * 0.2,
                }
            )
        supply.append(
            {
                "period": p,
                "year": years[i],
                "source_kind": "offer",
                "source": "gpu",
                "vendor": "gpuco",
                "site": "",
                "process": "",
                "country": "",
                "wafers": 0.0,
                "good_dies": 0.0,
                "units": gpu[i] if i == 0 else 0.0,
                "pflops_added": gpu[i] if i == 0 else 0.0,
            }
        )
    compute = []
    for i, p in enumerate(periods):
        compute.append(
            {
                "period": p,
                "year": years[i],
                "source": "acc",
                "source_kind": "own",
                "vendor": "acme",
                "pflops_installed": own[i],
                "pflops_added": own[i] - (own[i - 1] if i else 0.0),
            }
        )
        compute.append(
            {
                "period": p,
                "year": years[i],
                "source": "gpu",
                "source_kind": "offer",
                "vendor": "gpuco",
                "pflops_installed": gpu[i],
                "pflops_added": gpu[i] if i == 0 else 0.0,
            }
        )
    shares = []
    gpu_share = [1.0, 0.0, 0.0, 0.0]
    tw_share = [0.0, 0.4, 0.2, 0.18]
    for i, y in enumerate(years):
        shares += [
            {
                "year": y,
                "kind": "vendor",
                "key": "gpuco",
                "share": gpu_share[i],
                "cap": np.nan if i == 0 else 0.6,
            },
            {"year": y, "kind": "vendor", "key": "acme", "share": 1 - gpu_share[i], "cap": np.nan},
            {"year": y, "kind": "country", "key": "TW", "share": tw_share[i], "cap": np.nan},
            {"year": y, "kind": "country", "key": "US", "share": 1 - tw_share[i], "cap": np.nan},
        ]
    costs = []
    for i, y in enumerate(years):
        parts = {
            "wafers": 20000.0 * (wafers_a[i] + wafers_b[i]),
            "hbm": 300.0 * 4 * 100 * (wafers_a[i] + wafers_b[i]),
            "packaging": 8000.0 * 5 * (wafers_a[i] + wafers_b[i]),
            "assembly": 0.0,
            "gpus": 30000.0 * (gpu[i] if i == 0 else 0.0),
            "capex": 1.0e9 if i == 0 else 0.0,
            "porting": 0.0,
            "unmet_penalty": 1.0e6 * (demand[i] - delivered[i]),
        }
        for cat, usd in parts.items():
            costs.append({"year": y, "category": cat, "cost_usd": usd, "cost_pv_usd": usd})
    builds = pd.DataFrame(
        [
            {
                "site": "fab-b",
                "name": "",
                "country": "US",
                "tags": "",
                "start_period": periods[0],
                "online_period": periods[1],
                "full_period": periods[2],
                "capex_usd": 1.0e9,
                "capacity_wspm": 500.0,
            }
        ]
    )
    util = []
    shadow = []
    for i, p in enumerate(periods):
        for site, kind, country, cap, used in (
            ("fab-a", "logic", "TW", 1200.0, wafers_a[i]),
            ("fab-b", "logic", "US", [0.0, 3000.0, 6000.0, 6000.0][i], wafers_b[i]),
            ("mem-a", "hbm", "KR", 12000.0, (wafers_a[i] + wafers_b[i]) * 400 / 30),
            ("pack-a", "packaging", "TW", 12000.0, (wafers_a[i] + wafers_b[i]) * 5),
        ):
            util.append(
                {
                    "period": p,
                    "year": years[i],
                    "site": site,
                    "site_kind": kind,
                    "country": country,
                    "capacity_wafers": cap,
                    "used_wafers": min(used, cap),
                    "utilization": min(used, cap) / cap if cap > 0 else 0.0,
                }
            )
            price = {"fab-a": [0.0, 9.0e4, 9.0e4, 6.0e4], "mem-a": [0, 0, 1.2e4, 1.3e4]}.get(
                site, [0.0] * 4
            )[i]
            shadow.append(
                {
                    "period": p,
                    "year": years[i],
                    "site": site,
                    "usd_per_wafer": float(price),
                    "source": "lp_fixed_builds",
                }
            )
    unmet = [
        {
            "period": p,
            "year": years[i],
            "demand_id": "fleet",
            "kind": "compute",
            "required": demand[i],
            "delivered": min(delivered[i], demand[i]),
            "unmet": max(demand[i] - delivered[i], 0.0),
        }
        for i, p in enumerate(periods)
    ]
    binding = pd.DataFrame(
        [
            {
                "policy": "max_vendor_share[gpuco]",
                "year": years[0],
                "slack": 0.0,
                "dual_usd": 2.5e4,
                "message": "TEST DATA: the GPUCo cap binds in 2025.",
            }
        ]
    )
    return {
        "supply": pd.DataFrame(supply),
        "compute": pd.DataFrame(compute),
        "shares": pd.DataFrame(shares),
        "costs": pd.DataFrame(costs),
        "builds": builds,
        "utilisation": pd.DataFrame(util),
        "shadow_prices": pd.DataFrame(shadow),
        "unmet": pd.DataFrame(unmet),
        "binding": binding,
    }


def fake_summary(scenario: Scenario, tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """TEST DATA: the ``Plan.summary()`` object for :func:`fake_plan_tables`."""
    years: list[dict[str, Any]] = []
    comp, shares, costs, unmet = (
        tables["compute"],
        tables["shares"],
        tables["costs"],
        tables["unmet"],
    )
    for y in scenario.horizon.years:
        c = comp[comp["year"] == y]
        s = shares[shares["year"] == y]
        years.append(
            {
                "year": y,
                "compute_pflops": dict(zip(c["source"], c["pflops_installed"], strict=True)),
                "vendor_share": {
                    str(k): float(v)
                    for k, v in s[s["kind"] == "vendor"][["key", "share"]].itertuples(index=False)
                },
                "country_share": {
                    str(k): float(v)
                    for k, v in s[s["kind"] == "country"][["key", "share"]].itertuples(index=False)
                },
                "unmet_pflops": float(unmet[unmet["year"] == y]["unmet"].sum()),
                "cost_usd": float(costs[costs["year"] == y]["cost_usd"].sum()),
            }
        )
    return {
        "run_id": None,
        "scenario": scenario.name,
        "status": "optimal",
        "objective_usd": float(costs["cost_pv_usd"].sum()),
        "mip_gap": 0.0004,
        "years": years,
        "builds": [
            {"site": b.site, "start_period": b.start_period, "online_period": b.online_period}
            for b in tables["builds"].itertuples()
        ],
    }


def store_fake_plan(path: Path, scenario: Scenario | None = None) -> tuple[Store, str]:
    """TEST DATA run of the toy scenario saved in a real DuckDB file; (store, run id)."""
    scen = scenario or load_scenario("toy")
    tables = fake_plan_tables(scen)
    store = Store(path)
    run_id = store.save_run(
        kind="plan",
        scenario=scen,
        options={"period": None, "relax": False, "mip_gap": 0.001},
        status="optimal",
        timings_s={"build": 0.21, "solve": 0.43, "read": 0.05},
        summary=fake_summary(scen, tables),
        tables=tables,
        messages=[
            "TEST DATA: demand is not met in 2025: no own accelerator can be made before "
            "2026 and the GPUCo share cap allows at most 60 % of new compute from GPUCo.",
        ],
    )
    return store, run_id
