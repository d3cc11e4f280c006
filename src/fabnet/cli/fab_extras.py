"""`fabnet fab generate` (a synthetic fab in SMT2020 format) and `fabnet fab curve` (operating curve)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import typer
from rich import box
from rich.table import Table

from fabnet.cli.app import err, out
from fabnet.cli.checks import fraction, in_range, open_fraction
from fabnet.cli.fab import (
    MIN_SEEDS_FOR_CI,
    DaysOpt,
    DispatcherOpt,
    JsonOpt,
    ProcessesOpt,
    SeedsOpt,
    check_warmup,
    compile_notice,
    fab_app,
    load_model,
    parse_loads,
    parse_seeds,
    progress_bar,
)
from fabnet.cli.fab_checks import (
    lots_per_day_check,
    warmup_check,
    wip_lots_check,
    writable_file,
    writable_folder,
)
from fabnet.errors import FabnetError, Problem
from fabnet.fab.limits import (
    MAX_GENERATED_FAMILIES,
    MAX_GENERATED_PRODUCTS,
    MAX_GENERATED_STEPS,
    MAX_LOTS_PER_DAY,
)


@fab_app.command("generate")
def generate_cmd(
    tool_groups: int = typer.Option(
        20,
        "--tool-groups",
        help=f"Tool families (4 to {MAX_GENERATED_FAMILIES:,}).",
        callback=in_range(4, MAX_GENERATED_FAMILIES, example="20"),
    ),
    steps: int = typer.Option(
        120,
        "--steps",
        help=f"Steps of the longest route (4 to {MAX_GENERATED_STEPS:,}).",
        callback=in_range(4, MAX_GENERATED_STEPS, example="120"),
    ),
    products: int = typer.Option(
        2,
        "--products",
        help="Products (parts), each with a route.",
        callback=in_range(1, MAX_GENERATED_PRODUCTS, example="2"),
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed of the generator."),
    bottleneck_load: float = typer.Option(
        0.85,
        "--bottleneck-load",
        help="Utilisation of the most loaded family at nominal releases.",
        callback=open_fraction(example="0.85"),
    ),
    lots_per_day: float | None = typer.Option(
        None,
        "--lots-per-day",
        help="Start rate used to size the tool counts (default: 6 per product; at most "
        f"{MAX_LOTS_PER_DAY:,.0f}).",
        callback=lots_per_day_check,
    ),
    wip_lots: int = typer.Option(
        0,
        "--wip-lots",
        help="Initial WIP lots spread along the routes.",
        callback=wip_lots_check,
    ),
    final_rank: str = typer.Option(
        "rank_FIFO", "--final-rank", help="Last ranking key of every family: rank_FIFO or rank_CR."
    ),
    output: Path = typer.Option(..., "-o", "--output", help="Folder to write (created)."),
    force: bool = typer.Option(False, "--force", help="Write into a non-empty folder."),
) -> None:
    """Write a synthetic fab in SMT2020 format: re-entrant photo layers, batches, setups,
    breakdowns and PMs, releases putting the bottleneck at a target load."""
    from fabnet.fab.generate import generate_fab, write_smt2020

    if output.exists() and not output.is_dir():
        raise FabnetError(
            Problem(
                "is a file, not a folder",
                file=str(output),
                field="-o",
                hint="the fab is a folder of files: choose another -o (--force writes into an "
                "existing folder, it never replaces a file)",
            )
        )
    if output.is_dir() and any(output.iterdir()) and not force:
        raise FabnetError(
            Problem(
                "output folder exists and is not empty",
                file=str(output),
                field="-o",
                hint="choose another -o or add --force",
            )
        )
    writable_folder(output, "-o")  # before generating: a read-only folder fails at once
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
    try:
        write_smt2020(fab, output)
    except OSError as exc:
        raise FabnetError(
            Problem(f"cannot write the fab ({exc.strerror or exc})", file=str(output), field="-o")
        ) from None
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
#: Columns shown with their 95 % confidence half-width (with 3 seeds or more).
_CI_COLS = {"cycle_time_mean_days"}


def _cell(row: pd.Series, col: str, digits: int, with_ci: bool) -> str:
    v = row[col]
    if digits < 0:
        return str(v)
    x = float(v)
    if math.isnan(x):
        return ""
    if math.isinf(x):
        return "∞"
    text = f"{x:,.{digits}f}"
    ci = row.get(f"{col}_ci95") if with_ci and col in _CI_COLS else None
    if ci is not None and not math.isnan(float(ci)):
        text += f" ±{float(ci):,.{digits}f}"
    return text


def _curve_caption(n_seeds: int) -> str:
    """What the curve's columns mean and how their spread is shown."""
    spread = (
        "± 95 % CI (Student t) over seeds"
        if n_seeds >= MIN_SEEDS_FOR_CI
        else f"no CI: {n_seeds} seed{'s' * (n_seeds != 1)}, a 95 % CI needs 3 or more"
    )
    return (
        "load: release rate as a multiple of order.txt's; util %: bottleneck utilisation of "
        "available time; lots: completed per run; CT: mean cycle time of all lots of the "
        f"product, days ({spread}); x: CT / raw process time; ggm: G/G/m prediction"
    )


