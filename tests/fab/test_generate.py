"""The synthetic fab generator: its output loads, has the promised structure, and runs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fabnet.errors import FabModelError
from fabnet.fab import SimOptions, load_smt2020, simulate
from fabnet.fab.generate import HEADERS, generate_fab, write_smt2020, write_tables
from fabnet.fab.queueing import fab_gg_m_curve, network_from_model, solve_network


@pytest.fixture(scope="module")
def fab_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    fab = generate_fab(tool_groups=20, steps=120, products=2, seed=3, initial_wip_lots=10)
    return write_smt2020(fab, tmp_path_factory.mktemp("gen") / "myfab")


def test_writes_every_smt2020_file(fab_dir: Path) -> None:
    names = {p.name for p in fab_dir.iterdir()}
    assert set(HEADERS) <= names
    assert {"route_1.txt", "route_2.txt"} <= names
    for name, header in HEADERS.items():
        first = (fab_dir / name).read_text().split("\n", 1)[0]
        assert first.split("\t") == list(header)


def test_generated_fab_loads_with_the_promised_structure(fab_dir: Path) -> None:
    m = load_smt2020(fab_dir)
    assert len(m.families) == 20
    assert [len(m.routes[p.route].steps) for p in m.products] == [120, 78]
    steps = [s for r in m.routes.values() for s in r.steps]
    fam_of = {f.name: f for f in m.families}
    # re-entrant: the scanner families are visited many times per route
    r1 = m.routes["r_1"].steps
    litho_visits = sum(
        1 for s in r1 if fam_of[s.family].group == "Litho" and "Track" not in s.family
    )
    assert litho_visits >= 8
    assert any(s.per == "batch" and s.batch_min_pieces and s.batch_max_pieces for s in steps)
    assert any(s.setup for s in steps)
    assert any(s.sample_pct < 100 for s in steps)
    assert any(s.rework_step is not None for s in steps)
    assert any(f.cascading for f in m.families)
    assert m.min_runs and all(mr.min_run_lots == 1 for mr in m.min_runs)
    assert {a.cal_type for a in m.attachments} == {"down", "pm"}
    assert {c.by_pieces for c in m.pm_calendars} == {True, False}
    assert len(m.wip) == 10
    assert {r.priority for r in m.releases} == {10, 20}


def test_bottleneck_load_as_targeted(fab_dir: Path) -> None:
    """The release rate puts the most loaded family at the target (85 %), per G/G/m data."""
    fab = generate_fab(tool_groups=20, steps=120, products=2, seed=3)
    m = load_smt2020(fab_dir)
    sol = solve_network(network_from_model(m), 1.0)
    st = sol.stations.set_index("station")
    assert st["load_pct"].idxmax() == fab.bottleneck_family
    assert fab.bottleneck_family.startswith("Litho_")
    # REPEAT is rounded to 0.0001 min
    assert float(st.loc[fab.bottleneck_family, "load_pct"]) == pytest.approx(85.0, abs=0.01)
    assert fab.bottleneck_load == pytest.approx(0.85, abs=1e-4)
    # (the curve is flat at moderate loads: waiting for batches to fill shrinks as releases
    # grow, and so do setups as queues grow; near saturation it rises)
    curve = fab_gg_m_curve(m, [0.8, 1.1])
    for _, grp in curve.groupby("product"):
        ct = grp.sort_values("load")["ggm_cycle_time_days"].to_numpy()
        assert ct[1] > ct[0]


def test_generated_fab_runs_a_short_simulation(fab_dir: Path) -> None:
    m = load_smt2020(fab_dir)
    res = simulate(m, SimOptions(days=20.0), seed=0)
    c = res.counters
    assert c["completed"] > 0
    assert c["released"] + c["initial_wip"] == c["completed"] + c["in_fab"]
    assert c["batches"] > 0 and c["setups"] > 0 and c["breakdowns"] > 0 and c["pms"] > 0
    assert set(res.lot_types["name"]) == {"Lot_1", "HotLot_1", "Lot_2", "HotLot_2"}


def test_min_run_is_written_when_asked(tmp_path: Path) -> None:
    fab = generate_fab(12, 60, seed=2, min_run_lots=7)
    m = load_smt2020(write_smt2020(fab, tmp_path / "mr"))
    assert m.min_runs and all(mr.min_run_lots == 7 for mr in m.min_runs)


def test_in_memory_model_is_what_the_loader_reads(fab_dir: Path) -> None:
    fab = generate_fab(tool_groups=20, steps=120, products=2, seed=3, initial_wip_lots=10)
    loaded = load_smt2020(fab_dir)
    assert fab.model is not None
    for f in dataclasses.fields(loaded):
        if f.name not in ("name", "warnings"):
            assert getattr(fab.model, f.name) == getattr(loaded, f.name), f.name


def test_same_seed_same_fab_other_seed_other_fab() -> None:
    a = generate_fab(8, 40, seed=1)
    b = generate_fab(8, 40, seed=1)
    c = generate_fab(8, 40, seed=2)
    assert a.tables == b.tables
    assert a.tables != c.tables


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"tool_groups": 2, "steps": 50}, "tool_groups"),
        ({"tool_groups": 10, "steps": 2}, "steps"),
        ({"tool_groups": 10, "steps": 50, "bottleneck_load": 1.2}, "bottleneck_load"),
        ({"tool_groups": 10, "steps": 50, "products": 0}, "products"),
    ],
)
def test_bad_arguments_raise(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(FabModelError) as exc:
        generate_fab(**kwargs)  # type: ignore[arg-type]
    assert any(p.field == field for p in exc.value.problems)


def test_low_level_writer_rejects_unknown_columns_and_files(tmp_path: Path) -> None:
    with pytest.raises(FabModelError, match="unknown column"):
        write_tables(tmp_path, {"part.txt": [{"PART": "p", "COLOUR": "red"}]})
    with pytest.raises(FabModelError, match="unknown SMT2020 file"):
        write_tables(tmp_path, {"parts.txt": []})


def test_small_and_large_shapes_load(tmp_path: Path) -> None:
    for i, (g, s, p) in enumerate([(4, 10, 1), (11, 60, 3), (35, 300, 10)]):
        m = load_smt2020(write_smt2020(generate_fab(g, s, p, seed=i), tmp_path / f"f{i}"))
        assert len(m.families) == g
        assert len(m.products) == p
        assert max(len(r.steps) for r in m.routes.values()) == s


@settings(max_examples=25, deadline=None)
@given(
    tool_groups=st.integers(4, 40),
    steps=st.integers(4, 200),
    products=st.integers(1, 5),
    seed=st.integers(0, 10_000),
    target=st.floats(0.5, 0.95),
)
def test_any_generated_fab_loads_with_its_bottleneck_at_the_target(
    tmp_path_factory: pytest.TempPathFactory,
    tool_groups: int,
    steps: int,
    products: int,
    seed: int,
    target: float,
) -> None:
    fab = generate_fab(tool_groups, steps, products, seed, bottleneck_load=target)
    m = load_smt2020(write_smt2020(fab, tmp_path_factory.mktemp("any") / "fab"))
    assert len(m.families) == tool_groups
    assert max(len(r.steps) for r in m.routes.values()) == steps
    load = solve_network(network_from_model(m), 1.0).stations.set_index("station")["load_pct"]
    assert float(load.max()) == pytest.approx(100 * target, abs=0.02)
    assert float(load[fab.bottleneck_family]) == pytest.approx(100 * fab.bottleneck_load)


def test_a_high_mix_fab_with_ten_products_loads_and_runs(tmp_path: Path) -> None:
    """Any SMT2020 model must load, not only HVLM: a low-volume / high-mix shape
    (10 products on different routes, as in SMT2020's LVHM) written in the format."""
    fab = generate_fab(tool_groups=30, steps=150, products=10, seed=3)
    m = load_smt2020(write_smt2020(fab, tmp_path / "lvhm_like"))
    assert len(m.routes) == 10
    res = simulate(m, SimOptions(days=30.0), seed=1)
    assert res.events > 0
    assert set(res.lot_types["name"]) <= {r.name for r in m.releases}
    assert res.counters["completed"] > 0
