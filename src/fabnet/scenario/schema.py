"""The typed schema of a fabnet scenario: a supply network over a planning horizon.

Every model is a frozen pydantic model that rejects unknown keys. Every quantity
has its unit in its field name or description. Cross-references between
entities (a site's owner, a product's process options, ...) are checked by
:func:`fabnet.scenario.validate.cross_check`, which runs after this schema.

Time series
-----------
A time series is written ``{year: value}``. The value given for a year is the
value *during* that year (its average); it is placed at the middle of the year.
Between given years values are interpolated linearly; before the first and after
the last given year they are held constant. A planning period takes the value
at its own middle. See :func:`series_at`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Annotated, Literal

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

#: Identifier of an entity: letters, digits, ``_`` and ``-`` (no dots: dots separate
#: the parts of an override path such as ``sites.tsmc-f18.status``).
Id = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]*$",
        max_length=64,
        description="identifier: letters, digits, '_' and '-'",
    ),
]
#: ISO 3166-1 alpha-2 country code, e.g. ``TW``, ``KR``, ``US``.
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 code")]


def _not_bool(value: object) -> object:
    """Refuse ``true``/``false`` where a number is expected (pydantic would read 1 and 0)."""
    if isinstance(value, bool):
        raise ValueError(
            f"{str(value).lower()} is a boolean, not a number — write a number, e.g. 1.0"
        )
    return value


#: A finite number: no booleans (``true`` is not 1.0), no ``.nan`` or ``.inf``. Every float of
#: the schema is one of these.
Real = Annotated[float, BeforeValidator(_not_bool), Field(allow_inf_nan=False)]
#: A whole number, not a boolean.
Whole = Annotated[int, BeforeValidator(_not_bool)]
NonNegative = Annotated[Real, Field(ge=0.0)]
Positive = Annotated[Real, Field(gt=0.0)]
Fraction = Annotated[Real, Field(ge=0.0, le=1.0)]
#: A yield: strictly positive, at most one.
YieldFraction = Annotated[Real, Field(gt=0.0, le=1.0)]
Year = Annotated[Whole, Field(ge=1950, le=2200)]

#: ``{year: value}``; linear between years, constant outside (see module docstring).
Series = dict[Year, Real]
NonNegativeSeries = dict[Year, NonNegative]
PositiveSeries = dict[Year, Positive]
FractionSeries = dict[Year, Fraction]


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        use_attribute_docstrings=True,
        populate_by_name=False,
        allow_inf_nan=False,
    )


def _check_series_not_empty(value: dict[int, float] | None, name: str) -> None:
    if value is not None and len(value) == 0:
        raise ValueError(
            f"{name} needs at least one {{year: value}} entry — add one, e.g. {{2025: ...}}"
        )


class Period(StrEnum):
    """Length of one planning period."""

    month = "month"
    quarter = "quarter"
    year = "year"

    @property
    def years(self) -> float:
        """Length of the period in years."""
        return {"month": 1.0 / 12.0, "quarter": 0.25, "year": 1.0}[self.value]

    @property
    def months(self) -> float:
        """Length of the period in months."""
        return {"month": 1.0, "quarter": 3.0, "year": 12.0}[self.value]


class Horizon(_Model):
    """The planning horizon: whole calendar years, cut into periods."""

    first_year: Year
    """First calendar year planned (periods start on 1 January of it)."""
    last_year: Year
    """Last calendar year planned (inclusive)."""
    period: Period = Period.year
    """Length of a planning period: month, quarter or year."""

    @model_validator(mode="after")
    def _order(self) -> Horizon:
        if self.last_year < self.first_year:
            raise ValueError("last_year must not be before first_year — swap the two years")
        return self

    @property
    def years(self) -> list[int]:
        """Calendar years of the horizon."""
        return list(range(self.first_year, self.last_year + 1))


class Role(StrEnum):
    """What a company does in the network."""

    designer = "designer"
    foundry = "foundry"
    memory = "memory"
    packaging = "packaging"
    gpu_vendor = "gpu_vendor"


class Company(_Model):
    """A company: a chip designer, foundry, memory maker, packaging house or GPU vendor."""

    id: Id
    name: str
    roles: list[Role] = Field(min_length=1)
    """What the company does; a site may only be owned by a foundry, memory or packaging company."""
    country: Country
    """Country of the headquarters."""


class ProcessKind(StrEnum):
    """What a process makes."""

    logic = "logic"
    hbm = "hbm"
    packaging = "packaging"


#: Validation context key: the caller has run the cross-reference checks already.
CROSS_CHECKED = "fabnet_cross_checked"


class YieldModel(StrEnum):
    """Die-yield model (see :mod:`fabnet.economics`)."""

    poisson = "poisson"
    murphy = "murphy"
    seeds = "seeds"
    negative_binomial = "negative_binomial"


class CurvePoint(_Model):
    """One point of an operating curve, measured (``fabnet fab curve``) or computed."""

    load: Annotated[Real, Field(gt=0.0, le=1.0)]
    """Wafers released / capacity (0–1]."""
    throughput_frac: Annotated[Real, Field(gt=0.0, le=1.0)]
    """Wafers put out / capacity (0–1]."""
    flow_factor: Annotated[Real, Field(ge=1.0)]
    """Mean cycle time / raw process time (≥ 1)."""


class QueueingCurve(_Model):
    """A G/G/m queueing approximation of an operating curve (Sakasegawa 1977; Hopp &
    Spearman, *Factory Physics*, eq. 8.12): flow factor
    ``1 + (ca2 + ce2)/2 · u^(√(2(m+1)) − 1) / (m (1 − u))`` at load ``u``."""

    tools: Annotated[Real, Field(ge=1.0)]
    """Parallel tools per station, m."""
    ca2: NonNegative = 1.0
    """Squared coefficient of variation of inter-arrival times."""
    ce2: NonNegative = 1.0
    """Squared coefficient of variation of effective process times."""
    loads: list[Annotated[Real, Field(gt=0.0, lt=1.0)]] = Field(
        default_factory=lambda: [0.3, 0.5, 0.7, 0.8, 0.85, 0.9, 0.95]
    )
    """Loads at which the curve is evaluated and fitted."""


class OperatingCurve(_Model):
    """A site's (or process's) operating curve: cycle time against load, for the planner's
    clearing functions (``fabnet plan --lead-times load``; docs/planner.md).

    Give ``points`` (or, in a YAML file, ``file:`` a CSV with columns ``load``,
    ``throughput_frac`` and ``flow_factor``, or ``run:`` a stored ``fab curve`` run with an
    optional ``store:``, read by the loader into ``points``) or ``queueing``. The raw process time is the process's ``cycle_time_days`` divided by the
    curve's flow factor at ``nominal_load`` (interpolated in the points); without
    ``nominal_load``, ``cycle_time_days`` is the raw process time.
    """

    points: list[CurvePoint] | None = None
    queueing: QueueingCurve | None = None
    nominal_load: Annotated[Real, Field(gt=0.0, le=1.0)] | None = None
    """Load at which the process's ``cycle_time_days`` is the cycle time (0–1]."""
    max_segments: Annotated[Whole, Field(ge=2, le=20)] = 6
    """Tangent segments of the fitted clearing function (the capacity cap included)."""

    @model_validator(mode="after")
    def _one_source(self) -> OperatingCurve:
        if (self.points is None) == (self.queueing is None):
            raise ValueError(
                "an operating curve needs exactly one of points (or file) and queueing — give one"
            )
        return self


