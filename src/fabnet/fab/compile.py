"""The fab model → the kernel's tables (column layouts: :mod:`fabnet.fab.layout`), one builder
per table: route steps, families and tools, setups, calendars (breakdown and PM instances),
lots (releases and initial WIP), transport, and the scalar state with the event queue.
:func:`build` calls them in order; :func:`fabnet.fab.simulate.simulate` checks the options
and the model's size first (``simulate.check_run``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from fabnet.fab import engine
from fabnet.fab import layout as L
from fabnet.fab.kpi import MIN_PER_DAY
from fabnet.fab.model import Dist, FabModel, FamilyRule, RankKey, WakeRule
from fabnet.fab.releases import release_times_min
from fabnet.fab.route_flow import lone_lot_time_coeffs_min, lone_lot_time_min

if TYPE_CHECKING:
    from fabnet.fab.simulate import SimOptions

__all__ = ["OVERRIDE_CODE", "KernelArrays", "build"]

_DIST_KIND = {"constant": L.D_CONST, "uniform": L.D_UNIFORM, "exponential": L.D_EXP}

#: A family's final ranking key (FWLRANK) -> final ranking key of the kernel.
_FINAL_CODE = {
    RankKey.CR: L.K_CR,
    RankKey.EDD: L.K_EDD,
    RankKey.SPT: L.K_SPT,
    RankKey.FIFO: L.K_FIFO,
}

#: ``SimOptions.dispatcher`` override (its value) -> final ranking key of the kernel.
OVERRIDE_CODE: dict[str, int] = {"fifo": L.K_FIFO, "cr": L.K_CR, "edd": L.K_EDD, "spt": L.K_SPT}


@dataclass
class KernelArrays:
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
    """Half-width of a uniform distribution as the kernel draws it (mean ± spread)."""
    return d.spread if half_width else d.spread / 2.0


@dataclass(frozen=True)
class _Index:
    """Horizon, the uniform reading and the index of every family, location and setup."""

    end: float
    hw: bool
    fams: list[Any]
    fidx: dict[str, int]
    locs: list[str]
    lidx: dict[str, int]
    sidx: dict[str, int]
    ns: int


@dataclass(frozen=True)
class _Steps:
    """The route-step table and what the other builders need from it."""

    step_i: np.ndarray
    step_f: np.ndarray
    step_ref: list[tuple[str, int, str, str]]
    prod_first: dict[str, int]
    fam_setup: np.ndarray
    fam_batch: np.ndarray
    fam_minrun: np.ndarray
    n_steps: int


@dataclass(frozen=True)
class _Lots:
    """Release and lot tables, with their names and counts."""

    rel_i: np.ndarray
    rel_f: np.ndarray
    lot_i: np.ndarray
    lot_f: np.ndarray
    stream_names: list[str]
    stream_parts: list[str]
    lot_part: list[str]
    n_wip: int
    n_rel: int
    n_lots: int
    open_streams: int


def _index(model: FabModel, opts: SimOptions) -> _Index:
    """Indices of families, locations and setups (setups sorted by name)."""
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
    return _Index(end, hw, fams, fidx, locs, lidx, sidx, ns)


def _step_table(model: FabModel, opts: SimOptions, ix: _Index) -> _Steps:
    """``step_i`` / ``step_f``: one row per step of every product's route (a route shared by
    products once), with remaining work as suffix sums and the earliest rework return."""
    fams, fidx, lidx, sidx, hw = ix.fams, ix.fidx, ix.lidx, ix.sidx, ix.hw
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
    step_i = np.full((n_steps, L.N_SI), -1, dtype=np.int64)
    step_f = np.zeros((n_steps, L.N_SF), dtype=np.float64)
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
            step_i[g, L.S_FAM] = fidx[s.family]
            step_i[g, L.S_PER] = {"lot": 0, "piece": 1, "batch": 2}[s.per]
            step_i[g, L.S_SETUP] = sidx[s.setup] if s.setup else -1
            step_i[g, L.S_FORSTEP] = g0 + s.for_step - 1 if s.save_tool and s.for_step else -1
            step_i[g, L.S_SAVE] = 1 if s.save_tool and s.for_step else 0
            step_i[g, L.S_RWK] = g0 + s.rework_step - 1 if s.rework_step else -1
            step_i[g, L.S_NEXT] = g + 1 if k + 1 < n else -1
            step_i[g, L.S_ROUTE] = 0
            step_i[g, L.S_BMIN] = s.batch_min_pieces or 0
            step_i[g, L.S_BMAX] = s.batch_max_pieces or 0
            step_i[g, L.S_LOC] = lidx[f.location]
            step_i[g, L.S_PDIST] = _DIST_KIND[s.ptime.kind]
            casc = 0
            c = 0.0
            if f.cascading and s.per == "piece" and s.part_interval_min is not None:
                casc, c = 1, s.part_interval_min
            elif f.cascading and s.batch_interval_min is not None:
                casc, c = 2, s.batch_interval_min
            step_i[g, L.S_CASC] = casc
            if s.cqt_step is not None and s.cqt_min is not None:
                step_i[g, L.S_CQT_EXIT] = g0 + s.cqt_step - 1
                step_f[g, L.F_CQT] = s.cqt_min
            if opts.batch_by_desc:
                step_i[g, L.S_BKEY] = desc_ids.setdefault(s.desc, len(desc_ids))
            else:
                step_i[g, L.S_BKEY] = g
            step_f[g, L.F_CASC_C] = c
            step_f[g, L.F_PT] = s.ptime.mean
            step_f[g, L.F_PT2] = _spread(s.ptime, hw)
            step_f[g, L.F_STIME] = s.setup_time_min if s.setup_time_min is not None else -1.0
            step_f[g, L.F_RWK_P] = s.rework_pct / 100.0 if s.rework_step else 0.0
            step_f[g, L.F_SAMP_P] = s.sample_pct / 100.0
            step_f[g, L.F_MEANTIME] = lone_lot_time_min(
                s, f.load_min, f.unload_min, pieces, f.cascading
            )
            # this step's share of the remaining work (sampling-weighted, FORMAT.md §8.1)
            fixed, per_wafer = lone_lot_time_coeffs_min(s, f.load_min, f.unload_min, f.cascading)
            step_f[g, L.F_REMWORK] = step_f[g, L.F_SAMP_P] * fixed
            step_f[g, L.F_REMWORK_N] = step_f[g, L.F_SAMP_P] * per_wafer
            if s.setup:
                fam_setup[fidx[s.family]] = 1
                if any(mr.setup == s.setup and mr.min_run_lots > 1 for mr in model.min_runs):
                    fam_minrun[fidx[s.family]] = 1
            if s.per == "batch":
                fam_batch[fidx[s.family]] = 1
        # remaining work from each step on: R_k(n) = F_REMWORK + n·F_REMWORK_N (suffix sums)
        sl = slice(g0, g0 + n)
        for col in (L.F_REMWORK, L.F_REMWORK_N):
            step_f[sl, col] = np.cumsum(step_f[sl, col][::-1])[::-1]
        back = g0 + n  # earliest step a rework from this step or a later one returns to
        for k in range(n - 1, -1, -1):
            g = g0 + k
            if step_i[g, L.S_RWK] >= 0 and step_f[g, L.F_RWK_P] > 0.0:
                back = min(back, int(step_i[g, L.S_RWK]))
            step_i[g, L.S_RWKMIN] = back if back < g0 + n else -1
    return _Steps(step_i, step_f, step_ref, prod_first, fam_setup, fam_batch, fam_minrun, n_steps)


def _family_tables(
    model: FabModel, opts: SimOptions, ix: _Index, sp: _Steps
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """``fam_i`` / ``fam_f`` (ranking, fast paths) and ``tool_i`` / ``tool_f``; number of tools."""
    fams = ix.fams
    fam_setup, fam_batch, fam_minrun = sp.fam_setup, sp.fam_batch, sp.fam_minrun
    # families and tools
    fam_i = np.full((len(fams), L.N_FAI), -1, dtype=np.int64)
    fam_f = np.zeros((len(fams), L.N_FAF), dtype=np.float64)
    n_tools = sum(f.n_tools for f in fams)
    tool_i = np.full((n_tools, L.N_TI), -1, dtype=np.int64)
    tool_f = np.zeros((n_tools, L.N_TF), dtype=np.float64)
    prios = [r.priority for r in model.releases] + [w.priority for w in model.wip]
    base_prio = min(prios) if prios else 0
    t0 = 0
    for k, f in enumerate(fams):
        fam_i[k, L.FA_FIRST] = t0
        fam_i[k, L.FA_N] = f.n_tools
        fam_i[k, L.FA_CASC] = 1 if f.cascading else 0
        fam_i[k, L.FA_WAKE_LST] = 1 if f.wake_rule is WakeRule.LEAST_SETUP else 0
        hp = 1 if RankKey.HP in f.ranks else 0
        rs = 1 if RankKey.RSETUP in f.ranks else 0
        if opts.rule_reading == "rule" and f.rule is not FamilyRule.LSSU:
            rs = 0  # rule_HotLotFIRST: hot lots first, then FIFO / CR (no setup rank)
        fin = _FINAL_CODE[f.final_key]
        # overrides replace the final ranking key; a pure rule also drops priority and setups
        if opts.user_rule is not None or opts.dispatcher is not None:
            fin = L.K_USER if opts.user_rule is not None else OVERRIDE_CODE[opts.dispatcher or ""]
            if opts.pure_rule:
                hp, rs = 0, 0
        fam_i[k, L.FA_USE_HP] = hp
        fam_i[k, L.FA_USE_RS] = rs
        fam_i[k, L.FA_FINAL] = fin
        fam_i[k, L.FA_QLEN] = 0
        fam_i[k, L.FA_HAS_SETUP] = fam_setup[k] | fam_i[k, L.FA_WAKE_LST]
        fam_i[k, L.FA_HAS_BATCH] = fam_batch[k]
        fam_i[k, L.FA_HAS_MINRUN] = 0
        fam_i[k, L.FA_NHOT] = 0
        fam_i[k, L.FA_BASEPRIO] = base_prio
        # fast path: ranking by (priority, queue arrival) only and nothing that can make a
        # lot ineligible on a tool except lens dedication
        fam_i[k, L.FA_FASTFIFO] = (
            1 if fin == L.K_FIFO and rs == 0 and fam_minrun[k] == 0 and fam_batch[k] == 0 else 0
        )
        fam_f[k, L.FF_LOAD] = f.load_min
        fam_f[k, L.FF_UNLOAD] = f.unload_min
        for t in range(t0, t0 + f.n_tools):
            tool_i[t, L.T_FAM] = k
            tool_i[t, L.T_CAP] = 2 if f.cascading else 1
        t0 += f.n_tools
    for col in (
        L.T_NJ,
        L.T_DOWN,
        L.T_INPM,
        L.T_PMPEND,
        L.T_MINRUN,
        L.T_AVAIL,
        L.T_BD_N,
        L.T_PM_N,
        L.T_NSETUPS,
        L.T_NJOBS,
        L.T_S1BUSY,
    ):
        tool_i[:, col] = 0
    tool_i[:, L.T_BD_FIRST] = 0
    tool_i[:, L.T_PM_FIRST] = 0
    return fam_i, fam_f, tool_i, tool_f, n_tools


def _setup_tables(
    model: FabModel, ix: _Index, sp: _Steps, fam_f: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``setup_t`` (change times, last row: from no setup), ``setup_minrun``; fills each
    family's longest setup (``FF_LEAD``) in ``fam_f``."""
    ns, sidx, n_steps, step_i, step_f = ix.ns, ix.sidx, sp.n_steps, sp.step_i, sp.step_f
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
        sg = int(step_i[g, L.S_SETUP])
        if sg >= 0:
            need = step_f[g, L.F_STIME] if step_f[g, L.F_STIME] >= 0.0 else setup_t[:, sg].max()
            k = int(step_i[g, L.S_FAM])
            fam_f[k, L.FF_LEAD] = max(fam_f[k, L.FF_LEAD], float(need))
    setup_minrun = np.zeros(max(ns, 1), dtype=np.int64)
    for m in model.min_runs:
        if m.setup in sidx:
            setup_minrun[sidx[m.setup]] = m.min_run_lots
    return setup_t, setup_minrun


