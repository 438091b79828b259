"""
### RPO monitor: `dr_rpo_monitor__<target>`

The *predicted* RPO, as a time series: how far the binlog archive trails the source (everything after the
newest archived event would be lost if the source died now), and how old the newest valid full backup is.
The drills measure the *actual* RPO; this watches it between drills.

1. **sample**: archive lag (0 when the archive holds the source's current GTID position) and backup age,
   appended to the results database (`drdrill rpo`).
2. **judge**: fails the run and alerts Slack when the lag exceeds the target's RPO objective
   (`ARCHIVE_LAGGING`) or the newest valid backup is older than `restore_drill.max_backup_age` (`BACKUP_STALE`).
"""

from __future__ import annotations

from airflow.sdk import DAG, dag, get_current_context, task

from drdrill.drills.archive import tasks as archive_tasks
from drdrill.airflow.dag_defaults import dag_arguments, failure_callbacks, per_target_dags
from drdrill.config import Target


def build_monitor_dag(target: Target) -> DAG:
    """One RPO monitor DAG for one target."""
    name = target.name

    @dag(schedule=target.schedules.rpo_monitor,
         **dag_arguments(target, drill="rpo_monitor", doc=__doc__))
    def rpo_monitor() -> None:
        @task
        def sample() -> dict:
            return archive_tasks.sample_rpo(name, get_current_context())

        @task(retries=0, **failure_callbacks(target, "rpo_monitor"))
        def judge(reading: dict) -> dict:
            return archive_tasks.judge_rpo(name, reading, get_current_context())

        judge(sample())

    return rpo_monitor()


def dags() -> dict[str, DAG]:
    """Every rpo_monitor DAG for the configured targets, by target name; a broken target gets a failing one."""
    return per_target_dags(build_monitor_dag, drill="rpo_monitor")
