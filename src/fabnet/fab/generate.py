"""Synthetic wafer fabs in the SMT2020 file format, and a writer for SMT2020 folders.

:func:`generate_fab` builds a fab with the structure of the SMT2020 testbed on a
chosen scale: re-entrant routes made of repeated photo layers (coat/develop track
with setups → scanner → sampled litho metrology with rework → etch → clean →
deposition / diffusion batch → implant with a setup group → CMP ...), a litho-like
bottleneck, batch tools, cascading tools, breakdowns and preventive maintenance by
calendar and by count. Tool counts are sized from the generated work content and
the release interval is then set so that the most loaded tool family (normally the
scanner) runs at ``bottleneck_load`` of its available time — computed from the
generated data with the same occupancy conventions as :mod:`fabnet.fab.queueing`.

:func:`write_smt2020` writes such a fab as a complete SMT2020 folder;
:func:`write_tables` is the low-level writer (any rows, standard headers, missing
files written header-only) that tests use for hand-made fabs.

Times in minutes unless a name says otherwise; wafers per lot 25 (SMT2020).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fabnet.errors import FabModelError, Problem
from fabnet.fab.files import HEADERS, ROUTE_HEADER
from fabnet.fab.limits import (
    MAX_GENERATED_FAMILIES,
    MAX_GENERATED_PRODUCTS,
    MAX_GENERATED_STEPS,
    MAX_LOTS,
    MAX_LOTS_PER_DAY,
    MAX_TOOLS,
)
from fabnet.fab.route_flow import (
    RouteRework,
    expected_moves,
    expected_performances,
    job_occupancy_min,
    lot_time_coeffs_min,
)

if TYPE_CHECKING:
    from fabnet.fab.model import FabModel, PerKind

__all__ = [
    "HEADERS",
    "ROUTE_HEADER",
    "START_TIMESTAMP",
    "Row",
    "SyntheticFab",
    "format_timestamp",
    "generate_fab",
    "model_from_tables",
    "write_smt2020",
    "write_tables",
]

Row = Mapping[str, "str | int | float | None"]

#: Simulation time 0 as written in the files.
START_TIMESTAMP = "01/01/18 00:00:00"
_T0 = datetime(2018, 1, 1)
_ACTLIST = "Custom_actlist_ASISemiOpersDuringSetupAndAdditionalLoadUnload"


def format_timestamp(minutes_from_start: float) -> str:
    """``MM/DD/YY HH:MM:SS`` of a time ``minutes_from_start`` after simulation time 0."""
    t = _T0 + timedelta(seconds=round(minutes_from_start * 60.0))
    return t.strftime("%m/%d/%y %H:%M:%S")


def _cell(value: str | int | float | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot write non-finite number {value!r}")
        text = f"{value:.10g}"
        return text if "e" not in text else f"{value:.10f}".rstrip("0").rstrip(".")
    return str(value)


def _table_text(name: str, rows: Sequence[Row]) -> str:
    """The text of SMT2020 file ``name`` holding ``rows`` (header line first)."""
    columns = _columns(name)
    known = set(columns)
    lines = ["\t".join(columns)]
    for i, row in enumerate(rows, start=2):
        unknown = set(row) - known
        if unknown:
            raise FabModelError(
                Problem(
                    f"unknown column(s) {sorted(unknown)}",
                    hint=f"columns are {', '.join(columns)}",
                    file=name,
                    line=i,
                )
            )
        lines.append("\t".join(_cell(row.get(c)) for c in columns))
    return "\n".join(lines) + "\n"


def _columns(name: str) -> Sequence[str]:
    """The header of SMT2020 file ``name``."""
    if name.startswith("route_"):
        return ROUTE_HEADER
    if name in HEADERS:
        return HEADERS[name]
    raise FabModelError(
        Problem(
            f"unknown SMT2020 file name {name!r}",
            hint=f"use one of {', '.join(HEADERS)} or route_<N>.txt",
        )
    )


def _texts(tables: Mapping[str, Sequence[Row]]) -> dict[str, str]:
    """File name → text for ``tables`` plus every standard file not given (header only)."""
    texts = {name: _table_text(name, rows) for name, rows in tables.items()}
    for name in HEADERS:
        if name not in texts:
            texts[name] = _table_text(name, [])
    return texts


def write_tables(directory: str | Path, tables: Mapping[str, Sequence[Row]]) -> Path:
    """Write an SMT2020 folder from rows given as ``{file name: [ {column: value} ]}``.

    Each row is a mapping from column name to value (missing columns are written
    empty; numbers as short decimals; ``None`` as empty). File names are the SMT2020
    names (``tool.txt.1l``, ``order.txt``, ...) and ``route_*.txt`` for routes. Every
    standard file not given is written with its header only, so a hand-made fab needs
    only the files it uses. Returns the folder.
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    for name, text in _texts(tables).items():
        (d / name).write_text(text, encoding="ascii")
    return d


