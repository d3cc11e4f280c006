"""`fabnet fab ...`: simulate an SMT2020 wafer fab and compare it with reference KPIs."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import pandas as pd
import typer
from rich import box
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from fabnet.cli.app import app, err, out
from fabnet.cli.fab_checks import days_check, warmup_check, workers_check, writable_file
from fabnet.cli.parallel_opts import WORKERS_HELP, SchedulerOpt
from fabnet.errors import FabModelError, Problem
from fabnet.fab.engine import skip_numba_blas_probe
from fabnet.fab.limits import MAX_DAYS, MAX_SEEDS
from fabnet.fab.reference import REFERENCE_DAYS

if TYPE_CHECKING:
    from fabnet.fab.model import FabModel
    from fabnet.fab.simulate import MultiSimResult
    from fabnet.store import Store

fab_app = typer.Typer(help="Wafer-fab simulator (SMT2020 models).", no_args_is_help=True)
app.add_typer(fab_app, name="fab")

# this process runs no BLAS in compiled code: spare the start-up numba's BLAS probe
skip_numba_blas_probe()


T = TypeVar("T")


def _parse_list(text: str, option: str, hint: str, item: Callable[[str], list[T]]) -> list[T]:
    """The comma-separated parts of an option's value, each read by ``item`` (which raises
    ``ValueError`` with the problem, or with no message for a malformed part)."""
    values: list[T] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            values.extend(item(part))
        except ValueError as e:
            msg = str(e) or f"cannot read {part!r} in {text!r}"
            raise FabModelError(Problem(msg, field=option, hint=hint)) from None
    if not values:
        raise FabModelError(Problem(f"no values given to {option}", field=option, hint=hint))
    return values


def _seed_part(part: str) -> list[int]:
    if "-" in part[1:]:
        a, b = part.split("-", 1) if not part.startswith("-") else (part, "")
        if not (a.isdigit() and b.isdigit()):
            raise ValueError(f"bad seed range {part!r}")
        lo, hi = int(a), int(b)
        if hi < lo:
            raise ValueError(f"seed range {part} runs backwards")
        if hi - lo + 1 > MAX_SEEDS:
            raise ValueError(
                f"seed range {part} holds {hi - lo + 1:,} seeds; the limit is {MAX_SEEDS:,}"
            )
        return list(range(lo, hi + 1))
    if not part.isdigit():
        raise ValueError(f"bad seed {part!r}")
    return [int(part)]


def _load_part(part: str) -> list[float]:
    try:
        x = float(part)
    except ValueError:
        raise ValueError(f"bad load {part!r}") from None
    if not x > 0 or not math.isfinite(x):
        raise ValueError(f"load {part} must be a positive number")
    return [x]


def parse_seeds(text: str) -> list[int]:
    """``"0-9"``, ``"1,3,5"``, ``"0-4,10"`` or ``"7"`` as a list of seeds (at most
    :data:`~fabnet.fab.limits.MAX_SEEDS`)."""
    seeds = _parse_list(text, "--seeds", "write e.g. 0-9 or 1,2,3", _seed_part)
    if len(seeds) > MAX_SEEDS:
        raise FabModelError(
            Problem(
                f"{len(seeds):,} seeds given; the limit is {MAX_SEEDS:,}",
                field="--seeds",
                hint="see docs/fab-readings.md, section Limits",
            )
        )
    return seeds


def parse_loads(text: str) -> list[float]:
    """``"0.6,0.8,0.9"`` as a list of loads (positive multiples of the release rates)."""
    return _parse_list(text, "--loads", "write e.g. 0.6,0.8,0.9,0.95", _load_part)


# Options shared by the fab commands (each command gives its own default).
DaysOpt = Annotated[
    float,
    typer.Option(
        "--days", help=f"Simulated days per run (at most {MAX_DAYS:,.0f}).", callback=days_check
    ),
]
SeedsOpt = Annotated[
    str, typer.Option("--seeds", help=f"Seeds: 0-9, 1,2,3 or 7 (at most {MAX_SEEDS:,}).")
]
WarmupOpt = Annotated[
    float,
    typer.Option(
        "--warmup-days",
        help="KPIs count lots completed after this many days.",
        callback=warmup_check,
    ),
]
DispatcherOpt = Annotated[
    str | None,
    typer.Option(
        "--dispatcher", help="Replace every family's final ranking key: cr, fifo, edd, spt."
    ),
]
#: ``--workers`` (``--processes`` is its older spelling).
ProcessesOpt = Annotated[
    int | None,
    typer.Option(
        "--workers", "--processes", metavar="N", help=WORKERS_HELP, callback=workers_check
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


class _LineProgress(Progress):
    """Progress for a stderr that is not a terminal (piped, logged): no live bar, one line
    each time a task passes another tenth of its work."""

    def update(self, task_id: TaskID, **kwargs: Any) -> None:
        task = self._tasks[task_id]
        before = task.completed
        super().update(task_id, **kwargs)
        total = task.total or 0
        if total > 0 and int(10 * task.completed / total) > int(10 * before / total):
            err.print(
                f"{task.description}: {task.completed:,.0f}/{total:,.0f} "
                f"({task.elapsed or 0.0:.0f} s)",
                soft_wrap=True,
            )


def progress_bar(quiet: bool) -> Progress:
    """The progress of the fab commands on stderr: a bar that is gone when done, or lines
    when stderr is not a terminal; none if ``quiet``."""
    if not quiet and not err.is_terminal:
        return _LineProgress(TextColumn("{task.description}"), console=err, disable=True)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=quiet,
        transient=True,
    )


def load_model(directory: Path, quiet: bool) -> FabModel:
    """Load an SMT2020 folder; print what it reads but does not model unless ``quiet``."""
    from fabnet.fab import load_smt2020

    model = load_smt2020(directory)
    if not quiet:
        for w in model.warnings:
            err.print(f"[yellow]warning:[/] {w}", soft_wrap=True)
    return model


def _fmt(v: Any, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, int | float):
        return f"{float(v):,.{digits}f}"
    return str(v)


#: Fewest seeds for which a 95 % confidence interval is shown: with 2 the Student t
#: quantile is 12.7 and the interval says nothing (e.g. "41.5 ± 196.9"), so the range
#: (min–max over the seeds) is shown instead.
MIN_SEEDS_FOR_CI = 3


def spread_note(n_seeds: int) -> str:
    """How the tables show the spread over ``n_seeds`` seeds (for titles and captions)."""
    if n_seeds >= MIN_SEEDS_FOR_CI:
        return f"mean ± 95 % CI (Student t) over {n_seeds} seeds"
    if n_seeds == 2:
        return "mean (min–max) over 2 seeds; a 95 % CI needs 3 or more"
    return "one seed, no spread"


def seed_ranges(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Per ``name``: ``c_min`` and ``c_max`` over the seeds of every numeric column ``c``."""
    allf = pd.concat(frames, ignore_index=True)
    num = [c for c in allf.columns if c != "name" and pd.api.types.is_numeric_dtype(allf[c])]
    g = allf.groupby("name", sort=False)[num]
    lo = g.min().add_suffix("_min")
    hi = g.max().add_suffix("_max")
    return lo.join(hi)


