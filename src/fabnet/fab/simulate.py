"""Public simulation API: options, results, one seed or many seeds in parallel.

:func:`simulate` turns a :class:`~fabnet.fab.model.FabModel` into the array state of the
compiled kernel (:mod:`fabnet.fab.engine`), runs it in chunks of simulated time and turns the
final state into tidy tables (:mod:`fabnet.fab.kpi`). :func:`simulate_seeds` runs several seeds
in parallel (:func:`fabnet.parallel.parallel_map`) and adds mean and 95 % confidence
half-width columns.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from enum import StrEnum
from functools import partial
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from fabnet.errors import FabModelError, Problem, SimOptionsError
from fabnet.fab import engine
from fabnet.fab import layout as L
from fabnet.fab.compile import OVERRIDE_CODE, KernelArrays, build
from fabnet.fab.kpi import (
    MIN_PER_DAY,
    raw_process_time_days,
    result_tables,
    summarize,
)
from fabnet.fab.limits import MAX_DAYS, MAX_LOTS, MAX_SEEDS, MAX_SETUPS, MAX_TOOLS
from fabnet.fab.model import FabModel
from fabnet.fab.releases import ReleaseSchedule
from fabnet.parallel import parallel_map

__all__ = [
    "DISPATCHERS",
    "MULTI_TABLES",
    "SIM_TABLES",
    "Dispatcher",
    "LotView",
    "MultiSimResult",
    "RuleReading",
    "SimOptions",
    "SimResult",
    "UserRule",
    "raw_process_time_days",
    "simulate",
    "simulate_seeds",
]


class Dispatcher(StrEnum):
    """A dispatching rule that replaces every family's final ranking key
    (``SimOptions.dispatcher``)."""

    FIFO = "fifo"  # first in, first out (queue arrival)
    CR = "cr"  # critical ratio (due - now) / remaining work, formed at each decision
    EDD = "edd"  # earliest due date
    SPT = "spt"  # shortest processing time of the step


class RuleReading(StrEnum):
    """How a family's ranking is read from the data (``SimOptions.rule_reading``)."""

    RULE = "rule"  # the RULE column decides (rule_HotLotFIRST / rule_LSSU)
    FWLRANK = "fwlrank"  # the whole FWLRANK chain on every family (FORMAT.md §8)


#: Dispatcher overrides: name -> final ranking key of the kernel (one table, in compile.py).
DISPATCHERS: dict[str, int] = OVERRIDE_CODE


@dataclass(frozen=True)
class LotView:
    """What a user-written dispatching rule sees when a lot joins a queue, or, with
    ``user_rule_at_selection``, at a dispatching decision (``now_min``; times in minutes;
    ``remaining_work_min`` for this lot's size, FORMAT.md §8.1)."""

    lot: int
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


#: A user-written rule: the ranking key of a lot (smaller key = served first; ties by lot
#: number). The key is computed once, when the lot joins a queue (``LotView.now_min`` is that
#: time), and stays fixed while the lot waits — unlike the built-in critical ratio, formed at
#: each decision. ``SimOptions(user_rule_at_selection=True)`` forms it again at every decision
#: time instead. Runs in Python (slower than built-ins).
UserRule = Callable[[LotView], float]


