"""Wafer-fab discrete-event simulator for SMT2020 models.

Load a model with :func:`load_smt2020`, simulate it with :func:`simulate` (one seed) or
:func:`simulate_seeds` (several seeds in parallel processes). The event loop and dispatching run
in a numba-compiled kernel (:mod:`fabnet.fab.engine`); everything around it is Python.

Where things are:

* :mod:`~fabnet.fab.model`: the typed fab model (tool families with their dispatching rules
  as enums, routes, calendars, releases, initial WIP);
* :mod:`~fabnet.fab.files`: every SMT2020 file's header and required columns, shared by
  :mod:`~fabnet.fab.smt2020` (the reader, one function per file) and
  :mod:`~fabnet.fab.generate` (the writer of generated fabs);
* :mod:`~fabnet.fab.simulate`: :class:`SimOptions` (checks itself), :func:`simulate`,
  :func:`simulate_seeds`;
* :mod:`~fabnet.fab.compile`: the model → the kernel's tables, one builder per table;
* :mod:`~fabnet.fab.engine`: the compiled event loop;
* :mod:`~fabnet.fab.layout`: the column layouts of the kernel's tables (which column of
  which array holds what), shared by compile, engine, kpi and simulate;
* :mod:`~fabnet.fab.kpi`: every KPI table of a run and the statistics over seeds;
* :mod:`~fabnet.fab.route_flow`: expected performances per step (one rework formula),
  transport between performed steps, lot time, tool occupancy and raw process time, for the
  KPIs, the queueing model and the generator;
* :mod:`~fabnet.fab.releases`, :mod:`~fabnet.fab.flow`, :mod:`~fabnet.fab.curve`,
  :mod:`~fabnet.fab.closed_loop`, :mod:`~fabnet.fab.queueing`: release schedules, flow and
  operating curves, the plan check, the queueing approximation;
* :mod:`~fabnet.fab.reference`, :mod:`~fabnet.fab.limits`: published reference KPIs, size
  limits.
"""

from __future__ import annotations

from fabnet.fab.model import FabModel
from fabnet.fab.simulate import (
    Dispatcher,
    LotView,
    MultiSimResult,
    RuleReading,
    SimOptions,
    SimResult,
    raw_process_time_days,
    simulate,
    simulate_seeds,
)
from fabnet.fab.smt2020 import load_smt2020

__all__ = [
    "Dispatcher",
    "FabModel",
    "LotView",
    "MultiSimResult",
    "RuleReading",
    "SimOptions",
    "SimResult",
    "load_smt2020",
    "raw_process_time_days",
    "simulate",
    "simulate_seeds",
]
