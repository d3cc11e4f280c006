"""The HTML report of a plan run: what the plan buys and builds, what it costs, what binds.

Reads only the stored run (:class:`fabnet.store.RunRecord`): the plan's tidy
tables (columns as documented on :class:`fabnet.plan.Plan`), its summary and
its scenario. One chart per question a planner asks, each with a caption that
says how to read it.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative, sequential
from plotly.subplots import make_subplots

from fabnet.errors import StoreError
from fabnet.plan.tables import COST_CATEGORIES, TABLE_COLUMNS, fraction_text
from fabnet.report.fmt import (
    compute,
    compute_unit,
    money,
    money_unit,
    number,
    percent,
    vendor_order,
)
from fabnet.report.page import Card, Note, Num, Section, esc, page, table_html
from fabnet.scenario import Period, Scenario, period_labels, period_midpoints, series_at
from fabnet.store.record import RunRecord

#: Colours of the cost categories (their order is :data:`fabnet.plan.tables.COST_CATEGORIES`).
COST_COLOURS: dict[str, str] = {
    "wafers": "#4c78a8",
    "hbm": "#72b7b2",
    "packaging": "#54a24b",
    "assembly": "#b0c97a",
    "gpus": "#f58518",
    "energy": "#eeca3b",
    "capex": "#9d755d",
    "porting": "#b279a2",
    "unmet_penalty": "#e45756",
    "design_partner": "#8f6bb3",
    "salvage": "#9a9a9a",
}
_PALETTE = qualitative.Plotly + qualitative.D3
#: Legend to the right of the plot, top to bottom (for charts with many series).
_SIDE_LEGEND: dict[str, Any] = {
    "orientation": "v",
    "yanchor": "top",
    "y": 1.0,
    "x": 1.01,
    "xanchor": "left",
}
_LAYOUT: dict[str, Any] = {
    "template": "plotly_white",
    "margin": {"l": 70, "r": 30, "t": 30, "b": 50},
    "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
    "hovermode": "closest",
    "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 13},
}


# Periods ---------------------------------------------------------------------------------

_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")


def period_start(label: str) -> dt.date:
    """First day of a period label: ``2025`` → 1 Jan 2025, ``2025Q3`` → 1 Jul, ``2025-03``."""
    label = str(label)
    if m := _YEAR.match(label):
        return dt.date(int(m.group(1)), 1, 1)
    if m := _QUARTER.match(label):
        return dt.date(int(m.group(1)), 3 * (int(m.group(2)) - 1) + 1, 1)
    if m := _MONTH.match(label):
        return dt.date(int(m.group(1)), int(m.group(2)), 1)
    raise StoreError(f"unknown period label {label!r} in the stored plan")


def _scenario(run: RunRecord) -> Scenario:
    """The scenario of a plan run (plan runs always store theirs)."""
    if run.scenario is None:
        raise StoreError(f"run {run.id} has no scenario; the HTML report is made for plan runs")
    return run.scenario


def _period(run: RunRecord) -> Period:
    opt = run.options.get("period")
    try:
        return Period(opt) if opt else _scenario(run).horizon.period
    except ValueError:
        return _scenario(run).horizon.period


def _period_order(run: RunRecord, seen: Iterable[Any]) -> list[str]:
    """Period labels of the horizon in time order, plus any other label seen (sorted)."""
    labels = period_labels(_scenario(run).horizon, _period(run))
    extra = sorted({str(s) for s in seen} - set(labels))
    return labels + extra


def _table(run: RunRecord, name: str) -> pd.DataFrame:
    """A plan table with every column of the planner's contract (missing ones empty).

    A run stored by an older fabnet may lack a column added since; the report then shows
    what it has instead of failing.
    """
    frame = run.table(name)
    columns = TABLE_COLUMNS.get(name, [])
    missing = [c for c in columns if c not in frame.columns]
    if not missing:
        return frame
    return frame.assign(**dict.fromkeys(missing, np.nan))


def _present(order: Sequence[str], seen: pd.Series) -> list[str]:
    """The labels of ``order`` that occur in ``seen``, in order."""
    have = set(seen.astype(str))
    return [p for p in order if p in have]


#: Up to this many periods the x axis shows each period label; beyond it, a time axis.
_MAX_CATEGORIES = 30


def _xs(run: RunRecord, periods: Sequence[str]) -> list[str]:
    """x values for period labels: the labels, or (many periods) each period's middle date."""
    if len(periods) <= _MAX_CATEGORIES:
        return list(periods)
    half = dt.timedelta(days=365.25 * _period(run).years / 2)
    return [(period_start(p) + half).isoformat() for p in periods]


def _period_axis(run: RunRecord, periods: Sequence[str]) -> dict[str, Any]:
    """x-axis settings matching :func:`_xs`."""
    if len(periods) <= _MAX_CATEGORIES:
        return {"type": "category", "title_text": "period"}
    return {"type": "date", "title_text": "time", "hoverformat": "%b %Y"}


def _colours(keys: Iterable[str], palette: Sequence[str] = _PALETTE) -> dict[str, str]:
    """A stable colour per key (sorted)."""
    return {k: palette[i % len(palette)] for i, k in enumerate(sorted(set(keys)))}


#: Largest number of sites drawn in the shadow-price heat map (the most valuable ones).
_MAX_ROWS = 30

