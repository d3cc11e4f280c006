# numba kernels take many untyped numpy arrays; mypy checks their callers instead.
# mypy: disable-error-code="no-untyped-def,no-any-return,untyped-decorator"
# ruff: noqa: F405 (the column layouts come from ``fabnet.fab.layout import *``)
"""The compiled event loop of the wafer-fab simulator (numba, array-based state).

All state lives in numpy arrays, the fields of :class:`State` (their columns are named in
:mod:`fabnet.fab.layout`), so the kernel :func:`run` can stop at any event boundary and
resume: the Python side (:mod:`fabnet.fab.simulate`) calls it in chunks of simulated time
(for progress), and, when a user-written dispatching rule is active, each time a lot is about
to join a queue (the rule's key is computed in Python, then the kernel resumes). Time is in
minutes (float64); events are ordered by (time, insertion sequence).

Reading order, top to bottom: the state and how it is compiled; random numbers; the event
queue; linked lists (queues, available tools); ranking; starting a job, a repair, a PM;
selecting the next lot for a tool; a lot arriving at a queue and moving on after a step; one
handler per event type (``_on_arrive``, ``_on_jobend``, ...); the event loop :func:`run`.

Semantics (docs/fab-readings.md, after FORMAT.md §8): sampling → transport → queue → setup →
load → process → unload → rework decision; ranking inputs fixed when a lot joins a queue,
the critical ratio formed at each dispatching decision (FORMAT.md §8.1);
breakdowns interrupt and resume the job; PMs wait for the job in progress; batches form by
route step between BATCHMN and BATCHMX wafers; cascading tools hold two lots with a serial
two-slot pipeline; min-run locks and short batches end when no fitting lot can arrive any more.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from numba import njit

from fabnet.fab import layout
from fabnet.fab.layout import *  # noqa: F403 (every S_*, F_*, ..., RC_* column and code)


def skip_numba_blas_probe() -> None:
    """Load numba's numpy implementations with its BLAS probe answered "none".

    The first compiled function a process loads makes numba import those implementations,
    and ``numba.np.arraymath`` then probes for BLAS by importing ``scipy.linalg`` (with
    numpy.f2py): 0.2-0.3 s of a ``fabnet fab`` command's start-up, measured. The kernel uses
    no BLAS, so the CLI, which owns its process, calls this before the kernel loads: the
    probe fails once (numba then refuses ``np.dot`` and ``np.linalg`` in code compiled in
    this process) and the block is lifted at once, so ``import scipy.linalg`` works as usual
    afterwards. Library users are not affected unless they call it. Does nothing once numba
    has loaded those implementations or scipy.linalg is imported."""
    name = "scipy.linalg.cython_blas"
    if "numba.np.arraymath" in sys.modules or name in sys.modules:
        return
    sys.modules[name] = None  # type: ignore[assignment]
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        del sys.modules[name]


# ---------------------------------------------------------------- the state and its compilation
class State(NamedTuple):
    """Every array the kernel reads or writes, built by :func:`fabnet.fab.compile.build`
    (``KernelArrays.a`` holds the same arrays by name) and owned by the caller for the whole
    run. Kernel functions take it as ``S`` and read ``S.lot_i`` etc.; numba types a named
    tuple statically, so ``S.x`` costs what a local variable does. Columns: :mod:`layout`."""

    st: np.ndarray  # int64 [N_ST]: counters, switches of the readings, heap size (ST_*)
    stf: np.ndarray  # float64 [N_SF_STATE]: now, horizon, warm-up, sampling (SF_*)
    ht: np.ndarray  # float64 [nodes + 3]: event queue, times (+ last time, width, adapt time)
    hi: np.ndarray  # int64 [nodes + buckets, N_QI]: event queue nodes (Q_*), bucket heads
    step_i: np.ndarray  # int64 [steps, N_SI]: route steps (S_*)
    step_f: np.ndarray  # float64 [steps, N_SF]: route steps (F_*)
    fam_i: np.ndarray  # int64 [families, N_FAI]: tool families, queues (FA_*)
    fam_f: np.ndarray  # float64 [families, N_FAF] (FF_*)
    tool_i: np.ndarray  # int64 [tools, N_TI]: tools (T_*)
    tool_f: np.ndarray  # float64 [tools, N_TF]: time in each state (TF_*)
    setup_t: np.ndarray  # float64 [setups + 1, setups]: change time from row (last: none) to col
    setup_minrun: np.ndarray  # int64 [setups]: MINRUN of a setup (0: none)
    lot_i: np.ndarray  # int64 [lots, N_LI]: lots (L_*)
    lot_f: np.ndarray  # float64 [lots, N_LF] (LF_*)
    job_i: np.ndarray  # int64 [job slots, N_JI]: jobs on tools (J_*)
    job_f: np.ndarray  # float64 [job slots, N_JF] (JF_*)
    bd_i: np.ndarray  # int64 [breakdowns, N_BI]: breakdown instances (B_*)
    bd_f: np.ndarray  # float64 [breakdowns, N_BF] (BF_*)
    pm_i: np.ndarray  # int64 [PMs, N_PI]: PM instances (P_*)
    pm_f: np.ndarray  # float64 [PMs, N_PF] (PF_*)
    trans_f: np.ndarray  # float64 [from, to, 3]: transport kind (-1: none), mean, spread
    rel_i: np.ndarray  # int64 [releases, N_RI]: releases in time order (R_*)
    rel_f: np.ndarray  # float64 [releases, N_RF] (RF_*)
    rng: np.ndarray  # uint64 [N_RNG]: SplitMix64 state of each random stream (R_PROC ...)
    wip_out: np.ndarray  # int64 [samples]: lots in the fab at each WIP sample
    scratch: np.ndarray  # int64 [steps]: wafers per batch key during a selection (0 between)


# Compilation: the kernel never allocates; every array it touches is owned by the caller
# (simulate._Arrays) for the whole call, so numba's reference counting is switched off
# (``_nrt=False``): with it on, each call and each read of the state ``S`` paid atomic
# increments and decrements, about a third of the run time on HVLM. Helpers called from few
# places are inlined at numba IR level (measured: 200 days of HVLM 3.3 s -> 2.5 s).
_NO_REFCOUNT: dict[str, Any] = {"_nrt": False}  # a numba option its type stubs do not list


def layout_digest() -> str:
    """Digest of every constant of :mod:`fabnet.fab.layout` (names and values)."""
    items = sorted((k, v) for k, v in vars(layout).items() if k.isupper())
    return hashlib.sha256(repr(items).encode()).hexdigest()[:16]


_LAYOUT_DIGEST = layout_digest()


def _keyed_on_layout(disp: Any) -> Any:
    """Key numba's on-disk cache of ``disp`` on the layout too. numba keys it on this file's
    time stamp and the function's bytecode, but the layout constants are compiled into the
    machine code: without this, editing ``layout.py`` alone would leave a stale kernel
    reading the old columns. (numba internals; tests/fab/test_layout.py checks it holds.)"""
    cache: Any = getattr(disp, "_cache", None)
    index_key = getattr(cache, "_index_key", None)
    if index_key is not None:
        cache._index_key = lambda sig, codegen: (*index_key(sig, codegen), _LAYOUT_DIGEST)
    return disp


def _jit(fn: Callable[..., Any]) -> Any:
    """Compiled, cached, no reference counting."""
    return _keyed_on_layout(njit(cache=True, **_NO_REFCOUNT)(fn))


def _jit_inline(fn: Callable[..., Any]) -> Any:
    """As :func:`_jit`, inlined into its callers at numba IR level."""
    return _keyed_on_layout(njit(cache=True, inline="always", **_NO_REFCOUNT)(fn))


# ---------------------------------------------------------------- random numbers
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0


@_jit_inline
def _rnd(rng: np.ndarray, k: int) -> float:
    """Uniform [0, 1) from SplitMix64 stream ``k`` (Steele, Lea, Flood 2014)."""
    z = rng[k] + _GOLDEN
    rng[k] = z
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    z = z ^ (z >> _S31)
    return float(z >> _S11) * _INV53


@_jit
def _draw(rng: np.ndarray, k: int, kind: int, mean: float, spread: float) -> float:
    """One sample of a constant / uniform (mean ± spread) / exponential (mean) duration."""
    if kind == D_CONST:
        return mean
    u = _rnd(rng, k)
    if kind == D_UNIFORM:
        return mean + (2.0 * u - 1.0) * spread
    return -mean * np.log(1.0 - u)


# ---------------------------------------------------------------- the event queue
_TYPE_BITS = 4
_IDENT_BITS = 24
# event queue nodes: ``ht[node]`` time, ``hi[node]``: insertion sequence, token << 28 | ident
# << 4 | type, next node of its bucket (or of the free list), bucket number (time / width);
# nodes from ``st[ST_QBASE]`` on head the buckets; ``ht[-3]`` the time of the last event taken,
# ``ht[-2]`` the bucket width (minutes), ``ht[-1]`` the time of the event taken QN_ADAPT
# events ago
QN_ADAPT = 4096  # events between two looks at the bucket width
QW_EVENTS = 3.0  # target events per bucket width near the head of the queue (Brown 1988)


@_jit_inline
def _qinsert(ht, hi, st, node):
    """Insert ``node`` into its bucket, after every node that precedes it in (time, seq)."""
    w = ht[ht.shape[0] - 2]
    vb = np.int64(ht[node] / w)
    hi[node, Q_VB] = vb
    p = st[ST_QBASE] + (vb & (st[ST_QNB] - 1))
    t = ht[node]
    seq = hi[node, Q_SEQ]
    q = hi[p, Q_NEXT]
    while q >= 0 and (ht[q] < t or (ht[q] == t and hi[q, Q_SEQ] < seq)):
        p = q
        q = hi[p, Q_NEXT]
    hi[node, Q_NEXT] = q
    hi[p, Q_NEXT] = node


@_jit
def _push(ht, hi, st, t, typ, ident, token):
    """Schedule event ``typ`` for ``ident`` at time ``t``; events are taken in (time, seq)
    order.

    The queue is a calendar queue (Brown 1988): buckets of one width in simulated time,
    used cyclically, each a list sorted by (time, seq); an event goes to bucket
    ``time / width`` (mod the number of buckets) and the next event is the head of the
    current bucket unless that belongs to a later cycle. Push and pop are O(1) on average
    when a bucket holds a few events; the width follows the mean time between events
    (:func:`_qadapt`). The order, and so every result, is the same as a binary heap's on
    (time, seq); 15 % less kernel time on HVLM (docs/fab-readings.md, Speed)."""
    node = st[ST_QFREE]
    if node < 0:
        st[ST_ERR] = 1
        return
    st[ST_QFREE] = hi[node, Q_NEXT]
    last = ht[ht.shape[0] - 3]
    ht[node] = t if t >= last else last  # never before the event being handled
    hi[node, Q_SEQ] = st[ST_SEQ]
    st[ST_SEQ] += 1
    hi[node, Q_PAY] = (token << (_TYPE_BITS + _IDENT_BITS)) | (ident << _TYPE_BITS) | typ
    _qinsert(ht, hi, st, node)
    st[ST_HSIZE] += 1


@_jit
def _top(ht, hi, st):
    """Node of the earliest event (-1 if none). Looks at the buckets from the current one
    on for one cycle; if none holds an event of its own cycle, takes the earliest head."""
    if st[ST_HSIZE] == 0:
        return -1
    base = st[ST_QBASE]
    nb = st[ST_QNB]
    cur = st[ST_QCUR]
    for k in range(nb):
        h = hi[base + ((cur + k) & (nb - 1)), Q_NEXT]
        if h >= 0 and hi[h, Q_VB] == cur + k:
            st[ST_QCUR] = cur + k
            return h
    m = -1
    for b in range(nb):
        h = hi[base + b, Q_NEXT]
        if h >= 0 and (m < 0 or ht[h] < ht[m] or (ht[h] == ht[m] and hi[h, Q_SEQ] < hi[m, Q_SEQ])):
            m = h
    st[ST_QCUR] = hi[m, Q_VB]
    return m


@_jit
def _qadapt(ht, hi, st, now):
    """Every QN_ADAPT events: if the mean time between them calls for a bucket width more
    than twice or less than half the current one, re-file every event with the new width."""
    n = ht.shape[0]
    gap = (now - ht[n - 1]) / QN_ADAPT
    ht[n - 1] = now
    if gap <= 0.0:
        return
    w = QW_EVENTS * gap
    if 0.5 * ht[n - 2] <= w <= 2.0 * ht[n - 2]:
        return
    ht[n - 2] = w
    base = st[ST_QBASE]
    chain = -1
    for b in range(st[ST_QNB]):
        q = hi[base + b, Q_NEXT]
        hi[base + b, Q_NEXT] = -1
        while q >= 0:
            nx = hi[q, Q_NEXT]
            hi[q, Q_NEXT] = chain
            chain = q
            q = nx
    while chain >= 0:
        nx = hi[chain, Q_NEXT]
        _qinsert(ht, hi, st, chain)
        chain = nx
    st[ST_QCUR] = np.int64(now / w)


@_jit
def _pop(ht, hi, st, h):
    """Remove the earliest event, node ``h`` from :func:`_top`."""
    p = st[ST_QBASE] + (hi[h, Q_VB] & (st[ST_QNB] - 1))
    hi[p, Q_NEXT] = hi[h, Q_NEXT]
    hi[h, Q_NEXT] = st[ST_QFREE]
    st[ST_QFREE] = h
    st[ST_HSIZE] -= 1
    st[ST_QPOPS] += 1
    ht[ht.shape[0] - 3] = ht[h]
    if st[ST_QPOPS] % QN_ADAPT == 0:
        _qadapt(ht, hi, st, ht[h])


def queue_arrays(n_events: int, n_buckets: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """``ht`` and ``hi`` of an event queue for up to ``n_events`` pending events."""
    ht = np.zeros(n_events + n_buckets + 3, dtype=np.float64)
    hi = np.zeros((n_events + n_buckets, N_QI), dtype=np.int64)
    return ht, hi


def init_queue(ht: np.ndarray, hi: np.ndarray, st: np.ndarray, n_buckets: int = 4096) -> None:
    """An empty event queue in ``ht``, ``hi`` (from :func:`queue_arrays`); width 1 minute
    until the first QN_ADAPT events set it."""
    n = hi.shape[0] - n_buckets
    hi[:, Q_NEXT] = -1
    hi[:n, Q_NEXT] = np.arange(1, n + 1)
    hi[n - 1, Q_NEXT] = -1
    ht[-2] = 1.0
    ht[-1] = 0.0
    st[ST_QFREE] = 0
    st[ST_QBASE] = n
    st[ST_QNB] = n_buckets
    st[ST_QCUR] = 0
    st[ST_QPOPS] = 0
    st[ST_HSIZE] = 0


@_jit_inline
def _clip(a: float, b: float, w: float, e: float) -> float:
    """Length of [a, b] inside the statistics window [w, e]."""
    lo = a if a > w else w
    hi = b if b < e else e
    return hi - lo if hi > lo else 0.0


# ---------------------------------------------------------------- lists
@_jit_inline
def _link(own, o, head, tail, node, nxt, prv, x):
    """Append ``x`` to the doubly linked list whose ends are ``own[o, head]`` and
    ``own[o, tail]`` and whose links are ``node[:, nxt]`` / ``node[:, prv]``."""
    last = own[o, tail]
    node[x, prv] = last
    node[x, nxt] = -1
    if last >= 0:
        node[last, nxt] = x
    else:
        own[o, head] = x
    own[o, tail] = x


@_jit_inline
def _unlink(own, o, head, tail, node, nxt, prv, x):
    """Remove ``x`` from the list :func:`_link` builds."""
    p = node[x, prv]
    n = node[x, nxt]
    if p >= 0:
        node[p, nxt] = n
    else:
        own[o, head] = n
    if n >= 0:
        node[n, prv] = p
    else:
        own[o, tail] = p
    node[x, nxt] = -1
    node[x, prv] = -1


@_jit
def _q_append(fam_i, lot_i, f, lot):
    """Lot joins the end of family ``f``'s queue."""
    _link(fam_i, f, FA_QHEAD, FA_QTAIL, lot_i, L_QNEXT, L_QPREV, lot)
    fam_i[f, FA_QLEN] += 1
    if lot_i[lot, L_PRIO] > fam_i[f, FA_BASEPRIO]:
        fam_i[f, FA_NHOT] += 1


