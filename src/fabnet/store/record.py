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


def run_variant(kind: str, options: Mapping[str, Any]) -> str | None:
    """A plan run's scenario variant (``base`` without one); None when it was not recorded.

    Plan runs record ``variant`` in their options (None for the scenario as written)."""
    if "variant" not in options:
        return None
    value = options.get("variant")
    return str(value) if value else "base"


def _num_text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _seeds_text(seeds: Any) -> str:
    """``0-4`` for a run of consecutive seeds, else ``1,5,9``."""
    if not isinstance(seeds, list) or not seeds:
        return str(seeds)
    if len(seeds) > 1 and seeds == list(range(int(seeds[0]), int(seeds[0]) + len(seeds))):
        return f"{seeds[0]}-{seeds[-1]}"
    return ",".join(str(s) for s in seeds)


def run_parameters(kind: str, options: Mapping[str, Any]) -> list[str]:
    """What tells a run apart from other runs of its scenario, as short readable items.

    Plan runs: the ``--set`` overrides and every planner option that differs from its
    default (period, relax, terminal, gap, time limit, build start, no MIP start), and the
    stochastic settings (scenarios, seed, risk aversion ω; ``frontier`` for a frontier
    point). Risk runs: the plan run, samples, seed, and what differs from the defaults
    (screen, events, alpha, stress). Fab runs: days, warm-up, dispatcher, seeds. The
    variant is not repeated here (see :func:`run_variant`); ``--threads`` and
    ``--workers`` are left out (they change the speed, not the result).
    """
    items: list[str] = []
    if kind == "plan":
        from fabnet.plan.options import PlanOptions

        defaults = PlanOptions().as_dict()
        items += [f"set {s}" for s in options.get("set") or []]
        labels = {
            "period": "period",
            "build_start": "build start",
            "terminal": "terminal",
            "mip_gap": "gap",
            "time_limit_s": "time limit s",
        }
        for key, label in labels.items():
            if key in options and options[key] != defaults[key]:
                items.append(f"{label} {_num_text(options[key])}")
        if options.get("relax"):
            items.append("relax")
        if options.get("mip_start") is False:
            items.append("no MIP start")
        sto = options.get("stochastic")
        if isinstance(sto, Mapping):
            text = f"stochastic {sto.get('scenarios')} (seed {sto.get('seed')}"
            if sto.get("risk_aversion"):
                text += f", ω {_num_text(sto['risk_aversion'])}"
            if sto.get("unmet_cvar_cap_pflops") is not None:
                text += f", unmet CVaR cap {_num_text(sto['unmet_cvar_cap_pflops'])}"
            items.append(text + ")")
            if sto.get("frontier"):
                items.append("frontier")
    elif kind == "risk":
        if options.get("plan_run_id"):
            items.append(f"plan {options['plan_run_id']}")
        for key in ("samples", "seed"):
            if key in options:
                items.append(f"{key} {options[key]}")
        if options.get("method") not in (None, "exact"):
            items.append(str(options["method"]))
        if options.get("events"):
            items.append("events " + ",".join(str(e) for e in options["events"]))
        if options.get("alpha") not in (None, 0.95):
            items.append(f"alpha {_num_text(options['alpha'])}")
        if options.get("stress"):
            year = options.get("stress_year")
            items.append("stress" + (f" {year}" if year else ""))
    elif kind == "fab":
        if "days" in options:
            items.append(f"{_num_text(options['days'])} d")
        if options.get("warmup_days"):
            items.append(f"warm-up {_num_text(options['warmup_days'])} d")
        if options.get("dispatcher"):
            items.append(f"dispatcher {options['dispatcher']}")
            if options.get("pure_rule"):
                items.append("pure rule")
        if "seeds" in options:
            items.append(f"seeds {_seeds_text(options['seeds'])}")
    else:
        items += [
            f"{k} {_num_text(v)}"
            for k, v in options.items()
            if isinstance(v, str | int | float) and not isinstance(v, bool)
        ]
    return items
