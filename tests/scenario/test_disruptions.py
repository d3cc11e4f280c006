"""The disruption catalogue: a valid one loads; each malformed event is rejected with a
message naming file, line, field and a fix (as tests/scenario/test_validation.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fabnet.errors import ScenarioError
from fabnet.scenario import dump_scenario, load_scenario, scenario_from_text, validate_file
from fabnet.scenario.io import builtin_text
from fabnet.scenario.schema import DisruptionKind, DisruptionScope

TOY = builtin_text("toy")

#: A valid catalogue for the toy scenario; the cases below edit one line of it.
CATALOGUE = """disruptions:
  - id: quake
    kind: earthquake
    rate_per_year: 0.1
    hits: {countries: [TW]}
    capacity_loss: 1.0
    wip_scrapped_share: 0.05
    recovery: [[0, 0], [29, 0], [73, 0.88], [98, 1]]
  - id: fire
    kind: fire
    rate_per_year: 0.05
    hits: {sites: [fab-a]}
    scope: one
    capacity_loss: 1.0
    duration_days: 30
  - id: excursion
    kind: contamination
    probability: 0.2
    window_years: [2026, 2027]
    hits: {processes: [n3]}
    d0_multiplier: 1.5
    duration_days: 60
  - id: hbm-cut
    kind: allocation_cut
    rate_per_year: 0.1
    hits: {hbm_suppliers: [memco]}
    allocation_loss: 0.5
    duration_days: 365
  - id: export
    kind: export_control
    rate_per_year: 0.02
    hits: {vendors: [gpuco]}
    allocation_loss: 1.0
  - id: surge
    kind: demand_shock
    rate_per_year: 0.2
    hits: {demands: all}
    demand_factor: 1.25
    duration_days: 365
