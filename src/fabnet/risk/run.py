"""Monte Carlo of a plan against the scenario's disruption catalogue: the orchestration.

:func:`run_risk` draws samples (:class:`~fabnet.risk.sampler.Sampler`, streams keyed by
``(seed, sample index)``), evaluates each with the plan's recourse LP
(:class:`~fabnet.risk.recourse.Recourse`, built once per worker) through the one
parallel-map helper (:func:`fabnet.parallel.parallel_map`), and turns the outcomes into a
summary and tidy tables (columns in :data:`RISK_TABLE_COLUMNS`). It never prints or writes
files: the CLI stores the result.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from fabnet.parallel import parallel_map, worker_cached
from fabnet.risk.recourse import Method, Outcome, Recourse, RecourseSpec, SampleBatch
from fabnet.risk.sampler import catalogue_sampler
from fabnet.risk.stats import stress_figures, summarise, var_cvar

#: Columns of every table of a risk run (stored as ``risk_<name>``).
RISK_TABLE_COLUMNS: dict[str, list[str]] = {
    # one row per sample: its cost (PV USD, unmet penalty included), its spend (without the
    # penalty), mean unmet PFLOP/s over the horizon, service level 0-1, the events drawn
    "samples": [
        "sample", "cost_pv_usd", "spend_pv_usd", "unmet_pflops", "service_level", "n_events",
        "events",
    ],
    # unmet PFLOP/s per year across samples: mean and percentiles (the fan chart)
    "unmet_years": ["year", "mean", "p5", "p25", "p50", "p75", "p95"],
    # per event type: samples in which it occurred, mean unmet PFLOP/s and cost over them
    "by_event": [
        "event", "samples_hit", "share_hit", "expected_unmet_pflops", "expected_cost_usd",
    ],
    # each site / supplier out alone for its recovery time (time-to-survive analysis)
    "stress": [
        "kind", "target", "onset_year", "time_to_survive_days", "lost_pflops_years",
        "extra_cost_usd",
    ],
    # running estimates from the first n samples
    "convergence": [
        "n", "mean_cost_usd", "cvar_cost_usd", "mean_unmet_pflops", "cvar_unmet_pflops",
    ],
}  # fmt: skip

#: Samples per task: enough work per task (≥ 100 ms at a few ms per sample) to hide the
#: scheduling cost, small enough to balance two workers and show progress.
DEFAULT_CHUNK = 50
#: Up to this many samples run in the calling process unless workers are asked for.
SMALL_RUN = 500


@dataclass(frozen=True)
class RiskOptions:
    """What to sample and how to evaluate it."""

    samples: int = 1000
    seed: int = 0
    #: Catalogue event ids to draw (None: the whole catalogue).
    events: tuple[str, ...] | None = None
    #: ``exact`` (re-optimise the flows) or ``screen`` (scale the plan's flows, no LP).
    method: Method = "exact"
    #: Tail level of VaR and CVaR.
    alpha: float = 0.95
    #: Also knock out each site and supplier alone (time to survive).
    stress: bool = False
    #: Calendar year of the outage in stress tests (None: the sampler's default).
    stress_onset_year: int | None = None
    chunk_size: int = DEFAULT_CHUNK
    workers: int | None = None
    scheduler: str | None = None


@dataclass(frozen=True)
class _Task:
    """What a worker needs to evaluate samples (picklable, light)."""

    spec: RecourseSpec
    seed: int
    events: tuple[str, ...] | None
    method: Method
    key: str


@dataclass
class _Chunk:
    """Outcomes of a run of consecutive samples and the events each drew."""

    start: int
    batch: SampleBatch
    events: list[list[str]]
    #: peak resident memory of the process that evaluated the chunk, MiB
    peak_rss_mib: float = 0.0


@dataclass
class RiskResult:
    """A finished risk run: summary (the ``--json`` object), tables, notes and timings."""

    summary: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    messages: list[str] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)


class _Worker:
    """The per-process recourse model and sampler of one task."""

    def __init__(self, task: _Task) -> None:
        self.recourse = Recourse(task.spec)
        self.sampler = catalogue_sampler(self.recourse.data, task.spec.scenario, task.events)


def _worker(task: _Task) -> _Worker:
    return worker_cached(task.key, lambda: _Worker(task))


def evaluate_range(task: _Task, bounds: tuple[int, int]) -> _Chunk:
    """Draw and evaluate samples ``bounds[0] .. bounds[1] - 1`` (one task of the map)."""
    w = _worker(task)
    start, stop = bounds
    fn = w.recourse.evaluate if task.method == "exact" else w.recourse.screen
    outs: list[Outcome] = []
    events: list[list[str]] = []
    for i in range(start, stop):
        eff = w.sampler.draw(task.seed, i)
        outs.append(fn(eff))
        events.append([h.event for h in eff.events])
    batch = SampleBatch.from_outcomes(outs, task.method, w.recourse.data.year_list)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    return _Chunk(start=start, batch=batch, events=events, peak_rss_mib=rss)


def stress_case(task: _Task, case: tuple[int, float | None]) -> dict[str, Any]:
    """Evaluate stress case ``case[0]`` of the sampler (outage from year ``case[1]``)."""
    w = _worker(task)
    k, onset_year = case
    kind, target, eff = w.sampler.stress_cases(onset_year)[k]
    onset = eff.events[0].start_year if eff.events else float("nan")
    out = w.recourse.evaluate(eff)
    base = w.recourse.baseline
    fig = stress_figures(out, base, onset, w.recourse.data)
    return {
        "kind": kind,
        "target": target,
        "onset_year": onset,
        "time_to_survive_days": (
            float("inf") if fig.time_to_survive_days is None else fig.time_to_survive_days
        ),
        "lost_pflops_years": fig.lost_pflops_years,
        "extra_cost_usd": out.cost_pv_usd - base.cost_pv_usd,
    }


def _quantile_table(years: Sequence[int], unmet: np.ndarray) -> pd.DataFrame:
    if unmet.size == 0:
        return pd.DataFrame(columns=RISK_TABLE_COLUMNS["unmet_years"])
    q = np.percentile(unmet, [5, 25, 50, 75, 95], axis=0)
    return pd.DataFrame(
        {
            "year": list(years),
            "mean": unmet.mean(axis=0),
            "p5": q[0],
            "p25": q[1],
            "p50": q[2],
            "p75": q[3],
            "p95": q[4],
        }
    )


def _convergence(cost: np.ndarray, unmet: np.ndarray, alpha: float) -> pd.DataFrame:
    n = cost.size
    points = sorted({int(k) for k in np.unique(np.geomspace(10, n, 12).round()) if k <= n} | {n})
    rows = [
        {
            "n": k,
            "mean_cost_usd": float(cost[:k].mean()),
            "cvar_cost_usd": var_cvar(cost[:k], alpha)[1],
            "mean_unmet_pflops": float(unmet[:k].mean()),
            "cvar_unmet_pflops": var_cvar(unmet[:k], alpha)[1],
        }
        for k in points
        if k >= 1
    ]
    return pd.DataFrame(rows, columns=RISK_TABLE_COLUMNS["convergence"])


def _workers_for(o: RiskOptions) -> int | None:
    """In process for small runs (a cluster costs ~1–2 s to start); else the user's choice."""
    if o.scheduler is not None or o.workers is not None:
        return o.workers
    return 1 if o.samples <= SMALL_RUN else None


