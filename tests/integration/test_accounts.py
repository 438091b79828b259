"""Accounts the application needs, against real servers: selected, backed up, replayed and fingerprinted, with
their password hashes kept inside the backup object only."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from drdrill.checks.account_fingerprint import accounts_query
from drdrill.checks.restore_suite import validate_restore
from drdrill.checks.schema_fingerprint import READ_COLLATION
from drdrill.drills.backup import steps as backup
from drdrill.drills.layouts import layout_for
from drdrill.drills.restore import steps as restore
from drdrill.engines.accounts import (
    ACCOUNTS_OBJECT,
    ACCOUNTS_ROLE,
    ACCOUNTS_SECTION,
    OBJECT_GRANTS_SECTION,
    restore_accounts,
)
from drdrill.engines.restore import RestoreFailed
from drdrill.findings import DrillFailed
from drdrill.servers.accounts import ACCOUNTS_CREATED, read_accounts_script
from drdrill.checks.source_facts import collect_source_facts
from drdrill.storage.manifest import Manifest, ObjectEntry
from drdrill.storage.memory import MemoryObjectStore
from tests.helpers.drill_helpers import execute, query, run_steps, shop_target, store_for

pytestmark = pytest.mark.integration

SCHEMA = ("CREATE DATABASE crm", "CREATE TABLE crm.contacts (id INT PRIMARY KEY, email VARCHAR(100), notes TEXT)",
          "CREATE PROCEDURE crm.merge_contacts() SELECT 1", "CREATE FUNCTION crm.score() RETURNS INT DETERMINISTIC RETURN 1",
          "CREATE DATABASE elsewhere", "CREATE TABLE elsewhere.t (id INT)")
ACCOUNTS = (
    "CREATE USER crm_app@'%' IDENTIFIED BY 'app-plaintext-1' REQUIRE SSL WITH MAX_QUERIES_PER_HOUR 100",
    "GRANT SELECT, INSERT, UPDATE ON crm.* TO crm_app@'%'",
    "GRANT SELECT ON elsewhere.t TO crm_app@'%'",  # another database's table: not in the backup, left out
    "CREATE USER crm_report@'10.%' IDENTIFIED BY 'report-plaintext-2' ACCOUNT LOCK PASSWORD EXPIRE",
    "GRANT SELECT (id, email) ON crm.contacts TO crm_report@'10.%'",
    "CREATE USER crm_batch@localhost IDENTIFIED BY 'batch-plaintext-3'",
    "GRANT EXECUTE ON PROCEDURE crm.merge_contacts TO crm_batch@localhost",
    "CREATE USER crm_wild@'%' IDENTIFIED BY 'wild-plaintext-4'", r"GRANT SELECT ON `cr\_m`.* TO crm_wild@'%'",
    "GRANT SELECT ON `c%`.* TO crm_wild@'%'",  # a wildcard pattern matching crm
    "CREATE ROLE crm_reader", "GRANT SELECT ON crm.contacts TO crm_reader", "GRANT EXECUTE ON FUNCTION crm.score TO crm_reader",
    "CREATE USER crm_viarole@'%' IDENTIFIED BY 'role-plaintext-5'", "GRANT crm_reader TO crm_viarole@'%'",
    "SET DEFAULT ROLE crm_reader FOR crm_viarole@'%'",
    "CREATE USER global_only@'%' IDENTIFIED BY 'global-plaintext-6'", "GRANT SELECT, PROCESS ON *.* TO global_only@'%'",
    "CREATE USER unrelated@'%' IDENTIFIED BY 'unrelated-plaintext-7'", "GRANT SELECT ON elsewhere.* TO unrelated@'%'",
)
PLAINTEXTS = re.findall(r"IDENTIFIED BY '([^']+)'", " ".join(ACCOUNTS))
DRILLED = {"'crm_app'@'%'", "'crm_report'@'10.%'", "'crm_batch'@'localhost'", "'crm_wild'@'%'",
           "role 'crm_reader'", "'crm_viarole'@'%'"}


def fingerprints(server, databases=("crm",)) -> dict[str, tuple[str, str]]:
    """``name -> (definition, digest)`` of the accounts fingerprint query, run as root."""
    return {name: (definition, digest) for name, definition, digest
            in query(server, accounts_query(list(databases), READ_COLLATION))}


def hashes(server) -> list[str]:
    """The password hashes the server keeps for the test's accounts (what must not leak)."""
    return [row[0] for row in query(server, "SELECT JSON_VALUE(Priv, '$.authentication_string') FROM "
                                    "mysql.global_priv WHERE User LIKE 'crm%' OR User = 'shop_app'") if row[0]]


