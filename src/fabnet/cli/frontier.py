"""`fabnet frontier`: the risk–cost frontier of the stochastic plan (one stored run per point)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fabnet.cli.app import app, err, out
from fabnet.cli.checks import (
    MAX_POINTS,
    MAX_SCENARIOS,
    finite_nonnegative,
    finite_positive,
    open_fraction,
)
from fabnet.cli.parallel_opts import SchedulerOpt, WorkersOpt
from fabnet.cli.plan import _money, _num, _Sampling, _table
from fabnet.cli.saving import RunSaver
from fabnet.scenario.schema import Period


@app.command("frontier")
def frontier_cmd(
    scenario: str = typer.Argument(..., help="Built-in scenario name or YAML file."),
    points: int = typer.Option(
        6, "--points", min=2, max=MAX_POINTS, help="Values of ω, evenly from 0 to 1."
    ),
    stochastic: int = typer.Option(
        50,
        "--stochastic",
        metavar="N",
        min=1,
        max=MAX_SCENARIOS,
        help="Sampled disruption scenarios of every point.",
    ),
    seed: int = typer.Option(
        0, "--seed", min=0, help="Sampler seed (the same scenarios at every point)."
    ),
    sampling: _Sampling = typer.Option(
        _Sampling.stratified, "--sampling", help="How the scenarios are drawn (as fabnet plan)."
    ),
    cvar_alpha: float = typer.Option(
        0.95, "--cvar-alpha", callback=open_fraction(), help="CVaR level α of the risk term."
    ),
    unmet_cvar_cap: float | None = typer.Option(
        None,
        "--unmet-cvar-cap",
        metavar="PFLOPS",
        callback=finite_nonnegative(),
        help="Cap on CVaR_α of unmet compute, PFLOP/s.",
    ),
    variant: str | None = typer.Option(None, "--variant", "-v", help="A named variant."),
    set_: list[str] = typer.Option([], "--set", "-s", help="Override PATH=VALUE (repeatable)."),
    period: Period | None = typer.Option(None, "--period", help="Period length."),
    relax: bool = typer.Option(False, "--relax", help="LP relaxation of builds and ports."),
    gap: float = typer.Option(
        0.001, "--gap", callback=finite_nonnegative(), help="Relative MIP gap to stop at."
    ),
    time_limit: float | None = typer.Option(
        None, "--time-limit", callback=finite_positive(), help="Per point, seconds."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the points as JSON."),
    store: Path = typer.Option(Path("fabnet.duckdb"), "--store", help="The runs store."),
    no_store: bool = typer.Option(False, "--no-store", help="Do not store the runs."),
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    report: Path | None = typer.Option(
        None, "--report", help="Also write an HTML page with the frontier chart here."
    ),
) -> None:
    """Sweep the risk aversion ω of the stochastic plan: expected cost against CVaR95 of
    unmet compute, each point stored as a plan run with its builds."""
    from fabnet.plan import PlanOptions
    from fabnet.risk.stochastic import RiskMeasure, StochasticOptions, frontier
    from fabnet.scenario import load_scenario
    from fabnet.store.record import jsonable

    opts = PlanOptions(period=period, relax=relax, mip_gap=gap, time_limit_s=time_limit)
    sto = StochasticOptions(
        scenarios=stochastic,
        seed=seed,
        sampling=sampling.value,
        measure=RiskMeasure(0.0, cvar_alpha, unmet_cvar_cap),
    )
    saver = None if no_store else RunSaver(store)
    if saver is not None:
        saver.check()  # before solving: a store that cannot be written fails now
    scen = load_scenario(scenario, variant=variant, overrides=list(set_) or None)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err, transient=True, disable=as_json,
    ) as prog:  # fmt: skip
        task = prog.add_task(f"{scen.name}: frontier of {points} points", total=points)
        pts = frontier(
            scen, opts, sto, points, workers=workers, scheduler=scheduler,
            progress=lambda done, _n: prog.update(task, completed=done),
        )  # fmt: skip
    rows = []
    for pt in pts:
        obj = pt.to_json()
        run_id = None
        if saver is not None:
            sto_pt = {**sto.as_dict(), "risk_aversion": pt.risk_aversion, "frontier": True}
            run_id = saver.save(
                kind="plan",
                scenario=scen,
                options={**pt.plan.options, "variant": variant, "set": list(set_),
                         "stochastic": sto_pt},
                status=pt.solution.status,
                timings_s={**pt.plan.timings_s, "stochastic_solve": pt.solution.solve_s},
                summary=jsonable({**pt.plan.summary(), "stochastic": obj}),
                tables=pt.plan.tables(),
                messages=pt.plan.messages,
            )  # fmt: skip
        rows.append({**obj, "run_id": run_id})
    if report is not None:
        from fabnet.report import write_report
        from fabnet.report.stochastic import frontier_report_html

        write_report(report, frontier_report_html(scen.name, jsonable(rows)))
        err.print(f"[dim]report written to {escape(str(report))}[/]")
    if as_json:
        typer.echo(json.dumps(jsonable(rows), indent=2, ensure_ascii=False))
    else:
        _show(scen.name, rows, stochastic, cvar_alpha)
    if saver is not None:
        saver.finish()  # the store failed after solving: name where the runs went (exit 2)


def _show(name: str, rows: list[dict[str, Any]], stochastic: int, cvar_alpha: float) -> None:
    """The frontier as a table."""
    tab = _table(f"{name}: risk–cost frontier over {stochastic} scenarios (α {cvar_alpha:g})")
    for col in ("ω", "E[cost]", "CVaR95 cost", "E[unmet] PF/s", "CVaR95 unmet PF/s", "builds",
                "run"):  # fmt: skip
        tab.add_column(col, justify="left" if col in ("builds", "run") else "right")
    for r in rows:
        b = ", ".join(f"{x['site']} ({x['start_period']})" for x in r["first_stage"]["builds"])
        tab.add_row(
            f"{r['risk_aversion']:.2f}", _money(r["expected_cost_usd"]),
            _money(r["cvar95_cost_usd"]), _num(r["expected_unmet_pflops"], 1),
            _num(r["cvar95_unmet_pflops"], 1), escape(b or "none"), str(r["run_id"] or "–"),
        )  # fmt: skip
    out.print(tab)
