"""Column layouts of the fab kernel's tables: which column of which array holds what.

The kernel (:mod:`fabnet.fab.engine`) keeps all state in numpy arrays, built by
:mod:`fabnet.fab.compile` and read back by :mod:`fabnet.fab.kpi` and
:mod:`fabnet.fab.simulate`; this module is the one place that names their columns. Each table
is a 2-D array with one row per thing and a ``*_i`` (int64) and a ``*_f`` (float64) half; its
columns are the constants of one prefix below, ``N_*`` the number of columns. Times are in
minutes, ``-1`` means none. The arrays themselves are the fields of
:class:`fabnet.fab.engine.State`.

Only plain ints live here: the kernel reads them as compile-time constants (``engine.py``
imports ``*``). numba's cache is keyed on ``engine.py``, so ``engine.py`` also keys it on a
digest of these values (:func:`fabnet.fab.engine.layout_digest`): editing this file
recompiles the kernel.
"""

# ---------------------------------------------------------------- step_i / step_f: route steps
# one row per route step of every route (global step index g); int columns
S_FAM, S_PER, S_SETUP, S_FORSTEP, S_SAVE, S_RWK, S_NEXT, S_ROUTE = 0, 1, 2, 3, 4, 5, 6, 7
S_BMIN, S_BMAX, S_LOC, S_PDIST, S_CASC = 8, 9, 10, 11, 12
S_BKEY = 13  # batch compatibility class: the step itself (same route step) or its DESC
S_CQT_EXIT = 14  # exit step of the queue-time window this step opens (-1: none)
S_RWKMIN = 15  # earliest step a rework at this step or a later one sends a lot back to (-1: none)
N_SI = 16
# float columns
F_PT, F_PT2, F_STIME, F_CASC_C, F_RWK_P, F_SAMP_P, F_REMWORK, F_MEANTIME = 0, 1, 2, 3, 4, 5, 6, 7
# statistics written by the kernel: queue wait sums and counts, regular (PRIOR <= 10) / hot lots
F_WSUM_REG, F_WN_REG, F_WSUM_HOT, F_WN_HOT = 8, 9, 10, 11
F_CQT = 12  # queue-time window length (minutes)
# expected remaining work from this step on for a lot of n wafers (FORMAT.md §8.1):
# F_REMWORK + n * F_REMWORK_N minutes
F_REMWORK_N = 13
N_SF = 14

# ---------------------------------------------------------------- fam_i / fam_f: tool families
# one row per tool family, with its queue (a list of lots) and its available tools (a list)
FA_FIRST, FA_N, FA_CASC, FA_WAKE_LST, FA_USE_HP, FA_USE_RS, FA_FINAL = 0, 1, 2, 3, 4, 5, 6
FA_QHEAD, FA_QTAIL, FA_QLEN, FA_AHEAD, FA_ATAIL = 7, 8, 9, 10, 11
FA_HAS_SETUP, FA_HAS_MINRUN, FA_HAS_BATCH = 12, 13, 14
# FIFO fast path: 1 if the family ranks by (priority, queue arrival) only; number of queued
# lots above the lowest priority of the model, and that priority
FA_FASTFIFO, FA_NHOT, FA_BASEPRIO = 15, 16, 17
N_FAI = 18
# float columns
FF_LOAD, FF_UNLOAD = 0, 1
FF_LEAD = 2  # longest setup a lot may need on the family (minutes)
N_FAF = 3

# ---------------------------------------------------------------- tool_i / tool_f: tools
# one row per tool; T_JOB0 / T_JOB1: the jobs on it (a cascading tool holds two)
T_FAM, T_NJ, T_DOWN, T_INPM, T_PMPEND, T_SETUP, T_MINRUN, T_JOB0, T_JOB1 = 0, 1, 2, 3, 4, 5, 6, 7, 8
T_AVAIL, T_ANEXT, T_APREV = 9, 10, 11  # T_ANEXT / T_APREV: links of the family's list
T_BD_FIRST, T_BD_N, T_PM_FIRST, T_PM_N, T_CAP = 12, 13, 14, 15, 16
T_NSETUPS, T_NJOBS = 17, 18
T_S1BUSY = 19  # 1: a cascading tool's first slot is taken (it takes no lot until it frees)
T_NPCPM = 20  # PMs of the tool counted in wafers (0: a job end need not look at its PMs)
N_TI = 21
# float columns: time accumulated inside the statistics window (minutes)
TF_SLOT1, TF_BUSY_SINCE, TF_BUSY, TF_SETUP, TF_DOWN, TF_PM, TF_DOWNBUSY = 0, 1, 2, 3, 4, 5, 6
N_TF = 7

# ---------------------------------------------------------------- lot_i / lot_f: lots
# one row per lot: initial WIP first, then released lots in release order
L_STEP, L_PRIO, L_STREAM, L_PIECES, L_QNEXT, L_QPREV, L_JNEXT, L_DONE = 0, 1, 2, 3, 4, 5, 6, 7
L_WIP, L_REQTOOL, L_KEYREADY, L_SEL, L_NSTEPS, L_REWORKS, L_LENS = 8, 9, 10, 11, 12, 13, 14
N_LENS = 4  # lens slots: (forstep, tool) pairs at L_LENS + 2k, L_LENS + 2k + 1
L_STATE = L_LENS + 2 * N_LENS  # 0 moving to a queue, 1 in a queue, 2 on a tool
N_CQ = 2  # open queue-time windows per lot: exit step at L_CQ + k, deadline at LF_CQ + k
L_CQ = L_STATE + 1
L_CQVIOL = L_CQ + N_CQ
N_LI = L_CQVIOL + 1
# float columns
LF_RELEASE, LF_DUE, LF_DONE_T, LF_QJOIN, LF_KEY, LF_UKEY, LF_WAIT = 0, 1, 2, 3, 4, 5, 6
LF_CQ = 7
LF_RW = LF_CQ + N_CQ  # expected remaining work of the lot at its queue step (minutes)
N_LF = LF_RW + 1