@_jit
def _q_remove(fam_i, lot_i, f, lot):
    """Lot leaves family ``f``'s queue."""
    _unlink(fam_i, f, FA_QHEAD, FA_QTAIL, lot_i, L_QNEXT, L_QPREV, lot)
    fam_i[f, FA_QLEN] -= 1
    if lot_i[lot, L_PRIO] > fam_i[f, FA_BASEPRIO]:
        fam_i[f, FA_NHOT] -= 1


@_jit
def _sync_avail(fam_i, tool_i, t):
    """Keep tool ``t`` in its family's list of tools that can start a job, in the order they
    became able to (so the head is the one idle longest)."""
    ok = (
        tool_i[t, T_DOWN] == 0
        and tool_i[t, T_INPM] == 0
        and tool_i[t, T_PMPEND] == 0
        and tool_i[t, T_NJ] < tool_i[t, T_CAP]
        and tool_i[t, T_S1BUSY] == 0
    )
    f = tool_i[t, T_FAM]
    if ok and tool_i[t, T_AVAIL] == 0:
        tool_i[t, T_AVAIL] = 1
        _link(fam_i, f, FA_AHEAD, FA_ATAIL, tool_i, T_ANEXT, T_APREV, t)
    elif not ok and tool_i[t, T_AVAIL] == 1:
        tool_i[t, T_AVAIL] = 0
        _unlink(fam_i, f, FA_AHEAD, FA_ATAIL, tool_i, T_ANEXT, T_APREV, t)


