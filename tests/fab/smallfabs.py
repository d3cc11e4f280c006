"""Small hand-made fabs in SMT2020 format, written into a test's temporary folder.

Each builder writes a complete model folder with :func:`fabnet.fab.generate.write_tables`
and returns it with the figures the test expects (cycle times, availability, ...), derived
by hand in the builder's docstring. Times in minutes; lots of 25 wafers; load and unload
are 0 unless a builder says otherwise, so expected times are exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fabnet.fab.generate import START_TIMESTAMP, format_timestamp, write_tables

Row = dict[str, str | int | float | None]
WAFERS = 25


def tool_row(
    name: str,
    n_tools: int = 1,
    *,
    group: str | None = None,
    load_min: float = 0.0,
    unload_min: float = 0.0,
    cascading: bool = False,
    batch: bool = False,
    setup_group: str = "",
    rule: str = "rule_HotLotFIRST",
    ranks: str = "rank_HP;rank_RSETUP;rank_FIFO",
    wake: str = "",
    location: str = "Fab",
) -> Row:
    """One ``tool.txt.1l`` row."""
    return {
        "STNFAM": name,
        "STN": name,
        "RULE": rule,
        "FWLRANK": ranks,
        "WAKERESRANK": wake,
        "BATCHCRITF": "crit_sameroutestep" if batch else "",
        "BATCHPER": "piece" if batch else "",
        "LTIME": load_min,
        "LTUNITS": "min",
        "ULTIME": unload_min,
        "ULTUNITS": "min",
        "STNCAP": 2.0 if cascading else None,
        "STNQTY": float(n_tools),
        "STNGRP": group or name,
        "STNFAMLOC": location,
        "PRERULERWL": "no",
        "SETUPGRP": setup_group,
    }


def step_row(
    route: str,
    number: int,
    family: str,
    ptime_min: float,
    *,
    dist: str = "constant",
    spread_min: float = 0.0,
    per: str = "per_lot",
    batch_pieces: tuple[int, int] | None = None,
    setup: str = "",
    stime_min: float | None = None,
    sample_pct: float | None = None,
) -> Row:
    """One ``route_N.txt`` row (step ``number`` of ``route``)."""
    row: Row = {
        "ROUTE": route,
        "STEP": number,
        "DESC": f"{number:03d}_{family}",
        "STNFAM": family,
        "PDIST": dist,
        "PTIME": ptime_min,
        "PTIME2": spread_min if dist == "uniform" else None,
        "PTUNITS": "min",
        "PTPER": per,
    }
    if batch_pieces is not None:
        row["BATCHMN"], row["BATCHMX"] = batch_pieces
    if setup:
        row["SETUP"] = setup
        row["WHEN"] = "need"
        if stime_min is not None:
            row["STIME"] = stime_min
            row["STUNITS"] = "min"
    if sample_pct is not None:
        row["StepPercent"] = sample_pct
    return row


def order_row(
    lot: str,
    part: str,
    repeat_min: float,
    *,
    releases: int = 200000,
    start_min: float = 0.0,
    allowance_min: float = 10080.0,
    prior: int = 10,
) -> Row:
    """One ``order.txt`` row: ``releases`` lots of ``part``, every ``repeat_min`` from ``start_min``."""
    return {
        "LOT": lot,
        "PART": part,
        "PRIOR": prior,
        "PIECES": WAFERS,
        "START": format_timestamp(start_min) if start_min else START_TIMESTAMP,
        "RDIST": "constant",
        "REPEAT": repeat_min,
        "RUNITS": "min",
        "RPT#": releases,
        "LOTSPERRPT": 1,
        "DUE": format_timestamp(start_min + allowance_min),
        "ORDER": f"O_{lot}",
        "HOTLOT": "no",
    }


def write_fab(
    directory: Path,
    tools: list[Row],
    routes: dict[str, list[Row]],
    orders: list[Row],
    **tables: list[Row],
) -> Path:
    """Write a fab whose part ``part_k`` follows ``routes[part_k]`` (route ``r_k``)."""
    parts: list[Row] = []
    out: dict[str, list[Row]] = {"tool.txt.1l": tools, "order.txt": orders}
    for k, (part, steps) in enumerate(routes.items(), start=1):
        parts.append(
            {
                "PARTGRP": "Saleable",
                "PARTFAM": f"product_{k}",
                "PART": part,
                "ROUTEFILE": f"route_{k}.txt",
                "ROUTE": f"r_{k}",
            }
        )
        out[f"route_{k}.txt"] = [{**s, "ROUTE": f"r_{k}"} for s in steps]
    out["part.txt"] = parts
    for name, rows in tables.items():
        out[name.replace("_txt", ".txt")] = rows
    return write_tables(directory, out)


@dataclass(frozen=True)
class SmallFab:
    """A written fab and what the test expects of it."""

    path: Path
    expect: dict[str, float] = field(default_factory=dict)


def deterministic_fab(directory: Path) -> SmallFab:
    """Two constant-time tools in series, far apart releases: the exact cycle time.

    Step 1 on ``A``: per piece 1.2 min × 25 wafers = 30 min, load 1 + unload 1;
    transport ``Fab → Fab`` constant 5 min; step 2 on ``B``: per lot 20 min, load 1 +
    unload 1. A lot released every 120 min never waits: cycle time = 32 + 5 + 22 = 59 min,
    which is also the raw process time (x-factor 1).
    """
    tools = [
        tool_row("A", load_min=1.0, unload_min=1.0),
        tool_row("B", load_min=1.0, unload_min=1.0),
    ]
    route = [step_row("r", 1, "A", 1.2, per="per_piece"), step_row("r", 2, "B", 20.0)]
    fromto: list[Row] = [
        {"FROMLOC": "Fab", "TOLOC": "Fab", "DDIST": "constant", "DTIME": 5.0, "DUNITS": "min"}
    ]
    path = write_fab(
        directory,
        tools,
        {"part_1": route},
        [order_row("Lot_1", "part_1", 120.0)],
        fromto_txt=fromto,
    )
    return SmallFab(path, {"cycle_time_min": 59.0, "interval_min": 120.0})


def mm1_fab(
    directory: Path,
    utilization: float = 0.7,
    service_min: float = 30.0,
    displacement: float = 1000.0,
) -> SmallFab:
    """One tool with exponential processing times fed by (practically) Poisson arrivals.

    Releases are deterministic in SMT2020 (every ``REPEAT``), so each lot first spends an
    exponential time of mean ``displacement`` × the release interval at a 2500-server delay
    family (about ``displacement`` lots in it, never a queue); randomly displacing a periodic
    stream by such long i.i.d. delays makes it Poisson in the limit (Dobrushin's theorem;
    with 1000 the inter-arrival SCV is 0.998 and a Lindley recursion fed by it gives the
    M/M/1 wait within noise, while 100 still leaves it 5 % short). The arrivals at ``T``
    are stationary after a few delay means (``expect["warmup_min"]``). ``T`` then is an
    M/M/1 queue at ``utilization``: mean wait ``u / (1 − u) × service``.
    """
    interval = service_min / utilization
    delay = displacement * interval
    tools = [tool_row("D", 2500, group="Delay", location="Delay"), tool_row("T")]
    route = [
        step_row("r", 1, "D", delay, dist="exponential"),
        step_row("r", 2, "T", service_min, dist="exponential"),
    ]
    path = write_fab(directory, tools, {"part_1": route}, [order_row("Lot_1", "part_1", interval)])
    wait = utilization / (1.0 - utilization) * service_min
    return SmallFab(
        path,
        {"wait_min": wait, "warmup_min": 5.0 * delay, "service_min": service_min},
    )


def batch_fab(directory: Path, releases: int = 7) -> SmallFab:
    """One batch tool: minimum 2 lots (50 wafers), maximum 3 lots (75), 100 min per batch.

    Lots arrive at 0, 10, 20, ... (``releases`` of them). Lot 0 waits for a partner; at 10
    the batch {0, 1} reaches the minimum and starts (done 110); lots 2–6 queue; at 110 the
    batch {2, 3, 4} is full (done 210); at 210 {5, 6} has the minimum (done 310). With a
    single release the lot starts at once, as no partner can ever arrive (done 100).
    """
    tools = [tool_row("B", batch=True, group="Diffusion")]
    route = [step_row("r", 1, "B", 100.0, per="per_batch", batch_pieces=(50, 75))]
    path = write_fab(
        directory,
        tools,
        {"part_1": route},
        [order_row("Lot_1", "part_1", 10.0, releases=releases)],
    )
    return SmallFab(path, {"min_lots": 2, "max_lots": 3})


def breakdown_fab(
    directory: Path,
    tools: int = 20,
    mttf_min: float = 1000.0,
    mttr_min: float = 100.0,
    pm_every_days: float = 7.0,
    pm_hours: float = 12.0,
) -> SmallFab:
    """A family with an exponential breakdown calendar and a constant weekly PM.

    PM: every ``pm_every_days`` start to start, ``pm_hours`` long (constant): PM share
    ``f`` = 12/168 = 7.14 %. Breakdowns: time to failure Exp(``mttf``) in calendar time from
    the end of the repair, repair Exp(``mttr``); a failure that falls in a PM (chance ``f``)
    is repaired after the PM's remaining half on average, so a failure cycle lasts
    ``mttf + f · pm/2 + mttr`` and the down share is ``mttr`` over that (8.89 % instead of
    the 9.09 % without PMs). Light load (a 10-min lot every 60 min).
    """
    fam = [tool_row("E", tools, group="Etch")]
    route = [step_row("r", 1, "E", 10.0)]
    downcal: list[Row] = [
        {
            "DOWNCALNAME": "BREAK_Etch",
            "DOWNCALTYPE": "mttf_by_cal",
            "MTTFDIST": "exponential",
            "MTTF": mttf_min,
            "MTTFUNITS": "min",
            "MTTRDIST": "exponential",
            "MTTR": mttr_min,
            "MTTRUNITS": "min",
        }
    ]
    pmcal: list[Row] = [
        {
            "PMCALNAME": "E_WK",
            "PMCALTYPE": "mtbpm_by_cal",
            "MTBPM": pm_every_days,
            "MTBPMUNITS": "day",
            "MTTRDIST": "constant",
            "MTTR": pm_hours,
            "MTTRUNITS": "hr",
        }
    ]
    attach: list[Row] = [
        {
            "CALNAME": "BREAK_Etch",
            "CALTYPE": "down",
            "RESTYPE": "stngrp",
            "RESNAME": "Etch",
            "FOADIST": "exponential",
            "FOA": mttf_min,
            "FOAUNITS": "min",
        },
        {
            "CALNAME": "E_WK",
            "CALTYPE": "pm",
            "RESTYPE": "stnfam",
            "RESNAME": "E",
            "FOADIST": "constant",
            "FOA": 1.0,
            "FOAUNITS": "day",
        },
    ]
    path = write_fab(
        directory,
        fam,
        {"part_1": route},
        [order_row("Lot_1", "part_1", 60.0)],
        downcal_txt=downcal,
        pmcal_txt=pmcal,
        attach_txt=attach,
    )
    pm_share = pm_hours / (24.0 * pm_every_days)
    cycle_min = mttf_min + pm_share * pm_hours * 60.0 / 2.0 + mttr_min
    return SmallFab(path, {"down_pct": 100.0 * mttr_min / cycle_min, "pm_pct": 100.0 * pm_share})


def setup_fab(directory: Path, second: str) -> SmallFab:
    """One tool with a setup group; part 1 needs setup ``SA``, part 2 ``second``.

    ``second`` is ``"SB"`` (another state: every lot changes the setup), ``"SA"`` (the same
    state: one setup, the first) or ``""`` (no setup requirement: the state stays ``SA``,
    one setup). ``setup.txt``: from any state to SA or SB 10 min; min run 1. Lots of the two
    parts alternate (part 1 at 0, 100, ...; part 2 at 50, 150, ...), 20 min each, so the tool
    is idle when a lot arrives and the lot's cycle time is 20 min plus 10 if it needs a setup.
    """
    tools = [
        tool_row(
            "S",
            rule="rule_LSSU",
            setup_group="Gas",
            wake="wake_LeastSetupTime",
            group="Implant",
        )
    ]
    routes = {
        "part_1": [step_row("r", 1, "S", 20.0, setup="SA")],
        "part_2": [step_row("r", 1, "S", 20.0, setup=second)],
    }
    orders = [
        order_row("Lot_1", "part_1", 100.0),
        order_row("Lot_2", "part_2", 100.0, start_min=50.0),
    ]
    setup: list[Row] = [
        {"CURSETUP": "", "NEWSETUP": s, "STIME": 10.0, "STUNITS": "min"} for s in ("SA", "SB")
    ]
    setupgrp: list[Row] = [
        {"SETUPGRP": "Gas", "SETUP": "SA", "MINRUN": 1},
        {"SETUPGRP": "", "SETUP": "SB", "MINRUN": 1},
    ]
    path = write_fab(directory, tools, routes, orders, setup_txt=setup, setupgrp_txt=setupgrp)
    return SmallFab(path, {"setup_min": 10.0, "process_min": 20.0})


def min_run_fab(directory: Path, releases: int = 2, min_run: int = 3) -> SmallFab:
    """A re-entrant route over one tool with a min-run setup group: S(SA) → S(SB).

    ``releases`` lots, every 100 min, 20 min per step, 10-min setups. The first lot sets the
    tool to SA, which must then run ``min_run`` SA lots. With fewer SA lots than that ever
    coming, FORMAT.md §8 says the lock ends ("unless no such lot can arrive any more"), so
    every lot completes; lot k is done once the tool has switched to SB.
    """
    tools = [tool_row("S", rule="rule_LSSU", setup_group="Gas", group="Implant")]
    route = [
        step_row("r", 1, "S", 20.0, setup="SA"),
        step_row("r", 2, "S", 20.0, setup="SB"),
    ]
    setup: list[Row] = [
        {"CURSETUP": "", "NEWSETUP": s, "STIME": 10.0, "STUNITS": "min"} for s in ("SA", "SB")
    ]
    setupgrp: list[Row] = [
        {"SETUPGRP": "Gas", "SETUP": "SA", "MINRUN": min_run},
        {"SETUPGRP": "", "SETUP": "SB", "MINRUN": min_run},
    ]
    path = write_fab(
        directory,
        tools,
        {"part_1": route},
        [order_row("Lot_1", "part_1", 100.0, releases=releases)],
        setup_txt=setup,
        setupgrp_txt=setupgrp,
    )
    return SmallFab(path, {"lots": releases})


def rework_batch_fab(directory: Path, rework_pct: float = 30.0) -> SmallFab:
    """A batch tool B (2 lots minimum and maximum, 100 min) followed by a tool T (10 min per
    lot) whose step sends a lot back to B with ``rework_pct`` % chance; two lots, released at 0
    and 10 (nothing else ever comes).

    Both lots batch at 10 (done 110) and pass T one after the other (110–120, 120–130). If
    lot 0 is reworked at 120 while lot 1 is still at T, lot 1 may still come back to B by a
    rework of its own, so lot 0 waits (FORMAT.md §8: a short batch starts only when no
    compatible lot can arrive any more). If lot 1 leaves at 130 without rework, lot 0 starts
    alone at 130 and is done at 130 + 100 + 10 = 240 (unless reworked again).
    """
    tools = [tool_row("B", batch=True, group="Diffusion"), tool_row("T", group="Wet_Etch")]
    route = [
        step_row("r", 1, "B", 100.0, per="per_batch", batch_pieces=(50, 50)),
        step_row("r", 2, "T", 10.0),
    ]
    route[1]["RWKSTEP"] = 1
    route[1]["REWORK"] = rework_pct
    route[1]["RWKTYPE"] = "lot"
    path = write_fab(
        directory, tools, {"part_1": route}, [order_row("Lot_1", "part_1", 10.0, releases=2)]
    )
    return SmallFab(path, {"lots": 2})


def sampled_rework_fab(directory: Path, releases: int = 3000) -> SmallFab:
    """Six one-tool families, 2 min per lot, on two locations, with sampling and nested rework
    loops; ``releases`` lots every 200 min, so a lot nearly never waits.

    Steps (1-based): 1 A sampled 60 %; 2 B; 3 C sampled 50 %, reworked back to 2 with 40 %
    (inner loop); 4 D, reworked back to 1 with 30 % (outer loop around the inner one; step 1
    is then performed without a sampling draw); 5 E sampled 70 %, reworked onto itself with
    25 %; 6 F. A, C, E are at ``Fab``, B, D, F at ``Met``; moves take 1 (Fab→Fab), 4
    (Fab→Met), 6 (Met→Fab) and 2 (Met→Met) min. ``expect`` holds the step's sampling
    share, 0-based rework target and rework probability as ``share_k``, ``target_k``,
    ``prob_k``.
    """
    fams = "ABCDEF"
    tools = [tool_row(f, location="Fab" if f in "ACE" else "Met") for f in fams]
    share = (60.0, None, 50.0, None, 70.0, None)
    rework = {3: (2, 40.0), 4: (1, 30.0), 5: (5, 25.0)}
    route = [step_row("r", k, f, 2.0, sample_pct=share[k - 1]) for k, f in enumerate(fams, start=1)]
    for k, (back, pct) in rework.items():
        route[k - 1]["RWKSTEP"] = back
        route[k - 1]["REWORK"] = pct
        route[k - 1]["RWKTYPE"] = "lot"
    fromto: list[Row] = [
        {"FROMLOC": a, "TOLOC": b, "DDIST": "constant", "DTIME": t, "DUNITS": "min"}
        for a, b, t in (
            ("Fab", "Fab", 1.0),
            ("Fab", "Met", 4.0),
            ("Met", "Fab", 6.0),
            ("Met", "Met", 2.0),
        )
    ]
    path = write_fab(
        directory,
        tools,
        {"part_1": route},
        [order_row("Lot_1", "part_1", 200.0, releases=releases)],
        fromto_txt=fromto,
    )
    expect: dict[str, float] = {"lots": float(releases), "interval_min": 200.0}
    for k in range(6):
        back, pct = rework.get(k + 1, (0, 0.0))
        expect[f"share_{k}"] = (share[k] if share[k] is not None else 100.0) / 100.0
        expect[f"target_{k}"] = float(back - 1)
        expect[f"prob_{k}"] = pct / 100.0
    return SmallFab(path, expect)


def cascade_fab(directory: Path) -> SmallFab:
    """Two cascading tools (``STNCAP 2``), 100 min per lot; part_1 leaves the first slot after
    90 min (``BatchInterval``), part_2 after 10 min.

    A part_1 lot released at 0 takes tool 1 (first slot busy until 90); part_2 lots released
    at 1 and 2: the first takes the empty tool 2 (slot busy until 11, done 101). The second
    waits in the queue until a first slot frees — tool 2's at 11 — and is done at 111. If a
    tool holding one lot took it at once instead, it would enter tool 1 (idle longer) and
    wait there until 90: done 190.
    """
    tools = [tool_row("C", 2, cascading=True, group="Wet_Etch")]
    routes = {}
    for part, interval in (("part_1", 90.0), ("part_2", 10.0)):
        row = step_row("r" + part[-1], 1, "C", 100.0)
        row["BatchInterval"] = interval
        row["BatchIntUnits"] = "min"
        routes[part] = [row]
    orders = [
        order_row("Lot_1", "part_1", 1000.0, releases=1),
        order_row("Lot_2", "part_2", 1.0, releases=2, start_min=1.0),
    ]
    path = write_fab(directory, tools, routes, orders)
    return SmallFab(path, {"done": [100.0, 101.0, 111.0], "done_any_slot": [100.0, 101.0, 190.0]})


def critical_ratio_fab(directory: Path, block_min: float, lot_b_pieces: int = WAFERS) -> SmallFab:
    """Two lots whose order by critical ratio flips while they wait (FORMAT.md §8.1).

    One tool ``X`` ranked by ``rank_HP;rank_CR``. At t 0 a blocker lot takes ``X`` for
    ``block_min``; at t 1 lot A (due 1000 min after release; remaining work 10 min on ``X`` +
    500 on ``YA`` = 510) and lot B (due 600 min after release; 10 + 40 on ``YB`` = 50) join
    ``X``'s queue. CR = (due − now) / remaining work: at t 1, A 1.96 < B 11.98 (A first);
    at t 101, A 1.76 < B 10.0; at t 581, A 0.82 > B 0.40 (B first); the orders cross at
    t ≈ 558.5. Load and unload are 0, so remaining work is exact.
    """
    x_ranks = "rank_HP;rank_CR"
    tools = [tool_row("X", ranks=x_ranks), tool_row("YA"), tool_row("YB")]
    routes = {
        "part_1": [step_row("r", 1, "X", 10.0), step_row("r", 2, "YA", 500.0)],
        "part_2": [step_row("r", 1, "X", 10.0), step_row("r", 2, "YB", 40.0)],
        "part_3": [step_row("r", 1, "X", block_min)],
    }
    orders = [
        order_row("Blocker", "part_3", 1e6, releases=1),
        order_row("Lot_A", "part_1", 1e6, releases=1, start_min=1.0, allowance_min=1000.0),
        {
            **order_row("Lot_B", "part_2", 1e6, releases=1, start_min=1.0, allowance_min=600.0),
            "PIECES": lot_b_pieces,
        },
    ]
    return SmallFab(write_fab(directory, tools, routes, orders), {"cross_min": 558.5})


def rank_setup_fab(directory: Path) -> SmallFab:
    """Two lots needing different setups on one ``rule_LSSU`` tool (FORMAT.md §8.1).

    A blocker (setup ``S0``) holds the tool for 100 min from t 0. Lot Y (needs ``SB``:
    ``setup.txt`` 10 min from any state) joins the queue at t 1, lot X (needs ``SA``: the
    route's own ``STIME`` 50 min, no ``setup.txt`` row) at t 2. ``rank_RSETUP`` ranks by the
    ``setup.txt`` mean with a route ``STIME`` counting 0, so X (0) goes before Y (10); ranking
    by the time actually spent (the first pass) puts Y (10) before X (50).
    """
    tools = [tool_row("S", rule="rule_LSSU", setup_group="Gas", wake="wake_LeastSetupTime")]
    routes = {
        "part_1": [step_row("r", 1, "S", 20.0, setup="SA", stime_min=50.0)],
        "part_2": [step_row("r", 1, "S", 20.0, setup="SB")],
        "part_3": [step_row("r", 1, "S", 100.0, setup="S0")],
    }
    orders = [
        order_row("Blocker", "part_3", 1e6, releases=1),
        order_row("Lot_Y", "part_2", 1e6, releases=1, start_min=1.0),
        order_row("Lot_X", "part_1", 1e6, releases=1, start_min=2.0),
    ]
    setup: list[Row] = [
        {"CURSETUP": "", "NEWSETUP": s, "STIME": t, "STUNITS": "min"}
        for s, t in (("S0", 5.0), ("SB", 10.0))
    ]
    setupgrp: list[Row] = [
        {"SETUPGRP": "Gas" if k == 0 else "", "SETUP": s, "MINRUN": 1}
        for k, s in enumerate(("S0", "SA", "SB"))
    ]
    path = write_fab(directory, tools, routes, orders, setup_txt=setup, setupgrp_txt=setupgrp)
    return SmallFab(path)
