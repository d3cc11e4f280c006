"""Command-line interface: `fabnet ...` (typer). Only this layer prints and reads files."""

from __future__ import annotations

from fabnet.cli.app import app, main

__all__ = ["app", "main"]
