"""What the dashboard reads from the runs store: short read-only connections only.

Every function opens the store through :class:`fabnet.store.Store` (which connects for one
operation and closes after it), so a ``fabnet plan`` writing the same file is never blocked
for longer than one read. Writes (deleting a run) go through the job runner's worker
processes, one at a time.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from fabnet.errors import Problem, StoreError
from fabnet.store import RunRecord, Store

#: A run id as the store makes them (``20261129-0812-3fa2``), or a prefix of one / ``latest``.
RUN_REF = re.compile(r"^(latest|[0-9]{1,8}(-[0-9]{0,4}(-[0-9a-f]{0,4})?)?)$")
#: Table names the store accepts (lower-case letters, digits, ``_``).
TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
#: Formats a result table downloads as.
FORMATS = ("csv", "parquet")


def check_ref(ref: str) -> str:
    """``ref`` when it looks like a run id (or prefix, or ``latest``); else a StoreError."""
    if not RUN_REF.match(ref):
        raise StoreError(
            Problem(
                f"{ref[:40]!r} is not a run id",
                hint="run ids look like 20261129-0812-3fa2 (a unique prefix or `latest` works)",
            )
        )
    return ref


_RUNS_CACHE: dict[Path, tuple[tuple[int, ...], pd.DataFrame]] = {}


def list_runs(store: Store) -> pd.DataFrame:
    """``Store.list_runs`` plus ``variant`` and ``set`` (from each run's stored options).

    Read again only after the store file changed (its modification stamp): the runs list
    is the most requested page and reading it takes a DuckDB connection.
    """
    stamp = store_stamp(store.path)
    hit = _RUNS_CACHE.get(store.path)
    if hit is not None and hit[0] == stamp:
        return hit[1].copy()
    frame = _read_runs(store)
    _RUNS_CACHE[store.path] = (stamp, frame)
    return frame.copy()


def _read_runs(store: Store) -> pd.DataFrame:
    # Store.list_runs already parsed each run's options; the dashboard shows the variant as
    # written ("" for the scenario as written) and the --set overrides.
    frame = store.list_runs()
    frame["variant"] = [str(o.get("variant") or "") for o in frame["options"]]
    frame["set"] = [list(o.get("set") or []) for o in frame["options"]]
    return frame


def store_stamp(path: Path) -> tuple[int, ...]:
    """Modification time and size of the store file and its WAL: a write changes them."""
    stamps: list[int] = []
    for p in (path, path.with_name(path.name + ".wal")):
        try:
            st = os.stat(p)
            stamps += [st.st_mtime_ns, st.st_size]
        except OSError:
            stamps += [0, 0]
    return tuple(stamps)


class PageCache:
    """Rendered pages of stored runs, keyed by run and the store's modification stamp.

    A run never changes once stored, but a page is rebuilt after any write to the store
    (a run deleted by the CLI must not live on here). Bounded (least recently used out).
    """

    def __init__(self, path: Path, size: int = 32) -> None:
        self.path = path
        self.size = size
        self._pages: OrderedDict[str, tuple[tuple[int, ...], str]] = OrderedDict()
        self._lock = threading.Lock()  # pages are read and made in several threads

    def get(self, key: str) -> str | None:
        """The cached page, or ``None`` when missing or stale."""
        stamp = store_stamp(self.path)
        with self._lock:
            hit = self._pages.get(key)
            if hit is None or hit[0] != stamp:
                return None
            self._pages.move_to_end(key)
            return hit[1]

    def put(self, key: str, html: str, stamp: tuple[int, ...]) -> None:
        """Remember a page made while the store had ``stamp``."""
        with self._lock:
            self._pages[key] = (stamp, html)
            self._pages.move_to_end(key)
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)

    def clear(self) -> None:
        """Forget every page."""
        with self._lock:
            self._pages.clear()


def cached(cache: PageCache, key: str, make: Callable[[], str]) -> str:
    """``cache[key]`` or ``make()`` (remembered with the stamp taken before it read)."""
    hit = cache.get(key)
    if hit is not None:
        return hit
    stamp = store_stamp(cache.path)
    html = make()
    cache.put(key, html, stamp)
    return html


def table_bytes(rec: RunRecord, name: str, fmt: str) -> bytes:
    """One result table of a run as CSV or Parquet bytes (names checked against the run)."""
    if fmt not in FORMATS:
        raise StoreError(Problem(f"unknown format {fmt[:20]!r}", hint="use csv or parquet"))
    if not TABLE_NAME.match(name) or name not in rec.tables:
        raise StoreError(
            Problem(
                f"run {rec.id} has no table {name[:64]!r}",
                hint="its tables: " + ", ".join(sorted(rec.tables)),
            )
        )
    frame = rec.tables[name]
    if fmt == "csv":
        return frame.to_csv(index=False).encode("utf-8")
    # Parquet through DuckDB (already a dependency); the file is a private temporary one.
    with tempfile.TemporaryDirectory(prefix="fabnet-web-") as tmp:
        target = Path(tmp) / "table.parquet"
        con = duckdb.connect()
        try:
            con.register("frame", frame)
            con.execute(f"COPY (SELECT * FROM frame) TO '{target}' (FORMAT PARQUET)")
        finally:
            con.close()
        return target.read_bytes()


def _flatten(value: Any, path: str, out: dict[str, Any]) -> None:
    """Leaves of a scenario dump as ``path -> value``; lists of ``{id: ...}`` keyed by id."""
    if isinstance(value, Mapping):
        if not value:
            out[path] = {}
        for k, v in value.items():
            _flatten(v, f"{path}.{k}" if path else str(k), out)
    elif (
        isinstance(value, list)
        and value
        and all(isinstance(v, Mapping) and "id" in v for v in value)
    ):
        for v in value:
            _flatten({k: x for k, x in v.items() if k != "id"}, f"{path}[{v['id']}]", out)
    else:
        out[path] = value


def scenario_differences(dumps: Sequence[Mapping[str, Any] | None]) -> list[tuple[str, list[Any]]]:
    """Input paths whose value differs between the scenarios, with each run's value.

    ``None`` for a run without a scenario (fab runs) or a path missing in that scenario.
    Variants are left out (they describe other inputs, not these).
    """
    flat: list[dict[str, Any]] = []
    for d in dumps:
        f: dict[str, Any] = {}
        if d is not None:
            _flatten({k: v for k, v in d.items() if k != "variants"}, "", f)
        flat.append(f)
    paths: list[str] = []
    seen: set[str] = set()
    for f in flat:
        for p in f:
            if p not in seen:
                seen.add(p)
                paths.append(p)
    # An empty mapping in one scenario and entries under it in another: the entries tell.
    parents = {p for p in paths if any(q.startswith((p + ".", p + "[")) for q in paths)}
    diffs = []
    for p in paths:
        if p in parents:
            continue
        values = [f.get(p) for f in flat]
        if any(
            json.dumps(v, sort_keys=True, default=str)
            != json.dumps(values[0], sort_keys=True, default=str)
            for v in values[1:]
        ):
            diffs.append((p, values))
    return diffs
