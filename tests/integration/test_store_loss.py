"""The sandbox's S3 restarted empty (moto keeps everything in memory): the sandbox says so, the next backup's
retention does not prune the re-filled binlog archive to nothing, and the RPO monitor judges what the fresh backup
plus the archive can recover (not red against a fresh backup, red once that backup is old)."""

from __future__ import annotations

import dataclasses
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import pytest

from drdrill.config.models import Retention
from drdrill.daemon import Daemon
from drdrill.drills.archive.monitor import sample_rpo
from drdrill.drills.archive.steps import archive
from drdrill.drills.backup import steps as backup
from drdrill.drills.layouts import binlog_layout
from drdrill.ports import find_free_port, port_open
from drdrill.sandbox.store_marker import EMPTIED, NEW, check_store_kept
from drdrill.storage.binlog.index import list_archive
from drdrill.storage.s3 import S3ObjectStore
from tests.helpers.drill_helpers import run_steps, shop_target, write_on_source

pytestmark = pytest.mark.integration


def codes(sample: dict) -> list[str]:
    return [finding["code"] for finding in sample["findings"]]


def test_after_s3_restarts_empty_retention_keeps_the_archive_and_the_monitor_judges_the_fresh_backup(sandbox, tmp_path: Path) -> None:
    port = find_free_port()
    moto = Daemon("leases-moto", tmp_path / "moto", port)
    argv = [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    target = dataclasses.replace(shop_target(), retention=Retention(keep_backups=1))
    source, work = sandbox.sandbox.backup_endpoint(), tmp_path / "work"

    def started() -> S3ObjectStore:
        moto.start(argv, ready=lambda: port_open(port))
        store = S3ObjectStore(boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id="testing",
                                           aws_secret_access_key="testing", region_name="us-east-1"),
                              target.storage.bucket)
        store.ensure_bucket()
        return store

    try:
        store = started()
        assert check_store_kept(store, tmp_path / "s3-marker.json").state == NEW
        archive(target, source, store, work_dir=work)
        moto.stop()
        store = started()
        assert check_store_kept(store, tmp_path / "s3-marker.json").state == EMPTIED
        assert list_archive(store, binlog_layout(target)) == []

        archive(target, source, store, work_dir=work)  # the archive re-fills with files older than the next backup
        run_steps(sandbox, target, work, store=store)
        pruned = backup.apply_retention(target, store, signing_key=None, now=datetime.now(timezone.utc))
        assert list_archive(store, binlog_layout(target)), pruned["binlogs_deleted"]
        write_on_source(sandbox, 1)  # the source moves on past the backup and the archive
        now = datetime.now(timezone.utc)
        assert codes(sample_rpo(target, source, store, signing_key=None, now=now)) == []

        store.delete_prefix(binlog_layout(target).root)  # an empty archive: the fresh backup alone bounds the loss
        fresh = sample_rpo(target, source, store, signing_key=None, now=now)
        assert codes(fresh) == [] and fresh["archive_lag_seconds"] < 15 * 60, fresh
        late = sample_rpo(target, source, store, signing_key=None, now=now + timedelta(hours=1))
        # an hour later the heartbeat looks stopped too (HEARTBEAT_STOPPED): the sample is taken at a faked time
        assert codes(late) == ["ARCHIVE_LAGGING", "HEARTBEAT_STOPPED"] and late["archive_lag_seconds"] > 3600, late
    finally:
        moto.stop()
