"""Regression checks of the economics table on every built-in scenario and variant."""

from __future__ import annotations

import numpy as np
import pytest

from fabnet.economics import economics_table
from fabnet.scenario import builtin_names, load_scenario, variant_names

CASES = [(name, v) for name in builtin_names() for v in [None, *variant_names(name)]]


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_economics_table_is_sane(name: str, variant: str | None) -> None:
    s = load_scenario(name, variant=variant)
    frame = economics_table(s, s.horizon.years)
    n_options = sum(len(p.process_options) for p in s.products)
    assert len(frame) == len(s.horizon.years) * (n_options + len(s.offers))
    own = frame[frame["kind"] == "own"]
    assert (own["gross_dies_per_wafer"] >= 1).all()
    assert ((own["die_yield"] > 0) & (own["die_yield"] <= 1)).all()
    assert np.isfinite(frame["unit_cost_usd"]).all()
    assert (frame["unit_cost_usd"] > 0).all()
    # The good-unit cost is never below the sum of its inputs (assembly yield <= 1).
    inputs = own["logic_cost_usd"] + own["hbm_cost_usd"] + own["packaging_cost_usd"]
    assert (own["unit_cost_usd"] >= inputs + own["test_cost_usd"] - 1e-9).all()
    rated = frame[frame["pflops"] > 0]
    assert np.isfinite(rated["usd_per_pflops_year"]).all()
    # Owning a PFLOP/s for a year costs at least its power, and less than its whole capital
    # cost plus power when the unit lasts more than a year.
    per_year = rated["usd_per_pflops_year"]
    energy = rated["energy_usd_per_year"] / rated["pflops"]
    assert (per_year >= energy).all()
    long_lived = rated["service_life_years"] > 1
    assert (per_year[long_lived] < rated["usd_per_pflops"][long_lived] + energy[long_lived]).all()
