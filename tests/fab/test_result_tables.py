"""SimResult.tables() / MultiSimResult.tables(): every tidy table by name, like
Plan.tables(); the tables come from fabnet.fab.kpi (the one home of KPI definitions)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from tests.fab.test_loader import write_tiny

from fabnet.fab import SimOptions, load_smt2020, simulate, simulate_seeds
from fabnet.fab.kpi import summarize, t975
from fabnet.fab.simulate import MULTI_TABLES, SIM_TABLES


def test_tables_by_name(tmp_path: Path) -> None:
    model = load_smt2020(write_tiny(tmp_path / "tiny"))
    res = simulate(model, SimOptions(days=2.0), seed=1)
    tables = res.tables()
    assert tuple(tables) == SIM_TABLES
    assert tables["lot_types"] is res.lot_types
    assert int(tables["lots"]["done_min"].notna().sum()) > 0
    multi = simulate_seeds(model, SimOptions(days=2.0), [1, 2], processes=1)
    assert tuple(multi.tables()) == MULTI_TABLES
    assert "completed_ci95" in multi.tables()["lot_types"].columns


def test_summarize_mean_and_half_width() -> None:
    frames = [pd.DataFrame({"name": ["a"], "x": [v]}) for v in (1.0, 3.0)]
    out = summarize(frames, "name")
    assert out.loc[0, "x"] == 2.0
    # std 1.414..., t(0.975, 1) = 12.706, n = 2
    assert math.isclose(out.loc[0, "x_ci95"], math.sqrt(2.0) * t975(1) / math.sqrt(2.0))
    assert math.isnan(summarize(frames[:1], "name").loc[0, "x_ci95"])
