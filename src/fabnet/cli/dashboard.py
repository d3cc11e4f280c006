"""`fabnet dashboard`: serve the runs store in a browser (FastAPI + uvicorn)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import typer

from fabnet.cli.app import app, err
from fabnet.errors import FabnetError, Problem


def _loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def read_token(path: Path) -> str:
    """The token in ``path`` (first line, stripped); a FabnetError when missing or too short."""
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise FabnetError(
            Problem(f"cannot read the token file: {exc.strerror or exc}", file=str(path))
        ) from None
    lines = text.strip().splitlines()
    token = lines[0].strip() if lines else ""
    if len(token) < 16:
        raise FabnetError(
            Problem(
                "the token must be at least 16 characters",
                hint="e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))' > FILE`",
                file=str(path),
            )
        )
    return token


@app.command("dashboard")
def dashboard(
    store: Path = typer.Option(
        Path("fabnet.duckdb"), "--store", help="The runs store (DuckDB file)."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8050, "--port", min=1, max=65535, help="Port to listen on."),
    token_file: Path | None = typer.Option(
        None,
        "--token-file",
        help="File whose first line is the access token; required for a non-loopback --host.",
    ),
    max_jobs: int = typer.Option(2, "--max-jobs", min=1, max=16, help="Plans running at once."),
) -> None:
    """Serve the runs store in a browser: runs, plans, comparisons, scenarios, new runs."""
    token = read_token(token_file) if token_file is not None else None
    if not _loopback(host) and token is None:
        raise FabnetError(
            Problem(
                f"--host {host} would let other machines reach the dashboard without a token",
                hint="pass --token-file FILE (then open /login?token=... once, or send "
                "`Authorization: Bearer ...`), or keep the default --host 127.0.0.1",
            )
        )
    import uvicorn

    from fabnet.web import create_app

    web = create_app(store, token=token, max_jobs=max_jobs)
    shown = f"[{host}]" if ":" in host else host
    err.print(f"fabnet dashboard on http://{shown}:{port} over {store} (Ctrl-C stops it)")
    uvicorn.run(web, host=host, port=port, log_level="warning")
