"""`fabnet scenario ...`: list, show, validate and export the schema of scenarios."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from fabnet.cli.app import app, err, out
from fabnet.errors import FabnetError, Problem, ScenarioError
from fabnet.scenario import (
    ProcessOption,
    Scenario,
    SiteStatus,
    builtin_names,
    load_scenario,
    series_at,
    validate_file,
)
from fabnet.scenario.io import builtin_text, parse_yaml
from fabnet.scenario.validate import did_you_mean

scenario_app = typer.Typer(
    help="Scenario files: list the built-ins, show one, export an editable copy, validate files, "
    "export the JSON Schema.",
    no_args_is_help=True,
)
app.add_typer(scenario_app, name="scenario")


def _fmt(value: float) -> str:
    """A number in a short readable form (1.2k, 3.4M, 5.6B)."""
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def _count(n: int, noun: str) -> str:
    """``1 product``, ``3 products``."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _series_text(series: dict[int, float] | None) -> str:
    if not series:
        return ""
    years = sorted(series)
    if len(years) <= 3:
        return ", ".join(f"{y}: {_fmt(series[y])}" for y in years)
    return f"{years[0]}: {_fmt(series[years[0]])} … {years[-1]}: {_fmt(series[years[-1]])}"


@scenario_app.command("list")
def list_cmd(
    json_out: bool = typer.Option(False, "--json", help="Print a JSON list instead of a table."),
) -> None:
    """List the built-in scenarios."""
    rows: list[dict[str, str]] = []
    for name in builtin_names():
        data = parse_yaml(builtin_text(name), name).data
        horizon = data.get("horizon", {})
        rows.append(
            {
                "name": name,
                "horizon": f"{horizon.get('first_year')}-{horizon.get('last_year')}",
                "variants": ", ".join(sorted(data.get("variants") or {})),
                "description": " ".join(str(data.get("description", "")).split()),
            }
        )
    if json_out:
        out.print_json(json.dumps(rows))
        return
    table = Table(title="Built-in scenarios")
    for col in ("name", "horizon", "variants", "description"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["name"], r["horizon"], r["variants"], r["description"])
    out.print(table)