"""


def _with(catalogue: str) -> str:
    return TOY.replace("variants:\n", catalogue + "variants:\n", 1)


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_valid_catalogue_loads_and_round_trips() -> None:
    s = scenario_from_text(_with(CATALOGUE), "toy+catalogue")
    assert [d.id for d in s.disruptions] == [
        "quake",
        "fire",
        "excursion",
        "hbm-cut",
        "export",
        "surge",
    ]
    quake = s.disruption("quake")
    assert quake.kind is DisruptionKind.earthquake and quake.scope is DisruptionScope.all
    assert quake.recovery == [(0, 0), (29, 0), (73, 0.88), (98, 1)]
    assert s.disruption("fire").scope is DisruptionScope.one
    assert s.disruption("export").permanent and not s.disruption("fire").permanent
    assert s.disruption("surge").hits.demands == "all"
    assert scenario_from_text(dump_scenario(s)) == s


def test_scenarios_without_catalogue_have_an_empty_one() -> None:
    assert load_scenario("toy").disruptions == []


def test_openai_2024_catalogue_has_every_kind_the_issue_asks_for() -> None:
    s = load_scenario("openai-2024")
    kinds = {d.kind for d in s.disruptions}
    assert kinds >= set(DisruptionKind) - {DisruptionKind.custom}
    quake = s.disruption("taiwan-quake")
    assert quake.rate_per_year == pytest.approx(0.11)  # disruptions.md Rates, derived
    fire = s.disruption("fab-fire")
    assert fire.recovery is not None
    days = dict(fire.recovery)
    assert (days[29], days[73], days[98]) == (0, 0.88, 1)  # the Renesas curve
    assert s.disruption("export-control").permanent


# (case id, text replaced in CATALOGUE, replacement, message fragment, field fragment, line needle)
CASES: list[tuple[str, str, str, str, str, str | None]] = [
    (
        "negative-rate",
        "rate_per_year: 0.1\n    hits: {countries",
        "rate_per_year: -0.1\n    hits: {countries",
        "greater than or equal to 0",
        "disruptions.quake.rate_per_year",
        "rate_per_year: -0.1",
    ),
    (
        "probability-above-one",
        "probability: 0.2",
        "probability: 1.5",
        "less than or equal to 1",
        "disruptions.excursion.probability",
        "probability: 1.5",
    ),
    (
        "rate-and-probability",
        "probability: 0.2",
        "probability: 0.2\n    rate_per_year: 0.1",
        "give either rate_per_year",
        "disruptions.excursion",
        None,
    ),
    (
        "probability-without-window",
        "    window_years: [2026, 2027]\n",
        "",
        "probability needs window_years",
        "disruptions.excursion",
        None,
    ),
    (
        "unknown-site",
        "hits: {sites: [fab-a]}",
        "hits: {sites: [fab-c]}",
        "unknown site 'fab-c' — did you mean 'fab-",
        "disruptions.fire.hits.sites[0]",
        "hits: {sites: [fab-c]}",
    ),
    (
        "unknown-region",
        "hits: {sites: [fab-a]}",
        "hits: {regions: [Hsinchu]}",
        "unknown region (no site has it) 'Hsinchu'",
        "disruptions.fire.hits.regions[0]",
        "hits: {regions: [Hsinchu]}",
    ),
    (
        "unknown-country",
        "hits: {countries: [TW]}",
        "hits: {countries: [JP]}",
        "unknown country (no site is in it) 'JP'",
        "disruptions.quake.hits.countries[0]",
        "hits: {countries: [JP]}",
    ),
    (
        "unknown-company",
        "hits: {sites: [fab-a]}",
        "hits: {companies: [fabcoo]}",
        "unknown company 'fabcoo' — did you mean 'fabco'?",
        "disruptions.fire.hits.companies[0]",
        "hits: {companies: [fabcoo]}",
    ),
    (
        "unknown-process",
        "hits: {processes: [n3]}",
        "hits: {processes: [n2]}",
        "unknown process 'n2' — known: cowos, hbm3e, n3",
        "disruptions.excursion.hits.processes[0]",
        "hits: {processes: [n2]}",
    ),
    (
        "unknown-vendor",
        "hits: {vendors: [gpuco]}",
        "hits: {vendors: [nvidia]}",
        "unknown company 'nvidia'",
        "disruptions.export.hits.vendors[0]",
        "hits: {vendors: [nvidia]}",
    ),
    (
        "vendor-without-offers",
        "hits: {vendors: [gpuco]}",
        "hits: {vendors: [memco]}",
        "no offer comes from vendor 'memco'",
        "disruptions.export.hits.vendors[0]",
        "hits: {vendors: [memco]}",
    ),
    (
        "unknown-demand",
        "hits: {demands: all}",
        "hits: {demands: [fleat]}",
        "unknown demand 'fleat' — did you mean 'fleet'?",
        "disruptions.surge.hits.demands[0]",
        "hits: {demands: [fleat]}",
    ),
    (
        "unknown-product",
        "hits: {processes: [n3]}",
        "hits: {processes: [n3], products: [acc2]}",
        "unknown product 'acc2' — did you mean 'acc'?",
        "disruptions.excursion.hits.products[0]",
        "hits: {processes: [n3], products: [acc2]}",
    ),
    (
        "products-without-site-selector",
        "hits: {processes: [n3]}",
        "hits: {products: [acc]}",
        "hits.products narrows the routes of the hit sites",
        "disruptions.excursion",
        None,
    ),
    (
        "hbm-supplier-without-hbm-site",
        "hits: {hbm_suppliers: [memco]}",
        "hits: {hbm_suppliers: [fabco]}",
        "company 'fabco' has no hbm site",
        "disruptions.hbm-cut.hits.hbm_suppliers[0]",
        "hits: {hbm_suppliers: [fabco]}",
    ),
    (
        "zero-duration",
        "duration_days: 30",
        "duration_days: 0",
        "greater than 0",
        "disruptions.fire.duration_days",
        "duration_days: 0",
    ),
    (
        "negative-duration",
        "duration_days: 60",
        "duration_days: -5",
        "greater than 0",
        "disruptions.excursion.duration_days",
        "duration_days: -5",
    ),
    (
        "recovery-not-ending-at-one",
        "[73, 0.88], [98, 1]]",
        "[73, 0.88], [98, 0.95]]",
        "the recovery curve ends at 0.95, not 1",
        "disruptions.quake",
        None,
    ),
    (
        "recovery-days-decrease",
        "[73, 0.88], [98, 1]]",
        "[73, 0.88], [60, 1]]",
        "the recovery curve's days decrease (73 then 60)",
        "disruptions.quake",
        None,
    ),
    (
        "recovery-and-duration",
        "    recovery: [[0, 0], [29, 0], [73, 0.88], [98, 1]]\n",
        "    recovery: [[0, 0], [29, 0], [73, 0.88], [98, 1]]\n    duration_days: 5\n",
        "give recovery or duration_days, not both",
        "disruptions.quake",
        None,
    ),
    (
        "hits-nothing",
        "hits: {sites: [fab-a]}",
        "hits: {}",
        "the event hits nothing",
        "disruptions.fire",
        None,
    ),
    (
        "does-nothing",
        "    allocation_loss: 1.0\n",
        "",
        "the event does nothing to what it hits — set allocation_loss",
        "disruptions.export",
        None,
    ),
    (
        "selectors-match-no-site",
        "hits: {countries: [TW]}",
        "hits: {countries: [TW], companies: [memco]}",
        "match no production site together",
        "disruptions.quake.hits",
        "hits: {countries: [TW], companies: [memco]}",
    ),
    (
        "d0-on-hbm-process",
        "hits: {processes: [n3]}",
        "hits: {processes: [hbm3e]}",
        "process 'hbm3e' is not a logic process",
        "disruptions.excursion.hits.processes[0]",
        "hits: {processes: [hbm3e]}",
    ),
    (
        "unknown-hits-key",
        "hits: {sites: [fab-a]}",
        "hits: {site: [fab-a]}",
        "unknown key 'site' — did you mean 'sites'?",
        "disruptions.fire.hits.site",
        "hits: {site: [fab-a]}",
    ),
    (
        "unknown-kind",
        "kind: fire",
        "kind: flood",
        "'earthquake', 'fire'",
        "disruptions.fire.kind",
        "kind: flood",
    ),
    (
        "duplicate-event-id",
        "  - id: fire\n",
        "  - id: quake\n",
        "duplicate event id 'quake'",
        "disruptions",
        None,
    ),
]


@pytest.mark.parametrize(
    ("case", "old", "new", "message", "field", "needle"), CASES, ids=[c[0] for c in CASES]
)
def test_malformed_catalogue_is_reported(
    tmp_path: Path, case: str, old: str, new: str, message: str, field: str, needle: str | None
) -> None:
    assert old in CATALOGUE, f"test set-up: {old!r} not in the catalogue"
    text = _with(CATALOGUE.replace(old, new, 1))
    path = tmp_path / f"{case}.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        validate_file(path)
    matching = [p for p in info.value.problems if message in p.format()]
    assert matching, f"no problem mentions {message!r}:\n{info.value.format()}"
    problem = matching[0]
    assert problem.file is not None and str(path) in problem.file
    assert field in (problem.field or ""), problem.field
    assert problem.line is not None
    if needle is not None:
        assert problem.line == _line_of(text, needle)
    assert problem.hint, "every problem says what to do"


def test_an_override_changes_an_event_by_id() -> None:
    s = load_scenario("openai-2024", overrides=["disruptions.fab-fire.rate_per_year=0.1"])
    assert s.disruption("fab-fire").rate_per_year == pytest.approx(0.1)
    with pytest.raises(ScenarioError, match="less than or equal to 1"):
        load_scenario("openai-2024", overrides=["disruptions.taiwan-quake.capacity_loss=2"])
