"""`fabnet fab check-plan`: the closed loop — a stored plan's starts at one site released into
a simulated fab, realised output and cycle time beside what the plan assumed.

What the plan assumed, read from the stored run:

* starts per period: the ``supply`` table's wafers at the site (all products);
* capacity per period: the ``utilisation`` table's ``capacity_wafers`` of the site;
* with ``--lead-times load`` (a ``clearing`` table for the site): its ``output_wafers``,
  output-weighted ``cycle_time_days``, ``wip_wafers`` and ``raw_process_days``;
* with fixed lead times (the site's process: the one with most wafers there): output = the
  starts of ``k`` periods earlier, ``k`` = the process cycle time in periods rounded half up
  (the planner's own shift), cycle time = the process's ``cycle_time_days``; its raw process
  time by the scenario's rule
  (``cycle_time_days`` ÷ the operating curve's flow factor at ``nominal_load``; without a
  curve, ``cycle_time_days`` itself) or ``--raw-process-days``.

The scaling of load, time and wafers is :mod:`fabnet.fab.closed_loop`'s.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import typer
from rich import box
from rich.table import Table

from fabnet.cli.app import err, out
from fabnet.cli.checks import finite_positive
from fabnet.cli.fab import JsonOpt, ProcessesOpt, SeedsOpt, fab_app, load_model, parse_seeds
from fabnet.cli.fab_checks import days_check, warmup_check
from fabnet.errors import FabModelError, Problem, StoreError

if TYPE_CHECKING:
    from fabnet.fab.closed_loop import CheckResult, PlannedSite
    from fabnet.store import RunRecord

#: Days in a year (the planner's conversion of days to periods).
_DAYS_PER_YEAR = 365.25


def _curve_flow_factor_at(curve: Any, load: float) -> float:
    """Flow factor of a scenario operating curve (points or queueing) at ``load``."""
    if getattr(curve, "points", None):
        pts = sorted(curve.points, key=lambda p: p.load)
        return float(np.interp(load, [p.load for p in pts], [p.flow_factor for p in pts]))
    q = getattr(curve, "queueing", None)
    if q is not None:
        from fabnet.plan.clearing import queueing_flow_factor

        return float(queueing_flow_factor(np.array([load]), q.tools, q.ca2, q.ce2)[0])
    return 1.0


def _process_raw_days(process: Any) -> float:
    """The scenario's raw process time of a process (see the module docstring)."""
    ct = float(process.cycle_time_days)
    curve = getattr(process, "operating_curve", None)
    if curve is None or getattr(curve, "nominal_load", None) is None:
        return ct
    return ct / _curve_flow_factor_at(curve, float(curve.nominal_load))


def _parse_periods(text: str, labels: list[str]) -> list[str]:
    """``2033-2036`` or ``2033,2035`` (period labels) → the labels kept, simulated one after
    another in the order given."""
    keep: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if "-" in part and part.split("-")[0] in labels and part.split("-", 1)[1] in labels:
            a, b = part.split("-", 1)
            keep.extend(labels[labels.index(a) : labels.index(b) + 1])
        elif part in labels:
            keep.append(part)
        else:
            raise FabModelError(
                Problem(
                    f"period {part!r} is not one in which the site has capacity",
                    field="--periods",
                    hint="choose among " + ", ".join(labels[:8]) + ("…" if len(labels) > 8 else ""),
                )
            )
    return keep


