"""``drdrill.drills.backup.steps`` on an in-memory store: verify, retention and the record's details.

Preflight, dump and manifest need a real source server: the integration tests drive them.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from drdrill.config import Target
from drdrill.config.models import Retention
from drdrill.drills.backup import steps
from drdrill.drills.restore import steps as restore
from drdrill.findings import DrillFailed
from drdrill.storage.binlog.index import list_archive
from drdrill.storage.catalog import list_backups
from drdrill.storage.lease import LEASE_BOUND, leases_root, release_lease, take_lease
from drdrill.storage.manifest import BinlogPosition
from drdrill.storage.memory import MemoryObjectStore
from drdrill.storage.objectstore import ObjectRetention
from drdrill.storage.seal import SigningKey
from tests.helpers.storage import BINLOGS, LAYOUT, NOW, SERVER, put_backup, put_binlog
from tests.helpers.targets import load_test_target

pytestmark = pytest.mark.unit


def target(tmp_path: Path) -> Target:
    """Target shop, stored under the helpers' LAYOUT, retention keep_backups: 3."""
    return load_test_target(tmp_path, prefix="drills")


def test_verify_passes_a_whole_backup_and_quarantines_a_damaged_one(tmp_path: Path) -> None:
    store, shop = MemoryObjectStore(), target(tmp_path)
    whole = put_backup(store, days_old=1)
    verified = steps.verify({"backup_id": whole.backup_id}, shop, store, signing_key=None)
    assert (verified["backup_id"], verified["kind"], verified["read_bytes"]) == (whole.backup_id, "attributes", 0)
    deep = steps.verify({"backup_id": whole.backup_id}, shop, store, signing_key=None, deep_reason="asked")
    assert (deep["kind"], deep["deep_reason"], deep["read_bytes"]) == ("deep", "asked", len(b"backup bytes"))
    assert steps.backup_details({"verify": deep})["verify"] == {"kind": "deep", "deep_reason": "asked",
                                                               "read_bytes": 12, "copy": None,
                                                               "seconds": deep["seconds"]}
    old = put_backup(store, days_old=0.9, checksums=False)
    assert steps.verify({"backup_id": old.backup_id}, shop, store, signing_key=None)["deep_reason"] == \
        "the manifest predates S3 checksums"

    damaged = put_backup(store, days_old=0.5)
    store.put_bytes(LAYOUT.object_key(damaged.backup_id, "dump.sql.zst"), b"flipped bytes")
    with pytest.raises(DrillFailed) as failed:
        steps.verify({"backup_id": damaged.backup_id}, shop, store, signing_key=None)
    assert {finding.code for finding in failed.value.findings} == {"ARTEFACT_CORRUPT"}
    statuses = {entry.backup_id: entry.status for entry in list_backups(store, LAYOUT, signing_key=None)}
    assert statuses == {whole.backup_id: "valid", old.backup_id: "valid", damaged.backup_id: "quarantined"}


def test_retention_keeps_the_newest_three(tmp_path: Path) -> None:
    store, shop = MemoryObjectStore(), target(tmp_path)
    made = [put_backup(store, days_old=days) for days in (5, 4, 3, 2, 1)]
    result = steps.apply_retention(shop, store, now=NOW, signing_key=None)
    assert sorted(result["deleted"]) == [made[0].backup_id, made[1].backup_id]
    assert [entry.backup_id for entry in list_backups(store, LAYOUT, signing_key=None)] == [m.backup_id for m in reversed(made[2:])]


def test_retention_keeps_a_backup_an_object_lock_still_holds_and_says_until_when(tmp_path: Path) -> None:
    store, shop = MemoryObjectStore(), target(tmp_path)
    made = [put_backup(store, days_old=days) for days in (5, 4, 3, 2, 1)]
    until = NOW + timedelta(days=3)
    store.retentions[LAYOUT.object_key(made[0].backup_id, "dump.sql.zst")] = ObjectRetention("COMPLIANCE", until)
    store.retentions[LAYOUT.manifest_key(made[1].backup_id)] = ObjectRetention("GOVERNANCE", NOW)  # ends now
    result = steps.apply_retention(shop, store, now=NOW, signing_key=None)
    assert result["locked"] == {made[0].backup_id: "locked (COMPLIANCE) until 2026-11-24 12:00:00 UTC"}
    assert result["kept"][made[0].backup_id].startswith("locked (COMPLIANCE) until 2026-11-24 12:00:00 UTC; otherwise: valid")
    assert list(result["deleted"]) == [made[1].backup_id] and result["deleted_objects"] == 2
    assert {entry.backup_id: entry.status for entry in list_backups(store, LAYOUT, signing_key=None)}[made[0].backup_id] == "valid"
    assert steps.backup_details({"retention": result})["retention"]["locked"] == result["locked"]


