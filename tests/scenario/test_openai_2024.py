"""The built-in `openai-2024` scenario: it loads, its variants validate, and its key facts hold.

The facts checked here are the ones the case is about (issue 2 §3, domain-data.md): three
leading-edge logic foundries, three HBM makers, the Korean cluster's 21 existing and 13 + 3
new fabs for about 470 billion USD, own accelerators against Nvidia offers, caps on
dependence. A further test checks that every number in the file carries a source comment.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from fabnet.economics import die_yield, economics_table, gross_dies_per_wafer
from fabnet.scenario import (
    Scenario,
    SiteStatus,
    builtin_names,
    load_scenario,
    series_at,
    share_cap_series,
    validate_file,
    variant_names,
)
from fabnet.scenario.io import builtin_text, parse_yaml

NAME = "openai-2024"
KRW_PER_USD = 622e12 / 470e9  # §6: 622 trillion KRW is about 470 billion USD


@pytest.fixture(scope="module")
def scen() -> Scenario:
    return load_scenario(NAME)


def _at(series: dict[int, float], year: int) -> float:
    """Value of a {year: value} series during ``year`` (at its middle)."""
    return float(series_at(series, [year + 0.5])[0])


def _capacity(s: Scenario, process: str, year: int, statuses: set[SiteStatus]) -> float:
    """Wafer starts per month of all production sites with ``status`` that run ``process``."""
    return sum(
        _at(site.capacity_wspm, year)
        for site in s.sites
        if process in site.processes and site.status in statuses and site.purpose == "production"
    )


# Loading and variants ------------------------------------------------------------


def test_is_builtin_and_loads(scen: Scenario) -> None:
    assert NAME in builtin_names()
    assert scen.name == NAME
    assert scen.designer == "openai"
    assert scen.company("openai").country == "US"
    assert (scen.horizon.first_year, scen.horizon.last_year) == (2024, 2047)
    assert scen.horizon.period.value == "year"
    assert scen.discount_rate == pytest.approx(0.08)


def test_file_and_every_variant_validate() -> None:
    validate_file(NAME)  # raises with every problem of the base and each variant


def test_variants_exist_and_change_what_they_say() -> None:
    assert set(variant_names(NAME)) >= {"nvidia-only", "multi-foundry", "korea-cluster", "no-cap"}
    base = load_scenario(NAME)

    only = load_scenario(NAME, variant="nvidia-only")
    caps = only.policies.max_vendor_share
    assert caps["openai"] == 0.0 and caps["amd"] == 0.0
    assert caps["nvidia"] == 1.0

    multi = load_scenario(NAME, variant="multi-foundry")
    for pid in ("openai-xpu1", "openai-xpu2"):
        procs = {o.process for o in multi.product(pid).process_options}
        assert {"samsung-sf2", "intel-18a"} <= procs
        assert not {"samsung-sf2", "intel-18a"} & {
            o.process for o in base.product(pid).process_options
        }
    tw_multi = share_cap_series(multi.policies.max_country_share["TW"])
    tw_base = share_cap_series(base.policies.max_country_share["TW"])
    assert _at(tw_multi, 2030) < _at(tw_base, 2030)

    korea = load_scenario(NAME, variant="korea-cluster")
    for site in base.sites:
        if site.status is SiteStatus.candidate and "korea-cluster" in site.tags:
            if site.purpose == "research":
                continue
            k = korea.site(site.id)
            assert k.earliest_start_year is not None and site.earliest_start_year is not None
            assert k.earliest_start_year <= site.earliest_start_year
            assert (k.reservable_share or 0) > (site.reservable_share or 0)
    assert "samsung-sf2" in {o.process for o in korea.product("openai-xpu2").process_options}

    nocap = load_scenario(NAME, variant="no-cap")
    assert nocap.policies.max_vendor_share == {}
    assert nocap.policies.max_country_share == {}


def test_every_variant_has_a_description() -> None:
    data = parse_yaml(builtin_text(NAME), NAME).data
    for name, variant in data["variants"].items():
        assert len(str(variant.get("description", ""))) > 20, name


# Key facts ------------------------------------------------------------------------


def test_three_leading_edge_logic_foundries(scen: Scenario) -> None:
    leading = {
        p.owner
        for p in scen.processes
        if p.kind.value == "logic" and p.node_nm is not None and p.node_nm <= 3
    }
    assert leading == {"tsmc", "samsung", "intel"}
    for owner in leading:
        assert "foundry" in {r.value for r in scen.company(owner).roles}
    assert {scen.company(c).country for c in leading} == {"TW", "KR", "US"}


def test_three_hbm_makers_with_every_generation(scen: Scenario) -> None:
    hbm = [p for p in scen.processes if p.kind.value == "hbm"]
    assert {p.owner for p in hbm} == {"skhynix", "samsung", "micron"}
    assert {p.generation for p in hbm} == {"hbm3", "hbm3e", "hbm4"}
    for maker in ("skhynix", "samsung", "micron"):
        gens = {p.generation for p in hbm if p.owner == maker}
        assert {"hbm3e", "hbm4"} <= gens, maker
    # §2: HBM4 costs at least 30 % more per stack than HBM3E, HBM3E more than HBM3
    price = {p.generation: _at(p.stack_price_usd or {}, 2026) for p in hbm}
    assert price["hbm3"] < price["hbm3e"] < price["hbm4"]
    assert price["hbm4"] >= 1.3 * price["hbm3e"]
    # §2 derived: 20-40 good 8-high-equivalent stacks per wafer
    for p in hbm:
        if p.generation != "hbm4":
            assert 20 <= (p.good_stacks_per_wafer or 0) <= 40


def test_korean_cluster_programme(scen: Scenario) -> None:
    prog = next(p for p in scen.programmes if p.id == "korea-cluster")
    assert prog.country == "KR"
    assert prog.existing_fabs == 21
    assert prog.new_production_fabs == 13
    assert prog.new_research_fabs == 3
    assert prog.target_year == 2047
    assert prog.total_investment_usd == pytest.approx(470e9, rel=0.02)

    tagged = [s for s in scen.sites if "korea-cluster" in s.tags]
    assert all(s.country == "KR" for s in tagged)
    new = [s for s in tagged if s.status is not SiteStatus.existing]
    assert Counter(s.purpose for s in new) == {"production": 13, "research": 3}
    assert any(s.status is SiteStatus.existing for s in tagged)

    def count(owner: str, region: str, purpose: str = "production") -> int:
        return sum(
            1 for s in new if s.owner == owner and s.region == region and s.purpose == purpose
        )

    # §6: Samsung 6 fabs at Yongin, 3 at Pyeongtaek, 3 research fabs at Giheung;
    # SK hynix 4 fabs at Yongin
    assert count("samsung", "Yongin") == 6
    assert count("samsung", "Pyeongtaek") == 3
    assert count("samsung", "Giheung", "research") == 3
    assert count("skhynix", "Yongin") == 4

    # capex of a candidate = the announced total for its group / number of fabs
    totals_krw = {
        ("samsung", "Yongin"): (360e12, 6),
        ("samsung", "Pyeongtaek"): (120e12, 3),
        ("samsung", "Giheung"): (20e12, 3),
        ("skhynix", "Yongin"): (122e12, 4),
    }
    for s in new:
        if s.status is SiteStatus.candidate:
            total, n = totals_krw[(s.owner, s.region)]
            assert s.capex_usd == pytest.approx(total / n / KRW_PER_USD, rel=0.01), s.id
            assert s.build_years is not None and 2 <= s.build_years <= 3, s.id  # §1: 2-3 years
            assert s.earliest_start_year is not None


def test_sk_hynix_yongin_fab_1_opens_in_2027(scen: Scenario) -> None:
    site = scen.site("skhynix-yongin-1")
    assert site.status is SiteStatus.planned
    assert _at(site.capacity_wspm, 2026) == 0
    assert _at(site.capacity_wspm, 2027) > 0


def test_planned_sites_have_no_capacity_before_they_open(scen: Scenario) -> None:
    for site in scen.sites:
        if site.status is SiteStatus.planned:
            assert _at(site.capacity_wspm, scen.horizon.first_year) == 0, site.id
            assert max(site.capacity_wspm.values()) > 0, site.id


def test_candidates_outside_korea_too(scen: Scenario) -> None:
    candidates = [s for s in scen.sites if s.status is SiteStatus.candidate]
    assert {s.country for s in candidates} >= {"KR", "US"}
    assert {"tsmc-f21-p3", "samsung-taylor-2", "intel-fab62"} <= {s.id for s in candidates}
    for s in candidates:
        assert s.capex_usd and s.capex_usd > 0, s.id
        assert s.build_years is not None and s.build_years > 0, s.id


def test_capacities_match_the_sources(scen: Scenario) -> None:
    existing_or_planned = {SiteStatus.existing, SiteStatus.planned}
    # §1: N3 ~160k wpm by end-2025; N2 35-50k end-2025, ~85k mid-2026, ~200k by 2028
    assert _capacity(scen, "tsmc-n3", 2026, {SiteStatus.existing}) == pytest.approx(160e3)
    assert _capacity(scen, "tsmc-n2", 2024, existing_or_planned) == 0
    assert _capacity(scen, "tsmc-n2", 2026, existing_or_planned) == pytest.approx(85e3, rel=0.1)
    assert 180e3 <= _capacity(scen, "tsmc-n2", 2028, existing_or_planned) <= 260e3
    # §1: Intel Fab 52 15k (2026) -> 30k; Samsung Taylor 16-17k
    assert _at(scen.site("intel-fab52").capacity_wspm, 2026) == pytest.approx(15e3)
    assert 16e3 <= _at(scen.site("samsung-taylor-1").capacity_wspm, 2027) <= 17e3
    # §2: SK hynix TSV capacity ~150k in 2025
    assert _at(scen.site("skhynix-m16").capacity_wspm, 2025) == pytest.approx(150e3)
    # §3: TSMC CoWoS 65-80k end-2025, 112k end-2027 (year values are averages)
    cowos = scen.site("tsmc-ap-tw").capacity_wspm
    assert _at(cowos, 2024) < _at(cowos, 2025) < _at(cowos, 2026) < _at(cowos, 2027) <= 112e3


def test_every_production_site_says_how_much_the_designer_may_reserve(scen: Scenario) -> None:
    for site in scen.sites:
        if site.purpose == "production":
            assert site.reservable_share is not None, site.id
            assert 0 < site.reservable_share < 1, site.id
        if (
            site.owner == "tsmc"
            and site.country == "TW"
            and site.status is not SiteStatus.candidate
        ):
            assert site.reservable_share is not None and site.reservable_share <= 0.10, site.id
    assert 0 < scen.policies.default_reservable_share <= 0.10


def test_every_site_and_process_is_referenced(scen: Scenario) -> None:
    processes = {p.id: p for p in scen.processes}
    run = {pid for site in scen.sites for pid in site.processes}
    assert run == set(processes), "every process is run by a site and every site's process exists"
    for site in scen.sites:
        for pid in site.processes:
            assert processes[pid].owner == site.owner, (site.id, pid)
    for tag in {t for s in scen.sites for t in s.tags}:
        assert tag in {p.id for p in scen.programmes}
    used_logic = {o.process for p in scen.products for o in p.process_options}
    used_pack = {q for p in scen.products for q in p.packaging_options}
    used_gen = {p.hbm_generation for p in scen.products if p.hbm_generation}
    for variant in variant_names(NAME):
        v = load_scenario(NAME, variant=variant)
        used_logic |= {o.process for p in v.products for o in p.process_options}
        used_pack |= {q for p in v.products for q in p.packaging_options}
    logic = {p.id for p in scen.processes if p.kind.value == "logic"}
    packaging = {p.id for p in scen.processes if p.kind.value == "packaging"}
    # every logic process except the mature N5 family is used by a product somewhere
    assert logic - used_logic == {"tsmc-n5"}
    assert packaging == used_pack
    gens = {p.generation for p in scen.processes if p.kind.value == "hbm"}
    assert used_gen <= gens
    # every product's processes can be made somewhere with capacity in the year it is available
    for prod in scen.products:
        for opt in prod.process_options:
            year = opt.available_from_year or scen.horizon.first_year
            statuses = {SiteStatus.existing, SiteStatus.planned}
            assert _capacity(scen, opt.process, year, statuses) > 0, (prod.id, opt.process)


def test_products_and_offers(scen: Scenario) -> None:
    accelerators = [p for p in scen.products if p.kind == "accelerator"]
    assert len(accelerators) >= 2
    first = scen.product("openai-xpu1")
    native = first.process_options[0]
    assert native.process == "tsmc-n3" and native.available_from_year == 2026
    second = scen.product("openai-xpu2")
    assert second.process_options[0].process == "tsmc-a16"
    for p in accelerators:
        assert p.designer == "openai"
        assert p.hbm_stacks > 0 and p.hbm_generation
        assert p.packaging_options and p.packages_per_wafer
        assert p.pflops_bf16 > 0 and p.power_w > 0
        assert p.die_area_mm2 / p.chiplets <= 858  # §3 reticle limit
    soc = scen.product("openai-phone-soc")
    assert soc.kind == "soc" and soc.hbm_stacks == 0
    assert 100 <= soc.die_area_mm2 <= 110  # §5: ~105 mm²
    assert {o.process for o in soc.process_options} == {"tsmc-n3", "tsmc-n2"}

    offers = {o.id: o for o in scen.offers}
    assert {"nvidia-h100", "nvidia-h200", "nvidia-b200"} <= set(offers)
    assert offers["nvidia-h100"].pflops_bf16 == pytest.approx(0.989)  # §4
    assert offers["nvidia-b200"].pflops_bf16 == pytest.approx(2.25)  # §4 derived
    for o in scen.offers:
        assert o.max_units_per_year, o.id
        assert o.available_from_year is not None, o.id


def test_demand_and_policies(scen: Scenario) -> None:
    (compute,) = scen.demand.compute
    series = compute.installed_pflops
    years = sorted(series)
    assert years[0] == 2024 and years[-1] == 2047
    values = [series[y] for y in years]
    assert values == sorted(values), "installed compute never falls"
    # ~28 GW in 2030 (2 running + 26 committed, §4) at B200's 2.25 PF/kW -> tens of millions of PF
    assert 1e7 < series[2030] < 1e8
    (units,) = scen.demand.units
    assert units.product == "openai-phone-soc"
    assert max(units.units_per_year.values()) > 0

    nvidia = share_cap_series(scen.policies.max_vendor_share["nvidia"])
    assert _at(nvidia, 2025) >= 0.8
    assert _at(nvidia, 2030) == pytest.approx(0.5)
    assert _at(nvidia, 2030) < _at(nvidia, 2025)
    assert "TW" in scen.policies.max_country_share
    assert scen.policies.capex_budget_usd_per_year
    assert max(scen.policies.capex_budget_usd_per_year.values()) > 0


# Sources ---------------------------------------------------------------------------------

_SOURCE = re.compile(r"§\d|assumption|derived|\bas\b", re.IGNORECASE)


def _number_lines(data: Any, pos: Any) -> Iterator[int]:
    """0-based lines of every numeric scalar value, from the data and its position tree."""
    if isinstance(data, dict):
        items: Iterable[tuple[Any, Any]] = ((data[k], pos[k]) for k in data)
    elif isinstance(data, list):
        items = zip(data, pos, strict=True)
    else:
        return
    for value, p in items:
        if isinstance(value, int | float) and not isinstance(value, bool):
            yield p.value_line - 1
        else:
            yield from _number_lines(value, p.child)


def test_every_number_has_a_source_comment() -> None:
    text = builtin_text(NAME)
    lines = text.splitlines()
    src = parse_yaml(text, NAME)
    missing = []
    for n in sorted(set(_number_lines(src.data, src.tree))):
        line = lines[n]
        _, _, comment = line.partition("#")
        if not _SOURCE.search(comment):
            missing.append(f"line {n + 1}: {line.strip()}")
    assert not missing, "numbers without a source comment:\n" + "\n".join(missing)


# Cross-checks against published figures --------------------------------------------


def test_scenario_figures_reproduce_the_h100_cost_bridge(scen: Scenario) -> None:
    """An H100 built from the scenario's N5, HBM3 and CoWoS-S figures costs about 3.3k USD.

    §4 siliconanalysts cost bridge: logic die ~300, HBM ~1,400, packaging ~750, test and
    assembly ~920 USD, total ~3.3k. The die is 814 mm² (§4) with 5 active HBM3 stacks.
    """
    n5 = scen.process("tsmc-n5")
    assert n5.d0_per_cm2 is not None and n5.wafer_price_usd is not None
    gross = float(gross_dies_per_wafer(814.0, n5.wafer_diameter_mm, n5.edge_exclusion_mm))
    assert 60 <= gross <= 63  # §7 worked counts: 63 (61 with 3 mm edge exclusion)
    good = gross * float(die_yield("negative_binomial", 814.0, _at(n5.d0_per_cm2, 2024), 2.0))
    die_usd = _at(n5.wafer_price_usd, 2024) / good
    assert 300 <= die_usd <= 600  # §7 derived example: ~500 USD per good die before harvesting
    hbm3 = scen.process("skhynix-hbm3")
    cowos = scen.process("tsmc-cowos-s")
    assert hbm3.stack_price_usd is not None and cowos.price_usd_per_wafer is not None
    hbm_usd = 5 * _at(hbm3.stack_price_usd, 2024)
    pack_usd = _at(cowos.price_usd_per_wafer, 2024) / 29  # §3: ~29 H100 per CoWoS wafer
    total = die_usd + hbm_usd + pack_usd + scen.product("openai-xpu1").assembly_cost_usd
    assert total == pytest.approx(3300, rel=0.2)


def test_own_accelerators_cost_less_per_pflops_than_nvidia_prices(scen: Scenario) -> None:
    """The case for own chips: Nvidia sells at many times its cost (H100 ~3.3k vs 25-30k, §4)."""
    table = economics_table(scen, years=[2028])
    own = table[(table.kind == "own") & (table.pflops > 0) & table.available]
    offers = table[(table.kind == "offer") & (table.vendor == "nvidia") & table.available]
    assert len(own) and len(offers)
    assert own.usd_per_pflops.max() < offers.usd_per_pflops.min()
    # ... but not absurdly less: within a factor of ten of the cheapest Nvidia offer
    assert own.usd_per_pflops.min() > offers.usd_per_pflops.min() / 10
