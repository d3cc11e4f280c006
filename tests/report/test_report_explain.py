"""The plan report's programme and why-not sections, from a real stored plan."""

from __future__ import annotations

import re
from pathlib import Path

from tests.plan.test_explain import _programme_scenario

from fabnet.plan import plan
from fabnet.report import plan_report_html
from fabnet.report.fmt import money
from fabnet.store import Store


def test_programme_and_why_not_sections(tmp_path: Path) -> None:
    """fab-b (1 M USD) is built and the GPU left unused: the report charts the programme's
    fabs against its target and lists the GPU with the price at which it would enter."""
    scenario = _programme_scenario()
    result = plan(scenario)
    store = Store(tmp_path / "runs.duckdb")
    run_id = store.save_run(
        kind="plan",
        scenario=scenario,
        options={},
        status=result.status,
        timings_s=result.timings_s,
        summary=result.summary(),
        tables=result.tables(),
        messages=result.messages,
    )
    run = store.load_run(run_id)
    assert len(run.tables["programmes"]) == 9  # 3 kinds × 3 years
    html = plan_report_html(run)
    assert 'id="chart-programmes"' in html
    assert "Programmes: fabs built against their targets" in html
    assert re.search(r"<td>cluster</td><td>new production fabs</td><td class=\"num\">2027</td>"
                     r"<td class=\"num\">1</td><td class=\"num\">2</td>", html)  # fmt: skip
    wn = run.tables["why_not"]
    gpu = wn[wn["id"] == "gpu"].iloc[0]
    assert "Why not: what would make the plan use more" in html
    assert money(float(gpu.entry_price_usd)) in html