# ---------------------------------------------------------------- ranking
@_jit_inline
def _setup_time(step_i, step_f, setup_t, g, cur):
    """Setup time lot step ``g`` needs on a tool in setup ``cur`` (-1 = none); 0 if no change."""
    sg = step_i[g, S_SETUP]
    if sg < 0 or sg == cur:
        return 0.0
    stime = step_f[g, F_STIME]
    if stime >= 0.0:
        return stime
    row = cur if cur >= 0 else setup_t.shape[0] - 1
    return setup_t[row, sg]


@_jit_inline
def _rank_setup(st, step_i, step_f, setup_t, g, cur):
    """Setup time ``rank_RSETUP`` ranks lot step ``g`` by on a tool in setup ``cur``
    (FORMAT.md §8.1): the ``setup.txt`` mean of the change (exact pair, else from any state);
    a route step's own ``STIME`` counts 0 (it is still spent when the setup is done).
    ``ST_RS_STIME`` = 1: the time actually spent (route ``STIME`` first), the first pass."""
    sg = step_i[g, S_SETUP]
    if sg < 0 or sg == cur:
        return 0.0
    if step_f[g, F_STIME] >= 0.0:
        return step_f[g, F_STIME] if st[ST_RS_STIME] == 1 else 0.0
    row = cur if cur >= 0 else setup_t.shape[0] - 1
    return setup_t[row, sg]


@_jit_inline
def _key(lot_f, lot, cr, now):
    """Final ranking key of a queued lot at a dispatching decision at ``now``: for the
    critical ratio (``cr``) (due − now) / expected remaining work, formed now (FORMAT.md
    §8.1); otherwise the key fixed at queue arrival."""
    if cr:
        return (lot_f[lot, LF_KEY] - now) / lot_f[lot, LF_RW]
    return lot_f[lot, LF_KEY]


@_jit_inline
def _better(p1, s1, k1, l1, p2, s2, k2, l2):
    """Lexicographic (priority desc, setup asc, key asc, lot asc)."""
    if p1 != p2:
        return p1 > p2
    if s1 != s2:
        return s1 < s2
    if k1 != k2:
        return k1 < k2
    return l1 < l2


@_jit_inline
def _eligible(step_i, step_f, setup_t, tool_i, t, lot_i, lot):
    """-1.0 if ``lot`` may not start on ``t`` (lens dedication, min-run lock), else setup time."""
    rq = lot_i[lot, L_REQTOOL]
    if rq >= 0 and rq != t:
        return -1.0
    g = lot_i[lot, L_STEP]
    cur = tool_i[t, T_SETUP]
    sg = step_i[g, S_SETUP]
    if sg >= 0 and sg != cur and tool_i[t, T_MINRUN] > 0:
        return -1.0
    return _setup_time(step_i, step_f, setup_t, g, cur)


