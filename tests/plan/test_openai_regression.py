"""Regression on the built-in openai-2024 plan: its key outputs, recorded.

When a change to the model or to the scenario moves these numbers on purpose, update
them here and write the reason in the log below (newest first), so a reader can tell a
deliberate change from a regression.

Log:
- 2026-12-04, issue 7 §4 site salvage: candidate sites have a 25-year service life
  (assumption) and are credited the straight-line share of their capex for the life left
  after 2047 (docs/planner.md, "End of the horizon"): salvage -50.1 -> -56.7 bn, total 694.5
  -> 687.9 bn PV (the five builds, online 2028-2035, keep 6-13 of their 25 years); builds,
  flows and shares unchanged (no build was one credit away from moving).
- 2026-12-04, issue 7 §4 end of horizon (docs/planner.md, "End of the horizon"): the model
  runs one year past 2047 (the longest wafer-to-service time, 1 year in yearly periods) with
  2047's demand, prices and capacities held there, and the tables are cut back to 2047.
  Logic and HBM wafers are now started in 2047 (270.8 k and 1 397 k, as in 2042-2046; before:
  0): their units serve 2048. They are work in progress at the horizon, credited in full as
  salvage, so wafers +1.9 bn, HBM +2.8 bn, design partner +4.7 bn and salvage -38.2 -> -50.1
  bn PV; GPUs 224.4 -> 227.2 bn (the last years' orders move). The total (the horizon's cost
  net of the salvage) is unchanged to 0.01 % (694.49 bn), builds and shares unchanged.
- 2026-12-04, issue 7 §1 (believable economics and ramps): the scenario and model gained,
  each measured alone by switching it off in the new scenario (PV bn USD, new total 732.0):
  (a) design partner markup 100 % on own accelerators (new cost category "design_partner",
  189.3 bn): +189.9 bn; own chips still cost ~5.5 k USD per PF/s against ~10 k for GPUs, so
  the shares barely move (openai 83.2 -> 83.1 %);
  (b) the 10 GW Nvidia and 6 GW AMD take-or-pay commitments (2.37 M Rubin-class and 1.83 M
  MI450-class units over 2026-2029, AMD's MI450-class is a new offer): +23.9 bn; Nvidia
  keeps 24-65 % of new compute in 2027-2030 and AMD 15-38 % (before: 0 % from 2027);
  (c) co-funded candidates pay capex x reservable share (TSMC Arizona's later phase: 5.5 ->
  1.1 M USD per usable wafer a month, the reference's ~1 M): -34.4 bn, capex 51.6 -> 19.6 bn;
  without it the plan builds Samsung Yongin 2 (2029) and Arizona's later phase in 2028;
  with it SK hynix Yongin 2 and 3 (2030) and Arizona's later phase in 2026;
  (d) xpu ramps: units capped by Broadcom's 10 GW by end-2029 (+2.9 bn), 1.5x D0 in a
  product's first year of wafers (+2.0 bn), HBM makers' share capped at 7 % -> 16 % (+1.2
  bn), tape-outs per process (+0.2 bn, porting 0.21 -> 0.22 bn: the tape-out moved from the
  option to the process; xpu2's N2 port, now 117 M USD, is no longer used).
  Together 489.2 -> 732.0 bn USD; openai 88.6 -> 83.1 %, nvidia 11.2 -> 7.4 %, amd 0 -> 9.5 %.
- 2026-12-04, issue 7 §4 (measured alone, on the scenario before issue 7 §1; merged after
  it the salvage is -38.2 bn and the total 732.0 -> 694.5 bn, builds and shares unchanged): the salvage value at the end of the horizon (docs/planner.md, "End
  of the horizon"; `--terminal none` gives the numbers before). Units and GPUs serving past
  2047 are credited the share of their cost for those years (salvage -29.5 bn PV), so late
  purchases are no longer over-charged: 489.2 -> 460.8 bn USD. Candidate sites are not
  credited (no site life in the scenario), so late builds lose ground to GPUs and units:
  SK hynix Yongin 2 (2029) and Micron Boise (2032) give way to Samsung Pyeongtaek new 3
  (2029); capex 49.5 -> 44.7 bn, GPUs 114.8 -> 121.6 bn, nvidia 11.2 -> 12.3 % of new
  compute. (Builds may now start in any period on request; yearly plans are unchanged.)
- 2026-11-29, PLAN-2: three model changes, measured one at a time:
  (a) energy in the objective (accelerators in service draw power x PUE 1.3 at 0.08 USD/kWh;
  new cost category "energy"): alone 401.0 -> 484.8 bn USD, of which energy 82.6 bn;
  own chips (3.1-5.5 PF/kW) gain on GPUs (1.4-2.25 PF/kW), SK hynix Yongin 2 starts in
  2029 instead of 2030 (more own HBM4 chips earlier);
  (b) openai-xpu2 on N2 is 3.8 PF / 1,230 W instead of A16's 4.4 PF / 1,060 W: alone
  401.0 -> 403.9 bn USD; before, xpu2 was made on N2 only (as fast, cheaper wafers), now it
  is taped out on A16 too and N2 is a 2027 stop-gap (before A16 is available);
  (c) the 2024 fleet is an installed base instead of being subtracted from demand: the
  same constraint, no change in cost.
  Together: 489.2 bn USD; openai share of new compute 88.8 -> 88.6 %, nvidia 11.0 -> 11.2 %.
- 2026-11-29, first recording (PLAN-MODEL): planner as in docs/planner.md, scenario at
  commit 5706923 ("OSAT 2025 capacity is the geometric mean it claims").
"""