def _table(
    frame: pd.DataFrame,
    cols: list[tuple[str, str, int]],
    title: str,
    ranges: pd.DataFrame | None = None,
    caption: str | None = None,
) -> Table:
    """A rich table of ``frame``: (column, header, digits) each. Columns in ``_CI_COLS`` show
    their spread: ``c_ci95`` as ±, or with ``ranges`` (:func:`seed_ranges`, fewer than
    :data:`MIN_SEEDS_FOR_CI` seeds) the min–max over the seeds."""
    tab = Table(
        title=title,
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        caption=caption,
        caption_justify="left",
    )
    for _c, head, _d in cols:
        tab.add_column(head, justify="left" if _d < 0 else "right")
    for _, row in frame.iterrows():
        cells = []
        for c, _h, d in cols:
            v = row.get(c)
            if d < 0:
                cells.append(str(v))
                continue
            s = _fmt(v, d)
            if ranges is not None and c in _CI_COLS and row.get("name") in ranges.index:
                r = ranges.loc[row["name"]]
                lo, hi = _fmt(r.get(f"{c}_min"), d), _fmt(r.get(f"{c}_max"), d)
                if s and lo != hi:
                    s += f" ({lo}–{hi})"
            elif c in _CI_COLS:
                ci = row.get(f"{c}_ci95")
                if ci is not None and not (isinstance(ci, float) and math.isnan(ci)) and s:
                    s += f" ±{_fmt(ci, d)}"
            cells.append(s)
        tab.add_row(*cells)
    return tab


def by_utilisation(frame: pd.DataFrame) -> pd.DataFrame:
    """Tool families, most utilised first (the bottleneck at the top)."""
    if "utilization_pct" not in frame:
        return frame
    return frame.sort_values("utilization_pct", ascending=False, kind="stable")


#: Columns shown with their 95 % confidence half-width.
_CI_COLS = {"completed", "cycle_time_mean_days", "on_time_pct", "utilization_pct"}


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(frame.to_json(orient="records"))
    return rows


