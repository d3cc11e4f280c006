"""`fabnet economics SCENARIO`: cost per good die, per accelerator and per PFLOP/s, vs GPUs."""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd
import typer
from rich import box
from rich.table import Table

from fabnet.cli.app import app, err, out
from fabnet.economics import economics_table
from fabnet.scenario import load_scenario


def _num(value: Any, digits: int = 0) -> str:
    """A number with thousands separators; empty for NaN / missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and math.isinf(value):
        return "∞"
    return f"{float(value):,.{digits}f}"


def _pct(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{100 * float(value):.1f}%"


def _f(value: Any) -> float:
    """A JSON value as a float (NaN for null)."""
    return math.nan if value is None else float(value)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain JSON-ready dicts (NaN and inf become null)."""
    rows: list[dict[str, Any]] = json.loads(frame.to_json(orient="records"))
    return rows


#: Console width from which the extra columns (vendor, HBM, packaging, power) are shown.
_WIDE_COLUMNS = 130


def _render_year(rows: list[dict[str, Any]], year: int, wide: bool) -> Table:
    """One year's rows; the lowest USD per PFLOP/s-year among available rows in bold."""
    table = Table(
        title=f"{year}",
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("accelerator @ process", overflow="fold", min_width=14)
    # Two-line headers keep the narrow (80-column) table from cropping numbers.
    numeric = ["dies/wafer" if wide else "dies", "yield", "USD/\ndie"]
    if wide:
        table.add_column("vendor", overflow="fold")
        numeric += ["HBM USD", "pkg USD", "make USD", "partner\nUSD"]
    numeric += ["USD/\nunit", "PFLOP/s" if wide else "PF"]
    if wide:
        numeric += ["W"]
    numeric += ["USD/\nPF", "USD/\nPF-yr"]
    for name in numeric:
        table.add_column(name, justify="right", no_wrap=True)
    costs = [
        _f(r["usd_per_pflops_year"])
        for r in rows
        if r["available"] and not math.isnan(_f(r["usd_per_pflops_year"]))
    ]
    best = min(costs) if costs else math.nan
    for r in rows:
        available = bool(r["available"])
        label = str(r["name"] if wide else r["id"])
        if r["process"]:
            label += f" @ {r['process']}"
        dies = _f(r["dies_per_unit"])
        if dies > 1:
            label += f" ×{int(dies)}"
        if not available:
            label += " (n/a)"
        per_pf_year = _f(r["usd_per_pflops_year"])
        best_cell = available and per_pf_year == best
        cells = [label]
        cells += [_num(r["gross_dies_per_wafer"]), _pct(r["die_yield"])]
        cells += [_num(r["cost_per_good_die_usd"])]
        if wide:
            cells.insert(1, str(r["vendor"]))
            cells += [_num(r["hbm_cost_usd"]), _num(r["packaging_cost_usd"])]
            cells += [_num(r["manufacturing_cost_usd"]), _num(r["design_partner_usd"])]
        cells += [_num(r["unit_cost_usd"]), _num(r["pflops"] or None, 2)]
        if wide:
            cells += [_num(r["power_w"] or None)]
        cells += [_num(r["usd_per_pflops"])]
        cells += [f"[bold green]{_num(per_pf_year)}[/]" if best_cell else _num(per_pf_year)]
        table.add_row(*cells, style=None if available else "dim")
    return table


def _nre_lines(records: list[dict[str, Any]]) -> list[str]:
    """One line per own (product, process): tape-out + design port = NRE, USD."""
    lines: list[str] = []
    seen: set[tuple[str, str]] = set()
    for r in records:
        key = (str(r["id"]), str(r["process"]))
        if r["kind"] != "own" or key in seen:
            continue
        seen.add(key)
        tape, port = _f(r["tapeout_usd"]), _f(r["porting_cost_usd"])
        if tape + port > 0:
            lines.append(
                f"  {key[0]} @ {key[1]}: tape-out {_num(tape / 1e6)} M + design port "
                f"{_num(port / 1e6)} M = {_num((tape + port) / 1e6)} M USD"
            )
    return lines


@app.command("economics")
def economics_cmd(
    scenario: str = typer.Argument(..., help="Built-in scenario name or path to a YAML file."),
    year: list[int] = typer.Option(
        [],
        "--year",
        "-y",
        help="Year of interest (repeatable); default first, middle and last year.",
    ),
    all_years: bool = typer.Option(False, "--all-years", help="Every year of the horizon."),
    variant: str | None = typer.Option(None, "--variant", help="Apply a named variant."),
    set_: list[str] = typer.Option([], "--set", help="Override PATH=VALUE (repeatable)."),
    json_out: bool = typer.Option(False, "--json", help="Print a JSON list of row objects."),
) -> None:
    """Cost per good die, per accelerator, per PFLOP/s and per PFLOP/s-year, beside GPU offers.

    One row per own product and logic process, and per incumbent offer, for each year.
    Own rows cost what it takes to make a good unit; offer rows cost their price.
    """
    s = load_scenario(scenario, variant=variant, overrides=set_ or None)
    years: list[int] | None = None
    if all_years:
        years = s.horizon.years
    elif year:
        years = year
        outside = [y for y in year if not s.horizon.first_year <= y <= s.horizon.last_year]
        if outside and not json_out:
            err.print(
                f"note: {', '.join(map(str, outside))} outside the horizon "
                f"{s.horizon.first_year}–{s.horizon.last_year}; series held at their end values"
            )
    frame = economics_table(s, years)
    if json_out:
        typer.echo(json.dumps(_records(frame), indent=2))
        return
    label = s.name + (f" ({variant})" if variant else "")
    wide = out.width >= _WIDE_COLUMNS
    out.print(f"[bold]Economics of {label}[/] — USD per unit, dense BF16 PFLOP/s")
    records: list[dict[str, Any]] = _records(frame)
    for y in sorted({int(r["year"]) for r in records}):
        rows = [r for r in records if int(r["year"]) == y]
        out.print(_render_year(rows, y, wide))
    nre = _nre_lines(records)
    if nre:
        out.print("[bold]One-off NRE[/] (paid once when a product first uses a process)")
        for line in nre:
            out.print(line)
    out.print(
        "[dim]USD/unit: own product = cost of a good packaged unit (good dies, HBM, "
        "packaging and test, over the assembly yield) plus the design partner's markup; "
        "offer = its price. USD/PF-yr: the "
        f"unit spread over its service life at a {s.discount_rate:.1%} discount rate, plus "
        f"power at PUE {s.pue:g}; lowest available in bold. (n/a): not available that year."
        + (
            ""
            if wide
            else f" A console of {_WIDE_COLUMNS}+ columns also shows vendor, HBM, "
            "packaging and power."
        )
        + "[/]"
    )
