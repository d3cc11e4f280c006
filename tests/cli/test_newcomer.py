"""What a newcomer trips over (issue 11 §3): runs that look alike, <bool> in the help,
`| head`, tables cut at 80 columns or in a pipe, a relaxed plan's parts of fabs, and an
editable copy of a built-in scenario. Every command runs as a real process or through the
real entry point, on a real DuckDB store and the real HiGHS solver."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main

from fabnet.cli import app
from fabnet.store import Store
from fabnet.store.record import run_parameters, run_variant
from tests.cli_runner import run_cli

_ID = re.compile(r"\b\d{8}-\d{4}-[0-9a-f]{4}\b")
#: A word cut by rich's default overflow ("nvidia-o…"); a spaced " … " is text of its own.
_CUT = re.compile(r"\S…")


def _run(*args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    """``python -m fabnet ARGS`` with its output in a pipe, ``COLUMNS`` set."""
    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run(
        [sys.executable, "-m", "fabnet", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three toy plans: the base and its variant (`--variant all`), and a relaxed quarterly
    plan with an override."""
    path = tmp_path_factory.mktemp("runs") / "runs.duckdb"
    r = _run("plan", "toy", "--variant", "all", "--store", str(path), "--workers", "1")
    assert r.returncode == 0, r.stderr
    r = _run(
        "plan", "toy", "--relax", "--period", "quarter", "--terminal", "none",
        "--set", "policies.max_vendor_share.gpuco=0.5", "--store", str(path),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return path


# runs list tells runs apart ---------------------------------------------------------------


def test_runs_list_json_has_variant_and_parameters(store: Path) -> None:
    r = _run("runs", "list", "--store", str(store), "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert len(rows) == 3
    relaxed, variant, base = rows  # newest first
    assert variant["variant"] == "no-gpu" and base["variant"] == "base"
    assert variant["parameters"] == [] and base["parameters"] == []
    assert relaxed["variant"] == "base"
    assert relaxed["parameters"] == [
        "set policies.max_vendor_share.gpuco=0.5",
        "period quarter",
        "terminal none",
        "relax",
    ]
    assert relaxed["options"]["relax"] is True and relaxed["options"]["period"] == "quarter"
    # what the JSON lists is what the store holds
    frame = Store(store, create=False).list_runs()
    assert list(frame["id"]) == [row["id"] for row in rows]


def test_runs_list_table_at_80_columns_in_a_pipe(store: Path) -> None:
    r = _run("runs", "list", "--store", str(store), columns=80)
    assert r.returncode == 0, r.stderr
    ids = [
        row["id"]
        for row in json.loads(_run("runs", "list", "--store", str(store), "--json").stdout)
    ]
    for run_id in ids:
        assert run_id in r.stdout  # whole, never "2026120…"
    assert "toy [no-gpu]" in r.stdout
    text = " ".join(r.stdout.split())
    assert "period quarter" in text and "relax" in text and "terminal none" in text
    assert not _CUT.search(r.stdout), r.stdout
    assert max(len(line) for line in r.stdout.splitlines()) <= 80


def test_risk_run_shows_its_plan_samples_and_seed(tmp_path: Path) -> None:
    """A real risk run of the toy with a disruption catalogue (the risk tests' file)."""
    from tests.risk.test_run import CATALOGUE, TOY

    head, tail = TOY.read_text(encoding="utf-8").split("variants:", 1)
    scenario = tmp_path / "toy-risk.yaml"
    scenario.write_text(head + CATALOGUE.lstrip() + "variants:" + tail, encoding="utf-8")
    db = tmp_path / "runs.duckdb"
    r = _run("risk", str(scenario), "-n", "10", "--seed", "4", "--workers", "1", "--store", str(db))
    assert r.returncode == 0, r.stderr
    risk, plan = json.loads(_run("runs", "list", "--store", str(db), "--json").stdout)
    assert risk["kind"] == "risk" and plan["kind"] == "plan"
    assert risk["parameters"] == [f"plan {plan['id']}", "samples 10", "seed 4"]
    table = _run("runs", "list", "--store", str(db), columns=80).stdout
    assert risk["id"] in table and plan["id"] in table
    assert "samples 10, seed 4" in " ".join(table.split())


def test_run_parameters_of_risk_and_fab_runs() -> None:
    """The options dicts `fabnet risk` and `fab simulate` store, as the list shows them."""
    risk = {
        "plan_run_id": "20261204-1645-2297", "catalogue_sha256": "ab", "samples": 20,
        "seed": 3, "events": ["taiwan-quake"], "method": "screen", "alpha": 0.95,
        "stress": True, "stress_year": 2030,
    }  # fmt: skip
    assert run_parameters("risk", risk) == [
        "plan 20261204-1645-2297",
        "samples 20",
        "seed 3",
        "screen",
        "events taiwan-quake",
        "stress 2030",
    ]
    assert run_variant("risk", risk) is None
    fab = {"days": 60.0, "warmup_days": 10.0, "dispatcher": None, "seeds": [0, 1, 2, 3]}
    assert run_parameters("fab", fab) == ["60 d", "warm-up 10 d", "seeds 0-3"]


# runs compare at 80 columns ---------------------------------------------------------------


def test_runs_compare_keeps_ids_whole_at_80_columns(store: Path) -> None:
    ids = [
        row["id"]
        for row in json.loads(_run("runs", "list", "--store", str(store), "--json").stdout)
    ]
    r = _run("runs", "compare", *ids, "--store", str(store), columns=80)
    assert r.returncode == 0, r.stderr
    for run_id in ids:
        assert run_id in r.stdout
    assert "Key figures (runs 1–2 of 3)" in r.stdout and "(runs 3–3 of 3)" in r.stdout
    assert not _CUT.search(r.stdout), r.stdout
    assert max(len(line) for line in r.stdout.splitlines()) <= 80
    wide = _run("runs", "compare", *ids, "--store", str(store), columns=160)
    assert wide.stdout.startswith("Key figures") and "runs 1–" not in wide.stdout


def test_variants_side_by_side_split_to_fit_the_width() -> None:
    """`plan --variant all` at 36 columns: one variant per table, names and amounts whole;
    at 80 both side by side."""
    narrow = _run("plan", "toy", "--variant", "all", "--no-store", "--workers", "1", columns=36)
    assert narrow.returncode == 0, narrow.stderr
    part = narrow.stdout[narrow.stdout.index("Variants side by side") :]
    assert "Variants side by side (1 of 2)" in part and "(2 of 2)" in part
    assert "design_partner (PV)" in part and "4.38 M USD" in part
    assert max(len(line) for line in part.splitlines()) <= 36
    assert not _CUT.search(part)
    wide = _run("plan", "toy", "--variant", "all", "--no-store", "--workers", "1", columns=80)
    assert re.search(r"Variants side by side *\n", wide.stdout)
    assert "(1 of 2)" not in wide.stdout


def test_scenario_show_cuts_no_word_at_80_columns() -> None:
    """The sites table of openai-2024 had "samsung-…" and "negativ…" at 80 columns."""
    r = _run("scenario", "show", "openai-2024", columns=80)
    assert r.returncode == 0, r.stderr
    assert not _CUT.search(r.stdout), [m.group() for m in _CUT.finditer(r.stdout)][:5]
    table_lines = [line for line in r.stdout.splitlines() if line[:1] in "┏┃┡│└"]
    assert table_lines and max(len(line) for line in table_lines) <= 80
    for process in ("samsung-sf3", "skhynix-hbm3e", "tsmc-cowos-s", "samsung-icube"):
        assert f"│ {process} " in r.stdout  # the first column (ids) is kept whole


# --relax marks parts of fabs --------------------------------------------------------------


def test_relaxed_plan_marks_fractional_fabs(tmp_path: Path) -> None:
    """openai-2024 relaxed builds parts of fabs (0.98 of amkor-az in 2026, ...): the summary
    table has a `part` column, --json `fraction` and `fractional`, runs show and the report
    say "of a fab (relaxed)". The MILP plan of the same scenario builds whole fabs only."""
    db = tmp_path / "runs.duckdb"
    r = _run("plan", "openai-2024", "--relax", "--store", str(db), columns=100)
    assert r.returncode == 0, r.stderr
    assert "New sites (relaxed plan: part = the part of a fab built" in r.stdout
    rec = Store(db, create=False).load_run("latest")
    builds = rec.summary["builds"]
    parts = [b for b in builds if b["fractional"]]
    assert parts and all(0 < b["fraction"] < 1 for b in parts)
    assert all(b["fraction"] == pytest.approx(1.0) for b in builds if not b["fractional"])
    assert rec.table("builds")["fraction"].lt(1 - 1e-6).sum() == len(parts)
    show = _run("runs", "show", "latest", "--store", str(db), columns=200)
    first = parts[0]
    assert f"{first['fraction']:.2f} of a fab (relaxed)" in show.stdout
    html = tmp_path / "plan.html"
    rep = _run("report", "latest", "--store", str(db), "-o", str(html))
    assert rep.returncode == 0, rep.stderr
    page = html.read_text("utf-8")
    assert "of a fab (relaxed)" in page and "LP relaxation (--relax)" in page


def test_whole_fabs_are_not_marked(store: Path) -> None:
    rec = Store(store, create=False).load_run(
        json.loads(_run("runs", "list", "--store", str(store), "--json").stdout)[-1]["id"]
    )
    assert all(not b["fractional"] for b in rec.summary["builds"])


# help: no <bool> ------------------------------------------------------------------------


def _commands(cmd: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, sub in getattr(cmd, "commands", {}).items():
        found += _commands(sub, (*path, name))
    return found


def test_no_bool_metavar_in_any_help(capsys: pytest.CaptureFixture[str]) -> None:
    paths = _commands(typer.main.get_command(app))
    assert ("plan",) in paths and ("runs", "list") in paths and ("fab", "simulate") in paths
    for path in paths:
        code, out, err = run_cli([*path, "--help"], capsys)
        assert code == 0, (path, err)
        assert "<bool>" not in out, path
        assert "--help" in out
    code, out, _ = run_cli(["plan", "--help"], capsys)
    relax = next(line for line in out.splitlines() if "--relax" in line)
    assert "LP relaxation" in relax and "<" not in relax
    assert "<float>" in out  # options that take a value still show their type


# | head ends nothing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("scenario", "show", "openai-2024", "--json"),  # 73 kB through rich
        ("scenario", "export", "openai-2024"),  # 106 kB through typer.echo
    ],
)
def test_reader_closing_the_pipe_early_is_not_an_error(args: tuple[str, ...]) -> None:
    """More than a pipe's 64 kB buffer, read for one line (`| head -1`): the command ends
    with status 0, quietly (it was status 1, or a BrokenPipeError traceback)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "fabnet", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    assert first.strip() == b"{" or first.startswith(b"# openai-2024")
    proc.stdout.close()  # like `head -1`
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err


def _with_stdout_closed(args: list[str], timeout_s: float) -> tuple[int, str]:
    """Exit status and stderr of ``fabnet ARGS`` whose reader closed stdout at once."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "fabnet", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    return proc.wait(timeout=timeout_s), err


def test_closed_pipe_still_stores_the_plan(tmp_path: Path) -> None:
    """The reader is gone before the plan prints anything: the run is still stored."""
    db = tmp_path / "runs.duckdb"
    code, err = _with_stdout_closed(["plan", "toy", "--store", str(db)], timeout_s=300)
    assert code == 0, err
    assert "Traceback" not in err and "Exception ignored" not in err
    assert len(Store(db, create=False).list_runs()) == 1


def test_closed_pipe_keeps_a_user_error_status(tmp_path: Path) -> None:
    code, err = _with_stdout_closed(
        ["runs", "list", "--store", str(tmp_path / "none.duckdb")], timeout_s=120
    )
    assert code == 2
    assert "no runs store here yet" in err and "Traceback" not in err


# an editable copy of a built-in scenario --------------------------------------------------


def test_scenario_export_writes_an_editable_copy(tmp_path: Path) -> None:
    target = tmp_path / "my.yaml"
    r = _run("scenario", "export", "toy", "-o", str(target))
    assert r.returncode == 0, r.stderr
    text = target.read_text("utf-8")
    assert text.startswith("# toy:") and "variants:" in text
    edited = tmp_path / "edited.yaml"
    edited.write_text(text.replace("name: toy", "name: my-toy", 1), "utf-8")
    assert "my-toy" in _run("scenario", "validate", str(edited)).stdout
    again = _run("scenario", "export", "toy", "-o", str(target))
    assert again.returncode == 2 and "already exists" in again.stderr and "--force" in again.stderr
    assert _run("scenario", "export", "toy", "-o", str(target), "--force").returncode == 0
    folder = _run("scenario", "export", "toy", "-o", str(tmp_path))
    assert folder.returncode == 2 and "is a folder" in folder.stderr
    unknown = _run("scenario", "export", "toyy")
    assert unknown.returncode == 2 and "did you mean 'toy'" in unknown.stderr
    assert "Traceback" not in unknown.stderr + folder.stderr + again.stderr
    printed = _run("scenario", "export", "openai-2024")
    assert printed.returncode == 0 and printed.stdout.startswith("#")


def test_validate_counts_in_the_singular() -> None:
    r = _run("scenario", "validate", "toy")
    assert "1 product)" in r.stdout and "1 products" not in r.stdout
