"""The FastAPI application: pages, the JSON API, downloads, jobs and the safety checks.

Safety, and why:

- The store path is fixed when the app is made; no request names a file. Run ids and table
  names are checked against patterns and the run's stored layout before use.
- With a token (required by the CLI for any host but loopback) every request must carry
  it: ``Authorization: Bearer TOKEN``, or the ``fabnet_token`` cookie that
  ``/login?token=TOKEN`` sets (HttpOnly, SameSite=Strict). Compared in constant time.
- POSTs are protected against cross-site requests twice: an ``Origin`` (or ``Referer``)
  from another host is refused, and every form carries a per-browser CSRF token that must
  equal the ``fabnet_csrf`` cookie (SameSite=Strict, so another site cannot send it).
- Uploaded scenarios are read in memory up to ``max_upload_bytes`` and never written.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import pandas as pd
from fastapi import FastAPI, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.middleware.base import BaseHTTPMiddleware

from fabnet import __version__
from fabnet.errors import FabnetError, Problem, StoreError
from fabnet.scenario.io import validate_text
from fabnet.scenario.yamlread import decode
from fabnet.store import RunRecord, Store
from fabnet.store.record import jsonable
from fabnet.web import views
from fabnet.web.data import FORMATS, PageCache, cached, check_ref, list_runs, table_bytes
from fabnet.web.html import errors_html, esc, layout
from fabnet.web.jobs import (
    JobError,
    JobRunner,
    JobSpec,
    load_spec_scenario,
    plan_options,
)

CSRF_COOKIE = "fabnet_csrf"
TOKEN_COOKIE = "fabnet_token"
#: Largest scenario file accepted for upload, bytes.
MAX_UPLOAD_BYTES = 1_000_000
#: How many uploaded scenarios are kept in memory (oldest dropped).
MAX_UPLOADS = 20
_SORTABLE = set(views.RUN_COLUMNS)


class WebError(FabnetError):
    """A request the dashboard refuses (bad input, bad token, cross-site POST)."""


@cache
def _plotly_js() -> bytes:
    import plotly.offline

    js: str = plotly.offline.get_plotlyjs()
    return js.encode("utf-8")


def _html(
    title: str, body: str, *, active: str = "", plotly: bool = False, status: int = 200
) -> HTMLResponse:
    return HTMLResponse(layout(title, body, active=active, plotly=plotly), status_code=status)


def _error_page(exc: FabnetError, status: int) -> HTMLResponse:
    msgs = [p.format() for p in exc.problems]
    return _html("Error", f"<h1>Something is wrong</h1>{errors_html(msgs)}", status=status)


def _status_of(exc: FabnetError) -> int:
    text = exc.format()
    if isinstance(exc, StoreError) and (
        "no run with id" in text or "no runs yet" in text or "has no table" in text
    ):
        return 404
    if isinstance(exc, JobError) and "no job" in text:
        return 404
    if isinstance(exc, JobError) and "already in progress" in text:
        return 429
    return 400


def create_app(
    store_path: str | Path,
    token: str | None = None,
    *,
    max_jobs: int = 2,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
) -> FastAPI:
    """The dashboard over the runs store at ``store_path`` (fixed for the app's life).

    ``token``: when given, every request must carry it (header or login cookie).
    ``max_jobs``: how many background plans may run at once.
    """
    path = Path(store_path)
    store = Store(path, create=True)
    runner = JobRunner(path, max_jobs=max_jobs)
    pages = PageCache(path)
    uploads: dict[str, tuple[str, str]] = {}  # key -> (label, yaml text)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> Any:
        yield
        runner.shutdown()

    app = FastAPI(
        title="fabnet dashboard",
        version=__version__,
        description="The fabnet runs store in a browser, and a JSON API over it. "
        "Pages are HTML; the `/api/...` routes return JSON.",
        lifespan=lifespan,
    )
    app.state.runner = runner
    app.state.store = store

    # Safety middleware -------------------------------------------------------------------

    async def guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if token is not None and request.url.path != "/login":
            auth = request.headers.get("authorization", "")
            given = (
                auth[7:]
                if auth.lower().startswith("bearer ")
                else request.cookies.get(TOKEN_COOKIE, "")
            )
            if not given or not hmac.compare_digest(given.encode(), token.encode()):
                return _refuse(
                    request,
                    401,
                    "a valid token is required",
                    "open /login?token=TOKEN once, or send the header Authorization: Bearer TOKEN",
                )
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            source = request.headers.get("origin") or request.headers.get("referer")
            host = request.headers.get("host", "")
            if source and (source == "null" or urlsplit(source).netloc != host):
                return _refuse(
                    request,
                    403,
                    f"cross-site request from {source[:80]} refused",
                    "use the dashboard's own pages",
                )
        response = await call_next(request)
        if CSRF_COOKIE not in request.cookies:
            response.set_cookie(CSRF_COOKIE, _csrf_of(request), httponly=True, samesite="strict")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    app.add_middleware(BaseHTTPMiddleware, dispatch=guard)

    def _refuse(request: Request, status: int, message: str, hint: str) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": f"{message} — {hint}"}, status_code=status)
        return _error_page(WebError(Problem(message, hint)), status)

    def _csrf_of(request: Request) -> str:
        """The browser's CSRF token (from its cookie), or a fresh one set on this response."""
        value = request.cookies.get(CSRF_COOKIE)
        if not value:
            value = getattr(request.state, "csrf", None) or secrets.token_urlsafe(24)
            request.state.csrf = value
        return value

    def _check_csrf(request: Request, given: str) -> None:
        expected = request.cookies.get(CSRF_COOKIE, "")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            raise WebError(
                Problem(
                    "the form's security token is missing or out of date",
                    hint="reload the page and submit the form again (cookies must be enabled)",
                )
            )

    @app.exception_handler(FabnetError)
    async def _fabnet_error(request: Request, exc: FabnetError) -> Response:
        status = _status_of(exc)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.format()}, status_code=status)
        return _error_page(exc, status)

    # Static, login ---------------------------------------------------------------------

    @app.get("/static/plotly.min.js", include_in_schema=False)
    async def plotly_js() -> Response:
        return Response(
            _plotly_js(),
            media_type="application/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @app.get("/login", include_in_schema=False)
    async def login(token_: Annotated[str, Query(alias="token", max_length=512)] = "") -> Response:
        if token is None:
            return RedirectResponse("/runs", status_code=303)
        if not token_ or not hmac.compare_digest(token_.encode(), token.encode()):
            return _error_page(
                WebError(Problem("wrong token", "ask whoever started the dashboard for it")), 401
            )
        resp = RedirectResponse("/runs", status_code=303)
        resp.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
        return resp

    @app.get("/", include_in_schema=False)
    async def root() -> Response:
        return RedirectResponse("/runs", status_code=303)

    # Runs -------------------------------------------------------------------------------

    def _filtered(
        frame: pd.DataFrame, filters: dict[str, str], sort: str, desc: bool
    ) -> pd.DataFrame:
        shown = frame
        for col in ("kind", "scenario", "variant", "status"):
            if filters.get(col):
                shown = shown[shown[col].astype(str) == filters[col]]
        for key, op in (("since", "ge"), ("until", "le")):
            if filters.get(key):
                try:
                    day = pd.Timestamp(filters[key]).date()
                except ValueError:
                    raise WebError(
                        Problem(f"{key} {filters[key]!r} is not a date", hint="use YYYY-MM-DD")
                    ) from None
                dates = pd.to_datetime(shown["created_at"]).dt.date
                shown = shown[(dates >= day) if op == "ge" else (dates <= day)]
        return shown.sort_values(sort, ascending=not desc, kind="stable", na_position="last")

    @app.get("/runs", response_class=HTMLResponse, include_in_schema=False)
    def runs_page(
        request: Request,
        kind: Annotated[str, Query(max_length=64)] = "",
        scenario: Annotated[str, Query(max_length=200)] = "",
        variant: Annotated[str, Query(max_length=200)] = "",
        status: Annotated[str, Query(max_length=64)] = "",
        since: Annotated[str, Query(max_length=10)] = "",
        until: Annotated[str, Query(max_length=10)] = "",
        sort: Annotated[str, Query(max_length=32)] = "created_at",
        desc: Annotated[int, Query(ge=0, le=1)] = 1,
        deleted: Annotated[str, Query(max_length=40)] = "",
    ) -> Response:
        if sort not in _SORTABLE:
            raise WebError(
                Problem(
                    f"cannot sort by {sort[:32]!r}", hint="sort by " + ", ".join(sorted(_SORTABLE))
                )
            )
        filters = {
            k: v
            for k, v in {
                "kind": kind,
                "scenario": scenario,
                "variant": variant,
                "status": status,
                "since": since,
                "until": until,
            }.items()
            if v
        }
        frame = list_runs(store)
        shown = _filtered(frame, filters, sort, bool(desc))
        msg = f"Run {deleted} deleted." if deleted else ""
        body = views.runs_page(frame, shown, filters, sort, bool(desc), _csrf_of(request), msg)
        return _html("Runs", body, active="/runs")

    def _load(ref: str) -> RunRecord:
        return store.load_run(check_ref(ref))

    @app.get("/runs/new", response_class=HTMLResponse, include_in_schema=False)
    def new_run_form(
        request: Request, scenario: Annotated[str, Query(max_length=200)] = ""
    ) -> Response:
        return _new_run_page(request, {"scenario": scenario} if scenario else {}, [])

    def _scenario_choices() -> tuple[list[tuple[str, str]], dict[str, list[str]]]:
        from fabnet.scenario import builtin_names, variant_names

        choices = [(n, f"{n} (built-in)") for n in builtin_names()]
        choices += [(f"upload:{k}", f"{label} (uploaded)") for k, (label, _t) in uploads.items()]
        variants = {n: variant_names(n) for n in builtin_names()}
        return choices, variants

    def _new_run_page(
        request: Request, values: dict[str, str], errors: list[str], status: int = 200
    ) -> Response:
        choices, variants = _scenario_choices()
        body = views.new_run_body(
            choices, variants, values, errors, _csrf_of(request), runner.max_jobs
        )
        return _html("New run", body, active="/runs/new", status=status)

    @app.post("/runs/new", include_in_schema=False)
    def start_run(
        request: Request,
        csrf: Annotated[str, Form(max_length=200)] = "",
        scenario: Annotated[str, Form(max_length=200)] = "",
        variant: Annotated[str, Form(max_length=64)] = "",
        sets: Annotated[str, Form(max_length=4000)] = "",
        period: Annotated[str, Form(max_length=16)] = "",
        gap: Annotated[str, Form(max_length=12)] = "0.001",
    ) -> Response:
        _check_csrf(request, csrf)
        values = {
            "scenario": scenario,
            "variant": variant,
            "sets": sets,
            "period": period,
            "gap": gap,
        }
        try:
            spec = _spec(scenario, variant, sets, period, gap)
            load_spec_scenario(spec)  # validation messages now, not in the worker
            plan_options(spec)
            job = runner.submit(spec)
        except FabnetError as exc:
            return _new_run_page(
                request, values, [p.format() for p in exc.problems], status=_status_of(exc)
            )
        return RedirectResponse(f"/jobs/{job.id}", status_code=303)

    def _spec(scenario: str, variant: str, sets: str, period: str, gap: str) -> JobSpec:
        from fabnet.scenario import builtin_names

        problems: list[Problem] = []
        text: str | None = None
        label = scenario
        if scenario.startswith("upload:"):
            hit = uploads.get(scenario[7:])
            if hit is None:
                problems.append(
                    Problem(
                        "that uploaded scenario is no longer here",
                        hint="upload it again under Scenarios",
                        field="scenario",
                    )
                )
            else:
                label, text = hit
        elif scenario not in builtin_names():
            problems.append(
                Problem(
                    f"unknown scenario {scenario[:60]!r}",
                    hint="choose one from the list (built-in or uploaded)",
                    field="scenario",
                )
            )
        if period not in ("", "year", "quarter", "month"):
            problems.append(
                Problem(f"period {period[:16]!r} is not year, quarter or month", field="period")
            )
        try:
            gap_value = float(gap)
        except ValueError:
            problems.append(
                Problem(
                    f"gap {gap[:12]!r} is not a number", hint="e.g. 0.005 for 0.5 %", field="gap"
                )
            )
            gap_value = 0.001
        lines = [s.strip() for s in sets.splitlines() if s.strip()]
        if len(lines) > 50:
            problems.append(Problem("at most 50 overrides", field="sets"))
        for line in lines:
            if "=" not in line:
                problems.append(
                    Problem(
                        f"override {line[:80]!r} has no '='",
                        hint="write PATH=VALUE, e.g. policies.max_vendor_share.nvidia=0.3",
                        field="sets",
                    )
                )
        if problems:
            raise WebError(problems, title="the run cannot start")
        return JobSpec(
            scenario=label, variant=variant.strip() or None, sets=tuple(lines),
            period=period or None, gap=gap_value, scenario_text=text,
        )  # fmt: skip

    @app.get("/runs/{run_id}", response_class=HTMLResponse, include_in_schema=False)
    async def run_page(run_id: str) -> Response:
        check_ref(run_id)
        key = f"run:{run_id}"

        def make() -> str:
            rec = _load(run_id)
            if rec.kind == "plan" and rec.scenario is not None:
                return layout(f"plan {rec.id}", views.plan_body(rec), active="/runs", plotly=True)
            if rec.kind == "risk":
                body = views.risk_body(rec)
                return layout(f"risk {rec.id}", body, active="/runs", plotly=True)
            return layout(f"{rec.kind} {rec.id}", views.run_body(rec), active="/runs", plotly=True)

        hit = pages.get(key)
        if hit is None:
            hit = await run_in_threadpool(cached, pages, key, make)
        return HTMLResponse(hit)

    @app.get("/runs/{run_id}/tables/{filename}", include_in_schema=False)
    def download(run_id: str, filename: str) -> Response:
        name, _, fmt = filename.rpartition(".")
        if fmt not in FORMATS:
            raise WebError(
                Problem(
                    f"cannot download {filename[:80]!r}", hint="ask for TABLE.csv or TABLE.parquet"
                )
            )
        rec = _load(run_id)
        data = table_bytes(rec, name, fmt)
        media = "text/csv; charset=utf-8" if fmt == "csv" else "application/vnd.apache.parquet"
        return Response(
            data, media_type=media,
            headers={"Content-Disposition": f'attachment; filename="{rec.id}-{name}.{fmt}"'},
        )  # fmt: skip

    @app.get("/runs/{run_id}/delete", response_class=HTMLResponse, include_in_schema=False)
    def delete_confirm(request: Request, run_id: str) -> Response:
        frame = list_runs(store)
        rid = store.resolve_id(check_ref(run_id))
        row = frame[frame["id"] == rid].iloc[0]
        return _html(
            "Delete",
            views.delete_page(rid, str(row["kind"]), str(row["scenario"]), _csrf_of(request)),
            active="/runs",
        )

    @app.post("/runs/{run_id}/delete", include_in_schema=False)
    def delete_run(
        request: Request, run_id: str, csrf: Annotated[str, Form(max_length=200)] = ""
    ) -> Response:
        _check_csrf(request, csrf)
        rid = store.resolve_id(check_ref(run_id))
        if rid != run_id:
            raise WebError(Problem("deleting needs the full run id", hint=f"did you mean {rid}?"))
        runner.delete_run(rid)
        pages.clear()
        return RedirectResponse(f"/runs?deleted={rid}", status_code=303)

    # Compare ----------------------------------------------------------------------------

    @app.get("/compare", response_class=HTMLResponse, include_in_schema=False)
    def compare(ids: Annotated[list[str], Query(max_length=40)] = []) -> Response:  # noqa: B006
        ids = list(dict.fromkeys(ids))
        if not 2 <= len(ids) <= 4:
            raise WebError(
                Problem(
                    f"{len(ids)} runs selected; compare needs 2 to 4",
                    hint="tick 2–4 runs in the runs list",
                )
            )
        recs = [_load(i) for i in ids]
        figures = store.compare([r.id for r in recs])
        return _html("Compare", views.compare_body(recs, figures), active="/runs", plotly=True)

    # Scenarios ----------------------------------------------------------------------------

    def _scenarios_page(
        request: Request, errors: list[str] | None = None, ok: str = "", status: int = 200
    ) -> Response:
        from fabnet.scenario import builtin_names

        body = views.scenarios_index(
            builtin_names(), {k: label for k, (label, _t) in uploads.items()}, _csrf_of(request),
            max_upload_bytes // 1000, errors or [], ok,
        )  # fmt: skip
        return _html("Scenarios", body, active="/scenarios", status=status)

    @app.get("/scenarios", response_class=HTMLResponse, include_in_schema=False)
    def scenarios(request: Request) -> Response:
        return _scenarios_page(request)

    @app.get("/scenarios/{name}", response_class=HTMLResponse, include_in_schema=False)
    def scenario_page(name: str) -> Response:
        from fabnet.scenario import builtin_names, load_scenario, variant_names

        if name not in builtin_names():
            raise StoreError(
                Problem(
                    f"no built-in scenario {name[:60]!r}",
                    hint="built-in: " + ", ".join(builtin_names()),
                )
            )
        scen = load_scenario(name)
        body = views.scenario_body(scen, f"built-in scenario {name}", variant_names(name))
        body += f'<p><a class="button" href="/runs/new?scenario={esc(name)}">Plan it</a></p>'
        return _html(f"Scenario {name}", body, active="/scenarios")

    @app.get("/scenarios/run/{run_id}", response_class=HTMLResponse, include_in_schema=False)
    def run_scenario_page(run_id: str) -> Response:
        rec = _load(run_id)
        if rec.scenario is None:
            raise WebError(Problem(f"run {rec.id} was not made from a scenario"))
        return _html(
            f"Scenario of {rec.id}",
            views.scenario_body(rec.scenario, f"as stored with run {rec.id}"),
            active="/scenarios",
        )

    @app.get("/scenarios/upload/{key}", response_class=HTMLResponse, include_in_schema=False)
    def uploaded_page(key: str) -> Response:
        from fabnet.scenario import scenario_from_text

        hit = uploads.get(key)
        if hit is None:
            raise WebError(
                Problem(
                    "no such uploaded scenario (uploads are kept until the server stops)",
                    hint="upload it again",
                )
            )
        label, text = hit
        body = views.scenario_body(scenario_from_text(text, label), f"uploaded file {label}")
        body += f'<p><a class="button" href="/runs/new?scenario=upload:{esc(key)}">Plan it</a></p>'
        return _html(f"Scenario {label}", body, active="/scenarios")

    @app.post("/scenarios/upload", include_in_schema=False)
    async def upload(
        request: Request, file: UploadFile, csrf: Annotated[str, Form(max_length=200)] = ""
    ) -> Response:
        _check_csrf(request, csrf)
        data = await file.read(max_upload_bytes + 1)
        label = Path(file.filename or "upload.yaml").name[:80] or "upload.yaml"
        if len(data) > max_upload_bytes:
            return _scenarios_page(
                request,
                [
                    f"{label}: the file is larger than {max_upload_bytes // 1000} kB; a scenario file is far smaller"
                ],
                status=413,
            )
        try:  # as a scenario file is read: UTF-8, or UTF-16/32 with a byte-order mark
            text = decode(data, label)
        except FabnetError as exc:
            return _scenarios_page(request, [p.format() for p in exc.problems], status=400)
        try:
            await run_in_threadpool(validate_text, text, label)
        except FabnetError as exc:
            return _scenarios_page(request, [p.format() for p in exc.problems], status=400)
        key = secrets.token_hex(6)
        uploads[key] = (label, text)
        while len(uploads) > MAX_UPLOADS:
            uploads.pop(next(iter(uploads)))
        return RedirectResponse(f"/scenarios/upload/{key}", status_code=303)

    # Jobs -------------------------------------------------------------------------------

    @app.get("/jobs", response_class=HTMLResponse, include_in_schema=False)
    def jobs_page() -> Response:
        return _html("Jobs", views.jobs_body(runner.jobs()), active="/jobs")

    @app.get("/jobs/{job_id}", response_class=HTMLResponse, include_in_schema=False)
    def job_page(request: Request, job_id: str) -> Response:
        return _html(
            "Job", views.job_body(runner.get(job_id[:40]), _csrf_of(request)), active="/jobs"
        )

    @app.post("/jobs/{job_id}/cancel", include_in_schema=False)
    def cancel_job(
        request: Request, job_id: str, csrf: Annotated[str, Form(max_length=200)] = ""
    ) -> Response:
        _check_csrf(request, csrf)
        runner.cancel(job_id[:40])
        return RedirectResponse(f"/jobs/{job_id[:40]}", status_code=303)

    # JSON API ---------------------------------------------------------------------------

    @app.get("/api", response_class=HTMLResponse, include_in_schema=False)
    def api_index() -> Response:
        return _html("API", views.api_body(app.openapi()), active="/api")

    @app.get("/api/runs", tags=["runs"], summary="List runs")
    def api_runs(kind: Annotated[str | None, Query(max_length=64)] = None) -> list[dict[str, Any]]:
        """Every stored run, newest first: id, kind, scenario, variant, status, created (UTC)."""
        frame = list_runs(store)
        if kind:
            frame = frame[frame["kind"] == kind]
        return [
            {
                "id": r["id"],
                "kind": r["kind"],
                "scenario": r["scenario"],
                "variant": r["variant"] or None,
                "status": r["status"],
                "created": pd.Timestamp(r["created_at"]).isoformat() + "Z",
                "objective_usd": jsonable(r["objective_usd"]),
                "unmet_pflops": jsonable(r["unmet_pflops"]),
            }
            for r in frame.to_dict("records")
        ]

    @app.get("/api/runs/{run_id}", tags=["runs"], summary="One run")
    def api_run(run_id: str) -> dict[str, Any]:
        """One run's summary and metadata, as `fabnet runs show ID --json` prints it."""
        from fabnet.cli.runs import _show_json

        out: dict[str, Any] = jsonable(_show_json(_load(run_id)))
        return out

    @app.get("/api/runs/{run_id}/tables/{name}", tags=["runs"], summary="One result table")
    def api_table(run_id: str, name: str) -> list[dict[str, Any]]:
        """One result table of a run as a list of records."""
        rec = _load(run_id)
        table_bytes(rec, name, "csv")  # validates the name against the run's layout
        rows: list[dict[str, Any]] = jsonable(rec.tables[name].to_dict("records"))
        return rows

    @app.get("/api/compare", tags=["runs"], summary="Compare runs")
    def api_compare(ids: Annotated[list[str], Query(max_length=40)]) -> dict[str, Any]:
        """Key figures of 2–4 runs: {run id: {figure: value}} (as `fabnet runs compare --json`)."""
        if not 2 <= len(ids) <= 4:
            raise WebError(Problem(f"{len(ids)} runs given; compare needs 2 to 4"))
        frame = store.compare([check_ref(i) for i in ids])
        out: dict[str, Any] = jsonable({col: dict(frame[col].items()) for col in frame.columns})
        return out

    @app.get("/api/jobs", tags=["jobs"], summary="List jobs")
    def api_jobs() -> list[dict[str, Any]]:
        """Runs started from this dashboard, newest first."""
        return [j.as_dict() for j in runner.jobs()]

    @app.get("/api/jobs/{job_id}", tags=["jobs"], summary="One job")
    def api_job(job_id: str) -> dict[str, Any]:
        """One job's progress: status (running, storing, stored, failed, cancelled), step, run id."""
        return runner.get(job_id[:40]).as_dict()

    @app.get("/api/scenarios", tags=["scenarios"], summary="Built-in scenarios")
    def api_scenarios() -> dict[str, Any]:
        """Built-in scenarios with their variants."""
        from fabnet.scenario import builtin_names, variant_names

        return {"builtin": {n: variant_names(n) for n in builtin_names()}}

    return app
