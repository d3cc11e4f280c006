"""Loader of SMT2020 model directories (tab-separated testbed files) into a :class:`FabModel`.

Every file is read as TSV with a header (FORMAT.md §1, §7): short rows are padded with empty
fields, empty fields mean "none", numbers are parsed as floats, times are converted to minutes.
Every problem is reported with file, line and column (1-based; column = field number), and all
problems of a directory are collected before one :class:`~fabnet.errors.FabModelError` is raised.
Columns without model content (``IGNORE``, ``STNFAMSTEP_ACTLIST``, order ids) and features the
simulator does not model are listed in ``FabModel.warnings``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fabnet.errors import FabModelError, Problem
from fabnet.fab.files import required_columns
from fabnet.fab.limits import (
    MAX_COUNT,
    MAX_FILE_BYTES,
    MAX_LOCATIONS,
    MAX_LOTS,
    MAX_SETUPS,
    MAX_STEPS,
    MAX_TOOLS,
)
from fabnet.fab.model import (
    Attachment,
    Dist,
    DownCalendar,
    FabModel,
    FamilyRule,
    MinRun,
    PerKind,
    PmCalendar,
    Product,
    RankKey,
    ReleaseStream,
    Route,
    SetupChange,
    Step,
    ToolFamily,
    Transport,
    WakeRule,
    WipLot,
)

#: Minutes per time unit keyword (FORMAT.md §1; ``sec``/``s`` accepted although unused).
TIME_UNITS_MIN: dict[str, float] = {
    "sec": 1.0 / 60.0,
    "s": 1.0 / 60.0,
    "min": 1.0,
    "hr": 60.0,
    "hour": 60.0,
    "day": 1440.0,
    "week": 10080.0,
}
_DATE_FORMAT = "%m/%d/%y %H:%M:%S"
_KNOWN_RANKS = {k.value for k in RankKey}
_KNOWN_RULES = {r.value for r in FamilyRule}


class _Problems:
    """Collects problems while a directory is loaded."""

    def __init__(self) -> None:
        self.items: list[Problem] = []
        #: files that could not be read (missing, unreadable, bad header): checks that refer
        #: to their rows are skipped, so one missing file is reported once, not once per use
        self.broken: set[str] = set()

    def add(
        self,
        msg: str,
        file: str,
        line: int | None = None,
        column: int | None = None,
        field: str | None = None,
        hint: str = "",
    ) -> None:
        self.items.append(Problem(msg, hint=hint, file=file, line=line, column=column, field=field))


@dataclass
class _Row:
    """One data row: values by column name, with where it came from."""

    file: str
    line: int
    values: list[str]
    cols: dict[str, int]
    probs: _Problems

    def col(self, name: str) -> int | None:
        i = self.cols.get(name)
        return None if i is None else i + 1

    def s(self, name: str, required: bool = False) -> str | None:
        """Stripped text of column ``name``; None when empty (an error if ``required``)."""
        i = self.cols.get(name)
        v = self.values[i].strip() if i is not None and i < len(self.values) else ""
        if v:
            return v
        if required:
            self.probs.add("required value is empty", self.file, self.line, self.col(name), name)
        return None

    def f(
        self,
        name: str,
        required: bool = False,
        default: float | None = None,
        low: float | None = None,
    ) -> float | None:
        """Column ``name`` as a finite float; None (or ``default``) when empty or wrong.

        NaN and infinities are refused (a ``PTIME nan`` would simulate with normal-looking
        results), and so is a value below ``low`` when given."""
        v = self.s(name, required)
        if v is None:
            return default
        try:
            x = float(v)
        except ValueError:
            self.probs.add(f"not a number: {v!r}", self.file, self.line, self.col(name), name)
            return default
        if not math.isfinite(x):
            self.probs.add(
                f"not a finite number: {v!r}",
                self.file,
                self.line,
                self.col(name),
                name,
                hint="write a number such as 12.5",
            )
            return default
        if low is not None and x < low:
            self.probs.add(f"{v} is below {low:g}", self.file, self.line, self.col(name), name)
            return default
        return x

    def i(
        self,
        name: str,
        required: bool = False,
        default: int | None = None,
        low: int | None = None,
        high: int = MAX_COUNT,
    ) -> int | None:
        """Column ``name`` as an integer count (written ``25`` or ``25.0``) in [low, high]."""
        v = self.f(name, required, low=low)
        if v is None:
            return default
        if v != int(v):
            self.probs.add(f"not a whole number: {v}", self.file, self.line, self.col(name), name)
        if abs(v) > high:
            self.probs.add(
                f"{v:.10g} exceeds the limit of {high:,}",
                self.file,
                self.line,
                self.col(name),
                name,
                hint="see docs/fab-readings.md, section Limits",
            )
            return default
        return int(v)

    def unit_min(self, name: str, default: str | None = None) -> float:
        """Minutes per unit of the unit column ``name`` (1.0 on error)."""
        u = self.s(name) or default
        if u is None:
            self.probs.add(
                "time unit is empty",
                self.file,
                self.line,
                self.col(name),
                name,
                hint="use min, hr or day",
            )
            return 1.0
        k = TIME_UNITS_MIN.get(u.lower())
        if k is None:
            self.probs.add(
                f"unknown time unit {u!r}",
                self.file,
                self.line,
                self.col(name),
                name,
                hint="use sec, min, hr or day",
            )
            return 1.0
        return k

    def dist(self, kind_col: str, mean_col: str, spread_col: str | None, scale: float) -> Dist:
        """A :class:`Dist` from a distribution keyword and its parameters, scaled to minutes."""
        kind = (self.s(kind_col) or "constant").lower()
        mean = self.f(mean_col, required=True, default=0.0) or 0.0
        spread = (self.f(spread_col, default=0.0) or 0.0) if spread_col else 0.0
        if mean < 0 or spread < 0:
            self.probs.add("negative time", self.file, self.line, self.col(mean_col), mean_col)
        if kind not in ("constant", "uniform", "exponential"):
            self.probs.add(
                f"unknown distribution {kind!r}",
                self.file,
                self.line,
                self.col(kind_col),
                kind_col,
                hint="use constant, uniform or exponential",
            )
            kind = "constant"
        if kind == "uniform" and spread > mean:
            self.probs.add(
                f"uniform spread {spread} exceeds mean {mean} (negative times)",
                self.file,
                self.line,
                self.col(spread_col or mean_col),
                spread_col,
            )
        return Dist(kind, mean * scale, spread * scale)  # type: ignore[arg-type]

    def date_min(self, name: str, t0: datetime | None) -> float:
        """Minutes from ``t0`` of the timestamp in column ``name``."""
        v = self.s(name, required=True)
        if v is None:
            return 0.0
        try:
            d = datetime.strptime(v, _DATE_FORMAT)
        except ValueError:
            self.probs.add(
                f"bad timestamp {v!r}",
                self.file,
                self.line,
                self.col(name),
                name,
                hint="expected MM/DD/YY HH:MM:SS",
            )
            return 0.0
        return 0.0 if t0 is None else (d - t0).total_seconds() / 60.0


class _Source:
    """Where a model's tables come from: the files of a folder, or texts held in memory
    (file name → file text, e.g. a generated fab that was never written)."""

    def __init__(self, folder: Path | None = None, texts: Mapping[str, str] | None = None):
        self.folder = folder
        self.texts = texts

    def has(self, name: str) -> bool:
        if self.texts is not None:
            return name in self.texts
        return self.folder is not None and (self.folder / name).is_file()

    def size(self, name: str) -> int:
        """Bytes of file ``name`` (characters for a text held in memory)."""
        if self.texts is not None:
            return len(self.texts[name])
        assert self.folder is not None
        return (self.folder / name).stat().st_size

    def read(self, name: str) -> str:
        if self.texts is not None:
            return self.texts[name]
        assert self.folder is not None
        return (self.folder / name).read_text(encoding="utf-8")

    def where(self, name: str) -> str:
        return str(self.folder / name) if self.folder is not None else name


def _read_table(src: _Source, name: str, probs: _Problems) -> list[_Row]:
    """Rows of one TSV table; a missing file or a missing required column
    (:func:`fabnet.fab.files.required_columns`) is reported (and the file is marked broken,
    see :class:`_Problems`)."""
    required_cols = required_columns(name)
    if not src.has(name):
        probs.add("file is missing", name, hint=f"expected {src.where(name)}")
        probs.broken.add(name)
        return []
    try:
        if src.size(name) > MAX_FILE_BYTES:
            probs.add(
                f"file is larger than the limit of {MAX_FILE_BYTES // 2**20} MB",
                name,
                hint="SMT2020 files are a few hundred kB; see docs/fab-readings.md, Limits",
            )
            probs.broken.add(name)
            return []
        text = src.read(name)
    except (OSError, UnicodeDecodeError) as exc:
        probs.add(f"cannot read file: {exc}", name)
        probs.broken.add(name)
        return []
    lines = text.replace("\r\n", "\n").split("\n")
    if not lines or not lines[0].strip():
        probs.add("file is empty (no header line)", name, 1)
        probs.broken.add(name)
        return []
    header = [h.strip() for h in lines[0].split("\t")]
    cols: dict[str, int] = {}
    for k, h in enumerate(header):
        if h and h not in cols:
            cols[h] = k
    missing = [c for c in required_cols if c not in cols]
    for c in missing:
        probs.add(f"header lacks column {c!r}", name, 1, None, c)
    if missing:
        probs.broken.add(name)
        return []
    rows: list[_Row] = []
    for n, ln in enumerate(lines[1:], start=2):
        if not ln.strip():
            continue
        vals = ln.split("\t")
        if len(vals) > len(header) and any(v.strip() for v in vals[len(header) :]):
            probs.add(
                f"row has {len(vals)} fields, header has {len(header)}", name, n, len(header) + 1
            )
        rows.append(_Row(name, n, vals, cols, probs))
    return rows


def _yes(v: str | None) -> bool:
    return v is not None and v.lower() in ("yes", "y", "true", "1")


def _families(src: _Source, probs: _Problems, warns: list[str]) -> list[ToolFamily]:
    # SMT2020 names the file tool.txt.1l; tool.txt is read when it is the only one
    fname = "tool.txt" if src.has("tool.txt") and not src.has("tool.txt.1l") else "tool.txt.1l"
    rows = _read_table(src, fname, probs)
    if fname in probs.broken:
        probs.broken.add(_TOOL_FILE)
    out: list[ToolFamily] = []
    seen: set[str] = set()
    unknown: Counter[str] = Counter()
    n_tools = 0
    for r in rows:
        name = r.s("STNFAM", required=True) or ""
        if name in seen:
            probs.add(
                f"tool family {name!r} defined twice", r.file, r.line, r.col("STNFAM"), "STNFAM"
            )
        seen.add(name)
        qty = r.i("STNQTY", required=True, default=0, low=1, high=MAX_TOOLS) or 0
        n_tools += qty
        cap = r.f("STNCAP")
        if cap is not None and cap not in (1.0, 2.0):
            unknown[f"STNCAP {cap:g} (read as cascading, two lots at most)"] += 1
        rule_s = r.s("RULE") or FamilyRule.HOT_LOT_FIRST.value
        if rule_s not in _KNOWN_RULES:
            unknown[f"RULE {rule_s} (read as rule_HotLotFIRST)"] += 1
        rule = FamilyRule(rule_s) if rule_s in _KNOWN_RULES else FamilyRule.HOT_LOT_FIRST
        tokens = [
            x.strip() for x in (r.s("FWLRANK") or "rank_HP;rank_FIFO").split(";") if x.strip()
        ]
        for x in tokens:
            if x not in _KNOWN_RANKS:
                unknown[f"FWLRANK component {x} (ignored)"] += 1
        ranks = tuple(RankKey(x) for x in tokens if x in _KNOWN_RANKS)
        wake_s = r.s("WAKERESRANK") or ""
        if wake_s and wake_s != WakeRule.LEAST_SETUP.value:
            unknown[f"WAKERESRANK {wake_s} (idle-longest tool chosen)"] += 1
        wake = WakeRule.LEAST_SETUP if wake_s == WakeRule.LEAST_SETUP else WakeRule.IDLE_LONGEST
        crit = r.s("BATCHCRITF") or ""
        if crit and crit != "crit_sameroutestep":
            unknown[f"BATCHCRITF {crit} (read as same route and step)"] += 1
        per = r.s("BATCHPER") or ""
        if per and per != "piece":
            unknown[f"BATCHPER {per} (batch sizes read as wafers)"] += 1
        if (r.s("PRERULERWL") or "no").lower() != "no":
            unknown["PRERULERWL other than 'no' (ignored)"] += 1
        lt = (r.f("LTIME", default=0.0, low=0.0) or 0.0) * (r.unit_min("LTUNITS", "min"))
        ut = (r.f("ULTIME", default=0.0, low=0.0) or 0.0) * (r.unit_min("ULTUNITS", "min"))
        out.append(
            ToolFamily(
                name=name,
                station=r.s("STN") or name,
                group=r.s("STNGRP", required=True) or "",
                rule=rule,
                ranks=ranks,
                wake_rule=wake,
                batch_criterion=crit,
                batch_per=per,
                load_min=lt,
                unload_min=ut,
                cascading=cap is not None and cap >= 2.0,
                n_tools=max(qty, 0),
                location=r.s("STNFAMLOC") or "Fab",
                setup_group=r.s("SETUPGRP") or "",
            )
        )
    for k, n in sorted(unknown.items()):
        warns.append(f"{fname}: {n} row(s) with {k}")
    if n_tools > MAX_TOOLS:
        probs.add(
            f"{n_tools:,} tools in all exceed the limit of {MAX_TOOLS:,}",
            fname,
            field="STNQTY",
            hint="see docs/fab-readings.md, section Limits",
        )
    n_locs = len({f.location for f in out})
    if n_locs > MAX_LOCATIONS:
        probs.add(
            f"{n_locs:,} locations exceed the limit of {MAX_LOCATIONS:,}",
            fname,
            field="STNFAMLOC",
            hint="see docs/fab-readings.md, section Limits",
        )
    return out


def _route(
    src: _Source,
    fname: str,
    route_name: str,
    fams: dict[str, ToolFamily],
    probs: _Problems,
    warns: list[str],
) -> Route | None:
    rows = _read_table(src, fname, probs)
    if not rows:
        return None
    steps: list[Step] = []
    n_cqt = 0
    odd: Counter[str] = Counter()
    for k, r in enumerate(rows, start=1):
        rid = r.s("ROUTE", required=True)
        if rid is not None and rid != route_name:
            probs.add(
                f"route id {rid!r} differs from part.txt's {route_name!r}",
                r.file,
                r.line,
                r.col("ROUTE"),
                "ROUTE",
            )
        num = r.i("STEP", required=True, default=k)
        if num != k:
            probs.add(
                f"step number {num} out of sequence (expected {k})",
                r.file,
                r.line,
                r.col("STEP"),
                "STEP",
                hint="steps must run 1..n without gaps",
            )
        fam = r.s("STNFAM", required=True) or ""
        if fam and fam not in fams and _TOOL_FILE not in probs.broken:
            probs.add(
                f"unknown tool family {fam!r}",
                r.file,
                r.line,
                r.col("STNFAM"),
                "STNFAM",
                hint="every STNFAM must be a row of tool.txt.1l",
            )
        per_raw = (r.s("PTPER") or "per_lot").lower()
        per_map: dict[str, PerKind] = {"per_lot": "lot", "per_piece": "piece", "per_batch": "batch"}
        per = per_map.get(per_raw)
        if per is None:
            probs.add(
                f"unknown PTPER {per_raw!r}",
                r.file,
                r.line,
                r.col("PTPER"),
                "PTPER",
                hint="use per_lot, per_piece or per_batch",
            )
            per = "lot"
        pt = r.dist("PDIST", "PTIME", "PTIME2", r.unit_min("PTUNITS", "min"))
        bmin = r.i("BATCHMN", low=1)
        bmax = r.i("BATCHMX", low=1)
        if per == "batch" and bmax is None:
            probs.add("per_batch step without BATCHMX", r.file, r.line, r.col("BATCHMX"), "BATCHMX")
        if bmin is not None and bmax is not None and bmin > bmax:
            probs.add(
                f"BATCHMN {bmin} exceeds BATCHMX {bmax}",
                r.file,
                r.line,
                r.col("BATCHMN"),
                "BATCHMN",
            )
        setup = r.s("SETUP")
        when = r.s("WHEN")
        if setup and when and when.lower() != "need":
            odd[f"WHEN {when} (setup done when needed)"] += 1
        st = r.f("STIME", low=0.0)
        st_min = None if st is None else st * r.unit_min("STUNITS", "min")
        save = _yes(r.s("SVESTN"))
        fs = r.i("FORSTEP")
        bi = r.f("BatchInterval", low=0.0)
        bi_min = None if bi is None else bi * r.unit_min("BatchIntUnits", "min")
        pi = r.f("PartInterval", low=0.0)
        pi_min = None if pi is None else pi * r.unit_min("PartIntUnits", "min")
        rw_pct = r.f("REWORK", default=0.0) or 0.0
        rws = r.i("RWKSTEP")
        if rw_pct > 0 and rws is None:
            probs.add("REWORK without RWKSTEP", r.file, r.line, r.col("RWKSTEP"), "RWKSTEP")
        if rw_pct > 0 and (r.s("RWKTYPE") or "lot").lower() != "lot":
            odd[f"RWKTYPE {r.s('RWKTYPE')} (whole lot reworked)"] += 1
        samp = r.f("StepPercent", default=100.0)
        samp = 100.0 if samp is None else samp
        if not 0.0 <= samp <= 100.0 or not 0.0 <= rw_pct <= 100.0:
            probs.add("percentage outside 0..100", r.file, r.line, r.col("StepPercent"))
        elif rw_pct >= 100.0 and rws is not None:
            probs.add(
                "REWORK 100 % sends every lot back for ever",
                r.file,
                r.line,
                r.col("REWORK"),
                "REWORK",
                hint="use a rework percentage below 100",
            )
        cqs = r.i("STEP_CQT")
        cq = r.f("CQT", low=0.0)
        cq_min = None if cq is None else cq * r.unit_min("CQTUNITS", "hr")
        if cqs is not None:
            n_cqt += 1
        steps.append(
            Step(
                route=route_name,
                number=k,
                desc=r.s("DESC", required=True) or "",
                family=fam,
                ptime=pt,
                per=per,
                batch_min_pieces=bmin,
                batch_max_pieces=bmax,
                setup=setup,
                setup_time_min=st_min,
                save_tool=save,
                for_step=fs,
                batch_interval_min=bi_min,
                part_interval_min=pi_min,
                rework_step=rws,
                rework_pct=rw_pct,
                sample_pct=samp,
                cqt_step=cqs,
                cqt_min=cq_min,
            )
        )
    n = len(steps)
    for s, r in zip(steps, rows, strict=True):
        for colname, ref in (
            ("FORSTEP", s.for_step),
            ("RWKSTEP", s.rework_step),
            ("STEP_CQT", s.cqt_step),
        ):
            if ref is not None and not 1 <= ref <= n:
                probs.add(
                    f"{colname} {ref} is not a step of route {route_name} (1..{n})",
                    r.file,
                    r.line,
                    r.col(colname),
                    colname,
                )
        if s.for_step is not None and s.for_step <= s.number:
            probs.add("FORSTEP must be a later step", r.file, r.line, r.col("FORSTEP"), "FORSTEP")
        if s.rework_step is not None and s.rework_step > s.number:
            probs.add(
                "RWKSTEP must not be a later step", r.file, r.line, r.col("RWKSTEP"), "RWKSTEP"
            )
    if n_cqt:
        warns.append(
            f"{fname}: {n_cqt} queue-time windows (STEP_CQT/CQT): violations are counted "
            "(KPI cqt_violations) but have no consequence (reading A3)"
        )
    for k2, c in sorted(odd.items()):
        warns.append(f"{fname}: {c} row(s) with {k2}")
    return Route(route_name, tuple(steps))


#: Key under which a broken tool file is marked, whatever its name (tool.txt.1l, tool.txt).
_TOOL_FILE = "<tool file>"
#: Problems listed at most (one wrong column can repeat on every row of a route).
_MAX_SHOWN = 40
_WIP_NAME = re.compile(r"^Init_(.+)_\d+$")


def load_smt2020(path: str | Path) -> FabModel:
    """Read an SMT2020 model directory (HVLM, LVHM or one in the same format).

    Raises :class:`~fabnet.errors.FabModelError` naming file, line, column and problem for
    every malformed or inconsistent value.
    """
    d = Path(path)
    if not d.is_dir():
        raise FabModelError(
            Problem(
                "not a directory",
                hint="give an SMT2020 model folder such as ../shared/smt2020/HVLM",
                file=str(d),
            )
        )
    return _load(_Source(folder=d), d.resolve().name, str(d))


def load_smt2020_tables(texts: Mapping[str, str], name: str) -> FabModel:
    """Read an SMT2020 model from the texts of its files (file name → text), as
    :func:`load_smt2020` reads a folder holding them (same checks, same errors)."""
    return _load(_Source(texts=texts), name, name)


def _parts(
    src: _Source, fams: dict[str, ToolFamily], probs: _Problems, warns: list[str]
) -> tuple[list[Product], dict[str, Route]]:
    """``part.txt``, and the route file each part names (:func:`_route`)."""
    products: list[Product] = []
    routes: dict[str, Route] = {}
    for r in _read_table(src, "part.txt", probs):
        part = r.s("PART", required=True) or ""
        rfile = r.s("ROUTEFILE", required=True) or ""
        rname = r.s("ROUTE", required=True) or ""
        if any(p.name == part for p in products):
            probs.add(f"part {part!r} listed twice", r.file, r.line, r.col("PART"), "PART")
        products.append(Product(part, r.s("PARTFAM") or part, r.s("PARTGRP") or "", rname))
        if rname and rfile and rname not in routes:
            if "/" in rfile or "\\" in rfile:
                probs.add(
                    "ROUTEFILE must be a file name in the model folder",
                    r.file,
                    r.line,
                    r.col("ROUTEFILE"),
                    "ROUTEFILE",
                )
                continue
            route = _route(src, rfile, rname, fams, probs, warns)
            if route is not None:
                routes[rname] = route
    return products, routes


def _setups(src: _Source, probs: _Problems, warns: list[str]) -> list[SetupChange]:
    """``setup.txt``: changeover times (absent: only the routes' own STIME)."""
    setups: list[SetupChange] = []
    if src.has("setup.txt"):
        for r in _read_table(src, "setup.txt", probs):
            t = (r.f("STIME", required=True, default=0.0, low=0.0) or 0.0) * r.unit_min(
                "STUNITS", "min"
            )
            setups.append(SetupChange(r.s("CURSETUP"), r.s("NEWSETUP", required=True) or "", t))
    else:
        warns.append("setup.txt absent: changeovers cost only the routes' own STIME")
    return setups


def _min_runs(src: _Source, probs: _Problems) -> list[MinRun]:
    """``setupgrp.txt``: minimum runs after a setup change."""
    min_runs: list[MinRun] = []
    if src.has("setupgrp.txt"):
        grp = ""
        for r in _read_table(src, "setupgrp.txt", probs):
            grp = r.s("SETUPGRP") or grp
            mr = r.i("MINRUN", default=0, low=0) or 0
            min_runs.append(MinRun(grp, r.s("SETUP", required=True) or "", mr))
    return min_runs


def _down_calendars(src: _Source, probs: _Problems, warns: list[str]) -> list[DownCalendar]:
    """``downcal.txt``: breakdown calendars."""
    downs: list[DownCalendar] = []
    if src.has("downcal.txt"):
        for r in _read_table(src, "downcal.txt", probs):
            kind = r.s("DOWNCALTYPE") or "mttf_by_cal"
            if kind != "mttf_by_cal":
                warns.append(
                    f"downcal.txt:{r.line}: DOWNCALTYPE {kind} read as mttf_by_cal "
                    "(time between failures in calendar time)"
                )
            downs.append(
                DownCalendar(
                    r.s("DOWNCALNAME", required=True) or "",
                    kind,
                    r.dist("MTTFDIST", "MTTF", None, r.unit_min("MTTFUNITS", "min")),
                    r.dist("MTTRDIST", "MTTR", None, r.unit_min("MTTRUNITS", "min")),
                )
            )
    return downs


def _pm_calendars(src: _Source, probs: _Problems) -> list[PmCalendar]:
    """``pmcal.txt``: preventive-maintenance calendars."""
    pms: list[PmCalendar] = []
    if src.has("pmcal.txt"):
        for r in _read_table(src, "pmcal.txt", probs):
            kind = r.s("PMCALTYPE", required=True) or ""
            unit = (r.s("MTBPMUNITS") or "").lower()
            by_pieces = kind == "mtbpm_by_pieces" or unit in ("pieces", "piece", "")
            if kind not in ("mtbpm_by_cal", "mtbpm_by_pieces"):
                probs.add(
                    f"unknown PMCALTYPE {kind!r}",
                    r.file,
                    r.line,
                    r.col("PMCALTYPE"),
                    "PMCALTYPE",
                    hint="use mtbpm_by_cal or mtbpm_by_pieces",
                )
            mtbpm = r.f("MTBPM", required=True)
            iv = mtbpm or 0.0
            if not by_pieces:
                iv *= r.unit_min("MTBPMUNITS", "day")
            if mtbpm is not None and iv <= 0:
                probs.add("MTBPM must be positive", r.file, r.line, r.col("MTBPM"), "MTBPM")
            pms.append(
                PmCalendar(
                    r.s("PMCALNAME", required=True) or "",
                    by_pieces,
                    iv,
                    r.dist("MTTRDIST", "MTTR", "MTTR2", r.unit_min("MTTRUNITS", "hr")),
                )
            )
    return pms


def _attachments(
    src: _Source,
    probs: _Problems,
    warns: list[str],
    cal_names: set[str],
    groups: set[str],
    fams: dict[str, ToolFamily],
) -> list[Attachment]:
    """``attach.txt``: which calendar applies to which tool group or family."""
    atts: list[Attachment] = []
    missing_cals: dict[str, set[str]] = {}
    if src.has("attach.txt"):
        for r in _read_table(src, "attach.txt", probs):
            cal = r.s("CALNAME", required=True) or ""
            ctype = (r.s("CALTYPE", required=True) or "").lower()
            rtype = (r.s("RESTYPE", required=True) or "").lower()
            rname = r.s("RESNAME", required=True) or ""
            cal_file = {"down": "downcal.txt", "pm": "pmcal.txt"}.get(ctype)
            if cal not in cal_names and cal_file is not None and not src.has(cal_file):
                missing_cals.setdefault(cal_file, set()).add(cal)  # one line per absent file
            elif cal not in cal_names and not probs.broken & {"downcal.txt", "pmcal.txt"}:
                probs.add(
                    f"unknown calendar {cal!r}",
                    r.file,
                    r.line,
                    r.col("CALNAME"),
                    "CALNAME",
                    hint="define it in downcal.txt or pmcal.txt",
                )
            if ctype not in ("down", "pm"):
                probs.add(
                    f"unknown CALTYPE {ctype!r}",
                    r.file,
                    r.line,
                    r.col("CALTYPE"),
                    "CALTYPE",
                    hint="use down or pm",
                )
                continue
            if _TOOL_FILE not in probs.broken and (
                (rtype == "stngrp" and rname not in groups)
                or (rtype == "stnfam" and rname not in fams)
            ):
                probs.add(f"unknown {rtype} {rname!r}", r.file, r.line, r.col("RESNAME"), "RESNAME")
            if rtype not in ("stngrp", "stnfam"):
                probs.add(
                    f"unknown RESTYPE {rtype!r}",
                    r.file,
                    r.line,
                    r.col("RESTYPE"),
                    "RESTYPE",
                    hint="use stngrp or stnfam",
                )
                continue
            foa_unit = r.s("FOAUNITS")
            in_pieces = foa_unit is None or foa_unit.lower() in ("pieces", "piece")
            scale = 1.0 if in_pieces else r.unit_min("FOAUNITS", "min")
            atts.append(
                Attachment(
                    cal,
                    "down" if ctype == "down" else "pm",
                    "stngrp" if rtype == "stngrp" else "stnfam",
                    rname,
                    r.dist("FOADIST", "FOA", None, scale),
                    in_pieces,
                )
            )
        for cal_file, names in sorted(missing_cals.items()):
            probs.add(
                f"file is missing, but attach.txt names {len(names)} of its calendars "
                f"(e.g. {min(names)!r})",
                cal_file,
                hint=f"expected {src.where(cal_file)}",
            )
    else:
        warns.append("attach.txt absent: no breakdowns and no preventive maintenance")
    return atts


def _transports(src: _Source, probs: _Problems) -> list[Transport]:
    """``fromto.txt``: transport times between locations."""
    transports: list[Transport] = []
    if src.has("fromto.txt"):
        for r in _read_table(src, "fromto.txt", probs):
            transports.append(
                Transport(
                    r.s("FROMLOC", required=True) or "",
                    r.s("TOLOC", required=True) or "",
                    r.dist("DDIST", "DTIME", "DTIME2", r.unit_min("DUNITS", "min")),
                )
            )
    return transports


def _releases(
    src: _Source, probs: _Problems, warns: list[str], part_names: set[str]
) -> tuple[list[ReleaseStream], datetime | None]:
    """``order.txt``: release streams; time 0 is the earliest START (also returned)."""
    # releases; t0 = earliest START of order.txt
    orows = _read_table(src, "order.txt", probs)
    t0: datetime | None = None
    for r in orows:
        v = r.s("START")
        try:
            dt = datetime.strptime(v or "", _DATE_FORMAT)
        except ValueError:
            continue
        t0 = dt if t0 is None or dt < t0 else t0
    releases: list[ReleaseStream] = []
    for r in orows:
        part = r.s("PART", required=True) or ""
        if part not in part_names and "part.txt" not in probs.broken:
            probs.add(
                f"unknown part {part!r}",
                r.file,
                r.line,
                r.col("PART"),
                "PART",
                hint="parts must be listed in part.txt",
            )
        start = r.date_min("START", t0)
        due = r.date_min("DUE", t0)
        n_before = len(probs.items)
        rel_iv = r.dist("RDIST", "REPEAT", None, r.unit_min("RUNITS", "min"))
        if rel_iv.mean <= 0 and len(probs.items) == n_before:
            probs.add("REPEAT must be positive", r.file, r.line, r.col("REPEAT"), "REPEAT")
        if rel_iv.kind != "constant":
            warns.append(
                f"order.txt:{r.line}: RDIST {rel_iv.kind} is read as its mean (releases "
                "are deterministic)"
            )
        pieces = r.i("PIECES", required=True, default=25, low=1) or 25
        hot = _yes(r.s("HOTLOT"))
        releases.append(
            ReleaseStream(
                name=r.s("LOT", required=True) or "",
                part=part,
                priority=r.i("PRIOR", required=True, default=10) or 0,
                pieces=pieces,
                start_min=start,
                interval=rel_iv,
                repeats=r.i("RPT#", default=1_000_000, low=0) or 0,
                lots_per_release=r.i("LOTSPERRPT", default=1, low=1, high=MAX_LOTS) or 1,
                due_offset_min=due - start,
                order=r.s("ORDER") or "",
                hotlot=hot,
            )
        )
        if hot:
            warns.append(
                f"order.txt:{r.line}: HOTLOT yes: no tool reservation is modelled "
                "(priority PRIOR only)"
            )
    return releases, t0


def _wip(
    src: _Source,
    probs: _Problems,
    warns: list[str],
    products: list[Product],
    routes: dict[str, Route],
    releases: list[ReleaseStream],
    t0: datetime | None,
) -> list[WipLot]:
    """``WIP.txt``: the lots in the fab at time 0."""
    stream_names = {s.name for s in releases}
    wip: list[WipLot] = []
    if src.has("WIP.txt"):
        for r in _read_table(src, "WIP.txt", probs):
            part = r.s("PART", required=True) or ""
            prod = next((p for p in products if p.name == part), None)
            if prod is None and "part.txt" not in probs.broken:
                probs.add(f"unknown part {part!r}", r.file, r.line, r.col("PART"), "PART")
            cur = r.i("CURSTEP", required=True, default=1) or 1
            route = routes.get(prod.route) if prod else None
            if route is not None and not 1 <= cur <= len(route.steps):
                probs.add(
                    f"CURSTEP {cur} is not a step of {route.name} (1..{len(route.steps)})",
                    r.file,
                    r.line,
                    r.col("CURSTEP"),
                    "CURSTEP",
                )
            lot_name = r.s("LOT", required=True) or ""
            m = _WIP_NAME.match(lot_name)
            stream = m.group(1) if m and m.group(1) in stream_names else ""
            if not stream:
                cand = [s.name for s in releases if s.part == part]
                stream = cand[0] if len(cand) == 1 else f"WIP_{part}"
            wip.append(
                WipLot(
                    lot_name,
                    part,
                    r.i("PRIOR", default=10) or 0,
                    r.i("PIECES", default=25, low=1) or 25,
                    r.date_min("START", t0) if r.s("START") else 0.0,
                    cur,
                    r.date_min("DUE", t0),
                    stream,
                )
            )
    else:
        warns.append("WIP.txt absent: the fab starts empty")
    return wip


def _load(src: _Source, name: str, where: str) -> FabModel:
    """The model from every file, one reader per file (in this order, so problems and
    warnings come file by file), then the checks across files."""
    probs = _Problems()
    warns: list[str] = []
    fam_list = _families(src, probs, warns)
    fams = {f.name: f for f in fam_list}
    groups = {f.group for f in fam_list}

    products, routes = _parts(src, fams, probs, warns)
    part_names = {p.name for p in products}

    setups = _setups(src, probs, warns)
    min_runs = _min_runs(src, probs)
    downs = _down_calendars(src, probs, warns)
    pms = _pm_calendars(src, probs)
    cal_names = {c.name for c in downs} | {c.name for c in pms}
    atts = _attachments(src, probs, warns, cal_names, groups, fams)
    transports = _transports(src, probs)
    releases, t0 = _releases(src, probs, warns, part_names)
    wip = _wip(src, probs, warns, products, routes, releases, t0)
    # cross-file checks
    setup_names = {s.setup for rt in routes.values() for s in rt.steps if s.setup}
    n_setups = len(setup_names | {sc.new for sc in setups} | {m.setup for m in min_runs})
    if n_setups > MAX_SETUPS:
        probs.add(
            f"{n_setups:,} distinct setups exceed the limit of {MAX_SETUPS:,}",
            "setup.txt",
            field="SETUP",
            hint="see docs/fab-readings.md, section Limits",
        )
    n_steps = sum(len(rt.steps) for rt in routes.values())
    if n_steps > MAX_STEPS:
        probs.add(
            f"{n_steps:,} route steps in all exceed the limit of {MAX_STEPS:,}",
            "part.txt",
            field="ROUTEFILE",
            hint="see docs/fab-readings.md, section Limits",
        )
    for sc in setups:
        if sc.new not in setup_names:
            warns.append(f"setup.txt: setup {sc.new!r} is used by no route step")
    if probs.items:
        items = probs.items
        if len(items) > _MAX_SHOWN:
            items = [
                *items[:_MAX_SHOWN],
                Problem(f"... and {len(items) - _MAX_SHOWN:,} more problems", "fix these first"),
            ]
        raise FabModelError(items, title=f"cannot load SMT2020 model {where}")
    warns.append(
        "columns without model content are not used: IGNORE, STN, "
        "STNFAMSTEP_ACTLIST, PARTGRP, ORDER, TRACE"
    )
    n_rel_unused = sum(1 for s in releases if s.lots_per_release != 1)
    if n_rel_unused:
        warns.append(f"order.txt: {n_rel_unused} stream(s) release several lots at once (modelled)")
    return FabModel(
        name=name,
        families=tuple(fam_list),
        products=tuple(products),
        routes=routes,
        setups=tuple(setups),
        min_runs=tuple(min_runs),
        down_calendars=tuple(downs),
        pm_calendars=tuple(pms),
        attachments=tuple(atts),
        transports=tuple(transports),
        releases=tuple(releases),
        wip=tuple(wip),
        warnings=tuple(warns),
    )


def iter_steps(model: FabModel) -> Iterator[Step]:
    """Every step of every route, route by route in product order."""
    for rt in model.routes.values():
        yield from rt.steps
