"""Plan report sections a supply-chain planner reads: where the goods flow, which countries
the chain depends on, how full the sites are, and what a PFLOP/s costs.

Read from the stored run only (its tidy tables and its scenario), like
:mod:`fabnet.report.plan`. Each section function returns a :class:`Section`, or a one-line
:class:`Note` when the plan has nothing to draw there.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from fabnet.report.fmt import money, money_unit, number
from fabnet.report.page import Note, Section, esc
from fabnet.report.plan import (
    _COUNTRY_PALETTE,
    _LAYOUT,
    _SIDE_LEGEND,
    _colours,
    _f,
    _scenario,
    _table,
    source_colours,
)
from fabnet.scenario.schema import ProcessKind, Scenario
from fabnet.store.record import RunRecord

#: Site groups of the capacity and dependence charts, in chain order: (site_kind, title).
SITE_GROUPS = (("logic", "logic wafers"), ("hbm", "HBM wafers"), ("packaging", "packaging"))


def country_colours(countries: Sequence[str]) -> dict[str, str]:
    """One colour per country, the same in every chart of the report (sorted order)."""
    return _colours(countries, (*_COUNTRY_PALETTE, "#7570b3", "#d95f02", "#1f78b4", "#b15928"))


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    if len(h) != 6:
        return hex_colour
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


# Flow picture --------------------------------------------------------------------------


def _sites_by_process(scen: Scenario) -> dict[str, set[str]]:
    """Site ids running each process."""
    out: dict[str, set[str]] = defaultdict(set)
    for site in scen.sites:
        for pid in site.processes:
            out[pid].add(site.id)
    return out


def _hbm_sites(scen: Scenario) -> dict[str, set[str]]:
    """Site ids making each HBM generation."""
    by_proc = _sites_by_process(scen)
    out: dict[str, set[str]] = defaultdict(set)
    for proc in scen.processes:
        if proc.kind is ProcessKind.hbm and proc.generation:
            out[proc.generation] |= by_proc.get(proc.id, set())
    return out


def _weights(
    used: Mapping[str, float], fallback: Mapping[str, float], sites: set[str]
) -> dict[str, float]:
    """Shares of ``sites`` in proportion to their use this year (else over the horizon)."""
    for source in (used, fallback):
        w = {s: float(source.get(s, 0.0)) for s in sites}
        total = sum(w.values())
        if total > 0:
            return {s: v / total for s, v in w.items() if v > 0}
    return {}


class _Graph:
    """Nodes and links of one year's Sankey, nodes keyed by (column, id)."""

    def __init__(self) -> None:
        self.nodes: dict[tuple[int, str], dict[str, Any]] = {}
        self.links: dict[tuple[tuple[int, str], tuple[int, str], str], float] = defaultdict(float)

    def node(self, col: int, key: str, label: str, colour: str, hover: str) -> tuple[int, str]:
        self.nodes.setdefault((col, key), {"label": label, "colour": colour, "hover": hover})
        return (col, key)

    def link(self, a: tuple[int, str], b: tuple[int, str], source: str, units: float) -> None:
        if units > 1e-9:
            self.links[(a, b, source)] += units


#: Columns of the flow picture.
_COLUMNS = ("country of the wafers", "logic fab", "good dies", "HBM", "packaging", "accelerators")


