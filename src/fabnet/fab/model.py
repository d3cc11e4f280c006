"""Typed objects of a wafer-fab model in the SMT2020 sense (all times in minutes).

The loader (:mod:`fabnet.fab.smt2020`) fills these from the testbed files; the simulator
(:mod:`fabnet.fab.simulate`) takes a :class:`FabModel` and never reads files. Every time is in
minutes (``*_min``), every batch size and PM count in wafers (``*_pieces``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

DistKind = Literal["constant", "uniform", "exponential"]
PerKind = Literal["lot", "piece", "batch"]


@dataclass(frozen=True)
class Dist:
    """A random duration or count: ``constant m``, ``exponential`` with mean ``m``, or
    ``uniform`` on ``[m - spread, m + spread]`` (spread = half-width, reading A1)."""

    kind: DistKind
    mean: float
    spread: float = 0.0

    def low(self) -> float:
        """Smallest value the distribution can take (uniform), else the mean."""
        return self.mean - self.spread if self.kind == "uniform" else self.mean


class FamilyRule(StrEnum):
    """A family's dispatching rule (``tool.txt`` ``RULE``; docs/fab-readings.md)."""

    HOT_LOT_FIRST = "rule_HotLotFIRST"  # priority, then the final FWLRANK key
    LSSU = "rule_LSSU"  # priority, least setup, final key, with MINRUN


class RankKey(StrEnum):
    """One component of a family's ranking chain (``tool.txt`` ``FWLRANK``)."""

    HP = "rank_HP"  # higher priority first
    RSETUP = "rank_RSETUP"  # least setup time first
    CR = "rank_CR"  # critical ratio
    EDD = "rank_EDD"  # earliest due date
    SPT = "rank_SPT"  # shortest processing time
    FIFO = "rank_FIFO"  # first in, first out


#: Final ranking keys in the order the simulator looks for them in a chain.
FINAL_KEYS = (RankKey.CR, RankKey.EDD, RankKey.SPT, RankKey.FIFO)


class WakeRule(StrEnum):
    """Which available tool an arriving lot goes to (``tool.txt`` ``WAKERESRANK``)."""

    IDLE_LONGEST = ""  # none given: the tool idle longest
    LEAST_SETUP = "wake_LeastSetupTime"  # the tool needing the least setup


@dataclass(frozen=True)
class ToolFamily:
    """A family of identical tools (``tool.txt.1l`` row); ``n_tools`` of them (``STNQTY``)."""

    name: str
    station: str
    group: str
    rule: FamilyRule
    ranks: tuple[RankKey, ...]  # known components only, in the data's order
    wake_rule: WakeRule
    batch_criterion: str
    batch_per: str
    load_min: float
    unload_min: float
    cascading: bool
    n_tools: int
    location: str
    setup_group: str

    @property
    def final_key(self) -> RankKey:
        """The chain's final key: the first of CR, EDD, SPT, FIFO it holds (FIFO if none)."""
        return next((k for k in FINAL_KEYS if k in self.ranks), RankKey.FIFO)


@dataclass(frozen=True)
class Step:
    """One step of a route (``route_N.txt`` row); ``number`` is 1-based and route-local.

    ``ptime`` is per lot, per wafer or per batch as ``per`` says; ``setup_time_min`` is the
    route's own changeover time (None: take it from ``setup.txt``); ``for_step`` is the later
    step that must run on the same tool (lot-to-lens dedication); ``rework_pct`` and
    ``sample_pct`` are percentages; ``cqt_step``/``cqt_min`` a queue-time window.
    """

    route: str
    number: int
    desc: str
    family: str
    ptime: Dist
    per: PerKind
    batch_min_pieces: int | None
    batch_max_pieces: int | None
    setup: str | None
    setup_time_min: float | None
    save_tool: bool
    for_step: int | None
    batch_interval_min: float | None
    part_interval_min: float | None
    rework_step: int | None
    rework_pct: float
    sample_pct: float
    cqt_step: int | None
    cqt_min: float | None


