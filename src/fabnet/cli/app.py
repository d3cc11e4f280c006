"""The typer application and the error handling shared by every command."""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Iterator
from typing import Any, TextIO

import typer
import typer.core
from rich.console import Console, ConsoleRenderable, RenderHook
from rich.markup import escape
from rich.table import Table
from rich.text import Text

import fabnet
from fabnet.errors import FabnetError


def _flag_type_rich(self: typer.core.TyperOption, ctx: Any) -> str | None:
    """The type shown in ``--help``: none for a flag (``--relax``, ``--json``, ``--help``).

    Typer's rich help prints ``<bool>`` beside every flag although a flag takes no value;
    its plain help leaves the type out for flags, and so does this."""
    if self.is_flag and self.metavar is None:
        return None
    return _option_type_rich(self, ctx)


_option_type_rich = typer.core.TyperOption.display_type_rich
typer.core.TyperOption.display_type_rich = _flag_type_rich  # type: ignore[method-assign]

app = typer.Typer(
    name="fabnet",
    help="Plan and simulate the semiconductor supply network behind AI chips.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _cell_width(cell: Any) -> int:
    """Width of a table cell on one line (markup not counted); 0 for other renderables."""
    if isinstance(cell, str):
        return max((Text.from_markup(line).cell_len for line in cell.splitlines()), default=0)
    if isinstance(cell, Text):
        return max((line.cell_len for line in cell.split("\n")), default=0)
    return 0


#: Widest first-column name kept on one line (longer ones fold), characters.
KEY_WIDTH = 24


def readable(table: Table, width: int) -> Table:
    """Make ``table`` lose no text at ``width`` columns (80 in a pipe, or ``COLUMNS``).

    Rich's default cuts a word wider than its column with "…" ("nvidia-o…", "DefM…"):
    here such a word folds onto the next line instead. Columns marked ``no_wrap`` (ids,
    amounts such as "$4.49 bn") and the first column, which names the rows (a site, a
    process, a run id; when its names are at most :data:`KEY_WIDTH` characters), are kept
    whole and the other columns wrap around them, as long as they fit the width with a
    few characters left for every other column. Applied to every table the CLI prints."""
    columns = table.columns
    if not columns:
        return table
    widest = [max((_cell_width(c) for c in col.cells), default=0) for col in columns]
    pad = table.padding[1] + table.padding[3]  # left and right of each cell
    edges = len(columns) + 1 if table.box is not None else 0
    pinned = {i for i, col in enumerate(columns) if col.no_wrap}
    if not columns[0].no_wrap and 0 < widest[0] <= KEY_WIDTH:
        pinned.add(0)

    def need(keep: set[int]) -> int:
        return edges + sum(
            (max(widest[i], columns[i].min_width or 0) if i in keep else 4) + pad
            for i in range(len(columns))
        )

    if need(pinned) > width:
        pinned.discard(0)
    fits = need(pinned) <= width
    for i, col in enumerate(columns):
        if i in pinned and fits:
            col.no_wrap = True
            col.min_width = max(col.min_width or 0, widest[i])
        elif col.overflow == "ellipsis" and not col.no_wrap:
            col.overflow = "fold"
        for cell in col.cells:
            if isinstance(cell, Table):
                readable(cell, width)
    return table


class _Readable(RenderHook):
    """Console hook: every table printed goes through :func:`readable` first."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def process_renderables(self, renderables: list[ConsoleRenderable]) -> list[ConsoleRenderable]:
        for r in renderables:
            if isinstance(r, Table):
                readable(r, r.width or self.console.width)
        return renderables


def _console(**kwargs: Any) -> Console:
    console = Console(highlight=False, **kwargs)
    console.push_render_hook(_Readable(console))
    return console


#: Console for tables and progress (stdout).
out = _console()
#: Console for errors and warnings (stderr).
err = _console(stderr=True)


def _version(value: bool) -> None:
    if value:
        out.print(f"fabnet {fabnet.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Plan and simulate the semiconductor supply network behind AI chips."""


class _ReaderMayLeave:
    """A text stream whose reader may go away (``fabnet runs list | head``).

    When the pipe closes, the rest of the output goes to the null device and the command
    carries on: it still stores its run and exits with its own status (0, or 2 for a user
    error), never a ``BrokenPipeError`` traceback or typer's blanket status 1."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._to_null()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._to_null()

    def _to_null(self) -> None:
        """Point the stream's file descriptor at the null device; drop what is buffered."""
        with contextlib.suppress(OSError, ValueError):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self._stream.fileno())
            os.close(null)
        with contextlib.suppress(OSError, ValueError):
            self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def _pipes_may_close() -> Iterator[None]:
    """stdout and stderr wrapped in :class:`_ReaderMayLeave` for the length of a command."""
    saved = sys.stdout, sys.stderr
    sys.stdout = _ReaderMayLeave(sys.stdout)
    sys.stderr = _ReaderMayLeave(sys.stderr)
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        sys.stdout, sys.stderr = saved


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user errors print without a traceback and exit with status 2.

    A reader that closes the pipe early (``| head``) ends nothing: see
    :class:`_ReaderMayLeave`."""
    with _pipes_may_close():
        _main(argv)


def _main(argv: list[str] | None) -> None:
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
