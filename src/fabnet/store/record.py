"""A stored run as read back from the store, and JSON helpers shared by store and CLI."""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fabnet.scenario import Scenario


@dataclass(frozen=True)
class RunRecord:
    """One stored run: its metadata, the scenario it ran on, its summary and result tables.

    ``meta`` holds the ``runs`` row without the large JSON columns: ``id``, ``kind``,
    ``created_at`` (UTC), ``scenario_name``, ``scenario_hash``, ``status``,
    ``options``, ``timings_s`` (seconds per step) and ``fabnet_version``.
    ``tables`` maps the table name without the kind prefix (``supply``, ``costs``, ...)
    to the DataFrame as saved (without the ``run_id`` column).
    """

    meta: dict[str, Any]
    #: The scenario a plan ran on; ``None`` for runs on other input (fab simulations).
    scenario: Scenario | None
    summary: dict[str, Any]
    messages: list[str] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """The run id, e.g. ``20261129-0812-3fa2``."""
        return str(self.meta["id"])

    @property
    def kind(self) -> str:
        """What made the run: ``plan``, ``fab``, ``risk``."""
        return str(self.meta["kind"])

    @property
    def status(self) -> str:
        """Outcome of the run, e.g. ``optimal`` or ``time_limit``."""
        return str(self.meta["status"])

    @property
    def created_at(self) -> dt.datetime:
        """When the run was stored (UTC, naive datetime)."""
        value = self.meta["created_at"]
        assert isinstance(value, dt.datetime)
        return value

    @property
    def options(self) -> dict[str, Any]:
        """The options the run was made with (e.g. period, relax, mip_gap)."""
        value = self.meta.get("options", {})
        return dict(value) if isinstance(value, Mapping) else {}

    @property
    def timings_s(self) -> dict[str, float]:
        """Wall time of each step of the run, seconds."""
        value = self.meta.get("timings_s", {})
        return {str(k): float(v) for k, v in value.items()} if isinstance(value, Mapping) else {}

    def table(self, name: str) -> pd.DataFrame:
        """One result table; an empty DataFrame when the run did not write it."""
        return self.tables.get(name, pd.DataFrame())


def jsonable(value: Any) -> Any:
    """``value`` made of plain JSON types: numpy scalars to Python, NaN and inf to ``None``.

    Dict keys become strings; enums their values; dates ISO text; paths text.
    """
    if isinstance(value, Mapping):
        return {str(jsonable(k)): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset | np.ndarray | pd.Series):
        return [jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, dt.datetime | dt.date | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, str):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)