def _flow_graph(
    run: RunRecord,
    year: int,
    supply: pd.DataFrame,
    util: pd.DataFrame,
    src_colour: Mapping[str, str],
    ctry_colour: Mapping[str, str],
) -> _Graph:
    scen = _scenario(run)
    g = _Graph()
    ys = supply[supply["year"] == year]
    uy = util[util["year"] == year]
    used_y = {str(k): float(v) for k, v in uy.groupby("site")["used_wafers"].sum().items()}
    used_all = {str(k): float(v) for k, v in util.groupby("site")["used_wafers"].sum().items()}
    country_of = {s.id: s.country for s in scen.sites}
    hbm_sites = _hbm_sites(scen)
    by_proc = _sites_by_process(scen)

    def site_node(col: int, site: str, what: str) -> tuple[int, str]:
        c = country_of.get(site, "")
        hover = f"{esc(site)} ({esc(c)}): {number(_f(used_y.get(site)))} {what} started in {year} (all products)"
        return g.node(col, site, f"{site} · {c}", ctry_colour.get(c, "#888888"), hover)

    own = ys[ys["source_kind"] == "own"]
    for product, part in own.groupby("source", sort=True):
        product = str(product)
        units = float(part["units"].sum())
        if units <= 1e-9:
            continue
        pflops = float(part["pflops_added"].sum())
        colour = src_colour.get(product, "#4c78a8")
        dies = g.node(
            2, product, f"dies: {product}", colour,
            f"{number(float(part['good_dies'].sum()))} good dies of {esc(product)}",
        )  # fmt: skip
        acc = g.node(
            5, product, f"{product} (own)", colour,
            f"{number(units)} {esc(product)} from {year}'s wafers, {compute_text(pflops)} added",
        )  # fmt: skip
        for (country, site), rows in part.groupby(["country", "site"], sort=True):
            u = float(rows["units"].sum())
            cn = g.node(
                0, f"logic|{country}", f"{country} · logic wafers", ctry_colour.get(str(country), "#888888"),
                f"logic wafers started in {esc(country)} in {year}",
            )  # fmt: skip
            sn = site_node(1, str(site), "logic wafers")
            g.link(cn, sn, product, u)
            g.link(sn, dies, product, u)
        try:
            prod = scen.product(product)
        except StopIteration:
            g.link(dies, acc, product, units)
            continue
        hbm_w: dict[str, float] = {}
        if prod.hbm_stacks > 0 and prod.hbm_generation:
            hbm_w = _weights(used_y, used_all, hbm_sites.get(prod.hbm_generation, set()))
        pkg_sites: set[str] = set()
        for opt in prod.packaging_options:
            pkg_sites |= by_proc.get(opt, set())
        pkg_w = _weights(used_y, used_all, pkg_sites) if pkg_sites else {}
        stage: list[tuple[tuple[int, str], float]] = [(dies, 1.0)]
        for col, weights, what in ((3, hbm_w, "HBM wafers"), (4, pkg_w, "packaging wafers")):
            if not weights:
                continue
            nxt: list[tuple[tuple[int, str], float]] = []
            for site, w in sorted(weights.items()):
                node = site_node(col, site, what)
                for prev, pw in stage:
                    g.link(prev, node, product, units * pw * w)
                nxt.append((node, w))
            stage = nxt  # each site passes its share of the product on to the next column
        for prev, pw in stage:
            g.link(prev, acc, product, units * pw)
    offers = ys[ys["source_kind"] == "offer"]
    for (offer, vendor, country), part in offers.groupby(
        ["source", "vendor", "country"], sort=True
    ):
        units = float(part["units"].sum())
        if units <= 1e-9:
            continue
        colour = src_colour.get(str(offer), "#f58518")
        cn = g.node(
            0, f"gpu|{country}", f"{country or '?'} · GPUs bought", ctry_colour.get(str(country), "#888888"),
            f"GPUs ordered in {year}, made in {esc(country or 'unknown')}",
        )  # fmt: skip
        on = g.node(
            5, str(offer), f"{offer} ({vendor}, bought)", colour,
            f"{number(units)} {esc(offer)} ordered in {year}, "
            f"{compute_text(float(part['pflops_added'].sum()))} added",
        )  # fmt: skip
        g.link(cn, on, str(offer), units)
    return g


def compute_text(pflops: float) -> str:
    """Compute in the report's unit (fmt.compute, imported late to keep one formatter)."""
    from fabnet.report.fmt import compute

    return compute(pflops)


