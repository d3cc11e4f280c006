"""Short number formats shared by the HTML report and the terminal tables (no plotly here)."""

from __future__ import annotations

import math

__all__ = ["money", "number", "percent"]


def money(usd: float | None) -> str:
    """USD in a short form: ``$1.23 bn``, ``$456 M``, ``$12.3 k``."""
    if usd is None or not math.isfinite(usd):
        return "–"
    a = abs(usd)
    for scale, unit in ((1e12, " tn"), (1e9, " bn"), (1e6, " M"), (1e3, " k")):
        if a >= scale:
            return f"${usd / scale:,.3g}{unit}"
    return f"${usd:,.0f}"


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
