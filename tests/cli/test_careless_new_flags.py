"""A careless user's inputs to this session's new commands and flags: each is refused with exit
status 2 and one clear message naming the flag or field, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_runner import fabnet, run_cli


def _one_line(text: str) -> str:
    return " ".join(text.replace("│", " ").split())  # click's error box wraps lines


@pytest.fixture(scope="module")
def plan_and_fab(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Path]:
    """A real toy plan in a real store and a tiny generated fab: (store, plan id, fab)."""
    root = tmp_path_factory.mktemp("careless")
    store, fab = root / "runs.duckdb", root / "fab"
    done = fabnet("plan", "toy", "--store", str(store))
    assert done.returncode == 0, done.stderr
    gen = ("--tool-groups", "4", "--steps", "10", "--products", "1", "-o", str(fab))
    done = fabnet("fab", "generate", *gen)
    assert done.returncode == 0, done.stderr
    from fabnet.store import Store

    return store, Store(store, create=False).load_run("latest").id, fab


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--days-per-period", "inf"),  # was: "bad release schedule: start days must increase"
        ("--days-per-period", "0"),
        ("--warmup-days", "nan"),  # was: "bad release schedule ..."
        ("--warmup-days", "-1"),  # was: accepted, and the check ran
        ("--raw-process-days", "nan"),  # was: "the site's raw process time is unknown"
        ("--raw-process-days", "-3"),  # was: "the site's raw process time is unknown"
        ("--raw-process-days", "inf"),  # was: "days per period must be positive"
    ],
)
def test_check_plan_refuses_bad_numbers(
    flag: str,
    value: str,
    plan_and_fab: tuple[Path, str, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    store, plan_id, fab = plan_and_fab
    args = ["fab", "check-plan", plan_id, str(fab), "--site", "fab-a", "--store", str(store)]
    code, out, err = run_cli([*args, "--no-store", "--workers", "1", flag, value], capsys)
    text = _one_line(out + err)
    assert code == 2
    assert flag in text and "finite number" in text
    assert "Traceback" not in text


def test_check_plan_unknown_raw_process_time_names_the_flags(
    plan_and_fab: tuple[Path, str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    store, plan_id, fab = plan_and_fab
    args = ["fab", "check-plan", plan_id, str(fab), "--site", "fab-a", "--store", str(store)]
    code, out, err = run_cli([*args, "--no-store", "--workers", "1"], capsys)
    text = _one_line(out + err)
    assert code == 2
    assert "raw process time is unknown" in text
    assert "--days-per-period" in text and "--raw-process-days" in text
    assert "days_per_period" not in text  # the flag, not the Python field


@pytest.mark.parametrize(
    "curve",
    [
        "operating_curve: {store: STORE}",  # was: "unknown key 'store' — known: ... points"
        "operating_curve: {store: STORE, file: x.csv}",
    ],
)
def test_curve_store_without_run_is_named(
    curve: str,
    plan_and_fab: tuple[Path, str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store, _, _ = plan_and_fab
    path = tmp_path / "toy.yaml"
    assert run_cli(["scenario", "export", "toy", "-o", str(path)], capsys)[0] == 0
    line = "    capacity_wspm: {2025: 100}\n"
    text = path.read_text()
    assert line in text
    path.write_text(text.replace(line, line + "    " + curve.replace("STORE", str(store)) + "\n"))
    code, out, err = run_cli(["plan", str(path), "--no-store", "--lead-times", "load"], capsys)
    msg = _one_line(out + err)
    assert code == 2
    assert "operating_curve.store" in msg and "no run" in msg and "run: RUN_ID" in msg
    assert "Traceback" not in msg
