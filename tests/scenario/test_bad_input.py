"""Bad scenario input (issue 11 §1): limits, encodings, wrong values and misleading messages.

Each case runs the real CLI (`fabnet scenario validate` or `fabnet plan`) or the real loader
and checks exit status 2, no traceback, and a message naming the file, line or field and what
to do.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from fabnet.errors import ScenarioError
from fabnet.scenario import load_scenario, validate_file
from fabnet.scenario.io import builtin_text, parse_yaml
from fabnet.scenario.yamlread import MAX_ALIAS_NODES, MAX_DEPTH, MAX_FILE_BYTES
from tests.cli_runner import run_cli

TOY = builtin_text("toy")


def _write(tmp_path: Path, text: str | bytes, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, "utf-8")
    return path


def _validate(path: Path | str, capsys: pytest.CaptureFixture[str]) -> str:
    """`fabnet scenario validate PATH`: exit 2, no traceback; the error text."""
    code, _out, err = run_cli(["scenario", "validate", str(path)], capsys)
    assert code == 2, err
    assert "Traceback" not in err
    return " ".join(err.split())


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def _sub(old: str, new: str, text: str = TOY) -> str:
    assert old in text, f"test set-up: {old!r} not in toy.yaml"
    return text.replace(old, new, 1)


# Limits ------------------------------------------------------------------------------------


def test_alias_bomb_is_refused_without_expanding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 'billion laughs' file: nine levels of nine aliases each (9^9 nodes expanded)."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for k in range(1, 10):
        refs = ", ".join([f"*a{k - 1}"] * 9)
        lines.append(f"a{k}: &a{k} [{refs}]")
    text = TOY + "\n".join(lines) + "\n"
    msg = _validate(_write(tmp_path, text), capsys)
    assert f"more than {MAX_ALIAS_NODES:,} nodes" in msg
    assert "alias" in msg and "s.yaml:" in msg
    # the first alias over the bound is named by its line
    bomb_lines = {TOY.count("\n") + 1 + k for k in range(1, 10)}
    assert any(f"s.yaml:{n}:" in msg for n in bomb_lines)


def test_aliases_within_the_bound_load_as_their_values() -> None:
    text = _sub(
        "    capacity_wspm: {2025: 100}\n", "    capacity_wspm: &cap {2025: 100, 2026: 120}\n"
    )
    text = _sub("    capacity_wspm: {2025: 1000}\n", "    capacity_wspm: *cap\n", text)
    src = parse_yaml(text, "toy-aliases")
    sites = {s["id"]: s for s in src.data["sites"]}
    assert sites["mem-a"]["capacity_wspm"] == {2025: 100, 2026: 120}
    assert sites["fab-a"]["capacity_wspm"] == {2025: 100, 2026: 120}


def test_merge_keys_work_as_in_yaml() -> None:
    text = "x_defaults: &d {owner: fabco, country: TW}\n" + TOY
    src = parse_yaml(
        text.replace(
            "  - id: fab-a\n    owner: fabco\n    country: TW\n",
            "  - id: fab-a\n    <<: *d\n    country: KR\n",
        ),
        "merge",
    )
    fab_a = src.data["sites"][0]
    assert fab_a["owner"] == "fabco"  # from the merged mapping
    assert fab_a["country"] == "KR"  # an explicit key wins


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100_000])
def test_deep_nesting_is_refused(
    depth: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = TOY + "description2: " + "[" * depth + "]" * depth + "\n"
    msg = _validate(_write(tmp_path, text), capsys)
    # ours at 64 levels; libyaml stops at 1,000 with its own syntax error
    assert f"nests deeper than {MAX_DEPTH} levels" in msg or "maximum nesting depth" in msg
    assert f"s.yaml:{TOY.count(chr(10)) + 1}:" in msg


def test_file_above_the_size_limit_is_refused_before_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as fh:  # sparse: no 16 MiB written
        fh.truncate(MAX_FILE_BYTES + 1)
    msg = _validate(path, capsys)
    assert "huge.yaml" in msg
    assert f"limit of {MAX_FILE_BYTES // 2**20} MiB" in msg


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_device_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    msg = _validate("/dev/zero", capsys)
    assert "/dev/zero" in msg and "a device, not a regular file" in msg


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_refused_without_blocking(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    msg = _validate(fifo, capsys)  # opening a FIFO with no writer would block forever
    assert "pipe.yaml" in msg and "FIFO" in msg


def test_a_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "scen.yaml"
    folder.mkdir()
    msg = _validate(folder, capsys)
    assert "scen.yaml" in msg and "folder" in msg


# Encodings ---------------------------------------------------------------------------------


def test_latin1_is_refused_with_byte_offset_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _sub("name: Acme AI", "name: Acmé AI")
    data = text.encode("latin-1")
    offset = data.index("é".encode("latin-1"))
    msg = _validate(_write(tmp_path, data), capsys)
    assert f"byte offset {offset} (0xe9) is not UTF-8" in msg
    assert f"s.yaml:{_line_of(text, 'Acmé')}:" in msg
    assert "save the file as UTF-8" in msg


def test_utf16_with_bom_is_read(tmp_path: Path) -> None:
    text = _sub("name: Acme AI", "name: Acmé AI")
    path = _write(tmp_path, text.encode("utf-16"))  # Python writes a BOM
    scen = validate_file(path)
    assert scen.company("acme").name == "Acmé AI"


def test_utf8_bom_is_dropped(tmp_path: Path) -> None:
    path = _write(tmp_path, b"\xef\xbb\xbf" + TOY.encode("utf-8"))
    assert validate_file(path).name == "toy"


def test_utf16_without_bom_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    msg = _validate(_write(tmp_path, TOY.encode("utf-16-le")), capsys)
    assert "byte offset 1" in msg and "UTF-16 text without a byte-order mark" in msg


def test_binary_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = b"PK\x03\x04" + bytes(range(256)) * 4
    msg = _validate(_write(tmp_path, data, "archive.yaml"), capsys)
    assert "archive.yaml" in msg
    assert "byte offset 4" in msg and "binary file" in msg


# Values ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "field", "fragment"),
    [
        ("pue: 1.0", "pue: true", "pue", "true is a boolean, not a number"),
        ("hbm_stacks: 4", "hbm_stacks: true", "products.acc.hbm_stacks", "is a boolean"),
        ("die_area_mm2: 400", "die_area_mm2: .nan", "products.acc.die_area_mm2", "finite"),
        (
            "price_usd: {2025: 30000}",
            "price_usd: {2025: .inf}",
            "offers.gpu.price_usd.2025",
            "finite",
        ),
        ("discount_rate: 0.0", "discount_rate: false", "discount_rate", "is a boolean"),
        ("d0_per_cm2: {2025: 0.1}", "d0_per_cm2: {2025: .inf}", "d0_per_cm2.2025", "finite"),
        (
            "{2025: 1000, 2026: 2000",
            "{2025: 1000, 2026: -.inf",
            "installed_pflops.2026",
            "finite",
        ),
    ],
)
def test_booleans_and_non_finite_numbers_are_refused(
    old: str,
    new: str,
    field: str,
    fragment: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = _sub(old, new)
    msg = _validate(_write(tmp_path, text), capsys)
    line = _line_of(text, new)
    assert fragment in msg and field in msg
    assert f"s.yaml:{line}:" in msg


def test_yaml_12_scalars() -> None:
    """Scalars resolve as YAML 1.2 (as before): ``NO`` is Norway, ``1e9`` a float, ``1_000``
    an int."""
    text = _sub("country: KR}", "country: NO}")
    text = _sub("capex_usd: 1.0e9", "capex_usd: 1e9", text)
    text = _sub("capacity_wspm: {2025: 500}", "capacity_wspm: {2025: 1_000}", text)
    scen = load_scenario_text(text)
    assert scen.company("memco").country == "NO"
    assert scen.site("fab-b").capex_usd == 1e9
    assert scen.site("fab-b").capacity_wspm == {2025: 1000.0}


def load_scenario_text(text: str) -> object:
    from fabnet.scenario import scenario_from_text

    return scenario_from_text(text, "t")


def test_nan_in_an_override_is_refused() -> None:
    with pytest.raises(ScenarioError) as exc:
        load_scenario("toy", overrides=["pue=.nan"])
    text = exc.value.format()
    assert "--set pue" in text and "finite" in text
    assert not math.isnan(load_scenario("toy", overrides=["pue=1.2"]).pue)


# Messages ------------------------------------------------------------------------------------


def test_bad_path_in_a_variant_names_the_variant_and_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _sub(
        "      policies.max_vendor_share.gpuco: 0.1\n",
        "      policies.max_vendor_share.gpuco: 0.1\n      sites.fab-z.status: existing\n",
    )
    path = _write(tmp_path, text)
    msg = _validate(path, capsys)
    assert f"s.yaml:{_line_of(text, 'sites.fab-z.status')}:" in msg
    assert "variant no-gpu" in msg and "no item with id 'fab-z'" in msg
    assert "did you mean 'fab-" in msg
    code, _out, err = run_cli(["plan", str(path), "--variant", "no-gpu", "--no-store"], capsys)
    assert code == 2 and "Traceback" not in err
    assert f"s.yaml:{_line_of(text, 'sites.fab-z.status')}" in " ".join(err.split())


def test_bad_value_set_by_a_variant_names_the_variant_line() -> None:
    text = _sub("policies.max_vendor_share.gpuco: 0.1", "policies.max_vendor_share.gpuco: 2")
    path_line = _line_of(text, "policies.max_vendor_share.gpuco: 2")
    src = parse_yaml(text, "v.yaml")
    from fabnet.scenario.io import apply_variant, validate_source

    with pytest.raises(ScenarioError) as exc:
        validate_source(apply_variant(src, "no-gpu"))
    (problem,) = exc.value.problems
    assert problem.file == "v.yaml" and problem.line == path_line
    assert problem.message.startswith("variant no-gpu:")


def test_scalar_where_a_series_is_expected_gives_one_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _sub("capacity_wspm: {2025: 100}", "capacity_wspm: 3")
    msg = _validate(_write(tmp_path, text), capsys)
    assert "sites.fab-a.capacity_wspm" in msg and "valid dictionary (got 3)" in msg
    assert "horizon" not in msg
    with pytest.raises(ScenarioError) as exc:
        load_scenario("toy", overrides=["sites.fab-a.capacity_wspm=3"])
    assert len(exc.value.problems) == 1
    assert "horizon" not in exc.value.format()


def test_share_given_as_a_percentage_hints_at_fractions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = TOY + "policies:\n  max_vendor_share: {gpuco: 30}\n"
    with pytest.raises(ScenarioError) as exc:
        load_scenario(_write(tmp_path, text))
    (problem,) = exc.value.problems  # one message, not one per member of the union
    assert problem.field == "policies.max_vendor_share.gpuco"
    assert problem.line == _line_of(text, "{gpuco: 30}")
    assert "fractions in [0, 1]" in problem.hint and "30 % is 0.3" in problem.hint
    msg = _validate(tmp_path / "s.yaml", capsys)
    assert "fractions in [0, 1]" in msg


def test_duplicate_key_names_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = _sub("pue: 1.0", "pue: 1.0\npue: 1.2")
    msg = _validate(_write(tmp_path, text), capsys)
    assert f"s.yaml:{_line_of(text, 'pue: 1.2')}:" in msg
    assert "duplicate key 'pue'" in msg and f"line {_line_of(text, 'pue: 1.0')}" in msg


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ("x: *nowhere\n", "alias *nowhere refers to no anchor"),
        ("---\nname: other\n", "more than one YAML document"),
        ("x: !python/object foo\n", "unsupported YAML tag"),
        ("? [a, b]\n: 1\n", "mapping key must be a single value"),
    ],
)
def test_other_yaml_mistakes(
    extra: str, fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = TOY + extra
    msg = _validate(_write(tmp_path, text), capsys)
    assert fragment in msg
    assert f"s.yaml:{TOY.count(chr(10)) + 1}" in msg or f"s.yaml:{TOY.count(chr(10)) + 2}" in msg


def test_many_repeated_mistakes_are_listed_once_up_to_a_bound(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sites = "".join(
        f"  - {{id: s{i}, owner: fabco, country: TW, processes: [nx3], "
        f"capacity_wspm: {{2025: 1}}}}\n"
        for i in range(500)
    )
    text = _sub("sites:\n", "sites:\n" + sites)
    msg = _validate(_write(tmp_path, text), capsys)
    assert "unknown process 'nx3'" in msg and "did you mean 'n3'" in msg
    assert "only the first 100 are listed" in msg
    assert msg.count("unknown process 'nx3'") == 100


def test_operating_curve_file_in_another_encoding_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A curve CSV named by a scenario is read under the same rules as the scenario."""
    data = "load,throughput_frac,flow_factor\n0.5,0.5,1.0\n0.9,0.9,2.0 # mesuré\n"
    (tmp_path / "curve.csv").write_bytes(data.encode("latin-1"))
    text = _sub(
        "    cycle_time_days: 0\n",
        "    cycle_time_days: 0\n    operating_curve: {file: curve.csv}\n",
    )
    msg = _validate(_write(tmp_path, text), capsys)
    assert "curve.csv:3:" in msg and "cannot read operating curve file" in msg
    assert "is not UTF-8" in msg