def test_verify_copies_a_verified_backup_and_a_bad_copy_fails_the_drill_without_quarantining_the_backup(
        tmp_path: Path) -> None:
    store, copy, shop = MemoryObjectStore("primary"), MemoryObjectStore("copy"), target(tmp_path)
    backup = put_backup(store, days_old=1)
    verified = steps.verify({"backup_id": backup.backup_id}, shop, store, signing_key=None, copy=copy)
    assert verified["copy"] == "memory://copy" and copy.get_bytes(LAYOUT.manifest_key(backup.backup_id))

    other = put_backup(store, days_old=0.5)
    copy.put_bytes(LAYOUT.object_key(other.backup_id, "dump.sql.zst"), b"flipped bytes")
    with pytest.raises(DrillFailed) as failed:
        steps.verify({"backup_id": other.backup_id}, shop, store, signing_key=None, copy=copy)
    assert [finding.code for finding in failed.value.findings] == ["COPY_MISMATCH"]
    assert {entry.status for entry in list_backups(store, LAYOUT, signing_key=None)} == {"valid"}
    assert copy.get_bytes(LAYOUT.manifest_key(other.backup_id)) is None  # a manifest only over a whole copy


def test_retention_deletes_from_both_buckets_and_a_lock_on_the_copy_holds_the_backup(tmp_path: Path) -> None:
    store, copy, shop = MemoryObjectStore("primary"), MemoryObjectStore("copy"), target(tmp_path)
    made = [put_backup(store, days_old=days) for days in (5, 4, 3, 2, 1)]
    for backup in made:
        steps.verify({"backup_id": backup.backup_id}, shop, store, signing_key=None, copy=copy)
    copy.retentions[LAYOUT.manifest_key(made[0].backup_id)] = ObjectRetention("GOVERNANCE", NOW + timedelta(days=1))
    result = steps.apply_retention(shop, store, now=NOW, signing_key=None, copy=copy)
    assert list(result["locked"]) == [made[0].backup_id] and list(result["deleted"]) == [made[1].backup_id]
    assert result["deleted_objects"] == 4  # its data and manifest, in each bucket
    for bucket in (store, copy):
        assert bucket.list_objects(LAYOUT.backup_root(made[1].backup_id)) == []
        assert bucket.get_bytes(LAYOUT.manifest_key(made[0].backup_id)) is not None


def test_retention_never_deletes_the_only_valid_backup(tmp_path: Path) -> None:
    store, shop = MemoryObjectStore(), target(tmp_path)
    only = put_backup(store, days_old=400)
    put_backup(store, days_old=1, manifest=False)  # a newer folder without a manifest is not a backup
    assert only.backup_id not in steps.apply_retention(shop, store, now=NOW, signing_key=None)["deleted"]
    assert only.backup_id in [entry.backup_id for entry in list_backups(store, LAYOUT, signing_key=None) if entry.is_valid]


def test_binlogs_older_than_every_retained_backup_are_pruned_not_the_ones_it_needs() -> None:
    store = MemoryObjectStore()
    put_binlog(store, "mysql-bin.000001", 1, 5, minutes=-3 * 24 * 60)
    put_binlog(store, "mysql-bin.000002", 6, 9, minutes=-10)  # the backup's point is mysql-bin.000002:600
    put_backup(store, days_old=1)  # an older manifest that does not name its server: nothing may go
    assert steps.prune_binlogs(store, LAYOUT, signing_key=None) == []
    put_backup(store, days_old=0.5, extra={"server_key": SERVER})
    put_backup(store, days_old=1, extra={"server_key": SERVER})
    assert steps.prune_binlogs(store, LAYOUT, signing_key=None) == [f"{SERVER}/mysql-bin.000001"]
    assert [entry.file for entry in list_archive(store, BINLOGS)] == ["mysql-bin.000002"]


def test_the_record_keeps_the_evidence_of_each_step() -> None:
    details = steps.backup_details({
        "preflight": {"engine": "mariadb-dump", "server_version": "10.11.19-MariaDB"},
        "dump_and_upload": {"raw_bytes": 10, "stored_bytes": 4, "mb_per_second": 1.5},
        "write_manifest": {"consistent_point": "mysql-bin.000002:600", "facts_point": "mysql-bin.000002:600",
                           "facts_match_consistent_point": True},
        "retention": {"kept": ["a"], "deleted": ["b"], "aborted_uploads": []},
    })
    assert details["engine"] == "mariadb-dump" and details["stored_bytes"] == 4
    assert details["retention"] == {"kept": ["a"], "deleted": ["b"], "locked": None}
    assert steps.backup_details({})["engine"] is None


