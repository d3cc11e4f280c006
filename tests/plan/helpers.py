"""Small hand-written scenarios for the planner tests (built as dicts, validated like files)."""

from __future__ import annotations

import copy
from typing import Any

from fabnet.scenario.io import Source, validate_source
from fabnet.scenario.schema import Scenario

#: One designer, one foundry site, one GPU offer, one bare accelerator (no HBM, no
#: packaging), three years, no discounting. Round numbers so optima can be worked by hand.
BASE: dict[str, Any] = {
    "name": "hand",
    "horizon": {"first_year": 2025, "last_year": 2027, "period": "year"},
    "discount_rate": 0.0,
    "designer": "acme",
    "companies": [
        {"id": "acme", "name": "Acme", "roles": ["designer"], "country": "US"},
        {"id": "fabco", "name": "FabCo", "roles": ["foundry"], "country": "TW"},
        {"id": "gpuco", "name": "GPUCo", "roles": ["gpu_vendor"], "country": "US"},
    ],
    "processes": [
        {
            "id": "n3",
            "kind": "logic",
            "owner": "fabco",
            "wafer_price_usd": {2025: 10000},
            "d0_per_cm2": {2025: 0.0},
            "yield_model": "poisson",
            "edge_exclusion_mm": 0,
            "cycle_time_days": 0,
        }
    ],
    "sites": [
        {
            "id": "fab-a",
            "owner": "fabco",
            "country": "TW",
            "processes": ["n3"],
            "capacity_wspm": {2025: 100},
        }
    ],
    "products": [
        {
            "id": "acc",
            "designer": "acme",
            "die_area_mm2": 400,
            "process_options": [{"process": "n3"}],
            "pflops_bf16": 1.0,
            "service_life_years": 1,
            "lead_time_days": 0,
        }
    ],
    "offers": [
        {
            "id": "gpu",
            "vendor": "gpuco",
            "price_usd": {2025: 30000},
            "pflops_bf16": 1.0,
            "service_life_years": 1,
            "lead_time_days": 0,
        }
    ],
    "demand": {
        "compute": [
            {
                "id": "fleet",
                "installed_pflops": {2025: 1000},
                "unmet_penalty_usd_per_pflops_year": 1.0e6,
            }
        ]
    },
}

#: Gross dies of a 400 mm² die on a 300 mm wafer without edge exclusion (textbook formula).
DIES_400 = 143.0


def scenario(changes: dict[str, Any] | None = None, base: dict[str, Any] | None = None) -> Scenario:
    """The base scenario with ``changes`` (override paths as in ``--set``) applied."""
    data = copy.deepcopy(base or BASE)
    src = Source(name="<test>", data=data)
    if changes:
        from fabnet.scenario.io import apply_overrides

        src = apply_overrides(src, changes, "test")
    return validate_source(src)


#: A candidate foundry site for BASE: 100 wafers/month after a one-year build and a
#: two-year ramp, 1 M USD.
CANDIDATE = {
    "id": "fab-b",
    "owner": "fabco",
    "country": "US",
    "processes": ["n3"],
    "capacity_wspm": {2025: 100},
    "status": "candidate",
    "capex_usd": 1.0e6,
    "build_years": 1,
    "ramp_years": 2,
    "earliest_start_year": 2025,
}
