"""The HTML plan report of real toy plans: content, self-containment, rendering in a browser."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import pytest
from report_helpers import BUSY_TOY, chromium, plan_and_store, render_dom

from fabnet.errors import StoreError
from fabnet.report import plan_report_html
from fabnet.report.fmt import money
from fabnet.report.page import Note, esc
from fabnet.report.plan import period_start
from fabnet.scenario import Period
from fabnet.store import RunRecord, Store

#: Every chart the plan report draws, by its section key, in page order.
CHARTS = (
    "compute", "flows", "shares", "dependence", "capacity", "costs", "unit_cost", "builds",
    "utilisation", "shadow", "unmet",
)  # fmt: skip
#: The charts of a plan that builds nothing, meets all demand and has no binding capacity:
#: those three are one-line notes instead of empty panels.
QUIET = tuple(c for c in CHARTS if c not in ("builds", "shadow", "unmet"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RunRecord]:
    """Real plans (real planner, HiGHS, DuckDB file) of the toy scenario, loaded back."""
    path = tmp_path_factory.mktemp("store") / "runs.duckdb"
    ids = {
        "base": plan_and_store(path),
        "busy": plan_and_store(path, overrides=BUSY_TOY),
        "quarterly": plan_and_store(path, variant="no-gpu", period=Period.quarter),
        "gpu_only": plan_and_store(path, overrides={"products": []}),
    }
    store = Store(path)
    return {name: store.load_run(run_id) for name, run_id in ids.items()}


def _charts_in(html: str) -> list[str]:
    return re.findall(r'<div id="chart-([a-z_]+)" class="plotly-graph-div"', html)


def test_busy_plan_report_has_every_section_and_is_self_contained(
    runs: dict[str, RunRecord],
) -> None:
    run = runs["busy"]
    assert run.status == "optimal"
    html = plan_report_html(run)
    assert html.startswith("<!DOCTYPE html>")
    assert html.count("* plotly.js v") == 1  # the library inlined exactly once
    assert not re.search(r"<script[^>]+src=", html)  # nothing fetched: opens offline
    assert not re.search(r"<link[^>]+href=", html)
    assert _charts_in(html) == list(CHARTS)
    # Header: scenario, run id, status, objective and the planner's diagnosis.
    assert "toy" in html and run.id in html and "optimal" in html
    assert money(run.summary["objective_usd"]) in html
    assert run.messages and all(esc(m) in html for m in run.messages)
    assert "max_vendor_share[gpuco]" in html  # the binding-policy table
    # This plan builds fab-b, leaves demand unmet in 2025 and prices fab-a's capacity.
    assert not run.tables["builds"].empty and "fab-b (US, 500 wspm)" in html
    assert "All demand is met in every period" not in html
    sp = run.tables["shadow_prices"]
    priced = set(sp.loc[sp["usd_per_wafer"].abs() > 1e-6, "site"])
    assert "fab-a" in priced
    zero = sorted(set(sp["site"]) - priced)
    assert f"Sites with zero shadow price throughout: {', '.join(zero)}." in html
    for phrase in (  # captions that say how to read each chart
        "The dashed black line is the demand",
        "A dashed line in the same colour is the policy cap",
        "present value",
        "construction from the start of the build",
        "Dark red rows are the bottlenecks",
        "Only sites where capacity limits the plan are shown",
        "Demand the plan leaves unmet",
    ):
        assert phrase in html, phrase


def test_empty_tables_are_explained_in_words(runs: dict[str, RunRecord]) -> None:
    run = runs["base"]  # the toy as shipped: nothing built, all demand met
    assert run.tables["builds"].empty
    html = plan_report_html(run)
    assert _charts_in(html) == list(QUIET)  # no empty panels ...
    # ... but one line each saying why, in place
    assert (
        '<p class="note" id="builds"><b>Build schedule:</b> No new sites built in this plan.'
        in html
    )
    assert "Candidate sites the plan does <b>not</b> build: fab-b." in html
    assert "<b>Unmet demand:</b> All demand is met in every period." in html
    assert "<b>Shadow prices of capacity:</b> No site&#x27;s capacity limits the plan" in html
    assert "Not shown, as they have no capacity in any period" in html  # fab-b's empty row
    toc = re.search(r'<nav class="toc">(.*?)</nav>', html)
    assert toc is not None and "#unmet" not in toc.group(1) and "#flows" in toc.group(1)


def test_plan_without_own_products(runs: dict[str, RunRecord]) -> None:
    html = plan_report_html(runs["gpu_only"])
    assert _charts_in(html) == [c for c in QUIET if c != "dependence"]
    assert "gpu (gpuco, bought)" in html and "(acme, own)" not in html
    assert "<b>Country dependence: logic, HBM and packaging:</b> the plan starts no wafers" in html


def test_quarterly_plan_with_a_vendor_cap(runs: dict[str, RunRecord]) -> None:
    run = runs["quarterly"]
    html = plan_report_html(run)
    assert _charts_in(html) == list(QUIET)
    assert "2025Q1" in html and "by quarter" in html
    shares = run.tables["shares"]
    caps = shares[(shares["kind"] == "vendor") & (shares["key"] == "gpuco")]["cap"]
    assert list(caps) == pytest.approx([0.1] * 4)
    assert '"name":"cap gpuco"' in html  # the cap is drawn as its own (dashed) line


def test_period_labels_and_kinds(runs: dict[str, RunRecord]) -> None:
    assert period_start("2025") == dt.date(2025, 1, 1)
    assert period_start("2025Q3") == dt.date(2025, 7, 1)
    assert period_start("2026-11") == dt.date(2026, 11, 1)
    with pytest.raises(StoreError, match="unknown period label"):
        period_start("Q3/2025")
    run = runs["base"]
    with pytest.raises(StoreError, match="made for plan runs only"):
        plan_report_html(dataclasses.replace(run, meta={**run.meta, "kind": "fab"}))


@pytest.mark.skipif(
    chromium() is None,
    reason="no chromium on PATH (CI installs Debian's chromium in .ci/run; "
    "locally: apt-get install -y chromium)",
)
@pytest.mark.parametrize("name", ["busy", "base"])
def test_report_renders_in_headless_chromium(
    runs: dict[str, RunRecord], tmp_path: Path, name: str
) -> None:
    run = runs[name]
    page = tmp_path / "plan.html"
    page.write_text(plan_report_html(run), encoding="utf-8")
    dom, log = render_dom(page)  # network blocked: the page must work offline
    # Plotly marks each graph div it has drawn with js-plotly-plot and puts SVGs inside it.
    charts = CHARTS if name == "busy" else QUIET
    drawn = re.findall(r'<div id="chart-([a-z_]+)" class="[^"]*js-plotly-plot[^"]*"', dom)
    assert drawn == list(charts), (drawn, log[-2000:])
    pieces = re.split(r'<div id="chart-', dom)[1:]
    assert len(pieces) == len(charts)
    for key, piece in zip(charts, pieces, strict=True):
        assert 'class="main-svg"' in piece, key
    console = [line for line in log.splitlines() if ":CONSOLE" in line]
    assert not [c for c in console if "Uncaught" in c or "Error" in c], console
    assert ("What the planner says" in dom) == bool(run.messages or len(run.tables["binding"]))


def test_runs_stored_with_fewer_columns_still_report(runs: dict[str, RunRecord]) -> None:
    """A run written by an older planner (a column or a table missing) still has a report."""
    run = runs["busy"]
    tables = dict(run.tables)
    tables["builds"] = tables["builds"].drop(columns=["full_period", "name"])
    tables["shares"] = tables["shares"].drop(columns=["cap"])
    tables["utilisation"] = tables["utilisation"].drop(columns=["site_kind"])
    del tables["binding"], tables["shadow_prices"]
    html = plan_report_html(dataclasses.replace(run, tables=tables))
    gone = ("dependence", "capacity", "shadow")  # need site kinds / shadow prices
    assert _charts_in(html) == [c for c in CHARTS if c not in gone]
    assert html.count("stored without site kinds") == 2 and "No shadow prices." in html
    assert "fab-b (US, 500 wspm)" in html and '"name":"cap gpuco"' not in html


CHROMIUM_BIN = Path("/usr/bin/chromium")


@pytest.mark.skipif(not CHROMIUM_BIN.exists(), reason="needs Debian's chromium")
def test_csv_links_download_the_tables_and_the_flow_picture_draws(
    runs: dict[str, RunRecord], tmp_path: Path
) -> None:
    """In a real browser (Playwright, no network): the costs table's CSV link downloads the
    exact stored values, and the Sankey draws one year's nodes with a year menu."""
    import csv
    import io

    from playwright.sync_api import sync_playwright

    run = runs["busy"]
    page_path = tmp_path / "plan.html"
    page_path.write_text(plan_report_html(run), encoding="utf-8")
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM_BIN), args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        ctx = b.new_context(accept_downloads=True)
        pg = ctx.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(page_path.as_uri(), wait_until="load")
        links = pg.locator("a.csv")
        assert links.count() == len(re.findall(r'class="csv"', page_path.read_text()))
        with pg.expect_download() as info:
            pg.locator("#costs a.csv").click()
        download = info.value
        assert download.suggested_filename == f"costs-{run.id}.csv"
        text = Path(download.path()).read_text(encoding="utf-8-sig")
        pg.wait_for_selector("#chart-flows .sankey-node", state="attached")
        nodes = pg.locator("#chart-flows .sankey-node").count()
        menu = pg.locator("#chart-flows .updatemenu-container").count()
        b.close()
    assert not errors, errors
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "category" and rows[-1][0] == "total"
    by_cat = run.tables["costs"].groupby("category")["cost_pv_usd"].sum()
    got = {r[0]: float(r[2]) for r in rows[1:-1]}
    assert got == pytest.approx({k: float(v) for k, v in by_cat.items() if k in got})
    assert float(rows[-1][2]) == pytest.approx(run.summary["objective_usd"], rel=1e-6)
    # busy toy: fab-a/fab-b logic, mem-a HBM, pack-a packaging, own product and the GPU
    assert nodes >= 6 and menu == 1