class Process(_Model):
    """A manufacturing process run by one company: a logic node, an HBM line or a packaging line.

    Logic processes need ``wafer_price_usd`` and ``d0_per_cm2``; HBM processes need
    ``generation``, ``good_stacks_per_wafer`` and ``stack_price_usd``; packaging
    processes need ``price_usd_per_wafer`` and ``assembly_yield``.
    """

    id: Id
    name: str = ""
    kind: ProcessKind
    owner: Id
    """Company that runs this process (the owner of every site that makes it)."""
    node_nm: Real | None = Field(default=None, gt=0)
    """Marketing node name in nanometres (information only)."""
    wafer_diameter_mm: Positive = 300.0
    """Wafer diameter, mm."""
    edge_exclusion_mm: NonNegative = 3.0
    """Unusable rim of the wafer, mm."""
    scribe_mm: NonNegative = 0.0
    """Scribe-line width added to each die edge, mm."""
    reticle_limit_mm2: Positive = 858.0
    """Largest die the lithography can print in one exposure, mm² (26 × 33 mm)."""
    wafer_price_usd: PositiveSeries | None = None
    """Logic: price of one processed wafer, USD per wafer, by year."""
    d0_per_cm2: dict[Year, Annotated[Real, Field(ge=0.0)]] | None = None
    """Logic: defect density D0, defects per cm², by year."""
    yield_model: YieldModel = YieldModel.negative_binomial
    """Logic: die-yield model."""
    yield_alpha: Positive = 3.0
    """Logic: clustering parameter α of the negative-binomial model (dimensionless)."""
    cycle_time_days: NonNegative = 90.0
    """Time from wafer start to finished wafer (logic, HBM) or package (packaging), days."""
    generation: str | None = None
    """HBM: generation made, e.g. ``hbm3e``; products ask for a generation."""
    good_stacks_per_wafer: Positive | None = None
    """HBM: good stacks (8-high equivalent) per DRAM wafer, stacks per wafer."""
    stack_price_usd: PositiveSeries | None = None
    """HBM: price of one good stack, USD per stack, by year."""
    price_usd_per_wafer: PositiveSeries | None = None
    """Packaging: price of one interposer / packaging wafer, USD per wafer, by year."""
    assembly_yield: YieldFraction = 1.0
    """Packaging: share of assembled packages that work (1.0 for other kinds)."""
    tapeout_usd: NonNegative = 0.0
    """Logic: one-off cost of a tape-out on this process (mask set and first silicon), USD,
    paid when a product first uses the process (with the option's ``porting_cost_usd``,
    which counts only the design work beyond the tape-out)."""
    operating_curve: OperatingCurve | None = None
    """Cycle time against load of the sites running this process (``--lead-times load``)."""

    @model_validator(mode="after")
    def _kind_fields(self) -> Process:
        need: dict[ProcessKind, tuple[str, ...]] = {
            ProcessKind.logic: ("wafer_price_usd", "d0_per_cm2"),
            ProcessKind.hbm: ("generation", "good_stacks_per_wafer", "stack_price_usd"),
            ProcessKind.packaging: ("price_usd_per_wafer",),
        }
        missing = [f for f in need[self.kind] if getattr(self, f) is None]
        if missing:
            raise ValueError(
                f"a {self.kind.value} process needs {', '.join(missing)} — add "
                + (" and ".join(missing))
            )
        for name in ("wafer_price_usd", "d0_per_cm2", "stack_price_usd", "price_usd_per_wafer"):
            _check_series_not_empty(getattr(self, name), name)
        if self.tapeout_usd > 0 and self.kind is not ProcessKind.logic:
            raise ValueError(
                f"tapeout_usd is for logic processes, not {self.kind.value} — remove it"
            )
        return self