#: Country lines: hues unlike the vendor families (teal, magenta, olive, mustard, brown, grey).
_COUNTRY_PALETTE = ("#1b9e77", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666")

#: One colour family per vendor (light → dark), the designer's first: a vendor has the
#: same hue in every chart, and its products or GPUs are shades of it.
_FAMILIES = (
    sequential.Blues,
    sequential.Oranges,
    sequential.Purples,
    sequential.Greens,
    sequential.Reds,
    sequential.Greys,
    sequential.YlOrBr,
    sequential.PuRd,
)


def _vendor_families(run: RunRecord, vendors: Iterable[str]) -> dict[str, Sequence[str]]:
    """Colour family of each vendor, in :func:`vendor_order` (the designer gets blues)."""
    ordered = vendor_order(vendors, _scenario(run).designer)
    return {v: _FAMILIES[i % len(_FAMILIES)] for i, v in enumerate(ordered)}


def _vendor_colour(family: Sequence[str]) -> str:
    """The vendor's own colour: a strong shade of its family."""
    return family[6]


#: Colour of the installed base (compute in service before the plan starts): neutral grey,
#: hatched, so it never reads as one of the vendors' new purchases.
INSTALLED_COLOUR = "#8d99a6"
#: Fill patterns that tell the sources of one vendor apart beyond their shade.
_PATTERNS = ("", "/", ".", "x", "\\", "+", "-", "|")


#: Distinct colours for the sources (products, offers) of one vendor, one set per colour
#: family of :data:`_FAMILIES` (same hue range, different lightness and tint), so that four
#: offers of one vendor never look alike.
_SOURCE_SETS = (
    ("#08306b", "#2b8cbe", "#7fb8e6", "#0e7c86", "#5b6fb5", "#9ecae1"),
    ("#a63603", "#f28e2b", "#d4a017", "#7f3b08", "#fdb462", "#e15759"),
    ("#3f007d", "#8c6bb1", "#c51b7d", "#5e3c99", "#de77ae", "#b2abd2"),
    ("#00441b", "#41ab5d", "#8c9d2c", "#1b7837", "#a6d96a", "#66c2a4"),
    ("#99000d", "#ef3b2c", "#fc9272", "#7a0177", "#cb181d", "#f768a1"),
    ("#252525", "#737373", "#a6761d", "#525252", "#bdbdbd", "#666666"),
    ("#662506", "#cc4c02", "#fe9929", "#8c510a", "#ec7014", "#fec44f"),
    ("#67001f", "#ce1256", "#df65b0", "#980043", "#c994c7", "#e7298a"),
)


def source_colours(run: RunRecord, frame: pd.DataFrame) -> dict[str, str]:
    """A colour per source (``frame`` has ``source`` and ``vendor``, optionally
    ``source_kind``): each vendor has its colour set (the designer's blues first, then in
    :func:`vendor_order`), its sources take distinct colours of it by name; the installed
    base is grey."""
    cols = [c for c in ("source", "vendor", "source_kind") if c in frame.columns]
    meta = frame[cols].drop_duplicates("source")
    installed = set()
    if "source_kind" in meta.columns:
        installed = set(meta.loc[meta["source_kind"] == "installed", "source"].astype(str))
    vendor_of = {
        str(r["source"]): str(r["vendor"])
        for r in meta.to_dict("records")
        if str(r["source"]) not in installed
    }
    ordered = vendor_order(vendor_of.values(), _scenario(run).designer)
    out: dict[str, str] = dict.fromkeys(installed, INSTALLED_COLOUR)
    for i, vendor in enumerate(ordered):
        colours = _SOURCE_SETS[i % len(_SOURCE_SETS)]
        sources = sorted(s for s, v in vendor_of.items() if v == vendor)
        for k, source in enumerate(sources):
            out[source] = colours[k % len(colours)]
    return out


def source_patterns(frame: pd.DataFrame) -> dict[str, str]:
    """A fill pattern per source: none for a vendor's first, then hatches, so that four
    offers of one vendor stay apart even where their shades are close; the installed
    base hatched."""
    out: dict[str, str] = {}
    for _vendor, part in frame.drop_duplicates("source").groupby("vendor", sort=True):
        srcs = sorted(str(s) for s in part["source"])
        for i, src in enumerate(srcs):
            out[src] = _PATTERNS[i % len(_PATTERNS)]
    if "source_kind" in frame.columns:
        for src in frame.loc[frame["source_kind"] == "installed", "source"].astype(str):
            out[src] = "/"
    return out


def _empty_figure(text: str, height: int = 160) -> go.Figure:
    """A chart area that says in words why there is nothing to draw."""
    fig = go.Figure()
    fig.add_annotation(
        text=text, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font={"size": 15}
    )
    fig.update_layout(**_LAYOUT, height=height)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def _f(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return float("nan")
    return v


# Charts ------------------------------------------------------------------------------------


def _demand_series(run: RunRecord, order: Sequence[str]) -> pd.Series | None:
    """Installed compute required per period (PFLOP/s): from the plan's unmet table, else scenario."""
    unmet = _table(run, "unmet")
    if not unmet.empty and {"kind", "required", "period"} <= set(unmet.columns):
        comp = unmet[unmet["kind"] == "compute"]
        if not comp.empty:
            s = comp.groupby("period")["required"].sum()
            return s.reindex([p for p in order if p in s.index])
    demands = _scenario(run).demand.compute
    if not demands:
        return None
    mids = period_midpoints(_scenario(run).horizon, _period(run))
    labels = period_labels(_scenario(run).horizon, _period(run))
    total = sum(series_at(dict(d.installed_pflops), mids) for d in demands)
    return pd.Series(np.asarray(total, dtype=float), index=labels)


def compute_section(run: RunRecord) -> Section:
    """Stacked area of installed compute by source, with the demand line."""
    comp = _table(run, "compute")
    caption = (
        "Compute in service (dense BF16) at each period, stacked by where it came from: the "
        "designer's own accelerators (made from wafers; blues), GPUs bought from vendors (one "
        "colour family per vendor, each offer its own shade and hatching) and, at the bottom "
        "in hatched grey, the installed base: compute in service before the plan starts, "
        "retiring over time (it is not new compute). The dashed black line is the demand. "
        "Where the stack stays below the line, the gap is unmet demand (see “Unmet demand”)."
    )
    if comp.empty:
        return Section("compute", "Compute by source", caption, _empty_figure("No compute in plan"))
    order = _period_order(run, comp["period"])
    pivot = comp.pivot_table(
        index="period", columns="source", values="pflops_installed", aggfunc="sum", fill_value=0.0
    ).reindex(_present(order, comp["period"]), fill_value=0.0)
    meta = comp.drop_duplicates("source").set_index("source")
    colours = source_colours(run, comp)
    patterns = source_patterns(comp)
    fig = go.Figure()
    # Installed base at the bottom, then own products, then offers by vendor (fixed order).
    rank = {"installed": 0, "own": 1}
    vorder = {
        v: i
        for i, v in enumerate(vendor_order(meta["vendor"].astype(str), _scenario(run).designer))
    }
    ordered = sorted(
        pivot.columns,
        key=lambda s: (
            rank.get(str(meta.loc[s, "source_kind"]), 2),
            vorder.get(str(meta.loc[s, "vendor"]), 99),
            str(s),
        ),
    )
    demand = _demand_series(run, list(pivot.index))
    top = float(pivot.sum(axis=1).max())
    if demand is not None and len(demand):
        top = max(top, float(np.nanmax(demand.to_numpy(dtype=float))))
    scale, unit = compute_unit(top)
    words = {"own": "own", "installed": "installed before the plan"}
    xs = _xs(run, list(pivot.index))
    for source in ordered:
        kind = str(meta.loc[source, "source_kind"])
        vendor = str(meta.loc[source, "vendor"])
        values = pivot[source].to_numpy(dtype=float)
        if not (np.abs(values) > 1e-9).any():
            continue
        label = f"{source} ({vendor}, {words.get(kind, 'bought')})"
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=values / scale,
                name=label,
                stackgroup="compute",
                mode="lines",
                line={"width": 0.5, "color": "white"},
                fillcolor=colours[source],
                fillpattern={
                    "shape": patterns.get(source, ""),
                    "fgcolor": "rgba(255,255,255,0.55)" if kind != "installed" else "#4b5563",
                    "size": 7,
                    "solidity": 0.25,
                },
                hovertemplate=f"{esc(label)}<br>%{{x}}: %{{y:,.3~f}} {unit}<extra></extra>",
            )
        )
    if demand is not None and len(demand):
        fig.add_trace(
            go.Scatter(
                x=_xs(run, list(demand.index)),
                y=demand.to_numpy(dtype=float) / scale,
                name="demand",
                mode="lines+markers",
                line={"color": "black", "width": 2.5, "dash": "dash"},
                marker={"size": 5},
                hovertemplate=f"demand<br>%{{x}}: %{{y:,.3~f}} {unit}<extra></extra>",
            )
        )
    inst = [s for s in ordered if str(meta.loc[s, "source_kind"]) == "installed"]
    if inst:
        first = float(pivot[inst].iloc[0].sum())
        if first > 0:
            fig.add_annotation(  # on a category axis x is the index ("2024" would be #2024)
                x=0 if len(pivot.index) <= _MAX_CATEGORIES else xs[0], y=first / scale, text=f"installed before the plan: {compute(first)}",
                showarrow=True, arrowhead=2, ax=60, ay=-40, font={"size": 12},
                bgcolor="rgba(255,255,255,0.85)",
            )  # fmt: skip
    fig.update_layout(**_LAYOUT, height=460)
    fig.update_layout(legend=_SIDE_LEGEND, margin={"t": 20})
    fig.update_yaxes(title_text=f"{unit} in service", rangemode="tozero", tickformat=",")
    fig.update_xaxes(**_period_axis(run, list(pivot.index)))
    return Section("compute", "Compute by source", caption, fig)


