"""DuckDB files in the store tests: another process holding one open (and so its lock), and
the tables one holds."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

_HOLD = (
    "import sys, duckdb; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
    "sys.stdin.read()"
)


@contextmanager
def holding_lock(path: Path) -> Iterator[subprocess.Popen[str]]:
    """A separate Python process keeps ``path`` open in DuckDB until the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
        assert holder.stdout is not None
        holder.stdout.close()


def duckdb_tables(path: Path) -> list[str]:
    """Names of the tables in the DuckDB file ``path``, sorted (opened read-only)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return sorted(str(r[0]) for r in con.execute("SHOW TABLES").fetchall())
    finally:
        con.close()
