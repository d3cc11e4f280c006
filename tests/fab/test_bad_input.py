"""Bad input to the fab side (issue 11): every case exits 2 without a traceback and names the
file and line, or the flag, and the limit. Runs the real CLI in this process (one numba
compile for the whole module) on the tiny fabs of the other fab tests."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.cli_runner import fabnet
from tests.cli_runner import run_cli as run
from tests.fab.smallfabs import order_row, step_row, tool_row, write_fab
from tests.fab.test_loader import HVLM, needs_hvlm, write_tiny

from fabnet.errors import FabModelError
from fabnet.fab import SimOptions, load_smt2020
from fabnet.fab.curve import short_run_warnings
from fabnet.fab.limits import MAX_DAYS, MAX_LOTS, MAX_SEEDS, MAX_TOOLS
from fabnet.fab.simulate import check_run

Capsys = pytest.CaptureFixture[str]


def refused(code: int, err: str, *needles: str) -> None:
    """Exit 2, no traceback, and every needle in the message."""
    assert code == 2, err
    assert "Traceback" not in err
    flat = " ".join(err.replace("│", " ").split())  # typer boxes the message; unwrap it
    for n in needles:
        assert n in flat, (n, flat)


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """One tool, two steps, a lot every 2 h (cycle time 90 min, no queue)."""
    return write_tiny(tmp_path / "tiny")


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder nobody can write into: a chmod 555 folder, or, when that does not stop us
    (running as root), /sys (a read-only file system for everyone)."""
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o555)
    try:
        try:
            (d / "probe").write_text("x")
        except OSError:
            yield d
            return
        (d / "probe").unlink()
        sys_dir = Path("/sys")
        try:
            (sys_dir / "fabnet-probe").mkdir()
        except OSError:
            yield sys_dir
            return
        (sys_dir / "fabnet-probe").rmdir()
        pytest.skip("no read-only folder available")
    finally:
        d.chmod(0o755)


# ---------------------------------------------------------------- SMT2020 files


def _load_error(folder: Path) -> FabModelError:
    with pytest.raises(FabModelError) as exc:
        load_smt2020(folder)
    return exc.value


@pytest.mark.parametrize(
    ("file", "old", "new", "line", "field", "text"),
    [
        ("route_1.txt", "\t60\t", "\tnan\t", 2, "PTIME", "not a finite number: 'nan'"),
        ("route_1.txt", "\t30\t", "\tinf\t", 3, "PTIME", "not a finite number: 'inf'"),
        ("route_1.txt", "\t60\t", "\t-60\t", 2, "PTIME", "negative time"),
        ("tool.txt.1l", "\t0\tmin\t0", "\t-1\tmin\t0", 2, "LTIME", "-1 is below 0"),
        ("tool.txt.1l", "\t1.0\tG1", "\tNaN\tG1", 2, "STNQTY", "not a finite number"),
        ("order.txt", "\t120\t", "\tnan\t", 2, "REPEAT", "not a finite number"),
        ("order.txt", "\t25\t", "\t-25\t", 2, "PIECES", "-25 is below 1"),
    ],
)
def test_nan_inf_and_negative_numbers_name_file_line_field(
    tiny: Path, file: str, old: str, new: str, line: int, field: str, text: str
) -> None:
    path = tiny / file
    content = path.read_text()
    assert old in content
    path.write_text(content.replace(old, new, 1))
    e = _load_error(tiny)
    assert len(e.problems) == 1, e.format()  # reported once, no follow-on "must be positive"
    p = e.problems[0]
    assert (p.file, p.line, p.field) == (file, line, field)
    assert text in p.message


def test_ptime_nan_through_the_cli(tiny: Path, capsys: Capsys) -> None:
    path = tiny / "route_1.txt"
    path.write_text(path.read_text().replace("\t60\t", "\tnan\t"))
    code, _, err = run(["fab", "simulate", str(tiny), "--days", "1"], capsys)
    refused(code, err, "route_1.txt:2:6: PTIME: not a finite number: 'nan'")


