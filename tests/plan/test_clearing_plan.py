"""Clearing functions in the planner on a single-site toy, checked by hand.

One logic site of capacity K = 1200 wafers a year, a product made of its dies with no HBM and
no packaging, a unit demand. The process's cycle time is one period (365.25 days), so the
fixed model delivers a wafer's dies one period after its start. The operating curve is
linear below half load (flow factor 1: the clearing function X ≤ W, the fixed lead time)
and reaches flow factor 2 at 90 % load: X ≤ 0.5 + (0.4 / 1.3)(W − 0.5) in units of K.
"""

from __future__ import annotations

import numpy as np
import pytest

from fabnet.errors import PlanError, ScenarioError
from fabnet.plan import PlanOptions, plan
from fabnet.plan.sets import build_data
from fabnet.scenario import load_scenario, scenario_from_text
from fabnet.scenario.io import dump_scenario
from fabnet.scenario.schema import OperatingCurve, QueueingCurve

K = 1200.0  # wafers a year: 100 wafer starts per month
YEARS = list(range(2025, 2033))

CURVE = """
    operating_curve:
      points:
        - {load: 0.5, throughput_frac: 0.5, flow_factor: 1.0}
        - {load: 0.9, throughput_frac: 0.9, flow_factor: 2.0}
"""


def _toy(demand_wafers: dict[int, float], curve: str = CURVE) -> str:
    """The toy scenario with a demand of ``demand_wafers`` × good dies per wafer units."""
    return f"""
name: clearing-toy
horizon: {{first_year: {YEARS[0]}, last_year: {YEARS[-1]}, period: year}}
discount_rate: 0.05
designer: acme
companies:
  - {{id: acme, name: Acme, roles: [designer], country: US}}
  - {{id: fabco, name: FabCo, roles: [foundry], country: TW}}
processes:
  - id: n3
    kind: logic
    owner: fabco
    wafer_price_usd: {{2025: 20000}}
    d0_per_cm2: {{2025: 0.0}}
    yield_model: poisson
    edge_exclusion_mm: 0
    cycle_time_days: 365.25
{curve}
sites:
  - {{id: fab-a, owner: fabco, country: TW, processes: [n3], capacity_wspm: {{2025: 100}}}}
products:
  - id: soc
    designer: acme
    die_area_mm2: 100
    process_options: [{{process: n3}}]
    pflops_bf16: 0.0
    power_w: 5
    service_life_years: 1
    lead_time_days: 0
demand:
  units:
    - id: phones
      product: soc
      units_per_year: {{{", ".join(f"{y}: DIES*{demand_wafers.get(y, 0.0)}" for y in YEARS)}}}
      unmet_penalty_usd_per_unit: 1.0e6
"""


def _scenario(demand_wafers: dict[int, float], curve: str = CURVE):  # type: ignore[no-untyped-def]
    probe = scenario_from_text(_toy({}, curve).replace("DIES*", ""))
    dies = float(build_data(probe).route_yield_units[0, 0])
    text = _toy(demand_wafers, curve)
    for y in YEARS:
        w = demand_wafers.get(y, 0.0)
        text = text.replace(f"{y}: DIES*{w}", f"{y}: {dies * w}")
    return scenario_from_text(text), dies


def _starts(p) -> np.ndarray:  # type: ignore[no-untyped-def]
    s = p.supply[p.supply["source_kind"] == "own"].groupby("year")["wafers"].sum()
    return np.array([float(s.get(y, 0.0)) for y in YEARS])


def test_low_load_plan_equals_the_fixed_lead_time_plan() -> None:
    """At 40 % load the clearing function is X ≤ W: a one-period lead time, as fixed."""
    demand = dict.fromkeys(YEARS[1:], 0.4 * K)
    sc, _ = _scenario(demand)
    fixed = plan(sc, PlanOptions(lead_times="fixed"))
    load = plan(sc, PlanOptions(lead_times="load"))
    assert fixed.status == load.status == "optimal"
    np.testing.assert_allclose(_starts(load), _starts(fixed), atol=1e-6)
    # the model runs a year past the horizon (docs/planner.md, End of the horizon): the last
    # year's starts serve the extension's demand, held at the last year's
    np.testing.assert_allclose(_starts(fixed), [0.4 * K] * len(YEARS), atol=1e-6)
    assert load.objective_usd == pytest.approx(fixed.objective_usd, rel=1e-9)
    assert not len(fixed.clearing)
    c = load.clearing.set_index("year")
    served = YEARS[1:]
    np.testing.assert_allclose(c.loc[served, "load"], 0.4, atol=1e-9)
    # Little's law: WIP at the start of the period / output = 1 period = 365.25 days
    np.testing.assert_allclose(c.loc[served, "cycle_time_days"], 365.25, rtol=1e-9)
    np.testing.assert_allclose(c.loc[YEARS[:-1], "wip_wafers"], 0.4 * K, atol=1e-6)


