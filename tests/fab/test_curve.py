"""Operating curve: simulated loads beside the G/G/m prediction (short runs of a small fab)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fabnet.errors import FabModelError
from fabnet.fab import load_smt2020
from fabnet.fab.curve import (
    CURVE_COLUMNS,
    ggm_operating_curve,
    lead_time_days,
    operating_curve,
    product_cycle_times,
)
from fabnet.fab.generate import generate_fab, write_smt2020
from fabnet.fab.model import FabModel


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> FabModel:
    fab = generate_fab(10, 48, products=2, seed=11, bottleneck_load=0.85)
    return load_smt2020(write_smt2020(fab, tmp_path_factory.mktemp("curve") / "fab"))


@pytest.fixture(scope="module")
def curve(model: FabModel) -> pd.DataFrame:
    calls: list[tuple[int, int]] = []
    df = operating_curve(
        model,
        [0.7, 1.0],
        days=120.0,
        warmup_days=30.0,
        seeds=[0, 1, 2],
        processes=1,
        progress=lambda k, n: calls.append((k, n)),
    )
    assert calls[-1] == (6, 6)
    return df


def test_curve_table_shape(curve: pd.DataFrame) -> None:
    assert list(curve.columns) == list(CURVE_COLUMNS)
    assert len(curve) == 4  # 2 loads × 2 products
    assert set(curve["product"]) == {"part_1", "part_2"}
    assert curve["bottleneck_group"].nunique() == 1
    assert (curve["completed"] > 0).all()
    assert (curve["cycle_time_mean_days_ci95"] > 0).all()


def test_bottleneck_utilisation_follows_the_load(curve: pd.DataFrame) -> None:
    by_load = curve.groupby("load")["bottleneck_utilization_pct"].first()
    # the generator puts the most loaded family at 85 % (G/G/m occupancy); the simulated
    # bottleneck is that family or one close to it
    assert 80.0 <= by_load[1.0] <= 95.0
    assert by_load[0.7] == pytest.approx(0.7 * by_load[1.0], abs=4.0)
    ggm = curve.groupby("load")["ggm_bottleneck_utilization_pct"].first()
    assert ggm[1.0] == pytest.approx(by_load[1.0], abs=8.0)
    assert ggm[0.7] == pytest.approx(0.7 * ggm[1.0], rel=1e-6)


def test_ggm_prediction_is_close_to_the_simulation(curve: pd.DataFrame) -> None:
    """On a generated fab the G/G/m cycle time is within 15 % of the simulated one."""
    rel = curve["ggm_cycle_time_days"] / curve["cycle_time_mean_days"]
    assert ((rel > 0.85) & (rel < 1.15)).all(), rel.to_list()
    np.testing.assert_allclose(
        curve["x_factor"], curve["cycle_time_mean_days"] / curve["raw_process_time_days"]
    )
    assert (curve["x_factor"] > 1.0).all()


def test_product_cycle_times_weight_lot_types_by_completions() -> None:
    from fabnet.fab.simulate import SimOptions, SimResult

    lt = pd.DataFrame(
        {
            "name": ["Lot_1", "HotLot_1", "Lot_2"],
            "part": ["p1", "p1", "p2"],
            "completed": [30, 10, 0],
            "cycle_time_mean_days": [20.0, 10.0, np.nan],
        }
    )
    empty = pd.DataFrame()
    res = SimResult(
        lot_types=lt,
        tool_groups=empty,
        wip=empty,
        lots=empty,
        steps=empty,
        events=0,
        wall_s=0.0,
        seed=0,
    )
    out = product_cycle_times(res).set_index("product")
    assert float(out.loc["p1", "cycle_time_mean_days"]) == pytest.approx(17.5)
    assert float(out.loc["p1", "completed"]) == 40
    assert np.isnan(float(out.loc["p2", "cycle_time_mean_days"]))
    assert SimOptions(days=1.0).release_scale == 1.0


def test_bad_loads_and_seeds_raise(model: FabModel) -> None:
    with pytest.raises(FabModelError, match="must be positive"):
        operating_curve(model, [0.0, 1.0], days=5.0, warmup_days=0.0, seeds=[0])
    with pytest.raises(FabModelError, match="no seeds"):
        operating_curve(model, [1.0], days=5.0, warmup_days=0.0, seeds=[])


def test_curve_cli_help_mentions_load(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from fabnet.cli import app

    res = CliRunner().invoke(app, ["fab", "curve", "--help"])
    assert res.exit_code == 0
    assert "--loads" in res.output


def test_generate_and_curve_cli(tmp_path: Path) -> None:
    """`fabnet fab generate` writes a loadable fab; `fabnet fab curve --json -o` runs it."""
    import json

    from typer.testing import CliRunner

    from fabnet.cli import app

    runner = CliRunner()
    fab_dir = tmp_path / "myfab"
    res = runner.invoke(
        app, ["fab", "generate", "--tool-groups", "8", "--steps", "30", "-o", str(fab_dir)]
    )
    assert res.exit_code == 0, res.output
    assert "bottleneck" in res.output
    assert load_smt2020(fab_dir).name == "myfab"
    again = runner.invoke(app, ["fab", "generate", "-o", str(fab_dir)])
    assert again.exit_code != 0  # refuses to overwrite without --force

    html = tmp_path / "curve.html"
    res = runner.invoke(
        app,
        [
            "fab", "curve", str(fab_dir), "--loads", "0.8,1.0", "--days", "40",
            "--warmup-days", "10", "--seeds", "0-1", "--processes", "1", "--json",
            "-o", str(html),
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    obj = json.loads(res.output)
    assert obj["loads"] == [0.8, 1.0]
    assert len(obj["rows"]) == 4
    assert {r["product"] for r in obj["rows"]} == {"part_1", "part_2"}
    text = html.read_text()
    assert "Plotly.newPlot" in text and "part_1 simulated" in text
    assert "part_1 G\\u002fG\\u002fm" in text  # the G/G/m line, JSON-escaped

    res = runner.invoke(app, ["fab", "curve", str(fab_dir), "--loads", "0.8,x"])
    assert res.exit_code != 0


def test_ggm_only_curve_matches_the_ggm_columns_of_the_full_curve(
    model: FabModel, curve: pd.DataFrame
) -> None:
    g = ggm_operating_curve(model, [0.7, 1.0])
    assert list(g.columns) == list(CURVE_COLUMNS)
    assert g["cycle_time_mean_days"].isna().all()
    full = curve.set_index(["load", "product"])
    mine = g.set_index(["load", "product"])
    np.testing.assert_allclose(
        mine["ggm_cycle_time_days"], full.loc[mine.index, "ggm_cycle_time_days"]
    )


def test_lead_time_interpolates_and_saturates() -> None:
    curve = pd.DataFrame(
        {
            "product": ["p"] * 3,
            "bottleneck_utilization_pct": [60.0, 80.0, 90.0],
            "cycle_time_mean_days": [10.0, 12.0, 16.0],
            "ggm_bottleneck_utilization_pct": [60.0, 80.0, 100.0],
            "ggm_cycle_time_days": [9.0, 11.0, np.inf],
        }
    )
    assert lead_time_days(curve, "p", 70.0) == pytest.approx(11.0)
    assert lead_time_days(curve, "p", 85.0) == pytest.approx(14.0)
    assert lead_time_days(curve, "p", 50.0) == pytest.approx(10.0)  # flat outside the range
    assert lead_time_days(curve, "p", 70.0, source="ggm") == pytest.approx(10.0)
    assert math.isinf(lead_time_days(curve, "p", 100.0, source="ggm"))
    with pytest.raises(FabModelError, match="no simulated point"):
        lead_time_days(curve, "q", 70.0)


def test_ggm_only_cli(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from fabnet.cli import app

    fab_dir = write_smt2020(generate_fab(8, 30, seed=1), tmp_path / "g")
    res = CliRunner().invoke(
        app, ["fab", "curve", str(fab_dir), "--ggm-only", "--loads", "0.5,0.9", "--json"]
    )
    assert res.exit_code == 0, res.output
    obj = json.loads(res.output)
    assert obj["seeds"] == []
    assert all(r["cycle_time_mean_days"] is None for r in obj["rows"])
    assert all(r["ggm_cycle_time_days"] > 0 for r in obj["rows"])
