"""Malformed scenarios: each one is rejected with a message naming file, line, field and a fix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fabnet.errors import ScenarioError
from fabnet.scenario import load_scenario, validate_file
from fabnet.scenario.io import builtin_text

TOY = builtin_text("toy")


def _sub(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert old in text, f"test set-up: {old!r} not in toy.yaml"
        return text.replace(old, new, 1)

    return edit


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


# (case id, edit of toy.yaml, expected message fragment, expected field fragment, line needle)
CASES: list[tuple[str, Callable[[str], str], str, str, str | None]] = [
    (
        "yaml-syntax",
        _sub("pue: 1.0", "pue: [1.0"),
        "YAML syntax error",
        "",
        None,
    ),
    (
        "unknown-key-did-you-mean",
        _sub("    capacity_wspm: {2025: 100}\n", "    capcity_wspm: {2025: 100}\n"),
        "did you mean 'capacity_wspm'",
        "sites.fab-a.capcity_wspm",
        "capcity_wspm",
    ),
    (
        "unknown-top-level-key",
        _sub("pue: 1.0", "pue: 1.0\ndiscount: 0.1"),
        "unknown key 'discount'",
        "discount",
        "discount: 0.1",
    ),
    (
        "wrong-type",
        _sub("pflops_bf16: 1.0\n    power_w: 500", "pflops_bf16: fast\n    power_w: 500"),
        "valid number",
        "products.acc.pflops_bf16",
        "pflops_bf16: fast",
    ),
    (
        "negative-capacity",
        _sub("capacity_wspm: {2025: 100}", "capacity_wspm: {2025: -100}"),
        "greater than or equal to 0",
        "sites.fab-a.capacity_wspm.2025",
        "{2025: -100}",
    ),
    (
        "share-above-one",
        _sub("policies.max_vendor_share.gpuco: 0.1", "policies.max_vendor_share.gpuco: 1.5"),
        "less than or equal to 1",
        "policies.max_vendor_share.gpuco",
        None,
    ),
    (
        "yield-zero",
        _sub("assembly_yield: 1.0", "assembly_yield: 0.0"),
        "greater than 0",
        "processes.cowos.assembly_yield",
        "assembly_yield: 0.0",
    ),
    (
        "unknown-owner",
        _sub("  - id: fab-a\n    owner: fabco", "  - id: fab-a\n    owner: fabcoo"),
        "unknown company 'fabcoo'",
        "sites.fab-a.owner",
        "owner: fabcoo",
    ),
    (
        "duplicate-id",
        _sub("  - id: fab-b\n", "  - id: fab-a\n"),
        "duplicate id 'fab-a'",
        "sites",
        None,
    ),
    (
        "site-process-other-owner",
        _sub("  - id: mem-a\n    owner: memco", "  - id: mem-a\n    owner: fabco"),
        "which 'memco' runs",
        "sites.mem-a.processes[0]",
        None,
    ),
    (
        "die-above-reticle",
        _sub("die_area_mm2: 400", "die_area_mm2: 1400"),
        "above the reticle limit",
        "products.acc.die_area_mm2",
        "die_area_mm2: 1400",
    ),
    (
        "unknown-process-option",
        _sub("process_options: [{process: n3}]", "process_options: [{process: n2}]"),
        "unknown process 'n2'",
        "products.acc.process_options[0].process",
        "process_options",
    ),
    (
        "missing-required",
        _sub("    price_usd: {2025: 30000}\n", ""),
        "missing required field 'price_usd'",
        "offers.gpu.price_usd",
        None,
    ),
    (
        "bad-enum",
        _sub("period: year", "period: fortnight"),
        "'month', 'quarter' or 'year'",
        "horizon.period",
        "period: fortnight",
    ),
    (
        "candidate-without-capex",
        _sub("    capex_usd: 1.0e9\n", ""),
        "candidate site needs capex_usd",
        "sites.fab-b",
        None,
    ),
    (
        "horizon-reversed",
        _sub("last_year: 2028", "last_year: 2020"),
        "last_year must not be before first_year",
        "horizon",
        None,
    ),
    (
        "unknown-hbm-generation",
        _sub("hbm_generation: hbm3e", "hbm_generation: hbm5"),
        "no HBM process makes generation 'hbm5'",
        "products.acc.hbm_generation",
        "hbm_generation: hbm5",
    ),
    (
        "bad-country",
        _sub(
            "{id: memco, name: MemCo, roles: [memory], country: KR}",
            "{id: memco, name: MemCo, roles: [memory], country: Korea}",
        ),
        "should match pattern",
        "companies.memco.country",
        "country: Korea",
    ),
    (
        "installed-base-unknown-vendor",
        _sub(
            "      unmet_penalty_usd_per_pflops_year: 1.0e6\n",
            "      unmet_penalty_usd_per_pflops_year: 1.0e6\n      installed_base:\n"
            "        - {id: old, vendor: gpucoo, pflops: {2025: 500, 2027: 0}}\n",
        ),
        "unknown company 'gpucoo' — did you mean 'gpuco'?",
        "demand.compute.fleet.installed_base.old.vendor",
        "vendor: gpucoo",
    ),
    (
        "installed-base-same-id-as-offer",
        _sub(
            "      unmet_penalty_usd_per_pflops_year: 1.0e6\n",
            "      unmet_penalty_usd_per_pflops_year: 1.0e6\n      installed_base:\n"
            "        - {id: gpu, vendor: gpuco, pflops: {2025: 500, 2027: 0}}\n",
        ),
        "installed base id 'gpu' is also the id of a product or offer",
        "demand.compute.fleet.installed_base.gpu.id",
        "{id: gpu, vendor: gpuco",
    ),
    (
        "installed-base-negative",
        _sub(
            "      unmet_penalty_usd_per_pflops_year: 1.0e6\n",
            "      unmet_penalty_usd_per_pflops_year: 1.0e6\n      installed_base:\n"
            "        - id: old\n          vendor: gpuco\n          pflops: {2025: -5}\n",
        ),
        "greater than or equal to 0",
        "demand.compute.fleet.installed_base.old.pflops.2025",
        "pflops: {2025: -5}",
    ),
    (
        "commitment-outside-sale-years",
        _sub(
            "    power_w: 700\n",
            "    power_w: 700\n    available_from_year: 2026\n"
            "    min_units_per_year: {2025: 100}\n",
        ),
        "a commitment of 100 units in 2025, when the offer is not on sale (2026–…)",
        "offers.gpu.min_units_per_year.2025",
        "min_units_per_year: {2025: 100}",
    ),
    (
        "commitment-above-allocation",
        _sub(
            "    power_w: 700\n",
            "    power_w: 700\n    max_units_per_year: {2025: 100, 2027: 300}\n"
            "    min_units_per_year:\n      2026: 250\n",
        ),
        "a commitment of 250 units in 2026 is above the allocation of 200 units",
        "offers.gpu.min_units_per_year.2026",
        "2026: 250",
    ),
    (
        "process-option-negative-power",
        _sub("process_options: [{process: n3}]", "process_options: [{process: n3, power_w: -1}]"),
        "greater than or equal to 0",
        "products.acc.process_options[0].power_w",
        "power_w: -1",
    ),
    (
        "process-option-twice",
        _sub("process_options: [{process: n3}]", "process_options: [{process: n3}, {process: n3}]"),
        "process 'n3' is listed twice",
        "products.acc.process_options",
        "process_options: [{process: n3}, {process: n3}]",
    ),
    (
        "vendor-cap-unknown-vendor",
        _sub("policies.max_vendor_share.gpuco: 0.1", "policies.max_vendor_share.nvidiaa: 0.1"),
        "no product or offer comes from vendor 'nvidiaa'",
        "policies.max_vendor_share.nvidiaa",
        None,
    ),
]


@pytest.mark.parametrize(
    ("case", "edit", "message", "field", "needle"), CASES, ids=[c[0] for c in CASES]
)
def test_malformed_scenario_is_reported(
    tmp_path: Path,
    case: str,
    edit: Callable[[str], str],
    message: str,
    field: str,
    needle: str | None,
) -> None:
    text = edit(TOY)
    path = tmp_path / f"{case}.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        validate_file(path)
    matching = [p for p in info.value.problems if message in p.format()]
    assert matching, f"no problem mentions {message!r}:\n{info.value.format()}"
    problem = matching[0]
    assert problem.file is not None and (str(path) in problem.file or "variant" in problem.file)
    assert field in (problem.field or "")
    if needle is not None:
        assert problem.line == _line_of(text, needle)
    if case != "yaml-syntax":
        assert problem.hint or "must" in problem.message, "every problem says what to do"


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    text = _sub("die_area_mm2: 400", "die_area_mm2: 1400")(TOY)
    text = _sub("capacity_wspm: {2025: 100}", "capacity_wspm: {2025: -1}")(text)
    text = (
        _sub(
            "    capacity_wspm: {2025: 1000}\n    status",
            "    capacity_wspm: {2025: 1000}\n    statuss",
        )(text)
        if "    capacity_wspm: {2025: 1000}\n    status" in text
        else text
    )
    path = tmp_path / "many.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        validate_file(path)
    assert len(info.value.problems) >= 2
    messages = info.value.format()
    assert "reticle" in messages and "greater than or equal to 0" in messages


def test_unknown_builtin_suggests_a_name() -> None:
    with pytest.raises(ScenarioError, match="did you mean 'toy'"):
        load_scenario("tyo")


def test_missing_file() -> None:
    with pytest.raises(ScenarioError, match="file not found"):
        load_scenario("does/not/exist.yaml")


def test_override_with_unknown_id_names_the_override() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario("toy", overrides=["sites.fab-z.status=candidate"])
    text = info.value.format()
    assert "--set sites.fab-z.status" in text and "did you mean 'fab-" in text


def test_override_with_bad_value_gets_schema_message() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario("toy", overrides=["policies.max_vendor_share.gpuco=2"])
    problem = info.value.problems[0]
    assert problem.file == "--set policies.max_vendor_share.gpuco"
    assert "less than or equal to 1" in problem.message


def test_override_with_unknown_field() -> None:
    with pytest.raises(ScenarioError, match="unknown key 'capex'"):
        load_scenario("toy", overrides=["sites.fab-b.capex=5"])


def test_bad_variant_is_caught_by_validate(tmp_path: Path) -> None:
    text = TOY.replace("policies.max_vendor_share.gpuco: 0.1", "sites.nowhere.status: candidate")
    path = tmp_path / "v.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match="variant no-gpu"):
        validate_file(path)
