"""The restore drill end to end against real servers and real backups: each finding fires on a broken backup
and stays quiet on a healthy one (through Airflow: tests/system/test_restore_dag.py)."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from drdrill.drills.restore.form import RestoreOptions
from drdrill.drills.restore.runner import RestoreServers, run_restore_drill
from drdrill.drills.layouts import layout_for
from drdrill.storage.catalog import CORRUPT, find_backup
from drdrill.storage.seal import SigningKey
from tests.helpers.drill_helpers import rewrite_manifest, rewrite_object, run_steps, shop_target, store_for

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def drill(handle, target, work_dir: Path, backup_id: str, signing_key: SigningKey | None = None, **options):
    """Run the whole restore drill in-process on one backup; returns (record, finding codes)."""
    started = datetime.now(timezone.utc)
    servers = RestoreServers(source=handle.sandbox.backup_endpoint(),
                             replica=handle.sandbox.backup_endpoint(handle.sandbox.replica),
                             store=store_for(handle, target), signing_key=signing_key)
    record, findings = run_restore_drill(
        target, servers, RestoreOptions(backup="backup_id", backup_id=backup_id, **options), work_dir=work_dir,
        history_url=handle.history_url, run_id=f"test-{uuid.uuid4().hex[:8]}", started_at=started)
    return record, [finding.code for finding in findings]


def dump_sql(handle, target, backup_id: str) -> bytes:
    raw = store_for(handle, target).get_bytes(f"tests/shop/full/{backup_id}/dump.sql.zst")
    return subprocess.run(["zstd", "-dc"], input=raw, capture_output=True, check=True).stdout


def recompress(sql: bytes) -> bytes:
    return subprocess.run(["zstd", "-q", "-c"], input=sql, capture_output=True, check=True).stdout


def test_a_healthy_backup_passes_with_rto_rpo_stages_and_stored_gx_results(sandbox, tmp_path, fresh_backup) -> None:
    backup_id, manifest = fresh_backup
    record, codes = drill(sandbox, shop_target(), tmp_path, backup_id)
    assert (record.verdict, codes) == ("passed", [])
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
    record, codes = drill(sandbox, shop_target(), tmp_path, backup_id,
                          disaster_at=datetime.now(timezone.utc) + timedelta(hours=1))
    assert (record.verdict, codes) == ("failed", ["RPO_EXCEEDED"])
    assert record.rpo_seconds > record.rpo_objective_seconds


def test_an_rto_objective_below_the_measured_time_is_rto_exceeded(sandbox, tmp_path, fresh_backup) -> None:
    backup_id, _ = fresh_backup
    record, codes = drill(sandbox, shop_target(), tmp_path, backup_id, rto_objective=timedelta(milliseconds=100))
    assert (record.verdict, codes) == ("failed", ["RTO_EXCEEDED"])
    assert record.rto_seconds > record.rto_objective_seconds


def test_an_unreachable_scratch_server_is_could_not_verify_not_passed(sandbox, tmp_path, fresh_backup) -> None:
    from drdrill.endpoints import MySQLEndpoint
    from drdrill.ports import find_free_port

    backup_id, _ = fresh_backup
    target = shop_target()
    servers = RestoreServers(source=sandbox.sandbox.backup_endpoint(), replica=None, store=store_for(sandbox, target),
                             scratch=MySQLEndpoint("127.0.0.1", find_free_port(), "u", "p"), scratch_conn_id="down")
    record, findings = run_restore_drill(target, servers, RestoreOptions(backup="backup_id", backup_id=backup_id),
                                         work_dir=tmp_path, history_url=sandbox.history_url, run_id="test-unreachable",
                                         started_at=datetime.now(timezone.utc))
    assert record.verdict == "could_not_verify" and [f.code for f in findings] == ["COULD_NOT_VERIFY"]


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
    record, codes = drill(sandbox, target, tmp_path / "wrong", plan["backup_id"], signing_key=wrong)
    assert (record.verdict, codes) == ("failed", ["MANIFEST_CORRUPT"])
    assert "signature" in record.findings[0]["message"] and "restore" not in record.stage_seconds