@dataclass(frozen=True)
class SimOptions:
    """Run options.

    ``days``: horizon; ``warmup_days``: statistics start (KPIs cover [warm-up, horizon]);
    ``dispatcher``: None = each family's own rule from the data, or one of ``fifo``, ``cr``,
    ``edd``, ``spt``: replaces the final key of every family's ranking (hot-lot priority and
    the setup ranking of ``rule_LSSU`` families stay unless ``pure_rule``); ``user_rule``: a
    Python ranking key in the same place, overrides ``dispatcher``;
    ``release_scale``: multiplies every release rate; ``release_schedule``: a further
    multiplier that changes over time (:class:`~fabnet.fab.releases.ReleaseSchedule`);
    ``wip_sample_min``: WIP sampling period;
    ``pure_rule``: the override or user rule alone decides (no hot-lot priority, no setup
    ranking); by default it replaces only the final key of each family's ranking.
    ``uniform_half_width``: read ``uniform A B`` as A ± B (True, reading A1) or A ± B/2.
    ``rule_reading``: ``"rule"`` (default) = the ``RULE`` column decides the ranking:
    ``rule_HotLotFIRST`` ranks by priority, then the final key of ``FWLRANK`` (FIFO/CR), with
    setups avoided only through the choice of tool; ``rule_LSSU`` ranks by priority, least
    setup, final key, with MINRUN. ``"fwlrank"`` = FORMAT.md §8: the whole ``FWLRANK`` chain
    (incl. ``rank_RSETUP``) on every family. ``plain_lot_resets_setup``: a lot without setup
    requirement leaves the tool in no setup (the open simulator's B6). ``batch_by_desc``:
    batch lots of the same ``DESC`` across routes (reading A5 alternative).
    ``hot_lots_skip_batch_min``: a lot above the lowest priority may start its batch below
    ``BATCHMN`` (an experiment, not a reading of the data).
    ``cascade_waits_for_slot1``: a cascading tool takes its next lot only when its first
    slot is about to free (FORMAT.md §2.2.1: "the tool can take the next lot after b"), early
    enough for that lot's setup and load to overlap; False: whenever it holds fewer than two
    lots (the next lot then waits inside the tool).
    ``user_rule_at_selection``: the user rule's key is formed again for every queued lot
    whenever simulated time advances, so each decision sees keys formed at its own time (like
    the critical ratio); default: the key is fixed when the lot joins the queue. Much slower
    (one Python call per queued lot per event time); meant for small fabs.
    ``cascade_free_slot_to_back``: a cascading tool that can still take a lot after starting
    one goes to the back of the order in which available tools are tried (FORMAT.md §8.1);
    False: it keeps its place (the first pass).
    ``cascade_empty_tool_first``: on cascading families an arriving lot goes to an empty
    tool before one holding a lot (fabnet's first-pass addition); False: strictly the order
    in which the tools became available (FORMAT.md §8.1).
    ``cr_at_arrival``: form the critical ratio once, when the lot joins the queue (the first
    pass); default: at each dispatching decision with the current time (FORMAT.md §8.1).
    ``rank_setup_with_route_stime``: ``rank_RSETUP`` ranks by the setup time actually spent
    (the route's ``STIME`` first, the first pass); default: the ``setup.txt`` mean only, a
    route ``STIME`` counting 0 for ranking (FORMAT.md §8.1).
    """

    days: float
    warmup_days: float = 0.0
    dispatcher: Dispatcher | str | None = None  # a string is read into its Dispatcher
    release_scale: float = 1.0
    release_schedule: ReleaseSchedule | None = None
    include_initial_wip: bool = True
    wip_sample_min: float = 1440.0
    user_rule: UserRule | None = None
    uniform_half_width: bool = True
    plain_lot_resets_setup: bool = False
    batch_by_desc: bool = False
    hot_lots_skip_batch_min: bool = False
    cascade_waits_for_slot1: bool = True
    user_rule_at_selection: bool = False
    cascade_free_slot_to_back: bool = True
    cascade_empty_tool_first: bool = True
    cr_at_arrival: bool = False
    rank_setup_with_route_stime: bool = False
    pure_rule: bool = False
    rule_reading: RuleReading | str = RuleReading.RULE  # a string: read into its RuleReading
    chunk_days: float = 10.0

    def __post_init__(self) -> None:
        """Check every field on construction (also after ``dataclasses.replace``): the
        switches are booleans, the numbers finite and in range, ``dispatcher`` and
        ``rule_reading`` known names (a string is read case-insensitively into its enum).
        Raises :class:`~fabnet.errors.SimOptionsError` naming the field."""
        for f in fields(self):
            v = getattr(self, f.name)
            if f.type == "bool" and not isinstance(v, bool):
                _bad(f.name, f"{f.name} must be True or False, not {v!r}")
            if f.type == "float" and (
                isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v)
            ):
                _bad(f.name, f"{f.name} must be a finite number, not {v!r}")
        object.__setattr__(self, "dispatcher", _enum(Dispatcher, "dispatcher", self.dispatcher))
        object.__setattr__(
            self, "rule_reading", _enum(RuleReading, "rule_reading", self.rule_reading)
        )
        if not 0 < self.days <= MAX_DAYS:
            _bad(
                "days",
                f"days {self.days:g} must be a number in (0, {MAX_DAYS:,.0f}]",
                "see docs/fab-readings.md, section Limits",
            )
        if not 0 <= self.warmup_days < self.days:
            _bad("warmup_days", f"warm-up {self.warmup_days:g} must be in [0, days)")
        if not self.release_scale > 0:
            _bad(
                "release_scale",
                f"release_scale {self.release_scale:g} must be a positive finite number",
            )
        for name in ("wip_sample_min", "chunk_days"):
            if not getattr(self, name) > 0:
                _bad(name, f"{name} {getattr(self, name):g} must be positive")
        if self.user_rule is not None and not callable(self.user_rule):
            _bad("user_rule", f"user_rule must be a function of a LotView, not {self.user_rule!r}")


