"""The runs store: every plan, simulation and risk run in one DuckDB file.

A run is one row of the ``runs`` table (id, kind, time, scenario, options,
status, timings, summary, messages, fabnet version) plus its result tables,
``<kind>_<name>`` with a leading ``run_id`` column. A run is written in one
transaction, so it is visible only once all of it is written.
"""

from __future__ import annotations

from fabnet.store.duck import (
    SCHEMA_VERSION,
    Store,
    canonical_json,
    check_writable,
    scenario_hash,
)
from fabnet.store.record import RunRecord

__all__ = [
    "SCHEMA_VERSION",
    "RunRecord",
    "Store",
    "canonical_json",
    "check_writable",
    "scenario_hash",
]