def _rngs(seed: int, hw: bool) -> tuple[np.ndarray, Callable[[Dist], float]]:
    """The kernel's RNG streams and the draw used here for first calendar events."""
    # RNG: one stream per purpose for the kernel, one for the initial draws made here
    ss = np.random.SeedSequence(seed)
    children = ss.spawn(L.N_RNG + 1)
    rng = np.array(
        [c.generate_state(1, np.uint64)[0] for c in children[: L.N_RNG]], dtype=np.uint64
    )
    init_rng = np.random.default_rng(children[L.N_RNG])

    def draw(d: Dist) -> float:
        if d.kind == "exponential":
            return float(init_rng.exponential(d.mean))
        if d.kind == "uniform":
            s = _spread(d, hw)
            return float(init_rng.uniform(d.mean - s, d.mean + s))
        return d.mean

    return rng, draw


def _calendar_tables(
    model: FabModel,
    ix: _Index,
    fam_i: np.ndarray,
    tool_i: np.ndarray,
    n_tools: int,
    draw: Callable[[Dist], float],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[tuple[float, int, int]], int, int]:
    """Breakdown and PM instances per tool (``bd_*``, ``pm_*``), their first events and
    their numbers."""
    fams = ix.fams
    # calendars -> per-tool instances
    downs = {c.name: c for c in model.down_calendars}
    pms = {c.name: c for c in model.pm_calendars}
    fam_tools: dict[str, range] = {}
    group_tools: dict[str, list[int]] = {}
    for k, f in enumerate(fams):
        trange = range(int(fam_i[k, L.FA_FIRST]), int(fam_i[k, L.FA_FIRST] + f.n_tools))
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
    bd_i = np.zeros((max(n_bd, 1), L.N_BI), dtype=np.int64)
    bd_f = np.zeros((max(n_bd, 1), L.N_BF), dtype=np.float64)
    pm_i = np.zeros((max(n_pm, 1), L.N_PI), dtype=np.int64)
    pm_f = np.zeros((max(n_pm, 1), L.N_PF), dtype=np.float64)
    first_events: list[tuple[float, int, int]] = []
    b = 0
    p = 0
    for t in range(n_tools):
        tool_i[t, L.T_BD_FIRST] = b
        tool_i[t, L.T_BD_N] = len(bd_per_tool[t])
        for dc, first in bd_per_tool[t]:
            bd_i[b, L.B_TOOL] = t
            bd_i[b, L.B_TTF_KIND] = _DIST_KIND[dc.ttf.kind]
            bd_i[b, L.B_TTR_KIND] = _DIST_KIND[dc.ttr.kind]
            bd_f[b, L.BF_TTF] = dc.ttf.mean
            bd_f[b, L.BF_TTR] = dc.ttr.mean
            first_events.append((first, L.EV_FAIL, b))
            b += 1
        tool_i[t, L.T_PM_FIRST] = p
        tool_i[t, L.T_PM_N] = len(pm_per_tool[t])
        tool_i[t, L.T_NPCPM] = sum(1 for pc, _ in pm_per_tool[t] if pc.by_pieces)
        for pc, first in pm_per_tool[t]:
            pm_i[p, L.P_TOOL] = t
            pm_i[p, L.P_BYPIECES] = 1 if pc.by_pieces else 0
            pm_i[p, L.P_DUR_KIND] = _DIST_KIND[pc.duration.kind]
            pm_f[p, L.PF_INTERVAL] = pc.interval
            pm_f[p, L.PF_DUR] = pc.duration.mean
            pm_f[p, L.PF_DUR2] = _spread(pc.duration, ix.hw)
            if pc.by_pieces:
                pm_f[p, L.PF_THRESH] = first
            else:
                first_events.append((first, L.EV_PMDUE, p))
            p += 1
    return bd_i, bd_f, pm_i, pm_f, first_events, n_bd, n_pm


