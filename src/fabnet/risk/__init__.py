"""Disruption risk: a sourced event catalogue, its sampler, and Monte Carlo of a plan.

The sampler turns the scenario's ``disruptions`` catalogue into per-sample
:class:`~fabnet.risk.effects.Effects`; the recourse evaluation re-solves the planner's own
LP with the plan's first-stage decisions fixed (see ../../docs/risk.md).
"""

from __future__ import annotations

from fabnet.risk.effects import Effects, EventHit

__all__ = ["Effects", "EventHit"]
