"""Stored backups and binlog index entries built in an object store, for tests of the storage logic."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from drdrill.storage.binlog.index import ArchivedBinlog
from drdrill.storage.binlog.layout import BinlogLayout
from drdrill.storage.layout import TargetLayout
from drdrill.storage.manifest import Manifest, ObjectEntry
from drdrill.storage.objectstore import ObjectStore
from drdrill.storage.proof import DrillOutcome, Proof, record_proof
from tests.helpers.manifests import sample_manifest

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
LAYOUT = TargetLayout("drills", "shop")
BINLOGS = BinlogLayout.of(LAYOUT)
SERVER = "1-aaaaaaaa"


def backup_id_at(moment: datetime) -> str:
    """The backup id of a backup started at ``moment`` (suffix ``000000``)."""
    return moment.strftime("%Y%m%dT%H%M%SZ") + "-000000"


def put_backup(store: ObjectStore, days_old: float, body: bytes = b"backup bytes", *, manifest: bool = True,
               checksums: bool = True, **changes: object) -> Manifest:
    """A backup started ``days_old`` days before NOW, its one object stored and (unless not) a manifest that matches it
    (recording the object's S3 checksum, unless ``checksums`` is False: as drdrill wrote manifests before)."""
    started = NOW - timedelta(days=days_old)
    backup_id = backup_id_at(started)
    stored = store.put_bytes(LAYOUT.object_key(backup_id, "dump.sql.zst"), body)
    made = sample_manifest(backup_id=backup_id, started_at=started.isoformat(),
                           finished_at=(started + timedelta(minutes=1)).isoformat(),
                           objects=(ObjectEntry.of_upload(stored, "data", 0) if checksums else
                                    ObjectEntry("dump.sql.zst", "data", stored.size, stored.sha256),), **changes)
    if manifest:
        store.put_bytes(LAYOUT.manifest_key(backup_id), made.to_json().encode())
    return made


def drill_outcome(*codes: str, verdict: str = "", validated: bool = True, run_id: str = "run-1") -> DrillOutcome:
    """A restore drill's outcome with these finding codes (verdict: failed when there are any, unless given)."""
    return DrillOutcome(verdict=verdict or ("failed" if codes else "passed"), findings=codes, run_id=run_id,
                        run_key=f"key-{run_id}", finished_at=NOW.isoformat(), validated=validated)


def put_proof(store: ObjectStore, backup_id: str, *codes: str, validated: bool = True, run_id: str = "run-1") -> Proof:
    """A restore drill of ``backup_id`` with these findings, recorded in its proof.json."""
    return record_proof(store, LAYOUT, backup_id, drill_outcome(*codes, validated=validated, run_id=run_id))


def index_entry(file: str, key: str = SERVER, *, first: str | None = None, last: str | None = None,
                start: str | None = None, end: str | None = None, first_at: datetime | None = None,
                last_at: datetime | None = None, body: bytes = b"compressed",
                raw: bytes = b"raw binlog") -> ArchivedBinlog:
    """The index entry of ``file`` whose stored object is ``body`` and binlog ``raw``; the end defaults to the last GTID."""
    return ArchivedBinlog(
        file=file, server_key=key, server_id=int(key.split("-")[0]), size=len(body),
        sha256=hashlib.sha256(body).hexdigest(), raw_size=len(raw), raw_sha256=hashlib.sha256(raw).hexdigest(),
        first_gtid=first, last_gtid=last, gtid_binlog_pos_start=start, gtid_binlog_pos_end=end or last or start,
        first_event_at=first_at, last_event_at=last_at, archived_at=NOW)


def put_binlog(store: ObjectStore, file: str, seq_from: int, seq_to: int, key: str = SERVER, *, minutes: int = 0,
               body: bytes = b"compressed", index: bool = True, obj: bool = True) -> ArchivedBinlog:
    """An archived file holding GTIDs 0-1-seq_from..seq_to, its events ``minutes`` after NOW; object, then index."""
    at = NOW + timedelta(minutes=minutes)
    made = index_entry(file, key, first=f"0-1-{seq_from}", last=f"0-1-{seq_to}", start=f"0-1-{seq_from - 1}",
                       first_at=at, last_at=at + timedelta(seconds=30), body=body)
    if obj:
        store.put_bytes(BINLOGS.object_key(key, file), body)
    if index:
        store.put_bytes(BINLOGS.index_key(key, file), made.to_json())
    return made
