"""What one sampled disruption timeline does to the planner's world, in planner index space.

This is the contract between the sampler (:mod:`fabnet.risk.sampler`: catalogue + seed +
sample index → :class:`Effects`) and the recourse evaluation (:mod:`fabnet.risk.recourse`:
a plan's fixed first stage + :class:`Effects` → :class:`Outcome`). Arrays are indexed like
:class:`fabnet.plan.sets.PlanData` (sites ``S``, routes ``R``, offers ``O``, compute demands
``D``, unit demands ``U``, periods ``T``). A multiplier of 1 everywhere is the undisturbed
world.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F = npt.NDArray[np.float64]


@dataclass(frozen=True)
class EventHit:
    """One drawn occurrence of a catalogue event."""

    event: str  #: catalogue event id, e.g. ``taiwan-quake``
    start_year: float  #: calendar time of the onset, years (e.g. 2031.42)
    targets: tuple[str, ...]  #: ids of what it hit (sites, offers, processes, demands)


@dataclass(frozen=True)
class Effects:
    """Per-period multipliers of one sample (period averages of the recovery curves)."""

    #: (S, T) share of each site's capacity available in t, 0–1.
    site_capacity: F
    #: (R, T) share of the good output per wafer started on route r in t that survives
    #: (yield excursions through a D0 multiplier, WIP scrapped at the onset), 0–1.
    route_output: F
    #: (O, T) share of each offer's allocation still sold in t (0: withdrawn, e.g. export rule).
    offer_allocation: F
    #: (D, T) multiplier on the PFLOP/s each compute demand requires (demand shock, may be > 1).
    compute_demand: F
    #: (U, T) multiplier on the units each unit demand requires.
    unit_demand: F
    #: First period any multiplier differs from 1 (``T`` when nothing happened): the recourse
    #: re-optimises flows from here on; earlier periods stay as planned (nobody knew).
    first_period: int
    #: The events drawn, in order of onset.
    events: tuple[EventHit, ...] = ()

    @classmethod
    def none(
        cls,
        n_sites: int,
        n_routes: int,
        n_offers: int,
        n_compute: int,
        n_units: int,
        n_periods: int,
    ) -> Effects:
        """The undisturbed world (every multiplier 1, ``first_period = T``)."""

        def ones(n: int) -> F:
            return np.ones((n, n_periods))

        return cls(
            ones(n_sites),
            ones(n_routes),
            ones(n_offers),
            ones(n_compute),
            ones(n_units),
            n_periods,
            (),
        )
