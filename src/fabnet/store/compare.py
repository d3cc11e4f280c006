"""Key figures of stored runs, side by side (``fabnet runs compare``).

For plan runs the figures come from the run's summary (the ``--json`` object of
``fabnet plan``), so comparing never reads the result tables.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from fabnet.plan.tables import vendor_order


def _years(summary: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    years = summary.get("years") or []
    return [y for y in years if isinstance(y, Mapping)]


def _num(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _max_share(years: Sequence[Mapping[str, Any]], field: str) -> dict[str, float]:
    """Largest yearly share per key (vendor or country) over the horizon."""
    out: dict[str, float] = {}
    for y in years:
        shares = y.get(field) or {}
        if isinstance(shares, Mapping):
            for key, share in shares.items():
                v = _num(share)
                if v is not None:
                    out[str(key)] = max(out.get(str(key), 0.0), v)
    return out


def key_figures(row: Mapping[str, Any]) -> dict[str, Any]:
    """Key figures of one ``runs`` row (JSON columns still as text), in display order.

    Plan runs: objective (discounted USD), total undiscounted cost, total unmet
    compute (PFLOP/s summed over years: PFLOP/s·yr), installed compute in the last year,
    the largest yearly share of new compute per vendor (in :func:`vendor_order`, the
    designer first when the row has a ``designer``) and of wafers per country, the
    builds (site, start → online period) and the step timings in seconds.
    """
    summary: dict[str, Any] = json.loads(row.get("summary_json") or "{}")
    options: dict[str, Any] = json.loads(row.get("options_json") or "{}")
    timings: dict[str, Any] = json.loads(row.get("timings_json") or "{}")
    messages: list[str] = json.loads(row.get("messages_json") or "[]")
    fig: dict[str, Any] = {
        "kind": row.get("kind"),
        "scenario": row.get("scenario_name"),
        "scenario hash": str(row.get("scenario_hash") or "")[:12],
        "created (UTC)": str(row.get("created_at"))[:19],
        "status": row.get("status"),
    }
    for key in sorted(options):
        fig[f"option {key}"] = options[key]
    years = _years(summary)
    if "objective_usd" in summary:
        fig["objective (PV, USD)"] = _num(summary.get("objective_usd"))
    if years:
        costs = [_num(y.get("cost_usd")) for y in years]
        fig["cost (undiscounted, USD)"] = sum(c for c in costs if c is not None)
        unmet = [_num(y.get("unmet_pflops")) for y in years]
        fig["unmet compute (PFLOP/s·yr)"] = sum(u for u in unmet if u is not None)
        last = years[-1]
        installed = last.get("compute_pflops") or {}
        if isinstance(installed, Mapping):
            total = sum(v for v in (_num(x) for x in installed.values()) if v is not None)
            fig[f"installed compute {last.get('year')} (PFLOP/s)"] = total
        vmax = _max_share(years, "vendor_share")
        designer = row.get("designer")
        for vendor in vendor_order(vmax, str(designer) if designer else None):
            fig[f"vendor share max/yr: {vendor}"] = vmax[vendor]
        for country, share in sorted(_max_share(years, "country_share").items()):
            fig[f"country share max/yr: {country}"] = share
    builds = summary.get("builds")
    if isinstance(builds, list):
        fig["builds"] = len(builds)
        fig["build schedule"] = (
            ", ".join(
                f"{b.get('site')} ({b.get('start_period')}→{b.get('online_period')})"
                for b in builds
                if isinstance(b, Mapping)
            )
            or "none"
        )
    if not years and "years" not in summary:
        # Other kinds of run: their scalar summary entries.
        for key, value in summary.items():
            if key != "run_id" and (value is None or isinstance(value, str | int | float | bool)):
                fig[key] = value
    fig["messages"] = len(messages)
    for step, secs in timings.items():
        fig[f"time {step} (s)"] = _num(secs)
    if timings:
        fig["time total (s)"] = sum(v for v in (_num(s) for s in timings.values()) if v is not None)
    fig["fabnet version"] = row.get("fabnet_version")
    return fig


def compare_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per figure (index ``figure``), one column per run id, in the order given."""
    figures = [key_figures(r) for r in rows]
    order: list[str] = []
    for f in figures:
        order.extend(k for k in f if k not in order)
    data = {str(r["id"]): [f.get(k) for k in order] for r, f in zip(rows, figures, strict=True)}
    frame = pd.DataFrame(data, index=pd.Index(order, name="figure"), dtype=object)
    return frame
