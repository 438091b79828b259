"""Parallel logical backups with mydumper: files in a work dir, then one tar stream through zstd to S3."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path
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
from drdrill.engines.mariadb_dump import COMPLETION_TRAILER, MariaDBDumpEngine
from drdrill.engines.restore import RestoreFailed, load_sql_stream, restore_stats, unpack_archive
from drdrill.errors import ToolError
from drdrill.storage.pipeline import bytes_below, run_watched, stream_command_to_s3
from drdrill.toolenv import tool_environment

METADATA = re.compile(r"Log: (?P<file>\S+)\s+Pos: (?P<position>\d+)\s+GTID:(?P<gtid>\S*)")
# mydumper 0.10 loses what routines, triggers and events are made of: it writes no sql_mode (a function created
# under ANSI_QUOTES does not even load; PIPES_AS_CONCAT changes what it returns), drops a trigger's FOLLOWS order
# and rewrites ';' line ends in bodies. mariadb-dump writes them faithfully, so the archive carries its dump of
# them; not named *.sql, as myloader loads every .sql file in the directory.
CODE_FILE = "routines-triggers-events.mariadb-dump"


class MydumperEngine(BackupEngine):
    """``mydumper`` with parallel threads; needs local disk for the dump files (removed afterwards)."""

    name = "mydumper"
    tools = ("mydumper", "tar")
    data_object = "mydumper.tar.zst"

    def argv(self, job: BackupJob, option_file: str, out_dir: str) -> list[str]:
        """The dump command; user and password come from the option file's [client] group."""
        databases = database_list(job.databases)
        selection = ["-B", databases[0]] if len(databases) == 1 else ["--regex", rf"^({'|'.join(databases)})\."]
        return [
            "mydumper", f"--defaults-file={option_file}", "-h", job.source.host, "-P", str(job.source.port),
            "-o", out_dir, "-t", str(job.parallel), "--trx-consistency-only", *selection,
        ]

    def code_argv(self, job: BackupJob, option_file: str) -> list[str]:
        """The mariadb-dump command that writes only the databases' routines, triggers and events."""
        return [
            MariaDBDumpEngine.tools[0], f"--defaults-extra-file={option_file}", "--single-transaction",
            "--no-data", "--no-create-info", "--no-create-db", "--routines", "--triggers", "--events",
            "--databases", *database_list(job.databases),
        ]

    def backup(self, job: BackupJob) -> EngineResult:
        """Dump to the work dir, check mydumper's metadata, then stream a tar of it to S3."""
        out_dir = job.work_dir / job.backup_id / "mydumper"
        shutil.rmtree(out_dir, ignore_errors=True)
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        log = stderr_file(job, "mydumper")
        try:
            with job.source.option_file(directory=job.private_dir()) as option_file, open(log, "wb") as stderr:
                returncode = run_watched(self.argv(job, str(option_file), str(out_dir)), stderr=stderr,
                                         stdout=subprocess.DEVNULL, progress=lambda: bytes_below(out_dir),
                                         stall_timeout=job.stall_timeout)
            messages = log.read_text(errors="replace")
            if returncode != 0:
                raise ToolError(f"mydumper exited with code {returncode}: {messages[-2000:] or 'no message'}",
                                "Fix what mydumper reports (privileges, connectivity) and re-run the backup.")
            metadata = (out_dir / "metadata").read_text(errors="replace") if (out_dir / "metadata").exists() else ""
            if "Finished dump at" not in metadata:
                raise ArchiveTruncated("mydumper's metadata file has no 'Finished dump at' line.",
                                       f"The dump did not complete; read {log} and re-run the backup.")
            point = search_position(METADATA, metadata, "mydumper's metadata")
            self.dump_code(job, out_dir / CODE_FILE)
            key = job.layout.object_key(job.backup_id, self.data_object)
            streamed = stream_command_to_s3(
                ["tar", "-C", str(out_dir), "-cf", "-", "."], job.store, key,
                stderr_path=stderr_file(job, "tar"), compression_level=job.compression_level, threads=job.parallel,
            )
        finally:
            shutil.rmtree(out_dir, ignore_errors=True)
        return EngineResult((self.entry(streamed),), point, self.tool_version())

    def dump_code(self, job: BackupJob, into: Path) -> None:
        """Write the routines, triggers and events with mariadb-dump; a dump without its trailer is not kept."""
        log = stderr_file(job, "mariadb-dump-code")
        with job.source.option_file(directory=job.private_dir()) as option_file, open(into, "wb") as out, \
                open(log, "wb") as stderr:
            returncode = run_watched(self.code_argv(job, str(option_file)), stdout=out, stderr=stderr,
                                     progress=lambda: into.stat().st_size, stall_timeout=job.stall_timeout)
        if returncode != 0:
            raise ToolError(f"mariadb-dump of the routines, triggers and events exited with code {returncode}: "
                            f"{log.read_text(errors='replace')[-2000:] or 'no message'}",
                            "Fix what it reports (the backup login needs SHOW VIEW, TRIGGER, EVENT) and re-run.")
        with open(into, "rb") as dumped:
            dumped.seek(max(0, into.stat().st_size - 200))
            if COMPLETION_TRAILER not in dumped.read():
                raise ArchiveTruncated("mariadb-dump of the routines, triggers and events has no '-- Dump completed' "
                                       "trailer.", f"Read {log} and re-run the backup.")

    def restore(self, job: RestoreJob) -> dict[str, Any]:
        """Unpack the tar stream, check mydumper's completion marker, then load with myloader."""
        began = time.monotonic()
        files = job.work_dir / "mydumper"
        tap = unpack_archive(job.data, ["tar", "-x", "-C"], files, job.work_dir / "untar.log", "mydumper")
        metadata = files / "metadata"
        if not metadata.exists() or "Finished dump at" not in metadata.read_text(errors="replace"):
            raise RestoreFailed("ARCHIVE_TRUNCATED", "The mydumper archive has no completed 'metadata' file "
                                "('Finished dump at' missing): the dump did not finish.")
        log = job.work_dir / "myloader.log"
        endpoint = job.endpoint
        with endpoint.option_file(directory=job.work_dir) as option_file, open(log, "wb") as stderr:
            done = subprocess.run(["myloader", f"--defaults-file={option_file}", "-h", endpoint.host,
                                   "-P", str(endpoint.port), "-d", str(files), "-t", str(job.parallel), "-v", "1"],
                                  stderr=stderr, stdout=subprocess.DEVNULL, env=tool_environment(), check=False)
        messages = log.read_text(errors="replace")
        problem = next((line for line in messages.splitlines() if "CRITICAL" in line or "ERROR" in line.upper()), "")
        try:
            if problem or done.returncode != 0:
                raise RestoreFailed("RESTORE_ERROR", f"myloader failed (exit {done.returncode}): "
                                    f"{problem.strip() or messages.strip()[-500:] or 'no message'}")
            if (files / CODE_FILE).exists():  # archives written before it carry mydumper's own -R -E -G files
                load_sql_stream(["cat", str(files / CODE_FILE)], endpoint, job.work_dir / "code.log",
                                "the routines, triggers and events of the mydumper archive", COMPLETION_TRAILER)
        finally:
            shutil.rmtree(files, ignore_errors=True)
        return restore_stats(tap.count, began)
