"""A scenario planned over a shorter horizon: what lies outside it is a note, not an error."""

from __future__ import annotations

import numpy as np
import pytest

from fabnet.plan.sets import build_data
from fabnet.scenario import load_scenario
from fabnet.scenario.validate import horizon_notes


def test_later_first_year_loads_with_one_note() -> None:
    """openai-2024 from 2026: 100+ series points of 2024 and 2025 were errors; now one note."""
    s = load_scenario("openai-2024", overrides=["horizon.first_year=2026"])
    notes = horizon_notes(s)
    assert len(notes) == 1
    assert "series points lie outside the horizon 2026-2047" in notes[0]
    assert "electricity_usd_per_kwh (2024)" in notes[0]
    # the note reaches the plan's messages through the planner's data
    assert notes[0] in build_data(s).warnings


def test_points_before_the_horizon_still_set_the_first_values() -> None:
    """A wafer price of {2024: 20000, 2028: 16000} planned from 2026: the first period (the
    middle of 2026) takes the value halfway between the two points, 18000, so the 2024 point
    outside the horizon still counts."""
    full = load_scenario("openai-2024")
    short = load_scenario(
        "openai-2024",
        overrides=[
            "horizon.first_year=2026",
            "processes.tsmc-n3.wafer_price_usd={2024: 20000, 2028: 16000}",
        ],
    )
    d = build_data(short)
    r = next(i for i, rid in enumerate(d.route_ids) if rid.endswith("|tsmc-n3"))
    site = full.site(d.site_ids[d.route_site[r]])
    # mid-2026 lies halfway between the 2024 and 2028 points: 18000 × the site's factor
    assert d.route_cost_usd[r, 0] == pytest.approx(18000 * site.wafer_price_factor)
    assert d.labels[0] == "2026"


def test_earlier_last_year_notes_candidates_that_cannot_start() -> None:
    """openai-2024 to 2035: Yongin 5 and 6 may start only in 2037 and 2040; they are noted and
    have no start period, and the Rubin and demand points after 2035 are noted."""
    s = load_scenario("openai-2024", overrides=["horizon.last_year=2035"])
    notes = horizon_notes(s)
    assert any("samsung-yongin-5 (2037), samsung-yongin-6 (2040)" in n for n in notes)
    assert any("offers.nvidia-rubin.max_units_per_year (2040, 2047)" in n for n in notes)
    d = build_data(s)
    for cid in ("samsung-yongin-5", "samsung-yongin-6"):
        assert not d.cand_allowed[d.cand_ids.index(cid)].any()


def test_option_after_the_horizon_is_noted_and_unused() -> None:
    s = load_scenario(
        "toy",
        overrides=[
            "horizon.last_year=2026",
            "products.acc.process_options.0.available_from_year=2027",
        ],
    )
    notes = horizon_notes(s)
    assert any("acc on n3 (2027)" in n for n in notes)
    d = build_data(s)
    logic = d.route_kind == 0
    assert not d.route_available[logic].any()


def test_defaults_and_inside_points_give_no_note() -> None:
    s = load_scenario("toy")
    assert horizon_notes(s) == []
    assert np.all(
        build_data(s).year_list == list(range(s.horizon.first_year, s.horizon.last_year + 1))
    )


def test_d0_learning_keys_are_not_calendar_years() -> None:
    """``d0_learning`` is keyed by years since tape-out: never a point outside the horizon."""
    from fabnet.scenario import load_scenario
    from fabnet.scenario.validate import horizon_notes

    notes = horizon_notes(load_scenario("openai-2024"))
    assert not any("d0_learning" in n for n in notes), notes


def test_a_window_or_a_cap_outside_the_horizon_is_a_note_not_an_error() -> None:
    """Issue 7 §4: points outside the horizon are noted; a disruption window outside it
    samples nothing there; neither is an error."""
    from fabnet.scenario import load_scenario

    sc = load_scenario(
        "openai-2024",
        overrides=[
            "horizon.last_year=2030",
            "products.openai-xpu1.max_units_per_year={2029: 100000, 2035: 200000}",
        ],
    )
    assert sc.horizon.last_year == 2030