def _run_countries(run: RunRecord, extra: Iterable[str] = ()) -> list[str]:
    """All countries of the run's sites (and ``extra``), sorted: colouring countries over this
    one list gives a country the same colour in every chart of the page."""
    util = _table(run, "utilisation")
    sites = set(util["country"].astype(str)) if "country" in util else set()
    return sorted((sites | {str(c) for c in extra}) - {""})


def shares_section(run: RunRecord) -> Section:
    """Vendor and country shares per year against their policy caps (dashed)."""
    shares = _table(run, "shares")
    caption = (
        "Left: each vendor's share of the compute added that year. Right: each country's share "
        "of the designer's logic wafers. A dashed line in the same colour is the policy cap on "
        "that vendor or country; a solid line running along its dashed line means the cap binds "
        "(the plan would use more of that source if it could). Years in which the plan adds no "
        "compute (or starts no wafers) are left blank."
    )
    if shares.empty:
        return Section("shares", "Dependence", caption, _empty_figure("No shares in plan"))
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("Vendor share of new compute", "Country share of logic wafers"),
        horizontal_spacing=0.08,
    )
    shares = shares.copy()
    shares["share"] = shares["share"].astype(float)
    # A year with no new compute (or no wafers) has all shares zero: show a gap, not 0 %.
    empty = shares.groupby(["year", "kind"])["share"].transform("sum") <= 1e-9
    shares.loc[empty, "share"] = np.nan
    vendor_keys = shares.loc[shares["kind"] == "vendor", "key"].astype(str)
    country_keys = shares.loc[shares["kind"] != "vendor", "key"].astype(str)
    colours = {
        v: _vendor_colour(f) for v, f in _vendor_families(run, vendor_keys).items()
    } | _colours(_run_countries(run, country_keys), _COUNTRY_PALETTE)
    years = sorted(int(y) for y in shares["year"].unique())
    for col, kind in ((1, "vendor"), (2, "country")):
        part = shares[shares["kind"] == kind]
        keys = part["key"].astype(str).unique()
        ordered = vendor_order(keys, _scenario(run).designer) if kind == "vendor" else sorted(keys)
        for key in ordered:
            rows = part[part["key"].astype(str) == key].sort_values("year")
            fig.add_trace(
                go.Scatter(
                    x=rows["year"].astype(int),
                    y=rows["share"],
                    name=key,
                    connectgaps=False,
                    legendgroup=key,
                    mode="lines+markers",
                    line={"color": colours[key], "width": 2.5},
                    hovertemplate=f"{esc(key)} %{{x}}: %{{y:.1%}}<extra></extra>",
                ),
                row=1,
                col=col,
            )
            cap = rows["cap"].astype(float)
            if cap.notna().any():
                fig.add_trace(
                    go.Scatter(
                        x=rows["year"].astype(int),
                        y=cap,
                        name=f"cap {key}",
                        legendgroup=key,
                        mode="lines",
                        line={"color": colours[key], "width": 2, "dash": "dash"},
                        hovertemplate=f"cap on {esc(key)} %{{x}}: %{{y:.0%}}<extra></extra>",
                    ),
                    row=1,
                    col=col,
                )
    fig.update_layout(**_LAYOUT, height=420)
    fig.update_layout(legend={"y": -0.22, "yanchor": "top"}, margin={"t": 40, "b": 80})
    fig.update_yaxes(range=[-0.02, 1.05], tickformat=".0%")
    if len(years) <= 12:
        fig.update_xaxes(tickmode="array", tickvals=years, ticktext=[str(y) for y in years])
    else:
        fig.update_xaxes(tickformat="d", dtick=max(1, round(len(years) / 8)), tickangle=0)
    return Section("shares", "Dependence on vendors and countries", caption, fig)


def _payment_caption(run: RunRecord) -> str:
    """When each cost is paid, and how the end of the horizon is valued (salvage or not)."""
    terminal = str(run.options.get("terminal") or "salvage")
    last = _scenario(run).horizon.last_year
    text = (
        "<b>When money is paid.</b> Each cost falls in the period of the decision, not when "
        "the goods arrive: GPUs are paid when ordered (they enter service a lead time later); "
        "wafers, HBM and packaging when started; a committed GPU not taken is still paid in its "
        "year; a new site's capex is spread over its construction; porting and tape-out when "
        "the design is ported. Energy is paid while a unit is in service. "
    )
    if terminal == "salvage":
        text += (
            f"<b>End of the horizon ({last}).</b> A unit whose service life runs past "
            f"{last} is credited the share of its cost that falls after it (“salvage”, "
            "negative, in the year of the decision), so the last years are not charged for "
            "service the plan never counts. Sites built are not credited. Wafers started in "
            "the last period or so feed units that enter service after the horizon, so the "
            "plan starts few or none then."
        )
    else:
        text += (
            f"<b>End of the horizon ({last}).</b> This run was made with <code>--terminal "
            "none</code>: a unit bought near the end pays its full price but serves only the "
            "years left, so late purchases look dear and the plan buys less in its last years."
        )
    return text


