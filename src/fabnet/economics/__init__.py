"""Chip economics: dies per wafer, yield, cost per good die, packaged unit and compute cost.

Pure, vectorised numpy functions with units in their names; each docstring names
its formula and source (mostly ../shared/reference/domain-data.md §7). Scalars in
give a float out, arrays in (broadcast) give an array out. Invalid arguments
(negative areas, yields outside their range) raise ``ValueError``: the scenario
layer validates user data before it gets here. :func:`economics_table` applies them
to a scenario: own accelerators beside incumbent offers, per year.
"""

from __future__ import annotations

from fabnet.economics.cost import (
    HOURS_PER_YEAR,
    capital_recovery_factor,
    cost_per_good_die_usd,
    cost_per_pflops_usd,
    cost_per_pflops_year_usd,
    energy_cost_per_year_usd,
    hbm_cost_usd,
    package_yield,
    packaged_unit_cost_usd,
)
from fabnet.economics.dies import (
    DieGridLayout,
    die_grid_layout,
    dies_per_wafer_exact,
    gross_dies_per_wafer,
)
from fabnet.economics.table import (
    ECONOMICS_COLUMNS,
    d0_learning_factor,
    default_years,
    economics_table,
)
from fabnet.economics.yields import (
    YieldModel,
    die_yield,
    yield_murphy,
    yield_negative_binomial,
    yield_poisson,
    yield_seeds,
)

__all__ = [
    "ECONOMICS_COLUMNS",
    "HOURS_PER_YEAR",
    "DieGridLayout",
    "YieldModel",
    "capital_recovery_factor",
    "cost_per_good_die_usd",
    "cost_per_pflops_usd",
    "cost_per_pflops_year_usd",
    "d0_learning_factor",
    "default_years",
    "die_grid_layout",
    "die_yield",
    "dies_per_wafer_exact",
    "economics_table",
    "energy_cost_per_year_usd",
    "gross_dies_per_wafer",
    "hbm_cost_usd",
    "package_yield",
    "packaged_unit_cost_usd",
    "yield_murphy",
    "yield_negative_binomial",
    "yield_poisson",
    "yield_seeds",
]
