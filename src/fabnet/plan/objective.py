"""Objective: discounted cost of the plan (eq. 19 of docs/planner.md).

Costs are discounted to 1 January of the first year at each period's middle,
``δ(t) = (1 + rate) ** -(mid(t) - first_year)``. The solver sees them in millions of
USD (:data:`OBJECTIVE_SCALE`) to keep its coefficients in a comfortable range.
"""

from __future__ import annotations

import numpy as np
from linopy import LinearExpression, Model

from fabnet.plan.sets import F, PlanData
from fabnet.plan.terms import weighted_total
from fabnet.plan.variables import (
    BUILD,
    OFFER,
    PORT,
    UNITS,
    UNMET_COMPUTE,
    UNMET_UNITS,
    WAFERS,
)

#: USD → the solver's objective unit (million USD); a unit conversion, not data.
OBJECTIVE_SCALE = 1e-6


def unit_costs(d: PlanData) -> dict[str, F]:
    """Undiscounted cost per unit of each variable, USD (same shapes as the variables)."""
    L = d.length_years
    T = d.n_periods
    return {
        WAFERS: d.route_cost_usd,
        UNITS: np.repeat(d.product_assembly_usd[:, None], T, axis=1),
        OFFER: d.offer_price_usd,
        UNMET_COMPUTE: np.repeat(d.compute_penalty_usd[:, None] * L, T, axis=1),
        UNMET_UNITS: np.repeat(d.unit_penalty_usd[:, None], T, axis=1),
    }


def capex_pv_per_build(d: PlanData) -> F:
    """(C, Ts) present value of a build started in Ts, USD."""
    out: F = np.einsum("cst,t->cs", d.cand_capex_share, d.discount) * d.cand_capex_usd[:, None]
    return out


def add_objective(m: Model, d: PlanData) -> None:
    """Set the objective: Σ discounted cost of every decision, in million USD."""
    df = d.discount * OBJECTIVE_SCALE
    parts: list[LinearExpression] = [
        weighted_total(m, m.variables[name], cost * df[None, :])
        for name, cost in unit_costs(d).items()
    ]
    if len(d.cand_ids):
        parts.append(weighted_total(m, m.variables[BUILD], capex_pv_per_build(d) * OBJECTIVE_SCALE))
    if len(d.option_ids):
        pv_z = d.option_cost_usd * d.discount[d.option_pay_period] * OBJECTIVE_SCALE
        parts.append(weighted_total(m, m.variables[PORT], pv_z))
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    m.add_objective(total)