def _sankey(g: _Graph, visible: bool) -> go.Sankey:
    keys = list(g.nodes)
    # fixed columns: x by column, y spread by each node's throughput within its column
    out_: dict[tuple[int, str], float] = defaultdict(float)
    in_: dict[tuple[int, str], float] = defaultdict(float)
    for (a, b, _s), v in g.links.items():
        out_[a] += v
        in_[b] += v
    through = {k: max(in_[k], out_[k]) for k in keys}
    # one vertical scale for every column (the fullest one), own goods on top: the GPUs
    # bought run along the bottom, under the own chain instead of across it
    columns = [[k for k in keys if k[0] == col] for col in range(len(_COLUMNS))]
    full = max(sum(max(through[k], 1e-9) for k in members) for members in columns if members)
    xs, ys = [], []
    for col, members in enumerate(columns):
        acc = 0.0
        for k in members:
            size = max(through[k], 1e-9) / full
            xs.append((k, 0.001 + 0.998 * col / (len(_COLUMNS) - 1)))
            ys.append((k, min(0.999, max(0.001, 0.02 + 0.96 * (acc + size / 2)))))
            acc += size
    pos_x = dict(xs)
    pos_y = dict(ys)
    index = {k: i for i, k in enumerate(keys)}
    links = list(g.links.items())
    return go.Sankey(
        visible=visible,
        arrangement="snap",
        valueformat=",.0f",
        valuesuffix=" units",
        node={
            "label": [g.nodes[k]["label"] for k in keys],
            "color": [g.nodes[k]["colour"] for k in keys],
            "customdata": [g.nodes[k]["hover"] for k in keys],
            "hovertemplate": "%{customdata}<br>flow %{value:,.0f} units<extra></extra>",
            "x": [pos_x[k] for k in keys],
            "y": [pos_y[k] for k in keys],
            "pad": 12,
            "thickness": 16,
            "line": {"color": "white", "width": 0.5},
        },
        link={
            "source": [index[a] for (a, _b, _s), _v in links],
            "target": [index[b] for (_a, b, _s), _v in links],
            "value": [v for _k, v in links],
            "color": [
                g.nodes.get((5, s), {}).get("colour", "#999999") for (_a, _b, s), _v in links
            ],
            "customdata": [s for (_a, _b, s), _v in links],
            "hovertemplate": "%{customdata}: %{value:,.0f} units<br>%{source.label} → "
            "%{target.label}<extra></extra>",
        },
    )


def flow_section(run: RunRecord) -> Section | Note:
    """Sankey of one year's goods: wafers by country and fab → dies → HBM → packaging →
    accelerators, and the GPUs bought; a menu picks the year (default: the busiest)."""
    title = "Flow of goods: wafers → dies → HBM → packaging → accelerators"
    supply = _table(run, "supply")
    util = _table(run, "utilisation")
    if supply.empty or not (supply["units"].astype(float) > 1e-9).any():
        return Note(title, "the plan makes and buys no accelerators.")
    supply = supply.copy()
    supply["year"] = supply["year"].astype(int)
    # products sold as units (a phone chip) carry no compute: they are left out of the picture
    fleet = supply.groupby("source")["pflops_added"].sum()
    sold = sorted(str(s) for s in fleet.index if not fleet[s] > 0)
    supply = supply[~supply["source"].astype(str).isin(sold)]
    if supply.empty:
        return Note(title, f"the plan makes no accelerators (only {', '.join(sold)}).")
    util = util.copy()
    util["year"] = util["year"].astype(int)
    util["used_wafers"] = util["used_wafers"].astype(float)
    src_colour = source_colours(run, supply)
    countries = sorted(set(supply["country"].astype(str)) | set(util["country"].astype(str)) - {""})
    ctry_colour = country_colours(countries)
    per_year = supply.groupby("year")["units"].sum()
    years = [int(y) for y in per_year.index if per_year[y] > 1e-9]
    busiest = int(str(per_year.idxmax()))
    fig = go.Figure()
    for y in years:
        g = _flow_graph(run, y, supply, util, src_colour, ctry_colour)
        fig.add_trace(_sankey(g, visible=y == busiest))
    buttons = [
        {
            "label": str(y),
            "method": "update",
            "args": [{"visible": [yy == y for yy in years]}],
        }
        for y in years
    ]
    fig.update_layout(
        **{k: v for k, v in _LAYOUT.items() if k not in ("legend", "hovermode", "margin")},
        height=600,
        updatemenus=[
            {
                "buttons": buttons,
                "active": years.index(busiest),
                "direction": "down",
                "x": 0.0,
                "xanchor": "left",
                "y": 1.0,
                "yanchor": "bottom",
                "pad": {"b": 6},
                "showactive": True,
            }
        ],
        annotations=[
            {
                "text": "year:",
                "x": 0.0,
                "xref": "paper",
                "y": 1.0,
                "yref": "paper",
                "xanchor": "right",
                "yanchor": "bottom",
                "showarrow": False,
                "xshift": -4,
                "yshift": 10,
            },
            *[
                {
                    "text": f"<b>{name}</b>",
                    "x": i / (len(_COLUMNS) - 1),
                    "xref": "paper",
                    "y": -0.02,
                    "yref": "paper",
                    "xanchor": "center"
                    if 0 < i < len(_COLUMNS) - 1
                    else ("left" if i == 0 else "right"),
                    "yanchor": "top",
                    "showarrow": False,
                    "font": {"size": 12, "color": "#5f6b7a"},
                }
                for i, name in enumerate(_COLUMNS)
            ],
        ],
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
    )
    caption = (
        f"Where one year's accelerators come from (menu: the year; shown first: {busiest}, the "
        "year with the most units). Width = accelerators (units): the designer's own chips from "
        "the country and fab of their logic wafers, through their good dies, the HBM fabs and "
        "the packaging lines, and the GPUs bought, from the country where they are made. Own "
        "chips are counted in the year their wafers start (they are finished about a period "
        "later); GPUs in the year they are ordered. The plan's tables record which fab started "
        "each product's logic wafers, but not which HBM fab or packaging line served which "
        "product: a product's units are split over the sites able to serve it in proportion to "
        "each site's wafer starts that year. Colours: places by country, flows by product or "
        "GPU offer. Hover a node for its wafers, dies or units."
    )
    if sold:
        caption += f" Not drawn (chips sold as units, no compute): {esc(', '.join(sold))}."
    return Section("flows", title, caption, fig)


