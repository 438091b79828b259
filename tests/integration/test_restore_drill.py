"""The restore drill end to end against real servers and real backups: each finding fires on a broken backup
and stays quiet on a healthy one (through Airflow: tests/system/test_restore_dag.py)."""

from __future__ import annotations

import logging
import dataclasses
import json
import os
import re
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from drdrill.drills.restore.form import RestoreOptions
from drdrill.drills.restore.runner import RestoreServers, run_restore_drill
from drdrill.drills.layouts import layout_for
from drdrill.servers.scratch import run_key
from drdrill.storage.catalog import CORRUPT, find_backup
from drdrill.storage.lease import read_lease
from drdrill.storage.seal import SigningKey
from tests.helpers.drill_helpers import rewrite_manifest, rewrite_object, run_steps, shop_target, store_for

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def drill(handle, target, work_dir: Path, backup_id: str, signing_key: SigningKey | None = None, **options):
    """Run the whole restore drill in-process on one backup (or as ``options`` choose); returns (record, finding codes)."""
    started = datetime.now(timezone.utc)
    servers = RestoreServers(source=handle.sandbox.backup_endpoint(),
                             replica=handle.sandbox.backup_endpoint(handle.sandbox.replica),
                             store=store_for(handle, target), signing_key=signing_key)
    run_id = f"test-{uuid.uuid4().hex[:8]}"
    record, findings = run_restore_drill(
        target, servers, RestoreOptions(**{"backup": "backup_id", "backup_id": backup_id, **options}), work_dir=work_dir,
        history_url=handle.history_url, run_id=run_id, started_at=started)
    assert read_lease(servers.store, layout_for(target), run_key(run_id)) is None  # released when the drill ended
    return record, [finding.code for finding in findings]


def dump_sql(handle, target, backup_id: str) -> bytes:
    raw = store_for(handle, target).get_bytes(f"tests/shop/full/{backup_id}/dump.sql.zst")
    return subprocess.run(["zstd", "-dc"], input=raw, capture_output=True, check=True).stdout


def recompress(sql: bytes) -> bytes:
    return subprocess.run(["zstd", "-q", "-c"], input=sql, capture_output=True, check=True).stdout


def test_a_healthy_backup_passes_with_rto_rpo_stages_and_stored_gx_results(sandbox, tmp_path, fresh_backup, monkeypatch,
                                                                         caplog) -> None:
    backup_id, manifest = fresh_backup
    monkeypatch.setenv("DRDRILL_PROGRESS_INTERVAL", "0.05")  # the long steps' progress lines (drdrill.progress)
    with caplog.at_level(logging.INFO, logger="drdrill.progress"):
        record, codes = drill(sandbox, shop_target(), tmp_path, backup_id)
    assert (record.verdict, codes) == ("passed", [])
    restored = [r.progress for r in caplog.records if r.name == "drdrill.progress" and r.progress.what.startswith("restoring ")]
    assert restored and restored[-1].finished and restored[-1].done > 0 and restored[-1].rate > 0, caplog.text[-2000:]
    assert 0 < record.rto_seconds < record.rto_objective_seconds
    assert 0 <= record.rpo_seconds < 60  # the heartbeat beats every second; the backup is seconds old
    assert set(record.stage_seconds) >= {"fetch_and_verify", "provision_scratch", "restore", "validate", "measure"}
    assert record.details["restore_mb_per_second"] and record.details["fetch_mb_per_second"]
    store = store_for(sandbox, shop_target())
    for uri in (record.details["results_uri"], record.details["data_docs_uri"]):
        key = uri.removeprefix(f"s3://{store.bucket}/")
        assert store.head(key) is not None, uri
    results = json.loads(store.get_bytes(record.details["results_uri"].removeprefix(f"s3://{store.bucket}/")))
    assert sandbox.sandbox.secrets()["backup"] not in json.dumps(results)
    assert record.details["scratch"] == {"kept": False}
    assert "pitr_window_start" in record.details and "pitr_window_end" in record.details
    assert not list((tmp_path / "scratch").glob("*/mariadbd.sock"))


