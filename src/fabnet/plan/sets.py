"""Index sets and coefficient arrays of the planner, computed from a scenario with numpy.

Everything the model needs is put into flat arrays here, once, so that the model
builders (:mod:`fabnet.plan.variables`, :mod:`~fabnet.plan.constraints`, ...) never
loop over periods or sites in Python. Names follow docs/planner.md:

* periods ``t`` (``T`` of them, each ``L`` years long), calendar years ``y``;
* sites ``f``; candidate sites ``c`` (a subset of the sites);
* routes ``r``: a (site, product, process) a wafer can be started on. Logic routes make
  the product's dies, HBM routes its stacks, packaging routes its packages; all share
  their site's capacity in wafers;
* products ``p`` (own designs), offers ``o`` (GPUs for sale), porting options ``z``.

A product whose process options differ in performance or power (``ProcessOption.pflops_bf16``
/ ``power_w``) is split into *versions*, one per group of options with the same performance;
the model's ``product`` dimension runs over versions (``product_ids``; the scenario's product is
``product_source``). A product without such overrides is one version with its own id. ("Build"
means only the build of a candidate site.)

:func:`build_data` assembles :class:`PlanData` from one small typed part per entity
(:class:`PeriodSets`, :class:`SiteSets`, :class:`CandidateSets`, :class:`ProductSets`,
:class:`OptionSets`, :class:`RouteSets`, :class:`OfferSets`, :class:`DemandSets`,
:class:`PolicySets`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from fabnet.economics import d0_learning_factor, die_yield, gross_dies_per_wafer
from fabnet.economics.cost import HOURS_PER_YEAR
from fabnet.plan.clearing import ClearingData
from fabnet.scenario.schema import (
    Period,
    Process,
    ProcessKind,
    Scenario,
    SiteStatus,
    period_labels,
    period_midpoints,
    series_at,
    share_cap_series,
)
from fabnet.scenario.validate import horizon_notes

F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]  # noqa: E741
B = npt.NDArray[np.bool_]

#: Days in a year, for converting lead and cycle times (days) to periods.
DAYS_PER_YEAR = 365.25
#: Route kinds, in the order of :class:`ProcessKind`.
KINDS = ("logic", "hbm", "packaging")


def round_half_up(x: F) -> I:
    """Round to the nearest integer, halves up (not to even), as int64."""
    return np.floor(np.asarray(x, dtype=float) + 0.5).astype(np.int64)


def ramp_average(online_t: F, ramp_years: F, a: F, b: F) -> F:
    """Average over ``[a, b]`` of the ramp ``clip((τ - online) / ramp, 0, 1)``.

    Broadcasts over all arguments; ``ramp_years == 0`` is a step at ``online_t``.
    Used for the share of a new site's full capacity available in a period (eq. 12).
    """

    def antiderivative(tau: F) -> F:
        d = tau - online_t
        r = np.maximum(ramp_years, 1e-12)
        inside = np.where(d <= 0, 0.0, np.where(d <= r, d * d / (2 * r), r / 2 + (d - r)))
        step = np.maximum(d, 0.0)
        return np.where(ramp_years > 0, inside, step)

    out: F = (antiderivative(b) - antiderivative(a)) / (b - a)
    return out


@dataclass
class PlanData:
    """Index sets and coefficients of one planner model (see the module docstring)."""

    scenario: Scenario
    period: Period
    # periods
    labels: list[str]
    years: I  # (T,) calendar year of each period
    mid: F  # (T,) calendar time of the period middle, years
    start: F  # (T,) calendar time of the period start, years
    length_years: float
    discount: F  # (T,) discount factor to the first year at the period middle
    year_list: list[int]
    year_index: I  # (T,) index into year_list
    # sites
    site_ids: list[str]
    site_kind: list[str]
    site_country: list[str]
    site_share: F  # (S,) reservable share
    site_cap_wafers: F  # (S, T) wafers per period the designer may use (existing/planned)
    site_full_wafers: F  # (S, T) the same at full capacity (candidates: when built)
    site_is_candidate: B
    # candidates
    cand_site: I  # (C,) site index of each candidate
    cand_ids: list[str]
    cand_allowed: B  # (C, T) build may start in period t
    cand_ramp: F  # (C, Ts, T) share of full capacity in t when built in Ts
    cand_capex_usd: F  # (C,)
    cand_capex_share: F  # (C, Ts, T) share of capex paid in t when built in Ts
    #: (C, Ts) share of a build's capex credited as salvage value (life left after the
    #: horizon, straight line; 0 without a service life or with terminal "none")
    cand_salvage_share: F
    #: (C,) the candidate this one is a twin of (identical but for its id, name, place and a
    #: later or equal earliest start), -1 for none: it is built no earlier (eq. 13b)
    cand_twin: I
    # product versions (one per group of process options with the same performance), offers
    product_ids: list[str]  # version ids: the product id, or "<product>@<process>[+...]"
    product_source: list[str]  # the scenario product of each version
    product_base: I  # (P,) index of the scenario product (into base_product_ids)
    base_product_ids: list[str]
    product_vendor: list[str]
    product_pflops: F
    product_power_w: F  # (P,) W per unit in service
    product_hbm_stacks: F
    product_packaged: B
    product_assembly_usd: F
    product_arrival_shift: I  # periods from assembly to service
    product_life: I  # service life, periods
    product_in_fleet: B  # counts towards the compute fleet (not sold as units)
    offer_ids: list[str]
    offer_vendor: list[str]
    offer_country: list[str]
    offer_pflops: F
    offer_power_w: F  # (O,) W per unit in service
    offer_price_usd: F  # (O, T)
    offer_min_units: F  # (O, Y) committed units ordered per year (0: none)
    offer_upper: F  # (O, T) units per period (inf: no allocation limit)
    offer_available: B  # (O, T)
    offer_shift: I  # periods from order to service
    offer_life: I
    # routes
    route_ids: list[str]
    route_kind: I  # (R,) 0 logic, 1 hbm, 2 packaging
    route_site: I
    route_product: I
    route_process: list[str]
    route_available: B  # (R, T)
    route_cost_usd: F  # (R, T) cost per wafer started (site factor included)
    route_yield_units: F  # (R, T) per wafer: logic units, HBM stacks or packages
    route_good_units: F  # (R,) packaging: good packages per wafer; else 0
    route_good_dies: F  # (R, T) logic: good dies per wafer; else 0
    route_shift: I  # (R,) periods from wafer start to the material being ready for assembly
    route_option: I  # (R,) porting option index of a logic route, -1 when none
    # porting options that need a decision
    option_ids: list[str]
    option_product: I  # (Z,) index into base_product_ids
    option_process: list[str]
    option_cost_usd: F
    option_pay_period: I
    option_big_m: F  # (Z, T) largest wafers per period the option's routes can take
    # demand
    compute_ids: list[str]
    compute_required: F  # (D, T) PFLOP/s that must be installed
    compute_penalty_usd: F  # (D,) per PFLOP/s-year
    installed_ids: list[str]  # installed bases (compute in service before the horizon)
    installed_vendor: list[str]
    installed_pflops: F  # (I, T) PFLOP/s still in service
    # energy: USD per W of accelerator power in service for one period (PUE and price in)
    energy_usd_per_w: F  # (T,)
    unit_ids: list[str]
    unit_product: I  # (U,) index into base_product_ids
    unit_required: F  # (U, T) units per period
    unit_penalty_usd: F  # (U,) per unit
    # policies
    vendor_caps: dict[str, F] = field(default_factory=dict)  # vendor -> (Y,) share cap
    country_caps: dict[str, F] = field(default_factory=dict)  # country -> (Y,) share cap
    capex_budget_usd: F | None = None  # (Y,) USD per year
    allow_multi_sourcing: bool = True
    warnings: list[str] = field(default_factory=list)
    # own-chip economics and ramps (docs/planner.md "Design partner", "Ramp of a new product")
    route_partner_usd: F = field(default_factory=lambda: np.zeros((0, 0)))  # (R, T) markup/wafer
    product_partner_usd: F = field(default_factory=lambda: np.zeros(0))  # (P,) markup on assembly
    product_max_units: F = field(default_factory=lambda: np.zeros((0, 0)))  # (Pb, T) inf: no cap
    site_owner: list[str] = field(default_factory=list)
    site_total_wafers: F = field(default_factory=lambda: np.zeros((0, 0)))  # (S, T) whole capacity
    supplier_caps: dict[str, F] = field(default_factory=dict)  # company -> (Y,) share cap
    #: how units in service after the horizon are valued ("salvage" or "none")
    terminal: str = "salvage"
    #: clearing functions (``--lead-times load``; fabnet.plan.clearing_constraints), or None
    clearing: ClearingData | None = None
    #: whole years the model runs past the scenario's last year (docs/planner.md, "End of the
    #: horizon"); the plan's tables are cut back to the scenario's horizon
    extension_years: int = 0

    @property
    def n_periods(self) -> int:
        """Number of periods T."""
        return len(self.labels)

    @property
    def reported_years(self) -> int:
        """Number of years of the scenario's horizon (the model's years without the extension)."""
        return len(self.year_list) - self.extension_years

    @property
    def reported_periods(self) -> int:
        """Number of periods of the scenario's horizon (``T_h``; the model has ``T``)."""
        return self.n_periods * self.reported_years // len(self.year_list)

    @property
    def period_days(self) -> float:
        """Length of one period, days."""
        return DAYS_PER_YEAR * self.length_years

    def year_slice_matrix(self) -> B:
        """(Y, T) True where period t lies in year y."""
        out: B = self.year_index[None, :] == np.arange(len(self.year_list))[:, None]
        return out


