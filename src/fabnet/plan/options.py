"""Options of a planner run (what the user can set besides the scenario)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from fabnet.errors import PlanError, Problem
from fabnet.scenario.schema import Period

#: How the value of units still in service after the horizon is counted (docs/planner.md,
#: "End of the horizon"): ``salvage`` credits the share of their cost that pays for service
#: after the last period (and of a built site's capex for its life left), and runs the model
#: past the horizon by the longest wafer-to-service time so that the last years' wafers
#: have a use; ``none`` charges every decision in full and ends the model at the horizon.
Terminal = Literal["salvage", "none"]
#: Lead times of the fabs (docs/planner.md, "Clearing functions"): ``fixed`` the process's
#: cycle time; ``load`` from the scenario's operating curves (WIP and Little's law).
LeadTimes = Literal["fixed", "load"]

#: A progress callback: ``(step description, fraction done 0..1 or None)``.
Progress = Callable[[str, float | None], None]


@dataclass(frozen=True)
class PlanOptions:
    """How to build and solve the planner model.

    ``period`` overrides the scenario's ``horizon.period``; ``relax`` turns the build and
    porting binaries into continuous variables in [0, 1] (the LP relaxation);
    ``mip_gap`` is the relative optimality gap at which the MILP stops; ``time_limit_s``
    the solver's wall-clock limit, seconds; ``threads`` the solver's thread count.
    ``build_start`` is the step at which a candidate's construction may start (never finer
    than the period; None: a year, on 1 January); ``terminal`` how the end of the horizon
    is valued;
    ``mip_start``: a quarterly or monthly MILP starts from the builds of the yearly plan.
    ``lead_times``: ``fixed`` cycle times, or ``load``-dependent ones from clearing functions.
    """

    period: Period | None = None
    relax: bool = False
    mip_gap: float = 0.001
    time_limit_s: float | None = None
    threads: int | None = None
    build_start: Period | None = None
    terminal: Terminal = "salvage"
    mip_start: bool = True
    lead_times: LeadTimes = "fixed"

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        if not 0.0 <= self.mip_gap < 1.0:
            problems.append(
                Problem(f"gap {self.mip_gap} is outside [0, 1)", "use e.g. --gap 0.005 (0.5 %)")
            )
        if self.time_limit_s is not None and self.time_limit_s <= 0:
            problems.append(
                Problem(f"time limit {self.time_limit_s} s is not positive", "use e.g. 300")
            )
        if self.threads is not None and self.threads < 1:
            problems.append(Problem(f"threads {self.threads} is below 1", "use 1 or more"))
        if self.terminal not in ("salvage", "none"):
            problems.append(
                Problem(f"terminal value '{self.terminal}' is unknown", "use salvage or none")
            )
        if self.lead_times not in ("fixed", "load"):
            problems.append(
                Problem(f"lead times '{self.lead_times}' are unknown", "use fixed or load")
            )
        if problems:
            raise PlanError(problems, title="invalid plan options")

    def as_dict(self) -> dict[str, Any]:
        """The options as plain JSON-ready values (for the runs store)."""
        d = asdict(self)
        d["period"] = self.period.value if self.period is not None else None
        d["build_start"] = self.build_start.value if self.build_start is not None else None
        return d