def costs_section(run: RunRecord) -> Section:
    """Stacked bars of undiscounted cost by year and category; PV totals in a table."""
    costs = _table(run, "costs")
    rate = _scenario(run).discount_rate
    first = _scenario(run).horizon.first_year
    caption = (
        f"What the plan spends each year (not discounted), stacked by category. The "
        f"objective the planner minimises is the present value: each year's spending "
        f"discounted at {rate:.0%} per year to {first} (table below the chart). "
        "“energy” is the electricity of the accelerators the plan adds while in service "
        "(power × PUE × price; the installed base's is not counted). "
        "“unmet_penalty” is not money paid: it is the price the scenario puts on each "
        "PFLOP/s of demand left unmet.<br>" + _payment_caption(run)
    )
    if costs.empty:
        return Section("costs", "Cost breakdown", caption, _empty_figure("No costs in plan"))
    pivot = costs.pivot_table(
        index="year", columns="category", values="cost_usd", aggfunc="sum", fill_value=0.0
    ).sort_index()
    cats = [c for c in COST_CATEGORIES if c in pivot.columns] + sorted(
        c for c in pivot.columns if c not in COST_CATEGORIES
    )
    colours = _colours(c for c in cats if c not in COST_COLOURS) | COST_COLOURS
    totals = pivot[cats].sum(axis=1)
    positive = pivot[cats].clip(lower=0).sum(axis=1)
    scale, unit = money_unit(float(positive.max()) if len(positive) else 0.0)
    fig = go.Figure()
    for cat in cats:
        values = pivot[cat].to_numpy(dtype=float)
        if not np.any(np.abs(values) > 0):
            continue
        fig.add_trace(
            go.Bar(
                x=[str(y) for y in pivot.index],
                y=values / scale,
                name=cat,
                marker_color=colours[cat],
                hovertemplate=f"{cat} %{{x}}: %{{y:,.3~f}} {unit}<extra></extra>",
            )
        )
    if len(totals) <= 12:  # with more bars the labels overlap; hover shows them
        fig.add_trace(
            go.Scatter(
                x=[str(y) for y in pivot.index],
                y=positive.to_numpy(dtype=float) / scale,
                mode="text",
                text=[f"net {money(v)}" for v in totals],
                textposition="top center",
                showlegend=False,
                hoverinfo="skip",
            )
        )
    fig.update_layout(**_LAYOUT, barmode="relative", height=440)
    fig.update_layout(legend=_SIDE_LEGEND, margin={"t": 20})
    fig.update_yaxes(title_text=f"{unit} per year (undiscounted)")
    low = float(pivot[cats].clip(upper=0).sum(axis=1).min())
    fig.update_yaxes(
        range=[
            min(0.0, low / scale * 1.1),
            float(positive.max()) / scale * 1.15 if positive.max() > 0 else 1,
        ]
    )
    fig.update_xaxes(title_text="year", type="category")
    by_cat = costs.groupby("category")[["cost_usd", "cost_pv_usd"]].sum()

    def cell(v: Any) -> Num:
        return Num(_f(v), money(_f(v)))

    rows: list[list[object]] = [
        [cat, cell(by_cat.loc[cat, "cost_usd"]), cell(by_cat.loc[cat, "cost_pv_usd"])]
        for cat in cats
        if cat in by_cat.index
    ]
    rows.append(["total", cell(by_cat["cost_usd"].sum()), cell(by_cat["cost_pv_usd"].sum())])
    extra = table_html(
        ["category", "total (undiscounted, USD)", f"present value ({first}, USD)"],
        rows,
        numeric=(1, 2),
        csv=f"costs-{run.id}",
    )
    return Section("costs", "Cost breakdown", caption, fig, extra)


def builds_section(run: RunRecord) -> Section:
    """Gantt chart of new sites: construction, then ramp to full capacity."""
    builds = _table(run, "builds")
    scen: Scenario = _scenario(run)
    built = set(builds["site"].astype(str)) if not builds.empty else set()
    not_built = [s.id for s in scen.sites if s.status.value == "candidate" and s.id not in built]
    caption = (
        "Each site the plan builds: construction from the start of the build to first output "
        "(dark bar), then the ramp-up to full capacity (light bar). The plan can use a site's "
        "capacity from the end of the dark bar."
    )
    extra = ""
    if not_built:
        extra = (
            '<p class="caption">Candidate sites the plan does <b>not</b> build: '
            + esc(", ".join(not_built))
            + ".</p>"
        )
    if builds.empty:
        text = "No new sites built in this plan" + (
            "" if any(s.status.value == "candidate" for s in scen.sites) else " (no candidates)"
        )
        return Section("builds", "Build schedule", caption, _empty_figure(text), extra)
    period_len = _period(run)
    step = dt.timedelta(days=365.25 * period_len.years)
    horizon_end = dt.date(scen.horizon.last_year + 1, 1, 1)
    fig = go.Figure()
    labels: list[str] = []
    legend_done: set[str] = set()
    for rec in builds.sort_values("start_period").to_dict("records"):
        label = (
            f"{rec['site']} ({rec.get('country', '')}, {number(_f(rec.get('capacity_wspm')))} wspm)"
        )
        labels.append(label)
        start = period_start(str(rec["start_period"]))
        online = period_start(str(rec["online_period"])) if rec.get("online_period") else None
        full_raw = rec.get("full_period")
        full = period_start(str(full_raw)) if isinstance(full_raw, str) and full_raw else None
        capex = money(_f(rec.get("capex_usd")))
        segments = [("construction", start, online or horizon_end, "#3b5b92")]
        if online is not None and full is not None and full > online:
            segments.append(("ramp-up", online, full, "#9ab3d9"))
        for name, a, b, colour in segments:
            span_ms = (dt.datetime.combine(b, dt.time()) - dt.datetime.combine(a, dt.time())) / (
                dt.timedelta(milliseconds=1)
            )
            if span_ms <= 0:
                span_ms = step / dt.timedelta(milliseconds=1) * 0.05
            fig.add_trace(
                go.Bar(
                    x=[span_ms],
                    base=[a.isoformat()],
                    y=[label],
                    orientation="h",
                    name=name,
                    legendgroup=name,
                    showlegend=name not in legend_done,
                    marker_color=colour,
                    hovertemplate=(
                        f"{esc(rec['site'])}: {name} {a:%b %Y} → {b:%b %Y}<br>capex {capex}"
                        "<extra></extra>"
                    ),
                )
            )
            legend_done.add(name)
        if online is not None:
            fig.add_annotation(
                x=online.isoformat(),
                y=label,
                text=f"online {rec['online_period']}",
                showarrow=False,
                xanchor="left",
                yanchor="bottom",
                yshift=12,
                font={"size": 11},
            )
    fig.update_layout(**_LAYOUT, barmode="overlay", height=max(200, 90 + 56 * len(labels)))
    fig.update_xaxes(
        type="date",
        range=[dt.date(scen.horizon.first_year, 1, 1).isoformat(), horizon_end.isoformat()],
        title_text="time",
    )
    fig.update_yaxes(
        type="category", categoryorder="array", categoryarray=labels[::-1], automargin=True
    )
    rows: list[tuple[Any, ...]] = [
        (
            r["site"],
            r.get("name", ""),
            r.get("country", ""),
            r.get("start_period", ""),
            r.get("online_period", ""),
            r.get("full_period", "") or "",
            Num(_f(r.get("capex_usd")), money(_f(r.get("capex_usd")))),
            Num(_f(r.get("capacity_wspm")), number(_f(r.get("capacity_wspm")))),
            fraction_text(r.get("fraction")) or "1 fab",
        )
        for r in builds.sort_values("start_period").to_dict("records")
    ]
    relaxed = any(row[-1] != "1 fab" for row in rows)
    if not relaxed:  # a whole fab each: no column to say so
        rows = [row[:-1] for row in rows]
    else:
        caption += (
            " This plan is the LP relaxation (--relax): a build can be part of a fab "
            "(column built), with its capex and capacity scaled to that part."
        )
    extra = (
        table_html(
            ["site", "name", "country", "start", "online", "full", "capex (USD)", "wspm"]
            + (["built"] if relaxed else []),
            rows,
            numeric=(6, 7),
            csv=f"builds-{run.id}",
        )
        + extra
    )
    return Section("builds", "Build schedule", caption, fig, extra)