def _to_periods(days: float | F, period_days: float) -> I:
    return round_half_up(np.asarray(days, dtype=float) / period_days)


def _logic_yield(
    area_mm2: float, chiplets: int, pr: Process, mid: F, d0_factor: F | float = 1.0
) -> tuple[F, F]:
    """Good dies and logic units per wafer by period; the process's D0 is multiplied by
    ``d0_factor`` (the product's yield learning, per period). The die fits the reticle (the
    scenario's cross-checks reject one that does not)."""
    area = area_mm2 / chiplets
    gross = float(
        gross_dies_per_wafer(area, pr.wafer_diameter_mm, pr.edge_exclusion_mm, pr.scribe_mm)
    )
    assert pr.d0_per_cm2 is not None
    y = np.asarray(
        die_yield(pr.yield_model, area, series_at(pr.d0_per_cm2, mid) * d0_factor, pr.yield_alpha),
        dtype=float,
    )
    dies: F = gross * y
    return dies, dies / chiplets


def build_start_step(period: Period, build_start: Period | None) -> float:
    """Years between two possible build starts: ``build_start``, never finer than the period;
    by default one a year, on 1 January (docs/planner.md, "Build starts": a start in every
    quarter makes openai-2024's quarterly MILP 30× slower for a plan 0.09 % cheaper)."""
    return max(period.years, (build_start or Period.year).years)


