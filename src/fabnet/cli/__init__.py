"""Command-line interface: `fabnet ...` (typer). Only this layer prints and reads files."""

from __future__ import annotations

from fabnet.cli.app import app, main
from fabnet.cli import fab as _fab  # noqa: F401

__all__ = ["app", "main"]
