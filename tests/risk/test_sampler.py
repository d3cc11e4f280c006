"""The disruption sampler: exact recovery curves, reproducible streams, sound statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fabnet.economics import die_yield
from fabnet.errors import ScenarioError
from fabnet.plan.sets import DAYS_PER_YEAR, build_data
from fabnet.risk.catalogue import LossCurve, PackedCurves
from fabnet.risk.effects import Effects
from fabnet.risk.sampler import Occurrence, Sampler
from fabnet.scenario import load_scenario, scenario_from_text
from fabnet.scenario.io import builtin_text
from fabnet.scenario.schema import Scenario

#: The Renesas Naka N3 fire (disruptions.md): nothing before the restart at day 29, ~50 % at
#: 6 weeks, 88 % at 73 days, 100 % at 98 days.
RENESAS = [(0.0, 0.0), (29.0, 0.0), (42.0, 0.5), (73.0, 0.88), (98.0, 1.0)]


def _toy(catalogue: str, period: str = "year", edit: tuple[str, str] | None = None) -> Scenario:
    text = builtin_text("toy").replace("period: year", f"period: {period}")
    if edit is not None:
        assert edit[0] in text
        text = text.replace(edit[0], edit[1], 1)
    return scenario_from_text(text.replace("variants:\n", catalogue + "variants:\n", 1), "toy")


def _sampler(scenario: Scenario, events: list[str] | None = None) -> Sampler:
    return Sampler(build_data(scenario), scenario, events)


FIRE = """disruptions:
  - id: fire
    kind: fire
    rate_per_year: 0.5
    hits: {sites: [fab-a]}
    capacity_loss: 1.0
    recovery: [[0, 0], [29, 0], [42, 0.5], [73, 0.88], [98, 1]]
