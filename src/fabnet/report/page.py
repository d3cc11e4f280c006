"""The HTML page around the charts: styles, header cards and tables."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import plotly.graph_objects as go
import plotly.offline

#: Plotly config for every chart: no logo, no cloud buttons, responsive width.
PLOTLY_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["lasso2d", "select2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}

_CSS = """
:root { --ink:#1f2933; --muted:#5f6b7a; --line:#d9dee5; --bg:#f6f7f9; --warn:#9a3412;
        --ok:#166534; --card:#ffffff; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
       color:var(--ink); background:var(--bg); }
main { max-width: 1280px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 0 0 4px; }
.sub { color: var(--muted); margin: 0 0 16px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 10px;
         margin: 14px 0 18px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
        padding: 10px 12px; }
.card .k { color: var(--muted); font-size: 12.5px; text-transform: uppercase;
           letter-spacing: .03em; }
.card .v { font-size: 21px; font-weight: 600; margin-top: 2px; }
.card .n { color: var(--muted); font-size: 12.5px; margin-top: 2px; }
.status-optimal { color: var(--ok); }
.status-bad { color: var(--warn); }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
          padding: 16px 18px 8px; margin: 0 0 18px; }
.caption { color: var(--muted); margin: 0 0 8px; max-width: 95ch; }
.msgs { margin: 6px 0 4px 0; padding-left: 20px; }
.msgs li { margin: 3px 0; }
table.t { border-collapse: collapse; font-size: 13.5px; margin: 6px 0 10px; }
table.t th, table.t td { border-bottom: 1px solid var(--line); padding: 4px 10px;
                         text-align: left; vertical-align: top; }
table.t td.num, table.t th.num { text-align: right; font-variant-numeric: tabular-nums;
                                  white-space: nowrap; }
