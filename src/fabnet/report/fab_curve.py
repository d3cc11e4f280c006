"""The HTML page of ``fabnet fab curve -o``: the operating-curve chart and its table, in the
style of the plan report (:mod:`fabnet.report.page`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fabnet.report.page import Card, Section, esc, page, table_html


def curve_page_html(
    *,
    figure: Any,
    title: str,
    subtitle: str,
    model: str,
    bottleneck: str,
    loads: Sequence[float],
    seeds: int,
    warnings: Sequence[str],
    table_header: Sequence[str],
    table_rows: Sequence[Sequence[str]],
    table_caption: str,
) -> str:
    """One self-contained page: cards (model, bottleneck, loads, seeds), the warnings of a
    short run, the chart with a caption on how to read it, and the table of points."""
    cards = [
        Card("model", model),
        Card("bottleneck", bottleneck, "tool family with the highest utilisation"),
        Card("loads", ", ".join(f"{x:g}" for x in loads), "× order.txt release rates"),
        Card("seeds per load", str(seeds) if seeds else "—", "" if seeds else "G/G/m only"),
    ]
    intro = ""
    if warnings:
        items = "".join(f"<li>{esc(w)}</li>" for w in warnings)
        intro = (
            '<section id="warnings"><h2 class="status-bad">Read with care</h2>'
            f'<ul class="msgs">{items}</ul></section>'
        )
    caption = (
        "Each marker is one load (its label: the release rate as a multiple of order.txt's), "
        "placed at the bottleneck's simulated utilisation of available time; bars are 95 % "
        "confidence intervals over the seeds (shown with 3 seeds or more, cut to 0–100 %). "
        "Dashed lines: the G/G/m (Kingman/Sakasegawa) prediction at the same loads. The "
        "x-factor is the mean cycle time over the raw process time; it rises steeply as the "
        "bottleneck approaches saturation."
    )
    numeric = [i for i, h in enumerate(table_header) if h != "product"]
    sections = [
        Section("chart", "Operating curve", caption, figure),
        Section(
            "points",
            "Points",
            esc(table_caption),
            None,
            table_html(table_header, table_rows, numeric),
        ),
    ]
    return page(
        title=title, subtitle=esc(subtitle), cards=cards, intro_html=intro, sections=sections
    )
