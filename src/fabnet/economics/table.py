"""The economics table of a scenario: own accelerators beside incumbent offers, per year.

One row per (product, logic process option) and per incumbent offer, for each year
of interest, with the cost of a good die, of the packaged unit, per PFLOP/s and per
PFLOP/s-year including power. Every number comes from the scenario; the formulas
are the functions of :mod:`fabnet.economics`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from fabnet.economics.cost import (
    capital_recovery_factor,
    cost_per_good_die_usd,
    energy_cost_per_year_usd,
    hbm_cost_usd,
    packaged_unit_cost_usd,
)
from fabnet.economics.dies import gross_dies_per_wafer
from fabnet.economics.yields import die_yield
from fabnet.scenario.schema import (
    Offer,
    Process,
    ProcessKind,
    ProcessOption,
    Product,
    Scenario,
    series_at,
)

__all__ = ["ECONOMICS_COLUMNS", "d0_learning_factor", "default_years", "economics_table"]

#: Columns of :func:`economics_table`, in order, with their meaning (units in the names).
ECONOMICS_COLUMNS: dict[str, str] = {
    "year": "calendar year; series are read at its middle (Y + 0.5)",
    "kind": "'own' (a product the designer makes) or 'offer' (an incumbent accelerator bought)",
    "id": "product or offer id",
    "name": "product or offer name (the id when the scenario gives none)",
    "vendor": "company selling it: the product's designer or the offer's vendor",
    "process": "own: logic process id of this row; offer: empty",
    "available": "own: the process option may start wafers this year; offer: on sale this year",
    "wafer_price_usd": "own: process wafer price, USD per wafer (site-independent, no site factor)",
    "d0_per_cm2": (
        "own: defect density D0, defects per cm² (the process's, times the product's yield "
        "learning multiplier for its years since first wafers on the process)"
    ),
    "yield_model": "own: die-yield model of the process",
    "die_area_mm2": "own: area of one logic die (product area / chiplets), mm²",
    "dies_per_unit": "own: logic dies (chiplets) per unit",
    "gross_dies_per_wafer": "own: whole dies per wafer by the textbook formula",
    "die_yield": "own: share of good dies",
    "cost_per_good_die_usd": "own: wafer price / (gross dies x yield), USD per good die",
    "logic_cost_usd": "own: good logic dies of one unit, USD",
    "hbm_process": "own: HBM process priced (cheapest of the required generation this year)",
    "hbm_stacks": "HBM stacks per unit",
    "hbm_cost_usd": "own: HBM stacks x stack price, USD per unit",
    "packaging_process": "own: packaging process priced (cheapest per good unit); empty if none",
    "packaging_cost_usd": "own: packaging wafer price / packages per wafer, USD per unit",
    "assembly_yield": "own: share of assembled packages that work",
    "test_cost_usd": "own: test and assembly outside the packaging line, USD per unit",
    "manufacturing_cost_usd": "own: cost of making a good packaged unit, USD",
    "design_partner_usd": "own: the design partner's markup on the manufacturing cost, USD per unit",
    "unit_cost_usd": "own: manufacturing cost + design partner, USD per unit; offer: its price",
    "tapeout_usd": "own: one-off tape-out (mask set) on this process, USD (not in unit cost)",
    "porting_cost_usd": "own: one-off design port to this process, USD (not in unit cost)",
    "max_units_per_year": "own: the product's production ramp cap that year, units (NaN: none)",
    "pflops": "dense BF16 performance per unit, PFLOP/s (own: on this row's process)",
    "power_w": "power per unit in service, W (own: on this row's process)",
    "service_life_years": "years a unit stays in service",
    "usd_per_pflops": "unit cost / PFLOP/s, USD (NaN without performance)",
    "energy_usd_per_year": "electricity per unit and year at the scenario's price and PUE, USD",
    "usd_per_pflops_year": (
        "(unit cost x capital recovery factor at the scenario discount rate over the service "
        "life + energy per year) / PFLOP/s, USD"
    ),
}


def default_years(scenario: Scenario) -> list[int]:
    """Years shown when none are asked for: the first, middle and last year of the horizon."""
    h = scenario.horizon
    return sorted({h.first_year, (h.first_year + h.last_year) // 2, h.last_year})


def _at(series: dict[int, float], years: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """A ``{year: value}`` series at the middle of each calendar year."""
    return np.asarray(series_at(series, years + 0.5), dtype=np.float64)


def _per_pflops(value: npt.NDArray[np.float64], pflops: float) -> npt.NDArray[np.float64] | float:
    return value / pflops if pflops > 0 else np.full_like(value, np.nan)


def _cheapest_hbm(
    scenario: Scenario, product: Product, years: npt.NDArray[np.float64]
) -> tuple[list[str], npt.NDArray[np.float64]]:
    """Per year: the HBM process with the lowest stack price for the product's generation."""
    if product.hbm_stacks == 0:
        return [""] * years.size, np.zeros(years.size)
    candidates = [
        p
        for p in scenario.processes
        if p.kind is ProcessKind.hbm
        and p.generation == product.hbm_generation
        and p.stack_price_usd is not None
    ]
    prices = np.stack([_at(p.stack_price_usd or {}, years) for p in candidates])
    best = np.argmin(prices, axis=0)
    return [candidates[i].id for i in best], prices[best, np.arange(years.size)]


