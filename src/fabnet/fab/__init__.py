"""Wafer-fab discrete-event simulator for SMT2020 models.

Load a model with :func:`load_smt2020`, simulate it with :func:`simulate` (one seed) or
:func:`simulate_seeds` (several seeds in parallel processes). The event loop and dispatching run
in a numba-compiled kernel (:mod:`fabnet.fab.engine`); everything around it is Python.
"""

from __future__ import annotations

from fabnet.fab.model import FabModel
from fabnet.fab.simulate import (
    LotView,
    MultiSimResult,
    SimOptions,
    SimResult,
    raw_process_time_days,
    simulate,
    simulate_seeds,
)
from fabnet.fab.smt2020 import load_smt2020

__all__ = [
    "FabModel",
    "LotView",
    "MultiSimResult",
    "SimOptions",
    "SimResult",
    "load_smt2020",
    "raw_process_time_days",
    "simulate",
    "simulate_seeds",
]
