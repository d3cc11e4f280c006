"""Disruption risk: a sourced event catalogue, its sampler, and Monte Carlo of a plan.

The :class:`~fabnet.risk.sampler.Sampler` turns the scenario's ``disruptions`` catalogue into
per-sample :class:`~fabnet.risk.effects.Effects`; :class:`~fabnet.risk.recourse.Recourse`
re-solves the planner's own LP with the plan's first-stage decisions fixed;
:func:`~fabnet.risk.run.run_risk` draws and evaluates samples through the one parallel-map
helper and summarises them (docs/risk.md).
"""

from __future__ import annotations

from fabnet.risk.effects import Effects, EventHit
from fabnet.risk.recourse import FirstStage, Outcome, Recourse, RecourseSpec, SampleBatch
from fabnet.risk.run import RISK_TABLE_COLUMNS, RiskOptions, RiskResult, run_risk
from fabnet.risk.sampler import Sampler
from fabnet.risk.stats import RiskSummary, summarise

__all__ = [
    "RISK_TABLE_COLUMNS",
    "Effects",
    "EventHit",
    "FirstStage",
    "Outcome",
    "Recourse",
    "RecourseSpec",
    "RiskOptions",
    "RiskResult",
    "RiskSummary",
    "SampleBatch",
    "Sampler",
    "run_risk",
    "summarise",
]
