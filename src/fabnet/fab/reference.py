"""Loader of published SMT2020 reference KPIs (``lots_<MODEL>.txt``, ``machines_<MODEL>.txt``).

Both files are whitespace-separated with a header: lots ``name th act on_time`` (lots completed,
mean cycle time in days, on-time percent); machines ``name avail util br pm setup`` (percent).
Returned with our column names so they line up with :class:`~fabnet.fab.simulate.SimResult`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from fabnet.errors import FabModelError, Problem

_LOT_COLS = {
    "name": "name",
    "th": "completed",
    "act": "cycle_time_mean_days",
    "on_time": "on_time_pct",
}
_TOOL_COLS = {
    "name": "name",
    "avail": "availability_pct",
    "util": "utilization_pct",
    "br": "down_pct",
    "pm": "pm_pct",
    "setup": "setup_pct",
}


#: Simulated days behind the published reference KPIs: "two-year runs", lots completed "over
#: the two simulated years" (../shared/smt2020/reference/README.md; Kopp et al. 2020).
REFERENCE_DAYS = 730.0


@dataclass(frozen=True)
class Reference:
    """Reference KPIs of one model: per lot type and per tool family, over ``horizon_days``
    simulated days (no warm-up)."""

    model: str
    lot_types: pd.DataFrame
    tool_groups: pd.DataFrame
    horizon_days: float = REFERENCE_DAYS


def release_span_days(days: float, warmup_days: float, cycle_time_days: float) -> float:
    """Days of releases whose lots complete in the statistics window [warm-up, days] when
    every lot takes ``cycle_time_days``: releases in [max(0, warm-up − CT), days − CT]."""
    return max(0.0, days - cycle_time_days) - max(0.0, warmup_days - cycle_time_days)


def scaled_to_window(
    ref: Reference, days: float, warmup_days: float
) -> tuple[Reference, dict[str, float]]:
    """The reference with its lot counts scaled to a run of ``days`` with statistics after
    ``warmup_days``, and the factor used per lot type.

    The reference's count of a lot type is the lots released in [0, horizon − CT] (CT its
    mean cycle time; docs/fab-readings.md, "KPIs and the comparison protocol"), so its rate
    is count / (horizon − CT) and the like-with-like count of another window is that rate
    × :func:`release_span_days` (0 when no lot can finish in the window). Shares and cycle
    times are left as they are: they cannot be scaled."""
    lots = ref.lot_types.copy()
    factors: dict[str, float] = {}
    for i, row in lots.iterrows():
        ct = float(row["cycle_time_mean_days"])
        full = release_span_days(ref.horizon_days, 0.0, ct)
        f = release_span_days(days, warmup_days, ct) / full if full > 0 else math.nan
        factors[str(row["name"])] = f
        lots.loc[i, "completed"] = float(row["completed"]) * f
    return replace(ref, lot_types=lots), factors


def _read(path: Path, cols: dict[str, str]) -> pd.DataFrame:
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if not lines:
        raise FabModelError(Problem("file is empty", file=path.name, line=1))
    header = lines[0].split()
    for c in cols:
        if c not in header:
            raise FabModelError(Problem(f"header lacks column {c!r}", file=path.name, line=1))
    rows = []
    for n, ln in enumerate(lines[1:], start=2):
        parts = ln.split()
        if len(parts) != len(header):
            raise FabModelError(
                Problem(f"{len(parts)} fields, header has {len(header)}", file=path.name, line=n)
            )
        row: dict[str, object] = {}
        for k, (h, v) in enumerate(zip(header, parts, strict=True)):
            if h not in cols:
                continue
            if h == "name":
                row[cols[h]] = v
            else:
                try:
                    x = float(v)
                except ValueError:
                    x = math.nan
                if not math.isfinite(x):
                    raise FabModelError(
                        Problem(
                            f"not a finite number: {v!r}",
                            file=path.name,
                            line=n,
                            column=k + 1,
                            field=h,
                        )
                    ) from None
                row[cols[h]] = x
        rows.append(row)
    return pd.DataFrame(rows, columns=list(cols.values()))


def load_reference(directory: str | Path, model: str | None = None) -> Reference:
    """Reference KPIs from ``directory`` for ``model`` (e.g. ``HVLM``; if None, the only
    model there)."""
    d = Path(directory)
    if not d.is_dir():
        raise FabModelError(Problem("reference directory not found", file=str(d)))
    if model is None or not (d / f"lots_{model}.txt").is_file():
        found = sorted(p.name[5:-4] for p in d.glob("lots_*.txt"))
        if model is not None and model not in found and len(found) != 1:
            raise FabModelError(
                Problem(
                    f"no lots_{model}.txt", file=str(d), hint="models here: " + ", ".join(found)
                )
            )
        if len(found) != 1:
            raise FabModelError(
                Problem(
                    "cannot tell which model to compare with",
                    file=str(d),
                    hint="models here: " + ", ".join(found),
                )
            )
        model = found[0]
    lots = _read(d / f"lots_{model}.txt", _LOT_COLS)
    mpath = d / f"machines_{model}.txt"
    tools = (
        _read(mpath, _TOOL_COLS)
        if mpath.is_file()
        else pd.DataFrame(columns=list(_TOOL_COLS.values()))
    )
    return Reference(model, lots, tools)


def compare_tables(
    ours: pd.DataFrame, ref: pd.DataFrame, cols: list[str], relative: set[str]
) -> pd.DataFrame:
    """Ours beside the reference: for each column ``c``: ``c``, ``c_ref`` and ``c_diff``
    (percent difference for ``relative`` columns, else difference in points)."""
    m = ref[["name", *cols]].merge(
        ours[["name", *cols]], on="name", how="left", suffixes=("_ref", "")
    )
    out = m[["name"]].copy()
    for c in cols:
        out[c] = m[c]
        out[f"{c}_ref"] = m[f"{c}_ref"]
        if c in relative:
            out[f"{c}_diff"] = 100.0 * (m[c] - m[f"{c}_ref"]) / m[f"{c}_ref"]
        else:
            out[f"{c}_diff"] = m[c] - m[f"{c}_ref"]
    return out