def _site_labels(frame: pd.DataFrame, scen: Scenario) -> dict[str, str]:
    """``site (kind, country)`` per site id."""
    out: dict[str, str] = {}
    for rec in frame.drop_duplicates("site").to_dict("records"):
        site = str(rec["site"])
        kind = rec.get("site_kind") or ""
        country = rec.get("country") or ""
        if not kind or not country:
            try:
                s = scen.site(site)
                country = country or s.country
            except StopIteration:
                pass
        bits = ", ".join(str(b) for b in (kind, country) if b)
        out[site] = f"{site} ({bits})" if bits else site
    return out


def utilisation_section(run: RunRecord) -> Section:
    """Heat map of site utilisation (sites × periods)."""
    util = _table(run, "utilisation")
    caption = (
        "How much of each site's capacity available to the designer the plan uses, per period "
        "(0 % pale, 100 % dark red). Dark red rows are the bottlenecks. Grey cells: the site has "
        "no capacity in that period (for example, a new fab not yet built)."
    )
    if util.empty:
        return Section("utilisation", "Site utilisation", caption, _empty_figure("No sites"))
    order = _period_order(run, util["period"])
    periods = _present(order, util["period"])
    kind_rank = {"logic": 0, "hbm": 1, "packaging": 2}
    sites = sorted(
        util.drop_duplicates("site").to_dict("records"),
        key=lambda r: (kind_rank.get(str(r.get("site_kind")), 9), str(r["site"])),
    )
    capacity = util.groupby("site")["capacity_wafers"].sum()
    idle = [str(r["site"]) for r in sites if not _f(capacity.get(r["site"])) > 0]
    site_ids = [str(r["site"]) for r in sites if str(r["site"]) not in idle]
    if not site_ids:
        return Section(
            "utilisation", "Site utilisation", caption, _empty_figure("No site has capacity")
        )
    labels = _site_labels(util, _scenario(run))
    z = util.pivot_table(index="site", columns="period", values="utilization", aggfunc="mean")
    z = z.reindex(index=site_ids, columns=periods)
    cap = util.pivot_table(index="site", columns="period", values="capacity_wafers", aggfunc="sum")
    cap = cap.reindex(index=site_ids, columns=periods)
    used = util.pivot_table(index="site", columns="period", values="used_wafers", aggfunc="sum")
    used = used.reindex(index=site_ids, columns=periods)
    zz = z.to_numpy(dtype=float)
    zz = np.where(cap.to_numpy(dtype=float) > 0, zz, np.nan)
    used_np = used.to_numpy(dtype=float)
    cap_np = cap.to_numpy(dtype=float)
    text = [
        [f"{number(u)} of {number(c)} wafers" for u, c in zip(urow, crow, strict=True)]
        for urow, crow in zip(used_np, cap_np, strict=True)
    ]
    fig = go.Figure(
        go.Heatmap(
            z=zz,
            x=_xs(run, periods),
            y=[labels[s] for s in site_ids],
            zmin=0.0,
            zmax=1.0,
            colorscale="Reds",
            colorbar={"title": {"text": "used"}, "tickformat": ".0%"},
            customdata=text,
            xgap=1 if len(periods) <= _MAX_CATEGORIES else 0,
            ygap=1,
            hovertemplate="%{y}<br>%{x}: %{z:.0%} used<br>%{customdata}<extra></extra>",
        )
    )
    if len(periods) <= 24 and len(site_ids) <= 30:
        fig.update_traces(texttemplate="%{z:.0%}", textfont={"size": 11})
    row_px = 34 if len(site_ids) <= 30 else 24 if len(site_ids) <= 80 else 14
    fig.update_layout(**_LAYOUT, height=max(240, 110 + row_px * len(site_ids)))
    fig.update_layout(plot_bgcolor="#e5e7eb")
    fig.update_xaxes(**_period_axis(run, periods), showgrid=False)
    fig.update_yaxes(type="category", autorange="reversed", automargin=True, showgrid=False)
    if row_px >= 24:  # room for every site's name: do not let plotly thin the labels out
        names = [labels[s] for s in site_ids]
        fig.update_yaxes(tickmode="array", tickvals=names, ticktext=names)
    extra = (
        '<p class="caption">Not shown, as they have no capacity in any period (candidates '
        f"not built, research fabs): {esc(', '.join(idle))}.</p>"
        if idle
        else ""
    )
    return Section("utilisation", "Site utilisation", caption, fig, extra)


