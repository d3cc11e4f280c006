"""The dashboard's pages as HTML bodies, built from stored runs with the report's own code.

Plan pages reuse the section builders of :mod:`fabnet.report.plan` (the same charts as the
HTML report, interactive); other kinds of run get their summary and tables.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from fabnet.report import plan as rp
from fabnet.report.fmt import money, number, percent
from fabnet.report.page import table_html
from fabnet.scenario import Scenario
from fabnet.store import RunRecord
from fabnet.web.data import scenario_differences
from fabnet.web.html import (
    Card,
    Section,
    cards_html,
    cell,
    csrf_field,
    errors_html,
    esc,
    figure_html,
    href,
    sections_html,
)
from fabnet.web.jobs import Job

#: Columns of the runs list that can be sorted on, with their labels.
#: Input differences listed before the rest fold away.
_DIFF_ROWS = 40

RUN_COLUMNS = {
    "id": "id",
    "kind": "kind",
    "scenario": "scenario / input",
    "variant": "variant",
    "status": "status",
    "created_at": "created (UTC)",
    "objective_usd": "objective (PV)",
    "unmet_pflops": "unmet PFLOP/s·yr",
    "time_s": "time s",
}


def _short(text: str, limit: int = 160) -> str:
    """Text cut to ``limit`` characters (long descriptions would swamp a comparison)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _f(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


# Runs --------------------------------------------------------------------------------------


def runs_page(
    all_runs: pd.DataFrame,
    shown: pd.DataFrame,
    filters: Mapping[str, str],
    sort: str,
    desc: bool,
    csrf: str,
    message: str = "",
) -> str:
    """The runs list: filters, a sortable table, compare checkboxes, delete buttons."""

    def select(col: str, label: str) -> str:
        values = sorted({str(v) for v in all_runs[col] if str(v)}) if len(all_runs) else []
        current = filters.get(col, "")
        opts = ['<option value="">all</option>'] + [
            f'<option value="{esc(v)}"{" selected" if v == current else ""}>{esc(v)}</option>'
            for v in values
        ]
        return f'<label>{esc(label)}<select name="{col}">{"".join(opts)}</select></label>'

    hidden_sort = (
        f'<input type="hidden" name="sort" value="{esc(sort)}">'
        f'<input type="hidden" name="desc" value="{int(desc)}">'
    )
    filt = (
        '<form class="filters" method="get" action="/runs" id="filters">'
        + select("kind", "kind")
        + select("scenario", "scenario")
        + select("variant", "variant")
        + select("status", "status")
        + f'<label>from date<input type="date" name="since" value="{esc(filters.get("since", ""))}"></label>'
        + f'<label>to date<input type="date" name="until" value="{esc(filters.get("until", ""))}"></label>'
        + hidden_sort
        + '<button type="submit">Filter</button> <a class="button secondary" href="/runs">Reset</a></form>'
    )
    heads = []
    for col, label in RUN_COLUMNS.items():
        nxt = not desc if col == sort else col in ("created_at", "id")
        arrow = (" ▼" if desc else " ▲") if col == sort else ""
        link = href("/runs", **filters, sort=col, desc=int(nxt))
        num = ' class="num"' if col in ("objective_usd", "unmet_pflops", "time_s") else ""
        heads.append(f'<th{num}><a href="{esc(link)}">{esc(label)}{arrow}</a></th>')
    rows = []
    for r in shown.to_dict("records"):
        rid = esc(r["id"])
        unmet = _f(r["unmet_pflops"])
        rows.append(
            "<tr>"
            f'<td><input type="checkbox" name="ids" value="{rid}" form="compare" '
            f'aria-label="select {rid}"> <a href="/runs/{rid}">{rid}</a></td>'
            f"<td>{esc(r['kind'])}</td><td>{esc(r['scenario'])}</td>"
            f"<td>{esc(r['variant'] or '–')}</td><td>{esc(r['status'])}</td>"
            f"<td>{esc(str(r['created_at'])[:19])}</td>"
            f'<td class="num">{esc(money(_f(r["objective_usd"])))}</td>'
            f'<td class="num">{esc(number(unmet) if math.isfinite(unmet) else "–")}</td>'
            f'<td class="num">{_f(r["time_s"]):.1f}</td>'
            f'<td><a class="button secondary small" href="/runs/{rid}/delete">delete</a></td>'
            "</tr>"
        )
    table = (
        f'<div class="tablewrap"><table class="t" id="runs"><thead><tr>{"".join(heads)}<th></th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
        if rows
        else '<p class="muted">No runs match. Start one under <a href="/runs/new">New run</a>, '
        "or with <code>fabnet plan toy</code>.</p>"
    )
    compare = (
        '<form id="compare" method="get" action="/compare">'
        '<button type="submit">Compare selected (2–4)</button></form>'
    )
    note = f'<div class="ok">{esc(message)}</div>' if message else ""
    return (
        f"<h1>Runs</h1><p class=sub>{len(shown)} of {len(all_runs)} runs in the store · "
        f"tick 2–4 runs to compare them</p>{note}{filt}{compare}{table}"
    )


def delete_page(rec_id: str, kind: str, scenario: str, csrf: str) -> str:
    """Confirmation before deleting a run."""
    return (
        f"<h1>Delete run {esc(rec_id)}?</h1>"
        f'<p class="sub">The {esc(kind)} run of <b>{esc(scenario)}</b> and all its result tables '
        "are removed from the store. This cannot be undone.</p>"
        f'<form method="post" action="/runs/{esc(rec_id)}/delete">{csrf_field(csrf)}'
        '<button class="danger" type="submit" id="confirm-delete">Delete the run</button> '
        f'<a class="button secondary" href="/runs/{esc(rec_id)}">Keep it</a></form>'
    )


# One run -------------------------------------------------------------------------------------


def _tables_section(rec: RunRecord) -> str:
    rows = "".join(
        f"<tr><td>{esc(name)}</td><td class=num>{len(frame):,}</td>"
        f"<td>{esc(', '.join(map(str, frame.columns[:8])))}{' …' if len(frame.columns) > 8 else ''}</td>"
        f'<td><a href="/runs/{esc(rec.id)}/tables/{esc(name)}.csv">CSV</a> · '
        f'<a href="/runs/{esc(rec.id)}/tables/{esc(name)}.parquet">Parquet</a></td></tr>'
        for name, frame in rec.tables.items()
    )
    return (
        '<section id="tables"><h2>Result tables</h2><p class="caption">Every table of the run '
        "as stored, to download (columns as documented in the user guide).</p>"
        '<table class="t"><thead><tr><th>table</th><th class=num>rows</th><th>columns</th>'
        f"<th>download</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _head(rec: RunRecord, title: str) -> str:
    opts = ", ".join(
        f"{k} {v}"
        for k, v in rec.options.items()
        if v not in (None, False, "") and not (isinstance(v, list | dict) and not v)
    )
    return (
        f"<h1>{esc(title)}</h1><p class=sub>run <code>{esc(rec.id)}</code> · "
        f"{rec.created_at:%Y-%m-%d %H:%M} UTC · status <b>{esc(rec.status)}</b> · fabnet "
        f"{esc(rec.meta.get('fabnet_version', ''))}"
        + (f" · options: {esc(opts)}" if opts else "")
        + f' · <a href="/api/runs/{esc(rec.id)}">JSON</a>'
        + (f' · <a href="/scenarios/run/{esc(rec.id)}">scenario inputs</a>' if rec.scenario else "")
        + "</p>"
    )


def map_section(rec: RunRecord) -> Section | None:
    """Sites with coordinates on a map, sized by capacity used, coloured by country."""
    scen = rec.scenario
    if scen is None:
        return None
    placed = [s for s in scen.sites if getattr(s, "lat", None) is not None]
    if not placed:
        return None
    util = rec.table("utilisation")
    used: dict[str, float] = {}
    if not util.empty and {"site", "used_wafers"} <= set(util.columns):
        used = {str(k): float(v) for k, v in util.groupby("site")["used_wafers"].mean().items()}
    builds = set(rec.table("builds").get("site", pd.Series(dtype=str)).astype(str))
    fig = go.Figure()
    top = max([*used.values(), 1.0])
    labelled: list[tuple[float, float]] = []
    for country in sorted({s.country for s in placed}):
        sites = [s for s in placed if s.country == country]
        texts = []
        for s in sites:
            # One label per cluster: sites within 1.5° of a labelled one show on hover only.
            key = (float(s.lat or 0), float(s.lon or 0))
            near = any(abs(key[0] - a) < 1.5 and abs(key[1] - b) < 1.5 for a, b in labelled)
            texts.append("" if near else (s.region.split("/")[0].strip() or s.id))
            if not near:
                labelled.append(key)
        fig.add_trace(
            go.Scattergeo(
                lat=[s.lat for s in sites],
                lon=[s.lon for s in sites],
                text=texts,
                textposition="top center",
                mode="markers+text",
                hovertext=[
                    f"{s.id} ({s.name or s.region})<br>{s.status.value}"
                    + (" · built by the plan" if s.id in builds else "")
                    + f"<br>wafers used: {number(used.get(s.id, 0.0))} a period (mean)"
                    for s in sites
                ],
                hoverinfo="text",
                name=country,
                marker={
                    "size": [8 + 30 * math.sqrt(used.get(s.id, 0.0) / top) for s in sites],
                    "opacity": 0.7,
                    "line": {"width": 1, "color": "#fff"},
                },
            )
        )
    # No coastlines or countries: plotly.js loads its base map from a CDN, and the dashboard
    # works offline; a latitude/longitude grid places the sites instead.
    fig.update_geos(
        showcoastlines=False, showland=False, showocean=False, showlakes=False,
        showrivers=False, showcountries=False, showsubunits=False, showframe=True,
        lataxis={"showgrid": True, "dtick": 10}, lonaxis={"showgrid": True, "dtick": 10},
        fitbounds="locations", projection_type="equirectangular",
    )  # fmt: skip
    fig.update_layout(height=460, margin={"l": 0, "r": 0, "t": 10, "b": 0}, legend_title="country")
    return Section(
        "map",
        "Sites on a map",
        "Each site with coordinates in the scenario (the city it is in), coloured by country; "
        "the marker grows with the wafers the plan uses there (mean per period). Grid lines "
        "every 10° of latitude and longitude; no coastlines, as the dashboard loads nothing "
        "from the internet.",
        fig,
    )


def plan_body(rec: RunRecord) -> str:
    """A plan run: the report's cards, diagnosis and charts (interactive), the tables."""
    scen = rec.scenario
    title = f"Plan · {scen.name if scen else rec.meta.get('scenario_name')}"
    variant = rec.options.get("variant")
    if variant:
        title += f" [{variant}]"
    sections = [
        rp.compute_section(rec),
        rp.shares_section(rec),
        rp.costs_section(rec),
        rp.builds_section(rec),
        rp.utilisation_section(rec),
        rp.shadow_section(rec),
        rp.unmet_section(rec),
    ]
    sections += [x for x in (rp.programmes_section(rec), rp.why_not_section(rec)) if x is not None]
    from fabnet.report.stochastic import stochastic_sections

    sections += stochastic_sections(rec)
    geo = map_section(rec)
    if geo is not None:
        sections.append(geo)
    return (
        _head(rec, title)
        + cards_html(rp._cards(rec))
        + rp._intro(rec)
        + sections_html(sections, [("tables", "Result tables")])
        + _tables_section(rec)
    )


def risk_body(rec: RunRecord) -> str:
    """A risk run: the risk report's cards and charts (interactive), then the tables."""
    from fabnet.report import risk as rr

    title = f"Risk · {rec.meta.get('scenario_name')} · plan {rec.summary.get('plan_run_id', '')}"
    sections = [
        rr.cost_section(rec),
        rr.unmet_section(rec),
        rr.fan_section(rec),
        rr.events_section(rec),
        rr.stress_section(rec),
        rr.convergence_section(rec),
    ]
    notes = ""
    if rec.messages:
        items = "".join(f"<li>{esc(m)}</li>" for m in rec.messages)
        notes = f'<section><h2>Notes</h2><ul class="msgs">{items}</ul></section>'
    return (
        _head(rec, title)
        + cards_html(rr.risk_cards(rec))
        + notes
        + sections_html(sections, [("tables", "Result tables")])
        + _tables_section(rec)
    )


def run_body(rec: RunRecord) -> str:
    """A run of another kind (fab, risk): its summary figures, messages and tables."""
    scalars = [
        (str(k), v)
        for k, v in rec.summary.items()
        if k != "run_id" and isinstance(v, str | int | float | bool)
    ]
    cards = [Card(k.replace("_", " "), cell(v)) for k, v in scalars[:12]]
    nested = [(str(k), v) for k, v in rec.summary.items() if isinstance(v, dict | list)]
    parts = [
        _head(rec, f"{rec.kind.capitalize()} run · {rec.meta.get('scenario_name')}"),
        cards_html(cards),
    ]
    if rec.messages:
        items = "".join(f"<li>{esc(m)}</li>" for m in rec.messages)
        parts.append(f'<section><h2>Messages</h2><ul class="msgs">{items}</ul></section>')
    for key, value in nested:
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            cols = list(dict.fromkeys(k for v in value for k in v))
            parts.append(
                f"<section><h2>{esc(key)}</h2>"
                + table_html(cols, [[cell(v.get(c)) for c in cols] for v in value[:200]])
                + "</section>"
            )
    for name, frame in rec.tables.items():
        chart = _table_chart(frame, f"{rec.kind}-{name}")
        head = frame.head(50)
        parts.append(
            f'<section id="t-{esc(name)}"><h2>{esc(name)}</h2><p class="caption">{len(frame):,} '
            f"rows{' (first 50 shown)' if len(frame) > 50 else ''} · download "
            f'<a href="/runs/{esc(rec.id)}/tables/{esc(name)}.csv">CSV</a> · '
            f'<a href="/runs/{esc(rec.id)}/tables/{esc(name)}.parquet">Parquet</a></p>'
            + chart
            + '<div class="tablewrap">'
            + table_html(
                [str(c) for c in head.columns],
                [[cell(v) for v in row] for row in head.itertuples(index=False)],
            )
            + "</div></section>"
        )
    return "".join(parts)


def _table_chart(frame: pd.DataFrame, key: str) -> str:
    """A bar chart of a small table: its first text column against its numeric columns."""
    if frame.empty or len(frame) > 60:
        return ""
    text_cols = [
        c
        for c in frame.columns
        if not pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    ]
    num_cols = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])][:4]
    if not text_cols or not num_cols:
        return ""
    fig = go.Figure(
        [go.Bar(x=frame[text_cols[0]].astype(str), y=frame[c], name=str(c)) for c in num_cols]
    )
    fig.update_layout(
        template="plotly_white", height=320, margin={"l": 60, "r": 20, "t": 30, "b": 60}
    )
    return figure_html(fig, f"chart-{key}")


