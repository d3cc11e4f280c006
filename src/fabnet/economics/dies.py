"""Dies per wafer: the textbook gross-die formula and an exact grid count.

Two estimates of how many whole dies a wafer carries:

* :func:`gross_dies_per_wafer` — the closed-form approximation used in textbooks
  (Hennessy & Patterson, *Computer Architecture*, ch. 1): the usable wafer area
  divided by the die area, minus the dies lost along the circumference.
* :func:`dies_per_wafer_exact` — the number of whole rectangular dies on a
  stepper grid that fit inside the usable circle, maximised over grid offsets.
  :func:`die_grid_layout` returns the best layout itself (die corners), e.g. for
  a wafer map.

Lengths are in millimetres, areas in mm². The usable circle has diameter
``wafer_diameter_mm - 2 * edge_exclusion_mm``; dies sit on a grid of pitch
``die + scribe_mm`` (the scribe line, or street, runs between dies).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from fabnet.economics._array import ArrayLikeFloat, FloatOrArray, as_float_array, check, out

__all__ = [
    "DieGridLayout",
    "die_grid_layout",
    "dies_per_wafer_exact",
    "gross_dies_per_wafer",
]

#: Relative tolerance (in units of the die pitch) for a die edge that touches the usable circle.
_EPS = 1e-9
#: Work bound of the fine offset search (array cells per orientation).
_MAX_CELLS = 2_000_000


def _usable_diameter_mm(
    wafer_diameter_mm: npt.NDArray[np.float64], edge_exclusion_mm: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    check(wafer_diameter_mm > 0, "wafer_diameter_mm", "positive")
    check(edge_exclusion_mm >= 0, "edge_exclusion_mm", "zero or positive")
    usable = wafer_diameter_mm - 2.0 * edge_exclusion_mm
    check(usable > 0, "edge_exclusion_mm", "less than half the wafer diameter")
    return usable


def gross_dies_per_wafer(
    die_area_mm2: ArrayLikeFloat,
    wafer_diameter_mm: ArrayLikeFloat = 300.0,
    edge_exclusion_mm: ArrayLikeFloat = 3.0,
    scribe_mm: ArrayLikeFloat = 0.0,
    rounding: Literal["floor", "nearest"] = "floor",
) -> FloatOrArray:
    """Gross dies per wafer by the textbook formula, as a whole number of dies.

    Formula (Hennessy & Patterson; see domain-data.md §7)::

        DPW = pi * (d / 2)**2 / A  -  pi * d / sqrt(2 * A)

    with ``d = wafer_diameter_mm - 2 * edge_exclusion_mm`` the usable diameter and
    ``A = (sqrt(die_area_mm2) + scribe_mm)**2`` the die area grown by the scribe line
    (a square die of the same area is assumed). The result is clipped at zero and
    floored to whole dies (``rounding="floor"``, the default: a partial die is no die),
    or rounded to the nearest whole die (``rounding="nearest"``, as many published
    worked examples do). Accepts scalars or arrays (broadcast); returns a float or an
    array of floats.
    """
    area = as_float_array(die_area_mm2, "die_area_mm2")
    diameter = as_float_array(wafer_diameter_mm, "wafer_diameter_mm")
    edge = as_float_array(edge_exclusion_mm, "edge_exclusion_mm")
    scribe = as_float_array(scribe_mm, "scribe_mm")
    check(area > 0, "die_area_mm2", "positive")
    check(scribe >= 0, "scribe_mm", "zero or positive")
    d = _usable_diameter_mm(diameter, edge)
    area_eff = (np.sqrt(area) + scribe) ** 2
    dpw = np.pi * (d / 2.0) ** 2 / area_eff - np.pi * d / np.sqrt(2.0 * area_eff)
    dpw = np.maximum(dpw, 0.0)
    if rounding == "floor":
        return out(np.floor(dpw + _EPS))
    if rounding == "nearest":
        return out(np.floor(dpw + 0.5))
    raise ValueError(f"rounding must be 'floor' or 'nearest', got {rounding!r}")


@dataclass(frozen=True)
class DieGridLayout:
    """The best grid of whole dies on a wafer found by :func:`die_grid_layout`.

    Coordinates are in mm with the wafer centre at the origin. A die occupies
    ``[x, x + die_width_mm] x [y, y + die_height_mm]`` for each row ``(x, y)`` of
    ``corners_mm``; grid lines are at ``offset_x_mm + i * pitch_x_mm`` and
    ``offset_y_mm + j * pitch_y_mm`` (pitch = die + scribe).
    """

    count: int
    die_width_mm: float
    die_height_mm: float
    pitch_x_mm: float
    pitch_y_mm: float
    usable_radius_mm: float
    offset_x_mm: float
    offset_y_mm: float
    corners_mm: npt.NDArray[np.float64]
    """Lower-left corner ``(x, y)`` of every die, shape (count, 2); empty when not asked for."""


def _standard_offsets_mm(size_mm: float, pitch_mm: float) -> npt.NDArray[np.float64]:
    """Grid offsets (mod pitch) that centre a die, or a scribe street, on the wafer axis."""
    scribe_mm = pitch_mm - size_mm
    offsets: npt.NDArray[np.float64] = np.mod(np.array([-size_mm / 2.0, scribe_mm / 2.0]), pitch_mm)
    return offsets


def _rows(
    height_mm: float, pitch_y_mm: float, radius_mm: float, offsets_y_mm: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """Row bottoms, validity and half-width of the usable chord for each row, per y offset.

    A row of dies spanning ``[y, y + h]`` fits in the circle of radius R between
    ``x = -c`` and ``x = c`` with ``c = sqrt(R**2 - max(|y|, |y + h|)**2)``: the circle is
    convex, so a rectangle is inside it when its four corners are.
    Returns arrays of shape (K, J): K offsets, J the most rows any offset has.
    """
    j_min = np.ceil((-radius_mm - offsets_y_mm) / pitch_y_mm - _EPS)
    j_max = np.floor((radius_mm - height_mm - offsets_y_mm) / pitch_y_mm + _EPS)
    n_rows = int(max(np.max(j_max - j_min + 1.0), 0.0))
    j = j_min[:, None] + np.arange(n_rows)[None, :]
    valid = j <= j_max[:, None]
    bottom = offsets_y_mm[:, None] + j * pitch_y_mm
    y_far = np.maximum(np.abs(bottom), np.abs(bottom + height_mm))
    half_chord = np.sqrt(np.clip(radius_mm**2 - y_far**2, 0.0, None))
    return bottom, valid, half_chord


def _per_row_range(
    half_chord: npt.NDArray[np.float64],
    width_mm: float,
    pitch_x_mm: float,
    offset_x_mm: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """First and last die index i with ``[ox + i p, ox + i p + w]`` inside ``[-c, c]``."""
    i_first = np.ceil((-half_chord - offset_x_mm) / pitch_x_mm - _EPS)
    i_last = np.floor((half_chord - width_mm - offset_x_mm) / pitch_x_mm + _EPS)
    return i_first, i_last


def _best_grid(
    width_mm: float,
    height_mm: float,
    pitch_x_mm: float,
    pitch_y_mm: float,
    radius_mm: float,
    n_offsets: int,
    search: Literal["standard", "fine"],
) -> tuple[int, float, float]:
    """Best (count, offset_x, offset_y) with rows along x.

    y offsets: the two standard ones, plus ``n_offsets`` evenly spaced over one pitch for
    ``search="fine"``. x offsets: the two standard ones, plus, for ``search="fine"``, every
    offset that puts a die's left edge on some row's chord end — the count of a row only
    rises at such offsets, so these include the best x offset for each y offset.
    """
    oy = _standard_offsets_mm(height_mm, pitch_y_mm)
    if search == "fine":
        oy = np.concatenate([oy, np.arange(n_offsets) * (pitch_y_mm / n_offsets)])
    bottom, valid, half_chord = _rows(height_mm, pitch_y_mm, radius_mm, oy)
    if bottom.shape[1] == 0:
        return 0, float(oy[0]), float(oy[0])
    ox_std = np.broadcast_to(_standard_offsets_mm(width_mm, pitch_x_mm), (oy.size, 2))
    if search == "fine":
        ends = np.where(valid, np.mod(-half_chord, pitch_x_mm), ox_std[:, :1])
        # Bound the (offsets y x offsets x x rows) work for tiny dies, where every extra
        # candidate gains at most a die or two out of tens of thousands.
        max_candidates = max(16, _MAX_CELLS // (oy.size * ends.shape[1]))
        if ends.shape[1] > max_candidates:
            grid = np.arange(max_candidates) * (pitch_x_mm / max_candidates)
            ends = np.broadcast_to(grid, (oy.size, max_candidates))
        ox = np.concatenate([ox_std, ends], axis=1)
    else:
        ox = np.array(ox_std)
    first, last = _per_row_range(half_chord[:, None, :], width_mm, pitch_x_mm, ox[:, :, None])
    per_row = np.where(valid[:, None, :], np.maximum(last - first + 1.0, 0.0), 0.0)
    counts = per_row.sum(axis=2)  # (K offsets y, C offsets x)
    k, c = np.unravel_index(int(np.argmax(counts)), counts.shape)
    return int(counts[k, c]), float(ox[k, c]), float(oy[k])


def _layout_one(
    width_mm: float,
    height_mm: float,
    wafer_diameter_mm: float,
    edge_exclusion_mm: float,
    scribe_mm: float,
    n_offsets: int,
    search: Literal["standard", "fine"],
    with_corners: bool,
) -> DieGridLayout:
    radius = (wafer_diameter_mm - 2.0 * edge_exclusion_mm) / 2.0  # validated by the callers
    px, py = width_mm + scribe_mm, height_mm + scribe_mm
    # Optimise exactly along x for sampled y offsets, and along y for sampled x offsets
    # (the same search on the transposed wafer); keep the better.
    n_a, ox_a, oy_a = _best_grid(width_mm, height_mm, px, py, radius, n_offsets, search)
    n_b, oy_b, ox_b = _best_grid(height_mm, width_mm, py, px, radius, n_offsets, search)
    count, ox, oy = (n_a, ox_a, oy_a) if n_a >= n_b else (n_b, ox_b, oy_b)
    corners = np.empty((0, 2), dtype=np.float64)
    if with_corners and count > 0:
        bottom, valid, half_chord = _rows(height_mm, py, radius, np.array([oy]))
        first, last = _per_row_range(half_chord[0], width_mm, px, np.array(ox))
        n_per_row = np.where(valid[0], np.maximum(last - first + 1.0, 0.0), 0.0).astype(np.int64)
        row = np.repeat(np.arange(n_per_row.size), n_per_row)
        start = np.cumsum(n_per_row) - n_per_row
        i = first[row] + (np.arange(row.size) - start[row])
        corners = np.column_stack([ox + i * px, bottom[0][row]])
    assert not with_corners or corners.shape[0] == count
    return DieGridLayout(
        count=count,
        die_width_mm=width_mm,
        die_height_mm=height_mm,
        pitch_x_mm=px,
        pitch_y_mm=py,
        usable_radius_mm=radius,
        offset_x_mm=ox,
        offset_y_mm=oy,
        corners_mm=corners,
    )


def _grid_inputs(
    die_width_mm: ArrayLikeFloat,
    die_height_mm: ArrayLikeFloat,
    wafer_diameter_mm: ArrayLikeFloat,
    edge_exclusion_mm: ArrayLikeFloat,
    scribe_mm: ArrayLikeFloat,
    n_offsets: int,
    search: str,
) -> list[npt.NDArray[np.float64]]:
    """Checked and broadcast grid inputs: width, height, diameter, edge exclusion, scribe (mm)."""
    if search not in ("standard", "fine"):
        raise ValueError(f"search must be 'standard' or 'fine', got {search!r}")
    if n_offsets < 1:
        raise ValueError("n_offsets must be at least 1")
    w, h, diameter, edge, scribe = np.broadcast_arrays(
        as_float_array(die_width_mm, "die_width_mm"),
        as_float_array(die_height_mm, "die_height_mm"),
        as_float_array(wafer_diameter_mm, "wafer_diameter_mm"),
        as_float_array(edge_exclusion_mm, "edge_exclusion_mm"),
        as_float_array(scribe_mm, "scribe_mm"),
    )
    check(w > 0, "die_width_mm", "positive")
    check(h > 0, "die_height_mm", "positive")
    check(scribe >= 0, "scribe_mm", "zero or positive")
    _usable_diameter_mm(diameter, edge)
    return [w, h, diameter, edge, scribe]


def die_grid_layout(
    die_width_mm: float,
    die_height_mm: float,
    wafer_diameter_mm: float = 300.0,
    edge_exclusion_mm: float = 3.0,
    scribe_mm: float = 0.0,
    *,
    n_offsets: int = 64,
    search: Literal["standard", "fine"] = "fine",
) -> DieGridLayout:
    """The grid of whole dies with the most dies inside the usable circle (one die size).

    See :func:`dies_per_wafer_exact` for the method; this returns the layout itself.
    """
    w, h, diameter, edge, scribe = _grid_inputs(
        die_width_mm,
        die_height_mm,
        wafer_diameter_mm,
        edge_exclusion_mm,
        scribe_mm,
        n_offsets,
        search,
    )
    return _layout_one(
        float(w),
        float(h),
        float(diameter),
        float(edge),
        float(scribe),
        n_offsets,
        search,
        with_corners=True,
    )


def dies_per_wafer_exact(
    die_width_mm: ArrayLikeFloat,
    die_height_mm: ArrayLikeFloat,
    wafer_diameter_mm: ArrayLikeFloat = 300.0,
    edge_exclusion_mm: ArrayLikeFloat = 3.0,
    scribe_mm: ArrayLikeFloat = 0.0,
    *,
    n_offsets: int = 64,
    search: Literal["standard", "fine"] = "fine",
) -> FloatOrArray:
    """Exact count of whole rectangular dies on a grid inside the usable wafer circle.

    Dies of ``die_width_mm x die_height_mm`` sit on a grid of pitch ``die + scribe_mm``;
    a die counts when it lies wholly inside the circle of diameter
    ``wafer_diameter_mm - 2 * edge_exclusion_mm`` (its corners inside; touching counts).
    The count is maximised over grid offsets:

    * ``search="standard"``: the four usual placements — a die, or a scribe street,
      centred on each wafer axis;
    * ``search="fine"`` (default): those, plus ``n_offsets`` offsets over one pitch on
      one axis with the exactly best offset on the other axis (a row's count changes only
      where a die edge meets the chord), done both ways round.

    This is what die-per-wafer calculators compute (cf. the ``Die Per Wafer`` tools cited in
    domain-data.md §7); it is at least the standard-offset count and never above the area
    bound ``pi R**2 / (w h)``. Vectorised with numpy per die size; inputs broadcast, and the
    result is a float (a whole number) or an array of them.
    """
    w, h, diameter, edge, scribe = _grid_inputs(
        die_width_mm,
        die_height_mm,
        wafer_diameter_mm,
        edge_exclusion_mm,
        scribe_mm,
        n_offsets,
        search,
    )
    result = np.empty(w.shape, dtype=np.float64)
    for idx in np.ndindex(w.shape):
        result[idx] = _layout_one(
            float(w[idx]),
            float(h[idx]),
            float(diameter[idx]),
            float(edge[idx]),
            float(scribe[idx]),
            n_offsets,
            search,
            with_corners=False,
        ).count
    return out(result)