@dataclass(frozen=True)
class PeriodSets:
    """Periods and years of the model (the ``period`` and ``year`` dimensions)."""

    labels: list[str]
    years: I  # (T,) calendar year of each period
    mid: F  # (T,) calendar time of the period middle, years
    start: F  # (T,) calendar time of the period start, years
    length_years: float
    discount: F  # (T,) discount factor to the first year at the period middle
    year_list: list[int]
    year_index: I  # (T,) index into year_list
    energy_usd_per_w: F  # (T,) USD per W in service for one period (PUE and price in)


@dataclass(frozen=True)
class SiteSets:
    """Sites: their capacity (existing and planned) and full capacity (candidates when built)."""

    site_ids: list[str]
    site_kind: list[str]
    site_country: list[str]
    site_share: F
    site_cap_wafers: F
    site_full_wafers: F
    site_is_candidate: B
    site_owner: list[str]
    site_total_wafers: F


@dataclass(frozen=True)
class CandidateSets:
    """Candidate sites: allowed build starts, ramp and capex (eqs. 4, 12, 13, 18, 19)."""

    cand_site: I
    cand_ids: list[str]
    cand_allowed: B
    cand_ramp: F
    cand_capex_usd: F
    cand_capex_share: F
    cand_salvage_share: F
    cand_twin: I


