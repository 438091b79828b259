"""Verifying a stored backup re-reads every object: a changed, missing or undescribed object is a finding."""

from __future__ import annotations

import dataclasses
import errno
import os
import json
import shutil
from pathlib import Path

import pytest

from drdrill.findings import DrillFailed, Finding
from drdrill.storage import verify
from drdrill.storage.catalog import QUARANTINED, list_backups
from drdrill.storage.client_encryption import SCHEME, ClientKey
from drdrill.storage.manifest import Manifest, ObjectEntry
from drdrill.storage.memory import MemoryObjectStore
from drdrill.storage.pipeline import upload_compressed
from drdrill.storage.verify import ATTRIBUTES, DEEP, fetch_backup, hash_object, quarantine, verify_backup, verify_kind
from tests.helpers.storage import LAYOUT, put_backup


pytestmark = pytest.mark.unit
KEY = ClientKey(os.urandom(32), "Airflow connection 'backup_key'")


def codes(findings: list[Finding]) -> list[str]:
    return [finding.code for finding in findings]


def test_an_intact_backup_verifies_and_is_fetched_whole(store: MemoryObjectStore,
                                                        tmp_path: Path) -> None:
    made = put_backup(store, 1, body=b"the dump")
    manifest, findings = verify_backup(store, LAYOUT, made.backup_id, signing_key=None)
    assert manifest == made and findings == []
    stats, findings = fetch_backup(store, LAYOUT, made.backup_id, tmp_path / "fetched", signing_key=None)
    assert findings == [] and stats["bytes"] == 8 and (tmp_path / "fetched" / "dump.sql.zst").read_bytes() == b"the dump"


def test_a_changed_byte_is_artefact_corrupt_even_at_the_same_size(store: MemoryObjectStore) -> None:
    made = put_backup(store, 1, body=b"the dump")
    store.put_bytes(LAYOUT.object_key(made.backup_id, "dump.sql.zst"), b"the dumq")
    _, findings = verify_backup(store, LAYOUT, made.backup_id, signing_key=None)
    assert codes(findings) == ["ARTEFACT_CORRUPT"]
    assert findings[0].evidence["object"] == "dump.sql.zst" and findings[0].evidence["size"] == 8


def test_a_missing_object_is_artefact_missing(store: MemoryObjectStore) -> None:
    made = put_backup(store, 1)
    store.delete(LAYOUT.object_key(made.backup_id, "dump.sql.zst"))
    assert codes(verify_backup(store, LAYOUT, made.backup_id, signing_key=None)[1]) == ["ARTEFACT_MISSING"]


def test_no_or_a_broken_manifest_is_manifest_invalid(store: MemoryObjectStore) -> None:
    made = put_backup(store, 1, manifest=False)
    manifest, findings = verify_backup(store, LAYOUT, made.backup_id, signing_key=None)
    assert manifest is None and codes(findings) == ["MANIFEST_INVALID"] and "has no manifest" in findings[0].message
    store.put_bytes(LAYOUT.manifest_key(made.backup_id), b"[]")  # JSON, but not a manifest
    manifest, findings = verify_backup(store, LAYOUT, made.backup_id, signing_key=None)
    assert manifest is None and codes(findings) == ["MANIFEST_INVALID"] and "not a JSON object" in findings[0].message


def test_quarantine_makes_the_backup_stop_counting(store: MemoryObjectStore) -> None:
    made = put_backup(store, 1)
    finding = Finding("ARTEFACT_CORRUPT", "changed", evidence={"object": "dump.sql.zst"})
    quarantine(store, LAYOUT, made.backup_id, [finding])
    assert json.loads(store.get_bytes(LAYOUT.quarantine_key(made.backup_id)) or b"")[0]["code"] == "ARTEFACT_CORRUPT"
    assert list_backups(store, LAYOUT, signing_key=None)[0].status == QUARANTINED


def test_hash_object_reports_size_and_sha256_and_can_keep_a_copy(store: MemoryObjectStore, tmp_path: Path) -> None:
    import hashlib

    body = b"z" * 3_000_000
    store.put_bytes("k", body)
    assert hash_object(store, "k", tmp_path / "copy") == (len(body), hashlib.sha256(body).hexdigest())
    assert (tmp_path / "copy").read_bytes() == body


def test_an_edited_manifest_is_manifest_corrupt_before_any_object_is_read(store: MemoryObjectStore, tmp_path) -> None:
    made = put_backup(store, 1)
    key = LAYOUT.manifest_key(made.backup_id)
    store.put_bytes(key, (store.get_bytes(key) or b"").replace(made.objects[0].sha256.encode(), b"ab" * 32))
    manifest, findings = verify_backup(store, LAYOUT, made.backup_id, signing_key=None)
    assert manifest is None and codes(findings) == ["MANIFEST_CORRUPT"]
    assert "digest check failed" in findings[0].message and "cannot be trusted" in findings[0].fix
    stats, fetched = fetch_backup(store, LAYOUT, made.backup_id, tmp_path / "fetched", signing_key=None)
    assert codes(fetched) == ["MANIFEST_CORRUPT"] and stats["bytes"] == 0
    assert not list((tmp_path / "fetched").iterdir())