def _curve_rows(df: pd.DataFrame, n_seeds: int) -> tuple[list[str], list[list[str]]]:
    """Header and text cells of the curve table (columns that hold any value)."""
    cols = [(c, h, d) for c, h, d in _CURVE_COLS if d < 0 or df[c].notna().any()]
    with_ci = n_seeds >= MIN_SEEDS_FOR_CI
    rows = [[_cell(row, c, d, with_ci) for c, _h, d in cols] for _, row in df.iterrows()]
    return [h for _c, h, _d in cols], rows


def _curve_table(df: pd.DataFrame, title: str, n_seeds: int) -> Table:
    tab = Table(
        title=title,
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        caption=_curve_caption(n_seeds),
        caption_justify="left",
    )
    header, rows = _curve_rows(df, n_seeds)
    for head in header:
        tab.add_column(head, justify="left" if head == "product" else "right")
    for cells in rows:
        tab.add_row(*cells)
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


def _bars(values: pd.Series, half: pd.Series, lo: float, hi: float) -> dict[str, Any]:
    """Plotly error bars of half-width ``half`` about ``values``, cut to [lo, hi]."""
    v = values.to_numpy(dtype=float)
    h = half.fillna(0.0).to_numpy(dtype=float)
    return {
        "type": "data",
        "symmetric": False,
        "array": np.clip(np.minimum(h, hi - v), 0.0, None),
        "arrayminus": np.clip(np.minimum(h, v - lo), 0.0, None),
        "visible": True,
    }


