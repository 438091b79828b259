"""Airflow's public REST API of a ``drdrill stack``, as its admin: what the cluster tests and the fleet bench do
with the cluster (wait for a DAG and unpause it, trigger runs, read their state and task instances)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drdrill.sandbox.cluster.stack import ClusterStack

FINISHED = frozenset({"success", "failed"})
POLL_SECONDS = 0.5
REQUEST_TIMEOUT = 10  # seconds
READ_ATTEMPTS = 3
TaskInstances = dict[str, dict[str, Any]]


@dataclass
class ClusterAPI:
    """The stack's ``/api/v2`` with a token of the stack's admin (fetched at the first call)."""

    stack: ClusterStack
    token: str = ""

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """One API request; ``path`` below ``/api/v2``; the decoded JSON answer (HTTPError on an error status).

        A read that times out (an API server on a machine under load) is tried again, up to ``READ_ATTEMPTS``."""
        if not self.token:
            self.token = self.stack.api_token()
        request = urllib.request.Request(f"{self.stack.api_url}/api/v2{path}", method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"Bearer {self.token}",
                                                  "Content-Type": "application/json"})
        for attempt in range(1, READ_ATTEMPTS + 1):
            try:
                with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
                    return json.load(response)
            except TimeoutError:
                if method != "GET" or attempt == READ_ATTEMPTS:
                    raise

    def run_states(self, runs: dict[str, str]) -> dict[str, str]:
        """dag_id → state of the run ``runs[dag_id]``, for many DAGs in one request."""
        listed = self.call("POST", "/dags/~/dagRuns/list", {"dag_ids": sorted(runs), "page_limit": 1000})["dag_runs"]
        return {run["dag_id"]: run["state"] for run in listed if runs.get(run["dag_id"]) == run["dag_run_id"]}

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
                time.sleep(POLL_SECONDS)
        self.call("PATCH", f"/dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        """A new manual run of ``dag_id``; its run id."""
        return str(self.call("POST", f"/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf or {}})["dag_run_id"])

    def run_state(self, dag_id: str, run_id: str) -> str:
        """The run's state (queued, running, success, failed)."""
        return str(self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"])

    def task_instances(self, dag_id: str, run_id: str) -> TaskInstances:
        """task_id → the task instance (state, hostname, pool, ...)."""
        listed = self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
        return {ti["task_id"]: ti for ti in listed}

    def wait_until(self, dag_id: str, run_id: str, done: Callable[[TaskInstances], Any], timeout: float,
                   what: str) -> TaskInstances:
        """Poll the run's task instances until ``done(task_instances)``; TimeoutError naming them on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            instances = self.task_instances(dag_id, run_id)
            if done(instances):
                return instances
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{what} not within {timeout:.0f}s; task instances: "
                                   f"{ {task: (ti['state'], ti['hostname']) for task, ti in instances.items()} }")
            time.sleep(POLL_SECONDS)

    def wait_finished(self, dag_id: str, run_id: str, timeout: float) -> str:
        """The run's final state (success or failed); TimeoutError when it is still going after ``timeout``."""
        deadline = time.monotonic() + timeout
        while (state := self.run_state(dag_id, run_id)) not in FINISHED:
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} of {dag_id} still {state} after {timeout:.0f}s: "
                                   f"{self.task_instances(dag_id, run_id)}")
            time.sleep(POLL_SECONDS)
        return state