def _bad(name: str, message: str, hint: str = "") -> None:
    """Raise the :class:`SimOptionsError` of field ``name``."""
    raise SimOptionsError(Problem(message, hint, field=name), title="simulation options")


_E = TypeVar("_E", bound=StrEnum)


def _enum(kind: type[_E], name: str, value: object) -> _E | None:
    """``value`` as a member of ``kind`` (None stays None; strings case-insensitively)."""
    if value is None and kind is Dispatcher:
        return None
    if isinstance(value, kind):
        return value
    if isinstance(value, str):
        try:
            return kind(value.lower())
        except ValueError:
            pass
    _bad(name, f"unknown {name} {value!r}", "use " + ", ".join(m.value for m in kind))
    return None  # not reached


@dataclass
class SimResult:
    """One replication.

    ``lot_types``: name, part, completed, cycle_time_mean_days, cycle_time_p50_days,
    cycle_time_p90_days, x_factor, on_time_pct (lots released by order.txt and completed in the
    statistics window). ``tool_groups`` (one row per tool family): name, group, n_tools,
    availability_pct, utilization_pct, down_pct, pm_pct, setup_pct, busy_pct, jobs, setups.
    ``wip``: t_days, wip_lots (lots in the fab). ``lots``: one row per lot (stream, part,
    initial_wip, pieces, release_min, due_min, done_min (NaN if in the fab), steps, reworks, wait_min,
    cqt_violations: queue-time windows exceeded, counted only).
    ``steps`` (one row per route step): part, step, desc, family, visits_regular,
    wait_regular_mean_min, visits_hot, wait_hot_mean_min (queue waits that began after the
    warm-up; regular = PRIOR <= 10).
    """

    lot_types: pd.DataFrame
    tool_groups: pd.DataFrame
    wip: pd.DataFrame
    lots: pd.DataFrame
    steps: pd.DataFrame
    events: int
    wall_s: float
    seed: int
    counters: dict[str, int] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every tidy table by name (:data:`SIM_TABLES`), like ``Plan.tables()``."""
        return {name: getattr(self, name) for name in SIM_TABLES}


@dataclass
class MultiSimResult:
    """Several seeds: the per-seed results and summary tables with, for every numeric column
    ``x`` of the per-seed tables, ``x`` (mean over seeds) and ``x_ci95`` (95 % confidence
    half-width, Student t)."""

    results: list[SimResult]
    lot_types: pd.DataFrame
    tool_groups: pd.DataFrame
    events: int
    wall_s: float

    def tables(self) -> dict[str, pd.DataFrame]:
        """The summary tables by name (:data:`MULTI_TABLES`): means and 95 % half-widths."""
        return {name: getattr(self, name) for name in MULTI_TABLES}


#: Names of the tables :meth:`SimResult.tables` returns (one replication).
SIM_TABLES = ("lot_types", "tool_groups", "wip", "lots", "steps")
#: Names of the tables :meth:`MultiSimResult.tables` returns (summary over seeds).
MULTI_TABLES = ("lot_types", "tool_groups")


# ---------------------------------------------------------------- model -> arrays
_Arrays = KernelArrays  # the kernel's tables and their names (fabnet.fab.compile)


def release_count(model: FabModel, opts: SimOptions) -> int:
    """Lots released by ``order.txt`` within ``opts.days`` at ``opts.release_scale`` (the
    count :func:`_build` allocates for), computed without listing them; with a release
    schedule, an upper bound at its largest scale."""
    end = opts.days * MIN_PER_DAY
    scale = opts.release_scale
    if opts.release_schedule is not None:
        scale *= max(opts.release_schedule.scales)
    if scale <= 0.0:
        return 0
    total = 0
    for rs in model.releases:
        iv = rs.interval.mean / scale
        if rs.start_min > end or rs.repeats <= 0:
            continue
        n = min(float(rs.repeats), math.floor((end - rs.start_min) / iv) + 1.0)
        total += int(n) * max(rs.lots_per_release, 1)
    return total


def _check_size(model: FabModel, opts: SimOptions) -> None:
    """Refuse a run whose arrays would exceed :mod:`fabnet.fab.limits` (before allocating)."""
    hint = "see docs/fab-readings.md, section Limits"
    n_tools = sum(f.n_tools for f in model.families)
    if n_tools > MAX_TOOLS:
        raise FabModelError(
            Problem(f"{n_tools:,} tools exceed the limit of {MAX_TOOLS:,}", hint, field="STNQTY")
        )
    n_setups = len({s.setup for r in model.routes.values() for s in r.steps if s.setup})
    if n_setups > MAX_SETUPS:
        raise FabModelError(
            Problem(f"{n_setups:,} setups exceed the limit of {MAX_SETUPS:,}", hint, field="SETUP")
        )
    n_wip = len(model.wip) if opts.include_initial_wip else 0
    n_rel = release_count(model, opts)
    if n_wip + n_rel > MAX_LOTS:
        raise FabModelError(
            Problem(
                f"the run would hold {n_wip + n_rel:,} lots ({n_wip:,} initial WIP, {n_rel:,} "
                f"released in {opts.days:g} days at {opts.release_scale:g} × the order "
                f"rates); the limit is {MAX_LOTS:,}",
                "shorten --days or lower the load; " + hint,
                field="days",
            )
        )


def check_run(model: FabModel, opts: SimOptions) -> None:
    """Raise :class:`FabModelError` if ``opts`` are invalid for ``model`` or the run would
    exceed :mod:`fabnet.fab.limits`; cheap, so callers run it before starting workers.
    (``opts`` checked its own fields when it was made.)"""
    _check_size(model, opts)


def _build(model: FabModel, opts: SimOptions, seed: int) -> _Arrays:
    """The kernel's tables (:func:`fabnet.fab.compile.build`) after the size check."""
    check_run(model, opts)
    return build(model, opts, seed)


