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
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from fabnet.errors import FabModelError, Problem
from fabnet.fab import engine as E
from fabnet.fab.kpi import (
    MIN_PER_DAY,
    lone_lot_time_coeffs_min,
    lone_lot_time_min,
    lot_type_table,
    raw_process_time_days,
)
from fabnet.fab.limits import MAX_DAYS, MAX_LOTS, MAX_SEEDS, MAX_SETUPS, MAX_TOOLS
from fabnet.fab.model import Dist, FabModel
from fabnet.parallel import parallel_map

__all__ = [
    "DISPATCHERS",
    "LotView",
    "MultiSimResult",
    "SimOptions",
    "SimResult",
    "UserRule",
    "raw_process_time_days",
    "simulate",
    "simulate_seeds",
]

#: Dispatcher overrides: name -> final ranking key of the kernel.
DISPATCHERS: dict[str, int] = {"fifo": E.K_FIFO, "cr": E.K_CR, "edd": E.K_EDD, "spt": E.K_SPT}
_DIST_KIND = {"constant": E.D_CONST, "uniform": E.D_UNIFORM, "exponential": E.D_EXP}


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
    ``release_scale``: multiplies every release rate; ``wip_sample_min``: WIP sampling period;
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
    dispatcher: str | None = None
    release_scale: float = 1.0
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
    rule_reading: str = "rule"
    chunk_days: float = 10.0


@dataclass
class SimResult:
    """One replication.

    ``lot_types``: name, part, completed, cycle_time_mean_days, cycle_time_p50_days,
    cycle_time_p90_days, x_factor, on_time_pct (lots released by order.txt and completed in the
    statistics window). ``tool_groups`` (one row per tool family): name, group, n_tools,
    availability_pct, utilization_pct, down_pct, pm_pct, setup_pct, busy_pct, jobs, setups.
    ``wip``: t_days, wip_lots (lots in the fab). ``lots``: one row per lot (stream, part,
    initial_wip, release_min, due_min, done_min (NaN if in the fab), steps, reworks, wait_min,
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


# ---------------------------------------------------------------- model -> arrays
@dataclass
class _Arrays:
    """Kernel state plus the name tables needed to read it back."""

    a: dict[str, np.ndarray]
    stream_names: list[str]
    stream_parts: list[str]
    family_names: list[str]
    family_groups: list[str]
    step_ref: list[tuple[str, int, str, str]]  # (part, step number, desc, family) per global step
    lot_part: list[str]
    end_min: float
    warm_min: float


def _spread(d: Dist, half_width: bool) -> float:
    return d.spread if half_width else d.spread / 2.0


def release_count(model: FabModel, opts: SimOptions) -> int:
    """Lots released by ``order.txt`` within ``opts.days`` at ``opts.release_scale`` (the
    count :func:`_build` allocates for), computed without listing them."""
    end = opts.days * MIN_PER_DAY
    total = 0
    for rs in model.releases:
        iv = rs.interval.mean / opts.release_scale
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
    exceed :mod:`fabnet.fab.limits`; cheap, so callers run it before starting workers."""
    if not 0 < opts.days <= MAX_DAYS:
        raise FabModelError(
            Problem(
                f"days {opts.days:g} must be a number in (0, {MAX_DAYS:,.0f}]",
                field="days",
                hint="see docs/fab-readings.md, section Limits",
            )
        )
    if not 0 <= opts.warmup_days < opts.days:
        raise FabModelError(
            Problem(f"warm-up {opts.warmup_days:g} must be in [0, days)", field="warmup_days")
        )
    if not 0 < opts.release_scale < math.inf:
        raise FabModelError(
            Problem(
                f"release_scale {opts.release_scale:g} must be a positive finite number",
                field="release_scale",
            )
        )
    _check_size(model, opts)
    if opts.rule_reading not in ("fwlrank", "rule"):
        raise FabModelError(
            Problem(
                f"unknown rule_reading {opts.rule_reading!r}",
                hint="use fwlrank or rule",
                field="rule_reading",
            )
        )
    if opts.dispatcher is not None and opts.dispatcher not in DISPATCHERS:
        raise FabModelError(
            Problem(
                f"unknown dispatcher {opts.dispatcher!r}",
                hint="use " + ", ".join(DISPATCHERS),
                field="dispatcher",
            )
        )