def compressed(tmp_path: Path, script: bytes) -> Path:
    archive = tmp_path / ACCOUNTS_OBJECT
    subprocess.run(["zstd", "-q", "-f", "-o", str(archive)], input=script, check=True)
    return archive


@pytest.fixture
def source_and_scratch(mariadb_factory):
    source = mariadb_factory("source")  # binary logging on: the manifest's facts record their position
    scratch = mariadb_factory("scratch", log_bin=False)
    execute(source, *SCHEMA, *ACCOUNTS)
    execute(scratch, *SCHEMA)  # the data restored before the accounts
    return source, scratch


def test_the_accounts_with_grants_on_the_databases_replay_to_the_same_fingerprint(source_and_scratch, tmp_path) -> None:
    source, scratch = source_and_scratch
    script = read_accounts_script(source.root_endpoint(), ["crm"])
    assert script.count == len(DRILLED)
    for name in ("crm_app", "crm_report", "crm_batch", "crm_wild", "crm_viarole"):
        assert f"CREATE OR REPLACE USER `{name}`@".encode() in script.sql
    assert b"CREATE OR REPLACE ROLE 'crm_reader';" in script.sql
    for name in (b"global_only", b"unrelated", b"root"):  # global grants only, or grants on another database
        assert name not in script.sql
    assert b"elsewhere`.`t`" not in script.sql and script.sql.count(b"IDENTIFIED BY PASSWORD") == 5

    restore_accounts(compressed(tmp_path, script.sql), scratch.root_endpoint(), tmp_path / "accounts.log")
    on_source, restored = fingerprints(source), fingerprints(scratch)
    assert set(on_source) == DRILLED and restored == on_source
    definitions = "\n".join(definition for definition, _ in on_source.values())
    for secret in hashes(source) + PLAINTEXTS:
        assert secret not in definitions
    assert "grant on column crm.contacts.email: Select" in on_source["'crm_report'@'10.%'"][0]
    assert "password expired: yes" in on_source["'crm_report'@'10.%'"][0]  # the replay did not renew it
    assert "default role: crm_reader" in on_source["'crm_viarole'@'%'"][0]

    # A physical restore already holds the accounts: replaying over them (twice) changes nothing.
    for _ in range(2):
        restore_accounts(compressed(tmp_path, script.sql), source.root_endpoint(), tmp_path / "accounts.log")
    assert fingerprints(source) == on_source


DEFINERS = (  # objects of crm defined by an account without grants on it, and by an administrator
    "CREATE USER crm_definer@'%' IDENTIFIED BY 'definer-plaintext-8'",
    "CREATE USER crm_dba@'%' IDENTIFIED BY 'dba-plaintext-9'", "GRANT ALL ON *.* TO crm_dba@'%'",
)
DEFINED_OBJECTS = ("CREATE DEFINER=crm_definer@'%' VIEW crm.constant AS SELECT 1 AS one",
                   "CREATE DEFINER=crm_definer@'%' PROCEDURE crm.noop() SELECT 1",
                   "CREATE DEFINER=crm_dba@'%' VIEW crm.admin_view AS SELECT 2 AS two")


