"""Build linopy expressions straight from index arrays (fast, no Python loops).

linopy stores a linear expression as arrays ``vars`` and ``coeffs`` with a trailing
``_term`` dimension. Sums over an irregular set (the routes of a site, the vintages
in a fleet, the periods of a year) are easiest written as a gather: for each output
cell and term ``k``, take the variable at ``(rows[..., k], cols[..., k])`` with weight
``coeffs[..., k]``. Out-of-range or negative indices and masked variables are
dropped (label ``-1``), which is how linopy marks missing terms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
import xarray as xr
from linopy import LinearExpression, Model, Variable

from fabnet.plan.sets import F, I


def gather(
    model: Model,
    var: Variable,
    rows: npt.ArrayLike,
    cols: npt.ArrayLike,
    coeffs: npt.ArrayLike,
    dims: Sequence[str],
    coords: Mapping[str, Sequence[object] | pd.Index],
) -> LinearExpression:
    """``Σ_k coeffs[..., k] · var[rows[..., k], cols[..., k]]`` as an expression over ``dims``.

    ``var`` must be two-dimensional (for a one-dimensional variable pass ``rows`` of
    zeros after adding a leading axis with :func:`as_2d_labels`). ``rows``, ``cols``
    and ``coeffs`` broadcast to ``(*shape(dims), K)``.
    """
    labels = np.asarray(var.labels.values)
    if labels.ndim == 1:
        labels = labels[None, :]
    r, c, a = np.broadcast_arrays(np.asarray(rows), np.asarray(cols), np.asarray(coeffs, float))
    n_r, n_c = labels.shape
    ok = (r >= 0) & (r < n_r) & (c >= 0) & (c < n_c)
    if labels.size == 0:
        v = np.full(r.shape, -1, dtype=np.int64)
    else:
        v = np.where(ok, labels[np.clip(r, 0, n_r - 1), np.clip(c, 0, n_c - 1)], -1)
    v = np.where(a != 0, v, -1)
    a = np.where(v >= 0, a, 0.0)
    full_dims = (*dims, "_term")
    shape = v.shape[:-1]
    ds = xr.Dataset(
        {
            "coeffs": (full_dims, np.ascontiguousarray(a)),
            "vars": (full_dims, np.ascontiguousarray(v.astype(np.int64))),
            "const": (tuple(dims), np.zeros(shape)),
        },
        coords={d: coords[d] for d in dims},
    )
    return LinearExpression(ds, model)


def group_terms(groups: I, n_groups: int) -> I:
    """(G, K) member indices of each group, padded with -1 (K = largest group)."""
    groups = np.asarray(groups, dtype=np.int64)
    order = np.argsort(groups, kind="stable")
    counts = np.bincount(groups, minlength=n_groups) if groups.size else np.zeros(n_groups, int)
    K = max(1, int(counts.max()) if counts.size else 1)
    out = np.full((n_groups, K), -1, dtype=np.int64)
    if groups.size:
        sorted_groups = groups[order]
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        pos = np.arange(groups.size) - first[sorted_groups]
        out[sorted_groups, pos] = order
    return out


def window_terms(shift: I, life: I) -> tuple[I, I]:
    """Members and lags of a fleet window: source ``i`` arrives ``shift[i]`` periods after
    its decision and stays ``life[i]`` periods, so the fleet at ``t`` counts decisions
    at ``t - lag`` for ``lag`` in ``shift[i] .. shift[i] + life[i] - 1``.

    Returns flat arrays ``(member, lag)`` of equal length.
    """
    members = np.repeat(np.arange(len(shift)), life)
    start = np.repeat(np.cumsum(life) - life, life)
    lag = np.arange(int(np.sum(life))) - start + np.repeat(shift, life)
    return members.astype(np.int64), lag.astype(np.int64)


def take_padded(values: F, idx: I) -> F:
    """``values[idx]`` with 0 where ``idx`` is -1 (padding)."""
    out: F = np.where(idx >= 0, np.asarray(values)[np.clip(idx, 0, None)], 0.0)
    return out


def weighted_total(model: Model, var: Variable, coeffs: npt.ArrayLike) -> LinearExpression:
    """``Σ coeffs · var`` over every present cell, as a scalar expression (objective terms)."""
    labels = np.asarray(var.labels.values).ravel()
    a = np.broadcast_to(np.asarray(coeffs, dtype=float), var.labels.shape).ravel()
    keep = (labels >= 0) & (a != 0)
    ds = xr.Dataset(
        {
            "coeffs": (("_term",), np.ascontiguousarray(a[keep])),
            "vars": (("_term",), np.ascontiguousarray(labels[keep].astype(np.int64))),
            "const": ((), 0.0),
        }
    )
    return LinearExpression(ds, model)