def _build(model: FabModel, opts: SimOptions, seed: int) -> _Arrays:
    check_run(model, opts)
    end = opts.days * MIN_PER_DAY
    hw = opts.uniform_half_width
    fams = list(model.families)
    fidx = {f.name: k for k, f in enumerate(fams)}
    locs = sorted(
        {f.location for f in fams}
        | {t.from_loc for t in model.transports}
        | {t.to_loc for t in model.transports}
    )
    lidx = {n: k for k, n in enumerate(locs)}
    setups = sorted(
        {s.setup for r in model.routes.values() for s in r.steps if s.setup}
        | {c.new for c in model.setups}
        | {c.current for c in model.setups if c.current}
        | {m.setup for m in model.min_runs}
    )
    sidx = {n: k for k, n in enumerate(setups)}
    ns = len(setups)

    # steps (global index over products' routes)
    prod_first: dict[str, int] = {}
    step_rows: list[tuple[str, int]] = []
    step_ref: list[tuple[str, int, str, str]] = []
    route_start: dict[str, int] = {}
    for prod in model.products:
        rt = model.routes[prod.route]
        if prod.route not in route_start:
            route_start[prod.route] = len(step_rows)
            for s in rt.steps:
                step_rows.append((prod.route, s.number))
                step_ref.append((prod.name, s.number, s.desc, s.family))
        prod_first[prod.name] = route_start[prod.route]
    n_steps = len(step_rows)
    step_i = np.full((n_steps, E.N_SI), -1, dtype=np.int64)
    step_f = np.zeros((n_steps, E.N_SF), dtype=np.float64)
    route_pieces = {}
    for prod in model.products:
        route_pieces[prod.route] = next(
            (r.pieces for r in model.releases if r.part == prod.name), 25
        )
    desc_ids: dict[str, int] = {}
    fam_setup = np.zeros(len(fams), dtype=np.int64)
    fam_batch = np.zeros(len(fams), dtype=np.int64)
    fam_minrun = np.zeros(len(fams), dtype=np.int64)
    for rname, g0 in route_start.items():
        rt = model.routes[rname]
        pieces = route_pieces[rname]
        n = len(rt.steps)
        for k, s in enumerate(rt.steps):
            g = g0 + k
            f = fams[fidx[s.family]]
            step_i[g, E.S_FAM] = fidx[s.family]
            step_i[g, E.S_PER] = {"lot": 0, "piece": 1, "batch": 2}[s.per]
            step_i[g, E.S_SETUP] = sidx[s.setup] if s.setup else -1
            step_i[g, E.S_FORSTEP] = g0 + s.for_step - 1 if s.save_tool and s.for_step else -1
            step_i[g, E.S_SAVE] = 1 if s.save_tool and s.for_step else 0
            step_i[g, E.S_RWK] = g0 + s.rework_step - 1 if s.rework_step else -1
            step_i[g, E.S_NEXT] = g + 1 if k + 1 < n else -1
            step_i[g, E.S_ROUTE] = 0
            step_i[g, E.S_BMIN] = s.batch_min_pieces or 0
            step_i[g, E.S_BMAX] = s.batch_max_pieces or 0
            step_i[g, E.S_LOC] = lidx[f.location]
            step_i[g, E.S_PDIST] = _DIST_KIND[s.ptime.kind]
            casc = 0
            c = 0.0
            if f.cascading and s.per == "piece" and s.part_interval_min is not None:
                casc, c = 1, s.part_interval_min
            elif f.cascading and s.batch_interval_min is not None:
                casc, c = 2, s.batch_interval_min
            step_i[g, E.S_CASC] = casc
            if s.cqt_step is not None and s.cqt_min is not None:
                step_i[g, E.S_CQT_EXIT] = g0 + s.cqt_step - 1
                step_f[g, E.F_CQT] = s.cqt_min
            if opts.batch_by_desc:
                step_i[g, E.S_BKEY] = desc_ids.setdefault(s.desc, len(desc_ids))
            else:
                step_i[g, E.S_BKEY] = g
            step_f[g, E.F_CASC_C] = c
            step_f[g, E.F_PT] = s.ptime.mean
            step_f[g, E.F_PT2] = _spread(s.ptime, hw)
            step_f[g, E.F_STIME] = s.setup_time_min if s.setup_time_min is not None else -1.0
            step_f[g, E.F_RWK_P] = s.rework_pct / 100.0 if s.rework_step else 0.0
            step_f[g, E.F_SAMP_P] = s.sample_pct / 100.0
            step_f[g, E.F_MEANTIME] = lone_lot_time_min(
                s, f.load_min, f.unload_min, pieces, f.cascading
            )
            # this step's share of the remaining work (sampling-weighted, FORMAT.md §8.1)
            fixed, per_wafer = lone_lot_time_coeffs_min(s, f.load_min, f.unload_min, f.cascading)
            step_f[g, E.F_REMWORK] = step_f[g, E.F_SAMP_P] * fixed
            step_f[g, E.F_REMWORK_N] = step_f[g, E.F_SAMP_P] * per_wafer
            if s.setup:
                fam_setup[fidx[s.family]] = 1
                if any(mr.setup == s.setup and mr.min_run_lots > 1 for mr in model.min_runs):
                    fam_minrun[fidx[s.family]] = 1
            if s.per == "batch":
                fam_batch[fidx[s.family]] = 1
        # remaining work from each step on: R_k(n) = F_REMWORK + n·F_REMWORK_N (suffix sums)
        sl = slice(g0, g0 + n)
        for col in (E.F_REMWORK, E.F_REMWORK_N):
            step_f[sl, col] = np.cumsum(step_f[sl, col][::-1])[::-1]
        back = g0 + n  # earliest step a rework from this step or a later one returns to
        for k in range(n - 1, -1, -1):
            g = g0 + k
            if step_i[g, E.S_RWK] >= 0 and step_f[g, E.F_RWK_P] > 0.0:
                back = min(back, int(step_i[g, E.S_RWK]))
            step_i[g, E.S_RWKMIN] = back if back < g0 + n else -1

    # families and tools
    fam_i = np.full((len(fams), E.N_FAI), -1, dtype=np.int64)
    fam_f = np.zeros((len(fams), E.N_FAF), dtype=np.float64)
    n_tools = sum(f.n_tools for f in fams)
    tool_i = np.full((n_tools, E.N_TI), -1, dtype=np.int64)
    tool_f = np.zeros((n_tools, E.N_TF), dtype=np.float64)
    prios = [r.priority for r in model.releases] + [w.priority for w in model.wip]
    base_prio = min(prios) if prios else 0
    t0 = 0
    for k, f in enumerate(fams):
        fam_i[k, E.FA_FIRST] = t0
        fam_i[k, E.FA_N] = f.n_tools
        fam_i[k, E.FA_CASC] = 1 if f.cascading else 0
        fam_i[k, E.FA_WAKE_LST] = 1 if f.wake_rule == "wake_LeastSetupTime" else 0
        hp = 1 if "rank_HP" in f.ranks else 0
        rs = 1 if "rank_RSETUP" in f.ranks else 0
        if opts.rule_reading == "rule" and f.rule != "rule_LSSU":
            rs = 0  # rule_HotLotFIRST: hot lots first, then FIFO / CR (no setup rank)
        fin = E.K_FIFO
        for rk, code in (
            ("rank_CR", E.K_CR),
            ("rank_EDD", E.K_EDD),
            ("rank_SPT", E.K_SPT),
            ("rank_FIFO", E.K_FIFO),
        ):
            if rk in f.ranks:
                fin = code
                break
        # overrides replace the final ranking key; a pure rule also drops priority and setups
        if opts.user_rule is not None or opts.dispatcher is not None:
            fin = E.K_USER if opts.user_rule is not None else DISPATCHERS[opts.dispatcher or ""]
            if opts.pure_rule:
                hp, rs = 0, 0
        fam_i[k, E.FA_USE_HP] = hp
        fam_i[k, E.FA_USE_RS] = rs
        fam_i[k, E.FA_FINAL] = fin
        fam_i[k, E.FA_QLEN] = 0
        fam_i[k, E.FA_HAS_SETUP] = fam_setup[k] | fam_i[k, E.FA_WAKE_LST]
        fam_i[k, E.FA_HAS_BATCH] = fam_batch[k]
        fam_i[k, E.FA_HAS_MINRUN] = 0
        fam_i[k, E.FA_NHOT] = 0
        fam_i[k, E.FA_BASEPRIO] = base_prio
        # fast path: ranking by (priority, queue arrival) only and nothing that can make a
        # lot ineligible on a tool except lens dedication
        fam_i[k, E.FA_FASTFIFO] = (
            1 if fin == E.K_FIFO and rs == 0 and fam_minrun[k] == 0 and fam_batch[k] == 0 else 0
        )
        fam_f[k, E.FF_LOAD] = f.load_min
        fam_f[k, E.FF_UNLOAD] = f.unload_min
        for t in range(t0, t0 + f.n_tools):
            tool_i[t, E.T_FAM] = k
            tool_i[t, E.T_CAP] = 2 if f.cascading else 1
        t0 += f.n_tools
    for col in (
        E.T_NJ,
        E.T_DOWN,
        E.T_INPM,
        E.T_PMPEND,
        E.T_MINRUN,
        E.T_AVAIL,
        E.T_BD_N,
        E.T_PM_N,
        E.T_NSETUPS,
        E.T_NJOBS,
        E.T_S1BUSY,
    ):
        tool_i[:, col] = 0
    tool_i[:, E.T_BD_FIRST] = 0
    tool_i[:, E.T_PM_FIRST] = 0

    setup_t = np.zeros((ns + 1, max(ns, 1)), dtype=np.float64)
    explicit = np.zeros_like(setup_t, dtype=bool)
    for sc in model.setups:
        if sc.current is not None and sc.current in sidx:
            setup_t[sidx[sc.current], sidx[sc.new]] = sc.time_min
            explicit[sidx[sc.current], sidx[sc.new]] = True
    for sc in model.setups:
        if sc.current is None:
            j = sidx[sc.new]
            for r in range(ns + 1):
                if not explicit[r, j] and r != j:
                    setup_t[r, j] = sc.time_min
    # longest setup a lot may need on each family: a cascading tool whose first slot is taken
    # becomes free for the next lot this long (plus its load) before the slot frees, so that
    # setup and load overlap the running lot (FORMAT.md §8)
    for g in range(n_steps):
        sg = int(step_i[g, E.S_SETUP])
        if sg >= 0:
            need = step_f[g, E.F_STIME] if step_f[g, E.F_STIME] >= 0.0 else setup_t[:, sg].max()
            k = int(step_i[g, E.S_FAM])
            fam_f[k, E.FF_LEAD] = max(fam_f[k, E.FF_LEAD], float(need))
    setup_minrun = np.zeros(max(ns, 1), dtype=np.int64)
    for m in model.min_runs:
        if m.setup in sidx:
            setup_minrun[sidx[m.setup]] = m.min_run_lots

    # RNG: one stream per purpose for the kernel, one for the initial draws made here
    ss = np.random.SeedSequence(seed)
    children = ss.spawn(E.N_RNG + 1)
    rng = np.array(
        [c.generate_state(1, np.uint64)[0] for c in children[: E.N_RNG]], dtype=np.uint64
    )
    init_rng = np.random.default_rng(children[E.N_RNG])

    def draw(d: Dist) -> float:
        if d.kind == "exponential":
            return float(init_rng.exponential(d.mean))
        if d.kind == "uniform":
            s = _spread(d, hw)
            return float(init_rng.uniform(d.mean - s, d.mean + s))
        return d.mean

    # calendars -> per-tool instances
    downs = {c.name: c for c in model.down_calendars}
    pms = {c.name: c for c in model.pm_calendars}
    fam_tools: dict[str, range] = {}
    group_tools: dict[str, list[int]] = {}
    for k, f in enumerate(fams):
        trange = range(int(fam_i[k, E.FA_FIRST]), int(fam_i[k, E.FA_FIRST] + f.n_tools))
        fam_tools[f.name] = trange
        group_tools.setdefault(f.group, []).extend(trange)
    bd_per_tool: list[list[tuple[Any, float]]] = [[] for _ in range(n_tools)]
    pm_per_tool: list[list[tuple[Any, float]]] = [[] for _ in range(n_tools)]
    for att in model.attachments:
        tools = (
            list(fam_tools.get(att.res_name, []))
            if att.res_type == "stnfam"
            else group_tools.get(att.res_name, [])
        )
        if att.cal_type == "down":
            dc = downs[att.calendar]
            for t in tools:
                bd_per_tool[t].append((dc, draw(att.first)))
        else:
            pc = pms[att.calendar]
            n = len(tools)
            for k, t in enumerate(tools, start=1):
                # staggering: the k-th of N tools has its first PM at FOA·k/N (§8)
                pm_per_tool[t].append((pc, draw(att.first) * k / n))
    n_bd = sum(len(x) for x in bd_per_tool)
    n_pm = sum(len(x) for x in pm_per_tool)
    bd_i = np.zeros((max(n_bd, 1), E.N_BI), dtype=np.int64)
    bd_f = np.zeros((max(n_bd, 1), E.N_BF), dtype=np.float64)
    pm_i = np.zeros((max(n_pm, 1), E.N_PI), dtype=np.int64)
    pm_f = np.zeros((max(n_pm, 1), E.N_PF), dtype=np.float64)
    first_events: list[tuple[float, int, int]] = []
    b = 0
    p = 0
    for t in range(n_tools):
        tool_i[t, E.T_BD_FIRST] = b
        tool_i[t, E.T_BD_N] = len(bd_per_tool[t])
        for dc, first in bd_per_tool[t]:
            bd_i[b, E.B_TOOL] = t
            bd_i[b, E.B_TTF_KIND] = _DIST_KIND[dc.ttf.kind]
            bd_i[b, E.B_TTR_KIND] = _DIST_KIND[dc.ttr.kind]
            bd_f[b, E.BF_TTF] = dc.ttf.mean
            bd_f[b, E.BF_TTR] = dc.ttr.mean
            first_events.append((first, E.EV_FAIL, b))
            b += 1
        tool_i[t, E.T_PM_FIRST] = p
        tool_i[t, E.T_PM_N] = len(pm_per_tool[t])
        for pc, first in pm_per_tool[t]:
            pm_i[p, E.P_TOOL] = t
            pm_i[p, E.P_BYPIECES] = 1 if pc.by_pieces else 0
            pm_i[p, E.P_DUR_KIND] = _DIST_KIND[pc.duration.kind]
            pm_f[p, E.PF_INTERVAL] = pc.interval
            pm_f[p, E.PF_DUR] = pc.duration.mean
            pm_f[p, E.PF_DUR2] = _spread(pc.duration, hw)
            if pc.by_pieces:
                pm_f[p, E.PF_THRESH] = first
            else:
                first_events.append((first, E.EV_PMDUE, p))
            p += 1

    # lot streams, releases, initial WIP
    stream_names = [s.name for s in model.releases]
    stream_parts = [s.part for s in model.releases]
    for w in model.wip:
        if w.stream not in stream_names:
            stream_names.append(w.stream)
            stream_parts.append(w.part)
    stix = {n: k for k, n in enumerate(stream_names)}
    rel: list[tuple[float, int, int]] = []
    open_streams = 0
    for k, rs_ in enumerate(model.releases):
        iv = rs_.interval.mean / opts.release_scale
        j = 0
        while j < rs_.repeats:
            tr = rs_.start_min + j * iv
            if tr > end:
                open_streams += 1  # this stream goes on after the horizon
                break
            for _ in range(max(rs_.lots_per_release, 1)):
                rel.append((tr, k, len(rel)))
            j += 1
    rel.sort()
    wips = list(model.wip) if opts.include_initial_wip else []
    n_wip = len(wips)
    n_rel = len(rel)
    n_lots = n_wip + n_rel
    rel_i = np.zeros((max(n_rel, 1), E.N_RI), dtype=np.int64)
    rel_f = np.zeros((max(n_rel, 1), E.N_RF), dtype=np.float64)
    lot_i = np.full((max(n_lots, 1), E.N_LI), -1, dtype=np.int64)
    lot_f = np.full((max(n_lots, 1), E.N_LF), np.nan, dtype=np.float64)
    lot_f[:, E.LF_WAIT] = 0.0
    lot_i[:, E.L_DONE] = 0
    lot_i[:, E.L_NSTEPS] = 0
    lot_i[:, E.L_REWORKS] = 0
    lot_i[:, E.L_KEYREADY] = 0
    lot_i[:, E.L_STATE] = 0
    lot_i[:, E.L_CQVIOL] = 0
    lot_part: list[str] = []
    for r, (tr, k, _) in enumerate(rel):
        stream = model.releases[k]
        rel_i[r, E.R_STREAM] = k
        rel_i[r, E.R_PRIO] = stream.priority
        rel_i[r, E.R_PIECES] = stream.pieces
        rel_i[r, E.R_FIRST] = prod_first[stream.part]
        rel_f[r, E.RF_TIME] = tr
        rel_f[r, E.RF_DUE] = tr + stream.due_offset_min
    for w in wips:
        lot_part.append(w.part)
    for _tr, k, _ in rel:
        lot_part.append(model.releases[k].part)
    for li, w in enumerate(wips):
        lot_i[li, E.L_STEP] = prod_first[w.part] + w.cur_step - 1
        lot_i[li, E.L_PRIO] = w.priority
        lot_i[li, E.L_STREAM] = stix[w.stream]
        lot_i[li, E.L_PIECES] = w.pieces
        lot_i[li, E.L_WIP] = 1
        lot_f[li, E.LF_DUE] = w.due_min
    lot_i[n_wip:, E.L_WIP] = 0

    n_jobs = 2 * n_tools + 16
    job_i = np.zeros((n_jobs, E.N_JI), dtype=np.int64)
    job_f = np.zeros((n_jobs, E.N_JF), dtype=np.float64)
    job_i[:, E.J_NEXTFREE] = np.arange(1, n_jobs + 1)
    job_i[-1, E.J_NEXTFREE] = -1

    cap = 2 * (n_lots + 2 * (n_bd + n_pm) + 4 * n_tools) + 1024
    ht = np.zeros(cap, dtype=np.float64)
    hi = np.zeros((cap, 2), dtype=np.int64)
    st = np.zeros(E.N_ST, dtype=np.int64)
    stf = np.zeros(E.N_SF_STATE, dtype=np.float64)
    st[E.ST_JOBFREE] = 0
    st[E.ST_NWIP] = n_wip
    st[E.ST_NREL] = n_rel
    st[E.ST_INFAB] = n_wip
    st[E.ST_USER] = 1 if opts.user_rule is not None else 0
    st[E.ST_PLAIN_RESETS] = 1 if opts.plain_lot_resets_setup else 0
    st[E.ST_OPENREL] = 1 if open_streams else 0
    st[E.ST_HOTBATCH] = 1 if opts.hot_lots_skip_batch_min else 0
    st[E.ST_CASC_S1] = 1 if opts.cascade_waits_for_slot1 else 0
    st[E.ST_CR_FROZEN] = 1 if opts.cr_at_arrival else 0
    st[E.ST_CASC_BACK] = 1 if opts.cascade_free_slot_to_back else 0
    st[E.ST_EMPTY_FIRST] = 1 if opts.cascade_empty_tool_first else 0
    st[E.ST_SLOT1_EVENTS] = 0
    # batches: with one lot size and limits that are multiples of it, a key's eligible total
    # reaching BATCHMN is the same test as §8.1's batch formed in rank order (fast path)
    sizes = {r.pieces for r in model.releases} | {w.pieces for w in model.wip}
    size = next(iter(sizes)) if len(sizes) == 1 else 0
    limits = [
        v
        for rt in model.routes.values()
        for stp in rt.steps
        if stp.per == "batch"
        for v in (stp.batch_min_pieces or 0, stp.batch_max_pieces or 0)
    ]
    st[E.ST_BATCH_EXACT] = 0 if size > 0 and all(v % size == 0 for v in limits) else 1
    st[E.ST_RS_STIME] = 1 if opts.rank_setup_with_route_stime else 0
    st[E.ST_REKEY] = 1 if opts.user_rule is not None and opts.user_rule_at_selection else 0
    st[E.ST_NEXTREL] = 0
    stf[E.SF_END] = end
    stf[E.SF_WARM] = opts.warmup_days * MIN_PER_DAY
    stf[E.SF_SAMPLE_DT] = opts.wip_sample_min
    n_samples = int(end // opts.wip_sample_min) + 1 if opts.wip_sample_min > 0 else 0
    wip_out = np.zeros(max(n_samples, 1), dtype=np.int64)

    trans_f = np.zeros((len(locs), len(locs), 3), dtype=np.float64)
    trans_f[:, :, 0] = -1.0
    for tr_ in model.transports:
        a_, b_ = lidx[tr_.from_loc], lidx[tr_.to_loc]
        trans_f[a_, b_, 0] = _DIST_KIND[tr_.time.kind]
        trans_f[a_, b_, 1] = tr_.time.mean
        trans_f[a_, b_, 2] = _spread(tr_.time, hw)

    for t in range(n_tools):
        E._sync_avail(fam_i, tool_i, t)

    # initial events: WIP lots wait at CURSTEP at t 0 (reading A8), first release, calendars
    for li in range(n_wip):
        E._push(ht, hi, st, 0.0, E.EV_ARRIVE, li, 0)
    if n_rel:
        E._push(ht, hi, st, rel_f[0, E.RF_TIME], E.EV_RELEASE, 0, 0)
    for tm, typ, ident in first_events:
        E._push(ht, hi, st, tm, typ, ident, 0)
    if n_samples:
        E._push(ht, hi, st, 0.0, E.EV_SAMPLE, 0, 0)

    arrays = {
        "st": st,
        "stf": stf,
        "ht": ht,
        "hi": hi,
        "step_i": step_i,
        "step_f": step_f,
        "fam_i": fam_i,
        "fam_f": fam_f,
        "tool_i": tool_i,
        "tool_f": tool_f,
        "setup_t": setup_t,
        "setup_minrun": setup_minrun,
        "lot_i": lot_i,
        "lot_f": lot_f,
        "job_i": job_i,
        "job_f": job_f,
        "bd_i": bd_i,
        "bd_f": bd_f,
        "pm_i": pm_i,
        "pm_f": pm_f,
        "trans_f": trans_f,
        "rel_i": rel_i,
        "rel_f": rel_f,
        "rng": rng,
        "wip_out": wip_out,
        "scratch": np.zeros(max(n_steps, 1), dtype=np.int64),
    }
    return _Arrays(
        arrays,
        stream_names,
        stream_parts,
        [f.name for f in fams],
        [f.group for f in fams],
        step_ref,
        lot_part,
        end,
        opts.warmup_days * MIN_PER_DAY,
    )


_ARG_ORDER = (
    "st",
    "stf",
    "ht",
    "hi",
    "step_i",
    "step_f",
    "fam_i",
    "fam_f",
    "tool_i",
    "tool_f",
    "setup_t",
    "setup_minrun",
    "lot_i",
    "lot_f",
    "job_i",
    "job_f",
    "bd_i",
    "bd_f",
    "pm_i",
    "pm_f",
    "trans_f",
    "rel_i",
    "rel_f",
    "rng",
    "wip_out",
    "scratch",
)


def _lot_view(ar: _Arrays, lot: int) -> LotView:
    a = ar.a
    li, lf = a["lot_i"], a["lot_f"]
    g = int(li[lot, E.L_STEP])
    part, num, desc, fam = ar.step_ref[g]
    return LotView(
        lot=lot,
        stream=ar.stream_names[int(li[lot, E.L_STREAM])],
        part=part,
        priority=int(li[lot, E.L_PRIO]),
        pieces=int(li[lot, E.L_PIECES]),
        step=num,
        desc=desc,
        family=fam,
        now_min=float(a["stf"][E.SF_NOW]),
        release_min=float(lf[lot, E.LF_RELEASE]),
        due_min=float(lf[lot, E.LF_DUE]),
        remaining_work_min=float(
            a["step_f"][g, E.F_REMWORK] + li[lot, E.L_PIECES] * a["step_f"][g, E.F_REMWORK_N]
        ),
        step_time_min=float(a["step_f"][g, E.F_MEANTIME]),
    )


def _run(
    ar: _Arrays, opts: SimOptions, progress: Callable[[float, float], None] | None = None
) -> None:
    state = tuple(ar.a[k] for k in _ARG_ORDER)  # the kernel's state tuple ``S``
    kernel: Any = E.run
    chunk = max(opts.chunk_days, 0.01) * MIN_PER_DAY
    stop = min(chunk, ar.end_min)
    while True:
        rc = kernel(state, stop)
        if rc == E.RC_DONE:
            break
        if rc == E.RC_ERROR:
            raise RuntimeError(f"fab kernel capacity exceeded (code {ar.a['st'][E.ST_ERR]})")
        if rc == E.RC_NEED_KEY:
            assert opts.user_rule is not None
            lot = int(ar.a["st"][E.ST_REQLOT])
            ar.a["lot_f"][lot, E.LF_UKEY] = float(opts.user_rule(_lot_view(ar, lot)))
            ar.a["lot_i"][lot, E.L_KEYREADY] = 1
            continue
        if rc == E.RC_REKEY:
            assert opts.user_rule is not None
            li, lf = ar.a["lot_i"], ar.a["lot_f"]
            n = int(ar.a["st"][E.ST_NWIP] + ar.a["st"][E.ST_NEXTREL])
            for q in np.flatnonzero((li[:n, E.L_STATE] == 1) & (li[:n, E.L_DONE] == 0)):
                lf[q, E.LF_KEY] = float(opts.user_rule(_lot_view(ar, int(q))))
            continue
        if progress is not None:
            progress(stop / MIN_PER_DAY, ar.end_min / MIN_PER_DAY)
        stop = min(stop + chunk, ar.end_min) if stop < ar.end_min else stop + chunk
    if progress is not None:
        progress(ar.end_min / MIN_PER_DAY, ar.end_min / MIN_PER_DAY)


def _tables(model: FabModel, ar: _Arrays, opts: SimOptions) -> tuple[pd.DataFrame, ...]:
    a = ar.a
    li, lf = a["lot_i"], a["lot_f"]
    n = a["st"][E.ST_NWIP] + a["st"][E.ST_NREL]
    done = li[:n, E.L_DONE] == 1
    lots = pd.DataFrame(
        {
            "stream": [ar.stream_names[int(s)] for s in li[:n, E.L_STREAM]],
            "part": ar.lot_part[:n],
            "initial_wip": li[:n, E.L_WIP] == 1,
            "release_min": lf[:n, E.LF_RELEASE],
            "due_min": lf[:n, E.LF_DUE],
            "done_min": np.where(done, lf[:n, E.LF_DONE_T], np.nan),
            "steps": li[:n, E.L_NSTEPS],
            "reworks": li[:n, E.L_REWORKS],
            "wait_min": lf[:n, E.LF_WAIT],
            "cqt_violations": li[:n, E.L_CQVIOL],
        }
    )
    # lots not yet released (stream -1) never exist: n counts only created ones
    lot_types = lot_type_table(
        lots[lots["stream"].isin(ar.stream_names)],
        raw_process_time_days(model),
        ar.warm_min,
        ar.end_min,
    )
    ti, tf = a["tool_i"], a["tool_f"]
    win = ar.end_min - ar.warm_min
    rows = []
    for k, name in enumerate(ar.family_names):
        sel = ti[:, E.T_FAM] == k
        nt = int(sel.sum())
        tot = nt * win
        down = float(tf[sel, E.TF_DOWN].sum())
        pm = float(tf[sel, E.TF_PM].sum())
        busy = float(tf[sel, E.TF_BUSY].sum() - tf[sel, E.TF_DOWNBUSY].sum())
        setup = float(tf[sel, E.TF_SETUP].sum())
        avail = tot - down - pm
        rows.append(
            {
                "name": name,
                "group": ar.family_groups[k],
                "n_tools": nt,
                "availability_pct": 100.0 * avail / tot if tot else float("nan"),
                "utilization_pct": 100.0 * busy / avail if avail > 0 else float("nan"),
                "down_pct": 100.0 * down / tot if tot else float("nan"),
                "pm_pct": 100.0 * pm / tot if tot else float("nan"),
                "setup_pct": 100.0 * setup / tot if tot else float("nan"),
                "busy_pct": 100.0 * busy / tot if tot else float("nan"),
                "jobs": int(ti[sel, E.T_NJOBS].sum()),
                "setups": int(ti[sel, E.T_NSETUPS].sum()),
            }
        )
    tool_groups = pd.DataFrame(rows)
    sf = a["step_f"]
    steps = pd.DataFrame(
        {
            "part": [r[0] for r in ar.step_ref],
            "step": [r[1] for r in ar.step_ref],
            "desc": [r[2] for r in ar.step_ref],
            "family": [r[3] for r in ar.step_ref],
            "visits_regular": sf[:, E.F_WN_REG].astype(np.int64),
            "wait_regular_mean_min": sf[:, E.F_WSUM_REG] / np.maximum(sf[:, E.F_WN_REG], 1),
            "visits_hot": sf[:, E.F_WN_HOT].astype(np.int64),
            "wait_hot_mean_min": sf[:, E.F_WSUM_HOT] / np.maximum(sf[:, E.F_WN_HOT], 1),
        }
    )
    ns = int(a["st"][E.ST_NSAMPLE])
    wip = pd.DataFrame(
        {"t_days": np.arange(ns) * opts.wip_sample_min / MIN_PER_DAY, "wip_lots": a["wip_out"][:ns]}
    )
    return lot_types, tool_groups, wip, lots, steps


def kernel_is_compiled() -> bool:
    """Whether the compiled kernel is at hand: compiled in this process or in numba's
    on-disk cache for the current source (when not, the first run compiles it, about half
    a minute). Reads numba's cache index; if that cannot be read, assumes it is there."""
    run: Any = E.run
    if run.signatures:
        return True
    try:
        return bool(run._cache._cache_file._load_index())
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
    lot_types, tool_groups, wip, lots, steps = _tables(model, ar, opts)
    st = ar.a["st"]
    counters = {
        "released": int(st[E.ST_NREL]),
        "initial_wip": int(st[E.ST_NWIP]),
        "completed": int(st[E.ST_COMPLETED]),
        "in_fab": int(st[E.ST_INFAB]),
        "jobs": int(st[E.ST_STARTS]),
        "batches": int(st[E.ST_BATCHES]),
        "setups": int(st[E.ST_SETUPS]),
        "reworks": int(st[E.ST_REWORKS]),
        "breakdowns": int(st[E.ST_FAILS]),
        "pms": int(st[E.ST_PMS]),
        "cqt_violations": int(st[E.ST_CQVIOL]),
        "slot1_events": int(st[E.ST_SLOT1_EVENTS]),
    }
    return SimResult(
        lot_types,
        tool_groups,
        wip,
        lots,
        steps,
        int(st[E.ST_EVENTS]),
        time.perf_counter() - t_start,
        seed,
        counters,
    )


#: Two-sided 95 % Student t quantiles t(0.975, df) for df = 1..30 (beyond: 1.96).
_T975 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)