from __future__ import annotations

import pytest

from fabnet.economics import economics_table
from fabnet.plan import Plan, PlanOptions, plan
from fabnet.scenario import load_scenario
from fabnet.scenario.schema import series_at


@pytest.fixture(scope="module")
def result() -> Plan:
    return plan(load_scenario("openai-2024"))


def test_status_and_cost(result: Plan) -> None:
    assert result.status == "optimal"
    assert result.mip_gap is not None and result.mip_gap <= 0.001 + 1e-9
    # the MILP stops within 0.1 %, so the recorded cost is matched to 0.2 %
    # PLAN-2: 4.0103e11 -> 4.8918e11, energy (+83.8 bn) and the slower N2 port (+2.9 bn)
    # issue 7: 4.8918e11 -> 7.3203e11, mostly the design partner (+190 bn) and the GPU
    # commitments (+24 bn), less co-funded capex (-34 bn)
    # issue 7 §4 (merged after §1): 7.3203e11 -> 6.9449e11, the salvage value (-38.2 bn);
    # builds, shares and the other categories move by less than the tolerances below
    # issue 7 §4 end of horizon: unchanged (the 2047 wafers are credited as work in
    # progress: see the log); site salvage: 6.9449e11 -> 6.8791e11 (-6.6 bn, the capex
    # share of the built sites' life left after 2047)
    assert result.objective_usd == pytest.approx(6.8791e11, rel=2e-3)


def test_build_schedule(result: Plan) -> None:
    builds = {r.site: r.start_period for r in result.builds.itertuples()}
    assert builds == {
        "amkor-az": "2026",  # issue 7: was 2025; committed GPUs fill 2027-2028, so the own
        # chips' packaging is needed a year later
        "tsmc-f21-p4": "2026",  # issue 7: was 2027; co-funded (6.6 instead of 33 bn USD)
        "skhynix-yongin-2": "2030",  # PLAN-2: was 2030, then 2029; issue 7: 2030 again
        # (committed GPUs and the unit ramp hold own HBM4 chips back until 2030)
        "skhynix-yongin-3": "2030",  # issue 7: new; co-funded at half the capex (c)
        "tsmc-ap-tw-new": "2031",  # issue 7: was 2032; co-funded at 30 % of the capex
        # issue 7: micron-boise (2032) no longer built: two co-funded Yongin fabs instead
    }


def test_dependence_and_unmet(result: Plan) -> None:
    added = result.compute.groupby("vendor")["pflops_added"].sum()
    share = added / added.sum()
    # PLAN-2: 0.888 -> 0.886 and 0.110 -> 0.112 (the N2 port gives less compute in 2027)
    # issue 7: 0.886 -> 0.831, 0.112 -> 0.074, amd 0.002 -> 0.095: the commitments (b)
    assert share["openai"] == pytest.approx(0.831, abs=0.01)
    assert share["nvidia"] == pytest.approx(0.074, abs=0.01)
    assert share["amd"] == pytest.approx(0.095, abs=0.01)
    unmet = result.unmet.groupby("kind")["unmet"].sum()
    # 2025 only: nothing ordered in the horizon arrives in time and GPUs are allocated
    assert unmet["compute"] == pytest.approx(50350, rel=1e-3)
    assert unmet["units"] == pytest.approx(0, abs=1)
    assert any(m.startswith("In 2025 up to 50.4 EFLOP/s") for m in result.messages)


