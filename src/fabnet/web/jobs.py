"""Background plan runs for the dashboard: one worker process per job, live progress, cancel.

Why processes, not threads: a plan holds the GIL for seconds at a time (model building in
Python) and HiGHS cannot be interrupted from another thread, so a job runs in its own
``spawn`` process that can be terminated. The worker calls the same functions as
``fabnet plan`` (:func:`fabnet.scenario.load_scenario`, :func:`fabnet.plan.plan`, and the
CLI's ``_store_run``) and adds no model logic. Progress travels back over a queue.

One writer at a time: a worker stores its run while holding a lock shared by all the
runner's workers, and a job cannot be cancelled while it stores (the transaction is short;
terminating a process that holds the lock would leave it locked). At most ``max_jobs``
jobs run at once; more are refused with a message.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import queue as queue_mod
import signal
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fabnet.errors import FabnetError, Problem

#: How many finished jobs the runner remembers (their pages keep working).
_HISTORY = 50


class JobError(FabnetError):
    """A job cannot be started or cancelled (limit reached, unknown job, already storing)."""


@dataclass(frozen=True)
class JobSpec:
    """What to plan: the inputs of ``fabnet plan`` that the web form offers.

    ``scenario`` is a built-in scenario name, or the label of an uploaded scenario whose
    YAML text is ``scenario_text`` (parsed in memory, never written to a file).
    """

    scenario: str
    variant: str | None = None
    sets: tuple[str, ...] = ()
    period: str | None = None
    gap: float = 0.001
    scenario_text: str | None = None


@dataclass
class Job:
    """One background plan: its spec and what the worker reported so far."""

    id: str
    spec: JobSpec
    status: str = "queued"  # queued, running, storing, stored, failed, cancelled
    step: str = "starting a worker process"
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    finished_at: dt.datetime | None = None
    run_id: str | None = None
    error: str | None = None
    process: Any = None

    @property
    def active(self) -> bool:
        """Still queued, running or storing."""
        return self.status in ("queued", "running", "storing")

    def as_dict(self) -> dict[str, Any]:
        """JSON view of the job (what ``GET /api/jobs/{id}`` returns)."""
        end = self.finished_at or dt.datetime.now(dt.UTC)
        return {
            "id": self.id,
            "status": self.status,
            "step": self.step,
            "scenario": self.spec.scenario,
            "variant": self.spec.variant,
            "set": list(self.spec.sets),
            "period": self.spec.period,
            "gap": self.spec.gap,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "elapsed_s": round((end - self.started_at).total_seconds(), 1),
            "run_id": self.run_id,
            "error": self.error,
        }


def load_spec_scenario(spec: JobSpec) -> Any:
    """The validated scenario of a spec, as ``fabnet plan`` loads it (raises ScenarioError)."""
    from fabnet.scenario import load_scenario, scenario_from_text

    overrides = list(spec.sets) or None
    if spec.scenario_text is None:
        return load_scenario(spec.scenario, variant=spec.variant, overrides=overrides)
    return scenario_from_text(spec.scenario_text, spec.scenario, spec.variant, overrides)


def plan_options(spec: JobSpec) -> Any:
    """The :class:`fabnet.plan.PlanOptions` of a spec (raises PlanError on a bad gap)."""
    from fabnet.plan import PlanOptions
    from fabnet.scenario import Period

    return PlanOptions(period=Period(spec.period) if spec.period else None, mip_gap=spec.gap)


def _work(spec: JobSpec, store_path: str, out: Any, write_lock: Any) -> None:
    """The worker process: load, plan (reporting each step), store under the lock."""
    try:
        from fabnet.cli.plan import _store_run
        from fabnet.plan import plan

        out.put(("step", "loading the scenario"))
        scenario = load_spec_scenario(spec)
        opts = plan_options(spec)

        def tick(step: str, _frac: float | None) -> None:
            out.put(("step", step))

        result = plan(scenario, opts, progress=tick)
        # From here on a cancel (SIGTERM) is ignored: a process killed while it holds the
        # write lock would leave the lock held for every later job.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        out.put(("storing", "waiting to store the run"))
        with write_lock:
            out.put(("storing", "storing the run"))
            run_id = _store_run(
                Path(store_path),
                scenario,
                result,
                {"variant": spec.variant, "set": list(spec.sets)},
            )
        out.put(("done", run_id))
    except FabnetError as exc:
        out.put(("error", exc.format()))
    except BaseException as exc:  # reported to the page, not lost in a worker's stderr
        out.put(("error", f"{type(exc).__name__}: {exc}"))


class JobRunner:
    """Starts plan jobs in worker processes, tracks their progress, cancels them.

    ``max_jobs`` bounds how many run at once.
    """

    def __init__(self, store_path: Path, max_jobs: int = 2) -> None:
        self.store_path = Path(store_path)
        self.max_jobs = max_jobs
        self._ctx = mp.get_context("spawn")
        self._write_lock = self._ctx.Lock()
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def jobs(self) -> list[Job]:
        """All remembered jobs, newest first."""
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.started_at, reverse=True)

    def get(self, job_id: str) -> Job:
        """A job by id; a JobError when unknown."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise JobError(Problem(f"no job {job_id!r}", hint="the jobs page lists the jobs"))
        return job

    def submit(self, spec: JobSpec) -> Job:
        """Start a job in a new worker process; a JobError when ``max_jobs`` already run."""
        with self._lock:
            active = sum(1 for j in self._jobs.values() if j.active)
            if active >= self.max_jobs:
                raise JobError(
                    Problem(
                        f"{active} runs are already in progress (the limit is {self.max_jobs})",
                        hint="wait for one to finish or cancel one",
                    )
                )
            job = Job(id=uuid.uuid4().hex[:12], spec=spec)
            self._jobs[job.id] = job
            finished = [j for j in self._jobs.values() if not j.active]
            for old in sorted(finished, key=lambda j: j.started_at)[
                : max(0, len(finished) - _HISTORY)
            ]:
                del self._jobs[old.id]
        out = self._ctx.Queue()
        proc = self._ctx.Process(
            target=_work,
            args=(spec, str(self.store_path), out, self._write_lock),
            daemon=True,
            name=f"fabnet-web-job-{job.id}",
        )
        job.process = proc
        job.status = "running"
        proc.start()
        threading.Thread(target=self._watch, args=(job, out), daemon=True).start()
        return job

    def _watch(self, job: Job, out: Any) -> None:
        """Read the worker's messages until it ends; record the outcome."""
        proc = job.process
        while True:
            try:
                what, text = out.get(timeout=0.2)
            except queue_mod.Empty:
                if not proc.is_alive():
                    # Drain anything sent just before the exit.
                    try:
                        what, text = out.get(timeout=0.5)
                    except queue_mod.Empty:
                        break
                else:
                    continue
            with self._lock:
                if job.status == "cancelled":
                    break
                if what == "step":
                    job.step = str(text)
                elif what == "storing":
                    job.status, job.step = "storing", str(text)
                elif what == "done":
                    job.status, job.run_id = "stored", str(text)
                    job.step = "the run is in the store"
                    break
                elif what == "error":
                    job.status, job.step, job.error = "failed", "see the message below", str(text)
                    break
        proc.join(timeout=5)
        with self._lock:
            if job.active:
                job.status, job.step = "failed", "see the message below"
                job.error = job.error or f"the worker process ended (exit code {proc.exitcode})"
            job.finished_at = job.finished_at or dt.datetime.now(dt.UTC)
        out.close()

    def cancel(self, job_id: str) -> Job:
        """Stop a running job (its worker is terminated; nothing of it is stored)."""
        job = self.get(job_id)
        with self._lock:
            if not job.active:
                raise JobError(Problem(f"job {job_id} has already ended ({job.status})"))
            if job.status == "storing":
                raise JobError(
                    Problem(
                        f"job {job_id} is storing its run and cannot be cancelled now",
                        hint="the run appears in Runs in a moment; delete it there",
                    )
                )
            job.status, job.step = "cancelled", "stopped; nothing of it is stored"
            job.finished_at = dt.datetime.now(dt.UTC)
        if job.process is not None and job.process.is_alive():
            job.process.terminate()
        return job

    def delete_run(self, run_id: str) -> None:
        """Delete a stored run in a short worker process, under the write lock."""
        _delete_via_process(self, run_id)

    def shutdown(self) -> None:
        """Terminate every running worker (at server shutdown)."""
        for job in self.jobs():
            proc = job.process
            if proc is not None and proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)


