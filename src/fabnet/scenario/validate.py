"""Cross-reference checks of a scenario, on its raw (parsed YAML) data.

The pydantic schema checks each field on its own; these checks look across
entities: unknown and duplicate ids, a site making a process its owner does not
run, dies above the reticle limit, and so on. They
run on the raw data, not on the validated model, so that they can be reported
together with the schema's own errors in one pass, even when some entity is
malformed.

Years outside the horizon are not errors (a scenario is written once and planned over
shorter horizons with ``--set horizon.first_year=...``): :func:`horizon_notes` lists what
the planner leaves out, as notes.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from fabnet.errors import Problem, ScenarioError
from fabnet.scenario.schema import Process, Scenario, SiteStatus, site_hit

Loc = tuple[str | int, ...]

_SITE_ROLES = {"foundry", "memory", "packaging"}


@dataclass(frozen=True)
class Issue:
    """A cross-reference problem at a location in the raw data."""

    loc: Loc
    message: str
    hint: str = ""


def did_you_mean(word: str, choices: Sequence[str] | set[str]) -> str:
    """`` — did you mean 'x'?`` style hint text, or a list of the choices."""
    options = sorted(str(c) for c in choices)
    close = difflib.get_close_matches(str(word), options, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    if not options:
        return "none are defined"
    shown = ", ".join(options[:12]) + (", ..." if len(options) > 12 else "")
    return f"known: {shown}"


def _items(raw: Mapping[str, Any], key: str) -> list[tuple[int, Mapping[str, Any]]]:
    value = raw.get(key)
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, Mapping)]


def _ids(raw: Mapping[str, Any], key: str) -> dict[str, Mapping[str, Any]]:
    return {
        str(item["id"]): item
        for _, item in _items(raw, key)
        if isinstance(item.get("id"), str | int)
    }


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def cross_check(raw: Mapping[str, Any], limit: int | None = None) -> list[Issue]:
    """Every cross-reference problem of a raw scenario (empty when there is none); at most
    ``limit`` of them (the checks stop there)."""
    return list(itertools.islice(_checks(raw), limit))


def check_references(scenario: Scenario) -> None:
    """Raise a :class:`ScenarioError` naming every cross-reference problem of a scenario built
    in Python (``Scenario.model_validate``); YAML loading checks its raw data instead."""
    data = scenario.model_dump(mode="python")
    issues = cross_check(data)
    if issues:
        problems = [
            Problem(i.message, i.hint, field=path_text(data, i.loc) or None) for i in issues
        ]
        raise ScenarioError(problems, title=f"invalid scenario {scenario.name}")


def path_text(data: Any, loc: Loc) -> str:
    """A readable field path; list items are named by their id where they have one."""
    parts: list[str] = []
    node = data
    for part in loc:
        if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            item = node[part]
            if isinstance(item, Mapping) and isinstance(item.get("id"), str):
                parts.append(item["id"])
            elif parts:
                parts[-1] += f"[{part}]"
            else:
                parts.append(f"[{part}]")
            node = item
        elif isinstance(node, Mapping) and part in node:
            parts.append(str(part))
            node = node[part]
        elif isinstance(node, Mapping) and str(part).isdigit() and int(part) in node:
            parts.append(str(part))
            node = node[int(part)]
        else:
            parts.append(str(part))
            node = None
    return ".".join(parts)


def _checks(raw: Mapping[str, Any]) -> Iterator[Issue]:
    sections = ("companies", "processes", "sites", "products", "offers", "programmes")
    for section in sections:
        seen: dict[str, int] = {}
        for i, item in _items(raw, section):
            id_ = item.get("id")
            if not isinstance(id_, str):
                continue
            if id_ in seen:
                yield Issue(
                    (section, i, "id"),
                    f"duplicate id '{id_}' (also item {seen[id_] + 1} of {section})",
                    "give each entry its own id",
                )
            else:
                seen[id_] = i
    for sub in ("compute", "units"):
        demand = raw.get("demand")
        if isinstance(demand, Mapping):
            seen = {}
            for i, item in _items(demand, sub):
                id_ = item.get("id")
                if isinstance(id_, str):
                    if id_ in seen:
                        yield Issue(
                            ("demand", sub, i, "id"),
                            f"duplicate id '{id_}'",
                            "give each entry its own id",
                        )
                    seen[id_] = i

    companies = _ids(raw, "companies")
    processes = _ids(raw, "processes")
    programmes = _ids(raw, "programmes")
    products = _ids(raw, "products")

    def ref(loc: Loc, value: Any, known: Mapping[str, Any], what: str) -> Iterator[Issue]:
        if isinstance(value, str) and value not in known:
            yield Issue(loc, f"unknown {what} '{value}'", did_you_mean(value, set(known)))

    def roles(company: Mapping[str, Any]) -> set[str]:
        value = company.get("roles")
        return {str(r) for r in value} if isinstance(value, list) else set()

    designer = raw.get("designer")
    yield from ref(("designer",), designer, companies, "company")
    if (
        isinstance(designer, str)
        and designer in companies
        and "designer" not in roles(companies[designer])
    ):
        yield Issue(
            ("designer",),
            f"company '{designer}' does not have the designer role",
            f"add 'designer' to the roles of company '{designer}'",
        )

    for i, proc in _items(raw, "processes"):
        yield from ref(("processes", i, "owner"), proc.get("owner"), companies, "company")

    for i, site in _items(raw, "sites"):
        owner = site.get("owner")
        yield from ref(("sites", i, "owner"), owner, companies, "company")
        if (
            isinstance(owner, str)
            and owner in companies
            and not roles(companies[owner]) & (_SITE_ROLES)
        ):
            yield Issue(
                ("sites", i, "owner"),
                f"company '{owner}' owns a site but is not a foundry, memory or packaging company",
                f"add a role (foundry, memory or packaging) to company '{owner}'",
            )
        procs = site.get("processes")
        if isinstance(procs, list):
            for j, pid in enumerate(procs):
                if isinstance(pid, str) and pid not in processes:
                    yield Issue(
                        ("sites", i, "processes", j),
                        f"unknown process '{pid}'",
                        did_you_mean(pid, set(processes)),
                    )
                elif isinstance(pid, str) and isinstance(owner, str):
                    p_owner = processes[pid].get("owner")
                    if isinstance(p_owner, str) and p_owner != owner:
                        yield Issue(
                            ("sites", i, "processes", j),
                            f"site owned by '{owner}' makes process '{pid}', which '{p_owner}' runs",
                            f"give the site to '{p_owner}' or use a process of '{owner}'",
                        )
        tags = site.get("tags")
        if isinstance(tags, list):
            for j, tag in enumerate(tags):
                yield from ref(("sites", i, "tags", j), tag, programmes, "programme")

    hbm_generations = {
        str(p.get("generation")) for p in processes.values() if p.get("kind") == "hbm"
    }
    default_reticle = float(Process.model_fields["reticle_limit_mm2"].default)
    for i, prod in _items(raw, "products"):
        yield from ref(("products", i, "designer"), prod.get("designer"), companies, "company")
        area = _num(prod.get("die_area_mm2"))
        chiplets = prod.get("chiplets", 1)
        n_dies = chiplets if isinstance(chiplets, int) and chiplets >= 1 else 1
        options = prod.get("process_options")
        if isinstance(options, list):
            listed: set[str] = set()
            for j, opt in enumerate(options):
                if not isinstance(opt, Mapping):
                    continue
                pid = opt.get("process")
                if isinstance(pid, str) and pid in listed:
                    yield Issue(
                        ("products", i, "process_options", j, "process"),
                        f"process '{pid}' is listed twice in the product's process_options",
                        "list each process once (with its porting cost and performance)",
                    )
                    continue
                if isinstance(pid, str):
                    listed.add(pid)
                if isinstance(pid, str) and pid not in processes:
                    yield Issue(
                        ("products", i, "process_options", j, "process"),
                        f"unknown process '{pid}'",
                        did_you_mean(pid, set(processes)),
                    )
                    continue
                if not isinstance(pid, str):
                    continue
                proc = processes[pid]
                if proc.get("kind") != "logic":
                    yield Issue(
                        ("products", i, "process_options", j, "process"),
                        f"process '{pid}' is not a logic process",
                        "list logic processes here; HBM and packaging have their own fields",
                    )
                reticle = _num(proc.get("reticle_limit_mm2")) or default_reticle
                if area is not None and area / n_dies > reticle:
                    need = int(-(-area // reticle))
                    yield Issue(
                        ("products", i, "die_area_mm2"),
                        f"a die of {area / n_dies:g} mm² is above the reticle limit of "
                        f"{reticle:g} mm² of process '{pid}'",
                        f"declare a chiplet design: set chiplets: {need} (or more)",
                    )
        gen = prod.get("hbm_generation")
        if isinstance(gen, str) and gen not in hbm_generations:
            yield Issue(
                ("products", i, "hbm_generation"),
                f"no HBM process makes generation '{gen}'",
                did_you_mean(gen, hbm_generations),
            )
        packs = prod.get("packaging_options")
        if isinstance(packs, list):
            for j, pid in enumerate(packs):
                if isinstance(pid, str) and pid not in processes:
                    yield Issue(
                        ("products", i, "packaging_options", j),
                        f"unknown process '{pid}'",
                        did_you_mean(pid, set(processes)),
                    )
                elif isinstance(pid, str) and processes[pid].get("kind") != "packaging":
                    yield Issue(
                        ("products", i, "packaging_options", j),
                        f"process '{pid}' is not a packaging process",
                        "list packaging processes here",
                    )

    for i, offer in _items(raw, "offers"):
        yield from ref(("offers", i, "vendor"), offer.get("vendor"), companies, "company")
        yield from _commitment_checks(i, offer)

    demand = raw.get("demand")
    if isinstance(demand, Mapping):
        sources = {**products, **_ids(raw, "offers")}
        seen_base: dict[str, tuple[int, int]] = {}
        for i, item in _items(demand, "compute"):
            for j, base in _items(item, "installed_base"):
                loc = ("demand", "compute", i, "installed_base", j)
                yield from ref((*loc, "vendor"), base.get("vendor"), companies, "company")
                bid = base.get("id")
                if not isinstance(bid, str):
                    continue
                if bid in sources:
                    yield Issue(
                        (*loc, "id"),
                        f"installed base id '{bid}' is also the id of a product or offer",
                        "give the installed base its own id (it is a source in the compute tables)",
                    )
                elif bid in seen_base:
                    yield Issue(
                        (*loc, "id"),
                        f"duplicate installed base id '{bid}'",
                        "give each installed base its own id",
                    )
                seen_base.setdefault(bid, (i, j))
        for i, item in _items(demand, "units"):
            yield from ref(
                ("demand", "units", i, "product"), item.get("product"), products, "product"
            )

    policies = raw.get("policies")
    if isinstance(policies, Mapping):
        vendors = {
            str(o.get("vendor")) for _, o in _items(raw, "offers") if o.get("vendor") is not None
        } | {str(p.get("designer")) for p in products.values() if p.get("designer") is not None}
        caps = policies.get("max_vendor_share")
        if isinstance(caps, Mapping):
            for vendor in caps:
                if vendor not in vendors:
                    yield Issue(
                        ("policies", "max_vendor_share", vendor),
                        f"no product or offer comes from vendor '{vendor}'",
                        did_you_mean(str(vendor), vendors),
                    )
        suppliers = policies.get("max_supplier_share")
        if isinstance(suppliers, Mapping):
            owners = {str(s.get("owner")) for _, s in _items(raw, "sites")}
            for company in suppliers:
                if company not in companies:
                    yield Issue(
                        ("policies", "max_supplier_share", company),
                        f"unknown company '{company}'",
                        did_you_mean(str(company), set(companies)),
                    )
                elif company not in owners:
                    yield Issue(
                        ("policies", "max_supplier_share", company),
                        f"company '{company}' runs no site, so it has no capacity to share",
                        "drop the entry or give the company a site",
                    )

    yield from _disruption_checks(raw, None, None)  # windows outside the horizon: no error (§4)


def _series_value(series: Any, year: int) -> float | None:
    """A raw ``{year: value}`` series at the middle of ``year`` (linear, held outside)."""
    if not isinstance(series, Mapping):
        return None
    pts = sorted(
        (int(k), float(v)) for k, v in series.items() if isinstance(k, int) and _num(v) is not None
    )
    if not pts:
        return None
    if year <= pts[0][0]:
        return pts[0][1]
    for (y0, v0), (y1, v1) in itertools.pairwise(pts):
        if y0 <= year <= y1:
            return v0 + (v1 - v0) * (year - y0) / (y1 - y0)
    return pts[-1][1]


def _commitment_checks(i: int, offer: Mapping[str, Any]) -> Iterator[Issue]:
    """A committed purchase (``min_units_per_year``) must be possible: the offer is on sale
    that year and the commitment is within its allocation."""
    commit = offer.get("min_units_per_year")
    if not isinstance(commit, Mapping):
        return
    lo, hi = offer.get("available_from_year"), offer.get("available_to_year")
    for year, value in commit.items():
        units = _num(value)
        if not isinstance(year, int) or units is None or units <= 0:
            continue
        loc = ("offers", i, "min_units_per_year", year)
        if (isinstance(lo, int) and year < lo) or (isinstance(hi, int) and year > hi):
            sale = f"{lo if isinstance(lo, int) else '…'}–{hi if isinstance(hi, int) else '…'}"
            yield Issue(
                loc,
                f"a commitment of {units:,.0f} units in {year}, when the offer is not on sale "
                f"({sale})",
                "move the commitment into the sale years or widen available_from_year / "
                "available_to_year",
            )
            continue
        cap = _series_value(offer.get("max_units_per_year"), year)
        if cap is not None and units > cap * (1 + 1e-9):
            yield Issue(
                loc,
                f"a commitment of {units:,.0f} units in {year} is above the allocation of "
                f"{cap:,.0f} units (max_units_per_year) that year",
                "lower the commitment or raise max_units_per_year",
            )


def _disruption_checks(
    raw: Mapping[str, Any], first: int | None, last: int | None
) -> Iterator[Issue]:
    """Cross-references of the disruption catalogue: every target exists and the site
    selectors of each event match at least one site."""
    companies = _ids(raw, "companies")
    processes = _ids(raw, "processes")
    sites = [s for _, s in _items(raw, "sites")]
    offers = [o for _, o in _items(raw, "offers")]
    demand = raw.get("demand")
    demand_ids: set[str] = set()
    if isinstance(demand, Mapping):
        for sub in ("compute", "units"):
            demand_ids |= {str(d.get("id")) for _, d in _items(demand, sub) if d.get("id")}

    def text(site: Mapping[str, Any], key: str) -> str:
        value = site.get(key)
        return str(value) if value is not None else ""

    def site_procs(site: Mapping[str, Any]) -> list[str]:
        value = site.get("processes")
        return [str(p) for p in value] if isinstance(value, list) else []

    def kinds(site: Mapping[str, Any]) -> set[str]:
        return {str(processes[p].get("kind")) for p in site_procs(site) if p in processes}

    regions = {text(s, "region") for s in sites if text(s, "region")}
    site_countries = {text(s, "country") for s in sites}
    offer_countries = {text(o, "country") for o in offers if o.get("country")}
    vendors = {text(o, "vendor") for o in offers}
    owners = {text(s, "owner") for s in sites}

    seen: dict[str, int] = {}
    for i, event in _items(raw, "disruptions"):
        loc: Loc = ("disruptions", i)
        id_ = event.get("id")
        if isinstance(id_, str):
            if id_ in seen:
                yield Issue(
                    (*loc, "id"),
                    f"duplicate event id '{id_}' (also event {seen[id_] + 1} of disruptions)",
                    "give each event its own id",
                )
            seen.setdefault(id_, i)
        window = event.get("window_years")
        if isinstance(window, list) and first is not None and last is not None:
            for k, year in enumerate(window):
                if isinstance(year, int) and not first <= year <= last:
                    yield Issue(
                        (*loc, "window_years", k),
                        f"year {year} is outside the horizon {first}-{last}",
                        "use years inside the horizon or widen it",
                    )
        hits = event.get("hits")
        if not isinstance(hits, Mapping):
            continue
        hloc: Loc = (*loc, "hits")

        def listed(key: str, hits: Mapping[str, Any] = hits) -> list[tuple[int, str]]:
            value = hits.get(key)
            if not isinstance(value, list):
                return []
            return [(j, str(v)) for j, v in enumerate(value) if isinstance(v, str | int)]

        def unknown(key: str, known: set[str], what: str, hloc: Loc = hloc) -> Iterator[Issue]:
            for j, value in listed(key):
                if value not in known:
                    yield Issue(
                        (*hloc, key, j), f"unknown {what} '{value}'", did_you_mean(value, known)
                    )

        selector_issues = [
            *unknown("sites", {text(s, "id") for s in sites}, "site"),
            *unknown("regions", regions, "region (no site has it)"),
            *unknown("countries", site_countries, "country (no site is in it)"),
            *unknown("processes", set(processes), "process"),
        ]
        yield from selector_issues
        yield from unknown("offer_countries", offer_countries, "country (no offer is made in it)")
        yield from unknown("products", set(_ids(raw, "products")), "product")
        for j, company in listed("companies"):
            if company not in companies:
                selector_issues.append(Issue((*hloc, "companies", j), "", ""))
                yield Issue(
                    (*hloc, "companies", j),
                    f"unknown company '{company}'",
                    did_you_mean(company, set(companies)),
                )
            elif company not in owners:
                selector_issues.append(Issue((*hloc, "companies", j), "", ""))
                yield Issue(
                    (*hloc, "companies", j),
                    f"company '{company}' owns no site",
                    did_you_mean(company, owners),
                )
        for key, kind in (("hbm_suppliers", "hbm"), ("packaging_suppliers", "packaging")):
            runs = {text(s, "owner") for s in sites if kind in kinds(s)}
            for j, company in listed(key):
                if company not in companies:
                    yield Issue(
                        (*hloc, key, j),
                        f"unknown company '{company}'",
                        did_you_mean(company, set(companies)),
                    )
                elif company not in runs:
                    yield Issue(
                        (*hloc, key, j),
                        f"company '{company}' has no {kind} site",
                        did_you_mean(company, runs),
                    )
        for j, vendor in listed("vendors"):
            if vendor not in companies:
                yield Issue(
                    (*hloc, "vendors", j),
                    f"unknown company '{vendor}'",
                    did_you_mean(vendor, set(companies)),
                )
            elif vendor not in vendors:
                yield Issue(
                    (*hloc, "vendors", j),
                    f"no offer comes from vendor '{vendor}'",
                    did_you_mean(vendor, vendors),
                )
        if hits.get("demands") != "all":
            yield from unknown("demands", demand_ids, "demand")

        matched = [
            s
            for s in sites
            if s.get("purpose", "production") == "production"
            and site_hit(
                hits,
                text(s, "id"),
                text(s, "region"),
                text(s, "country"),
                text(s, "owner"),
                site_procs(s),
            )
        ]
        selectors = [
            k for k in ("sites", "regions", "countries", "companies", "processes") if listed(k)
        ]
        if selectors and not matched and not selector_issues:
            yield Issue(
                hloc,
                f"the site selectors ({', '.join(selectors)}) match no production site together",
                "selectors of different kinds must all hold for a site (research sites are "
                "never hit); loosen one",
            )
        d0 = _num(event.get("d0_multiplier"))
        if d0 is not None and d0 != 1.0:
            for j, pid in listed("processes"):
                if pid in processes and processes[pid].get("kind") != "logic":
                    yield Issue(
                        (*hloc, "processes", j),
                        f"process '{pid}' is not a logic process: a d0_multiplier needs a yield model",
                        "list logic processes, or use wip_scrapped_share / capacity_loss",
                    )
            if matched and not any("logic" in kinds(s) for s in matched):
                yield Issue(
                    (*loc, "d0_multiplier"),
                    "the event's sites run no logic process: a d0_multiplier has nothing to act on",
                    "hit logic sites, or use wip_scrapped_share / capacity_loss",
                )


#: Fields whose ``{int: value}`` keys are not calendar years (``d0_learning``: years since a
#: product's first wafers on a process) or that are not planned as they stand (variants).
_NOT_CALENDAR = frozenset({"variants", "d0_learning"})


def _series_outside(node: Any, path: str, first: int, last: int) -> Iterator[tuple[str, int]]:
    """``(field path, year)`` of every ``{year: value}`` point outside ``first..last``,
    found by walking the typed scenario (list items are named by their id)."""
    if isinstance(node, BaseModel):
        for name in type(node).model_fields:
            if name in _NOT_CALENDAR or name not in node.model_fields_set:
                continue  # a default (e.g. the electricity price) is not the user's point
            yield from _series_outside(
                getattr(node, name), f"{path}.{name}".strip("."), first, last
            )
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _series_outside(item, f"{path}.{getattr(item, 'id', i)}", first, last)
    elif isinstance(node, dict) and node:
        if all(isinstance(k, int) and not isinstance(k, bool) for k in node):
            yield from ((path, y) for y in sorted(node) if not first <= y <= last)
        else:
            for k, v in node.items():
                yield from _series_outside(v, f"{path}.{k}", first, last)


def horizon_notes(scenario: Scenario) -> list[str]:
    """Notes on what lies outside the planning horizon (empty when nothing does).

    * Series points (``{year: value}``) outside the horizon are not planned, but they still
      shape the values inside it: a series is interpolated between its points, so a point
      before ``first_year`` sets the values of the first periods (the value at the middle of
      ``first_year`` lies between it and the next point). Committed purchases
      (``min_units_per_year``) outside the horizon are not bought.
    * A candidate site whose ``earliest_start_year`` is after the horizon cannot be built,
      and a process option available only after it is never used.

    Years before the horizon in ``earliest_start_year`` and ``available_from_year`` need no
    note: the start or the option is simply open from the first period.
    """
    h = scenario.horizon
    first, last = h.first_year, h.last_year
    notes: list[str] = []
    points = list(_series_outside(scenario, "", first, last))
    if points:
        fields: dict[str, list[int]] = {}
        for path, year in points:
            fields.setdefault(path, []).append(year)
        shown = "; ".join(f"{p} ({', '.join(map(str, ys))})" for p, ys in list(fields.items())[:4])
        more = f"; and {len(fields) - 4} more fields" if len(fields) > 4 else ""
        commit = any(p.endswith(".min_units_per_year") for p in fields)
        notes.append(
            f"note: {len(points)} series points lie outside the horizon {first}-{last} and are "
            "not planned; points before or after it still set the values interpolated inside "
            "it"
            + (" (commitments outside it are not bought)" if commit else "")
            + f": {shown}{more}"
        )
    late = [
        f"{s.id} ({s.earliest_start_year})"
        for s in scenario.sites
        if s.status is SiteStatus.candidate
        and s.earliest_start_year is not None
        and s.earliest_start_year > last
    ]
    if late:
        notes.append(
            f"note: candidate sites that may start only after the horizon's end ({last}) "
            f"cannot be built in this plan: {', '.join(late)}"
        )
    opts = [
        f"{p.id} on {o.process} ({o.available_from_year})"
        for p in scenario.products
        for o in p.process_options
        if o.available_from_year is not None and o.available_from_year > last
    ]
    if opts:
        notes.append(
            f"note: process options available only after the horizon's end ({last}) are not "
            f"used in this plan: {', '.join(opts)}"
        )
    return notes
