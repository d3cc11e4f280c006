"""A real Dask cluster for tests: one `dask scheduler` and one `dask worker` process.

Both run from this interpreter (``sys.executable -m dask ...``, so a clean clone's venv works)
on 127.0.0.1, with a port the scheduler picks itself (read back from its scheduler file), no
dashboard, one worker process with one thread. The worker imports the test modules (the
repository root and ``src`` are put on its path), so functions defined in tests can run there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Bound on the wait for the scheduler and the worker to come up, seconds.
START_TIMEOUT_S = 60.0


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _log(path: Path) -> str:
    return path.read_text(errors="replace")[-2000:] if path.exists() else ""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), str(ROOT / "src"), *filter(None, [env.get("PYTHONPATH")])]
    )
    return env


def _start(args: list[str], log: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    with log.open("wb") as f:
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "dask", *args, "--host", "127.0.0.1", "--no-dashboard"],
                stdout=f,
                stderr=subprocess.STDOUT,
                env=_env(),
                cwd=log.parent,
            )
        )


def start_scheduler(tmp: Path, procs: list[subprocess.Popen[bytes]]) -> str:
    """Start a `dask scheduler` (appended to ``procs``); its address once it listens.

    Port 0: the scheduler picks a free port and writes its address to its scheduler file;
    its HTTP server (health routes) also on a free port, not on 8787."""
    sched_file = tmp / "scheduler.json"
    log = tmp / "scheduler.log"
    _start(
        ["scheduler", "--port", "0", "--dashboard-address", "127.0.0.1:0",
         "--scheduler-file", str(sched_file)],
        log,
        procs,
    )  # fmt: skip
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if procs[-1].poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"dask scheduler did not start:\n{_log(log)}")
        try:
            return str(json.loads(sched_file.read_text())["address"])
        except (OSError, ValueError, KeyError):
            time.sleep(0.1)


def stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    """Terminate the processes, last started first (kill what does not stop)."""
    for proc in reversed(procs):
        _stop(proc)


@pytest.fixture(scope="module")
def dask_scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address (``tcp://127.0.0.1:PORT``) of a running scheduler with one worker."""
    from distributed import Client

    tmp = tmp_path_factory.mktemp("dask")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        address = start_scheduler(tmp, procs)
        log = tmp / "worker.log"
        _start(["worker", address, "--nworkers", "1", "--nthreads", "1"], log, procs)
        with Client(address, timeout=START_TIMEOUT_S) as client:
            try:
                client.wait_for_workers(1, timeout=START_TIMEOUT_S)
            except TimeoutError:
                pytest.fail(f"dask worker did not join:\n{_log(log)}")
        yield address
    finally:
        stop_all(procs)
