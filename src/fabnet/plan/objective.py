"""Objective: discounted cost of the plan (eq. 19 of docs/planner.md).

Costs are discounted to 1 January of the first year at each period's middle,
``δ(t) = (1 + rate) ** -(mid(t) - first_year)``. The solver sees them in millions of
USD (:data:`OBJECTIVE_SCALE`) to keep its coefficients in a comfortable range.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from linopy import LinearExpression, Model

from fabnet.plan.sets import F, PlanData
from fabnet.plan.variables import (
    BUILD,
    OFFER,
    PORT,
    UNITS,
    UNMET_COMPUTE,
    UNMET_UNITS,
    WAFERS,
    index,
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
    ix = index(d)
    df = xr.DataArray(d.discount * OBJECTIVE_SCALE, coords={"period": ix["period"]})
    dims = {
        WAFERS: "route",
        UNITS: "product",
        OFFER: "offer",
        UNMET_COMPUTE: "compute_demand",
        UNMET_UNITS: "unit_demand",
    }
    parts: list[LinearExpression] = []
    for name, cost in unit_costs(d).items():
        dim = dims[name]
        c = xr.DataArray(cost, coords={dim: ix[dim], "period": ix["period"]}) * df
        parts.append((m.variables[name] * c).sum())
    C = len(d.cand_ids)
    if C:
        pv = capex_pv_per_build(d) * OBJECTIVE_SCALE
        c = xr.DataArray(pv, coords={"candidate": ix["candidate"], "period": ix["period"]})
        parts.append((m.variables[BUILD] * c).sum())
    Z = len(d.option_ids)
    if Z:
        pv_z = d.option_cost_usd * d.discount[d.option_pay_period] * OBJECTIVE_SCALE
        cz = xr.DataArray(pv_z, coords={"option": ix["option"]})
        parts.append((m.variables[PORT] * cz).sum())
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    m.add_objective(total)
