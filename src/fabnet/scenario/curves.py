"""Operating curves named in a scenario by where their points are: a CSV file
(``operating_curve: {file: curve.csv}``) or a stored ``fab curve`` run
(``operating_curve: {run: RUN_ID}`` or ``{store: runs.duckdb, run: RUN_ID}``).

The loader reads them into ``points`` before validation, so a scenario (and its hash in the
runs store) carries the numbers, and the planner never reads a file. A file is a CSV with a
header and at least the columns ``load``, ``throughput_frac`` and ``flow_factor`` (others,
such as the cycle times ``fabnet fab curve`` writes, are ignored); its path is relative to
the scenario file. Problems name the CSV file and line.

A stored curve is read by a :data:`CurveRunReader` the CLI installs
(:func:`set_curve_run_reader`): the scenario layer does not import the store (layering,
DESIGN.md). ``store`` is relative to the scenario file; without it the reader's default
store is read (the CLI: the command's ``--store``).
"""

from __future__ import annotations

import copy
import csv
import itertools
import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from fabnet.errors import FabnetError, Problem, ScenarioError
from fabnet.scenario.yamlread import read_text

COLUMNS = ("load", "throughput_frac", "flow_factor")

#: ``(store path or None for the default store, run id) → points`` (dicts with
#: :data:`COLUMNS`); raises a :class:`~fabnet.errors.FabnetError` for a missing store or run.
CurveRunReader = Callable[[Path | None, str], list[dict[str, float]]]

_run_reader: list[CurveRunReader | None] = [None]


def set_curve_run_reader(reader: CurveRunReader | None) -> CurveRunReader | None:
    """Install the reader of stored curves (``operating_curve.run``); returns the previous."""
    previous = _run_reader[0]
    _run_reader[0] = reader
    return previous


def read_curve_csv(path: Path, label: str) -> tuple[list[dict[str, float]], list[Problem]]:
    """Points of one curve file (sorted by load) and the problems found (file:line each)."""
    try:  # the scenario file's limits: a regular file, ≤ 16 MiB, UTF-8 (or with a BOM)
        text = read_text(path, label)
    except ScenarioError as exc:
        return [], [
            replace(
                p,
                message=f"cannot read operating curve file: {p.message}",
                hint=p.hint or "check the path (relative to the scenario file)",
            )
            for p in exc.problems
        ]
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        return [], [Problem("operating curve file is empty", "add a header and points", label)]
    header = [h.strip() for h in rows[0]]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        return [], [
            Problem(
                f"operating curve file lacks column(s) {', '.join(missing)}",
                f"give a header with {', '.join(COLUMNS)}",
                file=label,
                line=1,
            )
        ]
    col = {c: header.index(c) for c in COLUMNS}
    points: list[dict[str, float]] = []
    lines: list[int] = []
    problems: list[Problem] = []
    for lineno, row in enumerate(rows[1:], start=2):
        if not row or all(not v.strip() for v in row):
            continue
        point: dict[str, float] = {}
        for c, i in col.items():
            raw = row[i].strip() if i < len(row) else ""
            try:
                value = float(raw)
            except ValueError:
                problems.append(
                    Problem(f"{c} '{raw[:20]}' is not a number", "give a number", label, lineno,
                            None, c)
                )  # fmt: skip
                continue
            bad = (
                not math.isfinite(value)
                or (c != "flow_factor" and not 0.0 < value <= 1.0)
                or (c == "flow_factor" and value < 1.0)
            )
            if bad:
                want = "at least 1" if c == "flow_factor" else "in (0, 1] (a share of capacity)"
                problems.append(
                    Problem(f"{c} {value:g} is out of range", f"{c} must be {want}", label, lineno,
                            None, c)
                )  # fmt: skip
            point[c] = value
        if len(point) == len(COLUMNS) and not any(p.line == lineno for p in problems):
            points.append(point)
            lines.append(lineno)
    if problems:
        return [], problems
    if len(points) < 2:
        return [], [
            Problem(
                f"operating curve has {len(points)} point(s); at least 2 are needed",
                "measure the curve at 2 or more loads",
                label,
            )
        ]
    order = sorted(range(len(points)), key=lambda k: points[k]["load"])
    for a, b in itertools.pairwise(order):
        pa, pb = points[a], points[b]
        wa, wb = (
            pa["flow_factor"] * pa["throughput_frac"],
            pb["flow_factor"] * pb["throughput_frac"],
        )
        if pb["load"] == pa["load"]:
            msg, hint = f"load {pb['load']:g} is given twice", "average the seeds of one load"
        elif pb["throughput_frac"] < pa["throughput_frac"] or wb < wa:
            msg = (
                f"curve is not monotone: throughput or WIP (flow_factor × throughput_frac) "
                f"falls from load {pa['load']:g} (line {lines[a]}) to {pb['load']:g}"
            )
            hint = "throughput and WIP must rise with load; re-measure or drop the point"
        else:
            continue
        problems.append(Problem(msg, hint, label, lines[b], None, "load"))
    return [points[k] for k in order], problems


