"""The restore drill's own restore path: each engine, classified failures, and the safety interlock."""

from __future__ import annotations

import contextlib
import os
import signal
import shutil
import stat
import subprocess
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from drdrill.findings import NOT_ABOUT_THE_BACKUP, DrillFailed
from drdrill.drills.restore import steps as restore
from drdrill.servers.scratch import run_key
from drdrill.endpoints import MySQLEndpoint
from drdrill.servers.scratch import LocalScratch
from tests.helpers.drill_helpers import execute, rewrite_object, run_steps, shop_target, store_for
from tests.helpers.handrestore import restored_facts, restored_schema, schema_differences

pytestmark = pytest.mark.integration


def restore_latest(handle, target, work_dir: Path, plan) -> tuple[dict, LocalScratch | None]:
    """select → fetch → provision (local scratch) → restore, as the drill does."""
    store = store_for(handle, target)
    key = run_key(f"test-{plan['backup_id']}")
    selected = restore.select_backup(target, store, now=datetime.now(timezone.utc), choice="backup_id",
                                     backup_id=plan["backup_id"], signing_key=None)
    restore.fetch_and_verify(selected, target, store, work_dir=work_dir, key=key, signing_key=None)
    scratch_info = restore.provision_scratch(selected, work_dir=work_dir, key=key,
                                             source=handle.sandbox.backup_endpoint(), replica=None,
                                             scratch_endpoint=None, scratch_conn_id=None)
    scratch = restore.local_scratch(scratch_info)
    try:
        manifest = restore.read_manifest(store, target, plan["backup_id"], signing_key=None)
        result = restore.restore(selected, scratch_info, manifest, endpoint=scratch.endpoint(), work_dir=work_dir,
                                 key=key, parallel=2)
    except BaseException:
        restore.teardown(scratch_info, work_dir=work_dir, key=key, keep_scratch=False)
        raise
    return result, scratch


@pytest.mark.parametrize("engine", ["mariadb-dump", "mydumper", "mariabackup"])
def test_drill_restore_of_each_engine_equals_the_manifest(engine, sandbox, tmp_path: Path) -> None:
    target = shop_target()
    plan, manifest = run_steps(sandbox, target, tmp_path / "backup", engine=engine, write_between=2)
    result, scratch = restore_latest(sandbox, target, tmp_path / "work", plan)
    try:
        assert result["raw_bytes"] > 0 and result["mb_per_second"] and "catchup_seconds" in result
        facts, inventory = restored_facts(scratch.instance, manifest)
        assert [(t.name, t.rows, t.checksum) for t in facts] == [(t.name, t.rows, t.checksum) for t in manifest.tables]
        assert inventory == manifest.inventory
        assert manifest.schema and all(obj.readable for obj in manifest.schema)
        assert schema_differences(restored_schema(scratch.instance, manifest), manifest.schema) == {}
        # the application's accounts are among them: they came back alike on every engine (a physical copy too)
        assert "accounts_seconds" in result and [obj for obj in manifest.schema if obj.kind == "accounts"]
    finally:
        restore.destroy(scratch)
    assert not scratch.instance.is_running() and not scratch.base_dir.exists() and not scratch.base_dir.is_symlink()


