"""``drdrill.storage.evidence``: a run's bundle is stored where retention treats it like its backup, every part and
the whole carry a sha256, and a changed byte is named by the part it is in."""

from __future__ import annotations

import dataclasses
import json

import pytest

from drdrill.findings import Finding
from drdrill.history import DrillRecord
from drdrill.storage.evidence import (
    EVIDENCE_ROOT, local_trigger, sealed_bundle, tampered_parts, verify_evidence, with_evidence,
)
from drdrill.storage.memory import MemoryObjectStore
from tests.helpers.storage import LAYOUT, put_backup

pytestmark = pytest.mark.unit


def record_of(backup_id: str | None, drill: str = "restore", **changes: object) -> DrillRecord:
    return dataclasses.replace(DrillRecord(
        run_id="manual__2026-11-21T12:00:00", target="shop", drill=drill, verdict="passed",
        started_at="2026-11-21T12:00:00+00:00", finished_at="2026-11-21T12:01:00+00:00", backup_id=backup_id,
        rto_seconds=50.0, rto_objective_seconds=600.0, rpo_seconds=700.0, rpo_objective_seconds=300.0,
        stage_seconds={"select_backup": 0.5, "restore": 30.0}, details={"results_uri": "s3://b/k/validation.json"}), **changes)


def stored(store: MemoryObjectStore, record: DrillRecord) -> tuple[DrillRecord, list[Finding]]:
    return with_evidence(lambda: store, LAYOUT, record, [], trigger=local_trigger())


def test_a_bundle_sits_next_to_its_stored_backup_and_names_its_parts(store: MemoryObjectStore) -> None:
    manifest = put_backup(store, 1)
    written, findings = stored(store, record_of(manifest.backup_id))
    key = written.details["evidence_key"]
    assert findings == [] and key.startswith(LAYOUT.backup_root(manifest.backup_id) + "drills/")
    bundle = json.loads(store.get_bytes(key) or b"")
    assert set(bundle["parts"]) == set(bundle["hashes"]) >= {"run", "trigger", "verdict", "steps", "findings", "backup",
                                                            "validation", "versions"}
    assert bundle["parts"]["verdict"]["rto_met"] is True and bundle["parts"]["verdict"]["rpo_met"] is False
    assert bundle["parts"]["backup"]["engine"] == manifest.engine
    assert [step["step"] for step in bundle["parts"]["steps"]] == ["select_backup", "restore"]  # step order kept
    assert bundle["sha256"] == written.details["evidence_sha256"]
    assert verify_evidence(store, written.details).tampered == []


def test_a_run_without_a_stored_backup_keeps_its_bundle_under_the_targets_evidence_folder(store: MemoryObjectStore) -> None:
    for backup_id in (None, "20261121T120000Z-abcdef"):  # a failover; a backup that died before its manifest
        written, _ = stored(store, record_of(backup_id, drill="failover"))
        assert written.details["evidence_key"].startswith(f"drills/shop/{EVIDENCE_ROOT}failover/")
    assert not store.list_objects(LAYOUT.full_root)  # no stray backup folder for the catalog to list


def test_dry_runs_and_archive_runs_have_no_bundle(store: MemoryObjectStore) -> None:
    for record in (record_of(None, details={"dry_run": True}), record_of(None, drill="binlog_archive")):
        assert stored(store, record) == (record, [])
    assert not store.objects


def test_a_changed_byte_names_its_part_and_a_rehashed_bundle_still_fails(store: MemoryObjectStore) -> None:
    written, _ = stored(store, record_of(put_backup(store, 1).backup_id))
    key, original = written.details["evidence_key"], store.get_bytes(written.details["evidence_key"]) or b""
    assert original.count(b"30.0") == 1  # the restore step's seconds
    store.put_bytes(key, original.replace(b"30.0", b"31.0"))  # one byte
    assert verify_evidence(store, written.details).tampered == ["steps"]

    bundle = json.loads(original)
    bundle["parts"]["findings"] = []
    bundle["parts"]["verdict"]["verdict"] = "failed"
    assert tampered_parts(bundle) == ["verdict"]
    bundle["hashes"] = {name: sealed_bundle(bundle["parts"])["hashes"][name] for name in bundle["parts"]}
    assert tampered_parts(bundle) == ["hashes"]
    store.put_bytes(key, json.dumps(sealed_bundle(bundle["parts"])).encode())  # rewritten with fresh hashes
    assert verify_evidence(store, written.details).tampered == ["sha256 (differs from the drill record's)"]

    store.put_bytes(key, original)
    assert verify_evidence(store, written.details).tampered == []
    page = store.get_bytes(written.details["evidence_html_key"]) or b""
    store.put_bytes(written.details["evidence_html_key"], page.replace(b"PASSED", b"PASSES"))
    assert verify_evidence(store, written.details).tampered == ["evidence.html"]
    store.delete(key)
    assert verify_evidence(store, written.details).found is False
