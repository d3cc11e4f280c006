"""The plan read-out: shares of years that add nothing."""

from __future__ import annotations

import json
import math

from fabnet.plan import PlanOptions, plan
from fabnet.scenario import load_scenario
from tests.cli_runner import fabnet

#: Demand flat at the 2025 level: what is bought in 2025 (4-year life) serves 2026-2027 too.
FLAT = ["--set", "demand.compute.fleet.installed_pflops={2025: 1000}"]


def test_a_year_without_new_compute_has_undefined_shares() -> None:
    sc = load_scenario("toy", overrides={"demand.compute.fleet.installed_pflops": {2025: 1000}})
    p = plan(sc, PlanOptions(relax=True))
    vendor = p.shares[p.shares["kind"] == "vendor"]
    by_year = vendor.groupby("year")["share"]
    assert math.isclose(by_year.sum()[2025], 1.0, rel_tol=1e-6)
    empty = [y for y, sh in by_year if sh.isna().all()]
    assert empty and 2025 not in empty  # 2026-2027 add nothing: NaN, not 0 %
    years = {y["year"]: y for y in p.summary()["years"]}
    assert all(math.isnan(v) for v in years[empty[0]]["vendor_share"].values())


def test_undefined_shares_print_as_null_and_dash() -> None:
    r = fabnet("plan", "toy", "--relax", "--json", *FLAT)
    assert r.returncode == 0, r.stderr
    years = {y["year"]: y for y in json.loads(r.stdout)["years"]}
    assert None in years[2027]["vendor_share"].values()
    r = fabnet("plan", "toy", "--relax", *FLAT)
    assert r.returncode == 0, r.stderr
    row = next(line for line in r.stdout.splitlines() if line.lstrip("│ ").startswith("2027"))
    assert "–" in row