class SiteStatus(StrEnum):
    """Whether a site exists, is committed, or is an option the plan may take."""

    existing = "existing"
    planned = "planned"
    candidate = "candidate"


class Site(_Model):
    """A fab, memory fab or packaging line at one place, with its capacity over time.

    An existing or planned site has the capacity its ``capacity_wspm`` series gives.
    A candidate site has none until the plan decides to build it; then it gives
    ``capacity_wspm`` after ``build_years``, ramping up linearly over ``ramp_years``.
    """

    id: Id
    name: str = ""
    owner: Id
    """Company that runs the site."""
    country: Country
    region: str = ""
    """City or region, e.g. ``Pyeongtaek``."""
    lat: Annotated[Real, Field(ge=-90.0, le=90.0)] | None = None
    """Latitude of the site, degrees north (for maps; optional)."""
    lon: Annotated[Real, Field(ge=-180.0, le=180.0)] | None = None
    """Longitude of the site, degrees east (for maps; optional)."""
    processes: list[Id] = Field(min_length=1)
    """Processes the site can run; they share its capacity."""
    capacity_wspm: NonNegativeSeries
    """Wafer starts per month (300 mm equivalent) by year; for a candidate, its capacity when fully ramped."""
    status: SiteStatus = SiteStatus.existing
    purpose: Literal["production", "research"] = "production"
    """Research fabs count for programmes but give no production capacity to plans."""
    reservable_share: Fraction | None = None
    """Largest share of the site's capacity the designer may reserve; the policy default when empty."""
    wafer_price_factor: Positive = 1.0
    """Multiplier on the process's wafer price at this site (e.g. 1.1 for a US-made premium)."""
    capex_usd: NonNegative | None = None
    """Candidate: capital cost of building the site, USD."""
    build_years: NonNegative | None = None
    """Candidate: time from the build decision to first output, years."""
    ramp_years: NonNegative = 0.0
    """Candidate: time from first output to full capacity (linear ramp), years."""
    earliest_start_year: Year | None = None
    """Candidate: first year in which construction may start."""
    service_life_years: Positive | None = None
    """Candidate: years a built site gives capacity from first output; at the end of the
    horizon the plan credits the share of its capex for the life left (straight line,
    docs/planner.md "End of the horizon"). None: an unlimited life and no credit."""
    cofunded: bool = False
    """Candidate: the designer co-funds the site and pays ``capex_usd`` × its reservable
    share (the owner pays the rest and keeps the rest of the capacity); when false the
    designer pays all of ``capex_usd``."""
    tags: list[Id] = Field(default_factory=list)
    """Programmes the site belongs to (ids of ``programmes``)."""
    operating_curve: OperatingCurve | None = None
    """Cycle time against load of this site; overrides its processes' curves."""

    @model_validator(mode="after")
    def _candidate_fields(self) -> Site:
        _check_series_not_empty(self.capacity_wspm, "capacity_wspm")
        if self.status is SiteStatus.candidate:
            missing = [f for f in ("capex_usd", "build_years") if getattr(self, f) is None]
            if missing:
                raise ValueError(
                    f"a candidate site needs {' and '.join(missing)} — add the cost (USD) and "
                    "time to build it (years), or make the site existing or planned"
                )
        if self.cofunded and self.status is not SiteStatus.candidate:
            raise ValueError(
                "cofunded is for candidate sites (the designer co-funds a build) — remove it "
                "or make the site a candidate"
            )
        return self


