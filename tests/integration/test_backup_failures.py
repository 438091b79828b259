"""Broken cases turn the backup red with a clear finding; healthy ones stay green; nothing half-written counts."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from drdrill.findings import DrillFailed
from drdrill.drills.backup import steps as backup
from drdrill.drills.layouts import layout_for
from drdrill.storage.catalog import INCOMPLETE, QUARANTINED, VALID, list_backups
from drdrill.storage.layout import MANIFEST
from drdrill.storage.verify import verify_backup
from tests.helpers.drill_helpers import run_steps, shop_target, store_for

pytestmark = pytest.mark.integration


def flip_one_byte(client, bucket: str, key: str) -> None:
    """Overwrite an object with the same bytes but one flipped (same size: only the hash can tell), with a plain
    put as anyone with write access could (boto3 then sends its default CRC32, not drdrill's SHA-256)."""
    body = bytearray(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    body[len(body) // 2] ^= 0x01
    client.put_object(Bucket=bucket, Key=key, Body=bytes(body))


def body_reads(client) -> list[str]:
    """The paths of every GetObject of a backup's objects the client sends from now on (the only request that
    downloads a body; the manifest, read by every verify, aside)."""
    paths: list[str] = []

    def count(params: dict, **_: object) -> None:
        if not params["url_path"].endswith("/" + MANIFEST):
            paths.append(params["url_path"])

    client.meta.events.register("before-call.s3.GetObject", count)
    return paths


def test_verify_checks_s3_checksums_without_a_download_and_both_kinds_flag_a_rewritten_object(sandbox,
                                                                                             tmp_path: Path) -> None:
    target = shop_target()
    plan, manifest = run_steps(sandbox, target, tmp_path)
    store, layout = store_for(sandbox, target), layout_for(target)
    assert all(entry.checksum_sha256 and entry.parts >= 1 for entry in manifest.all_objects())
    reads = body_reads(store.client)

    verified = backup.verify(plan, target, store, signing_key=None)  # healthy, by attributes: nothing downloaded
    assert (verified["kind"], verified["read_bytes"], reads) == ("attributes", 0, [])
    deep = backup.verify(plan, target, store, signing_key=None, deep_reason="asked")  # healthy, every byte re-read
    assert deep["kind"] == "deep" and len(reads) >= len(manifest.all_objects())

    name = manifest.objects[0].name
    flip_one_byte(sandbox.sandbox.s3_client(), store.bucket, layout.object_key(plan["backup_id"], name))
    reads.clear()
    _, by_attributes = verify_backup(store, layout, plan["backup_id"], signing_key=None, deep=False)
    (finding,) = by_attributes
    assert finding.code == "ARTEFACT_CORRUPT" and reads == []
    assert name in finding.message and "SHA-256 checksum none" in finding.message and "new backup" in finding.fix
    key = layout.object_key(plan["backup_id"], name)  # rewritten again, now with a SHA-256 of its own
    store.client.put_object(Bucket=store.bucket, Key=key, Body=store.get_bytes(key), ChecksumAlgorithm="SHA256")
    reads.clear()
    (finding,) = verify_backup(store, layout, plan["backup_id"], signing_key=None, deep=False)[1]
    assert finding.code == "ARTEFACT_CORRUPT" and reads == [] and finding.evidence["checksum_sha256"]
    _, by_bytes = verify_backup(store, layout, plan["backup_id"], signing_key=None, deep=True)
    assert [f.code for f in by_bytes] == ["ARTEFACT_CORRUPT"] and "sha256" in by_bytes[0].message and reads

    with pytest.raises(DrillFailed) as failed:
        backup.verify(plan, target, store, signing_key=None)
    assert [f.code for f in failed.value.findings] == ["ARTEFACT_CORRUPT"]
    entry = next(e for e in list_backups(store, layout, signing_key=None) if e.backup_id == plan["backup_id"])
    assert entry.status == QUARANTINED and not entry.is_valid
    assert entry.problem == f"failed verification: ARTEFACT_CORRUPT ({name})"


def test_dump_without_completion_trailer_is_archive_truncated_and_leaves_no_object(sandbox, tmp_path: Path,
                                                                                  monkeypatch) -> None:
    # A mariadb-dump that exits 0 after writing only the first 64 KiB: the engine must not trust the exit code.
    shim = tmp_path / "bin"
    shim.mkdir()
    real = subprocess.run(["which", "mariadb-dump"], capture_output=True, text=True).stdout.strip()
    (shim / "mariadb-dump").write_text(f"#!/bin/bash\n{real} \"$@\" | head -c 65536\nexit 0\n")
    (shim / "mariadb-dump").chmod(stat.S_IRWXU)
    monkeypatch.setenv("PATH", f"{shim}:{os.environ['PATH']}")
    target = shop_target()
    store = store_for(sandbox, target)
    source = sandbox.sandbox.backup_endpoint()
    plan = backup.preflight(target, source, store, work_dir=tmp_path, started_at=datetime.now(timezone.utc))
    with pytest.raises(DrillFailed) as failed:
        backup.dump_and_upload(plan, target, source, store, work_dir=tmp_path)
    assert [f.code for f in failed.value.findings] == ["ARCHIVE_TRUNCATED"]
    assert "Dump completed" in failed.value.findings[0].message
    assert store.list_objects(layout_for(target).backup_root(plan["backup_id"])) == []


KILLER = """
import os, signal, sys
from datetime import datetime, timezone
from drdrill.config import load_config
from drdrill.drills.backup.runner import run_backup_drill
from drdrill.endpoints import MySQLEndpoint
from drdrill.storage.s3 import S3ObjectStore
import boto3, json
kill_at = sys.argv[1]
conn = json.loads(os.environ["AIRFLOW_CONN_DRDRILL_SHOP_PRIMARY"])
s3 = json.loads(json.loads(os.environ["AIRFLOW_CONN_DRDRILL_S3"])["extra"])
client = boto3.client("s3", endpoint_url=s3["endpoint_url"], aws_access_key_id="testing",
                      aws_secret_access_key="testing", region_name="us-east-1")
real_upload_part, real_put = client.upload_part, client.put_object
def upload_part(**kw):
    if kill_at == "mid-upload":
        os.kill(os.getpid(), signal.SIGKILL)
    return real_upload_part(**kw)
def put_object(**kw):
    if kill_at == "before-manifest" and kw["Key"].endswith("manifest.json"):
        os.kill(os.getpid(), signal.SIGKILL)
    return real_put(**kw)
client.upload_part, client.put_object = upload_part, put_object
config = load_config(); target = config.target("shop")
source = MySQLEndpoint(conn["host"], conn["port"], conn["login"], conn["password"])
run_backup_drill(target, source, S3ObjectStore(client, target.storage.bucket), work_dir=config.settings.work_dir,
                 history_url=config.settings.history_url, run_id="killed-" + kill_at,
                 started_at=datetime.now(timezone.utc), signing_key=None)
"""


@pytest.mark.parametrize("kill_at", ["mid-upload", "before-manifest"])
def test_a_killed_backup_leaves_nothing_that_counts(sandbox, tmp_path: Path, kill_at: str) -> None:
    target = shop_target()
    store, layout = store_for(sandbox, target), layout_for(target)
    valid_before = {e.backup_id for e in list_backups(store, layout, signing_key=None) if e.is_valid}

    done = subprocess.run([sys.executable, "-c", KILLER, kill_at], capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]

    after = list_backups(store, layout, signing_key=None)
    assert {e.backup_id for e in after if e.is_valid} == valid_before
    new = [e for e in after if e.backup_id not in valid_before and e.status != VALID]
    if kill_at == "before-manifest":
        (entry,) = [e for e in new if e.status == INCOMPLETE and e.stored_bytes > 0]
        assert "no manifest" in entry.problem
    else:
        uploads = store.client.list_multipart_uploads(Bucket=store.bucket, Prefix=layout.full_root).get("Uploads", [])
        assert uploads, "the killed run's multipart upload should be left unfinished, not completed"
        # retention later aborts such leftovers, once they are clearly abandoned
        later = datetime.now(timezone.utc) + timedelta(days=2)
        assert store.abort_stale_uploads(layout.full_root, older_than=timedelta(hours=24), now=later) >= 1


def test_retention_deletes_old_backups_but_keeps_the_newest_valid_one(sandbox, tmp_path: Path) -> None:
    target = shop_target(storage=shop_target().storage.__class__(conn_id="drdrill_s3", bucket="drdrill-backups",
                                                                  prefix="retention-test"),
                         retention=shop_target().retention.__class__(keep_days=None, keep_backups=1))
    store, layout = store_for(sandbox, target), layout_for(target)
    ids = []
    for _ in range(3):
        plan, _ = run_steps(sandbox, target, tmp_path)
        ids.append(plan["backup_id"])
        time.sleep(1.1)  # backup ids carry the second they were taken
    # the newest backup goes bad: the newest *valid* one is then the second
    flip_one_byte(store.client, store.bucket, layout.object_key(ids[2], "dump.sql.zst"))
    with pytest.raises(DrillFailed):
        backup.verify({"backup_id": ids[2]}, target, store, signing_key=None)

    result = backup.apply_retention(target, store, now=datetime.now(timezone.utc), signing_key=None)

    remaining = {e.backup_id: e.status for e in list_backups(store, layout, signing_key=None)}
    assert remaining[ids[1]] == VALID, result
    assert ids[0] not in remaining
    assert remaining[ids[2]] == QUARANTINED  # kept for inspection within the grace period
    assert "newest valid backup" in result["kept"][ids[1]]


@pytest.mark.parametrize("engine", ["mariadb-dump", "mydumper", "mariabackup"])
def test_no_password_in_any_process_argv_or_environment_during_a_backup(sandbox, tmp_path: Path, engine) -> None:
    password = sandbox.sandbox.secrets()["backup"]
    seen_tools: set[str] = set()
    leaks: list[str] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    argv = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                    environ = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace") if int(pid) != os.getpid() else ""
                except OSError:
                    continue
                for tool in ("mariadb-dump", "mydumper", "mariadb-backup", "mariadb-binlog", "zstd"):
                    if tool in argv.split(" ")[0]:
                        seen_tools.add(tool)
                        if password in environ:
                            leaks.append(f"environment of {argv[:80]}")
                if password in argv:
                    leaks.append(argv[:200])
            time.sleep(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        run_steps(sandbox, shop_target(), tmp_path, engine=engine, write_between=2)
    finally:
        stop.set()
        watcher.join()
    tool = {"mariadb-dump": "mariadb-dump", "mydumper": "mydumper", "mariabackup": "mariadb-backup"}[engine]
    assert tool in seen_tools, f"the watcher never saw {tool} running, so it proved nothing: {seen_tools}"
    assert leaks == []