# ---------------------------------------------------------------- job start / PM / repair
@_jit
def _start_job(S, t, first, now):
    """Start the lots chained from ``first`` (via L_JNEXT, already out of the queue) on ``t``."""
    f = S.tool_i[t, T_FAM]
    g = S.lot_i[first, L_STEP]
    j = S.st[ST_JOBFREE]
    if j < 0:
        S.st[ST_ERR] = 2
        return
    S.st[ST_JOBFREE] = S.job_i[j, J_NEXTFREE]
    pieces = 0
    nl = 0
    lot = first
    while lot >= 0:
        pieces += S.lot_i[lot, L_PIECES]
        nl += 1
        w = now - S.lot_f[lot, LF_QJOIN]
        S.lot_f[lot, LF_WAIT] += w
        if S.lot_f[lot, LF_QJOIN] >= S.stf[SF_WARM]:
            gl = S.lot_i[lot, L_STEP]
            if S.lot_i[lot, L_PRIO] > 10:
                S.step_f[gl, F_WSUM_HOT] += w
                S.step_f[gl, F_WN_HOT] += 1.0
            else:
                S.step_f[gl, F_WSUM_REG] += w
                S.step_f[gl, F_WN_REG] += 1.0
        if S.step_i[S.lot_i[lot, L_STEP], S_SAVE] == 1:
            fs = S.step_i[S.lot_i[lot, L_STEP], S_FORSTEP]
            placed = False
            for k in range(N_LENS):
                if S.lot_i[lot, L_LENS + 2 * k] < 0 or S.lot_i[lot, L_LENS + 2 * k] == fs:
                    S.lot_i[lot, L_LENS + 2 * k] = fs
                    S.lot_i[lot, L_LENS + 2 * k + 1] = t
                    placed = True
                    break
            if not placed:
                S.lot_i[lot, L_LENS] = fs
                S.lot_i[lot, L_LENS + 1] = t
        S.lot_i[lot, L_REQTOOL] = -1
        S.lot_i[lot, L_STATE] = 2
        # queue-time windows: completion of the entrance step to start of the exit step
        gq = S.lot_i[lot, L_STEP]
        for k in range(N_CQ):
            ex = S.lot_i[lot, L_CQ + k]
            if ex >= 0 and ex <= gq:
                if ex == gq and now > S.lot_f[lot, LF_CQ + k]:
                    S.lot_i[lot, L_CQVIOL] += 1
                    S.st[ST_CQVIOL] += 1
                S.lot_i[lot, L_CQ + k] = -1
        lot = S.lot_i[lot, L_JNEXT]
    # setup and min-run
    cur = S.tool_i[t, T_SETUP]
    sg = S.step_i[g, S_SETUP]
    su = 0.0
    if sg >= 0 and sg != cur:
        su = _setup_time(S.step_i, S.step_f, S.setup_t, g, cur)
        S.tool_i[t, T_SETUP] = sg
        S.tool_i[t, T_MINRUN] = S.setup_minrun[sg] - 1 if S.setup_minrun[sg] > 0 else 0
        S.tool_i[t, T_NSETUPS] += 1
        S.st[ST_SETUPS] += 1
    elif sg >= 0 and S.tool_i[t, T_MINRUN] > 0:
        S.tool_i[t, T_MINRUN] -= 1
    elif sg < 0 and S.st[ST_PLAIN_RESETS] == 1:
        S.tool_i[t, T_SETUP] = -1
        S.tool_i[t, T_MINRUN] = 0
    # times
    load = S.fam_f[f, FF_LOAD]
    unload = S.fam_f[f, FF_UNLOAD]
    u = _draw(S.rng, R_PROC, S.step_i[g, S_PDIST], S.step_f[g, F_PT], S.step_f[g, F_PT2])
    per = S.step_i[g, S_PER]
    casc = S.step_i[g, S_CASC]
    if S.fam_i[f, FA_CASC] == 1:
        c = S.step_f[g, F_CASC_C]
        if casc == 1:
            n = pieces
            a = c
            b = u - c
        elif casc == 2:
            n = 1
            a = c
            b = u - c
        else:
            n = 1
            a = u * pieces if per == 1 else u
            b = 0.0
        if b < 0.0:
            b = 0.0
        s0 = now + su + load
        if S.tool_f[t, TF_SLOT1] > s0:
            s0 = S.tool_f[t, TF_SLOT1]
        # last unit leaves slot 1; slot 2 blocks slot 1 only when b > a
        s1_end = s0 + n * a if b <= a else s0 + a + (n - 1) * b
        S.tool_f[t, TF_SLOT1] = s1_end
        end = s1_end + b + unload
        lead = load + S.fam_f[f, FF_LEAD]
        if S.st[ST_CASC_S1] == 1 and s1_end - lead > now:
            # the next lot may set up and load while this lot's last unit is in the first slot
            S.tool_i[t, T_S1BUSY] = 1
            _push(S.ht, S.hi, S.st, s1_end - lead, EV_SLOT1, t, 0)
    else:
        proc = u * pieces if per == 1 else u
        end = now + su + load + proc + unload
    warm = S.stf[SF_WARM]
    hend = S.stf[SF_END]
    S.tool_f[t, TF_SETUP] += _clip(now, now + su, warm, hend)
    if S.tool_i[t, T_NJ] == 0:
        S.tool_f[t, TF_BUSY_SINCE] = now
    S.tool_i[t, T_NJ] += 1
    S.tool_i[t, T_NJOBS] += 1
    if S.tool_i[t, T_JOB0] < 0:
        S.tool_i[t, T_JOB0] = j
    else:
        S.tool_i[t, T_JOB1] = j
    S.job_i[j, J_TOOL] = t
    S.job_i[j, J_LOT] = first
    S.job_i[j, J_STEP] = g
    S.job_i[j, J_PIECES] = pieces
    S.job_i[j, J_NLOTS] = nl
    S.job_i[j, J_TOKEN] += 1
    S.job_f[j, JF_END] = end
    S.st[ST_STARTS] += 1
    if nl > 1:
        S.st[ST_BATCHES] += 1
    _push(S.ht, S.hi, S.st, end, EV_JOBEND, j, S.job_i[j, J_TOKEN])
    _sync_avail(S.fam_i, S.tool_i, t)
    if S.st[ST_CASC_BACK] == 1 and S.tool_i[t, T_AVAIL] == 1:
        # FORMAT.md §8.1: a cascading tool with a free slot after a start goes to the back of
        # the order in which available tools are tried
        _unlink(S.fam_i, f, FA_AHEAD, FA_ATAIL, S.tool_i, T_ANEXT, T_APREV, t)
        _link(S.fam_i, f, FA_AHEAD, FA_ATAIL, S.tool_i, T_ANEXT, T_APREV, t)


@_jit_inline
def _start_repair(S, b, now):
    """Breakdown ``b`` starts now: the tool is down; jobs on it are suspended (preempt-resume)."""
    t = S.bd_i[b, B_TOOL]
    S.bd_i[b, B_PEND] = 0
    d = _draw(S.rng, R_BREAK, S.bd_i[b, B_TTR_KIND], S.bd_f[b, BF_TTR], 0.0)
    S.tool_i[t, T_DOWN] = 1
    w = _clip(now, now + d, S.stf[SF_WARM], S.stf[SF_END])
    S.tool_f[t, TF_DOWN] += w
    S.st[ST_FAILS] += 1
    if S.tool_i[t, T_NJ] > 0:
        S.tool_f[t, TF_DOWNBUSY] += w
        for k in range(2):
            j = S.tool_i[t, T_JOB0 + k]
            if j >= 0 and S.job_f[j, JF_END] > now:
                S.job_f[j, JF_END] += d
                S.job_i[j, J_TOKEN] += 1
                _push(S.ht, S.hi, S.st, S.job_f[j, JF_END], EV_JOBEND, j, S.job_i[j, J_TOKEN])
        if S.tool_f[t, TF_SLOT1] > now:
            S.tool_f[t, TF_SLOT1] += d
    _push(S.ht, S.hi, S.st, now + d, EV_REPAIR, b, 0)
    _sync_avail(S.fam_i, S.tool_i, t)


@_jit_inline
def _start_pm(S, t, now):
    """Start the first pending PM of idle tool ``t``."""
    p0 = S.tool_i[t, T_PM_FIRST]
    for p in range(p0, p0 + S.tool_i[t, T_PM_N]):
        if S.pm_i[p, P_PEND] == 1:
            d = _draw(S.rng, R_PM, S.pm_i[p, P_DUR_KIND], S.pm_f[p, PF_DUR], S.pm_f[p, PF_DUR2])
            if d < 0.0:
                d = 0.0
            S.tool_i[t, T_INPM] = 1
            S.tool_f[t, TF_PM] += _clip(now, now + d, S.stf[SF_WARM], S.stf[SF_END])
            S.st[ST_PMS] += 1
            if S.pm_i[p, P_BYPIECES] == 1:
                S.pm_f[p, PF_COUNT] = 0.0
                S.pm_f[p, PF_THRESH] = S.pm_f[p, PF_INTERVAL]
            else:
                _push(S.ht, S.hi, S.st, now + S.pm_f[p, PF_INTERVAL], EV_PMDUE, p, 0)
            _push(S.ht, S.hi, S.st, now + d, EV_PMEND, p, 0)
            _sync_avail(S.fam_i, S.tool_i, t)
            return