def _lot_view(ar: _Arrays, lot: int) -> LotView:
    a = ar.a
    li, lf = a["lot_i"], a["lot_f"]
    g = int(li[lot, L.L_STEP])
    part, num, desc, fam = ar.step_ref[g]
    return LotView(
        lot=lot,
        stream=ar.stream_names[int(li[lot, L.L_STREAM])],
        part=part,
        priority=int(li[lot, L.L_PRIO]),
        pieces=int(li[lot, L.L_PIECES]),
        step=num,
        desc=desc,
        family=fam,
        now_min=float(a["stf"][L.SF_NOW]),
        release_min=float(lf[lot, L.LF_RELEASE]),
        due_min=float(lf[lot, L.LF_DUE]),
        remaining_work_min=float(
            a["step_f"][g, L.F_REMWORK] + li[lot, L.L_PIECES] * a["step_f"][g, L.F_REMWORK_N]
        ),
        step_time_min=float(a["step_f"][g, L.F_MEANTIME]),
    )


def _run(
    ar: _Arrays, opts: SimOptions, progress: Callable[[float, float], None] | None = None
) -> None:
    state = engine.State(**ar.a)  # the kernel's state ``S``
    kernel: Any = engine.run
    chunk = max(opts.chunk_days, 0.01) * MIN_PER_DAY
    stop = min(chunk, ar.end_min)
    while True:
        rc = kernel(state, stop)
        if rc == L.RC_DONE:
            break
        if rc == L.RC_ERROR:
            raise RuntimeError(f"fab kernel capacity exceeded (code {ar.a['st'][L.ST_ERR]})")
        if rc == L.RC_NEED_KEY:
            assert opts.user_rule is not None
            lot = int(ar.a["st"][L.ST_REQLOT])
            ar.a["lot_f"][lot, L.LF_UKEY] = float(opts.user_rule(_lot_view(ar, lot)))
            ar.a["lot_i"][lot, L.L_KEYREADY] = 1
            continue
        if rc == L.RC_REKEY:
            assert opts.user_rule is not None
            li, lf = ar.a["lot_i"], ar.a["lot_f"]
            n = int(ar.a["st"][L.ST_NWIP] + ar.a["st"][L.ST_NEXTREL])
            for q in np.flatnonzero((li[:n, L.L_STATE] == 1) & (li[:n, L.L_DONE] == 0)):
                lf[q, L.LF_KEY] = float(opts.user_rule(_lot_view(ar, int(q))))
            continue
        if progress is not None:
            progress(stop / MIN_PER_DAY, ar.end_min / MIN_PER_DAY)
        stop = min(stop + chunk, ar.end_min) if stop < ar.end_min else stop + chunk
    if progress is not None:
        progress(ar.end_min / MIN_PER_DAY, ar.end_min / MIN_PER_DAY)