"""


def _curve_average(points: list[tuple[float, float]], lo_days: float, hi_days: float) -> float:
    """Average over [lo, hi] days (lo >= 0) of a continuous piecewise-linear recovery curve
    (1 after its last point), by the trapezoid rule on every breakpoint: exact for it."""
    days = np.array([p[0] for p in points])
    share = np.array([p[1] for p in points])
    x = np.array(sorted({lo_days, hi_days, *[d for d in days if lo_days < d < hi_days]}))
    r = np.interp(x, days, share, right=1.0)
    return float(np.sum((r[:-1] + r[1:]) / 2 * np.diff(x)) / (hi_days - lo_days))


def test_renesas_curve_is_reproduced_exactly_as_a_monthly_capacity_series() -> None:
    s = _toy(FIRE, period="month")
    sampler = _sampler(s)
    data = sampler.data
    onset_month = 12 + 3  # April 2026, on a month boundary
    onset = 2026 + 3 / 12
    eff = sampler.effects_of([Occurrence(0, onset)])
    fab_a = data.site_ids.index("fab-a")
    row = eff.site_capacity[fab_a]
    month_days = DAYS_PER_YEAR / 12
    for t in range(data.n_periods):
        lo = (t - onset_month) * month_days
        want = 1.0 if t < onset_month else _curve_average(RENESAS, lo, lo + month_days)
        assert row[t] == pytest.approx(want, abs=1e-12), t
    # by hand: month 1 after the onset covers days 30.44-60.88 of the curve
    a, b = month_days, 2 * month_days
    by_hand = (
        (42 - a) * (0.5 * (a - 29) / 13 + 0.5) / 2  # 29 -> 42: 0 -> 0.5, from a
        + (b - 42) * (0.5 + (0.5 + 0.38 * (b - 42) / 31)) / 2  # 42 -> 73: 0.5 -> 0.88, to b
    ) / month_days
    assert row[onset_month + 1] == pytest.approx(by_hand, abs=1e-12)
    # by hand: the onset month covers days 0-30.44: nothing back before day 29, then the ramp
    r_a = 0.5 * (a - 29) / 13
    assert row[onset_month] == pytest.approx((a - 29) * r_a / 2 / month_days, abs=1e-12)
    assert np.all(row[onset_month + 4 :] == 1.0)  # 98 days < 4 months: fully back
    assert eff.first_period == onset_month
    others = np.delete(eff.site_capacity, fab_a, axis=0)
    assert np.all(others == 1.0)
    assert [h.event for h in eff.events] == ["fire"] and eff.events[0].targets == ("fab-a",)


def test_same_seed_and_index_give_identical_effects_in_any_order() -> None:
    s = load_scenario("openai-2024")
    data = build_data(s)
    first = Sampler(data, s)
    forward = [first.draw(11, i) for i in range(40)]
    second = Sampler(data, s)
    backward = [second.draw(11, i) for i in reversed(range(40))][::-1]
    interleaved = {i: second.draw(11, i) for i in (7, 3, 39, 0)}
    for i, (f, b) in enumerate(zip(forward, backward, strict=True)):
        _assert_same(f, b)
        if i in interleaved:
            _assert_same(f, interleaved[i])
    assert any(f.events for f in forward)
    # another seed gives other samples
    assert any(first.draw(12, i).events != forward[i].events for i in range(40))


def _assert_same(a: Effects, b: Effects) -> None:
    for name in ("site_capacity", "route_output", "offer_allocation", "compute_demand"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    np.testing.assert_array_equal(a.unit_demand, b.unit_demand)
    assert a.first_period == b.first_period and a.events == b.events


def test_poisson_occurrences_match_the_rate() -> None:
    s = _toy(FIRE)  # 0.5 a year over the 4-year horizon: mean 2 per sample
    sampler = _sampler(s)
    n = 4000
    timelines = [sampler.timeline(5, i) for i in range(n)]
    counts = np.array([len(t) for t in timelines])
    mean, sd = 0.5 * 4, math.sqrt(0.5 * 4)
    assert abs(counts.mean() - mean) < 4 * sd / math.sqrt(n)
    assert abs(counts.var() - sd**2) < 0.25 * sd**2  # Poisson: variance = mean
    assert (counts == 0).mean() == pytest.approx(math.exp(-2), abs=0.02)
    onsets = np.array([o.onset_year for t in timelines for o in t])
    assert onsets.min() >= 2025 and onsets.max() < 2029
    assert onsets.mean() == pytest.approx(
        2027.0, abs=4 * (4 / math.sqrt(12)) / math.sqrt(len(onsets))
    )
    assert all(list(t) == sorted(t, key=lambda o: o.onset_year) for t in timelines)


def test_probability_event_occurs_once_within_its_window() -> None:
    s = _toy(
        """disruptions:
  - id: surge
    kind: demand_shock
    probability: 0.3
    window_years: [2026, 2027]
    hits: {demands: all}
    demand_factor: 1.5
    duration_days: 30
"""
    )
    sampler = _sampler(s)
    n = 3000
    timelines = [sampler.timeline(1, i) for i in range(n)]
    counts = np.array([len(t) for t in timelines])
    assert counts.max() == 1
    assert abs(counts.mean() - 0.3) < 4 * math.sqrt(0.3 * 0.7 / n)
    onsets = [t[0].onset_year for t in timelines if t]
    assert min(onsets) >= 2026 and max(onsets) < 2028


def test_d0_excursion_gives_the_ratio_of_yields() -> None:
    s = _toy(
        """disruptions:
  - id: excursion
    kind: contamination
    rate_per_year: 0.1
    hits: {processes: [n3]}
    d0_multiplier: 2.0
    duration_days: 365.25