# ---------------------------------------------------------------- selection
@_jit
def _can_arrive(st, step_i, lot_i, f, bkey, sg):
    """True if a lot may still join family ``f``'s queue later at a step of batch class
    ``bkey`` (``bkey >= 0``), or (``bkey < 0``) at a step needing setup ``sg`` or none.
    Any release still to come counts as a possible arrival, and so does every later visit of
    a lot in the fab elsewhere: the rest of its route, including the steps a rework further
    on may send it back to (FORMAT.md §8: a short batch or a min-run lock ends only when no
    such lot can arrive any more). Lots waiting in this queue do not count (they cannot move
    on without this family, so counting them could lock it for good)."""
    if st[ST_OPENREL] == 1 or st[ST_NEXTREL] < st[ST_NREL]:
        return True
    n = st[ST_NWIP] + st[ST_NEXTREL]
    for lot in range(n):
        if lot_i[lot, L_DONE] == 1:
            continue
        g = lot_i[lot, L_STEP]
        state = lot_i[lot, L_STATE]
        if state == 1 and step_i[g, S_FAM] == f:
            continue  # already waiting in this queue
        h = step_i[g, S_NEXT] if state == 2 else g  # a lot on a tool: from its next step
        back = step_i[g, S_RWKMIN]
        if back >= 0 and (h < 0 or back < h):
            h = back
        while h >= 0:
            if step_i[h, S_FAM] == f:
                if bkey >= 0:
                    if step_i[h, S_BKEY] == bkey:
                        return True
                else:
                    su = step_i[h, S_SETUP]
                    if su < 0 or su == sg:
                        return True
            h = step_i[h, S_NEXT]
    return False


_NO_LIMIT = 1 << 62  # room of _best_of_key that no lot exceeds


@_jit
def _best_of_key(
    step_i, step_f, setup_t, tool_i, lot_i, lot_f, fam_i, t, key, room, use_hp, cr, now
):
    """Best-ranked queued lot of batch key ``key`` eligible on tool ``t`` with at most
    ``room`` wafers, skipping lots marked L_JNEXT = -2 (taken by :func:`_fill_total`);
    -1 if none."""
    f = tool_i[t, T_FAM]
    cand = -1
    cp = 0
    ck = 0.0
    lot = fam_i[f, FA_QHEAD]
    while lot >= 0:
        if (
            lot_i[lot, L_JNEXT] != -2
            and step_i[lot_i[lot, L_STEP], S_BKEY] == key
            and lot_i[lot, L_PIECES] <= room
            and _eligible(step_i, step_f, setup_t, tool_i, t, lot_i, lot) >= 0.0
        ):
            p = lot_i[lot, L_PRIO] if use_hp == 1 else 0
            k = _key(lot_f, lot, cr, now)
            if cand < 0 or _better(p, 0.0, k, lot, cp, 0.0, ck, cand):
                cand = lot
                cp = p
                ck = k
        lot = lot_i[lot, L_QNEXT]
    return cand


@_jit
def _fill_total(step_i, step_f, setup_t, tool_i, lot_i, lot_f, fam_i, t, first, use_hp, cr, now):
    """Wafers of the batch FORMAT.md §8.1 forms from ``first`` on tool ``t``: the same key's
    eligible lots in rank order while the total stays ≤ BATCHMX (a lot that does not fit is
    skipped). Lots taken are marked with L_JNEXT = -2 meanwhile (queued lots hold -1)."""
    f = tool_i[t, T_FAM]
    g = lot_i[first, L_STEP]
    key = step_i[g, S_BKEY]
    bmax = step_i[g, S_BMAX]
    total = lot_i[first, L_PIECES]
    lot_i[first, L_JNEXT] = -2
    while True:
        cand = _best_of_key(
            step_i, step_f, setup_t, tool_i, lot_i, lot_f, fam_i, t, key, bmax - total,
            use_hp, cr, now,
        )  # fmt: skip
        if cand < 0:
            break
        lot_i[cand, L_JNEXT] = -2
        total += lot_i[cand, L_PIECES]
    lot = fam_i[f, FA_QHEAD]
    while lot >= 0:
        if lot_i[lot, L_JNEXT] == -2:
            lot_i[lot, L_JNEXT] = -1
        lot = lot_i[lot, L_QNEXT]
    return total


