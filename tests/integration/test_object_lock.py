"""Immutable copies: S3 Object Lock on backups and a second copy in another bucket, against moto's Object Lock (a bucket created with ObjectLockEnabledForBucket).

What moto enforces, and so what is proven here: a bucket's Object Lock setting (GetObjectLockConfiguration), the lock
a PutObject carries (HeadObject reports it), a refused delete of a locked *version* (AccessDenied), and a delete
without a version id leaving a delete marker, as AWS does. What moto does not do: it drops the lock of a
CreateMultipartUpload (the completed object has none) and accepts a retain-until date in the past (AWS refuses one);
the lock is checked on the request drdrill sends there instead.
"""

from __future__ import annotations

import dataclasses
import random
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from drdrill.config.models import ObjectLock
from drdrill.drills.backup import steps
from drdrill.drills.layouts import layout_for
from drdrill.findings import DrillFailed
from drdrill.storage.catalog import list_backups
from drdrill.storage.layout import backup_time
from drdrill.storage.manifest import Manifest, ObjectEntry
from drdrill.storage.object_lock import ObjectLockPolicy
from drdrill.storage.objectstore import MIN_PART_SIZE, ObjectRetention
from drdrill.storage.s3 import S3ObjectStore
from tests.helpers.drill_helpers import run_steps, shop_target
from tests.helpers.storage import LAYOUT, NOW, put_backup, put_proof
from tests.helpers.targets import load_test_target

pytestmark = pytest.mark.integration


def new_bucket(client: Any, *, locked: bool = True) -> str:
    bucket = f"lock-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket, **({"ObjectLockEnabledForBucket": True} if locked else {}))
    return bucket


def recorded(client: Any, operation: str) -> list[dict[str, Any]]:
    """The parameters of every ``operation`` request the client sends from now on (botocore's own event hook)."""
    calls: list[dict[str, Any]] = []
    client.meta.events.register(f"provide-client-params.s3.{operation}", lambda params, **_: calls.append(dict(params)))
    return calls


def locked_store(client: Any, bucket: str, mode: str, days: int) -> S3ObjectStore:
    return S3ObjectStore(client, bucket, put_arguments=ObjectLockPolicy(mode, days).put_arguments)


def test_the_bucket_says_whether_object_lock_is_enabled(moto_s3) -> None:
    assert S3ObjectStore(moto_s3.client, new_bucket(moto_s3.client)).object_lock_enabled() is True
    assert S3ObjectStore(moto_s3.client, new_bucket(moto_s3.client, locked=False)).object_lock_enabled() is False


def test_a_backups_objects_and_manifest_are_written_locked_its_proof_is_not(moto_s3) -> None:
    bucket = new_bucket(moto_s3.client)
    store = locked_store(moto_s3.client, bucket, "compliance", 30)
    backup = put_backup(store, days_old=2)
    put_proof(store, backup.backup_id)
    until = backup_time(backup.backup_id) + timedelta(days=30)
    for name in ("dump.sql.zst", "manifest.json"):
        assert store.retention(LAYOUT.object_key(backup.backup_id, name)) == ObjectRetention("COMPLIANCE", until)
    assert store.retention(LAYOUT.proof_key(backup.backup_id)) is None
    assert store.retention(LAYOUT.object_key(backup.backup_id, "absent")) is None

    starts = recorded(moto_s3.client, "CreateMultipartUpload")
    store.upload_stream(LAYOUT.object_key(backup.backup_id, "big.zst"), [b"x" * (MIN_PART_SIZE + 1)],
                        part_size=MIN_PART_SIZE)
    assert [(call["ObjectLockMode"], call["ObjectLockRetainUntilDate"], call["ChecksumAlgorithm"])
            for call in starts] == [("COMPLIANCE", until, "SHA256")]  # parts carry SHA-256, as a lock requires

    version = moto_s3.client.head_object(Bucket=bucket, Key=LAYOUT.manifest_key(backup.backup_id))["VersionId"]
    with pytest.raises(ClientError, match="AccessDenied"):  # what the lock means: this version cannot be deleted
        moto_s3.client.delete_object(Bucket=bucket, Key=LAYOUT.manifest_key(backup.backup_id), VersionId=version)


def test_retention_keeps_what_a_lock_holds_reports_until_when_and_deletes_the_rest_manifest_first(
        moto_s3, tmp_path: Path) -> None:
    """keep_backups 3 of five: the oldest is locked until after NOW (kept, reported); the next one's lock ended
    before NOW (deleted, its manifest first); a third old one has locked data but an unlocked manifest (kept whole:
    the lock of any object holds the backup, so retention never leaves a manifest without its data or the reverse)."""
    client = moto_s3.client
    bucket = new_bucket(client)
    plain = S3ObjectStore(client, bucket)
    oldest = put_backup(locked_store(client, bucket, "compliance", 30), days_old=7)
    ended = put_backup(locked_store(client, bucket, "governance", 1), days_old=6)
    half = put_backup(plain, days_old=5)
    locked_store(client, bucket, "governance", 30).put_bytes(LAYOUT.object_key(half.backup_id, "dump.sql.zst"),
                                                             b"backup bytes")
    newest = [put_backup(plain, days_old=days) for days in (3, 2, 1)]
    deletes, batches = recorded(client, "DeleteObject"), recorded(client, "DeleteObjects")

    result = steps.apply_retention(load_test_target(tmp_path, prefix="drills"), plain, signing_key=None, now=NOW)

    lock_end = f"{backup_time(oldest.backup_id) + timedelta(days=30):%Y-%m-%d %H:%M:%S} UTC"
    assert result["locked"] == {oldest.backup_id: f"locked (COMPLIANCE) until {lock_end}",
                                half.backup_id: f"locked (GOVERNANCE) until "
                                                f"{backup_time(half.backup_id) + timedelta(days=30):%Y-%m-%d %H:%M:%S} UTC"}
    assert "otherwise: valid, but outside retention" in result["kept"][oldest.backup_id]
    assert list(result["deleted"]) == [ended.backup_id]
    assert [call["Key"] for call in deletes] == [LAYOUT.manifest_key(ended.backup_id)]  # the manifest first
    assert [item["Key"] for call in batches for item in call["Delete"]["Objects"]] == \
        [LAYOUT.object_key(ended.backup_id, "dump.sql.zst")]
    statuses = {entry.backup_id: entry.status for entry in list_backups(plain, LAYOUT, signing_key=None)}
    assert statuses == {backup.backup_id: "valid" for backup in (oldest, half, *newest)}


