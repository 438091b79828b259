"""The DR scorecard in a real Airflow API server (SimpleAuthManager) and its UI, driven by headless Chromium.

The history holds drill records of the six drill kinds of the target ``shop`` (written as the drills write them);
the API server runs with its own Airflow home (a copy of the session's migrated metadata DB), this checkout's
plugins folder and a drills YAML pointing at that history.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from drdrill.airflow.rest_api import api_token
from drdrill.daemon import Daemon
from drdrill.drill_kinds import drill_names
from drdrill.history import DrillRecord, record_drill
from drdrill.storage.evidence import local_trigger, with_evidence
from drdrill.storage.layout import TargetLayout
from drdrill.storage.s3 import S3ObjectStore

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
USER = "admin"
RESTORE_RTOS = (410.0, 380.0, 2100.0, 350.0)  # the third run is red: RTO over the 30 min objective
BUCKET, FOREIGN_BUCKET = "drdrill-backups", "drdrill-scorecard-foreign"
BACKUP_ID = "20261205T000000Z-aaaaaa"
LAYOUT = TargetLayout("tests", "shop")


@dataclass(frozen=True)
class ScorecardServer:
    url: str
    password: str
    history_url: str


def _write_history(url: str, store: S3ObjectStore) -> None:
    """Records of all six kinds for ``shop`` (four restores for the chart), the way the drills record them; the
    last restore with its evidence bundle, GX results and Data Docs stored in S3 as the drills store them."""
    start = datetime.now(timezone.utc) - timedelta(days=2)
    gx_folder = f"{LAYOUT.full_root}{BACKUP_ID}/drills/run1/"
    store.put_bytes(gx_folder + "validation.json", b'{"success": true}')
    store.put_bytes(gx_folder + "data-docs/index.html", b"<html><body><h1>Data Docs of run1</h1></body></html>")
    store.put_bytes(LAYOUT.manifest_key(BACKUP_ID), b'{"not": "an artifact of any run"}')

    def record(drill: str, hours: float, verdict: str = "passed", **values: object) -> None:
        begin = start + timedelta(hours=hours)
        drill_record = DrillRecord(f"scheduled__{begin.isoformat()}", "shop", drill, verdict, begin.isoformat(),
                                   (begin + timedelta(minutes=5)).isoformat(), **values)  # type: ignore[arg-type]
        if values.get("details", {}).get("results_uri", "").startswith(f"s3://{BUCKET}/{gx_folder}"):  # type: ignore[attr-defined]
            drill_record, _ = with_evidence(lambda: store, LAYOUT, drill_record, [], trigger=local_trigger())
        record_drill(url, drill_record)

    for kind in drill_names():
        record(kind, 0, backup_id=BACKUP_ID if kind == "backup" else None)
    for index, rto in enumerate(RESTORE_RTOS):
        red = rto > 1800
        record("restore", 2 + 6 * index, "failed" if red else "passed", backup_id=BACKUP_ID,
               rto_seconds=rto, rto_objective_seconds=1800.0, rpo_seconds=40.0 + index, rpo_objective_seconds=900.0,
               stage_seconds={"download": 20.0, "restore": rto - 60, "validate": 40.0},
               details={"pitr_window_start": start.isoformat(), "pitr_window_end": (start + timedelta(hours=24)).isoformat(),
                        "results_uri": f"s3://{BUCKET}/{gx_folder if index == 3 else 'tests/shop/gx/'}validation.json",
                        "data_docs_uri": f"s3://{BUCKET}/{gx_folder}data-docs/index.html" if index == 3 else None},
               findings=[{"code": "RTO_EXCEEDED", "message": "took 35 min", "fix": "restore faster", "evidence": {}}]
               if red else [])
    record("pitr", 30, "could_not_verify", findings=[{"code": "COULD_NOT_VERIFY", "message": "archive gap",
                                                     "fix": "re-run the archive", "evidence": {}}],
           details={"results_uri": f"s3://{FOREIGN_BUCKET}/secret.json"})  # another bucket: never read


def _get(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _healthy(url: str) -> bool:
    try:
        return _get(f"{url}/api/v2/monitor/health")[0] == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def scorecard_server(airflow_db: Path, moto_s3: Any, tmp_path_factory: pytest.TempPathFactory
                     ) -> Iterator[ScorecardServer]:
    from drdrill.ports import find_free_port

    home = tmp_path_factory.mktemp("scorecard-airflow")
    with sqlite3.connect(airflow_db / "airflow.db") as source, sqlite3.connect(home / "airflow.db") as copy:
        source.backup(copy)  # consistent even while another test writes the session's DB
    history_url = f"sqlite:///{home}/history.sqlite"
    for bucket in (BUCKET, FOREIGN_BUCKET):
        moto_s3.client.create_bucket(Bucket=bucket)
    moto_s3.client.put_object(Bucket=FOREIGN_BUCKET, Key="secret.json", Body=b'{"secret": true}')
    _write_history(history_url, S3ObjectStore(moto_s3.client, BUCKET))
    config = yaml.safe_load(Path(os.environ["DRDRILL_CONFIG"]).read_text())
    config["settings"]["history_url"] = history_url
    (home / "drills.yaml").write_text(yaml.safe_dump(config))
    password = secrets.token_urlsafe(12)
    (home / "passwords.json").write_text(json.dumps({USER: password}))
    port = find_free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW__", "AIRFLOW_CONN_"))}
    env.update({
        "AIRFLOW_HOME": str(home), "DRDRILL_CONFIG": str(home / "drills.yaml"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"), "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32), "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API__HOST": "127.0.0.1", "AIRFLOW__API__PORT": str(port), "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW_CONN_DRDRILL_S3": json.dumps(moto_s3.connection()),  # the connection the drills' storage names
    })
    daemon = Daemon("scorecard-api-server", home)
    url = f"http://127.0.0.1:{port}"
    daemon.start([str(Path(sys.executable).parent / "airflow"), "api-server"], lambda: _healthy(url), timeout=90, env=env)
    try:
        yield ScorecardServer(url, password, history_url)
    finally:
        daemon.stop(timeout=3, group=True)  # nothing to keep: no graceful shutdown needed


def test_anonymous_requests_are_refused_and_a_token_reads_the_api(scorecard_server: ScorecardServer) -> None:
    url = scorecard_server.url
    for path in ("/drdrill/", "/drdrill/api/fleet", "/drdrill/api/targets/shop", "/drdrill/api/targets/shop/runs",
                 "/drdrill/openapi.json", "/drdrill/docs"):
        assert _get(url + path)[0] == 401, path
        assert _get(url + path, token="not-a-jwt")[0] == 403, path
    token = api_token(url, USER, scorecard_server.password)
    status, body = _get(f"{url}/drdrill/api/fleet", token)
    assert status == 200
    (shop,) = json.loads(body)["targets"]
    assert set(shop["drills"]) == set(drill_names()) and shop["drills"]["pitr"]["verdict"] == "could_not_verify"
    assert shop["owner"] and shop["tags"] == ["test"] and shop["objectives"]["rto_seconds"] == 1800
    assert [f["code"] for f in shop["open_findings"]] == ["COULD_NOT_VERIFY"]
    runs = json.loads(_get(f"{url}/drdrill/api/targets/shop/runs?limit=3&offset=3", token)[1])
    assert (runs["total"], len(runs["runs"])) == (11, 3)


def test_the_api_is_described_by_its_openapi_document_through_the_api_server(scorecard_server: ScorecardServer) -> None:
    url, token = scorecard_server.url, api_token(scorecard_server.url, USER, scorecard_server.password)
    schema = json.loads(_get(f"{url}/drdrill/openapi.json", token)[1])
    answers = {path: operation["get"]["responses"]["200"]["content"] for path, operation in schema["paths"].items()}
    for path, model in (("/api/fleet", "Fleet"), ("/api/targets/{target}", "TargetSummary"),
                        ("/api/targets/{target}/runs", "RunsPage")):
        assert answers[path]["application/json"]["schema"] == {"$ref": f"#/components/schemas/{model}"}, path
    assert {"text/html", "application/json"} <= set(answers["/api/targets/{target}/runs/{record_id}/{artifact}"])
    assert "/api/targets/{target}/runs/{record_id}/data-docs/{page}" in answers
    fleet_row = schema["components"]["schemas"]["FleetRow"]["properties"]
    assert {"newest_valid_backup", "newest_proven_backup", "open_findings", "pitr_window"} <= set(fleet_row)
    status, docs = _get(f"{url}/drdrill/docs", token)
    assert status == 200 and b"/drdrill/openapi.json" in docs  # Swagger UI on the plugin's own document
    airflow_schema = json.loads(_get(f"{url}/openapi.json", token)[1])  # Airflow's own describes no mounted app
    assert airflow_schema["paths"] and not [path for path in airflow_schema["paths"] if "drdrill" in path]


def _get_typed(url: str, token: str) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


def test_a_runs_evidence_and_gx_results_stream_from_its_store_and_nothing_else(scorecard_server: ScorecardServer) -> None:
    url, token = scorecard_server.url, api_token(scorecard_server.url, USER, scorecard_server.password)
    runs = json.loads(_get(f"{url}/drdrill/api/targets/shop/runs?limit=50", token)[1])["runs"]
    proven = next(run for run in runs if run["links"].get("evidence_html"))
    pitr = next(run for run in runs if run["drill"] == "pitr")
    assert set(proven["links"]) == {"evidence_html", "evidence_json", "gx_results", "data_docs"}
    base = f"{url}/drdrill/api/targets/shop/runs/{proven['id']}"
    for path in ("evidence.html", "data-docs/"):
        assert _get(f"{base}/{path}")[0] == 401, path  # behind Airflow's auth like the rest
    status, kind, page = _get_typed(f"{base}/evidence.html", token)
    assert (status, kind) == (200, "text/html; charset=utf-8") and b"shop" in page
    status, kind, bundle = _get_typed(f"{base}/evidence.json", token)
    assert (status, kind) == (200, "application/json") and json.loads(bundle)["sha256"] == proven["details"]["evidence_sha256"]
    assert _get_typed(f"{base}/validation.json", token)[:2] == (200, "application/json")
    status, kind, docs = _get_typed(f"{url}/drdrill/{proven['links']['data_docs']}", token)
    assert (status, kind) == (200, "text/html; charset=utf-8") and b"Data Docs of run1" in docs
    # only what the run's record names: no other key under it, no other bucket, no other target's run
    for refused in (f"{base}/data-docs/..%2F..%2Fmanifest.json", f"{base}/data-docs/../../manifest.json",
                    f"{base}/manifest.json", f"{url}/drdrill/api/targets/shop/runs/{pitr['id']}/validation.json",
                    f"{url}/drdrill/api/targets/other/runs/{proven['id']}/evidence.html"):
        status, _, body = _get_typed(refused, token)
        assert status in (404, 422) and b"secret" not in body and b"an artifact" not in body, refused


def test_the_scorecard_renders_inside_the_airflow_ui(scorecard_server: ScorecardServer, tmp_path: Path) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.goto(f"{scorecard_server.url}/auth/login/")
            page.fill("input[name=username]", USER)
            page.fill("input[name=password]", scorecard_server.password)
            page.click("button[type=submit]")
            page.wait_for_url(lambda address: "/auth/login" not in address, timeout=30_000)
            page.get_by_role("button", name="Browse").click()  # the view is in the navigation's Browse menu
            entry = page.get_by_role("menuitem", name="DR scorecard")
            entry.wait_for(timeout=30_000)
            entry.click()
            try:
                page.wait_for_url("**/plugin/drdrill-scorecard", timeout=15_000)
            except PlaywrightTimeout:  # a click a busy page's menu swallowed: the entry is there, open its address
                page.goto(f"{scorecard_server.url}/plugin/drdrill-scorecard")
            frame = page.frame_locator("iframe")
            frame.locator("body[data-ready=fleet]").wait_for(timeout=30_000)
            row = frame.locator("#fleet tr[data-target=shop]")
            assert row.locator("td[data-kind]").count() == len(drill_names())
            assert row.locator("td[data-kind=pitr]").get_attribute("data-verdict") == "could_not_verify"
            def colour(kind: str) -> str:
                return row.locator(f"td[data-kind={kind}] .badge").evaluate("node => getComputedStyle(node).backgroundColor")

            assert "as of" in row.locator("td.window").inner_text()  # the recoverable window of the last restore
            assert colour("backup") == "rgb(26, 127, 55)" and colour("pitr") not in (colour("backup"), "")  # never green
            page.screenshot(path=str(tmp_path / "fleet.png"), full_page=True)

            row.locator("a", has_text="shop").first.click()
            frame.locator("body[data-ready=target]").wait_for(timeout=30_000)
            assert frame.locator("#rto-chart circle.point").count() == len(RESTORE_RTOS)
            assert frame.locator("#rto-chart path.objective").count() == 1
            assert frame.locator("#history tr[data-run]").count() == 11
            assert frame.locator("#stage-table tr").count() == 3
            assert frame.locator("#history a[data-artifact=gx_results]").count() == len(RESTORE_RTOS) + 1  # and the PITR run's, refused on fetch
            link = frame.locator("#history tr[data-drill=restore] a").first.get_attribute("href") or ""
            assert link.startswith("../dags/dr_restore_drill__shop/runs/")
            page.screenshot(path=str(tmp_path / "target.png"), full_page=True)
            frame.locator("#history a[data-artifact=evidence_html]").click()  # the run's stored evidence page
            frame.locator("h1", has_text="Evidence:").wait_for(timeout=30_000)
            assert frame.locator("table", has_text=BACKUP_ID).count() >= 1
            assert any(f.url.endswith("/evidence.html") and "/drdrill/api/targets/shop/runs/" in f.url for f in page.frames)
            page.go_back()  # the scorecard again; its Airflow-run links open the run in the Airflow UI around it
            frame.locator("body[data-ready=target]").wait_for(timeout=30_000)
            frame.locator("#history tr[data-drill=restore] a[data-airflow-run]").first.click()
            page.wait_for_url("**/dags/dr_restore_drill__shop/runs/**", timeout=30_000)
        finally:
            browser.close()
    readme_copy = ROOT / "docs" / "scorecard.png"  # the README's; refreshed on demand, so a test run leaves the tree clean
    if os.environ.get("DRDRILL_UPDATE_SCREENSHOT") or not readme_copy.exists():
        shutil.copy(tmp_path / "target.png", readme_copy)