class ProcessOption(_Model):
    """A process a product can be made on, and what it costs to port the design to it."""

    process: Id
    porting_cost_usd: NonNegative = 0.0
    """One-off cost of the design work to port the product to this process (beyond the
    process's ``tapeout_usd``, which is added), paid the first time this process is used, USD."""
    available_from_year: Year | None = None
    """First year wafers of this product may start on this process (tape-out done)."""
    pflops_bf16: NonNegative | None = None
    """Dense BF16 performance per unit made on this process, PFLOP/s; the product's when empty
    (a port of a design to an older node fits fewer transistors in the same area)."""
    power_w: NonNegative | None = None
    """Power per unit made on this process in service, W; the product's when empty."""


class Product(_Model):
    """A product the designer makes: an accelerator or a phone SoC, with its bill of materials."""

    id: Id
    name: str = ""
    kind: Literal["accelerator", "soc"] = "accelerator"
    designer: Id
    """Company that designs and sells the product (its vendor for dependence shares)."""
    die_area_mm2: Positive
    """Logic silicon per unit, mm² (split evenly over ``chiplets`` dies)."""
    chiplets: Whole = Field(default=1, ge=1)
    """Number of equal logic dies the silicon is split into; each must fit the reticle."""
    process_options: list[ProcessOption] = Field(min_length=1)
    """Processes the product can be made on; the first listed is its native one."""
    hbm_generation: str | None = None
    """HBM generation the product needs (matches ``Process.generation``); empty for none."""
    hbm_stacks: Whole = Field(default=0, ge=0)
    """HBM stacks per unit."""
    packaging_options: list[Id] = Field(default_factory=list)
    """Packaging processes that can assemble it; empty means packaging is not constrained."""
    packages_per_wafer: Positive | None = None
    """Packages per packaging (interposer) wafer, packages per wafer."""
    assembly_cost_usd: NonNegative = 0.0
    """Test and assembly cost per unit outside the packaging line, USD per unit."""
    pflops_bf16: NonNegative = 0.0
    """Dense BF16 performance per unit, PFLOP/s."""
    power_w: NonNegative = 0.0
    """Power per unit in service, W."""
    service_life_years: Positive = 5.0
    """Years a unit stays in the fleet."""
    lead_time_days: NonNegative = 60.0
    """Time from finished wafers to a unit in service (packaging, test, deployment), days."""
    design_partner_markup: NonNegative = 0.0
    """Share of the manufacturing cost (wafers, HBM, packaging, test and assembly) a design
    partner charges on top, dimensionless (0.5 = +50 %); 0 when the designer buys directly."""
    d0_learning: dict[Annotated[Whole, Field(ge=0)], Positive] = Field(default_factory=dict)
    """Yield learning: multiplier on the process's D0 by whole years since the product's first
    wafers on a process (``available_from_year``), ``{years: multiplier}``, e.g. ``{0: 1.5,
    1: 1.0}``; read like a series (year k is the average of age k..k+1, linear between, held
    outside); no learning when empty."""
    max_units_per_year: NonNegativeSeries | None = None
    """Production ramp: largest number of good units assembled per year (all process options
    together), units per year, by year; unlimited when empty."""

    @model_validator(mode="after")
    def _bom(self) -> Product:
        if self.hbm_stacks > 0 and not self.hbm_generation:
            raise ValueError(
                "hbm_stacks > 0 needs hbm_generation — set it, e.g. hbm_generation: hbm3e"
            )
        if self.packaging_options and self.packages_per_wafer is None:
            raise ValueError(
                "packaging_options need packages_per_wafer — set packages per packaging wafer"
            )
        _check_series_not_empty(self.max_units_per_year, "max_units_per_year")
        return self


class Offer(_Model):
    """An incumbent accelerator one can buy (e.g. an Nvidia GPU)."""

    id: Id
    name: str = ""
    vendor: Id
    """Company that sells it."""
    price_usd: PositiveSeries
    """Price per unit, USD, by year."""
    pflops_bf16: Positive
    """Dense BF16 performance per unit, PFLOP/s."""
    power_w: NonNegative = 0.0
    """Power per unit in service, W."""
    hbm_stacks: Whole = Field(default=0, ge=0)
    """HBM stacks per unit (information only)."""
    available_from_year: Year | None = None
    available_to_year: Year | None = None
    max_units_per_year: NonNegativeSeries | None = None
    """Largest number of units the buyer can get per year (allocation); unlimited when empty."""
    min_units_per_year: dict[Year, NonNegative] = Field(default_factory=dict)
    """Committed (take-or-pay) purchases, units ordered per year: the buyer pays for at least
    this many units each listed year, whether or not it takes them. Unlike other series, only
    the years listed are committed (no interpolation, nothing held after the last year)."""
    service_life_years: Positive = 5.0
    lead_time_days: NonNegative = 180.0
    """Time from order to the unit in service, days."""
    country: Country | None = None
    """Where its logic dies are made (information for dependence reports)."""

    @model_validator(mode="after")
    def _years(self) -> Offer:
        _check_series_not_empty(self.price_usd, "price_usd")
        if (
            self.available_from_year is not None
            and self.available_to_year is not None
            and self.available_to_year < self.available_from_year
        ):
            raise ValueError(
                "available_to_year is before available_from_year — swap or fix the years"
            )
        return self


