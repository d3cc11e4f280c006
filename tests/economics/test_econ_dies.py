"""Dies per wafer: published worked values, an independent brute force, and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fabnet.economics import die_grid_layout, dies_per_wafer_exact, gross_dies_per_wafer

# domain-data.md §7, "Worked gross-die counts on 300 mm": (die area mm², no edge exclusion,
# 3 mm edge exclusion). The published counts are rounded to the nearest die. The "about
# 104 mm²" A17 Pro is 103.8 mm² (TechInsights); 616 and 590 are its counts at that area.
PUBLISHED_300MM = [
    (814.0, 63, 61),  # Nvidia H100
    (858.0, 60, 57),  # reticle limit 26 x 33 mm
    (800.0, 65, 62),  # Blackwell die
    (421.0, 135, None),  # Meta MTIA v2
    (103.8, 616, 590),  # Apple A17 Pro
]


@pytest.mark.parametrize(("area", "no_ee", "ee3"), PUBLISHED_300MM)
def test_gross_dies_match_published_worked_counts(area: float, no_ee: int, ee3: int | None) -> None:
    assert gross_dies_per_wafer(area, edge_exclusion_mm=0.0, rounding="nearest") == no_ee
    if ee3 is not None:
        assert gross_dies_per_wafer(area, edge_exclusion_mm=3.0, rounding="nearest") == ee3


def test_gross_dies_hennessy_patterson_example() -> None:
    # Hennessy & Patterson, Computer Architecture (5th ed.), §1.6 example: 300 mm wafer,
    # no edge exclusion: 1.5 cm square die -> 270 dies, 1.0 cm square die -> 640 dies.
    counts = gross_dies_per_wafer([225.0, 100.0], edge_exclusion_mm=0.0, rounding="nearest")
    np.testing.assert_array_equal(counts, [270.0, 640.0])


def test_gross_dies_floor_is_the_whole_dies_below_the_formula() -> None:
    # H100 with 3 mm edge exclusion: the formula gives 60.51 -> 60 whole dies (61 rounded).
    assert gross_dies_per_wafer(814.0) == 60.0
    raw = np.pi * 147.0**2 / 814.0 - np.pi * 294.0 / math.sqrt(2 * 814.0)
    assert raw == pytest.approx(60.5076, abs=1e-4)


def test_gross_dies_scribe_grows_the_die() -> None:
    side, scribe = math.sqrt(600.0), 0.1
    assert gross_dies_per_wafer(600.0, scribe_mm=scribe) == gross_dies_per_wafer(
        (side + scribe) ** 2
    )
    assert gross_dies_per_wafer(600.0, scribe_mm=scribe) < gross_dies_per_wafer(90.0)


def test_gross_dies_vectorised_and_scalar_types() -> None:
    scalar = gross_dies_per_wafer(814.0)
    assert isinstance(scalar, float)
    arr = gross_dies_per_wafer(np.array([[814.0], [100.0]]), wafer_diameter_mm=[200.0, 300.0])
    assert isinstance(arr, np.ndarray)
    assert arr.shape == (2, 2)
    assert arr[0, 1] == scalar


def test_gross_dies_zero_when_die_larger_than_wafer() -> None:
    assert gross_dies_per_wafer(300.0**2) == 0.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"die_area_mm2": 0.0},
        {"die_area_mm2": -5.0},
        {"die_area_mm2": float("nan")},
        {"die_area_mm2": 100.0, "edge_exclusion_mm": 150.0},
        {"die_area_mm2": 100.0, "edge_exclusion_mm": -1.0},
        {"die_area_mm2": 100.0, "scribe_mm": -0.1},
        {"die_area_mm2": 100.0, "wafer_diameter_mm": 0.0},
    ],
)
def test_gross_dies_rejects_bad_arguments(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        gross_dies_per_wafer(**kwargs)


# --- exact grid count -------------------------------------------------------------------


def brute_force_count(
    w: float, h: float, diameter: float, edge: float, scribe: float, ox: float, oy: float
) -> int:
    """Count dies of a grid (lower-left corners at ox + i*px, oy + j*py) inside the circle,
    by checking the four corners of every candidate die: independent of the library."""
    r = diameter / 2 - edge
    px, py = w + scribe, h + scribe
    n = 0
    span_i = int(r / px) + 2
    span_j = int(r / py) + 2
    for i in range(-span_i, span_i + 1):
        for j in range(-span_j, span_j + 1):
            x, y = ox + i * px, oy + j * py
            corners = ((x, y), (x + w, y), (x, y + h), (x + w, y + h))
            if all(cx * cx + cy * cy <= r * r * (1 + 1e-12) for cx, cy in corners):
                n += 1
    return n


def standard_offsets(size: float, scribe: float) -> list[float]:
    """Die centred on the axis, and scribe street centred on the axis."""
    return [-size / 2, scribe / 2]


@pytest.mark.parametrize(
    ("w", "h", "diameter", "edge", "scribe"),
    [
        (10.0, 10.0, 300.0, 3.0, 0.0),
        (26.0, 33.0, 300.0, 3.0, 0.0),
        (28.53, 28.53, 300.0, 3.0, 0.08),
        (5.0, 7.0, 200.0, 5.0, 0.1),
        (12.0, 3.0, 150.0, 2.0, 0.05),
    ],
)
def test_exact_count_standard_offsets_equals_brute_force(
    w: float, h: float, diameter: float, edge: float, scribe: float
) -> None:
    expected = max(
        brute_force_count(w, h, diameter, edge, scribe, ox, oy)
        for ox in standard_offsets(w, scribe)
        for oy in standard_offsets(h, scribe)
    )
    got = dies_per_wafer_exact(w, h, diameter, edge, scribe, search="standard")
    assert got == expected


@pytest.mark.parametrize(
    ("w", "h", "diameter", "edge", "scribe"),
    [
        (10.0, 10.0, 300.0, 3.0, 0.0),
        (26.0, 33.0, 300.0, 3.0, 0.0),
        (7.3, 4.1, 200.0, 3.0, 0.1),
    ],
)
def test_exact_count_fine_search_beats_a_brute_force_offset_grid(
    w: float, h: float, diameter: float, edge: float, scribe: float
) -> None:
    n = 12
    grid_best = max(
        brute_force_count(w, h, diameter, edge, scribe, (w + scribe) * a / n, (h + scribe) * b / n)
        for a in range(n)
        for b in range(n)
    )
    got = dies_per_wafer_exact(w, h, diameter, edge, scribe)
    r = diameter / 2 - edge
    assert grid_best <= got <= math.floor(math.pi * r * r / (w * h))


def test_exact_count_10mm_die_on_300mm_wafer() -> None:
    # 10 x 10 mm die, 300 mm wafer, 3 mm edge exclusion, no scribe: 621 dies with a die or a
    # street centred (the usual calculator layouts), 626 with the best offset; both checked
    # by brute force above. The textbook formula gives 613.
    assert dies_per_wafer_exact(10.0, 10.0, search="standard") == 621.0
    assert dies_per_wafer_exact(10.0, 10.0) == 626.0
    assert gross_dies_per_wafer(100.0) == 613.0


def test_layout_is_a_valid_grid_inside_the_circle() -> None:
    layout = die_grid_layout(7.3, 4.1, 200.0, 3.0, 0.1)
    corners = layout.corners_mm
    assert corners.shape == (layout.count, 2)
    assert layout.count == dies_per_wafer_exact(7.3, 4.1, 200.0, 3.0, 0.1)
    r = layout.usable_radius_mm
    for dx in (0.0, layout.die_width_mm):
        for dy in (0.0, layout.die_height_mm):
            assert np.all(np.hypot(corners[:, 0] + dx, corners[:, 1] + dy) <= r * (1 + 1e-9))
    # On the grid, so no two dies overlap: distinct integer grid indices.
    i = (corners[:, 0] - layout.offset_x_mm) / layout.pitch_x_mm
    j = (corners[:, 1] - layout.offset_y_mm) / layout.pitch_y_mm
    np.testing.assert_allclose(i, np.round(i), atol=1e-9)
    np.testing.assert_allclose(j, np.round(j), atol=1e-9)
    assert len(set(zip(np.round(i).astype(int), np.round(j).astype(int), strict=True))) == len(i)


def test_exact_count_vectorised_and_edge_cases() -> None:
    counts = dies_per_wafer_exact([10.0, 26.0, 400.0], [10.0, 33.0, 1.0])
    assert isinstance(counts, np.ndarray)
    np.testing.assert_array_equal(counts, [626.0, 64.0, 0.0])
    # A die that just fits the usable circle (its diagonal equals the usable diameter).
    side = 294.0 / math.sqrt(2.0)
    assert dies_per_wafer_exact(side, side) == 1.0
    assert dies_per_wafer_exact(side * 1.001, side) == 0.0
    with pytest.raises(ValueError, match="die_width_mm"):
        dies_per_wafer_exact(0.0, 1.0)
    with pytest.raises(ValueError, match="search"):
        dies_per_wafer_exact(1.0, 1.0, search="best")  # type: ignore[arg-type]


def test_exact_count_small_die_is_fast_enough_and_near_area_bound() -> None:
    # 1 x 1 mm on 300 mm (3 mm EE): within 1 % of the area bound pi * 147**2 = 67886.
    count = dies_per_wafer_exact(1.0, 1.0)
    assert 0.99 * math.pi * 147.0**2 <= count <= math.pi * 147.0**2


# --- properties ---------------------------------------------------------------------------

areas = st.floats(min_value=1.0, max_value=3000.0)
sides = st.floats(min_value=2.0, max_value=60.0)
growth = st.floats(min_value=1.0, max_value=1.5)


@given(a=areas, k=growth, edge=st.floats(0.0, 5.0), scribe=st.floats(0.0, 0.2))
def test_gross_dies_never_increase_with_die_area(
    a: float, k: float, edge: float, scribe: float
) -> None:
    small = gross_dies_per_wafer(a, edge_exclusion_mm=edge, scribe_mm=scribe)
    large = gross_dies_per_wafer(a * k, edge_exclusion_mm=edge, scribe_mm=scribe)
    assert large <= small
    assert small >= 0


@settings(max_examples=60, deadline=None, derandomize=True)
@given(w=sides, h=sides, kw=growth, kh=growth, scribe=st.sampled_from([0.0, 0.1]))
def test_exact_dies_never_increase_with_die_size(
    w: float, h: float, kw: float, kh: float, scribe: float
) -> None:
    # Provable for the standard offsets (every row's count is monotone in w and h);
    # the fine search is checked on the same property.
    for search in ("standard", "fine"):
        small = dies_per_wafer_exact(w, h, scribe_mm=scribe, search=search)
        large = dies_per_wafer_exact(w * kw, h * kh, scribe_mm=scribe, search=search)
        assert large <= small
    assert dies_per_wafer_exact(w, h, scribe_mm=scribe) >= dies_per_wafer_exact(
        w, h, scribe_mm=scribe, search="standard"
    )
