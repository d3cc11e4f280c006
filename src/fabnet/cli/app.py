"""The typer application and the error handling shared by every command."""

from __future__ import annotations

import sys
import traceback

import typer
from rich.console import Console
from rich.markup import escape

from fabnet import __version__
from fabnet.errors import FabnetError

app = typer.Typer(
    name="fabnet",
    help="Plan and simulate the semiconductor supply network behind AI chips.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Console for tables and progress (stdout).
out = Console(highlight=False)
#: Console for errors and warnings (stderr).
err = Console(stderr=True, highlight=False)


def _version(value: bool) -> None:
    if value:
        out.print(f"fabnet {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Plan and simulate the semiconductor supply network behind AI chips."""


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user errors print without a traceback and exit with status 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        app(args=args, prog_name="fabnet")
    except FabnetError as exc:
        if debug:
            traceback.print_exc()
        err.print(f"[bold red]error:[/] {escape(exc.format())}", markup=True, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
