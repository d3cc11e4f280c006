"""Small helpers shared by the economics functions: scalars in, float out; arrays in, arrays out."""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import numpy.typing as npt

#: What every economics function accepts: a number or anything numpy turns into an array.
ArrayLikeFloat: TypeAlias = npt.ArrayLike
#: What every economics function returns: a Python float for scalar inputs, else an array.
FloatOrArray: TypeAlias = float | npt.NDArray[np.float64]


def as_float_array(x: ArrayLikeFloat, name: str) -> npt.NDArray[np.float64]:
    """``x`` as a float64 array; raises ``ValueError`` naming ``name`` when it is not numeric."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a number or an array of numbers, got {x!r}") from exc
    if np.isnan(arr).any():
        raise ValueError(f"{name} must not be NaN")
    return arr


def check(condition: npt.NDArray[np.bool_] | bool, name: str, requirement: str) -> None:
    """Raise ``ValueError('<name> must be <requirement>')`` unless ``condition`` holds everywhere."""
    if not bool(np.all(condition)):
        raise ValueError(f"{name} must be {requirement}")


def out(x: npt.ArrayLike) -> FloatOrArray:
    """A Python float for a 0-d result, else the float64 array itself."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 0:
        return float(arr)
    return arr
