"""Self-contained HTML reports of stored runs (plotly charts, opens offline)."""

from __future__ import annotations

from fabnet.errors import StoreError
from fabnet.report.files import write_report
from fabnet.report.plan import plan_report_html
from fabnet.report.risk import risk_report_html
from fabnet.store import RunRecord

__all__ = ["plan_report_html", "report_html", "risk_report_html", "write_report"]


def report_html(run: RunRecord, risk: RunRecord | None = None) -> str:
    """The report of a stored run: a plan (with its latest risk run, when given) or a risk run."""
    if run.kind == "plan":
        return plan_report_html(run, risk=risk)
    if run.kind == "risk":
        return risk_report_html(run)
    raise StoreError(
        f"run {run.id} is a {run.kind} run; HTML reports are made for plan and risk runs"
    )
