"""S3 Object Lock on backups: the lock each backup object and manifest is written with, and what a lock still holds.

Every object of one backup gets the same retain-until date, taken from the backup's id (its start time) plus
``retain_days``, so the objects and the manifest of a backup are all deletable at the same moment and a re-run of a
step locks what it rewrites the same way. Markers beside the backup (``proof.json``, ``quarantine.json``) are not
locked: they are rewritten. Binlogs, leases and evidence are not locked either.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from drdrill.storage.layout import PROOF, QUARANTINE, TargetLayout, backup_of_key, backup_time
from drdrill.storage.objectstore import ObjectRetention, ObjectStore

LOCK_MODES = {"governance": "users with s3:BypassGovernanceRetention may still delete or shorten it",
              "compliance": "nobody, not even the account's root user, can delete it before it ends"}
UNLOCKED_NAMES = frozenset({PROOF, QUARANTINE})


@dataclass(frozen=True)
class ObjectLockPolicy:
    """The Object Lock a target's backups are written with (``storage.object_lock``)."""

    mode: str
    retain_days: int

    def retain_until(self, backup_id: str) -> datetime:
        """When the lock on every object of ``backup_id`` ends."""
        return backup_time(backup_id) + timedelta(days=self.retain_days)

    def put_arguments(self, key: str) -> dict[str, Any]:
        """PutObject/CreateMultipartUpload arguments for ``key``: the lock for a backup's objects and manifest, none
        for any other key."""
        found = backup_of_key(key)
        if found is None or found[1] in UNLOCKED_NAMES:
            return {}
        return {"ObjectLockMode": self.mode.upper(), "ObjectLockRetainUntilDate": self.retain_until(found[0])}


def backup_lock(stores: Iterable[ObjectStore], layout: TargetLayout, backup_id: str,
                now: datetime) -> ObjectRetention | None:
    """The latest Object Lock retention still in force on any object of a backup in any of ``stores`` (its bucket,
    its second copy's); None: all can be deleted now."""
    held = [retention for store in stores for stored in store.list_objects(layout.backup_root(backup_id))
            if (retention := store.retention(stored.key)) is not None and retention.until > now]
    return max(held, key=lambda retention: retention.until, default=None)