class InstalledBase(_Model):
    """Compute already in service when the plan starts (e.g. a GPU fleet bought before the
    horizon), retiring over time. It counts toward installed demand but is not new compute
    (vendor caps), costs nothing in the plan (bought before it) and its energy is not counted
    (no decision of the plan changes it)."""

    id: Id
    name: str = ""
    vendor: Id
    """Company that made it (a company id), for the compute tables."""
    pflops: NonNegativeSeries
    """Dense BF16 PFLOP/s of it still in service, by year; write 0 for the year it is gone
    (the value of the last year given is held after it, as for every series)."""

    @model_validator(mode="after")
    def _nonempty(self) -> InstalledBase:
        _check_series_not_empty(self.pflops, "pflops")
        return self


class ComputeDemand(_Model):
    """Installed compute the designer needs in service, by year."""

    id: Id
    installed_pflops: NonNegativeSeries
    """Dense BF16 PFLOP/s that must be in service, by year (the installed base included)."""
    installed_base: list[InstalledBase] = Field(default_factory=list)
    """Compute in service before the horizon that retires over time; it meets part of
    ``installed_pflops``."""
    unmet_penalty_usd_per_pflops_year: Positive = 1.0e7
    """Penalty on each PFLOP/s short of demand for one year, USD (so a plan always exists)."""

    @model_validator(mode="after")
    def _nonempty(self) -> ComputeDemand:
        _check_series_not_empty(self.installed_pflops, "installed_pflops")
        return self


class UnitDemand(_Model):
    """Units of one product needed per year (e.g. a phone SoC)."""

    id: Id
    product: Id
    units_per_year: NonNegativeSeries
    """Units delivered per year, units per year."""
    unmet_penalty_usd_per_unit: Positive = 1000.0
    """Penalty on each unit not delivered, USD per unit."""

    @model_validator(mode="after")
    def _nonempty(self) -> UnitDemand:
        _check_series_not_empty(self.units_per_year, "units_per_year")
        return self


class Demand(_Model):
    """What the plan must deliver."""

    compute: list[ComputeDemand] = Field(default_factory=list)
    units: list[UnitDemand] = Field(default_factory=list)


#: A share cap: one number for every year, or ``{year: share}``.
ShareCap = Fraction | FractionSeries


class Policies(_Model):
    """Constraints the user can switch on. An empty field means the policy is off."""

    max_vendor_share: dict[Id, ShareCap] = Field(default_factory=dict)
    """Largest share of new compute (PFLOP/s added per year) from one vendor, by vendor id."""
    max_country_share: dict[Country, ShareCap] = Field(default_factory=dict)
    """Largest share of the designer's logic wafers made in one country, by country code."""
    capex_budget_usd_per_year: NonNegativeSeries | None = None
    """Largest capital spending on new sites per year, USD per year."""
    default_reservable_share: Fraction = 1.0
    """Share of a foundry site's capacity the designer may reserve when the site sets none."""
    allow_multi_sourcing: bool = True
    """When false, each product is made on one process only (no second source)."""
    max_supplier_share: dict[Id, ShareCap] = Field(default_factory=dict)
    """Largest share of a supplier's capacity the designer may use, by company id: per year and
    process kind (logic, HBM, packaging), the designer's wafers at the company's existing and
    planned sites ≤ share × those sites' whole capacity (candidates the plan builds are
    outside: they are built for the designer)."""


class Programme(_Model):
    """A named group of sites, e.g. a national fab-cluster plan.

    A site belongs to the programme when the programme's id is among the site's ``tags``.
    Plans report, per year, the programme's fabs built (online) against its targets.
    """

    id: Id
    name: str
    country: Country | None = None
    description: str = ""
    total_investment_usd: NonNegative | None = None
    """Announced total investment, USD (information)."""
    new_production_fabs: Whole | None = Field(default=None, ge=0)
    new_research_fabs: Whole | None = Field(default=None, ge=0)
    existing_fabs: Whole | None = Field(default=None, ge=0)
    target_year: Year | None = None
    """Year by whose end the new fabs should be online."""
    start_year: Year | None = None
    """Year from which the new-fab targets rise linearly (0 before it) to their full count at
    the end of ``target_year``; the planning horizon's first year when empty."""
    min_fabs_by_year: dict[Year, Annotated[Whole, Field(ge=0)]] = Field(default_factory=dict)
    """Optional constraint on plans: at least this many of the programme's new fabs
    (candidate sites, production or research) online by the end of each year given."""


class Variant(_Model):
    """A named change to the base scenario: override paths and their new values."""

    description: str = ""
    set: dict[str, object] = Field(default_factory=dict)
    """Override paths (``policies.max_vendor_share.nvidia``, ``sites.<id>.status``) and values."""


