"""Transactions the old primary committed that the new primary never received ("lost writes", later "errant").

They are listed from the old primary's own binlog (GTID, commit time, size, tables), saved to the bucket
as re-appliable ``mariadb-binlog`` output, and, when ``failover_drill.errant_transactions`` is
``flashback``, rolled back on the old primary (``mariadb-binlog --flashback`` applied with
``sql_log_bin=0``) and its binlog reset so it can replicate from the new primary by GTID. A binlog archive
of the old primary is completed before the reset and told where its history forks (``archive_fork``).
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

from drdrill.findings import Finding
from drdrill.endpoints import MySQLEndpoint
from drdrill.errors import DrdrillError
from drdrill.drills.failover.archive_fork import archive_history, record_fork
from drdrill.servers.gtid import transactions_behind
from drdrill.storage.binlog.archive import binary_logs
from drdrill.storage.binlog.layout import BinlogLayout
from drdrill.storage.binlog.names import split_binlog_name
from drdrill.storage.layout import TargetLayout
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
    return [transaction for transaction, _ in _event_groups(lines)]


def _event_groups(lines: Iterable[bytes]) -> list[tuple[LostTransaction, bool]]:
    """Each event group of ``mariadb-binlog`` text, and whether it was read to its end.

    A group's size runs from its GTID event to the end of the event that ends it: its COMMIT (an Xid event,
    or a COMMIT query for other engines), or for a standalone statement (DDL) its query; measured in the
    server's ``end_log_pos`` (the tool's ``# at`` offsets, counted from where it began reading, give only
    the GTID event's own length). Events after that
    (Rotate, the next file's Format_description) belong to no group. The tool prints an event only once it
    has read all of it.
    """
    groups: list[tuple[LostTransaction, bool]] = []
    at = start = end_of_gtid = 0
    current: LostTransaction | None = None
    in_transaction = False
    previous = b""
    gtid_at: int | None = None
    for line in lines:
        previous, before = line, previous
        if match := _AT.match(line):
            at = int(match.group(1))
            if current is not None and gtid_at is not None:  # the GTID event's length, from the tool's offsets
                current.bytes, gtid_at = at - gtid_at, None
                start = end_of_gtid - current.bytes
            continue
        header = _HEADER.match(line)
        if header and (gtid := _GTID.search(line)):
            if current is not None:
                groups.append((current, False))
            current = LostTransaction(gtid.group(1).decode(), _when(header.group(1)), 0)
            in_transaction = line.rstrip().endswith(b" trans")
            start = end_of_gtid = int(header.group(3))
            gtid_at = at
            continue
        if current is None:
            continue
        if header:
            current.bytes = int(header.group(3)) - start
            if table := _TABLE_MAP.search(line):
                name = table.group(1).decode().replace("`", "")
                if name not in current.tables:
                    current.tables.append(name)
        if line in (b"START TRANSACTION\n", b"BEGIN\n"):
            in_transaction = True
        elif (in_transaction and (line == b"COMMIT/*!*/;\n" or (before == b"COMMIT\n" and line == b"/*!*/;\n"))) \
                or (header and not in_transaction):
            groups.append((current, True))
            current = None
    if current is not None:
        groups.append((current, False))
    return groups


def _when(stamp: bytes) -> str:
    return datetime.strptime(stamp.decode().replace("  ", " 0"), "%y%m%d %H:%M:%S").replace(
        tzinfo=timezone.utc).isoformat()


def _binlog_argv(option_file: Path, since: str, until: str, first_file: str, *extra: str) -> list[str]:
    """Read from the server, ``since`` (exclusive) to ``until`` (inclusive, so a crash-truncated tail is never read)."""
    return [BINLOG_TOOL, f"--defaults-extra-file={option_file}", "--read-from-remote-server", "--to-last-log",
            f"--start-position={since}", f"--stop-position={until}", "--skip-gtid-strict-mode", *extra, first_file]


def _first_file_after(old: MySQLEndpoint, since: str) -> str:
    """The newest binlog file that begins at or before ``since`` (its Gtid_list holds nothing newer)."""
    files = [file for file, _ in binary_logs(old)]
    if not files:
        raise DrdrillError(f"{old.describe()} has no binary logs.", "enable log_bin on the primary.")
    for file in reversed(files):
        listed = next((str(row[5]) for row in old.fetch_all(f"SHOW BINLOG EVENTS IN '{file}' LIMIT 3")
                       if row[2] == "Gtid_list"), "[]")
        if not transactions_behind(listed.strip("[]"), since):
            return file
    return files[0]


def _whole_in_copy(files: list[str], since: str, until: str) -> list[str]:
    """GTIDs after ``since`` up to ``until`` whose events the local binlog ``files`` hold to the end of the group."""
    if not files:
        return []
    process = subprocess.Popen([BINLOG_TOOL, "--no-defaults", f"--start-position={since}", f"--stop-position={until}",
                                "--skip-gtid-strict-mode", *files], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, env=tool_environment())
    assert process.stdout is not None
    whole = _whole_transactions(process.stdout)
    process.wait()
    return whole


def _whole_transactions(lines: Iterable[bytes]) -> list[str]:
    """GTIDs of the event groups in ``mariadb-binlog`` text that were read to their end."""
    return [transaction.gtid for transaction, whole in _event_groups(lines) if whole]


def _end_of(old: MySQLEndpoint) -> str:
    return str(old.fetch_all("SELECT @@gtid_binlog_pos")[0][0] or "")


def list_lost(old: MySQLEndpoint, since: str, work_dir: Path) -> list[LostTransaction]:
    """The old primary's transactions after ``since`` (the GTID position the new primary had)."""
    with tempfile.TemporaryDirectory(dir=work_dir) as private, old.option_file(directory=private) as option_file:
        argv = _binlog_argv(option_file, since, _end_of(old), _first_file_after(old, since))
        # Header times are printed in the tool's time zone; they are read as UTC (as the binlog archive decodes).
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env={**tool_environment(), "TZ": "UTC"})
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


