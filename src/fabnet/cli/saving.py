"""Storing finished work without losing it: check the store before long work, and when the
store still fails after it, save the runs to a rescue store that the error message names.

``fabnet plan``, ``risk`` and ``frontier`` solve for seconds to hours; a store that cannot be
written (a folder, a file that is not DuckDB or not fabnet's, read-only, locked by another
process) must be refused before that, and a store that fails after it (the disk filled up,
a result table changed outside fabnet) must not cost the result:

1. :meth:`RunSaver.check` runs :func:`fabnet.store.check_writable` before the work.
2. :meth:`RunSaver.save` stores a run; if the store fails, it (and every later run of the
   command) goes to a new store ``<name>-unsaved-<UTC time>.duckdb`` next to the store, else
   in the current folder, else in the temporary folder; as a last resort a JSON file.
3. :meth:`RunSaver.finish` raises a :class:`StoreError` naming the rescue file (exit 2).
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

from fabnet.errors import Problem, StoreError


class RunSaver:
    """Saves the runs of one command to ``store``, or to a rescue file when ``store`` fails."""

    def __init__(self, store: Path) -> None:
        self.store = Path(store)
        #: Where runs went after the store failed (a DuckDB store or a JSON file), or None.
        self.rescue: Path | None = None
        self.failure: StoreError | None = None
        self._stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")

    @property
    def path(self) -> Path:
        """The store that holds this command's runs (the rescue store after a failure)."""
        return (
            self.rescue
            if self.rescue is not None and self.rescue.suffix != ".json"
            else (self.store)
        )

    def check(self) -> None:
        """Raise a :class:`StoreError` now if runs could not be stored (before long work)."""
        from fabnet.store import check_writable

        check_writable(self.store)

    def save(self, **run: Any) -> str | None:
        """Store one run (the arguments of :meth:`fabnet.store.Store.save_run`) and return its
        id; after a store failure, in the rescue store (``None`` for a JSON rescue file)."""
        from fabnet.store import Store

        if self.failure is None:
            try:
                return Store(self.store).save_run(**run)
            except StoreError as exc:
                self.failure = exc
        return self._rescue(run)

    def _candidates(self, suffix: str) -> list[Path]:
        name = f"{self.store.stem or 'fabnet'}-unsaved-{self._stamp}{suffix}"
        folders = [self.store.parent, Path.cwd(), Path(tempfile.gettempdir())]
        return list(dict.fromkeys(f.resolve() / name for f in folders))

    def _rescue(self, run: dict[str, Any]) -> str | None:
        from fabnet.store import Store

        if self.rescue is not None and self.rescue.suffix == ".duckdb":
            try:
                return Store(self.rescue).save_run(**run)
            except StoreError:
                pass
        elif self.rescue is None:
            for path in self._candidates(".duckdb"):
                try:
                    run_id = Store(path).save_run(**run)
                except (StoreError, OSError):
                    continue
                self.rescue = path
                return run_id
        for path in self._candidates(".json"):
            try:
                _append_json(path, run)
            except OSError:
                continue
            self.rescue = path
            return None
        assert self.failure is not None
        raise StoreError(
            Problem(
                self.failure.problems[0].message,
                "and no rescue file could be written next to the store, in the current "
                "folder or in the temporary folder: the result is lost; free some space or "
                "pass --store PATH",
                file=str(self.store),
            )
        )

    def finish(self) -> None:
        """Raise a :class:`StoreError` naming the rescue file if the store failed."""
        if self.failure is None or self.rescue is None:
            return
        first = self.failure.problems[0]
        if self.rescue.suffix == ".json":
            hint = f"the results were saved as JSON to {self.rescue} instead"
        else:
            hint = (
                f"the results were saved to the new store {self.rescue} instead: "
                f"`fabnet runs list --store {self.rescue}`"
            )
        raise StoreError(
            Problem(f"could not store the results: {first.message}", hint, file=str(self.store))
        )


def _append_json(path: Path, run: dict[str, Any]) -> None:
    """Add one run (tables as lists of records) to a JSON rescue file."""
    from fabnet.store.record import jsonable

    runs: list[Any] = json.loads(path.read_text("utf-8")) if path.exists() else []
    scenario = run.get("scenario")
    entry = {
        **{k: v for k, v in run.items() if k not in ("scenario", "tables")},
        "scenario": scenario.model_dump(mode="json") if scenario is not None else None,
        "tables": {k: v.to_dict("records") for k, v in dict(run.get("tables", {})).items()},
    }
    runs.append(jsonable(entry))
    path.write_text(json.dumps(runs, indent=1, ensure_ascii=False), "utf-8")
