"""Scenario schema: loading, round trips, time series, overrides, JSON Schema."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fabnet.errors import ScenarioError
from fabnet.scenario import (
    Period,
    Scenario,
    builtin_names,
    dump_scenario,
    load_scenario,
    period_labels,
    period_midpoints,
    scenario_from_text,
    series_at,
)
from fabnet.scenario.io import builtin_text, parse_yaml


def test_builtins_load() -> None:
    assert "toy" in builtin_names()
    for name in builtin_names():
        s = load_scenario(name)
        assert s.name == name


def test_models_are_frozen() -> None:
    s = load_scenario("toy")
    with pytest.raises(ValueError, match="frozen"):
        s.name = "other"  # type: ignore[misc]


def test_series_interpolation() -> None:
    series = {2025: 100.0, 2027: 300.0}
    # a year's value sits at its middle; linear between; constant outside
    assert series_at(series, [2025.5])[0] == pytest.approx(100.0)
    assert series_at(series, [2026.5])[0] == pytest.approx(200.0)
    assert series_at(series, [2020.0, 2040.0]).tolist() == [100.0, 300.0]


def test_periods() -> None:
    s = load_scenario("toy")
    assert period_labels(s.horizon) == ["2025", "2026", "2027", "2028"]
    q = period_labels(s.horizon, Period.quarter)
    assert q[:2] == ["2025Q1", "2025Q2"] and len(q) == 16
    m = period_midpoints(s.horizon, Period.month)
    assert len(m) == 48 and m[0] == pytest.approx(2025 + 1 / 24)


def test_variant_and_override_apply() -> None:
    base = load_scenario("toy")
    assert base.policies.max_vendor_share == {}
    v = load_scenario("toy", variant="no-gpu")
    assert v.policies.max_vendor_share == {"gpuco": 0.1}
    o = load_scenario("toy", overrides=["sites.fab-b.status=existing", "discount_rate=0.05"])
    assert o.site("fab-b").status.value == "existing" and o.discount_rate == 0.05
    assert base.site("fab-b").status.value == "candidate"  # the base is untouched


def test_json_schema_has_units_in_descriptions() -> None:
    schema = Scenario.model_json_schema()
    site = schema["$defs"]["Site"]
    assert site["additionalProperties"] is False
    assert "Wafer starts per month" in site["properties"]["capacity_wspm"]["description"]


def test_builtin_round_trip() -> None:
    for name in builtin_names():
        s = load_scenario(name)
        assert scenario_from_text(dump_scenario(s)) == s


_money = st.floats(min_value=1.0, max_value=1e6, allow_nan=False)


@st.composite
def toy_variations(draw: st.DrawFn) -> dict[str, object]:
    """Valid scenarios: the toy network with random numbers, years and ids."""
    data = parse_yaml(builtin_text("toy"), "toy").data
    first = draw(st.integers(2020, 2030))
    last = first + draw(st.integers(0, 6))
    data["horizon"] = {
        "first_year": first,
        "last_year": last,
        "period": draw(st.sampled_from(["month", "quarter", "year"])),
    }
    years = st.integers(first, last)
    data["electricity_usd_per_kwh"] = {first: draw(st.floats(0, 1))}
    data["discount_rate"] = draw(st.floats(0, 0.5))
    for proc in data["processes"]:
        for key in ("wafer_price_usd", "stack_price_usd", "price_usd_per_wafer"):
            if key in proc:
                proc[key] = draw(st.dictionaries(years, _money, min_size=1, max_size=3))
        if "d0_per_cm2" in proc:
            proc["d0_per_cm2"] = draw(
                st.dictionaries(years, st.floats(0, 2), min_size=1, max_size=3)
            )
    for site in data["sites"]:
        site["capacity_wspm"] = draw(
            st.dictionaries(years, st.floats(0, 1e5), min_size=1, max_size=3)
        )
        site["reservable_share"] = draw(st.none() | st.floats(0, 1))
        if site.get("status") == "candidate":
            site["earliest_start_year"] = draw(years)
    data["products"][0]["die_area_mm2"] = draw(st.floats(1, 858))
    data["products"][0]["chiplets"] = draw(st.integers(1, 4))
    data["offers"][0]["price_usd"] = draw(st.dictionaries(years, _money, min_size=1, max_size=3))
    data["demand"]["compute"][0]["installed_pflops"] = draw(
        st.dictionaries(years, st.floats(0, 1e7), min_size=1, max_size=4)
    )
    return data


@settings(max_examples=60, deadline=None)
@given(toy_variations())
def test_yaml_model_yaml_round_trip(data: dict[str, object]) -> None:
    s = Scenario.model_validate(data)
    text = dump_scenario(s)
    again = scenario_from_text(text)
    assert again == s
    assert dump_scenario(again) == text


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(st.integers(2000, 2050), st.floats(-1e6, 1e6), min_size=1, max_size=6),
    st.lists(st.floats(1990, 2060), min_size=1, max_size=10),
)
def test_series_stays_within_given_values(series: dict[int, float], times: list[float]) -> None:
    v = series_at(series, np.array(times))
    lo, hi = min(series.values()), max(series.values())
    assert np.all(v >= lo - 1e-6 * (1 + abs(lo))) and np.all(v <= hi + 1e-6 * (1 + abs(hi)))


def test_json_schema_says_how_series_are_interpolated() -> None:
    description = Scenario.model_json_schema()["description"]
    assert "interpolated linearly" in description and "first or last value holds" in description


def test_python_built_scenario_is_cross_checked() -> None:
    """A scenario built in Python with a dangling process id fails when it is built, with the
    same message as from YAML, not later in the planner as a KeyError."""
    data = load_scenario("toy").model_dump()
    data["products"][0]["process_options"] = [{"process": "n33"}]
    with pytest.raises(ScenarioError) as info:
        Scenario.model_validate(data)
    (problem,) = info.value.problems
    assert problem.message == "unknown process 'n33'"
    assert problem.field == "products.acc.process_options[0].process"
    assert "did you mean 'n3'?" in problem.hint
