"""Report test helpers: headless Chromium, and real plans of the toy scenario in a store."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from fabnet.plan import PlanOptions, plan
from fabnet.scenario import Period, load_scenario
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


#: The toy scenario under pressure: demand 100-300x larger, the GPU vendor capped at 50 % of
#: new compute, HBM and packaging plentiful. The plan builds fab-b, leaves demand unmet in
#: 2025 (fab-b is not online yet and the cap binds), and fab-a's capacity has a shadow price.
BUSY_TOY: dict[str, Any] = {
    "demand.compute.fleet.installed_pflops": {
        2025: 300000,
        2026: 500000,
        2027: 900000,
        2028: 1200000,
    },
    "policies.max_vendor_share.gpuco": 0.5,
    "sites.mem-a.capacity_wspm": {2025: 20000},
    "sites.pack-a.capacity_wspm": {2025: 20000},
}


def plan_and_store(
    path: Path,
    *,
    variant: str | None = None,
    overrides: dict[str, Any] | None = None,
    period: Period | None = None,
) -> str:
    """Plan the toy scenario with the real planner and HiGHS, save it in ``path``; the run id."""
    scenario = load_scenario("toy", variant=variant, overrides=overrides)
    opts = PlanOptions(period=period)
    result = plan(scenario, opts)
    return Store(path).save_run(
        kind="plan",
        scenario=scenario,
        options=opts.as_dict(),
        status=result.status,
        timings_s=result.timings_s,
        summary=result.summary(),
        tables=result.tables(),
        messages=result.messages,
    )