# Country dependence beyond logic --------------------------------------------------------


def dependence_section(run: RunRecord) -> Section | Note:
    """Stacked shares per year of each country in the wafers started at the designer's
    logic, HBM and packaging sites."""
    title = "Country dependence: logic, HBM and packaging"
    util = _table(run, "utilisation")
    if util.empty:
        return Note(title, "the plan has no sites.")
    if util["site_kind"].isna().all():
        return Note(title, _NO_KINDS)
    util = util.assign(used=util["used_wafers"].astype(float), year=util["year"].astype(int))
    util = util[util["used"] > 1e-9]
    groups = [(k, t) for k, t in SITE_GROUPS if (util["site_kind"] == k).any()]
    if not groups:
        return Note(title, "the plan starts no wafers at any site.")
    colours = country_colours(sorted(set(_table(run, "utilisation")["country"].astype(str))))
    fig = make_subplots(
        rows=1, cols=len(groups), shared_yaxes=True, horizontal_spacing=0.04,
        subplot_titles=[f"share of {t}" for _k, t in groups],
    )  # fmt: skip
    shown: set[str] = set()
    for col, (kind, what) in enumerate(groups, start=1):
        part = util[util["site_kind"] == kind]
        pivot = part.pivot_table(
            index="year", columns="country", values="used", aggfunc="sum", fill_value=0.0
        ).sort_index()
        share = pivot.div(pivot.sum(axis=1), axis=0)
        for country in sorted(share.columns, key=str):
            fig.add_trace(
                go.Bar(
                    x=list(share.index),
                    y=share[country].to_numpy(),
                    name=str(country),
                    legendgroup=str(country),
                    showlegend=country not in shown,
                    marker_color=colours.get(str(country), "#888888"),
                    customdata=pivot[country].to_numpy(),
                    hovertemplate=f"{esc(country)} %{{x}}: %{{y:.0%}} of {what} "
                    "(%{customdata:,.0f} wafers)<extra></extra>",
                ),
                row=1,
                col=col,
            )
            shown.add(country)
    fig.update_layout(**_LAYOUT, barmode="stack", height=380, bargap=0.1)
    fig.update_layout(legend=_SIDE_LEGEND)
    fig.update_yaxes(tickformat=".0%", range=[0, 1])
    fig.update_xaxes(tickformat="d")
    caption = (
        "Each country's share of the wafers the plan starts each year at the designer's "
        "logic fabs, HBM fabs and packaging lines (all products; a year without starts is "
        "blank). A country cap of the scenario's policies (max_country_share) limits the "
        "logic wafers only (left); the planner puts no cap on the HBM and packaging "
        "dependence shown beside it. GPUs bought are not in these panels: their country is in the flow picture."
    )
    missing = [t for k, t in SITE_GROUPS if (k, t) not in groups]
    if missing:
        caption += f" Not drawn: {', '.join(missing)} (no starts in the plan)."
    return Section("dependence", title, caption, fig)


