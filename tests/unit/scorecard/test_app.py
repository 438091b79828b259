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
