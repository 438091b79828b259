"""A task's Airflow context without a running Airflow: XCom push and pull by task id and key, the run's times.

Shared by the step tasks and the record task of one run, as Airflow's XCom table would be; whole DAG
runs through Airflow are in the integration and system tests.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

RETURN = "return_value"
RUN_AFTER = datetime(2026, 12, 6, 11, 0, tzinfo=timezone(timedelta(hours=1)))


class TaskInstance:
    """One task's view of a run's XCom store."""

    def __init__(self, task_id: str, store: dict[tuple[str, str], Any]) -> None:
        self.task_id = task_id
        self.store = store
        self.log_url = f"http://airflow.example/dags/dr_backup__shop/runs/manual__1/tasks/{task_id}?try_number=1"

    def xcom_push(self, key: str, value: Any) -> None:
        self.store[(self.task_id, key)] = value

    def xcom_pull(self, task_ids: str, key: str = RETURN) -> Any:
        return self.store.get((task_ids, key))


def context_of(task_id: str, store: dict[tuple[str, str], Any], **params: str) -> dict[str, Any]:
    dag_run = SimpleNamespace(run_after=RUN_AFTER, logical_date=None, start_date=RUN_AFTER)
    return {"ti": TaskInstance(task_id, store), "dag_run": dag_run, "run_id": "manual__1", "params": params}


def memory_bucket(monkeypatch: Any) -> Any:
    """The record task's bucket (its evidence bundle, ``airflow.connections.object_store``) as a memory store."""
    from drdrill.airflow import connections
    from drdrill.storage.memory import MemoryObjectStore

    store = MemoryObjectStore("unit-tests")
    monkeypatch.setattr(connections, "object_store", lambda storage: store)
    return store
