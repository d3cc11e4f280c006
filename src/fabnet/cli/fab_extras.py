"""`fabnet fab generate` (a synthetic fab in SMT2020 format) and `fabnet fab curve` (operating curve)."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import typer
from rich import box
from rich.table import Table

from fabnet.cli.app import out
from fabnet.cli.fab import (
    DaysOpt,
    DispatcherOpt,
    JsonOpt,
    ProcessesOpt,
    SeedsOpt,
    fab_app,
    load_model,
    parse_loads,
    parse_seeds,
    progress_bar,
)
from fabnet.errors import FabModelError, Problem


@fab_app.command("generate")
def generate_cmd(
    tool_groups: int = typer.Option(20, "--tool-groups", help="Tool families (≥ 4)."),
    steps: int = typer.Option(120, "--steps", help="Steps of the longest route."),
    products: int = typer.Option(2, "--products", help="Products (parts), each with a route."),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed of the generator."),
    bottleneck_load: float = typer.Option(
        0.85, "--bottleneck-load", help="Utilisation of the most loaded family at nominal releases."
    ),
    lots_per_day: float | None = typer.Option(
        None, "--lots-per-day", help="Start rate used to size the tool counts [6 per product]."
    ),
    wip_lots: int = typer.Option(0, "--wip-lots", help="Initial WIP lots spread along the routes."),
    final_rank: str = typer.Option(
        "rank_FIFO", "--final-rank", help="Last ranking key of every family: rank_FIFO or rank_CR."
    ),
    output: Path = typer.Option(..., "-o", "--output", help="Folder to write (created)."),
    force: bool = typer.Option(False, "--force", help="Write into a non-empty folder."),
) -> None:
    """Write a synthetic fab in SMT2020 format: re-entrant photo layers, batches, setups,
    breakdowns and PMs, releases putting the bottleneck at a target load."""
    from fabnet.fab.generate import generate_fab, write_smt2020

    if output.exists() and (not output.is_dir() or any(output.iterdir())) and not force:
        raise FabModelError(
            Problem(
                "output exists and is not an empty folder",
                file=str(output),
                hint="choose another -o or add --force",
            )
        )
    fab = generate_fab(
        tool_groups,
        steps,
        products,
        seed,
        bottleneck_load=bottleneck_load,
        lots_per_day=lots_per_day,
        initial_wip_lots=wip_lots,
        final_rank=final_rank,
    )
    write_smt2020(fab, output)
    tab = Table(
        title=f"Synthetic fab written to {output}", title_justify="left", box=box.SIMPLE_HEAD
    )
    for head in ("product", "route steps", "lots/day", "raw process time d"):
        tab.add_column(head, justify="left" if head == "product" else "right")
    for k, (part, rate) in enumerate(fab.lots_per_day.items(), start=1):
        tab.add_row(
            part,
            str(len(fab.tables[f"route_{k}.txt"])),
            f"{rate:.2f}",
            f"{fab.raw_process_time_days[part]:.2f}",
        )
    out.print(tab)
    out.print(
        f"{tool_groups} tool families, {fab.tool_count} tools; bottleneck "
        f"{fab.bottleneck_family} at {100 * fab.bottleneck_load:.1f} % of available time"
    )


_CURVE_COLS = [
    ("load", "load", 2),
    ("product", "product", -1),
    ("bottleneck_utilization_pct", "util %", 1),
    ("completed", "lots", 0),
    ("cycle_time_mean_days", "CT d", 2),
    ("x_factor", "x", 2),
    ("ggm_bottleneck_utilization_pct", "ggm util %", 1),
    ("ggm_cycle_time_days", "ggm CT d", 2),
    ("ggm_x_factor", "ggm x", 2),
]
#: Columns shown with their 95 % confidence half-width.
_CI_COLS = {"cycle_time_mean_days"}


def _cell(row: pd.Series, col: str, digits: int) -> str:
    v = row[col]
    if digits < 0:
        return str(v)
    x = float(v)
    if math.isnan(x):
        return ""
    if math.isinf(x):
        return "∞"
    text = f"{x:,.{digits}f}"
    ci = row.get(f"{col}_ci95") if col in _CI_COLS else None
    if ci is not None and not math.isnan(float(ci)):
        text += f" ±{float(ci):,.{digits}f}"
    return text


def _curve_table(df: pd.DataFrame, title: str) -> Table:
    tab = Table(
        title=title,
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        caption="util %: bottleneck utilisation of available time; lots: completed per "
        "run; CT: mean cycle time of all lots of the product (± 95 % CI over seeds); "
        "x: CT / raw process time; ggm: G/G/m prediction",
        caption_justify="left",
    )
    cols = [(c, h, d) for c, h, d in _CURVE_COLS if d < 0 or df[c].notna().any()]
    for _c, head, d in cols:
        tab.add_column(head, justify="left" if d < 0 else "right")
    for _, row in df.iterrows():
        tab.add_row(*(_cell(row, c, d) for c, _h, d in cols))
    return tab


def _json_rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Records with NaN and ±inf as null (JSON has neither)."""
    rows: list[dict[str, Any]] = []
    for rec in df.to_dict(orient="records"):
        clean: dict[str, Any] = {}
        for k, v in rec.items():
            if isinstance(v, float | np.floating) and not math.isfinite(float(v)):
                clean[str(k)] = None
            elif isinstance(v, np.generic):
                clean[str(k)] = v.item()
            else:
                clean[str(k)] = v
        rows.append(clean)
    return rows


