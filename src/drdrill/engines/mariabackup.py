"""Physical backups with mariadb-backup, streamed as xbstream; the fastest to restore."""

from __future__ import annotations

import re

from drdrill.engines.base import (
    ArchiveTruncated,
    BackupEngine,
    BackupJob,
    EngineResult,
    search_position,
    stderr_file,
)
from drdrill.storage.pipeline import stream_command_to_s3

POSITION = re.compile(
    r"MySQL binlog position: filename '(?P<file>[^']+)', position '(?P<position>\d+)'"
    r"(?:, GTID of the last change '(?P<gtid>[^']*)')?"
)
COMPLETED = "completed OK!"


class MariaBackupEngine(BackupEngine):
    """``mariadb-backup --backup --stream=xbstream`` of the whole instance; must run where the datadir is."""

    name = "mariabackup"
    aliases = ("mariadb-backup",)
    tools = ("mariadb-backup",)
    data_object = "backup.xbstream.zst"

    def argv(self, job: BackupJob, option_file: str) -> list[str]:
        """The backup command; ``--defaults-extra-file`` must come first for this tool."""
        scratch = job.work_dir / job.backup_id / "mariabackup-tmp"
        scratch.mkdir(parents=True, exist_ok=True)
        return [
            self.tools[0], f"--defaults-extra-file={option_file}",
            "--backup", "--stream=xbstream", f"--target-dir={scratch}",
            f"--datadir={job.datadir}", f"--parallel={job.parallel}",
        ]

    def backup(self, job: BackupJob) -> EngineResult:
        """Stream the physical backup; success is the tool's 'completed OK!' plus its binlog position."""
        key = job.layout.object_key(job.backup_id, self.data_object)
        log = stderr_file(job, "mariadb-backup")
        with job.source.option_file(directory=job.private_dir()) as option_file:
            streamed = stream_command_to_s3(
                self.argv(job, str(option_file)), job.store, key, stderr_path=log,
                compression_level=job.compression_level, threads=job.parallel,
            )
        messages = log.read_text(errors="replace")
        if COMPLETED not in messages[-4096:]:
            job.store.client.delete_object(Bucket=job.store.bucket, Key=key)
            raise ArchiveTruncated(
                "mariadb-backup exited 0 without 'completed OK!'.",
                f"Read {log} for the cause and re-run the backup.",
            )
        point = search_position(POSITION, messages, "mariadb-backup's log")
        return EngineResult((self.entry(streamed),), point, self.tool_version())
