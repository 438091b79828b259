"""A slow, stalled or cut S3 endpoint (a proxy the test controls, in front of the sandbox's moto): requests are
retried and downloads resume, so the drills stay green with the right checksums; a long stall ends within a
bounded time as STORAGE_UNAVAILABLE naming the endpoint and the timeout; nothing half-written counts."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from drdrill.drills.backup import steps as backup
from drdrill.drills.layouts import layout_for
from drdrill.drills.restore import steps as restore
from drdrill.findings import DrillFailed
from drdrill.servers.scratch import run_key
from drdrill.storage.catalog import list_backups
from drdrill.storage.objectstore import MIN_PART_SIZE, StorageError
from drdrill.storage.s3 import S3ObjectStore, client_config
from tests.helpers.drill_helpers import run_steps, shop_target, store_for
from tests.helpers.s3_proxy import S3FaultProxy, s3_fault_proxy

pytestmark = pytest.mark.integration
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def proxy(sandbox) -> Iterator[S3FaultProxy]:
    """The proxy in front of the sandbox's S3, cleared of faults after each use."""
    with s3_fault_proxy(sandbox.sandbox.s3_endpoint_url) as started:
        yield started


@pytest.fixture(autouse=True)
def no_faults_left(request) -> Iterator[None]:
    yield
    if "proxy" in request.fixturenames:
        request.getfixturevalue("proxy").clear()


def proxied(proxy: S3FaultProxy, bucket: str, read_timeout: float = 1.0, attempts: int = 4) -> S3ObjectStore:
    """A store reaching the bucket through the proxy, with short timeouts."""
    import boto3

    client = boto3.client("s3", endpoint_url=proxy.url, aws_access_key_id="testing", aws_secret_access_key="testing",
                          region_name="us-east-1", config=client_config(1.0, read_timeout, attempts))
    return S3ObjectStore(client, bucket)


def test_cut_parts_and_downloads_are_retried_and_resume_with_the_right_sha256(proxy, tmp_path: Path) -> None:
    store = proxied(proxy, shop_target().storage.bucket, attempts=3)
    data = os.urandom(2 * MIN_PART_SIZE + MiB)  # three parts
    key = f"s3faults/{tmp_path.name}/object"

    proxy.cut(after_bytes=3 * MiB, times=2)  # inside part 1, then inside part 2
    uploaded = store.upload_stream(key, [data[i:i + MiB] for i in range(0, len(data), MiB)], part_size=MIN_PART_SIZE)
    assert proxy.cuts_done == 2
    assert uploaded.sha256 == hashlib.sha256(data).hexdigest() and uploaded.size == len(data)

    proxy.cut(after_bytes=4 * MiB, times=2)  # twice mid-body: read on from the byte reached
    proxy.latency = 0.05
    assert hashlib.sha256(b"".join(store.iter_object(key))).hexdigest() == uploaded.sha256
    assert proxy.cuts_done == 4

    proxy.clear()
    proxy.cut(after_bytes=MiB, times=10)  # more cuts than attempts: a clear error, not a short object
    with pytest.raises(StorageError) as failed:
        b"".join(store.iter_object(key))
    assert proxy.url in failed.value.problem and "after 3 attempts" in failed.value.problem
    assert "cut at byte" in failed.value.problem


@pytest.fixture(scope="module")
def shop_backup(sandbox, tmp_path_factory) -> dict[str, Any]:
    """One verified backup of the shop target, made without faults."""
    plan, _ = run_steps(sandbox, shop_target(), tmp_path_factory.mktemp("s3faults-backup"))
    return plan


def test_backup_through_a_short_stall_is_green_and_a_long_stall_fails_clearly_leaving_no_backup(
        sandbox, proxy, tmp_path: Path) -> None:
    target = shop_target()
    source, layout = sandbox.sandbox.backup_endpoint(), layout_for(target)

    store = proxied(proxy, target.storage.bucket)
    plan = backup.preflight(target, source, store, work_dir=tmp_path, started_at=datetime.now(timezone.utc))
    proxy.stall(1.5, after_bytes=4096)  # mid-upload, shorter than the attempts
    dumped = backup.dump_and_upload(plan, target, source, store, work_dir=tmp_path)
    backup.write_manifest(plan, dumped, target, source, store, signing_key=None, work_dir=tmp_path)
    backup.verify(plan, target, store, signing_key=None)
    assert proxy.stalled_connections > 0
    entries = {entry.backup_id: entry for entry in list_backups(store_for(sandbox, target), layout, signing_key=None)}
    assert entries[plan["backup_id"]].is_valid

    store = proxied(proxy, target.storage.bucket, read_timeout=0.5, attempts=2)
    plan = backup.preflight(target, source, store, work_dir=tmp_path,
                            started_at=datetime.fromtimestamp(time.time() + 1, timezone.utc))
    proxy.stall(600, after_bytes=4096)  # the endpoint goes silent mid-upload and stays so
    began = time.monotonic()
    with pytest.raises(DrillFailed) as failed:
        backup.dump_and_upload(plan, target, source, store, work_dir=tmp_path)
    assert time.monotonic() - began < 15
    (finding,) = failed.value.findings
    assert finding.code == "STORAGE_UNAVAILABLE"
    assert proxy.url in finding.message and "read timeout 0.5 s" in finding.message and "no manifest" in finding.message
    proxy.clear()
    direct = store_for(sandbox, target)
    assert direct.list_objects(layout.backup_root(plan["backup_id"])) == []
    assert all(entry.backup_id != plan["backup_id"] or not entry.is_valid
               for entry in list_backups(direct, layout, signing_key=None))
    direct.abort_stale_uploads(layout.backup_root(plan["backup_id"]), older_than=timedelta(0))  # its abort stalled too


def test_restore_fetch_resumes_after_a_cut_and_a_long_stall_restores_nothing_and_leaves_no_files(
        sandbox, proxy, shop_backup, tmp_path: Path) -> None:
    target = shop_target()
    store = proxied(proxy, target.storage.bucket, read_timeout=0.5, attempts=3)
    selected = restore.select_backup(target, store, now=datetime.now(timezone.utc), choice="backup_id",
                                     backup_id=shop_backup["backup_id"], signing_key=None)

    key = run_key("s3faults-cut")
    proxy.cut(after_bytes=64 * 1024)
    fetched = restore.fetch_and_verify(selected, target, store, work_dir=tmp_path, key=key, signing_key=None)
    assert proxy.cuts_done >= 1 and fetched["backup_id"] == shop_backup["backup_id"]
    files = restore.run_dir(tmp_path, key) / "files"
    assert sum(path.stat().st_size for path in files.iterdir()) == fetched["bytes"]  # sizes and sha256 were checked

    key = run_key("s3faults-stall")
    proxy.stall(600, after_bytes=64 * 1024)
    began = time.monotonic()
    with pytest.raises(DrillFailed) as failed:
        restore.fetch_and_verify(selected, target, store, work_dir=tmp_path, key=key, signing_key=None)
    assert time.monotonic() - began < 15
    (finding,) = failed.value.findings
    assert finding.code == "STORAGE_UNAVAILABLE"
    assert proxy.url in finding.message and "read timeout 0.5 s" in finding.message
    assert not (restore.run_dir(tmp_path, key) / "files").exists()