# Disruptions -------------------------------------------------------------------------


class DisruptionKind(StrEnum):
    """What kind of disruption an event is (for reports; the effect fields say what it does)."""

    earthquake = "earthquake"
    fire = "fire"
    contamination = "contamination"
    cyber = "cyber"
    allocation_cut = "allocation_cut"
    export_control = "export_control"
    blockade = "blockade"
    demand_shock = "demand_shock"
    custom = "custom"


class DisruptionScope(StrEnum):
    """Whether one occurrence hits every matching site or one of them drawn at random."""

    one = "one"
    all = "all"


class DisruptionHits(_Model):
    """What an event hits. Site selectors (``sites``, ``regions``, ``countries``,
    ``companies``, ``processes``) combine as AND across kinds and OR within one kind:
    ``{countries: [TW], companies: [tsmc]}`` is TSMC's sites in Taiwan. Supplier, vendor,
    offer-country and demand targets are added to them."""

    sites: list[Id] = Field(default_factory=list)
    """Site ids."""
    regions: list[str] = Field(default_factory=list)
    """Site regions (``Site.region``, matched exactly), e.g. ``Hsinchu``."""
    countries: list[Country] = Field(default_factory=list)
    """Countries of sites (ISO codes)."""
    companies: list[Id] = Field(default_factory=list)
    """Owners of sites (company ids)."""
    processes: list[Id] = Field(default_factory=list)
    """Processes: the sites that run one of them, and only their routes for ``d0_multiplier``
    and ``wip_scrapped_share`` (a yield excursion on a process)."""
    products: list[Id] = Field(default_factory=list)
    """Products (ids): narrows ``d0_multiplier`` and ``wip_scrapped_share`` to the hit sites'
    routes that make them (needs a site selector)."""
    hbm_suppliers: list[Id] = Field(default_factory=list)
    """HBM makers (company ids): their HBM sites lose ``allocation_loss`` of the designer's share."""
    packaging_suppliers: list[Id] = Field(default_factory=list)
    """Packaging companies: their packaging sites lose ``allocation_loss`` of the designer's share."""
    vendors: list[Id] = Field(default_factory=list)
    """Vendors (company ids) whose offers lose ``allocation_loss`` of their allocation
    (1: withdrawn, e.g. an export rule)."""
    offer_countries: list[Country] = Field(default_factory=list)
    """Offers whose logic dies are made in these countries (``Offer.country``) lose
    ``allocation_loss`` (a blockade stops them too)."""
    demands: list[Id] | Literal["all"] = Field(default_factory=list)
    """Demand ids (compute or unit) multiplied by ``demand_factor``; ``all``: every compute demand."""

    def site_selectors(self) -> bool:
        """True when any site selector is given."""
        return bool(
            self.sites or self.regions or self.countries or self.companies or self.processes
        )

    def empty(self) -> bool:
        """True when the event names no target at all."""
        return not (
            self.site_selectors()
            or self.hbm_suppliers
            or self.packaging_suppliers
            or self.vendors
            or self.offer_countries
            or self.demands
        )


def site_hit(
    hits: DisruptionHits | Mapping[str, object],
    site_id: str,
    region: str,
    country: str,
    owner: str,
    processes: Sequence[str],
) -> bool:
    """True when the site selectors of ``hits`` (a model or its raw mapping) match the site.

    AND across selector kinds, OR within a kind; False when no site selector is given.
    One rule for the validator (raw data) and the sampler (validated models).
    """

    def listed(key: str) -> list[str] | None:
        value = hits.get(key) if isinstance(hits, Mapping) else getattr(hits, key, None)
        return [str(v) for v in value] if isinstance(value, list) and value else None

    own: dict[str, set[str]] = {
        "sites": {site_id},
        "regions": {region},
        "countries": {country},
        "companies": {owner},
        "processes": set(processes),
    }
    any_given = False
    for key, mine in own.items():
        values = listed(key)
        if values is None:
            continue
        any_given = True
        if not mine & set(values):
            return False
    return any_given


#: ``[days since onset, share of the lost capacity back]`` points of a recovery curve.
RecoveryPoint = tuple[NonNegative, Fraction]