@_jit
def _select(S, t, now):
    """Pick the best lot (or batch) in the family queue for tool ``t`` and start it.
    Returns True if a job started."""
    f = S.tool_i[t, T_FAM]
    use_hp = S.fam_i[f, FA_USE_HP]
    use_rs = S.fam_i[f, FA_USE_RS]
    best = -1
    bp = 0
    bs = 0.0
    bk = 0.0
    has_batch = S.fam_i[f, FA_HAS_BATCH] == 1
    cr = S.fam_i[f, FA_FINAL] == K_CR and S.st[ST_CR_FROZEN] == 0
    if S.fam_i[f, FA_FASTFIFO] == 1 and (use_hp == 0 or S.fam_i[f, FA_NHOT] == 0):
        # all queued lots rank by queue arrival only and the queue is in arrival order:
        # the first eligible lot wins (ties in arrival time: lowest lot number)
        lot = S.fam_i[f, FA_QHEAD]
        while lot >= 0:
            rq = S.lot_i[lot, L_REQTOOL]
            if rq < 0 or rq == t:
                k = S.lot_f[lot, LF_KEY]
                if best < 0:
                    best = lot
                    bk = k
                elif k > bk:
                    break
                elif lot < best:
                    best = lot
            lot = S.lot_i[lot, L_QNEXT]
        if best < 0:
            return False
        _q_remove(S.fam_i, S.lot_i, f, best)
        S.lot_i[best, L_JNEXT] = -1
        _start_job(S, t, best, now)
        return True
    if S.tool_i[t, T_MINRUN] > 0 and S.fam_i[f, FA_QLEN] > 0:
        # min-run lock: it ends when no lot needing no change waits or can still arrive
        any_ok = False
        lot = S.fam_i[f, FA_QHEAD]
        while lot >= 0:
            if _eligible(S.step_i, S.step_f, S.setup_t, S.tool_i, t, S.lot_i, lot) >= 0.0:
                any_ok = True
                break
            lot = S.lot_i[lot, L_QNEXT]
        if not any_ok and not _can_arrive(S.st, S.step_i, S.lot_i, f, -1, S.tool_i[t, T_SETUP]):
            S.tool_i[t, T_MINRUN] = 0
    if has_batch:
        lot = S.fam_i[f, FA_QHEAD]
        while lot >= 0:
            g = S.lot_i[lot, L_STEP]
            if (
                S.step_i[g, S_PER] == 2
                and _eligible(S.step_i, S.step_f, S.setup_t, S.tool_i, t, S.lot_i, lot) >= 0.0
            ):
                S.scratch[S.step_i[g, S_BKEY]] += S.lot_i[lot, L_PIECES]
            lot = S.lot_i[lot, L_QNEXT]
        if S.st[ST_BATCH_EXACT] == 1:
            # lots of different sizes: a key qualifies by the batch it would form from its
            # best-ranked lot (FORMAT.md §8.1), not by its total; stored as -10 - wafers
            lot = S.fam_i[f, FA_QHEAD]
            while lot >= 0:
                key = S.step_i[S.lot_i[lot, L_STEP], S_BKEY]
                if S.step_i[S.lot_i[lot, L_STEP], S_PER] == 2 and S.scratch[key] > 0:
                    b = _best_of_key(
                        S.step_i, S.step_f, S.setup_t, S.tool_i, S.lot_i, S.lot_f, S.fam_i, t, key, _NO_LIMIT,
                        use_hp, cr, now,
                    )  # fmt: skip
                    S.scratch[key] = -10 - _fill_total(
                        S.step_i,
                        S.step_f,
                        S.setup_t,
                        S.tool_i,
                        S.lot_i,
                        S.lot_f,
                        S.fam_i,
                        t,
                        b,
                        use_hp,
                        cr,
                        now,
                    )
                lot = S.lot_i[lot, L_QNEXT]
            lot = S.fam_i[f, FA_QHEAD]
            while lot >= 0:
                key = S.step_i[S.lot_i[lot, L_STEP], S_BKEY]
                if S.scratch[key] <= -10:
                    S.scratch[key] = -S.scratch[key] - 10
                lot = S.lot_i[lot, L_QNEXT]
    lot = S.fam_i[f, FA_QHEAD]
    while lot >= 0:
        s = _eligible(S.step_i, S.step_f, S.setup_t, S.tool_i, t, S.lot_i, lot)
        if s >= 0.0:
            g = S.lot_i[lot, L_STEP]
            if (
                not has_batch
                or S.step_i[g, S_PER] != 2
                or S.scratch[S.step_i[g, S_BKEY]] >= S.step_i[g, S_BMIN]
                or (S.st[ST_HOTBATCH] == 1 and S.lot_i[lot, L_PRIO] > S.fam_i[f, FA_BASEPRIO])
            ):
                p = S.lot_i[lot, L_PRIO] if use_hp == 1 else 0
                if use_rs == 0:
                    s = 0.0
                else:
                    s = _rank_setup(S.st, S.step_i, S.step_f, S.setup_t, g, S.tool_i[t, T_SETUP])
                k = _key(S.lot_f, lot, cr, now)
                if best < 0 or _better(p, s, k, lot, bp, bs, bk, best):
                    best = lot
                    bp = p
                    bs = s
                    bk = k
        lot = S.lot_i[lot, L_QNEXT]
    if has_batch and best < 0:
        # a group below BATCHMN starts only if no compatible lot can arrive any more
        lot = S.fam_i[f, FA_QHEAD]
        while lot >= 0:
            g = S.lot_i[lot, L_STEP]
            key = S.step_i[g, S_BKEY]
            if S.step_i[g, S_PER] == 2 and S.scratch[key] != 0:
                if S.scratch[key] > 0:
                    can = _can_arrive(S.st, S.step_i, S.lot_i, f, key, -1)
                    S.scratch[key] = -1 if can else -2
                if (
                    S.scratch[key] == -2
                    and _eligible(S.step_i, S.step_f, S.setup_t, S.tool_i, t, S.lot_i, lot) >= 0.0
                ):
                    p = S.lot_i[lot, L_PRIO] if use_hp == 1 else 0
                    k = _key(S.lot_f, lot, cr, now)
                    if best < 0 or _better(p, 0.0, k, lot, bp, 0.0, bk, best):
                        best = lot
                        bp = p
                        bk = k
            lot = S.lot_i[lot, L_QNEXT]
    if has_batch:
        lot = S.fam_i[f, FA_QHEAD]
        while lot >= 0:
            S.scratch[S.step_i[S.lot_i[lot, L_STEP], S_BKEY]] = 0
            lot = S.lot_i[lot, L_QNEXT]
    if best < 0:
        return False
    g = S.lot_i[best, L_STEP]
    _q_remove(S.fam_i, S.lot_i, f, best)
    S.lot_i[best, L_JNEXT] = -1
    if has_batch and S.step_i[g, S_PER] == 2:
        # fill with compatible lots (same route step) in rank order up to BATCHMX wafers
        pieces = S.lot_i[best, L_PIECES]
        last = best
        bmax = S.step_i[g, S_BMAX]
        while True:
            cand = -1
            cp = 0
            cs = 0.0
            ck = 0.0
            lot = S.fam_i[f, FA_QHEAD]
            while lot >= 0:
                if (
                    S.step_i[S.lot_i[lot, L_STEP], S_BKEY] == S.step_i[g, S_BKEY]
                    and pieces + S.lot_i[lot, L_PIECES] <= bmax
                    and _eligible(S.step_i, S.step_f, S.setup_t, S.tool_i, t, S.lot_i, lot) >= 0.0
                ):
                    p = S.lot_i[lot, L_PRIO] if use_hp == 1 else 0
                    k = _key(S.lot_f, lot, cr, now)
                    if cand < 0 or _better(p, 0.0, k, lot, cp, cs, ck, cand):
                        cand = lot
                        cp = p
                        ck = k
                lot = S.lot_i[lot, L_QNEXT]
            if cand < 0:
                break
            _q_remove(S.fam_i, S.lot_i, f, cand)
            S.lot_i[cand, L_JNEXT] = -1
            S.lot_i[last, L_JNEXT] = cand
            last = cand
            pieces += S.lot_i[cand, L_PIECES]
    _start_job(S, t, best, now)
    return True


# ---------------------------------------------------------------- a tool may take work
@_jit_inline
def _tool_free(S, t, now):
    """Tool ``t`` may be able to take work (job ended, repair or PM over)."""
    if S.tool_i[t, T_DOWN] == 1 or S.tool_i[t, T_INPM] == 1:
        return
    if S.tool_i[t, T_PMPEND] > 0:
        if S.tool_i[t, T_NJ] == 0:
            _start_pm(S, t, now)
        return
    _sync_avail(S.fam_i, S.tool_i, t)
    while S.tool_i[t, T_AVAIL] == 1 and S.fam_i[S.tool_i[t, T_FAM], FA_QLEN] > 0:
        if not _select(S, t, now):
            break


@_jit_inline
def _outage_over(S, t, now):
    """A repair or PM of tool ``t`` ended: repair a failure that waited for it, else the
    tool may take work."""
    b0 = S.tool_i[t, T_BD_FIRST]
    for b in range(b0, b0 + S.tool_i[t, T_BD_N]):
        if S.bd_i[b, B_PEND] == 1:
            _start_repair(S, b, now)
            return
    _tool_free(S, t, now)


# ---------------------------------------------------------------- lots: joining a queue, moving on
@_jit
def _next_performed(step_i, step_f, rng, g):
    """First step from ``g`` on that the lot performs (Bernoulli sampling by StepPercent)."""
    while g >= 0:
        sp = step_f[g, F_SAMP_P]
        if sp >= 1.0 or _rnd(rng, R_SAMPLING) < sp:
            return g
        g = step_i[g, S_NEXT]
    return -1


@_jit
def _arrive(S, lot, now):
    """Lot joins the queue of its step's family; ranking inputs are fixed now."""
    g = S.lot_i[lot, L_STEP]
    f = S.step_i[g, S_FAM]
    S.lot_f[lot, LF_QJOIN] = now
    kind = S.fam_i[f, FA_FINAL]
    if kind == K_FIFO:
        key = now
    elif kind == K_CR:
        # inputs fixed now (due date, remaining work for this lot's size); the ratio itself
        # is formed at each dispatching decision (_key), unless ST_CR_FROZEN
        rw = S.step_f[g, F_REMWORK] + S.lot_i[lot, L_PIECES] * S.step_f[g, F_REMWORK_N]
        rw = rw if rw > 1e-9 else 1e-9
        S.lot_f[lot, LF_RW] = rw
        frozen = S.st[ST_CR_FROZEN] == 1
        key = (S.lot_f[lot, LF_DUE] - now) / rw if frozen else S.lot_f[lot, LF_DUE]
    elif kind == K_EDD:
        key = S.lot_f[lot, LF_DUE]
    elif kind == K_SPT:
        key = S.step_f[g, F_MEANTIME]
    else:
        key = S.lot_f[lot, LF_UKEY]
    S.lot_f[lot, LF_KEY] = key
    S.lot_i[lot, L_KEYREADY] = 0
    S.lot_i[lot, L_STATE] = 1
    S.lot_i[lot, L_REQTOOL] = -1
    for k in range(N_LENS):
        if S.lot_i[lot, L_LENS + 2 * k] == g:
            S.lot_i[lot, L_REQTOOL] = S.lot_i[lot, L_LENS + 2 * k + 1]
            S.lot_i[lot, L_LENS + 2 * k] = -1
            break
    _q_append(S.fam_i, S.lot_i, f, lot)
    if S.fam_i[f, FA_AHEAD] < 0:
        return
    rq = S.lot_i[lot, L_REQTOOL]
    if rq >= 0:
        if S.tool_i[rq, T_AVAIL] == 1:
            _select(S, rq, now)
        return
    if S.fam_i[f, FA_HAS_SETUP] == 1:
        # wake_LeastSetupTime: the available tool needing the least setup; ties: idle longest
        empty_first = S.st[ST_EMPTY_FIRST] == 1
        tries = 0
        while S.lot_i[lot, L_QPREV] >= 0 or S.fam_i[f, FA_QHEAD] == lot:
            bt = -1
            bs = 0.0
            t = S.fam_i[f, FA_AHEAD]
            while t >= 0:
                s = _eligible(S.step_i, S.step_f, S.setup_t, S.tool_i, t, S.lot_i, lot)
                if s >= 0.0 and (
                    bt < 0
                    or s < bs
                    or (
                        s == bs
                        and empty_first
                        and S.tool_i[bt, T_NJ] > 0
                        and S.tool_i[t, T_NJ] == 0
                    )
                ):
                    bt = t
                    bs = s
                t = S.tool_i[t, T_ANEXT]
            if bt < 0:
                # no available tool may take this lot now; let the head tool look at its queue
                break
            _select(S, bt, now)
            tries += 1
            if tries > 3:
                break
        return
    # idle longest; on cascading families prefer an empty tool (unless ST_EMPTY_FIRST is 0)
    t = S.fam_i[f, FA_AHEAD]
    if S.fam_i[f, FA_CASC] == 1 and S.st[ST_EMPTY_FIRST] == 1:
        tt = t
        while tt >= 0:
            if S.tool_i[tt, T_NJ] == 0:
                t = tt
                break
            tt = S.tool_i[tt, T_ANEXT]
    _select(S, t, now)


