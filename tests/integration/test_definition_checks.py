"""Definition checks on real servers: a faithful copy of a database with every kind of object stays green;
each kind of damage a buggy dump, a cut-off stream or a hand edit leaves is one finding naming the object.

The source holds ``defs`` (views over views, a procedure and a function, ordered triggers, an event,
generated columns, a partitioned table, FULLTEXT, SPATIAL, prefix and ignored indexes, foreign keys, CHECK
constraints); the "restore" is a second server loaded from ``mariadb-dump`` of it. Each test damages the
restore, validates it against the source's manifest, and loads the dump again.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from drdrill.checks.gx_runner import ValidationOutcome
from drdrill.checks.restore_suite import validate_restore
from drdrill.checks.schema_fingerprint import FINGERPRINT_KINDS, read_fingerprints
from drdrill.checks.source_facts import collect_source_facts
from drdrill.checks.suite_definition import INVENTORY_KINDS
from drdrill.endpoints import MySQLEndpoint
from drdrill.storage.manifest import Manifest, ObjectEntry

pytestmark = pytest.mark.integration

DB = "defs"
OWNER = "'defs_owner'@'localhost'"
SCHEMA = [
    f"CREATE DATABASE {DB} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
    f"CREATE USER {OWNER}",
    f"GRANT ALL ON {DB}.* TO {OWNER}",
    f"""CREATE TABLE {DB}.customers (
        id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(80) NOT NULL, email VARCHAR(120), bio TEXT,
        loc POINT NOT NULL, created DATETIME DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
        name_len INT AS (CHAR_LENGTH(name)) VIRTUAL, name_up VARCHAR(80) AS (UPPER(name)) STORED,
        CONSTRAINT chk_email CHECK (email LIKE '%@%'), UNIQUE KEY uq_email (email(40)),
        FULLTEXT KEY ft_bio (bio), SPATIAL KEY sp_loc (loc), KEY ix_name_up (name_up DESC))""",
    f"ALTER TABLE {DB}.customers ALTER INDEX ix_name_up IGNORED",
    f"""CREATE TABLE {DB}.orders (
        id INT PRIMARY KEY, customer_id INT, qty INT CHECK (qty > 0), total DECIMAL(10,2) DEFAULT 0.00,
        CONSTRAINT fk_customer FOREIGN KEY (customer_id) REFERENCES {DB}.customers(id)
            ON DELETE CASCADE ON UPDATE RESTRICT)""",
    f"""CREATE TABLE {DB}.visits (id INT, at DATE NOT NULL, PRIMARY KEY (id, at))
        PARTITION BY RANGE (YEAR(at)) (PARTITION p2024 VALUES LESS THAN (2025),
                                       PARTITION pmax VALUES LESS THAN MAXVALUE)""",
    f"CREATE DEFINER = {OWNER} VIEW {DB}.active AS SELECT id, name FROM {DB}.customers WHERE id > 0",
    f"CREATE ALGORITHM=MERGE SQL SECURITY INVOKER VIEW {DB}.active_ids AS SELECT id FROM {DB}.active "
    "WITH CHECK OPTION",
    f"""CREATE DEFINER = {OWNER} FUNCTION {DB}.total_of(c INT) RETURNS DECIMAL(10,2) DETERMINISTIC
        READS SQL DATA COMMENT 'lifetime total' RETURN (SELECT SUM(total) FROM {DB}.orders WHERE customer_id = c)""",
    f"""CREATE PROCEDURE {DB}.count_orders(IN c INT, OUT n INT)
        BEGIN
          SELECT COUNT(*) INTO n FROM {DB}.orders WHERE customer_id = c;
        END""",
    f"CREATE TRIGGER {DB}.total_default BEFORE INSERT ON {DB}.orders FOR EACH ROW "
    "SET NEW.total = IFNULL(NEW.total, 0)",
    f"CREATE TRIGGER {DB}.qty_floor BEFORE INSERT ON {DB}.orders FOR EACH ROW FOLLOWS total_default "
    "SET NEW.qty = GREATEST(NEW.qty, 1)",
    f"CREATE EVENT {DB}.prune ON SCHEDULE EVERY 1 HOUR STARTS '2026-01-01 00:00:00' ON COMPLETION PRESERVE "
    f"DISABLE DO DELETE FROM {DB}.orders WHERE qty < 0",
    f"INSERT INTO {DB}.customers (name, email, bio, loc) VALUES "
    "('Ada', 'ada@example.org', 'counts things', POINT(1, 2)), ('Bob', 'bob@example.org', 'bakes', POINT(3, 4))",
    f"INSERT INTO {DB}.orders (id, customer_id, qty, total) VALUES (1, 1, 2, 9.50), (2, 2, 1, 3.25)",
    f"INSERT INTO {DB}.visits VALUES (1, '2024-05-01'), (2, '2026-02-03')",
]
DEFINITIONS_ONLY = {
    "suite": "defs",
    "table_checks": [],
    "inventory": list(INVENTORY_KINDS),
    "definitions": list(FINGERPRINT_KINDS),
    "rpo": False,
}


class Copy:
    """The source's manifest and a restore server that can be damaged and reloaded."""

    def __init__(self, source, restore, dump: Path) -> None:
        self.source, self.restore, self.dump = source, restore, dump
        self.manifest = manifest_of(source.root_endpoint())
        self.url = f"mysql+pymysql://root@localhost/?unix_socket={restore.socket}"

    def reload(self) -> None:
        run_sql(self.restore, f"DROP DATABASE IF EXISTS {DB}")
        with self.dump.open("rb") as dump:
            subprocess.run(["mariadb", "-S", str(self.restore.socket), "-u", "root"], stdin=dump, check=True)

    def validate(self, tmp_path: Path, manifest: Manifest | None = None, definition: dict | None = None
                 ) -> ValidationOutcome:
        return validate_restore(self.url, manifest or self.manifest, results_dir=tmp_path / "gx",
                                disaster_at=datetime.now(timezone.utc), rpo_objective=None, heartbeat=None,
                                definition=definition)


