"""fabnet.parallel on real Dask processes: a local cluster and a separate scheduler + worker.

Every result is compared bit for bit with the plain in-process loop: the functions draw from
random streams keyed by the item (``numpy.random.default_rng([seed, index])``), so neither
the number of workers nor the chunking may change a single bit.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

import fabnet.parallel
from fabnet.errors import ParallelError, PlanError, Problem
from fabnet.parallel import chunked_map, clear_worker_cache, item_rng, parallel_map, worker_cached
from tests.dask_cluster import ROOT, dask_scheduler, start_scheduler, stop_all

__all__ = ["dask_scheduler"]  # the fixture, imported for the tests below

SEED = 20_240_801
N = 37  # not a multiple of any chunk size used


def draw(i: int) -> tuple[int, float, np.ndarray]:
    """A result that depends on item ``i``'s own random stream (and on nothing else)."""
    rng = np.random.default_rng([SEED, i])
    x = rng.standard_normal(50)
    return i, float(np.exp(x).sum()), rng.integers(0, 1 << 62, size=3)


def draw_chunk(items: list[int]) -> list[tuple[int, float, np.ndarray]]:
    """``draw`` on a chunk (what a chunked task does)."""
    return [draw(i) for i in items]


def same(a: list[tuple[int, float, np.ndarray]], b: list[tuple[int, float, np.ndarray]]) -> bool:
    """Bit-identical lists of ``draw`` results (floats compared by their bytes)."""
    return len(a) == len(b) and all(
        x[0] == y[0]
        and np.float64(x[1]).tobytes() == np.float64(y[1]).tobytes()
        and np.array_equal(x[2], y[2])
        for x, y in zip(a, b, strict=True)
    )


def fail_on_5(i: int) -> int:
    if i == 5:
        raise PlanError(
            Problem("infeasible on item 5", "relax it", file="s.yaml", line=7, field="demand")
        )
    return i


def value_error_on_2(i: int) -> int:
    if i == 2:
        raise ValueError("bad item 2")
    return i


def cached_token(items: list[int]) -> list[tuple[int, str]]:
    """(pid, the token this worker built once) per item."""
    token = worker_cached("test-token", lambda: uuid.uuid4().hex)
    return [(os.getpid(), token) for _ in items]


@pytest.fixture(scope="module")
def expected() -> list[tuple[int, float, np.ndarray]]:
    return [draw(i) for i in range(N)]


def test_item_rng_is_keyed_by_seed_and_index() -> None:
    a = item_rng(SEED, 3).standard_normal(4)
    assert np.array_equal(a, np.random.default_rng([SEED, 3]).standard_normal(4))
    assert not np.array_equal(a, item_rng(SEED, 4).standard_normal(4))


def test_in_process_matches_the_loop_for_any_chunking(
    expected: list[tuple[int, float, np.ndarray]],
) -> None:
    for cs in (None, 1, 5, N, 100):
        assert same(parallel_map(draw, range(N), workers=1, chunk_size=cs), expected)
        assert same(chunked_map(draw_chunk, range(N), workers=1, chunk_size=cs), expected)
    assert parallel_map(draw, [], workers=2) == []


def test_local_cluster_is_bit_identical_and_reports_progress(
    expected: list[tuple[int, float, np.ndarray]],
) -> None:
    calls: list[tuple[int, int]] = []
    got = parallel_map(
        draw, range(N), workers=2, chunk_size=4, progress=lambda d, n: calls.append((d, n))
    )
    assert same(got, expected)
    # one call per chunk, counting items, ending at all of them
    assert len(calls) == 10 and calls[-1] == (N, N)
    assert all(n == N for _, n in calls)
    assert [d for d, _ in calls] == sorted({d for d, _ in calls})
    # a whole chunk per task (the default chunking runs on the remote cluster below)
    assert same(chunked_map(draw_chunk, range(N), workers=2, chunk_size=6), expected)


def test_in_process_progress_counts_items() -> None:
    calls: list[tuple[int, int]] = []
    parallel_map(draw, range(5), workers=1, progress=lambda d, n: calls.append((d, n)))
    assert calls == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]
    calls.clear()
    chunked_map(draw_chunk, range(5), workers=1, chunk_size=2, progress=lambda d, n: calls.append((d, n)))  # fmt: skip
    assert calls == [(2, 5), (4, 5), (5, 5)]


def test_remote_cluster_is_bit_identical(
    dask_scheduler: str, expected: list[tuple[int, float, np.ndarray]]
) -> None:
    calls: list[tuple[int, int]] = []
    got = parallel_map(
        draw, range(N), scheduler=dask_scheduler, progress=lambda d, n: calls.append((d, n))
    )
    assert same(got, expected)
    assert calls[-1] == (N, N)
    for cs in (1, 13):
        assert same(parallel_map(draw, range(N), scheduler=dask_scheduler, chunk_size=cs), expected)
    assert same(chunked_map(draw_chunk, range(N), scheduler=dask_scheduler, chunk_size=8), expected)
    # the cluster is not ours: it is still there after the calls
    assert same(parallel_map(draw, range(3), scheduler=dask_scheduler), expected[:3])