def delete_stored_run(store_path: Path, run_id: str) -> None:
    """Delete one run and its result rows (:meth:`fabnet.store.Store.delete_run`)."""
    from fabnet.store import Store

    Store(store_path, create=False).delete_run(run_id)


def _delete_work(store_path: str, run_id: str, out: Any, write_lock: Any) -> None:
    """Worker process for a delete: the web process itself never opens the store for writing."""
    try:
        with write_lock:
            delete_stored_run(Path(store_path), run_id)
        out.put(("done", run_id))
    except FabnetError as exc:
        out.put(("error", exc.format()))
    except BaseException as exc:
        out.put(("error", f"{type(exc).__name__}: {exc}"))


def _delete_via_process(runner: JobRunner, run_id: str, timeout_s: float = 60.0) -> None:
    out = runner._ctx.Queue()
    proc = runner._ctx.Process(
        target=_delete_work, args=(str(runner.store_path), run_id, out, runner._write_lock)
    )
    proc.start()
    try:
        what, text = out.get(timeout=timeout_s)
    except queue_mod.Empty:
        proc.terminate()
        raise JobError(
            Problem(f"deleting run {run_id} took longer than {timeout_s:.0f} s")
        ) from None
    finally:
        proc.join(timeout=10)
        out.close()
    if what != "done":
        raise JobError(Problem(f"could not delete run {run_id}: {text}"))
