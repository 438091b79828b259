"""The scorecard's app in process (Starlette's test client): every route behind the given guard, filters, 404s."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from fastapi import Depends, Header, HTTPException
from fastapi.testclient import TestClient

from drdrill.errors import ConfigError
from drdrill.history import DrillRecord, record_drill
from drdrill.scorecard.app import create_app
from drdrill.scorecard.queries import TargetInfo

pytestmark = pytest.mark.unit
ROUTES = ("/", "/api/fleet", "/api/targets/shop", "/api/targets/shop/runs")


def _guard(x_user: str | None = Header(None)) -> None:
    if x_user != "dba":
        raise HTTPException(401, "Not authenticated")


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    url = f"sqlite:///{tmp_path}/history.sqlite"
    now = datetime.now(timezone.utc).isoformat()
    for target in ("shop", "crm"):
        record_drill(url, DrillRecord(f"manual__{target}", target, "backup", "passed", now, now, backup_id="b1"))
    targets = [TargetInfo("shop", "dba-team", ("prod",), 1800.0, 900.0), TargetInfo("crm", "sales", ("test",))]
    return TestClient(create_app(lambda: (url, targets), [Depends(_guard)]))


def test_every_route_runs_the_guard(client: TestClient) -> None:
    for route in ROUTES:
        assert client.get(route).status_code == 401, route
        assert client.get(route, headers={"X-User": "dba"}).status_code == 200, route
    page = client.get("/", headers={"X-User": "dba"})
    assert page.headers["content-type"].startswith("text/html") and "api/fleet" in page.text


def test_the_fleet_filters_by_tag_and_owner(client: TestClient) -> None:
    def names(**params: str) -> list[str]:
        return [row["target"] for row in client.get("/api/fleet", params=params, headers={"X-User": "dba"}).json()["targets"]]

    assert names() == ["shop", "crm"]
    assert names(tag="prod") == ["shop"] and names(owner="sales") == ["crm"] and names(tag="prod", owner="sales") == []


def test_unknown_targets_and_bad_pages_are_refused(client: TestClient) -> None:
    headers = {"X-User": "dba"}
    assert client.get("/api/targets/nobody", headers=headers).status_code == 404
    assert client.get("/api/targets/shop/runs", params={"limit": 501}, headers=headers).status_code == 422
    assert client.get("/api/targets/shop", headers=headers).json()["info"]["owner"] == "dba-team"


def test_an_unreadable_drills_yaml_is_a_503_with_the_fix() -> None:
    def broken() -> tuple[str, list[TargetInfo]]:
        raise ConfigError("drills.yaml", "targets", "is not a list.", "Make it a list of targets.")

    answer = TestClient(create_app(broken)).get("/api/fleet")
    assert answer.status_code == 503
    assert answer.json() == {"detail": "drills.yaml: targets: is not a list.", "fix": "Make it a list of targets."}


def test_a_runs_artifacts_are_the_objects_its_record_names_and_no_other(tmp_path: Path) -> None:
    from drdrill.storage.memory import MemoryObjectStore

    url, now = f"sqlite:///{tmp_path}/history.sqlite", datetime.now(timezone.utc).isoformat()
    store = MemoryObjectStore("backups")
    for key, body in (("run/evidence.html", b"<h1>Evidence</h1>"), ("run/evidence.json", b"{}"),
                      ("run/data-docs/index.html", b"<p>docs</p>"), ("run/data-docs/v/1.html", b"<p>one</p>"),
                      ("run/secret.json", b"not an artifact")):
        store.put_bytes(key, body)
    details = {"evidence_html_key": "run/evidence.html", "evidence_key": "run/evidence.json",
               "results_uri": "s3://elsewhere/run/secret.json", "data_docs_uri": "s3://backups/run/data-docs/index.html"}
    record_drill(url, DrillRecord("manual__r", "shop", "restore", "passed", now, now, details=details))
    targets = [TargetInfo("shop")]
    client = TestClient(create_app(lambda: (url, targets), [Depends(_guard)], stores=lambda target: store))
    headers = {"X-User": "dba"}
    (run,) = client.get("/api/targets/shop/runs", headers=headers).json()["runs"]
    assert set(run["links"]) == {"evidence_html", "evidence_json", "gx_results", "data_docs"}
    assert client.get(run["links"]["evidence_html"]).status_code == 401
    page = client.get(run["links"]["evidence_html"], headers=headers)
    assert (page.status_code, page.headers["content-type"], page.text) == (200, "text/html; charset=utf-8", "<h1>Evidence</h1>")
    assert "sandbox" in page.headers["content-security-policy"] and "allow-scripts" not in page.headers["content-security-policy"]
    assert client.get(run["links"]["evidence_json"], headers=headers).headers["content-type"] == "application/json"
    assert client.get(f"{run['links']['data_docs']}v/1.html", headers=headers).text == "<p>one</p>"
    assert client.get(run["links"]["data_docs"], headers=headers).text == "<p>docs</p>"
    base = f"/api/targets/shop/runs/{run['id']}"
    for refused in (run["links"]["gx_results"], f"{base}/data-docs/../secret.json", f"{base}/data-docs/..%2Fsecret.json",
                    f"{base}/secret.json", f"/api/targets/crm/runs/{run['id']}/evidence.html", f"{base}9/evidence.html"):
        answer = client.get(refused, headers=headers)
        assert answer.status_code in (404, 422) and "not an artifact" not in answer.text, refused
    no_store = TestClient(create_app(lambda: (url, targets)))
    assert no_store.get(run["links"]["evidence_html"]).status_code == 404