_LOT_COLS = [
    ("name", "lot type", -1),
    ("completed", "completed", 0),
    ("cycle_time_mean_days", "CT mean d", 2),
    ("cycle_time_p50_days", "p50 d", 2),
    ("cycle_time_p90_days", "p90 d", 2),
    ("x_factor", "x-factor", 2),
    ("on_time_pct", "on time %", 1),
]
_TOOL_COLS = [
    ("name", "tool family", -1),
    ("n_tools", "tools", 0),
    ("availability_pct", "avail %", 1),
    ("utilization_pct", "util %", 1),
    ("down_pct", "down %", 2),
    ("pm_pct", "PM %", 2),
    ("setup_pct", "setup %", 2),
]


def check_warmup(days: float, warmup_days: float) -> None:
    """``--warmup-days`` must end before ``--days`` (statistics are taken after it)."""
    if warmup_days >= days:
        raise FabModelError(
            Problem(
                f"warm-up {warmup_days:g} d is not shorter than --days {days:g}",
                field="--warmup-days",
                hint="statistics are taken after the warm-up; give a shorter --warmup-days",
            )
        )


def compile_notice() -> None:
    """Say that the simulator is being compiled when numba has no cached kernel yet (the
    first fab command after an install or an upgrade sits still for about half a minute).
    Printed on stderr, so also when the output is piped and beside ``--json``."""
    from fabnet.fab.simulate import kernel_is_compiled

    if not kernel_is_compiled():
        err.print("compiling the simulator (once, about 30 s)…")


def _run(
    directory: Path,
    days: float,
    seeds: str,
    warmup_days: float,
    dispatcher: str | None,
    processes: int | None,
    quiet: bool,
    rule_reading: str = "rule",
    pure_rule: bool = False,
    scheduler: str | None = None,
) -> tuple[Any, list[int], str]:
    """Simulate ``directory`` for every seed; (results, seeds, model name)."""
    from fabnet.fab import SimOptions, simulate, simulate_seeds
    from fabnet.fab.simulate import check_run

    seed_list = parse_seeds(seeds)
    check_warmup(days, warmup_days)
    model = load_model(directory, quiet)
    opts = SimOptions(
        days=days,
        warmup_days=warmup_days,
        dispatcher=dispatcher.lower() if dispatcher else None,
        rule_reading=rule_reading,
        pure_rule=pure_rule,
    )
    check_run(model, opts)
    compile_notice()
    with progress_bar(quiet) as prog:
        if len(seed_list) == 1:
            task = prog.add_task(
                f"simulating {model.name}, seed {seed_list[0]} (days)", total=int(days)
            )

            def tick(d: float, total: float) -> None:
                prog.update(task, completed=int(d))

            res = simulate(model, opts, seed_list[0], progress=tick)
            from fabnet.fab.simulate import MultiSimResult

            # one seed: the seed's own tables (counts stay integers, no CI columns)
            multi = MultiSimResult([res], res.lot_types, res.tool_groups, res.events, res.wall_s)
        else:
            task = prog.add_task(
                f"simulating {model.name}, {len(seed_list)} seeds", total=len(seed_list)
            )

            def done(k: int, n: int) -> None:
                prog.update(task, completed=k)

            multi = simulate_seeds(
                model, opts, seed_list, processes=processes, progress=done, scheduler=scheduler
            )
    return multi, seed_list, model.name