def shadow_section(run: RunRecord) -> Section:
    """Heat map of the shadow price of capacity, only for sites where it is non-zero."""
    sp = _table(run, "shadow_prices")
    source = ""
    if not sp.empty and "source" in sp.columns:
        kinds = set(sp["source"].astype(str))
        if "lp_fixed_builds" in kinds:
            source = (
                " Computed from the linear programme with the plan's build decisions fixed "
                "(the build choices are yes/no, which have no prices of their own)."
            )
    caption = (
        "What one more wafer per period of capacity at a site would save the plan (USD per "
        "wafer, not discounted). Only sites where capacity limits the plan are shown; a value "
        "that stays high over many periods is the case for expanding that site or reserving "
        "more of it." + source
    )
    if sp.empty:
        return Section(
            "shadow", "Shadow prices of capacity", caption, _empty_figure("No shadow prices")
        )
    value = sp["usd_per_wafer"].astype(float)
    active = sorted(set(sp.loc[value.abs() > 1e-6, "site"].astype(str)))
    hidden = sorted(set(sp["site"].astype(str)) - set(active))
    if not active:
        return Section(
            "shadow",
            "Shadow prices of capacity",
            caption,
            _empty_figure("No site's capacity limits the plan: extra capacity is worth 0 USD"),
        )
    part = sp[sp["site"].astype(str).isin(active)]
    order = _period_order(run, sp["period"])
    periods = _present(order, sp["period"])
    z = part.pivot_table(index="site", columns="period", values="usd_per_wafer", aggfunc="sum")
    # Most valuable sites first.
    active = list(z.abs().mean(axis=1).sort_values(ascending=False, kind="stable").index)
    shown = active[:_MAX_ROWS]
    z = z.reindex(index=shown, columns=periods)
    values = z.to_numpy(dtype=float)
    # Prices span orders of magnitude (a packaging line at $8M/wafer, an HBM fab at $300):
    # colour by log10 so both show; zero cells stay blank ("capacity not limiting").
    with np.errstate(divide="ignore", invalid="ignore"):
        colour = np.where(np.abs(values) > 1e-6, np.log10(np.abs(values)), np.nan)
    lo = math.floor(float(np.nanmin(colour)))
    hi = math.ceil(float(np.nanmax(colour)))
    hi = max(hi, lo + 1)
    ticks = list(range(lo, hi + 1))
    fig = go.Figure(
        go.Heatmap(
            z=colour,
            x=_xs(run, periods),
            y=shown,
            customdata=values,
            colorscale="YlOrRd",
            zmin=lo,
            zmax=hi,
            colorbar={
                "title": {"text": "USD/wafer"},
                "tickvals": ticks,
                "ticktext": [money(10.0**t) for t in ticks],
            },
            xgap=1 if len(periods) <= _MAX_CATEGORIES else 0,
            ygap=1,
            hovertemplate="%{y}<br>%{x}: %{customdata:,.0f} USD per wafer<extra></extra>",
        )
    )
    if len(periods) <= 12 and len(shown) <= 30:
        fig.update_traces(
            text=[[money(v) if abs(v) > 1e-6 else "" for v in row] for row in values],
            texttemplate="%{text}",
            textfont={"size": 11},
        )
    fig.update_layout(**_LAYOUT, height=max(220, 110 + 30 * len(shown)))
    fig.update_layout(plot_bgcolor="#f3f4f6")
    fig.update_xaxes(**_period_axis(run, periods), showgrid=False)
    fig.update_yaxes(type="category", autorange="reversed", automargin=True, showgrid=False)
    notes: list[str] = [
        "Colours are on a log scale (each step is ten times the one before); blank cells "
        "are periods where the site's capacity is not limiting."
    ]
    if len(active) > len(shown):
        notes.append(
            f"{len(active) - len(shown)} more sites with smaller prices are not shown: "
            + esc(", ".join(active[len(shown) :]))
            + "."
        )
    if hidden:
        notes.append(f"Sites with zero shadow price throughout: {esc(', '.join(hidden))}.")
    extra = "".join(f'<p class="caption">{n}</p>' for n in notes)
    return Section("shadow", "Shadow prices of capacity", caption, fig, extra)


def unmet_section(run: RunRecord) -> Section:
    """Bars of unmet demand per period: compute demands (PFLOP/s) and unit demands (units)."""
    unmet = _table(run, "unmet")
    caption = (
        "Demand the plan leaves unmet in each period: installed compute short of the demand "
        "(FLOP/s, in the unit the chart names) and product units not delivered. Unmet demand is allowed but priced with the "
        "scenario's penalty; if it appears, the supply options in the scenario cannot meet "
        "demand in time at any cost below that penalty."
    )
    if unmet.empty or not (unmet["unmet"].astype(float) > 1e-9).any():
        return Section(
            "unmet",
            "Unmet demand",
            caption,
            _empty_figure("All demand is met in every period"),
        )
    order = _period_order(run, unmet["period"])
    # A kind with nothing unmet (e.g. every phone delivered) would be an empty panel: said in
    # words below the chart instead.
    short = unmet["unmet"].astype(float) > 1e-9
    kinds = [k for k in ("compute", "units") if (short & (unmet["kind"] == k)).any()]
    met = [k for k in ("compute", "units") if (unmet["kind"] == k).any() and k not in kinds]
    extra = "".join(
        f'<p class="note">All {"compute" if k == "compute" else "product unit"} demand is met '
        "in every period.</p>"
        for k in met
    )
    unmet = unmet[unmet["kind"].isin(kinds)]
    scale, unit = compute_unit(unmet.loc[unmet["kind"] == "compute", "unmet"].astype(float))
    fig = make_subplots(
        rows=1,
        cols=len(kinds),
        subplot_titles=[
            f"compute short of demand ({unit})" if k == "compute" else "units not delivered"
            for k in kinds
        ],
    )
    colours = _colours(unmet["demand_id"].astype(str))
    for col, kind in enumerate(kinds, start=1):
        part = unmet[unmet["kind"] == kind]
        periods = _present(order, part["period"])
        for did in sorted(part["demand_id"].astype(str).unique()):
            rows = part[part["demand_id"].astype(str) == did].set_index("period").reindex(periods)
            req = rows["required"].astype(float)
            div = scale if kind == "compute" else 1.0
            what = unit if kind == "compute" else "units"
            fig.add_trace(
                go.Bar(
                    x=_xs(run, periods),
                    y=rows["unmet"].astype(float) / div,
                    name=did,
                    marker_color=colours[did],
                    customdata=np.where(req > 0, rows["unmet"].astype(float) / req, 0.0),
                    hovertemplate=(
                        f"{esc(did)} %{{x}}: %{{y:,.3~f}} {what} short "
                        "(%{customdata:.0%} of demand)"
                        "<extra></extra>"
                    ),
                ),
                row=1,
                col=col,
            )
        fig.update_xaxes(**_period_axis(run, periods), row=1, col=col)
    fig.update_layout(**_LAYOUT, barmode="stack", height=380)
    fig.update_layout(legend=_SIDE_LEGEND, showlegend=True)  # names a lone demand too
    fig.update_yaxes(rangemode="tozero")
    return Section("unmet", "Unmet demand", caption, fig, extra)


#: Line styles of programme rows: new production fabs, new research fabs, existing fabs.
_PROGRAMME_KINDS: dict[str, str] = {
    "new_production": "new production fabs",
    "new_research": "new research fabs",
    "existing": "existing fabs",
}


