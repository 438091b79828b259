"""Where a target's backups live in the bucket: ``<prefix>/<target>/full/<backup_id>/``."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

MANIFEST = "manifest.json"
QUARANTINE = "quarantine.json"
PROOF = "proof.json"  # what the restore drills of the backup found; written after it, never one of its objects
BACKUP_ID_PATTERN = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")
_BACKUP_KEY = re.compile(r"(?:^|/)full/(\d{8}T\d{6}Z-[0-9a-f]{6})/(.+)$")


def target_root(prefix: str, target: str) -> str:
    """``<prefix>/<target>/`` (``<target>/`` without a prefix): the folder of everything one target stores."""
    return f"{prefix}/{target}/" if prefix else f"{target}/"


@dataclass(frozen=True)
class TargetLayout:
    """Key names for one target under a bucket prefix."""

    prefix: str
    target: str

    @property
    def full_root(self) -> str:
        """The folder that holds one sub-folder per full backup."""
        return f"{target_root(self.prefix, self.target)}full/"

    def backup_root(self, backup_id: str) -> str:
        """The folder of one backup."""
        return f"{self.full_root}{backup_id}/"

    def object_key(self, backup_id: str, name: str) -> str:
        """The key of an object of a backup."""
        return f"{self.backup_root(backup_id)}{name}"

    def manifest_key(self, backup_id: str) -> str:
        """The manifest's key; its presence is what makes a backup a backup."""
        return self.object_key(backup_id, MANIFEST)

    def quarantine_key(self, backup_id: str) -> str:
        """Marker written when verification found the stored backup broken."""
        return self.object_key(backup_id, QUARANTINE)

    def proof_key(self, backup_id: str) -> str:
        """The backup's proof record: the verdict of its latest restore drill and its standing."""
        return self.object_key(backup_id, PROOF)


def backup_of_key(key: str) -> tuple[str, str] | None:
    """The backup id and object name of a key inside a backup's folder (``.../full/<backup_id>/<name>``); None for
    any other key."""
    found = _BACKUP_KEY.search(key)
    return (found.group(1), found.group(2)) if found else None


def new_backup_id(when: datetime) -> str:
    """A sortable, unique id: the UTC start time plus a random suffix, e.g. ``20261121T083012Z-a1b2c3``."""
    stamp = when.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(3)}"


def backup_time(backup_id: str) -> datetime:
    """The start time encoded in a backup id."""
    return datetime.strptime(backup_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
