"""``--option NAME=VALUE`` for the fab benchmarks: SimOptions fields set from text."""

from __future__ import annotations

import dataclasses

from fabnet.errors import FabnetError
from fabnet.fab import SimOptions


def with_options(opts: SimOptions, items: list[str]) -> SimOptions:
    """``opts`` with each ``NAME=VALUE`` applied (booleans: 1/true/yes; floats parsed; the
    rest as text, which SimOptions reads itself, e.g. enums)."""
    names = {f.name for f in dataclasses.fields(opts)}
    for item in items:
        name, _, value = item.partition("=")
        if name not in names:
            raise SystemExit(
                f"--option {item}: no SimOptions field {name!r} (fields: {sorted(names)})"
            )
        cur = getattr(opts, name)
        val: object = value.lower() in ("1", "true", "yes") if isinstance(cur, bool) else value
        try:
            if isinstance(cur, float):
                val = float(value)
            opts = dataclasses.replace(opts, **{name: val})
        except (ValueError, FabnetError) as exc:
            raise SystemExit(f"--option {item}: {exc}") from None
    return opts