# Compare -------------------------------------------------------------------------------------


def compare_body(recs: Sequence[RunRecord], figures: pd.DataFrame) -> str:
    """2–4 runs side by side: input differences first, then cost, shares, builds, unmet."""
    ids = [r.id for r in recs]
    labels = [
        f"{r.id} · {r.meta.get('scenario_name')}"
        + (f" [{r.options.get('variant')}]" if r.options.get("variant") else "")
        for r in recs
    ]
    head = "".join(
        f'<th class="v"><a href="/runs/{esc(i)}">{esc(lab)}</a></th>'
        for i, lab in zip(ids, labels, strict=True)
    )
    dumps = [r.scenario.model_dump(mode="json") if r.scenario else None for r in recs]
    diffs = scenario_differences(dumps)
    option_keys = sorted({k for r in recs for k in r.options})
    opt_rows = [
        (f"option {k}", [r.options.get(k) for r in recs])
        for k in option_keys
        if len({str(r.options.get(k)) for r in recs}) > 1
    ]
    rows = [*opt_rows, *diffs]

    def diff_row(path: str, vals: list[Any]) -> str:
        return (
            f"<tr><td><code>{esc(path)}</code></td>"
            + "".join(
                f'<td class="v{" changed" if i and str(v) != str(vals[0]) else ""}">'
                f"{esc(_short(cell(v))) if v is not None else '<i>not set</i>'}</td>"
                for i, v in enumerate(vals)
            )
            + "</tr>"
        )

    if rows:
        by_part: dict[str, int] = {}
        for path, _v in diffs:
            part = path.split(".")[0].split("[")[0]
            by_part[part] = by_part.get(part, 0) + 1
        parts_text = ", ".join(f"{k} {n}" for k, n in by_part.items())
        shown, rest = rows[:_DIFF_ROWS], rows[_DIFF_ROWS:]
        table = (
            f'<div class="tablewrap"><table class="t" id="diffs"><thead><tr><th>input</th>{head}'
            f"</tr></thead><tbody>{''.join(diff_row(p, v) for p, v in shown)}</tbody></table></div>"
        )
        if rest:
            table += (
                f"<details><summary>{len(rest)} more differences (click to show)</summary>"
                '<div class="tablewrap"><table class="t"><tbody>'
                + "".join(diff_row(p, v) for p, v in rest)
                + "</tbody></table></div></details>"
            )
        inputs = (
            f'<p class="caption">{len(diffs)} scenario inputs'
            + (f" ({esc(parts_text)})" if parts_text else "")
            + f" and {len(opt_rows)} run options differ (the first run is the reference; "
            "changed cells are shaded).</p>" + table
        )
    else:
        inputs = '<p class="caption" id="no-diffs">The runs have the same inputs and options.</p>'
    fig_rows = []
    for figure, row in figures.iterrows():
        name = str(figure)
        if name.startswith("option ") or name in ("kind", "scenario hash", "created (UTC)"):
            continue
        cells = []
        for v in row:
            if isinstance(v, float):
                text = money(v) if "USD" in name else percent(v) if "share" in name else number(v)
            else:
                text = cell(v) or "–"
            cells.append(f'<td class="v">{esc(_short(text))}</td>')
        fig_rows.append(f"<tr><td>{esc(name)}</td>{''.join(cells)}</tr>")
    key_table = (
        f'<table class="t" id="figures"><thead><tr><th>figure</th>{head}</tr></thead>'
        f"<tbody>{''.join(fig_rows)}</tbody></table>"
    )
    charts = _compare_charts(recs, labels)
    return (
        f"<h1>Compare {len(recs)} runs</h1><p class=sub>What changed in the inputs, then what "
        "changed in the results.</p>"
        f'<section id="inputs"><h2>Inputs that differ</h2>{inputs}</section>'
        f'<section id="key"><h2>Key figures</h2><div class="tablewrap">{key_table}</div></section>'
        + charts
    )