def test_a_backup_on_a_lock_bucket_is_locked_and_one_on_a_bucket_without_it_is_refused_before_anything_is_written(
        sandbox, tmp_path: Path) -> None:
    client = sandbox.sandbox.s3_client()
    lock = ObjectLock(mode="governance", retain_days=2)
    target = shop_target()
    locked = dataclasses.replace(target, storage=dataclasses.replace(target.storage, bucket=new_bucket(client),
                                                                     object_lock=lock))
    store = locked_store(client, locked.storage.bucket, lock.mode, lock.retain_days)
    plan, _ = run_steps(sandbox, locked, tmp_path / "locked", store=store)
    assert store.retention(layout_for(locked).manifest_key(plan["backup_id"])) == ObjectRetention(
        "GOVERNANCE", backup_time(plan["backup_id"]) + timedelta(days=2))

    refused = dataclasses.replace(locked, storage=dataclasses.replace(
        locked.storage, bucket=new_bucket(client, locked=False)))
    with pytest.raises(DrillFailed) as failed:
        run_steps(sandbox, refused, tmp_path / "refused", store=S3ObjectStore(client, refused.storage.bucket))
    (finding,) = failed.value.findings
    assert finding.code == "OBJECT_LOCK_DISABLED" and refused.storage.bucket in finding.message
    assert "--object-lock-enabled-for-bucket" in finding.fix
    assert client.list_objects_v2(Bucket=refused.storage.bucket).get("KeyCount") == 0


def backup_with_a_multipart_object(store: S3ObjectStore) -> Manifest:
    """A backup of two objects, one of them multipart (3 parts), and its manifest, written through ``store``."""
    backup = put_backup(store, days_old=1)
    big = store.upload_stream(LAYOUT.object_key(backup.backup_id, "data.xb.zst"),
                              [random.Random(7).randbytes(2 * MIN_PART_SIZE + 99)], part_size=MIN_PART_SIZE)
    made = dataclasses.replace(backup, objects=(*backup.objects, ObjectEntry.of_upload(big, "data", 0)))
    store.put_bytes(LAYOUT.manifest_key(made.backup_id), made.to_json().encode())
    return made


def test_verify_copies_the_backup_server_side_with_its_lock_and_checks_the_copy(moto_s3, tmp_path: Path) -> None:
    client, shop = moto_s3.client, load_test_target(tmp_path, prefix="drills")
    store = locked_store(client, new_bucket(client), "compliance", 10)
    copy = locked_store(client, new_bucket(client), "compliance", 10)
    backup = backup_with_a_multipart_object(store)
    part_copies = recorded(client, "UploadPartCopy")
    verified = steps.verify({"backup_id": backup.backup_id}, shop, store, signing_key=None, copy=copy)
    assert verified["copy"] == copy.describe() and len(part_copies) == 3  # the original's parts, copied by S3
    for name in ("dump.sql.zst", "data.xb.zst", "manifest.json"):
        key = LAYOUT.object_key(backup.backup_id, name)
        assert copy.attributes(key) == store.attributes(key)
    assert copy.retention(LAYOUT.manifest_key(backup.backup_id)) == ObjectRetention(
        "COMPLIANCE", backup_time(backup.backup_id) + timedelta(days=10))


def test_a_copy_that_differs_or_cannot_be_made_fails_the_drill_and_leaves_the_backup_valid(
        moto_s3, tmp_path: Path) -> None:
    client, shop = moto_s3.client, load_test_target(tmp_path, prefix="drills")
    store, copy = S3ObjectStore(client, new_bucket(client)), S3ObjectStore(client, new_bucket(client, locked=False))
    backup = backup_with_a_multipart_object(store)
    copy.put_bytes(LAYOUT.object_key(backup.backup_id, "data.xb.zst"), b"someone else's bytes")
    with pytest.raises(DrillFailed) as failed:
        steps.verify({"backup_id": backup.backup_id}, shop, store, signing_key=None, copy=copy)
    (finding,) = failed.value.findings
    assert finding.code == "COPY_MISMATCH" and "20 bytes, the manifest recorded" in finding.message
    assert copy.head(LAYOUT.manifest_key(backup.backup_id)) is None

    gone = S3ObjectStore(client, f"never-created-{uuid.uuid4().hex[:8]}")
    with pytest.raises(DrillFailed) as failed:
        steps.verify({"backup_id": backup.backup_id}, shop, store, signing_key=None, copy=gone)
    (finding,) = failed.value.findings
    assert finding.code == "COPY_MISSING" and "NoSuchBucket" in finding.message
    assert [entry.status for entry in list_backups(store, LAYOUT, signing_key=None)] == ["valid"]

    copy.delete(LAYOUT.object_key(backup.backup_id, "data.xb.zst"))  # the stray object removed: a re-run copies it
    assert steps.verify({"backup_id": backup.backup_id}, shop, store, signing_key=None, copy=copy)["copy"]
