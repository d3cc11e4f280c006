"""Stored ``fab curve`` runs as a scenario's operating curve (``operating_curve: {run: ID}``
or ``{store: PATH, run: ID}``): the CLI reads the runs store for the scenario loader, which
does not import the store (layering, DESIGN.md; :mod:`fabnet.scenario.curves`).

Installed when :mod:`fabnet.cli` is imported. Without ``store:`` the default store is read:
the running command's ``--store`` where it has one (``fabnet plan``, :func:`use_store`),
else ``fabnet.duckdb`` in the current folder.
"""

from __future__ import annotations

from pathlib import Path

from fabnet.errors import Problem, StoreError
from fabnet.scenario.curves import COLUMNS, set_curve_run_reader

#: The store read when a curve names no ``store:`` (a one-element list: set per command).
_DEFAULT: list[Path] = [Path("fabnet.duckdb")]


def read_stored_curve(store: Path | None, run_id: str) -> list[dict[str, float]]:
    """The points (``load``, ``throughput_frac``, ``flow_factor``, by load) of a stored
    ``curve`` run. A missing store or run, a run of another kind, or a curve stored before
    ``load`` was measured against the bottleneck capacity (no ``capacity_wpd`` column) is a
    :class:`StoreError`."""
    from fabnet.store import Store

    path = store if store is not None else _DEFAULT[0]
    if not path.is_file():
        raise StoreError(
            Problem(
                f"no runs store {path}",
                "give operating_curve.store (relative to the scenario file), or store the "
                "curve with `fabnet fab curve MODEL --store PATH`",
            )
        )
    rec = Store(path, create=False).load_run(run_id)
    if rec.kind != "curve":
        raise StoreError(
            Problem(
                f"run {rec.id} in {path} is a {rec.kind} run, not a curve",
                "give the id of a `fabnet fab curve --store` run (`fabnet runs list --kind curve`)",
            )
        )
    pts = rec.table("points")
    missing = [c for c in (*COLUMNS, "capacity_wpd") if c not in pts.columns]
    if missing:
        raise StoreError(
            Problem(
                f"curve run {rec.id} has no column(s) {', '.join(missing)} (stored before load "
                "was measured against the bottleneck capacity)",
                "measure the curve again with `fabnet fab curve … --store`",
            )
        )
    pts = pts.sort_values("load", kind="stable")
    return [{c: float(row[c]) for c in COLUMNS} for _, row in pts.iterrows()]


def use_store(path: Path) -> None:
    """Read curves that name no ``store:`` from ``path`` (the command's ``--store``) for the
    rest of this process (one CLI command)."""
    _DEFAULT[0] = path


set_curve_run_reader(read_stored_curve)