def test_dump_cut_at_a_statement_boundary_is_archive_truncated_even_though_the_client_succeeds(sandbox, tmp_path) -> None:
    target = shop_target()
    plan, manifest = run_steps(sandbox, target, tmp_path / "backup")
    dump = subprocess.run(["zstd", "-dc"], input=store_for(sandbox, target).get_bytes(
        f"tests/shop/full/{plan['backup_id']}/dump.sql.zst"), capture_output=True, check=True).stdout
    cut = dump[: dump.index(b";\n", len(dump) // 2) + 2]  # whole statements only: the client has nothing to complain about
    rewrite_object(sandbox, target, plan["backup_id"], "dump.sql.zst",
                   subprocess.run(["zstd", "-q", "-c"], input=cut, capture_output=True, check=True).stdout)
    with pytest.raises(DrillFailed) as failed:
        restore_latest(sandbox, target, tmp_path / "work", plan)
    (finding,) = failed.value.findings
    assert finding.code == "ARCHIVE_TRUNCATED"
    assert "-- Dump completed" in finding.message and "client also failed" not in finding.message


@pytest.mark.parametrize("table", ["customers", "products"])  # early in the dump (client quits mid-stream) and late
def test_a_client_error_is_restore_error_naming_the_line(sandbox, tmp_path, table) -> None:
    target = shop_target()
    plan, _ = run_steps(sandbox, target, tmp_path / "backup")
    dump = subprocess.run(["zstd", "-dc"], input=store_for(sandbox, target).get_bytes(
        f"tests/shop/full/{plan['backup_id']}/dump.sql.zst"), capture_output=True, check=True).stdout
    statement = f"INSERT INTO `{table}` VALUES".encode()
    broken = dump.replace(statement, statement + b" (", 1)
    line = broken[: broken.index(statement + b" (")].count(b"\n") + 1
    rewrite_object(sandbox, target, plan["backup_id"], "dump.sql.zst",
                   subprocess.run(["zstd", "-q", "-c"], input=broken, capture_output=True, check=True).stdout)
    with pytest.raises(DrillFailed) as failed:
        restore_latest(sandbox, target, tmp_path / "work", plan)
    (finding,) = failed.value.findings
    assert finding.code == "RESTORE_ERROR"
    assert f"line {line}" in finding.message and "ERROR 1064" in finding.message
    assert finding.evidence["line"] == line


def _kill_once_restoring(scratch: LocalScratch, database: str, killed: list[int]) -> None:
    """SIGKILL the scratch mariadbd as soon as the restore has created ``database`` in it (the load is under way)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if scratch.endpoint().fetch_all("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s",
                                            (database,)):
                pid = scratch.instance.pid()
                assert pid is not None
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
        time.sleep(0.02)


def test_a_scratch_server_killed_mid_restore_is_scratch_failed_not_the_backups_fault(sandbox, tmp_path) -> None:
    target = shop_target()
    plan, _ = run_steps(sandbox, target, tmp_path / "backup")
    store, key, work_dir = store_for(sandbox, target), run_key("test-killed-scratch"), tmp_path / "work"
    selected = restore.select_backup(target, store, now=datetime.now(timezone.utc), choice="backup_id",
                                     backup_id=plan["backup_id"], signing_key=None)
    restore.fetch_and_verify(selected, target, store, work_dir=work_dir, key=key, signing_key=None)
    scratch_info = restore.provision_scratch(selected, work_dir=work_dir, key=key, source=sandbox.sandbox.backup_endpoint(),
                                             replica=None, scratch_endpoint=None, scratch_conn_id=None)
    scratch = restore.local_scratch(scratch_info)
    assert scratch is not None
    killed: list[int] = []
    killer = threading.Thread(target=_kill_once_restoring, args=(scratch, "shop", killed))
    killer.start()
    try:
        with pytest.raises(DrillFailed) as failed:
            restore.restore(selected, scratch_info, restore.read_manifest(store, target, plan["backup_id"], signing_key=None),
                            endpoint=scratch.endpoint(), work_dir=work_dir, key=key, parallel=2)
    finally:
        killer.join()
        restore.teardown(scratch_info, work_dir=work_dir, key=key, keep_scratch=False)
    assert killed, "the restore finished before the scratch server could be killed"
    (finding,) = failed.value.findings
    assert (finding.code, finding.verdict) == ("SCRATCH_FAILED", "could_not_verify")
    assert "not the backup" in finding.message and "is not running" in finding.message
    assert "Last lines of" in finding.message and finding.evidence["restore_error"]
    assert "SCRATCH_FAILED" in NOT_ABOUT_THE_BACKUP  # so the backup's proof is not marked failed_drill


def test_a_failing_client_with_nothing_classifiable_is_still_a_restore_error(sandbox, tmp_path, monkeypatch) -> None:
    target = shop_target()
    plan, _ = run_steps(sandbox, target, tmp_path / "backup")
    shim = tmp_path / "bin"
    shim.mkdir()
    # the accounts section loads with the real client (it comes first), the dump itself meets the crashing one
    (shim / "mariadb").write_text(f"#!/bin/bash\ninput=$(cat)\nif grep -qE -- '-- drdrill accounts (created|completed)' "
                                  f"<<<\"$input\"; then printf '%s\\n' \"$input\" | {shutil.which('mariadb')} \"$@\"; "
                                  "exit $?; fi\necho 'segmentation fault' >&2\nexit 139\n")
    (shim / "mariadb").chmod(stat.S_IRWXU)
    monkeypatch.setenv("PATH", f"{shim}:{os.environ['PATH']}")
    with pytest.raises(DrillFailed) as failed:
        restore_latest(sandbox, target, tmp_path / "work", plan)
    (finding,) = failed.value.findings
    assert finding.code == "RESTORE_ERROR" and "exited 139" in finding.message and "no classifiable error" in finding.message
    assert "accounts" not in finding.message  # the data restore's own classification, not the accounts step's


def source_state(handle) -> list:
    endpoint = handle.sandbox.backup_endpoint()
    with contextlib.closing(endpoint.connect()) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM shop.customers")
        return [cursor.fetchone()]


@pytest.mark.parametrize("role", ["source", "replica"])
def test_safety_interlock_refuses_the_source_and_replica_under_another_address(role, sandbox, tmp_path) -> None:
    box = sandbox.sandbox
    server = box.primary if role == "source" else box.replica
    alias = MySQLEndpoint("localhost", 0, "drdrill_backup", box.secrets()["backup"], socket=str(server.socket))
    before = source_state(sandbox)
    with pytest.raises(DrillFailed) as failed:
        restore.provision_scratch({"engine": "mariadb-dump"}, work_dir=tmp_path, key="k", source=box.backup_endpoint(),
                                  replica=box.backup_endpoint(box.replica), scratch_endpoint=alias,
                                  scratch_conn_id="scratch_alias")
    (finding,) = failed.value.findings
    assert finding.code == "SAFETY_INTERLOCK" and f"target's {role}" in finding.message
    assert "Nothing was written" in finding.message
    assert source_state(sandbox) == before


def test_an_unreachable_scratch_server_is_scratch_failed(sandbox, tmp_path) -> None:
    from drdrill.ports import find_free_port

    box = sandbox.sandbox
    nowhere = MySQLEndpoint("127.0.0.1", find_free_port(), "nobody", "x")
    with pytest.raises(DrillFailed) as failed:
        restore.provision_scratch({"engine": "mariadb-dump"}, work_dir=tmp_path, key="k", source=box.backup_endpoint(),
                                  replica=None, scratch_endpoint=nowhere, scratch_conn_id="scratch_down")
    (finding,) = failed.value.findings
    assert finding.code == "SCRATCH_FAILED" and finding.verdict == "could_not_verify"
    assert "does not answer" in finding.message


def test_a_dedicated_scratch_server_passes_the_interlock(sandbox, mariadb_factory, tmp_path) -> None:
    other = mariadb_factory("dedicated", log_bin=False)
    other.ensure_user("drill", "drill-pass-123", ["ALL PRIVILEGES ON *.*"])
    box = sandbox.sandbox
    info = restore.provision_scratch({"engine": "mariadb-dump"}, work_dir=tmp_path, key="k", source=box.backup_endpoint(),
                                     replica=box.backup_endpoint(box.replica),
                                     scratch_endpoint=other.endpoint("drill", "drill-pass-123"), scratch_conn_id="dedicated")
    assert info["kind"] == "connection"


@pytest.mark.parametrize("engine", ["mariadb-dump", "mydumper", "mariabackup"])
def test_a_two_database_target_restores_exactly_while_another_schema_takes_writes(engine, sandbox, tmp_path) -> None:
    import dataclasses
    import uuid

    from drdrill.drills.backup import steps as backup

    primary = sandbox.sandbox.primary
    execute(primary, "CREATE DATABASE IF NOT EXISTS shop_extra", "CREATE DATABASE IF NOT EXISTS unrelated",
            "CREATE TABLE IF NOT EXISTS shop_extra.notes (id INT AUTO_INCREMENT PRIMARY KEY, body VARCHAR(40))",
            "CREATE TABLE IF NOT EXISTS unrelated.noise (id INT AUTO_INCREMENT PRIMARY KEY, body VARCHAR(40))",
            "INSERT INTO shop_extra.notes (body) VALUES ('before')")
    base = shop_target()
    target = dataclasses.replace(base, databases=("shop", "shop_extra"),
                                 storage=dataclasses.replace(base.storage, prefix=f"multi-{uuid.uuid4().hex[:6]}"))
    store, source = store_for(sandbox, target), sandbox.sandbox.backup_endpoint()
    plan = backup.preflight(target, source, store, work_dir=tmp_path, started_at=datetime.now(timezone.utc),
                            engine_override=engine)
    dumped = backup.dump_and_upload(plan, target, source, store, work_dir=tmp_path)
    # after the consistent point: both target databases and a schema outside the target change
    execute(primary, "INSERT INTO shop_extra.notes (body) VALUES ('after')", "INSERT INTO unrelated.noise (body) VALUES ('x')",
            "UPDATE shop.products SET stock = stock + 1 WHERE id = 1")
    backup.write_manifest(plan, dumped, target, source, store, work_dir=tmp_path, signing_key=None)
    backup.verify(plan, target, store, signing_key=None)

    result, scratch = restore_latest(sandbox, target, tmp_path / "work", plan)
    try:
        manifest = restore.read_manifest(store, target, plan["backup_id"], signing_key=None)
        assert manifest.catchup is not None and {t.schema for t in manifest.tables} == {"shop", "shop_extra"}
        facts, inventory = restored_facts(scratch.instance, manifest)
        assert [(t.schema, t.name, t.rows, t.checksum) for t in facts] == \
            [(t.schema, t.name, t.rows, t.checksum) for t in manifest.tables]
    finally:
        restore.destroy(scratch)