_PALETTE = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b", "#9d755d")
_DASHES = ("solid", "dash", "dot", "dashdot")


def _compare_charts(recs: Sequence[RunRecord], labels: Sequence[str]) -> str:
    """Cost by category and unmet compute by year, one series per run."""
    parts = []
    cost = go.Figure()
    for rec, label in zip(recs, labels, strict=True):
        costs = rec.table("costs")
        if costs.empty or "category" not in costs:
            continue
        by = costs.groupby("category", sort=False)["cost_pv_usd"].sum()
        cost.add_trace(go.Bar(x=[str(c) for c in by.index], y=by.to_numpy(), name=label))
    if cost.data:
        cost.update_layout(
            template="plotly_white", barmode="group", height=380, yaxis_title="present value (USD)",
            margin={"l": 70, "r": 20, "t": 40, "b": 60}, legend={"orientation": "h", "y": 1.1},
        )  # fmt: skip
        parts.append(
            '<section id="cost"><h2>Cost by category</h2><p class="caption">Present value by '
            "cost category, one bar per run.</p>"
            + figure_html(cost, "chart-compare-cost")
            + "</section>"
        )
    unmet = go.Figure()
    shares = go.Figure()
    vendors_all = sorted(
        {
            v
            for r in recs
            for y in r.summary.get("years") or []
            if isinstance(y, dict)
            for v in (y.get("vendor_share") or {})
        }
    )
    colour = {v: _PALETTE[i % len(_PALETTE)] for i, v in enumerate(vendors_all)}
    for n, (rec, label) in enumerate(zip(recs, labels, strict=True)):
        years = [y for y in rec.summary.get("years") or [] if isinstance(y, dict)]
        if not years:
            continue
        unmet.add_trace(
            go.Scatter(
                x=[y.get("year") for y in years],
                y=[_f(y.get("unmet_pflops")) for y in years],
                name=label,
                mode="lines+markers",
            )
        )
        for vendor in sorted({v for y in years for v in (y.get("vendor_share") or {})}):
            shares.add_trace(
                go.Scatter(
                    x=[y.get("year") for y in years],
                    y=[_f((y.get("vendor_share") or {}).get(vendor)) for y in years],
                    name=f"{vendor} · {label}", mode="lines",
                    line={"color": colour[vendor], "dash": _DASHES[n % len(_DASHES)]},
                )
            )  # fmt: skip
    for fig, key, title, caption, ytitle in (
        (shares, "shares", "Vendor shares of new compute", "Share of each year's new compute by vendor, per run.", "share"),
        (unmet, "unmet", "Unmet compute", "PFLOP/s short of demand each year, per run.", "PFLOP/s"),
    ):  # fmt: skip
        if fig.data:
            fig.update_layout(
                template="plotly_white", height=360, yaxis_title=ytitle,
                margin={"l": 70, "r": 20, "t": 30, "b": 50},
            )  # fmt: skip
            fig.update_xaxes(dtick=1 if len(fig.data[0].x or []) <= 12 else None, tickformat="d")
            if key == "shares":
                fig.update_yaxes(tickformat=".0%")
            parts.append(
                f'<section id="{key}"><h2>{title}</h2><p class="caption">{caption}</p>'
                + figure_html(fig, f"chart-compare-{key}") + "</section>"
            )  # fmt: skip
    builds = "".join(
        f"<tr><td>{esc(label)}</td><td>"
        + esc(
            ", ".join(
                f"{b.get('site')} ({b.get('start_period')} → {b.get('online_period')})"
                for b in rec.summary.get("builds") or []
            )
            or "none"
        )
        + "</td></tr>"
        for rec, label in zip(recs, labels, strict=True)
    )
    parts.append(
        '<section id="builds"><h2>Builds</h2><table class="t"><thead><tr><th>run</th>'
        f"<th>sites built (start → online)</th></tr></thead><tbody>{builds}</tbody></table></section>"
    )
    return "".join(parts)


