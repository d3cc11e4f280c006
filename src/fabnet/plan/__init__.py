"""The network planner: the cheapest sourcing and fab build-out plan that meets demand.

Public steps, like PyPSA's ``optimize``: :func:`build_model` → (a user hook adds
constraints to ``pm.model``) → :func:`solve_model` → :func:`read_solution`, or
:func:`plan` for all of them. The model's equations are in docs/planner.md.
"""

from __future__ import annotations

from collections.abc import Callable

from fabnet.plan.model import PlanModel, build_model, solve_model
from fabnet.plan.options import PlanOptions, Progress
from fabnet.plan.solution import TABLE_COLUMNS, Plan, read_solution
from fabnet.scenario.schema import Scenario

__all__ = [
    "TABLE_COLUMNS",
    "Plan",
    "PlanModel",
    "PlanOptions",
    "Progress",
    "build_model",
    "plan",
    "read_solution",
    "solve_model",
]


def plan(
    scenario: Scenario,
    options: PlanOptions | None = None,
    extra_functionality: Callable[[PlanModel], None] | None = None,
    progress: Progress | None = None,
) -> Plan:
    """Build, (hook), solve and read the plan of ``scenario``.

    ``extra_functionality(pm)`` runs between build and solve and may add variables or
    constraints to ``pm.model`` (a linopy Model), as in PyPSA.
    """
    pm = build_model(scenario, options, progress=progress)
    if extra_functionality is not None:
        extra_functionality(pm)
    solve_model(pm, progress=progress)
    return read_solution(pm)
