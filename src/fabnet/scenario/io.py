"""Reading, overriding, validating and writing scenario files.

Validation collects every problem (YAML syntax, unknown keys, wrong types,
out-of-range values, unknown or duplicate ids, years outside the horizon, ...)
and raises them together in one :class:`~fabnet.errors.ScenarioError`, each
with the file, line, column, field path and what to do.
"""

from __future__ import annotations

import io
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML

from fabnet.errors import Problem, ScenarioError
from fabnet.scenario.curves import resolve_curve_files
from fabnet.scenario.schema import CROSS_CHECKED, Scenario
from fabnet.scenario.validate import Issue, Loc, cross_check, did_you_mean, path_text
from fabnet.scenario.yamlread import Pos, load_yaml, read_text

_BUILTIN_PACKAGE = "fabnet.scenario.builtin"


@dataclass
class Source:
    """Parsed YAML with what is needed to point at a line: the file name and the tree."""

    name: str
    data: dict[str, Any]
    tree: Any = None
    #: Paths changed by overrides, with where each change was written (for errors under them).
    overridden: dict[Loc, Origin] = field(default_factory=dict)


@dataclass(frozen=True)
class Origin:
    """Where an override was written: a variant's ``set`` entry (file and line) or ``--set``."""

    label: str
    """``variant NAME`` or ``--set``."""
    path: str
    """The override path as written."""
    file: str | None = None
    line: int | None = None
    column: int | None = None

    def problem(self, message: str, hint: str = "", field: str | None = None) -> Problem:
        """A problem located at the override (the variant's line, or ``--set PATH``)."""
        if self.file is None:
            return Problem(
                message,
                hint,
                file=f"{self.label} {self.path}",
                field=None if field == self.path else field,
            )
        return Problem(
            f"{self.label}: {message}",
            hint,
            file=self.file,
            line=self.line,
            column=self.column,
            field=field,
        )


# Built-in scenarios --------------------------------------------------------------


def builtin_names() -> list[str]:
    """Names of the scenarios that ship with fabnet."""
    root = resources.files(_BUILTIN_PACKAGE)
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def builtin_text(name: str) -> str:
    """The YAML text of a built-in scenario."""
    return resources.files(_BUILTIN_PACKAGE).joinpath(f"{name}.yaml").read_text("utf-8")


def resolve(ref: str | Path) -> tuple[str, str]:
    """``(label, yaml_text)`` for a built-in scenario name or a file path.

    A file must be a regular file of at most 16 MiB in UTF-8 (or UTF-16/32 with a byte-order
    mark); see :func:`fabnet.scenario.yamlread.read_text`.
    """
    path = Path(ref)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        return str(ref), read_text(path, str(ref))
    names = builtin_names()
    if str(ref) in names:
        return f"<builtin>/{ref}.yaml", builtin_text(str(ref))
    raise ScenarioError(
        Problem(
            f"no scenario file or built-in scenario named '{ref}'",
            did_you_mean(str(ref), names) + " (a file path must exist and end in .yaml)",
        )
    )


# YAML ----------------------------------------------------------------------------


def parse_yaml(text: str, name: str) -> Source:
    """Parse scenario YAML (limits, aliases and scalars: :mod:`fabnet.scenario.yamlread`); a
    syntax error becomes a :class:`ScenarioError` with its line."""
    parsed = load_yaml(text, name)
    if not isinstance(parsed.data, dict):
        raise ScenarioError(
            Problem("the file must be a YAML mapping (key: value) at the top level", file=name),
            title="invalid scenario",
        )
    return Source(name=name, data=parsed.data, tree=parsed.positions)


def _position(tree: Any, loc: Loc) -> tuple[int | None, int | None]:
    """1-based (line, column) of the deepest part of ``loc`` present in the position tree."""
    line: int | None = None
    col: int | None = None
    node = tree
    for part in loc:
        pos: Pos | None = None
        if isinstance(node, dict):
            if part in node:
                pos = node[part]
            elif isinstance(part, str) and part.isdigit() and int(part) in node:
                pos = node[int(part)]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            pos = node[part]
        if pos is None:
            break
        line, col = pos.line, pos.column
        node = pos.child
    return line, col


def _clean_loc(data: Any, loc: Sequence[str | int]) -> Loc:
    """Drop pydantic's union-member tags from an error location."""
    out: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        if isinstance(node, Mapping):
            key: Any = part
            if key not in node and isinstance(part, str) and part.isdigit():
                key = int(part)
            if key in node:
                out.append(key)
                node = node[key]
                continue
            if i == len(loc) - 1:
                out.append(part)
            continue
        if isinstance(node, list) and isinstance(part, int):
            out.append(part)
            node = node[part] if 0 <= part < len(node) else None
            continue
        if i == len(loc) - 1 and node is None:
            out.append(part)
    return tuple(out)


