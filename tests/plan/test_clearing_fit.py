"""The clearing-function fit: an outer approximation of the points, clear errors on bad curves."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fabnet.errors import FabnetError, PlanError
from fabnet.plan.clearing import (
    curve_from_points,
    fit_clearing_function,
    operating_points,
    queueing_flow_factor,
    queueing_points,
)


def test_linear_below_capacity_is_fitted_exactly() -> None:
    # flow factor 2 at every load: f(W) = min(W / 2, 1)
    load = np.array([0.2, 0.5, 0.8])
    cf = curve_from_points(load, load, [2.0, 2.0, 2.0])
    assert cf.n_segments == 2
    np.testing.assert_allclose(cf.slopes, [0.5, 0.0])
    np.testing.assert_allclose(cf.intercepts, [0.0, 1.0])
    assert cf.max_flow_factor_error == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(cf.evaluate([1.0, 2.0, 3.0]), [0.5, 1.0, 1.0])
    np.testing.assert_allclose(cf.flow_factor([0.3, 0.9]), [2.0, 2.0])
    np.testing.assert_allclose(cf.wip_for([0.4]), [0.8])


def test_queueing_curve_fit_within_five_percent() -> None:
    loads = [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95]
    cf = queueing_points(loads, tools=4, ca2=1.0, ce2=1.0).fit(max_segments=6)
    assert cf.n_segments <= 6
    assert cf.max_flow_factor_error <= 0.05
    # Sakasegawa at m = 1 is Kingman: FF = 1 + (ca2+ce2)/2 · u/(1-u)
    assert queueing_flow_factor(0.5, 1, 1.0, 1.0) == pytest.approx(2.0)


def test_thinned_fit_stays_outer_and_keeps_first_segment() -> None:
    p = queueing_points(np.linspace(0.3, 0.97, 15), tools=2, ca2=1.5, ce2=0.5)
    cf = p.fit(max_segments=3)
    assert cf.n_segments == 3
    assert np.all(cf.evaluate(p.wip_norm) >= p.throughput_frac - 1e-12)
    assert cf.intercepts[0] == pytest.approx(0.0)
    assert cf.slopes[0] == pytest.approx(1.0 / p.flow_factor[0])
    assert cf.max_flow_factor_error > 0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0.05, 1.0), st.floats(1.0, 20.0)),
        min_size=2,
        max_size=12,
        unique_by=lambda t: round(t[0], 6),
    ),
    st.integers(2, 7),
)
def test_fit_is_an_outer_approximation(points: list[tuple[float, float]], k: int) -> None:
    """Every point lies on or below every segment, whatever the points and segment budget."""
    pts = sorted(points)
    load = np.array([p[0] for p in pts])
    # a monotone curve: throughput = load, flow factor non-decreasing
    ff = np.maximum.accumulate(np.array([p[1] for p in pts]))
    cf = curve_from_points(load, load, ff, max_segments=k)
    assert cf.n_segments <= k
    w = ff * load
    assert np.all(cf.evaluate(w) >= load - 1e-9)
    # segments: intercepts[k] + slopes[k] W ≥ X for each one, not just the minimum
    assert np.all(cf.intercepts[None, :] + cf.slopes[None, :] * w[:, None] >= load[:, None] - 1e-9)
    # concave and non-decreasing: slopes non-negative; the fit never pessimistic
    assert np.all(cf.slopes >= 0)
    assert np.all(cf.flow_factor(load) <= ff * (1 + 1e-9))
    assert 0.0 <= cf.max_flow_factor_error < 1.0


@pytest.mark.parametrize(
    ("load", "thr", "ff", "needle"),
    [
        ([0.5, 1.2], [0.5, 0.9], [1.5, 3.0], "outside (0, 1]"),
        ([0.5, 0.8], [0.5, 0.8], [3.0, 1.2], "not monotone"),
        ([0.5, 0.8], [0.6, 0.5], [1.5, 3.0], "exceeds its load"),
        ([0.5, 0.8], [0.5, 0.4], [1.5, 3.0], "not monotone"),
        ([0.5], [0.5], [1.5], "at least 2"),
        ([0.5, float("nan")], [0.5, 0.8], [1.5, 3.0], "not a number"),
        ([0.5, 0.8], [0.5, 0.8], [0.9, 3.0], "below 1"),
        ([0.5, 0.5], [0.5, 0.5], [1.5, 1.6], "given twice"),
        ([0.5, 0.8], [0.5, 0.8, 0.9], [1.5, 3.0], "different lengths"),
    ],
)
def test_bad_curves_are_clear_errors(
    load: list[float], thr: list[float], ff: list[float], needle: str
) -> None:
    with pytest.raises(PlanError, match="bad operating curve") as exc:
        operating_points(load, thr, ff, source="curve.csv")
    assert needle in str(exc.value)
    assert "curve.csv" in str(exc.value)
    assert isinstance(exc.value, FabnetError)


def test_fit_rejects_falling_throughput() -> None:
    with pytest.raises(PlanError, match="not monotone"):
        fit_clearing_function([0.5, 1.0], [0.6, 0.5])
    with pytest.raises(PlanError, match="at least 2"):
        fit_clearing_function([0.5], [0.5])
    with pytest.raises(PlanError, match="max_segments"):
        fit_clearing_function([0.5, 1.0], [0.4, 0.5], max_segments=1)
