"""The plan's read-out vocabulary: its cost categories and the columns of its tidy tables.

One source for the planner (:mod:`fabnet.plan.solution`), the CLI and the report; it
imports nothing, so the CLI and the report read a stored plan without loading linopy.
"""

from __future__ import annotations

from collections.abc import Iterable

#: Cost categories of ``Plan.costs``, in the order they are shown.
COST_CATEGORIES = (
    "wafers",
    "hbm",
    "packaging",
    "assembly",
    "design_partner",
    "gpus",
    "energy",
    "capex",
    "porting",
    "unmet_penalty",
    "salvage",
)

TABLE_COLUMNS: dict[str, list[str]] = {
    "supply": [
        "period", "year", "source_kind", "source", "vendor", "site", "process", "country",
        "wafers", "good_dies", "units", "pflops_added",
    ],
    "compute": [
        "period", "year", "source", "source_kind", "vendor", "pflops_installed", "pflops_added",
    ],
    "shares": ["year", "kind", "key", "share", "cap"],
    "costs": ["year", "category", "cost_usd", "cost_pv_usd"],
    "builds": [
        "site", "name", "country", "tags", "start_period", "online_period", "full_period",
        "capex_usd", "capacity_wspm", "fraction",
    ],
    "utilisation": [
        "period", "year", "site", "site_kind", "country", "capacity_wafers", "used_wafers",
        "utilization",
    ],
    "shadow_prices": ["period", "year", "site", "usd_per_wafer", "source"],
    "unmet": ["period", "year", "demand_id", "kind", "required", "delivered", "unmet"],
    "binding": ["policy", "year", "period", "slack", "dual_usd", "message"],
    "why_not": [
        "kind", "id", "detail", "period", "year", "current_usd", "entry_price_usd",
        "entry_cost_usd", "unit",
    ],
    "programmes": ["programme", "year", "kind", "built", "target"],
    # --lead-times load (empty otherwise): per site with a clearing function and period
    "clearing": [
        "period", "year", "site", "capacity_wafers", "starts_wafers", "output_wafers", "load",
        "wip_wafers", "cycle_time_days", "raw_process_days", "flow_factor",
    ],
    # ... and the operating-curve points of those sites, with the fit's flow factor
    "clearing_curve": ["site", "load", "throughput_frac", "flow_factor", "fitted_flow_factor"],
}  # fmt: skip


def vendor_order(vendors: Iterable[object], designer: str | None = None) -> list[str]:
    """Vendors in the one order every table and chart uses: the designer first, then the
    others by name (conventions §13). ``vendors`` is any iterable of names; repeats dropped."""
    names = sorted({str(v) for v in vendors})
    if designer is not None and designer in names:
        names.remove(designer)
        names.insert(0, designer)
    return names


#: A build with ``fraction`` below ``1 - FRACTIONAL_TOL`` is part of a fab: only the LP
#: relaxation (``--relax``) makes those, and every read-out says so.
FRACTIONAL_TOL = 1e-6


def is_fractional(fraction: object) -> bool:
    """Whether a ``builds`` row's ``fraction`` is part of a fab (missing in old runs: no)."""
    try:
        value = float(fraction)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return value == value and value < 1.0 - FRACTIONAL_TOL


def fraction_text(fraction: object) -> str:
    """``0.37 of a fab (relaxed)`` for part of a fab, ``""`` for a whole one."""
    if not is_fractional(fraction):
        return ""
    return f"{float(fraction):.2f} of a fab (relaxed)"  # type: ignore[arg-type]