def edit_manifest(store: MemoryObjectStore, backup_id: str) -> None:
    """Change a row count in the stored manifest, as a hand edit would (its seal left as it was)."""
    key = LAYOUT.manifest_key(backup_id)
    store.put_bytes(key, (store.get_bytes(key) or b"").replace(b'"rows": 3', b'"rows": 4'))


def test_retention_treats_an_edited_manifest_as_not_valid_and_keeps_the_newest_valid_backup(tmp_path: Path) -> None:
    store, shop = MemoryObjectStore(), target(tmp_path)
    made = [put_backup(store, days_old=days) for days in (40, 30, 20, 10, 1)]
    edit_manifest(store, made[4].backup_id)
    result = steps.apply_retention(shop, store, now=NOW, signing_key=None)  # keep_backups: 3 valid ones
    assert result["kept"][made[3].backup_id] == "newest valid backup"
    assert "corrupt, never deleted" in result["kept"][made[4].backup_id]
    assert set(result["kept"]) == {m.backup_id for m in made[1:]} and list(result["deleted"]) == [made[0].backup_id]


def test_retention_with_a_wrong_signing_key_deletes_nothing(tmp_path: Path) -> None:
    store, shop = MemoryObjectStore(), target(tmp_path)
    right, wrong = SigningKey(b"r" * 32), SigningKey(b"w" * 32)
    for days in (400, 300, 200, 100, 50):
        made = put_backup(store, days_old=days)
        store.put_bytes(LAYOUT.manifest_key(made.backup_id), made.to_json(right).encode())
    result = steps.apply_retention(shop, store, now=NOW, signing_key=wrong)
    assert result["deleted"] == {} and result["deleted_objects"] == 0
    assert len(steps.apply_retention(shop, store, now=NOW, signing_key=right)["deleted"]) == 2


def test_a_backup_a_restore_drill_holds_a_lease_on_survives_retention_until_the_lease_ends(tmp_path: Path) -> None:
    """The reported case: keep_backups 1, a restore drill restoring backup A, a new backup B whose retention would
    delete A. A stays ("leased by run X") while the lease holds; released, or expired (a dead run), it goes."""
    store = MemoryObjectStore()
    shop = dataclasses.replace(target(tmp_path), retention=Retention(keep_backups=1))
    a = put_backup(store, days_old=1)
    assert restore.select_backup(shop, store, signing_key=None, now=NOW, seed="run X", lease_key="key-x")["backup_id"] == a.backup_id
    b = put_backup(store, days_old=0.5)
    kept = steps.apply_retention(shop, store, now=NOW, signing_key=None)
    assert kept["deleted"] == {} and kept["kept"][a.backup_id].startswith("leased by run run X (restore drill")
    release_lease(store, LAYOUT, "key-x")
    assert list(steps.apply_retention(shop, store, now=NOW, signing_key=None)["deleted"]) == [a.backup_id]

    a = put_backup(store, days_old=1)  # again, held by a run that died: its lease is older than its bound
    take_lease(store, LAYOUT, key="key-x", run_id="run X", drill="restore", backup_id=a.backup_id,
               now=datetime.now(timezone.utc) - LEASE_BOUND - timedelta(seconds=1))
    gone = steps.apply_retention(shop, store, now=NOW, signing_key=None)
    assert list(gone["deleted"]) == [a.backup_id]
    assert [removed.startswith("run X (restore drill, expired") for removed in gone["expired_leases_removed"]] == [True]
    assert store.list_objects(leases_root(LAYOUT)) == []
    assert [entry.backup_id for entry in list_backups(store, LAYOUT, signing_key=None)] == [b.backup_id]


def test_a_pitr_drills_leased_binlogs_are_not_pruned(tmp_path: Path) -> None:
    store = MemoryObjectStore()
    for number in (1, 2, 3):
        put_binlog(store, f"mysql-bin.00000{number}", number * 10, number * 10 + 5, minutes=-60 + number)
    put_backup(store, days_old=0.1, extra={"server_key": SERVER}, consistent_point=BinlogPosition("mysql-bin.000004", 4, "0-1-40"))
    lease = take_lease(store, LAYOUT, key="key-p", run_id="run P", drill="pitr", backup_id="gone",
                       binlogs={SERVER: ["mysql-bin.000001"]})
    assert steps.prune_binlogs(store, LAYOUT, signing_key=None, leases=[lease]) == [f"{SERVER}/mysql-bin.000002"]
    assert [entry.file for entry in list_archive(store, BINLOGS)] == ["mysql-bin.000001", "mysql-bin.000003"]