def test_high_load_delays_output_by_littles_law() -> None:
    """At 90 % load the flow factor is 2: output needs WIP of 2 periods of output (1.8 K)
    at the start of each period, so the pipeline must be filled two years ahead."""
    first = 2028
    demand = {y: 0.9 * K for y in YEARS if y >= first}
    sc, dies = _scenario(demand)
    fixed = plan(sc, PlanOptions(lead_times="fixed"))
    load = plan(sc, PlanOptions(lead_times="load"))
    assert fixed.unmet["unmet"].sum() == pytest.approx(0.0, abs=1e-6)
    assert load.unmet["unmet"].sum() == pytest.approx(0.0, abs=1e-6)
    fx, ld = _starts(fixed), _starts(load)
    # fixed: starts one year ahead of each year's demand
    np.testing.assert_allclose(fx[YEARS.index(first) - 1 : -1], 0.9 * K, atol=1e-6)
    assert fx[: YEARS.index(first) - 1].sum() == pytest.approx(0.0, abs=1e-6)
    # clearing: by the start of the first year of demand, WIP 0.9 K × flow factor 2 = 1.8 K
    # has been started (Little's law: WIP = throughput × cycle time, cycle time 2 periods)
    before = ld[: YEARS.index(first)].sum()
    assert before == pytest.approx(1.8 * K, rel=1e-6)
    assert fx[: YEARS.index(first)].sum() == pytest.approx(0.9 * K, rel=1e-6)
    c = load.clearing.set_index("year")
    steady = [y for y in YEARS if first <= y < YEARS[-1]]
    np.testing.assert_allclose(c.loc[steady, "load"], 0.9, atol=1e-9)
    np.testing.assert_allclose(c.loc[steady, "cycle_time_days"], 2 * 365.25, rtol=1e-6)
    np.testing.assert_allclose(c.loc[steady, "flow_factor"], 2.0, rtol=1e-6)
    # the same output: a one-period-longer pipeline costs 0.9 K more wafers in total
    out = c["output_wafers"].to_numpy()
    np.testing.assert_allclose(out[YEARS.index(first) :], 0.9 * K, atol=1e-6)
    assert dies > 0
    summary = load.summary()
    row = next(r for r in summary["sites"] if r["year"] == first)
    assert row["site"] == "fab-a"
    assert row["load"] == pytest.approx(0.9)
    assert row["cycle_time_days"] == pytest.approx(730.5)
    assert "sites" not in fixed.summary()


def test_queueing_curve_and_site_override() -> None:
    """A site's curve (here G/G/m) wins over its process's (the linear CURVE)."""
    sc, _ = _scenario(dict.fromkeys(YEARS[2:], 0.5 * K))
    queueing = sc.model_copy(
        update={
            "sites": [
                sc.sites[0].model_copy(
                    update={
                        "operating_curve": OperatingCurve(
                            queueing=QueueingCurve(tools=2, ca2=1.0, ce2=1.0, loads=[0.3, 0.6, 0.9])
                        )
                    }
                )
            ]
        }
    )
    # through YAML and back: a site's curve is a scenario field like any other
    queueing = scenario_from_text(dump_scenario(queueing))
    assert queueing.sites[0].operating_curve is not None
    p = plan(queueing, PlanOptions(lead_times="load"))
    assert p.status == "optimal"
    curve = p.clearing_curve
    u = np.array([0.3, 0.6, 0.9])
    # Sakasegawa, m = 2: FF = 1 + u^(√6 − 1) / (2 (1 − u))
    np.testing.assert_allclose(curve["flow_factor"], 1 + u ** (np.sqrt(6) - 1) / (2 * (1 - u)))
    c = p.clearing.set_index("year")
    # a flow factor above 1 at every load: the cycle time exceeds the raw process time
    assert (c.loc[YEARS[2:-1], "flow_factor"] > 1.0).all()