class Disruption(_Model):
    """One event of the disruption catalogue: how often, what it hits, how much, how long.

    Frequency: ``rate_per_year`` (occurrences follow a Poisson process over the horizon,
    onsets uniform in time) or ``probability`` of one occurrence within ``window_years``
    (calendar years, both inclusive; onset uniform in the window).

    Recovery: with ``capacity_loss`` c and the recovery curve r(τ) (share of the lost
    capacity back τ days after the onset), a hit site has 1 − c·(1 − r(τ)) of its capacity.
    ``recovery`` is piecewise linear between its points and 1 after the last; a
    ``duration_days`` d is the step r = 0 for τ < d, 1 after. With neither the loss is
    permanent (an export rule). The same curve scales every effect of the event
    (``allocation_loss``, ``demand_factor``, the ``d0_multiplier`` excursion). See docs/risk.md.
    """

    id: Id
    name: str = ""
    kind: DisruptionKind
    description: str = ""
    rate_per_year: NonNegative | None = None
    """Mean occurrences per year (Poisson), 1/year."""
    probability: Fraction | None = None
    """Probability of one occurrence within ``window_years`` (0–1)."""
    window_years: tuple[Year, Year] | None = None
    """``[first, last]`` calendar years (inclusive) in which a ``probability`` event may start."""
    hits: DisruptionHits
    """What the event hits."""
    scope: DisruptionScope = DisruptionScope.all
    """``all``: every matching site is hit; ``one``: one matching site, drawn uniformly, per occurrence."""
    capacity_loss: Fraction = 0.0
    """Share of a hit site's capacity lost at the onset (0–1)."""
    wip_scrapped_share: Fraction = 0.0
    """Share of the wafers in flight at the onset (started within one cycle time before it)
    whose output is lost (0–1)."""
    d0_multiplier: Positive = 1.0
    """Multiplier on the defect density D0 of the hit logic routes' wafers started during the
    event (a yield excursion; dimensionless, 2.0 doubles D0)."""
    demand_factor: Positive = 1.0
    """Multiplier on the hit demands during the event (a demand shock; > 1 raises demand)."""
    allocation_loss: Fraction = 0.0
    """Share of a supplier's capacity (HBM / packaging sites) or of an offer's allocation
    lost for the designer (0–1; 1 withdraws an offer)."""
    recovery: list[RecoveryPoint] | None = None
    """Recovery curve: ``[days since onset, share of the lost capacity back (0–1)]`` points;
    starts at day 0, days never decrease, ends at share 1."""
    duration_days: Positive | None = None
    """Length of a step event, days (nothing back during, everything after)."""

    @model_validator(mode="after")
    def _consistent(self) -> Disruption:
        if (self.rate_per_year is None) == (self.probability is None):
            raise ValueError(
                "give either rate_per_year (occurrences per year) or probability with "
                "window_years — one of the two"
            )
        if self.probability is not None and self.window_years is None:
            raise ValueError(
                "probability needs window_years — add window_years: [first_year, last_year]"
            )
        if self.window_years is not None:
            if self.probability is None:
                raise ValueError("window_years goes with probability — add probability (0–1)")
            if self.window_years[1] < self.window_years[0]:
                raise ValueError("window_years ends before it starts — swap the two years")
        if self.recovery is not None and self.duration_days is not None:
            raise ValueError("give recovery or duration_days, not both — drop one")
        if self.recovery is not None:
            pts = self.recovery
            if not pts:
                raise ValueError("the recovery curve is empty — add [days, share] points")
            if pts[0][0] != 0:
                raise ValueError(
                    f"the recovery curve starts at day {pts[0][0]:g} — start it at day 0, "
                    "e.g. [0, 0]"
                )
            for (d0, _), (d1, _) in itertools.pairwise(pts):
                if d1 < d0:
                    raise ValueError(
                        f"the recovery curve's days decrease ({d0:g} then {d1:g}) — list the "
                        "points in order of days"
                    )
            if pts[-1][1] != 1.0:
                raise ValueError(
                    f"the recovery curve ends at {pts[-1][1]:g}, not 1 — end it with "
                    "[days, 1] (full recovery), or drop recovery for a permanent loss"
                )
        if self.hits.products and not self.hits.site_selectors():
            raise ValueError(
                "hits.products narrows the routes of the hit sites — add a site selector "
                "(sites, regions, countries, companies or processes)"
            )
        if self.hits.empty():
            raise ValueError(
                "the event hits nothing — name sites, regions, countries, companies, "
                "processes, suppliers, vendors, offer_countries or demands under hits"
            )
        site_effect = self.capacity_loss > 0 or self.wip_scrapped_share > 0
        site_effect = site_effect or self.d0_multiplier != 1.0
        targets_effects = (
            (
                self.hits.site_selectors(),
                site_effect,
                "capacity_loss, wip_scrapped_share or d0_multiplier",
            ),
            (
                bool(self.hits.hbm_suppliers or self.hits.packaging_suppliers),
                self.allocation_loss > 0,
                "allocation_loss",
            ),
            (
                bool(self.hits.vendors or self.hits.offer_countries),
                self.allocation_loss > 0,
                "allocation_loss",
            ),
            (bool(self.hits.demands), self.demand_factor != 1.0, "demand_factor"),
        )
        if not any(named and effect for named, effect, _ in targets_effects):
            wanted = sorted({what for named, _, what in targets_effects if named})
            raise ValueError("the event does nothing to what it hits — set " + " or ".join(wanted))
        return self

    @property
    def permanent(self) -> bool:
        """True when the event has neither a recovery curve nor a duration."""
        return self.recovery is None and self.duration_days is None


