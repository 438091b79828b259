"""The restore half every engine shares: piping a stream into a tool, with the tools' signals classified,
never trusted blindly. Each engine's own restore (``BackupEngine.restore``) is built from these.

A dump without its completion trailer is ARCHIVE_TRUNCATED even when the client exits 0; a client
error names the line; a non-zero exit with nothing classifiable is still a RESTORE_ERROR.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from drdrill.endpoints import MySQLEndpoint
from drdrill.engines.binlog_sql import binlog_sql_command
from drdrill.errors import DrdrillError
from drdrill.progress import ProgressLog
from drdrill.storage.pipeline import Tap, pump
from drdrill.toolenv import tool_environment

CLIENT_ERROR = re.compile(r"ERROR (?P<code>\d+) \((?P<state>\w+)\) at line (?P<line>\d+)[^:]*: (?P<message>.*)")
BINLOG_TRAILER = b"# End of log file"


class RestoreFailed(DrdrillError):
    """The restore did not complete: ``code`` is ARCHIVE_TRUNCATED or RESTORE_ERROR."""

    def __init__(self, code: str, problem: str, fix: str = "", evidence: dict[str, Any] | None = None) -> None:
        self.code = code
        self.evidence = evidence or {}
        super().__init__(problem, fix or None)


def _run_piped(producer: Sequence[str], consumer: Sequence[str], log: Path,
               what: str) -> tuple[Tap, int, int, str]:
    """``producer | consumer`` with a tap on the bytes between them (their progress logged as ``what``); returns
    both exit codes and the stderr.

    Producers run in UTC (``mariadb-binlog`` reads --stop-datetime in the local time zone).
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    tap = Tap()
    with open(log, "wb") as stderr:
        decompress = subprocess.Popen(list(producer), stdout=subprocess.PIPE, stderr=stderr,
                                      env={**tool_environment(), "TZ": "UTC"})
        sink = subprocess.Popen(list(consumer), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=stderr,
                                env=tool_environment())
        errors: list[BaseException] = []
        copier = threading.Thread(target=pump, args=(decompress, sink, tap, errors), daemon=True)
        try:
            copier.start()
            with ProgressLog(what, lambda: tap.count):
                copier.join()
            decompress.wait()
            sink.wait()
        finally:  # an interrupted drill leaves no tool running
            for process in (decompress, sink):
                if process.poll() is None:
                    process.kill()
                    process.wait()
    return tap, decompress.returncode, sink.returncode, log.read_text(errors="replace")[-4000:]


def restore_sql(archive: Path, endpoint: MySQLEndpoint, log: Path, what: str, trailer: bytes) -> dict[str, Any]:
    """Pipe a compressed SQL stream into the ``mariadb`` client and classify the outcome."""
    return load_sql_stream(["zstd", "-dc", str(archive)], endpoint, log, what, trailer)


def replay_binlogs(files: Sequence[Path], *, start_position: int | None, stop_datetime: str, databases: Sequence[str],
                   endpoint: MySQLEndpoint, log: Path, stop_position: str | None = None) -> dict[str, Any]:
    """Replay archived binlogs up to (excluding) a UTC second into the scratch server.

    ``start_position`` is a byte offset in the first file (the backup's position; None: from its start),
    ``stop_position`` a GTID position to stop after (inclusive), whichever of the two stops comes first.
    """
    argv = ["mariadb-binlog", "--no-defaults",
            *([f"--start-position={start_position}"] if start_position is not None else []),
            f"--stop-datetime={stop_datetime}", *([f"--stop-position={stop_position}"] if stop_position else [])]
    return load_sql_stream(binlog_sql_command(argv, databases, [str(f) for f in files]), endpoint, log,
                           f"the binlog replay of {', '.join(f.name for f in files)}", BINLOG_TRAILER)


def load_sql_stream(producer: Sequence[str], endpoint: MySQLEndpoint, log: Path, what: str,
                    trailer: bytes) -> dict[str, Any]:
    """Pipe a producer's SQL into the ``mariadb`` client; truncation, client errors and odd exits are findings."""
    began = time.monotonic()
    with endpoint.option_file(directory=log.parent) as option_file:
        tap, zstd_rc, client_rc, stderr = _run_piped(
            producer, ["mariadb", f"--defaults-extra-file={option_file}", "--max-allowed-packet=256M"], log,
            f"restoring {what}")
    error = CLIENT_ERROR.search(stderr)
    client_said = f" The client also failed at line {error['line']}: ERROR {error['code']}: {error['message']}" if error else ""
    if error and zstd_rc != 0:
        # the client stopped first and the copy loop then stopped the reader: an error, not a truncated file
        raise RestoreFailed("RESTORE_ERROR", f"Restoring {what} stopped at line {error['line']}: "
                            f"ERROR {error['code']} ({error['state']}): {error['message']}",
                            evidence={"line": int(error["line"]), "error_code": int(error["code"])})
    if zstd_rc != 0:
        raise RestoreFailed("ARCHIVE_TRUNCATED", f"{what} cannot be read to its end ({producer[0]}: "
                            f"{stderr.strip().splitlines()[0] if stderr.strip() else 'exit ' + str(zstd_rc)}).{client_said}",
                            evidence={"raw_bytes": tap.count})
    if trailer not in tap.tail:
        raise RestoreFailed(
            "ARCHIVE_TRUNCATED",
            f"{what} ends after {tap.count} bytes without its completion marker '{trailer.decode()}': the dump was "
            f"cut short, so tables or objects after that point are missing.{client_said}",
            evidence={"raw_bytes": tap.count, "tail": tap.tail[-200:].decode(errors="replace")},
        )
    if error:
        raise RestoreFailed("RESTORE_ERROR", f"Restoring {what} stopped at line {error['line']}: "
                            f"ERROR {error['code']} ({error['state']}): {error['message']}",
                            evidence={"line": int(error["line"]), "error_code": int(error["code"])})
    if client_rc != 0:
        raise RestoreFailed("RESTORE_ERROR", f"The mariadb client exited {client_rc} restoring {what} with no "
                            f"classifiable error: {stderr.strip()[-500:] or 'no message'}", evidence={"exit": client_rc})
    return restore_stats(tap.count, began)


def unpack_archive(archive: Path, unpacker: Sequence[str], files: Path, log: Path, what: str) -> Tap:
    """``zstd -dc archive | unpacker <files>`` into a fresh directory; a broken stream is ARCHIVE_TRUNCATED."""
    shutil.rmtree(files, ignore_errors=True)
    files.mkdir(parents=True)
    tap, zstd_rc, unpack_rc, stderr = _run_piped(["zstd", "-dc", str(archive)], [*unpacker, str(files)], log,
                                                 f"unpacking the {what} archive")
    if zstd_rc != 0 or unpack_rc != 0:
        raise RestoreFailed("ARCHIVE_TRUNCATED", f"The {what} archive cannot be unpacked to its end: {stderr.strip()[-300:]}")
    return tap


def restore_stats(raw_bytes: int, began: float) -> dict[str, Any]:
    """Seconds, raw bytes and throughput of one restore step, for the drill's timings."""
    seconds = time.monotonic() - began
    return {"seconds": round(seconds, 3), "raw_bytes": raw_bytes,
            "mb_per_second": round(raw_bytes / 1e6 / seconds, 1) if seconds else None}