@fab_app.command("simulate")
def simulate_cmd(
    directory: Path = typer.Argument(
        ..., help="SMT2020 model folder (e.g. ../shared/smt2020/HVLM)."
    ),
    days: DaysOpt = 730.0,
    seeds: SeedsOpt = "0",
    warmup_days: WarmupOpt = 0.0,
    dispatcher: DispatcherOpt = None,
    processes: ProcessesOpt = None,
    scheduler: SchedulerOpt = None,
    as_json: JsonOpt = False,
    rule_reading: str = typer.Option(
        "rule",
        "--rule-reading",
        help="rule: RULE column decides (default); fwlrank: FWLRANK chain on every family.",
    ),
    pure_rule: bool = typer.Option(
        False, "--pure-rule", help="With --dispatcher: no hot-lot priority, no setup ranking."
    ),
    store: Path | None = typer.Option(
        None, "--store", help="Also save the run in this runs store (DuckDB file), kind fab."
    ),
) -> None:
    """Simulate a fab for several seeds in parallel; KPI tables per lot type and tool family."""
    runs_store = _open_store(store)  # before simulating: a bad --store fails at once
    multi, seed_list, name = _run(
        directory,
        days,
        seeds,
        warmup_days,
        dispatcher,
        processes,
        as_json,
        rule_reading,
        pure_rule,
        scheduler,
    )
    obj: dict[str, Any] = {
        "model": directory.resolve().name,
        "days": days,
        "warmup_days": warmup_days,
        "dispatcher": dispatcher,
        "seeds": seed_list,
        "lot_types": _records(multi.lot_types),
        "tool_groups": _records(multi.tool_groups),
        "events": multi.events,
        "wall_s": multi.wall_s,
    }
    if store is not None:
        options = {
            "rule_reading": rule_reading,
            "pure_rule": pure_rule,
            "model_dir": str(directory),
        }
        assert runs_store is not None
        obj["run_id"] = _store_run(runs_store, directory, multi, obj, options)
    if as_json:
        out.print_json(json.dumps(obj))
        return
    n = len(seed_list)
    note = spread_note(n) if n > 1 else f"seed {seed_list[0]}"
    ranges_lt = ranges_tg = None
    if 1 < n < MIN_SEEDS_FOR_CI:
        ranges_lt = seed_ranges([r.lot_types for r in multi.results])
        ranges_tg = seed_ranges([r.tool_groups for r in multi.results])
    out.print(
        _table(
            multi.lot_types,
            _LOT_COLS,
            f"{name}: lot types ({note})",
            ranges_lt,
            caption=f"Lots released by order.txt and completed in [{warmup_days:g}, {days:g}] "
            "days (initial WIP not counted); CT: cycle time; x-factor: CT / raw process time.",
        )
    )
    out.print(
        _table(
            by_utilisation(multi.tool_groups),
            _TOOL_COLS,
            f"{name}: tool families, most utilised first",
            ranges_tg,
            caption="avail, down, PM, setup: % of calendar time; util: % of available time.",
        )
    )
    ev_s = multi.events / max(sum(r.wall_s for r in multi.results), 1e-9)
    out.print(
        f"{multi.events:,} events, {multi.wall_s:.1f} s wall ({ev_s / 1e6:.2f} M events/s per process)"
    )
    if store is not None:
        out.print(f"stored as run {obj['run_id']} in {store}")


def _open_store(path: Path | None) -> Store | None:
    """The runs store at ``path`` (created if new), checked before any simulating; None
    without ``--store``."""
    if path is None:
        return None
    from fabnet.store import Store

    writable_file(path, "--store", "runs.duckdb")
    return Store(path)


