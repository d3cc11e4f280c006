"""`fabnet risk`: Monte Carlo of a plan against the scenario's disruption catalogue."""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich import box
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fabnet.cli.app import app, err, out
from fabnet.cli.saving import RunSaver
from fabnet.errors import FabnetError, PlanError, Problem

if TYPE_CHECKING:
    from fabnet.plan import PlanOptions
    from fabnet.risk.recourse import RecourseSpec
    from fabnet.risk.run import RiskResult
    from fabnet.scenario.schema import Scenario
    from fabnet.store import RunRecord, Store

_RUN_REF = re.compile(r"^(latest|\d{8}(-[0-9a-f]{0,4}){0,2}.*)$")


def _money(v: Any) -> str:
    from fabnet.report.fmt import money

    try:
        return money(float(v))
    except (TypeError, ValueError):
        return "–"


def _num(v: Any, unit: str = "") -> str:
    from fabnet.report.fmt import number

    try:
        return number(float(v), unit)
    except (TypeError, ValueError):
        return "–"


def _plan_options(rec: RunRecord) -> PlanOptions:
    from fabnet.plan import PlanOptions
    from fabnet.scenario.schema import Period

    o = rec.options
    period = o.get("period")
    build_start = o.get("build_start")
    return PlanOptions(
        period=Period(period) if period else None,
        relax=bool(o.get("relax", False)),
        mip_gap=float(o.get("mip_gap", 0.001)),
        time_limit_s=o.get("time_limit_s"),
        threads=o.get("threads"),
        build_start=Period(build_start) if build_start else None,
        terminal="none" if o.get("terminal") == "none" else "salvage",
        lead_times="load" if o.get("lead_times") == "load" else "fixed",
    )


def _spec_from_run(rec: RunRecord) -> RecourseSpec:
    from fabnet.risk.recourse import FirstStage, RecourseSpec

    if rec.kind != "plan":
        raise PlanError(
            Problem(
                f"run {rec.id} is a {rec.kind} run; risk evaluates a plan run",
                "give the id of a plan run (`fabnet runs list --kind plan`)",
            )
        )
    if rec.scenario is None:
        raise PlanError(Problem(f"run {rec.id} has no stored scenario", "plan it again"))
    opts = _plan_options(rec)
    first = FirstStage.from_tables(
        rec.table("builds"),
        rec.summary.get("ports"),
        scenario=rec.scenario,
        supply=rec.table("supply"),
        relaxed=bool(rec.options.get("relax")),
    )
    return RecourseSpec(scenario=rec.scenario, options=opts, first_stage=first)


def _plan_hash(scenario: Scenario) -> str:
    """Hash of what a plan depends on: the scenario without its disruption catalogue."""
    from fabnet.store import scenario_hash

    return scenario_hash(scenario.model_copy(update={"disruptions": []}))


def _find_plan(store: Store, scenario: Scenario) -> str | None:
    """The newest stored plan of this scenario (its catalogue aside) with default options."""
    runs = store.list_runs(kind="plan")
    want = _plan_hash(scenario)
    for r in runs.to_dict("records"):
        if r.get("scenario") != scenario.name or r.get("status") != "optimal":
            continue
        rec = store.load_run(str(r["id"]))
        o = rec.options
        if o.get("relax") or o.get("period") or o.get("set") or o.get("variant"):
            continue
        if o.get("lead_times", "fixed") != "fixed" or o.get("terminal", "salvage") != "salvage":
            continue
        if rec.scenario is not None and _plan_hash(rec.scenario) == want:
            return rec.id
    return None


def _resolve(
    ref: str, store_path: Path, saver: RunSaver | None
) -> tuple[RecourseSpec, str | None, str]:
    """(recourse spec, plan run id, what was done) for a run id or a scenario; a new plan is
    stored through ``saver`` (``None``: --no-store)."""
    no_store = saver is None
    from fabnet.store import Store

    if _RUN_REF.match(ref) and not store_path.exists():
        raise PlanError(
            Problem(
                f"{ref!r} looks like a run id, but there is no runs store at {store_path}",
                "give the store with --store PATH, or a scenario to plan first",
                file=str(store_path),
            )
        )
    if _RUN_REF.match(ref):
        rec = Store(store_path, create=False).load_run(ref)
        return _spec_from_run(rec), rec.id, f"plan run {rec.id}"
    from fabnet.cli.plan import _plan_run, _solve_one
    from fabnet.plan import PlanOptions
    from fabnet.scenario import load_scenario

    scenario = load_scenario(ref)
    if store_path.exists() and not no_store:
        found = _find_plan(Store(store_path, create=False), scenario)
        if found:
            rec = Store(store_path, create=False).load_run(found)
            # the plan is the stored one; the catalogue is the one given now
            spec = replace(_spec_from_run(rec), scenario=scenario)
            return spec, found, f"the stored plan {found} of {scenario.name}"
    scen, result = _solve_one(ref, None, [], PlanOptions(), quiet=False)
    run_id = (
        None
        if saver is None
        else saver.save(**_plan_run(scen, result, {"variant": None, "set": []}))
    )
    if saver is None or run_id is None:  # --no-store, or rescued as JSON
        from fabnet.risk.recourse import FirstStage, RecourseSpec

        first = FirstStage.from_tables(
            result.builds, result.summary().get("ports"), scenario=scen, supply=result.supply
        )
        return RecourseSpec(scen, PlanOptions(), first), None, f"a new plan of {scen.name}"
    rec = Store(saver.path, create=False).load_run(run_id)
    return _spec_from_run(rec), run_id, f"a new plan of {scen.name} (stored as {run_id})"


