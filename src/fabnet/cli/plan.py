"""`fabnet plan`: build and solve the network plan of a scenario, store it, show it."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich import box
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from fabnet.cli.app import app, err, out
from fabnet.cli.checks import (
    MAX_SAMPLES,
    MAX_SCENARIOS,
    MAX_THREADS,
    finite_nonnegative,
    finite_positive,
    fraction,
    open_fraction,
)
from fabnet.cli.parallel_opts import SchedulerOpt, WorkersOpt
from fabnet.cli.saving import RunSaver
from fabnet.errors import FabnetError, PlanError, Problem
from fabnet.plan.tables import fraction_text
from fabnet.scenario.schema import Period

if TYPE_CHECKING:
    from fabnet.plan import Plan, PlanOptions
    from fabnet.risk.stochastic import StochasticOptions, StochasticResult
    from fabnet.scenario.schema import Scenario


class _Sampling(StrEnum):
    """``--sampling``: how the stochastic plan's scenarios are drawn (docs/stochastic.md)."""

    mc = "mc"
    importance = "importance"
    stratified = "stratified"


class _Terminal(StrEnum):
    """``--terminal``: how the end of the horizon is valued (PlanOptions.terminal)."""

    salvage = "salvage"
    none = "none"


class _LeadTimes(StrEnum):
    """``--lead-times``: fixed cycle times, or load-dependent ones (PlanOptions.lead_times)."""

    fixed = "fixed"
    load = "load"


@dataclass
class _Run:
    label: str
    scenario: Scenario
    plan: Plan
    run_id: str | None


def _money(v: Any) -> str:
    """USD in the one money format of CLI and reports (fmt.money: ``694 bn USD``)."""
    from fabnet.report.fmt import money

    try:
        return money(float(v))
    except (TypeError, ValueError):
        return "–"


def _num(v: Any, digits: int = 0) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(f):
        return "–"
    return f"{f:,.{digits}f}"


def _compute_cell(pflops: float, scale: float) -> str:
    """Compute in a column's unit (``scale`` PFLOP/s each, from fmt.compute_unit)."""
    return _num(pflops / scale, 1 if abs(pflops / scale) < 100 else 0)


def _pct(v: Any) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "–"
    return "–" if not math.isfinite(f) else f"{100 * f:.0f} %"


def _table(title: str) -> Table:
    return Table(
        title=title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD, pad_edge=False
    )


def _solve_one(
    ref: str,
    variant: str | None,
    sets: list[str],
    opts: PlanOptions,
    quiet: bool,
) -> tuple[Scenario, Plan]:
    from fabnet.plan import plan
    from fabnet.scenario import load_scenario

    scenario = load_scenario(ref, variant=variant, overrides=sets or None)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=quiet,
    ) as prog:
        name = scenario.name + (f" [{variant}]" if variant else "")
        task = prog.add_task(f"{name}: building the model", total=None)

        def tick(step: str, _frac: float | None) -> None:
            prog.update(task, description=f"{name}: {step}")

        result = plan(scenario, opts, progress=tick)
    return scenario, result


def _solve_variant(
    ref: str,
    sets: list[str],
    opts: PlanOptions,
    variant: str | None,
    curve_store: Path | None = None,
) -> tuple[Scenario, Plan] | PlanError:
    """One variant, quietly (it may run in a Dask worker); a plan that fails is returned.
    ``curve_store``: the store of ``operating_curve: {run: ID}`` without ``store:``."""
    from fabnet.plan import plan
    from fabnet.scenario import load_scenario

    if curve_store is not None:  # a worker process has not seen the command's --store
        from fabnet.cli.curve_source import use_store

        use_store(curve_store)
    try:
        scenario = load_scenario(ref, variant=variant, overrides=sets or None)
        return scenario, plan(scenario, opts)
    except PlanError as exc:
        return exc


