"""The primary's disk full (its datadir on a small tmpfs, filled by the test): commits stall on the binary log, so
the heartbeat stops. The RPO monitor says HEARTBEAT_STOPPED instead of a green archive lag (nothing commits, so
nothing is left to archive), and the backup drill fails within its answer timeout as TARGET_UNAVAILABLE naming
the disk, with nothing stored, instead of hanging. The same test with the disk fine is green."""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from drdrill.drills.archive.monitor import sample_rpo
from drdrill.drills.backup import steps as backup
from drdrill.drills.layouts import layout_for
from drdrill.findings import DrillFailed
from drdrill.ports import find_free_port
from drdrill.sandbox.heartbeat import run_heartbeat
from drdrill.sandbox.sample_data import create_shop_schema, ensure_app_user
from drdrill.sandbox.stack import BACKUP_GRANTS
from drdrill.servers.mariadb import InstanceSpec, LocalMariaDB
from drdrill.storage.catalog import list_backups
from drdrill.storage.layout import target_root
from tests.helpers.drill_helpers import shop_target, store_for
from tests.helpers.small_disk import fill, free, small_disk

pytestmark = pytest.mark.integration
PASSWORD = "disk-full-test-pw"
RPO = timedelta(seconds=2)


def newest_beat(server: LocalMariaDB) -> datetime | None:
    with contextlib.closing(server.root_connect()) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT MAX(beat_at) FROM shop.heartbeat")
        return cursor.fetchone()[0]


def wait_until_the_heartbeat_stops(server: LocalMariaDB, quiet: float = 1.0, within: float = 15) -> None:
    deadline, last, since = time.monotonic() + within, newest_beat(server), time.monotonic()
    while time.monotonic() - since < quiet:
        assert time.monotonic() < deadline, "the heartbeat went on writing on a full disk"
        time.sleep(0.1)
        if (beat := newest_beat(server)) != last:
            last, since = beat, time.monotonic()


@pytest.mark.parametrize("disk_full", [False, True], ids=["disk-fine", "disk-full"])
def test_a_full_primary_disk_stops_the_heartbeat_which_the_monitor_flags_and_the_backup_fails_clearly(
        sandbox, disk_full: bool, tmp_path: Path) -> None:
    target = dataclasses.replace(shop_target(), name=f"diskfull{int(disk_full)}",
                                 objectives=dataclasses.replace(shop_target().objectives, rpo=RPO))
    store, layout = store_for(sandbox, target), layout_for(target)
    with small_disk(64) as disk:
        server = LocalMariaDB(InstanceSpec(name="primary", base_dir=disk / "primary", port=find_free_port(),
                                           server_id=4100, buffer_pool="16M", extra={"innodb_log_file_size": "4M"}))
        stop = threading.Event()
        beats = threading.Thread(target=lambda: run_heartbeat(app, 0.2, stop), daemon=True)
        try:
            server.initialize()
            server.start()
            with contextlib.closing(server.root_connect()) as connection:
                create_shop_schema(connection)
            server.ensure_user("drd_backup", PASSWORD, BACKUP_GRANTS)
            app = ensure_app_user(server, "drd_app", PASSWORD)
            source = server.endpoint("drd_backup", PASSWORD)
            beats.start()
            deadline = time.monotonic() + 10
            while newest_beat(server) is None and time.monotonic() < deadline:
                time.sleep(0.1)
            assert newest_beat(server) is not None, "the heartbeat writer never wrote"
            if disk_full:
                fill(disk)
                wait_until_the_heartbeat_stops(server)  # the binlog's last page takes a few more beats
            time.sleep(RPO.total_seconds() + 0.5)

            sample = sample_rpo(target, source, store, signing_key=None, now=datetime.now(timezone.utc))
            codes = [finding["code"] for finding in sample["findings"]]
            assert ("HEARTBEAT_STOPPED" in codes) is disk_full, sample
            assert (sample["heartbeat_age_seconds"] > RPO.total_seconds()) is disk_full

            began = time.monotonic()
            if disk_full:
                with pytest.raises(DrillFailed) as failed:
                    backup.preflight(target, source, store, work_dir=tmp_path, started_at=datetime.now(timezone.utc),
                                     answer_timeout=2)
                assert time.monotonic() - began < 10
                (finding,) = failed.value.findings
                assert finding.code == "TARGET_UNAVAILABLE" and "did not answer within 2 s" in finding.message
                assert "disk" in finding.message and "disk" in finding.fix
            else:
                plan = backup.preflight(target, source, store, work_dir=tmp_path, started_at=datetime.now(timezone.utc),
                                        answer_timeout=2)
                dumped = backup.dump_and_upload(plan, target, source, store, work_dir=tmp_path)
                backup.write_manifest(plan, dumped, target, source, store, signing_key=None, work_dir=tmp_path)
                backup.verify(plan, target, store, signing_key=None)
            entries = list_backups(store, layout, signing_key=None)
            assert [entry.is_valid for entry in entries] == ([] if disk_full else [True])
        finally:
            stop.set()
            free(disk)
            server.kill()  # a server waiting for disk space may not shut down in time; its files go with the disk
            if beats.ident is not None:
                beats.join(timeout=10)
            shutil.rmtree(disk / "primary", ignore_errors=True)
            store.delete_prefix(target_root(target.storage.prefix, target.name))
