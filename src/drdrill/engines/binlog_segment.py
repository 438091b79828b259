"""The binlog between a backup's consistent point and the facts' point, captured as SQL into the backup."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from drdrill.endpoints import MySQLEndpoint
from drdrill.engines.binlog_sql import binlog_sql_command
from drdrill.storage.binlog.archive import binary_logs
from drdrill.storage.binlog.clear_passwords import ClearPassword, ClearPasswordScanner
from drdrill.storage.layout import TargetLayout
from drdrill.storage.manifest import BinlogPosition, ObjectEntry
from drdrill.storage.objectstore import ObjectStore
from drdrill.storage.pipeline import stream_command_to_s3

CATCHUP_OBJECT = "catchup.sql.zst"


def binlog_files_between(source: MySQLEndpoint, first: str, last: str) -> list[str]:
    """The source's binlog files from ``first`` to ``last`` inclusive, in order."""
    names = [file for file, _ in binary_logs(source)]
    if first not in names or last not in names:
        raise FileNotFoundError(f"binlog {first if first not in names else last} is no longer on the source")
    return names[names.index(first): names.index(last) + 1]


def capture_binlog_segment(
    source: MySQLEndpoint,
    databases: Sequence[str],
    start: BinlogPosition,
    stop: BinlogPosition,
    store: ObjectStore,
    layout: TargetLayout,
    backup_id: str,
    work_dir: Path,
) -> tuple[ObjectEntry, list[ClearPassword]]:
    """Read [start, stop) from the source with ``mariadb-binlog --read-from-remote-server`` and store it; also the
    account statements in it that carry a clear-text password (read on the way, positions only).

    Applied after the data restore (``zstd -dc catchup.sql.zst | mariadb``) it brings the restored
    server exactly to the facts point, so the restore can be compared exactly.
    """
    files = binlog_files_between(source, start.file, stop.file)
    key = layout.object_key(backup_id, CATCHUP_OBJECT)
    private = work_dir / backup_id
    private.mkdir(mode=0o700, parents=True, exist_ok=True)
    with source.option_file(directory=private) as option_file:
        argv = [
            "mariadb-binlog", f"--defaults-extra-file={option_file}", "--read-from-remote-server",
            f"--start-position={start.position}", f"--stop-position={stop.position}",
        ]
        scanner = ClearPasswordScanner()
        streamed = stream_command_to_s3(binlog_sql_command(argv, databases, files), store, key,
                                        stderr_path=private / "mariadb-binlog.stderr.log", observe=scanner.feed_output)
    return ObjectEntry.of_upload(streamed.upload, "catchup", streamed.outcome.raw_bytes), scanner.finish()