def _show(result: RiskResult, what: str, run_id: str | None) -> None:
    s = result.summary
    se = s.get("std_errors", {}) or {}
    a = f"{float(s.get('alpha', 0.95)) * 100:.0f}"
    t = Table(
        title=f"Risk of {what}: {s['samples']:,} samples, seed {s['seed']}, {s['method']}",
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    t.add_column("figure")
    t.add_column("value", justify="right")
    t.add_column("± 1 SE", justify="right")
    t.add_row("cost, no disruption (PV)", _money(s.get("baseline_cost_usd")), "")
    t.add_row("expected cost (PV)", _money(s.get("expected_cost_usd")),
              _money(se.get("expected_cost_usd")))  # fmt: skip
    t.add_row(f"CVaR{a} of cost", _money(s.get("cvar95_cost_usd")),
              _money(se.get("cvar95_cost_usd")))  # fmt: skip
    t.add_row("expected unmet", _num(s.get("expected_unmet_pflops"), "PFLOP/s"),
              _num(se.get("expected_unmet_pflops")))  # fmt: skip
    t.add_row(f"CVaR{a} of unmet", _num(s.get("cvar95_unmet_pflops"), "PFLOP/s"),
              _num(se.get("cvar95_unmet_pflops")))  # fmt: skip
    p = s.get("p_service_95")
    t.add_row(
        "P(service level ≥ 95 %)",
        "–" if p is None else f"{100 * float(p):.1f} %",
        "" if se.get("p_service_95") is None else f"{100 * float(se['p_service_95']):.1f} %",
    )
    out.print(t)
    ev = result.tables.get("by_event")
    if ev is not None and not ev.empty:
        te = Table(title="By event type", title_justify="left", title_style="bold",
                   box=box.SIMPLE_HEAD, pad_edge=False)  # fmt: skip
        for c, j in (("event", "left"), ("samples hit", "right"),
                     ("mean unmet when hit", "right"), ("mean cost when hit", "right")):  # fmt: skip
            te.add_column(c, justify=j)  # type: ignore[arg-type]
        for r in ev.sort_values("expected_unmet_pflops", ascending=False).to_dict("records"):
            te.add_row(str(r["event"]), f"{int(r['samples_hit']):,}",
                       _num(r["expected_unmet_pflops"], "PFLOP/s"),
                       _money(r["expected_cost_usd"]))  # fmt: skip
        out.print(te)
    st = result.tables.get("stress")
    if st is not None and not st.empty:
        ts = Table(title="Each site or supplier out alone (worst 15 by lost compute)",
                   title_justify="left", title_style="bold", box=box.SIMPLE_HEAD,
                   pad_edge=False)  # fmt: skip
        for c, j in (("kind", "left"), ("target", "left"), ("time to survive", "right"),
                     ("lost PFLOP/s·yr", "right"), ("extra cost", "right")):  # fmt: skip
            ts.add_column(c, justify=j)  # type: ignore[arg-type]
        for r in st.sort_values("lost_pflops_years", ascending=False).head(15).to_dict("records"):
            tts = float(r["time_to_survive_days"])
            ts.add_row(str(r["kind"]), str(r["target"]),
                       "never short" if not math.isfinite(tts) else f"{tts:,.0f} d",
                       _num(r["lost_pflops_years"]), _money(r["extra_cost_usd"]))  # fmt: skip
        out.print(ts)
    for m in result.messages:
        err.print(f"[dim]note: {escape(m)}[/]", soft_wrap=True)
    if run_id:
        out.print(f"stored as risk run {run_id} (fabnet report {run_id} -o risk.html)")


@app.command("risk")
def risk_cmd(
    ref: str = typer.Argument(
        ..., help="A stored plan run id (or `latest`), or a scenario to plan (or reuse) first."
    ),
    samples: int = typer.Option(1000, "--samples", "-n", help="Monte Carlo samples."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the random streams (reproducible)."),
    events: str | None = typer.Option(
        None, "--events", help="Only these catalogue events, comma-separated (e.g. taiwan-quake)."
    ),
    screen: bool = typer.Option(
        False, "--screen", help="Cheap screening: scale the plan's flows, no re-optimisation."
    ),
    alpha: float = typer.Option(0.95, "--alpha", help="Tail level of VaR and CVaR."),
    stress: bool = typer.Option(
        False, "--stress", help="Also knock out each site and supplier alone (time to survive)."
    ),
    stress_year: int | None = typer.Option(
        None, "--stress-year", help="Year of the outage in --stress (default: see docs/risk.md)."
    ),
    workers: int | None = typer.Option(
        None, "--workers", help="Local Dask workers (default one per core; 1 = in-process)."
    ),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Address of an existing Dask scheduler, e.g. tcp://host:8786."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    store: Path = typer.Option(
        Path("fabnet.duckdb"), "--store", help="The runs store (DuckDB file)."
    ),
    no_store: bool = typer.Option(False, "--no-store", help="Do not store the risk run."),
    report: Path | None = typer.Option(None, "--report", help="Also write the HTML report here."),
    plan_report: Path | None = typer.Option(
        None, "--plan-report", help="Also write the plan's HTML report, with this risk run in it."
    ),
) -> None:
    """Evaluate a plan against sampled disruptions: cost and unmet compute, their tails, and
    which events and sites matter (see docs/risk.md)."""
    from fabnet.cli.checks import MAX_SAMPLES
    from fabnet.cli.plan import _write_report
    from fabnet.risk.run import RiskOptions, run_risk

    problems: list[Problem] = []
    if samples < 1 or samples > MAX_SAMPLES:
        problems.append(
            Problem(f"--samples {samples} is outside 1 … {MAX_SAMPLES:,}", "e.g. 10000")
        )
    if not (0.5 <= alpha < 1.0) or not math.isfinite(alpha):
        problems.append(Problem(f"--alpha {alpha} is outside [0.5, 1)", "e.g. 0.95"))
    if workers is not None and not 1 <= workers <= 256:
        problems.append(Problem(f"--workers {workers} is outside 1 … 256", "e.g. 2"))
    if (report is not None or plan_report is not None) and no_store:
        problems.append(Problem("--report needs the stored run", "drop --no-store"))
    if problems:
        raise FabnetError(problems, title="invalid risk options")
    selected = tuple(e.strip() for e in events.split(",") if e.strip()) if events else None
    if events is not None and not selected:
        raise FabnetError(
            Problem(f"--events {events!r} names no event", "e.g. --events taiwan-quake,hbm-cut")
        )
    saver = None if no_store else RunSaver(store)
    if saver is not None:
        saver.check()  # before planning and sampling: a store that cannot be written fails now
    spec, plan_id, what = _resolve(ref, store, saver)
    h = spec.scenario.horizon
    if stress_year is not None and not h.first_year <= stress_year <= h.last_year:
        raise FabnetError(
            Problem(
                f"--stress-year {stress_year} is outside the horizon {h.first_year}–{h.last_year}",
                f"give a year in {h.first_year}–{h.last_year}, or leave it out",
            )
        )
    opts = RiskOptions(
        samples=samples,
        seed=seed,
        events=selected,
        method="screen" if screen else "exact",
        alpha=alpha,
        stress=stress,
        stress_onset_year=stress_year,
        workers=workers,
        scheduler=scheduler,
    )
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as prog:
        task = prog.add_task(f"risk of {what}: building the recourse model", total=samples)

        def tick(step: str, done: int, total: int) -> None:
            prog.update(task, description=f"risk of {what}: {step}", completed=done, total=total)

        result = run_risk(spec, opts, progress=tick)
    result.summary["plan_run_id"] = plan_id
    run_id = None
    if saver is not None:
        run_id = saver.save(
            kind="risk",
            scenario=spec.scenario,
            options={
                "plan_run_id": plan_id,
                "catalogue_sha256": hashlib.sha256(
                    json.dumps(
                        [d.model_dump(mode="json") for d in spec.scenario.disruptions],
                        sort_keys=True,
                    ).encode()
                ).hexdigest(),
                "samples": samples,
                "seed": seed,
                "events": list(selected or []),
                "method": opts.method,
                "alpha": alpha,
                "stress": stress,
                "stress_year": stress_year,
            },
            status="done",
            timings_s=result.timings_s,
            summary=result.summary,
            tables=result.tables,
            messages=result.messages,
        )
        result.summary["run_id"] = run_id
        if report is not None and run_id is not None:
            _write_report(saver.path, run_id, report)
            err.print(f"[dim]report written to {escape(str(report))}[/]")
        # the plan's report needs the plan and its risk run in one store
        if plan_report is not None and plan_id is not None and saver.failure is None:
            _write_report(store, plan_id, plan_report, risk_id=run_id)
            err.print(f"[dim]plan report written to {escape(str(plan_report))}[/]")
    if as_json:
        from fabnet.store.record import jsonable

        obj = {"run_id": run_id, "plan_run_id": plan_id, **result.summary}
        typer.echo(json.dumps(jsonable(obj), indent=2, ensure_ascii=False))
    else:
        _show(result, what, run_id)
    if saver is not None:
        saver.finish()  # the store failed after the work: name where the run went (exit 2)