def _lot_tables(model: FabModel, opts: SimOptions, ix: _Index, prod_first: dict[str, int]) -> _Lots:
    """Releases in time order (``rel_*``) and lots (``lot_*``): initial WIP first."""
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
        times = release_times_min(
            rs_.start_min,
            rs_.interval.mean,
            rs_.repeats,
            ix.end,
            opts.release_scale,
            opts.release_schedule,
        )
        if len(times) < rs_.repeats:
            open_streams += 1  # this stream goes on after the horizon
        for tr in times.tolist():
            for _ in range(max(rs_.lots_per_release, 1)):
                rel.append((tr, k, len(rel)))
    rel.sort()
    wips = list(model.wip) if opts.include_initial_wip else []
    n_wip = len(wips)
    n_rel = len(rel)
    n_lots = n_wip + n_rel
    rel_i = np.zeros((max(n_rel, 1), L.N_RI), dtype=np.int64)
    rel_f = np.zeros((max(n_rel, 1), L.N_RF), dtype=np.float64)
    lot_i = np.full((max(n_lots, 1), L.N_LI), -1, dtype=np.int64)
    lot_f = np.full((max(n_lots, 1), L.N_LF), np.nan, dtype=np.float64)
    lot_f[:, L.LF_WAIT] = 0.0
    lot_i[:, L.L_DONE] = 0
    lot_i[:, L.L_NSTEPS] = 0
    lot_i[:, L.L_REWORKS] = 0
    lot_i[:, L.L_KEYREADY] = 0
    lot_i[:, L.L_STATE] = 0
    lot_i[:, L.L_CQVIOL] = 0
    lot_part: list[str] = []
    for r, (tr, k, _) in enumerate(rel):
        stream = model.releases[k]
        rel_i[r, L.R_STREAM] = k
        rel_i[r, L.R_PRIO] = stream.priority
        rel_i[r, L.R_PIECES] = stream.pieces
        rel_i[r, L.R_FIRST] = prod_first[stream.part]
        rel_f[r, L.RF_TIME] = tr
        rel_f[r, L.RF_DUE] = tr + stream.due_offset_min
    for w in wips:
        lot_part.append(w.part)
    for _tr, k, _ in rel:
        lot_part.append(model.releases[k].part)
    for li, w in enumerate(wips):
        lot_i[li, L.L_STEP] = prod_first[w.part] + w.cur_step - 1
        lot_i[li, L.L_PRIO] = w.priority
        lot_i[li, L.L_STREAM] = stix[w.stream]
        lot_i[li, L.L_PIECES] = w.pieces
        lot_i[li, L.L_WIP] = 1
        lot_f[li, L.LF_DUE] = w.due_min
    lot_i[n_wip:, L.L_WIP] = 0
    return _Lots(
        rel_i,
        rel_f,
        lot_i,
        lot_f,
        stream_names,
        stream_parts,
        lot_part,
        n_wip,
        n_rel,
        n_lots,
        open_streams,
    )