def programmes_section(run: RunRecord) -> Section | None:
    """Fabs of each programme online by the end of each year, against its target."""
    pr = _table(run, "programmes")
    if pr.empty:
        return None
    caption = (
        "Fabs of each programme (sites tagged with it) online by the end of each year (solid) "
        "and the programme's target (dotted): new fabs are its planned sites, from their "
        "first year with capacity, and the candidate sites the plan builds, from the year "
        "they come online; the target rises linearly from the programme's start year to the "
        "announced count in its target year. Existing fabs count the existing sites the "
        "scenario models, which may be fewer than the programme's announced existing fabs."
    )
    fig = go.Figure()
    keys = [f"{p} · {_PROGRAMME_KINDS.get(str(k), str(k))}"
            for p, k in pr[["programme", "kind"]].drop_duplicates().itertuples(index=False)]  # fmt: skip
    colours = _colours(keys)
    for (prog, kind), g in pr.groupby(["programme", "kind"], sort=False):
        name = f"{prog} · {_PROGRAMME_KINDS.get(str(kind), str(kind))}"
        g = g.sort_values("year")
        years = g["year"].astype(int).tolist()
        fig.add_trace(
            go.Scatter(
                x=years, y=g["built"].astype(float), name=name, mode="lines+markers",
                line={"color": colours[name], "shape": "hv"},
                hovertemplate=f"{esc(name)} %{{x}}: %{{y:.0f}} online<extra></extra>",
            )
        )  # fmt: skip
        target = g["target"].astype(float)
        if target.notna().any():
            fig.add_trace(
                go.Scatter(
                    x=years, y=target, name=f"{name} (target)", mode="lines",
                    line={"color": colours[name], "dash": "dot"},
                    hovertemplate=f"{esc(name)} target %{{x}}: %{{y:.1f}}<extra></extra>",
                )
            )  # fmt: skip
    fig.update_layout(**_LAYOUT, height=380)
    fig.update_layout(legend=_SIDE_LEGEND)
    fig.update_xaxes(title_text="year", dtick=5)
    fig.update_yaxes(title_text="fabs", rangemode="tozero")
    last = pr[pr["year"] == pr["year"].max()]
    rows = [
        [str(r.programme), _PROGRAMME_KINDS.get(str(r.kind), str(r.kind)), int(r.year),
         number(float(r.built)), "–" if not math.isfinite(float(r.target)) else number(float(r.target))]
        for r in last.itertuples()
    ]  # fmt: skip
    extra = table_html(
        ["programme", "fabs", "year", "built", "target"], rows, (2, 3, 4),
        csv=f"programmes-{run.id}",
    )  # fmt: skip
    return Section(
        "programmes", "Programmes: fabs built against their targets", caption, fig, extra
    )


def clearing_section(run: RunRecord) -> Section | None:
    """--lead-times load: each busy site's plan on its operating curve (flow factor vs load)."""
    plan_pts, curve = _table(run, "clearing"), _table(run, "clearing_curve")
    if plan_pts.empty or curve.empty:
        return None
    busy = plan_pts[plan_pts["output_wafers"].astype(float) > 0]
    sites = [
        str(s) for s, g in busy.groupby("site", sort=True) if g["load"].astype(float).max() >= 0.5
    ]
    if not sites:
        return None
    caption = (
        "Each busy site's plan (load ≥ 50 % in some period) on its operating curve: measured "
        "or computed points (markers), the clearing function's tangent-segment fit the planner "
        "uses (dashed) and the plan's periods (dots; hover for the period): load = output "
        "/ capacity, flow factor = cycle time / raw process time, the cycle time from Little's "
        "law (WIP at the start of the period / output). A plan point above the curve holds "
        "more WIP than its output needs (wafers started early)."
    )
    fig = go.Figure()
    colours = _colours(sites)
    # Sites on the same operating curve (same process) share one drawn curve: drawn once per
    # site, the last would hide the others and their legend entries would show nothing.
    groups: dict[tuple[float, ...], list[str]] = {}
    for site in sites:
        c = curve[curve["site"] == site].sort_values("throughput_frac")
        cols = ["throughput_frac", "flow_factor", "fitted_flow_factor"]
        key = tuple(np.round(c[cols].to_numpy(dtype=float).ravel(), 6).tolist())
        groups.setdefault(key, []).append(site)
    for members in groups.values():
        c = curve[curve["site"] == members[0]].sort_values("throughput_frac")
        shared = len(members) > 1
        col = "#4b5563" if shared else colours[members[0]]
        name = f"curve of {len(members)} sites" if shared else f"{members[0]} curve"
        who = esc(", ".join(members))
        fig.add_trace(go.Scatter(
            x=c["throughput_frac"].astype(float), y=c["flow_factor"].astype(float),
            name=name, mode="markers", marker={"color": col, "symbol": "diamond"},
            legendgroup=f"curve {who}",
            hovertemplate=f"curve of {who}: load %{{x:.0%}}, flow factor %{{y:.2f}}"
            "<extra></extra>",
        ))  # fmt: skip
        fig.add_trace(go.Scatter(
            x=c["throughput_frac"].astype(float), y=c["fitted_flow_factor"].astype(float),
            name=f"{name} fit", mode="lines", line={"color": col, "dash": "dash"},
            legendgroup=f"curve {who}", showlegend=False, hoverinfo="skip",
        ))  # fmt: skip
    for site in sites:
        p = busy[busy["site"] == site]
        col = colours[site]
        fig.add_trace(go.Scatter(
            x=p["load"].astype(float), y=p["flow_factor"].astype(float), name=f"{site} plan",
            mode="markers", marker={"color": col, "size": 7}, legendgroup=site,
            text=p["period"].astype(str),
            hovertemplate=f"{esc(site)} %{{text}}: load %{{x:.0%}}, flow factor %{{y:.2f}}"
            "<extra></extra>",
        ))  # fmt: skip
    fig.update_layout(**_LAYOUT, height=420)
    fig.update_layout(legend=_SIDE_LEGEND)
    fig.update_xaxes(title_text="load (output / capacity)", tickformat=".0%", range=[0, 1.05])
    fig.update_yaxes(title_text="flow factor (cycle time / raw process time)", rangemode="tozero")
    return Section("clearing", "Load-dependent lead times: the plan on each site's curve",
                   caption, fig)  # fmt: skip


def why_not_section(run: RunRecord) -> Section | None:
    """The unused sites, process options, offers and candidates and the price to enter."""
    wn = _table(run, "why_not")
    if wn.empty:
        return None
    caption = (
        "What the plan leaves unused and the price at which it would enter: for a site, "
        "process option or offer, the price per wafer or unit (undiscounted, in the period "
        "where it is closest to entering) at or below which the plan would start using it; "
        "for a candidate site, the capex at or below which building it would pay. From the "
        "reduced costs of the plan's linear programme (builds fixed). A candidate's entry "
        "capex values all its capacity at the plan's current prices, so it is an upper "
        "estimate. “no option”: no product has a process option there, so no price brings "
        "it in."
    )
    rows = []
    for r in wn.itertuples():
        entry = _f(r.entry_cost_usd if r.kind == "candidate" else r.entry_price_usd)
        now = _f(r.current_usd)
        rows.append(
            [str(r.kind), str(r.id), str(r.detail), str(r.period),
             Num(now, money(now) if math.isfinite(now) else "–"),
             Num(entry, money(entry) if math.isfinite(entry) else "no option"), str(r.unit)]
        )  # fmt: skip
    extra = table_html(
        ["kind", "id", "what", "period", "price now (USD)", "enters at ≤ (USD)", "per"], rows,
        (4, 5), csv=f"why-not-{run.id}",
    )  # fmt: skip
    return Section("why_not", "Why not: what would make the plan use more", caption, None, extra)