# ---------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Role:
    """A kind of tool family: area, name prefix and how its steps look."""

    area: str  # STNGRP
    prefix: str
    kind: str  # litho, track, met, etch, wet, tf, diff, implant, planar, diel


#: Roles in the order families are created (the first ones exist even in tiny fabs).
_ROLES: tuple[_Role, ...] = (
    _Role("Litho", "Litho", "litho"),
    _Role("Diffusion", "Diffusion", "diff"),
    _Role("Dry_Etch", "DE", "etch"),
    _Role("Litho_Met", "LithoMet", "met"),
    _Role("Litho", "LithoTrack", "track"),
    _Role("Wet_Etch", "WE", "wet"),
    _Role("Implant", "Implant", "implant"),
    _Role("TF", "TF", "tf"),
    _Role("Def_Met", "DefMet", "met"),
    _Role("Planar", "Planar", "planar"),
    _Role("Dielectric", "Dielectric", "diel"),
)

#: One photo layer: the order in which the roles' families are visited.
_LAYER: tuple[str, ...] = (
    "Wet_Etch", "Diffusion", "TF", "Dielectric", "LithoTrack", "Litho", "Litho_Met",
    "Dry_Etch", "Def_Met", "Implant", "Wet_Etch", "Planar",
)  # fmt: skip

#: Mean repair time per area in minutes (SMT2020 values; time to failure 7 days).
_MTTR_MIN: dict[str, float] = {
    "Def_Met": 35.28, "Litho_Met": 35.28, "Diffusion": 151.2, "Planar": 201.6,
    "Wet_Etch": 221.76, "Dry_Etch": 231.84, "TF": 453.6, "Dielectric": 604.8,
    "Implant": 604.8, "Litho": 705.59,
}  # fmt: skip
_MTTF_MIN = 10080.0
_LOAD_MIN = 1.0
_UNLOAD_MIN = 1.0
_TRANSPORT_MIN = (7.5, 2.5)
_SPREAD = 0.05  # PTIME2 / PTIME, as in SMT2020


@dataclass
class _Family:
    name: str
    role: _Role
    tools: int = 1
    cascading: bool = False
    setup_group: str = ""
    availability: float = 1.0


@dataclass
class _Op:
    op_id: int
    family: _Family
    ptime_min: float
    ptper: str
    batch_wafers: tuple[int, int] | None = None
    setup: str = ""
    stime_min: float | None = None
    part_interval_min: float | None = None
    batch_interval_min: float | None = None
    sample_pct: float | None = None
    rework: tuple[int, float] | None = None  # (0-based index of rework step, percent)
    cqt: tuple[int, float] | None = None  # (0-based index of exit step, hours)

    @property
    def desc(self) -> str:
        return f"{self.op_id:03d}_{self.family.role.area}"


@dataclass
class SyntheticFab:
    """A generated fab: the SMT2020 tables plus what was computed while sizing it.

    ``tables`` maps SMT2020 file names to rows (see :func:`write_tables`).
    ``family_utilization`` is the capacity in use per tool family at the nominal
    releases (share, 0–1: the G/G/m ``load_pct`` of :mod:`fabnet.fab.queueing`, outages
    included); ``bottleneck_family`` is the most loaded one and runs at
    ``bottleneck_load``. ``lots_per_day`` are the nominal release rates per part;
    ``raw_process_time_days`` the empty-fab cycle time per part; ``model`` the same fab
    as a :class:`~fabnet.fab.model.FabModel` (what :func:`~fabnet.fab.load_smt2020`
    reads back from the written folder), to simulate without writing files.
    """

    tables: dict[str, list[dict[str, str | int | float | None]]]
    bottleneck_family: str
    bottleneck_load: float
    family_utilization: dict[str, float] = field(default_factory=dict)
    lots_per_day: dict[str, float] = field(default_factory=dict)
    raw_process_time_days: dict[str, float] = field(default_factory=dict)
    model: FabModel | None = None

    @property
    def tool_count(self) -> int:
        """Number of tools over all families."""
        return sum(int(float(str(r["STNQTY"]))) for r in self.tables["tool.txt.1l"])


_PER: dict[str, PerKind] = {"per_piece": "piece", "per_lot": "lot", "per_batch": "batch"}


def _occupancy_min(op: _Op, wafers: int) -> float:
    """Tool time one lot uses at ``op``: the job occupancy of
    :func:`fabnet.fab.route_flow.job_occupancy_min` (a batch's shared by its
    ``BATCHMX`` wafers)."""
    job, _ = job_occupancy_min(
        _PER[op.ptper],
        op.ptime_min,
        0.0,
        wafers,
        _LOAD_MIN + _UNLOAD_MIN,
        cascading=op.family.cascading,
        part_interval_min=op.part_interval_min,
        batch_interval_min=op.batch_interval_min,
    )
    if op.ptper == "per_batch":
        assert op.batch_wafers is not None
        return job * wafers / op.batch_wafers[1]
    return job


