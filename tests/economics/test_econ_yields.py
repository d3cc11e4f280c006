"""Yield models: textbook worked values, limits and properties."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fabnet.economics import (
    die_yield,
    yield_murphy,
    yield_negative_binomial,
    yield_poisson,
    yield_seeds,
)


def test_worked_yields_for_an_h100_size_die() -> None:
    # domain-data.md §7: 8.14 cm² die at D0 = 0.1 /cm²: Poisson 44 %, Murphy 47 %,
    # NB(alpha=3) 49 %, NB(alpha=2) 51 %, Seeds 55 %.
    assert round(100 * yield_poisson(814.0, 0.1)) == 44
    assert round(100 * yield_murphy(814.0, 0.1)) == 47
    assert round(100 * yield_negative_binomial(814.0, 0.1, 3.0)) == 49
    assert round(100 * yield_negative_binomial(814.0, 0.1, 2.0)) == 51
    assert round(100 * yield_seeds(814.0, 0.1)) == 55


def test_worked_yield_ranges() -> None:
    # domain-data.md §7: D0 = 0.07: 57-64 %; 0.2: 20-38 %; 0.4: 4-24 %; a 1.04 cm² phone SoC
    # at D0 = 0.1: about 90 % in every model (NB with alpha 2 and 3 among them).
    def all_models(area: float, d0: float) -> list[float]:
        return [
            float(die_yield("poisson", area, d0)),
            float(die_yield("murphy", area, d0)),
            float(die_yield("negative_binomial", area, d0, alpha=3.0)),
            float(die_yield("negative_binomial", area, d0, alpha=2.0)),
            float(die_yield("seeds", area, d0)),
        ]

    # The sheet's ends are rounded to whole percent (Seeds at 0.4 is 23.50 %, given as 24).
    for d0, lo, hi in [(0.07, 57, 64), (0.2, 20, 38), (0.4, 4, 24)]:
        ys = all_models(814.0, d0)
        assert 100 * min(ys) == pytest.approx(lo, abs=0.51)
        assert 100 * max(ys) == pytest.approx(hi, abs=0.51)
    assert all(round(100 * y) in (90, 91) for y in all_models(104.0, 0.1))


def test_exact_formulas() -> None:
    x = 0.5  # 50 mm² at 1 /cm²
    assert yield_poisson(50.0, 1.0) == pytest.approx(math.exp(-x))
    assert yield_murphy(50.0, 1.0) == pytest.approx(((1 - math.exp(-x)) / x) ** 2)
    assert yield_seeds(50.0, 1.0) == pytest.approx(1 / (1 + x))
    assert yield_negative_binomial(50.0, 1.0, 0.7) == pytest.approx((1 + x / 0.7) ** -0.7)


def test_murphy_limit_without_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = yield_murphy(np.array([0.0, 814.0, 1e-300]), np.array([0.1, 0.0, 1e-10]))
    np.testing.assert_array_equal(y, [1.0, 1.0, 1.0])
    # Near zero Murphy is 1 - x + O(x**2).
    assert yield_murphy(1e-4, 1.0) == pytest.approx(1 - 1e-6, rel=1e-12)


def test_negative_binomial_limits() -> None:
    assert yield_negative_binomial(814.0, 0.1, math.inf) == yield_poisson(814.0, 0.1)
    assert yield_negative_binomial(814.0, 0.1, 1e9) == pytest.approx(
        yield_poisson(814.0, 0.1), rel=1e-8
    )
    assert yield_negative_binomial(814.0, 0.1, 1.0) == pytest.approx(yield_seeds(814.0, 0.1))


def test_vectorised_broadcast() -> None:
    y = yield_negative_binomial(np.array([100.0, 814.0])[:, None], [0.05, 0.1, 0.2], [[2.0]])
    assert isinstance(y, np.ndarray)
    assert y.shape == (2, 3)
    assert isinstance(yield_poisson(100.0, 0.1), float)


def test_dispatcher_errors() -> None:
    with pytest.raises(ValueError, match="alpha"):
        die_yield("negative_binomial", 100.0, 0.1)
    with pytest.raises(ValueError, match="unknown yield model"):
        die_yield("stapper", 100.0, 0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="d0_per_cm2"):
        yield_poisson(100.0, -0.1)
    with pytest.raises(ValueError, match="alpha"):
        yield_negative_binomial(100.0, 0.1, 0.0)


# --- properties ---------------------------------------------------------------------------

area = st.floats(min_value=0.0, max_value=2000.0)
d0 = st.floats(min_value=0.0, max_value=5.0)
alpha = st.floats(min_value=0.05, max_value=50.0)


def all_yields(a: float, d: float, al: float) -> list[float]:
    return [
        float(yield_poisson(a, d)),
        float(yield_murphy(a, d)),
        float(yield_seeds(a, d)),
        float(yield_negative_binomial(a, d, al)),
    ]


@given(a=area, d1=d0, d2=d0, al=alpha)
def test_yields_in_unit_interval_and_never_increase_with_defect_density(
    a: float, d1: float, d2: float, al: float
) -> None:
    lo, hi = sorted((d1, d2))
    for y_lo, y_hi in zip(all_yields(a, lo, al), all_yields(a, hi, al), strict=True):
        assert 0.0 < y_hi <= 1.0
        assert y_hi <= y_lo + 1e-12  # rounding of the last bit near D0 * A = 0


@given(a=st.floats(min_value=1.0, max_value=2000.0), d=st.floats(0.01, 5.0))
def test_negative_binomial_tends_to_poisson_and_equals_seeds_at_one(a: float, d: float) -> None:
    poisson = float(yield_poisson(a, d))
    ys = [float(yield_negative_binomial(a, d, al)) for al in (0.5, 1.0, 4.0, 64.0, 1e4)]
    # Larger alpha (less clustering) -> lower yield, approaching Poisson from above.
    assert all(y1 >= y2 for y1, y2 in itertools.pairwise(ys))
    assert ys[-1] >= poisson * (1 - 1e-12)
    # NB / Poisson = exp(x**2 / (2 alpha) + O(x**3 / alpha**2)) with x = D0 * A.
    x = a * d / 100
    assert ys[-1] == pytest.approx(poisson, rel=x * x / 1e4 + 1e-12)
    assert ys[1] == pytest.approx(float(yield_seeds(a, d)), rel=1e-12)