def curve_figure(df: pd.DataFrame, title: str) -> Any:
    """Plotly figure: x-factor and cycle time against bottleneck utilisation, simulated
    (markers with 95 % CI bars) and G/G/m (dashed line), one colour per product."""
    import plotly.graph_objects as go
    from plotly.colors import qualitative
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("x-factor", "mean cycle time (days)"),
        horizontal_spacing=0.08,
    )
    palette = qualitative.Plotly
    for i, (product, grp) in enumerate(df.groupby("product", sort=False)):
        grp = grp.sort_values("load")
        colour = palette[i % len(palette)]
        for col, (y, yci, yg) in enumerate(
            (
                ("x_factor", "x_factor_ci95", "ggm_x_factor"),
                ("cycle_time_mean_days", "cycle_time_mean_days_ci95", "ggm_cycle_time_days"),
            ),
            start=1,
        ):
            has_sim = bool(grp[y].notna().any())
            if has_sim:
                fig.add_trace(
                    go.Scatter(
                        x=grp["bottleneck_utilization_pct"],
                        y=grp[y],
                        error_y={"type": "data", "array": grp[yci].fillna(0.0), "visible": True},
                        error_x={
                            "type": "data",
                            "array": grp["bottleneck_utilization_pct_ci95"].fillna(0.0),
                            "visible": True,
                        },
                        mode="markers+lines",
                        name=f"{product} simulated",
                        legendgroup=f"{product}-sim",
                        showlegend=col == 1,
                        line={"color": colour},
                        customdata=grp["load"],
                        hovertemplate="load %{customdata:.2f}<br>util %{x:.1f} %<br>%{y:.2f}",
                    ),
                    row=1,
                    col=col,
                )
            yg_vals = grp[yg].replace([np.inf, -np.inf], np.nan)
            fig.add_trace(
                go.Scatter(
                    x=grp["ggm_bottleneck_utilization_pct"],
                    y=yg_vals,
                    mode="lines",
                    name=f"{product} G/G/m",
                    legendgroup=f"{product}-ggm",
                    showlegend=col == 1,
                    line={"color": colour, "dash": "dash"},
                    customdata=grp["load"],
                    hovertemplate="load %{customdata:.2f}<br>util %{x:.1f} %<br>%{y:.2f}",
                ),
                row=1,
                col=col,
            )
    bott = str(df["bottleneck_group"].iloc[0]) if len(df) else ""
    for col in (1, 2):
        fig.update_xaxes(title_text=f"utilisation of bottleneck {bott} (%)", row=1, col=col)
    fig.update_layout(title=title, template="plotly_white", height=520, width=1150)
    return fig


