"""The dashboard through FastAPI's test client: pages, JSON API, downloads, safety checks."""

from __future__ import annotations

import html
import io
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from fabnet.cli import main
from fabnet.scenario.io import builtin_text
from fabnet.store import Store
from fabnet.web import create_app
from tests.web.conftest import TestClient


def _client(store: Path, **kw: Any) -> TestClient:
    return TestClient(create_app(store, **kw))


def _csrf(client: TestClient) -> str:
    """The CSRF token the dashboard gave this browser (cookie set by any page)."""
    client.get("/runs")
    token = client.cookies.get("fabnet_csrf")
    assert token
    return str(token)


def _wait_job(client: TestClient, job_id: str, timeout_s: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("stored", "failed", "cancelled"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not end in {timeout_s} s")


# Reading --------------------------------------------------------------------------------------


def test_api_runs_lists_every_run(seed_store: Path, run_ids: dict[str, str]) -> None:
    runs = _client(seed_store).get("/api/runs").json()
    by_id = {r["id"]: r for r in runs}
    assert set(by_id) == set(run_ids.values())
    for r in runs:
        assert set(r) >= {"id", "kind", "scenario", "variant", "status", "created"}
    assert by_id[run_ids["no-gpu"]]["variant"] == "no-gpu"
    assert by_id[run_ids["base"]]["variant"] is None
    assert by_id[run_ids["fab"]]["kind"] == "fab"
    assert by_id[run_ids["fab"]]["scenario"] == "smt2020-mini"
    only_plans = _client(seed_store).get("/api/runs", params={"kind": "plan"}).json()
    assert {r["kind"] for r in only_plans} == {"plan"}


def test_api_run_is_runs_show_json(
    seed_store: Path, run_ids: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    rid = run_ids["no-gpu"]
    with pytest.raises(SystemExit):
        main(["runs", "show", rid, "--store", str(seed_store), "--json"])
    cli = json.loads(capsys.readouterr().out)
    web = _client(seed_store).get(f"/api/runs/{rid}").json()
    assert web == cli
    assert web["options"]["variant"] == "no-gpu"


def test_unknown_and_malformed_run_ids_are_refused(seed_store: Path) -> None:
    c = _client(seed_store)
    r = c.get("/api/runs/20200101-0000-0000")
    assert r.status_code == 404
    assert "no run with id" in r.json()["detail"]
    for bad in ("..%2F..%2Fetc%2Fpasswd", "x;DROP TABLE runs", "%00"):
        r = c.get(f"/runs/{bad}")
        assert r.status_code in (400, 404), bad
        assert "Traceback" not in r.text


def test_runs_page_filters_and_sorts(seed_store: Path, run_ids: dict[str, str]) -> None:
    c = _client(seed_store)
    page = c.get("/runs").text
    assert all(i in page for i in run_ids.values())
    only = c.get("/runs", params={"variant": "no-gpu"}).text
    assert run_ids["no-gpu"] in only and run_ids["base"] not in only
    fab = c.get("/runs", params={"kind": "fab"}).text
    assert run_ids["fab"] in fab and run_ids["base"] not in fab
    newest_first = c.get("/runs", params={"sort": "created_at", "desc": 1}).text
    oldest_first = c.get("/runs", params={"sort": "created_at", "desc": 0}).text
    assert newest_first.index(run_ids["fab"]) < newest_first.index(run_ids["base"])
    assert oldest_first.index(run_ids["base"]) < oldest_first.index(run_ids["fab"])
    bad = c.get("/runs", params={"sort": "password"})
    assert bad.status_code == 400 and "cannot sort by" in bad.text
    bad_date = c.get("/runs", params={"since": "yesterday"})
    assert bad_date.status_code == 400 and "not a date" in bad_date.text


def test_plan_page_has_the_report_charts_and_downloads(
    seed_store: Path, run_ids: dict[str, str]
) -> None:
    c = _client(seed_store)
    rid = run_ids["base"]
    page = c.get(f"/runs/{rid}").text
    for key in ("compute", "shares", "costs", "builds", "utilisation", "shadow", "unmet"):
        assert f'id="chart-{key}"' in page, key
    assert '<script src="/static/plotly.min.js">' in page
    assert "cdn" not in page.lower()
    js = c.get("/static/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000
    rec = Store(seed_store, create=False).load_run(rid)
    for name, frame in rec.tables.items():
        assert f"/runs/{rid}/tables/{name}.csv" in page
        csv = c.get(f"/runs/{rid}/tables/{name}.csv")
        assert csv.status_code == 200
        if len(frame.columns):
            back = pd.read_csv(io.StringIO(csv.text))
            assert list(back.columns) == list(frame.columns)
            assert len(back) == len(frame)
    costs = c.get(f"/runs/{rid}/tables/costs.parquet")
    assert costs.content[:4] == b"PAR1"
    parquet = Path(seed_store).with_name("costs-test.parquet")
    parquet.write_bytes(costs.content)
    back = duckdb.sql(f"SELECT * FROM '{parquet}'").df()
    assert back["cost_usd"].sum() == pytest.approx(rec.tables["costs"]["cost_usd"].sum())


def test_downloads_only_name_tables_of_the_run(seed_store: Path, run_ids: dict[str, str]) -> None:
    c = _client(seed_store)
    rid = run_ids["base"]
    for name in ("..%2F..%2Fetc%2Fpasswd.csv", "runs.csv", "costs.exe", "costs", "COSTS.csv"):
        r = c.get(f"/runs/{rid}/tables/{name}")
        assert r.status_code in (400, 404), name
        assert "root:" not in r.text


def test_fab_run_page_shows_summary_and_tables(seed_store: Path, run_ids: dict[str, str]) -> None:
    page = _client(seed_store).get(f"/runs/{run_ids['fab']}").text
    assert "Fab run" in page and "throughput lots per day" in page
    assert "cycle_time_days" in page and 'id="chart-fab-kpi"' in page


def test_compare_lists_the_changed_inputs_first(seed_store: Path, run_ids: dict[str, str]) -> None:
    c = _client(seed_store)
    page = c.get("/compare", params={"ids": [run_ids["base"], run_ids["no-gpu"]]}).text
    diffs = page[page.index('id="diffs"') : page.index('id="key"')]
    rows = re.findall(r"<tr><td><code>([^<]+)</code></td>", diffs)
    # the variant sets one policy; the runs' variant option differs too
    assert rows == ["option variant", "policies.max_vendor_share.gpuco"]
    assert page.index('id="inputs"') < page.index('id="key"') < page.index('id="cost"')
    one = c.get("/compare", params={"ids": [run_ids["base"]]})
    assert one.status_code == 400 and "compare needs 2 to 4" in one.text
    same = c.get("/compare", params={"ids": [run_ids["base"], run_ids["base"]]})
    assert same.status_code == 400


def test_scenario_pages_show_the_inputs(seed_store: Path) -> None:
    c = _client(seed_store)
    page = c.get("/scenarios/toy").text
    for section in ("companies", "sites", "processes", "products", "demand", "policies"):
        assert f'id="{section}"' in page
    assert "no-gpu" in page
    assert c.get("/scenarios/..%2F..%2Fetc%2Fpasswd").status_code in (400, 404)


# Uploads --------------------------------------------------------------------------------------


def test_upload_validates_in_memory(seed_store: Path) -> None:
    c = _client(seed_store, max_upload_bytes=50_000)
    token = _csrf(c)
    good = builtin_text("toy").replace("name: toy", "name: my-toy", 1)
    r = c.post(
        "/scenarios/upload",
        data={"csrf": token},
        files={"file": ("../../etc/my-toy.yaml", good.encode(), "application/x-yaml")},
    )
    assert r.status_code == 200 and "Scenario · my-toy" in r.text
    assert "uploaded file my-toy.yaml" in r.text  # the client's path is dropped
    bad = good.replace("discount_rate:", "discount_rate: [", 1)
    r = c.post("/scenarios/upload", data={"csrf": token}, files={"file": ("bad.yaml", bad)})
    assert r.status_code == 400 and "bad.yaml:" in r.text and "Please fix" in r.text
    wrong = good.replace("designer:", "designer: nobody\n_x:", 1)
    r = c.post("/scenarios/upload", data={"csrf": token}, files={"file": ("w.yaml", wrong)})
    assert r.status_code == 400 and "w.yaml" in r.text
    bad_variant = good.replace(
        "policies.max_vendor_share.gpuco: 0.1", "policies.max_vendor_share.gpuco: 7", 1
    )
    r = c.post("/scenarios/upload", data={"csrf": token}, files={"file": ("v.yaml", bad_variant)})
    assert r.status_code == 400 and "variant no-gpu" in html.unescape(r.text)
    latin = good.replace("name: Acme AI", "name: Acmé AI", 1).encode("latin-1")
    r = c.post("/scenarios/upload", data={"csrf": token}, files={"file": ("l.yaml", latin)})
    assert r.status_code == 400 and "is not UTF-8" in r.text and "l.yaml" in r.text
    r = c.post(
        "/scenarios/upload", data={"csrf": token}, files={"file": ("u.yaml", good.encode("utf-16"))}
    )
    assert r.status_code == 200 and "Scenario · my-toy" in r.text  # UTF-16 with its BOM
    big = b"# " + b"x" * 60_000
    r = c.post("/scenarios/upload", data={"csrf": token}, files={"file": ("big.yaml", big)})
    assert r.status_code == 413 and "larger than 50 kB" in r.text


# Safety ---------------------------------------------------------------------------------------


def test_posts_need_the_csrf_token_and_same_origin(
    store_copy: Path, run_ids: dict[str, str]
) -> None:
    c = _client(store_copy)
    token = _csrf(c)
    rid = run_ids["base"]
    r = c.post(f"/runs/{rid}/delete", data={"csrf": "forged"})
    assert r.status_code == 400 and "security token" in r.text
    r = c.post(
        f"/runs/{rid}/delete",
        data={"csrf": token},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403 and "cross-site" in r.text
    r = c.post(f"/runs/{rid}/delete", data={"csrf": token}, headers={"Origin": "null"})
    assert r.status_code == 403
    assert rid in {x["id"] for x in c.get("/api/runs").json()}


def test_token_is_required_when_set(seed_store: Path) -> None:
    secret = "s3cret-token-0123456789"
    c = _client(seed_store, token=secret)
    r = c.get("/api/runs")
    assert r.status_code == 401 and "token" in r.json()["detail"]
    assert c.get("/runs").status_code == 401
    r = c.get("/api/runs", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    assert c.get("/api/runs", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert c.get("/login", params={"token": "nope"}).status_code == 401
    assert c.get("/runs").status_code == 401
    r = c.get("/login", params={"token": secret})
    assert r.status_code == 200 and "Runs" in r.text  # the cookie now opens every page
    assert c.get("/api/runs").status_code == 200


def test_cli_refuses_a_public_host_without_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["dashboard", "--host", "0.0.0.0", "--store", str(tmp_path / "s.duckdb")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "without a token" in err and "--token-file" in err
    short = tmp_path / "token.txt"
    short.write_text("abc\n")
    with pytest.raises(SystemExit) as exc:
        main(["dashboard", "--host", "0.0.0.0", "--token-file", str(short)])
    assert exc.value.code == 2
    assert "at least 16 characters" in capsys.readouterr().err


# Writing: jobs and delete ---------------------------------------------------------------------


def test_new_run_form_starts_a_plan_and_stores_it(store_copy: Path) -> None:
    c = _client(store_copy)
    token = _csrf(c)
    before = {r["id"] for r in c.get("/api/runs").json()}
    r = c.post(
        "/runs/new",
        data={
            "csrf": token,
            "scenario": "toy",
            "variant": "",
            "sets": "policies.max_vendor_share.gpuco=0.2",
            "period": "year",
            "gap": "0.001",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    job_id = r.headers["location"].rsplit("/", 1)[1]
    job = _wait_job(c, job_id)
    assert job["status"] == "stored", job
    runs = c.get("/api/runs").json()
    assert {x["id"] for x in runs} - before == {job["run_id"]}
    shown = c.get(f"/api/runs/{job['run_id']}").json()
    assert shown["options"]["set"] == ["policies.max_vendor_share.gpuco=0.2"]
    assert shown["options"]["period"] == "year"


def test_new_run_form_shows_clear_messages(seed_store: Path) -> None:
    c = _client(seed_store)
    token = _csrf(c)
    cases = {
        "scenario=../../etc/passwd": ({"scenario": "../../etc/passwd"}, "unknown scenario"),
        "gap=abc": ({"scenario": "toy", "gap": "abc"}, "not a number"),
        "period=week": ({"scenario": "toy", "period": "week"}, "not year, quarter or month"),
        "set": ({"scenario": "toy", "sets": "policies"}, "has no '='"),
        "bad set path": ({"scenario": "toy", "sets": "policies.nope=1"}, "nope"),
        "variant": ({"scenario": "toy", "variant": "nope"}, "no variant 'nope'"),
    }
    for label, (data, text) in cases.items():
        r = c.post("/runs/new", data={"csrf": token, **data})
        assert r.status_code == 400, label
        assert text in html.unescape(r.text), label
    assert c.get("/api/jobs").json() == []


def test_cancel_and_job_limit(store_copy: Path) -> None:
    c = _client(store_copy, max_jobs=1)
    token = _csrf(c)
    data = {"csrf": token, "scenario": "toy", "gap": "0.001"}
    first = c.post("/runs/new", data=data, follow_redirects=False)
    job_id = first.headers["location"].rsplit("/", 1)[1]
    second = c.post("/runs/new", data=data)
    assert second.status_code == 429 and "the limit is 1" in second.text
    r = c.post(f"/jobs/{job_id}/cancel", data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 303
    job = c.get(f"/api/jobs/{job_id}").json()
    assert job["status"] == "cancelled"
    again = c.post(f"/jobs/{job_id}/cancel", data={"csrf": token})
    assert again.status_code == 400 and "already ended" in again.text


def test_delete_asks_then_removes_the_run_and_its_rows(
    store_copy: Path, run_ids: dict[str, str]
) -> None:
    c = _client(store_copy)
    token = _csrf(c)
    rid = run_ids["no-gpu"]
    confirm = c.get(f"/runs/{rid}/delete")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.text
    r = c.post(f"/runs/{rid}/delete", data={"csrf": token}, follow_redirects=False)
    assert r.status_code == 303
    assert rid not in {x["id"] for x in c.get("/api/runs").json()}
    with duckdb.connect(str(store_copy), read_only=True) as con:
        left = con.execute("SELECT count(*) FROM plan_costs WHERE run_id = ?", [rid]).fetchone()
        kept = con.execute(
            "SELECT count(*) FROM plan_costs WHERE run_id = ?", [run_ids["base"]]
        ).fetchone()
    assert left == (0,) and kept is not None and kept[0] > 0
    assert c.get(f"/runs/{rid}").status_code == 404


def test_reading_while_fabnet_plan_writes(store_copy: Path) -> None:
    """A `fabnet plan` process writes the store while the dashboard reads it, over and over."""
    c = _client(store_copy)
    before = len(c.get("/api/runs").json())
    proc = subprocess.Popen(
        [sys.executable, "-m", "fabnet", "plan", "toy", "--store", str(store_copy), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    reads = 0
    some_run = c.get("/api/runs").json()[0]["id"]
    try:
        while proc.poll() is None:
            r = c.get("/api/runs")
            assert r.status_code == 200, r.text
            # a run with all its tables: a full read of the store, never cached
            r = c.get(f"/api/runs/{some_run}")
            assert r.status_code == 200, r.text
            reads += 1
    finally:
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    run_id = json.loads(out)["run_id"]
    assert reads > 0
    after = c.get("/api/runs").json()
    assert len(after) == before + 1 and after[0]["id"] == run_id


def test_openai_2024_sites_have_coordinates_in_their_country() -> None:
    from fabnet.scenario import load_scenario

    boxes = {  # rough latitude/longitude boxes of the countries the scenario uses
        "TW": (21.5, 25.5, 119.5, 122.5),
        "KR": (33.0, 39.0, 124.5, 130.0),
        "JP": (30.0, 46.0, 129.0, 146.0),
        "US": (24.0, 50.0, -125.0, -66.0),
    }
    for site in load_scenario("openai-2024").sites:
        assert site.lat is not None and site.lon is not None, site.id
        lat0, lat1, lon0, lon1 = boxes[site.country]
        assert lat0 <= site.lat <= lat1 and lon0 <= site.lon <= lon1, site.id


def test_api_page_lists_the_routes(seed_store: Path) -> None:
    page = _client(seed_store).get("/api").text
    for route in ("/api/runs", "/api/runs/{run_id}", "/api/jobs/{job_id}", "/api/compare"):
        assert f"<td>{route}</td>" in page, route


def test_an_uploaded_scenario_can_be_planned(store_copy: Path) -> None:
    c = _client(store_copy)
    token = _csrf(c)
    text = builtin_text("toy").replace("name: toy", "name: my-toy", 1)
    r = c.post(
        "/scenarios/upload",
        data={"csrf": token},
        files={"file": ("my-toy.yaml", text)},
        follow_redirects=False,
    )
    key = r.headers["location"].rsplit("/", 1)[1]
    assert f'value="upload:{key}"' in c.get("/runs/new").text
    r = c.post(
        "/runs/new",
        data={"csrf": token, "scenario": f"upload:{key}", "variant": "no-gpu"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    job = _wait_job(c, r.headers["location"].rsplit("/", 1)[1])
    assert job["status"] == "stored", job
    shown = c.get(f"/api/runs/{job['run_id']}").json()
    assert shown["scenario"] == "my-toy" and shown["options"]["variant"] == "no-gpu"
    missing = c.post("/runs/new", data={"csrf": token, "scenario": "upload:0000"})
    assert missing.status_code == 400 and "no longer here" in missing.text
