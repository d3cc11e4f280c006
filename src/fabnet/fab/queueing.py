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
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

if TYPE_CHECKING:
    from fabnet.fab.model import FabModel

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

    ``share``: expected number of times a lot performs the step (sampling share, plus
    expected rework repeats). ``job_min`` / ``job_var_min2``: mean and variance of the
    tool occupancy per job (a lot, or a batch of ``batch_lots`` lots), load/unload and
    expected setup included. ``flow_min``: the lot's own time at the tool once started
    (differs from ``job_min`` on cascading tools). ``transport_min``: expected transport
    into the step. ``batch_min_lots``: smallest batch that may start.
    """

    product: str
    step: int
    station: int
    share: float
    job_min: float
    job_var_min2: float
    flow_min: float
    wafers_per_job: float
    batch_lots: float = 1.0
    batch_min_lots: float = 1.0
    transport_min: float = 0.0
    previous_station: int = -1  # -1: released into this step


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


@dataclass(frozen=True)
class NetworkSolution:
    """The G/G/m prediction at one load.

    ``stations``: DataFrame with columns ``station``, ``tools``, ``utilization_pct``
    (of available time), ``te_min``, ``ca2``, ``ce2``, ``wait_min``.
    ``products``: DataFrame with ``product``, ``cycle_time_days``, ``raw_process_time_days``,
    ``x_factor``.
    """

    load: float
    stations: pd.DataFrame
    products: pd.DataFrame


def _station_stats(
    net: QueueNetwork, load: float
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Per station: job arrival rate, lot arrival rate, te, ce², u, and per visit lot rate."""
    ns = len(net.stations)
    lot_rate_v = np.array(
        [net.release_lots_per_min[v.product] * load * v.share for v in net.visits], dtype=float
    )
    k_v = np.array([v.batch_lots for v in net.visits], dtype=float)
    job_rate_v = lot_rate_v / k_v
    st_v = np.array([v.station for v in net.visits], dtype=int)
    t_v = np.array([v.job_min for v in net.visits], dtype=float)
    var_v = np.array([v.job_var_min2 for v in net.visits], dtype=float)
    w_v = np.array([v.wafers_per_job for v in net.visits], dtype=float)

    job_rate = np.bincount(st_v, weights=job_rate_v, minlength=ns)
    lot_rate = np.bincount(st_v, weights=lot_rate_v, minlength=ns)
    safe = np.where(job_rate > 0, job_rate, 1.0)
    t0 = np.bincount(st_v, weights=job_rate_v * t_v, minlength=ns) / safe
    second = np.bincount(st_v, weights=job_rate_v * (var_v + t_v**2), minlength=ns) / safe
    var0 = np.maximum(second - t0**2, 0.0)
    wafers = np.bincount(st_v, weights=job_rate_v * w_v, minlength=ns) / safe

    te = np.zeros(ns)
    ce2 = np.ones(ns)
    util = np.zeros(ns)
    for j, s in enumerate(net.stations):
        if job_rate[j] <= 0 or t0[j] <= 0:
            continue
        # count-based PM: a PM of count_pm_min every (every_wafers / wafers per job) jobs
        ns_jobs = s.count_pm_every_wafers / max(wafers[j], 1e-12)
        tpm, varpm = nonpreemptive_outage(
            t0[j], var0[j], s.count_pm_min, s.count_pm_scv * s.count_pm_min**2, ns_jobs
        )
        c02 = float(varpm) / float(tpm) ** 2
        tej, ce2j = preemptive_outage(
            float(tpm), c02, s.availability, s.outage_mean_min, s.outage_scv
        )
        te[j] = float(tej)
        ce2[j] = float(ce2j)
        util[j] = float(utilization(job_rate[j], te[j], s.tools))
    return job_rate, lot_rate, te, ce2, util, lot_rate_v