@_jit_inline
def _advance(S, lot, g, now):
    """Lot finished step ``g``: rework decision, sampling of the next steps, transport."""
    S.lot_i[lot, L_NSTEPS] += 1
    ex = S.step_i[g, S_CQT_EXIT]
    if ex >= 0:
        slot = 0
        for k in range(N_CQ):
            if S.lot_i[lot, L_CQ + k] < 0:
                slot = k
                break
        S.lot_i[lot, L_CQ + slot] = ex
        S.lot_f[lot, LF_CQ + slot] = now + S.step_f[g, F_CQT]
    nxt = -1
    rp = S.step_f[g, F_RWK_P]
    if rp > 0.0 and _rnd(S.rng, R_REWORK) < rp:
        nxt = S.step_i[g, S_RWK]
        S.lot_i[lot, L_REWORKS] += 1
        S.st[ST_REWORKS] += 1
    else:
        nxt = _next_performed(S.step_i, S.step_f, S.rng, S.step_i[g, S_NEXT])
    if (
        S.st[ST_OPENREL] == 0
        and S.st[ST_NEXTREL] >= S.st[ST_NREL]
        and (
            nxt < 0
            or nxt != S.step_i[g, S_NEXT]
            or (S.step_i[g, S_RWKMIN] >= 0 and S.step_i[nxt, S_RWKMIN] != S.step_i[g, S_RWKMIN])
        )
    ):
        # no more releases, and this lot skipped a step, finished or can no longer return
        # by rework where it could before: a short batch or min-run lock waiting for it may end
        S.st[ST_POKE] = 1
    if nxt < 0:
        S.lot_i[lot, L_DONE] = 1
        S.lot_f[lot, LF_DONE_T] = now
        S.st[ST_COMPLETED] += 1
        S.st[ST_INFAB] -= 1
        return
    S.lot_i[lot, L_STEP] = nxt
    a = S.step_i[g, S_LOC]
    b = S.step_i[nxt, S_LOC]
    dt = 0.0
    kind = int(S.trans_f[a, b, 0])
    if kind >= 0:
        dt = _draw(S.rng, R_TRANSPORT, kind, S.trans_f[a, b, 1], S.trans_f[a, b, 2])
        if dt < 0.0:
            dt = 0.0
    S.lot_i[lot, L_STATE] = 0
    _push(S.ht, S.hi, S.st, now + dt, EV_ARRIVE, lot, 0)


# ---------------------------------------------------------------- event handlers
# One per event type; ``run`` pops the event and calls its handler. Every event is counted
# in ST_EVENTS except WIP samples and job ends a breakdown superseded. The frequent ones
# (arrival, job end, slot 1: about 99 % of events) are inlined into ``run``; the rare ones
# are called, which keeps ``run`` small. Measured (CPU, 200 days of HVLM, against the single
# loop these handlers replaced): all inlined +2.7 %, this split +0.3 to +2 % (noise about
# ±1.5 %), the slot-1 handler called too +4.5 %.
@_jit_inline
def _on_arrive(S, lot, now):
    """EV_ARRIVE: lot ``lot`` reaches the queue of its step (after transport)."""
    S.st[ST_EVENTS] += 1
    _arrive(S, lot, now)


@_jit_inline
def _on_jobend(S, j, tok, now):
    """EV_JOBEND: job ``j`` ends (unless a breakdown postponed it: token ``tok`` is stale).
    The tool counts its wafers towards PMs, its lots move on, it looks for work."""
    if S.job_i[j, J_TOKEN] != tok:
        return  # superseded by a breakdown that postponed this job
    S.st[ST_EVENTS] += 1
    t = S.job_i[j, J_TOOL]
    if S.tool_i[t, T_JOB0] == j:
        S.tool_i[t, T_JOB0] = S.tool_i[t, T_JOB1]
    S.tool_i[t, T_JOB1] = -1
    S.tool_i[t, T_NJ] -= 1
    if S.tool_i[t, T_NJ] == 0:
        S.tool_f[t, TF_BUSY] += _clip(
            S.tool_f[t, TF_BUSY_SINCE], now, S.stf[SF_WARM], S.stf[SF_END]
        )
    p0 = S.tool_i[t, T_PM_FIRST]
    for p in range(p0, p0 + S.tool_i[t, T_PM_N] if S.tool_i[t, T_NPCPM] > 0 else p0):
        if S.pm_i[p, P_BYPIECES] == 1:
            S.pm_f[p, PF_COUNT] += S.job_i[j, J_PIECES]
            if S.pm_i[p, P_PEND] == 0 and S.pm_f[p, PF_COUNT] >= S.pm_f[p, PF_THRESH]:
                S.pm_i[p, P_PEND] = 1
                S.tool_i[t, T_PMPEND] += 1
    lot = S.job_i[j, J_LOT]
    S.job_i[j, J_NEXTFREE] = S.st[ST_JOBFREE]
    S.st[ST_JOBFREE] = j
    while lot >= 0:
        nx = S.lot_i[lot, L_JNEXT]
        S.lot_i[lot, L_JNEXT] = -1
        gl = S.lot_i[lot, L_STEP]  # each lot of a batch advances on its own route
        _advance(S, lot, gl, now)
        lot = nx
    _sync_avail(S.fam_i, S.tool_i, t)
    _tool_free(S, t, now)
    if S.st[ST_POKE] == 1:
        S.st[ST_POKE] = 0
        for tt in range(S.tool_i.shape[0]):
            if S.tool_i[tt, T_AVAIL] == 1 and S.fam_i[S.tool_i[tt, T_FAM], FA_QLEN] > 0:
                _tool_free(S, tt, now)


