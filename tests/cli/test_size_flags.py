"""Sizes that would allocate without bound are refused before any work (issue 11 §1): the
number of stochastic scenarios, out-of-sample and risk samples, frontier points."""

from __future__ import annotations

import pytest

from tests.cli_runner import run_cli


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["plan", "openai-2024", "--stochastic", "100000", "--no-store"], "--stochastic"),
        (["plan", "openai-2024", "--stochastic", "0", "--no-store"], "--stochastic"),
        (
            ["plan", "openai-2024", "--stochastic", "5", "--oos-samples", "1000000000"],
            "--oos-samples",
        ),
        (["frontier", "openai-2024", "--points", "1", "--no-store"], "--points"),
        (["frontier", "openai-2024", "--points", "100000", "--no-store"], "--points"),
        (["frontier", "openai-2024", "--stochastic", "100000", "--no-store"], "--stochastic"),
        (["risk", "openai-2024", "--samples", "100000000", "--no-store"], "--samples"),
    ],
)
def test_sizes_beyond_the_limits_are_refused_by_name(
    args: list[str], flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(args, capsys)
    assert code == 2
    text = " ".join((out + err).split())
    assert flag in text and "Traceback" not in text
