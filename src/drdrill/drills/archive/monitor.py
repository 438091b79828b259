"""The predicted RPO: how far what the newest backup plus the binlog archive can recover trails the source, how old
the newest valid backup is, and how long ago the source last committed a heartbeat (a source that stopped
committing, e.g. on a full disk, has nothing left to archive: its archive lag alone would stay green)."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from drdrill.errors import TLSFailed
from drdrill.findings import Finding, tls_finding
from drdrill.config import Target
from drdrill.config.models import Heartbeat
from drdrill.drills.layouts import binlog_layout, layout_for
from drdrill.durations import format_duration
from drdrill.endpoints import MySQLEndpoint
from drdrill.servers.gtid import parse_gtid_position
from drdrill.servers.identity import read_identity
from drdrill.storage.binlog.index import list_archive
from drdrill.storage.binlog.names import server_key
from drdrill.storage.catalog import list_backups
from drdrill.storage.layout import backup_time
from drdrill.storage.manifest import Manifest
from drdrill.storage.objectstore import ObjectStore
from drdrill.storage.seal import SigningKey


def archive_lag_seconds(source: MySQLEndpoint, store: ObjectStore, target: Target, now: datetime,
                        newest_backup: Manifest | None = None) -> tuple[float | None, str]:
    """Seconds of writes that neither the newest valid backup nor the archive can recover (0 when one of them covers
    the source's GTID position): a fresh backup with an empty archive loses little, an old one with a stale
    archive loses everything since the later of the two."""
    key = server_key(read_identity(source))
    entries = [entry for entry in list_archive(store, binlog_layout(target), key) if entry.last_event_at]
    reach = [(entry.gtid_binlog_pos_end, datetime.fromisoformat(str(entry.last_event_at)),
              f"the newest archived event is from {entry.last_event_at}") for entry in entries[-1:]]
    if newest_backup is not None:
        started = backup_time(newest_backup.backup_id)  # its consistent point is no earlier
        reach.append((newest_backup.consistent_point.gtid, started,
                      f"the newest valid backup {newest_backup.backup_id} started at {started.isoformat()}"))
    if not reach:
        return None, f"nothing is archived yet for server {key} and there is no valid backup"
    current = parse_gtid_position(source.fetch_all("SELECT @@gtid_binlog_pos")[0][0])
    for gtid, _, why in reach:
        held = parse_gtid_position(gtid or "")
        if all(domain in held and held[domain][1] >= seq for domain, (_, seq) in current.items()):
            return 0.0, f"everything up to {gtid} is recoverable ({why})"
    _, newest_at, why = max(reach, key=lambda point: point[1])
    return max(0.0, (now - newest_at).total_seconds()), why


def heartbeat_age_seconds(source: MySQLEndpoint, heartbeat: Heartbeat, now: datetime) -> float | None:
    """Seconds since the source's newest heartbeat row (a read: it answers even when commits stall); None: no row."""
    rows = source.fetch_all(f"SELECT MAX(`{heartbeat.column}`) FROM `{heartbeat.schema}`.`{heartbeat.table}`")
    newest = rows[0][0]
    return None if newest is None else max(0.0, (now - newest.replace(tzinfo=timezone.utc)).total_seconds())


def _heartbeat_findings(target: Target, source: MySQLEndpoint, now: datetime) -> tuple[float | None, list[Finding]]:
    """The heartbeat's age and HEARTBEAT_STOPPED when it is older than the RPO objective (or cannot be read)."""
    heartbeat, rpo = target.heartbeat, target.objectives.rpo
    assert heartbeat is not None
    try:
        age = heartbeat_age_seconds(source, heartbeat, now)
    except Exception as exc:  # PyMySQL errors: a missing table, a lost connection
        return None, [Finding("HEARTBEAT_STOPPED", f"The heartbeat {heartbeat.qualified_table} on {source.describe()} "
                              f"cannot be read: {exc}.")]
    if age is None:
        return None, [Finding("HEARTBEAT_STOPPED", f"The heartbeat table {heartbeat.qualified_table} on "
                              f"{source.describe()} has no rows: nothing shows that the source takes writes.")]
    if age > rpo.total_seconds():
        return age, [Finding("HEARTBEAT_STOPPED", f"The newest heartbeat on {source.describe()} "
                             f"({heartbeat.qualified_table}) is {format_duration_seconds(age)} old; the RPO objective "
                             f"is {format_duration(rpo)}: the source has stopped committing writes.",
                             evidence={"heartbeat_age_seconds": age})]
    return age, []


def sample_rpo(target: Target, source: MySQLEndpoint, store: ObjectStore, *, signing_key: SigningKey | None,
               now: datetime) -> dict[str, Any]:
    """One reading of the predicted RPO, with ARCHIVE_LAGGING / BACKUP_STALE findings (not raised)."""
    began = time.monotonic()
    findings = []
    rpo = target.objectives.rpo
    valid = [entry for entry in list_backups(store, layout_for(target), signing_key=signing_key) if entry.is_valid]
    try:
        lag, why = archive_lag_seconds(source, store, target, now, valid[0].manifest if valid else None)
    except Exception as exc:
        lag, why = None, f"the source could not be read: {exc}"
        findings.append(tls_finding(f"Comparing the archive with {source.describe()}", exc) if isinstance(exc, TLSFailed)
                        else Finding("TARGET_UNAVAILABLE", f"Cannot compare the archive with {source.describe()}: {exc}."))
    if lag is None and not findings:
        findings.append(Finding("ARCHIVE_LAGGING", f"The binlog archive of {target.name} cannot bound data loss: {why}."))
    elif lag is not None and lag > rpo.total_seconds():
        findings.append(Finding("ARCHIVE_LAGGING", f"The binlog archive of {target.name} trails the source by "
                                f"{format_duration_seconds(lag)} ({why}); the RPO objective is {format_duration(rpo)}.",
                                evidence={"archive_lag_seconds": lag}))
    heartbeat_age = None
    if target.heartbeat is not None and not any(finding.code in ("TARGET_UNAVAILABLE", "TLS_VERIFY_FAILED")
                                                for finding in findings):
        heartbeat_age, stopped = _heartbeat_findings(target, source, now)
        findings += stopped
    backup_age = (now - backup_time(valid[0].backup_id)).total_seconds() if valid else None
    limit = target.restore_drill.max_backup_age
    if backup_age is None:
        findings.append(Finding("BACKUP_STALE", f"Target {target.name} has no valid full backup at all."))
    elif limit and backup_age > limit.total_seconds():
        findings.append(Finding("BACKUP_STALE", f"The newest valid backup of {target.name} ({valid[0].backup_id}) is "
                                f"{format_duration_seconds(backup_age)} old; the target allows {format_duration(limit)}."))
    return {
        "sampled_at": now.isoformat(), "archive_lag_seconds": lag, "archive_state": why,
        "heartbeat_age_seconds": heartbeat_age,
        "backup_age_seconds": backup_age, "rpo_objective_seconds": rpo.total_seconds(),
        "max_backup_age_seconds": limit.total_seconds() if limit else None,
        "findings": [finding.to_dict() for finding in findings], "seconds": round(time.monotonic() - began, 3),
    }


def format_duration_seconds(seconds: float) -> str:
    """``format_duration`` for a number of seconds."""
    from datetime import timedelta

    return format_duration(timedelta(seconds=round(seconds, 1)))
