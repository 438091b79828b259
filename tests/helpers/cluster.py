"""The two-worker Celery cluster for tests marked ``cluster``, and what they do with it through the REST API.

``cluster_stack`` (session) starts ``drdrill stack`` against the session's sandbox on random ports and stops it at
the end; ``cluster`` (per test) restarts whatever an earlier test killed. The stack runs with spread placement
(``drdrill.sandbox.spread``): each next task of a drill goes to the other worker's own queue, so a test that needs
tasks on both workers never depends on chance.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from drdrill.ports import port_open
from drdrill.sandbox.cluster.stack import WORKERS, ClusterStack, StackPorts

FINISHED = {"success", "failed"}


def _free_port_base() -> int:
    for _ in range(200):
        base = random.randrange(20000, 32000, 10)
        ports = StackPorts.from_base(base)
        if not any(port_open(port) for port in (ports.postgres, ports.redis, ports.api)):
            return base
    raise RuntimeError("no free port range found for the test cluster")


@dataclass
class ClusterAPI:
    """Airflow's public REST API of the stack, with a token of the stack's admin."""

    stack: ClusterStack
    token: str = ""

    def call(self, method: str, path: str, body: Any = None) -> Any:
        if not self.token:
            self.token = self.stack.api_token()
        request = urllib.request.Request(f"{self.stack.api_url}/api/v2{path}", method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"Bearer {self.token}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> None:
        """Until the DAG processor has parsed ``dag_id``; then unpause it (DAGs start paused)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.call("GET", f"/dags/{dag_id}")
                break
            except urllib.error.HTTPError as exc:
                if exc.code != 404 or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        self.call("PATCH", f"/dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        """A new manual run of ``dag_id``; its run id."""
        return str(self.call("POST", f"/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf or {}})["dag_run_id"])

    def run_state(self, dag_id: str, run_id: str) -> str:
        return str(self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"])

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
        """task_id → the task instance (state, hostname, ...)."""
        listed = self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
        return {ti["task_id"]: ti for ti in listed}

    def wait_until(self, dag_id: str, run_id: str, done: Any, timeout: float, what: str) -> dict[str, dict[str, Any]]:
        """Poll the run's task instances until ``done(task_instances)``; AssertionError with them on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            instances = self.task_instances(dag_id, run_id)
            if done(instances):
                return instances
            time.sleep(0.5)
        raise AssertionError(f"{what} not within {timeout:.0f}s; task instances: "
                             f"{ {task: (ti['state'], ti['hostname']) for task, ti in instances.items()} }")

    def wait_finished(self, dag_id: str, run_id: str, timeout: float) -> str:
        """The run's final state (success or failed)."""
        deadline = time.monotonic() + timeout
        while (state := self.run_state(dag_id, run_id)) not in FINISHED:
            if time.monotonic() > deadline:
                raise AssertionError(f"run {run_id} of {dag_id} still {state} after {timeout:.0f}s: "
                                     f"{self.task_instances(dag_id, run_id)}")
            time.sleep(0.5)
        return state


@pytest.fixture(scope="session")
def cluster_stack(sandbox: Any) -> Iterator[ClusterStack]:
    """The stack on random ports in a temp directory the postgres user can reach, against the session's sandbox."""
    directory = Path(tempfile.mkdtemp(prefix="drdrill-cluster-"))
    directory.chmod(0o711)
    stack = ClusterStack(directory=directory / "stack", port_base=_free_port_base(),
                         connections=sandbox.sandbox.airflow_connections(), base_config=sandbox.config_path,
                         spread=True)
    try:
        stack.up(timeout=180)  # a shared 2-core machine under load takes a while
        yield stack
    finally:
        stack.down(purge=True)
        directory.rmdir()


@pytest.fixture
def cluster(cluster_stack: ClusterStack) -> ClusterAPI:
    """The running stack's API; a component an earlier test killed is started again first."""
    if any(daemon.pid() is None for daemon in cluster_stack.components.values()) or \
            set(cluster_stack.registered_workers()) != set(WORKERS):
        cluster_stack.up()
    return ClusterAPI(cluster_stack)