table.t th { color: var(--muted); font-weight: 600; }
nav.toc { font-size: 13.5px; margin: 0 0 16px; }
details summary { cursor: pointer; color: #1d4ed8; margin: 6px 0; }
nav.toc a { color: #1d4ed8; text-decoration: none; margin-right: 14px; }
footer { color: var(--muted); font-size: 12.5px; margin-top: 24px; }
.chart { width: 100%; }
.tbl { position: relative; overflow-x: auto; }
a.csv { font-size: 12px; color: #1d4ed8; text-decoration: none; border: 1px solid var(--line);
        border-radius: 4px; padding: 1px 6px; display: inline-block; margin: 4px 0 0; }
a.csv:hover { background: #eef2ff; }
.note { color: var(--muted); font-size: 13.5px; margin: 0 0 14px; }
@media print { body { background: #fff; } section { break-inside: avoid; } nav.toc { display: none; } }
"""


@dataclass(frozen=True)
class Card:
    """One key figure in the header: label, value and a short note."""

    label: str
    value: str
    note: str = ""
    css: str = ""


@dataclass(frozen=True)
class Section:
    """One chart (or other block) with its heading and a caption saying how to read it."""

    key: str
    title: str
    caption: str
    figure: go.Figure | None = None
    extra_html: str = ""


@dataclass(frozen=True)
class Note:
    """A section left out because the plan has nothing to draw there: one line saying why."""

    title: str
    text: str


def esc(text: object) -> str:
    """HTML-escaped text."""
    return html.escape(str(text), quote=True)


@dataclass(frozen=True)
class Num:
    """A table cell shown as ``text`` whose CSV download holds the exact ``value``
    (``694 bn USD`` on the page, ``693981234567.8`` in the file)."""

    value: float
    text: str


def _cell(c: object, num: bool) -> str:
    # long text in a numeric column (a list of builds) wraps instead of widening the table
    cls = ' class="num"' if num and (isinstance(c, Num) or len(str(c)) <= 32) else ""
    if isinstance(c, Num):
        raw = "" if c.value != c.value else repr(float(c.value))  # NaN: an empty CSV cell
        return f'<td{cls} data-v="{esc(raw)}">{esc(c.text)}</td>'
    return f"<td{cls}>{esc(c)}</td>"


def table_html(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    numeric: Sequence[int] = (),
    *,
    csv: str | None = None,
) -> str:
    """A small HTML table; columns listed in ``numeric`` are right-aligned.

    With ``csv`` (a file name without extension) a "CSV" link above the table downloads it
    (the page's inline script, :data:`CSV_JS`, turns the table into a file in the browser;
    :class:`Num` cells give their exact value).
    """
    head = "".join(
        f'<th class="num">{esc(h)}</th>' if i in numeric else f"<th>{esc(h)}</th>"
        for i, h in enumerate(header)
    )
    body = "".join(
        "<tr>" + "".join(_cell(c, i in numeric) for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    table = f'<table class="t"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    if csv is None:
        return table
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", csv).strip("-") or "table"
    return (
        f'<div class="tbl"><a class="csv" href="#" download="{esc(name)}.csv" '
        f'title="Download this table as CSV" onclick="return fabnetCsv(this)">↓ CSV</a>'
        f"{table}</div>"
    )


#: The inline script behind the "CSV" links: the table next to the link becomes a CSV file
#: (RFC 4180 quoting, a cell's ``data-v`` value where it has one), downloaded as a blob, so
#: the page needs no server.
CSV_JS = r"""
function fabnetCsv(a) {
  var t = a.parentNode.querySelector("table"); if (!t) return false;
  var q = function (s) { s = String(s).replace(/\s+/g, " ").trim();
    return /[",\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s; };
  var lines = [];
  t.querySelectorAll("tr").forEach(function (tr) {
    var cells = [];
    tr.querySelectorAll("th,td").forEach(function (c) {
      cells.push(q(c.hasAttribute("data-v") ? c.getAttribute("data-v") : c.textContent)); });
    lines.push(cells.join(","));
  });
  var blob = new Blob(["\ufeff" + lines.join("\r\n") + "\r\n"], {type: "text/csv;charset=utf-8"});
  var url = URL.createObjectURL(blob);
  var link = document.createElement("a");
  link.href = url; link.download = a.getAttribute("download") || "table.csv";
  document.body.appendChild(link); link.click(); document.body.removeChild(link);
  setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
  return false;
}
"""


def _is_empty(s: Section | Note) -> bool:
    """A section whose chart has no data (only a "nothing to show" message), or a note."""
    return isinstance(s, Note) or (s.figure is not None and not s.figure.data)


def _empty_reason(s: Section) -> str:
    """The message of an empty chart (its annotation), without a final full stop."""
    notes = [str(a.text) for a in (s.figure.layout.annotations if s.figure is not None else ())]
    return ("; ".join(n for n in notes if n) or "nothing to show").rstrip(".")


@cache
def _plotly_js() -> str:
    js: str = plotly.offline.get_plotlyjs()
    return js


def cards_html(cards: Sequence[Card]) -> str:
    """The key-figure cards of a page header (the report's and the dashboard's)."""
    inner = "".join(
        f'<div class="card"><div class="k">{esc(c.label)}</div>'
        f'<div class="v {esc(c.css)}">{esc(c.value)}</div>'
        + (f'<div class="n">{esc(c.note)}</div>' if c.note else "")
        + "</div>"
        for c in cards
    )
    return f'<div class="cards">{inner}</div>'


def figure_html(fig: go.Figure, div_id: str) -> str:
    """A plotly figure as a ``<div>`` (plotly.js loaded once by the page)."""
    html: str = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        # A chart that only says "nothing to show" needs no zoom buttons.
        config=PLOTLY_CONFIG if fig.data else {**PLOTLY_CONFIG, "displayModeBar": False},
        default_width="100%",
        default_height=f"{fig.layout.height or 420}px",
    )
    return html


def page(
    *,
    title: str,
    subtitle: str,
    cards: Sequence[Card],
    intro_html: str,
    sections: Sequence[Section | Note],
) -> str:
    """The whole report: one HTML document with plotly.js inlined once.

    No empty panels: a section whose chart has no data is shown as one line (its title and
    why), like a :class:`Note`.
    """
    blocks: list[str] = []
    shown = [s for s in sections if isinstance(s, Section) and not _is_empty(s)]
    toc = "".join(f'<a href="#{esc(s.key)}">{esc(s.title)}</a>' for s in shown)
    for s in sections:
        if isinstance(s, Note):
            blocks.append(f'<p class="note"><b>{esc(s.title)}:</b> {esc(s.text)}</p>')
            continue
        if _is_empty(s):
            # No empty panels: a chart with nothing to draw becomes one line saying why.
            blocks.append(
                f'<p class="note" id="{esc(s.key)}"><b>{esc(s.title)}:</b> '
                f"{esc(_empty_reason(s))}.</p>"
                + (s.extra_html and f'<div class="note">{s.extra_html}</div>')
            )
            continue
        chart = figure_html(s.figure, f"chart-{s.key}") if s.figure is not None else ""
        blocks.append(
            f'<section id="{esc(s.key)}"><h2>{esc(s.title)}</h2>'
            f'<p class="caption">{s.caption}</p><div class="chart">{chart}</div>'
            f"{s.extra_html}</section>"
        )
    # "</script" cannot appear inside an inline script; plotly.js does not contain it,
    # but guard anyway so a future bundle cannot break the page.
    js = _plotly_js().replace("</script", "<\\/script")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_CSS}</style>"
        f'<script type="text/javascript">{js}</script>'
        f'<script type="text/javascript">{CSV_JS}</script></head><body><main>'
        f'<h1>{esc(title)}</h1><p class="sub">{subtitle}</p>'
        f"{cards_html(cards)}{intro_html}"
        f'<nav class="toc">{toc}</nav>{"".join(blocks)}'
        "<footer>Made by fabnet. All charts are interactive: hover for values, click legend "
        "entries to hide or show series, drag to zoom, double-click to reset.</footer>"
        "</main></body></html>\n"
    )
