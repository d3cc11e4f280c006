"""economics_table on the built-in toy scenario, against numbers worked by hand."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

from fabnet.economics import ECONOMICS_COLUMNS, economics_table
from fabnet.errors import ScenarioError
from fabnet.scenario import Scenario, load_scenario

# toy: n3 wafer 20,000 USD, D0 0.1 /cm², Poisson, 300 mm, no edge exclusion; a 400 mm² die;
# 4 HBM stacks at 300 USD; packaging wafer 8,000 USD / 20 packages, assembly yield 1;
# 1 PFLOP/s, 500 W, 4 years; electricity 0.10 USD/kWh, PUE 1, discount rate 0.
# The GPU: 30,000 USD, 1 PFLOP/s, 700 W, 4 years.
GROSS = math.floor(math.pi * 150**2 / 400 - math.pi * 300 / math.sqrt(800))  # 176.7 - 33.3
YIELD = math.exp(-0.1 * 4.0)
DIE = 20_000 / (GROSS * YIELD)
UNIT = DIE + 4 * 300 + 8_000 / 20
HOURS = 365.25 * 24


def _row(frame: pd.DataFrame, **match: Any) -> pd.Series:
    sel = frame
    for key, value in match.items():
        sel = sel[sel[key] == value]
    assert len(sel) == 1, sel
    return sel.iloc[0]


@pytest.fixture(scope="module")
def toy() -> Scenario:
    return load_scenario("toy")


def test_columns_and_rows(toy: Scenario) -> None:
    frame = economics_table(toy)
    assert list(frame.columns) == list(ECONOMICS_COLUMNS)
    # Default years: first, middle and last of the horizon; own rows before offers.
    assert frame[["year", "kind", "id"]].values.tolist() == [
        [2025, "own", "acc"],
        [2025, "offer", "gpu"],
        [2026, "own", "acc"],
        [2026, "offer", "gpu"],
        [2028, "own", "acc"],
        [2028, "offer", "gpu"],
    ]


def test_own_product_hand_computed(toy: Scenario) -> None:
    row = _row(economics_table(toy, [2026]), kind="own")
    assert GROSS == 143
    assert row["gross_dies_per_wafer"] == GROSS
    assert row["die_yield"] == pytest.approx(YIELD)
    assert row["cost_per_good_die_usd"] == pytest.approx(DIE)
    assert row["cost_per_good_die_usd"] == pytest.approx(208.6468, abs=1e-4)
    assert row["hbm_cost_usd"] == 1200.0
    assert row["hbm_process"] == "hbm3e"
    assert row["packaging_cost_usd"] == 400.0
    assert row["packaging_process"] == "cowos"
    assert row["unit_cost_usd"] == pytest.approx(UNIT)
    assert row["usd_per_pflops"] == pytest.approx(UNIT)
    energy = 0.5 * HOURS * 0.10
    assert row["energy_usd_per_year"] == pytest.approx(energy)  # 438.3 USD
    assert row["usd_per_pflops_year"] == pytest.approx(UNIT / 4 + energy)
    assert row["available"]


def test_offer_hand_computed(toy: Scenario) -> None:
    row = _row(economics_table(toy, [2026]), kind="offer")
    assert row["unit_cost_usd"] == 30_000.0
    assert row["usd_per_pflops"] == 30_000.0
    assert row["usd_per_pflops_year"] == pytest.approx(30_000 / 4 + 0.7 * HOURS * 0.10)
    assert math.isnan(row["cost_per_good_die_usd"])


def test_discount_chiplets_and_availability(toy: Scenario) -> None:
    s = load_scenario(
        "toy",
        overrides={
            "products.acc.chiplets": 2,
            "discount_rate": 0.1,
            "offers.gpu.available_from_year": 2027,
        },
    )
    frame = economics_table(s, [2026, 2027])
    own = _row(frame, kind="own", year=2026)
    # Two 200 mm² dies: pi 150²/200 - pi 300/sqrt(400) = 353.4 - 47.1 -> 306 dies each.
    assert own["die_area_mm2"] == 200.0
    assert own["gross_dies_per_wafer"] == 306.0
    die = 20_000 / (306 * math.exp(-0.2))
    assert own["logic_cost_usd"] == pytest.approx(2 * die)
    unit = 2 * die + 1200 + 400
    crf = 0.1 / (1 - 1.1**-4)
    assert own["usd_per_pflops_year"] == pytest.approx(unit * crf + 0.5 * HOURS * 0.10)
    assert not _row(frame, kind="offer", year=2026)["available"]
    assert _row(frame, kind="offer", year=2027)["available"]


def _with(toy: Scenario, **changes: Any) -> Scenario:
    data = toy.model_dump()
    for key, value in changes.items():
        data[key] = value
    return Scenario.model_validate(data)


def test_cheapest_hbm_and_packaging_per_year(toy: Scenario) -> None:
    data = toy.model_dump()
    hbm, cowos = data["processes"][1], data["processes"][2]
    hbm2 = {**hbm, "id": "hbm-b", "stack_price_usd": {2025: 400, 2027: 200}}
    # A cheaper packaging wafer with a poor yield: (1809 - 400 + 300) / 0.5 > 1809.
    pkg2 = {**cowos, "id": "pkg-b", "price_usd_per_wafer": {2025: 6000}, "assembly_yield": 0.5}
    products = [{**data["products"][0], "packaging_options": ["cowos", "pkg-b"]}]
    s = _with(toy, processes=[*data["processes"], hbm2, pkg2], products=products)
    frame = economics_table(s, [2025, 2027])
    early, late = _row(frame, kind="own", year=2025), _row(frame, kind="own", year=2027)
    assert (early["hbm_process"], early["hbm_cost_usd"]) == ("hbm3e", 1200.0)
    assert (late["hbm_process"], late["hbm_cost_usd"]) == ("hbm-b", 800.0)
    assert early["packaging_process"] == "cowos"
    assert early["assembly_yield"] == 1.0


def test_series_interpolated_at_mid_year(toy: Scenario) -> None:
    data = toy.model_dump()
    n3 = {**data["processes"][0], "wafer_price_usd": {2025: 20_000, 2027: 16_000}}
    s = _with(toy, processes=[n3, *data["processes"][1:]])
    prices = economics_table(s, [2024, 2025, 2026, 2027, 2030])
    own = prices[prices["kind"] == "own"]["wafer_price_usd"].tolist()
    assert own == [20_000, 20_000, 18_000, 16_000, 16_000]


def test_soc_without_performance_has_nan_per_pflops(toy: Scenario) -> None:
    s = load_scenario("toy", overrides={"products.acc.pflops_bf16": 0})
    row = _row(economics_table(s, [2025]), kind="own")
    assert math.isnan(row["usd_per_pflops"])
    assert math.isnan(row["usd_per_pflops_year"])
    assert row["unit_cost_usd"] == pytest.approx(UNIT)


def test_missing_hbm_generation_is_a_scenario_error(toy: Scenario) -> None:
    data = toy.model_dump()
    products = [{**data["products"][0], "hbm_generation": "hbm9"}]
    with pytest.raises(ScenarioError, match="hbm9"):  # checked when the scenario is built
        _with(toy, products=products)


def test_performance_and_power_per_process_option() -> None:
    """A second option on a copy of n3 (so the same unit cost) sets 0.8 PF and 600 W: its
    row divides the same unit cost by 0.8 PF and charges 600 W of energy."""
    data = load_scenario("toy").model_dump()
    data["processes"].append({**data["processes"][0], "id": "n3b"})
    data["products"][0]["process_options"] = [
        {"process": "n3"},
        {"process": "n3b", "pflops_bf16": 0.8, "power_w": 600},
    ]
    s = Scenario.model_validate(data)
    frame = economics_table(s, [2025])
    rows = frame[frame["kind"] == "own"].reset_index(drop=True)
    assert list(rows["pflops"]) == [1.0, 0.8] and list(rows["power_w"]) == [500, 600]
    assert rows.loc[1, "unit_cost_usd"] == pytest.approx(UNIT)
    assert rows.loc[1, "usd_per_pflops"] == pytest.approx(UNIT / 0.8)
    assert rows.loc[1, "energy_usd_per_year"] == pytest.approx(0.6 * HOURS * 0.10)
    assert rows.loc[1, "usd_per_pflops_year"] == pytest.approx((UNIT / 4 + 0.6 * HOURS * 0.1) / 0.8)
    assert rows.loc[0, "usd_per_pflops_year"] == pytest.approx(UNIT / 4 + 0.5 * HOURS * 0.1)
