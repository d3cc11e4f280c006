"""Report sections of a stochastic plan and the page of a risk–cost frontier.

A stochastic plan run stores a ``stochastic`` object in its summary (docs/stochastic.md):
in-sample figures, RP/EEV/WS, VSS and EVPI, the deterministic plan's figures and first
stage, and the out-of-sample check. These sections show what hedging buys and which
first-stage decisions change. :func:`frontier_report_html` draws the points of
``fabnet frontier``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from fabnet.report.fmt import compute, money
from fabnet.report.page import Card, Section, esc, page, table_html
from fabnet.store import RunRecord

_DET = "#6b7280"
_STO = "#2563eb"


def _f(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def _layout(fig: go.Figure, height: int, x: str, y: str) -> go.Figure:
    fig.update_layout(
        height=height, margin={"l": 60, "r": 20, "t": 10, "b": 50}, xaxis_title=x,
        yaxis_title=y, plot_bgcolor="#fff", legend={"orientation": "h", "y": -0.25},
    )  # fmt: skip
    fig.update_xaxes(gridcolor="#eef0f3")
    fig.update_yaxes(gridcolor="#eef0f3")
    return fig


def _starts(first_stage: Mapping[str, Any] | None) -> dict[str, str]:
    builds = (first_stage or {}).get("builds") or []
    return {
        str(b.get("site")): str(b.get("start_period")) for b in builds if isinstance(b, Mapping)
    }


def stochastic_sections(run: RunRecord) -> list[Section]:
    """What hedging buys (in and out of sample) and the first stage, deterministic vs
    stochastic; empty for a plan that is not stochastic."""
    sto = run.summary.get("stochastic")
    if not isinstance(sto, Mapping):
        return []
    det = sto.get("deterministic") or {}
    oos = sto.get("out_of_sample") or {}
    figures: list[tuple[str, float, float]] = [
        ("expected cost<br>in sample", _f(det.get("eev_usd")), _f(sto.get("expected_cost_usd"))),
        ("CVaR95 of cost<br>in sample", _f(det.get("cvar95_cost_usd")),
         _f(sto.get("cvar95_cost_usd"))),
    ]  # fmt: skip
    for mode in ("recourse", "anticipative"):
        d, s = oos.get("deterministic") or {}, oos.get("stochastic") or {}
        if d and s:
            figures.append((f"expected cost<br>out of sample<br>({mode})",
                            _f(d.get(f"{mode}_expected_cost_usd")),
                            _f(s.get(f"{mode}_expected_cost_usd"))))  # fmt: skip
            figures.append((f"CVaR95 of cost<br>out of sample<br>({mode})",
                            _f(d.get(f"{mode}_cvar95_cost_usd")),
                            _f(s.get(f"{mode}_cvar95_cost_usd"))))  # fmt: skip
    labels = [f[0] for f in figures]
    fig = go.Figure(
        [
            go.Bar(name="deterministic plan", x=labels, y=[f[1] / 1e9 for f in figures],
                   marker_color=_DET),
            go.Bar(name="stochastic plan", x=labels, y=[f[2] / 1e9 for f in figures],
                   marker_color=_STO),
        ]
    )  # fmt: skip
    fig.update_layout(barmode="group")
    rows = [
        ("RP: the stochastic plan's objective", money(_f(sto.get("rp_usd")))),
        ("EEV: the deterministic plan on the same scenarios", money(_f(sto.get("eev_usd")))),
        ("WS: each scenario with its own first stage (mean)", money(_f(sto.get("ws_usd")))),
        ("VSS = EEV − RP", money(_f(sto.get("vss_usd")))),
        (
            "EEV of the mean-value plan (the scenarios' mean multipliers)",
            money(_f((sto.get("mean_value") or {}).get("eev_usd"))),
        ),
        (
            "VSS against the mean-value plan",
            money(_f((sto.get("mean_value") or {}).get("vss_usd"))),
        ),
        ("EVPI = RP − WS", money(_f(sto.get("evpi_usd")))),
    ]
    n = int(_f(sto.get("scenarios")) or 0)
    omega = _f(sto.get("risk_aversion"))
    caption = (
        f"The plan whose builds and ports are shared by {n} sampled disruption scenarios "
        f"(risk aversion ω = {omega:g}), against the deterministic plan, in bn USD (present "
        "value, unmet penalty included). In sample: the scenarios it was made on. Out of "
        "sample: fresh samples evaluated by the risk engine — with the flows before a "
        "sample's first event as planned (recourse) or re-optimised from the start "
        "(anticipative, like the model). VSS is what planning for the disruptions saves; "
        "EVPI what knowing them in advance would."
    )
    hedging = Section(
        "stochastic", "Stochastic plan: what hedging buys", caption,
        _layout(fig, 360, "", "bn USD"), table_html(["measure", "value"], rows, (1,), csv="stochastic-measures"),
    )  # fmt: skip
    det_starts = _starts(det.get("first_stage"))
    sto_starts = _starts(sto.get("first_stage"))
    sites = sorted(set(det_starts) | set(sto_starts))
    brows = [
        (
            s,
            det_starts.get(s, "not built"),
            sto_starts.get(s, "not built"),
            "same" if det_starts.get(s) == sto_starts.get(s) else "changed",
        )
        for s in sites
    ]
    gantt = go.Figure()
    for name, starts, colour, offset in (
        ("deterministic", det_starts, _DET, -0.15),
        ("stochastic", sto_starts, _STO, 0.15),
    ):
        ys = [sites.index(s) + offset for s in starts]
        xs = [int(str(v)[:4]) if str(v)[:4].isdigit() else None for v in starts.values()]
        gantt.add_trace(go.Scatter(x=xs, y=ys, mode="markers", name=name,
                                   marker={"color": colour, "size": 11, "symbol": "diamond"},
                                   text=list(starts), hovertemplate="%{text}: %{x}"
                                   "<extra>" + name + "</extra>"))  # fmt: skip
    gantt.update_yaxes(tickvals=list(range(len(sites))), ticktext=sites)
    first = Section(
        "first-stage",
        "First stage: deterministic vs stochastic",
        "The build starts of each plan (a diamond per plan and site; a missing diamond: not "
        "built). Sites the stochastic plan builds earlier or instead are its insurance.",
        _layout(gantt, 140 + 26 * max(1, len(sites)), "start year", "") if sites else None,
        table_html(["site", "deterministic", "stochastic", ""], brows, csv="first-stage")
        if brows
        else "",
    )
    return [hedging, first]


def frontier_report_html(scenario: str, points: Sequence[Mapping[str, Any]]) -> str:
    """A page with the risk–cost frontier: expected cost against CVaR95 of unmet compute."""
    pts = sorted(points, key=lambda p: _f(p.get("risk_aversion")))
    x = [_f(p.get("cvar95_unmet_pflops")) for p in pts]
    y = [_f(p.get("expected_cost_usd")) / 1e9 for p in pts]
    w = [f"ω = {_f(p.get('risk_aversion')):.2f}" for p in pts]
    fig = go.Figure(
        go.Scatter(x=x, y=y, mode="lines+markers+text", text=w, textposition="top center",
                   marker={"color": _STO, "size": 10}, line={"color": _STO},
                   hovertemplate="%{text}: CVaR95 unmet %{x:,.0f} PFLOP/s, E[cost] "
                   "%{y:,.1f} bn USD<extra></extra>")
    )  # fmt: skip
    rows = [
        (
            f"{_f(p.get('risk_aversion')):.2f}",
            money(_f(p.get("expected_cost_usd"))),
            money(_f(p.get("cvar95_cost_usd"))),
            compute(_f(p.get("cvar95_unmet_pflops"))),
            ", ".join(
                f"{b.get('site')} ({b.get('start_period')})"
                for b in (p.get("first_stage") or {}).get("builds", [])
            )
            or "none",
            str(p.get("run_id") or "–"),
        )
        for p in pts
    ]
    section = Section(
        "frontier",
        "Risk–cost frontier",
        "Each point is a stochastic plan with risk aversion ω (objective (1 − ω)·E[cost] + "
        "ω·CVaR95[cost]): how much expected cost buys how much less unmet compute in the worst "
        "5 % of scenarios. Points to the left are safer, points below are cheaper.",
        _layout(fig, 420, "CVaR95 of unmet compute (PFLOP/s)", "expected cost (bn USD)"),
        table_html(
            ["ω", "E[cost]", "CVaR95 cost", "CVaR95 unmet", "builds", "run"],
            rows,
            (1, 2, 3),
            csv="frontier",
        ),
    )
    cards = [Card("points", str(len(pts)))]
    if pts:
        cards += [
            Card("cheapest E[cost]", money(min(y) * 1e9)),
            Card("lowest CVaR95 unmet", compute(min(x))),
        ]
    return page(
        title=f"fabnet frontier · {scenario}",
        subtitle=f"Risk–cost frontier of scenario <b>{esc(scenario)}</b>",
        cards=cards,
        intro_html="",
        sections=[section],
    )