# Header ------------------------------------------------------------------------------------


def _cards(run: RunRecord) -> list[Card]:
    summary = run.summary
    years = [y for y in summary.get("years") or [] if isinstance(y, dict)]
    status = run.status
    cards = [
        Card(
            "Status",
            status,
            f"gap {_f(summary.get('mip_gap')):.2%}"
            if math.isfinite(_f(summary.get("mip_gap")))
            else "",
            "status-optimal" if status == "optimal" else "status-bad",
        ),
        Card(
            "Objective (present value)",
            money(_f(summary.get("objective_usd"))),
            f"discounted at {_scenario(run).discount_rate:.0%}/yr to {_scenario(run).horizon.first_year}",
        ),
    ]
    costs = _table(run, "costs")
    if not costs.empty:
        total = _f(costs["cost_usd"].sum())
        penalty = _f(costs.loc[costs["category"] == "unmet_penalty", "cost_usd"].sum())
        cards.append(
            Card(
                "Spending (undiscounted)",
                money(total - penalty),
                "excluding the unmet-demand penalty" if penalty > 0 else "all years",
            )
        )
    if years:
        last = years[-1]
        installed = sum(_f(v) for v in (last.get("compute_pflops") or {}).values())
        cards.append(Card(f"Compute in service {last.get('year')}", compute(installed), ""))
        unmet = [(int(y["year"]), _f(y.get("unmet_pflops"))) for y in years if "year" in y]
        short = [(yr, u) for yr, u in unmet if u > 1e-9]
        cards.append(
            Card(
                "Unmet compute",
                "none" if not short else compute(max(u for _, u in short)),
                "demand met every year"
                if not short
                else f"worst year {max(short, key=lambda t: t[1])[0]}; short in {len(short)} "
                f"of {len(unmet)} years",
                "status-optimal" if not short else "status-bad",
            )
        )
        peak: tuple[str, int, float] | None = None
        for y in years:
            for vendor, share in (y.get("vendor_share") or {}).items():
                if vendor == _scenario(run).designer:
                    continue
                if peak is None or _f(share) > peak[2]:
                    peak = (str(vendor), int(y["year"]), _f(share))
        if peak is not None:
            cap = _scenario(run).policies.max_vendor_share.get(peak[0])
            cards.append(
                Card(
                    "Largest outside-vendor share",
                    percent(peak[2]),
                    f"{peak[0]} in {peak[1]}" + (" (capped)" if cap is not None else ""),
                )
            )
    builds = summary.get("builds") or []
    cards.append(
        Card(
            "New sites",
            str(len(builds)),
            ", ".join(str(b.get("site")) for b in builds[:4]) + (" …" if len(builds) > 4 else ""),
        )
    )
    timings = run.timings_s
    if timings:
        cards.append(
            Card(
                "Run time",
                f"{sum(timings.values()):.1f} s",
                ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()),
            )
        )
    return cards


def _when(rec: Mapping[Any, Any]) -> str:
    """The period of a binding row, else its year."""
    for key in ("period", "year"):
        value = rec.get(key)
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            return str(int(value)) if isinstance(value, float) else str(value)
    return ""


def _intro(run: RunRecord) -> str:
    """The planner's diagnosis messages and the table of binding policies."""
    binding = _table(run, "binding")
    if not run.messages and binding.empty:
        return ""
    parts = ['<section id="diagnosis"><h2>What the planner says</h2>']
    if run.messages:
        items = "".join(f"<li>{esc(m)}</li>" for m in run.messages)
        parts.append(f'<ul class="msgs">{items}</ul>')
    if not binding.empty:
        rows = [
            (
                r.get("policy", ""),
                _when(r),
                number(_f(r.get("slack"))),
                Num(_f(r.get("dual_usd")), money(_f(r.get("dual_usd")))),
                r.get("message", ""),
            )
            for r in binding.to_dict("records")
        ]
        table = table_html(
            ["policy", "when", "slack", "value (USD)", "what it means"], rows, (2, 3),
            csv=f"binding-{run.id}",
        )  # fmt: skip
        intro = (
            "Policies that bind (the plan would be cheaper without them); “value” is what "
            "relaxing the policy by one unit would save."
        )
        if len(rows) <= 8:
            parts.append(f'<p class="caption">{intro}</p>{table}')
        else:
            policies = len({r[0] for r in rows})
            parts.append(
                f"<details><summary>{len(rows)} binding policy-periods of {policies} "
                f'policies (click to show the table)</summary><p class="caption">{intro}</p>'
                f"{table}</details>"
            )
    parts.append("</section>")
    return "".join(parts)


def plan_report_html(run: RunRecord, risk: RunRecord | None = None) -> str:
    """One self-contained HTML page (plotly.js inlined once, opens offline) for a plan run;
    with ``risk`` (a risk run of this plan) its distributions and fan chart are added."""
    if run.kind != "plan":
        raise StoreError(
            f"run {run.id} is a {run.kind} run; the HTML report is made for plan runs only"
        )
    scen = _scenario(run)
    opts = run.options
    opt_text = ", ".join(
        f"{k} {', '.join(map(str, v)) if isinstance(v, list) else v}"
        for k, v in opts.items()
        if v not in (None, False, "") and not (isinstance(v, list | dict) and not v)
    )
    subtitle = (
        f"Plan of scenario <b>{esc(scen.name)}</b> · {scen.horizon.first_year}–"
        f"{scen.horizon.last_year} by {_period(run).value} · run <code>{esc(run.id)}</code> · "
        f"{run.created_at:%Y-%m-%d %H:%M} UTC · fabnet {esc(run.meta.get('fabnet_version', ''))}"
        + (f" · options: {esc(opt_text)}" if opt_text else "")
        + (f"<br>{esc(scen.description)}" if scen.description else "")
    )
    from fabnet.report.supply import (
        capacity_section,
        dependence_section,
        flow_section,
        unit_cost_section,
    )

    sections: list[Section | Note] = [
        compute_section(run),
        flow_section(run),
        shares_section(run),
        dependence_section(run),
        capacity_section(run),
        costs_section(run),
        unit_cost_section(run),
        builds_section(run),
        utilisation_section(run),
        shadow_section(run),
        unmet_section(run),
    ]
    sections += [x for x in (programmes_section(run), why_not_section(run)) if x is not None]
    sections += [x for x in (clearing_section(run),) if x is not None]
    from fabnet.report.stochastic import stochastic_sections

    sections += stochastic_sections(run)
    if risk is not None:
        from fabnet.report.risk import plan_risk_sections

        sections.extend(plan_risk_sections(risk))
    return page(
        title=f"fabnet plan · {scen.name}",
        subtitle=subtitle,
        cards=_cards(run),
        intro_html=_intro(run),
        sections=sections,
    )