# Scenarios -----------------------------------------------------------------------------------


def _models_table(items: Sequence[Mapping[str, Any]]) -> str:
    if not items:
        return '<p class="muted">none</p>'
    cols = [c for c in dict.fromkeys(k for it in items for k in it) if c != "description"]
    cols = [c for c in cols if any(it.get(c) not in (None, "", [], {}) for it in items)]
    return (
        '<div class="tablewrap">'
        + table_html(cols, [[cell(it.get(c)) for c in cols] for it in items])
        + "</div>"
    )


def scenario_body(scen: Scenario, source: str, variants: Sequence[str] = ()) -> str:
    """The inputs of a scenario as readable tables."""
    d = scen.model_dump(mode="json")
    general = {
        k: d[k]
        for k in ("name", "designer", "horizon", "discount_rate", "electricity_usd_per_kwh", "pue")
        if k in d
    }
    blocks = [
        f"<h1>Scenario · {esc(scen.name)}</h1><p class=sub>{esc(source)}"
        + (f"<br>{esc(scen.description)}" if scen.description else "")
        + "</p>",
        '<section id="general"><h2>General</h2>'
        + table_html(["input", "value"], [(k, cell(v)) for k, v in general.items()])
        + "</section>",
    ]
    for key, title in (
        ("companies", "Companies"),
        ("sites", "Sites"),
        ("processes", "Processes"),
        ("products", "Products"),
        ("offers", "Incumbent offers"),
        ("programmes", "Programmes"),
    ):
        items = d.get(key) or []
        blocks.append(
            f'<section id="{key}"><h2>{title} ({len(items)})</h2>{_models_table(items)}</section>'
        )
    demand = d.get("demand") or {}
    demand_rows = []
    for k, v in demand.items():
        if isinstance(v, list):
            demand_rows.append(f"<h3>{esc(k)}</h3>{_models_table(v)}")
        else:
            demand_rows.append(table_html(["input", "value"], [(k, cell(v))]))
    blocks.append(f'<section id="demand"><h2>Demand</h2>{"".join(demand_rows)}</section>')
    policies = d.get("policies") or {}
    blocks.append(
        '<section id="policies"><h2>Policies</h2>'
        + table_html(
            ["policy", "value"],
            [(k, cell(v) or "–") for k, v in policies.items()],
        )
        + "</section>"
    )
    if variants:
        rows = [(name, cell((d.get("variants") or {}).get(name))) for name in variants]
        blocks.append(
            f'<section id="variants"><h2>Variants</h2>{table_html(["variant", "what it sets"], rows)}</section>'
        )
    return "".join(blocks)