def planned_site(
    rec: RunRecord, site: str, periods: str | None, raw_process_days: float | None
) -> PlannedSite:
    """What the stored plan ``rec`` decided and assumed at ``site`` (module docstring)."""
    from fabnet.fab.closed_loop import PlannedSite

    if rec.kind != "plan":
        raise StoreError(
            Problem(f"run {rec.id} is a {rec.kind} run, not a plan", hint="give a plan's run id")
        )
    scen = rec.scenario
    supply = rec.table("supply")
    util = rec.table("utilisation")
    sites = sorted(set(util.get("site", pd.Series(dtype=str)).dropna().astype(str)))
    if site not in sites:
        raise StoreError(
            Problem(
                f"plan {rec.id} has no site {site!r}",
                field="--site",
                hint="sites with capacity: " + ", ".join(sites[:12]),
            )
        )
    u = util[util["site"] == site].copy()
    u["period"] = u["period"].astype(str)
    s = supply[supply["site"] == site].copy()
    s["period"] = s["period"].astype(str)
    starts_by = s.groupby("period")["wafers"].sum()
    u = u.assign(starts=u["period"].map(starts_by).fillna(0.0))
    u = u[u["capacity_wafers"] > 0].sort_values("period", kind="stable")
    labels = u["period"].tolist()
    active = [p for p, x in zip(labels, u["starts"], strict=True) if x > 0]
    if not active:
        raise StoreError(Problem(f"plan {rec.id} starts no wafers at {site}", field="--site"))
    # default: from the first to the last period with starts (idle periods between: load 0)
    default = labels[labels.index(active[0]) : labels.index(active[-1]) + 1]
    keep = default if periods is None else _parse_periods(periods, labels)
    u = u.set_index("period").loc[keep]
    period = scen.horizon.period if scen is not None else None
    period_days = (period.years if period is not None else 1.0) * _DAYS_PER_YEAR
    clearing = rec.table("clearing")
    cl = clearing[clearing["site"] == site] if "site" in clearing else clearing.iloc[0:0]
    n = len(keep)
    if len(cl):
        cl = cl.assign(period=cl["period"].astype(str))
        w = cl["output_wafers"].clip(lower=0)
        agg = (
            cl.assign(ct_w=cl["cycle_time_days"] * w, rp_w=cl["raw_process_days"] * w, w=w)
            .groupby("period")[["output_wafers", "wip_wafers", "ct_w", "rp_w", "w"]]
            .sum()
            .reindex(keep)
        )
        output = agg["output_wafers"].to_numpy(dtype=float)
        wip = agg["wip_wafers"].to_numpy(dtype=float)
        ct = (agg["ct_w"] / agg["w"]).to_numpy(dtype=float)
        rp = float(agg["rp_w"].sum() / agg["w"].sum())
        lead = "load"
    else:
        by_process = s[s["process"].astype(str) != ""].groupby("process")["wafers"].sum()
        if scen is None or by_process.empty:
            raise StoreError(Problem(f"plan {rec.id}: no process known for {site}"))
        pmap = {p.id: p for p in scen.processes}
        proc = pmap[str(by_process.idxmax())]  # the process with most wafers at the site
        ct_days = float(proc.cycle_time_days)
        shift = math.floor(ct_days / period_days + 0.5)  # the planner's rounding
        # every period of the plan, in order (labels sort in time order)
        order = sorted(set(supply["period"].astype(str)) | set(util["period"].astype(str)))
        seq = starts_by.reindex(order, fill_value=0.0).to_numpy(dtype=float)
        idx = np.array([order.index(p) for p in keep]) - shift
        output = np.where(idx >= 0, seq[np.clip(idx, 0, None)], 0.0)
        ct = np.full(n, ct_days)
        wip = np.full(n, np.nan)
        rp = _process_raw_days(proc)
        lead = "fixed"
    if raw_process_days is not None:
        rp = raw_process_days
    return PlannedSite(
        site=site,
        periods=tuple(keep),
        starts_wafers=u["starts"].to_numpy(dtype=float),
        capacity_wafers=u["capacity_wafers"].to_numpy(dtype=float),
        output_wafers=output,
        cycle_time_days=ct,
        wip_wafers=wip,
        raw_process_days=rp,
        period_days=period_days,
        lead_times=lead,
    )


#: (column, header, digits); digits -1: text, -2: thousands of wafers
_COLS = [
    ("period", "period", -1),
    ("load", "load", 3),
    ("planned_starts", "starts k", -2),
    ("planned_output", "plan out k", -2),
    ("realised_output", "sim out k", -2),
    ("output_gap_pct", "gap %", 1),
    ("planned_ct_days", "plan CT d", 1),
    ("realised_ct_days", "sim CT d", 1),
    ("ct_gap_pct", "gap %", 1),
]


def _show(res: CheckResult, planned: PlannedSite, model_name: str, plan_id: str) -> None:
    tab = Table(
        title=f"Plan {plan_id} at {planned.site} ({planned.lead_times} lead times) "
        f"simulated on {model_name}",
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        caption=(
            f"load = starts / site capacity; model capacity {res.capacity_wpd:,.1f} wafers/d; "
            f"{res.days_per_period:.1f} simulated days per period (+{res.warmup_days:.1f} d "
            f"warm-up); CT in plan days = model CT × {1 / res.time_scale:.3f}; "
            f"{len(res.seeds)} seed(s)"
        ),
        caption_justify="left",
    )
    for _c, head, d in _COLS:
        tab.add_column(head, justify="left" if d == -1 else "right")
    for _, row in res.table.iterrows():
        cells = []
        for c, _h, d in _COLS:
            v = row[c]
            if d == -1:
                cells.append(str(v))
            else:
                x = float(v) / (1000.0 if d == -2 else 1.0)
                cells.append("" if math.isnan(x) else f"{x:,.{max(d, 1)}f}")
        tab.add_row(*cells)
    out.print(tab)
    t = res.table

    def gap(col: str) -> str:  # n/a: a planned 0 (e.g. a 0-day cycle time) or no lots out
        g = float(t[col].mean())
        return f"{g:+.1f} %" if math.isfinite(g) else "n/a"

    out.print(
        f"mean gaps: output {gap('output_gap_pct')}, cycle time {gap('ct_gap_pct')} "
        f"(realised vs planned; {res.wall_s:.0f} s simulated)"
    )


