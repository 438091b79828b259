"""The Object Lock a backup's objects are written with, and what a lock still holds (on the in-memory store;
tests/integration/test_object_lock.py runs it against moto's Object Lock)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from drdrill.storage.layout import backup_of_key
from drdrill.storage.memory import MemoryObjectStore
from drdrill.storage.object_lock import ObjectLockPolicy, backup_lock
from drdrill.storage.objectstore import ObjectRetention
from tests.helpers.storage import LAYOUT, NOW, put_backup

pytestmark = pytest.mark.unit
BACKUP = "20261121T083012Z-a1b2c3"
STARTED = datetime(2026, 11, 21, 8, 30, 12, tzinfo=timezone.utc)


def test_every_object_and_the_manifest_of_a_backup_get_the_same_lock_from_its_start() -> None:
    policy = ObjectLockPolicy("compliance", 14)
    locked = {"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": STARTED + timedelta(days=14)}
    for name in ("dump.sql.zst", "manifest.json", "catchup/mysql-bin.000003.zst"):
        assert policy.put_arguments(LAYOUT.object_key(BACKUP, name)) == locked
    assert policy.retain_until(BACKUP) == STARTED + timedelta(days=14)


@pytest.mark.parametrize("key", [
    LAYOUT.proof_key(BACKUP), LAYOUT.quarantine_key(BACKUP),  # rewritten markers beside the backup
    "drills/shop/binlog/1-abc/mysql-bin.000001.zst", "drills/shop/leases/run-1.json", "drills/shop/full/not-an-id/x",
])
def test_markers_binlogs_leases_and_other_keys_are_written_without_a_lock(key: str) -> None:
    assert ObjectLockPolicy("governance", 7).put_arguments(key) == {}


def test_a_backup_key_names_its_backup_and_object() -> None:
    assert backup_of_key(LAYOUT.object_key(BACKUP, "dump.sql.zst")) == (BACKUP, "dump.sql.zst")
    assert backup_of_key(f"full/{BACKUP}/manifest.json") == (BACKUP, "manifest.json")
    assert backup_of_key("drills/shop/full/") is None


def test_a_backup_is_held_by_the_latest_lock_still_in_force_on_any_of_its_objects() -> None:
    store = MemoryObjectStore()
    backup = put_backup(store, days_old=3)
    assert backup_lock([store], LAYOUT, backup.backup_id, NOW) is None  # nothing locked
    data, manifest = LAYOUT.object_key(backup.backup_id, "dump.sql.zst"), LAYOUT.manifest_key(backup.backup_id)
    store.retentions[manifest] = ObjectRetention("GOVERNANCE", NOW - timedelta(hours=1))  # ended
    assert backup_lock([store], LAYOUT, backup.backup_id, NOW) is None
    store.retentions[data] = ObjectRetention("COMPLIANCE", NOW + timedelta(days=2))
    store.retentions[manifest] = ObjectRetention("GOVERNANCE", NOW + timedelta(days=1))
    held = backup_lock([store], LAYOUT, backup.backup_id, NOW)
    assert held == ObjectRetention("COMPLIANCE", NOW + timedelta(days=2))
    assert held.describe() == "locked (COMPLIANCE) until 2026-11-23 12:00:00 UTC"