def _flow_min(op: _Op, wafers: int) -> float:
    """Time one lot spends at ``op`` once started (empty fab, no setup):
    :func:`fabnet.fab.route_flow.lot_time_coeffs_min`."""
    fixed, per_wafer = lot_time_coeffs_min(
        _PER[op.ptper],
        op.ptime_min,
        _LOAD_MIN + _UNLOAD_MIN,
        cascading=op.family.cascading,
        part_interval_min=op.part_interval_min,
    )
    return fixed + wafers * per_wafer


def _rework_arrays(ops: Sequence[_Op]) -> RouteRework:
    """Sampling share, 0-based rework target and rework probability of each op, for
    :func:`fabnet.fab.route_flow.expected_performances`."""
    return (
        np.array([1.0 if op.sample_pct is None else op.sample_pct / 100.0 for op in ops]),
        np.array([-1 if op.rework is None else op.rework[0] for op in ops], dtype=np.int64),
        np.array([0.0 if op.rework is None else op.rework[1] / 100.0 for op in ops]),
    )


def generate_fab(
    tool_groups: int,
    steps: int,
    products: int = 2,
    seed: int = 0,
    *,
    bottleneck_load: float = 0.85,
    lots_per_day: float | None = None,
    hot_lot_share: float = 0.03,
    wafers_per_lot: int = 25,
    due_factor: float = 2.5,
    hot_due_factor: float = 1.5,
    initial_wip_lots: int = 0,
    queue_time_windows: bool = False,
    min_run_lots: int = 1,
    final_rank: str = "rank_FIFO",
) -> SyntheticFab:
    """Generate a synthetic fab with ``tool_groups`` tool families and ``steps``-step routes.

    ``products`` parts are made; part 1's route has ``steps`` steps, later parts use a
    shorter prefix of the same flow (down to about 65 % of it), like the two SMT2020
    HVLM products. ``lots_per_day`` (default 6 per product) is the total start rate
    used to size the tool counts; the release interval is then rescaled so that the most
    loaded family runs at ``bottleneck_load`` (0–1) of its available time. A share ``hot_lot_share`` of
    each part's lots is released as hot lots (priority 20). Due dates are
    ``due_factor`` (hot: ``hot_due_factor``) × the part's raw process time after
    release. ``initial_wip_lots`` lots are spread evenly along the routes at t 0.
    ``queue_time_windows`` adds critical queue-time windows after wet cleans.
    ``min_run_lots`` is the ``MINRUN`` of the implant setup group (SMT2020 uses 7). It is 1
    by default because the simulator's min-run lock waits for lots of the tool's setup
    without checking whether any can still arrive: in a small re-entrant fab all tools of
    the family can lock while the lots they wait for queue behind them (seen at 60 % load
    with 5).

    ``final_rank`` is the last key of every family's ``FWLRANK``: ``rank_FIFO`` (as in HVLM)
    or ``rank_CR`` (critical ratio, as in the SMT2020 high-mix models).

    Raises :class:`~fabnet.errors.FabModelError` on impossible arguments.
    """
    problems: list[Problem] = []
    if final_rank not in ("rank_FIFO", "rank_CR"):
        problems.append(
            Problem(
                f"final_rank={final_rank!r} is unknown",
                hint="rank_FIFO or rank_CR",
                field="final_rank",
            )
        )
    if tool_groups < 4:
        problems.append(
            Problem(
                f"tool_groups={tool_groups} is too small",
                hint="use at least 4 (scanner, diffusion, etch, metrology)",
                field="tool_groups",
            )
        )
    if steps < 4:
        problems.append(
            Problem(f"steps={steps} is too small", hint="use at least 4", field="steps")
        )
    if products < 1:
        problems.append(Problem("products must be at least 1", field="products"))
    for value, limit, what in (
        (tool_groups, MAX_GENERATED_FAMILIES, "tool_groups"),
        (steps, MAX_GENERATED_STEPS, "steps"),
        (products, MAX_GENERATED_PRODUCTS, "products"),
        (initial_wip_lots, MAX_LOTS, "initial_wip_lots"),
    ):
        if value > limit:
            problems.append(
                Problem(
                    f"{what}={value:,} exceeds the limit of {limit:,}",
                    hint="see docs/fab-readings.md, section Limits",
                    field=what,
                )
            )
    if not 0.0 < bottleneck_load < 1.0:
        problems.append(
            Problem(
                "bottleneck_load must be between 0 and 1", hint="e.g. 0.85", field="bottleneck_load"
            )
        )
    if lots_per_day is None:
        lots_per_day = 6.0 * max(products, 1)
    if not 0 < lots_per_day <= MAX_LOTS_PER_DAY:
        problems.append(
            Problem(
                f"lots_per_day={lots_per_day:g} must be a number in (0, {MAX_LOTS_PER_DAY:,.0f}]",
                hint="see docs/fab-readings.md, section Limits",
                field="lots_per_day",
            )
        )
    if not 0.0 <= hot_lot_share < 1.0:
        problems.append(Problem("hot_lot_share must be in [0, 1)", field="hot_lot_share"))
    if min_run_lots < 1:
        problems.append(Problem("min_run_lots must be ≥ 1", field="min_run_lots"))
    if initial_wip_lots < 0:
        problems.append(Problem("initial_wip_lots must be ≥ 0", field="initial_wip_lots"))
    if problems:
        raise FabModelError(problems, title="cannot generate a fab")

    rng = np.random.default_rng(seed)
    w = wafers_per_lot

    # --- families -----------------------------------------------------------------
    families: list[_Family] = []
    for i in range(tool_groups):
        role = _ROLES[i % len(_ROLES)]
        fam = _Family(name=f"{role.prefix}_{i + 1}", role=role)
        fam.cascading = role.kind in ("wet", "tf") or (role.kind == "planar" and i % 2 == 1)
        if role.kind == "implant":
            fam.setup_group = f"{fam.name}_Gas"
        families.append(fam)
    by_prefix: dict[str, list[_Family]] = {}
    for fam in families:
        by_prefix.setdefault(fam.role.prefix, []).append(fam)
    layer_roles = [r for r in _LAYER if _prefix_of(r) in by_prefix]

    # --- the master flow: repeated layers -------------------------------------------
    ops: list[_Op] = []
    layer = 0
    while len(ops) < steps:
        track_idx: int | None = None
        litho_idx: int | None = None
        for role_name in layer_roles:
            if len(ops) >= steps:
                break
            fams = by_prefix[_prefix_of(role_name)]
            fam = fams[(layer + (len(ops) if role_name == "Wet_Etch" else 0)) % len(fams)]
            op = _make_op(len(ops) + 1, fam, layer, rng)
            if fam.role.kind == "track":
                track_idx = len(ops)
            if fam.role.kind == "litho":
                litho_idx = len(ops)
            if fam.role.area == "Litho_Met":
                back = track_idx if track_idx is not None else litho_idx
                if back is not None and rng.random() < 0.5:
                    op.rework = (back, round(float(rng.uniform(0.5, 1.8)), 2))
            ops.append(op)
        layer += 1
    if queue_time_windows:
        for i, op in enumerate(ops[:-1]):
            if op.family.role.kind == "wet" and ops[i + 1].family.role.kind in ("diff", "tf"):
                op.cqt = (i + 1, float(rng.choice([2.0, 4.0, 6.0])))

    # --- parts and their routes -----------------------------------------------------
    parts = [f"part_{k + 1}" for k in range(products)]
    route_len = {
        p: max(4, round(steps * (1.0 - 0.35 * k / max(1, products - 1))))
        for k, p in enumerate(parts)
    }
    route_len[parts[0]] = steps
    mix = np.full(products, 1.0 / products)

    # --- work content and sizing ---------------------------------------------------
    visits = {
        p: expected_performances(*_rework_arrays(ops[: route_len[p]])).tolist() for p in parts
    }
    setup_min_per_lot = _expected_setup_per_lot(ops, families, visits, mix, parts, w, min_run_lots)
    work_min: dict[str, float] = dict.fromkeys((f.name for f in families), 0.0)
    visits_per_lot: dict[str, float] = dict.fromkeys((f.name for f in families), 0.0)
    for k, p in enumerate(parts):
        for op, v in zip(ops[: route_len[p]], visits[p], strict=True):
            visits_per_lot[op.family.name] += mix[k] * v
            work_min[op.family.name] += (
                mix[k]
                * v
                * (_occupancy_min(op, w) + setup_min_per_lot.get((op.family.name, op.op_id), 0.0))
            )
    pm_rows, attach_rows, downcal_rows = _calendars(families, rng)
    for fam in families:
        fam.availability = _availability(fam, pm_rows)
    day = 1440.0
    for fam in families:
        load_min_per_day = lots_per_day * work_min[fam.name]
        target = (
            bottleneck_load
            if fam.role.kind == "litho"
            else bottleneck_load * float(rng.uniform(0.55, 0.85))
        )
        need = load_min_per_day / (fam.availability * day * target)
        fam.tools = max(1, round(need) if fam.role.kind == "litho" else math.ceil(need))
    n_tools = sum(f.tools for f in families)
    if n_tools > MAX_TOOLS:
        raise FabModelError(
            Problem(
                f"at {lots_per_day:g} lots per day the fab needs {n_tools:,} tools; the limit is "
                f"{MAX_TOOLS:,}",
                hint="lower lots_per_day; see docs/fab-readings.md, section Limits",
                field="lots_per_day",
            ),
            title="cannot generate a fab",
        )
    util_per_lot_day = {
        f.name: work_min[f.name] / (f.tools * f.availability * day) for f in families
    }
    bottleneck = max(families, key=lambda f: util_per_lot_day[f.name])
    total_lots_per_day = bottleneck_load / util_per_lot_day[bottleneck.name]
    # count-based PMs are expressed in wafers per tool: set them now that rates are known
    _size_count_pms(pm_rows, attach_rows, families, visits_per_lot, total_lots_per_day, w)

    # --- tables ------------------------------------------------------------------
    tool_rows = [_tool_row(f, final_rank) for f in families]
    part_rows: list[dict[str, str | int | float | None]] = [
        {
            "PARTGRP": "Saleable",
            "PARTFAM": f"product_{k + 1}",
            "PART": p,
            "ROUTEFILE": f"route_{k + 1}.txt",
            "ROUTE": f"r_{k + 1}",
        }
        for k, p in enumerate(parts)
    ]
    tables: dict[str, list[dict[str, str | int | float | None]]] = {
        "tool.txt.1l": tool_rows,
        "part.txt": part_rows,
    }
    rpt_min: dict[str, float] = {}
    for k, p in enumerate(parts):
        route_ops = ops[: route_len[p]]
        tables[f"route_{k + 1}.txt"] = [
            _route_row(f"r_{k + 1}", i, op, len(route_ops)) for i, op in enumerate(route_ops)
        ]
        # one location: every move between performed steps takes the mean transport time
        moves = float(expected_moves(*_rework_arrays(route_ops)).expected.sum())
        rpt_min[p] = (
            sum(v * _flow_min(op, w) for op, v in zip(route_ops, visits[p], strict=True))
            + _TRANSPORT_MIN[0] * moves
        )

    order_rows: list[dict[str, str | int | float | None]] = []
    lots_per_day_part: dict[str, float] = {}
    for k, p in enumerate(parts):
        rate = float(total_lots_per_day) * float(mix[k])
        lots_per_day_part[p] = rate
        streams = [("Lot", 10, (1.0 - hot_lot_share) * rate, due_factor)]
        if hot_lot_share > 0:
            streams.append(("HotLot", 20, hot_lot_share * rate, hot_due_factor))
        for lot_name, prior, r, factor in streams:
            order_rows.append(
                {
                    "LOT": f"{lot_name}_{k + 1}",
                    "PART": p,
                    "PRIOR": prior,
                    "PIECES": w,
                    "START": START_TIMESTAMP,
                    "RDIST": "constant",
                    "REPEAT": day / r,
                    "RUNITS": "min",
                    "RPT#": 200000,
                    "LOTSPERRPT": 1,
                    "DUE": format_timestamp(factor * rpt_min[p]),
                    "ORDER": f"O_{lot_name}_{k + 1}",
                    "HOTLOT": "no",
                }
            )
    tables["order.txt"] = order_rows
    tables["WIP.txt"] = _wip_rows(initial_wip_lots, parts, route_len, rpt_min, due_factor, w)
    setup_rows, setupgrp_rows = _setup_rows(families, ops, min_run_lots)
    tables["setup.txt"] = setup_rows
    tables["setupgrp.txt"] = setupgrp_rows
    tables["downcal.txt"] = downcal_rows
    tables["pmcal.txt"] = pm_rows
    tables["attach.txt"] = attach_rows
    tables["fromto.txt"] = [
        {
            "FROMLOC": "Fab",
            "TOLOC": "Fab",
            "DDIST": "uniform",
            "DTIME": _TRANSPORT_MIN[0],
            "DTIME2": _TRANSPORT_MIN[1],
            "DUNITS": "min",
        }
    ]
    # final release rate: scale every stream so that the most loaded family, as the
    # G/G/m model of fabnet.fab.queueing computes it from these very tables, is at target
    scale, model, load = _calibrate(tables, bottleneck_load)
    for p in parts:
        lots_per_day_part[p] *= scale
    bottleneck_name = max(load, key=lambda n: load[n])
    return SyntheticFab(
        tables=tables,
        bottleneck_family=bottleneck_name,
        bottleneck_load=load[bottleneck_name],
        family_utilization=load,
        lots_per_day=lots_per_day_part,
        raw_process_time_days={p: v / day for p, v in rpt_min.items()},
        model=model,
    )


