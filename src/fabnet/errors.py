"""Exceptions a user can cause, with messages that say where and what to do.

Every error a user can cause (a bad scenario file, a missing SMT2020 file, an
infeasible policy, an unknown run id) is a :class:`FabnetError`. It carries one
or more :class:`Problem` records, each naming the file, line, column and field
it is about and a hint on what to do. The CLI prints them without a traceback
and exits with status 2.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a user's input, and what to do about it."""

    message: str
    hint: str = ""
    file: str | None = None
    line: int | None = None
    column: int | None = None
    field: str | None = None

    def location(self) -> str:
        """``file:line:column`` (the parts that are known), or ``""``."""
        parts: list[str] = []
        if self.file:
            parts.append(self.file)
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def format(self) -> str:
        """One line: ``location: field: message (hint)``."""
        head = ": ".join(p for p in (self.location(), self.field or "") if p)
        text = f"{head}: {self.message}" if head else self.message
        if self.hint:
            text += f" — {self.hint}"
        return text


class FabnetError(Exception):
    """Base class of every error a user can cause; holds one or more problems."""

    def __init__(self, problems: Problem | str | Iterable[Problem], title: str = "") -> None:
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.title = title
        super().__init__(self.format())

    def format(self) -> str:
        """All problems, one per line, under the title when there is one."""
        lines = [p.format() for p in self.problems]
        if self.title:
            if len(lines) == 1:
                return f"{self.title}: {lines[0]}"
            return "\n".join([self.title, *("  - " + line for line in lines)])
        return "\n".join(lines)


class ScenarioError(FabnetError):
    """A scenario file, override or variant is invalid."""


class FabModelError(FabnetError):
    """A wafer-fab model (SMT2020 files) is missing, malformed or inconsistent."""


class SimOptionsError(FabModelError):
    """A simulation option (:class:`fabnet.fab.SimOptions`) is invalid; the problem names
    the field."""


class PlanError(FabnetError):
    """The planner cannot produce a plan (bad options, infeasible policies, solver failure)."""


class StoreError(FabnetError):
    """The results store cannot be read or written, or a run id is unknown."""


class ParallelError(FabnetError):
    """Parallel work cannot run: a Dask scheduler cannot be reached, a worker died, bad options."""
