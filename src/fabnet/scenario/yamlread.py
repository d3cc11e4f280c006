"""Reading scenario YAML safely and in linear time: bytes → text → plain data + positions.

Why not a YAML library's loader: ruamel's round-trip loader is pure Python (≈8.6 s of CPU
and ≈170 MiB per MB) and expands aliases without bound; PyYAML's loaders build node graphs
whose garbage collection grows faster than the file (2 s for 1 MB, 30 s for 5 MB). Here the events of libyaml's C parser (PyYAML,
``CParser``; its pure-Python parser when libyaml is missing) are turned into plain dicts,
lists and scalars in one pass with an explicit stack, which allows:

* a bound on alias expansion (a "billion laughs" file is refused at its first alias that
  goes over :data:`MAX_ALIAS_NODES`, nothing is expanded);
* a bound on nesting depth (:data:`MAX_DEPTH`; no RecursionError later in validation);
* duplicate keys and non-scalar keys refused with their line;
* the position of every key and item kept in a parallel tree (:class:`Pos`) for messages.

Scalars are resolved as YAML 1.2 core schema (what ruamel reads by default): ``true``/``false``
are booleans but ``yes``/``no``/``on``/``off``/``NO`` stay strings; ``1e9`` is a float;
``1_000`` is an int; ``.nan``/``.inf`` are floats (the schema then refuses them); dates stay
strings. Merge keys (``<<: *base``) work as in YAML 1.1.

Files are checked before they are read: a regular file (not a FIFO or a device such as
``/dev/zero``), at most :data:`MAX_FILE_BYTES`. Bytes are decoded as UTF-8 (a UTF-8 BOM is
dropped); UTF-16 and UTF-32 with a byte-order mark are read too; anything else (Latin-1, UTF-16
without a BOM, a binary file) is refused naming the byte offset and line.
"""

from __future__ import annotations

import codecs
import gc
import math
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from fabnet.errors import Problem, ScenarioError

#: Largest scenario file read, bytes (16 MiB: the built-in openai-2024 is 0.1 MB; a generated
#: scenario of 20,000 sites and offers is 10 MB).
MAX_FILE_BYTES = 16 * 2**20
#: Deepest nesting of mappings and lists (a scenario nests at most about 8 levels).
MAX_DEPTH = 64
#: Most nodes that alias references (``*name``) may add to the data in total.
MAX_ALIAS_NODES = 100_000

_TITLE = "invalid scenario"


class Pos(NamedTuple):
    """Where a key (or list item) and its value start in the text; 1-based lines and columns.

    ``child`` is the position tree of the value: a ``dict`` (key → Pos) for a mapping, a
    ``list`` of Pos for a sequence, ``None`` for a scalar.
    """

    line: int
    column: int
    value_line: int
    value_column: int
    child: dict[Any, Pos] | list[Pos] | None


@dataclass
class Parsed:
    """Plain data and its position tree (``dict`` / ``list`` of :class:`Pos`, or ``None``)."""

    data: Any
    positions: dict[Any, Pos] | list[Pos] | None


# Files and bytes ------------------------------------------------------------------------


def read_text(path: str | Path, name: str | None = None) -> str:
    """The text of a scenario file: a regular file of at most :data:`MAX_FILE_BYTES`,
    decoded (see :func:`decode`). Errors are :class:`ScenarioError` naming the file."""
    label = name or str(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ScenarioError(Problem("file not found", "check the path", file=label)) from None
    except OSError as exc:
        raise ScenarioError(Problem(f"cannot read: {exc.strerror}", file=label)) from None
    if stat.S_ISDIR(st.st_mode):
        raise ScenarioError(
            Problem("this is a folder, not a file", "give the path of a file", file=label)
        )
    if not stat.S_ISREG(st.st_mode):
        kind = (
            "a FIFO (named pipe)"
            if stat.S_ISFIFO(st.st_mode)
            else "a device"
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
            else "a socket"
            if stat.S_ISSOCK(st.st_mode)
            else "not a regular file"
        )
        raise ScenarioError(
            Problem(
                f"this is {kind}, not a regular file",
                "save the data to a file and give its path (fabnet does not read from pipes "
                "or devices)",
                file=label,
            )
        )
    if st.st_size > MAX_FILE_BYTES:
        raise ScenarioError(_too_large(st.st_size, label))
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(Problem(f"cannot read: {exc.strerror}", file=label)) from None
    if len(data) > MAX_FILE_BYTES:  # it grew while we looked
        raise ScenarioError(_too_large(len(data), label))
    return decode(data, label)


def _too_large(size: int, label: str) -> Problem:
    return Problem(
        f"the file is {size / 2**20:,.1f} MiB, above fabnet's limit of "
        f"{MAX_FILE_BYTES // 2**20} MiB for a scenario file",
        "check the path; a scenario this large should be split or generated with fewer "
        "entries (see docs/errors.md)",
        file=label,
    )


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)


