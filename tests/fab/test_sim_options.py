"""SimOptions checks its own fields when made: enums for the named choices, and an error
that names the field (SimOptionsError, a FabModelError the CLI prints without a traceback)."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import pytest

from fabnet.errors import FabModelError, SimOptionsError
from fabnet.fab.simulate import DISPATCHERS, Dispatcher, RuleReading, SimOptions


def test_strings_are_read_into_enums() -> None:
    o = SimOptions(days=5, dispatcher="CR", rule_reading="fwlrank")
    assert o.dispatcher is Dispatcher.CR and o.dispatcher == "cr"
    assert o.rule_reading is RuleReading.FWLRANK
    assert SimOptions(days=1.0).dispatcher is None
    assert SimOptions(days=1.0).rule_reading is RuleReading.RULE
    assert set(DISPATCHERS) == set(Dispatcher)
    assert pickle.loads(pickle.dumps(o)) == o  # travels to worker processes


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"days": 0.0}, "days", "must be a number in"),
        ({"days": float("nan")}, "days", "finite number"),
        ({"days": 2.0, "warmup_days": 2.0}, "warmup_days", "warm-up"),
        ({"days": 1.0, "dispatcher": "magic"}, "dispatcher", "use fifo, cr, edd, spt"),
        ({"days": 1.0, "rule_reading": "chain"}, "rule_reading", "use rule, fwlrank"),
        ({"days": 1.0, "release_scale": 0.0}, "release_scale", "positive"),
        ({"days": 1.0, "release_scale": float("inf")}, "release_scale", "finite"),
        ({"days": 1.0, "pure_rule": 1}, "pure_rule", "True or False"),
        ({"days": 1.0, "wip_sample_min": -5.0}, "wip_sample_min", "positive"),
        ({"days": 1.0, "user_rule": 3}, "user_rule", "function"),
    ],
)
def test_a_bad_field_is_named(kwargs: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(SimOptionsError) as exc:
        SimOptions(**kwargs)  # type: ignore[arg-type]
    assert isinstance(exc.value, FabModelError)
    (problem,) = exc.value.problems
    assert problem.field == field
    assert words in exc.value.format()


def test_replace_checks_again() -> None:
    with pytest.raises(SimOptionsError, match="dispatcher"):
        dataclasses.replace(SimOptions(days=1.0), dispatcher="nope")


def test_dispatch_rules_are_typed_in_the_model(tmp_path: Path) -> None:
    from tests.fab.test_loader import write_tiny

    from fabnet.fab import load_smt2020
    from fabnet.fab.model import FamilyRule, RankKey, WakeRule

    model = load_smt2020(write_tiny(tmp_path / "tiny"))
    assert model.families
    for f in model.families:
        assert isinstance(f.rule, FamilyRule)
        assert isinstance(f.wake_rule, WakeRule)
        assert f.ranks and all(isinstance(k, RankKey) for k in f.ranks)
        assert f.final_key in (RankKey.CR, RankKey.EDD, RankKey.SPT, RankKey.FIFO)


def test_reader_and_writer_share_one_table_of_files() -> None:
    from fabnet.fab import files, generate

    assert generate.HEADERS is files.HEADERS and generate.ROUTE_HEADER is files.ROUTE_HEADER
    for name, cols in files.REQUIRED.items():
        assert set(cols) <= set(files.HEADERS[name]), name  # the writer writes what we need
    assert set(files.ROUTE_REQUIRED) <= set(files.ROUTE_HEADER)
    assert set(files.REQUIRED) == set(files.HEADERS)
    assert files.required_columns("tool.txt") == files.REQUIRED["tool.txt.1l"]
    assert files.required_columns("route_7.txt") == files.ROUTE_REQUIRED