def test_sizes_in_files_are_checked_against_the_limits(tiny: Path, capsys: Capsys) -> None:
    tools = tiny / "tool.txt.1l"
    tools.write_text(tools.read_text().replace("\t1.0\tG1", "\t1e9\tG1"))
    orders = tiny / "order.txt"
    orders.write_text(orders.read_text().replace("\t100000\t1\t", "\t100000\t1e12\t"))
    code, _, err = run(["fab", "simulate", str(tiny), "--days", "1"], capsys)
    refused(
        code,
        err,
        f"tool.txt.1l:2:13: STNQTY: 1000000000 exceeds the limit of {MAX_TOOLS:,}",
        f"order.txt:2:10: LOTSPERRPT: 1e+12 exceeds the limit of {MAX_LOTS:,}",
    )


def test_a_run_releasing_too_many_lots_is_refused_before_allocating(
    tiny: Path, capsys: Capsys
) -> None:
    """A lot every 0.01 min for 365 days is 52.6 million lots (some 20 GB of kernel state)."""
    orders = tiny / "order.txt"
    orders.write_text(orders.read_text().replace("\t120\tmin\t100000", "\t0.01\tmin\t100000000"))
    code, _, err = run(["fab", "simulate", str(tiny), "--days", "365"], capsys)
    refused(code, err, "52,560,001 lots", f"the limit is {MAX_LOTS:,}", "days", "--days")
    model = load_smt2020(tiny)
    with pytest.raises(FabModelError, match="lots"):
        check_run(model, SimOptions(days=1.0))  # 144,001 lots fit ...
        check_run(model, SimOptions(days=10.0))  # ... 1,440,001 do not


def test_missing_tool_file_is_reported_once_by_its_name(tiny: Path, capsys: Capsys) -> None:
    (tiny / "tool.txt.1l").unlink()
    e = _load_error(tiny)
    assert [(p.file, p.message) for p in e.problems] == [("tool.txt.1l", "file is missing")]
    code, _, err = run(["fab", "simulate", str(tiny)], capsys)
    refused(code, err, "tool.txt.1l: file is missing")
    assert len(err.strip().splitlines()) == 1


def test_missing_part_file_is_reported_once(tiny: Path) -> None:
    (tiny / "part.txt").unlink()
    e = _load_error(tiny)
    assert [(p.file, p.message) for p in e.problems] == [("part.txt", "file is missing")]


@needs_hvlm
@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("tool.txt.1l", "file is missing"),  # was: "tool.txt", then 1,231 follow-on lines
        ("part.txt", "file is missing"),
        ("route_3.txt", "file is missing"),
        ("order.txt", "file is missing"),
        ("pmcal.txt", "file is missing, but attach.txt names 292 of its calendars"),
        ("downcal.txt", "file is missing, but attach.txt names 11 of its calendars"),
    ],
)
def test_hvlm_without_one_of_its_files_is_one_line(tmp_path: Path, name: str, message: str) -> None:
    d = Path(shutil.copytree(HVLM, tmp_path / "HVLM"))
    (d / name).unlink()
    e = _load_error(d)
    assert len(e.problems) == 1, e.format()
    assert e.problems[0].file == name and e.problems[0].message.startswith(message)


@needs_hvlm
def test_hvlm_is_called_hvlm(capsys: Capsys) -> None:
    """Was: named after its last WIP lot, "Init_Lot_4_809", in titles and --json."""
    assert load_smt2020(HVLM).name == "HVLM"
    code, out, err = run(
        ["fab", "curve", str(HVLM), "--ggm-only", "--loads", "0.9", "--json"], capsys
    )
    assert code == 0, err
    assert json.loads(out)["model"] == "HVLM"


# ---------------------------------------------------------------- flags


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["simulate", "--days", "nan"], ["'--days'", "nan is not a finite number"]),
        (["simulate", "--days", "inf"], ["'--days'", "inf is not a finite number"]),
        (["simulate", "--days", "1e9"], ["'--days'", "out of range", f"{MAX_DAYS:g}"]),
        (["simulate", "--days", "-1"], ["'--days'", "above 0"]),
        (["simulate", "--warmup-days", "nan"], ["'--warmup-days'", "not a finite number"]),
        (["simulate", "--days", "2", "--warmup-days", "3"], ["--warmup-days", "not shorter"]),
        (["simulate", "--processes", "-3"], ["--processes", "-3 is out of range", "[1, 256]"]),
        (["simulate", "--workers", "100000"], ["--workers", "out of range", "[1, 256]"]),
        (
            ["simulate", "--seeds", "0-100000000"],
            ["--seeds", "100,000,001 seeds", f"the limit is {MAX_SEEDS:,}"],
        ),
        (["curve", "--loads", "nan"], ["--loads", "load nan must be a positive number"]),
        (["curve", "--setup-share", "nan"], ["'--setup-share'", "not a finite number"]),
        (["compare", "--reference", ".", "--days", "inf"], ["'--days'", "not a finite"]),
    ],
)
def test_bad_flags_are_refused_by_name(
    tiny: Path, capsys: Capsys, args: list[str], needles: list[str]
) -> None:
    code, _, err = run(["fab", args[0], str(tiny), *args[1:]], capsys)
    refused(code, err, *needles)


