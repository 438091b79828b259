"""Every engine backs up a database that uses every schema feature, and the restore drill brings all of it back.

One source server holds the feature database (tests/helpers/feature_db.py); per engine, one backup drill and one
restore drill (the CLI's in-process path) with the scratch server kept, then the restored server is compared with
the source object by object through information_schema and used as the application would use it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pymysql
import pytest

from drdrill.config import Target, load_config
from drdrill.drills.backup.runner import run_backup_drill
from drdrill.drills.layouts import layout_for
from drdrill.drills.restore.form import RestoreOptions
from drdrill.drills.restore.runner import RestoreServers, run_restore_drill
from drdrill.endpoints import MySQLEndpoint
from drdrill.sandbox.stack import BACKUP_GRANTS
from drdrill.servers.scratch import LocalScratch, destroy
from drdrill.storage.manifest import Manifest, read_manifest
from drdrill.storage.s3 import S3ObjectStore
from tests.helpers.feature_db import FeatureNames, beat, create_feature_db, describe_catalog

pytestmark = pytest.mark.integration

ENGINES = ("mariadb-dump", "mydumper", "mariabackup")
COLUMN_LIST = re.compile(r"\((`[^()]*`)\)")
TARGET_YAML = """\
settings:
  history_url: sqlite:///{directory}/history.sqlite
  work_dir: {directory}/work
targets:
  - name: atlas
    description: every schema feature
    source_conn_id: atlas_primary
    databases: [{database}]
    storage: {{conn_id: drdrill_s3, bucket: atlas-backups, prefix: features}}
    objectives: {{rto: 30m, rpo: 1h}}
    retention: {{keep_backups: 10}}
    engine_options: {{parallel: 2, compression_level: 3}}
    heartbeat: {{table: {database}.heartbeat, column: beat_at}}
    restore_drill: {{after_backup: false, max_backup_age: 1d}}
"""


@dataclass(frozen=True)
class FeatureSource:
    """The source server with the feature database, the drill's login on it, the target and its store."""

    server: Any
    names: FeatureNames
    login: MySQLEndpoint
    target: Target
    store: S3ObjectStore
    history_url: str


@dataclass(frozen=True)
class Restored:
    """One engine's backup restored by the drill, its record and finding codes, and the kept scratch server."""

    engine: str
    backup_id: str
    record: Any
    codes: list[str]
    scratch: MySQLEndpoint


@pytest.fixture(scope="module")
def feature_source(mariadb_module_factory, moto_s3, tmp_path_factory) -> FeatureSource:
    server = mariadb_module_factory("atlas-source")
    with contextlib.closing(server.root_connect()) as connection:
        names = create_feature_db(connection)
    server.ensure_user("drdrill_backup", "backup-Secret-9", BACKUP_GRANTS, binlog=False)
    directory = tmp_path_factory.mktemp("atlas")
    config = directory / "drills.yaml"
    config.write_text(TARGET_YAML.format(directory=directory, database=names.database), encoding="utf-8")
    loaded = load_config(config)
    target = loaded.target("atlas")
    store = S3ObjectStore(moto_s3.client, target.storage.bucket)
    store.ensure_bucket()
    return FeatureSource(server, names, server.endpoint("drdrill_backup", "backup-Secret-9"), target, store,
                         loaded.settings.history_url)