def _solve_all(
    ref: str,
    variants: list[str | None],
    sets: list[str],
    opts: PlanOptions,
    workers: int | None,
    scheduler: str | None,
    curve_store: Path | None = None,
) -> list[tuple[Scenario, Plan] | PlanError]:
    """Every variant's plan, in order: one in this process (a PlanError is raised), several
    in parallel through :func:`fabnet.parallel.parallel_map` (each PlanError returned)."""
    from functools import partial

    from rich.progress import BarColumn, MofNCompleteColumn

    from fabnet.parallel import parallel_map

    if len(variants) == 1:
        return [_solve_one(ref, variants[0], sets, opts, quiet=False)]
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err, transient=True,
    ) as prog:  # fmt: skip
        task = prog.add_task(f"{ref}: solving {len(variants)} variants", total=len(variants))
        return parallel_map(
            partial(_solve_variant, ref, sets, opts, curve_store=curve_store),
            variants,
            workers=workers,
            scheduler=scheduler,
            chunk_size=1,
            progress=lambda done, _n: prog.update(task, completed=done),
        )


def _plan_run(scenario: Scenario, result: Plan, extra: dict[str, Any]) -> dict[str, Any]:
    """The arguments of :meth:`fabnet.store.Store.save_run` for a plan."""
    return {
        "kind": "plan",
        "scenario": scenario,
        "options": {**result.options, **extra},
        "status": result.status,
        "timings_s": result.timings_s,
        "summary": result.summary(),
        "tables": result.tables(),
        "messages": result.messages,
    }


def _store_run(store_path: Path, scenario: Scenario, result: Plan, extra: dict[str, Any]) -> str:
    """Save the run; the one place the CLI talks to the store."""
    from fabnet.store import Store

    return Store(store_path).save_run(**_plan_run(scenario, result, extra))


def _write_report(store_path: Path, run_id: str, path: Path, risk_id: str | None = None) -> None:
    """Write the HTML report of stored run ``run_id``; the run stays stored if this fails.

    A plan's report includes risk run ``risk_id`` (default: its latest risk run, if any).
    """
    from fabnet.report import report_html, write_report
    from fabnet.store import Store

    st = Store(store_path, create=False)
    rec = st.load_run(run_id)
    risk = None
    if rec.kind == "plan":
        risk = st.load_run(risk_id) if risk_id else st.latest_risk_of(run_id)
    html = report_html(rec, risk=risk)
    try:
        write_report(path, html)
    except FabnetError as exc:
        problem = exc.problems[0]
        raise PlanError(
            Problem(
                problem.message,
                f"the {'risk analysis' if rec.kind == 'risk' else rec.kind} is stored as run "
                f"{run_id}; write its report elsewhere with "
                f"`fabnet report {run_id} -o PATH --store {store_path}`",
                file=problem.file,
            )
        ) from None


