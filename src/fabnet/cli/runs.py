"""`fabnet runs list|show|compare` and `fabnet report`: the stored runs and their HTML report."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from fabnet.cli.app import app, out
from fabnet.errors import FabnetError, Problem
from fabnet.plan.tables import fraction_text
from fabnet.report.fmt import compute, compute_unit, money, percent, vendor_order
from fabnet.store import RunRecord, Store
from fabnet.store.record import jsonable, run_parameters

runs_app = typer.Typer(
    help="Stored runs (a DuckDB file): list, show and compare them.", no_args_is_help=True
)
app.add_typer(runs_app, name="runs")

_STORE_HELP = "The runs store (DuckDB file)."
_ID_HELP = "Run id, a unique prefix of one, or `latest`."


def _store(path: Path) -> Store:
    """Open an existing store for reading (a missing file is an error, not created)."""
    return Store(path, create=False)


def _echo_json(obj: Any) -> None:
    typer.echo(json.dumps(jsonable(obj), indent=2, ensure_ascii=False))


def _money(usd: Any) -> str:
    return money(_f(usd))


def _f(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def _num(x: Any, digits: int = 0) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "" if x is None else str(x)
    if not math.isfinite(v):
        return "–"
    return f"{v:,.{digits}f}"


def _shares(shares: Any, designer: str | None = None) -> str:
    """``a 60%, b 40%``: non-zero shares, in the fixed vendor order (designer first)."""
    if not isinstance(shares, dict):
        return ""
    items = {str(k): float(v) for k, v in shares.items() if v is not None and float(v) > 5e-4}
    return ", ".join(f"{k} {items[k]:.0%}" for k in vendor_order(items, designer)) or "–"


@runs_app.command("list")
def list_runs(
    store: Path = typer.Option(Path("fabnet.duckdb"), "--store", help=_STORE_HELP),
    kind: str | None = typer.Option(
        None, "--kind", help="Only runs of this kind (plan, fab, ...)."
    ),
    limit: int = typer.Option(20, "--limit", min=0, help="Newest N runs (0 for all)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of run objects."),
) -> None:
    """List stored runs, newest first, with what tells them apart (variant, --set overrides,
    planner options; a risk run's plan, samples and seed)."""
    frame = _store(store).list_runs(kind=kind)
    total = len(frame)
    if limit:
        frame = frame.head(limit)
    params = [run_parameters(str(r["kind"]), r["options"]) for r in frame.to_dict("records")]
    if as_json:
        rows = [
            {k: (v.isoformat() if isinstance(v, pd.Timestamp) else v) for k, v in r.items()}
            | {"parameters": p}
            for r, p in zip(frame.to_dict("records"), params, strict=True)
        ]
        _echo_json(rows)
        return
    if frame.empty:
        out.print(f"No runs in {store}.", soft_wrap=True)
        return
    kinds = sorted(set(frame["kind"].astype(str)))
    one_kind = len(kinds) == 1
    has_plans = "plan" in kinds
    # At 80 columns the time goes (it is in `runs show` and --json): the id, the run's
    # scenario and parameters and its key figures must fit unbroken.
    show_time = out.width >= 100
    caption = "id = UTC date and time of the run"
    if frame["variant"].notna().any() or any(params):
        caption += r" · scenario \[variant], then what sets the run apart"
    if has_plans:
        caption += (
            " · objective = discounted cost · unmet = PFLOP/s short of demand, summed over years"
        )
    table = Table(
        title=f"{kinds[0].capitalize()} runs in {store}" if one_kind else f"Runs in {store}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        caption=caption,
        caption_justify="left",
    )
    # The id never wraps or shrinks: it is what the user copies into the next command.
    table.add_column("id", no_wrap=True, min_width=18)
    if not one_kind:
        table.add_column("kind")
    head = "scenario" if kinds == ["plan"] else "scenario / input"
    table.add_column(head + (" · parameters" if any(params) else ""), min_width=16)
    table.add_column("status")
    if has_plans:
        table.add_column("objective", justify="right", no_wrap=True)
        table.add_column("unmet", justify="right", no_wrap=True)
    if show_time:
        table.add_column("time s", justify="right", no_wrap=True)
    for r, p in zip(frame.to_dict("records"), params, strict=True):
        variant = r["variant"] if isinstance(r["variant"], str) else None
        what = escape(
            str(r["scenario"]) + (f" [{variant}]" if variant and variant != "base" else "")
        )
        if p:
            what += "\n[dim]" + escape(", ".join(p)) + "[/]"
        cells = [
            str(r["id"]),
            str(r["kind"]),
            what,
            str(r["status"]),
            _money(r["objective_usd"]),
            _num(r["unmet_pflops"], 1 if abs(_f(r["unmet_pflops"])) < 1000 else 0),
            _num(r["time_s"], 1),
        ]
        if not show_time:
            del cells[6]
        if not has_plans:
            del cells[4:6]
        if one_kind:
            del cells[1]
        table.add_row(*cells)
    out.print(table)
    if total > len(frame):
        out.print(f"({total - len(frame)} older runs not shown; --limit 0 shows all)")


def _show_json(rec: RunRecord) -> dict[str, Any]:
    """The run's summary (the `fabnet plan --json` object) plus its metadata."""
    obj: dict[str, Any] = dict(rec.summary)
    obj["run_id"] = rec.id
    obj.setdefault("scenario", rec.meta.get("scenario_name"))
    obj.setdefault("status", rec.status)
    obj["kind"] = rec.kind
    obj["created_at"] = rec.created_at.isoformat() + "Z"
    obj["scenario_hash"] = rec.meta.get("scenario_hash")
    obj["options"] = rec.options
    obj["timings_s"] = rec.timings_s
    obj["messages"] = rec.messages
    obj["fabnet_version"] = rec.meta.get("fabnet_version")
    obj["tables"] = {name: len(frame) for name, frame in rec.tables.items()}
    return obj


@runs_app.command("show")
def show_run(
    run_id: str = typer.Argument("latest", help=_ID_HELP),
    store: Path = typer.Option(Path("fabnet.duckdb"), "--store", help=_STORE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the run's summary as JSON."),
) -> None:
    """Show one stored run: what it was run on, its key figures and messages."""
    rec = _store(store).load_run(run_id)
    if as_json:
        _echo_json(_show_json(rec))
        return
    s = rec.summary
    out.print(
        f"[bold]{rec.kind} run {rec.id}[/] — {'scenario' if rec.scenario else 'input'} [bold]{rec.meta['scenario_name']}[/]"
    )
    meta = Table.grid(padding=(0, 2))
    meta.add_column(style="dim")
    meta.add_column()
    meta.add_row("created (UTC)", f"{rec.created_at:%Y-%m-%d %H:%M:%S}")
    meta.add_row("status", rec.status)
    if "objective_usd" in s:
        meta.add_row("objective (PV)", _money(s.get("objective_usd")))
    meta.add_row("scenario hash", str(rec.meta.get("scenario_hash", ""))[:16])
    if rec.options:
        meta.add_row("options", ", ".join(f"{k}={v}" for k, v in rec.options.items()))
    if rec.timings_s:
        meta.add_row("timings", ", ".join(f"{k} {v:.2f} s" for k, v in rec.timings_s.items()))
    meta.add_row("fabnet", str(rec.meta.get("fabnet_version", "")))
    if "years" not in s:  # other kinds of run: their scalar summary entries
        for key, value in s.items():
            if key != "run_id" and isinstance(value, str | int | float | bool):
                meta.add_row(str(key), str(value))
    out.print(meta)
    years = [y for y in s.get("years") or [] if isinstance(y, dict)]
    if years:
        totals = [sum(_f(v) for v in (y.get("compute_pflops") or {}).values()) for y in years]
        scale, unit = compute_unit(totals)
        designer = rec.scenario.designer if rec.scenario is not None else None
        table = Table(title="By year", title_justify="left", box=box.SIMPLE_HEAD)
        for col in ("year", f"compute {unit}", "vendor share", "country share", f"unmet {unit}", "cost"):  # fmt: skip
            table.add_column(col, justify="left" if "share" in col else "right")
        for y, total in zip(years, totals, strict=True):
            table.add_row(
                str(y.get("year")),
                _num(total / scale, 1 if total / scale < 100 else 0),
                _shares(y.get("vendor_share"), designer),
                _shares(y.get("country_share")),
                _num(_f(y.get("unmet_pflops")) / scale, 1),
                _money(y.get("cost_usd")),
            )
        out.print(table)
    builds = s.get("builds")
    if isinstance(builds, list):
        if builds:
            out.print(
                "[bold]Builds:[/] "
                + ", ".join(
                    f"{b.get('site')} (start {b.get('start_period')}, online "
                    f"{b.get('online_period')}"
                    + (f", {fraction_text(b.get('fraction'))})" if b.get("fractional") else ")")
                    for b in builds
                )
            )
        else:
            out.print("[bold]Builds:[/] none")
    if rec.messages:
        out.print("[bold]Messages:[/]")
        for m in rec.messages:
            out.print(f"  • {m}", soft_wrap=True)
    if rec.tables:
        out.print(
            "[dim]tables: "
            + ", ".join(f"{n} ({len(f)} rows)" for n, f in rec.tables.items())
            + "[/]"
        )


@runs_app.command("compare")
def compare_runs(
    run_ids: list[str] = typer.Argument(..., help="Two or more run ids (prefixes, `latest`)."),
    store: Path = typer.Option(Path("fabnet.duckdb"), "--store", help=_STORE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print {run id: {figure: value}} as JSON."),
) -> None:
    """Compare the key figures of stored runs side by side."""
    if len(run_ids) < 2:
        raise FabnetError(
            Problem("compare needs at least two run ids", hint="e.g. `fabnet runs compare ID1 ID2`")
        )
    frame = _store(store).compare(run_ids)
    if as_json:
        _echo_json({col: dict(frame[col].items()) for col in frame.columns})
        return
    # As many runs side by side as fit the width (an id is 18 characters), the rest in
    # further tables: at 80 columns and in a pipe nothing is cut and no id is broken.
    columns = list(frame.columns)
    figure_w = min(32, max((len(str(f)) for f in frame.index), default=6))
    per_table = max(1, (out.width - figure_w - 4) // 21)
    for start in range(0, len(columns), per_table):
        chunk = columns[start : start + per_table]
        title = "Key figures"
        if len(chunk) < len(columns):
            title += f" (runs {start + 1}–{start + len(chunk)} of {len(columns)})"
        # Fixed widths: each of k+1 columns has 2 of padding and one rule beside it.
        run_w = max(18, min(32, (out.width - figure_w - 3 * (len(chunk) + 1) - 1) // len(chunk)))
        out.print(_compare_table(frame[chunk], title, figure_w, run_w))


def _compare_table(frame: pd.DataFrame, title: str, figure_w: int, run_w: int) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("figure", style="dim", width=figure_w)
    for col in frame.columns:
        table.add_column(str(col), justify="right", width=run_w)
    for figure, row in frame.iterrows():
        cells = []
        for v in row:
            text = str(figure)
            if isinstance(v, float) and not math.isfinite(v):
                cells.append("–")
            elif isinstance(v, float):
                if "USD" in text:
                    cells.append(_money(v))
                elif "PFLOP/s" in text:
                    cells.append(compute(v, per_year="·yr" in text))
                elif "share" in text:
                    cells.append(percent(v))
                elif "(s)" in text:
                    cells.append(f"{v:.2f}")
                elif text.startswith("option "):
                    cells.append(f"{v:g}")
                else:
                    cells.append(_num(v, 1 if abs(v) < 1000 else 0))
            elif isinstance(v, list | dict) and not v:
                cells.append("–")
            else:
                cells.append("–" if v is None else escape(str(v)))
        table.add_row(escape(str(figure)), *cells)
    return table


@app.command("report")
def report(
    run_ids: list[str] = typer.Argument(
        None,
        help="Run id (default `latest`); 2-6 plan run ids make a comparison report.",
        show_default=False,
    ),
    output: Path | None = typer.Option(
        None,
        "-o",
        "--output",
        help="HTML file to write (default fabnet-<run id>.html, fabnet-compare-<ids>.html).",
    ),
    store: Path = typer.Option(Path("fabnet.duckdb"), "--store", help=_STORE_HELP),
) -> None:
    """Write a self-contained HTML report of a stored plan or risk run (opens offline).

    A plan's report includes its latest risk run, when there is one. With several plan
    run ids: one page comparing them (costs, shares, compute, builds, key figures)."""
    from fabnet.report import report_html, write_report

    st = _store(store)
    ids = run_ids or ["latest"]
    if len(ids) > 1:  # a comparison, even of one run named twice (refused: one run)
        from fabnet.report.compare import check_comparable, compare_report_html

        recs = list({r.id: r for r in (st.load_run(i) for i in ids)}.values())
        check_comparable(recs)
        path = output or Path(f"fabnet-compare-{recs[0].id}-{recs[-1].id}.html")
        html = compare_report_html(recs, st.compare([r.id for r in recs]))
        what = "runs " + ", ".join(r.id for r in recs)
    else:
        rec = st.load_run(ids[0])
        path = output or Path(f"fabnet-{rec.id}.html")
        html = report_html(rec, risk=st.latest_risk_of(rec.id) if rec.kind == "plan" else None)
        what = f"run {rec.id}"
    write_report(path, html)
    out.print(
        f"wrote {path} ({len(html.encode('utf-8')) / 1e6:.1f} MB) for {what}",
        soft_wrap=True,
        markup=False,
    )