def test_the_pure_python_parser_reads_the_same_data_and_lines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without libyaml, PyYAML's own parser gives the same events: same data, same lines."""
    import yaml

    from fabnet.scenario import yamlread

    text = builtin_text("openai-2024")
    fast = yamlread.load_yaml(text, "o")
    monkeypatch.setattr(yamlread, "LOADER", yaml.SafeLoader)
    slow = yamlread.load_yaml(text, "o")
    assert slow.data == fast.data
    assert slow.positions == fast.positions


@pytest.mark.parametrize("name", ["toy", "openai-2024"])
def test_data_equals_what_ruamel_reads(name: str) -> None:
    """The built-in scenarios read exactly as ruamel's YAML 1.2 loader reads them (the loader
    used before): same keys, values and types."""
    from ruamel.yaml import YAML

    from fabnet.scenario.yamlread import load_yaml

    text = builtin_text(name)
    expected = YAML(typ="safe", pure=True).load(text)
    got = load_yaml(text, name).data

    def typed(node: object) -> object:
        if isinstance(node, dict):
            return {(type(k).__name__, k): typed(v) for k, v in node.items()}
        if isinstance(node, list):
            return [typed(v) for v in node]
        return (type(node).__name__, node)

    assert typed(got) == typed(expected)


def test_scalars_resolve_as_ruamel_resolves_them() -> None:
    from ruamel.yaml import YAML

    from fabnet.scenario.yamlread import load_yaml

    text = (
        "a: [yes, no, on, off, NO, true, False, null, ~, '', 1e9, 1_000, 0x1f, 0o17, 017, -.5,"
        " +3, 1.5e-3, .inf, -.Inf, 2024-01-01, '3', !!str 4, !!float 2, 0b101, 12:30]\n"
    )
    expected = YAML(typ="safe", pure=True).load(text)["a"]
    got = load_yaml(text, "s").data["a"]
    for g, e in zip(got, expected, strict=True):
        if isinstance(e, float) and math.isnan(e):
            continue
        if type(e).__name__ == "date":
            assert g == str(e)  # dates stay text
            continue
        assert (type(g), g) == (type(e), e)