"""
    )
    sampler = _sampler(s)
    data = sampler.data
    eff = sampler.effects_of([Occurrence(0, 2026.0)])
    logic = [r for r in range(len(data.route_ids)) if data.route_kind[r] == 0]
    assert logic
    ratio = die_yield("poisson", 400.0, 0.2) / die_yield("poisson", 400.0, 0.1)  # toy: n3, acc
    assert ratio == pytest.approx(math.exp(-0.4))
    for r in logic:
        np.testing.assert_allclose(eff.route_output[r], [1, ratio, 1, 1], rtol=0, atol=1e-12)
    other = [r for r in range(len(data.route_ids)) if r not in logic]
    assert np.all(eff.route_output[other] == 1.0)
    assert np.all(eff.site_capacity == 1.0)  # a yield excursion takes no capacity
    assert eff.first_period == 1
    # half a year of excursion from mid-2026: half the wafers of 2026 and of 2027 hit
    half = sampler.effects_of([Occurrence(0, 2026.5)])
    np.testing.assert_allclose(
        half.route_output[logic[0]], [1, 1 - (1 - ratio) / 2, 1 - (1 - ratio) / 2, 1], atol=1e-12
    )


def test_products_narrow_a_yield_excursion_to_their_routes() -> None:
    catalogue = """disruptions:
  - id: excursion
    kind: contamination
    rate_per_year: 0.1
    hits: {processes: [n3], products: [%s]}
    d0_multiplier: 2.0
    duration_days: 365.25
"""
    second = (
        "products:\n  - id: acc\n",
        "products:\n  - id: acc2\n    designer: acme\n    die_area_mm2: 200\n"
        "    process_options: [{process: n3}]\n    pflops_bf16: 0.5\n  - id: acc\n",
    )
    s = _toy(catalogue % "acc", edit=second)
    sampler = _sampler(s)
    eff = sampler.effects_of([Occurrence(0, 2026.0)])
    data = sampler.data
    hit = {data.route_ids[r] for r in range(len(data.route_ids)) if eff.route_output[r, 1] < 1}
    assert hit == {r for r in data.route_ids if r.endswith("|acc|n3")} and hit
    assert any(r.endswith("|acc2|n3") for r in data.route_ids)  # made on n3 too, not hit


def test_wip_scrap_hits_the_starts_in_flight_at_the_onset() -> None:
    # n3 cycle time two months (60.875 days); monthly periods; onset 1 July 2026
    s = _toy(
        """disruptions:
  - id: spill
    kind: contamination
    rate_per_year: 0.1
    hits: {sites: [fab-a]}
    wip_scrapped_share: 0.4
    duration_days: 1
""",
        period="month",
        edit=(
            "    yield_model: poisson\n    edge_exclusion_mm: 0\n    cycle_time_days: 0",
            "    yield_model: poisson\n    edge_exclusion_mm: 0\n    cycle_time_days: 60.875",
        ),
    )
    sampler = _sampler(s)
    data = sampler.data
    eff = sampler.effects_of([Occurrence(0, 2026.5)])
    r = next(r for r in range(len(data.route_ids)) if data.route_kind[r] == 0)
    want = np.ones(data.n_periods)
    want[12 + 4 : 12 + 6] = 0.6  # starts of May and June 2026 were in flight on 1 July
    np.testing.assert_allclose(eff.route_output[r], want, atol=1e-12)
    assert eff.first_period == 12 + 4
    assert np.all(eff.site_capacity == 1.0)  # capacity_loss 0


def test_export_control_is_permanent_and_demand_shock_multiplies_demand() -> None:
    s = _toy(
        """disruptions:
  - id: export
    kind: export_control
    rate_per_year: 0.1
    hits: {vendors: [gpuco]}
    allocation_loss: 1.0
  - id: surge
    kind: demand_shock
    rate_per_year: 0.1
    hits: {demands: [fleet]}
    demand_factor: 1.5
    duration_days: 365.25
"""
    )
    sampler = _sampler(s)
    eff = sampler.effects_of([Occurrence(0, 2026.5), Occurrence(1, 2025.0)])
    np.testing.assert_allclose(eff.offer_allocation[0], [1, 0.5, 0, 0], atol=1e-12)
    np.testing.assert_allclose(eff.compute_demand[0], [1.5, 1, 1, 1], atol=1e-12)
    assert eff.first_period == 0
    assert [h.event for h in eff.events] == ["surge", "export"]  # in order of onset
    assert eff.events[1].targets == ("gpu",)


def test_overlapping_events_at_one_site_multiply() -> None:
    s = _toy(
        """disruptions:
  - id: half
    kind: custom
    rate_per_year: 0.1
    hits: {sites: [fab-a]}
    capacity_loss: 0.5
    duration_days: 365.25