def test_a_fetch_that_does_not_fit_is_insufficient_space_before_the_first_byte(
        store: MemoryObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made = put_backup(store, 1, body=b"the dump")
    into = tmp_path / "fetched"
    monkeypatch.setattr(verify.shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(100, 97, 3))
    with pytest.raises(DrillFailed) as failed:
        fetch_backup(store, LAYOUT, made.backup_id, into, signing_key=None)
    (finding,) = failed.value.findings
    assert finding.code == "INSUFFICIENT_SPACE" and finding.verdict == "could_not_verify"
    assert finding.evidence["needed_bytes"] == 8 and finding.evidence["free_bytes"] == 3
    assert "needs 8B, 3B is free" in finding.message and not list(into.iterdir())
    assert list_backups(store, LAYOUT, signing_key=None)[0].status != QUARANTINED


def test_a_local_datadir_counts_its_uncompressed_size_in_the_room_a_fetch_needs(
        store: MemoryObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made = put_backup(store, 1, body=b"the dump")
    monkeypatch.setattr(verify.shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(100, 88, 12))
    stats, findings = fetch_backup(store, LAYOUT, made.backup_id, tmp_path / "fits", signing_key=None)
    assert findings == [] and stats["bytes"] == 8  # 8 bytes fit in 12
    with pytest.raises(DrillFailed) as failed:
        fetch_backup(store, LAYOUT, made.backup_id, tmp_path / "datadir", signing_key=None, datadir_estimate=True)
    (finding,) = failed.value.findings
    assert finding.code == "INSUFFICIENT_SPACE" and finding.evidence["needed_bytes"] >= 16
    assert not list((tmp_path / "datadir").iterdir())


def test_a_disk_that_fills_up_while_fetching_leaves_no_partial_file(
        store: MemoryObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made = put_backup(store, 1, body=b"the dump")
    into = tmp_path / "fetched"

    def full_disk(store: MemoryObjectStore, key: str, copy_to: Path | None = None,
                  expected_size: int | None = None, encryption: object = None) -> tuple[int, str]:
        assert copy_to is not None
        copy_to.write_bytes(b"the")  # what reached the disk before it was full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(verify, "hash_object", full_disk)
    with pytest.raises(DrillFailed) as failed:
        fetch_backup(store, LAYOUT, made.backup_id, into, signing_key=None)
    (finding,) = failed.value.findings
    assert finding.code == "INSUFFICIENT_SPACE" and "filled up while fetching dump.sql.zst" in finding.message
    assert not (into / "dump.sql.zst").exists()


def test_other_os_errors_while_fetching_are_not_called_a_full_disk(
        store: MemoryObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made = put_backup(store, 1)

    def unreadable(store: MemoryObjectStore, key: str, copy_to: Path | None = None,
                   expected_size: int | None = None, encryption: object = None) -> tuple[int, str]:
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(verify, "hash_object", unreadable)
    with pytest.raises(PermissionError):
        fetch_backup(store, LAYOUT, made.backup_id, tmp_path / "fetched", signing_key=None)


class NoReads(MemoryObjectStore):
    """A memory store that fails the test when an object's body is read."""

    def iter_object(self, key: str, chunk_size: int = 1024 * 1024):  # type: ignore[override]
        raise AssertionError(f"{key} was read; a verify by attributes reads nothing")


def test_by_attributes_a_healthy_backup_verifies_without_reading_an_object() -> None:
    store = NoReads("unit-tests")
    made = put_backup(store, 1, body=b"the dump")
    manifest, findings = verify_backup(store, LAYOUT, made.backup_id, signing_key=None, deep=False)
    assert findings == [] and manifest is not None and verify_kind(manifest, deep=False) == ATTRIBUTES


@pytest.mark.parametrize(("rewrite", "says"), [
    (b"the dumq", "SHA-256 checksum"),  # same size, one byte changed
    (b"the du", "6 bytes, the manifest recorded 8"),  # truncated
])
def test_by_attributes_a_rewritten_object_is_artefact_corrupt(rewrite: bytes, says: str) -> None:
    store = NoReads("unit-tests")
    made = put_backup(store, 1, body=b"the dump")
    store.put_bytes(LAYOUT.object_key(made.backup_id, "dump.sql.zst"), rewrite)
    _, findings = verify_backup(store, LAYOUT, made.backup_id, signing_key=None, deep=False)
    assert codes(findings) == ["ARTEFACT_CORRUPT"] and says in findings[0].message
    assert "dump.sql.zst" in findings[0].message and findings[0].evidence["verify"] == ATTRIBUTES
    assert "new backup" in findings[0].fix


def test_by_attributes_a_missing_object_or_another_part_count_is_a_finding() -> None:
    store = NoReads("unit-tests")
    made = put_backup(store, 1, body=b"x" * (6 * 2**20))
    key = LAYOUT.object_key(made.backup_id, "dump.sql.zst")
    store.upload_stream(key, [b"x" * (6 * 2**20)], part_size=5 * 2**20)  # the same bytes, in two parts
    _, findings = verify_backup(store, LAYOUT, made.backup_id, signing_key=None, deep=False)
    assert codes(findings) == ["ARTEFACT_CORRUPT"] and "2 part(s), the manifest recorded 0" in findings[0].message
    store.delete(key)
    _, findings = verify_backup(store, LAYOUT, made.backup_id, signing_key=None, deep=False)
    assert codes(findings) == ["ARTEFACT_MISSING"]


def test_a_manifest_without_checksums_is_verified_by_re_reading_it(store: MemoryObjectStore) -> None:
    made = put_backup(store, 1, body=b"the dump", checksums=False)
    manifest, findings = verify_backup(store, LAYOUT, made.backup_id, signing_key=None, deep=False)
    assert findings == [] and manifest is not None and verify_kind(manifest, deep=False) == DEEP
    store.put_bytes(LAYOUT.object_key(made.backup_id, "dump.sql.zst"), b"the dumq")
    _, findings = verify_backup(store, LAYOUT, made.backup_id, signing_key=None, deep=False)
    assert codes(findings) == ["ARTEFACT_CORRUPT"] and findings[0].evidence["verify"] == DEEP


def _encrypted_backup(store: MemoryObjectStore, body: bytes) -> Manifest:
    """A backup whose one object went up client-side encrypted with the store's key, as the pipeline stores it."""
    made = put_backup(store, 1)
    upload = upload_compressed(store, LAYOUT.object_key(made.backup_id, "dump.sql.zst"), [body])
    encrypted = dataclasses.replace(made, objects=(ObjectEntry.of_upload(upload, "data", 0),))
    store.put_bytes(LAYOUT.manifest_key(made.backup_id), encrypted.to_json().encode())
    return encrypted


@pytest.mark.parametrize("deep", [True, False])
def test_a_client_side_encrypted_backup_verifies_with_its_key_and_is_fetched_as_plaintext(
        store: MemoryObjectStore, tmp_path: Path, deep: bool) -> None:
    store.client_key = KEY
    made = _encrypted_backup(store, b"the dump" * 10000)
    assert made.objects[0].encryption["client_side"] == SCHEME and made.objects[0].encryption["key"] == KEY.label
    assert verify_backup(store, LAYOUT, made.backup_id, signing_key=None, deep=deep)[1] == []
    stats, findings = fetch_backup(store, LAYOUT, made.backup_id, tmp_path / "fetched", signing_key=None)
    assert findings == [] and (tmp_path / "fetched" / "dump.sql.zst").read_bytes() == b"the dump" * 10000


@pytest.mark.parametrize("deep", [True, False])
def test_a_wrong_or_missing_key_is_a_finding_in_both_verifies_and_fetches_nothing(
        store: MemoryObjectStore, tmp_path: Path, deep: bool) -> None:
    store.client_key = KEY
    made = _encrypted_backup(store, b"the dump")
    for key, code in ((ClientKey(b"w" * 32, "Airflow connection 'other'"), "ENCRYPTION_KEY_WRONG"),
                      (None, "ENCRYPTION_KEY_MISSING")):
        store.client_key = key
        findings = verify_backup(store, LAYOUT, made.backup_id, signing_key=None, deep=deep)[1]
        assert codes(findings) == [code] and findings[0].evidence["object"] == "dump.sql.zst"
        assert "backup_key" in findings[0].message + findings[0].fix and findings[0].fix
        _, findings = fetch_backup(store, LAYOUT, made.backup_id, tmp_path / "fetched", signing_key=None)
        assert codes(findings) == [code] and not (tmp_path / "fetched" / "dump.sql.zst").exists()


def test_a_changed_ciphertext_byte_is_decrypt_failed_deep_and_artefact_corrupt_by_attributes(
        store: MemoryObjectStore) -> None:
    store.client_key = KEY
    made = _encrypted_backup(store, b"the dump" * 10000)
    key = LAYOUT.object_key(made.backup_id, "dump.sql.zst")
    stored = store.get_bytes(key) or b""
    store.put_bytes(key, stored[:-5] + bytes([stored[-5] ^ 1]) + stored[-4:])
    findings = verify_backup(store, LAYOUT, made.backup_id, signing_key=None, deep=True)[1]
    assert codes(findings) == ["DECRYPT_FAILED"] and "chunk 1" in findings[0].message
    assert codes(verify_backup(store, LAYOUT, made.backup_id, signing_key=None, deep=False)[1]) == ["ARTEFACT_CORRUPT"]
