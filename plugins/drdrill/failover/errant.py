"""Transactions the old primary committed that the new primary never received ("lost writes", later "errant").

They are listed from the old primary's own binlog (GTID, commit time, size, tables), saved to the bucket
as re-appliable ``mariadb-binlog`` output, and, when ``failover_drill.errant_transactions`` is
``flashback``, rolled back on the old primary (``mariadb-binlog --flashback`` applied with
``sql_log_bin=0``) and its binlog reset so it can replicate from the new primary by GTID.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from drdrill.endpoints import MySQLEndpoint
from drdrill.errors import DrdrillError
from drdrill.failover.topology import transactions_behind
from drdrill.storage.objectstore import ObjectStore
from drdrill.storage.pipeline import stream_command_to_s3
from drdrill.toolenv import tool_environment

BINLOG_TOOL = "mariadb-binlog"
CLIENT_TOOL = "mariadb"
_AT = re.compile(rb"^# at (\d+)")
_HEADER = re.compile(rb"^#(\d{6} [ \d]\d:\d\d:\d\d) server id (\d+)\s+end_log_pos (\d+)")
_GTID = re.compile(rb"\tGTID (\d+-\d+-\d+)")
_TABLE_MAP = re.compile(rb"Table_map: (`[^`]*`\.`[^`]*`)")


@dataclass
class LostTransaction:
    """One transaction of the old primary's binlog that the new primary does not have."""

    gtid: str
    committed_at: str
    bytes: int
    tables: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_transactions(lines: Iterable[bytes]) -> list[LostTransaction]:
    """GTID, time and size of each transaction in ``mariadb-binlog`` text output (streamed line by line)."""
    found: list[LostTransaction] = []
    at = 0
    start = 0
    current: LostTransaction | None = None
    for line in lines:
        if match := _AT.match(line):
            at = int(match.group(1))
            continue
        header = _HEADER.match(line)
        if header is None:
            continue
        if gtid := _GTID.search(line):
            current = LostTransaction(gtid.group(1).decode(), _when(header.group(1)), 0)
            start = at
            found.append(current)
        if current is None:
            continue
        current.bytes = int(header.group(3)) - start
        if table := _TABLE_MAP.search(line):
            name = table.group(1).decode().replace("`", "")
            if name not in current.tables:
                current.tables.append(name)
    return found


def _when(stamp: bytes) -> str:
    return datetime.strptime(stamp.decode().replace("  ", " 0"), "%y%m%d %H:%M:%S").replace(
        tzinfo=timezone.utc).isoformat()


def _binlog_argv(option_file: Path, since: str, until: str, first_file: str, *extra: str) -> list[str]:
    """Read from the server, ``since`` (exclusive) to ``until`` (inclusive, so a crash-truncated tail is never read)."""
    return [BINLOG_TOOL, f"--defaults-extra-file={option_file}", "--read-from-remote-server", "--to-last-log",
            f"--start-position={since}", f"--stop-position={until}", "--skip-gtid-strict-mode", *extra, first_file]


def _first_file_after(old: MySQLEndpoint, since: str) -> str:
    """The newest binlog file that begins at or before ``since`` (its Gtid_list holds nothing newer)."""
    files = [str(row[0]) for row in old.fetch_all("SHOW BINARY LOGS")]
    if not files:
        raise DrdrillError(f"{old.describe()} has no binary logs.", "enable log_bin on the primary.")
    for file in reversed(files):
        listed = next((str(row[5]) for row in old.fetch_all(f"SHOW BINLOG EVENTS IN '{file}' LIMIT 3")
                       if row[2] == "Gtid_list"), "[]")
        if not transactions_behind(listed.strip("[]"), since):
            return file
    return files[0]


def _end_of(old: MySQLEndpoint) -> str:
    return str(old.fetch_all("SELECT @@gtid_binlog_pos")[0][0] or "")


def list_lost(old: MySQLEndpoint, since: str, work_dir: Path) -> list[LostTransaction]:
    """The old primary's transactions after ``since`` (the GTID position the new primary had)."""
    with tempfile.TemporaryDirectory(dir=work_dir) as private, old.option_file(directory=private) as option_file:
        argv = _binlog_argv(option_file, since, _end_of(old), _first_file_after(old, since))
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=tool_environment())
        assert process.stdout is not None
        transactions = parse_transactions(process.stdout)
        _, stderr = process.communicate()
    if process.returncode != 0:
        raise DrdrillError(f"{BINLOG_TOOL} could not read the old primary's binlog from {since!r}: "
                           f"{stderr.decode(errors='replace')[-800:]}",
                           "read the tool's message above; the drill's login needs REPLICATION SLAVE on the old primary.")
    return transactions


def save_lost(old: MySQLEndpoint, since: str, store: ObjectStore, key: str, work_dir: Path) -> str:
    """Upload the lost transactions as re-appliable ``mariadb-binlog`` output; the S3 URI."""
    with tempfile.TemporaryDirectory(dir=work_dir) as private, old.option_file(directory=private) as option_file:
        stream_command_to_s3(_binlog_argv(option_file, since, _end_of(old), _first_file_after(old, since)), store, key,
                             stderr_path=Path(private) / "binlog.err")
    return f"s3://{store.bucket}/{key}"


def flashback(old: MySQLEndpoint, since: str, resume_at: str, work_dir: Path) -> None:
    """Roll back everything after ``since`` on ``old`` (not binlogged), reset its binlog to continue from ``resume_at``.

    The binlog files are copied raw first: ``--flashback`` over ``--read-from-remote-server`` reverses only part
    of a transaction whose rows span several rows events (MariaDB 10.11), and says nothing.
    ``RESET MASTER TO <next number>`` keeps binlog file numbers increasing.
    """
    until = _end_of(old)
    with tempfile.TemporaryDirectory(dir=work_dir) as private, old.option_file(directory=private) as option_file:
        copy = Path(private) / "raw"
        copy.mkdir()
        fetched = subprocess.run([BINLOG_TOOL, f"--defaults-extra-file={option_file}", "--read-from-remote-server",
                                  "--raw", "--to-last-log", f"--result-file={copy}/", _first_file_after(old, since)],
                                 capture_output=True, env=tool_environment(), check=False)
        files = sorted(str(path) for path in copy.iterdir())
        reader = subprocess.Popen([BINLOG_TOOL, "--flashback", f"--start-position={since}", f"--stop-position={until}",
                                   "--skip-gtid-strict-mode", *files], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=tool_environment())
        applier = subprocess.run([CLIENT_TOOL, f"--defaults-extra-file={option_file}", "--batch",
                                  "--init-command=SET SESSION sql_log_bin = 0"], stdin=reader.stdout,
                                 capture_output=True, env=tool_environment(), check=False)
        _, reader_err = reader.communicate()
    if fetched.returncode != 0 or reader.returncode != 0 or applier.returncode != 0:
        raise DrdrillError(
            "rolling back the lost transactions on the old primary failed: "
            f"{(fetched.stderr + reader_err + applier.stderr).decode(errors='replace')[-800:]}",
            "flashback handles row changes only (not DDL); rebuild the old primary from a backup of the new one.")
    rows = old.fetch_all("SHOW BINARY LOGS")
    next_number = int(str(rows[-1][0]).rsplit(".", 1)[1]) + 1
    old.fetch_all(f"RESET MASTER TO {next_number}")
    old.fetch_all("SET GLOBAL gtid_slave_pos = %s", (resume_at,))