def _calibrate(
    tables: dict[str, list[dict[str, str | int | float | None]]], target: float
) -> tuple[float, FabModel, dict[str, float]]:
    """Scale the release intervals of ``order.txt`` so that the highest G/G/m load is
    ``target``; returns the scale, the final model and the load per family (share).

    The load is nearly proportional to the release rate (batch sizes and queue-dependent
    setups bend it a little), so a few fixed-point steps ``s ← s · target / load(s)``
    converge; intervals are rounded to 0.0001 min.
    """
    from fabnet.fab.queueing import network_from_model, solve_network

    base = [float(str(r["REPEAT"])) for r in tables["order.txt"]]
    scale = 1.0
    model = model_from_tables(tables)
    for _ in range(8):
        for r, iv in zip(tables["order.txt"], base, strict=True):
            r["REPEAT"] = round(iv / scale, 4)
        model = model_from_tables(tables)
        st = solve_network(network_from_model(model), 1.0).stations
        peak = float(st["load_pct"].max()) / 100.0
        if not math.isfinite(peak) or peak <= 0:
            break
        if abs(peak - target) < 1e-4:
            break
        scale *= target / peak
    loads = st["load_pct"].to_numpy(dtype=float) / 100.0
    names = [str(x) for x in st["station"]]
    return scale, model, dict(zip(names, (float(x) for x in loads), strict=True))


