"""Self-contained HTML reports of stored runs (plotly charts, opens offline)."""

from __future__ import annotations

from fabnet.report.plan import plan_report_html

__all__ = ["plan_report_html"]
