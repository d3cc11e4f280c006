"""Cost per good die, packaging and cost per unit of compute: hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fabnet.economics import (
    HOURS_PER_YEAR,
    capital_recovery_factor,
    cost_per_good_die_usd,
    cost_per_pflops_usd,
    cost_per_pflops_year_usd,
    energy_cost_per_year_usd,
    gross_dies_per_wafer,
    hbm_cost_usd,
    package_yield,
    packaged_unit_cost_usd,
    yield_negative_binomial,
)


def test_cost_per_good_h100_size_die_domain_data_example() -> None:
    # domain-data.md §7: a 16k USD N4/N5 wafer / (63 dies x about 0.5) is about 500 USD.
    assert cost_per_good_die_usd(16_000.0, 63.0, 0.5) == pytest.approx(507.94, abs=0.01)
    # The same with the library's own count and yield (814 mm², 3 mm EE, NB alpha 3, D0 0.1).
    dies = gross_dies_per_wafer(814.0)
    y = yield_negative_binomial(814.0, 0.1, 3.0)
    assert cost_per_good_die_usd(16_000.0, dies, y) == pytest.approx(16_000.0 / (60 * y))


def test_cost_per_good_die_no_good_dies_is_infinite() -> None:
    np.testing.assert_array_equal(
        cost_per_good_die_usd(10_000.0, [0.0, 100.0], [0.5, 0.0]), [math.inf, math.inf]
    )


@given(
    price=st.floats(1.0, 1e5),
    dies=st.integers(1, 10_000),
    y1=st.floats(0.01, 1.0),
    y2=st.floats(0.01, 1.0),
)
def test_cost_per_good_die_decreases_with_yield(
    price: float, dies: int, y1: float, y2: float
) -> None:
    lo, hi = sorted((y1, y2))
    assert cost_per_good_die_usd(price, dies, hi) <= cost_per_good_die_usd(price, dies, lo)


def test_hbm_and_package_yield() -> None:
    assert hbm_cost_usd(5, 280.0) == 1400.0
    assert package_yield(0.98) == 0.98
    assert package_yield(0.98, stacks=8, bond_yield_per_stack=0.995) == pytest.approx(
        0.98 * 0.995**8
    )
    with pytest.raises(ValueError, match="assembly_yield"):
        package_yield(0.0)


def test_packaged_unit_cost_loses_good_inputs_in_failed_assemblies() -> None:
    # Two chiplets of 500 USD, 8 stacks of 300 USD, 1000 USD packaging, 100 USD test, 90 %
    # assembly yield: (1000 + 2400 + 1000 + 100) / 0.9 = 5000 USD per good unit.
    cost = packaged_unit_cost_usd(2 * 500.0, hbm_cost_usd(8, 300.0), 1000.0, 0.9, 100.0)
    assert cost == pytest.approx(5000.0)
    assert packaged_unit_cost_usd(300.0, 1400.0, 750.0, 1.0) == pytest.approx(2450.0)


def test_cost_per_pflops() -> None:
    assert cost_per_pflops_usd(30_000.0, 0.989) == pytest.approx(30_333.67, abs=0.01)
    with pytest.raises(ValueError, match="pflops"):
        cost_per_pflops_usd(1.0, 0.0)


def test_capital_recovery_factor() -> None:
    assert capital_recovery_factor(4.0) == 0.25
    # Annuity at 10 % over 5 years: 0.1 / (1 - 1.1**-5) = 0.263797...
    assert capital_recovery_factor(5.0, 0.1) == pytest.approx(0.2637974808)
    # Continuous in the rate at 0.
    assert capital_recovery_factor(5.0, 1e-12) == pytest.approx(0.2, rel=1e-9)


def test_energy_cost_per_year() -> None:
    # 700 W, PUE 1.2, 80 % utilisation, 0.08 USD/kWh, 8766 h: 0.7*0.8*1.2*8766*0.08 USD.
    expected = 0.7 * 0.8 * 1.2 * 8766.0 * 0.08
    assert HOURS_PER_YEAR == 8766.0
    assert energy_cost_per_year_usd(700.0, 0.08, 1.2, 0.8) == pytest.approx(expected)
    with pytest.raises(ValueError, match="pue"):
        energy_cost_per_year_usd(700.0, 0.08, 0.9)


def test_cost_per_pflops_year_hand_computed() -> None:
    # H100-like: 30k USD, 0.989 PF, 700 W, 4 years, 0.08 USD/kWh, PUE 1.2, utilisation 1.
    capex = 30_000.0 / 4
    energy = 0.7 * 1.2 * 8766.0 * 0.08
    got = cost_per_pflops_year_usd(30_000.0, 0.989, 700.0, 4.0, 0.08, 1.2)
    assert got == pytest.approx((capex + energy) / 0.989)
    annuity = cost_per_pflops_year_usd(30_000.0, 0.989, 700.0, 4.0, 0.08, 1.2, discount_rate=0.08)
    assert annuity > got
    arr = cost_per_pflops_year_usd([30_000.0, 20_000.0], [0.989, 2.25], 700.0, 4.0, 0.08, 1.2)
    assert isinstance(arr, np.ndarray)
    assert arr.shape == (2,)