"""
    )
    sampler = _sampler(s)
    fab_a = sampler.data.site_ids.index("fab-a")
    eff = sampler.effects_of([Occurrence(0, 2026.0), Occurrence(0, 2026.5)])
    np.testing.assert_allclose(eff.site_capacity[fab_a], [1, 0.5 * 0.75, 0.75, 1], atol=1e-12)


def test_scope_one_hits_one_of_the_matching_sites() -> None:
    s = _toy(
        """disruptions:
  - id: fire
    kind: fire
    rate_per_year: 1.0
    hits: {countries: [TW]}
    scope: one
    capacity_loss: 1.0
    duration_days: 30
"""
    )
    sampler = _sampler(s)
    seen: set[str] = set()
    for i in range(200):
        for hit in sampler.draw(3, i).events:
            assert len(hit.targets) == 1
            seen |= set(hit.targets)
    assert seen == {"fab-a", "pack-a"}  # the TW sites (fab-b is in the US)


def test_unknown_event_ids_are_named_with_a_hint() -> None:
    s = _toy(FIRE)
    with pytest.raises(ScenarioError) as info:
        _sampler(s, ["fir", "fire"])
    text = info.value.format()
    assert "unknown disruption event 'fir'" in text and "did you mean 'fire'?" in text
    assert _sampler(s, ["fire"]).event_ids == ["fire"]


def test_a_selection_keeps_the_occurrences_of_the_events_it_keeps() -> None:
    s = load_scenario("openai-2024")
    data = build_data(s)
    full = Sampler(data, s)
    quakes = Sampler(data, s, ["taiwan-quake"])
    assert quakes.event_ids == ["taiwan-quake"]
    for i in range(30):
        want = [o for o in full.timeline(2, i) if full.events[o.event].id == "taiwan-quake"]
        assert quakes.timeline(2, i) == want


def test_stress_cases_knock_out_one_site_or_supplier_for_its_worst_recovery() -> None:
    s = _toy(FIRE)
    sampler = _sampler(s)
    data = sampler.data
    cases = sampler.stress_cases(onset_year=2026.0)
    kinds = {(k, t) for k, t, _ in cases}
    assert ("site", "fab-a") in kinds and ("hbm_supplier", "memco") in kinds
    assert ("packaging_supplier", "fabco") in kinds
    effects = {(k, t): e for k, t, e in cases}
    fab_a = data.site_ids.index("fab-a")
    eff = effects[("site", "fab-a")]
    # the fire's curve, averaged over 2026: days 0-29 out, then the Renesas ramp
    year = DAYS_PER_YEAR
    assert eff.site_capacity[fab_a, 1] == pytest.approx(_curve_average(RENESAS, 0, year), abs=1e-12)
    assert np.all(np.delete(eff.site_capacity, fab_a, axis=0) == 1.0)
    assert eff.first_period == 1 and eff.events[0].event == "fire"
    assert sampler.stress_cases(onset_year=2026.0)[0][2].site_capacity.tolist() == (
        cases[0][2].site_capacity.tolist()
    )


def test_openai_2024_catalogue_loads_samples_and_has_stress_cases() -> None:
    s = load_scenario("openai-2024")
    data = build_data(s)
    sampler = Sampler(data, s)
    assert set(sampler.event_ids) >= {
        "taiwan-quake",
        "fab-fire",
        "contamination",
        "tsmc-cyber",
        "hbm-cut",
        "cowos-cut",
        "export-control",
        "taiwan-blockade",
        "demand-surge",
    }
    T = data.n_periods
    hit_events: set[str] = set()
    for i in range(300):
        eff = sampler.draw(0, i)
        assert eff.site_capacity.shape == (len(data.site_ids), T)
        assert eff.route_output.shape == (len(data.route_ids), T)
        assert eff.offer_allocation.shape == (len(data.offer_ids), T)
        assert eff.compute_demand.shape == (len(data.compute_ids), T)
        for arr in (eff.site_capacity, eff.route_output, eff.offer_allocation):
            assert np.all((arr >= 0) & (arr <= 1))
        assert np.all(eff.compute_demand >= 1)
        assert 0 <= eff.first_period <= T
        if eff.events:
            assert eff.first_period < T
        hit_events |= {h.event for h in eff.events}
    assert {"taiwan-quake", "fab-fire", "demand-surge"} <= hit_events
    cases = sampler.stress_cases()
    assert sampler.default_onset_year() == 2027.0  # first tape-out 2026 (openai-xpu1 on N3)
    targets = {(k, t) for k, t, _ in cases}
    production = {x.id for x in s.sites if x.purpose == "production"}
    assert {t for k, t in targets if k == "site"} == production
    assert {t for k, t in targets if k == "hbm_supplier"} == {"skhynix", "samsung", "micron"}
    assert ("packaging_supplier", "tsmc") in targets
    for _, _, eff in cases:
        assert eff.site_capacity.min() < 1 and eff.first_period == 2027 - 2024
    # the worst recovery of the events that can hit each target (docs/risk.md)
    worst = {(k, t): e.events[0].event for k, t, e in cases}
    assert worst[("site", "tsmc-f18-n3")] == "taiwan-blockade"
    assert worst[("site", "tsmc-f21-p1")] == "fab-fire"  # Arizona: only a fire can hit it
    assert worst[("hbm_supplier", "skhynix")] == "hbm-cut"
    assert worst[("packaging_supplier", "tsmc")] == "cowos-cut"


_days = st.floats(min_value=0.0, max_value=400.0, allow_nan=False)
_share = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@st.composite
def _curves(draw: st.DrawFn) -> LossCurve:
    """A recovery curve (possibly with jumps: repeated days), a step, or a permanent loss."""
    form = draw(st.sampled_from(["curve", "step", "permanent"]))
    if form == "step":
        return LossCurve(np.array([0.0, draw(_days) + 1.0]) / DAYS_PER_YEAR, np.ones(2), 0.0)
    if form == "permanent":
        return LossCurve(np.zeros(1), np.ones(1), 1.0)
    days = sorted(draw(st.lists(_days, min_size=1, max_size=5)))
    shares = draw(st.lists(_share, min_size=len(days), max_size=len(days)))
    x = np.array([0.0, *days, days[-1] + 1.0]) / DAYS_PER_YEAR
    r = np.array([draw(_share), *shares, 1.0])
    return LossCurve(x, 1.0 - r, 0.0)


@settings(max_examples=60, deadline=None)
@given(curves=st.lists(_curves(), min_size=1, max_size=4), onsets=st.data())
def test_packed_curve_averages_equal_the_exact_integral(
    curves: list[LossCurve], onsets: st.DataObject
) -> None:
    """The vectorised averages of many curves at once equal each curve's own closed form and
    a fine midpoint integration of ℓ (which only jumps at knots)."""
    edges = 2025.0 + np.arange(0, 4 * 12 + 1) / 12.0  # months of 2025-2028
    packed = PackedCurves.of(curves, float(edges[-1] - edges[0]))
    events = np.arange(len(curves), dtype=np.int64)
    onset = np.array([onsets.draw(st.floats(min_value=2025.0, max_value=2029.0)) for _ in curves])
    got = packed.average(events, onset, edges)
    for i, c in enumerate(curves):
        own = c.average(float(onset[i]), edges[:-1], edges[1:])
        np.testing.assert_allclose(got[i], own, rtol=0, atol=1e-12)
        # midpoint rule on a fine grid of each month (ℓ is piecewise linear: exact away from
        # the few cells with a knot, so a loose tolerance)
        fine = np.linspace(0.0, 1.0, 2001)[:-1] + 0.5 / 2000
        tau = edges[:-1, None] + fine[None, :] * np.diff(edges)[:, None] - onset[i]
        ell = np.where(
            tau < 0,
            0.0,
            np.where(tau >= c.x_years[-1], c.tail, np.interp(tau, c.x_years, c.loss)),
        )
        np.testing.assert_allclose(got[i], ell.mean(axis=1), rtol=0, atol=2e-3)
        assert np.all(got[i] >= -1e-12) and np.all(got[i] <= 1 + 1e-12)