def _twins(sc: Scenario, sites: SiteSets, cand_site: I) -> I:
    """(C,) for each candidate the previous one (in order of earliest start, then position)
    with the same data but for its id, name, region, coordinates and earliest start; -1 for
    the first of a group. Twins are interchangeable, so the later one is built no earlier
    (eq. 13b): this removes permuted copies of a plan from branch and bound."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for k, i in enumerate(cand_site.tolist()):
        s = sc.sites[i]
        key = (
            s.owner, s.country, tuple(s.processes), tuple(sorted(s.capacity_wspm.items())),
            s.status, s.purpose, float(sites.site_share[i]), s.wafer_price_factor, s.capex_usd,
            s.build_years, s.ramp_years, s.cofunded, tuple(sorted(s.tags)), s.service_life_years,
        )  # fmt: skip
        groups.setdefault(key, []).append(k)
    twin = np.full(len(cand_site), -1, dtype=np.int64)
    first = sc.horizon.first_year
    for ks in groups.values():
        ks.sort(key=lambda k: (sc.sites[int(cand_site[k])].earliest_start_year or first, k))
        for a, b in itertools.pairwise(ks):
            twin[b] = a
    return twin


@dataclass(frozen=True)
class ProductSets:
    """Product versions (one per group of process options with the same performance)."""

    product_ids: list[str]
    product_source: list[str]
    product_base: I
    base_product_ids: list[str]
    product_vendor: list[str]
    product_pflops: F
    product_power_w: F
    product_hbm_stacks: F
    product_packaged: B
    product_assembly_usd: F
    product_arrival_shift: I
    product_life: I
    product_in_fleet: B
    product_partner_usd: F
    product_max_units: F


@dataclass(frozen=True)
class OptionSets:
    """Process options that need a porting decision (an NRE, or single sourcing)."""

    option_ids: list[str]
    option_product: I
    option_process: list[str]
    option_cost_usd: F
    option_pay_period: I


@dataclass(frozen=True)
class RouteSets:
    """Routes: logic, HBM and packaging wafers of each product version at each site."""

    route_ids: list[str]
    route_kind: I
    route_site: I
    route_product: I
    route_process: list[str]
    route_available: B
    route_cost_usd: F
    route_yield_units: F
    route_good_units: F
    route_good_dies: F
    route_shift: I
    route_option: I
    route_partner_usd: F
    option_big_m: F


@dataclass(frozen=True)
class OfferSets:
    """GPU offers: price, allocation, sale years, commitments, lead time and life."""

    offer_ids: list[str]
    offer_vendor: list[str]
    offer_country: list[str]
    offer_pflops: F
    offer_power_w: F
    offer_price_usd: F
    offer_min_units: F
    offer_upper: F
    offer_available: B
    offer_shift: I
    offer_life: I


@dataclass(frozen=True)
class DemandSets:
    """Compute demand with its installed base, and unit demand."""

    compute_ids: list[str]
    compute_required: F
    compute_penalty_usd: F
    installed_ids: list[str]
    installed_vendor: list[str]
    installed_pflops: F
    unit_ids: list[str]
    unit_required: F
    unit_penalty_usd: F
    unit_product: I


@dataclass(frozen=True)
class PolicySets:
    """Share caps per year and the capital budget."""

    vendor_caps: dict[str, F]
    country_caps: dict[str, F]
    supplier_caps: dict[str, F]
    capex_budget_usd: F | None
    allow_multi_sourcing: bool


def extension_years(sc: Scenario, per: Period, terminal: str) -> int:
    """Whole years the model runs past ``last_year`` (docs/planner.md, "End of the horizon"):
    the longest time from a wafer start (logic or HBM, through packaging and lead time) or an
    order to service, in whole periods, rounded up to whole years; 0 with ``terminal="none"``.
    A wafer started in the last period then becomes a unit the model can still use."""
    if terminal == "none":
        return 0
    proc = {p.id: p for p in sc.processes}
    days = [o.lead_time_days for o in sc.offers]
    for p in sc.products:
        after = max((proc[k].cycle_time_days for k in p.packaging_options), default=0.0)
        fab = [proc[o.process].cycle_time_days for o in p.process_options]
        if p.hbm_stacks > 0:
            fab += [
                q.cycle_time_days
                for q in sc.processes
                if q.kind is ProcessKind.hbm and q.generation == p.hbm_generation
            ]
        days.append(max(fab, default=0.0) + after + p.lead_time_days)
    periods = int(_to_periods(max(days, default=0.0), DAYS_PER_YEAR * per.years))
    return math.ceil(periods * per.years - 1e-9)


def _periods(sc: Scenario, per: Period, extension: int = 0) -> PeriodSets:
    L = per.years
    horizon = sc.horizon.model_copy(update={"last_year": sc.horizon.last_year + extension})
    mid = period_midpoints(horizon, per)
    start = mid - L / 2
    years = np.floor(start + 1e-9).astype(np.int64)
    first = sc.horizon.first_year
    # a W in service for a period draws W x PUE x hours, at the period's price
    energy = series_at(sc.electricity_usd_per_kwh, mid) / 1000.0 * sc.pue * HOURS_PER_YEAR * L
    return PeriodSets(
        labels=period_labels(horizon, per),
        years=years,
        mid=mid,
        start=start,
        length_years=L,
        discount=(1.0 + sc.discount_rate) ** -(mid - first),
        year_list=horizon.years,
        year_index=years - first,
        energy_usd_per_w=energy,
    )


def _sites(sc: Scenario, ps: PeriodSets, months: float) -> SiteSets:
    proc = {p.id: p for p in sc.processes}
    S, T = len(sc.sites), len(ps.labels)
    default_share = sc.policies.default_reservable_share
    share = np.array(
        [s.reservable_share if s.reservable_share is not None else default_share for s in sc.sites]
    ).reshape(S)
    full = np.zeros((S, T))
    total = np.zeros((S, T))
    for i, s in enumerate(sc.sites):
        if s.purpose == "production":
            whole = series_at(s.capacity_wspm, ps.mid) * months
            full[i] = whole * share[i]
            if s.status is not SiteStatus.candidate:
                total[i] = whole
    is_cand = np.array([s.status is SiteStatus.candidate for s in sc.sites], dtype=bool)
    return SiteSets(
        site_ids=[s.id for s in sc.sites],
        site_kind=[proc[s.processes[0]].kind.value for s in sc.sites],
        site_country=[s.country for s in sc.sites],
        site_share=share,
        site_cap_wafers=np.where(is_cand[:, None], 0.0, full),
        site_full_wafers=full,
        site_is_candidate=is_cand,
        site_owner=[s.owner for s in sc.sites],
        site_total_wafers=total,
    )


def _candidates(
    sc: Scenario,
    ps: PeriodSets,
    sites: SiteSets,
    per: Period,
    build_start: Period | None,
    terminal: str,
) -> CandidateSets:
    L, T = ps.length_years, len(ps.labels)
    first = sc.horizon.first_year
    # the last period of the scenario's horizon (the model may run past it)
    last = int(np.searchsorted(ps.years, sc.horizon.last_year, side="right")) - 1
    cand_site = np.flatnonzero(sites.site_is_candidate).astype(np.int64)
    start = ps.start
    step = build_start_step(per, build_start)
    steps = (start - first) / step
    on_step = np.isclose(steps, np.round(steps))
    C = len(cand_site)
    allowed = np.zeros((C, T), dtype=bool)
    ramp = np.zeros((C, T, T))
    capex_share = np.zeros((C, T, T))
    capex = np.zeros(C)
    salvage = np.zeros((C, T))
    end = sc.horizon.last_year + 1.0  # end of the scenario's horizon, calendar years
    for k, i in enumerate(cand_site.tolist()):
        s = sc.sites[i]
        esy = s.earliest_start_year if s.earliest_start_year is not None else first
        build = float(s.build_years or 0.0)
        # Builds start at the first period of each build step (1 January by default, any
        # period on request: see build_start_step), and a build that cannot give capacity
        # inside the horizon is never worth starting.
        allowed[k] = (ps.years >= esy) & on_step & (start + build < sc.horizon.last_year + 1 - 1e-9)
        online = start[:, None] + build  # (Ts, 1)
        ramp[k] = ramp_average(online, np.asarray(s.ramp_years), start[None, :], start[None, :] + L)
        if s.service_life_years is not None:
            life = float(s.service_life_years)
            # no capacity after the end of its life (the share of each period still in it)
            left = np.clip(online + life - start[None, :], 0.0, L) / L
            ramp[k] *= left
            if terminal != "none":  # the capex share of the life left after the horizon
                salvage[k] = np.clip((online[:, 0] + life - end) / life, 0.0, 1.0)
        # a co-funded site: the designer pays the share of capex it may reserve
        capex[k] = float(s.capex_usd or 0.0) * (sites.site_share[i] if s.cofunded else 1.0)
        nb = max(1, int(round_half_up(np.asarray(build / L))))
        ts = np.arange(T)
        for j in range(nb):  # spread evenly over the build periods (eqs. 18, 19)
            tt = np.minimum(ts + j, last)  # a part after the horizon: in its last period
            capex_share[k, ts, tt] += 1.0 / nb
    return CandidateSets(
        cand_site=cand_site,
        cand_ids=[sites.site_ids[i] for i in cand_site],
        cand_allowed=allowed,
        cand_ramp=ramp,
        cand_capex_usd=capex,
        cand_capex_share=capex_share,
        cand_salvage_share=salvage,
        cand_twin=_twins(sc, sites, cand_site),
    )


def _products(
    sc: Scenario, ps: PeriodSets, period_days: float
) -> tuple[ProductSets, list[set[str]], F]:
    """Product versions, the processes of each version, and each version's packaging cycle
    time and lead time, days ((2, P): the part of a wafer's lead time after its fab cycle)."""
    proc = {p.id: p for p in sc.processes}
    products = sc.products
    base_ids = [p.id for p in products]
    unit_products = {u.product for u in sc.demand.units}
    v_ids: list[str] = []
    v_base: list[int] = []
    v_pflops: list[float] = []
    v_power: list[float] = []
    v_procs: list[set[str]] = []
    for pi, p in enumerate(products):
        groups: dict[tuple[float, float], list[str]] = {}
        for opt in p.process_options:
            perf = (
                opt.pflops_bf16 if opt.pflops_bf16 is not None else p.pflops_bf16,
                opt.power_w if opt.power_w is not None else p.power_w,
            )
            groups.setdefault(perf, []).append(opt.process)
        for (pf, pw), procs in groups.items():
            v_ids.append(p.id if len(groups) == 1 else f"{p.id}@{'+'.join(procs)}")
            v_base.append(pi)
            v_pflops.append(pf)
            v_power.append(pw)
            v_procs.append(set(procs))
    P, T = len(v_ids), len(ps.labels)
    base_idx = np.array(v_base, dtype=np.int64).reshape(P)
    of = [products[i] for i in v_base]
    pk_ct = np.array(
        [max((proc[k].cycle_time_days for k in p.packaging_options), default=0.0) for p in of]
    ).reshape(P)
    lead = np.array([p.lead_time_days for p in of], dtype=float).reshape(P)
    after_fab = np.stack([pk_ct, lead]) if P else np.zeros((2, 0))
    life = np.maximum(
        1,
        round_half_up(np.array([p.service_life_years for p in of], dtype=float) / ps.length_years),
    )
    assembly = np.array([p.assembly_cost_usd for p in of], dtype=float).reshape(P)
    markup = np.array([p.design_partner_markup for p in of], dtype=float).reshape(P)
    max_units = np.full((len(products), T), np.inf)
    for pi, p in enumerate(products):
        if p.max_units_per_year is not None:
            max_units[pi] = series_at(p.max_units_per_year, ps.mid) * ps.length_years
    sets = ProductSets(
        product_ids=v_ids,
        product_source=[base_ids[i] for i in v_base],
        product_base=base_idx,
        base_product_ids=base_ids,
        product_vendor=[p.designer for p in of],
        product_pflops=np.array(v_pflops, dtype=float),
        product_power_w=np.array(v_power, dtype=float),
        product_hbm_stacks=np.array([p.hbm_stacks for p in of], dtype=float),
        product_packaged=np.array([bool(p.packaging_options) for p in of], dtype=bool),
        product_assembly_usd=assembly,
        product_arrival_shift=_to_periods(pk_ct + lead, period_days).reshape(P),
        product_life=life.reshape(P),
        product_in_fleet=np.array([p.id not in unit_products for p in of], dtype=bool),
        product_partner_usd=assembly * markup,
        product_max_units=max_units,
    )
    return sets, v_procs, after_fab


def _options(sc: Scenario, ps: PeriodSets) -> tuple[OptionSets, dict[tuple[int, str], int]]:
    """Porting options that need a binary (an NRE, or single sourcing), and their index by
    (scenario product index, process)."""
    proc = {p.id: p for p in sc.processes}
    first, last_year = sc.horizon.first_year, sc.horizon.last_year
    last = int(np.searchsorted(ps.years, last_year, side="right")) - 1
    ids: list[str] = []
    prod: list[int] = []
    procs: list[str] = []
    cost: list[float] = []
    pay: list[int] = []
    index: dict[tuple[int, str], int] = {}
    for pi, p in enumerate(sc.products):
        for opt in p.process_options:
            nre = opt.porting_cost_usd + proc[opt.process].tapeout_usd  # design port + tape-out
            if nre > 0 or not sc.policies.allow_multi_sourcing:
                index[(pi, opt.process)] = len(ids)
                ids.append(f"{p.id}|{opt.process}")
                prod.append(pi)
                procs.append(opt.process)
                cost.append(nre)
                pay_year = max(first, opt.available_from_year or first)
                pay.append(
                    int(np.searchsorted(ps.years, pay_year)) if pay_year <= last_year else last
                )
    sets = OptionSets(
        option_ids=ids,
        option_product=np.array(prod, dtype=np.int64),
        option_process=procs,
        option_cost_usd=np.array(cost, dtype=float),
        option_pay_period=np.array(pay, dtype=np.int64),
    )
    return sets, index


def _routes(
    sc: Scenario,
    ps: PeriodSets,
    sites: SiteSets,
    prods: ProductSets,
    version_procs: list[set[str]],
    after_fab_days: F,
    option_index: dict[tuple[int, str], int],
    period_days: float,
) -> RouteSets:
    """Every (site, product version, process) a wafer can be started on."""
    proc = {p.id: p for p in sc.processes}
    products = sc.products
    first, T = sc.horizon.first_year, len(ps.labels)
    mid, years = ps.mid, ps.years
    P = len(prods.product_ids)
    r_ids: list[str] = []
    r_kind: list[int] = []
    r_site: list[int] = []
    r_prod: list[int] = []
    r_proc: list[str] = []
    r_avail: list[B] = []
    r_cost: list[F] = []
    r_units: list[F] = []
    r_good: list[float] = []
    r_dies: list[F] = []
    r_shift: list[int] = []
    r_opt: list[int] = []
    logic_cache: dict[tuple[int, str], tuple[F, F]] = {}
    price_cache: dict[str, F] = {}
    for si, s in enumerate(sc.sites):
        factor = s.wafer_price_factor
        for n in s.processes:
            pr = proc[n]
            for vi in range(P):
                pi = int(prods.product_base[vi])
                p = products[pi]
                avail = np.ones(T, dtype=bool)
                dies = np.zeros(T)
                # the whole chain from wafer start to service is rounded once (docs/planner.md)
                shift = int(
                    _to_periods(
                        pr.cycle_time_days + after_fab_days[0, vi] + after_fab_days[1, vi],
                        period_days,
                    )
                    - prods.product_arrival_shift[vi]
                )
                if pr.kind is ProcessKind.logic:
                    popt = next((o for o in p.process_options if o.process == n), None)
                    if popt is None or n not in version_procs[vi]:
                        continue
                    if popt.available_from_year is not None:
                        avail &= years >= popt.available_from_year
                    key = (pi, n)
                    if key not in logic_cache:
                        learning = d0_learning_factor(p, popt, first, mid)
                        logic_cache[key] = _logic_yield(
                            p.die_area_mm2, p.chiplets, pr, mid, learning
                        )
                    dies, units = logic_cache[key]
                    if n not in price_cache:
                        assert pr.wafer_price_usd is not None
                        price_cache[n] = series_at(pr.wafer_price_usd, mid)
                    cost = price_cache[n] * factor
                    good = 0.0
                    ropt = option_index.get((pi, n), -1)
                elif pr.kind is ProcessKind.hbm:
                    if p.hbm_stacks == 0 or p.hbm_generation != pr.generation:
                        continue
                    assert pr.good_stacks_per_wafer is not None and pr.stack_price_usd is not None
                    units = np.full(T, pr.good_stacks_per_wafer)
                    cost = series_at(pr.stack_price_usd, mid) * pr.good_stacks_per_wafer * factor
                    good = 0.0
                    ropt = -1
                else:
                    if n not in p.packaging_options:
                        continue
                    assert pr.price_usd_per_wafer is not None and p.packages_per_wafer is not None
                    units = np.full(T, p.packages_per_wafer)
                    cost = series_at(pr.price_usd_per_wafer, mid) * factor
                    good = p.packages_per_wafer * pr.assembly_yield
                    shift = 0
                    ropt = -1
                r_ids.append(f"{s.id}|{prods.product_ids[vi]}|{n}")
                r_kind.append(KINDS.index(pr.kind.value))
                r_site.append(si)
                r_prod.append(vi)
                r_proc.append(n)
                r_avail.append(avail & (sites.site_full_wafers[si] > 0))
                r_cost.append(np.asarray(cost, dtype=float))
                r_units.append(np.asarray(units, dtype=float))
                r_good.append(good)
                r_dies.append(np.asarray(dies, dtype=float))
                r_shift.append(max(0, shift))
                r_opt.append(ropt)
    R = len(r_ids)
    route_site = np.array(r_site, dtype=np.int64)
    route_prod = np.array(r_prod, dtype=np.int64)
    route_opt = np.array(r_opt, dtype=np.int64)
    n_opt = len(option_index)
    big_m = np.zeros((n_opt, T))
    used = route_opt >= 0
    np.add.at(big_m, route_opt[used], sites.site_full_wafers[route_site[used]])
    cost_rt = _stack(r_cost, T)
    markup = np.array([p.design_partner_markup for p in products], dtype=float)
    partner = cost_rt * markup[prods.product_base[route_prod]][:, None] if R else cost_rt
    return RouteSets(
        route_ids=r_ids,
        route_kind=np.array(r_kind, dtype=np.int64),
        route_site=route_site,
        route_product=route_prod,
        route_process=r_proc,
        route_available=np.array(r_avail, dtype=bool).reshape(R, T),
        route_cost_usd=cost_rt,
        route_yield_units=_stack(r_units, T),
        route_good_units=np.array(r_good, dtype=float),
        route_good_dies=_stack(r_dies, T),
        route_shift=np.array(r_shift, dtype=np.int64),
        route_option=route_opt,
        route_partner_usd=partner.reshape(R, T),
        option_big_m=big_m,
    )


def _route_warnings(sc: Scenario, prods: ProductSets, routes: RouteSets) -> list[str]:
    """A product with no logic, HBM or packaging route it needs."""
    out: list[str] = []
    base_of_route = prods.product_base[routes.route_product]
    for pi, p in enumerate(sc.products):
        kinds = set(routes.route_kind[base_of_route == pi].tolist())
        if 0 not in kinds:
            out.append(f"product {p.id}: no production site runs any of its processes")
        if p.hbm_stacks > 0 and 1 not in kinds:
            out.append(f"product {p.id}: no site makes its HBM ({p.hbm_generation})")
        if p.packaging_options and 2 not in kinds:
            out.append(f"product {p.id}: no site runs its packaging ({p.packaging_options})")
    return out


def _offers(sc: Scenario, ps: PeriodSets, period_days: float) -> OfferSets:
    offers = sc.offers
    n_off, T = len(offers), len(ps.labels)
    first, L = sc.horizon.first_year, ps.length_years
    price = np.zeros((n_off, T))
    upper = np.full((n_off, T), np.inf)
    avail = np.ones((n_off, T), dtype=bool)
    # committed purchases: only the years listed (a contract, not an interpolated series)
    min_units = np.zeros((n_off, len(ps.year_list)))
    for oi, o in enumerate(offers):
        price[oi] = series_at(o.price_usd, ps.mid)
        if o.max_units_per_year is not None:
            upper[oi] = series_at(o.max_units_per_year, ps.mid) * L
        if o.available_from_year is not None:
            avail[oi] &= ps.years >= o.available_from_year
        if o.available_to_year is not None:
            avail[oi] &= ps.years <= o.available_to_year
        for y, n_units in o.min_units_per_year.items():
            if first <= y <= sc.horizon.last_year:
                min_units[oi, y - first] = n_units
    shift = _to_periods(np.array([o.lead_time_days for o in offers], dtype=float), period_days)
    life = np.maximum(
        1, round_half_up(np.array([o.service_life_years for o in offers], dtype=float) / L)
    )
    return OfferSets(
        offer_ids=[o.id for o in offers],
        offer_vendor=[o.vendor for o in offers],
        offer_country=[o.country or "" for o in offers],
        offer_pflops=np.array([o.pflops_bf16 for o in offers], dtype=float),
        offer_power_w=np.array([o.power_w for o in offers], dtype=float),
        offer_price_usd=price,
        offer_min_units=min_units,
        offer_upper=upper,
        offer_available=avail,
        offer_shift=shift.reshape(n_off),
        offer_life=life.reshape(n_off),
    )


def _demand(sc: Scenario, ps: PeriodSets) -> DemandSets:
    T, mid = len(ps.labels), ps.mid
    comp = sc.demand.compute
    bases = [b for dm in comp for b in dm.installed_base]
    udem = sc.demand.units
    base_ids = [p.id for p in sc.products]
    return DemandSets(
        compute_ids=[d.id for d in comp],
        compute_required=_stack([series_at(d.installed_pflops, mid) for d in comp], T),
        compute_penalty_usd=np.array(
            [d.unmet_penalty_usd_per_pflops_year for d in comp], dtype=float
        ),
        installed_ids=[b.id for b in bases],
        installed_vendor=[b.vendor for b in bases],
        installed_pflops=_stack([series_at(b.pflops, mid) for b in bases], T),
        unit_ids=[u.id for u in udem],
        unit_required=_stack([series_at(u.units_per_year, mid) * ps.length_years for u in udem], T),
        unit_penalty_usd=np.array([u.unmet_penalty_usd_per_unit for u in udem], dtype=float),
        unit_product=np.array([base_ids.index(u.product) for u in udem], dtype=np.int64),
    )


def _policies(sc: Scenario, ps: PeriodSets) -> PolicySets:
    ymid = np.array(ps.year_list, dtype=float) + 0.5
    pol = sc.policies

    def caps(by_key: Mapping[str, Any]) -> dict[str, F]:
        return {k: series_at(share_cap_series(v), ymid) for k, v in by_key.items()}

    budget = pol.capex_budget_usd_per_year
    return PolicySets(
        vendor_caps=caps(pol.max_vendor_share),
        country_caps=caps(pol.max_country_share),
        supplier_caps=caps(pol.max_supplier_share),
        capex_budget_usd=series_at(budget, ymid) if budget is not None else None,
        allow_multi_sourcing=pol.allow_multi_sourcing,
    )


def _stack(rows: list[F], width: int) -> F:
    """Rows of equal width as one (N, width) array (N may be 0)."""
    return np.array(rows, dtype=float).reshape(len(rows), width)


def build_data(
    scenario: Scenario,
    period: Period | None = None,
    build_start: Period | None = None,
    terminal: str = "salvage",
) -> PlanData:
    """Compute every index set and coefficient of the planner for ``scenario``, entity by
    entity (periods, sites, candidates, product versions, porting options, routes, offers,
    demand, policies).

    ``build_start`` and ``terminal`` are :class:`~fabnet.plan.options.PlanOptions` fields.
    """
    sc = scenario
    per = period or sc.horizon.period
    period_days = DAYS_PER_YEAR * per.years
    extension = extension_years(sc, per, terminal)
    ps = _periods(sc, per, extension)
    sites = _sites(sc, ps, per.months)
    cands = _candidates(sc, ps, sites, per, build_start, terminal)
    prods, version_procs, after_fab = _products(sc, ps, period_days)
    opts, option_index = _options(sc, ps)
    routes = _routes(sc, ps, sites, prods, version_procs, after_fab, option_index, period_days)
    return PlanData(
        scenario=sc,
        period=per,
        **vars(ps),
        **vars(sites),
        **vars(cands),
        **vars(prods),
        **vars(opts),
        **vars(routes),
        **vars(_offers(sc, ps, period_days)),
        **vars(_demand(sc, ps)),
        **vars(_policies(sc, ps)),
        warnings=horizon_notes(sc) + _route_warnings(sc, prods, routes),
        terminal=terminal,
        extension_years=extension,
    )


def _beyond_share(d: PlanData, shift: I, life: I, end: int | None = None, wip: bool = False) -> F:
    """(N, T) share of the discounted service of a unit decided in ``t`` (in service from
    ``t + shift`` for ``life`` periods) that falls at or after period ``end`` (default: the
    model's last period + 1): ``Σ_{j ≥ end} δ_j / Σ_j δ_j`` over its service periods ``j``,
    with ``δ`` continued past the horizon at the same rate (the annuity share of TIMES'
    salvage value). A unit that enters service only after ``end`` gets 0 in the model's
    objective: it serves nothing the model counts, and crediting it in full would make it
    free and useless (the solver could start any number); with ``wip`` (the plan's read-out,
    ``end`` the scenario's horizon inside a model that runs past it) it gets 1: all of its
    service is after the horizon, and the model made it for that service."""
    T = d.n_periods
    end = T if end is None else end
    shift = np.asarray(shift, dtype=np.int64).reshape(-1)
    life = np.asarray(life, dtype=np.int64).reshape(-1)
    if shift.size == 0:
        return np.zeros((0, T))
    n = T + int(shift.max()) + int(life.max()) + 1
    rate = (1.0 + d.scenario.discount_rate) ** -d.length_years
    delta = rate ** np.arange(n, dtype=float)
    c = np.concatenate([[0.0], np.cumsum(delta)])  # c[k] = Σ δ[:k]
    lo = np.arange(T)[None, :] + shift[:, None]
    hi = lo + life[:, None]
    mid = np.clip(lo, end, hi)  # first service period after the horizon (or hi)
    out: F = np.where(lo < end, (c[hi] - c[mid]) / (c[hi] - c[lo]), 1.0 if wip else 0.0)
    return out


def salvage_shares(d: PlanData, end: int | None = None, wip: bool = False) -> dict[str, F]:
    """Share of each decision's cost credited as salvage value (docs/planner.md, "End of the
    horizon"): ``wafers`` (R, T), ``units`` (P, T), ``offers`` (O, T); all zero with
    ``terminal = "none"``.

    Own units and offers in the fleet that enter service before period ``end`` (default: the
    model's end): the share of their discounted service periods after it. Units sold (not
    in the fleet) serve no period: 0. Wafers carry the share of the units they are made into
    (assembled ``route_shift`` periods after the start; 0 when that is after the model's
    end). With ``wip`` (the plan's read-out at the scenario's horizon, see
    :func:`_beyond_share`), decisions whose units serve (or, sold, are delivered) only after
    ``end`` are credited in full.
    With clearing functions (``lead_times = "load"``) a route's wafers are credited when they
    leave the fab instead: ``fab_output`` (R, T), the share of the units assembled in the
    output period, and their ``wafers`` share is 0 (wafers in process at the scenario's
    horizon leave the fab in the extension, where ``wip`` credits them in full).
    """
    T = d.n_periods
    R, P, n_off = len(d.route_ids), len(d.product_ids), len(d.offer_ids)
    if d.terminal == "none":
        return {
            "wafers": np.zeros((R, T)),
            "units": np.zeros((P, T)),
            "offers": np.zeros((n_off, T)),
            "fab_output": np.zeros((R, T)),
        }
    end = T if end is None else end
    fleet = _beyond_share(d, d.product_arrival_shift, d.product_life, end, wip)
    if P:
        sold_later = np.arange(T)[None, :] + d.product_arrival_shift[:, None] >= end
        sold = sold_later.astype(float) if wip else np.zeros((P, T))
        units = np.where(d.product_in_fleet[:, None], fleet, sold)
    else:
        units = np.zeros((0, T))
    offers = _beyond_share(d, d.offer_shift, d.offer_life, end, wip)
    if R:
        at = np.arange(T)[None, :] + d.route_shift[:, None]  # assembly period
        wafers = np.where(at < T, units[d.route_product[:, None], np.clip(at, 0, T - 1)], 0.0)
    else:
        wafers = np.zeros((0, T))
    fab_output = np.zeros((R, T))
    if R and d.clearing is not None:
        cf = np.asarray(d.clearing.is_cf, dtype=bool)
        fab_output[cf] = units[d.route_product[cf]]
        wafers = np.where(cf[:, None], 0.0, wafers)
    return {"wafers": wafers, "units": units, "offers": offers, "fab_output": fab_output}