class Scenario(_Model):
    """A supply network over a planning horizon: the input of every fabnet analysis.

    Time series are written ``{year: value}``: a year's value is its average and sits at
    the middle of the year; values between given years are interpolated linearly; before
    the first and after the last given year the first or last value holds. A planning
    period takes the value at its middle.
    """

    name: Id
    description: str = ""
    horizon: Horizon
    discount_rate: Annotated[Real, Field(ge=0.0, lt=1.0)] = 0.08
    """Yearly discount rate for present values (0.08 = 8 % per year)."""
    currency: Literal["USD"] = "USD"
    electricity_usd_per_kwh: NonNegativeSeries = Field(default_factory=lambda: {2024: 0.08})
    """Price of electricity for accelerators in service, USD per kWh, by year."""
    pue: Annotated[Real, Field(ge=1.0, le=3.0)] = 1.3
    """Power usage effectiveness of the data centres (facility power / IT power)."""
    designer: Id
    """The company whose plan this is (a company with the designer role)."""
    companies: list[Company] = Field(min_length=1)
    processes: list[Process] = Field(default_factory=list)
    sites: list[Site] = Field(default_factory=list)
    products: list[Product] = Field(default_factory=list)
    offers: list[Offer] = Field(default_factory=list)
    demand: Demand = Field(default_factory=Demand)
    policies: Policies = Field(default_factory=Policies)
    programmes: list[Programme] = Field(default_factory=list)
    disruptions: list[Disruption] = Field(default_factory=list)
    """The disruption catalogue: events the risk analysis samples (see docs/risk.md)."""
    variants: dict[Id, Variant] = Field(default_factory=dict)

    @field_validator("electricity_usd_per_kwh")
    @classmethod
    def _nonempty(cls, v: dict[int, float]) -> dict[int, float]:
        _check_series_not_empty(v, "electricity_usd_per_kwh")
        return v

    @model_validator(mode="after")
    def _references(self, info: ValidationInfo) -> Scenario:
        """Cross-reference checks (unknown ids, a site running a process its owner lacks, ...)
        so that a scenario built in Python is checked like one loaded from YAML; the YAML
        loader runs them itself on the raw data (to name file lines) and skips this."""
        if info.context and info.context.get(CROSS_CHECKED):
            return self
        from fabnet.scenario.validate import check_references  # validate imports this module

        check_references(self)
        return self

    # Lookups -----------------------------------------------------------------
    def company(self, id_: str) -> Company:
        """The company with this id."""
        return next(c for c in self.companies if c.id == id_)

    def process(self, id_: str) -> Process:
        """The process with this id."""
        return next(p for p in self.processes if p.id == id_)

    def site(self, id_: str) -> Site:
        """The site with this id."""
        return next(s for s in self.sites if s.id == id_)

    def product(self, id_: str) -> Product:
        """The product with this id."""
        return next(p for p in self.products if p.id == id_)

    def offer(self, id_: str) -> Offer:
        """The offer with this id."""
        return next(o for o in self.offers if o.id == id_)

    def disruption(self, id_: str) -> Disruption:
        """The catalogue event with this id."""
        return next(d for d in self.disruptions if d.id == id_)


# Time series ------------------------------------------------------------------


def series_at(series: dict[int, float], years: float | np.ndarray | list[float]) -> np.ndarray:
    """Values of a ``{year: value}`` series at fractional calendar times.

    ``years`` are calendar times in years (``2025.5`` is the middle of 2025). A value
    given for year Y sits at Y + 0.5; values between are linear, values outside the
    given years are held constant (the first or last value).
    """
    t = np.atleast_1d(np.asarray(years, dtype=float))
    keys = np.array(sorted(series), dtype=float)
    vals = np.array([series[int(k)] for k in keys], dtype=float)
    out: np.ndarray = np.interp(t, keys + 0.5, vals)
    return out


def share_cap_series(cap: float | dict[int, float]) -> dict[int, float]:
    """A share cap written as one number, as a ``{year: share}`` series."""
    if isinstance(cap, dict):
        return cap
    return {2000: float(cap)}


def period_midpoints(horizon: Horizon, period: Period | None = None) -> np.ndarray:
    """Calendar time (years) of the middle of each planning period."""
    p = period or horizon.period
    n = round((horizon.last_year - horizon.first_year + 1) / p.years)
    return horizon.first_year + (np.arange(n) + 0.5) * p.years


def period_labels(horizon: Horizon, period: Period | None = None) -> list[str]:
    """Labels of the planning periods: ``2025``, ``2025Q1`` or ``2025-01``."""
    p = period or horizon.period
    labels: list[str] = []
    for year in horizon.years:
        if p is Period.year:
            labels.append(str(year))
        elif p is Period.quarter:
            labels.extend(f"{year}Q{q}" for q in range(1, 5))
        else:
            labels.extend(f"{year}-{m:02d}" for m in range(1, 13))
    return labels
