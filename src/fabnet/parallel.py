"""One parallel-map helper on Dask for all of fabnet's parallel work.

Risk samples, variant sweeps, frontier points and fab seeds all run through
:func:`parallel_map` (one function call per item) or :func:`chunked_map` (one call per chunk
of items, for work that shares an expensive object built once per worker with
:func:`worker_cached`). Three modes, chosen by the arguments:

- **in process**, serially, when ``workers == 1`` or the items make a single chunk: no
  cluster is started (small runs, tests, debugging);
- **a local Dask cluster** of worker processes (one per core by default, ``workers=N``
  otherwise; one thread each, no dashboard, quiet logs), started for the call and closed
  after it;
- **an existing cluster**, ``scheduler="tcp://host:port"``: the helper connects a client and
  never closes the cluster.

Results come back in the order of the items and never depend on the mode, the number of
workers or the chunk size, provided the function is deterministic given its item: random
streams are keyed by the item (see :func:`item_rng`), never by a worker or a chunk. Only the
calling (client) process receives results; writing them to the runs store is its job alone.

This module sits below every layer: it imports nothing from fabnet but :mod:`fabnet.errors`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np

from fabnet.errors import ParallelError, Problem

__all__ = [
    "CHUNKS_PER_WORKER",
    "CONNECT_TIMEOUT_S",
    "WORKER_WAIT_S",
    "chunked_map",
    "clear_worker_cache",
    "cpu_count",
    "item_rng",
    "parallel_map",
    "worker_cached",
]

T = TypeVar("T")
R = TypeVar("R")

#: Default chunking: this many chunks per worker, so a slow chunk does not hold up the end
#: of the run (load balance) while each task still carries enough work to hide its overhead.
CHUNKS_PER_WORKER = 4
#: Seconds to wait for an existing scheduler to answer before giving up.
CONNECT_TIMEOUT_S = 5.0
#: Seconds to wait for an existing scheduler to have at least one worker.
WORKER_WAIT_S = 10.0

Progress = Callable[[int, int], None]


def cpu_count() -> int:
    """Cores this process may run on (the default number of local workers)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # pragma: no cover - not on Linux
        return max(os.cpu_count() or 1, 1)


def item_rng(seed: int, index: int) -> np.random.Generator:
    """The random stream of item ``index`` of a run seeded ``seed``.

    Keyed by the item, never by a worker or a chunk, so a result is the same whatever the
    number of workers or the chunking (streams of different items are independent:
    ``numpy.random.SeedSequence([seed, index])``)."""
    return np.random.default_rng([seed, index])


# ------------------------------------------------------------------ per-worker cache
_local = threading.local()


def worker_cached(key: str, factory: Callable[[], T]) -> T:
    """The object cached under ``key`` in this worker, built with ``factory()`` the first time.

    For objects that are expensive to build and reused by every task a worker runs (the risk
    engine's recourse model). The cache is per process and per thread (a local-cluster worker
    runs one thread), so a mutable object such as a solver model is never shared between two
    tasks running at once. It works in process too (serial mode). ``key`` must name
    everything the object depends on (e.g. a run id and a content hash): a key is built once
    and then reused for the life of the worker.
    """
    cache: dict[str, Any] | None = getattr(_local, "cache", None)
    if cache is None:
        cache = {}
        _local.cache = cache
    if key not in cache:
        cache[key] = factory()
    value: T = cache[key]
    return value


def clear_worker_cache() -> None:
    """Forget every object :func:`worker_cached` built in this thread."""
    _local.cache = {}


