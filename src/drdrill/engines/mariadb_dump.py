"""Logical backups with mariadb-dump (mysqldump): one transaction, routines, triggers, events."""

from __future__ import annotations

import re
import shutil
from typing import Any

from drdrill.engines.base import (
    ArchiveTruncated,
    BackupEngine,
    BackupJob,
    EngineResult,
    RestoreJob,
    database_list,
    search_position,
    stderr_file,
)
from drdrill.engines.restore import restore_sql
from drdrill.storage.pipeline import stream_command_to_s3

CHANGE_MASTER = re.compile(r"CHANGE MASTER TO MASTER_LOG_FILE='(?P<file>[^']+)', MASTER_LOG_POS=(?P<position>\d+)")
GTID_COMMENT = re.compile(r"SET GLOBAL gtid_slave_pos='(?P<gtid>[^']*)'")
COMPLETION_TRAILER = b"-- Dump completed"


class MariaDBDumpEngine(BackupEngine):
    """``mariadb-dump --single-transaction --master-data=2 --gtid`` streamed through zstd to S3."""

    name = "mariadb-dump"
    aliases = ("mysqldump",)
    tools = ("mariadb-dump",) if shutil.which("mariadb-dump") or not shutil.which("mysqldump") else ("mysqldump",)
    data_object = "dump.sql.zst"

    def argv(self, job: BackupJob, option_file: str) -> list[str]:
        """The dump command; credentials come from the option file."""
        return [
            self.tools[0], f"--defaults-extra-file={option_file}",
            "--single-transaction", "--quick", "--master-data=2", "--gtid",
            "--routines", "--triggers", "--events", "--hex-blob", "--tz-utc",
            "--databases", *database_list(job.databases),
        ]

    def backup(self, job: BackupJob) -> EngineResult:
        """Dump, stream, then check the trailer and read the consistent point from the dump itself."""
        key = job.layout.object_key(job.backup_id, self.data_object)
        with job.source.option_file(directory=job.private_dir()) as option_file:
            streamed = stream_command_to_s3(
                self.argv(job, str(option_file)), job.store, key,
                stderr_path=stderr_file(job, "mariadb-dump"),
                compression_level=job.compression_level, threads=job.parallel, stall_timeout=job.stall_timeout,
                keep_edges=True,
            )
        if COMPLETION_TRAILER not in streamed.outcome.tail:
            job.store.delete(key)
            raise ArchiveTruncated(
                f"{self.tools[0]} exited 0 but its output has no '-- Dump completed' trailer "
                f"({streamed.outcome.raw_bytes} bytes written).",
                "The dump was cut short; check the server log and the tool's stderr, then re-run the backup.",
            )
        head = streamed.outcome.head.decode(errors="replace")
        point = search_position(CHANGE_MASTER, head, "the dump header")
        gtid = GTID_COMMENT.search(streamed.outcome.tail.decode(errors="replace"))
        if gtid:
            point = type(point)(point.file, point.position, gtid.group("gtid"))
        return EngineResult((self.entry(streamed),), point, self.tool_version())

    def restore(self, job: RestoreJob) -> dict[str, Any]:
        """Pipe the dump into the ``mariadb`` client; a missing trailer is ARCHIVE_TRUNCATED."""
        return restore_sql(job.data, job.endpoint, job.work_dir / "restore.log", job.data.name, COMPLETION_TRAILER)
