"""HTML report of a stored risk run: distributions, fan chart, events, criticality, convergence.

Reads only the run's tables (columns as in :data:`fabnet.risk.run.RISK_TABLE_COLUMNS`) and
summary; no model code. Every chart has a caption saying how to read it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import plotly.graph_objects as go

from fabnet.errors import StoreError
from fabnet.report.fmt import compute, money, percent
from fabnet.report.page import Card, Section, esc, page, table_html
from fabnet.store import RunRecord

_BLUE = "#2563eb"
_RED = "#b91c1c"
_GREY = "#6b7280"


def _f(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v


def _layout(fig: go.Figure, height: int, x: str, y: str) -> go.Figure:
    fig.update_layout(
        height=height,
        margin={"l": 60, "r": 20, "t": 10, "b": 50},
        xaxis_title=x,
        yaxis_title=y,
        plot_bgcolor="#fff",
        legend={"orientation": "h", "y": -0.2},
        hovermode="closest",
    )
    fig.update_xaxes(gridcolor="#eef0f3", zeroline=False)
    fig.update_yaxes(gridcolor="#eef0f3", zeroline=False)
    return fig


def _empty(text: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=text, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_layout(height=140, xaxis={"visible": False}, yaxis={"visible": False})
    return fig


def _cdf(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted values and their empirical CDF (step points), at most ~2,000 points."""
    v = np.sort(values[np.isfinite(values)])
    n = v.size
    if n == 0:
        return v, v
    p = np.arange(1, n + 1) / n
    if n > 2000:
        keep = np.unique(np.linspace(0, n - 1, 2000).round().astype(int))
        v, p = v[keep], p[keep]
    return v, p


def _cdf_section(
    run: RunRecord, key: str, column: str, title: str, unit: str, scale: float
) -> Section:
    samples = run.table("samples")
    s = run.summary
    alpha = _f(s.get("alpha", 0.95))
    if samples.empty or column not in samples:
        return Section(key, title, "No samples were stored.", _empty("no samples"))
    v, p = _cdf(samples[column].to_numpy(dtype=float) / scale)
    fig = go.Figure(go.Scatter(x=v, y=p, mode="lines", line={"shape": "hv", "color": _BLUE},
                               name="samples", hovertemplate="%{x:,.4g}: P ≤ %{y:.3f}<extra></extra>"))  # fmt: skip
    marks = {
        "cost_pv_usd": (
            ("plan (no disruption)", s.get("baseline_cost_usd"), _GREY),
            ("mean", s.get("expected_cost_usd"), _BLUE),
            (f"CVaR{alpha * 100:.0f}", s.get("cvar95_cost_usd"), _RED),
        ),
        "unmet_pflops": (
            ("mean", s.get("expected_unmet_pflops"), _BLUE),
            (f"CVaR{alpha * 100:.0f}", s.get("cvar95_unmet_pflops"), _RED),
        ),
    }.get(column, ())
    for name, value, colour in marks:
        x = _f(value) / scale
        if math.isfinite(x):
            fig.add_vline(x=x, line={"color": colour, "dash": "dot"}, annotation_text=name,
                          annotation_position="top left")  # fmt: skip
    caption = (
        f"Share of the {len(samples):,} samples (y) whose {title.lower()} is at most x. "
        f"Dotted lines: the mean and the CVaR{alpha * 100:.0f} (the mean of the worst "
        f"{(1 - alpha) * 100:.0f} % of samples)."
    )
    return Section(key, title, caption, _layout(fig, 340, unit, "share of samples ≤ x"))


def cost_section(run: RunRecord) -> Section:
    """Empirical CDF of the samples' cost (present value, unmet penalty included)."""
    return _cdf_section(run, "cost", "cost_pv_usd", "Cost of the plan under disruption",
                        "bn USD (present value, unmet penalty included)", 1e9)  # fmt: skip


def unmet_section(run: RunRecord) -> Section:
    """Empirical CDF of the samples' unmet compute (mean over the horizon)."""
    return _cdf_section(run, "unmet", "unmet_pflops", "Unmet compute",
                        "PFLOP/s unmet (mean over the horizon)", 1.0)  # fmt: skip


def fan_section(run: RunRecord) -> Section:
    """Unmet compute per year: P5–P95 and P25–P75 bands around the median and mean."""
    fan = run.table("unmet_years")
    title = "Unmet compute per year"
    if fan.empty:
        return Section("fan", title, "No samples were stored.", _empty("no samples"))
    fan = fan.sort_values("year")
    x = fan["year"].astype(int).tolist()
    fig = go.Figure()
    for lo, hi, name, opacity in (("p5", "p95", "P5–P95", 0.18), ("p25", "p75", "P25–P75", 0.35)):
        fig.add_trace(go.Scatter(x=x, y=fan[hi], mode="lines", line={"width": 0},
                                 showlegend=False, hoverinfo="skip"))  # fmt: skip
        fig.add_trace(
            go.Scatter(x=x, y=fan[lo], mode="lines", line={"width": 0}, fill="tonexty",
                       fillcolor=f"rgba(37,99,235,{opacity})", name=name,
                       customdata=fan[[lo, hi]].to_numpy(),
                       hovertemplate="%{x}: %{customdata[0]:,.0f}–%{customdata[1]:,.0f} PFLOP/s"
                       "<extra>" + name + "</extra>")
        )  # fmt: skip
    fig.add_trace(go.Scatter(x=x, y=fan["p50"], mode="lines", line={"color": _BLUE},
                             name="median"))  # fmt: skip
    fig.add_trace(go.Scatter(x=x, y=fan["mean"], mode="lines",
                             line={"color": _RED, "dash": "dot"}, name="mean"))  # fmt: skip
    caption = (
        "PFLOP/s of compute demand left unmet, yearly mean over the year's periods, across "
        "samples: the shaded bands hold the middle 90 % and 50 % of samples. A wide band far "
        "above zero in some years means the plan is exposed then."
    )
    return Section("fan", title, caption, _layout(fig, 360, "year", "unmet PFLOP/s"))