def _state_tables(
    model: FabModel, opts: SimOptions, ix: _Index, n_tools: int, lots: _Lots, n_bd: int, n_pm: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Jobs, the event queue, the scalar state (``st``, ``stf``), the WIP samples and their
    number."""
    n_wip, n_rel, n_lots, open_streams = lots.n_wip, lots.n_rel, lots.n_lots, lots.open_streams
    n_jobs = 2 * n_tools + 16
    job_i = np.zeros((n_jobs, L.N_JI), dtype=np.int64)
    job_f = np.zeros((n_jobs, L.N_JF), dtype=np.float64)
    job_i[:, L.J_NEXTFREE] = np.arange(1, n_jobs + 1)
    job_i[-1, L.J_NEXTFREE] = -1

    cap = 2 * (n_lots + 2 * (n_bd + n_pm) + 4 * n_tools) + 1024
    ht, hi = engine.queue_arrays(cap)
    st = np.zeros(L.N_ST, dtype=np.int64)
    engine.init_queue(ht, hi, st)
    stf = np.zeros(L.N_SF_STATE, dtype=np.float64)
    st[L.ST_JOBFREE] = 0
    st[L.ST_NWIP] = n_wip
    st[L.ST_NREL] = n_rel
    st[L.ST_INFAB] = n_wip
    st[L.ST_USER] = 1 if opts.user_rule is not None else 0
    st[L.ST_PLAIN_RESETS] = 1 if opts.plain_lot_resets_setup else 0
    st[L.ST_OPENREL] = 1 if open_streams else 0
    st[L.ST_HOTBATCH] = 1 if opts.hot_lots_skip_batch_min else 0
    st[L.ST_CASC_S1] = 1 if opts.cascade_waits_for_slot1 else 0
    st[L.ST_CR_FROZEN] = 1 if opts.cr_at_arrival else 0
    st[L.ST_CASC_BACK] = 1 if opts.cascade_free_slot_to_back else 0
    st[L.ST_EMPTY_FIRST] = 1 if opts.cascade_empty_tool_first else 0
    st[L.ST_SLOT1_EVENTS] = 0
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
    st[L.ST_BATCH_EXACT] = 0 if size > 0 and all(v % size == 0 for v in limits) else 1
    st[L.ST_RS_STIME] = 1 if opts.rank_setup_with_route_stime else 0
    st[L.ST_REKEY] = 1 if opts.user_rule is not None and opts.user_rule_at_selection else 0
    st[L.ST_NEXTREL] = 0
    stf[L.SF_END] = ix.end
    stf[L.SF_WARM] = opts.warmup_days * MIN_PER_DAY
    stf[L.SF_SAMPLE_DT] = opts.wip_sample_min
    n_samples = int(ix.end // opts.wip_sample_min) + 1 if opts.wip_sample_min > 0 else 0
    wip_out = np.zeros(max(n_samples, 1), dtype=np.int64)
    return job_i, job_f, ht, hi, st, stf, wip_out, n_samples


def _transport_table(model: FabModel, ix: _Index) -> np.ndarray:
    """``trans_f[from, to]``: distribution kind (-1: no transport), mean, spread."""
    locs, lidx = ix.locs, ix.lidx
    trans_f = np.zeros((len(locs), len(locs), 3), dtype=np.float64)
    trans_f[:, :, 0] = -1.0
    for tr_ in model.transports:
        a_, b_ = lidx[tr_.from_loc], lidx[tr_.to_loc]
        trans_f[a_, b_, 0] = _DIST_KIND[tr_.time.kind]
        trans_f[a_, b_, 1] = tr_.time.mean
        trans_f[a_, b_, 2] = _spread(tr_.time, ix.hw)
    return trans_f


def build(model: FabModel, opts: SimOptions, seed: int) -> KernelArrays:
    """Every kernel table for ``model`` under ``opts`` with random seed ``seed``, the
    initial events pushed (the caller has checked options and size)."""
    ix = _index(model, opts)
    fams = ix.fams
    sp = _step_table(model, opts, ix)
    step_i, step_f, step_ref, n_steps = sp.step_i, sp.step_f, sp.step_ref, sp.n_steps
    fam_i, fam_f, tool_i, tool_f, n_tools = _family_tables(model, opts, ix, sp)
    setup_t, setup_minrun = _setup_tables(model, ix, sp, fam_f)
    rng, draw = _rngs(seed, ix.hw)
    bd_i, bd_f, pm_i, pm_f, first_events, n_bd, n_pm = _calendar_tables(
        model, ix, fam_i, tool_i, n_tools, draw
    )
    lots = _lot_tables(model, opts, ix, sp.prod_first)
    rel_i, rel_f, lot_i, lot_f = lots.rel_i, lots.rel_f, lots.lot_i, lots.lot_f
    stream_names, stream_parts, lot_part = lots.stream_names, lots.stream_parts, lots.lot_part
    n_wip, n_rel = lots.n_wip, lots.n_rel
    job_i, job_f, ht, hi, st, stf, wip_out, n_samples = _state_tables(
        model, opts, ix, n_tools, lots, n_bd, n_pm
    )
    trans_f = _transport_table(model, ix)

    for t in range(n_tools):
        engine._sync_avail(fam_i, tool_i, t)

    # initial events: WIP lots wait at CURSTEP at t 0 (reading A8), first release, calendars
    for li in range(n_wip):
        engine._push(ht, hi, st, 0.0, L.EV_ARRIVE, li, 0)
    if n_rel:
        engine._push(ht, hi, st, rel_f[0, L.RF_TIME], L.EV_RELEASE, 0, 0)
    for tm, typ, ident in first_events:
        engine._push(ht, hi, st, tm, typ, ident, 0)
    if n_samples:
        engine._push(ht, hi, st, 0.0, L.EV_SAMPLE, 0, 0)

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
    return KernelArrays(
        arrays,
        stream_names,
        stream_parts,
        [f.name for f in fams],
        [f.group for f in fams],
        step_ref,
        lot_part,
        ix.end,
        opts.warmup_days * MIN_PER_DAY,
    )