@_jit
def _on_release(S, r, now):
    """EV_RELEASE: release ``r`` starts a lot (to its first performed step) and schedules
    the next release."""
    S.st[ST_EVENTS] += 1
    S.st[ST_NEXTREL] = r + 1
    lot = S.st[ST_NWIP] + r
    S.lot_i[lot, L_STREAM] = S.rel_i[r, R_STREAM]
    S.lot_i[lot, L_PRIO] = S.rel_i[r, R_PRIO]
    S.lot_i[lot, L_PIECES] = S.rel_i[r, R_PIECES]
    S.lot_f[lot, LF_RELEASE] = now
    S.lot_f[lot, LF_DUE] = S.rel_f[r, RF_DUE]
    S.st[ST_INFAB] += 1
    g = _next_performed(S.step_i, S.step_f, S.rng, S.rel_i[r, R_FIRST])
    if g < 0:
        S.lot_i[lot, L_DONE] = 1
        S.lot_f[lot, LF_DONE_T] = now
        S.st[ST_COMPLETED] += 1
        S.st[ST_INFAB] -= 1
    else:
        S.lot_i[lot, L_STEP] = g
        S.lot_i[lot, L_STATE] = 0
        _push(S.ht, S.hi, S.st, now, EV_ARRIVE, lot, 0)
    if r + 1 < S.st[ST_NREL]:
        _push(S.ht, S.hi, S.st, S.rel_f[r + 1, RF_TIME], EV_RELEASE, r + 1, 0)


@_jit
def _on_fail(S, b, now):
    """EV_FAIL: breakdown ``b`` strikes; repaired now, or after a PM / repair under way."""
    S.st[ST_EVENTS] += 1
    t = S.bd_i[b, B_TOOL]
    if S.tool_i[t, T_DOWN] == 1 or S.tool_i[t, T_INPM] == 1:
        S.bd_i[b, B_PEND] = 1  # repaired after the PM / the other repair
    else:
        _start_repair(S, b, now)


@_jit
def _on_repair(S, b, now):
    """EV_REPAIR: the repair of breakdown ``b`` ends; its next failure is drawn."""
    S.st[ST_EVENTS] += 1
    t = S.bd_i[b, B_TOOL]
    S.tool_i[t, T_DOWN] = 0
    ttf = _draw(S.rng, R_BREAK, S.bd_i[b, B_TTF_KIND], S.bd_f[b, BF_TTF], 0.0)
    _push(S.ht, S.hi, S.st, now + ttf, EV_FAIL, b, 0)
    _outage_over(S, t, now)


@_jit
def _on_pm_due(S, p, now):
    """EV_PMDUE: time-based PM ``p`` falls due; it starts when its tool is idle."""
    S.st[ST_EVENTS] += 1
    t = S.pm_i[p, P_TOOL]
    if S.pm_i[p, P_PEND] == 0:
        S.pm_i[p, P_PEND] = 1
        S.tool_i[t, T_PMPEND] += 1
        _sync_avail(S.fam_i, S.tool_i, t)
        if S.tool_i[t, T_NJ] == 0 and S.tool_i[t, T_DOWN] == 0 and S.tool_i[t, T_INPM] == 0:
            _start_pm(S, t, now)
    elif S.pm_i[p, P_BYPIECES] == 0:
        # still pending from the last occurrence: keep the start-to-start rhythm
        _push(S.ht, S.hi, S.st, now + S.pm_f[p, PF_INTERVAL], EV_PMDUE, p, 0)


@_jit
def _on_pm_end(S, p, now):
    """EV_PMEND: PM ``p`` ends."""
    S.st[ST_EVENTS] += 1
    t = S.pm_i[p, P_TOOL]
    S.tool_i[t, T_INPM] = 0
    S.pm_i[p, P_PEND] = 0
    S.tool_i[t, T_PMPEND] -= 1
    _outage_over(S, t, now)


@_jit_inline
def _on_slot1(S, t, now):
    """EV_SLOT1: cascading tool ``t``'s first slot is about to free (ST_CASC_S1 reading):
    it may take the next lot, unless a breakdown has moved the moment."""
    S.st[ST_EVENTS] += 1
    S.st[ST_SLOT1_EVENTS] += 1
    f = S.tool_i[t, T_FAM]
    free_at = S.tool_f[t, TF_SLOT1] - S.fam_f[f, FF_LOAD] - S.fam_f[f, FF_LEAD]
    if free_at > now:
        _push(S.ht, S.hi, S.st, free_at, EV_SLOT1, t, 0)  # a breakdown moved it
    else:
        S.tool_i[t, T_S1BUSY] = 0
        _tool_free(S, t, now)


@_jit
def _on_sample(S, now):
    """EV_SAMPLE: record the lots in the fab (not counted as an event)."""
    k = S.st[ST_NSAMPLE]
    if k < S.wip_out.shape[0]:
        S.wip_out[k] = S.st[ST_INFAB]
        S.st[ST_NSAMPLE] = k + 1
        _push(S.ht, S.hi, S.st, now + S.stf[SF_SAMPLE_DT], EV_SAMPLE, 0, 0)


@_jit
def _finish(S):
    """The horizon is reached: close the busy intervals still open (once)."""
    hend = S.stf[SF_END]
    if S.st[ST_FINISHED] == 0:
        for t in range(S.tool_i.shape[0]):
            if S.tool_i[t, T_NJ] > 0:
                S.tool_f[t, TF_BUSY] += _clip(
                    S.tool_f[t, TF_BUSY_SINCE], hend, S.stf[SF_WARM], hend
                )
        S.st[ST_FINISHED] = 1
    S.stf[SF_NOW] = hend


# ---------------------------------------------------------------- the event loop
@_jit
def run(S, stop_t):
    """Process events until simulated time passes ``stop_t`` (RC_PAUSED), the horizon ends
    (RC_DONE), a user key is needed for lot ``st[ST_REQLOT]`` (RC_NEED_KEY), the user rule
    is to re-key the queued lots at the time of the next event (RC_REKEY), or an internal
    capacity is exceeded (RC_ERROR). Each event goes to its handler (``_on_*`` above)."""
    hend = S.stf[SF_END]
    user = S.st[ST_USER] == 1
    rekey = S.st[ST_REKEY] == 1
    while True:
        if S.st[ST_ERR] != 0:
            return RC_ERROR
        top = _top(S.ht, S.hi, S.st)
        if top < 0 or S.ht[top] > hend:
            _finish(S)
            return RC_DONE
        now = S.ht[top]
        if now > stop_t:
            S.stf[SF_NOW] = stop_t
            return RC_PAUSED
        pay = S.hi[top, Q_PAY]
        typ = pay & ((1 << _TYPE_BITS) - 1)
        ident = (pay >> _TYPE_BITS) & ((1 << _IDENT_BITS) - 1)
        tok = pay >> (_TYPE_BITS + _IDENT_BITS)
        if rekey and now > S.stf[SF_REKEY_T]:
            # every decision from here on happens at ``now``: keys formed now are current
            S.stf[SF_REKEY_T] = now
            S.stf[SF_NOW] = now
            return RC_REKEY
        if user and typ == EV_ARRIVE and S.lot_i[ident, L_KEYREADY] == 0:
            S.st[ST_REQLOT] = ident
            S.stf[SF_NOW] = now
            return RC_NEED_KEY
        _pop(S.ht, S.hi, S.st, top)
        if typ == EV_ARRIVE:
            _on_arrive(S, ident, now)
        elif typ == EV_JOBEND:
            _on_jobend(S, ident, tok, now)
        elif typ == EV_RELEASE:
            _on_release(S, ident, now)
        elif typ == EV_FAIL:
            _on_fail(S, ident, now)
        elif typ == EV_REPAIR:
            _on_repair(S, ident, now)
        elif typ == EV_PMDUE:
            _on_pm_due(S, ident, now)
        elif typ == EV_PMEND:
            _on_pm_end(S, ident, now)
        elif typ == EV_SLOT1:
            _on_slot1(S, ident, now)
        elif typ == EV_SAMPLE:
            _on_sample(S, now)
