"""Objective: discounted cost of the plan (eq. 19 of docs/planner.md).

Costs are discounted to 1 January of the first year at each period's middle,
``δ(t) = (1 + rate) ** -(mid(t) - first_year)``. The solver sees them in millions of
USD (:data:`OBJECTIVE_SCALE`) to keep its coefficients in a comfortable range.
"""

from __future__ import annotations

import numpy as np
from linopy import LinearExpression, Model

from fabnet.plan.clearing_constraints import OUTPUT as FAB_OUTPUT
from fabnet.plan.policies import periods_of_years
from fabnet.plan.sets import F, PlanData, salvage_shares
from fabnet.plan.terms import weighted_total
from fabnet.plan.variables import (
    BUILD,
    OFFER,
    PORT,
    UNITS,
    UNMET_COMPUTE,
    UNMET_UNITS,
    UNTAKEN,
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


def in_service_sum(values: F, shift: np.ndarray, life: np.ndarray) -> F:
    """(N, T): for a decision at ``t`` of source ``i``, Σ of ``values`` over the periods its
    units are in service inside the horizon, ``t + shift[i] … t + shift[i] + life[i] - 1``."""
    T = values.shape[-1]
    c = np.concatenate([[0.0], np.cumsum(values)])  # c[k] = Σ values[:k]
    t = np.arange(T)[None, :]
    lo = np.minimum(t + np.asarray(shift)[:, None], T)
    hi = np.minimum(lo + np.asarray(life)[:, None], T)
    out: F = c[hi] - c[lo]
    return out


def energy_pv_per_unit(d: PlanData) -> tuple[F, F]:
    """Present value of the electricity one unit ordered or assembled in ``t`` draws while
    in service inside the horizon, USD: (P, T) own product versions in the fleet, (O, T) offers.

    ``power_w × PUE × hours × price(t) × δ(t)`` summed over its service periods (eq. 19).
    """
    per_w = d.energy_usd_per_w * d.discount
    own = (
        in_service_sum(per_w, d.product_arrival_shift, d.product_life)
        * (d.product_power_w * d.product_in_fleet)[:, None]
    )
    off = in_service_sum(per_w, d.offer_shift, d.offer_life) * d.offer_power_w[:, None]
    return own, off


def untaken_price_pv(d: PlanData) -> F:
    """(O, Y) present value of one committed unit paid for and not taken in year y, USD:
    the mean over the year's periods of price × δ."""
    ty = periods_of_years(d)
    out: F = (d.offer_price_usd * d.discount[None, :])[:, ty].mean(axis=2)
    return out


def capex_pv_per_build(d: PlanData, net: bool = False) -> F:
    """(C, Ts) present value of a build started in Ts, USD; ``net``: less its salvage value
    (the share of its capex for the service life left after the horizon, eq. 19b)."""
    out: F = np.einsum("cst,t->cs", d.cand_capex_share, d.discount) * d.cand_capex_usd[:, None]
    if net and d.cand_salvage_share.size:
        out = out * (1.0 - d.cand_salvage_share)
    return out


def salvage_usd(d: PlanData, end: int | None = None, wip: bool = False) -> dict[str, F]:
    """Undiscounted salvage value credited per unit of each variable, USD (eq. 19b):
    the decision's cost (the design partner's markup included) times its share of service
    after period ``end`` (default: the model's end; ``wip``: see :func:`salvage_shares`).
    Empty with ``terminal = "none"``."""
    if d.terminal == "none":
        return {}
    share = salvage_shares(d, end, wip)
    # the design partner's markup is part of what a unit costs: it is credited with it
    out = {
        WAFERS: (d.route_cost_usd + d.route_partner_usd) * share["wafers"],
        UNITS: (d.product_assembly_usd + d.product_partner_usd)[:, None] * share["units"],
        OFFER: d.offer_price_usd * share["offers"],
        # --lead-times load: wafers leaving the fab, at the output period's price
        FAB_OUTPUT: (d.route_cost_usd + d.route_partner_usd) * share["fab_output"],
    }
    return {k: v for k, v in out.items() if v.size and v.any()}


def add_objective(m: Model, d: PlanData) -> None:
    """Set the objective: Σ discounted cost of every decision, in million USD."""
    df = d.discount * OBJECTIVE_SCALE
    parts: list[LinearExpression] = [
        weighted_total(m, m.variables[name], cost * df[None, :])
        for name, cost in unit_costs(d).items()
    ]
    parts += [
        weighted_total(m, m.variables[name], -credit * df[None, :])
        for name, credit in salvage_usd(d).items()
    ]
    own_e, off_e = energy_pv_per_unit(d)
    if own_e.any():
        parts.append(weighted_total(m, m.variables[UNITS], own_e * OBJECTIVE_SCALE))
    if off_e.any():
        parts.append(weighted_total(m, m.variables[OFFER], off_e * OBJECTIVE_SCALE))
    if (d.offer_min_units > 0).any():
        parts.append(weighted_total(m, m.variables[UNTAKEN], untaken_price_pv(d) * OBJECTIVE_SCALE))
    if d.route_partner_usd.any():  # design partner's markup on wafers, HBM and packaging
        parts.append(weighted_total(m, m.variables[WAFERS], d.route_partner_usd * df[None, :]))
    if d.product_partner_usd.any():  # ... and on test and assembly
        parts.append(
            weighted_total(m, m.variables[UNITS], d.product_partner_usd[:, None] * df[None, :])
        )
    if len(d.cand_ids):
        pv_b = capex_pv_per_build(d, net=True) * OBJECTIVE_SCALE
        parts.append(weighted_total(m, m.variables[BUILD], pv_b))
    if len(d.option_ids):
        pv_z = d.option_cost_usd * d.discount[d.option_pay_period] * OBJECTIVE_SCALE
        parts.append(weighted_total(m, m.variables[PORT], pv_z))
    if d.clearing is not None:  # the initial pipeline of the clearing routes
        from fabnet.plan.clearing_constraints import objective_parts

        parts += objective_parts(m, d, OBJECTIVE_SCALE)
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    m.add_objective(total)
