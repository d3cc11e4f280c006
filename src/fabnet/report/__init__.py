"""Self-contained HTML reports of stored runs (plotly charts, opens offline)."""

from __future__ import annotations

from fabnet.report.files import write_report
from fabnet.report.plan import plan_report_html

__all__ = ["plan_report_html", "write_report"]