def _show(s: Scenario) -> None:
    h = s.horizon
    out.print(f"[bold]{s.name}[/] — {' '.join(s.description.split())}")
    out.print(
        f"horizon {h.first_year}–{h.last_year} by {h.period.value}; discount rate "
        f"{s.discount_rate:.1%}; designer {s.designer}; electricity "
        f"{_series_text(s.electricity_usd_per_kwh)} USD/kWh; PUE {s.pue}"
    )

    t = Table(title="Companies")
    for col in ("id", "name", "roles", "country"):
        t.add_column(col)
    for c in s.companies:
        t.add_row(c.id, c.name, ", ".join(r.value for r in c.roles), c.country)
    out.print(t)

    t = Table(title="Processes")
    for col in ("id", "kind", "owner", "price", "D0 /cm²", "yield model", "cycle d"):
        t.add_column(col)
    for p in s.processes:
        price = p.wafer_price_usd or p.stack_price_usd or p.price_usd_per_wafer
        unit = "USD/stack" if p.stack_price_usd else "USD/wafer"
        t.add_row(
            p.id,
            p.kind.value + (f" {p.generation}" if p.generation else ""),
            p.owner,
            f"{_series_text(price)} {unit}",
            _series_text(p.d0_per_cm2),
            p.yield_model.value if p.kind.value == "logic" else "",
            f"{p.cycle_time_days:g}",
        )
    out.print(t)

    t = Table(title="Sites (capacity in wafer starts per month)")
    for col in ("id", "owner", "country", "region", "processes", "status", "capacity wspm", "tags"):
        t.add_column(col, overflow="fold")
    for site in s.sites:
        status = site.status.value
        if site.status is SiteStatus.candidate:
            status += f" ({_fmt(site.capex_usd or 0)} USD, {site.build_years:g} y)"
        t.add_row(
            site.id,
            site.owner,
            site.country,
            site.region,
            ", ".join(site.processes),
            status,
            _series_text(site.capacity_wspm),
            ", ".join(site.tags),
        )
    out.print(t)

    def _option_text(o: ProcessOption) -> str:
        """A process option, with its own performance and power when it sets them."""
        own = [f"{o.pflops_bf16:g} PF" if o.pflops_bf16 is not None else "",
               f"{o.power_w:g} W" if o.power_w is not None else ""]  # fmt: skip
        extra = ", ".join(x for x in own if x)
        return f"{o.process} ({extra})" if extra else o.process

    t = Table(title="Products")
    for col in ("id", "kind", "die mm²", "processes", "HBM", "PFLOP/s", "W", "life y"):
        t.add_column(col)
    for prod in s.products:
        t.add_row(
            prod.id,
            prod.kind,
            f"{prod.die_area_mm2:g}" + (f" / {prod.chiplets} dies" if prod.chiplets > 1 else ""),
            ", ".join(_option_text(o) for o in prod.process_options),
            f"{prod.hbm_stacks} × {prod.hbm_generation}" if prod.hbm_stacks else "",
            f"{prod.pflops_bf16:g}",
            f"{prod.power_w:g}",
            f"{prod.service_life_years:g}",
        )
    out.print(t)

    if s.offers:
        t = Table(title="Offers (incumbent accelerators)")
        for col in ("id", "vendor", "price USD", "PFLOP/s", "W", "years"):
            t.add_column(col)
        for o in s.offers:
            years = f"{o.available_from_year or ''}–{o.available_to_year or ''}"
            t.add_row(
                o.id,
                o.vendor,
                _series_text(o.price_usd),
                f"{o.pflops_bf16:g}",
                f"{o.power_w:g}",
                years,
            )
        out.print(t)
        for o in s.offers:
            if o.min_units_per_year:
                out.print(
                    f"  {o.id}: committed (take-or-pay) units per year "
                    f"{_series_text(o.min_units_per_year)}"
                )

    t = Table(title="Demand")
    for col in ("id", "kind", str(h.first_year), str(h.last_year)):
        t.add_column(col)
    ends = [h.first_year + 0.5, h.last_year + 0.5]
    for cd in s.demand.compute:
        v = series_at(cd.installed_pflops, ends)
        t.add_row(cd.id, "installed PFLOP/s", _fmt(v[0]), _fmt(v[1]))
        for b in cd.installed_base:
            v = series_at(b.pflops, ends)
            kind = f"in service before the plan ({b.vendor}), PFLOP/s"
            t.add_row(f"  {b.id}", kind, _fmt(v[0]), _fmt(v[1]))
    for u in s.demand.units:
        v = series_at(u.units_per_year, ends)
        t.add_row(u.id, f"units/yr of {u.product}", _fmt(v[0]), _fmt(v[1]))
    out.print(t)

    pol = s.policies
    lines = [f"max share of new compute from {v}: {c}" for v, c in pol.max_vendor_share.items()]
    lines += [f"max share of wafers from {k}: {c}" for k, c in pol.max_country_share.items()]
    if pol.capex_budget_usd_per_year:
        lines.append(f"capex budget USD/yr: {_series_text(pol.capex_budget_usd_per_year)}")
    lines.append(f"default reservable share of a site: {pol.default_reservable_share:.0%}")
    lines.append(f"multi-sourcing allowed: {'yes' if pol.allow_multi_sourcing else 'no'}")
    out.print("[bold]Policies[/]\n  " + "\n  ".join(lines))
    for prog in s.programmes:
        members = [site.id for site in s.sites if prog.id in site.tags]
        out.print(
            f"[bold]Programme {prog.id}[/]: {prog.name}; {len(members)} sites in the scenario"
            + (
                f"; announced {_fmt(prog.total_investment_usd)} USD"
                if prog.total_investment_usd
                else ""
            )
        )
    if note := research_note(s):
        out.print(f"[dim]note: {escape(note)}[/]", soft_wrap=True)
    if s.variants:
        out.print("[bold]Variants[/]")
        for name, var in s.variants.items():
            out.print(f"  {name}: {var.description}")