def _line_at(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode(data: bytes, label: str) -> str:
    """Scenario bytes as text: UTF-8 (BOM dropped), or UTF-16/32 with a byte-order mark.

    A NUL byte without a BOM (UTF-16 without a BOM, a binary file) and bytes that are not
    UTF-8 (Latin-1, Windows-1252) are refused with the byte offset and line.
    """
    for bom, codec, what in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(codec)
            except UnicodeDecodeError as exc:
                at = exc.start + len(bom)
                raise ScenarioError(
                    Problem(
                        f"the file starts with a {what} byte-order mark but byte offset {at} "
                        f"is not valid {what}",
                        "save the file as UTF-8",
                        file=label,
                    ),
                    title=_TITLE,
                ) from None
    nul = data.find(b"\x00")
    if nul >= 0:
        utf16 = len(data) >= 2 and (data[0] == 0 or data[1] == 0)
        raise ScenarioError(
            Problem(
                f"byte offset {nul} (line {_line_at(data, nul)}) is a NUL byte: "
                + (
                    "this looks like UTF-16 text without a byte-order mark"
                    if utf16
                    else "this is a binary file, not YAML text"
                ),
                "save the scenario as UTF-8 text (UTF-16 is read only with a byte-order mark)",
                file=label,
                line=_line_at(data, nul),
            ),
            title=_TITLE,
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1].hex()
        line = _line_at(data, exc.start)
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ScenarioError(
            Problem(
                f"byte offset {exc.start} (0x{bad}) is not UTF-8: the file is in another "
                "encoding (Latin-1 or Windows-1252?) or is not text",
                "save the file as UTF-8 (most editors: 'Save with encoding')",
                file=label,
                line=line,
                column=col,
            ),
            title=_TITLE,
        ) from None


# Scalars (YAML 1.2 core schema, as ruamel resolves it) -------------------------------------

_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_INT = re.compile(
    r"""^(?:[-+]?0b[0-1_]+
    |[-+]?0o?[0-7_]+
    |[-+]?[0-9_]+
    |[-+]?0x[0-9a-fA-F_]+)$""",
    re.X,
)
_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})


class _Merge:
    """The ``<<`` merge key."""


MERGE = _Merge()


def _int(text: str) -> int | None:
    s = text.replace("_", "")
    sign = -1 if s.startswith("-") else 1
    s = s.lstrip("+-")
    try:
        if s.startswith("0b"):
            return sign * int(s[2:], 2)
        if s.startswith("0x"):
            return sign * int(s[2:], 16)
        if s.startswith("0o"):
            return sign * int(s[2:], 8)
        return sign * int(s, 10)
    except ValueError:
        return None


def _float(text: str) -> float | None:
    s = text.replace("_", "").lower()
    if s.endswith(".inf"):
        return -math.inf if s.startswith("-") else math.inf
    if s == ".nan":
        return math.nan
    try:
        return float(s)
    except ValueError:
        return None


def plain_scalar(text: str) -> Any:
    """A plain (unquoted) scalar resolved as YAML 1.2: None, bool, int, float or str."""
    if text in _NULL:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    first = text[0]
    if first in "-+0123456789.":
        if _INT.match(text):
            value = _int(text)
            if value is not None:
                return value
        if _FLOAT.match(text):
            f = _float(text)
            if f is not None:
                return f
    if text == "<<":
        return MERGE
    return text


_CORE = "tag:yaml.org,2002:"


def _tagged(text: str, tag: str, mark: Any, name: str) -> Any:
    kind = tag.removeprefix(_CORE) if tag.startswith(_CORE) else None
    value: Any = None
    if kind == "str":
        return text
    if kind == "int":
        value = _int(text) if _INT.match(text) else None
    elif kind == "float":
        value = _float(text) if _FLOAT.match(text) or _INT.match(text) else None
    elif kind == "bool":
        value = True if text in _TRUE else False if text in _FALSE else None
    elif kind == "null":
        return None
    else:
        raise _error(
            f"unsupported YAML tag {tag!r}",
            "remove the tag; scenario files use plain values",
            mark,
            name,
        )
    if value is None:
        raise _error(
            f"{text!r} is not a valid !!{kind}", "fix the value or drop the tag", mark, name
        )
    return value