# ---------------------------------------------------------------- job_i / job_f: jobs
# one row per job slot (a lot or batch on a tool); free slots chained by J_NEXTFREE
J_TOOL, J_LOT, J_STEP, J_PIECES, J_TOKEN, J_NEXTFREE, J_NLOTS = 0, 1, 2, 3, 4, 5, 6
N_JI = 7
JF_END = 0
N_JF = 1
# event queue nodes (hi): insertion sequence, payload token << 28 | ident << 4 | type, next node
# of its bucket (or of the free list), bucket number (time / width); ht: the event's time
Q_SEQ, Q_PAY, Q_NEXT, Q_VB = 0, 1, 2, 3
N_QI = 4

# ---------------------------------------------------------------- bd_i / bd_f: breakdowns
# one row per breakdown instance (a tool's own failure process)
B_TOOL, B_PEND, B_TTF_KIND, B_TTR_KIND = 0, 1, 2, 3
N_BI = 4
BF_TTF, BF_TTR = 0, 1
N_BF = 2

# ---------------------------------------------------------------- pm_i / pm_f: PMs
# one row per preventive-maintenance instance (by time or by wafers processed)
P_TOOL, P_BYPIECES, P_PEND, P_DUR_KIND = 0, 1, 2, 3
N_PI = 4
PF_INTERVAL, PF_DUR, PF_DUR2, PF_COUNT, PF_THRESH = 0, 1, 2, 3, 4
N_PF = 5

# ---------------------------------------------------------------- rel_i / rel_f: releases
# one row per release, in time order
R_STREAM, R_PRIO, R_PIECES, R_FIRST = 0, 1, 2, 3
N_RI = 4
RF_TIME, RF_DUE = 0, 1
N_RF = 2

# ---------------------------------------------------------------- st / stf: scalar state
# st (int64): counters, switches of the readings (SimOptions), heap size
ST_HSIZE, ST_SEQ, ST_EVENTS, ST_JOBFREE, ST_NEXTREL, ST_NSAMPLE, ST_REQLOT = 0, 1, 2, 3, 4, 5, 6
ST_COMPLETED, ST_INFAB, ST_USER, ST_ERR, ST_FINISHED, ST_NWIP, ST_NREL = 7, 8, 9, 10, 11, 12, 13
ST_STARTS, ST_BATCHES, ST_SETUPS, ST_REWORKS, ST_FAILS, ST_PMS = 14, 15, 16, 17, 18, 19
ST_PLAIN_RESETS = 20  # 1: a lot without setup requirement leaves the tool in no setup (B6)
ST_OPENREL = 21  # 1: some release stream goes on past the horizon (lots can always arrive)
ST_CQVIOL = 22  # queue-time window violations (counted only, reading A3)
ST_HOTBATCH = 23  # 1: a lot above the lowest priority starts its batch below BATCHMN
ST_POKE = 24  # 1: a possible arrival has vanished; waiting short batches / locks look again
ST_CASC_S1 = 25  # 1: a cascading tool takes the next lot only once its first slot frees
ST_CR_FROZEN = 26  # 1: the critical ratio is formed at queue arrival (first pass), not at selection
ST_RS_STIME = 27  # 1: rank_RSETUP ranks by the route's STIME too (first pass), not setup.txt only
ST_REKEY = 28  # 1: the user rule re-keys every queued lot whenever simulated time advances
ST_CASC_BACK = 29  # 1: a cascading tool still able to take a lot after a start goes to the back
ST_EMPTY_FIRST = 30  # 1: on cascading families an empty tool comes before one holding a lot
ST_SLOT1_EVENTS = 31  # slot-1 events handled (not counted by the compiled peer, FORMAT.md §8)
ST_BATCH_EXACT = 32  # 1: lot sizes differ, so a batch key qualifies by the batch it would form
# the event queue (a calendar queue, engine._push): first free node, first bucket node, number
# of buckets (a power of 2), current bucket (time / width, never wraps), events taken
ST_QFREE, ST_QBASE, ST_QNB, ST_QCUR, ST_QPOPS = 33, 34, 35, 36, 37
N_ST = 38
# stf (float64): times (minutes)
SF_NOW, SF_END, SF_WARM, SF_SAMPLE_DT = 0, 1, 2, 3
SF_REKEY_T = 4  # time the user rule last re-keyed the queued lots (ST_REKEY)
N_SF_STATE = 5

# ---------------------------------------------------------------- codes
# event types (the low bits of an event's heap payload)
EV_RELEASE, EV_ARRIVE, EV_JOBEND, EV_FAIL, EV_REPAIR = 0, 1, 2, 3, 4
EV_PMDUE, EV_PMEND, EV_SAMPLE = 5, 6, 7
EV_SLOT1 = 8  # a cascading tool's first slot frees (ST_CASC_S1 reading)
# final ranking keys (fam_i[:, FA_FINAL])
K_FIFO, K_CR, K_EDD, K_SPT, K_USER = 0, 1, 2, 3, 4
# distribution kinds
D_CONST, D_UNIFORM, D_EXP = 0, 1, 2
# RNG streams (one per purpose, FORMAT.md §8): rows of the ``rng`` array
R_PROC, R_TRANSPORT, R_BREAK, R_PM, R_SAMPLING, R_REWORK = 0, 1, 2, 3, 4, 5
N_RNG = 6
# return codes of engine.run()
RC_PAUSED, RC_DONE, RC_NEED_KEY, RC_ERROR, RC_REKEY = 0, 1, 2, 3, 4
