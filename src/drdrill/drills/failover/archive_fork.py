"""Keep the old primary's binlog history in the archive across the ``RESET MASTER`` of a flashback fail-back.

Before anything is rolled back, every binlog of the old primary the archive lacks is archived, and the
archive is proved to hold all of its history. Just before the reset, a fork record says where the new
history starts, so the chain check accepts that one discontinuity and PITR does not replay the
rolled-back transactions. A server with nothing in the archive (no binlog archiving for it) is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from drdrill.endpoints import MySQLEndpoint
from drdrill.errors import DrdrillError
from drdrill.findings import Finding
from drdrill.servers.gtid import format_gtid_position, parse_gtid_position
from drdrill.servers.identity import read_identity
from drdrill.storage.binlog.archive import archive_closed_binlogs, binary_logs
from drdrill.storage.binlog.fork import BinlogFork, write_fork
from drdrill.storage.binlog.index import indexed_files, read_entry
from drdrill.storage.binlog.layout import BinlogLayout
from drdrill.storage.binlog.names import server_key, split_binlog_name
from drdrill.storage.layout import TargetLayout
from drdrill.storage.objectstore import ObjectStore


@dataclass(frozen=True)
class ArchivedHistory:
    """The old primary's history as the archive holds it, and the empty file the new history takes the number of."""

    store: ObjectStore
    layout: BinlogLayout
    server_key: str
    last_file: str
    next_file: str
    end: str | None
    archive_findings: tuple[Finding, ...] = ()  # what archiving the old primary's binlogs found (e.g. BINLOG_GAP)

    @property
    def next_number(self) -> int:
        """The number ``RESET MASTER TO`` gives the new history's first file: no hole in the archived numbers."""
        return split_binlog_name(self.next_file)[1]


def archive_history(old: MySQLEndpoint, store: ObjectStore, layout: BinlogLayout | TargetLayout,
                    work_dir: Path) -> ArchivedHistory | None:
    """Archive every closed binlog of ``old`` the archive lacks; DrdrillError unless it then holds all of them.

    None when the archive holds nothing of this server. ``old`` must take no writes until the reset
    (it is read-only during a fail-back); its current file is empty after the rotation here.
    """
    binlog_layout = BinlogLayout.of(layout)
    key = server_key(read_identity(old))
    if not indexed_files(store, binlog_layout, key):
        return None
    try:
        archived = archive_closed_binlogs(old, store, binlog_layout, work_dir=work_dir, rotate=True)
    except DrdrillError as exc:
        raise DrdrillError(f"archiving {old.describe()}'s binlogs before its reset failed, so nothing was rolled "
                           f"back and its binlog was not reset: {exc.problem}", exc.fix) from exc
    *closed, (current, _) = binary_logs(old)
    entries = [read_entry(store, binlog_layout, key, file) for file, _ in closed]
    missing = [file for (file, size), entry in zip(closed, entries) if entry is None or entry.raw_size != size]
    end = format_gtid_position(parse_gtid_position(str(old.fetch_all("SELECT @@gtid_binlog_pos")[0][0] or "")))
    archived_end = entries[-1].gtid_binlog_pos_end if entries and entries[-1] else None
    if missing or archived_end != end:
        raise DrdrillError(
            f"the binlog archive {binlog_layout.server_root(key)} does not hold all of {old.describe()}'s history "
            f"(not archived: {', '.join(missing) or 'none'}; archive ends at {archived_end}, the server at {end}); "
            "its binlog was not reset and nothing was rolled back.",
            "run the binlog archive drill for this target and read its findings, then run the fail-back again.")
    return ArchivedHistory(store, binlog_layout, key, closed[-1][0], current, end,
                           tuple(Finding.from_dict(item) for item in archived["findings"]))


def record_fork(history: ArchivedHistory, *, resumed_from: str, rolled_back: list[str], reason: str) -> None:
    """Write the fork record of the reset about to happen: the new history starts at ``history.next_file``."""
    write_fork(history.store, history.layout, BinlogFork(
        server_key=history.server_key, last_file=history.last_file, first_file=history.next_file, old_end=history.end,
        resumed_from=format_gtid_position(parse_gtid_position(resumed_from)) or "", rolled_back=tuple(rolled_back),
        forked_at=datetime.now(timezone.utc), reason=reason))
