"""Which stored folders count as backups: only a complete manifest whose objects are all there at their sizes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from drdrill.storage.catalog import (
    CORRUPT,
    INCOMPLETE,
    INVALID,
    QUARANTINED,
    RUN_GRACE_FLOOR,
    VALID,
    describe_backups,
    find_backup,
    list_backups,
    may_still_be_running,
)
from drdrill.storage.seal import SigningKey
from drdrill.storage.memory import MemoryObjectStore
from drdrill.storage.proof import FAILED_DRILL, PROVEN
from tests.helpers.manifests import unsealed_format_1
from tests.helpers.storage import LAYOUT, NOW, put_backup, put_proof


pytestmark = pytest.mark.unit


def only(store: MemoryObjectStore):
    entries = list_backups(store, LAYOUT, signing_key=None)
    assert len(entries) == 1
    return entries[0]


def test_a_complete_backup_is_valid(store: MemoryObjectStore) -> None:
    made = put_backup(store, 1)
    entry = only(store)
    assert entry.status == VALID and entry.is_valid and entry.problem == "" and entry.manifest == made
    assert entry.summary()["consistent_point"] == "mysql-bin.000002:600 (gtid 0-1-6)"


def test_no_manifest_is_an_incomplete_run(store: MemoryObjectStore) -> None:
    put_backup(store, 1, manifest=False)
    entry = only(store)
    assert entry.status == INCOMPLETE and not entry.is_valid and "did not finish" in entry.problem
    assert entry.summary()["engine"] is None and entry.summary()["started_at"].startswith("2026-11-20T12:00:00")


def test_an_unreadable_manifest_makes_the_backup_invalid(store: MemoryObjectStore) -> None:
    made = put_backup(store, 1)
    store.put_bytes(LAYOUT.manifest_key(made.backup_id), b'{"cut short": ')
    entry = only(store)
    assert entry.status == INVALID and entry.manifest is None and "not a complete drdrill manifest" in entry.problem


def test_a_missing_object_makes_the_backup_invalid(store: MemoryObjectStore) -> None:
    made = put_backup(store, 1)
    store.delete(LAYOUT.object_key(made.backup_id, "dump.sql.zst"))
    assert (only(store).status, only(store).problem) == (INVALID, "dump.sql.zst is missing")


def test_an_object_of_another_size_makes_the_backup_invalid(store: MemoryObjectStore) -> None:
    made = put_backup(store, 1, body=b"12345")
    store.put_bytes(LAYOUT.object_key(made.backup_id, "dump.sql.zst"), b"1234")
    assert (only(store).status, only(store).problem) == (INVALID, "dump.sql.zst is 4 bytes, manifest says 5")


def test_a_quarantined_backup_does_not_count_and_says_why(store: MemoryObjectStore) -> None:
    made = put_backup(store, 1)
    marker = [{"code": "ARTEFACT_CORRUPT", "evidence": {"object": "dump.sql.zst"}}]
    store.put_bytes(LAYOUT.quarantine_key(made.backup_id), json.dumps(marker).encode())
    entry = only(store)
    assert entry.status == QUARANTINED and not entry.is_valid
    assert entry.problem == "failed verification: ARTEFACT_CORRUPT (dump.sql.zst)"


def test_backups_are_newest_first_and_other_folders_are_ignored(store: MemoryObjectStore) -> None:
    older, newer = put_backup(store, 3), put_backup(store, 1)
    store.put_bytes(f"{LAYOUT.full_root}not-a-backup/file", b"x")
    assert [entry.backup_id for entry in list_backups(store, LAYOUT, signing_key=None)] == [newer.backup_id, older.backup_id]
    found = find_backup(store, LAYOUT, older.backup_id, signing_key=None)
    assert found is not None and found.backup_id == older.backup_id
    assert find_backup(store, LAYOUT, "20200101T000000Z-000000", signing_key=None) is None


def test_drill_evidence_is_not_counted_as_stored_bytes(store: MemoryObjectStore) -> None:
    made = put_backup(store, 1, body=b"12345")
    without = only(store).stored_bytes
    store.put_bytes(LAYOUT.object_key(made.backup_id, "drills/run-1/validation.json"), b"x" * 100)
    assert only(store).stored_bytes == without and only(store).status == VALID


def test_an_edited_manifest_makes_the_backup_corrupt_and_says_why(store: MemoryObjectStore) -> None:
    made = put_backup(store, 1)
    key = LAYOUT.manifest_key(made.backup_id)
    store.put_bytes(key, (store.get_bytes(key) or b"").replace(b'"rows": 3', b'"rows": 30'))
    entry = only(store)
    assert entry.status == CORRUPT and not entry.is_valid and entry.manifest is None
    assert "digest check failed" in entry.problem and entry.summary()["seal"] is None


def test_a_valid_backup_says_how_its_manifest_is_sealed(store: MemoryObjectStore) -> None:
    signing_key = SigningKey(b"c" * 32, source="Airflow connection 'shop_manifest_key'")
    made = put_backup(store, 1)
    assert only(store).summary()["seal"] == "sealed"
    store.put_bytes(LAYOUT.manifest_key(made.backup_id), made.to_json(signing_key).encode())
    assert list_backups(store, LAYOUT, signing_key=signing_key)[0].summary()["seal"] == "signed"
    store.put_bytes(LAYOUT.manifest_key(made.backup_id), unsealed_format_1(made).encode())
    assert (only(store).status, only(store).summary()["seal"]) == (VALID, "unsealed")
    refused = list_backups(store, LAYOUT, signing_key=signing_key)[0]
    assert refused.status == CORRUPT and "has no signature" in refused.problem


def test_a_passing_restore_drill_makes_a_backup_proven_and_still_valid(store: MemoryObjectStore) -> None:
    made = put_backup(store, 1, body=b"12345")
    before = only(store).stored_bytes
    put_proof(store, made.backup_id, "RTO_EXCEEDED")  # a slow drill still proves the backup it restored
    entry = only(store)
    assert (entry.status, entry.is_valid, entry.label, entry.problem) == (PROVEN, True, "proven", "")
    assert entry.stored_bytes == before  # proof.json is not one of the backup's objects
    summary = entry.summary()
    assert (summary["status"], summary["valid"]) == ("proven", True)
    assert summary["proof"]["standing"] == "proven" and summary["proof"]["findings"] == ["RTO_EXCEEDED"]


def test_a_drill_that_found_the_backup_broken_makes_it_failed_drill_and_not_valid(store: MemoryObjectStore) -> None:
    made = put_backup(store, 1)
    put_proof(store, made.backup_id, "RTO_EXCEEDED", "CHECKSUM_MISMATCH", run_id="run-7")
    entry = only(store)
    assert (entry.status, entry.is_valid, entry.label) == (FAILED_DRILL, False, "failed drill")
    assert "run-7" in entry.problem and "CHECKSUM_MISMATCH" in entry.problem and "RTO_EXCEEDED" not in entry.problem
    assert entry.summary()["status"] == "failed_drill" and entry.summary()["valid"] is False


def test_a_drill_that_could_not_verify_leaves_the_backup_unproven(store: MemoryObjectStore) -> None:
    made = put_backup(store, 1)
    put_proof(store, made.backup_id, "COULD_NOT_VERIFY", validated=False)
    assert (only(store).status, only(store).is_valid) == (VALID, True)


def test_an_unreadable_proof_leaves_the_backup_valid_and_says_so(store: MemoryObjectStore) -> None:
    made = put_backup(store, 1)
    store.put_bytes(LAYOUT.proof_key(made.backup_id), b"{cut")
    entry = only(store)
    assert entry.status == VALID and "not proven" in entry.problem and entry.proof is None


def test_a_proof_next_to_an_incomplete_run_does_not_make_it_a_backup(store: MemoryObjectStore) -> None:
    made = put_backup(store, 1, manifest=False)
    put_proof(store, made.backup_id)
    assert only(store).status == INCOMPLETE


def test_verification_problems_outrank_a_proof(store: MemoryObjectStore) -> None:
    made = put_backup(store, 1)
    put_proof(store, made.backup_id)
    store.put_bytes(LAYOUT.quarantine_key(made.backup_id), b"[]")
    assert only(store).status == QUARANTINED


def test_a_corrupt_manifest_outranks_a_proof(store: MemoryObjectStore) -> None:
    made = put_backup(store, 1)
    put_proof(store, made.backup_id)
    assert only(store).status == PROVEN
    key = LAYOUT.manifest_key(made.backup_id)
    store.put_bytes(key, (store.get_bytes(key) or b"").replace(b'"rows": 3', b'"rows": 30'))
    entry = only(store)
    assert (entry.status, entry.is_valid, entry.proof) == (CORRUPT, False, None)


def test_an_incomplete_folder_is_a_running_backup_only_within_twice_the_longest_complete_run(
        store: MemoryObjectStore) -> None:
    put_backup(store, 2, facts_taken_at=(NOW - timedelta(days=2) + timedelta(hours=1)).isoformat())  # a 1 h run
    running = put_backup(store, 0, manifest=False)
    backups = list_backups(store, LAYOUT, signing_key=None)
    entry = next(b for b in backups if b.backup_id == running.backup_id)
    assert may_still_be_running(entry, backups, NOW + timedelta(hours=1, minutes=59))
    assert not may_still_be_running(entry, backups, NOW + timedelta(hours=2, minutes=1))
    complete = next(b for b in backups if b.backup_id != running.backup_id)
    assert not may_still_be_running(complete, backups, NOW)  # only incomplete folders are runs in progress


def test_without_a_complete_run_to_go_by_a_running_backup_gets_the_floor(store: MemoryObjectStore) -> None:
    put_backup(store, 0, manifest=False)
    entry = only(store)
    assert may_still_be_running(entry, [entry], NOW + RUN_GRACE_FLOOR - timedelta(seconds=1))
    assert not may_still_be_running(entry, [entry], NOW + RUN_GRACE_FLOOR)


def test_backups_that_do_not_count_are_described_by_id_status_and_why_the_newest_first(store: MemoryObjectStore) -> None:
    made = [put_backup(store, days, body=b"12345") for days in (4, 3, 2, 1)]
    for backup in made:
        store.put_bytes(LAYOUT.object_key(backup.backup_id, "dump.sql.zst"), b"1234")
    entries = list_backups(store, LAYOUT, signing_key=None)
    newest = made[-1].backup_id
    assert describe_backups(entries[:1]) == f"{newest} (invalid: dump.sql.zst is 4 bytes, manifest says 5)"
    described = describe_backups(entries)
    assert described.startswith(f"{newest} (invalid: ") and made[1].backup_id in described
    assert made[0].backup_id not in described and described.endswith("; and 1 more ('drdrill backups list' shows all)")
