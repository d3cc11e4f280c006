"""`fabnet scenario ...` and the CLI's error handling, run as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from fabnet.scenario.io import builtin_text
from tests.cli_runner import fabnet


def test_help() -> None:
    r = fabnet("--help")
    assert r.returncode == 0
    assert "scenario" in r.stdout


def test_scenario_list_json() -> None:
    r = fabnet("scenario", "list", "--json")
    assert r.returncode == 0, r.stderr
    names = [row["name"] for row in json.loads(r.stdout)]
    assert "toy" in names


def test_scenario_show() -> None:
    r = fabnet("scenario", "show", "toy")
    assert r.returncode == 0, r.stderr
    assert "fab-a" in r.stdout and "Policies" in r.stdout


def test_scenario_show_json_with_variant() -> None:
    r = fabnet("scenario", "show", "toy", "--variant", "no-gpu", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["policies"]["max_vendor_share"] == {"gpuco": 0.1}


def test_validate_good_and_bad(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(builtin_text("toy").replace("die_area_mm2: 400", "die_area_mm2: -4"))
    r = fabnet("scenario", "validate", "toy", str(bad))
    assert r.returncode == 2
    assert "ok toy" in r.stdout
    assert "Traceback" not in r.stderr
    assert f"{bad}:" in r.stderr and "products.acc.die_area_mm2" in r.stderr


def test_error_exits_2_without_traceback_and_debug_shows_it() -> None:
    r = fabnet("scenario", "show", "no-such-scenario")
    assert r.returncode == 2
    assert "error:" in r.stderr and "Traceback" not in r.stderr
    r = fabnet("--debug", "scenario", "show", "no-such-scenario")
    assert r.returncode == 2
    assert "Traceback" in r.stderr


def test_schema_export(tmp_path: Path) -> None:
    r = fabnet("scenario", "schema")
    assert r.returncode == 0
    schema = json.loads(r.stdout)
    assert schema["title"] == "fabnet scenario"
    assert "Site" in schema["$defs"]


def test_usage_error_exit_code() -> None:
    r = fabnet("scenario", "show")
    assert r.returncode == 2
    assert "Missing argument" in r.stderr
