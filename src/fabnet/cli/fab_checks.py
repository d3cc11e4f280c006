"""Checks the fab commands make before they simulate: flags within the simulator's limits
(:mod:`fabnet.fab.limits`) and output paths that can be written.

The numeric callbacks build on :mod:`fabnet.cli.checks` (NaN, infinities, ranges), adding the
upper limits of the fab simulator, so ``--days 1e9`` is refused by name before anything is
allocated. The path checks run before a simulation that may take minutes, so a folder given
as ``-o`` or a read-only folder is reported at once, not after the work.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import typer

from fabnet.cli.checks import Check, finite_nonnegative, finite_positive, in_range
from fabnet.errors import FabnetError, Problem
from fabnet.fab.limits import MAX_DAYS, MAX_LOTS, MAX_LOTS_PER_DAY, MAX_WORKERS


def chain(*checks: Check) -> Check:
    """One callback running ``checks`` in turn (the first to refuse the value wins)."""

    def callback(param: typer.CallbackParam, value: float | None) -> float | None:
        for check in checks:
            value = check(param, value)
        return value

    return callback


#: ``--days``: finite, above 0, at most :data:`~fabnet.fab.limits.MAX_DAYS`.
days_check = chain(finite_positive(example="365"), in_range(0, MAX_DAYS, example="365"))
#: ``--warmup-days``: finite, at or above 0 (below ``--days``: checked by the simulator).
warmup_check = finite_nonnegative(example="90")
#: ``--workers`` / ``--processes``: 1 … :data:`~fabnet.fab.limits.MAX_WORKERS`.
workers_check = in_range(1, MAX_WORKERS, flag="--workers/--processes", example="2")
#: ``--lots-per-day`` of ``fab generate``.
lots_per_day_check = chain(
    finite_positive(example="12"), in_range(0, MAX_LOTS_PER_DAY, example="12")
)
#: ``--wip-lots`` of ``fab generate``.
wip_lots_check = in_range(0, MAX_LOTS, example="100")


def _fail(message: str, path: Path, flag: str, hint: str) -> FabnetError:
    return FabnetError(Problem(message, hint=hint, file=str(path), field=flag))


def writable_folder(folder: Path, flag: str) -> None:
    """Create ``folder`` if needed and make sure a file can be written in it."""
    if folder.exists() and not folder.is_dir():
        raise _fail("is a file, not a folder", folder, flag, f"give {flag} a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".fabnet-write-test-"):
            pass
    except OSError as exc:
        raise _fail(
            f"cannot write into this folder ({exc.strerror or exc})",
            folder,
            flag,
            f"choose a folder you can write to for {flag}",
        ) from None


def writable_file(path: Path, flag: str, example: str) -> None:
    """Make sure ``path`` can be written as a file: not a folder, its folder writable (created
    if needed), not a read-only file."""
    if path.is_dir():
        raise _fail(
            "is a folder, not a file", path, flag, f"give a file name, e.g. {path / example}"
        )
    writable_folder(path.parent, flag)
    if path.exists() and not os.access(path, os.W_OK):
        raise _fail("the file is read-only", path, flag, f"choose another {flag}")
