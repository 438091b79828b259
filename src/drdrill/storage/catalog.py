"""Which backups a target has in S3 and whether each one counts: no complete manifest, no backup."""

from __future__ import annotations

import json
from dataclasses import dataclass

from drdrill.storage.layout import BACKUP_ID_PATTERN, MANIFEST, QUARANTINE, TargetLayout, backup_time
from drdrill.storage.manifest import Manifest, ManifestCorrupt, ManifestError, read_manifest
from drdrill.storage.objectstore import ObjectStore
from drdrill.storage.seal import SigningKey

DRILL_EVIDENCE = "drills/"  # restore drills keep their results next to the backup; not part of it
VALID = "valid"
INCOMPLETE = "incomplete"
QUARANTINED = "quarantined"
INVALID = "invalid"
CORRUPT = "corrupt"  # the manifest was changed after it was written


@dataclass(frozen=True)
class BackupEntry:
    """One backup folder: its id, status, manifest (when readable), stored size and why it does not count."""

    backup_id: str
    status: str
    manifest: Manifest | None
    stored_bytes: int
    problem: str = ""

    @property
    def is_valid(self) -> bool:
        """Only a backup with a complete manifest, all objects present at their sizes, and no quarantine."""
        return self.status == VALID

    def summary(self) -> dict[str, object]:
        """A small JSON-ready description for the CLI and XCom."""
        manifest = self.manifest
        return {
            "backup_id": self.backup_id,
            "status": self.status,
            "valid": self.is_valid,
            "problem": self.problem,
            "stored_bytes": self.stored_bytes,
            "engine": manifest.engine if manifest else None,
            "started_at": manifest.started_at if manifest else backup_time(self.backup_id).isoformat(),
            "finished_at": manifest.finished_at if manifest else None,
            "consistent_point": manifest.consistent_point.label() if manifest else None,
            "tables": len(manifest.tables) if manifest else None,
            "seal": manifest.seal if manifest else None,
        }


def list_backups(store: ObjectStore, layout: TargetLayout, *, signing_key: SigningKey | None) -> list[BackupEntry]:
    """Every backup folder of a target, newest first, each with its status (checks sizes and manifest seals, not
    object hashes); ``signing_key``: the target's, when it signs its manifests."""
    objects_by_backup: dict[str, dict[str, int]] = {}
    for stored in store.list_objects(layout.full_root):
        backup_id, _, name = stored.key[len(layout.full_root):].partition("/")
        if BACKUP_ID_PATTERN.match(backup_id):
            objects_by_backup.setdefault(backup_id, {})[name] = stored.size
    entries = [_classify(store, layout, backup_id, sizes, signing_key) for backup_id, sizes in objects_by_backup.items()]
    return sorted(entries, key=lambda entry: entry.backup_id, reverse=True)


def find_backup(store: ObjectStore, layout: TargetLayout, backup_id: str, *,
                signing_key: SigningKey | None) -> BackupEntry | None:
    """One backup by id, or None when nothing is stored under it."""
    return next((entry for entry in list_backups(store, layout, signing_key=signing_key)
                 if entry.backup_id == backup_id), None)


def _quarantine_reason(raw: bytes | None) -> str:
    """``ARTEFACT_CORRUPT (dump.sql.zst)``-style summary of the findings a quarantine marker holds."""
    try:
        findings = json.loads(raw or b"[]")
        return "; ".join(f"{f['code']} ({f.get('evidence', {}).get('object', '-')})" for f in findings) or "unknown"
    except (ValueError, TypeError, KeyError, AttributeError):
        return (raw or b"").decode(errors="replace")[:200]


def _classify(store: ObjectStore, layout: TargetLayout, backup_id: str, sizes: dict[str, int],
              signing_key: SigningKey | None) -> BackupEntry:
    stored = sum(size for name, size in sizes.items() if not name.startswith(DRILL_EVIDENCE))
    if MANIFEST not in sizes:
        return BackupEntry(backup_id, INCOMPLETE, None, stored, "no manifest: the run did not finish")
    try:
        manifest = read_manifest(store, layout, backup_id, signing_key=signing_key)
    except ManifestError as exc:
        return BackupEntry(backup_id, CORRUPT if isinstance(exc, ManifestCorrupt) else INVALID, None, stored, exc.problem)
    if QUARANTINE in sizes:
        return BackupEntry(backup_id, QUARANTINED, manifest, stored,
                           f"failed verification: {_quarantine_reason(store.get_bytes(layout.quarantine_key(backup_id)))}")
    for entry in manifest.all_objects():
        if entry.name not in sizes:
            return BackupEntry(backup_id, INVALID, manifest, stored, f"{entry.name} is missing")
        if sizes[entry.name] != entry.size:
            return BackupEntry(backup_id, INVALID, manifest, stored,
                               f"{entry.name} is {sizes[entry.name]} bytes, manifest says {entry.size}")
    return BackupEntry(backup_id, VALID, manifest, stored)