def events_section(run: RunRecord) -> Section:
    """Contribution of each event type: samples hit and expected unmet compute."""
    ev = run.table("by_event")
    title = "Contribution by event type"
    if ev.empty:
        return Section("events", title, "No event was drawn.", _empty("no events drawn"))
    ev = ev.sort_values("expected_unmet_pflops", ascending=True)
    fig = go.Figure(
        go.Bar(
            y=ev["event"], x=ev["expected_unmet_pflops"], orientation="h", marker_color=_BLUE,
            customdata=np.stack([ev["samples_hit"], ev["expected_cost_usd"] / 1e9], axis=1),
            hovertemplate="%{y}: %{x:,.0f} PFLOP/s unmet when hit; %{customdata[0]:,} samples "
            "hit; mean cost %{customdata[1]:,.1f} bn USD<extra></extra>",
        )
    )  # fmt: skip
    rows = [
        (
            r["event"],
            f"{int(r['samples_hit']):,}",
            compute(_f(r["expected_unmet_pflops"])),
            money(_f(r["expected_cost_usd"])),
        )
        for r in ev.sort_values("expected_unmet_pflops", ascending=False).to_dict("records")
    ]
    caption = (
        "For each event type of the catalogue: the mean unmet compute (horizon mean, PFLOP/s) "
        "over the samples in which it occurred at least once. Samples often hold several "
        "events, so the bars overlap and do not add up."
    )
    extra = table_html(
        ["event", "samples hit", "mean unmet when hit", "mean cost when hit"], rows, (1, 2, 3),
        csv=f"events-{run.id}",
    )  # fmt: skip
    return Section(
        "events", title, caption, _layout(fig, 120 + 28 * len(ev), "unmet PFLOP/s", ""), extra
    )


def stress_section(run: RunRecord) -> Section:
    """Each site or supplier knocked out alone: time to survive and lost compute."""
    st = run.table("stress")
    title = "Criticality: each site or supplier out alone"
    if st.empty:
        return Section(
            "stress",
            title,
            "No stress test in this run (<code>fabnet risk RUN_ID --stress</code> adds one).",
            None,
        )
    harmless = st[(st["lost_pflops_years"] <= 1e-9) & (st["extra_cost_usd"].abs() <= 1.0)]
    st = st.drop(harmless.index)
    note = (
        f'<p class="caption">No compute lost and no extra cost when out alone '
        f"({len(harmless)}): {esc(', '.join(sorted(harmless['target'].astype(str))))}.</p>"
        if len(harmless)
        else ""
    )
    if st.empty:
        return Section("stress", title, "No site or supplier out alone loses any compute.", None,
                       note)  # fmt: skip
    st = st.sort_values("lost_pflops_years", ascending=True).tail(40)
    label = st["kind"].astype(str) + " " + st["target"].astype(str)
    fig = go.Figure(
        go.Bar(
            y=label, x=st["lost_pflops_years"], orientation="h", marker_color=_RED,
            customdata=st[["time_to_survive_days"]].to_numpy(),
            hovertemplate="%{y}: %{x:,.0f} PFLOP/s·yr lost; survives %{customdata[0]:,.0f} "
            "days<extra></extra>",
        )
    )  # fmt: skip
    rows = [
        (
            r["kind"],
            r["target"],
            "never short" if not math.isfinite(_f(r["time_to_survive_days"]))
            else f"{_f(r['time_to_survive_days']):,.0f} d",
            compute(_f(r["lost_pflops_years"]), per_year=True),
            money(_f(r.get("extra_cost_usd"))),
        )
        for r in st.sort_values("lost_pflops_years", ascending=False).to_dict("records")
    ]  # fmt: skip
    caption = (
        "Time-to-survive analysis (Simchi-Levi et al. 2015): each production site and each HBM "
        "or packaging supplier is taken out alone for its recovery time and the plan's flows "
        "are re-optimised. Bars: compute lost (PFLOP/s·yr of extra unmet demand); hover for "
        "the time to survive (days from the outage until demand first goes unmet)."
    )
    extra = table_html(
        ["kind", "target", "time to survive", "lost compute", "extra cost"], rows, (2, 3, 4),
        csv=f"stress-{run.id}",
    )  # fmt: skip
    return Section(
        "stress",
        title,
        caption,
        _layout(fig, 140 + 24 * len(st), "PFLOP/s·yr lost", ""),
        extra + note,
    )


