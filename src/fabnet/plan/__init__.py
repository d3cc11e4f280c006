"""The network planner: the cheapest sourcing and fab build-out plan that meets demand.

Public steps, like PyPSA's ``optimize``: :func:`build_model` → (a user hook adds
constraints to ``pm.model``) → :func:`solve_model` → :func:`read_solution`, or
:func:`plan` for all of them. The model's equations are in docs/planner.md.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fabnet.plan.options import PlanOptions, Progress
from fabnet.plan.tables import COST_CATEGORIES, TABLE_COLUMNS

if TYPE_CHECKING:
    from fabnet.plan.model import PlanModel, build_model, solve_model
    from fabnet.plan.solution import Plan, read_solution
    from fabnet.scenario.schema import Scenario

#: Names loaded on first use: they import linopy, which the CLI and the report need not load.
_LAZY = {
    "PlanModel": "fabnet.plan.model",
    "build_model": "fabnet.plan.model",
    "solve_model": "fabnet.plan.model",
    "Plan": "fabnet.plan.solution",
    "read_solution": "fabnet.plan.solution",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'fabnet.plan' has no attribute {name!r}")


__all__ = [
    "COST_CATEGORIES",
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
    from fabnet.plan.model import build_model, solve_model
    from fabnet.plan.solution import read_solution

    pm = build_model(scenario, options, progress=progress)
    if extra_functionality is not None:
        extra_functionality(pm)
    solve_model(pm, progress=progress)
    return read_solution(pm)
