"""The vectorised helpers behind the model: ramps, groups, fleet windows, gathers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from linopy import Model

from fabnet.plan.sets import ramp_average, round_half_up
from fabnet.plan.terms import gather_sum, group_terms, window_terms


def test_ramp_average_is_the_mean_of_a_linear_ramp() -> None:
    online, ramp = np.array(2026.0), np.array(2.0)
    a = np.array([2025.0, 2026.0, 2027.0, 2028.0])
    got = ramp_average(online, ramp, a, a + 1)
    assert got == pytest.approx([0.0, 0.25, 0.75, 1.0])
    # a step (no ramp) half-way through a period gives half of it
    step = ramp_average(np.array(2026.5), np.array(0.0), a, a + 1)
    assert step == pytest.approx([0.0, 0.5, 1.0, 1.0])


def test_round_half_up() -> None:
    assert round_half_up(np.array([0.5, 1.5, 2.49, -0.5])).tolist() == [1, 2, 2, 0]


def test_group_terms_pads_and_skips_negative_groups() -> None:
    out = group_terms(np.array([1, -1, 0, 1, 1]), 3)
    assert out.tolist() == [[2, -1, -1], [0, 3, 4], [-1, -1, -1]]


def test_window_terms() -> None:
    mem, lag = window_terms(np.array([0, 2]), np.array([2, 3]))
    assert mem.tolist() == [0, 0, 1, 1, 1]
    assert lag.tolist() == [0, 1, 2, 3, 4]


def test_gather_sum_drops_out_of_range_and_masked_terms() -> None:
    m = Model()
    x = m.add_variables(
        lower=0,
        coords=[pd.RangeIndex(2, name="r"), pd.RangeIndex(3, name="t")],
        name="x",
        mask=np.array([[True, True, True], [True, False, True]]),
    )
    y = m.add_variables(lower=0, coords=[pd.RangeIndex(3, name="t")], name="y")
    t = np.arange(3)
    # out[t] = 2 x[0, t-1] + 3 x[1, t] - y[t]
    expr = gather_sum(
        m,
        [
            (
                x,
                np.array([0, 1])[None, :],
                t[:, None] - np.array([1, 0])[None, :],
                np.array([2.0, 3.0]),
            ),
            (y, 0, t[:, None], -1.0),
        ],
        ("t",),
        {"t": pd.RangeIndex(3, name="t")},
    )
    lab = x.labels.values
    vars_ = expr.vars.values
    coeffs = expr.coeffs.values
    assert vars_[0].tolist() == [-1, lab[1, 0], y.labels.values[0]]
    assert vars_[1].tolist() == [lab[0, 0], -1, y.labels.values[1]]  # x[1, 1] is masked
    assert coeffs[2].tolist() == [2.0, 3.0, -1.0]
