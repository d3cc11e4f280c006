"""The HTML plan report: content, self-containment, and rendering in a real browser."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest
from report_testdata import chromium, render_dom, store_fake_plan

from fabnet.errors import StoreError
from fabnet.plan import PlanOptions, plan
from fabnet.report import plan_report_html
from fabnet.report.plan import period_start
from fabnet.scenario import Period, load_scenario
from fabnet.store import RunRecord, Store

#: Every chart the plan report draws, by its section key.
CHARTS = ("compute", "shares", "costs", "builds", "utilisation", "shadow", "unmet")


def _real_run(path: Path, variant: str | None = None, period: str | None = None) -> RunRecord:
    """Plan the toy scenario with the real planner and solver, store it, load it back."""
    scenario = load_scenario("toy", variant=variant)
    opts = PlanOptions(period=None if period is None else Period(period))
    result = plan(scenario, opts)
    store = Store(path)
    run_id = store.save_run(
        kind="plan",
        scenario=scenario,
        options=opts.as_dict(),
        status=result.status,
        timings_s=result.timings_s,
        summary=result.summary(),
        tables=result.tables(),
        messages=result.messages,
    )
    return store.load_run(run_id)


def _charts_in(html: str) -> list[str]:
    return re.findall(r'<div id="chart-([a-z_]+)" class="plotly-graph-div"', html)


def test_report_of_test_data_has_every_section_and_is_self_contained(tmp_path: Path) -> None:
    store, run_id = store_fake_plan(tmp_path / "runs.duckdb")
    run = store.load_run(run_id)
    html = plan_report_html(run)
    assert html.startswith("<!DOCTYPE html>")
    assert html.count("* plotly.js v") == 1  # the library inlined exactly once
    assert not re.search(r"<script[^>]+src=", html)  # nothing fetched: opens offline
    assert not re.search(r"<link[^>]+href=", html)
    assert _charts_in(html) == list(CHARTS)
    # Header: scenario, run id, status, objective and the diagnosis messages.
    assert "toy" in html and run_id in html and "optimal" in html
    assert "$4.03 bn" in html  # objective (PV) of the test data
    assert "TEST DATA: demand is not met in 2025" in html
    assert "max_vendor_share[gpuco]" in html  # the binding-policy table
    # Captions that say how to read each chart.
    for phrase in (
        "The dashed black line is the demand",
        "A dashed line in the same colour is the policy cap",
        "present value",
        "construction from the start of the build",
        "Dark red rows are the bottlenecks",
        "Only sites where capacity limits the plan are shown",
        "Demand the plan leaves unmet",
    ):
        assert phrase in html, phrase
    # Shadow prices: only the sites with non-zero prices are charted.
    assert "Sites with zero shadow price throughout: fab-b, pack-a." in html


def test_empty_tables_are_explained_in_words(tmp_path: Path) -> None:
    store, run_id = store_fake_plan(tmp_path / "runs.duckdb")
    run = store.load_run(run_id)
    tables = dict(run.tables)
    tables["builds"] = tables["builds"].iloc[0:0]
    tables["unmet"] = tables["unmet"].assign(unmet=0.0)
    tables["shadow_prices"] = tables["shadow_prices"].assign(usd_per_wafer=0.0)
    # Only bought GPUs: the designer has no source of its own.
    tables["compute"] = tables["compute"][tables["compute"]["source_kind"] == "offer"]
    html = plan_report_html(dataclasses.replace(run, tables=tables, messages=[]))
    assert _charts_in(html) == list(CHARTS)
    assert "No new sites built in this plan" in html
    assert "Candidate sites the plan does <b>not</b> build: fab-b." in html
    assert "All demand is met in every period" in html
    assert "No site's capacity limits the plan" in html
    assert "gpu (gpuco, bought)" in html and "acc (acme, own)" not in html


def test_period_labels_and_kinds() -> None:
    assert period_start("2025") == dt.date(2025, 1, 1)
    assert period_start("2025Q3") == dt.date(2025, 7, 1)
    assert period_start("2026-11") == dt.date(2026, 11, 1)
    with pytest.raises(StoreError, match="unknown period label"):
        period_start("Q3/2025")


def test_only_plan_runs_have_this_report(tmp_path: Path) -> None:
    store, run_id = store_fake_plan(tmp_path / "runs.duckdb")
    run = store.load_run(run_id)
    fab_run = dataclasses.replace(run, meta={**run.meta, "kind": "fab"})
    with pytest.raises(StoreError, match="made for plan runs only"):
        plan_report_html(fab_run)


def test_report_of_real_toy_plans(tmp_path: Path) -> None:
    """Real planner, real solver, real DuckDB file: yearly base case and quarterly variant."""
    base = _real_run(tmp_path / "runs.duckdb")
    assert base.status == "optimal"
    html = plan_report_html(base)
    assert _charts_in(html) == list(CHARTS)
    assert base.scenario.name in html and base.id in html
    # Every table the planner wrote came back from the store with its columns.
    assert set(base.tables) >= {"compute", "shares", "costs", "utilisation", "unmet"}
    assert not base.tables["compute"].empty

    quarterly = _real_run(tmp_path / "runs.duckdb", variant="no-gpu", period="quarter")
    qhtml = plan_report_html(quarterly)
    assert _charts_in(qhtml) == list(CHARTS)
    assert "2025Q1" in qhtml and "by quarter" in qhtml
    shares = quarterly.tables["shares"]
    caps = shares[(shares["kind"] == "vendor") & (shares["key"] == "gpuco")]["cap"]
    assert list(caps) == pytest.approx([0.1] * len(caps)) and len(caps) == 4
    assert '"name":"cap gpuco"' in qhtml  # the cap is drawn as its own (dashed) line


@pytest.mark.skipif(
    chromium() is None,
    reason="no chromium on PATH (CI installs Debian's chromium in .ci/run; "
    "locally: apt-get install -y chromium)",
)
@pytest.mark.parametrize("source", ["test-data", "real-plan"])
def test_report_renders_in_headless_chromium(tmp_path: Path, source: str) -> None:
    if source == "test-data":
        store, run_id = store_fake_plan(tmp_path / "runs.duckdb")
        run = store.load_run(run_id)
    else:
        run = _real_run(tmp_path / "runs.duckdb")
    page = tmp_path / "plan.html"
    page.write_text(plan_report_html(run), encoding="utf-8")
    dom, log = render_dom(page)
    # Plotly marks each graph div it has drawn with js-plotly-plot and puts SVGs inside it.
    drawn = re.findall(r'<div id="chart-([a-z_]+)" class="[^"]*js-plotly-plot[^"]*"', dom)
    assert drawn == list(CHARTS), (drawn, log[-2000:])
    pieces = re.split(r'<div id="chart-', dom)[1:]
    assert len(pieces) == len(CHARTS)
    for key, piece in zip(CHARTS, pieces, strict=True):
        assert 'class="main-svg"' in piece, key
    console = [line for line in log.splitlines() if ":CONSOLE" in line]
    assert not [c for c in console if "Uncaught" in c or "Error" in c], console
    assert "What the planner says" in dom or not run.messages
    assert pd.notna(run.created_at)