def test_the_definers_come_before_the_data_and_the_grants_on_objects_after_it(source_and_scratch, tmp_path) -> None:
    """A definer without grants on the databases is drilled (not one with global privileges: the scratch server
    has its own administrators); the accounts section replays on a server without the databases yet, the object
    grants once they are there, to the source's fingerprints, the definer's included."""
    source, scratch = source_and_scratch
    execute(source, *DEFINERS, *DEFINED_OBJECTS)
    script = read_accounts_script(source.root_endpoint(), ["crm"])
    accounts_part, object_grants = script.sql.decode().split(ACCOUNTS_CREATED)
    assert script.count == len(DRILLED) + 1 and "CREATE OR REPLACE USER `crm_definer`@`%`" in accounts_part
    assert "crm_dba" not in script.sql.decode()
    assert " ON `crm`.`contacts` TO " in object_grants and " ON `crm`.`contacts` TO " not in accounts_part
    assert " ON FUNCTION `crm`.`score` " in object_grants and "GRANT `crm_reader` TO " in accounts_part
    archive = compressed(tmp_path, script.sql)
    execute(scratch, "DROP DATABASE crm", "DROP DATABASE elsewhere")  # as before a logical restore's data
    restore_accounts(archive, scratch.root_endpoint(), tmp_path / "accounts.log", ACCOUNTS_SECTION)
    assert query(scratch, "SELECT COUNT(*) FROM mysql.user WHERE User = 'crm_definer'") == [(1,)]
    execute(scratch, *SCHEMA, *DEFINERS[1:], *DEFINED_OBJECTS)  # the data; the administrator is the scratch's own
    restore_accounts(archive, scratch.root_endpoint(), tmp_path / "object-grants.log", OBJECT_GRANTS_SECTION)
    on_source = fingerprints(source)
    assert set(on_source) == DRILLED | {"'crm_definer'@'%'"} and fingerprints(scratch) == on_source


@pytest.mark.parametrize(("change", "account", "line"), [
    ("REVOKE INSERT ON crm.* FROM crm_app@'%'", "'crm_app'@'%'", "grant on database crm: SELECT, INSERT, UPDATE"),
    ("REVOKE SELECT (email) ON crm.contacts FROM crm_report@'10.%'", "'crm_report'@'10.%'",
     "grant on column crm.contacts.email: Select"),
    ("REVOKE EXECUTE ON FUNCTION crm.score FROM crm_reader", "role 'crm_reader'", "grant on function crm.score: Execute"),
    ("ALTER USER crm_batch@localhost ACCOUNT LOCK", "'crm_batch'@'localhost'", "locked: 0"),
    ("ALTER USER crm_app@'%' REQUIRE NONE", "'crm_app'@'%'", "ssl type: 1"),
])
def test_a_changed_grant_or_attribute_changes_the_digest_and_shows_in_the_text(source_and_scratch, tmp_path,
                                                                               change, account, line) -> None:
    source, scratch = source_and_scratch
    restore_accounts(compressed(tmp_path, read_accounts_script(source.root_endpoint(), ["crm"]).sql),
                     scratch.root_endpoint(), tmp_path / "accounts.log")
    execute(scratch, change)
    on_source, restored = fingerprints(source), fingerprints(scratch)
    assert restored[account][1] != on_source[account][1]
    assert line in on_source[account][0].splitlines() and line not in restored[account][0].splitlines()
    assert {name: value for name, value in restored.items() if name != account} == \
        {name: value for name, value in on_source.items() if name != account}


@pytest.mark.parametrize(("change", "account"), [
    ("DROP USER crm_wild@'%'", "'crm_wild'@'%'"),
    ("REVOKE crm_reader FROM crm_viarole@'%'", "'crm_viarole'@'%'"),  # its only way to the databases is gone
])
def test_a_missing_account_is_missing_from_the_restored_fingerprints(source_and_scratch, tmp_path, change,
                                                                     account) -> None:
    source, scratch = source_and_scratch
    restore_accounts(compressed(tmp_path, read_accounts_script(source.root_endpoint(), ["crm"]).sql),
                     scratch.root_endpoint(), tmp_path / "accounts.log")
    execute(scratch, change)
    assert set(fingerprints(source)) - set(fingerprints(scratch)) == {account}


def test_a_failed_replay_is_a_restore_error_without_the_hash_the_server_quoted(source_and_scratch, tmp_path) -> None:
    source, scratch = source_and_scratch
    script = read_accounts_script(source.root_endpoint(), ["crm"]).sql
    broken = script.replace(b"IDENTIFIED BY PASSWORD '", b"IDENTIFIED BY PASSWORDS '", 1)
    log = tmp_path / "accounts.log"
    with pytest.raises(RestoreFailed) as failed:
        restore_accounts(compressed(tmp_path, broken), scratch.root_endpoint(), log)
    told = f"{failed.value.problem} {failed.value.evidence} {log.read_text()}"
    assert failed.value.code == "RESTORE_ERROR" and "at line" not in failed.value.fix
    assert "PASSWORDS" in failed.value.problem and "***" in failed.value.problem  # the server quoted the statement
    for secret in hashes(source):
        assert secret[1:9] not in told and secret[-8:] not in told