def research_note(s: Scenario) -> str | None:
    """Candidate research fabs, said once per scenario (not on every plan): they count for
    their programmes but give plans no capacity, so a plan builds one only when a
    programme's ``min_fabs_by_year`` requires it."""
    ids = [
        site.id
        for site in s.sites
        if site.status.value == "candidate" and site.purpose == "research"
    ]
    if not ids:
        return None
    if len(ids) > 1:
        what = f"candidate sites {', '.join(ids)} are research fabs: they count for programmes but give"
    else:
        what = f"candidate site {ids[0]} is a research fab: it counts for programmes but gives"
    return (
        f"{what} plans no capacity (a plan builds one only when a programme's "
        "min_fabs_by_year requires it)"
    )


@scenario_app.command("show")
def show_cmd(
    scenario: str = typer.Argument(..., help="Built-in scenario name or path to a YAML file."),
    variant: str | None = typer.Option(None, "--variant", help="Apply a named variant."),
    set_: list[str] = typer.Option([], "--set", help="Override PATH=VALUE (repeatable)."),
    json_out: bool = typer.Option(False, "--json", help="Print the validated scenario as JSON."),
) -> None:
    """Show a readable summary of a scenario (tables)."""
    s = load_scenario(scenario, variant=variant, overrides=set_ or None)
    if json_out:
        out.print_json(s.model_dump_json())
        return
    _show(s)


@scenario_app.command("validate")
def validate_cmd(
    files: list[str] = typer.Argument(..., help="Scenario files (or built-in names) to check."),
) -> None:
    """Validate scenario files and all their variants; report every problem, exit 2 if any."""
    failed = 0
    for f in files:
        try:
            s = validate_file(f)
        except FabnetError as exc:
            failed += 1
            err.print(f"[bold red]error:[/] {escape(exc.format())}", soft_wrap=True)
            continue
        counts = f"{_count(len(s.sites), 'site')}, {_count(len(s.products), 'product')}"
        out.print(f"[green]ok[/] {escape(f)} ({escape(s.name)}: {counts})")
        if note := research_note(s):
            out.print(f"  [dim]note: {escape(note)}[/]", soft_wrap=True)
    if failed:
        err.print(f"{failed} of {len(files)} scenario file(s) invalid")
        raise typer.Exit(2)


@scenario_app.command("schema")
def schema_cmd(
    output: Path | None = typer.Option(None, "-o", "--output", help="Write to this file."),
) -> None:
    """Print the JSON Schema of scenario files (for editor completion)."""
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "fabnet scenario"
    text = json.dumps(schema, indent=2)
    if output:
        output.write_text(text + "\n", "utf-8")
    else:
        typer.echo(text)


@scenario_app.command("export")
def export_cmd(
    name: str = typer.Argument(..., help="A built-in scenario (see `fabnet scenario list`)."),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="YAML file to write (default: print it)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write an editable copy of a built-in scenario: the YAML as shipped, with the source of
    every number in its comments and its variants; edit it, then `fabnet plan FILE`."""
    names = builtin_names()
    if name not in names:
        raise ScenarioError(
            Problem(
                f"no built-in scenario named {name!r}",
                did_you_mean(name, names) + " (`fabnet scenario list` shows them)",
            )
        )
    text = builtin_text(name)
    if output is None:
        typer.echo(text, nl=False)
        return
    where = str(output)
    problem = None
    if output.is_dir():
        hint = f"give a file name, e.g. {output / (name + '.yaml')}"
        problem = Problem("is a folder", hint, file=where)
    elif output.exists() and not force:
        problem = Problem("already exists", "pass --force to overwrite it, or another name", where)
    elif not output.parent.is_dir():
        problem = Problem("its folder does not exist", "create the folder first", file=where)
    if problem is None:
        try:
            output.write_text(text, "utf-8")
        except OSError as exc:
            problem = Problem(f"cannot write: {exc.strerror}", "choose a writable place", where)
    if problem is not None:
        raise FabnetError(problem, title="scenario not exported")
    out.print(
        f"wrote {output} (built-in scenario {name}); edit it, then `fabnet plan {output}`",
        soft_wrap=True,
        markup=False,
    )