def kernel_is_compiled() -> bool:
    """Whether the compiled kernel is at hand: compiled in this process or in numba's
    on-disk cache for the current source (when not, the first run compiles it, about half
    a minute). Reads numba's cache index; if that cannot be read, assumes it is there."""
    run: Any = engine.run
    if run.signatures:
        return True
    try:
        index = run._cache._cache_file._load_index()
        # the kernel is keyed on the column layouts too (engine._keyed_on_layout)
        return any(key[-1] == engine.layout_digest() for key in index)
    except Exception:  # numba internals changed: say nothing rather than something wrong
        return True


def simulate(
    model: FabModel,
    opts: SimOptions,
    seed: int = 0,
    progress: Callable[[float, float], None] | None = None,
) -> SimResult:
    """Simulate ``model`` for ``opts.days`` days with random seed ``seed``.

    ``progress(simulated_days, horizon_days)`` is called after each chunk of simulated time.
    Same model, options and seed give the same result.
    """
    t_start = time.perf_counter()
    ar = _build(model, opts, seed)
    _run(ar, opts, progress)
    lot_types, tool_groups, wip, lots, steps = result_tables(model, ar, opts.wip_sample_min)
    st = ar.a["st"]
    counters = {
        "released": int(st[L.ST_NREL]),
        "initial_wip": int(st[L.ST_NWIP]),
        "completed": int(st[L.ST_COMPLETED]),
        "in_fab": int(st[L.ST_INFAB]),
        "jobs": int(st[L.ST_STARTS]),
        "batches": int(st[L.ST_BATCHES]),
        "setups": int(st[L.ST_SETUPS]),
        "reworks": int(st[L.ST_REWORKS]),
        "breakdowns": int(st[L.ST_FAILS]),
        "pms": int(st[L.ST_PMS]),
        "cqt_violations": int(st[L.ST_CQVIOL]),
        "slot1_events": int(st[L.ST_SLOT1_EVENTS]),
    }
    return SimResult(
        lot_types,
        tool_groups,
        wip,
        lots,
        steps,
        int(st[L.ST_EVENTS]),
        time.perf_counter() - t_start,
        seed,
        counters,
    )


def simulate_seeds(
    model: FabModel,
    opts: SimOptions,
    seeds: Sequence[int],
    processes: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    *,
    scheduler: str | None = None,
) -> MultiSimResult:
    """Simulate every seed and summarise; ``progress(done, total)`` is called as seeds finish.

    The seeds run through :func:`fabnet.parallel.parallel_map`, one seed per task: on a local
    Dask cluster of ``processes`` worker processes (default one per core; 1 = in this process),
    or on the existing cluster at ``scheduler``. Each seed's result depends on its seed alone,
    so the result is the same in every mode. A ``user_rule`` runs in this process."""
    t_start = time.perf_counter()
    seeds = list(seeds)
    if not seeds:
        raise FabModelError(Problem("no seeds given", field="seeds"))
    if len(seeds) > MAX_SEEDS:
        raise FabModelError(
            Problem(
                f"{len(seeds):,} seeds exceed the limit of {MAX_SEEDS:,}",
                "see docs/fab-readings.md, section Limits",
                field="seeds",
            )
        )
    check_run(model, opts)
    serial = opts.user_rule is not None
    results = parallel_map(
        partial(simulate, model, opts),
        seeds,
        workers=1 if serial else processes,
        scheduler=None if serial else scheduler,
        chunk_size=1,
        progress=progress,
    )
    lt = summarize([r.lot_types for r in results], "name")
    tg = summarize([r.tool_groups for r in results], "name")
    return MultiSimResult(
        results, lt, tg, sum(r.events for r in results), time.perf_counter() - t_start
    )
