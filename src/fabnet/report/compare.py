"""The comparison report of 2–6 stored plan runs (``fabnet report ID ID ... -o compare.html``).

Side by side: the key figures (those of ``fabnet runs compare``), the cost breakdown, the
vendor and country shares, compute in service and unmet demand, and the builds. Reads the
stored runs only, like the single-run report.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from fabnet.errors import Problem, StoreError
from fabnet.plan.tables import COST_CATEGORIES
from fabnet.report.fmt import compute, compute_unit, money, money_unit, percent, vendor_order
from fabnet.report.page import Card, Note, Num, Section, esc, page, table_html
from fabnet.report.plan import _LAYOUT, _SIDE_LEGEND, COST_COLOURS, _colours, _f, _table
from fabnet.store.record import RunRecord

#: How many runs one comparison page holds (beyond it the charts stop being readable).
MAX_RUNS = 6
#: One colour per run, in the order given (colour-blind safe, distinct from the cost colours).
RUN_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2")


def check_comparable(runs: Sequence[RunRecord]) -> None:
    """Refuse what a comparison page cannot show: fewer than 2 or more than 6 runs, or runs
    that are not all plan runs (a clear message naming each run's kind)."""
    if len(runs) < 2:
        raise StoreError(
            Problem(
                "a comparison report needs at least two different plan runs",
                hint="give 2 to 6 run ids: `fabnet report ID1 ID2 -o compare.html`",
            )
        )
    if len(runs) > MAX_RUNS:
        raise StoreError(
            Problem(
                f"a comparison report holds at most {MAX_RUNS} runs; {len(runs)} were given",
                hint="compare fewer runs per page, or use `fabnet runs compare` for a table",
            )
        )
    kinds = {r.kind for r in runs}
    if kinds != {"plan"}:
        listed = ", ".join(f"{r.id} ({r.kind})" for r in runs)
        raise StoreError(
            Problem(
                f"cannot compare runs of different kinds: {listed}",
                hint="a comparison report is made for plan runs only; give only plan run "
                "ids (`fabnet runs list --kind plan`)",
            )
        )


def run_labels(runs: Sequence[RunRecord]) -> list[str]:
    """A short label per run: its id and what sets it apart (variant, options, scenario)."""
    out = []
    names = {r.meta.get("scenario_name") for r in runs}
    for r in runs:
        bits = []
        if len(names) > 1:
            bits.append(str(r.meta.get("scenario_name")))
        variant = r.options.get("variant")
        if variant:
            bits.append(str(variant))
        sets = r.options.get("set")
        if sets:
            bits.append(", ".join(map(str, sets)) if isinstance(sets, list) else str(sets))
        if r.options.get("relax"):
            bits.append("relaxed")
        if r.options.get("terminal") == "none":
            bits.append("no salvage")
        out.append(r.id + (f" ({'; '.join(bits)})" if bits else ""))
    return out


def _figure_cell(name: str, v: Any) -> object:
    """A key figure in the report's units (conventions §13), exact value in the CSV."""
    if isinstance(v, float) and not math.isfinite(v):
        return "–"
    if isinstance(v, int | float) and not isinstance(v, bool):
        x = float(v)
        if "USD" in name:
            return Num(x, money(x))
        if "share" in name:
            return Num(x, percent(x))
        if "PFLOP/s·yr" in name:
            return Num(x, compute(x, per_year=True))
        if "PFLOP/s" in name:
            return Num(x, compute(x))
        if "(s)" in name:
            return Num(x, f"{x:.2f} s")
        return Num(x, f"{x:g}")
    if v is None or (isinstance(v, list | dict) and not v):
        return "–"
    return str(v)


def _figure_label(name: str) -> str:
    """A key figure's row label: a compute figure's cells name their own unit (PFLOP/s or
    EFLOP/s), so the label's unit becomes the unit of the CSV's exact values."""
    for unit in ("(PFLOP/s·yr)", "(PFLOP/s)"):
        if name.endswith(unit):
            return f"{name[: -len(unit)]}(CSV: {unit[1:-1]})"
    return name


def figures_section(runs: Sequence[RunRecord], figures: pd.DataFrame) -> Section:
    """The key figures of ``fabnet runs compare`` as a table, one column per run."""
    ids = [r.id for r in runs]
    names = [
        str(n)
        for n in figures.index
        if not str(n).startswith("time ") and str(n) != "fabnet version"
    ]
    # A figure only a later run has (e.g. a country only it starts wafers in) comes last in
    # the union of keys: keep it next to its family ("country share max/yr: …").
    family = {n: n.split(":")[0] for n in names}
    first: dict[str, int] = {}
    for i, n in enumerate(names):
        first.setdefault(family[n], i)
    names.sort(key=lambda n: first[family[n]])
    rows = [[_figure_label(n), *[_figure_cell(n, figures.loc[n, i]) for i in ids]] for n in names]
    caption = (
        "The key figures of each run (as `fabnet runs compare` prints them): objective "
        "(present value), spending, unmet compute summed over the years, compute "
        "in service in the last year, the largest yearly share of each vendor in new compute "
        "and of each country in logic wafers, and the builds."
    )
    extra = table_html(
        ["figure", *ids], rows, numeric=tuple(range(1, len(ids) + 1)), csv="key-figures"
    )
    return Section("figures", "Key figures", caption, None, extra)


def costs_section(runs: Sequence[RunRecord], labels: Sequence[str]) -> Section | Note:
    """Stacked bars of the total cost by category, one bar per run (undiscounted and PV)."""
    title = "Cost breakdown"
    frames = []
    for r in runs:
        c = _table(r, "costs")
        if not c.empty:
            g = c.groupby("category")[["cost_usd", "cost_pv_usd"]].sum().reset_index()
            frames.append(g.assign(run=r.id))
    if not frames:
        return Note(title, "no run has costs.")
    costs = pd.concat(frames, ignore_index=True)
    cats = [c for c in COST_CATEGORIES if c in set(costs["category"])]
    cats += sorted(set(costs["category"]) - set(cats))
    colours = _colours(c for c in cats if c not in COST_COLOURS) | COST_COLOURS
    ids = [r.id for r in runs]
    ticks = [lab.replace(" (", "<br>(", 1) for lab in labels]  # id, then what sets it apart
    pos = costs[costs["cost_usd"] > 0].groupby("run")["cost_usd"].sum()
    scale, unit = money_unit(float(pos.max()) if len(pos) else 0.0)
    fig = make_subplots(
        rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
        subplot_titles=("total, undiscounted", "present value (the objective)"),
    )  # fmt: skip
    for cat in cats:
        part = costs[costs["category"] == cat].set_index("run").reindex(ids)
        for col, field in ((1, "cost_usd"), (2, "cost_pv_usd")):
            vals = part[field].astype(float).fillna(0.0).to_numpy()
            if not (np.abs(vals) > 0).any():
                continue
            fig.add_trace(
                go.Bar(
                    x=ids, y=vals / scale, name=cat, legendgroup=cat, showlegend=col == 1,
                    marker_color=colours[cat],
                    hovertemplate=f"{cat} · %{{x}}: %{{y:,.3~f}} {unit}<extra></extra>",
                ),
                row=1, col=col,
            )  # fmt: skip
    fig.update_layout(**_LAYOUT, barmode="relative", height=500)
    fig.update_layout(legend=_SIDE_LEGEND)
    fig.update_yaxes(title_text=unit, row=1, col=1)
    fig.update_xaxes(type="category", tickmode="array", tickvals=ids, ticktext=ticks, tickangle=0)
    table = costs.pivot_table(index="category", columns="run", values="cost_pv_usd", aggfunc="sum")
    table = table.reindex(index=cats, columns=ids)
    rows: list[list[object]] = [
        [cat, *[Num(_f(table.loc[cat, i]), money(_f(table.loc[cat, i]))) for i in ids]]
        for cat in cats
    ]
    tot = table.sum(axis=0)
    rows.append(["total", *[Num(_f(tot[i]), money(_f(tot[i]))) for i in ids]])
    caption = (
        "What each run spends over the horizon, by category: left undiscounted, right the "
        "present value the planner minimises. Salvage (the credit for service after the "
        "horizon) is negative. Table: present value per category (USD)."
    )
    extra = table_html(
        ["category (present value)", *ids], rows, tuple(range(1, len(ids) + 1)), csv="costs-pv"
    )
    return Section("costs", title, caption, fig, extra)


def shares_section(runs: Sequence[RunRecord], labels: Sequence[str]) -> Section | Note:
    """Vendor shares of new compute and country shares of logic wafers, a line per run."""
    title = "Dependence: vendor and country shares"
    frames = [_table(r, "shares").assign(run=r.id) for r in runs]
    shares = pd.concat([f for f in frames if not f.empty] or [pd.DataFrame()], ignore_index=True)
    if shares.empty:
        return Note(title, "no run has shares.")
    shares["share"] = shares["share"].astype(float)
    designer = runs[0].scenario.designer if runs[0].scenario is not None else None
    vendors = vendor_order(shares.loc[shares["kind"] == "vendor", "key"].astype(str), designer)
    countries = sorted(set(shares.loc[shares["kind"] == "country", "key"].astype(str)))
    panels = [("vendor", v) for v in vendors] + [("country", c) for c in countries]
    panels = [
        (k, key)
        for k, key in panels
        if (
            shares.loc[(shares["kind"] == k) & (shares["key"].astype(str) == key), "share"] > 1e-9
        ).any()
    ]
    if not panels:
        return Note(title, "no run adds compute or starts wafers.")
    cols = min(4, len(panels))
    nrows = math.ceil(len(panels) / cols)
    fig = make_subplots(
        rows=nrows, cols=cols, shared_yaxes=True, vertical_spacing=0.16, horizontal_spacing=0.04,
        subplot_titles=[
            f"{key}: share of new compute" if k == "vendor" else f"{key}: share of logic wafers"
            for k, key in panels
        ],
    )  # fmt: skip
    for n, (kind, key) in enumerate(panels):
        row, col = n // cols + 1, n % cols + 1
        for i, (r, label) in enumerate(zip(runs, labels, strict=True)):
            part = shares[
                (shares["run"] == r.id)
                & (shares["kind"] == kind)
                & (shares["key"].astype(str) == key)
            ].sort_values("year")
            if part.empty:
                continue
            fig.add_trace(
                go.Scatter(
                    x=part["year"].astype(int), y=part["share"], name=label, legendgroup=r.id,
                    showlegend=n == 0, mode="lines+markers", marker={"size": 4},
                    line={"color": RUN_COLOURS[i % len(RUN_COLOURS)], "width": 2},
                    hovertemplate=f"{esc(r.id)} · {esc(key)} %{{x}}: %{{y:.0%}}<extra></extra>",
                ),
                row=row, col=col,
            )  # fmt: skip
    fig.update_layout(**_LAYOUT, height=140 + 250 * nrows)
    fig.update_layout(legend={"orientation": "h", "y": -0.08, "yanchor": "top", "x": 0})
    fig.update_yaxes(tickformat=".0%", range=[-0.02, 1.05])
    fig.update_xaxes(tickformat="d")
    caption = (
        "One panel per vendor (its share of the compute added each year; the designer's own "
        "chips first) and per country (its share of the designer's logic wafers), one line "
        "per run. A gap: that run adds no compute (or starts no wafers) that year."
    )
    return Section("shares", title, caption, fig)


def compute_section(runs: Sequence[RunRecord], labels: Sequence[str]) -> Section | Note:
    """Compute in service (solid) and unmet compute (dotted) per year, a colour per run."""
    title = "Compute in service and unmet demand"
    series = []
    for r in runs:
        years = [y for y in r.summary.get("years") or [] if isinstance(y, dict)]
        for y in years:
            inst = sum(_f(v) for v in (y.get("compute_pflops") or {}).values())
            series.append((r.id, int(y["year"]), inst, _f(y.get("unmet_pflops"))))
    if not series:
        return Note(title, "no run has yearly figures.")
    frame = pd.DataFrame(series, columns=["run", "year", "installed", "unmet"])
    scale, unit = compute_unit(frame["installed"])
    fig = make_subplots(
        rows=1, cols=2, horizontal_spacing=0.08,
        subplot_titles=(f"in service ({unit})", f"unmet ({unit})"),
    )  # fmt: skip
    for i, (r, label) in enumerate(zip(runs, labels, strict=True)):
        part = frame[frame["run"] == r.id]
        colour = RUN_COLOURS[i % len(RUN_COLOURS)]
        for col, field in ((1, "installed"), (2, "unmet")):
            fig.add_trace(
                go.Scatter(
                    x=part["year"], y=part[field] / scale, name=label, legendgroup=r.id,
                    showlegend=col == 1, mode="lines+markers", marker={"size": 4},
                    line={"color": colour, "width": 2, "dash": "solid" if col == 1 else "dot"},
                    hovertemplate=f"{esc(r.id)} %{{x}}: %{{y:,.3~f}} {unit}<extra></extra>",
                ),
                row=1, col=col,
            )  # fmt: skip
    fig.update_layout(**_LAYOUT, height=420)
    fig.update_layout(legend={"orientation": "h", "y": -0.15, "yanchor": "top", "x": 0})
    fig.update_yaxes(rangemode="tozero", tickformat=",")
    fig.update_xaxes(tickformat="d")
    caption = (
        "Compute in service (dense BF16, yearly mean; the installed base included) and the "
        "compute demand left unmet each year, per run."
    )
    return Section("compute", title, caption, fig)


def builds_section(runs: Sequence[RunRecord]) -> Section:
    """Which sites each run builds: start → online per run, a row per site."""
    ids = [r.id for r in runs]
    cells: dict[str, dict[str, str]] = {}
    for r in runs:
        b = _table(r, "builds")
        for rec in b.to_dict("records"):
            site = f"{rec['site']} ({rec.get('country', '')})"
            cells.setdefault(site, {})[r.id] = (
                f"{rec.get('start_period', '')} → {rec.get('online_period', '') or '…'}"
                f", {money(_f(rec.get('capex_usd')))}"
            )
    rows = [[site, *[by.get(i, "–") for i in ids]] for site, by in sorted(cells.items())]
    if not rows:
        rows = [["(no run builds a site)", *["–" for _ in ids]]]
    caption = (
        "Sites each run builds: construction start → first output, and the designer's capex; "
        "“–”: that run does not build the site."
    )
    return Section(
        "builds", "Builds", caption, None, table_html(["site", *ids], rows, csv="builds")
    )


def compare_report_html(runs: Sequence[RunRecord], figures: pd.DataFrame) -> str:
    """One self-contained HTML page comparing 2–6 plan runs; ``figures`` is
    :meth:`fabnet.store.Store.compare` of the same runs (one column per run id)."""
    check_comparable(runs)
    labels = run_labels(runs)
    names = sorted({str(r.meta.get("scenario_name")) for r in runs})
    cards = [Card("Runs", str(len(runs)), ", ".join(names))]
    for i, (r, label) in enumerate(zip(runs, labels, strict=True)):
        cards.append(
            Card(
                f"Run {i + 1}",
                money(_f(r.summary.get("objective_usd"))),
                f"{r.id} · {label[len(r.id) :].strip(' ()') or r.meta.get('scenario_name')}"
                f" · {r.status}",
                "status-optimal" if r.status == "optimal" else "status-bad",
            )
        )
    sections: list[Section | Note] = [
        figures_section(runs, figures),
        costs_section(runs, labels),
        shares_section(runs, labels),
        compute_section(runs, labels),
        builds_section(runs),
    ]
    subtitle = (
        f"{len(runs)} plan runs of {esc(', '.join(names))}: "
        + ", ".join(f"<code>{esc(r.id)}</code>" for r in runs)
        + ". Objective = present value of the plan's cost; colours of the lines follow the "
        "run order above."
    )
    return page(
        title="fabnet · comparison of plan runs",
        subtitle=subtitle,
        cards=cards,
        intro_html="",
        sections=sections,
    )