def t975(df: int) -> float:
    """Student t quantile for a 95 % two-sided confidence interval with ``df`` degrees: the
    table up to 30, beyond it the Cornish-Fisher expansion about the normal quantile (error
    below 1e-4 there), so no scipy is needed at run time."""
    if df < 1:
        return math.nan
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959963984540054
    return (
        z
        + (z**3 + z) / (4 * df)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3)
    )


def summarize(frames: list[pd.DataFrame], key: str) -> pd.DataFrame:
    """One row per ``key``: the mean over seeds of every numeric column ``x`` and its 95 %
    confidence half-width ``x_ci95`` (Student t; NaN for one seed)."""
    allf = pd.concat(frames, keys=range(len(frames)), names=["seed_ix", "row"])
    num = [c for c in frames[0].columns if c != key and pd.api.types.is_numeric_dtype(frames[0][c])]
    g = allf.groupby(key, sort=False)
    mean = g[num].mean()
    n = len(frames)
    half = g[num].std(ddof=1) * t975(n - 1) / math.sqrt(n) if n > 1 else mean * np.nan
    out = mean.copy()
    for c in num:
        out[f"{c}_ci95"] = half[c]
    first = frames[0].set_index(key)
    for c in frames[0].columns:
        if c != key and c not in num:
            out[c] = first[c]
    return out.reset_index()


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
