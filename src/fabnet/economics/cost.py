"""Costs: per good die, HBM, packaging, the packaged accelerator and per unit of compute.

Money is in US dollars, performance in dense BF16 PFLOP/s, power in watts. All
functions broadcast numpy arrays; scalars in give a float out.
"""

from __future__ import annotations

import numpy as np

from fabnet.economics._array import ArrayLikeFloat, FloatOrArray, as_float_array, check, out

__all__ = [
    "HOURS_PER_YEAR",
    "capital_recovery_factor",
    "cost_per_good_die_usd",
    "cost_per_pflops_usd",
    "cost_per_pflops_year_usd",
    "energy_cost_per_year_usd",
    "hbm_cost_usd",
    "package_yield",
    "packaged_unit_cost_usd",
]

#: Hours in a year of 365.25 days (a unit conversion, not scenario data).
HOURS_PER_YEAR = 365.25 * 24.0


def cost_per_good_die_usd(
    wafer_price_usd: ArrayLikeFloat, gross_dies: ArrayLikeFloat, die_yield: ArrayLikeFloat
) -> FloatOrArray:
    """Cost of one good die: ``wafer_price_usd / (gross_dies * die_yield)``.

    Source: the die-cost formula of Hennessy & Patterson (domain-data.md §7), before test
    and packaging. A wafer with no gross dies, or a zero yield, gives ``inf`` (no good die
    at any price).
    """
    price = as_float_array(wafer_price_usd, "wafer_price_usd")
    dies = as_float_array(gross_dies, "gross_dies")
    y = as_float_array(die_yield, "die_yield")
    check(price >= 0, "wafer_price_usd", "zero or positive")
    check(dies >= 0, "gross_dies", "zero or positive")
    check((y >= 0) & (y <= 1), "die_yield", "in [0, 1]")
    good = dies * y
    price, good = np.broadcast_arrays(price, good)
    cost = np.full(good.shape, np.inf)
    np.divide(price, good, out=cost, where=good > 0)
    return out(cost)


def hbm_cost_usd(stacks: ArrayLikeFloat, stack_price_usd: ArrayLikeFloat) -> FloatOrArray:
    """HBM memory cost of one package: ``stacks * stack_price_usd``."""
    n = as_float_array(stacks, "stacks")
    price = as_float_array(stack_price_usd, "stack_price_usd")
    check(n >= 0, "stacks", "zero or positive")
    check(price >= 0, "stack_price_usd", "zero or positive")
    return out(n * price)


def package_yield(
    assembly_yield: ArrayLikeFloat,
    stacks: ArrayLikeFloat = 0.0,
    bond_yield_per_stack: ArrayLikeFloat = 1.0,
) -> FloatOrArray:
    """Share of assemblies that work: ``assembly_yield * bond_yield_per_stack**stacks``.

    The base assembly yield (interposer, die attach) times an independent bonding yield for
    each HBM stack placed, as in cost models of 2.5D packages (e.g. CoWoS).
    """
    base = as_float_array(assembly_yield, "assembly_yield")
    n = as_float_array(stacks, "stacks")
    bond = as_float_array(bond_yield_per_stack, "bond_yield_per_stack")
    check((base > 0) & (base <= 1), "assembly_yield", "in (0, 1]")
    check((bond > 0) & (bond <= 1), "bond_yield_per_stack", "in (0, 1]")
    check(n >= 0, "stacks", "zero or positive")
    return out(base * bond**n)


def packaged_unit_cost_usd(
    die_costs_usd: ArrayLikeFloat,
    hbm_cost_usd: ArrayLikeFloat,
    packaging_cost_usd: ArrayLikeFloat,
    assembly_yield: ArrayLikeFloat,
    test_cost_usd: ArrayLikeFloat = 0.0,
) -> FloatOrArray:
    """Cost of one good packaged accelerator.

    ``(die_costs_usd + hbm_cost_usd + packaging_cost_usd + test_cost_usd) / assembly_yield``

    ``die_costs_usd`` is the cost of all known-good logic dies in one package (the sum over
    its chiplets). A failed assembly loses the known-good dies and HBM stacks in it, so every
    input is spread over the good units only. ``assembly_yield`` is the package yield, e.g.
    from :func:`package_yield`.
    """
    dies = as_float_array(die_costs_usd, "die_costs_usd")
    hbm = as_float_array(hbm_cost_usd, "hbm_cost_usd")
    pkg = as_float_array(packaging_cost_usd, "packaging_cost_usd")
    test = as_float_array(test_cost_usd, "test_cost_usd")
    y = as_float_array(assembly_yield, "assembly_yield")
    for value, name in (
        (dies, "die_costs_usd"),
        (hbm, "hbm_cost_usd"),
        (pkg, "packaging_cost_usd"),
    ):
        check(value >= 0, name, "zero or positive")
    check(test >= 0, "test_cost_usd", "zero or positive")
    check((y > 0) & (y <= 1), "assembly_yield", "in (0, 1]")
    return out((dies + hbm + pkg + test) / y)