def _packaging(
    scenario: Scenario,
    product: Product,
    years: npt.NDArray[np.float64],
    inputs_usd: npt.NDArray[np.float64],
) -> tuple[list[str], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per year: the packaging option with the lowest cost per good unit.

    Returns (process ids, packaging cost per unit USD, assembly yield).
    """
    if not product.packaging_options:
        return [""] * years.size, np.zeros(years.size), np.ones(years.size)
    per_wafer = product.packages_per_wafer or 1.0
    options: list[Process] = [scenario.process(pid) for pid in product.packaging_options]
    costs = np.stack([_at(p.price_usd_per_wafer or {}, years) / per_wafer for p in options])
    yields = np.array([[p.assembly_yield] for p in options]) * np.ones(years.size)
    per_good = (inputs_usd[None, :] + costs) / yields
    best = np.argmin(per_good, axis=0)
    cols = np.arange(years.size)
    return [options[i].id for i in best], costs[best, cols], yields[best, cols]


def d0_learning_factor(
    product: Product, option: ProcessOption, first_year: int, times: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """The product's yield-learning multiplier on D0 at calendar times ``times`` (years):
    ``d0_learning`` read at the years since its first wafers on the option's process
    (``available_from_year``, else ``first_year``); 1 without learning."""
    if not product.d0_learning:
        return np.ones(np.shape(times))
    start = option.available_from_year if option.available_from_year is not None else first_year
    return np.asarray(series_at(product.d0_learning, times - start), dtype=np.float64)


def _own_rows(
    scenario: Scenario, product: Product, years: npt.NDArray[np.float64]
) -> Iterable[dict[str, Any]]:
    electricity = _at(scenario.electricity_usd_per_kwh, years)
    crf = float(capital_recovery_factor(product.service_life_years, scenario.discount_rate))
    die_area_mm2 = product.die_area_mm2 / product.chiplets
    hbm_ids, stack_price = _cheapest_hbm(scenario, product, years)
    hbm_usd = np.asarray(hbm_cost_usd(product.hbm_stacks, stack_price), dtype=np.float64)
    for option in product.process_options:
        # performance and power of the unit made on this process (the product's by default)
        pflops = product.pflops_bf16 if option.pflops_bf16 is None else option.pflops_bf16
        power_w = product.power_w if option.power_w is None else option.power_w
        energy = np.asarray(
            energy_cost_per_year_usd(power_w, electricity, scenario.pue), dtype=np.float64
        )
        proc = scenario.process(option.process)
        # a logic process (checked by the scenario), so these are set
        assert proc.wafer_price_usd is not None and proc.d0_per_cm2 is not None
        wafer_price = _at(proc.wafer_price_usd, years)
        learning = d0_learning_factor(product, option, scenario.horizon.first_year, years + 0.5)
        d0 = _at(proc.d0_per_cm2, years) * learning
        gross = float(
            gross_dies_per_wafer(
                die_area_mm2, proc.wafer_diameter_mm, proc.edge_exclusion_mm, proc.scribe_mm
            )
        )
        y = np.asarray(
            die_yield(proc.yield_model, die_area_mm2, d0, proc.yield_alpha),
            dtype=np.float64,
        )
        per_die = np.asarray(cost_per_good_die_usd(wafer_price, gross, y), dtype=np.float64)
        logic = per_die * product.chiplets
        pkg_ids, pkg_usd, assembly = _packaging(
            scenario, product, years, logic + hbm_usd + product.assembly_cost_usd
        )
        unit = np.asarray(
            packaged_unit_cost_usd(logic, hbm_usd, pkg_usd, assembly, product.assembly_cost_usd),
            dtype=np.float64,
        )
        partner = unit * product.design_partner_markup
        making = unit
        unit = making + partner
        cap = (
            _at(product.max_units_per_year, years)
            if product.max_units_per_year is not None
            else np.full(years.size, np.nan)
        )
        per_pf = _per_pflops(unit, pflops)
        per_pf_year = _per_pflops(unit * crf + energy, pflops)
        first = option.available_from_year
        for k, year in enumerate(years):
            yield {
                "year": int(year),
                "kind": "own",
                "id": product.id,
                "name": product.name or product.id,
                "vendor": product.designer,
                "process": proc.id,
                "available": first is None or year >= first,
                "wafer_price_usd": wafer_price[k],
                "d0_per_cm2": d0[k],
                "yield_model": proc.yield_model.value,
                "die_area_mm2": die_area_mm2,
                "dies_per_unit": product.chiplets,
                "gross_dies_per_wafer": gross,
                "die_yield": y[k],
                "cost_per_good_die_usd": per_die[k],
                "logic_cost_usd": logic[k],
                "hbm_process": hbm_ids[k],
                "hbm_stacks": product.hbm_stacks,
                "hbm_cost_usd": hbm_usd[k],
                "packaging_process": pkg_ids[k],
                "packaging_cost_usd": pkg_usd[k],
                "assembly_yield": assembly[k],
                "test_cost_usd": product.assembly_cost_usd,
                "manufacturing_cost_usd": making[k],
                "design_partner_usd": partner[k],
                "unit_cost_usd": unit[k],
                "tapeout_usd": proc.tapeout_usd,
                "porting_cost_usd": option.porting_cost_usd,
                "max_units_per_year": cap[k],
                "pflops": pflops,
                "power_w": power_w,
                "service_life_years": product.service_life_years,
                "usd_per_pflops": np.asarray(per_pf)[k],
                "energy_usd_per_year": energy[k],
                "usd_per_pflops_year": np.asarray(per_pf_year)[k],
            }


def _offer_rows(
    scenario: Scenario, offer: Offer, years: npt.NDArray[np.float64]
) -> Iterable[dict[str, Any]]:
    electricity = _at(scenario.electricity_usd_per_kwh, years)
    energy = np.asarray(
        energy_cost_per_year_usd(offer.power_w, electricity, scenario.pue), dtype=np.float64
    )
    crf = float(capital_recovery_factor(offer.service_life_years, scenario.discount_rate))
    price = _at(offer.price_usd, years)
    per_pf = price / offer.pflops_bf16
    per_pf_year = (price * crf + energy) / offer.pflops_bf16
    lo, hi = offer.available_from_year, offer.available_to_year
    for k, year in enumerate(years):
        yield {
            "year": int(year),
            "kind": "offer",
            "id": offer.id,
            "name": offer.name or offer.id,
            "vendor": offer.vendor,
            "process": "",
            "available": (lo is None or year >= lo) and (hi is None or year <= hi),
            "yield_model": "",
            "hbm_process": "",
            "hbm_stacks": offer.hbm_stacks,
            "packaging_process": "",
            "unit_cost_usd": price[k],
            "pflops": offer.pflops_bf16,
            "power_w": offer.power_w,
            "service_life_years": offer.service_life_years,
            "usd_per_pflops": per_pf[k],
            "energy_usd_per_year": energy[k],
            "usd_per_pflops_year": per_pf_year[k],
        }


def economics_table(scenario: Scenario, years: Iterable[int] | None = None) -> pd.DataFrame:
    """Cost of own accelerators and incumbent offers side by side, per year.

    One row per (product, logic process option) and per offer, for each year in
    ``years`` (default: :func:`default_years`), ordered by year, own rows first. The
    columns are :data:`ECONOMICS_COLUMNS` (see there for meaning and units); offer rows
    leave the manufacturing columns NaN. For an own product:

    * logic: gross dies per wafer (textbook formula, per chiplet of ``die_area_mm2 /
      chiplets``) and die yield of the process's model at the year's D0, cost per good
      die = wafer price / (gross dies x yield), times the chiplets per unit;
    * HBM: stacks x the lowest stack price of the required generation that year;
    * packaging: the option with the lowest cost per good unit, at its wafer price /
      packages per wafer and its assembly yield; manufacturing cost = (logic + HBM +
      packaging + test) / assembly yield (a failed assembly loses its good dies and stacks);
    * design partner: ``design_partner_markup`` × manufacturing cost; unit cost =
      manufacturing cost + design partner (what the designer pays per unit);
    * D0 is the process's times the product's yield-learning multiplier (``d0_learning``)
      at the years since its first wafers on the process;
    * per PFLOP/s-year: unit cost x capital recovery factor (scenario discount rate,
      service life) + energy per year (power x PUE x electricity price), over PFLOP/s.
      Performance and power are the process option's (``ProcessOption.pflops_bf16`` /
      ``power_w``) where it sets them, else the product's.

    NRE (the process's ``tapeout_usd`` and the option's ``porting_cost_usd``) is one-off and
    shown in its own columns, not spread into unit cost (that would need a volume).
    """
    chosen = default_years(scenario) if years is None else sorted(set(years))
    y = np.asarray(chosen, dtype=np.float64)
    rows: list[dict[str, Any]] = []
    for product in scenario.products:
        rows.extend(_own_rows(scenario, product, y))
    for offer in scenario.offers:
        rows.extend(_offer_rows(scenario, offer, y))
    frame = pd.DataFrame(rows, columns=list(ECONOMICS_COLUMNS))
    if frame.empty:
        return frame
    order = {"own": 0, "offer": 1}
    frame = frame.sort_values(
        ["year", "kind", "id", "process"], key=lambda s: s.map(order) if s.name == "kind" else s
    ).reset_index(drop=True)
    return frame
