"""Whether the sandbox's S3 kept its data: moto holds everything in memory, so a restart silently empties the bucket.

moto's server has no persistence of its own (only a request recorder to replay by hand), so the sandbox notices
instead: it keeps a marker both in the bucket and on disk (``<sandbox>/s3-marker.json``). When the disk has one
and the bucket does not, every backup and archived binlog stored before was lost, and ``drdrill sandbox up`` says so.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from drdrill.storage.objectstore import ObjectStore

MARKER_KEY = ".drdrill-sandbox/store-marker.json"  # outside every target's folder
NEW, KEPT, EMPTIED = "new", "kept", "came_back_empty"


@dataclass(frozen=True)
class StoreCheck:
    """What the S3 store held when the sandbox came up: ``new``, ``kept`` or ``came_back_empty``, and what to tell."""

    state: str
    message: str


def check_store_kept(store: ObjectStore, marker_file: Path, now: datetime | None = None) -> StoreCheck:
    """Compare the bucket's marker with the one on disk, then mark both afresh when they did not match."""
    moment = now or datetime.now(timezone.utc)
    on_disk = _read(marker_file.read_bytes() if marker_file.exists() else None)
    in_bucket = _read(store.get_bytes(MARKER_KEY))
    if on_disk and in_bucket and on_disk["token"] == in_bucket["token"]:
        return StoreCheck(KEPT, f"the S3 store kept its data (marked {on_disk['marked_at'][:19]})")
    marker = json.dumps({"token": secrets.token_hex(8), "marked_at": moment.isoformat()}).encode()
    store.put_bytes(MARKER_KEY, marker)
    marker_file.write_bytes(marker)
    if not on_disk:
        return StoreCheck(NEW, "the S3 store is new")
    return StoreCheck(EMPTIED, f"The sandbox's S3 store came back empty (moto keeps everything in memory and was "
                               f"restarted): every backup and archived binlog stored since {on_disk['marked_at'][:19]} "
                               "is gone. Take a new backup and let the binlog archive run before trusting a restore, "
                               "PITR or the RPO monitor.")


def _read(raw: bytes | None) -> dict[str, str] | None:
    try:
        marker = json.loads(raw) if raw else None
    except ValueError:
        return None
    return marker if isinstance(marker, dict) and "token" in marker and "marked_at" in marker else None
