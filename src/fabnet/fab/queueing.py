"""Queueing approximations for a wafer fab: Kingman (G/G/1), Sakasegawa (G/G/m) and friends.

Pure numpy functions, vectorised over arrays (scalars work too and come back as
0-d arrays). Times are in any one unit (the fab code uses minutes); rates are per
the same unit.

Notation (Hopp & Spearman, *Factory Physics*, 3rd ed., ch. 8–9):

* ``te``  effective process time of one job on one tool, ``ce2`` its squared
  coefficient of variation (SCV = variance / mean²);
* ``ra``  arrival rate of jobs to the station, ``ca2`` SCV of inter-arrival times;
* ``m``   number of identical parallel tools; ``u = ra·te/m`` utilisation.

Sources: J. F. C. Kingman, "The single server queue in heavy traffic", Proc.
Cambridge Phil. Soc. 57 (1961) 902–904; H. Sakasegawa, "An approximation formula
L_q ≈ α·ρ^β/(1−ρ)", Annals of the Inst. of Statistical Mathematics 29 (1977)
67–75; W. Whitt, "The Queueing Network Analyzer", Bell System Technical Journal
62 (1983) 2779–2815 (merging, splitting, linking of SCVs); W. J. Hopp and
M. L. Spearman, *Factory Physics* (outages eq. 8.6–8.7, linking eq. 8.10,
Kingman/Sakasegawa eq. 8.8/8.12, batching ch. 9).

The second half of the module applies these formulas to a whole fab
(:func:`fab_gg_m_curve`): a network of stations (tool families) visited by
re-entrant routes, solved station by station with the QNA linking equations.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from fabnet.fab.route_flow import job_occupancy_min, lone_lot_time_min, route_visits

if TYPE_CHECKING:
    from fabnet.fab.model import Dist, FabModel, Step, ToolFamily

FloatArray = npt.NDArray[np.float64]

__all__ = [
    "FloatArray",
    "QueueNetwork",
    "QueueStation",
    "QueueVisit",
    "departure_scv",
    "erlang_c",
    "fab_gg_m_curve",
    "kingman_wait",
    "mm1_wait",
    "mmm_wait",
    "network_from_model",
    "nonpreemptive_outage",
    "preemptive_outage",
    "sakasegawa_wait",
    "setup_rate",
    "solve_network",
    "utilization",
    "wait_to_batch",
    "x_factor",
]


def _f(x: npt.ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def utilization(ra: npt.ArrayLike, te: npt.ArrayLike, m: npt.ArrayLike = 1) -> FloatArray:
    """Utilisation ``u = ra · te / m`` (share of the tools' time spent on jobs)."""
    return _f(ra) * _f(te) / _f(m)


def x_factor(cycle_time: npt.ArrayLike, raw_process_time: npt.ArrayLike) -> FloatArray:
    """X-factor ``CT / T0``: cycle time as a multiple of the raw (empty-fab) process time."""
    return _f(cycle_time) / _f(raw_process_time)


def kingman_wait(
    ca2: npt.ArrayLike, ce2: npt.ArrayLike, u: npt.ArrayLike, te: npt.ArrayLike
) -> FloatArray:
    """Mean time in queue of a G/G/1 station, Kingman's (1961) heavy-traffic "VUT" formula.

    ``Wq = ((ca² + ce²) / 2) · (u / (1 − u)) · te``  (Hopp & Spearman eq. 8.8).
    Exact for M/M/1 (ca² = ce² = 1) and for M/G/1 (Pollaczek–Khinchine, ca² = 1).
    Returns ``inf`` where ``u ≥ 1``.
    """
    u_ = _f(u)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = (_f(ca2) + _f(ce2)) / 2.0 * (u_ / (1.0 - u_)) * _f(te)
    return np.where(u_ < 1.0, w, np.inf)


def sakasegawa_wait(
    ca2: npt.ArrayLike,
    ce2: npt.ArrayLike,
    u: npt.ArrayLike,
    te: npt.ArrayLike,
    m: npt.ArrayLike,
) -> FloatArray:
    """Mean time in queue of a G/G/m station, Sakasegawa's (1977) approximation.

    ``Wq = ((ca² + ce²) / 2) · (u^(√(2(m+1)) − 1) / (m (1 − u))) · te``
    (Hopp & Spearman eq. 8.12). Reduces to Kingman for ``m = 1``; for M/M/m it is
    within a few percent of the exact Erlang-C value at the loads of interest.
    Returns ``inf`` where ``u ≥ 1`` and 0 where ``u = 0``.
    """
    u_ = _f(u)
    m_ = _f(m)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        power = np.power(np.clip(u_, 0.0, None), np.sqrt(2.0 * (m_ + 1.0)) - 1.0)
        w = (_f(ca2) + _f(ce2)) / 2.0 * power / (m_ * (1.0 - u_)) * _f(te)
    return np.where(u_ < 1.0, np.where(u_ > 0.0, w, 0.0), np.inf)


def mm1_wait(u: npt.ArrayLike, te: npt.ArrayLike) -> FloatArray:
    """Exact mean time in queue of M/M/1: ``Wq = u / (1 − u) · te``."""
    return kingman_wait(1.0, 1.0, u, te)


def erlang_c(u: float, m: int) -> float:
    """Erlang-C probability that an arriving job waits in an M/M/m queue at utilisation ``u``.

    ``C(m, a) = (a^m/m!)/(1−u) / (Σ_{k<m} a^k/k! + (a^m/m!)/(1−u))`` with offered load
    ``a = m·u`` (Erlang 1917; Hopp & Spearman eq. 8.11 context). Evaluated with the
    numerically stable Erlang-B recursion.
    """
    if not 0.0 <= u < 1.0:
        return 1.0 if u >= 1.0 else 0.0
    a = m * u
    b = 1.0  # Erlang B with 0 servers
    for k in range(1, m + 1):
        b = a * b / (k + a * b)
    return b / (1.0 - u * (1.0 - b))


def mmm_wait(u: float, te: float, m: int) -> float:
    """Exact mean time in queue of M/M/m: ``Wq = C(m, a) · te / (m (1 − u))``."""
    if u >= 1.0:
        return math.inf
    return erlang_c(u, m) * te / (m * (1.0 - u))


def preemptive_outage(
    t0: npt.ArrayLike,
    c02: npt.ArrayLike,
    availability: npt.ArrayLike,
    mr: npt.ArrayLike,
    cr2: npt.ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """Effective process time and SCV with preemptive outages (breakdowns, calendar PMs).

    ``te = t0 / A`` and ``ce² = c0² + (1 + cr²) · A (1 − A) · mr / t0`` with mean outage
    duration ``mr`` and its SCV ``cr²`` (Hopp & Spearman eq. 8.6–8.7).
    """
    a = _f(availability)
    t0_ = _f(t0)
    te = t0_ / a
    ce2 = _f(c02) + (1.0 + _f(cr2)) * a * (1.0 - a) * _f(mr) / t0_
    return te, ce2


def nonpreemptive_outage(
    t0: npt.ArrayLike,
    var0: npt.ArrayLike,
    ts: npt.ArrayLike,
    var_s: npt.ArrayLike,
    ns: npt.ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """Effective time and variance with an outage of ``ts`` every ``ns`` jobs (setups, count PMs).

    ``te = t0 + ts/Ns``; ``σe² = σ0² + σs²/Ns + (Ns − 1)/Ns² · ts²``
    (Hopp & Spearman eq. 8.9). Returns ``(te, σe²)``; ``ns = inf`` means no outage.
    """
    ns_ = _f(ns)
    with np.errstate(divide="ignore", invalid="ignore"):
        add = np.where(np.isfinite(ns_), _f(ts) / ns_, 0.0)
        var = np.where(
            np.isfinite(ns_),
            _f(var_s) / ns_ + (ns_ - 1.0) / ns_**2 * _f(ts) ** 2,
            0.0,
        )
    return _f(t0) + add, _f(var0) + var


def departure_scv(
    ca2: npt.ArrayLike, ce2: npt.ArrayLike, u: npt.ArrayLike, m: npt.ArrayLike
) -> FloatArray:
    """SCV of departures from a G/G/m station, the linking equation.

    ``cd² = 1 + (1 − u²)(ca² − 1) + u² (ce² − 1) / √m`` (Whitt 1983; Hopp & Spearman
    eq. 8.10).
    """
    u_ = np.clip(_f(u), 0.0, 1.0)
    return 1.0 + (1.0 - u_**2) * (_f(ca2) - 1.0) + u_**2 * (_f(ce2) - 1.0) / np.sqrt(_f(m))


def wait_to_batch(k: npt.ArrayLike, ra: npt.ArrayLike) -> FloatArray:
    """Mean time a lot waits for its batch of ``k`` lots to form: ``(k − 1) / (2 ra)``.

    ``ra`` is the arrival rate of lots of the batch's family (Hopp & Spearman ch. 9,
    "wait-to-batch time", parallel batching with Poisson-free steady arrivals).
    """
    ra_ = _f(ra)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ra_ > 0, (_f(k) - 1.0) / (2.0 * ra_), 0.0)


# ---------------------------------------------------------------------------
# A fab as a queueing network
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueStation:
    """One tool family seen as a G/G/m station.

    ``tools`` parallel tools; ``availability`` the share of calendar time not down and
    not in calendar PM (preemptive outages, mean duration ``outage_mean_min`` with SCV
    ``outage_scv``); count-based PMs are non-preemptive: ``count_pm_min`` of PM every
    ``count_pm_every_wafers`` wafers processed by a tool (``inf`` = none).
    """

    name: str
    tools: int
    availability: float = 1.0
    outage_mean_min: float = 0.0
    outage_scv: float = 1.0
    count_pm_min: float = 0.0
    count_pm_scv: float = 0.0
    count_pm_every_wafers: float = math.inf


@dataclass(frozen=True)
class QueueVisit:
    """One step of one product's route as seen by the queueing model.

    ``share``: expected number of times a lot performs the step (sampling share and any
    number of rework repeats, :func:`fabnet.fab.route_flow.expected_performances`). ``job_min`` / ``job_var_min2``: mean and variance of the
    tool occupancy per job (a lot, or a batch of ``batch_min_lots``..``batch_lots``
    lots), load/unload included, setup excluded. ``flow_min``: the lot's own time at the
    tool once started, setup excluded (differs from ``job_min`` on cascading tools);
    ``raw_min`` the time counted in the raw process time. ``transport_min``: expected
    transport into the step (already × share).

    Setups: a lot needs a changeover with chance ``r``, which then takes
    ``setup_change_min`` on average (second moment ``setup_change_min2``). ``r`` is
    ``setup_rate`` when that is ≥ 0; otherwise it depends on the queue (see
    :func:`setup_rate`) through the state's share ``setup_state_share`` of the family's
    setup lots, its share ``setup_queue_share`` of all the family's lots, and the
    minimum run ``min_run_lots``.
    """

    product: str
    step: int
    station: int
    share: float
    job_min: float
    job_var_min2: float
    flow_min: float
    raw_min: float
    wafers_per_lot: float = 25.0
    batch_lots: float = 1.0
    batch_min_lots: float = 1.0
    transport_min: float = 0.0
    previous_station: int = -1  # -1: released into this step
    setup_change_min: float = 0.0
    setup_change_min2: float = 0.0
    setup_rate: float = 0.0
    setup_state_share: float = 1.0
    setup_queue_share: float = 1.0
    min_run_lots: float = 1.0


def setup_rate(
    waiting_lots: npt.ArrayLike,
    state_share: npt.ArrayLike,
    queue_share: npt.ArrayLike,
    min_run_lots: npt.ArrayLike = 1.0,
) -> FloatArray:
    """Chance per lot that a tool changes its setup, for a setup-avoiding dispatcher.

    A tool that just ran a lot in state ``s`` keeps its state if a lot of ``s`` waits.
    With ``L`` lots waiting (geometric with mean ``waiting_lots``), each of state ``s``
    with chance ``queue_share``, and a random next lot otherwise, the run ends after a lot
    with chance ``p = (1 − q_s) / (1 + L · queue_share)`` (``q_s`` = ``state_share``
    among the setup lots; ``E[x^L] = 1/(1 + L(1 − x))`` for a geometric ``L``). A minimum
    run of ``k`` lots forces ``k − 1`` more lots after each change, so runs last
    ``k − 1 + 1/p`` lots and ``r = 1 / (k − 1 + 1/p)``. With ``L = 0`` and ``k = 1`` this
    is random order, ``r = 1 − q_s``. (A modelling choice of this module, not a textbook
    formula; it makes setups rarer as queues grow, as rank_RSETUP does.)
    """
    lq = np.maximum(_f(waiting_lots), 0.0)
    q = _f(state_share)
    qa = _f(queue_share)
    k = np.maximum(_f(min_run_lots), 1.0)
    p = (1.0 - q) / (1.0 + lq * qa)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(p > 0, 1.0 / (k - 1.0 + 1.0 / np.where(p > 0, p, 1.0)), 0.0)
    return _f(r)


@dataclass(frozen=True)
class QueueNetwork:
    """A fab as stations, route visits and nominal release rates (lots/min per product)."""

    stations: tuple[QueueStation, ...]
    visits: tuple[QueueVisit, ...]
    release_lots_per_min: dict[str, float]
    release_scv: dict[str, float] = field(default_factory=dict)

    @property
    def products(self) -> list[str]:
        """Product names in release order."""
        return list(self.release_lots_per_min)

    @cached_property
    def arrays(self) -> dict[str, FloatArray]:
        """The visits' fields as arrays (computed once)."""
        vs = self.visits
        out: dict[str, FloatArray] = {}
        for name in (
            "share", "job_min", "job_var_min2", "flow_min", "raw_min", "wafers_per_lot",
            "batch_lots", "batch_min_lots", "transport_min", "setup_change_min",
            "setup_change_min2", "setup_rate", "setup_state_share", "setup_queue_share",
            "min_run_lots",
        ):  # fmt: skip
            out[name] = np.array([getattr(v, name) for v in vs], dtype=float)
        out["station"] = np.array([v.station for v in vs], dtype=float)
        out["previous_station"] = np.array([v.previous_station for v in vs], dtype=float)
        rate = self.release_lots_per_min
        out["release_rate"] = np.array([rate[v.product] for v in vs], dtype=float)
        out["release_scv"] = np.array(
            [self.release_scv.get(v.product, 0.0) for v in vs], dtype=float
        )
        return out


@dataclass(frozen=True)
class NetworkSolution:
    """The G/G/m prediction at one load.

    ``stations``: DataFrame with columns ``station``, ``tools``, ``load_pct`` (capacity
    in use: ``ra·te/m``, outages and count PMs included — what drives the queue),
    ``utilization_pct`` (busy incl. setups, load and unload, as a share of the time not
    down and not in PM: the reference KPI's definition), ``setup_pct`` (of calendar time),
    ``batch_lots`` (effective batch size), ``te_min``, ``ca2``, ``ce2`` (per job),
    ``wait_min`` (mean time in queue), ``waiting_lots``. ``products``: DataFrame with
    ``product``, ``cycle_time_days``, ``raw_process_time_days``, ``x_factor``.
    """

    load: float
    stations: pd.DataFrame
    products: pd.DataFrame


@dataclass
class _Stats:
    job_rate: FloatArray
    lot_rate: FloatArray
    te: FloatArray
    ce2: FloatArray
    load: FloatArray  # capacity in use, share
    busy: FloatArray  # busy share of calendar time (setup, load, process, unload)
    count_pm: FloatArray  # count-PM share of calendar time
    setup: FloatArray  # setup share of calendar time
    k_v: FloatArray  # effective batch size per visit (lots)
    lot_rate_v: FloatArray
    setup_v: FloatArray  # expected setup minutes per job of each visit


def _station_stats(net: QueueNetwork, load: float, pi: FloatArray, waiting: FloatArray) -> _Stats:
    """Station rates, effective process times and loads when batch stations start batches
    of ``min + (max − min)·pi`` lots and ``waiting`` lots wait at each station."""
    ns = len(net.stations)
    a = net.arrays
    st_v = a["station"].astype(int)
    lot_rate_v = a["release_rate"] * load * a["share"]
    k_v = a["batch_min_lots"] + (a["batch_lots"] - a["batch_min_lots"]) * pi[st_v]
    job_rate_v = lot_rate_v / k_v
    r_v = np.where(
        a["setup_rate"] >= 0,
        a["setup_rate"],
        setup_rate(
            waiting[st_v], a["setup_state_share"], a["setup_queue_share"], a["min_run_lots"]
        ),
    )
    su_v = r_v * a["setup_change_min"]
    su_var = np.maximum(r_v * a["setup_change_min2"] - su_v**2, 0.0)
    t_v = a["job_min"] + su_v
    var_v = a["job_var_min2"] + su_var
    w_v = a["wafers_per_lot"] * k_v

    def per_station(weights: FloatArray) -> FloatArray:
        return _f(np.bincount(st_v, weights=weights, minlength=ns))

    job_rate = per_station(job_rate_v)
    lot_rate = per_station(lot_rate_v)
    safe = np.where(job_rate > 0, job_rate, 1.0)
    t0 = per_station(job_rate_v * t_v) / safe
    second = per_station(job_rate_v * (var_v + t_v**2)) / safe
    var0 = np.maximum(second - t0**2, 0.0)
    wafers = per_station(job_rate_v * w_v) / safe
    m = np.array([max(s.tools, 1) for s in net.stations], dtype=float)

    te = np.zeros(ns)
    ce2 = np.ones(ns)
    count_pm = np.zeros(ns)
    for j, s in enumerate(net.stations):
        if job_rate[j] <= 0 or t0[j] <= 0:
            continue
        # count-based PM: a PM of count_pm_min every (every_wafers / wafers per job) jobs
        ns_jobs = s.count_pm_every_wafers / max(wafers[j], 1e-12)
        tpm, varpm = nonpreemptive_outage(
            t0[j], var0[j], s.count_pm_min, s.count_pm_scv * s.count_pm_min**2, ns_jobs
        )
        count_pm[j] = job_rate[j] * (float(tpm) - t0[j]) / m[j]
        c02 = float(varpm) / float(tpm) ** 2
        tej, ce2j = preemptive_outage(
            float(tpm), c02, s.availability, s.outage_mean_min, s.outage_scv
        )
        te[j] = float(tej)
        ce2[j] = float(ce2j)
    return _Stats(
        job_rate=job_rate,
        lot_rate=lot_rate,
        te=te,
        ce2=ce2,
        load=utilization(job_rate, te, m),
        busy=job_rate * t0 / m,
        count_pm=count_pm,
        setup=per_station(job_rate_v * su_v) / m,
        k_v=k_v,
        lot_rate_v=lot_rate_v,
        setup_v=su_v,
    )


def _batch_fill(net: QueueNetwork, load: float, waiting: FloatArray) -> FloatArray:
    """Share ``pi`` per station between the minimum (0) and maximum (1) batch size.

    A batch starts at the minimum size when a tool is free and fills further only while
    all tools are busy; ``pi`` is taken as the Erlang-C probability that all tools are
    busy at the resulting load, solved by bisection (the load falls as ``pi`` rises).
    Stations without batch steps get 0.
    """
    ns = len(net.stations)
    a = net.arrays
    is_batch = np.zeros(ns, dtype=bool)
    is_batch[a["station"].astype(int)[a["batch_lots"] > a["batch_min_lots"]]] = True
    lo = np.zeros(ns)
    hi = np.ones(ns)
    if not is_batch.any():
        return lo
    tools = [max(s.tools, 1) for s in net.stations]
    idx = np.flatnonzero(is_batch)
    for _ in range(40):
        mid = np.where(is_batch, (lo + hi) / 2.0, 0.0)
        st = _station_stats(net, load, mid, waiting)
        busy = np.zeros(ns)
        busy[idx] = [erlang_c(float(st.load[j]), tools[j]) for j in idx]
        up = busy > mid  # fixed point lies above mid
        lo = np.where(up, mid, lo)
        hi = np.where(up, hi, mid)
    return np.where(is_batch, (lo + hi) / 2.0, 0.0)


def _linked_ca2(
    net: QueueNetwork, st: _Stats, k_station: FloatArray, linking: bool, iterations: int
) -> FloatArray:
    """Arrival SCV of lots per station from the QNA linking equations (1 without linking)."""
    ns = len(net.stations)
    if not linking:
        return np.ones(ns)
    a = net.arrays
    st_v = a["station"].astype(int)
    prev_v = a["previous_station"].astype(int)
    share_v = np.clip(a["share"], 0.0, 1.0)
    m = np.array([max(s.tools, 1) for s in net.stations], dtype=float)
    safe_lot = np.where(st.lot_rate > 0, st.lot_rate, 1.0)
    ca2 = np.ones(ns)
    cd2 = np.ones(ns)
    for _ in range(iterations):
        upstream = np.where(prev_v >= 0, cd2[np.maximum(prev_v, 0)], a["release_scv"])
        ca2_v = share_v * upstream + (1.0 - share_v)
        new_ca2 = _f(np.bincount(st_v, weights=st.lot_rate_v * ca2_v, minlength=ns)) / safe_lot
        new_ca2 = np.where(st.lot_rate > 0, new_ca2, 1.0)
        new_cd2 = departure_scv(new_ca2 / k_station, st.ce2, np.minimum(st.load, 1.0), m)
        done = float(np.max(np.abs(new_cd2 - cd2))) < 1e-10
        ca2, cd2 = new_ca2, new_cd2
        if done:
            break
    return ca2


def _k_station(net: QueueNetwork, st: _Stats) -> FloatArray:
    """Lot-weighted mean batch size per station (1 without batches)."""
    ns = len(net.stations)
    st_v = net.arrays["station"].astype(int)
    kb = _f(np.bincount(st_v, weights=st.lot_rate_v * st.k_v, minlength=ns))
    safe = np.where(st.lot_rate > 0, st.lot_rate, 1.0)
    return np.where(st.lot_rate > 0, kb / safe, 1.0)


def _waits(net: QueueNetwork, st: _Stats, ca2: FloatArray) -> FloatArray:
    m = np.array([max(s.tools, 1) for s in net.stations], dtype=float)
    w = sakasegawa_wait(ca2 / _k_station(net, st), st.ce2, st.load, st.te, m)
    return np.where(st.job_rate > 0, w, 0.0)


def _solve_waiting(
    net: QueueNetwork, load: float, pi: FloatArray, ca2: FloatArray, dep: npt.NDArray[np.bool_]
) -> FloatArray:
    """Mean lots waiting per station where setups depend on the queue (``dep``), solved
    by bisection: more waiting lots → fewer setups → less load → fewer waiting lots."""
    ns = len(net.stations)
    lo = np.zeros(ns)
    hi = np.full(ns, 1e6)
    for _ in range(40):
        mid = np.where(dep, np.expm1((np.log1p(lo) + np.log1p(hi)) / 2.0), 0.0)
        st = _station_stats(net, load, pi, mid)
        f = st.lot_rate * _waits(net, st, ca2)  # Little: lots waiting = rate × wait
        up = f > mid
        lo = np.where(dep & up, mid, lo)
        hi = np.where(dep & ~up, mid, hi)
    return np.where(dep, hi, 0.0)


def solve_network(
    net: QueueNetwork, load: float = 1.0, *, linking: bool = True, iterations: int = 200
) -> NetworkSolution:
    """Predict station waits and product cycle times at ``load`` × nominal release rates.

    Arrival SCVs come from the QNA linking equations (Whitt 1983): the lots arriving at
    a step are the departures of the previous step's station (``cd²``), thinned by the
    step's sampling share ``p`` (``p·cd² + 1 − p``) and merged at each station weighted
    by rate; releases have the SCV of ``release_scv`` (0 for constant intervals). With
    ``linking=False`` every station sees ``ca² = 1``. Batch stations: jobs are batches
    whose size lies between the step's minimum and maximum (:func:`_batch_fill`); the
    batches' ``ca²`` is the lots' divided by the batch size, and a lot also waits
    ``(k_min − 1)/(2 ra)`` for its batch to form. Lot departures from a batch station are
    given the batch departures' SCV (a simplification). Where setups depend on the queue
    (:func:`setup_rate`), the number of waiting lots is solved jointly with the waits.
    A lot's time at a visit is ``wait + wait-to-batch + (flow + setup) / A`` plus
    transport. Stations at or beyond saturation give ``inf`` waits.
    """
    ns = len(net.stations)
    a = net.arrays
    st_v = a["station"].astype(int)
    dep = np.zeros(ns, dtype=bool)
    dep[st_v[(a["setup_rate"] < 0) & (a["setup_change_min"] > 0)]] = True
    waiting = np.zeros(ns)
    pi = np.zeros(ns)
    ca2 = np.ones(ns)
    for _ in range(2 if dep.any() else 1):
        if dep.any():
            waiting = _solve_waiting(net, load, pi, ca2, dep)
        pi = _batch_fill(net, load, waiting)
        st = _station_stats(net, load, pi, waiting)
        ca2 = _linked_ca2(net, st, _k_station(net, st), linking, iterations)
    st = _station_stats(net, load, pi, waiting)
    k_station = _k_station(net, st)
    wait = _waits(net, st, ca2)
    avail = np.array([s.availability for s in net.stations], dtype=float)
    up = avail - st.count_pm
    with np.errstate(divide="ignore", invalid="ignore"):
        util_ref = np.where(up > 0, st.busy / up, np.inf)

    stations = pd.DataFrame(
        {
            "station": [s.name for s in net.stations],
            "tools": [s.tools for s in net.stations],
            "load_pct": 100.0 * st.load,
            "utilization_pct": 100.0 * util_ref,
            "setup_pct": 100.0 * st.setup,
            "batch_lots": k_station,
            "te_min": st.te,
            "ca2": ca2 / k_station,
            "ce2": st.ce2,
            "wait_min": wait,
            "waiting_lots": st.lot_rate * wait,
        }
    )
    share = a["share"]
    wtb = np.zeros(len(share))
    is_b = (a["batch_lots"] > 1) & (share > 0)
    if is_b.any():
        wtb[is_b] = wait_to_batch(a["batch_min_lots"][is_b], st.lot_rate_v[is_b] / share[is_b])
    with np.errstate(invalid="ignore"):
        time_v = wait[st_v] + wtb + (a["flow_min"] + st.setup_v) / avail[st_v]
    per_visit = np.where(share > 0, share * time_v, 0.0) + a["transport_min"]
    raw = share * a["raw_min"] + a["transport_min"]
    products = net.products
    pidx = {p: i for i, p in enumerate(products)}
    pv = np.array([pidx[v.product] for v in net.visits], dtype=int)
    with np.errstate(invalid="ignore"):
        ct = _f(np.bincount(pv, weights=per_visit, minlength=len(products)))
    rpt = _f(np.bincount(pv, weights=raw, minlength=len(products)))
    if np.isinf(per_visit).any():
        ct = np.where(
            _f(np.bincount(pv, weights=np.isinf(per_visit).astype(float), minlength=len(products)))
            > 0,
            np.inf,
            ct,
        )
    day = 1440.0
    prod = pd.DataFrame(
        {
            "product": products,
            "cycle_time_days": ct / day,
            "raw_process_time_days": rpt / day,
        }
    )
    prod["x_factor"] = prod["cycle_time_days"] / prod["raw_process_time_days"]
    return NetworkSolution(load=load, stations=stations, products=prod)


def _dist_var(d: Dist, uniform_half_width: bool = True) -> float:
    """Variance of a :class:`~fabnet.fab.model.Dist` (uniform ``A ± B``: ``B²/3``)."""
    if d.kind == "uniform":
        half = d.spread if uniform_half_width else d.spread / 2.0
        return half * half / 3.0
    if d.kind == "exponential":
        return d.mean * d.mean
    return 0.0


def _dist_scv(d: Dist, uniform_half_width: bool = True) -> float:
    return _dist_var(d, uniform_half_width) / d.mean**2 if d.mean > 0 else 0.0


def _station_of_family(model: FabModel, fam: ToolFamily, uniform_half_width: bool) -> QueueStation:
    """Tools, availability and outage statistics of one family from the calendars.

    Breakdowns (``down``, attached to the family's group or the family) and calendar PMs
    are preemptive outages: share of time ``MTTR/(MTTF+MTTR)`` and ``duration/interval``
    (start-to-start); their mean duration and SCV are the frequency-weighted mix.
    Count-based PMs are non-preemptive: ``Σ duration_i / interval_i`` minutes per wafer.
    """
    downs = {c.name: c for c in model.down_calendars}
    pms = {c.name: c for c in model.pm_calendars}
    frac = 0.0
    rate = 0.0
    second = 0.0
    pm_per_wafer = 0.0
    pm_rate_per_wafer = 0.0
    pm_second = 0.0
    for a in model.attachments:
        target = fam.group if a.res_type == "stngrp" else fam.name
        if a.res_name != target:
            continue
        if a.cal_type == "down" and a.calendar in downs:
            dc = downs[a.calendar]
            cycle = dc.ttf.mean + dc.ttr.mean
            if cycle <= 0:
                continue
            frac += dc.ttr.mean / cycle
            rate += 1.0 / cycle
            second += (dc.ttr.mean**2 + _dist_var(dc.ttr, uniform_half_width)) / cycle
        elif a.cal_type == "pm" and a.calendar in pms:
            pc = pms[a.calendar]
            if pc.interval <= 0:
                continue
            d2 = pc.duration.mean**2 + _dist_var(pc.duration, uniform_half_width)
            if pc.by_pieces:
                pm_per_wafer += pc.duration.mean / pc.interval
                pm_rate_per_wafer += 1.0 / pc.interval
                pm_second += d2 / pc.interval
            else:
                frac += pc.duration.mean / pc.interval
                rate += 1.0 / pc.interval
                second += d2 / pc.interval
    avail = max(1.0 - frac, 1e-6)
    mr = frac / rate if rate > 0 else 0.0
    cr2 = (second / rate) / mr**2 - 1.0 if mr > 0 else 1.0
    pm_every = 1.0 / pm_rate_per_wafer if pm_rate_per_wafer > 0 else math.inf
    pm_mean = pm_per_wafer * pm_every if pm_rate_per_wafer > 0 else 0.0
    pm_scv = (pm_second / pm_rate_per_wafer) / pm_mean**2 - 1.0 if pm_mean > 0 else 0.0
    return QueueStation(
        name=fam.name,
        tools=fam.n_tools,
        availability=avail,
        outage_mean_min=mr,
        outage_scv=max(cr2, 0.0),
        count_pm_min=pm_mean,
        count_pm_scv=max(pm_scv, 0.0),
        count_pm_every_wafers=pm_every,
    )


def network_from_model(
    model: FabModel,
    *,
    uniform_half_width: bool = True,
    setup_share: float | None = None,
) -> QueueNetwork:
    """The queueing network of a loaded SMT2020 model (one station per tool family).

    Per step: tool occupancy per job = load + processing + unload (``per_piece``: one
    draw × wafers; ``per_batch``: one job per batch of ``BATCHMX`` wafers); cascading
    tools are occupied ``wafers · max(c, p − c)`` (``PartInterval`` c) or ``max(b, p − b)``
    (``BatchInterval`` b) per lot, while the lot itself takes ``p + (n − 1) c`` (§8 of
    FORMAT.md). Setups: the changeover time given a change is the mean over the other
    states (weighted by their lot flow) of the route's ``STIME``, else the ``setup.txt``
    exact pair, else its "from any" row; the chance per lot of a change falls with the
    queue (:func:`setup_rate`, with the state's ``MINRUN``), or is ``setup_share`` ÷
    ``MINRUN`` when ``setup_share`` is given.
    Visits: expected performances per step, sampling and any number of rework repeats
    (:func:`fabnet.fab.route_flow.expected_performances`). Transport into a step: the
    expected moves into it from the previous *performed* step (or a rework) × the mean of
    the ``fromto.txt`` row between their locations.
    """
    fams = {f.name: f for f in model.families}
    fam_index = {f.name: i for i, f in enumerate(model.families)}
    stations = tuple(_station_of_family(model, f, uniform_half_width) for f in model.families)
    pieces: dict[str, int] = {}
    rate: dict[str, float] = {}
    scv_w: dict[str, float] = {}
    for r in model.releases:
        if r.interval.mean <= 0:
            continue
        lam = r.lots_per_release / r.interval.mean
        rate[r.part] = rate.get(r.part, 0.0) + lam
        scv_w[r.part] = scv_w.get(r.part, 0.0) + lam * _dist_scv(r.interval, uniform_half_width)
        pieces.setdefault(r.part, r.pieces)
    release_scv = {p: scv_w[p] / rate[p] for p in rate if rate[p] > 0}
    products = [p for p in model.products if p.name in rate and p.route in model.routes]

    # setup-state shares per family (weighted by lot flow) for the expected setup time
    state_flow: dict[str, dict[str, float]] = {}
    fam_flow: dict[str, float] = {}
    perf: dict[str, FloatArray] = {}
    trans_in: dict[str, FloatArray] = {}
    for p in products:
        route = model.routes[p.route]
        perf[p.name], trans_in[p.name] = route_visits(model, route, fams)
        for s, v in zip(route.steps, perf[p.name].tolist(), strict=True):
            fam_flow[s.family] = fam_flow.get(s.family, 0.0) + rate[p.name] * v
            if s.setup:
                d = state_flow.setdefault(s.family, {})
                d[s.setup] = d.get(s.setup, 0.0) + rate[p.name] * v
    change: dict[tuple[str | None, str], float] = {}
    for sc in model.setups:
        change[(sc.current, sc.new)] = sc.time_min
    minrun = {(m.setup): m.min_run_lots for m in model.min_runs if m.min_run_lots > 0}

    def setup_fields(s: Step) -> dict[str, float]:
        """Changeover time moments given a change, state shares, min run and rate."""
        if not s.setup:
            return {}
        flows = state_flow.get(s.family, {})
        tot = sum(flows.values())
        own = flows.get(s.setup, 0.0)
        others = tot - own
        if tot <= 0 or others <= 0:
            return {}
        mean = 0.0
        second = 0.0
        for prev, q in flows.items():
            if prev == s.setup:
                continue
            if s.setup_time_min is not None:
                t = s.setup_time_min
            else:
                t = change.get((prev, s.setup), change.get((None, s.setup), 0.0))
            mean += q / others * t
            second += q / others * t * t
        run = float(minrun.get(s.setup, 1))
        return {
            "setup_change_min": mean,
            "setup_change_min2": second,
            "setup_rate": -1.0 if setup_share is None else setup_share / run,
            "setup_state_share": own / tot,
            "setup_queue_share": own / fam_flow[s.family],
            "min_run_lots": run,
        }

    visits: list[QueueVisit] = []
    for p in products:
        route = model.routes[p.route]
        n = pieces[p.name]
        prev_station = -1
        for s, v, t_in in zip(route.steps, perf[p.name], trans_in[p.name], strict=True):
            fam = fams[s.family]
            lu = fam.load_min + fam.unload_min
            batch_lots = 1.0
            batch_min = 1.0
            if s.per == "batch":
                batch_lots = (s.batch_max_pieces or n) / n
                batch_min = (s.batch_min_pieces or s.batch_max_pieces or n) / n
            job, jvar = job_occupancy_min(
                s.per,
                s.ptime.mean,
                _dist_var(s.ptime, uniform_half_width),
                n,
                lu,
                cascading=fam.cascading,
                part_interval_min=s.part_interval_min,
                batch_interval_min=s.batch_interval_min,
            )
            flow = lone_lot_time_min(s, fam.load_min, fam.unload_min, n, fam.cascading)
            visits.append(
                QueueVisit(
                    product=p.name,
                    step=s.number,
                    station=fam_index[fam.name],
                    share=float(v),
                    job_min=job,
                    job_var_min2=jvar,
                    flow_min=flow,
                    raw_min=flow,
                    wafers_per_lot=float(n),
                    batch_lots=batch_lots,
                    batch_min_lots=batch_min,
                    transport_min=float(t_in),
                    previous_station=prev_station,
                    **setup_fields(s),
                )
            )
            prev_station = fam_index[fam.name]
    return QueueNetwork(
        stations=stations,
        visits=tuple(visits),
        release_lots_per_min={p.name: rate[p.name] for p in products},
        release_scv={p.name: release_scv[p.name] for p in products},
    )


def fab_gg_m_curve(
    model: FabModel,
    loads: Sequence[float],
    *,
    linking: bool = True,
    uniform_half_width: bool = True,
    setup_share: float | None = None,
    raw_process_time_days: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """G/G/m prediction of cycle time per product at each load (× nominal release rates).

    Everything comes from the model's own data: arrival rates from the order file
    (lots per release interval × ``load``), visits per tool family from the routes
    (expected performances: sampling and rework, :mod:`fabnet.fab.route_flow`),
    process-time means and SCVs
    (uniform ``A ± B`` has variance ``B²/3``), number of tools, availability from the
    breakdown and calendar-PM data, count-based PMs, expected setups and batch sizes.

    Returns one row per (load, product) with columns ``load``, ``product``,
    ``ggm_cycle_time_days``, ``raw_process_time_days``, ``ggm_x_factor``,
    ``bottleneck_group`` (highest predicted utilisation at nominal load) and
    ``ggm_bottleneck_utilization_pct``. ``raw_process_time_days`` (per product) replaces
    this module's own raw process time in the x-factor, e.g. to use the simulator's.
    Loads at or beyond saturation give ``inf`` cycle times.
    """
    net = network_from_model(model, uniform_half_width=uniform_half_width, setup_share=setup_share)
    nominal = solve_network(net, 1.0, linking=linking)
    b = int(np.argmax(nominal.stations["load_pct"].to_numpy()))
    bname = str(nominal.stations["station"].iloc[b])
    rows: list[dict[str, object]] = []
    for load in loads:
        sol = solve_network(net, float(load), linking=linking)
        ub = float(sol.stations["utilization_pct"].iloc[b])
        prods = sol.products
        for product, own_rpt, ct in zip(
            prods["product"].astype(str),
            prods["raw_process_time_days"].to_numpy(dtype=float),
            prods["cycle_time_days"].to_numpy(dtype=float),
            strict=True,
        ):
            rpt = float(own_rpt)
            if raw_process_time_days is not None and product in raw_process_time_days:
                rpt = float(raw_process_time_days[product])
            rows.append(
                {
                    "load": float(load),
                    "product": product,
                    "ggm_cycle_time_days": float(ct),
                    "raw_process_time_days": rpt,
                    "ggm_x_factor": ct / rpt if rpt > 0 else math.nan,
                    "bottleneck_group": bname,
                    "ggm_bottleneck_utilization_pct": ub,
                }
            )
    return pd.DataFrame(rows)