def cost_per_pflops_usd(unit_cost_usd: ArrayLikeFloat, pflops: ArrayLikeFloat) -> FloatOrArray:
    """Capital cost per PFLOP/s of performance: ``unit_cost_usd / pflops``."""
    cost = as_float_array(unit_cost_usd, "unit_cost_usd")
    perf = as_float_array(pflops, "pflops")
    check(perf > 0, "pflops", "positive")
    return out(cost / perf)


def capital_recovery_factor(
    service_life_years: ArrayLikeFloat, discount_rate: ArrayLikeFloat = 0.0
) -> FloatOrArray:
    """Share of a capital cost charged per year over a service life.

    Annuity (capital recovery) factor ``r / (1 - (1 + r)**(-n))`` for a discount rate
    ``r`` per year over ``n`` years; straight line ``1 / n`` at ``r = 0`` (its limit).
    """
    n = as_float_array(service_life_years, "service_life_years")
    r = as_float_array(discount_rate, "discount_rate")
    check(n > 0, "service_life_years", "positive")
    check(r > -1, "discount_rate", "above -1")
    n, r = np.broadcast_arrays(n, r)
    straight = 1.0 / n
    factor = np.array(straight, dtype=np.float64)
    nonzero = r != 0
    # -expm1(-n log1p(r)) = 1 - (1 + r)**-n, accurate for small r.
    denom = -np.expm1(-n * np.log1p(np.where(nonzero, r, 0.0)))
    np.divide(r, denom, out=factor, where=nonzero)
    return out(factor)


def energy_cost_per_year_usd(
    power_w: ArrayLikeFloat,
    electricity_usd_per_kwh: ArrayLikeFloat,
    pue: ArrayLikeFloat = 1.0,
    utilization: ArrayLikeFloat = 1.0,
) -> FloatOrArray:
    """Electricity cost of running one unit for a year.

    ``power_w / 1000 * utilization * pue * HOURS_PER_YEAR * electricity_usd_per_kwh``:
    the unit draws ``power_w`` for the ``utilization`` share of the year, and the data
    centre adds cooling and power delivery by its power usage effectiveness ``pue`` (>= 1).
    """
    p = as_float_array(power_w, "power_w")
    price = as_float_array(electricity_usd_per_kwh, "electricity_usd_per_kwh")
    e = as_float_array(pue, "pue")
    u = as_float_array(utilization, "utilization")
    check(p >= 0, "power_w", "zero or positive")
    check(price >= 0, "electricity_usd_per_kwh", "zero or positive")
    check(e >= 1, "pue", "at least 1")
    check((u >= 0) & (u <= 1), "utilization", "in [0, 1]")
    return out(p / 1000.0 * u * e * HOURS_PER_YEAR * price)


def cost_per_pflops_year_usd(
    unit_cost_usd: ArrayLikeFloat,
    pflops: ArrayLikeFloat,
    power_w: ArrayLikeFloat,
    service_life_years: ArrayLikeFloat,
    electricity_usd_per_kwh: ArrayLikeFloat,
    pue: ArrayLikeFloat,
    utilization: ArrayLikeFloat = 1.0,
    discount_rate: ArrayLikeFloat = 0.0,
) -> FloatOrArray:
    """Total cost of owning one PFLOP/s of peak performance for a year, power included.

    ``(unit_cost_usd * capital_recovery_factor(service_life_years, discount_rate)
    + energy_cost_per_year_usd(power_w, electricity_usd_per_kwh, pue, utilization)) / pflops``

    The capital cost is spread over the service life straight-line (``discount_rate = 0``)
    or as an annuity; ``utilization`` scales the energy drawn, not the PFLOP/s counted
    (performance is the peak the unit provides, as for purchased capacity).
    """
    cost = as_float_array(unit_cost_usd, "unit_cost_usd")
    check(cost >= 0, "unit_cost_usd", "zero or positive")
    capex = cost * np.asarray(capital_recovery_factor(service_life_years, discount_rate))
    energy = np.asarray(
        energy_cost_per_year_usd(power_w, electricity_usd_per_kwh, pue, utilization)
    )
    return cost_per_pflops_usd(capex + energy, pflops)
