"""Load on the dashboard: many concurrent clients reading plan pages, on loopback.

Plans ``openai-2024`` into a temporary store (or uses ``--store`` with a plan of it), starts
``fabnet dashboard`` as its own process on a free loopback port, then runs CLIENTS
concurrent clients (asyncio, keep-alive connections), each reading the plan page and the runs list in turn
until REQUESTS requests are done or the time limit passes. Prints p50/p95/max latency,
errors and throughput (target: 200 clients, no errors, p95 <= 1 s).

With ``--render`` it also times Chromium (Playwright, the system browser) rendering the
plan page until every chart is drawn: the openai-2024 plan, and a synthetic plan of 200
sites x 10 products x monthly periods (tables from ``store_report.py``).

    .venv/bin/python benchmarks/dashboard_load.py [--clients 200] [--requests 2000] [--render]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _plan_id(store: Path) -> str:
    """A stored openai-2024 plan, planned now when the store has none."""
    from fabnet.store import Store

    if store.exists():
        runs = Store(store, create=False).list_runs(kind="plan")
        hit = runs[runs["scenario"] == "openai-2024"]
        if len(hit):
            return str(hit.iloc[0]["id"])
    print("planning openai-2024 into", store, "...", flush=True)
    out = subprocess.run(
        [sys.executable, "-m", "fabnet", "plan", "openai-2024", "--store", str(store), "--json"],
        capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    return str(json.loads(out.stdout)["run_id"])


def _start_server(store: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "fabnet", "dashboard", "--store", str(store), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/runs", timeout=2)
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the dashboard did not start")


async def _get(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str
) -> tuple[int, int]:
    """One keep-alive HTTP/1.1 GET on an open connection: (status, body bytes)."""
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n".encode()
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = next(
        (
            int(v)
            for k, _, v in (x.partition(":") for x in lines[1:])
            if k.lower() == "content-length"
        ),
        0,
    )
    body = await reader.readexactly(length)
    return status, len(body)


async def _load(
    port: int, paths: list[str], clients: int, requests: int, limit_s: float
) -> dict[str, Any]:
    """CLIENTS connections, each a client reading PATHS in turn (a small raw HTTP client, so
    that the client's own overhead does not hide the server's)."""
    latencies: list[float] = []
    errors: list[str] = []
    sent = 0
    deadline = time.monotonic() + limit_s

    async def client(k: int) -> None:
        nonlocal sent
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = k
        try:
            while sent < requests and time.monotonic() < deadline:
                sent += 1
                path = paths[i % len(paths)]
                i += 1
                t0 = time.perf_counter()
                try:
                    status, size = await asyncio.wait_for(_get(reader, writer, path), 60)
                    if status != 200 or size < 1000:
                        errors.append(f"{path}: HTTP {status}, {size} bytes")
                except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
                    errors.append(f"{path}: {type(exc).__name__}")
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                latencies.append(time.perf_counter() - t0)
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    return {"latencies": latencies, "errors": errors, "wall": time.perf_counter() - t0}


def _render(base: str, run_id: str) -> float:
    """Seconds from navigation until every plotly chart of the page is drawn (median of 3)."""
    from playwright.sync_api import sync_playwright

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/runs/{run_id}")  # warm: server-side page cache, plotly.js cache
        for _ in range(3):
            t0 = time.perf_counter()
            page.goto(f"{base}/runs/{run_id}", wait_until="load")
            page.wait_for_function(
                "Array.from(document.querySelectorAll('.plotly-graph-div'))"
                ".every(el => el.classList.contains('js-plotly-plot') && el._fullLayout)"
            )
            times.append(time.perf_counter() - t0)
        browser.close()
    return statistics.median(times)


def _synthetic_200(store: Path) -> str:
    """A plan-shaped run of 200 sites x 10 products x 288 months (see store_report.py)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from fabnet.scenario import load_scenario, period_labels
    from fabnet.store import Store
    from store_report import synthetic_tables

    scenario = load_scenario(
        "toy",
        overrides={
            "horizon.first_year": 2025,
            "horizon.last_year": 2048,
            "horizon.period": "month",
        },
    )
    tables = synthetic_tables(200, 10, period_labels(scenario.horizon))
    return Store(store).save_run(
        kind="plan", scenario=scenario, options={"period": "month"}, status="optimal",
        timings_s={"build": 1.0}, summary={"objective_usd": 1e12, "years": [], "builds": []},
        tables=tables,
    )  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--time-limit", type=float, default=120.0, help="seconds")
    ap.add_argument("--store", type=Path, default=None, help="a store with an openai-2024 plan")
    ap.add_argument("--render", action="store_true", help="also time Chromium rendering")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = args.store or Path(tmp) / "runs.duckdb"
        run_id = _plan_id(store)
        synthetic = _synthetic_200(Path(tmp) / "big.duckdb") if args.render else None
        port = _free_port()
        server = _start_server(store, port)
        base = f"http://127.0.0.1:{port}"
        try:
            t0 = time.perf_counter()
            urllib.request.urlopen(f"{base}/runs/{run_id}", timeout=60).read()
            print(f"first (uncached) plan page: {time.perf_counter() - t0:.2f} s")
            paths = [f"/runs/{run_id}"] * 4 + ["/runs"]
            res = asyncio.run(_load(port, paths, args.clients, args.requests, args.time_limit))
            lat = sorted(res["latencies"])
            n = len(lat)
            print(
                f"{args.clients} concurrent clients, {n} requests (plan page of openai-2024 "
                f"4 of 5, runs list 1 of 5) in {res['wall']:.1f} s: {n / res['wall']:.0f} req/s"
            )
            print(
                f"latency p50 {lat[n // 2]:.3f} s  p95 {lat[int(0.95 * (n - 1))]:.3f} s  "
                f"max {lat[-1]:.3f} s  errors {len(res['errors'])}"
                + (f" (first: {res['errors'][0]})" if res["errors"] else "")
            )
            if args.render:
                print(f"Chromium render, openai-2024 plan page: {_render(base, run_id):.2f} s")
        finally:
            server.terminate()
            server.wait(timeout=10)
        if synthetic is not None:
            port = _free_port()
            server = _start_server(Path(tmp) / "big.duckdb", port)
            try:
                took = _render(f"http://127.0.0.1:{port}", synthetic)
                print(f"Chromium render, 200-site x 288-month plan page: {took:.2f} s")
            finally:
                server.terminate()
                server.wait(timeout=10)


if __name__ == "__main__":
    main()