def test_curve_days_nan_blames_days_not_the_warm_up(tiny: Path, capsys: Capsys) -> None:
    code, _, err = run(["fab", "curve", str(tiny), "--days", "nan"], capsys)
    refused(code, err, "'--days'", "nan is not a finite number")
    assert "warm" not in err.lower()
    code, _, err = run(["fab", "curve", str(tiny), "--days", "5", "--warmup-days", "5"], capsys)
    refused(code, err, "--warmup-days", "not shorter than --days 5")


@pytest.mark.parametrize(
    ("value", "needle"), [("nan", "not a finite number"), ("1e9", "out of range")]
)
def test_generate_lots_per_day_blames_the_flag_not_order_txt(
    tmp_path: Path, capsys: Capsys, value: str, needle: str
) -> None:
    out = tmp_path / "fab"
    code, _, err = run(["fab", "generate", "--lots-per-day", value, "-o", str(out)], capsys)
    refused(code, err, "'--lots-per-day'", needle)
    assert "order.txt" not in err and not out.exists()


def test_generate_sizes_beyond_the_tool_limit(tmp_path: Path) -> None:
    """Within the flag's range but too many tools: the generator says which input."""
    from fabnet.fab.generate import generate_fab

    with pytest.raises(FabModelError, match=f"limit is {MAX_TOOLS:,}") as exc:
        generate_fab(400, 400, lots_per_day=10_000.0)
    assert exc.value.problems[0].field == "lots_per_day"


# ---------------------------------------------------------------- output paths


def test_generate_into_a_read_only_folder(read_only_dir: Path, capsys: Capsys) -> None:
    target = read_only_dir / "fab"
    code, _, err = run(["fab", "generate", "-o", str(target)], capsys)
    refused(code, err, f"{target}: -o: cannot write into this folder")


def test_generate_force_onto_a_file(tmp_path: Path, capsys: Capsys) -> None:
    f = tmp_path / "fab.txt"
    f.write_text("keep me")
    for extra in ([], ["--force"]):
        code, _, err = run(["fab", "generate", "-o", str(f), *extra], capsys)
        refused(code, err, f"{f}: -o: is a file, not a folder")
    assert f.read_text() == "keep me"


def test_curve_output_is_checked_before_loading_or_simulating(
    tmp_path: Path, read_only_dir: Path, capsys: Capsys
) -> None:
    """The model folder does not exist: the -o error must come first, so it is checked
    before anything is loaded or simulated."""
    missing = str(tmp_path / "no-such-fab")
    code, _, err = run(["fab", "curve", missing, "-o", str(tmp_path)], capsys)
    refused(code, err, f"{tmp_path}: -o: is a folder, not a file")
    code, _, err = run(["fab", "curve", missing, "-o", str(read_only_dir / "c.html")], capsys)
    refused(code, err, "-o: cannot write into this folder")


def test_simulate_store_is_checked_before_simulating(
    tmp_path: Path, read_only_dir: Path, capsys: Capsys
) -> None:
    missing = str(tmp_path / "no-such-fab")
    code, _, err = run(["fab", "simulate", missing, "--store", str(tmp_path)], capsys)
    refused(code, err, f"{tmp_path}: --store: is a folder, not a file")
    target = read_only_dir / "runs.duckdb"
    code, _, err = run(["fab", "simulate", missing, "--store", str(target)], capsys)
    refused(code, err, "--store: cannot write into this folder")


# ---------------------------------------------------------------- what a newcomer sees


def test_kernel_cache_detection_is_real(tmp_path: Path) -> None:
    """With an empty numba cache the kernel is not compiled; the module's own runs fill the
    default cache, after which it is."""
    import os
    import subprocess
    import sys

    code = "from fabnet.fab.simulate import kernel_is_compiled as k; print(k())"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "empty-cache")}
    cold = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert cold.stdout.strip() == "False", cold.stderr