def _size(kb: int) -> str:
    return f"{kb / 1000:g} MB" if kb >= 1000 else f"{kb} kB"


def scenarios_index(
    builtins: Sequence[str],
    uploads: Mapping[str, str],
    csrf: str,
    max_kb: int,
    errors: Sequence[str] = (),
    ok: str = "",
) -> str:
    """The list of scenarios and the upload form."""
    items = "".join(
        f'<li><a href="/scenarios/{esc(n)}">{esc(n)}</a> (built-in)</li>' for n in builtins
    )
    items += "".join(
        f'<li><a href="/scenarios/upload/{esc(k)}">{esc(label)}</a> (uploaded)</li>'
        for k, label in uploads.items()
    )
    note = f'<div class="ok">{esc(ok)}</div>' if ok else ""
    return (
        "<h1>Scenarios</h1><p class=sub>The inputs of a scenario as tables; check a scenario "
        "file of your own.</p>"
        + note
        + errors_html(errors)
        + f"<section><h2>Available</h2><ul>{items}</ul></section>"
        + '<section id="upload"><h2>Check a scenario file</h2><p class="caption">The file is '
        f"parsed in memory (at most {_size(max_kb)}), validated like <code>fabnet scenario "
        "validate</code>, and kept in memory until the server stops so that you can plan it "
        "under New run.</p>"
        '<form method="post" action="/scenarios/upload" enctype="multipart/form-data">'
        + csrf_field(csrf)
        + '<input type="file" name="file" accept=".yaml,.yml" required> '
        '<button type="submit">Upload and validate</button></form></section>'
    )


