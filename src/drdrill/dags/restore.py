"""
### Restore drill: `dr_restore_drill__<target>`

Proves that a backup restores into a usable database with the right data, and measures how long it takes.

1. **select_backup**: the newest usable (proven or valid) backup, a given backup id, or a random usable one from
   the last N days (as AWS Backup's restore testing does). `BACKUP_STALE` when the newest is older than the
   target allows; `NEWER_BACKUPS_UNUSABLE` (red) names each newer backup that could not be used, and why.
2. **recover**: the steps that share the fetched files and the scratch server run in this one task, on one
   worker (a cluster may place each task on any worker; these need what the previous step left on its disk):
   - **fetch_and_verify**: the manifest's digest (and signature) are checked, then every object is downloaded
     and checked against the manifest's size and sha256 *before* anything is restored. A manifest changed
     after it was written is `MANIFEST_CORRUPT` (so is one selected by id). A backup with broken objects is
     quarantined (a refused manifest is not); when it was the newest, the next newest usable one is fetched
     instead (and named in `NEWER_BACKUPS_UNUSABLE`).
   - **provision_scratch**: a fresh `mariadbd` the drill creates (own datadir, port, generated password, small
     memory), or the configured scratch connection. **Safety interlock**: the drill refuses any server that is
     the target's source or replica, compared by server identity.
   - **restore**: with the engine's own tools; a dump without its completion trailer is `ARCHIVE_TRUNCATED`
     even if the client exits 0, a client error names the line. Then the binlog catch-up segment.
   - **validate**: a Great Expectations suite generated from the manifest (`include/expectations/`), run as
     SQL in the restored server: tables, row counts, checksums, primary keys, views/routines/triggers/events,
     and the RPO (newest heartbeat vs the declared disaster). Results and Data Docs go to S3 next to the backup.
   - the teardown, whatever failed: the scratch server and the run's work files are removed (the server is
     kept only if asked). A worker that dies mid-task leaves its debris to the next drill on that worker, which
     removes what dead runs left first (`drdrill scratch list` shows it).
   Each step's result and findings reach XCom as the step ends.
3. **measure**: RTO (declared disaster → validated server) with the stage breakdown, RPO, throughputs;
   judged against the target's objectives (`RTO_EXCEEDED`, `RPO_EXCEEDED`).
4. **record**: the drill history, and the verdict in the backup's `proof.json` (it becomes *proven* or
   *failed drill*); fails the run and alerts Slack unless the verdict is *passed*. It runs whatever failed
   before it, and releases the run's lease on the backup.

Trigger form: which backup, keep the scratch server for inspection, objective overrides, the disaster time.
"""

from __future__ import annotations

from airflow.sdk import DAG, get_current_context, task

from drdrill.airflow.assets import after_backup_schedule
from drdrill.airflow.dag_defaults import dag_arguments, failure_callbacks, per_target_dags
from drdrill.airflow.rto_budget import BudgetedDAG
from drdrill.config import Target
from drdrill.drills.restore import tasks as restore_tasks


def build_restore_dag(target: Target) -> DAG:
    """One restore drill DAG for one target."""
    name = target.name

    with BudgetedDAG(
        schedule=after_backup_schedule(target, target.schedules.restore_drill, target.restore_drill.after_backup),
        params=restore_tasks.dag_params(),
        **dag_arguments(target, drill="restore", doc=__doc__),
    ) as restore_drill:
        @task
        def select_backup() -> dict:
            return restore_tasks.select_backup(name, get_current_context())

        @task(retries=0)
        def recover(selected: dict) -> dict:
            return restore_tasks.recover(name, selected, get_current_context())

        @task(trigger_rule="all_done")
        def measure() -> dict:
            return restore_tasks.measure(name, get_current_context())

        @task(trigger_rule="all_done", retries=0, **failure_callbacks(target, "restore"))
        def record() -> dict:
            return restore_tasks.record(name, get_current_context())

        recover(select_backup()) >> measure() >> record()

    return restore_drill


def dags() -> dict[str, DAG]:
    """Every restore DAG for the configured targets, by target name; a broken target gets a failing one."""
    return per_target_dags(build_restore_dag, drill="restore")
