"""What retention may delete: never the newest valid or proven backup, never a run in progress, never a leased
backup or binlog (``storage.lease``), never a backup S3 Object Lock still holds (``keep_held``), never a binlog a kept backup needs, never a server's newest archived file."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from drdrill.storage.binlog.fork import BinlogFork
from drdrill.storage.binlog.index import ArchivedBinlog
from drdrill.storage.binlog.names import split_binlog_name
from drdrill.storage.catalog import CORRUPT, BackupEntry
from drdrill.storage.layout import backup_time
from drdrill.storage.manifest import Manifest
from drdrill.storage.proof import PROVEN

INCOMPLETE_GRACE = timedelta(hours=24)


@dataclass(frozen=True)
class RetentionDecision:
    """What to keep and delete, each with the reason, so the record can say why."""

    keep: dict[str, str]
    delete: dict[str, str]


def choose_deletions(
    backups: Sequence[BackupEntry],
    *,
    now: datetime,
    keep_days: int | None,
    keep_backups: int | None,
    incomplete_grace: timedelta = INCOMPLETE_GRACE,
    leased: Mapping[str, str] | None = None,
) -> RetentionDecision:
    """Keep valid (usable: proven or not yet drilled) backups among the newest ``keep_backups`` or younger than ``keep_days``.

    The newest valid backup and the newest proven backup are always kept. Failed-drill backups are not
    valid: they hold no ``keep_backups`` slot. They, and incomplete (no manifest), invalid or quarantined
    folders, are deleted only once they are older than ``incomplete_grace`` (so a running backup is
    never touched) and older than the retention window when one is set. A backup whose manifest is
    corrupt (changed after it was written) is never deleted: it is evidence, and a wrong signing key
    makes every manifest look corrupt, which must not empty the bucket. A backup in ``leased`` (backup id → why: a
    drill is restoring it) is kept whatever its rank or status.
    """
    keep: dict[str, str] = {}
    delete: dict[str, str] = {}
    valid = sorted((b for b in backups if b.is_valid), key=lambda b: b.backup_id, reverse=True)
    newest_proven = next((b for b in valid if b.status == PROVEN), None)
    window = timedelta(days=keep_days) if keep_days else None
    for rank, backup in enumerate(valid):
        age = now - backup_time(backup.backup_id)
        if rank == 0:
            keep[backup.backup_id] = "newest valid backup"
        elif backup is newest_proven:
            keep[backup.backup_id] = "newest proven backup"
        elif keep_backups and rank < keep_backups:
            keep[backup.backup_id] = f"one of the newest {keep_backups}"
        elif window and age <= window:
            keep[backup.backup_id] = f"younger than {keep_days} days"
        else:
            delete[backup.backup_id] = f"valid, but outside retention (rank {rank + 1}, {age.days} days old)"
    for backup in backups:
        if backup.is_valid:
            continue
        age = now - backup_time(backup.backup_id)
        if backup.status == CORRUPT:
            keep[backup.backup_id] = f"{backup.status}, never deleted by retention ({backup.problem})"
        elif age < incomplete_grace or (window and age <= window and backup.status != "incomplete"):
            keep[backup.backup_id] = f"{backup.status}, kept for inspection ({backup.problem})"
        else:
            delete[backup.backup_id] = f"{backup.status}: {backup.problem}"
    return keep_held(RetentionDecision(keep=keep, delete=delete), leased or {})


def keep_held(decision: RetentionDecision, held: Mapping[str, str]) -> RetentionDecision:
    """The decision with the backups in ``held`` (backup id → what holds it: a lease, an Object Lock) moved from
    delete to keep, their reason saying what holds them and why they would have gone otherwise."""
    keep = dict(decision.keep)
    keep.update({backup_id: f"{held[backup_id]}; otherwise: {why}" for backup_id, why in decision.delete.items()
                 if backup_id in held})
    return RetentionDecision(keep=keep, delete={backup_id: why for backup_id, why in decision.delete.items()
                                                if backup_id not in held})


def binlogs_no_longer_needed(archived: Sequence[ArchivedBinlog], retained: Sequence[Manifest],
                             leased: Mapping[str, Iterable[str]] | None = None) -> list[ArchivedBinlog]:
    """Archived binlogs that no retained backup can use: older than every retained backup's start on that server.

    Conservative: a server with no retained backup keeps all its files, and if any retained backup does
    not name its server's archive (an older manifest), nothing is deleted. Never deleted either: the files a
    lease names (``leased``: server key → files a PITR drill replays) and each server's newest archived file,
    so the archive is never pruned to nothing while the source moves (it still shows how far it reached).
    """
    first_needed: dict[str, int] = {}
    for manifest in retained:
        key = manifest.extra.get("server_key")
        if not key:
            return []
        number = split_binlog_name(manifest.consistent_point.file)[1]
        first_needed[key] = min(number, first_needed.get(key, number))
    held = {(key, file) for key, files in (leased or {}).items() for file in files}
    newest: dict[str, int] = {}
    for entry in archived:
        newest[entry.server_key] = max(split_binlog_name(entry.file)[1], newest.get(entry.server_key, 0))
    return [entry for entry in archived
            if entry.server_key in first_needed and (number := split_binlog_name(entry.file)[1]) < first_needed[entry.server_key]
            and number < newest[entry.server_key] and (entry.server_key, entry.file) not in held]


def forks_no_longer_needed(forks: Iterable[BinlogFork], remaining: Sequence[ArchivedBinlog]) -> list[BinlogFork]:
    """Fork records whose old history has left the archive: no remaining file of their server up to ``last_file``.

    Without those files nothing crosses the fork: the chain check and a replay start in the new history.
    """
    def old_history_kept(fork: BinlogFork) -> bool:
        last = split_binlog_name(fork.last_file)[1]
        return any(entry.server_key == fork.server_key and split_binlog_name(entry.file)[1] <= last
                   for entry in remaining)

    return [fork for fork in forks if not old_history_kept(fork)]