# Events → data ----------------------------------------------------------------------------


def _error(message: str, hint: str, mark: Any, name: str) -> ScenarioError:
    return ScenarioError(
        Problem(
            message,
            hint,
            file=name,
            line=mark.line + 1 if mark is not None else None,
            column=mark.column + 1 if mark is not None else None,
        ),
        title=_TITLE,
    )


def _syntax_error(exc: yaml.MarkedYAMLError, name: str) -> ScenarioError:
    mark = exc.problem_mark or exc.context_mark
    problem = (exc.problem or exc.context or "invalid YAML").strip()
    return _error(
        f"YAML syntax error: {problem}",
        "fix the YAML syntax (indentation, ':' after keys, matching quotes)",
        mark,
        name,
    )


#: The parser: libyaml's (C) when PyYAML was built with it, else PyYAML's pure-Python one
#: (about ten times slower, same events).
LOADER: Any = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader


def _events(text: str) -> Iterator[Any]:
    loader = LOADER(text)
    try:
        while loader.check_event():
            yield loader.get_event()
    finally:
        loader.dispose()


class _Frame:
    """An open mapping or sequence while events are read."""

    __slots__ = (
        "anchor",
        "container",
        "is_map",
        "key",
        "key_mark",
        "mark",
        "merges",
        "pos",
        "size",
    )

    def __init__(self, is_map: bool, anchor: str | None, mark: Any) -> None:
        self.is_map = is_map
        self.container: Any = {} if is_map else []
        self.pos: Any = {} if is_map else []
        self.anchor = anchor
        self.mark = mark
        self.key: Any = _NO_KEY
        self.key_mark: Any = None
        self.merges: list[tuple[Any, Any, Any]] = []
        self.size = 1


_NO_KEY = object()


def load_yaml(text: str, name: str) -> Parsed:
    """Parse YAML text into plain data and positions; every problem is a ScenarioError.

    Refuses text longer than :data:`MAX_FILE_BYTES`, nesting deeper than :data:`MAX_DEPTH`,
    aliases that would add more than :data:`MAX_ALIAS_NODES` nodes, duplicate keys, keys that
    are not scalars, unknown aliases and tags, and more than one document.
    """
    if len(text) > MAX_FILE_BYTES:
        raise ScenarioError(_too_large(len(text.encode("utf-8", "replace")), name))
    # Many small objects and no cycles: the cyclic garbage collector's passes over a growing
    # heap cost about a third of the time of a 5 MB file here (and made PyYAML's own composer
    # superlinear: 2 s for 1 MB, 30 s for 5 MB), so it is paused while building.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _build(text, name)
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, name) from None
    except yaml.YAMLError as exc:  # pragma: no cover - every libyaml error carries a mark
        raise ScenarioError(Problem(f"YAML error: {exc}", file=name), title=_TITLE) from None
    finally:
        if was_enabled:
            gc.enable()