# Capacity over time ---------------------------------------------------------------------


def capacity_section(run: RunRecord) -> Section | Note:
    """Wafer starts available to the designer and used, per year and site group."""
    title = "Capacity over time: wafer starts available and used"
    util = _table(run, "utilisation")
    if util.empty:
        return Note(title, "the plan has no sites.")
    if util["site_kind"].isna().all():
        return Note(title, _NO_KINDS)
    util = util.assign(
        cap=util["capacity_wafers"].astype(float),
        used=util["used_wafers"].astype(float),
        year=util["year"].astype(int),
    )
    groups = [(k, t) for k, t in SITE_GROUPS if (util.loc[util["site_kind"] == k, "cap"] > 0).any()]
    if not groups:
        return Note(title, "no site has capacity in any period.")
    colours = country_colours(sorted(set(util["country"].astype(str))))
    fig = make_subplots(
        rows=len(groups), cols=1, shared_xaxes=True, vertical_spacing=0.08,
        subplot_titles=[f"{t}: started (bars, by country) and available (line)" for _k, t in groups],
    )  # fmt: skip
    shown: set[str] = set()
    for row, (kind, _what) in enumerate(groups, start=1):
        part = util[util["site_kind"] == kind]
        cap = part.groupby("year")["cap"].sum().sort_index()
        used = part.pivot_table(
            index="year", columns="country", values="used", aggfunc="sum", fill_value=0.0
        ).reindex(cap.index, fill_value=0.0)
        scale, unit = _wafer_unit(float(cap.max()))
        for country in sorted(used.columns, key=str):
            vals = used[country].to_numpy(dtype=float)
            if not (vals > 1e-9).any():
                continue
            fig.add_trace(
                go.Bar(
                    x=list(used.index), y=vals / scale, name=str(country),
                    legendgroup=str(country), showlegend=country not in shown,
                    marker_color=colours.get(str(country), "#888888"),
                    hovertemplate=f"{esc(country)} %{{x}}: %{{y:,.3~f}} {unit} started<extra></extra>",
                ),
                row=row, col=1,
            )  # fmt: skip
            shown.add(country)
        total_used = used.sum(axis=1)
        util_share = np.divide(
            total_used.to_numpy(), cap.to_numpy(), out=np.zeros(len(cap)), where=cap.to_numpy() > 0
        )
        fig.add_trace(
            go.Scatter(
                x=list(cap.index), y=cap.to_numpy() / scale, name="available to the designer",
                legendgroup="available", showlegend=row == 1, mode="lines",
                line={"color": "#1f2933", "width": 2, "shape": "hvh"},
                customdata=util_share,
                hovertemplate=f"available %{{x}}: %{{y:,.3~f}} {unit} (%{{customdata:.0%}} used)"
                "<extra></extra>",
            ),
            row=row, col=1,
        )  # fmt: skip
        fig.update_yaxes(title_text=unit, rangemode="tozero", row=row, col=1)
    fig.update_layout(**_LAYOUT, barmode="stack", height=230 * len(groups) + 80, bargap=0.15)
    fig.update_layout(legend=_SIDE_LEGEND)
    fig.update_xaxes(tickformat="d")
    caption = (
        "Per year and site group: the wafer starts the plan uses (bars, stacked by the "
        "country of the site) and the starts available to the designer (line: existing and "
        "planned sites at their reservable share, plus the candidates the plan builds, once "
        "they are online and as they ramp). Where the bars reach the line the group is the "
        "bottleneck that year (the shadow-price chart says what one more wafer would be worth). "
        "Packaging is counted in packaging wafers (interposers), HBM in DRAM wafers. In the "
        "last year or so the plan starts few or no wafers: their units would enter service "
        "after the horizon, where the plan counts no demand (see “End of the horizon” under "
        "the cost breakdown)."
    )
    return Section("capacity", title, caption, fig)


#: Why a site-group chart is missing for a run stored without the utilisation's site kinds.
_NO_KINDS = "the run was stored without site kinds (by an older fabnet); plan again to see it."


def _wafer_unit(largest: float) -> tuple[float, str]:
    """Scale and unit of a wafer axis: wafers, k wafers or M wafers per year."""
    if largest >= 1e6:
        return 1e6, "M wafers/yr"
    if largest >= 1e4:
        return 1e3, "k wafers/yr"
    return 1.0, "wafers/yr"