def test_flow_picture_follows_the_supply_table(runs: dict[str, RunRecord]) -> None:
    """The Sankey of each year carries exactly the supply table's units, per source."""
    from fabnet.report.supply import flow_section

    run = runs["busy"]
    section = flow_section(run)
    assert not isinstance(section, Note) and section.figure is not None
    supply = run.tables["supply"]
    years = sorted(int(y) for y in supply.loc[supply["units"] > 1e-9, "year"].unique())
    traces = section.figure.data
    assert len(traces) == len(years)
    busiest = int(supply.groupby("year")["units"].sum().idxmax())
    assert [t.visible for t in traces] == [y == busiest for y in years]
    for y, tr in zip(years, traces, strict=True):
        labels = list(tr.node.label)
        sinks = {i for i, lab in enumerate(labels) if "(own)" in lab or "bought)" in lab}
        into = sum(v for v, t in zip(tr.link.value, tr.link.target, strict=True) if t in sinks)
        expect = float(supply.loc[supply["year"] == y, "units"].sum())
        assert into == pytest.approx(expect, rel=1e-9)
        # every own unit leaves a logic fab of its country: flow is conserved through the fabs
        fabs = {i for i, lab in enumerate(labels) if lab.startswith("fab-")}
        assert fabs
    html = plan_report_html(run)
    assert '"type":"sankey"' in html and "the year with the most units" in html
