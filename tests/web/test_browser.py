"""The dashboard in a real browser: Debian's Chromium driven by Playwright (sync API).

Skipped only when /usr/bin/chromium is absent (CI installs it). Playwright's own browser
download is never used: the system browser is launched by path.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fabnet.web import create_app

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")

_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=_ARGS, timeout=30_000)
        yield b
        b.close()


class Page:
    """A browser tab that records console errors and uncaught page errors."""

    def __init__(self, browser: Any, base: str) -> None:
        self.base = base
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.context.set_default_timeout(30_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, path: str) -> Any:
        resp = self.page.goto(self.base + path, wait_until="load")
        assert resp is not None and resp.ok, (path, resp.status if resp else None)
        return self.page

    def charts(self) -> list[int]:
        """Number of traces drawn in each plotly chart of the page (0 for an empty chart)."""
        counts: list[int] = self.page.evaluate(
            "Array.from(document.querySelectorAll('.js-plotly-plot'))"
            ".map(el => (el.data || []).length)"
        )
        return counts


@pytest.fixture()
def tab(browser: Any, store_copy: Path, live_server_factory: Any) -> Iterator[Page]:
    srv = live_server_factory(create_app(store_copy))
    t = Page(browser, srv.url)
    yield t
    t.context.close()


def test_every_page_loads_without_console_errors(tab: Page, run_ids: dict[str, str]) -> None:
    pages = [
        "/runs",
        f"/runs/{run_ids['base']}",
        f"/runs/{run_ids['no-gpu']}",
        f"/runs/{run_ids['fab']}",
        f"/compare?ids={run_ids['base']}&ids={run_ids['no-gpu']}",
        "/scenarios",
        "/scenarios/toy",
        "/scenarios/openai-2024",
        f"/scenarios/run/{run_ids['base']}",
        "/runs/new",
        "/jobs",
        "/api",
        f"/runs/{run_ids['base']}/delete",
    ]
    for path in pages:
        tab.open(path)
        assert tab.page.locator("h1").count() == 1, path
        assert tab.errors == [], (path, tab.errors)


def test_plan_page_charts_hold_data(tab: Page, run_ids: dict[str, str]) -> None:
    page = tab.open(f"/runs/{run_ids['base']}")
    counts = tab.charts()
    assert len(counts) >= 7
    # compute, shares and costs always have series in a plan that meets demand
    for key in ("compute", "shares", "costs"):
        n = page.evaluate(f"document.getElementById('chart-{key}').data.length")
        assert n > 0, key
    assert page.locator("a[href$='/tables/costs.parquet']").count() == 1
    assert tab.errors == []


def test_compare_shows_the_changed_policy(tab: Page, run_ids: dict[str, str]) -> None:
    page = tab.open("/runs")
    page.check(f"input[name=ids][value='{run_ids['base']}']")
    page.check(f"input[name=ids][value='{run_ids['no-gpu']}']")
    page.click("text=Compare selected")
    page.wait_for_url("**/compare?*")
    rows = page.locator("#diffs tbody tr")
    texts = [rows.nth(i).inner_text() for i in range(rows.count())]
    assert any("policies.max_vendor_share.gpuco" in t and "0.1" in t for t in texts), texts
    assert any("option variant" in t and "no-gpu" in t for t in texts), texts
    assert page.locator("#diffs td.changed").count() == 2
    assert all(n > 0 for n in tab.charts())
    assert tab.errors == []


def test_form_starts_a_toy_run_and_shows_it_finished(tab: Page) -> None:
    page = tab.open("/runs/new")
    page.select_option("#scenario", "toy")
    page.fill("input[name=variant]", "no-gpu")
    page.click("#start")
    page.wait_for_url("**/jobs/*")
    link = page.locator("#run-link")
    link.wait_for(timeout=90_000)
    status = page.locator("#status").get_attribute("data-status")
    assert status == "stored"
    run_id = link.inner_text().split()[-1]
    link.click()
    page.wait_for_url(f"**/runs/{run_id}")
    assert "toy [no-gpu]" in page.locator("h1").inner_text()
    tab.open("/runs")
    assert page.locator(f"a[href='/runs/{run_id}']").count() == 1
    assert tab.errors == []


def test_validation_messages_in_the_form(tab: Page) -> None:
    page = tab.open("/runs/new")
    page.select_option("#scenario", "toy")
    page.fill("textarea[name=sets]", "policies.max_vendor_share.gpuco=2")
    page.click("#start")
    box = page.locator(".errors")
    box.wait_for()
    assert "max_vendor_share" in box.inner_text()
    # the form keeps what the user typed
    assert page.locator("textarea[name=sets]").input_value() == "policies.max_vendor_share.gpuco=2"


def test_delete_from_the_browser(tab: Page, run_ids: dict[str, str]) -> None:
    page = tab.open(f"/runs/{run_ids['no-gpu']}/delete")
    page.click("#confirm-delete")
    page.wait_for_url("**/runs?deleted=*")
    assert page.locator(f"a[href='/runs/{run_ids['no-gpu']}']").count() == 0
    assert page.locator(f"a[href='/runs/{run_ids['base']}']").count() == 1
    assert tab.errors == []


def test_map_of_sites_draws_offline(
    browser: Any, store_copy: Path, live_server_factory: Any
) -> None:
    """A toy plan with site coordinates gets a map; nothing is fetched from the internet."""
    from tests.web.conftest import _plan

    coords = {"fab-a": (24.8, 120.97), "fab-b": (33.45, -112.07), "mem-a": (37.28, 127.44)}
    sets = [
        f"sites.{s}.{k}={v}"
        for s, (lat, lon) in coords.items()
        for k, v in (("lat", lat), ("lon", lon))
    ]
    _plan(store_copy, *[x for s in sets for x in ("--set", s)])
    srv = live_server_factory(create_app(store_copy))
    tab = Page(browser, srv.url)
    outside: list[str] = []
    tab.page.on(
        "request", lambda r: outside.append(r.url) if not r.url.startswith(srv.url) else None
    )
    from fabnet.store import Store

    run_id = str(Store(store_copy, create=False).list_runs().iloc[0]["id"])
    page = tab.open(f"/runs/{run_id}")
    lats = page.evaluate(
        "document.getElementById('chart-map').data.flatMap(t => Array.from(t.lat))"
    )
    assert sorted(lats) == sorted(lat for lat, _ in coords.values())
    assert outside == [] and tab.errors == []
    tab.context.close()