def model_from_tables(tables: Mapping[str, Sequence[Row]], name: str = "synthetic") -> FabModel:
    """The :class:`~fabnet.fab.model.FabModel` of SMT2020 tables, read by the loader from
    the texts :func:`write_tables` would write (so numbers round-trip as through the files,
    and the generator never has a reader of its own)."""
    from fabnet.fab.smt2020 import load_smt2020_tables

    return load_smt2020_tables(_texts(tables), name)


def write_smt2020(fab: SyntheticFab, directory: str | Path) -> Path:
    """Write ``fab`` as a complete SMT2020 folder (created if needed); returns the folder."""
    return write_tables(directory, fab.tables)


# ---------------------------------------------------------------------------
# helpers of generate_fab
# ---------------------------------------------------------------------------


def _prefix_of(role_name: str) -> str:
    return {
        "Litho": "Litho",
        "LithoTrack": "LithoTrack",
        "Litho_Met": "LithoMet",
        "Def_Met": "DefMet",
        "Dry_Etch": "DE",
        "Wet_Etch": "WE",
        "TF": "TF",
        "Diffusion": "Diffusion",
        "Implant": "Implant",
        "Planar": "Planar",
        "Dielectric": "Dielectric",
    }[role_name]


def _make_op(op_id: int, fam: _Family, layer: int, rng: np.random.Generator) -> _Op:
    """One operation of ``fam`` with SMT2020-like times (ranges read off HVLM)."""
    kind = fam.role.kind
    u = rng.uniform
    if kind == "litho":
        return _Op(op_id, fam, round(float(u(1.2, 2.0)), 3), "per_piece")
    if kind == "track":
        return _Op(
            op_id,
            fam,
            round(float(u(1.5, 2.7)), 3),
            "per_piece",
            setup=f"SU{op_id:03d}_L{layer + 1}",
            stime_min=float(rng.choice([8.0, 15.0])),
        )
    if kind == "met":
        return _Op(
            op_id,
            fam,
            round(float(u(12.0, 25.0)), 3),
            "per_lot",
            sample_pct=float(rng.choice([10.0, 25.0, 41.0, 56.0, 100.0])),
        )
    if kind == "etch":
        return _Op(op_id, fam, round(float(u(40.0, 170.0)), 2), "per_lot")
    if kind == "wet":
        p = round(float(u(0.8, 1.2)), 3)
        return _Op(op_id, fam, p, "per_piece", part_interval_min=round(0.75 * p, 4))
    if kind == "tf":
        p = round(float(u(60.0, 120.0)), 2)
        return _Op(op_id, fam, p, "per_lot", batch_interval_min=round(p / float(u(1.11, 1.43)), 2))
    if kind == "diff":
        mx = int(rng.choice([100, 125, 150]))
        return _Op(
            op_id, fam, round(float(u(240.0, 520.0)), 2), "per_batch", batch_wafers=(mx - 25, mx)
        )
    if kind == "implant":
        p = round(float(u(0.9, 1.2)), 3)
        return _Op(op_id, fam, p, "per_piece", setup=f"SU{fam.name}_{1 + layer % 3}")
    if kind == "planar":
        p = round(float(u(50.0, 100.0)), 2)
        if fam.cascading:
            return _Op(
                op_id, fam, p, "per_lot", batch_interval_min=round(p / float(u(1.11, 1.43)), 2)
            )
        return _Op(op_id, fam, p, "per_lot")
    return _Op(op_id, fam, round(float(u(80.0, 140.0)), 2), "per_lot")  # dielectric