def test_cost_breakdown(result: Plan) -> None:
    pv = result.costs.groupby("category")["cost_pv_usd"].sum() / 1e9
    # PLAN-2: "was" = the first recording; (a) energy alone, (b) the slower N2 port alone,
    # measured one at a time (bn USD present value)
    # issue 7: "issue 7" gives the PLAN-2 figure and the main cause of the change
    expected = {
        "gpus": 227.2,  # end of horizon: was 224.4 (2047 wafers; see the log)
        # issue 7: was 114.8; the commitments, 2.37 M Rubin-class and 1.83 M
        # MI450-class units (b) (+43 bn alone), and own chips capped by the ramp
        "design_partner": 194.0,  # end of horizon: was 189.3 (2047 wafers; see the log)
        # issue 7: new category, 100 % on own chips' cost (a)
        "energy": 89.1,  # issue 7: was 83.8; more GPUs (1.4-2.2 PF/kW) in 2027-2030
        "hbm": 82.4,  # end of horizon: was 79.6 (2047 wafers; see the log)
        # issue 7: was 96.8; fewer own chips while the commitments run
        "wafers": 67.8,  # end of horizon: was 65.9 (2047 wafers; see the log)
        # issue 7: was 69.4; as HBM
        "packaging": 40.1,  # issue 7: was 46.0; as HBM
        "capex": 19.6,  # issue 7: was 49.5; co-funded candidates (c)
        "assembly": 19.4,  # issue 7: was 24.3; as HBM
        "unmet_penalty": 4.49,  # unchanged: 2025 only, nothing arrives in time
        "porting": 0.22,  # issue 7: was 0.21; tape-outs per process (d)
        "salvage": -56.7,  # issue 7 §4: new category, service after 2047 credited (with the
        # design partner's markup, -29.5 bn on the scenario before §1; -38.2 bn before the
        # 2047 wafer starts, work in progress, were made and credited; -50.1 bn before the
        # built sites' life left was credited)
    }
    for cat, bn in expected.items():
        assert pv[cat] == pytest.approx(bn, rel=0.05, abs=0.05), cat


def test_installed_base_is_a_source_but_not_new_compute(result: Plan) -> None:
    inst = result.compute[result.compute["source_kind"] == "installed"].set_index("period")
    assert inst.loc["2024", "pflops_installed"] == pytest.approx(600000)
    assert inst.loc["2026", "pflops_installed"] == pytest.approx(360000)
    assert inst.loc["2029", "pflops_installed"] == pytest.approx(0)
    assert inst["pflops_added"].sum() == 0
    # 2024's demand is met by the installed base alone
    unmet = result.unmet[result.unmet["kind"] == "compute"].set_index("period")
    assert unmet.loc["2024", "unmet"] == pytest.approx(0, abs=1e-6)


def test_n2_port_of_xpu2_is_slower() -> None:
    # PLAN-EDGES: the base plan no longer uses the N2 port (see test_cost_breakdown), so the
    # per-unit figures are read from the plan without the salvage value, which does
    result = plan(load_scenario("openai-2024"), PlanOptions(terminal="none"))
    sup = result.supply[result.supply["source"] == "openai-xpu2"]
    per_unit = sup.groupby("process")[["pflops_added", "units"]].sum()
    per_unit = per_unit["pflops_added"] / per_unit["units"]
    assert per_unit["tsmc-a16"] == pytest.approx(4.4)
    # issue 7: the N2 stop-gap is no longer used (committed GPUs cover 2027-2028 and the
    # port costs 117 M USD of NRE); its 3.8 PF per unit is checked in the economics table
    assert "tsmc-n2" not in per_unit.index
    econ = economics_table(load_scenario("openai-2024"), [2028])
    xpu2 = econ[econ["id"] == "openai-xpu2"].set_index("process")["pflops"]
    assert xpu2.to_dict() == {"tsmc-a16": 4.4, "tsmc-n2": 3.8}


