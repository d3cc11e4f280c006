"""Self-contained HTML reports of stored runs (plotly charts, opens offline).

The names are loaded on first use, so that importing :mod:`fabnet.report.fmt` (the CLI's
number formats) does not load plotly and the planner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fabnet.store import RunRecord

__all__ = ["plan_report_html", "report_html", "risk_report_html", "write_report"]


def __getattr__(name: str) -> Any:
    if name == "plan_report_html":
        from fabnet.report.plan import plan_report_html

        return plan_report_html
    if name == "risk_report_html":
        from fabnet.report.risk import risk_report_html

        return risk_report_html
    if name == "write_report":
        from fabnet.report.files import write_report

        return write_report
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def report_html(run: RunRecord, risk: RunRecord | None = None) -> str:
    """The report of a stored run: a plan (with its latest risk run, when given) or a risk run."""
    from fabnet.errors import StoreError
    from fabnet.report.plan import plan_report_html
    from fabnet.report.risk import risk_report_html

    if run.kind == "plan":
        return plan_report_html(run, risk=risk)
    if run.kind == "risk":
        return risk_report_html(run)
    raise StoreError(
        f"run {run.id} is a {run.kind} run; HTML reports are made for plan and risk runs"
    )