def _expected_setup_per_lot(
    ops: Sequence[_Op],
    families: Sequence[_Family],
    visits: Mapping[str, Sequence[float]],
    mix: np.ndarray,
    parts: Sequence[str],
    wafers: int,
    min_run: int,
) -> dict[tuple[str, int], float]:
    """Expected setup minutes per lot at each setup step (random order, ÷ min run)."""
    shares: dict[str, dict[str, float]] = {}
    for k, p in enumerate(parts):
        for op, v in zip(ops, visits[p], strict=False):
            if op.setup:
                d = shares.setdefault(op.family.name, {})
                d[op.setup] = d.get(op.setup, 0.0) + float(mix[k]) * v
    out: dict[tuple[str, int], float] = {}
    for op in ops:
        if not op.setup:
            continue
        d = shares[op.family.name]
        tot = sum(d.values())
        p_change = 1.0 - sum((x / tot) ** 2 for x in d.values())
        minrun = min_run if op.family.setup_group else 1
        stime = op.stime_min if op.stime_min is not None else _IMPLANT_SETUP_MIN
        out[(op.family.name, op.op_id)] = stime * p_change / minrun
    return out


_IMPLANT_SETUP_MIN = 60.0


def _calendars(
    families: Sequence[_Family], rng: np.random.Generator
) -> tuple[
    list[dict[str, str | int | float | None]],
    list[dict[str, str | int | float | None]],
    list[dict[str, str | int | float | None]],
]:
    """PM calendars (one per family), breakdown calendars (one per area) and attachments."""
    areas = sorted({f.role.area for f in families})
    downcal: list[dict[str, str | int | float | None]] = [
        {
            "DOWNCALNAME": f"BREAK_{a}",
            "DOWNCALTYPE": "mttf_by_cal",
            "MTTFDIST": "exponential",
            "MTTF": _MTTF_MIN,
            "MTTFUNITS": "min",
            "MTTRDIST": "exponential",
            "MTTR": _MTTR_MIN[a],
            "MTTRUNITS": "min",
            "IGNORE": a,
        }
        for a in areas
    ]
    attach: list[dict[str, str | int | float | None]] = [
        {
            "CALNAME": f"BREAK_{a}",
            "CALTYPE": "down",
            "RESTYPE": "stngrp",
            "RESNAME": a,
            "FOADIST": "exponential",
            "FOA": _MTTF_MIN,
            "FOAUNITS": "min",
        }
        for a in areas
    ]
    pm: list[dict[str, str | int | float | None]] = []
    for i, f in enumerate(families):
        dur_hr = round(float(rng.uniform(6.0, 14.0)), 2)
        by_count = f.role.kind in ("etch", "wet", "implant") and i % 2 == 0
        name = f"{f.name}_MN"
        pm.append(
            {
                "PMCALNAME": name,
                "PMCALTYPE": "mtbpm_by_pieces" if by_count else "mtbpm_by_cal",
                "MTBPM": 0 if by_count else 30,  # by-count interval set after sizing
                "MTBPMUNITS": "pieces" if by_count else "day",
                "MTTRDIST": "uniform",
                "MTTR": dur_hr,
                "MTTR2": round(0.2 * dur_hr, 2),
                "MTTRUNITS": "hr",
                "IGNORE": f.role.area,
            }
        )
        attach.append(
            {
                "CALNAME": name,
                "CALTYPE": "pm",
                "RESTYPE": "stnfam",
                "RESNAME": f.name,
                "FOADIST": "constant",
                "FOA": 0 if by_count else round(float(rng.uniform(5.0, 29.0)), 1),
                "FOAUNITS": "" if by_count else "day",
            }
        )
    return pm, attach, downcal