@dataclass(frozen=True)
class Route:
    """A product's process flow: ``steps[k]`` has ``number == k + 1``."""

    name: str
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Product:
    """A part (``part.txt`` row) and the route it follows."""

    name: str
    family: str
    group: str
    route: str


@dataclass(frozen=True)
class SetupChange:
    """Changeover time from ``current`` (None = any state) to ``new`` (``setup.txt``)."""

    current: str | None
    new: str
    time_min: float


@dataclass(frozen=True)
class MinRun:
    """Minimum number of lots to run in ``setup`` before changing (``setupgrp.txt``)."""

    group: str
    setup: str
    min_run_lots: int


@dataclass(frozen=True)
class DownCalendar:
    """Breakdowns: time to failure in calendar time and time to repair (``downcal.txt``)."""

    name: str
    kind: str
    ttf: Dist
    ttr: Dist


@dataclass(frozen=True)
class PmCalendar:
    """Preventive maintenance every ``interval`` (minutes if ``by_pieces`` is False, else
    wafers processed), lasting ``duration`` (``pmcal.txt``)."""

    name: str
    by_pieces: bool
    interval: float
    duration: Dist


@dataclass(frozen=True)
class Attachment:
    """Which tools a calendar applies to and its first occurrence (``attach.txt``).

    ``first`` is in minutes, or in wafers when ``first_in_pieces`` (count-based PM)."""

    calendar: str
    cal_type: Literal["down", "pm"]
    res_type: Literal["stngrp", "stnfam"]
    res_name: str
    first: Dist
    first_in_pieces: bool


@dataclass(frozen=True)
class Transport:
    """Move time between two locations (``fromto.txt``)."""

    from_loc: str
    to_loc: str
    time: Dist


@dataclass(frozen=True)
class ReleaseStream:
    """A release stream of ``order.txt``: lot ``k`` at ``start_min + k * interval.mean``,
    due ``due_offset_min`` after its release."""

    name: str
    part: str
    priority: int
    pieces: int
    start_min: float
    interval: Dist
    repeats: int
    lots_per_release: int
    due_offset_min: float
    order: str
    hotlot: bool


@dataclass(frozen=True)
class WipLot:
    """A lot of the initial WIP (``WIP.txt``), waiting at route step ``cur_step`` at t = 0."""

    name: str
    part: str
    priority: int
    pieces: int
    start_min: float
    cur_step: int
    due_min: float
    stream: str


@dataclass(frozen=True)
class FabModel:
    """A whole wafer fab: everything in an SMT2020 model directory, typed.

    ``warnings`` lists what the files say that the simulator does not model (or models by a
    stated reading), so nothing is dropped silently.
    """

    name: str
    families: tuple[ToolFamily, ...]
    products: tuple[Product, ...]
    routes: dict[str, Route]
    setups: tuple[SetupChange, ...]
    min_runs: tuple[MinRun, ...]
    down_calendars: tuple[DownCalendar, ...]
    pm_calendars: tuple[PmCalendar, ...]
    attachments: tuple[Attachment, ...]
    transports: tuple[Transport, ...]
    releases: tuple[ReleaseStream, ...]
    wip: tuple[WipLot, ...]
    warnings: tuple[str, ...] = field(default=())

    @property
    def tool_groups(self) -> tuple[ToolFamily, ...]:
        """The tool families (what the reference KPI files call tool groups)."""
        return self.families

    def family(self, name: str) -> ToolFamily:
        """The family named ``name`` (KeyError if unknown)."""
        for f in self.families:
            if f.name == name:
                return f
        raise KeyError(name)

    def product(self, name: str) -> Product:
        """The product (part) named ``name`` (KeyError if unknown)."""
        for p in self.products:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def n_tools(self) -> int:
        """Number of individual tools over all families."""
        return sum(f.n_tools for f in self.families)