def run_risk(
    spec: RecourseSpec,
    options: RiskOptions,
    progress: Callable[[str, int, int], None] | None = None,
) -> RiskResult:
    """Evaluate the plan of ``spec`` on ``options.samples`` sampled disruption timelines.

    ``progress(step, done, total)`` is called as chunks finish. Results do not depend on
    the number of workers or the chunk size (streams keyed by sample index).
    """
    t0 = time.perf_counter()
    o = options
    # one worker object per plan and event selection (the sampler depends on both)
    key = f"risk:{spec.key()}:{','.join(o.events) if o.events is not None else '*'}"
    task = _Task(spec, o.seed, o.events, o.method, key)
    # Build the model and check the event selection here: errors surface before any worker
    # starts, and in-process runs reuse this cached worker.
    w = _worker(task)
    data = w.recourse.data
    base = w.recourse.baseline
    size = max(1, o.chunk_size)
    bounds = [(a, min(a + size, o.samples)) for a in range(0, o.samples, size)]
    timings: dict[str, float] = {"setup": time.perf_counter() - t0}
    workers = _workers_for(o)

    def tick(done: int, total: int) -> None:
        if progress:
            progress("samples", min(o.samples, done * size), o.samples)

    t1 = time.perf_counter()
    chunks: list[_Chunk] = parallel_map(
        partial(evaluate_range, task),
        bounds,
        workers=workers,
        scheduler=o.scheduler,
        chunk_size=1,
        progress=tick,
    )
    timings["samples"] = time.perf_counter() - t1
    chunks.sort(key=lambda c: c.start)
    batch = SampleBatch.concat([c.batch for c in chunks])
    events = [e for c in chunks for e in c.events]
    unmet = batch.unmet_pflops.mean(axis=1)
    summ = summarise(batch, events, alpha=o.alpha).to_json()
    samples = pd.DataFrame(
        {
            "sample": np.arange(len(batch)),
            "cost_pv_usd": batch.cost_pv_usd,
            "spend_pv_usd": batch.spend_pv_usd,
            "unmet_pflops": unmet,
            "service_level": batch.service_level,
            "n_events": [len(e) for e in events],
            "events": [",".join(e) for e in events],
        },
        columns=RISK_TABLE_COLUMNS["samples"],
    )
    by_event = pd.DataFrame(summ.get("by_event", []))
    if by_event.empty:
        by_event = pd.DataFrame(columns=RISK_TABLE_COLUMNS["by_event"])
    else:
        by_event["share_hit"] = by_event["samples_hit"] / max(1, len(batch))
        by_event = by_event.reindex(columns=RISK_TABLE_COLUMNS["by_event"])
    tables: dict[str, pd.DataFrame] = {
        "samples": samples,
        "unmet_years": _quantile_table(data.year_list, batch.unmet_pflops),
        "by_event": by_event,
        "convergence": _convergence(batch.cost_pv_usd, unmet, o.alpha),
    }
    messages: list[str] = []
    if o.method == "screen":
        messages.append(
            "screening mode: the plan's flows were scaled by what each sample loses, without "
            "re-optimising the flows (see docs/risk.md for how this relates to the exact figures)"
        )
    relaxed = sum(1 for st in batch.status if st == "policy_relaxed")
    if relaxed:
        messages.append(
            f"{relaxed} of {len(batch)} samples dropped a share cap in the year of their first "
            "event because the plan's fixed earlier flows made it impossible (docs/risk-evaluation.md)"
        )
    if o.stress:
        t2 = time.perf_counter()
        n_cases = len(w.sampler.stress_cases(o.stress_onset_year))
        cases = [(k, o.stress_onset_year) for k in range(n_cases)]
        rows = parallel_map(
            partial(stress_case, task),
            cases,
            workers=1 if workers == 1 or n_cases <= 8 else workers,
            scheduler=o.scheduler,
        )
        tables["stress"] = pd.DataFrame(rows, columns=RISK_TABLE_COLUMNS["stress"])
        timings["stress"] = time.perf_counter() - t2
    timings["total"] = time.perf_counter() - t0
    summary: dict[str, Any] = {
        "samples": len(batch),
        "seed": o.seed,
        "method": o.method,
        "alpha": o.alpha,
        "events": list(o.events) if o.events else [],
        "catalogue": w.sampler.event_ids,
        "baseline_cost_usd": base.cost_pv_usd,
        "baseline_unmet_pflops": float(np.mean(base.unmet_pflops)),
        **summ,
        "worker_peak_rss_mib": max((c.peak_rss_mib for c in chunks), default=0.0),
        "wall_s": timings["total"],
    }
    return RiskResult(summary=summary, tables=tables, messages=messages, timings_s=timings)