# New run and jobs -----------------------------------------------------------------------------


def new_run_body(
    scenarios: Sequence[tuple[str, str]],
    variants: Mapping[str, Sequence[str]],
    values: Mapping[str, str],
    errors: Sequence[str],
    csrf: str,
    max_jobs: int,
) -> str:
    """The form that starts a plan in the background."""
    current = values.get("scenario", scenarios[0][0] if scenarios else "")
    scen_opts = "".join(
        f'<option value="{esc(k)}"{" selected" if k == current else ""}>{esc(label)}</option>'
        for k, label in scenarios
    )
    var_list = "".join(
        f'<option value="{esc(v)}">{esc(k)}</option>' for k, vs in variants.items() for v in vs
    )
    period = values.get("period", "")
    period_opts = "".join(
        f'<option value="{p}"{" selected" if p == period else ""}>{p or "as in the scenario"}</option>'
        for p in ("", "year", "quarter", "month")
    )
    return (
        "<h1>New run</h1><p class=sub>Plan a scenario in the background, as "
        "<code>fabnet plan</code> does; the run appears in Runs once it is stored. At most "
        f"{max_jobs} runs at a time.</p>"
        + errors_html(errors)
        + '<form class="run" method="post" action="/runs/new" id="new-run">'
        + csrf_field(csrf)
        + f'<label>scenario<select name="scenario" id="scenario">{scen_opts}</select></label>'
        + f'<label>variant (empty for the base scenario)<input name="variant" list="variants" '
        f'value="{esc(values.get("variant", ""))}" maxlength="64"><datalist id="variants">{var_list}</datalist></label>'
        + '<p class="muted" style="margin:-6px 0 0;font-size:12.5px">variants: '
        + esc("; ".join(f"{k}: {', '.join(vs) or 'none'}" for k, vs in variants.items()))
        + "</p>"
        + '<label>--set overrides, one PATH=VALUE a line<textarea name="sets" rows="4" '
        f'maxlength="4000" placeholder="policies.max_vendor_share.nvidia=0.3">{esc(values.get("sets", ""))}</textarea></label>'
        + f'<label>period<select name="period">{period_opts}</select></label>'
        + '<label>relative MIP gap<input name="gap" inputmode="decimal" '
        f'value="{esc(values.get("gap", "0.001"))}" maxlength="12"></label>'
        + '<div><button type="submit" id="start">Start the run</button></div></form>'
    )