def manifest_of(endpoint: MySQLEndpoint) -> Manifest:
    facts = collect_source_facts(endpoint, [DB])
    return Manifest(
        backup_id="defs-test", target="defs", engine="mariadb-dump", tool_version="test", compression="zstd",
        server_version="10.11", source="test", databases=(DB,), started_at="s", finished_at="f",
        consistent_point=facts.point, facts_point=facts.point,
        objects=(ObjectEntry("dump.sql.zst", "data", 1, "ab" * 32),),
        tables=facts.tables, inventory=facts.inventory, schema=facts.schema,
    )


def run_sql(server, *statements: str) -> None:
    with contextlib.closing(server.root_connect()) as conn, conn.cursor() as cur:
        for statement in statements:
            cur.execute(statement)


@pytest.fixture(scope="module")
def copy(mariadb_module_factory, tmp_path_factory) -> Copy:
    source = mariadb_module_factory("defsource")
    restore = mariadb_module_factory("defrestore")
    run_sql(source, *SCHEMA)
    run_sql(restore, f"CREATE USER {OWNER}", f"GRANT ALL ON {DB}.* TO {OWNER}")
    dump = tmp_path_factory.mktemp("defs") / "defs.sql"
    with dump.open("wb") as out:
        subprocess.run(["mariadb-dump", "-S", str(source.socket), "-u", "root", "--routines", "--events",
                        "--triggers", "--databases", DB], stdout=out, check=True)
    copied = Copy(source, restore, dump)
    copied.reload()
    return copied


@pytest.fixture
def damaged(copy: Copy):
    """The copy, reloaded from the dump after the test (whatever it damaged)."""
    yield copy
    copy.reload()


def subjects(outcome: ValidationOutcome) -> Counter[tuple[str, str]]:
    return Counter((f.code, str(f.evidence.get("object"))) for f in outcome.findings)


def test_the_manifest_records_every_object_of_every_kind(copy: Copy) -> None:
    kinds = Counter(obj.kind for obj in copy.manifest.schema)
    assert kinds == {"tables": 3, "indexes": 8, "views": 2, "routines": 2, "triggers": 2, "events": 1,
                     "accounts": 1}  # defs_owner, who holds GRANT ALL on the database
    assert all(obj.readable and len(obj.digest) == 64 for obj in copy.manifest.schema)


def test_a_faithful_copy_is_green_under_the_whole_shipped_suite(copy: Copy, tmp_path: Path) -> None:
    outcome = copy.validate(tmp_path)
    assert outcome.findings == ()
    assert outcome.evaluated == outcome.successful > len(FINGERPRINT_KINDS) + len(INVENTORY_KINDS)


