"""The DuckDB runs store: one file, a ``runs`` table and result tables ``<kind>_<name>``.

Design choices, and why:

- The file is opened for each operation and closed after it, so several fabnet
  processes can share one store (DuckDB lets one process write at a time; a
  reader or writer that finds the file locked waits up to ``lock_timeout_s``).
- A run is written in one transaction (the ``runs`` row, every result table, and
  any table or column it creates: DuckDB's DDL is transactional). An exception or
  an interrupt rolls it back; a killed process leaves an uncommitted transaction
  that DuckDB discards on the next open. Earlier runs are never touched.
- Result tables are created on first use from the DataFrame's columns and get
  new columns when a later run brings them (``INSERT ... BY NAME``), so the kinds
  of run (``plan``, ``fab``, ``risk``) can evolve without migrations. The ``runs``
  row records each table's own columns, so a run loads back exactly as saved.
- Run ids (``20261129-0812-3fa2``) sort in time order: date, UTC hour and minute,
  then the position within the minute in 1/65536ths (about a millisecond), bumped
  when two runs land on the same tick. Because ids grow with time, the result
  tables are stored in id order and DuckDB's min/max zone maps find a run's rows
  without a separate index.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from pydantic import ValidationError

from fabnet import __version__
from fabnet.errors import Problem, StoreError
from fabnet.scenario import Scenario
from fabnet.store.record import RunRecord, jsonable, run_variant

#: Version of the store's layout; bumped when the ``runs`` table changes incompatibly.
SCHEMA_VERSION = 1

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_RUNS_COLUMNS = (
    "id",
    "kind",
    "created_at",
    "scenario_name",
    "scenario_hash",
    "scenario_json",
    "options_json",
    "status",
    "timings_json",
    "summary_json",
    "messages_json",
    "tables_json",
    "fabnet_version",
)
_SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS fabnet_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    scenario_name VARCHAR,
    scenario_hash VARCHAR,
    scenario_json VARCHAR,
    options_json VARCHAR,
    status VARCHAR,
    timings_json VARCHAR,
    summary_json VARCHAR,
    messages_json VARCHAR,
    tables_json VARCHAR,
    fabnet_version VARCHAR
);
"""
#: How many recent ids an "unknown run" message lists.
_HINT_IDS = 5