def solve_network(
    net: QueueNetwork, load: float = 1.0, *, linking: bool = True, iterations: int = 200
) -> NetworkSolution:
    """Predict station waits and product cycle times at ``load`` × nominal release rates.

    Arrival SCVs come from the QNA linking equations (Whitt 1983): the lots arriving at
    a step are the departures of the previous step's station (``cd²``), thinned by the
    step's sampling share ``p`` (``p·cd² + 1 − p``) and merged at each station weighted
    by rate; releases have the SCV of ``release_scv`` (0 for constant intervals). With
    ``linking=False`` every station sees ``ca² = 1``. Batch stations: jobs are batches of
    ``batch_lots`` lots (``ca²`` divided by the batch size) plus the wait-to-batch time
    for a batch of ``batch_min_lots``. Lot departures from a batch station are given
    the batch departures' SCV (a simplification). A lot's time at a visit is
    ``wait + wait-to-batch + flow / A`` (processing stretched by outages) plus transport.
    """
    ns = len(net.stations)
    job_rate, lot_rate, te, ce2, util, lot_rate_v = _station_stats(net, load)
    m = np.array([max(s.tools, 1) for s in net.stations], dtype=float)
    st_v = np.array([v.station for v in net.visits], dtype=int)
    prev_v = np.array([v.previous_station for v in net.visits], dtype=int)
    share_v = np.clip(np.array([min(v.share, 1.0) for v in net.visits], dtype=float), 0, 1)
    rel_scv_v = np.array([net.release_scv.get(v.product, 0.0) for v in net.visits], dtype=float)
    k_station = np.ones(ns)
    kb = np.bincount(
        st_v,
        weights=lot_rate_v * np.array([v.batch_lots for v in net.visits]),
        minlength=ns,
    )
    k_station = np.where(lot_rate > 0, kb / np.where(lot_rate > 0, lot_rate, 1.0), 1.0)

    ca2 = np.ones(ns)
    if linking:
        cd2 = np.ones(ns)
        safe_lot = np.where(lot_rate > 0, lot_rate, 1.0)
        for _ in range(iterations):
            upstream = np.where(prev_v >= 0, cd2[np.maximum(prev_v, 0)], rel_scv_v)
            ca2_v = share_v * upstream + (1.0 - share_v)
            new_ca2 = np.bincount(st_v, weights=lot_rate_v * ca2_v, minlength=ns) / safe_lot
            new_ca2 = np.where(lot_rate > 0, new_ca2, 1.0)
            job_ca2 = new_ca2 / k_station
            new_cd2 = departure_scv(job_ca2, ce2, np.minimum(util, 0.999999), m)
            done = np.max(np.abs(new_cd2 - cd2)) < 1e-10
            ca2, cd2 = new_ca2, new_cd2
            if done:
                break
    job_ca2 = ca2 / k_station
    wait = sakasegawa_wait(job_ca2, ce2, util, te, m)
    wait = np.where(job_rate > 0, wait, 0.0)
    avail = np.array([s.availability for s in net.stations], dtype=float)

    stations = pd.DataFrame(
        {
            "station": [s.name for s in net.stations],
            "tools": [s.tools for s in net.stations],
            "utilization_pct": 100.0 * util,
            "te_min": te,
            "ca2": job_ca2,
            "ce2": ce2,
            "wait_min": wait,
        }
    )
    ct: dict[str, float] = dict.fromkeys(net.products, 0.0)
    rpt: dict[str, float] = dict.fromkeys(net.products, 0.0)
    for i, v in enumerate(net.visits):
        lot_rate_step = lot_rate_v[i] / max(v.share, 1e-300)
        wtb = float(wait_to_batch(v.batch_min_lots, lot_rate_step)) if v.batch_lots > 1 else 0.0
        flow = v.flow_min / avail[v.station]
        ct[v.product] += v.share * (float(wait[v.station]) + wtb + flow) + v.transport_min
        rpt[v.product] += v.share * v.flow_min + v.transport_min
    day = 1440.0
    products = pd.DataFrame(
        {
            "product": net.products,
            "cycle_time_days": [ct[p] / day for p in net.products],
            "raw_process_time_days": [rpt[p] / day for p in net.products],
        }
    )
    products["x_factor"] = products["cycle_time_days"] / products["raw_process_time_days"]
    return NetworkSolution(load=load, stations=stations, products=products)


def network_from_model(model: FabModel, **kwargs: Any) -> QueueNetwork:
    """Build the queueing network of a loaded SMT2020 model (see :mod:`fabnet.fab.ggm_model`)."""
    from fabnet.fab.ggm_model import build_network

    return build_network(model, **kwargs)


def fab_gg_m_curve(
    model: FabModel, loads: Sequence[float], *, linking: bool = True, **kwargs: Any
) -> pd.DataFrame:
    """G/G/m prediction of cycle time per product at each load (× nominal release rates).

    Everything comes from the model's own data: arrival rates from the order file
    (lots per release interval × ``load``), visits per tool family from the routes
    (sampling shares and expected rework repeats), process-time means and SCVs
    (uniform ``A ± B`` has variance ``B²/3``), number of tools, availability from the
    breakdown and calendar-PM data, count-based PMs, expected setups and batch sizes.

    Returns one row per (load, product) with columns ``load``, ``product``,
    ``ggm_cycle_time_days``, ``raw_process_time_days``, ``ggm_x_factor``,
    ``bottleneck_group`` (highest predicted utilisation at nominal load) and
    ``ggm_bottleneck_utilization_pct``.
    """
    net = network_from_model(model, **kwargs)
    nominal = solve_network(net, 1.0, linking=linking)
    b = int(np.argmax(nominal.stations["utilization_pct"].to_numpy()))
    bname = str(nominal.stations["station"].iloc[b])
    rows: list[dict[str, object]] = []
    for load in loads:
        sol = solve_network(net, float(load), linking=linking)
        ub = float(sol.stations["utilization_pct"].iloc[b])
        for rec in sol.products.itertuples(index=False):
            rows.append(
                {
                    "load": float(load),
                    "product": rec.product,
                    "ggm_cycle_time_days": rec.cycle_time_days,
                    "raw_process_time_days": rec.raw_process_time_days,
                    "ggm_x_factor": rec.x_factor,
                    "bottleneck_group": bname,
                    "ggm_bottleneck_utilization_pct": ub,
                }
            )
    return pd.DataFrame(rows)
