"""``--option NAME=VALUE`` for the fab benchmarks: SimOptions fields set from text."""

from __future__ import annotations

import dataclasses

from fabnet.fab import SimOptions


def with_options(opts: SimOptions, items: list[str]) -> SimOptions:
    """``opts`` with each ``NAME=VALUE`` applied (booleans: 1/true/yes; floats parsed; the
    rest as text, which SimOptions reads itself, e.g. enums)."""
    for item in items:
        name, _, value = item.partition("=")
        cur = getattr(opts, name)
        val: object = value.lower() in ("1", "true", "yes") if isinstance(cur, bool) else value
        if isinstance(cur, float):
            val = float(value)
        opts = dataclasses.replace(opts, **{name: val})
    return opts