def _build(text: str, name: str) -> Parsed:
    scalar_ev, alias_ev = yaml.ScalarEvent, yaml.AliasEvent
    map_start, seq_start = yaml.MappingStartEvent, yaml.SequenceStartEvent
    map_end, seq_end = yaml.MappingEndEvent, yaml.SequenceEndEvent
    doc_start = yaml.DocumentStartEvent
    stack: list[_Frame] = []
    anchors: dict[str, tuple[Any, Any, int]] = {}
    cache: dict[str, Any] = {}
    root: Any = None
    root_pos: Any = None
    have_root = False
    documents = 0
    expanded = 0

    def attach(value: Any, child: Any, mark: Any, size: int) -> None:
        nonlocal root, root_pos, have_root
        if value is MERGE and (not stack or not stack[-1].is_map or stack[-1].key is not _NO_KEY):
            value = "<<"  # '<<' merges only as a key
        if not stack:
            root, root_pos, have_root = value, child, True
            return
        top = stack[-1]
        top.size += size
        if not top.is_map:
            top.container.append(value)
            line, col = mark.line + 1, mark.column + 1
            top.pos.append(Pos(line, col, line, col, child))
            return
        if top.key is _NO_KEY:
            if isinstance(value, dict | list):
                raise _error(
                    "a mapping key must be a single value, not a mapping or list",
                    "write the key as plain text (e.g. an id or a year)",
                    mark,
                    name,
                )
            if value is not MERGE and value in top.container:
                raise _error(
                    f"duplicate key {value!r} in this mapping",
                    f"give each key once (the first is at line {top.pos[value].line})",
                    mark,
                    name,
                )
            top.key, top.key_mark = value, mark
            return
        key, kmark = top.key, top.key_mark
        top.key = _NO_KEY
        if key is MERGE:
            top.merges.append((value, child, mark))
            return
        top.container[key] = value
        top.pos[key] = Pos(kmark.line + 1, kmark.column + 1, mark.line + 1, mark.column + 1, child)

    for ev in _events(text):
        kind = type(ev)
        if kind is scalar_ev:
            raw = ev.value
            tag = ev.tag
            if ev.implicit[0] and tag in (None, "!"):
                value = cache.get(raw, _NO_KEY)
                if value is _NO_KEY:
                    value = plain_scalar(raw)
                    cache[raw] = value
            elif tag in (None, "!"):
                value = raw
            else:
                value = _tagged(raw, tag, ev.start_mark, name)
            if ev.anchor is not None:
                anchors[ev.anchor] = (value, None, 1)
            attach(value, None, ev.start_mark, 1)
        elif kind is map_start or kind is seq_start:
            if len(stack) >= MAX_DEPTH:
                raise _error(
                    f"the YAML nests deeper than {MAX_DEPTH} levels",
                    "a scenario nests a few levels; check the indentation and brackets",
                    ev.start_mark,
                    name,
                )
            tag = ev.tag
            want = "map" if kind is map_start else "seq"
            if tag not in (None, "!", _CORE + want):
                raise _error(
                    f"unsupported YAML tag {tag!r}",
                    "remove the tag; scenario files use plain values",
                    ev.start_mark,
                    name,
                )
            stack.append(_Frame(kind is map_start, ev.anchor, ev.start_mark))
        elif kind is map_end or kind is seq_end:
            frame = stack.pop()
            if frame.merges:
                _merge(frame, name)
            if frame.anchor is not None:
                anchors[frame.anchor] = (frame.container, frame.pos, frame.size)
            attach(frame.container, frame.pos, frame.mark, frame.size)
        elif kind is alias_ev:
            found = anchors.get(ev.anchor)
            if found is None:
                raise _error(
                    f"alias *{ev.anchor} refers to no anchor &{ev.anchor} above it",
                    "define the anchor before its use, or write the value out",
                    ev.start_mark,
                    name,
                )
            value, child, size = found
            expanded += size
            if expanded > MAX_ALIAS_NODES:
                raise _error(
                    f"YAML aliases expand to more than {MAX_ALIAS_NODES:,} nodes (an 'alias "
                    "bomb'?); fabnet does not expand them",
                    "write the repeated parts out, or use fewer aliases",
                    ev.start_mark,
                    name,
                )
            attach(value, child, ev.start_mark, size)
        elif kind is doc_start:
            documents += 1
            if documents > 1:
                raise _error(
                    "the file holds more than one YAML document ('---')",
                    "keep one scenario per file",
                    ev.start_mark,
                    name,
                )
    if not have_root:
        return Parsed(None, None)
    return Parsed(root, root_pos)


def _merge(frame: _Frame, name: str) -> None:
    """Apply ``<<`` merge keys: keys of the merged mappings not set in this one."""
    for value, child, mark in frame.merges:
        sources = (
            [(value, child)]
            if isinstance(value, dict)
            else list(zip(value, child or [], strict=False))
            if isinstance(value, list)
            else []
        )
        if not sources or not all(isinstance(v, dict) for v, _ in sources):
            raise _error(
                "'<<' merges a mapping or a list of mappings",
                "point '<<' at an anchored mapping (<<: *base)",
                mark,
                name,
            )
        for src, pos in sources:
            src_pos = pos.child if isinstance(pos, Pos) else pos
            for k, v in src.items():
                if k not in frame.container:
                    frame.container[k] = v
                    if isinstance(src_pos, dict) and k in src_pos:
                        frame.pos[k] = src_pos[k]