def test_compile_notice_on_stderr(
    tiny: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    sim = importlib.import_module("fabnet.fab.simulate")  # the module, not the function
    args = ["fab", "simulate", str(tiny), "--days", "1", "--json"]
    assert run(args, capsys)[0] == 0  # compiles on a cold cache (a clean clone), notice or not
    code, out, err = run(args, capsys)
    assert code == 0 and "compiling" not in err and sim.kernel_is_compiled()
    monkeypatch.setattr(sim, "kernel_is_compiled", lambda: False)  # as with a cold cache
    code, out, err = run(["fab", "simulate", str(tiny), "--days", "1", "--json"], capsys)
    assert code == 0
    assert "compiling the simulator (once, about 30 s)" in err
    json.loads(out)  # stdout stays clean JSON


def _reference(folder: Path, completed_730d: float) -> Path:
    folder.mkdir()
    (folder / "lots_tiny.txt").write_text(
        f"name th act on_time\nLot_1 {completed_730d} 0.0625 100\n"
    )
    (folder / "machines_tiny.txt").write_text("name avail util br pm setup\nF1 100 75 0 0 0\n")
    return folder


def test_compare_scales_reference_counts_to_the_window(
    tiny: Path, tmp_path: Path, capsys: Capsys
) -> None:
    """The tiny fab releases 12 lots a day, each done 90 min (0.0625 d) later. A reference of
    8,760 lots in 730 days with that cycle time counts lots released in [0, 730 − 0.0625]
    d; the like-with-like count of a 2-day run is its rate × (2 − 0.0625) d = 23.25 (the
    simulation: 24, the lot at t 0 included), not the 8,760 (−99.7 %) of an unscaled
    comparison."""
    ref = _reference(tmp_path / "ref", 8760)
    args = ["fab", "compare", str(tiny), "--reference", str(ref), "--days", "2", "--seeds", "0"]
    code, out, err = run([*args, "--json"], capsys)
    assert code == 0, err
    obj = json.loads(out)
    lot = obj["lot_types"][0]
    factor = (2 - 0.0625) / (730 - 0.0625)
    assert obj["reference_count_scale"] == {"Lot_1": pytest.approx(factor)}
    assert lot["completed"] == 24 and lot["completed_ref"] == pytest.approx(8760 * factor)
    assert lot["completed_diff"] == pytest.approx(100 * (24 / (8760 * factor) - 1))
    assert abs(lot["completed_diff"]) < 5
    assert any("scaled to this run" in n for n in obj["notes"])
    assert any("not like with like" in n for n in obj["notes"])
    code, out, err = run(args, capsys)
    assert code == 0
    assert "(× 0.00265 for Lot_1)" in " ".join(err.split())
    assert "scaled to this run's window [0, 2] d" in " ".join(out.split())
    # a run shorter than the reference's cycle time: nothing to compare, and it says so
    (ref / "lots_tiny.txt").write_text("name th act on_time\nLot_1 8760 3 100\n")
    code, out, err = run([*args, "--json"], capsys)
    assert code == 0
    obj = json.loads(out)
    assert obj["lot_types"][0]["completed_ref"] == 0
    assert any("Lot_1: the reference's cycle time is longer" in n for n in obj["notes"])


def test_reference_with_nan_names_file_and_line(tiny: Path, tmp_path: Path, capsys: Capsys) -> None:
    ref = _reference(tmp_path / "ref", 8760)
    (ref / "lots_tiny.txt").write_text("name th act on_time\nLot_1 8760 nan 100\n")
    code, _, err = run(["fab", "compare", str(tiny), "--reference", str(ref)], capsys)
    refused(code, err, "lots_tiny.txt:2:3: act: not a finite number: 'nan'")


def test_short_run_warnings_are_derived_from_the_cycle_time() -> None:
    curve = pd.DataFrame(
        {
            "load": [0.6, 0.9],
            "raw_process_time_days": [20.0, 20.0],
            "ggm_cycle_time_days": [30.0, 50.0],
        }
    )
    w = short_run_warnings(curve, days=60.0, warmup_days=15.0, initial_wip_lots=100)
    assert len(w) == 1
    assert "at load 0.9 a lot takes about 50.0 d" in w[0]
    assert "warm-up (15 d) is shorter" in w[0] and "window (45 d) is shorter" in w[0]
    assert "initial WIP (100 lots)" in w[0] and "--days 200" in w[0]
    assert short_run_warnings(curve, days=200.0, warmup_days=50.0, initial_wip_lots=100) == []
    sat = curve.assign(ggm_cycle_time_days=[30.0, np.inf])
    w = short_run_warnings(sat, days=200.0, warmup_days=50.0, initial_wip_lots=0)
    assert len(w) == 1 and "at load 0.9 the G/G/m model predicts a saturated" in w[0]


def test_curve_warns_on_short_runs_and_writes_a_styled_page(
    tiny: Path, tmp_path: Path, capsys: Capsys
) -> None:
    html = tmp_path / "out" / "curve.html"
    base = ["fab", "curve", str(tiny), "--loads", "0.5,0.9", "--seeds", "0", "--json"]
    code, out, err = run([*base, "--days", "0.1", "-o", str(html)], capsys)
    assert code == 0, err
    obj = json.loads(out)
    assert obj["model"] == "tiny"
    assert obj["warnings"] and "short run" in obj["warnings"][0]
    page = html.read_text()
    assert 'class="cards"' in page and "Read with care" in page  # the plan report's page
    assert "Operating curve" in page and "<table" in page and "Each marker is one load" in page
    code, out, err = run([*base, "--days", "2"], capsys)
    assert code == 0 and json.loads(out)["warnings"] == []


def test_curve_figure_labels_loads_and_keeps_bars_in_range() -> None:
    from fabnet.cli.fab_extras import curve_figure

    df = pd.DataFrame(
        {
            "load": [0.9, 0.99],
            "bottleneck_group": ["L", "L"],
            "bottleneck_utilization_pct": [90.0, 99.0],
            "bottleneck_utilization_pct_ci95": [5.0, 5.0],
            "product": ["p", "p"],
            "cycle_time_mean_days": [1.0, 3.0],
            "cycle_time_mean_days_ci95": [2.0, 1.0],
            "x_factor": [1.0, 3.0],
            "x_factor_ci95": [2.0, 1.0],
            "ggm_cycle_time_days": [1.1, np.inf],
            "ggm_x_factor": [1.1, np.inf],
            "ggm_bottleneck_utilization_pct": [90.0, 99.0],
        }
    )
    fig = curve_figure(df, "t", n_seeds=3)
    sim = next(t for t in fig.data if t.name == "p simulated")
    assert list(sim.text) == ["0.9", "0.99"]
    assert list(sim.error_x.array) == [5.0, 1.0]  # 99 + 5 would pass 100 %
    assert list(sim.error_y.arrayminus) == [1.0, 1.0]  # 1 − 2 would go below 0
    two = curve_figure(df, "t", n_seeds=2)
    assert next(t for t in two.data if t.name == "p simulated").error_x.array is None


def test_tables_two_seeds_show_ranges_and_families_by_utilisation(
    tmp_path: Path, capsys: Capsys
) -> None:
    """Two families written light first; the table puts the busier one on top. Two seeds:
    min–max, no "±" (a t-interval from 2 seeds is 12.7 × the spread)."""
    d = write_fab(
        tmp_path / "two",
        [tool_row("Light"), tool_row("Heavy")],
        {"part_1": [step_row("r", 1, "Light", 10.0), step_row("r", 2, "Heavy", 60.0)]},
        [order_row("Lot_1", "part_1", 100.0)],
    )
    code, out, err = run(
        ["fab", "simulate", str(d), "--days", "3", "--seeds", "0-1", "--workers", "1"], capsys
    )
    assert code == 0, err
    assert out.index("Heavy") < out.index("Light")
    assert "over 2 seeds; a 95 % CI needs 3 or more" in out and "±" not in out
    assert "completed" in out and "43.0" not in out  # counts as integers


def test_help_keeps_the_warm_up_default() -> None:
    res = fabnet("fab", "curve", "--help")
    assert "default: a quarter of --days" in " ".join(res.stdout.replace("│", " ").split())


def test_progress_shows_when_stderr_is_piped(tiny: Path) -> None:
    """A real process whose stderr is a pipe: progress comes as lines, not a live bar."""
    res = fabnet("fab", "simulate", str(tiny), "--days", "20")
    assert res.returncode == 0, res.stderr
    assert "simulating tiny, seed 0 (days): 10/20" in res.stderr
    assert "simulating tiny, seed 0 (days): 20/20" in res.stderr
