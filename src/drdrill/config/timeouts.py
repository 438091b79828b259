"""Each drill task's bound (Airflow's ``execution_timeout``) and each run's (``dagrun_timeout``), from the target's
``timeouts`` section and objectives.

A restore, PITR or failover task cannot usefully run much past the RTO objective (the drill is red by then), so
their bound defaults to 1.5 × the RTO (at least 10 minutes). Planning, measuring and recording are short. A run
may take what its tasks may take (each try), plus the wait for a conflicting drill and a production approval.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from drdrill.config.models import Target

RECOVERY_FACTOR = 1.5
RECOVERY_FLOOR = timedelta(minutes=10)
APPROVE_TASK = "approve"  # the production failover drill's approval (``airflow.approval``), bound by its own timeout
SHORT_TASKS = frozenset({"preflight", "select_backup", "plan", "measure", "retention", "record", "sample", "judge"})
WORK_KEYS = {"backup": "backup", "restore": "recovery", "pitr": "recovery", "failover": "recovery",
             "binlog_archive": "archive", "rpo_monitor": "short"}


def recovery_bound(target: Target) -> timedelta:
    """``timeouts.recovery``, else 1.5 × the RTO objective, at least 10 minutes."""
    return target.timeouts.recovery or max(target.objectives.rto * RECOVERY_FACTOR, RECOVERY_FLOOR)


def timeout_key(drill: str, task_id: str) -> str:
    """The config key that bounds ``task_id`` of a ``drill`` run (what to raise when it legitimately takes longer)."""
    if task_id == APPROVE_TASK:
        return "failover_drill.approval_timeout"
    return "timeouts.short" if task_id in SHORT_TASKS else f"timeouts.{WORK_KEYS[drill]}"


def task_timeout(target: Target, drill: str, task_id: str) -> timedelta:
    """How long one try of ``task_id`` may run."""
    timeouts = target.timeouts
    if task_id == APPROVE_TASK:
        return target.failover_drill.approval_timeout + timeouts.short
    key = timeout_key(drill, task_id).removeprefix("timeouts.")
    return recovery_bound(target) if key == "recovery" else getattr(timeouts, key)


def run_timeout(target: Target, drill: str, tasks: Iterable[tuple[str, int]]) -> timedelta:
    """A run's bound: the wait for a conflicting drill plus every task's bound, once per try (``tasks``: id, retries)."""
    return target.timeouts.lock_wait + sum(
        (task_timeout(target, drill, task_id) * (1 + retries) for task_id, retries in tasks), timedelta(0))
