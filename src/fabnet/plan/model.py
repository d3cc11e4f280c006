"""Public steps of the planner, like PyPSA's optimize accessor.

``build_model`` → (user hook on ``pm.model``) → ``solve_model`` → ``read_solution``;
:func:`plan` runs them all. The cores never print: progress goes to an optional
callback.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from linopy import Model

from fabnet.errors import PlanError, Problem
from fabnet.plan.constraints import add_constraints
from fabnet.plan.objective import OBJECTIVE_SCALE, add_objective
from fabnet.plan.options import PlanOptions, Progress
from fabnet.plan.policies import add_policies
from fabnet.plan.programmes import add_programme_targets
from fabnet.plan.sets import PlanData, build_data
from fabnet.plan.variables import BUILD, PORT, add_variables
from fabnet.scenario.schema import Period, Scenario


@dataclass
class PlanModel:
    """A built (and, after :func:`solve_model`, solved) planner model and its index data."""

    scenario: Scenario
    options: PlanOptions
    data: PlanData
    model: Model
    timings_s: dict[str, float] = field(default_factory=dict)
    status: str | None = None
    termination: str | None = None
    mip_gap: float | None = None
    objective_usd: float | None = None
    #: Where the duals come from: "lp" (a pure LP), "lp_fixed_builds" (LP with the
    #: binaries fixed at the MILP solution) or None (no duals).
    dual_source: str | None = None
    is_mip: bool = False
    #: Reduced costs of the LP the duals come from (the fixed LP of a MILP), per variable
    #: name, shaped like the variable's labels (NaN where masked), in objective units
    #: (million PV USD per unit of the variable). Empty when there are no duals.
    reduced_costs: dict[str, np.ndarray] = field(default_factory=dict)

    def size(self) -> dict[str, int]:
        """Number of variables, constraints and binaries that reach the solver."""
        m = self.model
        n_bin = 0
        for name in (BUILD, PORT):
            if name in m.variables and not self.options.relax:
                n_bin += int((m.variables[name].labels.values >= 0).sum())
        return {"variables": int(m.nvars), "constraints": int(m.ncons), "binaries": n_bin}


def build_model(
    scenario: Scenario, options: PlanOptions | None = None, progress: Progress | None = None
) -> PlanModel:
    """Build the linopy model of ``scenario`` (see docs/planner.md for the equations)."""
    opts = options or PlanOptions()
    t0 = time.perf_counter()
    if progress:
        progress("computing coefficients", 0.0)
    data = build_data(scenario, opts.period, opts.build_start, opts.terminal)
    if opts.lead_times == "load":  # clearing functions from the scenario's operating curves
        from fabnet.plan.clearing_constraints import build_clearing_data

        data.clearing = build_clearing_data(data)
    if not data.product_ids and not data.offer_ids:
        raise PlanError(
            Problem(
                "nothing to plan: the scenario has no products and no offers",
                "add a product (own accelerator) or an offer (GPU to buy)",
                field="products",
            ),
            title=f"cannot plan {scenario.name}",
        )
    m = Model(force_dim_names=True)
    steps: list[tuple[str, Callable[[], None]]] = [
        ("variables", lambda: add_variables(m, data, opts.relax)),
        ("constraints", lambda: add_constraints(m, data)),
        ("policies", lambda: add_policies(m, data)),
        ("programme targets", lambda: add_programme_targets(m, data)),
        ("objective", lambda: add_objective(m, data)),
    ]
    for i, (name, step) in enumerate(steps):
        if progress:
            progress(f"adding {name}", (i + 1) / (len(steps) + 1))
        step()
    pm = PlanModel(scenario=scenario, options=opts, data=data, model=m)
    pm.is_mip = not opts.relax and pm.size()["binaries"] > 0
    pm.timings_s["build"] = time.perf_counter() - t0
    if progress:
        progress("model built", 1.0)
    return pm


_banner_silenced = False


def _silence_banner() -> None:
    """HiGHS prints a banner to the C-level stdout once per process; swallow it."""
    global _banner_silenced
    if _banner_silenced:
        return
    import highspy

    _banner_silenced = True
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):  # no file descriptor 1 (embedded use): let it print
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            highspy.Highs()  # type: ignore[no-untyped-call]
    finally:
        os.dup2(saved, 1)
        os.close(saved)


_STATUS = {
    "optimal": "optimal",
    "time_limit": "time_limit",
    "iteration_limit": "suboptimal",
    "suboptimal": "suboptimal",
    "infeasible": "infeasible",
    "infeasible_or_unbounded": "infeasible",
}


def _solve(pm: PlanModel, mip: bool, warmstart: Path | None = None) -> tuple[str, str]:
    o = pm.options
    kw: dict[str, Any] = {"output_flag": False, "log_to_console": False}
    if warmstart is not None:
        kw["warmstart_fn"] = warmstart
    if mip:
        kw["mip_rel_gap"] = o.mip_gap
    if o.time_limit_s is not None:
        kw["time_limit"] = float(o.time_limit_s)
    if o.threads is not None:
        kw["threads"] = int(o.threads)
    status, cond = pm.model.solve(
        solver_name="highs", io_api="direct", progress=False, set_names=True, **kw
    )
    return str(status), str(cond)


def _fix_binaries(pm: PlanModel, values: dict[str, Any] | None = None) -> list[Any]:
    """Relax the build and porting binaries and fix them (at their solution, or ``values``)."""
    fixed = [pm.model.variables[n] for n in (BUILD, PORT) if n in pm.model.variables]
    for v in fixed:
        v.relax()
        v.fix(values[v.name] if values is not None else v.solution.fillna(0.0).round())
    return fixed


def _unfix(fixed: list[Any]) -> None:
    for v in fixed:
        v.unfix()
        v.unrelax()


def _mip_start(pm: PlanModel, folder: Path) -> Path | None:
    """A first plan for a quarterly or monthly MILP: the builds and ports of the yearly plan
    (builds started on 1 January of the same year), completed by the LP with them fixed;
    written as a HiGHS solution file. None when there is nothing to gain or it fails."""
    d = pm.data
    if not pm.options.mip_start or d.period is Period.year:
        return None
    coarse = build_model(
        pm.scenario,
        replace(pm.options, period=Period.year, build_start=Period.year, mip_start=False),
    )
    st, _ = _solve(coarse, True)
    if st not in ("ok", "warning") or not np.isfinite(_objective(coarse.model)):
        return None
    values: dict[str, Any] = {}
    if BUILD in pm.model.variables:
        yb = coarse.model.variables[BUILD].solution.fillna(0.0).round().values  # (C, Y)
        fine = np.zeros((len(d.cand_ids), d.n_periods))
        first_of_year = np.searchsorted(d.years, np.asarray(coarse.data.year_list))
        for c, y in zip(*np.nonzero(yb > 0.5), strict=True):
            fine[c, first_of_year[y]] = 1.0
        if (fine > d.cand_allowed).any():
            return None
        values[BUILD] = xr.DataArray(fine, coords=pm.model.variables[BUILD].labels.coords)
    if PORT in pm.model.variables:
        values[PORT] = coarse.model.variables[PORT].solution.fillna(0.0).round()
    fixed = _fix_binaries(pm, values)
    try:
        st, _ = _solve(pm, False)
        if st != "ok" or pm.model.solver_model is None:
            return None
        path = folder / "start.sol"
        pm.model.solver_model.writeSolution(str(path), 0)
        return path
    finally:
        _unfix(fixed)


def solve_model(pm: PlanModel, progress: Progress | None = None) -> PlanModel:
    """Solve with HiGHS; for a MILP, re-solve the LP with the binaries fixed to get duals.

    Raises :class:`PlanError` when the solver finds no solution at all (e.g. the time
    limit ends before a first plan is found).
    """
    _silence_banner()
    t0 = time.perf_counter()
    if progress:
        progress("solving" + (" (MILP)" if pm.is_mip else " (LP)"), None)
    with tempfile.TemporaryDirectory(prefix="fabnet-") as tmp:
        start = _mip_start(pm, Path(tmp)) if pm.is_mip else None
        if start is not None:
            pm.timings_s["mip_start"] = time.perf_counter() - t0
        status, cond = _solve(pm, pm.is_mip, start)
    pm.termination = cond
    pm.status = _STATUS.get(cond, "suboptimal" if status == "ok" else cond)
    has_solution = status in ("ok", "warning") and np.isfinite(_objective(pm.model))
    if not has_solution:
        pm.timings_s["solve"] = time.perf_counter() - t0
        hint = (
            "raise --time-limit or loosen --gap"
            if cond == "time_limit"
            else "check the scenario's policies; run with --relax to see the LP relaxation"
        )
        raise PlanError(Problem(f"the solver found no plan ({cond})", hint), title="no plan")
    if pm.is_mip:
        info = pm.model.solver_model.getInfo() if pm.model.solver_model is not None else None
        pm.mip_gap = float(info.mip_gap) if info is not None else None
        mip_obj = _objective(pm.model)
        if progress:
            progress("re-solving the LP with builds fixed (shadow prices)", None)
        fixed = _fix_binaries(pm)
        try:
            st2, _ = _solve(pm, False)
            if st2 == "ok":
                pm.reduced_costs = _reduced_costs(pm.model)
        finally:
            _unfix(fixed)
        if st2 == "ok":
            pm.dual_source = "lp_fixed_builds"
            lp_obj = _objective(pm.model)
        else:  # keep the MILP plan (without duals): solve it again, its solution was replaced
            _solve(pm, True)
            lp_obj = mip_obj
        pm.objective_usd = lp_obj / OBJECTIVE_SCALE
    else:
        pm.mip_gap = 0.0 if pm.options.relax and pm.status == "optimal" else None
        pm.dual_source = "lp"
        pm.reduced_costs = _reduced_costs(pm.model)
        pm.objective_usd = _objective(pm.model) / OBJECTIVE_SCALE
    pm.timings_s["solve"] = time.perf_counter() - t0
    if progress:
        progress("solved", 1.0)
    return pm


def _objective(m: Model) -> float:
    value = m.objective.value
    return float("nan") if value is None else float(value)


def _reduced_costs(m: Model) -> dict[str, np.ndarray]:
    """Reduced costs (column duals) of the LP just solved, per variable, label-shaped.

    linopy 0.10 reads back row duals only; the column duals come from the HiGHS instance
    (``io_api="direct"``), whose columns are the variables' active labels in order (as
    ``m.matrices.vlabels``). Values are in objective units per unit of the variable
    (solver scaling undone); NaN where a variable is masked.
    """
    h = m.solver_model
    if h is None:
        return {}
    try:
        col_dual = np.asarray(h.getSolution().col_dual, dtype=float)
    except (AttributeError, RuntimeError):
        return {}
    obj_scaling = float(getattr(m.objective, "scaling", 1.0) or 1.0)
    out: dict[str, np.ndarray] = {}
    pos = 0
    for name, var in m.variables.items():
        labels = np.asarray(var.labels.values)
        mask = labels != -1
        n = int(mask.sum())
        if pos + n > col_dual.size:
            return {}
        vals = np.full(labels.shape, np.nan)
        scale = np.broadcast_to(np.asarray(var.solver_scaling.values, dtype=float), labels.shape)
        vals[mask] = col_dual[pos : pos + n] * scale[mask] / obj_scaling
        out[str(name)] = vals
        pos += n
    return out if pos == col_dual.size else {}
