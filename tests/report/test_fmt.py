"""The one set of unit formats (conventions §13) and the one vendor order."""

from __future__ import annotations

import math

import pytest

from fabnet.plan.tables import vendor_order
from fabnet.report.fmt import compute, compute_unit, money, money_unit, percent, sig3


@pytest.mark.parametrize(
    ("usd", "text"),
    [
        (694.2e9, "694 bn USD"),
        (1.75e12, "1.75 tn USD"),
        (30_000.0, "30 k USD"),
        (25_300.0, "25.3 k USD"),
        (-1.2e9, "-1.2 bn USD"),
        (950.0, "950 USD"),
        (0.0, "0 USD"),
        (math.nan, "–"),
        (None, "–"),
    ],
)
def test_money_reads_like_the_diagnosis_messages(usd: float | None, text: str) -> None:
    assert money(usd) == text
    assert "$" not in money(usd) and "G" not in money(usd)


def test_money_unit_scales_an_axis() -> None:
    assert money_unit(120e9) == (1e9, "bn USD")
    assert money_unit(4_260.0) == (1e3, "k USD")
    assert money_unit(12.0) == (1.0, "USD")
    assert money_unit(math.inf) == (1.0, "USD")


def test_compute_unit_is_chosen_once_by_the_largest_value() -> None:
    assert compute_unit([0.5, 999.0]) == (1.0, "PFLOP/s")
    assert compute_unit([0.5, 1000.0]) == (1e3, "EFLOP/s")
    assert compute_unit(50_350.0, per_year=True) == (1e3, "EFLOP/s·yr")
    assert compute_unit([math.nan]) == (1.0, "PFLOP/s")
    assert compute(50_350.0) == "50.4 EFLOP/s"
    assert compute(524.0) == "524 PFLOP/s"
    assert compute(85_927_571.0) == "85,928 EFLOP/s"  # never 8.59e+04
    assert compute(12.0, per_year=True) == "12 PFLOP/s·yr"
    assert compute(0.0) == "0 PFLOP/s" and compute(math.nan) == "–"


def test_sig3_and_percent() -> None:
    assert [sig3(x) for x in (1234.5, 123.4, 12.34, 1.234, 1.0, 0.05)] == [
        "1,234", "123", "12.3", "1.23", "1", "0.05",
    ]  # fmt: skip
    assert percent(0.81) == "81 %" and percent(0.05) == "5.0 %" and percent(None) == "–"


def test_vendor_order_puts_the_designer_first_then_names() -> None:
    assert vendor_order(["nvidia", "amd", "openai", "amd"], "openai") == ["openai", "amd", "nvidia"]
    assert vendor_order({"b": 1, "a": 2}) == ["a", "b"]  # no designer: by name
    assert vendor_order(["gpuco"], "acme") == ["gpuco"]  # a designer without shares