def flashback(old: MySQLEndpoint, since: str, work_dir: Path, *, store: ObjectStore | None = None,
              layout: BinlogLayout | TargetLayout | None = None) -> list[Finding]:
    """Roll back everything after ``since`` on ``old`` (not binlogged), reset its binlog to continue from ``since``.

    The binlog files are copied raw first: ``--flashback`` over ``--read-from-remote-server`` reverses only part
    of a transaction whose rows span several rows events (MariaDB 10.11), and says nothing.
    ``RESET MASTER TO <next number>`` keeps binlog file numbers increasing. With ``store`` and ``layout`` (the
    target's binlog archive) the archive gets all of ``old``'s history first and a fork record before the reset;
    returns what archiving it found (e.g. a BINLOG_GAP left by files purged before they were archived).
    """
    until = _end_of(old)
    history = archive_history(old, store, layout, work_dir) if store is not None and layout is not None else None
    rolled_back = [item.gtid for item in list_lost(old, since, work_dir)] if history else []
    with tempfile.TemporaryDirectory(dir=work_dir) as private, old.option_file(directory=private) as option_file:
        copy = Path(private) / "raw"
        copy.mkdir()
        # After a crash the last file can end in a torn event, past ``until``: the copy then exits non-zero
        # although it holds everything needed. Judge the copy by what it holds, before anything is applied.
        fetched = subprocess.run([BINLOG_TOOL, f"--defaults-extra-file={option_file}", "--read-from-remote-server",
                                  "--raw", "--to-last-log", f"--result-file={copy}/", _first_file_after(old, since)],
                                 capture_output=True, env=tool_environment(), check=False)
        files = sorted(str(path) for path in copy.iterdir())
        whole, expected = _whole_in_copy(files, since, until), transactions_behind(until, since)
        if len(whole) != expected:
            raise DrdrillError(
                f"the copy of the old primary's binlog holds {len(whole)} of the {expected} lost transaction(s) "
                f"after {since} up to {until} whole, so nothing was rolled back: "
                f"{fetched.stderr.decode(errors='replace')[-600:] or 'the binlog ends inside them'}",
                "the old primary's binlog is damaged before its GTID position; rebuild the old primary from a "
                "backup of the new one.")
        script = Path(private) / "flashback.sql"
        with open(script, "wb") as out:  # whole before any of it is applied
            reader = subprocess.run([BINLOG_TOOL, "--no-defaults", "--flashback", f"--start-position={since}",
                                     f"--stop-position={until}", "--skip-gtid-strict-mode", *files], stdout=out,
                                    stderr=subprocess.PIPE, env=tool_environment(), check=False)
        failed, said = reader.returncode != 0, reader.stderr
        if not failed:
            with open(script, "rb") as statements:
                applier = subprocess.run([CLIENT_TOOL, f"--defaults-extra-file={option_file}", "--batch",
                                          "--init-command=SET SESSION sql_log_bin = 0"], stdin=statements,
                                         capture_output=True, env=tool_environment(), check=False)
            failed, said = applier.returncode != 0, said + applier.stderr
    if failed:
        raise DrdrillError(
            "rolling back the lost transactions on the old primary failed: "
            f"{said.decode(errors='replace')[-800:]}",
            "flashback handles row changes only (not DDL); rebuild the old primary from a backup of the new one.")
    if history:
        record_fork(history, resumed_from=since, rolled_back=rolled_back,
                    reason=f"fail-back: {len(rolled_back)} errant transaction(s) after {since} rolled back by "
                           "flashback; the binlog was reset to replicate from the new primary")
        next_number = history.next_number
    else:
        next_number = split_binlog_name(binary_logs(old)[-1][0])[1] + 1
    old.fetch_all(f"RESET MASTER TO {next_number}")
    old.fetch_all("SET GLOBAL gtid_slave_pos = %s", (since,))
    return list(history.archive_findings) if history else []
