"""
### Point-in-time-recovery drill: `dr_pitr_drill__<target>`

Recovers the target to a chosen second (the minute before a `DELETE` without `WHERE`) and proves it:

1. **plan**: the target second (the form's, or a random second inside the recoverable window); the newest
   valid backup complete before it (`PITR_TARGET_BEFORE_BACKUP` when retention pruned it) and the archived
   binlogs from the backup's consistent point until the target (`BINLOG_GAP`, `PITR_TARGET_UNREACHED`).
2. **fetch_and_verify**: the backup's objects and the binlogs, each checked against its sha256 (`BINLOG_CORRUPT`).
3. **provision_scratch** (setup): a fresh scratch server, never the source or the replica.
4. **restore_base**: the backup, without its catch-up segment.
5. **replay**: `mariadb-binlog --start-position=<backup's position> --stop-datetime=<target>` into the scratch server.
6. **validate**: a two-sided Great Expectations suite on the heartbeat table: every row committed before the
   target is present, none from the target on (`PITR_BOUNDARY_WRONG`).
7. **measure**: RTO with the breakdown (base restore, replay, validation), replay throughput, and the RPO
   PITR achieves (target − newest recovered event).
8. **record**, then **teardown_scratch** (always), then **clean_up** (the run's work files, also when provisioning
   failed and the teardown was skipped).

Targets are whole UTC seconds: binlog events carry their statement's start second.
"""

from __future__ import annotations

from airflow.sdk import DAG, dag, get_current_context, setup, task, teardown

from drdrill.airflow.dag_defaults import dag_arguments, failure_callbacks, per_target_dags
from drdrill.config import Target
from drdrill.drills.pitr import tasks as pitr_tasks
from drdrill.drills.restore import tasks as restore_tasks


def build_pitr_dag(target: Target) -> DAG:
    """One PITR drill DAG for one target."""
    name = target.name

    @dag(schedule=target.schedules.pitr_drill, params=pitr_tasks.dag_params(),
         **dag_arguments(target, drill="pitr", doc=__doc__))
    def pitr_drill() -> None:
        @task
        def plan() -> dict:
            return pitr_tasks.plan(name, get_current_context())

        @task(retries=2)
        def fetch_and_verify(planned: dict) -> dict:
            return pitr_tasks.fetch_and_verify(name, planned, get_current_context())

        @setup
        def provision_scratch(planned: dict) -> dict:
            return restore_tasks.provision_scratch(name, planned, get_current_context())

        @task
        def restore_base(planned: dict, scratch: dict) -> dict:
            return pitr_tasks.restore_base(name, planned, scratch, get_current_context())

        @task
        def replay(planned: dict, scratch: dict) -> dict:
            return pitr_tasks.replay(name, planned, scratch, get_current_context())

        @task
        def validate(planned: dict, scratch: dict) -> dict:
            return pitr_tasks.validate(name, planned, scratch, get_current_context())

        @task(trigger_rule="all_done")
        def measure() -> dict:
            return pitr_tasks.measure(name, get_current_context())

        @task(trigger_rule="all_done", retries=0, **failure_callbacks(target, "pitr"))
        def record() -> dict:
            return pitr_tasks.record(name, get_current_context())

        @teardown
        def teardown_scratch(scratch: dict) -> dict:
            return pitr_tasks.teardown(name, scratch, get_current_context())

        @task(trigger_rule="all_done")
        def clean_up() -> dict:
            return restore_tasks.clean_up(get_current_context())

        planned = plan()
        scratch = provision_scratch(planned)
        fetch_and_verify(planned) >> scratch
        replayed = replay(planned, scratch)
        restore_base(planned, scratch) >> replayed
        validated = validate(planned, scratch)
        replayed >> validated
        measured = validated >> measure()
        measured >> record()  # outside the scratch scope, so an early failure is still recorded and alerted
        measured >> teardown_scratch(scratch) >> clean_up()

    return pitr_drill()


DAGS = per_target_dags(build_pitr_dag, drill="pitr")
