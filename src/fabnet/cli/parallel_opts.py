"""The `--workers` and `--scheduler` options of every command that runs work in parallel.

One help text for all of them; the work itself runs through :mod:`fabnet.parallel`.
"""

from __future__ import annotations

from typing import Annotated

import typer

#: Help of ``--workers`` (shared so every command says the same).
WORKERS_HELP = (
    "Worker processes of the local Dask cluster (default: one per core; 1 = in this process)."
)
#: Help of ``--scheduler``.
SCHEDULER_HELP = (
    "Run on an existing Dask cluster: its scheduler address, e.g. tcp://127.0.0.1:8786 "
    "(see docs/parallel.md)."
)

WorkersOpt = Annotated[int | None, typer.Option("--workers", metavar="N", help=WORKERS_HELP)]
SchedulerOpt = Annotated[
    str | None, typer.Option("--scheduler", metavar="ADDRESS", help=SCHEDULER_HELP)
]
