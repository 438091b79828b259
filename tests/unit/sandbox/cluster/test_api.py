"""``drdrill.sandbox.cluster.api``: the REST client of the stack, against a local HTTP server that answers as
Airflow's API does (the real API is exercised in ``tests/cluster``)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import pytest

from drdrill.sandbox.cluster import api
from drdrill.sandbox.cluster.api import ClusterAPI
from drdrill.sandbox.cluster.stack import ClusterStack

pytestmark = pytest.mark.unit


@dataclass
class FakeAirflow:
    """What the server saw, and the states it answers with."""

    requests: list[tuple[str, str, Any, str]] = field(default_factory=list)
    missing_polls: int = 2  # GET /dags/<id> is 404 this often (not parsed yet)
    states: list[str] = field(default_factory=lambda: ["queued", "running", "success"])
    slow_answers: int = 0  # this many GETs answer only after the client's timeout


@pytest.fixture
def airflow(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeAirflow, ClusterAPI]]:
    seen = FakeAirflow()
    monkeypatch.setattr(api, "POLL_SECONDS", 0.01)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            seen.requests.append((self.command, self.path, body, self.headers["Authorization"]))
            if self.command == "GET" and self.path == "/api/v2/dags/dr_backup__shop":
                if seen.missing_polls:
                    seen.missing_polls -= 1
                    return self._answer(404, {"detail": "not found"})
                return self._answer(200, {"dag_id": "dr_backup__shop"})
            if self.command == "POST" and self.path == "/api/v2/dags/~/dagRuns/list":
                return self._answer(200, {"dag_runs": [
                    {"dag_id": "dr_backup__a", "dag_run_id": "manual__1", "state": "success"},
                    {"dag_id": "dr_backup__a", "dag_run_id": "manual__0", "state": "failed"},
                    {"dag_id": "dr_backup__b", "dag_run_id": "manual__2", "state": "running"}]})
            if self.command == "POST":
                return self._answer(200, {"dag_run_id": "manual__1"})
            if seen.slow_answers:
                seen.slow_answers -= 1
                time.sleep(0.5)
            if self.path.endswith("/taskInstances"):
                return self._answer(200, {"task_instances": [{"task_id": "record", "state": "success",
                                                              "hostname": "drdrill-worker-1"}]})
            if self.path.endswith("/dagRuns/manual__1"):
                return self._answer(200, {"state": seen.states.pop(0) if len(seen.states) > 1 else seen.states[0]})
            return self._answer(200, {})

        do_GET = do_POST = do_PATCH = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    @dataclass
    class Stack:
        api_url: str

        def api_token(self) -> str:
            return "token-1"

    try:
        yield seen, ClusterAPI(cast(ClusterStack, Stack(f"http://127.0.0.1:{server.server_port}")))
    finally:
        server.shutdown()
        server.server_close()


def test_waiting_for_a_dag_polls_until_it_is_parsed_then_unpauses_it(airflow: tuple[FakeAirflow, ClusterAPI]) -> None:
    seen, client = airflow
    client.wait_for_dag("dr_backup__shop", timeout=5)
    assert [(method, path) for method, path, _, _ in seen.requests] == [
        ("GET", "/api/v2/dags/dr_backup__shop")] * 3 + [("PATCH", "/api/v2/dags/dr_backup__shop")]
    assert seen.requests[-1][2] == {"is_paused": False}
    assert {authorization for *_, authorization in seen.requests} == {"Bearer token-1"}


def test_a_dag_that_never_appears_is_an_error_after_the_timeout(airflow: tuple[FakeAirflow, ClusterAPI]) -> None:
    seen, client = airflow
    seen.missing_polls = 10**6
    with pytest.raises(api.urllib.error.HTTPError) as missing:
        client.wait_for_dag("dr_backup__shop", timeout=0.2)
    assert missing.value.code == 404 and not any(method == "PATCH" for method, *_ in seen.requests)


def test_a_triggered_run_is_followed_to_its_final_state(airflow: tuple[FakeAirflow, ClusterAPI]) -> None:
    seen, client = airflow
    run_id = client.trigger("dr_backup__shop", {"dry_run": True})
    assert run_id == "manual__1"
    assert seen.requests[0][:3] == ("POST", "/api/v2/dags/dr_backup__shop/dagRuns",
                                    {"logical_date": None, "conf": {"dry_run": True}})
    assert client.wait_finished("dr_backup__shop", run_id, timeout=5) == "success"
    assert client.task_instances("dr_backup__shop", run_id)["record"]["hostname"] == "drdrill-worker-1"


def test_a_run_still_going_after_the_timeout_names_its_state(airflow: tuple[FakeAirflow, ClusterAPI]) -> None:
    seen, client = airflow
    seen.states = ["running"]
    with pytest.raises(TimeoutError, match="still running after 0s"):
        client.wait_finished("dr_backup__shop", "manual__1", timeout=0.1)
    with pytest.raises(TimeoutError, match="record finished not within 0s.*'record': \\('success'"):
        client.wait_until("dr_backup__shop", "manual__1", lambda tis: False, 0.1, "record finished")


def test_many_runs_states_come_in_one_request_each_for_its_own_run(airflow: tuple[FakeAirflow, ClusterAPI]) -> None:
    seen, client = airflow
    states = client.run_states({"dr_backup__a": "manual__1", "dr_backup__b": "manual__2", "dr_backup__c": "manual__3"})
    assert states == {"dr_backup__a": "success", "dr_backup__b": "running"}  # not yet listed: no state
    assert [(method, body) for method, _, body, _ in seen.requests] == [
        ("POST", {"dag_ids": ["dr_backup__a", "dr_backup__b", "dr_backup__c"], "page_limit": 1000})]


def test_a_read_that_times_out_is_tried_again_and_the_last_timeout_is_raised(
        airflow: tuple[FakeAirflow, ClusterAPI], monkeypatch: pytest.MonkeyPatch) -> None:
    seen, client = airflow
    monkeypatch.setattr(api, "REQUEST_TIMEOUT", 0.2)
    seen.slow_answers = api.READ_ATTEMPTS - 1
    assert client.run_state("dr_backup__shop", "manual__1") == "queued"
    seen.slow_answers = api.READ_ATTEMPTS
    with pytest.raises(TimeoutError):
        client.run_state("dr_backup__shop", "manual__1")