def _store_run(
    runs_store: Store,
    directory: Path,
    multi: MultiSimResult,
    summary: dict[str, Any],
    options: dict[str, Any],
) -> str:
    """Save a simulation in the runs store (kind ``fab``); the one place this module talks to
    the store. Tables: ``lot_types`` and ``tool_groups`` (the summary tables shown), ``wip``
    (t_days, wip_lots per seed). The run is filed under the model's folder name with the
    SHA-256 of its files, so runs of the same fab data can be found and compared."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.iterdir() if p.is_file()):
        digest.update(path.name.encode("utf-8") + b"\0" + path.read_bytes())
    wip = pd.concat([r.wip.assign(seed=r.seed) for r in multi.results], ignore_index=True)
    saved = runs_store.save_run(
        kind="fab",
        scenario=None,
        input_name=str(summary["model"]),
        input_hash=digest.hexdigest(),
        options={
            **options,
            **{k: summary[k] for k in ("days", "warmup_days", "dispatcher", "seeds")},
        },
        status="ok",
        timings_s={"simulate": float(multi.wall_s)},
        summary={k: v for k, v in summary.items() if k not in ("lot_types", "tool_groups")},
        tables={"lot_types": multi.lot_types, "tool_groups": multi.tool_groups, "wip": wip},
    )
    return saved


@fab_app.command("compare")
def compare_cmd(
    directory: Path = typer.Argument(..., help="SMT2020 model folder."),
    reference: Path = typer.Option(
        ..., "--reference", help="Folder with lots_<MODEL>.txt, machines_<MODEL>.txt."
    ),
    days: DaysOpt = REFERENCE_DAYS,
    seeds: SeedsOpt = "0-4",
    warmup_days: WarmupOpt = 0.0,
    processes: ProcessesOpt = None,
    scheduler: SchedulerOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Our KPIs beside the published reference (default protocol: 730 days, no warm-up, lots
    released by order.txt and completed within the horizon). With another window the
    reference's lot counts are scaled to it, and cycle times are flagged as not comparable."""
    from fabnet.fab.reference import compare_tables, load_reference, scaled_to_window

    ref = load_reference(reference, directory.name)
    protocol = days == ref.horizon_days and warmup_days == 0
    ref, factors = scaled_to_window(ref, days, warmup_days)
    notes: list[str] = []
    if not protocol:
        notes.append(
            f"the reference counts lots over {ref.horizon_days:g} days; its counts are scaled "
            "to this run: its rate (count / (horizon − CT)) × the days of releases whose lots "
            f"finish in [{warmup_days:g}, {days:g}] d (× "
            + ", ".join(f"{v:.3g}" for v in factors.values())
            + " for "
            + ", ".join(factors)
            + ")"
        )
    none = [n for n, f in factors.items() if not f > 0]
    if none:
        notes.append(
            f"{', '.join(none)}: the reference's cycle time is longer than this run allows, so "
            "it has no count to compare with"
        )
    if days < ref.horizon_days or warmup_days > 0:
        notes.append(
            f"cycle times and on-time shares are not like with like: the reference ran "
            f"{ref.horizon_days:g} days with no warm-up; in {days:g} days "
            f"(warm-up {warmup_days:g}) lots with long cycle times have not finished, or the "
            f"initial WIP weighs differently — use --days {ref.horizon_days:g} "
            "--warmup-days 0 for the published protocol"
        )
    multi, seed_list, _name = _run(
        directory, days, seeds, warmup_days, None, processes, as_json, scheduler=scheduler
    )
    lots = compare_tables(
        multi.lot_types,
        ref.lot_types,
        ["completed", "cycle_time_mean_days", "on_time_pct"],
        {"completed", "cycle_time_mean_days"},
    )
    tools = compare_tables(
        multi.tool_groups,
        ref.tool_groups,
        ["availability_pct", "utilization_pct", "down_pct", "pm_pct", "setup_pct"],
        set(),
    )
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "model": ref.model,
                    "seeds": seed_list,
                    "reference_days": ref.horizon_days,
                    "reference_count_scale": factors,
                    "notes": notes,
                    "lot_types": _records(lots),
                    "tool_groups": _records(tools),
                    "events": multi.events,
                    "wall_s": multi.wall_s,
                }
            )
        )
        return
    for note in notes:
        err.print(f"[yellow]note:[/] {note}", soft_wrap=True)
    out.print(
        _table(
            lots,
            [
                ("name", "lot type", -1),
                ("completed", "done", 0),
                ("completed_ref", "ref", 0),
                ("completed_diff", "Δ %", 1),
                ("cycle_time_mean_days", "CT d", 2),
                ("cycle_time_mean_days_ref", "ref", 2),
                ("cycle_time_mean_days_diff", "Δ %", 1),
                ("on_time_pct", "on time %", 1),
                ("on_time_pct_ref", "ref", 1),
            ],
            f"{ref.model}: lot types, {len(seed_list)} seed{'s' * (len(seed_list) != 1)}, "
            f"{days:g} d (Δ = ours vs reference)",
            caption=f"done: lots completed, mean over seeds; ref: the reference's "
            f"{ref.horizon_days:g}-day count"
            + ("" if protocol else f" scaled to this run's window [{warmup_days:g}, {days:g}] d")
            + ".",
        )
    )
    out.print(
        _table(
            by_utilisation(tools),
            [
                ("name", "tool family", -1),
                ("availability_pct", "avail", 1),
                ("availability_pct_ref", "ref", 1),
                ("utilization_pct", "util", 1),
                ("utilization_pct_ref", "ref", 1),
                ("utilization_pct_diff", "Δ pt", 1),
                ("down_pct", "down", 2),
                ("down_pct_ref", "ref", 2),
                ("pm_pct", "PM", 2),
                ("pm_pct_ref", "ref", 2),
                ("setup_pct", "setup", 2),
                ("setup_pct_ref", "ref", 2),
            ],
            f"{ref.model}: tool families (percent; Δ in points)",
        )
    )
    d = tools["utilization_pct_diff"].abs()
    groups = multi.tool_groups.set_index("name")["group"]
    litho = tools["name"].map(groups).eq("Litho")
    out.print(
        f"tool families: util within ±3 pt: {int((d <= 3).sum())}/{len(d)} "
        f"(litho group {int((d[litho] <= 3).sum())}/{int(litho.sum())}); "
        f"mean |Δ util| {d.mean():.2f} pt"
    )
    for _, r in lots.iterrows():
        out.print(
            f"{r['name']}: cycle time {_fmt(r['cycle_time_mean_days_diff'], 1)} % vs reference, "
            f"completed {_fmt(r['completed_diff'], 2)} %, on time {_fmt(r['on_time_pct'], 1)} % "
            f"(reference {_fmt(r['on_time_pct_ref'], 1)} %)"
        )