def curve_figure(df: pd.DataFrame, title: str, n_seeds: int = MIN_SEEDS_FOR_CI) -> Any:
    """Plotly figure: x-factor and cycle time against bottleneck utilisation, simulated
    (markers labelled with their load, 95 % CI bars cut to [0, 100] % and to ≥ 0 when there
    are 3 seeds or more) and G/G/m (dashed line), one colour per product."""
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
    with_ci = n_seeds >= MIN_SEEDS_FOR_CI
    for i, (product, grp) in enumerate(df.groupby("product", sort=False)):
        grp = grp.sort_values("load")
        colour = palette[i % len(palette)]
        labels = [f"{x:g}" for x in grp["load"]]
        for col, (y, yci, yg) in enumerate(
            (
                ("x_factor", "x_factor_ci95", "ggm_x_factor"),
                ("cycle_time_mean_days", "cycle_time_mean_days_ci95", "ggm_cycle_time_days"),
            ),
            start=1,
        ):
            has_sim = bool(grp[y].notna().any())
            if has_sim:
                u = grp["bottleneck_utilization_pct"]
                fig.add_trace(
                    go.Scatter(
                        x=u,
                        y=grp[y],
                        error_y=_bars(grp[y], grp[yci], 0.0, math.inf) if with_ci else None,
                        error_x=_bars(u, grp["bottleneck_utilization_pct_ci95"], 0.0, 100.0)
                        if with_ci
                        else None,
                        mode="markers+lines+text",
                        text=labels,
                        textposition="top left",
                        textfont={"color": colour, "size": 11},
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
                    mode="lines+markers" if has_sim else "lines+markers+text",
                    marker={"size": 4},
                    text=None if has_sim else labels,
                    textposition="top left",
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
    fig.update_layout(title=title, template="plotly_white", height=520)
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
        help="KPIs count lots completed after this many days (default: a quarter of --days).",
        callback=warmup_check,
        show_default=False,
    ),
    seeds: SeedsOpt = "0-2",
    dispatcher: DispatcherOpt = None,
    processes: ProcessesOpt = None,
    setup_share: float | None = typer.Option(
        None,
        "--setup-share",
        help="G/G/m: fixed chance that a setup lot changes the setup (÷ MINRUN); "
        "default: falls as queues grow.",
        callback=fraction(example="0.5"),
    ),
    ggm_only: bool = typer.Option(
        False, "--ggm-only", help="Only the G/G/m prediction (no simulation; seconds)."
    ),
    as_json: JsonOpt = False,
    output: Path | None = typer.Option(
        None, "-o", "--output", help="Write a self-contained HTML page (chart and table) here."
    ),
) -> None:
    """Operating curve: cycle time and x-factor against bottleneck utilisation, simulated at
    each load (mean ± 95 % CI over seeds) beside the G/G/m (Kingman/Sakasegawa) prediction."""
    from fabnet.fab.curve import ggm_operating_curve, operating_curve, short_run_warnings
    from fabnet.fab.simulate import SimOptions, check_run

    load_list = parse_loads(loads)
    seed_list = parse_seeds(seeds)
    if warmup_days is None:
        warmup_days = days / 4.0
    check_warmup(days, warmup_days)
    if output is not None:
        writable_file(output, "-o", "curve.html")  # before simulating, not after
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
            [],
        )
        return
    for load in load_list:  # every load's run within the limits, before any of them starts
        check_run(
            model,
            SimOptions(
                days=days,
                warmup_days=warmup_days,
                release_scale=load,
                dispatcher=dispatcher.lower() if dispatcher else None,
            ),
        )
    compile_notice()
    with progress_bar(as_json) as prog:
        task = prog.add_task(
            f"simulating {model.name}: {plural(len(load_list), 'load')} × "
            f"{plural(len(seed_list), 'seed')}",
            total=total,
        )

        def tick(done: int, n: int) -> None:
            prog.update(task, completed=done)

        df = operating_curve(
            model,
            load_list,
            days,
            warmup_days,
            seed_list,
            dispatcher=dispatcher.lower() if dispatcher else None,
            processes=processes,
            progress=tick,
            setup_share=setup_share,
        )
    subtitle = f"{days:g} d, warm-up {warmup_days:g} d, {plural(len(seed_list), 'seed')} per load"
    warnings = short_run_warnings(df, days, warmup_days, len(model.wip))
    _curve_out(
        df, model.name, subtitle, load_list, days, warmup_days, seed_list, as_json, output, warnings
    )


def plural(n: int, noun: str) -> str:
    """``1 seed``, ``3 seeds``."""
    return f"{n:,} {noun}{'s' * (n != 1)}"


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
    warnings: list[str],
) -> None:
    """Write the page (if asked), then print the JSON object or the warnings and table."""
    title = f"{name}: operating curve ({subtitle})"
    bott = str(df["bottleneck_group"].iloc[0]) if len(df) else None
    n_seeds = len(seeds)
    if output is not None:
        from fabnet.report.fab_curve import curve_page_html

        header, rows = _curve_rows(df, n_seeds)
        html = curve_page_html(
            figure=curve_figure(df, f"{name}: operating curve", n_seeds),
            title=f"{name}: operating curve",
            subtitle=subtitle,
            model=name,
            bottleneck=bott or "",
            loads=loads,
            seeds=n_seeds,
            warnings=warnings,
            table_header=header,
            table_rows=rows,
            table_caption=_curve_caption(n_seeds) if seeds else _curve_caption(0),
        )
        try:
            output.write_text(html, encoding="utf-8")
        except OSError as exc:
            raise FabnetError(
                Problem(f"cannot write the page ({exc.strerror or exc})", file=str(output))
            ) from None
    if as_json:
        obj = {
            "model": name,
            "loads": loads,
            "days": days if seeds else None,
            "warmup_days": warmup_days if seeds else None,
            "seeds": seeds,
            "bottleneck_group": bott,
            "warnings": warnings,
            "rows": _json_rows(df),
            "html": str(output) if output is not None else None,
        }
        out.print_json(json.dumps(obj))
        return
    for w in warnings:
        err.print(f"[yellow]warning:[/] {w}", soft_wrap=True)
    out.print(_curve_table(df, f"{title}; bottleneck {bott}", n_seeds))
    if output is not None:
        out.print(f"page written to {output}")