def _availability(fam: _Family, pm_rows: Sequence[Mapping[str, object]]) -> float:
    """Share of time not down and not in PM (count PMs counted as monthly for sizing)."""
    mttr = _MTTR_MIN[fam.role.area]
    down = mttr / (_MTTF_MIN + mttr)
    pm = 0.0
    for r in pm_rows:
        if r["PMCALNAME"] == f"{fam.name}_MN":
            dur_min = float(str(r["MTTR"])) * 60.0
            pm = dur_min / (30.0 * 1440.0)
    return 1.0 - down - pm


def _size_count_pms(
    pm_rows: list[dict[str, str | int | float | None]],
    attach_rows: list[dict[str, str | int | float | None]],
    families: Sequence[_Family],
    visits_per_lot: Mapping[str, float],
    lots_per_day: float,
    wafers: int,
) -> None:
    """Set by-count PM intervals to about 30 days of a tool's wafers (like the calendar PMs)."""
    for f in families:
        for r in pm_rows:
            if r["PMCALNAME"] == f"{f.name}_MN" and r["PMCALTYPE"] == "mtbpm_by_pieces":
                wafers_per_tool_day = lots_per_day * visits_per_lot[f.name] * wafers / f.tools
                interval = max(100, round(30.0 * wafers_per_tool_day / 100.0) * 100)
                r["MTBPM"] = interval
                for a in attach_rows:
                    if a["CALNAME"] == r["PMCALNAME"]:
                        a["FOA"] = round(0.94 * interval)