def test_flipped_byte_is_artefact_corrupt_before_anything_is_restored(sandbox, tmp_path, fresh_backup) -> None:
    backup_id, _ = fresh_backup
    target = shop_target()
    store = store_for(sandbox, target)
    key = f"tests/shop/full/{backup_id}/dump.sql.zst"
    body = bytearray(store.get_bytes(key))
    body[100] ^= 0x10
    store.put_bytes(key, bytes(body))
    record, codes = drill(sandbox, target, tmp_path, backup_id)
    assert (record.verdict, codes) == ("failed", ["ARTEFACT_CORRUPT"])
    assert "provision_scratch" not in record.stage_seconds


def test_dump_cut_at_a_statement_boundary_is_archive_truncated(sandbox, tmp_path, fresh_backup) -> None:
    backup_id, _ = fresh_backup
    target = shop_target()
    sql = dump_sql(sandbox, target, backup_id)
    rewrite_object(sandbox, target, backup_id, "dump.sql.zst", recompress(sql[: sql.index(b";\n", len(sql) // 2) + 2]))
    record, codes = drill(sandbox, target, tmp_path, backup_id)
    assert (record.verdict, codes) == ("failed", ["ARCHIVE_TRUNCATED"])


def test_a_table_missing_from_the_backup_is_table_missing(sandbox, tmp_path, fresh_backup) -> None:
    backup_id, _ = fresh_backup
    target = shop_target()
    sql = dump_sql(sandbox, target, backup_id)
    # drop the order_audit section (structure and data) from the dump, as a backup with a table filter would
    without = re.sub(rb"--\n-- Table structure for table `order_audit`.*?(?=--\n-- Table structure for table)", b"",
                     sql, flags=re.S)
    assert without != sql
    rewrite_object(sandbox, target, backup_id, "dump.sql.zst", recompress(without))
    record, codes = drill(sandbox, target, tmp_path, backup_id)
    assert record.verdict == "failed" and codes == ["TABLE_MISSING"]
    assert "order_audit" in record.findings[0]["message"]


def test_rows_missing_compared_to_the_manifest_are_rowcount_and_checksum_mismatches(sandbox, tmp_path, fresh_backup) -> None:
    backup_id, manifest = fresh_backup
    target = shop_target()
    tables = tuple(dataclasses.replace(t, rows=t.rows + 5) if t.name == "customers" else t for t in manifest.tables)
    rewrite_manifest(sandbox, target, backup_id, tables=tables)
    record, codes = drill(sandbox, target, tmp_path, backup_id)
    assert record.verdict == "failed" and "ROWCOUNT_MISMATCH" in codes
    assert all(code in {"ROWCOUNT_MISMATCH", "CHECKSUM_MISMATCH"} for code in codes)


def test_a_changed_value_is_a_checksum_mismatch(sandbox, tmp_path, fresh_backup) -> None:
    backup_id, manifest = fresh_backup
    target = shop_target()
    tables = tuple(dataclasses.replace(t, checksum=str(int(t.checksum) + 1)) if t.name == "products" else t
                   for t in manifest.tables)
    rewrite_manifest(sandbox, target, backup_id, tables=tables)
    record, codes = drill(sandbox, target, tmp_path, backup_id)
    assert (record.verdict, codes) == ("failed", ["CHECKSUM_MISMATCH"])
    assert "products" in record.findings[0]["message"]


@pytest.mark.parametrize("kind,ghost", [("routines", "shop.recalculate_totals (PROCEDURE)"),
                                        ("triggers", "shop.orders_before_insert")])
def test_a_routine_or_trigger_that_did_not_come_back_is_object_missing(sandbox, tmp_path, fresh_backup, kind, ghost) -> None:
    backup_id, manifest = fresh_backup
    target = shop_target()
    inventory = dataclasses.replace(manifest.inventory, **{kind: getattr(manifest.inventory, kind) + (ghost,)})
    rewrite_manifest(sandbox, target, backup_id, inventory=inventory)
    record, codes = drill(sandbox, target, tmp_path, backup_id)
    assert (record.verdict, codes) == ("failed", ["OBJECT_MISSING"])
    assert ghost.split(" ")[0] in record.findings[0]["message"]


def test_a_stale_heartbeat_beyond_the_rpo_objective_is_rpo_exceeded(sandbox, tmp_path, fresh_backup) -> None:
    backup_id, _ = fresh_backup
    record, codes = drill(sandbox, shop_target(), tmp_path, backup_id, rpo_objective=timedelta(milliseconds=100))
    assert (record.verdict, codes) == ("failed", ["RPO_EXCEEDED"])
    assert record.rpo_seconds > record.rpo_objective_seconds > 0


def test_a_declared_disaster_in_the_future_is_never_recorded_as_a_negative_rto(sandbox, tmp_path, fresh_backup) -> None:
    backup_id, _ = fresh_backup
    record, codes = drill(sandbox, shop_target(), tmp_path, backup_id,
                          disaster_at=datetime.now(timezone.utc) + timedelta(hours=1))
    assert (record.verdict, codes) == ("could_not_verify", ["CONFIG_INVALID"])
    assert record.rto_seconds is None and record.rpo_seconds is None and "is in the future" in record.findings[0]["message"]


def test_an_rto_objective_below_the_measured_time_is_rto_exceeded(sandbox, tmp_path, fresh_backup) -> None:
    backup_id, _ = fresh_backup
    record, codes = drill(sandbox, shop_target(), tmp_path, backup_id, rto_objective=timedelta(milliseconds=100))
    assert (record.verdict, codes) == ("failed", ["RTO_EXCEEDED"])
    assert record.rto_seconds > record.rto_objective_seconds


def test_an_unreachable_scratch_server_is_scratch_failed_not_passed(sandbox, tmp_path, fresh_backup) -> None:
    from drdrill.endpoints import MySQLEndpoint
    from drdrill.ports import find_free_port

    backup_id, _ = fresh_backup
    target = shop_target()
    servers = RestoreServers(source=sandbox.sandbox.backup_endpoint(), replica=None, store=store_for(sandbox, target),
                             scratch=MySQLEndpoint("127.0.0.1", find_free_port(), "u", "p"), scratch_conn_id="down")
    record, findings = run_restore_drill(target, servers, RestoreOptions(backup="backup_id", backup_id=backup_id),
                                         work_dir=tmp_path, history_url=sandbox.history_url, run_id="test-unreachable",
                                         started_at=datetime.now(timezone.utc))
    assert record.verdict == "could_not_verify" and [f.code for f in findings] == ["SCRATCH_FAILED"]


def test_keep_scratch_leaves_the_restored_server_running_for_inspection(sandbox, tmp_path, fresh_backup) -> None:
    from drdrill.servers.scratch import LocalScratch, destroy

    backup_id, manifest = fresh_backup
    record, codes = drill(sandbox, shop_target(), tmp_path, backup_id, keep_scratch=True)
    kept = record.details["scratch"]
    assert record.verdict == "passed" and kept["kept"] is True
    option_file = Path(kept["option_file"])
    scratch = LocalScratch(name="kept", base_dir=option_file.parent, port=int(kept["scratch"].rsplit(":", 1)[1]))
    try:
        rows = scratch.endpoint().fetch_all("SELECT COUNT(*) FROM shop.customers")[0][0]
        assert rows == next(t.rows for t in manifest.tables if t.name == "customers")
    finally:
        destroy(scratch)


def edit_stored_manifest(handle, target, backup_id: str, edit) -> None:
    """Change the manifest.json in S3 as a person with bucket access would: parse, change a value, write back."""
    store = store_for(handle, target)
    key = layout_for(target).manifest_key(backup_id)
    data = json.loads(store.get_bytes(key) or b"")
    edit(data)
    store.put_bytes(key, json.dumps(data, indent=2, sort_keys=True).encode())


@pytest.mark.parametrize("edit", [
    lambda d: next(t for t in d["tables"] if t["name"] == "customers").update(rows=1),
    lambda d: next(t for t in d["tables"] if t["name"] == "products").update(checksum="1"),
], ids=["row count", "checksum"])
def test_a_manifest_edited_in_s3_is_manifest_corrupt_and_nothing_is_restored(sandbox, tmp_path, fresh_backup,
                                                                            edit) -> None:
    backup_id, _ = fresh_backup
    target = shop_target()
    store = store_for(sandbox, target)
    before = find_backup(store, layout_for(target), backup_id, signing_key=None)
    assert before is not None and before.is_valid and before.summary()["seal"] == "sealed"
    edit_stored_manifest(sandbox, target, backup_id, edit)
    entry = find_backup(store, layout_for(target), backup_id, signing_key=None)
    assert entry is not None and entry.status == CORRUPT and not entry.is_valid and "digest" in entry.problem
    record, codes = drill(sandbox, target, tmp_path, backup_id)
    assert (record.verdict, codes) == ("failed", ["MANIFEST_CORRUPT"])
    assert "changed after it was written" in record.findings[0]["message"]
    assert "fetch_and_verify" not in record.stage_seconds and "restore" not in record.stage_seconds


def test_a_signed_manifest_restores_green_with_its_key_and_is_refused_with_another(sandbox, tmp_path) -> None:
    right, wrong = SigningKey(b"right-key-" * 4, "a test key"), SigningKey(b"wrong-key-" * 4, "a test key")
    target = shop_target()
    plan, manifest = run_steps(sandbox, target, tmp_path / "backup", signing_key=right)
    assert manifest.seal == "signed"
    stored = store_for(sandbox, target).get_bytes(layout_for(target).manifest_key(plan["backup_id"])) or b""
    assert b"hmac-sha256:" in stored and right.secret not in stored
    record, codes = drill(sandbox, target, tmp_path / "right", plan["backup_id"], signing_key=right)
    assert (record.verdict, codes) == ("passed", [])
    proof_key = layout_for(target).proof_key(plan["backup_id"])
    proven = store_for(sandbox, target).get_bytes(proof_key)
    assert json.loads(proven or b"{}")["standing"] == "proven"
    record, codes = drill(sandbox, target, tmp_path / "wrong", plan["backup_id"], signing_key=wrong)
    assert (record.verdict, codes) == ("failed", ["MANIFEST_CORRUPT"])
    assert "signature" in record.findings[0]["message"] and "restore" not in record.stage_seconds
    assert store_for(sandbox, target).get_bytes(proof_key) == proven  # a refused manifest writes no (failed) proof


def next_second() -> None:
    """Wait for the next whole second: backup ids order by their start second (same-second ids by random suffix)."""
    import time

    time.sleep(1.05 - datetime.now(timezone.utc).microsecond / 1e6)


def listed_by_cli(config: Path | None = None) -> dict[str, dict]:
    """``drdrill backups list shop --json`` as a user runs it: the backups by id."""
    env = {**os.environ, **({"DRDRILL_CONFIG": str(config)} if config else {})}
    done = subprocess.run([str(Path(sys.executable).parent / "drdrill"), "backups", "list", "shop", "--json"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return {entry["backup_id"]: entry for entry in json.loads(done.stdout)["backups"]}


def test_a_corrupt_newest_backup_is_named_in_newer_backups_unusable_while_the_next_one_is_restored_and_proven(
        sandbox, tmp_path, fresh_backup) -> None:
    from drdrill.drills.backup import steps as backup

    older_id, _ = fresh_backup
    target = shop_target()
    store = store_for(sandbox, target)
    next_second()
    newest, newest_manifest = run_steps(sandbox, target, tmp_path / "newest")
    key = f"tests/shop/full/{newest['backup_id']}/{newest_manifest.objects[0].name}"
    body = bytearray(store.get_bytes(key))
    body[150] ^= 0x20  # same size: only the sha256 tells
    store.put_bytes(key, bytes(body))
    source = sandbox.sandbox.backup_endpoint()
    running = backup.preflight(target, source, store, work_dir=tmp_path / "running",
                               started_at=datetime.now(timezone.utc))
    backup.dump_and_upload(running, target, source, store, work_dir=tmp_path / "running")  # no manifest yet
    try:
        record, codes = drill(sandbox, target, tmp_path / "drill", "", backup="newest")
        assert (record.verdict, codes, record.backup_id) == ("failed", ["NEWER_BACKUPS_UNUSABLE"], older_id)
        assert record.details["restore_mb_per_second"]
        (finding,) = record.findings
        assert [s["backup_id"] for s in finding["evidence"]["skipped"]] == [newest["backup_id"]]
        assert "ARTEFACT_CORRUPT" in finding["message"] and running["backup_id"] not in finding["message"]
        assert 0 <= record.rpo_seconds  # measured from the heartbeat in what was restored
        listed = listed_by_cli()
        assert (listed[newest["backup_id"]]["status"], listed[newest["backup_id"]]["valid"]) == ("quarantined", False)
        assert (listed[older_id]["status"], listed[older_id]["valid"]) == ("proven", True)
        assert listed[running["backup_id"]]["status"] == "incomplete"
    finally:
        store.delete_prefix(f"tests/shop/full/{running['backup_id']}/")


def test_a_newest_backup_with_an_edited_manifest_is_named_in_newer_backups_unusable_not_quarantined(
        sandbox, tmp_path, fresh_backup) -> None:
    older_id, _ = fresh_backup
    target = shop_target()
    next_second()
    newest, _ = run_steps(sandbox, target, tmp_path / "newest")
    edit_stored_manifest(sandbox, target, newest["backup_id"],
                         lambda d: next(t for t in d["tables"] if t["name"] == "customers").update(rows=1))
    record, codes = drill(sandbox, target, tmp_path / "drill", "", backup="newest")
    assert (record.verdict, codes, record.backup_id) == ("failed", ["NEWER_BACKUPS_UNUSABLE"], older_id)
    (skipped,) = record.findings[0]["evidence"]["skipped"]
    assert (skipped["backup_id"], skipped["status"]) == (newest["backup_id"], "corrupt")
    listed = listed_by_cli()
    assert (listed[newest["backup_id"]]["status"], listed[newest["backup_id"]]["valid"]) == ("corrupt", False)
    store = store_for(sandbox, target)
    assert store.head(layout_for(target).quarantine_key(newest["backup_id"])) is None
    assert store.head(layout_for(target).proof_key(newest["backup_id"])) is None


def test_a_passing_drill_writes_proof_json_and_retention_keeps_the_proven_backup_behind_failed_drill_ones(
        sandbox, tmp_path) -> None:
    from drdrill.config.models import Retention
    from drdrill.drills.backup.steps import apply_retention

    base = shop_target()
    prefix = f"proof-{uuid.uuid4().hex[:8]}"  # a folder of its own: retention deletes what it does not keep
    target = shop_target(storage=dataclasses.replace(base.storage, prefix=prefix),
                         retention=Retention(keep_days=1, keep_backups=1))
    store = store_for(sandbox, target)
    proven, proven_manifest = run_steps(sandbox, target, tmp_path / "proven")
    record, codes = drill(sandbox, target, tmp_path / "drill-1", proven["backup_id"])
    assert (record.verdict, codes) == ("passed", [])
    proof = json.loads(store.get_bytes(f"{prefix}/shop/full/{proven['backup_id']}/proof.json"))
    assert (proof["verdict"], proof["standing"], proof["findings"]) == ("passed", "proven", [])
    assert proof["run"]["run_id"] == record.run_id and proof["finished_at"] == record.finished_at
    config = tmp_path / "drills.yaml"
    config.write_text(sandbox.config_path.read_text().replace("prefix: tests", f"prefix: {prefix}"))
    listed = listed_by_cli(config)
    assert (listed[proven["backup_id"]]["status"], listed[proven["backup_id"]]["valid"]) == ("proven", True)
    assert listed[proven["backup_id"]]["stored_bytes"] == sum(o.size for o in proven_manifest.all_objects()) + len(
        store.get_bytes(f"{prefix}/shop/full/{proven['backup_id']}/manifest.json"))

    next_second()
    failed, manifest = run_steps(sandbox, target, tmp_path / "failed")
    tables = tuple(dataclasses.replace(t, checksum=str(int(t.checksum) + 1)) if t.name == "products" else t
                   for t in manifest.tables)
    rewrite_manifest(sandbox, target, failed["backup_id"], tables=tables)
    record, codes = drill(sandbox, target, tmp_path / "drill-2", failed["backup_id"])
    assert codes == ["CHECKSUM_MISMATCH"]
    listed = listed_by_cli(config)
    assert (listed[failed["backup_id"]]["status"], listed[failed["backup_id"]]["valid"]) == ("failed_drill", False)
    human = subprocess.run([str(Path(sys.executable).parent / "drdrill"), "backups", "list", "shop"], capture_output=True,
                           text=True, env={**os.environ, "DRDRILL_CONFIG": str(config)}, timeout=120)
    assert "failed drill" in human.stdout and "proven" in human.stdout

    # two days on: the proven backup is older than keep_days, the only newer one failed its drill
    kept = apply_retention(target, store, signing_key=None, now=datetime.now(timezone.utc) + timedelta(days=2))
    assert kept["kept"] == {proven["backup_id"]: "newest valid backup"}
    assert failed["backup_id"] in kept["deleted"]
    assert store.head(f"{prefix}/shop/full/{proven['backup_id']}/manifest.json") is not None
    store.delete_prefix(f"{prefix}/")

