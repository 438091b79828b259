"""The restore drill's GX suite on a real MariaDB: silent on a faithful copy, loud on each breakage.

One server per module holds ``shop`` (the pristine "restore") and, per breaking test, a clone of it that
is broken after its own manifest facts were taken, as a restore missing something would be.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from drdrill.findings import Finding
from drdrill.config import Heartbeat
from drdrill.checks.gx_runner import ValidationOutcome
from drdrill.checks.restore_suite import validate_restore
from drdrill.checks.suite_definition import check_suite_definition, load_suite_definition
from drdrill.checks.source_facts import collect_source_facts
from drdrill.errors import ConfigError
from drdrill.ports import find_free_port
from drdrill.sandbox.sample_data import SCHEMA_STATEMENTS, create_shop_schema, load_shop_data
from drdrill.storage.manifest import Manifest, ObjectEntry
from tests.helpers.gx_helpers import assert_results_hold_no_password

pytestmark = pytest.mark.integration

ROWS = 20_000
USER = "drill_gx"
PASSWORD = "Gx-p@ss'w0rd%/x9"  # needs URL quoting; must never reach a file
# What a validation user needs so information_schema shows every object (else they read as missing).
GRANTS = ["SELECT, SHOW VIEW, TRIGGER, EVENT, EXECUTE ON *.*"]
FIRST_BEAT = datetime(2026, 1, 1, 10, 0, 0, tzinfo=timezone.utc)
BEATS = 30  # one a second: the newest is 10:00:29
NEWEST_BEAT = FIRST_BEAT + timedelta(seconds=BEATS - 1)
FRESH_DISASTER = FIRST_BEAT + timedelta(minutes=5)
STALE_DISASTER = FIRST_BEAT + timedelta(hours=2)
RPO = timedelta(minutes=15)
TABLES_AND_PK_ONLY = {
    "suite": "t",
    "table_checks": ["primary_key_unique", "primary_key_not_null"],
    "inventory": [],
    "definitions": [],
    "rpo": False,
}
RPO_ONLY = {"suite": "t", "table_checks": [], "inventory": [], "definitions": [], "rpo": True}


@dataclasses.dataclass
class Shop:
    server: object
    url: str
    manifest: Manifest
    results_dirs: list[Path]


@pytest.fixture(scope="module")
def shop(mariadb_module_factory, tmp_path_factory) -> Shop:
    """One server with ``shop`` loaded (plus fixed heartbeats), a password user, and its manifest."""
    server = mariadb_module_factory("gxsuite")
    with contextlib.closing(server.root_connect()) as conn:
        create_shop_schema(conn)
        load_shop_data(conn, rows=ROWS)
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO shop.heartbeat (beat_at, server_id) VALUES (%s, 1)",
                [((FIRST_BEAT + timedelta(seconds=n)).replace(tzinfo=None),) for n in range(BEATS)],
            )
    server.ensure_user(USER, PASSWORD, GRANTS)
    url = URL.create(
        "mysql+pymysql", username=USER, password=PASSWORD, host="127.0.0.1", port=server.spec.port
    ).render_as_string(hide_password=False)
    return Shop(server, url, manifest_of(server, "shop"), [])


def manifest_of(server, schema: str) -> Manifest:
    """A manifest whose facts are what ``schema`` holds right now (as the backup's source held it)."""
    facts = collect_source_facts(server.root_endpoint(), [schema])
    return Manifest(
        backup_id=f"test-{schema}",
        target="shop",
        engine="mariadb-dump",
        tool_version="test",
        compression="zstd",
        server_version="10.11",
        source="test",
        databases=(schema,),
        started_at="s",
        finished_at="f",
        consistent_point=facts.point,
        facts_point=facts.point,
        objects=(ObjectEntry("dump.sql.zst", "data", 1, "ab" * 32),),
        tables=facts.tables,
        inventory=facts.inventory,
        schema=facts.schema,
    )


def clone_shop(server, name: str) -> None:
    """A copy of ``shop`` (tables, rows, view, function, trigger, event) as schema ``name``."""
    with contextlib.closing(server.root_connect()) as conn, conn.cursor() as cur:
        for statement in SCHEMA_STATEMENTS:
            cur.execute(re.sub(r"\bshop\b", name, statement))
        cur.execute("SET SESSION foreign_key_checks = 0")
        cur.execute(
            "SELECT TABLE_NAME FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = 'shop' AND TABLE_TYPE = 'BASE TABLE'"
        )
        for (table,) in cur.fetchall():
            cur.execute(f"INSERT IGNORE INTO `{name}`.`{table}` SELECT * FROM shop.`{table}`")


def run_sql(server, *statements: str) -> None:
    with contextlib.closing(server.root_connect()) as conn, conn.cursor() as cur:
        for statement in statements:
            cur.execute(statement)


def validate(
    shop: Shop,
    tmp_path: Path,
    manifest: Manifest | None = None,
    *,
    url: str | None = None,
    disaster_at: datetime = FRESH_DISASTER,
    heartbeat: Heartbeat | None = None,
    definition: dict | None = None,
    name: str = "results",
    parallel: int = 1,
) -> ValidationOutcome:
    results_dir = tmp_path / name
    shop.results_dirs.append(results_dir)
    return validate_restore(
        url or shop.url,
        manifest or shop.manifest,
        results_dir=results_dir,
        disaster_at=disaster_at,
        rpo_objective=RPO,
        heartbeat=heartbeat,
        definition=definition,
        parallel=parallel,
    )


def subjects(findings: tuple[Finding, ...]) -> Counter[tuple[str, str]]:
    """(code, table or object) of each finding."""
    return Counter(
        (f.code, f.evidence.get("object") or f.evidence.get("subject") or f.evidence.get("table", "?"))
        for f in findings
    )


# -- healthy ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def healthy(shop, tmp_path_factory) -> ValidationOutcome:
    return validate(
        shop, tmp_path_factory.mktemp("healthy"), heartbeat=Heartbeat("shop", "heartbeat", "beat_at")
    )


def test_a_faithful_restore_has_no_findings(healthy: ValidationOutcome, shop: Shop) -> None:
    assert healthy.findings == ()
    tables = len(shop.manifest.tables)
    # per table: row count and checksum (its key is the server's PRIMARY KEY: not scanned again); plus the
    # 4 inventory kinds and the RPO check
    assert healthy.evaluated == healthy.successful >= 2 * tables + 4 + 1
    keyed = sorted(f"{t.schema}.{t.name}" for t in shop.manifest.tables if t.primary_key)
    assert keyed and json.loads(healthy.results_json.read_text())["drdrill"]["primary_keys_enforced_by_server"] == keyed
    assert healthy.newest_heartbeat == NEWEST_BEAT


def test_the_results_and_data_docs_are_written(healthy: ValidationOutcome) -> None:
    document = json.loads(healthy.results_json.read_text())
    assert document["checkpoint"]["success"] is True
    assert document["drdrill"]["evaluated"] == healthy.evaluated
    types = {r["expectation_config"]["type"] for v in document["validation_results"] for r in v["results"]}
    assert {
        "expect_table_checksum_to_match_manifest",
        "expect_column_distinct_values_to_contain_set",
        "expect_column_max_to_be_between",
    } <= types
    assert "expect_table_row_count_to_equal" not in types  # the checksum's one pass over each table counts it
    # every table kept its PRIMARY KEY: no key scans (the PK tests below run them where it is not so)
    assert not {"expect_column_values_to_be_unique", "expect_column_values_to_not_be_null"} & types
    assert healthy.data_docs_dir is not None and (healthy.data_docs_dir / "index.html").is_file()
    assert list(healthy.data_docs_dir.glob("validations/**/*.html"))


# -- a restore that lost things -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def broken(shop, tmp_path_factory) -> tuple[Manifest, ValidationOutcome]:
    """A clone that lost a table, rows of another, a value of a third, its view, function, trigger, event."""
    clone_shop(shop.server, "shop_broken")
    manifest = manifest_of(shop.server, "shop_broken")
    run_sql(
        shop.server,
        "DROP TABLE shop_broken.payments",
        "DELETE FROM shop_broken.order_items WHERE id % 10 = 0",
        "UPDATE shop_broken.customers SET full_name = 'Changed Name' WHERE id = 7",
        "DROP VIEW shop_broken.order_totals",
        "DROP FUNCTION shop_broken.customer_lifetime_value",
        "DROP TRIGGER shop_broken.orders_status_audit",
        "DROP EVENT shop_broken.purge_old_heartbeats",
    )
    return manifest, validate(shop, tmp_path_factory.mktemp("broken"), manifest)


def test_each_breakage_is_one_finding_and_nothing_else_is_reported(broken) -> None:
    _, outcome = broken
    assert subjects(outcome.findings) == Counter(
        {
            ("TABLE_MISSING", "shop_broken.payments"): 1,
            ("ROWCOUNT_MISMATCH", "shop_broken.order_items"): 1,
            ("CHECKSUM_MISMATCH", "shop_broken.order_items"): 1,
            ("CHECKSUM_MISMATCH", "shop_broken.customers"): 1,
            ("OBJECT_MISSING", "shop_broken.order_totals"): 1,
            ("OBJECT_MISSING", "shop_broken.customer_lifetime_value (FUNCTION)"): 1,
            ("OBJECT_MISSING", "shop_broken.orders_status_audit"): 1,
            ("OBJECT_MISSING", "shop_broken.purge_old_heartbeats"): 1,
        }
    )
    # every failed expectation became exactly one finding (each inventory kind here misses one object), but
    # order_items' one pass (count and checksum together) found both its problems
    assert outcome.evaluated - outcome.successful == len(outcome.findings) - 1


def test_tables_checked_in_parallel_lanes_find_exactly_what_one_lane_finds(shop, healthy, broken, tmp_path: Path) -> None:
    manifest, outcome = broken
    in_lanes = validate(shop, tmp_path, manifest, parallel=3, name="lanes")
    assert subjects(in_lanes.findings) == subjects(outcome.findings)
    assert (in_lanes.evaluated, in_lanes.successful) == (outcome.evaluated, outcome.successful)
    calm = validate(shop, tmp_path, heartbeat=Heartbeat("shop", "heartbeat", "beat_at"), parallel=3, name="calm")
    assert calm.findings == () and calm.evaluated == calm.successful == healthy.evaluated
    documents = [json.loads(result.results_json.read_text()) for result in (healthy, calm)]
    assert [[v["suite_name"] for v in document["validation_results"]] for document in documents] == [
        [v["suite_name"] for v in documents[0]["validation_results"]]] * 2  # the same order, whatever the lanes
    assert documents[1]["checkpoint"]["name"] == documents[0]["checkpoint"]["name"] == "restore_drill"
    assert calm.data_docs_dir is not None and len(list(calm.data_docs_dir.glob("validations/**/*.html"))) == len(
        list(healthy.data_docs_dir.glob("validations/**/*.html")))


def test_a_missing_table_is_reported_and_its_checks_are_not_attempted(broken) -> None:
    manifest, outcome = broken
    (missing,) = [f for f in outcome.findings if f.code == "TABLE_MISSING"]
    assert (
        "shop_broken.payments" in missing.message
        and missing.evidence["expectation_type"] == "expect_column_distinct_values_to_contain_set"
    )
    assert not [f for f in outcome.findings if f.code != "TABLE_MISSING" and "payments" in f.message]
    suites = {v["suite_name"] for v in json.loads(outcome.results_json.read_text())["validation_results"]}
    assert "restore_drill.shop_broken.order_items" in suites
    assert "restore_drill.shop_broken.payments" not in suites  # its per-table checks were not attempted


def test_lost_rows_are_a_row_count_and_a_checksum_mismatch(broken) -> None:
    manifest, outcome = broken
    expected = next(t.rows for t in manifest.tables if t.name == "order_items")
    (count,) = [f for f in outcome.findings if f.code == "ROWCOUNT_MISMATCH"]
    lost = expected // 10  # ids are 1..n: every tenth was deleted
    assert f"has {expected - lost:,} rows, the manifest says {expected:,} ({lost:,} fewer)" in count.message
    assert count.evidence["restored_rows"] == expected - lost
    assert count.evidence["expectation_type"] == "expect_table_checksum_to_match_manifest"  # one pass found both


def test_a_changed_value_is_a_checksum_mismatch_only(broken) -> None:
    manifest, outcome = broken
    customer_findings = [f for f in outcome.findings if "shop_broken.customers" in f.message]
    assert [f.code for f in customer_findings] == ["CHECKSUM_MISMATCH"]
    (finding,) = customer_findings
    facts = next(t for t in manifest.tables if t.name == "customers")
    assert f"the manifest says {facts.checksum} over {facts.rows:,} rows" in finding.message
    restored = finding.evidence["restored_checksum"]
    assert (
        restored
        and restored != facts.checksum
        and f"is {restored} over {facts.rows:,} rows" in finding.message
    )
    assert finding.evidence["expectation_type"] == "expect_table_checksum_to_match_manifest"


def test_dropped_routine_trigger_view_and_event_are_named(broken) -> None:
    _, outcome = broken
    messages = [f.message for f in outcome.findings if f.code == "OBJECT_MISSING"]
    assert sorted(messages) == sorted(
        [
            "View shop_broken.order_totals is in the manifest but not in the restored server.",
            "Routine shop_broken.customer_lifetime_value (FUNCTION) is in the manifest but not in the "
            "restored server.",
            "Trigger shop_broken.orders_status_audit is in the manifest but not in the restored server.",
            "Event shop_broken.purge_old_heartbeats is in the manifest but not in the restored server.",
        ]
    )


def test_a_check_removed_from_the_definition_is_not_run(shop, broken, tmp_path: Path) -> None:
    manifest, _ = broken
    definition = load_suite_definition()
    definition["table_checks"] = [check for check in definition["table_checks"] if check != "checksum"]
    outcome = validate(shop, tmp_path, manifest, definition=definition)
    assert "CHECKSUM_MISMATCH" not in {f.code for f in outcome.findings}
    assert ("ROWCOUNT_MISMATCH", "shop_broken.order_items") in subjects(outcome.findings)
    assert "expect_table_checksum_to_match_manifest" not in outcome.results_json.read_text()


def test_a_missing_table_is_reported_even_with_the_tables_inventory_switched_off(
    shop, broken, tmp_path
) -> None:
    manifest, _ = broken
    definition = {"suite": "t", "table_checks": ["row_count"], "inventory": [], "definitions": [], "rpo": False}
    outcome = validate(shop, tmp_path, manifest, definition=definition)
    assert subjects(outcome.findings) == Counter(
        {("TABLE_MISSING", "shop_broken.payments"): 1, ("ROWCOUNT_MISMATCH", "shop_broken.order_items"): 1}
    )


# -- primary keys -------------------------------------------------------------------------------------------


def test_a_primary_key_that_is_not_unique_or_has_nulls_is_a_violation(shop, tmp_path: Path) -> None:
    def declared(table, key):
        return dataclasses.replace(table, primary_key=key)

    keys = {"orders": ("customer_id",), "payments": ("id", "paid_at")}  # paid_at is NULL for cancelled orders
    manifest = dataclasses.replace(
        shop.manifest,
        tables=tuple(declared(t, keys[t.name]) if t.name in keys else t for t in shop.manifest.tables),
    )
    outcome = validate(shop, tmp_path, manifest, definition=TABLES_AND_PK_ONLY)

    assert subjects(outcome.findings) == Counter(
        {("PRIMARY_KEY_VIOLATION", "shop.orders"): 1, ("PRIMARY_KEY_VIOLATION", "shop.payments"): 1}
    )
    unique = next(f for f in outcome.findings if f.evidence["subject"] == "shop.orders")
    assert unique.evidence["expectation_type"] == "expect_column_values_to_be_unique"
    assert "primary key (customer_id) is not unique" in unique.message and "customer_id=" in unique.message
    not_null = next(f for f in outcome.findings if f.evidence["subject"] == "shop.payments")
    assert not_null.evidence["expectation_type"] == "expect_column_values_to_not_be_null"
    assert "primary-key column paid_at is NULL in" in not_null.message
    # the compound key (id, paid_at) itself is unique: its expectation ran and passed
    assert outcome.evaluated - outcome.successful == 2
    enforced = json.loads(outcome.results_json.read_text())["drdrill"]["primary_keys_enforced_by_server"]
    assert "shop.orders" not in enforced and "shop.payments" not in enforced and enforced  # the others kept theirs


def test_a_restored_table_without_its_primary_key_has_its_data_checked(shop, tmp_path: Path) -> None:
    """A restore that lost the PRIMARY KEY constraint (here: a copy without it) gets the key scanned: a duplicate
    in the data is a violation, not hidden behind the constraint it no longer has."""
    run_sql(shop.server, "CREATE TABLE shop.keyless LIKE shop.orders",
            "ALTER TABLE shop.keyless MODIFY id BIGINT UNSIGNED NOT NULL, DROP PRIMARY KEY",
            "INSERT INTO shop.keyless SELECT * FROM shop.orders", "INSERT INTO shop.keyless SELECT * FROM shop.orders LIMIT 1")
    try:
        orders = next(t for t in shop.manifest.tables if t.name == "orders")
        manifest = dataclasses.replace(shop.manifest, tables=(dataclasses.replace(orders, name="keyless"),))
        outcome = validate(shop, tmp_path, manifest, definition=TABLES_AND_PK_ONLY)
    finally:
        run_sql(shop.server, "DROP TABLE shop.keyless")
    assert subjects(outcome.findings) == Counter({("PRIMARY_KEY_VIOLATION", "shop.keyless"): 1})
    assert json.loads(outcome.results_json.read_text())["drdrill"]["primary_keys_enforced_by_server"] == []


# -- RPO ----------------------------------------------------------------------------------------------------


def test_a_stale_heartbeat_exceeds_the_rpo(shop, tmp_path: Path) -> None:
    outcome = validate(
        shop,
        tmp_path,
        disaster_at=STALE_DISASTER,
        definition=RPO_ONLY,
        heartbeat=Heartbeat("shop", "heartbeat", "beat_at"),
    )
    (finding,) = outcome.findings
    assert finding.code == "RPO_EXCEEDED"
    assert (
        "2026-01-01 10:00:29 UTC" in finding.message
        and "2026-01-01 12:00:00 UTC" in finding.message
        and "measured RPO 1h59m31s" in finding.message
        and "objective of 15m" in finding.message
    )
    assert outcome.newest_heartbeat == NEWEST_BEAT
    assert finding.evidence["measured_rpo_seconds"] == (STALE_DISASTER - NEWEST_BEAT).total_seconds()


def test_an_empty_heartbeat_table_is_no_heartbeat_recovered(shop, tmp_path: Path) -> None:
    run_sql(
        shop.server,
        "CREATE DATABASE IF NOT EXISTS hb_empty",
        "CREATE TABLE IF NOT EXISTS hb_empty.heartbeat LIKE shop.heartbeat",
    )
    outcome = validate(
        shop,
        tmp_path,
        manifest_of(shop.server, "hb_empty"),
        definition=RPO_ONLY,
        heartbeat=Heartbeat("hb_empty", "heartbeat", "beat_at"),
    )
    (finding,) = outcome.findings
    assert finding.code == "RPO_EXCEEDED" and finding.message.startswith("No heartbeat recovered")
    assert outcome.newest_heartbeat is None


def test_without_a_heartbeat_spec_there_is_no_rpo_verdict(shop, tmp_path: Path) -> None:
    definition = {"suite": "t", "table_checks": ["row_count"], "inventory": [], "definitions": [], "rpo": True}
    outcome = validate(shop, tmp_path, disaster_at=STALE_DISASTER, definition=definition, heartbeat=None)
    assert outcome.findings == () and outcome.newest_heartbeat is None
    assert outcome.evaluated == outcome.successful == len(shop.manifest.tables)


# -- could not verify ---------------------------------------------------------------------------------------


def test_an_unreachable_server_could_not_be_verified(shop, tmp_path: Path) -> None:
    url = URL.create(
        "mysql+pymysql", username=USER, password=PASSWORD, host="127.0.0.1", port=find_free_port()
    ).render_as_string(hide_password=False)
    outcome = validate(shop, tmp_path, url=url, heartbeat=Heartbeat("shop", "heartbeat", "beat_at"))
    (finding,) = outcome.findings
    assert finding.code == "COULD_NOT_VERIFY" and finding.verdict == "could_not_verify"
    assert "Cannot connect to the restored server" in finding.message and "***" in finding.message
    assert outcome.evaluated == outcome.successful == 0 and outcome.newest_heartbeat is None
    assert outcome.results_json.is_file() and outcome.data_docs_dir is None


def test_a_malformed_connection_string_could_not_be_verified(shop, tmp_path: Path) -> None:
    outcome = validate(shop, tmp_path, url=f"not a url {PASSWORD}")
    (finding,) = outcome.findings
    assert finding.code == "COULD_NOT_VERIFY" and PASSWORD not in finding.message
    assert outcome.evaluated == 0


def test_an_expectation_that_raises_could_not_be_verified_not_passed(shop, tmp_path: Path) -> None:
    # The manifest lists a column the restored table lacks: the checksum query fails inside the server.
    manifest = dataclasses.replace(
        shop.manifest,
        tables=tuple(
            dataclasses.replace(t, columns=(*t.columns, "ghost_column")) if t.name == "customers" else t
            for t in shop.manifest.tables
        ),
    )
    definition = {"suite": "t", "table_checks": ["checksum"], "inventory": [], "definitions": [], "rpo": False}
    outcome = validate(shop, tmp_path, manifest, definition=definition)
    (finding,) = outcome.findings
    assert finding.code == "COULD_NOT_VERIFY" and finding.evidence["subject"] == "shop.customers"
    assert "ghost_column" in finding.message
    assert outcome.evaluated - outcome.successful == 1


# -- secrets and definition ---------------------------------------------------------------------------------


def test_no_file_written_holds_the_password(shop, healthy, broken) -> None:
    assert_results_hold_no_password(shop.results_dirs, PASSWORD, more_than=20)


def test_the_suite_definition_is_read_and_checked(tmp_path: Path) -> None:
    definition = load_suite_definition()
    assert definition["table_checks"] == [
        "row_count",
        "checksum",
        "primary_key_unique",
        "primary_key_not_null",
    ]
    assert definition["inventory"] == ["tables", "views", "routines", "triggers", "events"]
    assert definition["rpo"] is True
    with pytest.raises(ConfigError, match="checksums"):
        check_suite_definition({**definition, "table_checks": ["checksums"]})
    bad = tmp_path / "suite.yaml"
    bad.write_text("suite: x\ntable_checks: [row_count]\ninventory: []\ndefinitions: []\n")
    with pytest.raises(ConfigError, match="rpo"):
        load_suite_definition(bad)


def test_each_table_checksum_query_runs_once(shop, tmp_path: Path) -> None:
    """GX's UnexpectedRowsExpectation runs its query for the rows and again for their count; the checksum's
    aggregate row is the whole answer, so it runs once per table (the server's general log counts them)."""
    run_sql(shop.server, "TRUNCATE TABLE mysql.general_log", "SET GLOBAL log_output = 'TABLE'", "SET GLOBAL general_log = ON")
    try:
        outcome = validate(shop, tmp_path, definition={**TABLES_AND_PK_ONLY, "table_checks": ["checksum"]})
    finally:
        run_sql(shop.server, "SET GLOBAL general_log = OFF")
    with contextlib.closing(shop.server.root_connect()) as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM mysql.general_log WHERE command_type = 'Query' "
                    "AND argument LIKE '%%AS restored_checksum%%'")
        (checksum_queries,) = cur.fetchone()
        cur.execute("TRUNCATE TABLE mysql.general_log")
    assert outcome.findings == () and outcome.evaluated == len(shop.manifest.tables)
    assert checksum_queries == len(shop.manifest.tables)
