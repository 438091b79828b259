"""
### Backup drill: `dr_backup__<target>`

Takes a real backup of the target and proves it landed intact:

1. **preflight**: the source answers, binary logging is on, the databases exist, the engine's tools are
   installed, the work directory has room, the bucket is reachable. Nothing is written before this passes.
2. **dump_and_upload**: the engine (`mariadb-dump`, `mydumper` or `mariabackup`) streams through zstd and
   sha256 straight into an S3 multipart upload: no local copy, memory flat whatever the database size.
3. **write_manifest**: per-table row counts and checksums and the schema inventory are read from the
   source in one consistent snapshot; the binlog between the backup's point and the facts' point is
   stored with the backup; the manifest is written **last** (no manifest, no backup), sealed with its
   digest and, with `storage.manifest_signing_conn_id`, signed.
4. **verify**: every object's size and SHA-256 checksum, as S3 keeps them (sent with each part at upload), are
   checked against the manifest without downloading anything; when the target's last deep verify is older than
   `verify.deep_every` (or the form asks), every object is read back and hashed instead. A mismatch quarantines
   the backup. A verified backup updates the target's backup **asset**.
5. **retention**: deletes backups outside the target's retention, never the newest valid one.
6. **record**: writes the verdict, timings and findings to the drill history; fails the run (and
   posts to Slack) when the verdict is not *passed*.

Trigger form: choose another engine for this run, a deep verify, or a dry run (preflight only).
Targets, schedules and retention come from `include/drills.yaml`.
"""

from __future__ import annotations

from airflow.sdk import DAG, Param, dag, get_current_context, task

from drdrill.drills.backup import tasks as backup_tasks
from drdrill.airflow.assets import backup_asset
from drdrill.airflow.dag_defaults import dag_arguments, failure_callbacks, per_target_dags
from drdrill.config import Target
from drdrill.engines import engine_names

ENGINE_CHOICES = ["configured", *engine_names()]


def build_backup_dag(target: Target) -> DAG:
    """One backup DAG for one target."""
    name = target.name
    asset = backup_asset(target)

    @dag(
        schedule=target.schedules.backup,
        params={
            "engine": Param("configured", type="string", enum=ENGINE_CHOICES, title="Backup engine",
                            description="'configured' uses the target's engine from drills.yaml."),
            "dry_run": Param(False, type="boolean", title="Dry run",
                             description="Run the preflight checks only: nothing is dumped, uploaded or deleted."),
            "deep_verify": Param(False, type="boolean", title="Deep verify",
                                 description="Re-read and hash every byte of the new backup, whatever "
                                 "verify.deep_every says (otherwise S3's checksums are checked)."),
        },
        **dag_arguments(target, drill="backup", doc=__doc__),
    )
    def backup_drill() -> None:
        @task
        def preflight() -> dict:
            return backup_tasks.preflight(name, get_current_context())

        @task
        def dump_and_upload(plan: dict) -> dict:
            return backup_tasks.dump_and_upload(name, plan, get_current_context())

        @task
        def write_manifest(plan: dict, dumped: dict) -> dict:
            return backup_tasks.write_manifest(name, plan, dumped, get_current_context())

        @task(outlets=[asset])
        def verify(plan: dict) -> dict:
            return backup_tasks.verify(name, plan, get_current_context())

        @task
        def retention() -> dict:
            return backup_tasks.apply_retention(name, get_current_context())

        @task(trigger_rule="all_done", retries=0, **failure_callbacks(target, "backup"))
        def record() -> dict:
            return backup_tasks.record(name, get_current_context())

        plan = preflight()
        manifest = write_manifest(plan, dump_and_upload(plan))
        verified = verify(plan)
        manifest >> verified
        verified >> retention() >> record()

    return backup_drill()


def dags() -> dict[str, DAG]:
    """Every backup DAG for the configured targets, by target name; a broken target gets a failing one."""
    return per_target_dags(build_backup_dag, drill="backup")