def test_teardown_of_a_given_scratch_server_drops_the_restored_accounts_but_not_its_login(source_and_scratch,
                                                                                          tmp_path) -> None:
    source, scratch = source_and_scratch
    scratch.ensure_user("drill", "drill-pw", ["ALL PRIVILEGES ON *.*"])
    execute(scratch, "GRANT ALL ON crm.* TO drill@'127.0.0.1'")  # the login is itself "drilled" there: kept
    restore_accounts(compressed(tmp_path, read_accounts_script(source.root_endpoint(), ["crm"]).sql),
                     scratch.root_endpoint(), tmp_path / "accounts.log")
    assert set(fingerprints(scratch)) == DRILLED | {"'drill'@'127.0.0.1'"}
    assert restore.teardown({"kind": "connection", "conn_id": "dedicated"}, work_dir=tmp_path, key="k",
                            keep_scratch=False, endpoint=scratch.endpoint("drill", "drill-pw"),
                            databases=("crm",)) == {"kept": False}
    assert set(fingerprints(scratch)) == {"'drill'@'127.0.0.1'"}
    assert query(scratch, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'crm'") == [(0,)]


ACCOUNTS_ONLY = {"suite": "accounts", "table_checks": [], "inventory": [], "definitions": ["accounts"], "rpo": False}


def suite_on(scratch, source, tmp_path: Path):
    """The restore suite's accounts checks in ``scratch`` against a manifest of ``source``'s facts."""
    facts = collect_source_facts(source.root_endpoint(), ["crm"])
    manifest = Manifest(
        backup_id="test-accounts", target="crm", engine="mariadb-dump", tool_version="t", compression="zstd",
        server_version="10.11", source="test", databases=("crm",), started_at="s", finished_at="f",
        consistent_point=facts.point, facts_point=facts.point, objects=(ObjectEntry("dump.sql.zst", "data", 1, "ab" * 32),),
        tables=facts.tables, inventory=facts.inventory, schema=facts.schema)
    scratch.ensure_user("drill_gx", "gx-pw", ["SELECT ON *.*"])
    url = f"mysql+pymysql://drill_gx:gx-pw@127.0.0.1:{scratch.spec.port}/"
    return manifest, validate_restore(url, manifest, results_dir=tmp_path / "gx", disaster_at=datetime.now(timezone.utc),
                                      rpo_objective=None, heartbeat=None, definition=ACCOUNTS_ONLY)


def test_the_suite_is_quiet_on_restored_accounts_and_names_a_missing_or_changed_one(source_and_scratch, tmp_path) -> None:
    source, scratch = source_and_scratch
    restore_accounts(compressed(tmp_path, read_accounts_script(source.root_endpoint(), ["crm"]).sql),
                     scratch.root_endpoint(), tmp_path / "accounts.log")
    manifest, healthy = suite_on(scratch, source, tmp_path / "healthy")
    assert {obj.name for obj in manifest.schema if obj.kind == "accounts"} == DRILLED
    assert healthy.findings == () and healthy.evaluated == healthy.successful >= 2

    execute(scratch, "REVOKE UPDATE ON crm.* FROM crm_app@'%'", "DROP ROLE crm_reader")
    _, broken = suite_on(scratch, source, tmp_path / "broken")
    found = {(finding.code, finding.evidence.get("object")) for finding in broken.findings}
    assert found == {("GRANTS_DIFFER", "'crm_app'@'%'"), ("ACCOUNT_MISSING", "role 'crm_reader'"),
                     ("ACCOUNT_MISSING", "'crm_viarole'@'%'")}  # the role was its only way to the databases
    (changed,) = [f for f in broken.findings if f.evidence.get("object") == "'crm_app'@'%'"]
    assert "-grant on database crm: SELECT, INSERT, UPDATE; +grant on database crm: SELECT, INSERT" in changed.message
    written = json.dumps([f.to_dict() for f in broken.findings]) + broken.results_json.read_text()
    for secret in hashes(source) + PLAINTEXTS:
        assert secret not in written


def test_preflight_refuses_a_backup_login_that_cannot_read_the_grant_tables(mariadb_factory, tmp_path) -> None:
    source = mariadb_factory("narrow")
    execute(source, *SCHEMA[:2], "CREATE USER narrow@'127.0.0.1' IDENTIFIED BY 'narrow-pw'",
            "GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON crm.* TO narrow@'127.0.0.1'",
            "GRANT RELOAD, PROCESS, BINLOG MONITOR, REPLICATION SLAVE ON *.* TO narrow@'127.0.0.1'")
    login = source.endpoint("narrow", "narrow-pw")
    target = shop_target(databases=("crm",))

    def plan(target):
        return backup.preflight(target, login, MemoryObjectStore("b"), work_dir=tmp_path,
                                started_at=datetime.now(timezone.utc))

    with pytest.raises(DrillFailed) as failed:
        plan(target)
    (finding,) = failed.value.findings
    assert finding.code == "PREFLIGHT_FAILED" and "may not read the grant tables" in finding.message
    assert "GRANT SELECT ON mysql.* TO narrow" in finding.fix and "accounts: false" in finding.fix
    assert plan(dataclasses.replace(target, accounts=False))["accounts"] is None  # opted out: nothing to read


@pytest.mark.parametrize("engine", ["mariadb-dump", "mydumper", "mariabackup"])
def test_every_engine_backs_up_the_accounts_and_keeps_their_hashes_inside_the_object(
        engine, sandbox, tmp_path, caplog, capfd) -> None:
    caplog.set_level(logging.DEBUG)
    target, source = shop_target(), sandbox.sandbox.backup_endpoint()
    store, work = store_for(sandbox, target), tmp_path / "work"
    plan = backup.preflight(target, source, store, work_dir=work, started_at=datetime.now(timezone.utc),
                            engine_override=engine)
    dumped = backup.dump_and_upload(plan, target, source, store, work_dir=work)
    steps = [plan, dumped, backup.write_manifest(plan, dumped, target, source, store, work_dir=work, signing_key=None),
             backup.verify(plan, target, store, signing_key=None)]  # what Airflow passes through XCom
    manifest = Manifest.from_json(store.get_bytes(layout_for(target).manifest_key(plan["backup_id"])) or b"")
    (entry,) = [obj for obj in manifest.objects if obj.role == ACCOUNTS_ROLE]
    assert entry.name == ACCOUNTS_OBJECT and plan["accounts"] >= 1
    script = subprocess.run(["zstd", "-dc"], input=store.get_bytes(layout_for(target).object_key(
        plan["backup_id"], ACCOUNTS_OBJECT)), capture_output=True, check=True).stdout.decode()
    secrets = hashes(sandbox.sandbox.primary)
    assert secrets and all(secret in script for secret in secrets)  # the object holds them: the test has teeth
    assert "CREATE OR REPLACE USER `shop_app`@`127.0.0.1`" in script and "`drdrill_backup`" not in script
    fingerprinted = {obj.name: obj for obj in manifest.schema if obj.kind == "accounts"}
    assert "'shop_app'@'127.0.0.1'" in fingerprinted and "grant on database shop: SELECT, INSERT, UPDATE, DELETE" \
        in (fingerprinted["'shop_app'@'127.0.0.1'"].definition or "")
    shown = json.dumps(steps) + manifest.to_json() + caplog.text + "".join(capfd.readouterr())
    for secret in secrets:
        assert secret not in shown
    plaintext = sandbox.sandbox.secrets()["app"]  # the login's password itself is nowhere, not even in the object
    assert plaintext not in shown and plaintext not in script


def test_opting_out_leaves_no_accounts_object(sandbox, tmp_path) -> None:
    target = shop_target(accounts=False)
    plan, manifest = run_steps(sandbox, target, tmp_path / "work")
    assert [obj.role for obj in manifest.objects] == ["data"] and plan["accounts"] is None
    assert manifest.schema and not [obj for obj in manifest.schema if obj.kind == "accounts"]
    stored = store_for(sandbox, target).list_objects(layout_for(target).backup_root(plan["backup_id"]))
    assert stored and not [obj for obj in stored if obj.key.endswith(ACCOUNTS_OBJECT)]