@pytest.fixture(scope="module", params=ENGINES)
def restored(request, feature_source: FeatureSource, tmp_path_factory) -> Iterator[Restored]:
    """Back up with one engine, run the restore drill on that backup, keep its scratch server for the tests."""
    engine, source = request.param, feature_source
    work = tmp_path_factory.mktemp(f"work-{engine}")
    with contextlib.closing(source.server.root_connect()) as connection:
        beat(connection, source.names.database)
    backup_record, backup_findings = run_backup_drill(
        source.target, source.login, source.store, signing_key=None, work_dir=work, history_url=source.history_url,
        run_id=f"backup-{engine}-{uuid.uuid4().hex[:6]}", started_at=datetime.now(timezone.utc), engine_override=engine)
    assert (backup_record.verdict, [f.code for f in backup_findings]) == ("passed", []), backup_record.findings
    record, findings = run_restore_drill(
        source.target, RestoreServers(source=source.login, replica=None, store=source.store),
        RestoreOptions(backup="backup_id", backup_id=backup_record.backup_id, keep_scratch=True), work_dir=work,
        history_url=source.history_url, run_id=f"restore-{engine}-{uuid.uuid4().hex[:6]}",
        started_at=datetime.now(timezone.utc))
    kept = record.details["scratch"]
    scratch = None
    if kept.get("kept") and kept.get("option_file"):
        option_file = Path(kept["option_file"])
        scratch = LocalScratch(name=option_file.parent.name, base_dir=option_file.parent,
                               port=int(kept["scratch"].rsplit(":", 1)[1]))
    try:
        assert scratch is not None, f"the {engine} restore drill kept no scratch server: {record.findings}"
        yield Restored(engine, backup_record.backup_id, record, [f.code for f in findings], scratch.endpoint())
    finally:
        if scratch is not None:
            destroy(scratch)


def connect(endpoint: MySQLEndpoint, database: str) -> pymysql.connections.Connection:
    return endpoint.connect(database=database, autocommit=False)