def test_commitments_are_taken_and_the_gpu_vendors_keep_a_share(result: Plan) -> None:
    """issue 7: the 10 GW Nvidia and 6 GW AMD commitments are all taken (no unit is paid
    for and left), so Nvidia and AMD keep a share of new compute in 2027-2030."""
    offers = result.supply[result.supply["source_kind"] == "offer"]
    units = offers.groupby(["source", "year"])["units"].sum()
    for year, n in {2026: 237000, 2027: 700000, 2028: 700000, 2029: 740000}.items():
        assert units[("nvidia-rubin", year)] >= n - 1
    for year, n in {2026: 305000, 2027: 509000, 2028: 509000, 2029: 508500}.items():
        assert units[("amd-mi450", year)] >= n - 1
    new = result.compute[result.compute["source_kind"] != "installed"]
    by_year = new.groupby(["year", "vendor"])["pflops_added"].sum().unstack(fill_value=0)
    share = by_year.div(by_year.sum(axis=1), axis=0)
    for year in range(2027, 2031):
        assert share.loc[year, "nvidia"] > 0.2 and share.loc[year, "amd"] > 0.1, year


def test_own_chips_ramp(result: Plan) -> None:
    """issue 7: the first own chip starts small (before: 2.07 M units from the tape-out
    year's wafers) and stays within Broadcom's 10 GW by end-2029 (before: 9.4 M units by
    2030, about 7 GW of chips)."""
    own = result.supply[result.supply["source"].str.startswith("openai-xpu")]
    units = own.groupby("year")["units"].sum()
    assert units[2026] == pytest.approx(276000, rel=0.05)  # wafer starts of 2026, in 2027
    assert units[units.index <= 2028].sum() <= 1378000 + 403000 + 1210000 + 1
    # accelerator power of the units made from wafers of 2026-2028 (in service by 2029)
    by_product = own[own["year"] <= 2028].groupby("source")["units"].sum()
    watts = by_product.get("openai-xpu1", 0) * 620 + by_product.get("openai-xpu2", 0) * 1060
    assert watts * 2.34 <= 10e9  # facility W of the programme by end-2029


def test_hbm_share_of_the_world(result: Plan) -> None:
    """issue 7: the designer's HBM wafers are at most 7 % of each maker's existing and
    planned capacity until 2027 and 16 % by 2030 (before: 74.5 k wafers a month in 2027)."""
    s = load_scenario("openai-2024")
    util = result.utilisation[result.utilisation["site_kind"] == "hbm"]
    for year, cap in {2026: 0.07, 2027: 0.07, 2030: 0.16}.items():
        used = util[util["year"] == year].groupby("site")["used_wafers"].sum()
        for maker in ("skhynix", "samsung", "micron"):
            sites = [
                st for st in s.sites
                if st.owner == maker and st.id in used.index and st.status.value != "candidate"
            ]  # fmt: skip
            total = sum(float(series_at(st.capacity_wspm, year + 0.5)[0]) * 12 for st in sites)
            assert used[[st.id for st in sites]].sum() <= cap * total * (1 + 1e-6), (year, maker)


def test_nvidia_commitment_against_a_tight_cap_is_explained() -> None:
    """The 10 GW Rubin commitment (in the base since issue 7; before, variant nvidia-10gw)
    under a 30 % Nvidia cap: part of the 2027 orders cannot be taken and the diagnosis says
    which commitment and cap clash."""
    s = load_scenario("openai-2024", overrides=["policies.max_vendor_share.nvidia=0.3"])
    p = plan(s)
    msg = next(m for m in p.messages if m.startswith("The commitment to buy 700,000 nvidia-rubin"))
    assert "in 2027 (2,800 EFLOP/s) alone is" in msg
    assert "of the new compute arriving in 2028, above the 30 % cap on nvidia" in msg
    assert "paid for and not taken; lower the commitment or raise the cap" in msg


def test_wafers_are_started_in_the_last_year(result: Plan) -> None:
    """issue 7 §4: 2047's logic and HBM wafers make units that serve 2048 and after (before:
    none was started in 2047, its units arrived outside the model)."""
    used = result.utilisation.groupby(["year", "site_kind"])["used_wafers"].sum()
    for kind in ("logic", "hbm", "packaging"):
        assert used[(2047, kind)] > 0.5 * used[(2046, kind)], kind
    assert result.costs["year"].max() == 2047 and result.supply["year"].max() == 2047