def job_body(job: Job, csrf: str) -> str:
    """A job's live progress (polled as JSON) with a cancel button."""
    spec = job.spec
    what = esc(spec.scenario) + (f" [{esc(spec.variant)}]" if spec.variant else "")
    sets = ", ".join(spec.sets)
    return (
        f"<h1>Run of {what}</h1><p class=sub>job <code>{esc(job.id)}</code>"
        + (f" · --set {esc(sets)}" if sets else "")
        + (f" · period {esc(spec.period)}" if spec.period else "")
        + f" · gap {spec.gap:g}</p>"
        '<section><div class="progress" id="status" data-status="'
        f'{esc(job.status)}">{esc(job.status)}: {esc(job.step)}</div>'
        '<div id="result"></div>'
        f'<form method="post" action="/jobs/{esc(job.id)}/cancel" id="cancel-form">'
        + csrf_field(csrf)
        + '<button class="danger" type="submit" id="cancel">Cancel</button></form></section>'
        "<script>\n"
        f"const jobId = {json.dumps(job.id)};\n"
        """async function poll() {
  const r = await fetch('/api/jobs/' + jobId, {credentials: 'same-origin'});
  if (!r.ok) { return; }
  const j = await r.json();
  const s = document.getElementById('status');
  s.dataset.status = j.status;
  s.textContent = j.status + ': ' + j.step + ' (' + j.elapsed_s + ' s)';
  const res = document.getElementById('result');
  if (j.status === 'stored') {
    res.innerHTML = '';
    const a = document.createElement('a');
    a.href = '/runs/' + j.run_id; a.id = 'run-link';
    a.textContent = 'Open run ' + j.run_id;
    res.appendChild(a);
  } else if (j.status === 'failed') {
    res.className = 'errors'; res.textContent = j.error;
  }
  if (['stored', 'failed', 'cancelled'].includes(j.status)) {
    document.getElementById('cancel-form').style.display = 'none';
  } else { setTimeout(poll, 500); }
}
poll();
</script>"""
    )