# Field descriptions for hints -------------------------------------------------------


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The pydantic model class that holds the last key of ``loc``."""
    current: Any = model
    for part in loc[:-1]:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            if not isinstance(part, str) or part not in current.model_fields:
                return None
            current = current.model_fields[part].annotation
        else:
            current = _element_type(current)
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return current
    return None


def _unwrap(tp: Any) -> Any:
    """Strip Optional / Annotated and step into list/dict element types."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            tp = models[0] if models else args[0]
        else:
            return tp


def _element_type(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (list, tuple) and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    return tp


def _issue_from_pydantic(err: Mapping[str, Any], data: Any) -> Issue:
    loc = _clean_loc(data, err["loc"])
    kind = err["type"]
    msg = str(err["msg"])
    if kind == "extra_forbidden":
        model = _model_at(Scenario, loc)
        allowed = set(model.model_fields) if model else set()
        key = str(loc[-1]) if loc else "?"
        return Issue(loc, f"unknown key '{key}'", did_you_mean(key, allowed) if allowed else "")
    if kind == "missing":
        model = _model_at(Scenario, loc)
        name = str(loc[-1])
        desc = ""
        if model and name in model.model_fields:
            desc = model.model_fields[name].description or ""
        hint = f"add '{name}'" + (f": {desc.splitlines()[0]}" if desc else "")
        return Issue(loc, f"missing required field '{name}'", hint)
    if kind == "value_error":
        text, _, hint = msg.removeprefix("Value error, ").partition(" — ")
        return Issue(loc, text, hint)
    value = err.get("input")
    shown = repr(value) if not isinstance(value, Mapping | list) else type(value).__name__
    hints = {
        "greater_than_equal": "use a value at or above the lower bound",
        "greater_than": "use a value above the lower bound",
        "less_than_equal": "use a value at or below the upper bound",
        "less_than": "use a value below the upper bound",
        "string_pattern_mismatch": "ids use letters, digits, '_' and '-'; countries are ISO codes like KR",
        "enum": "use one of the values listed",
        "literal_error": "use one of the values listed",
        "finite_number": "write a finite number (.nan and .inf are not values fabnet can use)",
    }
    hint = hints.get(kind, "")
    if kind.endswith(("_type", "_parsing")):
        hint = "check the value's type"
    ctx = err.get("ctx") or {}
    if kind == "less_than_equal" and ctx.get("le") == 1:
        pct = f"{value:g} % is {value / 100:g}" if isinstance(value, int | float) else ""
        hint = "shares and yields are fractions in [0, 1]" + (f": {pct}" if pct else "")
    return Issue(loc, f"{msg} (got {shown})", hint)


def _schema_issues(errors: Sequence[Mapping[str, Any]], data: Any) -> list[Issue]:
    """Issues of pydantic's errors, one per field: when a value fails every member of a union
    (a share cap is a number or a ``{year: share}`` series), the type mismatches are dropped
    if another member says what is wrong with the value (``30`` is above 1)."""
    issues = [_issue_from_pydantic(e, data) for e in errors]
    kinds: dict[Loc, list[str]] = {}
    for e, issue in zip(errors, issues, strict=True):
        kinds.setdefault(issue.loc, []).append(str(e["type"]))
    out: list[Issue] = []
    for e, issue in zip(errors, issues, strict=True):
        here = kinds[issue.loc]
        is_type = str(e["type"]).endswith("_type")
        if is_type and len(here) > 1 and not all(k.endswith("_type") for k in here):
            continue
        if issue not in out:
            out.append(issue)
    return out


def _problems(issues: Iterable[Issue], src: Source) -> list[Problem]:
    out: list[Problem] = []
    for issue in issues:
        origin = next(
            (o for path, o in src.overridden.items() if issue.loc[: len(path)] == path), None
        )
        field_text = path_text(src.data, issue.loc) or None
        if origin is not None:
            out.append(origin.problem(issue.message, issue.hint, field_text))
            continue
        line, col = _position(src.tree, issue.loc)
        out.append(
            Problem(
                issue.message,
                issue.hint,
                file=src.name,
                line=line,
                column=col,
                field=field_text,
            )
        )
    return out


# Overrides ---------------------------------------------------------------------------


def parse_assignment(text: str) -> tuple[str, Any]:
    """``"a.b.c=value"`` → ``("a.b.c", parsed YAML value)``."""
    if "=" not in text:
        raise ScenarioError(
            Problem(
                f"override '{text}' has no '='",
                "write PATH=VALUE, e.g. policies.max_vendor_share.nvidia=0.3",
                file="--set",
            )
        )
    path, _, value = text.partition("=")
    try:
        parsed = load_yaml(value, "--set").data if value.strip() else ""
    except ScenarioError:
        parsed = value
    return path.strip(), parsed


def _copy_child(node: Any, key: Any, copied: set[int]) -> Any:
    """``node[key]``, replaced by a shallow copy the first time a path walks through it (the
    parsed data is never changed, and only the containers on override paths are copied)."""
    child = node[key]
    if isinstance(child, dict | list) and id(child) not in copied:
        child = dict(child) if isinstance(child, dict) else list(child)
        node[key] = child
        copied.add(id(child))
    return child


def apply_overrides(
    src: Source,
    assignments: Mapping[str, Any],
    label: str,
    origins: Mapping[str, Origin] | None = None,
) -> Source:
    """A copy of ``src`` with each ``path: value`` applied.

    A path walks mappings by key and lists by item id (or index), e.g.
    ``sites.tsmc-f18.capacity_wspm.2027`` or ``policies.max_vendor_share.nvidia``.
    Missing mapping keys are created (the schema then rejects unknown ones). ``origins``
    says where each path was written (a variant's line); else problems name ``label PATH``.
    Only the containers along the paths are copied (linear in the paths, not the file).
    """
    data = dict(src.data)
    copied = {id(data)}
    overridden = dict(src.overridden)
    problems: list[Problem] = []
    label = label.rstrip(":")
    for path, value in assignments.items():
        parts = [p for p in str(path).split(".") if p]
        origin = (origins or {}).get(str(path)) or Origin(label, str(path))
        if not parts:
            problems.append(origin.problem("empty override path", "write PATH=VALUE"))
            continue
        node: Any = data
        loc: list[str | int] = []
        ok = True
        for k, part in enumerate(parts):
            last = k == len(parts) - 1
            if isinstance(node, list):
                idx = next(
                    (
                        i
                        for i, item in enumerate(node)
                        if isinstance(item, Mapping) and item.get("id") == part
                    ),
                    None,
                )
                if idx is None and part.isdigit() and int(part) < len(node):
                    idx = int(part)
                if idx is None:
                    ids = [str(i.get("id")) for i in node if isinstance(i, Mapping)]
                    problems.append(
                        origin.problem(
                            f"no item with id '{part}' under '{'.'.join(map(str, loc))}'",
                            did_you_mean(part, ids),
                        )
                    )
                    ok = False
                    break
                loc.append(idx)
                if last:
                    node[idx] = value
                else:
                    node = _copy_child(node, idx, copied)
            elif isinstance(node, dict):
                key: Any = part
                if part.isdigit() and (int(part) in node or all(isinstance(x, int) for x in node)):
                    key = int(part)
                loc.append(key)
                if last:
                    node[key] = value
                else:
                    if key not in node or node[key] is None:
                        node[key] = {}
                        copied.add(id(node[key]))
                    node = _copy_child(node, key, copied)
            else:
                problems.append(
                    origin.problem(
                        f"'{'.'.join(map(str, loc))}' is a value, not a section; cannot set '{part}'",
                        "shorten the path",
                    )
                )
                ok = False
                break
        if ok:
            overridden[tuple(loc)] = origin
    if problems:
        title = f"invalid {label}" if label.startswith("variant") else "invalid override"
        raise ScenarioError(problems, title=title)
    return Source(name=src.name, data=data, tree=src.tree, overridden=overridden)


def apply_variant(src: Source, variant: str) -> Source:
    """``src`` with the ``set`` entries of one of its variants applied; a problem with an
    entry names the variant and the entry's line in the file."""
    assignments = _variant_assignments(src, variant)
    origins: dict[str, Origin] = {}
    sets = _child(_child(_child(src.tree, "variants"), variant), "set")
    for path in assignments:
        pos = sets.get(path) if isinstance(sets, dict) else None
        origins[str(path)] = Origin(
            f"variant {variant}",
            str(path),
            file=src.name,
            line=pos.line if pos else None,
            column=pos.column if pos else None,
        )
    return apply_overrides(src, assignments, f"variant {variant}", origins)


def _child(tree: Any, key: Any) -> Any:
    """The position tree under ``key`` of a mapping's position tree (None when absent)."""
    pos = tree.get(key) if isinstance(tree, dict) else None
    return pos.child if pos is not None else None


# Validation ----------------------------------------------------------------------------


#: Most problems one validation lists (a generated file with one mistake repeated 10,000
#: times gives a readable message, and the did-you-mean hints stay cheap).
MAX_PROBLEMS = 100


def validate_source(src: Source) -> Scenario:
    """Validate parsed data: every schema and cross-reference problem (up to
    :data:`MAX_PROBLEMS`), raised together."""
    issues: list[Issue] = []
    scenario: Scenario | None = None
    more = False
    data, curve_problems = resolve_curve_files(src.data, src.name)  # operating_curve.file
    if curve_problems:
        raise ScenarioError(curve_problems, title=f"invalid scenario {src.name}")
    src = Source(src.name, data, src.tree, src.overridden)
    try:
        # the cross-reference checks run below on the raw data, with file lines
        scenario = Scenario.model_validate(src.data, context={CROSS_CHECKED: True})
    except ValidationError as exc:
        errors = exc.errors()
        more = len(errors) > MAX_PROBLEMS
        issues.extend(_schema_issues(errors, src.data)[:MAX_PROBLEMS])
    room = MAX_PROBLEMS - len(issues)
    cross = cross_check(src.data, limit=room + 1)
    more = more or len(cross) > room
    issues.extend(cross[:room])
    if issues:
        problems = sorted(_problems(issues, src), key=lambda p: (p.file or "", p.line or 0))
        if more:
            problems.append(
                Problem(
                    f"… and more problems: only the first {MAX_PROBLEMS} are listed",
                    "fix these and validate again",
                    file=src.name,
                )
            )
        raise ScenarioError(problems, title=f"invalid scenario {src.name}")
    assert scenario is not None
    return scenario


def _variant_assignments(src: Source, variant: str) -> dict[str, Any]:
    variants = src.data.get("variants")
    names = list(variants) if isinstance(variants, Mapping) else []
    if variant not in names:
        raise ScenarioError(
            Problem(
                f"scenario has no variant '{variant}'",
                did_you_mean(variant, names),
                file=src.name,
                field="variants",
            )
        )
    entry = variants[variant] if isinstance(variants, Mapping) else {}
    sets = entry.get("set") if isinstance(entry, Mapping) else None
    return dict(sets) if isinstance(sets, Mapping) else {}


def variant_names(ref: str | Path) -> list[str]:
    """Names of the variants a scenario defines."""
    label, text = resolve(ref)
    variants = parse_yaml(text, label).data.get("variants")
    return list(variants) if isinstance(variants, Mapping) else []


def load_scenario(
    ref: str | Path,
    variant: str | None = None,
    overrides: Sequence[str] | Mapping[str, Any] | None = None,
) -> Scenario:
    """Load a built-in scenario or YAML file, apply a variant and ``--set`` overrides, validate.

    The base scenario is validated first so that its problems point at its own lines.
    """
    label, text = resolve(ref)
    return _load_source(parse_yaml(text, label), variant, overrides)


def _load_source(
    src: Source,
    variant: str | None,
    overrides: Sequence[str] | Mapping[str, Any] | None,
) -> Scenario:
    """Apply a variant and ``--set`` overrides to parsed YAML, then validate."""
    if variant is None and not overrides:
        return validate_source(src)
    if variant is not None:
        src = apply_variant(src, variant)
    if overrides:
        pairs = (
            dict(overrides)
            if isinstance(overrides, Mapping)
            else dict(parse_assignment(o) for o in overrides)
        )
        src = apply_overrides(src, pairs, "--set")
    return validate_source(src)


def validate_file(ref: str | Path) -> Scenario:
    """Validate a scenario and every one of its variants; all problems raised together."""
    label, text = resolve(ref)
    return validate_text(text, label)


def validate_text(text: str, label: str) -> Scenario:
    """Validate scenario YAML held in memory (``label`` names it in messages) and each of its
    variants; all problems raised together."""
    src = parse_yaml(text, label)
    problems: list[Problem] = []
    scenario: Scenario | None = None
    try:
        scenario = validate_source(src)
    except ScenarioError as exc:
        problems.extend(exc.problems)
    variants = src.data.get("variants")
    if isinstance(variants, Mapping):
        for name in variants:
            try:
                validate_source(apply_variant(src, str(name)))
            except ScenarioError as exc:
                problems.extend(p for p in exc.problems if p not in problems)
    if problems:
        raise ScenarioError(problems, title=f"invalid scenario {label}")
    assert scenario is not None
    return scenario


# Writing ---------------------------------------------------------------------------------


def _yaml_ready(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {_yaml_ready(k): _yaml_ready(v) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_yaml_ready(v) for v in node]
    if isinstance(node, str):
        return str(node)
    return node


def dump_scenario(scenario: Scenario) -> str:
    """The scenario as YAML text that loads back to an equal scenario."""
    data = _yaml_ready(scenario.model_dump(mode="python", exclude_defaults=True))
    y = YAML(typ="safe", pure=True)
    y.default_flow_style = False
    y.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    buf = io.StringIO()
    y.dump(data, buf)
    return buf.getvalue()


def scenario_from_text(
    text: str,
    name: str = "<text>",
    variant: str | None = None,
    overrides: Sequence[str] | Mapping[str, Any] | None = None,
) -> Scenario:
    """Scenario YAML given as text, with a variant and ``--set`` overrides as
    :func:`load_scenario` applies them, validated."""
    return _load_source(parse_yaml(text, name), variant, overrides)
