"""Number formats shared by the HTML reports, the web dashboard and the terminal tables.

One convention (docs/conventions.md §13): compute in PFLOP/s or EFLOP/s, the unit chosen
by :func:`compute_unit`; compute summed over years in ``PFLOP/s·yr``; money in ``USD``
with ``k``/``M``/``bn``/``tn`` (``694 bn USD``, never ``$694G``). No plotly here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from fabnet.plan.tables import vendor_order

__all__ = [
    "compute",
    "compute_unit",
    "money",
    "money_unit",
    "number",
    "percent",
    "sig3",
    "vendor_order",
]

#: Money scales, largest first: (USD per unit, suffix).
_MONEY_SCALES = ((1e12, "tn"), (1e9, "bn"), (1e6, "M"), (1e3, "k"))
#: Compute at or above this many PFLOP/s is shown in EFLOP/s.
_EFLOPS_FROM = 1000.0


def sig3(x: float) -> str:
    """About three significant digits, never in scientific notation, no trailing zeros:
    1,234 · 123 · 12.3 · 1.2 · 0.05."""
    a = abs(x)
    if a >= 100 or a == 0:
        return f"{x:,.0f}"
    text = f"{x:.1f}" if a >= 10 else f"{x:.2f}" if a >= 0.01 else f"{x:.2g}"
    return text.rstrip("0").rstrip(".") if "." in text and "e" not in text else text


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def money(usd: float | None) -> str:
    """USD in a short form: ``1.23 bn USD``, ``456 M USD``, ``12.3 k USD``, ``950 USD``."""
    if usd is None or not math.isfinite(usd):
        return "–"
    scale, unit = money_unit(abs(usd))
    return f"{sig3(usd / scale)} {unit}"


def money_unit(usd: float | None) -> tuple[float, str]:
    """(USD per shown unit, unit) for amounts up to ``usd``: ``(1e9, "bn USD")`` for billions.

    Charts divide their values by the scale and put the unit in the axis title, so axes
    read like the tables (``bn USD``), not in plotly's SI letters (``$120G``).
    """
    a = abs(usd) if _finite(usd) else 0.0  # type: ignore[arg-type]
    for scale, unit in _MONEY_SCALES:
        if a >= scale:
            return scale, f"{unit} USD"
    return 1.0, "USD"


def compute_unit(
    pflops: float | Iterable[float] | None, *, per_year: bool = False
) -> tuple[float, str]:
    """(PFLOP/s per shown unit, unit) for compute up to ``pflops`` (a number or the values of
    a column): EFLOP/s from 1,000 PFLOP/s, else PFLOP/s; ``per_year`` for a sum over years
    (``EFLOP/s·yr``)."""
    if pflops is None:
        values: list[float] = []
    elif isinstance(pflops, int | float):
        values = [float(pflops)]
    else:
        values = [float(v) for v in pflops]
    big = max((abs(v) for v in values if math.isfinite(v)), default=0.0)
    scale, unit = (1e3, "EFLOP/s") if big >= _EFLOPS_FROM else (1.0, "PFLOP/s")
    return scale, unit + ("·yr" if per_year else "")


def compute(pflops: float | None, *, per_year: bool = False, unit: bool = True) -> str:
    """Compute with its unit chosen by :func:`compute_unit`: ``50.4 EFLOP/s``, ``524 PFLOP/s``,
    ``12.0 PFLOP/s·yr`` (``per_year``: a sum over years)."""
    if pflops is None or not math.isfinite(pflops):
        return "–"
    scale, name = compute_unit(pflops, per_year=per_year)
    text = sig3(pflops / scale) if abs(pflops) > 1e-9 else "0"
    return f"{text} {name}" if unit else text


def number(x: float | None, unit: str = "") -> str:
    """A number with thousands separators and at most three significant decimals."""
    if x is None or not math.isfinite(x):
        return "–"
    a = abs(x)
    if a < 1e-6:
        text = "0"
    elif a >= 1e9:
        text = f"{x / 1e9:,.3g} bn"
    elif a >= 1e6:
        text = f"{x / 1e6:,.3g} M"
    elif a >= 100:
        text = f"{x:,.0f}"
    else:
        text = f"{x:,.3g}"
    return f"{text} {unit}".strip()


def percent(share: float | None) -> str:
    """A share 0..1 as a percentage."""
    if share is None or not math.isfinite(share):
        return "–"
    return f"{100 * share:.0f} %" if share == 0 or share >= 0.1 else f"{100 * share:.1f} %"
