"""
### Point-in-time-recovery drill: `dr_pitr_drill__<target>`

Recovers the target to a chosen second (the minute before a `DELETE` without `WHERE`) and proves it:

1. **plan**: the target second (the form's, or a random second inside the recoverable window); the newest
   valid backup complete before it (`PITR_TARGET_BEFORE_BACKUP` when retention pruned it) and the archived
   binlogs from the backup's consistent point until the target (`BINLOG_GAP`, `PITR_TARGET_UNREACHED`).
2. **recover**: the steps that share the fetched files and the scratch server, in this one task on one worker:
   - **fetch_and_verify**: the backup's objects and the binlogs, each checked against its sha256 (`BINLOG_CORRUPT`).
   - **provision_scratch**: a fresh scratch server, never the source or the replica.
   - **restore_base**: the backup, without its catch-up segment.
   - **replay**: `mariadb-binlog --start-position=<backup's position> --stop-datetime=<target>` into the scratch server.
   - **validate**: a two-sided Great Expectations suite on the heartbeat table: every row committed before the
     target is present, none from the target on (`PITR_BOUNDARY_WRONG`).
   - the teardown, whatever failed (scratch server and work files; a dead worker's are removed by the next drill there).
3. **measure**: RTO with the breakdown (base restore, replay, validation), replay throughput, and the RPO
   PITR achieves (target − newest recovered event).
4. **record**: the history and the alert, whatever failed before it; releases the run's leases.

Targets are whole UTC seconds: binlog events carry their statement's start second.
"""

from __future__ import annotations

from airflow.sdk import DAG, get_current_context, task

from drdrill.airflow.dag_defaults import dag_arguments, failure_callbacks, per_target_dags
from drdrill.airflow.rto_budget import BudgetedDAG
from drdrill.config import Target
from drdrill.drills.pitr import tasks as pitr_tasks


def build_pitr_dag(target: Target) -> DAG:
    """One PITR drill DAG for one target."""
    name = target.name

    with BudgetedDAG(schedule=target.schedules.pitr_drill, params=pitr_tasks.dag_params(),
                     **dag_arguments(target, drill="pitr", doc=__doc__)) as pitr_drill:
        @task
        def plan() -> dict:
            return pitr_tasks.plan(name, get_current_context())

        @task(retries=0)
        def recover(planned: dict) -> dict:
            return pitr_tasks.recover(name, planned, get_current_context())

        @task(trigger_rule="all_done")
        def measure() -> dict:
            return pitr_tasks.measure(name, get_current_context())

        @task(trigger_rule="all_done", retries=0, **failure_callbacks(target, "pitr"))
        def record() -> dict:
            return pitr_tasks.record(name, get_current_context())

        recover(plan()) >> measure() >> record()  # record runs whatever failed, so an early failure is still alerted

    return pitr_drill


def dags() -> dict[str, DAG]:
    """Every pitr DAG for the configured targets, by target name; a broken target gets a failing one."""
    return per_target_dags(build_pitr_dag, drill="pitr")
