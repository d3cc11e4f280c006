"""Die yield models: the share of dies with no killer defect, given defect density and area.

All models take the die area in mm² and the defect density D0 in defects per cm²,
and use ``x = D0 * A`` with ``A = die_area_mm2 / 100`` in cm². Formulas as in
domain-data.md §7 (sources: pandala.in "Yield prediction models";
chipfoundryservices.com "negative binomial yield model"):

=================  ==================================  =====================================
model              yield                               defect density assumption
=================  ==================================  =====================================
Poisson            exp(-x)                             uniform, random defects
Murphy (1964)      ((1 - exp(-x)) / x)**2              triangular spread of D0
Seeds              1 / (1 + x)                         exponential spread of D0
negative binomial  (1 + x / alpha)**(-alpha)           gamma spread of D0 (clustering alpha)
=================  ==================================  =====================================

The negative binomial tends to Poisson as alpha -> inf and equals Seeds at alpha = 1.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from fabnet.economics._array import ArrayLikeFloat, FloatOrArray, as_float_array, check, out
from fabnet.scenario.schema import YieldModel  # the one list of yield models

__all__ = [
    "YieldModel",
    "die_yield",
    "yield_murphy",
    "yield_negative_binomial",
    "yield_poisson",
    "yield_seeds",
]


#: mm² per cm².
_MM2_PER_CM2 = 100.0


def _defects_per_die(
    die_area_mm2: ArrayLikeFloat, d0_per_cm2: ArrayLikeFloat
) -> npt.NDArray[np.float64]:
    """Mean killer defects per die, ``x = D0 [1/cm²] * A [mm²] / 100``."""
    area = as_float_array(die_area_mm2, "die_area_mm2")
    d0 = as_float_array(d0_per_cm2, "d0_per_cm2")
    check(area >= 0, "die_area_mm2", "zero or positive")
    check(d0 >= 0, "d0_per_cm2", "zero or positive")
    check(np.isfinite(area) & np.isfinite(d0), "die_area_mm2 and d0_per_cm2", "finite")
    x: npt.NDArray[np.float64] = d0 * (area / _MM2_PER_CM2)
    return x


def yield_poisson(die_area_mm2: ArrayLikeFloat, d0_per_cm2: ArrayLikeFloat) -> FloatOrArray:
    """Poisson yield ``Y = exp(-D0 * A)`` (A in cm²): random, uniformly spread defects.

    Source: the classic model (domain-data.md §7); it underestimates large-die yield.
    """
    return out(np.exp(-_defects_per_die(die_area_mm2, d0_per_cm2)))


def yield_murphy(die_area_mm2: ArrayLikeFloat, d0_per_cm2: ArrayLikeFloat) -> FloatOrArray:
    """Murphy yield ``Y = ((1 - exp(-D0 * A)) / (D0 * A))**2`` (A in cm²).

    Source: B. T. Murphy, Proc. IEEE 52 (1964), triangular spread of D0 (domain-data.md §7).
    The limit D0 * A -> 0 is 1, returned without a division by zero.
    """
    x = _defects_per_die(die_area_mm2, d0_per_cm2)
    ratio = np.ones_like(x)
    # -expm1(-x) = 1 - exp(-x), accurate for small x.
    np.divide(-np.expm1(-x), x, out=ratio, where=x > 0)
    return out(ratio**2)


def yield_seeds(die_area_mm2: ArrayLikeFloat, d0_per_cm2: ArrayLikeFloat) -> FloatOrArray:
    """Seeds yield ``Y = 1 / (1 + D0 * A)`` (A in cm²): exponential spread of D0.

    Source: R. B. Seeds (1967), as in domain-data.md §7.
    """
    return out(1.0 / (1.0 + _defects_per_die(die_area_mm2, d0_per_cm2)))


def yield_negative_binomial(
    die_area_mm2: ArrayLikeFloat, d0_per_cm2: ArrayLikeFloat, alpha: ArrayLikeFloat
) -> FloatOrArray:
    """Negative-binomial yield ``Y = (1 + D0 * A / alpha)**(-alpha)`` (A in cm²).

    Source: C. H. Stapper's clustered-defect model, the industry default (domain-data.md §7).
    ``alpha`` (> 0, dimensionless) measures clustering: small alpha = strong clustering;
    ``alpha = inf`` gives the Poisson yield, ``alpha = 1`` the Seeds yield. Computed as
    ``exp(-alpha * log1p(x / alpha))`` for accuracy at large alpha.
    """
    x = _defects_per_die(die_area_mm2, d0_per_cm2)
    a = as_float_array(alpha, "alpha")
    check(a > 0, "alpha", "positive")
    x, a = np.broadcast_arrays(x, a)
    finite = np.isfinite(a)
    safe_a = np.where(finite, a, 1.0)
    y = np.where(finite, np.exp(-safe_a * np.log1p(x / safe_a)), np.exp(-x))
    return out(y)


def die_yield(
    model: YieldModel | str,
    die_area_mm2: ArrayLikeFloat,
    d0_per_cm2: ArrayLikeFloat,
    alpha: ArrayLikeFloat | None = None,
) -> FloatOrArray:
    """Die yield by the model of that name (a :class:`YieldModel`; see the module docstring for the formulas).

    ``alpha`` is the negative-binomial clustering parameter, required for that model
    and ignored by the others.
    """
    if model == "poisson":
        return yield_poisson(die_area_mm2, d0_per_cm2)
    if model == "murphy":
        return yield_murphy(die_area_mm2, d0_per_cm2)
    if model == "seeds":
        return yield_seeds(die_area_mm2, d0_per_cm2)
    if model == "negative_binomial":
        if alpha is None:
            raise ValueError("the negative_binomial yield model needs alpha (clustering parameter)")
        return yield_negative_binomial(die_area_mm2, d0_per_cm2, alpha)
    raise ValueError(
        f"unknown yield model {model!r}; use poisson, murphy, seeds or negative_binomial"
    )
