"""Shared fixtures of the dashboard tests: a real store with real toy plans, a live server."""

from __future__ import annotations

import shutil
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from fabnet.cli import main
from fabnet.store import Store

with warnings.catch_warnings():
    # starlette asks for the httpx2 package; httpx (what the test extra installs) works.
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient as TestClient


def _plan(store: Path, *args: str) -> None:
    """``fabnet plan toy ARGS --store STORE``, the real CLI in-process."""
    with pytest.raises(SystemExit) as exc:
        main(["plan", "toy", *args, "--store", str(store), "--json"])
    assert exc.value.code in (0, None)


@pytest.fixture(scope="session")
def seed_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with two toy plans (base and the ``no-gpu`` variant) and one fab run.

    Made once; tests that write copy it (see ``store_copy``).
    """
    path = tmp_path_factory.mktemp("web") / "runs.duckdb"
    _plan(path)
    _plan(path, "--variant", "no-gpu")
    Store(path).save_run(
        kind="fab",
        scenario=None,
        input_name="smt2020-mini",
        input_hash="0" * 64,
        options={"days": 30, "seed": 1},
        status="finished",
        timings_s={"simulate": 1.5},
        summary={"throughput_lots_per_day": 12.5, "cycle_time_days": 8.25},
        tables={
            "kpi": pd.DataFrame(
                {"product": ["p1", "p2"], "cycle_time_days": [8.0, 8.5], "lots": [200, 175]}
            )
        },
    )
    return path


@pytest.fixture()
def store_copy(seed_store: Path, tmp_path: Path) -> Path:
    """A private copy of the seed store, for tests that write."""
    target = tmp_path / "runs.duckdb"
    shutil.copy(seed_store, target)
    return target


@pytest.fixture(scope="session")
def run_ids(seed_store: Path) -> dict[str, str]:
    """``{"base": id, "no-gpu": id, "fab": id}`` of the seed store."""
    frame = Store(seed_store, create=False).list_runs()
    out: dict[str, str] = {}
    for rec in frame.to_dict("records"):
        if rec["kind"] == "fab":
            out["fab"] = rec["id"]
        else:
            run = Store(seed_store, create=False).load_run(rec["id"])
            out[run.options.get("variant") or "base"] = rec["id"]
    return out


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LiveServer:
    """uvicorn serving an app in a thread on 127.0.0.1 (stopped by ``stop``)."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture()
def live_server_factory() -> Iterator[Any]:
    servers: list[LiveServer] = []

    def make(app: Any) -> LiveServer:
        srv = LiveServer(app)
        servers.append(srv)
        return srv

    yield make
    for srv in servers:
        srv.stop()