def test_the_auto_increment_counter_and_statistics_are_not_differences(damaged: Copy, tmp_path: Path) -> None:
    run_sql(damaged.restore, f"INSERT INTO {DB}.customers (name, email, bio, loc) VALUES "
                             "('Cy', 'cy@example.org', 'x', POINT(0, 0))",
            f"DELETE FROM {DB}.customers WHERE name = 'Cy'", f"ANALYZE TABLE {DB}.customers, {DB}.orders")
    assert damaged.validate(tmp_path, definition=DEFINITIONS_ONLY).findings == ()


BREAKAGES = {
    "view definition changed": (
        [f"CREATE OR REPLACE DEFINER = {OWNER} VIEW {DB}.active AS SELECT id, name FROM {DB}.customers WHERE id > 1"],
        "OBJECT_DEFINITION_DIFFERS", f"{DB}.active", "-definition: select",
    ),
    "view left as the dump's stand-in": (
        [f"CREATE OR REPLACE DEFINER = {OWNER} VIEW {DB}.active AS SELECT 1 AS id, 1 AS name"],
        "OBJECT_DEFINITION_DIFFERS", f"{DB}.active", "came back as the dump tool's stand-in placeholder",
    ),
    "view owned by the drill's login": (
        [f"CREATE OR REPLACE DEFINER = root@localhost VIEW {DB}.active AS "
         f"SELECT id, name FROM {DB}.customers WHERE id > 0"],
        "OBJECT_DEFINITION_DIFFERS", f"{DB}.active", "+definer: 'root@localhost'",
    ),
    "function body changed": (
        [f"DROP FUNCTION {DB}.total_of",
         f"CREATE DEFINER = {OWNER} FUNCTION {DB}.total_of(c INT) RETURNS DECIMAL(10,2) DETERMINISTIC "
         "READS SQL DATA COMMENT 'lifetime total' RETURN 0"],
        "OBJECT_DEFINITION_DIFFERS", f"{DB}.total_of (FUNCTION)", "+body: RETURN 0",
    ),
    "procedure parameter changed": (
        [f"DROP PROCEDURE {DB}.count_orders",
         f"CREATE PROCEDURE {DB}.count_orders(IN c BIGINT, OUT n INT) BEGIN\n"
         f"  SELECT COUNT(*) INTO n FROM {DB}.orders WHERE customer_id = c;\nEND"],
        "OBJECT_DEFINITION_DIFFERS", f"{DB}.count_orders (PROCEDURE)", "+parameter 'IN' 'c' bigint(20)",
    ),
    "trigger body changed": (
        [f"DROP TRIGGER {DB}.qty_floor",
         f"CREATE TRIGGER {DB}.qty_floor BEFORE INSERT ON {DB}.orders FOR EACH ROW FOLLOWS total_default "
         "SET NEW.qty = 1"],
        "OBJECT_DEFINITION_DIFFERS", f"{DB}.qty_floor", "+body: SET NEW.qty = 1",
    ),
    "event schedule changed": (
        [f"ALTER EVENT {DB}.prune ON SCHEDULE EVERY 1 DAY STARTS '2026-01-01 00:00:00'"],
        "OBJECT_DEFINITION_DIFFERS", f"{DB}.prune", "'DAY'",
    ),
    "FULLTEXT index dropped": (
        [f"ALTER TABLE {DB}.customers DROP INDEX ft_bio"], "INDEX_MISSING", f"{DB}.customers.ft_bio", "ft_bio",
    ),
    "SPATIAL index dropped": (
        [f"ALTER TABLE {DB}.customers DROP INDEX sp_loc"], "INDEX_MISSING", f"{DB}.customers.sp_loc", "sp_loc",
    ),
    "index prefix changed": (
        [f"ALTER TABLE {DB}.customers DROP INDEX uq_email, ADD UNIQUE KEY uq_email (email(20))"],
        "INDEX_DIFFERS", f"{DB}.customers.uq_email", "+columns: 'email' '20' 'A'",
    ),
    "index no longer ignored": (
        [f"ALTER TABLE {DB}.customers ALTER INDEX ix_name_up NOT IGNORED"],
        "INDEX_DIFFERS", f"{DB}.customers.ix_name_up", "+ignored: 'NO'",
    ),
    "column type changed": (
        [f"ALTER TABLE {DB}.orders MODIFY total DECIMAL(12,2) DEFAULT 0.00"],
        "TABLE_STRUCTURE_DIFFERS", f"{DB}.orders", "decimal(12,2)",
    ),
    "generated column became plain": (
        [f"ALTER TABLE {DB}.customers DROP COLUMN name_len, ADD COLUMN name_len INT AFTER created"],
        "TABLE_STRUCTURE_DIFFERS", f"{DB}.customers", "-column 'name_len' int(11) null=YES default='NULL' "
        "extra='VIRTUAL GENERATED'",
    ),
    "foreign key rule changed": (
        [f"ALTER TABLE {DB}.orders DROP FOREIGN KEY fk_customer",
         f"ALTER TABLE {DB}.orders ADD CONSTRAINT fk_customer FOREIGN KEY (customer_id) "
         f"REFERENCES {DB}.customers(id) ON DELETE SET NULL ON UPDATE RESTRICT"],
        "TABLE_STRUCTURE_DIFFERS", f"{DB}.orders", "ON DELETE SET NULL",
    ),
    "CHECK constraint dropped": (
        [f"ALTER TABLE {DB}.customers DROP CONSTRAINT chk_email"],
        "TABLE_STRUCTURE_DIFFERS", f"{DB}.customers", "-check 'chk_email'",
    ),
    "partitioning removed": (
        [f"ALTER TABLE {DB}.visits REMOVE PARTITIONING"], "TABLE_STRUCTURE_DIFFERS", f"{DB}.visits", "-partition",
    ),
    "engine changed": (
        [f"ALTER TABLE {DB}.visits REMOVE PARTITIONING", f"ALTER TABLE {DB}.visits ENGINE=Aria"],
        "TABLE_STRUCTURE_DIFFERS", f"{DB}.visits", "+engine: 'Aria'",
    ),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_each_damage_is_one_finding_naming_the_object_and_the_difference(
    breakage: str, damaged: Copy, tmp_path: Path
) -> None:
    statements, code, subject, shown = BREAKAGES[breakage]
    run_sql(damaged.restore, *statements)
    outcome = damaged.validate(tmp_path, definition=DEFINITIONS_ONLY)
    assert subjects(outcome) == Counter({(code, subject): 1})
    (finding,) = outcome.findings
    assert shown in finding.message and finding.fix
    assert outcome.evaluated - outcome.successful == 1


def test_an_index_of_a_missing_table_is_not_reported_twice(damaged: Copy, tmp_path: Path) -> None:
    run_sql(damaged.restore, f"DROP TABLE {DB}.visits")
    outcome = damaged.validate(tmp_path, definition=DEFINITIONS_ONLY)
    assert subjects(outcome) == Counter({("TABLE_MISSING", f"{DB}.visits"): 1})


def test_definitions_the_backup_could_not_read_are_could_not_verify(copy: Copy, tmp_path: Path) -> None:
    run_sql(copy.source, "CREATE USER IF NOT EXISTS 'peek'@'localhost' IDENTIFIED BY 'peek-pw'",
            f"GRANT SELECT ON {DB}.* TO 'peek'@'localhost'")
    peek = MySQLEndpoint(host="localhost", port=copy.source.spec.port, user="peek", password="peek-pw",
                         socket=str(copy.source.socket))
    with contextlib.closing(peek.connect()) as conn, conn.cursor() as cursor:
        views = [obj for obj in read_fingerprints(cursor, [DB], ["views"]) if obj.kind == "views"]
    assert views and not any(obj.readable for obj in views)  # listed, but SHOW VIEW is missing
    manifest = copy.manifest  # taken before peek existed: peek's grant on the database would make it an account to check
    blind = Manifest(**{**manifest.__dict__, "schema": tuple(
        obj if obj.kind != "views" else next(v for v in views if v.name == obj.name) for obj in manifest.schema)})
    outcome = copy.validate(tmp_path, manifest=blind, definition=DEFINITIONS_ONLY)
    (finding,) = outcome.findings
    assert finding.code == "COULD_NOT_VERIFY" and finding.evidence["objects"] == [f"{DB}.active", f"{DB}.active_ids"]


def test_a_manifest_without_definitions_is_could_not_verify_not_green(copy: Copy, tmp_path: Path) -> None:
    old = Manifest(**{**copy.manifest.__dict__, "schema": ()})
    outcome = copy.validate(tmp_path, manifest=old, definition=DEFINITIONS_ONLY)
    assert [f.code for f in outcome.findings] == ["COULD_NOT_VERIFY"]
    assert "compared by name only" in outcome.findings[0].message