def rows(connection: pymysql.connections.Connection, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        return [tuple(row) for row in cursor.fetchall()]


def test_the_restore_drill_of_the_feature_database_passes_with_its_checks_evaluated(restored: Restored) -> None:
    record = restored.record
    assert (record.verdict, restored.codes) == ("passed", []), record.findings
    assert record.details["expectations"] > 0
    assert record.details["engine"] == restored.engine
    assert 0 <= record.rpo_seconds < 600


@pytest.mark.parametrize("kind", ["tables", "columns", "indexes", "foreign_keys", "checks", "partitions", "views",
                                  "routines", "parameters", "triggers", "events"])
def test_every_object_comes_back_with_the_definition_it_has_on_the_source(
        restored: Restored, feature_source: FeatureSource, kind: str) -> None:
    database = feature_source.names.database
    with contextlib.closing(feature_source.server.root_connect()) as on_source:
        expected = describe_catalog(on_source, database)[kind]
    with contextlib.closing(connect(restored.scratch, database)) as on_scratch:
        found = describe_catalog(on_scratch, database)[kind]
    assert expected, f"the feature database has no {kind}: the comparison would prove nothing"
    assert found == expected


def test_the_manifest_fingerprints_the_definer_and_the_grantees_and_the_suite_checks_them(
        restored: Restored, feature_source: FeatureSource) -> None:
    """The accounts kind is recorded for the owner (every object's definer), the application and reporting logins,
    and the restore drill (green above) compared them: accounts checks quiet on a healthy database."""
    manifest = read_manifest(feature_source.store, layout_for(feature_source.target), restored.backup_id,
                             signing_key=None)
    recorded = {obj.name for obj in manifest.schema if obj.kind == "accounts"}
    assert recorded == {f"'{user}'@'{host}'" for user, host in feature_source.names.accounts}
    assert restored.record.details["expectations"] > len(recorded)


def show_grants(connection: pymysql.connections.Connection, names: FeatureNames) -> dict[str, list[str]]:
    """Each account's SHOW CREATE USER and grants; a column grant's columns sorted (the server lists them in no
    fixed order: `(`region_code`, `id`, `email`)` on the source came back as `(`id`, `region_code`, `email`)`)."""
    shown = {}
    for user, host in names.accounts:
        lines = rows(connection, "SHOW CREATE USER %s@%s", (user, host)) + rows(connection, "SHOW GRANTS FOR %s@%s",
                                                                               (user, host))
        shown[f"{user}@{host}"] = sorted(COLUMN_LIST.sub(lambda found: "(" + ", ".join(sorted(
            found.group(1).split(", "))) + ")", line[0]) for line in lines)
    return shown


def test_the_accounts_come_back_with_their_grants_and_their_hashes_stay_in_the_backup(
        restored: Restored, feature_source: FeatureSource) -> None:
    """Owner (the definer), application and reporting logins exist on the restored server exactly as on the source
    (db-, table-, column- and routine-level grants); the password hash is in no record, finding or manifest."""
    names = feature_source.names
    with contextlib.closing(feature_source.server.root_connect()) as on_source:
        expected = show_grants(on_source, names)
    with contextlib.closing(connect(restored.scratch, names.database)) as on_scratch:
        found = show_grants(on_scratch, names)
    assert found == expected
    reporting = expected["{}@{}".format(*names.reporting)]
    assert any(" ON FUNCTION " in line for line in reporting) and any(" (`" in line for line in reporting)
    hashes = {line.split("PASSWORD '")[1][:41] for lines in expected.values() for line in lines if "PASSWORD '" in line}
    assert hashes, "no password hash to look for"
    manifests = [obj.key for obj in feature_source.store.list_objects("features/") if obj.key.endswith("manifest.json")]
    published = json.dumps(restored.record.findings) + json.dumps(restored.record.details, default=str) + "".join(
        (feature_source.store.get_bytes(key) or b"").decode() for key in manifests)
    assert manifests and not any(secret in published for secret in hashes)


def test_the_feature_objects_are_all_present(restored: Restored, feature_source: FeatureSource) -> None:
    names = feature_source.names
    with contextlib.closing(connect(restored.scratch, names.database)) as on_scratch:
        catalog = describe_catalog(on_scratch, names.database)
    assert {row[0] for row in catalog["tables"]} == set(names.tables)
    assert {row[0] for row in catalog["views"]} == set(names.views)
    assert {(row[0], row[1]) for row in catalog["routines"]} == (
        {(name, "PROCEDURE") for name in names.procedures} | {(name, "FUNCTION") for name in names.functions})
    assert {row[0] for row in catalog["triggers"]} == set(names.triggers)
    assert {row[0] for row in catalog["events"]} == set(names.events)
    assert [row[1] for row in catalog["partitions"]] == list(names.partitions)
    assert all(row[4] == names.definer for row in catalog["views"])
    assert all(row[9] == names.definer for row in catalog["routines"])
    assert {row[12] for row in catalog["events"]} == {"DISABLED"}


def test_the_restored_database_answers_as_the_source_does(restored: Restored, feature_source: FeatureSource) -> None:
    """Full-text and spatial searches, the views over views, partitions and the function give the source's answers."""
    database = feature_source.names.database
    queries = [
        "SELECT COUNT(*) FROM places WHERE MATCH (name, description) AGAINST ('harbour museum')",
        "SELECT COUNT(*) FROM places WHERE MATCH (name, description) AGAINST ('+bakery -bridge' IN BOOLEAN MODE)",
        "SELECT COUNT(*) FROM places FORCE INDEX (sp_places_location) "
        "WHERE MBRContains(ST_GeomFromText('POLYGON((-45 -90, 45 -90, 45 90, -45 90, -45 -90))', 4326), location)",
        "SELECT ST_SRID(location), COUNT(*) FROM places GROUP BY 1",
        "SELECT * FROM top_customers",
        "SELECT * FROM region_summary ORDER BY code",
        "SELECT COUNT(*) FROM readings PARTITION (p2024)",
        "SELECT customer_tier(600000), customer_tier(200000), customer_tier(10)",
        "SELECT email_domain, COUNT(*) FROM customers FORCE INDEX (ix_customers_email_domain) GROUP BY 1 ORDER BY 1",
    ]
    with contextlib.closing(feature_source.server.root_connect()) as on_source:
        on_source.select_db(database)
        expected = [rows(on_source, sql) for sql in queries]
    with contextlib.closing(connect(restored.scratch, database)) as on_scratch:
        found = [rows(on_scratch, sql) for sql in queries]
    assert expected[7] == [("gold", "silver", "bronze")]  # PIPES_AS_CONCAT: under the default mode 'gold' || '' is 0
    assert found == expected


def test_constraints_and_triggers_still_act_on_the_restored_database(restored: Restored,
                                                                      feature_source: FeatureSource) -> None:
    """Deleting an order cascades to its lines and shipments, a region's delete sets customers' region to NULL,
    CHECK constraints refuse bad rows, and the ordered AFTER INSERT triggers write their audit rows in order."""
    with contextlib.closing(connect(restored.scratch, feature_source.names.database)) as on_scratch:
        try:
            assert rows(on_scratch, "SELECT COUNT(*) FROM shipments WHERE order_id = 1") == [(1,)]
            with on_scratch.cursor() as cursor:
                cursor.execute("DELETE FROM orders WHERE id = 1")
                cursor.execute("DELETE FROM regions WHERE code = 'EU'")
            assert rows(on_scratch, "SELECT COUNT(*) FROM order_lines WHERE order_id = 1") == [(0,)]
            assert rows(on_scratch, "SELECT COUNT(*) FROM shipments WHERE order_id = 1") == [(0,)]
            assert rows(on_scratch, "SELECT COUNT(*) FROM customers WHERE region_code = 'EU'") == [(0,)]
            for refused in ("INSERT INTO order_lines (order_id, line_no, sku, quantity, unit_price_cents) "
                            "VALUES (2, 9, 'SKU-X', 0, 100)",
                            "UPDATE orders SET shipped_at = '2000-01-01' WHERE id = 2",
                            "UPDATE customers SET credit_cents = -1 WHERE id = 1000"):
                with pytest.raises(pymysql.err.OperationalError, match="4025"), on_scratch.cursor() as cursor:
                    cursor.execute(refused)
            with on_scratch.cursor() as cursor:
                cursor.execute("INSERT INTO orders (customer_id, ordered_at, total_cents) "
                               "VALUES (1001, '2026-02-02 00:00:00', 5)")
                cursor.execute("SELECT LAST_INSERT_ID()")
                (order_id,) = cursor.fetchone()
            assert rows(on_scratch, "SELECT action FROM audit_log WHERE order_id = %s ORDER BY id",
                        (order_id,)) == [("created",), ("priced",)]
        finally:
            on_scratch.rollback()


def test_the_procedure_runs_on_the_restored_database(restored: Restored, feature_source: FeatureSource) -> None:
    with contextlib.closing(connect(restored.scratch, feature_source.names.database)) as on_scratch:
        try:
            with on_scratch.cursor() as cursor:
                cursor.execute("CALL place_order(1002, 'SKU-007', 3, 250, @order_id)")
                cursor.execute("SELECT total_cents FROM orders WHERE id = @order_id")
                assert cursor.fetchall() == ((750,),)
        finally:
            on_scratch.rollback()


def test_without_its_accounts_a_dump_of_definer_views_does_not_restore(feature_source: FeatureSource,
                                                                      tmp_path: Path) -> None:
    """The other way round: the same backup with its accounts object taken out of the manifest (as a backup made
    with accounts: false) fails on the view over a DEFINER view, so the accounts are what makes the drill green."""
    source = feature_source
    with contextlib.closing(source.server.root_connect()) as connection:
        beat(connection, source.names.database)
    backup, _ = run_backup_drill(source.target, source.login, source.store, signing_key=None, work_dir=tmp_path,
                                 history_url=source.history_url, run_id=f"backup-{uuid.uuid4().hex[:6]}",
                                 started_at=datetime.now(timezone.utc), engine_override="mariadb-dump")
    key = layout_for(source.target).manifest_key(backup.backup_id)
    manifest = Manifest.from_json(source.store.get_bytes(key) or b"")
    assert {entry.role for entry in manifest.objects} == {"data", "accounts"}
    data_only = dataclasses.replace(manifest, objects=tuple(e for e in manifest.objects if e.role == "data"))
    source.store.put_bytes(key, data_only.to_json().encode())
    record, findings = run_restore_drill(
        source.target, RestoreServers(source=source.login, replica=None, store=source.store),
        RestoreOptions(backup="backup_id", backup_id=backup.backup_id), work_dir=tmp_path,
        history_url=source.history_url, run_id=f"restore-{uuid.uuid4().hex[:6]}", started_at=datetime.now(timezone.utc))
    assert (record.verdict, [f.code for f in findings]) == ("failed", ["RESTORE_ERROR"])
    assert findings[0].evidence["error_code"] == 1449 and source.names.owner[0] in findings[0].message