def result_json(res: CheckResult, planned: PlannedSite, plan_id: str) -> dict[str, Any]:
    rows = [
        {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}
        for r in json.loads(res.table.to_json(orient="records"))
    ]
    return {
        "plan_run_id": plan_id,
        "site": planned.site,
        "lead_times": planned.lead_times,
        "capacity_wpd": res.capacity_wpd,
        "days_per_period": res.days_per_period,
        "warmup_days": res.warmup_days,
        "time_scale": res.time_scale,
        "site_raw_process_days": planned.raw_process_days,
        "model_raw_process_days": res.model_raw_process_days,
        "seeds": res.seeds,
        "mean_output_gap_pct": float(res.table["output_gap_pct"].mean()),
        "mean_ct_gap_pct": float(res.table["ct_gap_pct"].mean()),
        "rows": rows,
    }


@fab_app.command("check-plan")
def check_plan_cmd(
    run_id: str = typer.Argument(..., help="A stored plan's run id (or a unique prefix)."),
    directory: Path = typer.Argument(..., help="SMT2020 model folder standing for the site."),
    site: str = typer.Option(..., "--site", help="The plan's site to check."),
    store: Path = typer.Option(Path("fabnet.duckdb"), "--store", help="The runs store."),
    periods: str | None = typer.Option(
        None, "--periods", help="Periods to check: 2033-2036 or 2033,2035 [all the site runs]."
    ),
    days_per_period: float | None = typer.Option(
        None,
        "--days-per-period",
        callback=days_check,
        help="Simulated days per plan period [plan period × model RPT / site RPT].",
    ),
    warmup_days: float | None = typer.Option(
        None,
        "--warmup-days",
        callback=warmup_check,
        help="Days at the first period's load before it [one period].",
    ),
    capacity: str = typer.Option(
        "bottleneck",
        "--capacity",
        help="Model capacity: bottleneck (the rate loading its busiest tools to 100 %, as "
        "fab curve's load) or nominal (the order file's rate).",
    ),
    raw_process_days: float | None = typer.Option(
        None,
        "--raw-process-days",
        callback=finite_positive(example="60"),
        help="The site's raw process time, days [from the plan].",
    ),
    seeds: SeedsOpt = "0",
    processes: ProcessesOpt = None,
    no_store: bool = typer.Option(False, "--no-store", help="Do not store the check."),
    as_json: JsonOpt = False,
) -> None:
    """Closed loop: release a stored plan's wafer starts at one site into a fab model, simulate,
    and compare realised output and cycle time per period with what the plan assumed."""
    from fabnet.fab.closed_loop import check_site_plan
    from fabnet.store import Store

    if capacity not in ("nominal", "bottleneck"):
        raise FabModelError(
            Problem(
                f"unknown capacity {capacity!r}", field="--capacity", hint="nominal or bottleneck"
            )
        )
    seed_list = parse_seeds(seeds)
    rec = Store(store, create=False).load_run(run_id)
    planned = planned_site(rec, site, periods, raw_process_days)
    if days_per_period is None and not planned.raw_process_days > 0:
        raise FabModelError(
            Problem(
                f"site {site}'s raw process time is unknown in plan {rec.id}",
                field="--days-per-period",
                hint="give --days-per-period (simulated days per plan period) or "
                "--raw-process-days (the site's raw process time)",
            )
        )
    model = load_model(directory, as_json)
    res = check_site_plan(
        model,
        planned,
        seeds=seed_list,
        capacity="nominal" if capacity == "nominal" else "bottleneck",
        days_per_period=days_per_period,
        warmup_days=warmup_days,
        processes=processes,
    )
    obj = result_json(res, planned, rec.id)
    obj["model"] = model.name
    if not no_store:
        obj["run_id"] = Store(store).save_run(
            kind="check",
            scenario=rec.scenario,
            options={
                "plan_run_id": rec.id,
                "site": site,
                "model_dir": str(directory),
                "periods": list(planned.periods),
                "capacity": capacity,
                "days_per_period": res.days_per_period,
                "warmup_days": res.warmup_days,
                "seeds": seed_list,
            },
            status="ok",
            timings_s={"simulate": res.wall_s},
            summary={k: v for k, v in obj.items() if k != "rows"},
            tables={"periods": res.table},
        )
    if as_json:
        out.print_json(json.dumps(obj))
        return
    _show(res, planned, model.name, rec.id)
    if "run_id" in obj:
        out.print(f"stored as run {obj['run_id']} in {store}")
    if planned.lead_times == "fixed" and raw_process_days is None:
        err.print(
            "[dim]fixed lead times: site raw process time "
            f"{planned.raw_process_days:.1f} d from the scenario's rule[/]"
        )