def _show(run: _Run) -> None:
    p = run.plan
    s = p.summary(run.run_id)
    gap = f", gap {100 * p.mip_gap:.2f} %" if p.mip_gap is not None else ""
    size = p.model_size
    t = p.timings_s
    out.print(
        f"[bold]{escape(run.label)}[/]  status [bold]{p.status}[/]{gap}  cost (present value) "
        f"[bold]{_money(p.objective_usd)}[/]  run {run.run_id or '–'}"
    )
    out.print(
        f"[dim]model: {size['variables']:,} variables, {size['constraints']:,} constraints, "
        f"{size['binaries']:,} binaries; build {t.get('build', 0):.2f} s, solve "
        f"{t.get('solve', 0):.2f} s, read {t.get('read', 0):.2f} s[/]"
    )
    years = s["years"]
    comp = p.compute
    own_src = set(comp.loc[comp["source_kind"] == "own", "source"])
    inst_src = set(comp.loc[comp["source_kind"] == "installed", "source"])
    capped = sorted(p.shares.loc[(p.shares["kind"] == "vendor") & p.shares["cap"].notna(), "key"])
    top = comp.groupby("vendor")["pflops_added"].sum().sort_values(ascending=False).index.tolist()
    from fabnet.report.fmt import compute_unit, money_unit, sig3, vendor_order

    vendors = vendor_order(list(dict.fromkeys([*capped, *top]))[:3], run.scenario.designer)
    scale, unit = compute_unit(
        [sum(y["compute_pflops"].values()) for y in years] + [y["unmet_pflops"] for y in years]
    )
    usd, usd_unit = money_unit(max((abs(y["cost_usd"]) for y in years), default=0.0))
    tab = _table(f"Per year: {unit} in service, share of new compute, cost in {usd_unit}")
    cols = ("year", "own", "bought", *(["installed"] if inst_src else []), "unmet")
    for col in (*cols, *vendors, "cost"):
        tab.add_column(
            col, justify="left" if col == "year" else "right", no_wrap=col in ("installed", "cost")
        )
    for y in years:
        cp = y["compute_pflops"]
        own = sum(v for k, v in cp.items() if k in own_src)
        bought = sum(v for k, v in cp.items() if k not in own_src and k not in inst_src)
        installed = sum(v for k, v in cp.items() if k in inst_src)
        tab.add_row(
            str(y["year"]),
            _compute_cell(own, scale),
            _compute_cell(bought, scale),
            *([_compute_cell(installed, scale)] if inst_src else []),
            _compute_cell(y["unmet_pflops"], scale),
            *[_pct(y["vendor_share"].get(v, float("nan"))) for v in vendors],
            sig3(y["cost_usd"] / usd) if math.isfinite(y["cost_usd"]) else "–",
        )
    out.print(tab)
    costs = p.costs.groupby("category", sort=False)[["cost_usd", "cost_pv_usd"]].sum()
    ctab = _table("Cost by category")
    ctab.add_column("category")
    ctab.add_column("total", justify="right")
    ctab.add_column("present value", justify="right")
    for cat, row in costs.iterrows():
        if row["cost_usd"] > 0:
            ctab.add_row(str(cat), _money(row["cost_usd"]), _money(row["cost_pv_usd"]))
    out.print(ctab)
    if len(p.builds):
        relaxed = any(fraction_text(f) for f in p.builds["fraction"])
        btab = _table(
            "New sites"
            + (
                " (relaxed plan: part = the part of a fab built, 1 = a whole fab)"
                if relaxed
                else ""
            )
        )
        for col in ("site", "country", "start", "online", "full", "capex", "wspm"):
            btab.add_column(
                col,
                justify="right" if col in ("capex", "wspm") else "left",
                no_wrap=col in ("site", "capex"),
            )
        if relaxed:
            btab.add_column("part", justify="right")
        for r in p.builds.itertuples():
            btab.add_row(
                str(r.site), str(r.country), str(r.start_period), str(r.online_period),
                str(r.full_period), _money(r.capex_usd), _num(r.capacity_wspm),
                *([f"{r.fraction:.2f}"] if relaxed else []),
            )  # fmt: skip
        out.print(btab)
    else:
        out.print("[dim]No new sites built.[/]")
    sp = p.shadow_prices
    if len(sp) and (sp["usd_per_wafer"] > 0).any():
        best = sp.groupby("site")["usd_per_wafer"].mean().sort_values(ascending=False).head(5)
        stab = _table("Shadow prices (USD/wafer, mean)")
        stab.add_column("site")
        stab.add_column("USD/wafer", justify="right")
        for site, val in best.items():
            if val > 0:
                stab.add_row(str(site), _num(val))
        out.print(stab)
    _show_programmes(p)
    _show_clearing(p)
    _show_why_not(p)
    for m in p.messages:
        out.print(f"[yellow]•[/] {escape(m)}", soft_wrap=True)


def _build_text(build: dict[str, Any]) -> str:
    """``site (2026)``, or ``site (2026, 0.37 of a fab (relaxed))`` for part of a fab."""
    part = fraction_text(build.get("fraction"))
    return f"{build['site']} ({build['start_period']}{', ' + part if part else ''})"


