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


@pytest.fixture(scope="module")
def dask_scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address (``tcp://127.0.0.1:PORT``) of a running scheduler with one worker."""
    from distributed import Client

    tmp = tmp_path_factory.mktemp("dask")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), str(ROOT / "src"), *filter(None, [env.get("PYTHONPATH")])]
    )
    sched_file = tmp / "scheduler.json"
    dask = [sys.executable, "-m", "dask"]
    local = ["--host", "127.0.0.1", "--no-dashboard"]
    procs: list[subprocess.Popen[bytes]] = []
    logs = {"scheduler": tmp / "scheduler.log", "worker": tmp / "worker.log"}

    def start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("wb") as f:
            proc = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=tmp)
        procs.append(proc)
        return proc

    try:
        # port 0: the scheduler picks a free port and writes its address to the file; its
        # HTTP server (health routes) also on a free port, not on 8787
        sched = start(
            [*dask, "scheduler", *local, "--port", "0", "--dashboard-address", "127.0.0.1:0",
             "--scheduler-file", str(sched_file)],
            logs["scheduler"],
        )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT_S
        address = ""
        while not address:
            if sched.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"dask scheduler did not start:\n{_log(logs['scheduler'])}")
            try:
                address = str(json.loads(sched_file.read_text())["address"])
            except (OSError, ValueError, KeyError):
                time.sleep(0.1)
        start(
            [*dask, "worker", address, *local, "--nworkers", "1", "--nthreads", "1"],
            logs["worker"],
        )
        with Client(address, timeout=START_TIMEOUT_S) as client:
            try:
                client.wait_for_workers(1, timeout=START_TIMEOUT_S)
            except TimeoutError:
                pytest.fail(f"dask worker did not join:\n{_log(logs['worker'])}")
        yield address
    finally:
        for proc in reversed(procs):
            _stop(proc)