def convergence_section(run: RunRecord) -> Section:
    """Running estimates of the mean and CVaR against the number of samples."""
    cv = run.table("convergence")
    title = "Convergence"
    if cv.empty:
        return Section("convergence", title, "No convergence figures.", _empty("no figures"))
    fig = go.Figure()
    for col, name, colour in (
        ("mean_cost_usd", "mean cost", _BLUE),
        ("cvar_cost_usd", "CVaR cost", _RED),
    ):
        fig.add_trace(go.Scatter(x=cv["n"], y=cv[col] / 1e9, mode="lines+markers",
                                 name=name, line={"color": colour}))  # fmt: skip
    fig.update_xaxes(type="log")
    caption = (
        "Estimates from the first n samples (bn USD, present value). Flat lines on the right "
        "mean more samples would not change the figures; the summary's standard errors say "
        "by how much they may still be off."
    )
    return Section("convergence", title, caption, _layout(fig, 300, "samples", "bn USD"))


def risk_cards(run: RunRecord) -> list[Card]:
    """The key figures of a risk run, each with its standard error."""
    s = run.summary
    se = s.get("std_errors", {}) or {}
    alpha = _f(s.get("alpha", 0.95))
    a = f"{alpha * 100:.0f}"

    def pm(key: str, fmt: Any) -> str:
        v = _f(se.get(key))
        return f"± {fmt(v)} (1 SE)" if math.isfinite(v) else ""

    return [
        Card("samples", f"{int(s.get('samples', 0)):,}", f"{s.get('method', '')} recourse"),
        Card(
            "expected cost", money(_f(s.get("expected_cost_usd"))), pm("expected_cost_usd", money)
        ),
        Card(f"CVaR{a} cost", money(_f(s.get("cvar95_cost_usd"))), pm("cvar95_cost_usd", money)),
        Card(
            "expected unmet",
            compute(_f(s.get("expected_unmet_pflops"))),
            pm("expected_unmet_pflops", compute),
        ),
        Card(
            f"CVaR{a} unmet",
            compute(_f(s.get("cvar95_unmet_pflops"))),
            pm("cvar95_unmet_pflops", compute),
        ),
        Card(
            "P(service ≥ 95 %)",
            percent(_f(s.get("p_service_95"))),
            pm("p_service_95", percent),
        ),
    ]


def plan_risk_sections(run: RunRecord) -> list[Section]:
    """The risk run's key charts for the plan report, titled with the run they come from."""
    s = run.summary
    tag = (
        f" (risk run {run.id}: {int(s.get('samples', 0)):,} samples, "
        f"{s.get('method', '')} recourse)"
    )
    cost = _cdf_section(run, "risk-cost", "cost_pv_usd", "Risk: cost under disruption",
                        "bn USD (present value, unmet penalty included)", 1e9)  # fmt: skip
    fan = fan_section(run)
    events = events_section(run)
    out = [
        Section(cost.key, cost.title + tag, cost.caption, cost.figure, cost.extra_html),
        Section("risk-fan", "Risk: unmet compute per year" + tag, fan.caption, fan.figure),
        Section("risk-events", "Risk: contribution by event type", events.caption,
                events.figure, events.extra_html),
    ]  # fmt: skip
    if not run.table("stress").empty:
        st = stress_section(run)
        out.append(Section("risk-stress", "Risk: " + st.title, st.caption, st.figure,
                           st.extra_html))  # fmt: skip
    return out


def risk_report_html(run: RunRecord) -> str:
    """One self-contained HTML page for a risk run (plotly.js inlined, opens offline)."""
    if run.kind != "risk":
        raise StoreError(f"run {run.id} is a {run.kind} run, not a risk run")
    s = run.summary
    scen = run.scenario
    name = scen.name if scen is not None else str(run.meta.get("scenario_name", ""))
    events = s.get("events") or []
    subtitle = (
        f"Monte Carlo of plan <code>{esc(s.get('plan_run_id', ''))}</code> of scenario "
        f"<b>{esc(name)}</b> · run <code>{esc(run.id)}</code> · "
        f"{run.created_at:%Y-%m-%d %H:%M} UTC · seed {esc(s.get('seed', ''))} · "
        f"{esc(s.get('method', ''))} recourse · events: "
        f"{esc(', '.join(map(str, events)) if events else 'the whole catalogue')}"
    )
    intro = ""
    if run.messages:
        items = "".join(f"<li>{esc(m)}</li>" for m in run.messages)
        intro = f'<section id="notes"><h2>Notes</h2><ul class="msgs">{items}</ul></section>'
    sections = [
        cost_section(run),
        unmet_section(run),
        fan_section(run),
        events_section(run),
        stress_section(run),
        convergence_section(run),
    ]  # fmt: skip
    return page(
        title=f"fabnet risk · {name}",
        subtitle=subtitle,
        cards=risk_cards(run),
        intro_html=intro,
        sections=sections,
    )