@fab_app.command("curve")
def curve_cmd(
    directory: Path = typer.Argument(..., help="SMT2020 model folder."),
    loads: str = typer.Option(
        "0.6,0.7,0.8,0.9,0.95",
        "--loads",
        help="Release rates as multiples of the order file's (1 = nominal).",
    ),
    days: DaysOpt = 365.0,
    warmup_days: float | None = typer.Option(
        None,
        "--warmup-days",
        help="KPIs count lots completed after this many days [default: a quarter of --days].",
    ),
    seeds: SeedsOpt = "0-2",
    dispatcher: DispatcherOpt = None,
    processes: ProcessesOpt = None,
    setup_share: float | None = typer.Option(
        None,
        "--setup-share",
        help="G/G/m: fixed chance that a setup lot changes the setup (÷ MINRUN); "
        "default: falls as queues grow.",
    ),
    ggm_only: bool = typer.Option(
        False, "--ggm-only", help="Only the G/G/m prediction (no simulation; seconds)."
    ),
    as_json: JsonOpt = False,
    output: Path | None = typer.Option(
        None,
        "-o",
        "--output",
        help="Write the points as CSV (a .csv name) or a self-contained HTML chart here.",
    ),
    store: Path | None = typer.Option(
        None, "--store", help="Also save the points in this runs store (DuckDB file), kind curve."
    ),
) -> None:
    """Operating curve: cycle time and x-factor against bottleneck utilisation, simulated at
    each load (mean ± 95 % CI over seeds) beside the G/G/m (Kingman/Sakasegawa) prediction."""
    from fabnet.cli.fab_curve_out import check_curve_data_options, curve_data
    from fabnet.fab.curve import ggm_operating_curve, operating_curve, simulate_loads

    load_list = parse_loads(loads)
    seed_list = parse_seeds(seeds)
    if warmup_days is None:
        warmup_days = days / 4.0
    check_curve_data_options(ggm_only, output, store)
    model = load_model(directory, as_json)
    total = len(load_list) * len(seed_list)
    if ggm_only:
        df = ggm_operating_curve(model, load_list, setup_share=setup_share)
        _curve_out(
            df,
            model.name,
            "G/G/m prediction only",
            load_list,
            days,
            warmup_days,
            [],
            as_json,
            output,
        )
        return
    with progress_bar(as_json) as prog:
        task = prog.add_task(
            f"simulating {model.name}: {len(load_list)} loads × {len(seed_list)} seeds",
            total=total,
        )

        def tick(done: int, n: int) -> None:
            prog.update(task, completed=done)

        t_sim = time.perf_counter()
        runs = simulate_loads(
            model,
            load_list,
            days,
            warmup_days,
            seed_list,
            dispatcher=dispatcher.lower() if dispatcher else None,
            processes=processes,
            progress=tick,
        )
        wall_s = time.perf_counter() - t_sim
        df = operating_curve(
            model, load_list, days, warmup_days, seed_list, setup_share=setup_share, runs=runs
        )
    subtitle = (
        f"{days:g} d, warm-up {warmup_days:g} d, "
        f"{len(seed_list)} seed{'s' if len(seed_list) > 1 else ''} per load"
    )
    csv = output if output is not None and output.suffix.lower() == ".csv" else None
    data = curve_data(model, runs, days, warmup_days, directory, csv, store, dispatcher, wall_s)
    html = None if csv is not None else output
    _curve_out(
        df,
        model.name,
        subtitle,
        load_list,
        days,
        warmup_days,
        seed_list,
        as_json,
        html,
        data.json(),
    )
    if not as_json:
        data.show()


def _curve_out(
    df: pd.DataFrame,
    name: str,
    subtitle: str,
    loads: list[float],
    days: float,
    warmup_days: float,
    seeds: list[int],
    as_json: bool,
    output: Path | None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Write the chart (if asked), then print the JSON object or the table (``extra``: the
    curve's data, :func:`fabnet.cli.fab_curve_out.curve_data`)."""
    title = f"{name}: operating curve ({subtitle})"
    if output is not None:
        fig = curve_figure(df, title)
        output.parent.mkdir(parents=True, exist_ok=True)
        fig.write_html(str(output), include_plotlyjs=True, full_html=True)
    bott = str(df["bottleneck_group"].iloc[0]) if len(df) else None
    if as_json:
        obj = {
            "model": name,
            "loads": loads,
            "days": days if seeds else None,
            "warmup_days": warmup_days if seeds else None,
            "seeds": seeds,
            "bottleneck_group": bott,
            "rows": _json_rows(df),
            "html": str(output) if output is not None else None,
            **(extra or {}),
        }
        out.print_json(json.dumps(obj))
        return
    out.print(_curve_table(df, f"{title}; bottleneck {bott}"))
    if output is not None:
        out.print(f"chart written to {output}")