#: Rows of the "why not" table shown in the terminal (all are in --json and the report).
_WHY_NOT_ROWS = 12


def _show_programmes(p: Plan) -> None:
    """Programme fabs built (online by the year's end) against the target, in a few years."""
    pr = p.programmes
    if not len(pr):
        return
    years = sorted(int(y) for y in pr["year"].unique())
    shown = sorted({*years[:: max(1, len(years) // 4)], years[-1]})
    tab = _table("Programmes: fabs online by the end of the year / target")
    tab.add_column("programme")
    tab.add_column("fabs")
    for y in shown:
        tab.add_column(str(y), justify="right")
    kinds = {"new_production": "new prod.", "new_research": "new res.", "existing": "existing"}
    for (prog, kind), g in pr.groupby(["programme", "kind"], sort=False):
        by = g.set_index("year")
        cells = []
        for y in shown:
            built, target = _num(by.at[y, "built"], 0), float(str(by.at[y, "target"]))
            cells.append(built + ("" if not math.isfinite(target) else f"/{_num(target, 0)}"))
        tab.add_row(str(prog), kinds.get(str(kind), str(kind)), *cells)
    out.print(tab)


def _show_clearing(p: Plan) -> None:
    """--lead-times load: busy sites' load, cycle time and WIP in a few years."""
    from fabnet.plan.solution import clearing_summary

    rows = [r for r in clearing_summary(p.clearing) if r["load"] > 0.05]
    if not rows:
        return
    years = sorted({r["year"] for r in rows})
    shown = sorted({*years[:: max(1, len(years) // 4)], years[-1]})
    tab = _table("Load-dependent lead times: load · cycle time (WIP: --json, report)")
    tab.add_column("site")
    for y in shown:
        tab.add_column(str(y), justify="right")
    for site in dict.fromkeys(r["site"] for r in rows):
        by = {r["year"]: r for r in rows if r["site"] == site}
        cells = []
        for y in shown:
            r = by.get(y)
            ct = "–" if r is None or r["cycle_time_days"] is None else _num(r["cycle_time_days"])
            cells.append("–" if r is None else f"{_pct(r['load'])} · {ct} d")
        tab.add_row(str(site), *cells)
    out.print(tab)


def _show_why_not(p: Plan) -> None:
    """Unused sites, options and offers with the price at which they would enter the plan."""
    wn = p.why_not
    if not len(wn):
        return
    tab = _table("Why not: unused options and the price at which each would enter the plan")
    for col in ("kind", "id", "in", "now", "enters at ≤", "per"):
        tab.add_column(col, justify="right" if col in ("now", "enters at ≤") else "left")
    for r in wn.head(_WHY_NOT_ROWS).itertuples():
        entry = r.entry_cost_usd if r.kind == "candidate" else r.entry_price_usd
        per = str(r.unit).removeprefix("USD/").removeprefix("USD ")
        shown = _money(entry) if _money(entry) != "–" else "no option"
        tab.add_row(str(r.kind), str(r.id), str(r.period), _money(r.current_usd), shown, per)
    out.print(tab)
    if len(wn) > _WHY_NOT_ROWS:
        out.print(f"[dim]… {len(wn) - _WHY_NOT_ROWS} more rows in --json and the report[/]")


def _compare(runs: list[_Run]) -> None:
    sums = [r.plan.summary(r.run_id) for r in runs]
    rows: list[tuple[str, list[str]]] = []

    def row(name: str, vals: list[str]) -> None:
        rows.append((name, vals))

    row("status", [s["status"] for s in sums])
    row("cost (PV)", [_money(s["objective_usd"]) for s in sums])
    row(
        "unmet PF·yr",
        [_num(sum(y["unmet_pflops"] for y in s["years"])) for s in sums],
    )
    vendors = sorted({v for s in sums for y in s["years"] for v in y["vendor_share"]})
    for v in vendors:
        vals = []
        for r in runs:
            c = r.plan.compute
            tot = c["pflops_added"].sum()
            vals.append(_pct(c.loc[c["vendor"] == v, "pflops_added"].sum() / tot if tot else 0))
        row(f"{v} % new", vals)
    row("sites built", [str(len(s["builds"])) for s in sums])
    progs = list(dict.fromkeys(str(x) for r in runs for x in r.plan.programmes["programme"]))
    for prog in progs:
        vals = []
        for r in runs:
            pr = r.plan.programmes
            part = pr[
                (pr["programme"] == prog) & pr["kind"].isin(["new_production", "new_research"])
            ]
            last = part[part["year"] == part["year"].max()] if len(part) else part
            vals.append(_num(last["built"].sum()) if len(last) else "–")
        row(f"{prog}: new fabs by the end", vals)
    from fabnet.plan.tables import COST_CATEGORIES

    for cat in COST_CATEGORIES:
        row(
            "unmet (PV)" if cat == "unmet_penalty" else f"{cat} (PV)",
            [_money(r.plan.costs.loc[r.plan.costs["category"] == cat, "cost_pv_usd"].sum())
             for r in runs],
        )  # fmt: skip
    _print_side_by_side("Variants side by side", [r.label for r in runs], rows)
    for r, sm in zip(runs, sums, strict=True):
        built = ", ".join(_build_text(b) for b in sm["builds"]) or "none"
        out.print(f"[dim]{escape(r.label)}: run {r.run_id or '–'}; builds {escape(built)}[/]")


def _print_side_by_side(title: str, labels: list[str], rows: list[tuple[str, list[str]]]) -> None:
    """A figure × variant table; the variants in as many tables as the width needs, so no
    name or amount is broken at 80 columns or in a pipe."""
    name_w = min(28, max((len(n) for n, _ in rows), default=4))
    widths = [max([len(lbl), *(len(v[i]) for _, v in rows)]) for i, lbl in enumerate(labels)]
    chunks: list[list[int]] = [[]]
    used = name_w + 4  # each column: its text, 2 of padding, 1 rule; and one edge
    for i, w in enumerate(widths):
        if chunks[-1] and used + w + 3 > out.width:
            chunks.append([])
            used = name_w + 4
        chunks[-1].append(i)
        used += w + 3
    for k, chunk in enumerate(chunks):
        tab = _table(title + (f" ({k + 1} of {len(chunks)})" if len(chunks) > 1 else ""))
        tab.add_column("", max_width=name_w)
        for i in chunk:
            tab.add_column(labels[i], justify="right", no_wrap=True)
        for name, vals in rows:
            tab.add_row(name, *(vals[i] for i in chunk))
        out.print(tab)


def _report_path(base: Path, label: str, many: bool) -> Path:
    if not many:
        return base
    return base.with_name(f"{base.stem}-{label}{base.suffix or '.html'}")


@app.command("plan")
def plan_cmd(
    scenario: str = typer.Argument(..., help="Built-in scenario name or YAML file."),
    variant: str | None = typer.Option(
        None, "--variant", "-v", help="A named variant of the scenario, or `all`."
    ),
    set_: list[str] = typer.Option(
        [],
        "--set",
        "-s",
        help="Override PATH=VALUE (repeatable), e.g. policies.max_vendor_share.nvidia=0.3.",
    ),
    period: Period | None = typer.Option(
        None, "--period", help="Period length (overrides the scenario)."
    ),
    relax: bool = typer.Option(
        False, "--relax", help="LP relaxation of build and porting decisions."
    ),
    gap: float = typer.Option(
        0.001,
        "--gap",
        callback=finite_nonnegative(example="0.001"),
        help="Relative MIP gap to stop at (0.005 = 0.5 %).",
    ),
    time_limit: float | None = typer.Option(
        None, "--time-limit", callback=finite_positive(), help="Solver time limit, seconds."
    ),
    threads: int | None = typer.Option(
        None, "--threads", min=1, max=MAX_THREADS, help="Solver threads."
    ),
    terminal: _Terminal = typer.Option(
        _Terminal.salvage,
        "--terminal",
        help="End of the horizon: credit the service life left after it (salvage) or not.",
    ),
    lead_times: _LeadTimes = typer.Option(
        _LeadTimes.fixed,
        "--lead-times",
        help="Fab lead times: fixed cycle times, or load-dependent from the scenario's "
        "operating curves (clearing functions; docs/planner.md).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    store: Path = typer.Option(
        Path("fabnet.duckdb"), "--store", help="The runs store (DuckDB file)."
    ),
    no_store: bool = typer.Option(False, "--no-store", help="Do not store the run."),
    report: Path | None = typer.Option(None, "--report", help="Also write the HTML report here."),
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    stochastic: int | None = typer.Option(
        None,
        "--stochastic",
        metavar="N",
        min=1,
        max=MAX_SCENARIOS,
        help="Two-stage stochastic plan over N sampled disruption scenarios (docs/stochastic.md).",
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Sampler seed of the stochastic scenarios."),
    sampling: _Sampling = typer.Option(
        _Sampling.stratified,
        "--sampling",
        help="Scenarios by plain Monte Carlo, importance sampling of the rare events, or "
        "stratified on them (--stochastic; docs/stochastic.md).",
    ),
    risk_aversion: float = typer.Option(
        0.0,
        "--risk-aversion",
        callback=fraction(),
        help="ω in (1 − ω)·E[cost] + ω·CVaR(cost), 0–1 (--stochastic).",
    ),
    cvar_alpha: float = typer.Option(
        0.95,
        "--cvar-alpha",
        callback=open_fraction(),
        help="CVaR level α of the risk term and the unmet cap (--stochastic).",
    ),
    unmet_cvar_cap: float | None = typer.Option(
        None,
        "--unmet-cvar-cap",
        metavar="PFLOPS",
        callback=finite_nonnegative(),
        help="Cap on CVaR_α of unmet compute (horizon mean, PFLOP/s) (--stochastic).",
    ),
    oos_samples: int = typer.Option(
        500,
        "--oos-samples",
        min=0,
        max=MAX_SAMPLES,
        help="Fresh samples to evaluate the stochastic and deterministic plans on (0: none).",
    ),
    no_evpi: bool = typer.Option(
        False, "--no-evpi", help="Skip the wait-and-see solves (no EVPI; faster)."
    ),
) -> None:
    """Plan the supply network of SCENARIO: the cheapest sourcing and build-out that meets demand."""
    from fabnet.plan import PlanOptions
    from fabnet.scenario import variant_names

    opts = PlanOptions(
        period=period,
        relax=relax,
        mip_gap=gap,
        time_limit_s=time_limit,
        threads=threads,
        terminal="none" if terminal is _Terminal.none else "salvage",
        lead_times="load" if lead_times is _LeadTimes.load else "fixed",
    )
    if report is not None and no_store:
        raise PlanError(Problem("--report needs the stored run", "drop --no-store"))
    saver = None if no_store else RunSaver(store)
    if saver is not None:
        saver.check()  # before solving: a store that cannot be written fails now
    from fabnet.cli.curve_source import use_store

    use_store(store)  # operating_curve: {run: ID} without store: reads --store
    if stochastic is not None:
        if variant == "all":
            raise PlanError(Problem("--stochastic plans one variant", "drop --variant all"))
        if lead_times is _LeadTimes.load:
            raise PlanError(
                Problem("--stochastic plans with fixed lead times", "drop --lead-times load")
            )
        from fabnet.risk.stochastic import RiskMeasure, StochasticOptions

        sto = StochasticOptions(
            scenarios=stochastic,
            seed=seed,
            sampling=sampling.value,
            measure=RiskMeasure(risk_aversion, cvar_alpha, unmet_cvar_cap),
            wait_and_see=not no_evpi,
            oos_samples=oos_samples,
        )
        _stochastic(scenario, variant, list(set_), opts, sto, as_json, saver, report, workers,
                    scheduler)  # fmt: skip
        return
    variants: list[str | None] = [None, *variant_names(scenario)] if variant == "all" else [variant]
    runs: list[_Run] = []
    failures: list[FabnetError] = []
    solved = _solve_all(scenario, variants, list(set_), opts, workers, scheduler, store)
    for v, outcome in zip(variants, solved, strict=True):
        label = v or "base"
        if isinstance(outcome, PlanError):
            failures.append(outcome)
            err.print(f"[bold red]{escape(label)}:[/] {escape(outcome.format())}", soft_wrap=True)
            continue
        scen, result = outcome
        run_id = None
        if saver is not None:
            run_id = saver.save(**_plan_run(scen, result, {"variant": v, "set": list(set_)}))
        if report is not None and run_id is not None and saver is not None:
            path = _report_path(report, label, len(variants) > 1)
            _write_report(saver.path, run_id, path)
            if not as_json:
                err.print(f"[dim]report written to {path}[/]")
        runs.append(_Run(label=label, scenario=scen, plan=result, run_id=run_id))
    if as_json:
        from fabnet.store.record import jsonable

        objs = [r.plan.summary(r.run_id) | {"variant": r.label} for r in runs]
        payload: Any = objs[0] if len(variants) == 1 else objs
        typer.echo(json.dumps(jsonable(payload), indent=2, ensure_ascii=False))
    else:
        for r in runs:
            _show(r)
            out.print()
        if len(runs) > 1:
            _compare(runs)
    if saver is not None:
        saver.finish()  # the store failed after solving: name where the runs went (exit 2)
    if failures and not runs:
        raise failures[0]


def _stochastic(
    ref: str,
    variant: str | None,
    sets: list[str],
    opts: PlanOptions,
    sto: StochasticOptions,
    as_json: bool,
    saver: RunSaver | None,
    report: Path | None,
    workers: int | None,
    scheduler: str | None,
) -> None:
    """`fabnet plan --stochastic N`: solve, store (kind plan) and show the stochastic plan."""
    from fabnet.risk.stochastic import stochastic_plan
    from fabnet.scenario import load_scenario
    from fabnet.store.record import jsonable

    scen = load_scenario(ref, variant=variant, overrides=sets or None)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
        console=err, transient=True, disable=as_json,
    ) as prog:  # fmt: skip
        task = prog.add_task(f"{scen.name}: stochastic plan", total=None)
        res = stochastic_plan(
            scen,
            opts,
            sto,
            progress=lambda m: prog.update(task, description=f"{scen.name}: {m}"),
            workers=workers,
            scheduler=scheduler,
        )
    st = res.summary()
    run_id = None
    if saver is not None:
        p = res.plan
        run_id = saver.save(
            kind="plan",
            scenario=scen,
            options={**p.options, "variant": variant, "set": sets, "stochastic": sto.as_dict()},
            status=res.rp.status,
            timings_s={**p.timings_s, **{f"stochastic_{k}": v for k, v in res.timings_s.items()}},
            summary=jsonable({**p.summary(), "stochastic": st}),
            tables=p.tables(),
            messages=p.messages,
        )
        if report is not None and run_id is not None:
            _write_report(saver.path, run_id, report)
    if as_json:
        payload = res.plan.summary(run_id) | {"variant": variant or "base", "stochastic": st}
        typer.echo(json.dumps(jsonable(payload), indent=2, ensure_ascii=False))
    else:
        _show_stochastic(scen.name, res, st, run_id)
    if saver is not None:
        saver.finish()


def _show_stochastic(
    name: str, res: StochasticResult, st: dict[str, Any], run_id: str | None
) -> None:
    """The measures and the first stage, deterministic against stochastic."""
    gap = f", gap {100 * st['mip_gap']:.2f} %" if st["mip_gap"] is not None else ""
    out.print(
        f"[bold]{escape(name)}[/]  stochastic plan over {st['scenarios']} scenarios "
        f"({st['sampling']}, seed {st['seed']}, ω {st['risk_aversion']:g}, "
        f"α {st['cvar_alpha']:g})  status "
        f"[bold]{st['status']}[/]{gap}  run {run_id or '–'}"
    )
    sz = st["size"]
    out.print(
        f"[dim]extensive form: {sz['variables']:,} variables, {sz['constraints']:,} "
        f"constraints, {sz['nonzeros']:,} nonzeros, {sz['binaries']:,} binaries; "
        f"{res.rp.build_s:.1f} s build, {res.rp.solve_s:.1f} s solve[/]"
    )
    det = st["deterministic"]
    tab = _table("In sample (the same scenarios), present value")
    for col in ("", "deterministic", "stochastic"):
        tab.add_column(col, justify="left" if not col else "right")
    tab.add_row("objective (1−ω)E + ω·CVaR", _money(det["eev_usd"]), _money(st["rp_usd"]))
    tab.add_row("expected cost", _money(det["expected_cost_usd"]),
                _money(st["expected_cost_usd"]))  # fmt: skip
    tab.add_row("CVaR95 cost", _money(det["cvar95_cost_usd"]), _money(st["cvar95_cost_usd"]))
    tab.add_row("CVaR95 unmet PFLOP/s", _num(det["cvar95_unmet_pflops"], 1),
                _num(st["cvar95_unmet_pflops"], 1))  # fmt: skip
    out.print(tab)
    out.print(
        f"VSS (EEV − RP) [bold]{_money(st['vss_usd'])}[/]   EVPI (RP − WS) [bold]"
        f"{_money(st['evpi_usd']) if st['evpi_usd'] is not None else '– (--no-evpi)'}[/]"
    )
    oos = st["out_of_sample"]
    if oos:
        otab = _table(f"Out of sample ({int(oos['stochastic']['samples'])} fresh samples)")
        otab.add_column("")
        for plan_name in ("deterministic", "stochastic"):
            for mode in ("recourse", "anticipative"):
                otab.add_column(f"{plan_name[:3]}. {mode}", justify="right")
        for key, fmt in (
            ("expected_cost_usd", _money),
            ("cvar95_cost_usd", _money),
            ("expected_unmet_pflops", lambda v: _num(v, 1)),
            ("cvar95_unmet_pflops", lambda v: _num(v, 1)),
        ):
            otab.add_row(
                key.removesuffix("_usd").replace("_", " "),
                *[fmt(oos[pn][f"{mo}_{key}"]) for pn in ("deterministic", "stochastic")
                  for mo in ("recourse", "anticipative")],
            )  # fmt: skip
        out.print(otab)
    ftab = _table("First stage: builds (site, start) and ports, deterministic vs stochastic")
    ftab.add_column("decision")
    ftab.add_column("deterministic")
    ftab.add_column("stochastic")

    def builds(fs: dict[str, Any]) -> dict[str, str]:
        return {
            b["site"]: b["start_period"] + ("" if b["share"] >= 1 else f" ({b['share']:.2f})")
            for b in fs["builds"]
        }

    db, sb = builds(det["first_stage"]), builds(st["first_stage"])
    for site in sorted(set(db) | set(sb)):
        ftab.add_row(f"build {site}", db.get(site, "–"), sb.get(site, "–"))
    dp, sp = det["first_stage"]["ports"], st["first_stage"]["ports"]
    for k in sorted(set(dp) | set(sp)):
        ftab.add_row(f"port {k}", _num(dp.get(k, 0), 2), _num(sp.get(k, 0), 2))
    out.print(ftab)
