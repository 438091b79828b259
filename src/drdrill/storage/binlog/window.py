"""The recoverable window: from the oldest valid backup's completion to the newest archived event, what PITR can reach."""

from __future__ import annotations

from datetime import datetime, timezone

from drdrill.storage.binlog.index import list_archive
from drdrill.storage.binlog.layout import BinlogLayout
from drdrill.storage.catalog import list_backups
from drdrill.storage.layout import TargetLayout
from drdrill.storage.manifest import Manifest
from drdrill.storage.objectstore import ObjectStore
from drdrill.storage.seal import SigningKey


def newest_archived_event(store: ObjectStore, layout: BinlogLayout | TargetLayout) -> datetime | None:
    """The newest event time in the archive (the archive is complete up to it): the predicted-RPO input."""
    times = [entry.last_event_at for entry in list_archive(store, layout) if entry.last_event_at]
    return max(times) if times else None


def backup_ready_at(manifest: Manifest) -> datetime:
    """When a backup's data is certainly complete (its consistent point is at or before this)."""
    return datetime.fromisoformat(manifest.finished_at).astimezone(timezone.utc)


def recoverable_window(store: ObjectStore, layout: TargetLayout, *,
                       signing_key: SigningKey | None) -> tuple[datetime, datetime] | None:
    """From the oldest valid backup to the newest archived event: the span PITR can reach (None when empty).

    Raises BinlogArchiveError when an index entry is unreadable: the window is then unknown, not empty.
    """
    valid = [entry.manifest for entry in list_backups(store, layout, signing_key=signing_key) if entry.is_valid and entry.manifest]
    end = newest_archived_event(store, layout)
    if not valid or end is None:
        return None
    start = min(backup_ready_at(manifest) for manifest in valid)
    return (start, end) if end > start else None
