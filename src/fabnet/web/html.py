"""The dashboard's page shell and small HTML helpers (server-rendered, no template engine).

Styles are the HTML report's (:mod:`fabnet.report.page`) plus a navigation bar and
forms; plotly.js is served by the dashboard itself at ``/static/plotly.min.js``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from fabnet.report.page import _CSS, Card, Section, cards_html, esc, figure_html

__all__ = ["Card", "Section", "cards_html", "esc", "figure_html", "layout", "sections_html"]

_WEB_CSS = """
header.top { background:#1f2933; color:#fff; }
header.top nav { max-width:1280px; margin:0 auto; padding:10px 28px; display:flex; gap:22px;
                 align-items:center; }
header.top a { color:#e5e9f0; text-decoration:none; font-size:14.5px; }
header.top a.brand { font-weight:700; color:#fff; margin-right:12px; }
header.top a.on { color:#fff; border-bottom:2px solid #93c5fd; }
a { color:#1d4ed8; }
form.inline { display:inline; }
.filters { display:flex; flex-wrap:wrap; gap:10px; align-items:flex-end; margin:6px 0 12px; }
.filters label, form.run label { display:flex; flex-direction:column; font-size:12.5px;
                                 color:var(--muted); gap:3px; }
input, select, textarea { font:inherit; font-size:14px; padding:4px 6px; border:1px solid #b8c0cc;
                          border-radius:5px; background:#fff; color:var(--ink); }
textarea { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size:13px; }
button, .button { font:inherit; font-size:14px; padding:5px 12px; border-radius:5px;
                  border:1px solid #1d4ed8; background:#1d4ed8; color:#fff; cursor:pointer;
                  text-decoration:none; display:inline-block; }
button.secondary, .button.secondary { background:#fff; color:#1d4ed8; }
button.danger { background:#b91c1c; border-color:#b91c1c; }
button.small { font-size:12.5px; padding:2px 8px; }
form.run { display:grid; grid-template-columns: minmax(260px, 420px); gap:12px; }
.errors { background:#fef2f2; border:1px solid #fca5a5; color:#7f1d1d; border-radius:8px;
          padding:10px 14px; margin:0 0 14px; }
.errors li { margin:3px 0; white-space:pre-wrap; }
.ok { background:#f0fdf4; border:1px solid #86efac; color:#14532d; border-radius:8px;
      padding:10px 14px; margin:0 0 14px; }
.progress { font-size:16px; margin:8px 0; }
.muted { color:var(--muted); }
td.changed { background:#fff7ed; }
table.t td.v, table.t th.v { max-width: 42ch; overflow-wrap: anywhere; font-variant-numeric: tabular-nums; }
table.t tr:hover td { background:#f8fafc; }
code { font-size: 13px; }
.tablewrap { overflow-x:auto; }
"""

_NAV = (
    ("/runs", "Runs"),
    ("/runs/new", "New run"),
    ("/jobs", "Jobs"),
    ("/scenarios", "Scenarios"),
    ("/api", "API"),
)


def layout(title: str, body: str, *, active: str = "", plotly: bool = False) -> str:
    """A whole page: navigation bar, title, ``body``; plotly.js only when charts need it."""
    nav = "".join(
        f'<a href="{href}"{" class=on" if href == active else ""}>{esc(text)}</a>'
        for href, text in _NAV
    )
    script = '<script src="/static/plotly.min.js"></script>' if plotly else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{esc(title)} · fabnet</title><link rel="icon" href="data:,">'
        f"<style>{_CSS}{_WEB_CSS}</style>{script}</head><body>"
        f'<header class="top"><nav><a class="brand" href="/runs">fabnet</a>{nav}</nav></header>'
        f"<main>{body}</main></body></html>\n"
    )


def sections_html(sections: Sequence[Section], more: Sequence[tuple[str, str]] = ()) -> str:
    """Report sections (chart, caption, extra HTML) as on the HTML report, with a contents
    line (``more``: further ``(anchor, title)`` links for blocks after the sections)."""
    links = [(s.key, s.title) for s in sections] + list(more)
    toc = "".join(f'<a href="#{esc(k)}">{esc(t)}</a>' for k, t in links)
    blocks = []
    for s in sections:
        chart = figure_html(s.figure, f"chart-{s.key}") if s.figure is not None else ""
        blocks.append(
            f'<section id="{esc(s.key)}"><h2>{esc(s.title)}</h2>'
            f'<p class="caption">{s.caption}</p><div class="chart">{chart}</div>'
            f"{s.extra_html}</section>"
        )
    return f'<nav class="toc">{toc}</nav>{"".join(blocks)}'


def cell(value: Any) -> str:
    """A value as short readable text: numbers with separators, series ``year: value``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "–"
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 1e4 else str(value)
    if isinstance(value, dict):
        return " · ".join(f"{k}: {cell(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(cell(v) for v in value)
    return str(value)


def href(path: str, **params: Any) -> str:
    """A link with query parameters (values quoted)."""
    query = "&".join(
        f"{quote(str(k))}={quote(str(v))}" for k, v in params.items() if v not in (None, "")
    )
    return path + (f"?{query}" if query else "")


def errors_html(messages: Sequence[str]) -> str:
    """A red box listing what is wrong with the user's input."""
    if not messages:
        return ""
    items = "".join(f"<li>{esc(m)}</li>" for m in messages)
    return f'<div class="errors" role="alert"><b>Please fix:</b><ul>{items}</ul></div>'


def csrf_field(token: str) -> str:
    """The hidden form field that proves a POST comes from one of our pages."""
    return f'<input type="hidden" name="csrf" value="{esc(token)}">'
