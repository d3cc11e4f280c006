"""Decision variables of the planner (eqs. 1–6 of docs/planner.md).

Names follow PyPSA's ``<Entity>-<attr>`` style. Invalid combinations (a route before
its tape-out, an offer outside its sale years, a build before the earliest start) are
masked, so they never reach the solver.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from linopy import Model

from fabnet.plan.sets import PlanData

WAFERS = "Route-wafers"
UNITS = "Product-units"
OFFER = "Offer-units"
BUILD = "Candidate-build"
PORT = "Option-port"
UNMET_COMPUTE = "Compute-unmet"
UNMET_UNITS = "Units-unmet"
UNTAKEN = "Offer-untaken"


def index(d: PlanData) -> dict[str, pd.Index]:
    """The coordinate of every dimension of the model."""
    return {
        "period": pd.Index(d.labels, name="period"),
        "route": pd.Index(d.route_ids, name="route", dtype=object),
        "product": pd.Index(d.product_ids, name="product", dtype=object),
        "offer": pd.Index(d.offer_ids, name="offer", dtype=object),
        "candidate": pd.Index(d.cand_ids, name="candidate", dtype=object),
        "option": pd.Index(d.option_ids, name="option", dtype=object),
        "site": pd.Index(d.site_ids, name="site", dtype=object),
        "compute_demand": pd.Index(d.compute_ids, name="compute_demand", dtype=object),
        "unit_demand": pd.Index(d.unit_ids, name="unit_demand", dtype=object),
        "year": pd.Index(d.year_list, name="year"),
    }


def _da(values: np.ndarray, dims: tuple[str, ...], ix: dict[str, pd.Index]) -> xr.DataArray:
    return xr.DataArray(values, dims=dims, coords={k: ix[k] for k in dims})


def add_variables(m: Model, d: PlanData, relax: bool) -> None:
    """Add every decision variable to ``m``."""
    ix = index(d)
    rt = ("route", "period")
    # (1) wafer starts per route and period, wafers
    m.add_variables(
        lower=0.0,
        coords=[ix["route"], ix["period"]],
        name=WAFERS,
        mask=_da(d.route_available, rt, ix),
    )
    # (2) units assembled per product and period (good units)
    m.add_variables(lower=0.0, coords=[ix["product"], ix["period"]], name=UNITS)
    # (3) incumbent units bought per offer and period, within allocation
    ot = ("offer", "period")
    m.add_variables(
        lower=0.0,
        upper=_da(d.offer_upper, ot, ix),
        coords=[ix["offer"], ix["period"]],
        name=OFFER,
        mask=_da(d.offer_available & (d.offer_upper > 0), ot, ix),
    )
    # (3b) committed units paid for and not taken, per offer and year (take-or-pay)
    m.add_variables(
        lower=0.0,
        coords=[ix["offer"], ix["year"]],
        name=UNTAKEN,
        mask=_da(d.offer_min_units > 0, ("offer", "year"), ix),
    )
    # (4) build start of a candidate site in a period (binary unless relaxed)
    ct = ("candidate", "period")
    kw = {"lower": 0.0, "upper": 1.0} if relax else {"binary": True}
    m.add_variables(
        coords=[ix["candidate"], ix["period"]],
        name=BUILD,
        mask=_da(d.cand_allowed, ct, ix),
        **kw,
    )
    # (5) porting decision of a product to a process (binary unless relaxed)
    m.add_variables(coords=[ix["option"]], name=PORT, **kw)
    # (6) unmet demand: PFLOP/s short per compute demand, units short per unit demand
    m.add_variables(
        lower=0.0,
        upper=_da(d.compute_required, ("compute_demand", "period"), ix),
        coords=[ix["compute_demand"], ix["period"]],
        name=UNMET_COMPUTE,
    )
    m.add_variables(
        lower=0.0,
        upper=_da(d.unit_required, ("unit_demand", "period"), ix),
        coords=[ix["unit_demand"], ix["period"]],
        name=UNMET_UNITS,
    )
    if d.clearing is not None:  # --lead-times load: output, WIP, capacity allocation
        from fabnet.plan.clearing_constraints import add_clearing_variables

        add_clearing_variables(m, d)