def jobs_body(jobs: Sequence[Job]) -> str:
    """Background runs started from this dashboard since it started."""
    if not jobs:
        return '<h1>Jobs</h1><p class="muted">No runs started from the dashboard yet.</p>'
    rows = [
        (
            job.id,
            job.spec.scenario + (f" [{job.spec.variant}]" if job.spec.variant else ""),
            job.status,
            job.step,
            job.run_id or "",
            f"{job.started_at:%H:%M:%S}",
        )
        for job in jobs
    ]
    body = table_html(["job", "scenario", "status", "step", "run", "started (UTC)"], rows)
    for job in jobs:
        body = body.replace(
            f"<td>{esc(job.id)}</td>",
            f'<td><a href="/jobs/{esc(job.id)}">{esc(job.id)}</a></td>',
            1,
        )
    return f"<h1>Jobs</h1><p class=sub>Runs started from this dashboard.</p>{body}"


def api_body(spec: Mapping[str, Any]) -> str:
    """The JSON API's routes from the OpenAPI document, readable offline."""
    rows = []
    for path, ops in (spec.get("paths") or {}).items():
        for method, op in ops.items():
            params = ", ".join(
                f"{p.get('name')} ({p.get('in')})" for p in op.get("parameters") or []
            )
            rows.append(
                (method.upper(), path, op.get("summary", ""), op.get("description", ""), params)
            )
    return (
        "<h1>JSON API</h1><p class=sub>Every page's data as JSON. The OpenAPI document is "
        '<a href="/openapi.json">/openapi.json</a>; FastAPI\'s interactive page is '
        '<a href="/docs">/docs</a> (it loads Swagger UI from a CDN, so it needs the '
        "internet; this page does not).</p>"
        + '<section><div class="tablewrap">'
        + table_html(["method", "route", "summary", "what it returns", "parameters"], rows)
        + "</div></section>"
    )
