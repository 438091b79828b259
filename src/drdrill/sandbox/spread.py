"""Adversarial task placement for the local cluster's tests: every drdrill task goes to one worker's own queue,
alternating along its DAG's order, so consecutive tasks of a run never share a worker.

On a real cluster the executor may place any task on any worker; a drill that passes under this placement does
not pass by luck. ``drdrill stack up --spread`` installs ``task_policy`` as an Airflow cluster policy (its
``airflow_local_settings``) and names the queues in ``DRDRILL_SPREAD_QUEUES``; without them tasks keep theirs.
"""

from __future__ import annotations

import os
from typing import Any

QUEUES_VARIABLE = "DRDRILL_SPREAD_QUEUES"
LOCAL_SETTINGS = "from drdrill.sandbox.spread import task_policy  # noqa: F401  (drdrill stack up --spread)\n"


def spread_queues() -> list[str]:
    """The workers' own queues, in order, from ``DRDRILL_SPREAD_QUEUES`` (comma-separated)."""
    return [queue.strip() for queue in os.environ.get(QUEUES_VARIABLE, "").split(",") if queue.strip()]


def queue_for(task_ids_in_order: list[str], task_id: str, queues: list[str]) -> str:
    """The queue of ``task_id``: the next queue for each next task in the DAG's order."""
    return queues[task_ids_in_order.index(task_id) % len(queues)]


def task_policy(task: Any) -> None:
    """Airflow's cluster policy hook: a drdrill task's queue by its place in its DAG."""
    queues = spread_queues()
    dag = getattr(task, "dag", None)
    if not queues or dag is None or "drdrill" not in (dag.tags or ()):
        return
    task.queue = queue_for([item.task_id for item in dag.topological_sort()], task.task_id, queues)
