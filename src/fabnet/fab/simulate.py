"""Public simulation API: options, results, one seed or many seeds in parallel processes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from fabnet.fab.model import FabModel


@dataclass(frozen=True)
class LotView:
    """What a user-written dispatching rule sees when a lot joins a queue (times in minutes)."""

    lot: int
    name: str
    stream: str
    part: str
    priority: int
    pieces: int
    step: int
    desc: str
    family: str
    now_min: float
    release_min: float
    due_min: float
    remaining_work_min: float
    step_time_min: float


#: A user-written rule: the ranking key of a lot, computed once when it joins a queue
#: (smaller key = served first; ties by lot number).
UserRule = Callable[[LotView], float]


@dataclass(frozen=True)
class SimOptions:
    """Run options. ``dispatcher`` None = each family's own rule from the data; ``"fifo"``,
    ``"cr"``, ``"edd"`` or ``"spt"`` override it; ``user_rule`` overrides all of them."""

    days: float
    warmup_days: float = 0.0
    dispatcher: str | None = None
    release_scale: float = 1.0
    include_initial_wip: bool = True
    wip_sample_min: float = 1440.0
    user_rule: UserRule | None = None
    uniform_half_width: bool = True


@dataclass
class SimResult:
    """One replication's KPIs (tables documented in :func:`simulate`)."""

    lot_types: pd.DataFrame
    tool_groups: pd.DataFrame
    wip: pd.DataFrame
    lots: pd.DataFrame
    events: int
    wall_s: float
    seed: int
    options: SimOptions
    counters: dict[str, int] = field(default_factory=dict)


@dataclass
class MultiSimResult:
    """Several seeds: per-seed results and mean / 95 % CI half-width tables."""

    results: list[SimResult]
    lot_types: pd.DataFrame
    tool_groups: pd.DataFrame
    events: int
    wall_s: float


def raw_process_time_days(model: FabModel) -> dict[str, float]:
    """Raw process time per product, days (see :mod:`fabnet.fab.kpi`)."""
    raise NotImplementedError


def simulate(model: FabModel, opts: SimOptions, seed: int = 0) -> SimResult:
    """Simulate ``model`` for ``opts.days`` with random seed ``seed``."""
    raise NotImplementedError


def simulate_seeds(
    model: FabModel,
    opts: SimOptions,
    seeds: Sequence[int],
    processes: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> MultiSimResult:
    """Simulate several seeds in parallel processes."""
    raise NotImplementedError