# Cost per PFLOP/s -----------------------------------------------------------------------


def unit_cost_section(run: RunRecord) -> Section | Note:
    """USD per PFLOP/s of each own accelerator (its cheapest process option that year) and of
    each GPU offer on sale, per year, from the scenario's economics; filled markers where the
    plan makes or buys it that year."""
    from fabnet.economics.table import economics_table

    title = "Cost per PFLOP/s over time: own chips and GPUs"
    scen = _scenario(run)
    years = list(range(scen.horizon.first_year, scen.horizon.last_year + 1))
    eco = economics_table(scen, years)
    if eco.empty:
        return Note(title, "the scenario has no products and no offers.")
    eco = eco[eco["usd_per_pflops"].astype(float).notna() & eco["available"].astype(bool)]
    eco = eco[np.isfinite(eco["usd_per_pflops"].astype(float))]
    if eco.empty:
        return Note(title, "no product or offer with a performance is available in the horizon.")
    best = (
        eco.sort_values("usd_per_pflops")
        .drop_duplicates(["year", "kind", "id"])
        .sort_values(["kind", "id", "year"])
    )
    supply = _table(run, "supply")
    made = {
        (str(r.source), int(str(r.year)))
        for r in supply.itertuples()
        if _f(r.units) > 1e-9 and _f(r.pflops_added) > 0
    }
    vendor_of = {str(r.id): str(r.vendor) for r in best.itertuples()}
    colours = source_colours(
        run, pd.DataFrame({"source": list(vendor_of), "vendor": list(vendor_of.values())})
    )
    scale, unit = money_unit(float(best["usd_per_pflops"].max()))
    fig = go.Figure()
    for (kind, pid), part in best.groupby(["kind", "id"], sort=False):
        pid = str(pid)
        used = np.array([(pid, int(y)) in made for y in part["year"]])
        label = f"{pid} ({vendor_of[pid]}, {'own' if kind == 'own' else 'GPU offer'})"
        procs = part["process"].astype(str).to_numpy() if kind == "own" else None
        fig.add_trace(
            go.Scatter(
                x=part["year"].astype(int),
                y=part["usd_per_pflops"].astype(float) / scale,
                name=label,
                mode="lines+markers",
                line={"color": colours.get(pid, "#888888"), "width": 2.5 if kind == "own" else 2,
                      "dash": "solid" if kind == "own" else "dot"},
                marker={"size": np.where(used, 9, 6), "symbol": np.where(used, "circle", "circle-open"),
                        "color": colours.get(pid, "#888888")},
                customdata=np.stack(
                    [np.where(used, "in the plan this year", "not used this year"),
                     procs if procs is not None else np.full(len(part), "")], axis=1),
                hovertemplate=f"{esc(label)} %{{x}}: %{{y:,.3~f}} {unit} per PFLOP/s"
                "<br>%{customdata[0]} %{customdata[1]}<extra></extra>",
            )
        )  # fmt: skip
    fig.update_layout(**_LAYOUT, height=430)
    fig.update_layout(legend=_SIDE_LEGEND)
    fig.update_yaxes(title_text=f"{unit} per PFLOP/s (dense BF16)", rangemode="tozero")
    fig.update_xaxes(title_text="year", tickformat="d")
    caption = (
        "What one PFLOP/s (dense BF16) costs to buy, per year: for each own accelerator the "
        "unit cost on its cheapest process option that year (good logic dies, HBM, packaging, "
        "test and the design partner's markup; solid lines), for each GPU offer its price "
        "(dotted lines), both divided by the unit's performance. From the scenario's data "
        "(`fabnet economics`), not from the plan's spending: one-off porting and tape-out, "
        "capex and energy are not in it. A filled marker: the plan makes (own: wafers started) "
        "or buys that unit that year; an open marker: it does not."
    )
    last = best[best["year"] == best["year"].max()].sort_values("usd_per_pflops")
    if not last.empty:
        r0 = last.iloc[0]
        caption += (
            f" Cheapest in {int(r0['year'])}: {esc(r0['id'])} at "
            f"{money(float(r0['usd_per_pflops']))} per PFLOP/s."
        )
    return Section("unit_cost", title, caption, fig)
