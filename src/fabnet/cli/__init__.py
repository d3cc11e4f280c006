"""Command-line interface: `fabnet ...` (typer). Only this layer prints and reads files."""

from __future__ import annotations

from fabnet.cli import curve_source as _curve_source  # noqa: F401
from fabnet.cli import dashboard as _dashboard  # noqa: F401
from fabnet.cli import economics as _economics  # noqa: F401
from fabnet.cli import fab as _fab  # noqa: F401
from fabnet.cli import fab_check as _fab_check  # noqa: F401
from fabnet.cli import fab_extras as _fab_extras  # noqa: F401
from fabnet.cli import frontier as _frontier  # noqa: F401
from fabnet.cli import plan as _plan  # noqa: F401
from fabnet.cli import risk as _risk  # noqa: F401
from fabnet.cli import runs as _runs  # noqa: F401
from fabnet.cli import scenario as _scenario  # noqa: F401
from fabnet.cli.app import app, main

__all__ = ["app", "main"]