def _tool_row(f: _Family, final_rank: str) -> dict[str, str | int | float | None]:
    setups = f.role.kind in ("track", "implant")
    return {
        "STNFAM": f.name,
        "STN": f.name,
        "RULE": "rule_LSSU" if f.setup_group else "rule_HotLotFIRST",
        "FWLRANK": f"rank_HP;rank_RSETUP;{final_rank}",
        "WAKERESRANK": "wake_LeastSetupTime" if setups else "",
        "BATCHCRITF": "crit_sameroutestep" if f.role.kind == "diff" else "",
        "BATCHPER": "piece" if f.role.kind == "diff" else "",
        "LTIME": _LOAD_MIN,
        "LTUNITS": "min",
        "ULTIME": _UNLOAD_MIN,
        "ULTUNITS": "min",
        "STNCAP": 2.0 if f.cascading else None,
        "STNQTY": float(f.tools),
        "STNGRP": f.role.area,
        "STNFAMSTEP_ACTLIST": _ACTLIST,
        "STNFAMLOC": "Fab",
        "PRERULERWL": "no",
        "SETUPGRP": "Implant_Gas" if f.setup_group else "",
    }


def _route_row(route: str, i: int, op: _Op, n: int) -> dict[str, str | int | float | None]:
    row: dict[str, str | int | float | None] = {
        "ROUTE": route,
        "STEP": i + 1,
        "DESC": op.desc,
        "STNFAM": op.family.name,
        "PDIST": "uniform",
        "PTIME": op.ptime_min,
        "PTIME2": round(_SPREAD * op.ptime_min, 4),
        "PTUNITS": "min",
        "PTPER": op.ptper,
        "IGNORE": op.family.role.area,
    }
    if op.batch_wafers is not None:
        row["BATCHMN"], row["BATCHMX"] = op.batch_wafers
    if op.setup:
        row["SETUP"] = op.setup
        row["WHEN"] = "need"
        if op.stime_min is not None:
            row["STIME"] = op.stime_min
            row["STUNITS"] = "min"
    if op.part_interval_min is not None:
        row["PartInterval"] = op.part_interval_min
        row["PartIntUnits"] = "min"
    if op.batch_interval_min is not None:
        row["BatchInterval"] = op.batch_interval_min
        row["BatchIntUnits"] = "min"
    if op.rework is not None and op.rework[0] < n:
        row["RWKSTEP"] = op.rework[0] + 1
        row["REWORK"] = op.rework[1]
        row["RWKTYPE"] = "lot"
    if op.sample_pct is not None:
        row["StepPercent"] = op.sample_pct
    if op.cqt is not None and op.cqt[0] < n:
        row["STEP_CQT"] = op.cqt[0] + 1
        row["CQT"] = op.cqt[1]
        row["CQTUNITS"] = "hr"
    return row


def _setup_rows(
    families: Sequence[_Family], ops: Sequence[_Op], min_run: int
) -> tuple[list[dict[str, str | int | float | None]], list[dict[str, str | int | float | None]]]:
    """setup.txt ("any → state" for setup-group families) and setupgrp.txt (min runs)."""
    setup: list[dict[str, str | int | float | None]] = []
    grp: list[dict[str, str | int | float | None]] = []
    for f in families:
        if not f.setup_group:
            continue
        states = sorted({op.setup for op in ops if op.family is f and op.setup})
        for s in states:
            setup.append(
                {
                    "CURSETUP": "",
                    "NEWSETUP": s,
                    "STIME": _IMPLANT_SETUP_MIN,
                    "STUNITS": "min",
                    "IGNORE": f.name,
                }
            )
            grp.append(
                {
                    "SETUPGRP": "Implant_Gas" if not grp else "",
                    "SETUP": s,
                    "MINRUN": min_run,
                    "IGNORE": f.name,
                }
            )
    return setup, grp


def _wip_rows(
    n: int,
    parts: Sequence[str],
    route_len: Mapping[str, int],
    rpt_min: Mapping[str, float],
    due_factor: float,
    wafers: int,
) -> list[dict[str, str | int | float | None]]:
    """``n`` regular lots spread evenly over the parts and along their routes."""
    rows: list[dict[str, str | int | float | None]] = []
    for i in range(n):
        p = parts[i % len(parts)]
        k = parts.index(p) + 1
        j = i // len(parts)
        per_part = math.ceil(n / len(parts))
        step = 1 + (j * route_len[p]) // max(1, per_part)
        remaining = 1.0 - (step - 1) / route_len[p]
        rows.append(
            {
                "LOT": f"Init_Lot_{k}_{j + 1}",
                "PART": p,
                "PRIOR": 10,
                "PIECES": wafers,
                "START": START_TIMESTAMP,
                "CURSTEP": step,
                "DUE": format_timestamp(due_factor * rpt_min[p] * remaining),
                "ORDER": "O_Init_WIP",
            }
        )
    return rows
