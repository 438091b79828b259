"""Physical backups with mariadb-backup, streamed as xbstream; the fastest to restore."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from typing import Any

from drdrill.engines.base import (
    ArchiveTruncated,
    BackupEngine,
    BackupJob,
    EngineResult,
    RestoreJob,
    search_position,
    stderr_file,
)
from drdrill.engines.restore import RestoreFailed, restore_stats, unpack_archive
from drdrill.servers.scratch import start_from_datadir
from drdrill.storage.pipeline import stream_command_to_s3
from drdrill.toolenv import tool_environment

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
    copies_grant_tables = True

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
                compression_level=job.compression_level, threads=job.parallel, stall_timeout=job.stall_timeout,
            )
        messages = log.read_text(errors="replace")
        if COMPLETED not in messages[-4096:]:
            job.store.delete(key)
            raise ArchiveTruncated(
                "mariadb-backup exited 0 without 'completed OK!'.",
                f"Read {log} for the cause and re-run the backup.",
            )
        point = search_position(POSITION, messages, "mariadb-backup's log")
        return EngineResult((self.entry(streamed),), point, self.tool_version())

    def restore(self, job: RestoreJob) -> dict[str, Any]:
        """Unpack the xbstream, prepare it, copy it back into the scratch datadir and start the server there."""
        if job.scratch is None:
            raise RestoreFailed("RESTORE_ERROR", "A mariabackup (physical) backup can only be restored into a scratch "
                                "server the drill creates on this worker, not into a scratch connection.",
                                "Set restore_drill.scratch_conn_id to null for targets backed up with mariabackup.")
        began = time.monotonic()
        files = job.work_dir / "xbstream"
        tap = unpack_archive(job.data, ["mbstream", "-x", "-C"], files, job.work_dir / "mbstream.log", "xbstream")
        datadir = job.scratch.instance.datadir
        for step in (["--prepare", f"--target-dir={files}"],
                     ["--copy-back", f"--target-dir={files}", f"--datadir={datadir}", f"--parallel={job.parallel}"]):
            done = subprocess.run(["mariadb-backup", *step], capture_output=True, text=True, env=tool_environment(),
                                  check=False)
            if done.returncode != 0 or COMPLETED not in done.stderr[-2000:]:
                raise RestoreFailed("RESTORE_ERROR", f"mariadb-backup {step[0]} failed (exit {done.returncode}): "
                                    f"{done.stderr.strip()[-600:] or 'no message'}")
        shutil.rmtree(files, ignore_errors=True)
        start_from_datadir(job.scratch)
        return restore_stats(tap.count, began)