def canonical_json(scenario: Scenario) -> str:
    """The scenario as canonical JSON: sorted keys, no spaces (the input of the hash)."""
    return json.dumps(
        scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 (hex) of the canonical JSON of a validated scenario: equal scenarios, equal hash."""
    return hashlib.sha256(canonical_json(scenario).encode("utf-8")).hexdigest()


def _quote(name: str) -> str:
    """A SQL identifier in double quotes (column names come from DataFrames)."""
    return '"' + name.replace('"', '""') + '"'


def _run_id(now: dt.datetime, bump: int = 0) -> str:
    """``YYYYMMDD-HHMM-xxxx``: ``xxxx`` is the position within the minute in 1/65536ths."""
    within = (now.second + now.microsecond / 1e6) / 60.0
    tick = min(int(within * 0x10000) + bump, 0xFFFF)
    return f"{now:%Y%m%d-%H%M}-{tick:04x}"


class Store:
    """A DuckDB file of runs (default ``./fabnet.duckdb``).

    Parameters
    ----------
    path:
        The DuckDB file.
    create:
        Create the file and its tables when missing (the default). With ``False`` a
        missing file is a :class:`~fabnet.errors.StoreError` (for commands that only read).
    lock_timeout_s:
        How long to wait for another process that holds the file, seconds.
    """

    def __init__(
        self,
        path: str | Path = "fabnet.duckdb",
        *,
        create: bool = True,
        lock_timeout_s: float = 5.0,
    ) -> None:
        self.path = Path(path)
        self.lock_timeout_s = lock_timeout_s
        if self.path.is_dir():
            raise StoreError(
                Problem(
                    "the runs store path is a directory, not a DuckDB file",
                    hint="give a file name such as runs.duckdb",
                    file=str(self.path),
                )
            )
        if not self.path.exists():
            if not create:
                raise StoreError(
                    Problem(
                        "no runs store here yet",
                        hint="`fabnet plan SCENARIO` creates it, or pass --store PATH",
                        file=str(self.path),
                    )
                )
            self.path.parent.mkdir(parents=True, exist_ok=True)
        if create:
            with self._connect(read_only=False) as con:
                self._check_layout(con)
                self._ensure_schema(con)

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    # Connections --------------------------------------------------------------------------

    @contextlib.contextmanager
    def _connect(self, *, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open the file for one operation; a clear StoreError when locked or not DuckDB."""
        if read_only and not self.path.exists():
            raise StoreError(
                Problem(
                    "no runs store here yet",
                    hint="`fabnet plan SCENARIO` creates it, or pass --store PATH",
                    file=str(self.path),
                )
            )
        if self.path.is_file() and self.path.stat().st_size == 0:
            if read_only:  # an empty file (`touch`, mktemp) holds no runs yet
                raise StoreError(
                    Problem(
                        "no runs store here yet (the file is empty)",
                        hint="`fabnet plan SCENARIO --store PATH` makes it one",
                        file=str(self.path),
                    )
                )
            self.path.unlink()  # DuckDB cannot open a 0-byte file; it holds nothing
        deadline = time.monotonic() + self.lock_timeout_s
        while True:
            try:
                con = duckdb.connect(str(self.path), read_only=read_only)
                break
            except duckdb.Error as exc:
                text = str(exc)
                if "could not set lock" in text.lower():
                    if time.monotonic() < deadline:
                        time.sleep(0.05)
                        continue
                    holder = re.search(r"held in (.*)$", text.split("\n")[0])
                    raise StoreError(
                        Problem(
                            "the runs store is in use by another process"
                            + (f" ({holder.group(1).rstrip('.')})" if holder else ""),
                            hint="wait for it to finish, or pass --store PATH to use another file",
                            file=str(self.path),
                        )
                    ) from None
                if "not a valid duckdb database" in text.lower():
                    raise StoreError(
                        Problem(
                            "this file is not a DuckDB runs store (it is not a DuckDB database at all)",
                            hint="pass --store PATH with a new file name (fabnet creates it) "
                            "or an existing fabnet store",
                            file=str(self.path),
                        )
                    ) from None
                raise StoreError(self._open_problem(text, read_only)) from None
        try:
            if read_only:
                self._check_readable(con)
            yield con
        except duckdb.Error as exc:
            raise StoreError(
                Problem(
                    f"the runs store cannot be {'read' if read_only else 'written'}: "
                    f"{str(exc).splitlines()[0]}",
                    hint="the file may have been changed outside fabnet; pass --store PATH "
                    "to use another store",
                    file=str(self.path),
                )
            ) from None
        finally:
            con.close()

    def _open_problem(self, text: str, read_only: bool) -> Problem:
        """What went wrong opening the file, in words (permissions, a read-only folder)."""
        low = text.lower()
        first = text.splitlines()[0] if text else "unknown error"
        if "permission denied" in low or "read-only file system" in low:
            where = "file" if self.path.exists() else "folder"
            return Problem(
                f"cannot {'read' if read_only else 'write'} the runs store: the {where} is "
                "read-only (permission denied)",
                hint="pass --store PATH in a folder you can write to, or make the file writable",
                file=str(self.path),
            )
        return Problem(f"cannot open the runs store: {first}", file=str(self.path))

    @staticmethod
    def _tables(con: duckdb.DuckDBPyConnection) -> list[str]:
        return sorted(
            str(r[0])
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'main' AND table_catalog = current_database()"
            ).fetchall()
        )

    def _check_layout(self, con: duckdb.DuckDBPyConnection) -> list[str]:
        """Refuse a DuckDB file that is not a fabnet store (fabnet would add its tables to it)
        or whose ``runs`` table is not fabnet's; an empty file is fine (it becomes one).
        Returns the file's tables."""
        tables = self._tables(con)
        if not tables:
            return tables
        if "fabnet_meta" not in tables and "runs" not in tables:
            shown = ", ".join(tables[:6]) + (", ..." if len(tables) > 6 else "")
            raise StoreError(
                Problem(
                    f"this DuckDB file is not a fabnet runs store (it holds other tables: "
                    f"{shown}); fabnet will not add its tables to it",
                    hint="pass --store PATH with a new file name (fabnet creates it) or an "
                    "existing fabnet store",
                    file=str(self.path),
                )
            )
        if "runs" in tables:
            cols = {
                str(r[0])
                for r in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = "
                    "'runs' AND table_schema = 'main' AND table_catalog = current_database()"
                ).fetchall()
            }
            missing = [c for c in _RUNS_COLUMNS if c not in cols]
            if missing:
                raise StoreError(
                    Problem(
                        "the 'runs' table of this file is not fabnet's (it lacks "
                        f"{', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''})",
                        hint="pass --store PATH with a new file name (fabnet creates it) or "
                        "an existing fabnet store",
                        file=str(self.path),
                    )
                )
        elif "fabnet_meta" in tables:
            raise StoreError(
                Problem(
                    "this fabnet store has lost its 'runs' table",
                    hint="the file was changed outside fabnet; pass --store PATH to use "
                    "another store",
                    file=str(self.path),
                )
            )
        return tables

    def check_writable(self) -> None:
        """Raise a :class:`StoreError` now if a run could not be stored (a folder, a file that
        is not DuckDB or not fabnet's, read-only, locked): commands call it before long work."""
        with self._connect(read_only=False) as con:
            self._check_layout(con)

    def _check_readable(self, con: duckdb.DuckDBPyConnection) -> None:
        """Refuse a file that is not a fabnet store, or one written by a newer fabnet (its
        layout may mean something else)."""
        if "fabnet_meta" not in self._check_layout(con):
            return
        row = con.execute("SELECT value FROM fabnet_meta WHERE key = 'schema_version'").fetchone()
        if row is not None:
            self._check_version(str(row[0]))

    def _ensure_schema(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute(_SCHEMA_SQL)
        row = con.execute("SELECT value FROM fabnet_meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            con.execute(
                "INSERT INTO fabnet_meta VALUES ('schema_version', ?), ('created_by', ?)",
                [str(SCHEMA_VERSION), f"fabnet {__version__}"],
            )
            return
        self._check_version(str(row[0]))

    def _check_version(self, stored: str) -> None:
        if int(stored) > SCHEMA_VERSION:
            raise StoreError(
                Problem(
                    f"the runs store has layout version {stored}, this fabnet reads up to "
                    f"{SCHEMA_VERSION}",
                    hint="upgrade fabnet, or pass --store PATH to use another file",
                    file=str(self.path),
                )
            )

    @staticmethod
    def _has_runs(con: duckdb.DuckDBPyConnection) -> bool:
        row = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'runs'"
        ).fetchone()
        return bool(row and row[0])

    def schema_version(self) -> int:
        """The layout version recorded in the file (0 when the file has no fabnet tables)."""
        with self._connect(read_only=True) as con:
            if not self._has_runs(con):
                return 0
            row = con.execute(
                "SELECT value FROM fabnet_meta WHERE key = 'schema_version'"
            ).fetchone()
            return int(row[0]) if row else 0

    # Writing ------------------------------------------------------------------------------

    def save_run(
        self,
        *,
        kind: str,
        scenario: Scenario | None,
        options: Mapping[str, Any],
        status: str,
        timings_s: Mapping[str, float],
        summary: Mapping[str, Any],
        tables: Mapping[str, pd.DataFrame],
        messages: Sequence[str] = (),
        input_name: str | None = None,
        input_hash: str | None = None,
    ) -> str:
        """Store one run in one transaction and return its id.

        A run on a scenario (a plan) passes ``scenario``: its name, hash and JSON are kept.
        A run on other input (a fab simulation of an SMT2020 folder) passes ``scenario=None``
        with ``input_name`` and ``input_hash`` (e.g. SHA-256 of the input files) instead.

        Each DataFrame goes to table ``<kind>_<name>`` with a leading ``run_id`` column.
        If anything fails (or the process is interrupted) nothing of this run is kept
        and earlier runs are untouched. The stored summary gets ``run_id`` filled in.
        """
        if not _NAME.match(kind):
            raise StoreError(f"run kind {kind!r} must be lower-case letters, digits and '_'")
        if scenario is not None:
            scen_name: str = scenario.name
            scen_json: str | None = scenario.model_dump_json()
            scen_hash = scenario_hash(scenario)
        elif input_name:
            scen_name, scen_json, scen_hash = input_name, None, input_hash or ""
        else:
            raise StoreError("a run needs a scenario or an input_name to be stored under")
        with self._connect(read_only=False) as con:
            self._ensure_schema(con)
            con.begin()
            try:
                now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
                run_id = self._fresh_id(con, now)
                stored_summary = dict(jsonable(dict(summary)))
                stored_summary["run_id"] = run_id
                layout: dict[str, list[str]] = {}
                # Tables are iterated lazily inside the transaction on purpose: whatever
                # happens while they are written (a bad table, Ctrl-C) rolls back the lot.
                for name, frame in tables.items():
                    layout[name] = self._write_table(con, kind, name, frame, run_id)
                con.execute(
                    f"INSERT INTO runs ({', '.join(_RUNS_COLUMNS)}) VALUES "
                    f"({', '.join('?' * len(_RUNS_COLUMNS))})",
                    [
                        run_id,
                        kind,
                        now,
                        scen_name,
                        scen_hash,
                        scen_json,
                        json.dumps(jsonable(dict(options))),
                        status,
                        json.dumps(jsonable(dict(timings_s))),
                        json.dumps(stored_summary),
                        json.dumps([str(m) for m in messages]),
                        json.dumps(layout),
                        __version__,
                    ],
                )
                con.commit()
            except BaseException as exc:
                with contextlib.suppress(duckdb.Error):
                    con.rollback()
                if isinstance(exc, duckdb.Error):
                    raise StoreError(
                        Problem(
                            f"could not store the {kind} run: {str(exc).splitlines()[0]}",
                            hint="nothing of this run was written; earlier runs are unchanged",
                            file=str(self.path),
                        )
                    ) from exc
                raise
        return run_id

    @staticmethod
    def _fresh_id(con: duckdb.DuckDBPyConnection, now: dt.datetime) -> str:
        for bump in range(0x10000):
            run_id = _run_id(now, bump)
            if con.execute("SELECT 1 FROM runs WHERE id = ?", [run_id]).fetchone() is None:
                return run_id
        raise StoreError("no free run id in this minute")  # pragma: no cover - 65536 runs/min

    def _write_table(
        self,
        con: duckdb.DuckDBPyConnection,
        kind: str,
        name: str,
        frame: pd.DataFrame,
        run_id: str,
    ) -> list[str]:
        """Append ``frame`` to ``<kind>_<name>``, creating the table or new columns as needed."""
        if not _NAME.match(name):
            raise StoreError(
                f"result table name {name!r} must be lower-case letters, digits and '_'"
            )
        if not isinstance(frame, pd.DataFrame):
            raise StoreError(f"result table {name!r} is a {type(frame).__name__}, not a DataFrame")
        columns = [str(c) for c in frame.columns]
        if len(set(columns)) != len(columns) or "run_id" in columns:
            raise StoreError(
                f"result table {name!r} has duplicate columns or its own run_id column: {columns}"
            )
        table = f"{kind}_{name}"
        data = frame.reset_index(drop=True)
        data.columns = pd.Index(columns)
        con.register("_fabnet_frame", data)
        try:
            described = con.execute("DESCRIBE SELECT * FROM _fabnet_frame").fetchall()
            # A column with only missing values has DuckDB type NULL: store it as text.
            types = {
                str(r[0]): ("VARCHAR" if str(r[1]) == '"NULL"' else str(r[1])) for r in described
            }
            existing = {
                str(r[0]): str(r[1])
                for r in con.execute(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_name = ?",
                    [table],
                ).fetchall()
            }
            if not existing:
                cols = ", ".join(f"{_quote(c)} {types[c]}" for c in columns)
                sep = ", " if cols else ""
                con.execute(f"CREATE TABLE {_quote(table)} (run_id VARCHAR NOT NULL{sep}{cols})")
            else:
                for c in columns:
                    if c not in existing:
                        con.execute(
                            f"ALTER TABLE {_quote(table)} ADD COLUMN {_quote(c)} {types[c]}"
                        )
                    elif (
                        existing[c] == "VARCHAR"
                        and types[c] != "VARCHAR"
                        and self._all_null(con, table, c)
                    ):
                        # Earlier runs only had missing values here (stored as text): now
                        # that a run brings real values, give the column their type.
                        con.execute(
                            f"ALTER TABLE {_quote(table)} ALTER COLUMN {_quote(c)} TYPE {types[c]}"
                        )
            if columns and len(data):
                select = ", ".join(_quote(c) for c in columns)
                con.execute(
                    f"INSERT INTO {_quote(table)} BY NAME "
                    f"SELECT ? AS run_id, {select} FROM _fabnet_frame",
                    [run_id],
                )
            elif len(data):
                raise StoreError(f"result table {name!r} has rows but no columns")
        finally:
            # after a failed statement the transaction is aborted and this fails too; the
            # first error is the one to report
            with contextlib.suppress(duckdb.Error):
                con.unregister("_fabnet_frame")
        return columns

    @staticmethod
    def _all_null(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
        row = con.execute(f"SELECT count({_quote(column)}) FROM {_quote(table)}").fetchone()
        return row is not None and int(row[0]) == 0

    # Reading ------------------------------------------------------------------------------

    def _runs_frame(self, con: duckdb.DuckDBPyConnection, kind: str | None) -> pd.DataFrame:
        if not self._has_runs(con):
            return pd.DataFrame(columns=list(_RUNS_COLUMNS))
        sql = "SELECT * EXCLUDE (scenario_json) FROM runs"
        params: list[Any] = []
        if kind is not None:
            sql += " WHERE kind = ?"
            params.append(kind)
        sql += " ORDER BY created_at DESC, id DESC"
        frame: pd.DataFrame = con.execute(sql, params).df()
        return frame

    def list_runs(self, kind: str | None = None) -> pd.DataFrame:
        """Stored runs, newest first.

        Columns: ``id``, ``kind``, ``created_at`` (UTC), ``scenario``, ``status``,
        ``objective_usd``, ``unmet_pflops`` (summed over years), ``time_s`` (sum of the
        step timings), ``scenario_hash`` (first 12 hex digits), ``fabnet_version``,
        ``variant`` (a plan's scenario variant, ``base`` without one; None when the run
        did not record it) and ``options`` (the dict the run was stored with: what tells
        runs of one scenario apart, see :func:`fabnet.store.record.run_parameters`).
        """
        with self._connect(read_only=True) as con:
            raw = self._runs_frame(con, kind)
        rows: list[dict[str, Any]] = []
        for rec in raw.to_dict("records"):
            summary = json.loads(rec["summary_json"] or "{}")
            timings = json.loads(rec["timings_json"] or "{}")
            options = json.loads(rec["options_json"] or "{}")
            options = options if isinstance(options, dict) else {}
            years = summary.get("years") or []
            unmet = [y.get("unmet_pflops") for y in years if isinstance(y, Mapping)]
            rows.append(
                {
                    "id": rec["id"],
                    "kind": rec["kind"],
                    "created_at": rec["created_at"],
                    "scenario": rec["scenario_name"],
                    "status": rec["status"],
                    "objective_usd": _float(summary.get("objective_usd")),
                    "unmet_pflops": (
                        float(sum(u for u in unmet if u is not None)) if unmet else float("nan")
                    ),
                    "time_s": float(sum(float(v) for v in timings.values())),
                    "scenario_hash": str(rec["scenario_hash"] or "")[:12],
                    "fabnet_version": rec["fabnet_version"],
                    "variant": run_variant(rec["kind"], options),
                    "options": options,
                }
            )
        columns = [
            "id",
            "kind",
            "created_at",
            "scenario",
            "status",
            "objective_usd",
            "unmet_pflops",
            "time_s",
            "scenario_hash",
            "fabnet_version",
            "variant",
            "options",
        ]
        return pd.DataFrame(rows, columns=columns)

    def latest_risk_of(self, plan_run_id: str) -> RunRecord | None:
        """The newest risk run of a plan run, or None (risk runs name their plan in options)."""
        with self._connect(read_only=True) as con:
            if not self._has_runs(con):
                return None
            row = con.execute(
                "SELECT id FROM runs WHERE kind = 'risk' AND json_extract_string(options_json, "
                "'$.plan_run_id') = ? ORDER BY created_at DESC, id DESC LIMIT 1",
                [plan_run_id],
            ).fetchone()
        return self.load_run(str(row[0])) if row else None

    def resolve_id(self, ref: str) -> str:
        """The full run id for an id, a unique prefix of one, or ``latest``."""
        with self._connect(read_only=True) as con:
            return self._resolve(con, ref)

    def _resolve(self, con: duckdb.DuckDBPyConnection, ref: str) -> str:
        ref = ref.strip()
        if not self._has_runs(con):
            raise StoreError(
                Problem(
                    "the runs store holds no runs yet",
                    hint="`fabnet plan SCENARIO` stores one",
                    file=str(self.path),
                )
            )
        recent = [
            str(r[0])
            for r in con.execute(
                "SELECT id FROM runs ORDER BY created_at DESC, id DESC LIMIT ?", [_HINT_IDS]
            ).fetchall()
        ]
        if not recent:
            raise StoreError(
                Problem(
                    "the runs store holds no runs yet",
                    hint="`fabnet plan SCENARIO` stores one",
                    file=str(self.path),
                )
            )
        if ref == "latest":
            return recent[0]
        if not ref:
            raise StoreError(Problem("empty run id", hint=_recent_hint(recent)))
        matches = [
            str(r[0])
            for r in con.execute(
                "SELECT id FROM runs WHERE starts_with(id, ?) ORDER BY id", [ref]
            ).fetchall()
        ]
        if ref in matches:
            return ref
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise StoreError(
                Problem(
                    f"no run with id {ref!r} in {self.path}",
                    hint=_recent_hint(recent) + "; `fabnet runs list` shows all",
                )
            )
        shown = ", ".join(matches[:8]) + (" ..." if len(matches) > 8 else "")
        raise StoreError(
            Problem(
                f"run id prefix {ref!r} matches {len(matches)} runs: {shown}",
                hint="give more characters of the id",
            )
        )

    def delete_run(self, run_id: str) -> None:
        """Delete one run (its ``runs`` row and its rows of every result table) in one
        transaction (``runs.tables_json`` names the tables ``<kind>_<name>`` holding them)."""
        with self._connect(read_only=False) as con:
            row = con.execute(
                "SELECT kind, tables_json FROM runs WHERE id = ?", [run_id]
            ).fetchone()
            if row is None:
                raise StoreError(
                    Problem(f"no run {run_id} in {self.path}", hint="reload the runs list")
                )
            kind, layout = str(row[0]), json.loads(row[1] or "{}")
            con.begin()
            try:
                for name in layout:
                    if _NAME.match(str(name)):
                        con.execute(
                            f"DELETE FROM {_quote(f'{kind}_{name}')} WHERE run_id = ?", [run_id]
                        )
                con.execute("DELETE FROM runs WHERE id = ?", [run_id])
                con.commit()
            except BaseException:
                con.rollback()
                raise

    def load_run(self, ref: str) -> RunRecord:
        """A stored run by id, unique id prefix or ``latest``, with its result tables."""
        with self._connect(read_only=True) as con:
            run_id = self._resolve(con, ref)
            rec = con.execute("SELECT * FROM runs WHERE id = ?", [run_id]).df().iloc[0].to_dict()
            layout: dict[str, list[str]] = json.loads(rec["tables_json"] or "{}")
            tables: dict[str, pd.DataFrame] = {}
            for name, columns in layout.items():
                table = f"{rec['kind']}_{name}"
                if not columns:
                    tables[name] = pd.DataFrame()
                    continue
                select = ", ".join(_quote(c) for c in columns)
                try:
                    frame = con.execute(
                        f"SELECT {select} FROM {_quote(table)} WHERE run_id = ?", [run_id]
                    ).df()
                except duckdb.CatalogException as exc:
                    raise StoreError(
                        Problem(
                            f"run {run_id}'s result table {table} (or one of its columns) is "
                            f"missing from the store: {str(exc).splitlines()[0]}",
                            hint="the file was changed outside fabnet; this run cannot be "
                            "loaded (others may be: `fabnet runs list`)",
                            file=str(self.path),
                        )
                    ) from None
                tables[name] = frame
        try:
            scenario = (
                Scenario.model_validate_json(rec["scenario_json"]) if rec["scenario_json"] else None
            )
        except ValidationError as exc:
            raise StoreError(
                Problem(
                    f"run {run_id}'s scenario no longer validates with this fabnet "
                    f"({exc.error_count()} problems)",
                    hint=f"it was stored by fabnet {rec['fabnet_version']}; use that version "
                    "to read it",
                )
            ) from None
        meta = {
            "id": run_id,
            "kind": rec["kind"],
            "created_at": pd.Timestamp(rec["created_at"]).to_pydatetime(),
            "scenario_name": rec["scenario_name"],
            "scenario_hash": rec["scenario_hash"],
            "status": rec["status"],
            "options": json.loads(rec["options_json"] or "{}"),
            "timings_s": json.loads(rec["timings_json"] or "{}"),
            "fabnet_version": rec["fabnet_version"],
        }
        return RunRecord(
            meta=meta,
            scenario=scenario,
            summary=json.loads(rec["summary_json"] or "{}"),
            messages=list(json.loads(rec["messages_json"] or "[]")),
            tables=tables,
        )

    def compare(self, run_ids: Sequence[str]) -> pd.DataFrame:
        """Key figures of several runs side by side: one row per figure, one column per run.

        See :func:`fabnet.store.compare.key_figures` for the figures.
        """
        from fabnet.store.compare import compare_frame

        if not run_ids:
            raise StoreError("compare needs at least one run id")
        with self._connect(read_only=True) as con:
            ids = list(dict.fromkeys(self._resolve(con, r) for r in run_ids))
            found: dict[str, dict[str, Any]] = {
                str(r["id"]): {str(k): v for k, v in r.items()}
                for r in con.execute(
                    "SELECT * EXCLUDE (scenario_json), json_extract_string(scenario_json, "
                    "'$.designer') AS designer FROM runs WHERE list_contains(?, id)",
                    [ids],
                )
                .df()
                .to_dict("records")
            }
        return compare_frame([found[i] for i in ids])


def check_writable(path: str | Path, lock_timeout_s: float = 5.0) -> None:
    """Raise a :class:`StoreError` now if a run could not be stored at ``path``: a folder, a
    file that is not DuckDB or not a fabnet store, a read-only file or folder, a file locked
    by another process. Changes nothing (a missing store is not created). Commands call it
    before long work so that they fail before solving, not after."""
    p = Path(path)
    if p.is_dir():
        Store(p)  # raises the folder problem
    folder = p.parent if p.exists() else _nearest_existing(p.parent)
    if not folder.is_dir():
        raise StoreError(
            Problem(
                f"cannot create the runs store: {folder} is a file, not a folder",
                hint="pass --store PATH in an existing folder",
                file=str(p),
            )
        )
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise StoreError(
            Problem(
                f"cannot write the runs store: the folder {folder} is read-only "
                f"({(exc.strerror or str(exc)).lower()})",
                hint="pass --store PATH in a folder you can write to",
                file=str(p),
            )
        ) from None
    if p.exists():
        Store(p, create=False, lock_timeout_s=lock_timeout_s).check_writable()


def _nearest_existing(folder: Path) -> Path:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _recent_hint(recent: Sequence[str]) -> str:
    return "recent runs: " + ", ".join(recent) + " (or `latest`)"