def test_worker_errors_keep_their_type(dask_scheduler: str) -> None:
    for where in ({"scheduler": dask_scheduler}, {"workers": 2}, {"workers": 1}):
        with pytest.raises(PlanError) as exc:
            parallel_map(fail_on_5, range(8), chunk_size=2, **where)  # type: ignore[arg-type]
        (problem,) = exc.value.problems
        assert (problem.file, problem.line, problem.field) == ("s.yaml", 7, "demand")
        assert problem.hint == "relax it"
    with pytest.raises(ValueError, match="bad item 2"):
        parallel_map(value_error_on_2, range(4), scheduler=dask_scheduler, chunk_size=1)
    with pytest.raises(ValueError, match="returned 1 results for 2 items"):
        chunked_map(lambda c: c[:1], range(4), workers=1, chunk_size=2)


def test_worker_cached_builds_once_per_worker(dask_scheduler: str) -> None:
    clear_worker_cache()
    built: list[int] = []

    def factory() -> str:
        built.append(1)
        return "model"

    assert worker_cached("k", factory) == "model"
    assert worker_cached("k", factory) == "model"
    assert built == [1]
    # one remote worker: every chunk sees the one token it built
    got = chunked_map(cached_token, range(12), scheduler=dask_scheduler, chunk_size=3)
    assert len({tok for _, tok in got}) == 1 and len({pid for pid, _ in got}) == 1
    assert got[0][0] != os.getpid()
    # two local workers: one token per worker process
    got = chunked_map(cached_token, range(40), workers=2, chunk_size=2)
    tokens: dict[int, set[str]] = {}
    for pid, tok in got:
        tokens.setdefault(pid, set()).add(tok)
    assert all(len(t) == 1 for t in tokens.values())
    assert len(set().union(*tokens.values())) == len(tokens)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_unreachable_scheduler_is_a_fabnet_error(monkeypatch: pytest.MonkeyPatch) -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"
    monkeypatch.setattr(fabnet.parallel, "CONNECT_TIMEOUT_S", 1.0)  # not 5 s in a test
    with pytest.raises(ParallelError) as exc:
        parallel_map(draw, range(4), scheduler=address)
    text = exc.value.format()
    assert address in text and "dask scheduler" in text and "--scheduler" in text
    with pytest.raises(ParallelError, match="missing port"):
        parallel_map(draw, range(4), scheduler="127.0.0.1")
    with pytest.raises(ParallelError, match="not both"):
        parallel_map(draw, range(4), scheduler=address, workers=2)
    with pytest.raises(ParallelError, match="at least 1"):
        parallel_map(draw, range(4), workers=0)
    with pytest.raises(ParallelError, match="at least 1"):
        parallel_map(draw, range(4), chunk_size=0)


def test_a_scheduler_without_workers_is_a_fabnet_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    procs: list[subprocess.Popen[bytes]] = []
    try:
        address = start_scheduler(tmp_path, procs)
        monkeypatch.setattr(fabnet.parallel, "WORKER_WAIT_S", 1.0)  # not 10 s in a test
        with pytest.raises(ParallelError) as exc:
            parallel_map(draw, range(4), scheduler=address)
        text = exc.value.format()
        assert f"the Dask scheduler at {address} has no workers" in text
        assert f"dask worker {address}" in text
    finally:
        stop_all(procs)


_INTERRUPTED = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from fabnet.parallel import parallel_map

    PIDS = Path(sys.argv[1])

    def slow(i):
        (PIDS / str(os.getpid())).touch()
        time.sleep(0.5)
        return i

    def tick(done, total):
        print("progress", done, total, flush=True)

    if __name__ == "__main__":
        try:
            parallel_map(slow, range(200), workers=2, chunk_size=1, progress=tick)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(130)
        print("finished", flush=True)
    """
)


def test_ctrl_c_cancels_and_closes_the_local_cluster(tmp_path: Path) -> None:
    script = tmp_path / "interrupted.py"
    script.write_text(_INTERRUPTED)
    pids = tmp_path / "pids"
    pids.mkdir()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), *filter(None, [env.get("PYTHONPATH")])])
    proc = subprocess.Popen(
        [sys.executable, str(script), str(pids)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # its own process group, as a command in a terminal
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # blocks until a chunk is done
        assert first.startswith("progress"), proc.stderr.read() if proc.stderr else ""
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the whole group gets it
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "interrupted" in out and "finished" not in out
    assert "Traceback" not in err  # the workers ignore Ctrl-C; the client closes them
    workers = [int(p.name) for p in pids.iterdir()]
    assert workers and proc.pid not in workers
    deadline = time.monotonic() + 20
    alive = workers
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if _alive(p)]
        time.sleep(0.2)
    assert not alive, f"worker processes left running: {alive}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is gone for our purpose
        return "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False


def test_a_worker_without_the_code_is_a_fabnet_error(dask_scheduler: str, tmp_path: Path) -> None:
    """A module the client has and the worker lacks (a worker installed without fabnet)."""
    (tmp_path / "only_here_mod.py").write_text("def double(i):\n    return 2 * i\n")
    sys.path.insert(0, str(tmp_path))
    try:
        import only_here_mod  # type: ignore[import-not-found]

        assert parallel_map(only_here_mod.double, range(3), workers=1) == [0, 2, 4]
        with pytest.raises(ParallelError, match="No module named 'only_here_mod'"):
            parallel_map(only_here_mod.double, range(3), scheduler=dask_scheduler)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("only_here_mod", None)
