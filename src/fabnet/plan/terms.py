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

#: One part of a sum: (variable, rows, cols, coeffs) as for :func:`gather`.
Part = tuple[Variable, npt.ArrayLike, npt.ArrayLike, npt.ArrayLike]


def _part_terms(
    var: Variable,
    rows: npt.ArrayLike,
    cols: npt.ArrayLike,
    coeffs: npt.ArrayLike,
    shape: tuple[int, ...],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    labels = np.asarray(var.labels.values)
    if labels.ndim == 1:
        labels = labels[None, :]
    r = np.asarray(rows, dtype=np.int64)
    c = np.asarray(cols, dtype=np.int64)
    a = np.asarray(coeffs, dtype=float)
    k = max(np.shape(r)[-1:] or (1,), np.shape(c)[-1:] or (1,), np.shape(a)[-1:] or (1,))[0]
    full = (*shape, k)
    n_r, n_c = labels.shape
    ok = (r >= 0) & (r < n_r) & (c >= 0) & (c < n_c)
    ok = np.broadcast_to(ok, full)
    a = np.broadcast_to(a, full)
    if labels.size == 0:
        return np.full(full, -1, dtype=np.int64), np.zeros(full)
    flat = np.broadcast_to(r * n_c + c, full)
    v = np.take(labels.ravel(), np.where(ok, flat, 0))
    v[~ok | (a == 0)] = -1
    return v, np.where(v >= 0, a, 0.0)


def gather_sum(
    model: Model,
    parts: Sequence[Part],
    dims: Sequence[str],
    coords: Mapping[str, Sequence[object] | pd.Index],
) -> LinearExpression:
    """Σ over ``parts`` of :func:`gather` terms, built as one expression (no xarray merges)."""
    shape = tuple(len(coords[d]) for d in dims)
    vs, as_ = zip(*(_part_terms(v, r, c, a, shape) for v, r, c, a in parts), strict=True)
    v = np.concatenate(vs, axis=-1) if len(vs) > 1 else vs[0]
    a = np.concatenate(as_, axis=-1) if len(as_) > 1 else as_[0]
    full_dims = (*dims, "_term")
    ds = xr.Dataset(
        {
            "coeffs": (full_dims, np.ascontiguousarray(a)),
            "vars": (full_dims, np.ascontiguousarray(v)),
            "const": (tuple(dims), np.zeros(shape)),
        },
        coords={d: coords[d] for d in dims},
    )
    return LinearExpression(ds, model)


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

    ``var`` is two-dimensional, or one-dimensional (then ``rows`` must be 0 and ``cols``
    indexes it). ``rows``, ``cols`` and ``coeffs`` broadcast to ``(*shape(dims), K)``;
    out-of-range indices, masked variables and zero coefficients are dropped.
    """
    return gather_sum(model, [(var, rows, cols, coeffs)], dims, coords)


def group_terms(groups: I, n_groups: int) -> I:
    """(G, K) member indices of each group, padded with -1 (K = largest group).

    Members with a negative group are left out.
    """
    groups = np.asarray(groups, dtype=np.int64)
    members = np.flatnonzero(groups >= 0)
    g = groups[members]
    order = np.argsort(g, kind="stable")
    counts = np.bincount(g, minlength=n_groups)[:n_groups]
    K = max(1, int(counts.max()) if counts.size else 1)
    out = np.full((n_groups, K), -1, dtype=np.int64)
    if g.size:
        sorted_groups = g[order]
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        pos = np.arange(g.size) - first[sorted_groups]
        out[sorted_groups, pos] = members[order]
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