def _read_run(
    target: dict[str, Any], base: Path | None, scenario_name: str, field: str
) -> list[Problem]:
    """Replace ``run`` (and ``store``) of one curve by the stored run's points."""
    run = str(target.pop("run"))
    store = target.pop("store", None)
    reader = _run_reader[0]
    name, at = scenario_name, f"{field}.run"
    if "points" in target or "file" in target:
        return [Problem("operating_curve has run and points or file", "give one of them",
                        file=name, field=at)]  # fmt: skip
    if reader is None:
        return [
            Problem(
                "operating_curve.run needs the runs store, which only the fabnet CLI reads",
                "plan with the CLI, or give the curve's points or a CSV file",
                file=name,
                field=at,
            )
        ]
    path = None
    if store is not None:
        path = Path(str(store))
        if not path.is_absolute() and base is not None:
            path = base / path
    try:
        points = reader(path, run)
    except FabnetError as exc:
        return [
            Problem(f"stored curve {run!r}: {p.message}", p.hint, file=name, field=at)
            for p in exc.problems
        ]
    target["points"] = points
    return []


def resolve_curve_files(
    data: dict[str, Any], scenario_name: str
) -> tuple[dict[str, Any], list[Problem]]:
    """A copy of raw scenario ``data`` with every ``operating_curve.file`` (paths relative to
    the scenario file's folder) and ``operating_curve.run`` (a stored ``fab curve`` run) read
    into ``points``, and the problems found."""
    base = Path(scenario_name).parent if Path(scenario_name).is_file() else None
    out = data
    problems: list[Problem] = []
    copied = False
    for section in ("processes", "sites"):
        entries = data.get(section)
        if not isinstance(entries, list):
            continue
        for i, entry in enumerate(entries):
            curve = entry.get("operating_curve") if isinstance(entry, dict) else None
            if isinstance(curve, dict) and "store" in curve and "run" not in curve:
                problems.append(
                    Problem(
                        "names a runs store but no run",
                        "add run: RUN_ID (a `fabnet fab curve --store` run), or drop store",
                        scenario_name,
                        field=f"{section}[{i}].operating_curve.store",
                    )
                )
                continue
            if not isinstance(curve, dict) or not ("file" in curve or "run" in curve):
                continue
            if not copied:
                out, copied = copy.deepcopy(data), True
            target = out[section][i]["operating_curve"]
            if "run" in target:
                field = f"{section}[{i}].operating_curve"
                problems.extend(_read_run(target, base, scenario_name, field))
                continue
            name = str(target.pop("file"))
            if base is None:  # text (an upload, --set): no folder to read files from
                problems.append(
                    Problem(
                        "operating_curve.file needs a scenario file to be relative to",
                        "load the scenario from its file, or give the curve's points",
                        scenario_name,
                        field=f"{section}[{i}].operating_curve.file",
                    )
                )
                continue
            path = base / name if not Path(name).is_absolute() else Path(name)
            label = str(path)
            if "points" in target:
                problems.append(
                    Problem(
                        "operating_curve has both file and points",
                        "give one of them",
                        scenario_name,
                        field=f"{section}[{i}].operating_curve",
                    )
                )
                continue
            points, found = read_curve_csv(path, label)
            problems.extend(found)
            target["points"] = points if not found else []
    return out, problems
