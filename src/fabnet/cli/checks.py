"""Checks of numeric CLI flags shared by every command: typer callbacks that refuse NaN,
infinities, negative numbers and values out of range before any work starts.

click parses ``nan`` and ``inf`` as floats, so ``--time-limit nan`` would otherwise reach the
solver. Each factory returns a callback for ``typer.Option(..., callback=...)``; a bad value
raises :class:`typer.BadParameter`, which click prints as ``Invalid value for '--gap': ...``
with the usage line and exit status 2 (no traceback). ``None`` (an unset optional flag)
always passes. The flag's name comes from the option itself; ``flag`` overrides it in the
message.

    gap: float = typer.Option(0.001, "--gap", callback=finite_nonnegative())
"""

from __future__ import annotations

import math
from collections.abc import Callable

import typer

#: Largest thread count a command accepts (``--threads``): far above any machine's cores, low
#: enough that a typo (``--threads 100000``) is refused before anything allocates per thread.
MAX_THREADS = 256
#: --stochastic N: each scenario copies the planner's LP (openai-2024: about 2,700 columns), so
#: 2,000 scenarios is a 5-million-column extensive form, already beyond a workstation's hours
MAX_SCENARIOS = 2_000
#: --samples / --oos-samples: risk evaluation holds a few numbers per sample and period
MAX_SAMPLES = 10_000_000
#: frontier --points: each point is one stochastic solve
MAX_POINTS = 101

#: A typer callback: (the option, its parsed value) -> the value.
Check = Callable[[typer.CallbackParam, float | None], float | None]


def _name(param: typer.CallbackParam, flag: str | None) -> str:
    if flag:
        return flag
    opts = sorted(param.opts, key=len)
    return opts[-1] if opts else str(param.name)


def _check(
    flag: str | None,
    ok: Callable[[float], bool],
    need: str,
    example: str,
) -> Check:
    def callback(param: typer.CallbackParam, value: float | None) -> float | None:
        if value is None:
            return value
        values = value if isinstance(value, list | tuple) else [value]
        for v in values:
            if isinstance(v, float) and not math.isfinite(v):
                raise typer.BadParameter(
                    f"{v} is not a finite number — give {need}, e.g. {example}",
                    param_hint=f"'{_name(param, flag)}'",
                )
            if not ok(float(v)):
                raise typer.BadParameter(
                    f"{v} is out of range — give {need}, e.g. {example}",
                    param_hint=f"'{_name(param, flag)}'",
                )
        return value

    return callback


def finite(flag: str | None = None, example: str = "1") -> Check:
    """Any finite number (no ``nan``, ``inf``)."""
    return _check(flag, lambda _v: True, "a finite number", example)


def finite_positive(flag: str | None = None, example: str = "60") -> Check:
    """A finite number above zero (a time limit, a rate, a number of days)."""
    return _check(flag, lambda v: v > 0, "a finite number above 0", example)


def finite_nonnegative(flag: str | None = None, example: str = "0") -> Check:
    """A finite number at or above zero (a gap, a cap, a warm-up)."""
    return _check(flag, lambda v: v >= 0, "a finite number at or above 0", example)


def fraction(flag: str | None = None, example: str = "0.5") -> Check:
    """A finite number in [0, 1] (a share, a weight)."""
    return _check(flag, lambda v: 0 <= v <= 1, "a fraction in [0, 1]", example)


def open_fraction(flag: str | None = None, example: str = "0.95") -> Check:
    """A finite number in (0, 1) (a CVaR level)."""
    return _check(flag, lambda v: 0 < v < 1, "a number strictly between 0 and 1", example)


def in_range(lo: float, hi: float, flag: str | None = None, example: str | None = None) -> Check:
    """A finite number in [lo, hi] (e.g. a count with a sensible upper bound)."""
    return _check(
        flag, lambda v: lo <= v <= hi, f"a number in [{lo:g}, {hi:g}]", example or f"{lo:g}"
    )