def test_bad_curve_points_are_scenario_errors() -> None:
    bad = CURVE.replace("flow_factor: 2.0", "flow_factor: 0.5")
    with pytest.raises(ScenarioError, match="flow_factor"):
        _scenario({}, bad)
    bad = CURVE.replace("load: 0.9, throughput_frac: 0.9", "load: 1.2, throughput_frac: 0.9")
    with pytest.raises(ScenarioError, match="load"):
        _scenario({}, bad)
    nonmono = CURVE.replace(
        "{load: 0.9, throughput_frac: 0.9, flow_factor: 2.0}",
        "{load: 0.9, throughput_frac: 0.4, flow_factor: 2.0}",
    )
    sc, _ = _scenario({2027: 100.0}, nonmono)
    with pytest.raises(PlanError, match="not monotone") as exc:
        plan(sc, PlanOptions(lead_times="load"))
    assert "process n3" in str(exc.value)
    both = CURVE + "      queueing: {tools: 2}\n"
    with pytest.raises(ScenarioError, match="exactly one"):
        _scenario({}, both)


def test_curve_file_is_read_relative_to_the_scenario(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "curve.csv").write_text(
        "load,throughput_frac,flow_factor,cycle_time_days\n0.5,0.5,1.0,10\n0.9,0.9,2.0,20\n"
    )
    text = _toy({}, "    operating_curve: {file: curve.csv}\n").replace("DIES*", "")
    (tmp_path / "s.yaml").write_text(text)
    sc = load_scenario(tmp_path / "s.yaml")
    pts = sc.process("n3").operating_curve.points  # type: ignore[union-attr]
    assert pts is not None and [p.flow_factor for p in pts] == [1.0, 2.0]
    (tmp_path / "curve.csv").write_text("load,throughput_frac,flow_factor\n0.5,0.5,1.0\n1.3,x,2\n")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(tmp_path / "s.yaml")
    msg = str(exc.value)
    assert "curve.csv:3" in msg and "throughput_frac 'x' is not a number" in msg
    assert "load 1.3 is out of range" in msg
    (tmp_path / "curve.csv").write_text("load,flow_factor\n0.5,1.0\n")
    with pytest.raises(ScenarioError, match="lacks column"):
        load_scenario(tmp_path / "s.yaml")
    with pytest.raises(ScenarioError, match="needs a scenario file"):
        scenario_from_text(text)  # text (an upload): no folder to read a curve file from
    (tmp_path / "curve.csv").unlink()
    with pytest.raises(ScenarioError, match="cannot read operating curve file"):
        load_scenario(tmp_path / "s.yaml")


def test_options_refuse_unknown_lead_times() -> None:
    with pytest.raises(PlanError, match="lead times"):
        PlanOptions(lead_times="sometimes")  # type: ignore[arg-type]


def test_stored_plan_report_shows_the_sites_on_their_curves(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fabnet.report import plan_report_html
    from fabnet.store import Store

    sc, _ = _scenario(dict.fromkeys(YEARS[3:], 0.9 * K))
    opts = PlanOptions(lead_times="load")
    result = plan(sc, opts)
    store = Store(tmp_path / "runs.duckdb")
    run_id = store.save_run(
        kind="plan",
        scenario=sc,
        options=opts.as_dict(),
        status=result.status,
        timings_s=result.timings_s,
        summary=result.summary(),
        tables=result.tables(),
        messages=result.messages,
    )
    run = store.load_run(run_id)
    back = run.table("clearing")
    assert len(back) == len(YEARS) and set(back["site"]) == {"fab-a"}
    assert run.options["lead_times"] == "load"
    html = plan_report_html(run)
    assert "Load-dependent lead times: the plan on each site" in html
    assert "fab-a plan" in html


def test_cli_lead_times_load_json_and_errors(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    import json

    from tests.cli_runner import run_cli

    sc, _ = _scenario(dict.fromkeys(YEARS[3:], 0.9 * K))
    path = tmp_path / "toy.yaml"
    path.write_text(dump_scenario(sc))
    code, out, err = run_cli(
        ["plan", str(path), "--lead-times", "load", "--json", "--no-store"], capsys
    )
    assert code == 0, err
    sites = json.loads(out)["sites"]
    row = next(r for r in sites if r["year"] == YEARS[4])
    assert row["site"] == "fab-a" and row["load"] == pytest.approx(0.9)
    assert row["cycle_time_days"] == pytest.approx(730.5)
    assert row["wip_wafers"] == pytest.approx(1.8 * K)
    code, out, _ = run_cli(["plan", str(path), "--json", "--no-store"], capsys)
    assert code == 0 and "sites" not in json.loads(out)
    code, out, err = run_cli(
        ["plan", str(path), "--lead-times", "load", "--stochastic", "4", "--no-store"], capsys
    )
    assert code == 2 and "fixed lead times" in out + err
    code, out, err = run_cli(["plan", str(path), "--lead-times", "sometimes"], capsys)
    assert code == 2