# ------------------------------------------------------------------ chunking
def _chunks(items: Sequence[T], size: int) -> list[list[T]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _default_chunk_size(n_items: int, n_workers: int) -> int:
    return max(1, math.ceil(n_items / (CHUNKS_PER_WORKER * max(n_workers, 1))))


def _each(fn: Callable[[T], R], chunk: list[T]) -> list[R]:
    """One task of :func:`parallel_map`: ``fn`` on every item of a chunk."""
    return [fn(x) for x in chunk]


def _whole(fn_chunk: Callable[[list[T]], Sequence[R]], chunk: list[T]) -> list[R]:
    """One task of :func:`chunked_map`: ``fn_chunk`` on the chunk, one result per item."""
    out = list(fn_chunk(chunk))
    if len(out) != len(chunk):
        raise ValueError(
            f"chunked_map: the function returned {len(out)} results for {len(chunk)} items"
        )
    return out


# ------------------------------------------------------------------ public API
def parallel_map(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    chunk_size: int | None = None,
    progress: Progress | None = None,
) -> list[R]:
    """``[fn(x) for x in items]``, in parallel on Dask; results in the order of ``items``.

    ``fn`` and the items must be picklable (cloudpickle: lambdas and closures are fine) and
    ``fn`` deterministic given its item (random streams from :func:`item_rng`), so the result
    is identical in every mode. Items travel in chunks (one Dask task = one chunk;
    ``chunk_size`` items each, by default :data:`CHUNKS_PER_WORKER` chunks per worker); ``fn``
    itself travels once per worker. ``workers``: worker processes of the local cluster
    (default one per core; 1 = in this process, serially); ``scheduler``: the address of an
    existing cluster (``tcp://host:port``; not together with ``workers``).
    ``progress(done_items, total_items)`` is called as items (in process) or chunks (on a
    cluster) finish. An exception raised by ``fn`` reaches the caller with its own type (a
    :class:`~fabnet.errors.FabnetError` stays one); Ctrl-C cancels the outstanding tasks,
    closes a local cluster and re-raises. Raises :class:`~fabnet.errors.ParallelError` when
    the scheduler cannot be reached or a worker dies.
    """
    return _execute(_each, fn, list(items), workers, scheduler, chunk_size, progress, per_item=True)


def chunked_map(
    fn_chunk: Callable[[list[T]], Sequence[R]],
    items: Iterable[T],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    chunk_size: int | None = None,
    progress: Progress | None = None,
) -> list[R]:
    """Like :func:`parallel_map`, but ``fn_chunk`` receives a whole chunk (a list of items)
    and returns one result per item, in order; the results are concatenated.

    For work with a per-task set-up worth sharing by a chunk of items (a batch of sample
    indices evaluated with one model from :func:`worker_cached`). ``fn_chunk`` must give
    each item the same result whatever chunk it is in (random streams keyed by the item),
    so the chunk size changes the speed, never the result. Progress is counted per chunk,
    in every mode.
    """
    return _execute(
        _whole, fn_chunk, list(items), workers, scheduler, chunk_size, progress, per_item=False
    )


def _execute(
    task: Callable[[Any, list[Any]], list[Any]],
    fn: Any,
    items: list[Any],
    workers: int | None,
    scheduler: str | None,
    chunk_size: int | None,
    progress: Progress | None,
    *,
    per_item: bool,
) -> list[Any]:
    if workers is not None and workers < 1:
        raise ParallelError(
            Problem(
                f"workers must be at least 1, not {workers}",
                "1 runs in this process; leave it out for one worker per core",
                field="workers",
            )
        )
    if chunk_size is not None and chunk_size < 1:
        raise ParallelError(
            Problem(f"chunk size must be at least 1, not {chunk_size}", field="chunk_size")
        )
    if workers is not None and scheduler is not None:
        raise ParallelError(
            Problem(
                "give either a number of workers or a scheduler address, not both",
                "the cluster behind a scheduler has its own workers; drop --workers",
                field="workers",
            )
        )
    n = len(items)
    if not items:
        return []
    if scheduler is not None:
        return _on_scheduler(task, fn, items, scheduler, chunk_size, progress)
    n_workers = workers or cpu_count()
    chunks = _chunks(items, chunk_size or _default_chunk_size(n, n_workers))
    if n_workers == 1 or len(chunks) == 1:
        return _serial(task, fn, chunks, n, progress, per_item=per_item)
    return _on_local_cluster(task, fn, chunks, n, min(n_workers, len(chunks)), progress)


def _serial(
    task: Callable[[Any, list[Any]], list[Any]],
    fn: Any,
    chunks: list[list[Any]],
    n: int,
    progress: Progress | None,
    *,
    per_item: bool,
) -> list[Any]:
    results: list[Any] = []
    for chunk in chunks:
        if per_item:
            for x in chunk:
                results.append(fn(x))
                if progress is not None:
                    progress(len(results), n)
        else:
            results.extend(task(fn, chunk))
            if progress is not None:
                progress(len(results), n)
    return results


@contextlib.contextmanager
def _children_ignore_ctrl_c() -> Iterator[None]:
    """Worker processes started inside ignore SIGINT (they inherit the ignored signal).

    A terminal sends Ctrl-C to the whole process group; only this process must act on it
    (cancel the tasks, close the cluster, which ends the workers), not every worker with a
    traceback of its own. For the second or so the workers take to start, Ctrl-C is ignored
    here too. Signals can only be set from the main thread; elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def _on_local_cluster(
    task: Callable[[Any, list[Any]], list[Any]],
    fn: Any,
    chunks: list[list[Any]],
    n: int,
    n_workers: int,
    progress: Progress | None,
) -> list[Any]:
    from distributed import Client, LocalCluster

    with _children_ignore_ctrl_c():
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            # no dashboard; the scheduler's small HTTP server on any free port, not on 8787
            # (which another cluster on the machine may hold)
            scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.CRITICAL,  # task errors reach the caller; no log noise
        )
    try:
        with Client(cluster) as client:
            return _run_chunks(client, task, fn, chunks, n, progress)
    finally:
        cluster.close()


def _connect(scheduler: str) -> Any:
    from distributed import Client

    hint = (
        "check the address, start a cluster there (`dask scheduler`, then "
        f"`dask worker {scheduler}`), or drop --scheduler to use a local cluster"
    )
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
    except (OSError, ValueError, TimeoutError) as exc:
        raise ParallelError(
            Problem(
                f"cannot reach the Dask scheduler at {scheduler} ({exc})".replace("\n", " "),
                hint,
                field="scheduler",
            )
        ) from None
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT_S)
    except (OSError, TimeoutError):
        client.close()
        raise ParallelError(
            Problem(
                f"the Dask scheduler at {scheduler} has no workers "
                f"(none joined within {WORKER_WAIT_S:g} s)",
                f"start some with `dask worker {scheduler}`",
                field="scheduler",
            )
        ) from None
    return client


def _on_scheduler(
    task: Callable[[Any, list[Any]], list[Any]],
    fn: Any,
    items: list[Any],
    scheduler: str,
    chunk_size: int | None,
    progress: Progress | None,
) -> list[Any]:
    client = _connect(scheduler)
    try:
        threads = sum(client.nthreads().values())
        chunks = _chunks(items, chunk_size or _default_chunk_size(len(items), threads))
        return _run_chunks(client, task, fn, chunks, len(items), progress)
    finally:
        client.close()  # the client only: the cluster is not ours to close


_ENV_HINT = (
    "the workers must run in a Python environment with fabnet (the same version) and what it "
    "needs installed"
)


def _run_chunks(
    client: Any,
    task: Callable[[Any, list[Any]], list[Any]],
    fn: Any,
    chunks: list[list[Any]],
    n: int,
    progress: Progress | None,
) -> list[Any]:
    """Submit one task per chunk, collect the results in order as tasks finish."""
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    tag = uuid.uuid4().hex[:12]
    # the function (and whatever it closes over, e.g. a fab model) travels once per worker
    try:
        fn_remote = client.scatter(fn, hash=False)
    except Exception as exc:  # the worker could not unpickle it (Dask re-raises a plain Exception)
        raise ParallelError(
            Problem(f"the Dask workers cannot load the function to run ({exc})", _ENV_HINT)
        ) from None
    futures = [
        client.submit(task, fn_remote, chunk, key=f"fabnet-chunk-{tag}-{i}", pure=False)
        for i, chunk in enumerate(chunks)
    ]
    index = {f.key: i for i, f in enumerate(futures)}
    by_chunk: dict[int, list[Any]] = {}
    done = 0
    try:
        for fut in as_completed(futures):
            i = index[fut.key]
            try:
                by_chunk[i] = fut.result()
            except KilledWorker as exc:
                raise ParallelError(
                    Problem(
                        f"a Dask worker died while running chunk {i} ({exc})",
                        "a worker process was killed (out of memory?); use fewer workers "
                        "or smaller chunks",
                    )
                ) from None
            except ModuleNotFoundError as exc:  # fabnet's own code never imports a missing module
                raise ParallelError(
                    Problem(f"a Dask worker cannot import {exc.name!r} to run the task", _ENV_HINT)
                ) from None
            fut.release()
            done += len(chunks[i])
            if progress is not None:
                progress(done, n)
    except BaseException:  # an error in a task, or Ctrl-C: stop the rest before leaving
        with contextlib.suppress(Exception):  # keep the original error if the link is gone
            client.cancel(futures)
        raise
    return [r for i in range(len(chunks)) for r in by_chunk[i]]
