"""`fabnet fab ...`: simulate an SMT2020 wafer fab and compare it with reference KPIs."""

from __future__ import annotations

import typer

from fabnet.cli.app import app

fab_app = typer.Typer(help="Wafer-fab simulator (SMT2020 models).", no_args_is_help=True)
app.add_typer(fab_app, name="fab")
