"""
### Binlog archiving: `dr_binlog_archive__<target>`

Ships the source's binary logs to S3 so that point-in-time recovery can reach any moment after a full backup.

1. **archive**: `FLUSH BINARY LOGS`, then every closed binlog not archived yet is read from the server
   (`mariadb-binlog --read-from-remote-server --raw`), compressed, hashed and uploaded under
   `<prefix>/<target>/binlog/<server>/`, with an index entry (first/last GTID and event time) written last.
   Idempotent: a file is never uploaded twice, and never skipped. A file the source purged before it was
   archived is a `BINLOG_GAP`.
2. **check_chain**: the archive, per server, is consecutive and GTID-continuous (`BINLOG_GAP`), and with the
   form's *deep check* every object is re-hashed (`BINLOG_CORRUPT`).
3. **record**: the drill history; fails the run and alerts Slack on any finding.

Run it more often than the source purges binlogs (`binlog_expire_logs_seconds`).
"""

from __future__ import annotations

from airflow.sdk import DAG, Param, dag, get_current_context, task

from drdrill.drills.archive import tasks as archive_tasks
from drdrill.airflow.dag_defaults import dag_arguments, failure_callbacks, per_target_dags
from drdrill.config import Target


def build_archive_dag(target: Target) -> DAG:
    """One archiving DAG for one target."""
    name = target.name

    @dag(
        schedule=target.schedules.binlog_archive,
        params={"deep_check": Param(False, type="boolean", title="Deep check",
                                    description="Re-read and re-hash every archived binlog, not only the chain.")},
        **dag_arguments(target, drill="binlog_archive", doc=__doc__),
    )
    def binlog_archive() -> None:
        @task(retries=1)
        def archive() -> dict:
            return archive_tasks.archive(name, get_current_context())

        @task
        def check_chain() -> dict:
            return archive_tasks.check_chain(name, get_current_context())

        @task(trigger_rule="all_done", retries=0, **failure_callbacks(target, "binlog_archive"))
        def record() -> dict:
            return archive_tasks.record_archive(name, get_current_context())

        archive() >> check_chain() >> record()

    return binlog_archive()


def dags() -> dict[str, DAG]:
    """Every binlog_archive DAG for the configured targets, by target name; a broken target gets a failing one."""
    return per_target_dags(build_archive_dag, drill="binlog_archive")
