"""A test database that uses every schema feature a restore must bring back, created on any connection.

``create_feature_db(connection, "atlas")`` builds, deterministically: tables with foreign keys (CASCADE,
SET NULL, a composite key), column- and table-level CHECK constraints, VIRTUAL and STORED generated columns
(one indexed), a RANGE COLUMNS partitioned table, FULLTEXT and SPATIAL indexes, prefix, descending and
IGNORED indexes, a view, views over it (MERGE + CHECK OPTION, INVOKER, TEMPTABLE), a procedure and a function
(one created under a non-default sql_mode), BEFORE/AFTER triggers (two on one event, ordered with FOLLOWS),
a disabled recurring event, a few hundred rows per table, and three accounts: the owner every object is
defined by, the application (db-level and routine-level grants) and a read-only reporting login
(table-, column- and routine-level grants). The names of every object are in :class:`FeatureNames`.

Only the ``heartbeat`` table is left empty: :func:`beat` writes it, as the application's writer would.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

DEFAULT_DATABASE = "atlas"
ROWS = 300  # customers; the other tables are sized from it
FUNCTION_SQL_MODE = "ANSI_QUOTES,PIPES_AS_CONCAT,NO_ZERO_DATE,STRICT_TRANS_TABLES"
REGIONS = (("EU", "Europe"), ("NA", "North America"), ("SA", "South America"), ("AS", "Asia"), ("OC", "Oceania"))


@dataclass(frozen=True)
class FeatureNames:
    """What :func:`create_feature_db` creates in one database, by kind (unqualified names)."""

    database: str
    tables: tuple[str, ...] = ("regions", "customers", "orders", "order_lines", "shipments", "places", "readings",
                               "audit_log", "heartbeat")
    views: tuple[str, ...] = ("active_customers", "customer_orders", "top_customers", "region_summary")
    procedures: tuple[str, ...] = ("place_order",)
    functions: tuple[str, ...] = ("customer_tier",)
    triggers: tuple[str, ...] = ("customers_before_insert", "orders_after_insert", "orders_after_insert_total",
                                 "orders_before_update")
    events: tuple[str, ...] = ("purge_audit_log",)
    partitioned_table: str = "readings"
    partitions: tuple[str, ...] = ("p2023", "p2024", "p2025", "pmax")
    fulltext_index: tuple[str, str] = ("places", "ft_places_text")
    spatial_index: tuple[str, str] = ("places", "sp_places_location")
    generated_columns: tuple[tuple[str, str, str], ...] = (  # table, column, VIRTUAL/STORED
        ("customers", "email_domain", "VIRTUAL GENERATED"), ("order_lines", "line_total_cents", "STORED GENERATED"))
    check_constraints: tuple[tuple[str, str], ...] = (  # table, constraint
        ("customers", "credit_cents"), ("orders", "ck_orders_shipped_after_ordered"),
        ("order_lines", "ck_order_lines_quantity"))
    foreign_keys: tuple[tuple[str, str], ...] = (  # table, constraint
        ("customers", "fk_customers_region"), ("orders", "fk_orders_customer"), ("order_lines", "fk_order_lines_order"),
        ("shipments", "fk_shipments_order_line"))
    heartbeat_table: str = "heartbeat"
    heartbeat_column: str = "beat_at"

    @property
    def owner(self) -> tuple[str, str]:
        """The account every view, routine, trigger and event is defined by."""
        return f"{self.database}_owner", "%"

    @property
    def app(self) -> tuple[str, str]:
        """The application's login: DML on the database, EXECUTE on the procedure."""
        return f"{self.database}_app", "%"

    @property
    def reporting(self) -> tuple[str, str]:
        """A read-only login: one view, two columns of customers, EXECUTE on the function."""
        return f"{self.database}_ro", "localhost"

    @property
    def accounts(self) -> tuple[tuple[str, str], ...]:
        return self.owner, self.app, self.reporting

    @property
    def definer(self) -> str:
        """The definer as information_schema shows it (``user@host``)."""
        return "{}@{}".format(*self.owner)

    def row_counts(self) -> dict[str, int]:
        """Rows each table holds right after creation (the heartbeat is written by :func:`beat`)."""
        return {"regions": len(REGIONS), "customers": ROWS, "orders": 2 * ROWS, "order_lines": 4 * ROWS,
                "shipments": ROWS, "places": ROWS, "readings": 2 * ROWS, "audit_log": 4 * ROWS, "heartbeat": 0}


def create_feature_db(connection: Any, database: str = DEFAULT_DATABASE, *, password: str | None = None,
                      log_accounts: bool = False) -> FeatureNames:
    """Create ``database`` (dropped first if it exists) with every feature and its accounts on a PyMySQL connection.

    The connection needs root-like privileges (SET USER for the definers). Accounts are created unlogged unless
    ``log_accounts`` (MariaDB writes CREATE USER with its password to the binlog); their password is
    ``password`` or a random one (it is never needed by the tests: they connect as root or the drill's login).
    """
    names = FeatureNames(database)
    secret = password or secrets.token_urlsafe(18)
    with connection.cursor() as cursor:
        cursor.execute("SET @feature_db_old_sql_mode = @@SESSION.sql_mode")
        _create_accounts(cursor, names, secret, log_accounts)
        cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")
        cursor.execute(f"CREATE DATABASE `{database}` DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        cursor.execute(f"USE `{database}`")
        for statement in _table_statements():
            cursor.execute(statement)
        for statement in _code_statements(names):
            cursor.execute(statement)
        cursor.execute("SET SESSION sql_mode = @feature_db_old_sql_mode")
        _load_rows(cursor)
        _grant(cursor, names, log_accounts)
    connection.commit()
    return names


def beat(connection: Any, database: str = DEFAULT_DATABASE) -> None:
    """One heartbeat row at the server's UTC time, as the application's heartbeat writer would write it."""
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO `{database}`.heartbeat (beat_at) VALUES (UTC_TIMESTAMP(6))")
    connection.commit()


def _create_accounts(cursor: Any, names: FeatureNames, password: str, log_accounts: bool) -> None:
    if not log_accounts:
        cursor.execute("SET SESSION sql_log_bin = 0")
    for user, host in names.accounts:
        cursor.execute("CREATE OR REPLACE USER %s@%s IDENTIFIED BY %s", (user, host, password))
    # the owner's grant comes first: a view is checked against its definer's privileges when it is created
    cursor.execute(f"GRANT ALL PRIVILEGES ON `{names.database}`.* TO %s@%s", names.owner)
    cursor.execute("SET SESSION sql_log_bin = 1")


def _grant(cursor: Any, names: FeatureNames, log_accounts: bool) -> None:
    db = f"`{names.database}`"
    grants = [
        (f"GRANT SELECT, INSERT, UPDATE, DELETE ON {db}.* TO %s@%s", names.app),
        (f"GRANT EXECUTE ON PROCEDURE {db}.place_order TO %s@%s", names.app),
        (f"GRANT SELECT ON {db}.top_customers TO %s@%s", names.reporting),
        (f"GRANT SELECT (id, email, region_code) ON {db}.customers TO %s@%s", names.reporting),
        (f"GRANT EXECUTE ON FUNCTION {db}.customer_tier TO %s@%s", names.reporting),
    ]
    if not log_accounts:
        cursor.execute("SET SESSION sql_log_bin = 0")
    for statement, (user, host) in grants:
        cursor.execute(statement, (user, host))
    cursor.execute("SET SESSION sql_log_bin = 1")


def _table_statements() -> list[str]:
    options = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"
    return [
        f"""CREATE TABLE regions (
  code CHAR(2) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
  name VARCHAR(40) NOT NULL
) {options}""",
        f"""CREATE TABLE customers (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  email VARCHAR(190) NOT NULL,
  full_name VARCHAR(120) NOT NULL,
  region_code CHAR(2) CHARACTER SET ascii COLLATE ascii_bin NULL,
  status ENUM('active','dormant','closed') NOT NULL DEFAULT 'active',
  credit_cents INT NOT NULL DEFAULT 0 CHECK (credit_cents >= 0),
  signed_up_on DATE NOT NULL,
  email_domain VARCHAR(190) AS (SUBSTRING_INDEX(email, '@', -1)) VIRTUAL,
  UNIQUE KEY uq_customers_email (email),
  KEY ix_customers_name_prefix (full_name(12)),
  KEY ix_customers_email_domain (email_domain),
  KEY ix_customers_signed_up_desc (signed_up_on DESC, id),
  KEY ix_customers_status (status) IGNORED,
  CONSTRAINT fk_customers_region FOREIGN KEY (region_code) REFERENCES regions (code)
    ON DELETE SET NULL ON UPDATE CASCADE
) {options} AUTO_INCREMENT=1000 COMMENT='customers of the atlas app'""",
        f"""CREATE TABLE orders (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  customer_id INT UNSIGNED NULL,
  ordered_at DATETIME(3) NOT NULL,
  shipped_at DATETIME(3) NULL,
  total_cents BIGINT NOT NULL DEFAULT 0,
  note VARCHAR(200) NULL,
  KEY ix_orders_customer (customer_id, ordered_at),
  CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE SET NULL,
  CONSTRAINT ck_orders_shipped_after_ordered CHECK (shipped_at IS NULL OR shipped_at >= ordered_at)
) {options}""",
        f"""CREATE TABLE order_lines (
  order_id BIGINT UNSIGNED NOT NULL,
  line_no SMALLINT UNSIGNED NOT NULL,
  sku VARCHAR(24) NOT NULL,
  quantity SMALLINT UNSIGNED NOT NULL,
  unit_price_cents INT UNSIGNED NOT NULL,
  line_total_cents BIGINT AS (quantity * unit_price_cents) STORED,
  PRIMARY KEY (order_id, line_no),
  KEY ix_order_lines_total (line_total_cents),
  CONSTRAINT fk_order_lines_order FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE,
  CONSTRAINT ck_order_lines_quantity CHECK (quantity BETWEEN 1 AND 100)
) {options}""",
        f"""CREATE TABLE shipments (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  order_id BIGINT UNSIGNED NOT NULL,
  line_no SMALLINT UNSIGNED NOT NULL,
  carrier VARCHAR(20) NOT NULL,
  tracking CHAR(12) NOT NULL,
  KEY ix_shipments_line (order_id, line_no),
  CONSTRAINT fk_shipments_order_line FOREIGN KEY (order_id, line_no) REFERENCES order_lines (order_id, line_no)
    ON DELETE CASCADE ON UPDATE RESTRICT
) {options}""",
        f"""CREATE TABLE places (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  description TEXT NOT NULL,
  location POINT REF_SYSTEM_ID=4326 NOT NULL,
  FULLTEXT KEY ft_places_text (name, description),
  SPATIAL KEY sp_places_location (location)
) {options}""",
        f"""CREATE TABLE readings (
  id INT UNSIGNED NOT NULL,
  taken_on DATE NOT NULL,
  sensor VARCHAR(16) NOT NULL,
  value_milli INT NOT NULL,
  PRIMARY KEY (id, taken_on),
  KEY ix_readings_sensor (sensor, taken_on)
) {options}
PARTITION BY RANGE COLUMNS (taken_on) (
  PARTITION p2023 VALUES LESS THAN ('2024-01-01'),
  PARTITION p2024 VALUES LESS THAN ('2025-01-01'),
  PARTITION p2025 VALUES LESS THAN ('2026-01-01'),
  PARTITION pmax VALUES LESS THAN (MAXVALUE)
)""",
        f"""CREATE TABLE audit_log (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  order_id BIGINT UNSIGNED NOT NULL,
  action VARCHAR(16) NOT NULL,
  logged_at DATETIME(3) NOT NULL,
  KEY ix_audit_log_order (order_id)
) {options}""",
        f"""CREATE TABLE heartbeat (
  seq BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  beat_at DATETIME(6) NOT NULL,
  KEY ix_heartbeat_beat_at (beat_at)
) {options}""",
    ]


def _code_statements(names: FeatureNames) -> list[str]:
    definer = "DEFINER=`{}`@`{}`".format(*names.owner)
    return [
        f"""CREATE ALGORITHM=MERGE {definer} SQL SECURITY DEFINER VIEW active_customers AS
SELECT id, email, full_name, region_code, status, credit_cents FROM customers WHERE status = 'active'
WITH CASCADED CHECK OPTION""",
        f"""CREATE ALGORITHM=UNDEFINED {definer} SQL SECURITY INVOKER VIEW customer_orders AS
SELECT c.id AS customer_id, c.email, c.region_code, COUNT(o.id) AS order_count,
       COALESCE(SUM(o.total_cents), 0) AS spent_cents
FROM active_customers c LEFT JOIN orders o ON o.customer_id = c.id
GROUP BY c.id, c.email, c.region_code""",
        f"""CREATE ALGORITHM=TEMPTABLE {definer} SQL SECURITY DEFINER VIEW top_customers AS
SELECT customer_id, email, spent_cents FROM customer_orders WHERE spent_cents > 0
ORDER BY spent_cents DESC, customer_id LIMIT 20""",
        f"""CREATE {definer} VIEW region_summary AS
SELECT r.code, r.name, COUNT(co.customer_id) AS customers, COALESCE(SUM(co.spent_cents), 0) AS spent_cents
FROM regions r LEFT JOIN customer_orders co ON co.region_code = r.code GROUP BY r.code, r.name""",
        "SET SESSION sql_mode = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'",
        f"""CREATE {definer} PROCEDURE place_order(IN p_customer INT UNSIGNED, IN p_sku VARCHAR(24),
    IN p_quantity SMALLINT UNSIGNED, IN p_unit_price INT UNSIGNED, OUT p_order_id BIGINT UNSIGNED)
    MODIFIES SQL DATA SQL SECURITY DEFINER COMMENT 'places a one-line order'
BEGIN
  INSERT INTO orders (customer_id, ordered_at, total_cents) VALUES (p_customer, '2026-01-01 00:00:00', 0);
  SET p_order_id = LAST_INSERT_ID();
  INSERT INTO order_lines (order_id, line_no, sku, quantity, unit_price_cents)
    VALUES (p_order_id, 1, p_sku, p_quantity, p_unit_price);
  UPDATE orders SET total_cents = p_quantity * p_unit_price WHERE id = p_order_id;
END""",
        f"SET SESSION sql_mode = '{FUNCTION_SQL_MODE}'",
        f"""CREATE {definer} FUNCTION customer_tier(p_spent_cents BIGINT) RETURNS VARCHAR(12)
    CHARSET utf8mb4 DETERMINISTIC NO SQL SQL SECURITY INVOKER COMMENT 'tier by spend'
RETURN CASE WHEN p_spent_cents >= 500000 THEN 'gold' || '' WHEN p_spent_cents >= 100000 THEN 'silver'
            ELSE 'bronze' END""",
        "SET SESSION sql_mode = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'",
        f"""CREATE {definer} TRIGGER customers_before_insert BEFORE INSERT ON customers FOR EACH ROW
SET NEW.email = LOWER(NEW.email)""",
        f"""CREATE {definer} TRIGGER orders_after_insert AFTER INSERT ON orders FOR EACH ROW
INSERT INTO audit_log (order_id, action, logged_at) VALUES (NEW.id, 'created', NEW.ordered_at)""",
        f"""CREATE {definer} TRIGGER orders_after_insert_total AFTER INSERT ON orders FOR EACH ROW
FOLLOWS orders_after_insert
INSERT INTO audit_log (order_id, action, logged_at) VALUES (NEW.id, IF(NEW.total_cents > 0, 'priced', 'unpriced'),
                                                            NEW.ordered_at)""",
        f"""CREATE {definer} TRIGGER orders_before_update BEFORE UPDATE ON orders FOR EACH ROW
BEGIN
  IF NEW.shipped_at IS NOT NULL AND OLD.shipped_at IS NULL THEN
    SET NEW.note = CONCAT_WS(' ', OLD.note, 'shipped');
  END IF;
END""",
        f"""CREATE {definer} EVENT purge_audit_log ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 03:00:00'
ON COMPLETION PRESERVE DISABLE COMMENT 'keeps a year of audit rows'
DO DELETE FROM audit_log WHERE logged_at < '2020-01-01'""",
    ]


def _load_rows(cursor: Any) -> None:
    """Deterministic rows: every value is a function of the row number (triggers fill audit_log)."""
    cursor.executemany("INSERT INTO regions (code, name) VALUES (%s, %s)", REGIONS)
    statuses = ("active", "active", "dormant", "active", "closed")
    cursor.executemany(
        "INSERT INTO customers (email, full_name, region_code, status, credit_cents, signed_up_on) "
        "VALUES (%s, %s, %s, %s, %s, DATE_ADD('2023-01-01', INTERVAL %s DAY))",
        [(f"Customer{n}@Example{n % 7}.test", f"Customer Number {n}", None if n % 11 == 0 else REGIONS[(n // 3) % 5][0],
          statuses[n % 5], (n * 37) % 5000, n % 900) for n in range(ROWS)])
    first_customer = 1000  # AUTO_INCREMENT=1000
    cursor.executemany(
        "INSERT INTO orders (customer_id, ordered_at, shipped_at, total_cents, note) VALUES "
        "(%s, DATE_ADD('2024-01-01', INTERVAL %s MINUTE), "
        "IF(%s, DATE_ADD('2024-01-01', INTERVAL %s MINUTE), NULL), 0, %s)",
        [(first_customer + n % ROWS, n * 97, n % 3 == 0, n * 97 + 1440, f"order {n}" if n % 4 else None)
         for n in range(2 * ROWS)])
    cursor.executemany(
        "INSERT INTO order_lines (order_id, line_no, sku, quantity, unit_price_cents) VALUES (%s, %s, %s, %s, %s)",
        [(1 + n // 2, 1 + n % 2, f"SKU-{n % 40:03d}", 1 + n % 9, 199 + (n * 53) % 20000) for n in range(4 * ROWS)])
    cursor.execute("UPDATE orders o SET total_cents = (SELECT SUM(line_total_cents) FROM order_lines l "
                   "WHERE l.order_id = o.id)")
    cursor.executemany(
        "INSERT INTO shipments (order_id, line_no, carrier, tracking) VALUES (%s, %s, %s, %s)",
        [(1 + 2 * n, 1, ("dhl", "ups", "postnl")[n % 3], f"TRK{n:09d}") for n in range(ROWS)])
    words = ("harbour", "museum", "bakery", "library", "station", "garden", "bridge", "market", "castle", "tower")
    cursor.executemany(
        "INSERT INTO places (name, description, location) VALUES (%s, %s, ST_PointFromText(%s, 4326))",
        [(f"{words[n % 10].title()} {n}", f"A {words[n % 10]} near the {words[(n * 3 + 1) % 10]}, place number {n}",
          f"POINT({(n * 7) % 180 - 90} {(n * 13) % 360 - 180})") for n in range(ROWS)])
    cursor.executemany(
        "INSERT INTO readings (id, taken_on, sensor, value_milli) VALUES (%s, DATE_ADD('2023-06-01', INTERVAL %s DAY), %s, %s)",
        [(n, (n * 3) % 1100, f"sensor-{n % 8}", (n * 7919) % 100000 - 50000) for n in range(2 * ROWS)])


# What information_schema says about each kind of object, in a stable order: the same queries on the source and
# on a restored server must give the same rows. Columns the server itself rewrites on a restore are left out
# (creation times, an event's ORIGINATOR server id); everything else is part of the definition.
CATALOG_QUERIES: dict[str, str] = {
    "tables": "SELECT TABLE_NAME, ENGINE, ROW_FORMAT, TABLE_COLLATION, CREATE_OPTIONS, TABLE_COMMENT, AUTO_INCREMENT "
              "FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1",
    "columns": "SELECT TABLE_NAME, ORDINAL_POSITION, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, "
               "IS_GENERATED, GENERATION_EXPRESSION, CHARACTER_SET_NAME, COLLATION_NAME, COLUMN_COMMENT "
               "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s ORDER BY 1, 2",
    "indexes": "SELECT TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE, SUB_PART, COLLATION, INDEX_TYPE, "
               "IGNORED FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s ORDER BY 1, 2, 3",
    "foreign_keys": "SELECT r.TABLE_NAME, r.CONSTRAINT_NAME, r.REFERENCED_TABLE_NAME, r.UPDATE_RULE, r.DELETE_RULE, "
                    "k.ORDINAL_POSITION, k.COLUMN_NAME, k.REFERENCED_COLUMN_NAME "
                    "FROM information_schema.REFERENTIAL_CONSTRAINTS r JOIN information_schema.KEY_COLUMN_USAGE k "
                    "ON k.CONSTRAINT_SCHEMA = r.CONSTRAINT_SCHEMA AND k.CONSTRAINT_NAME = r.CONSTRAINT_NAME "
                    "AND k.TABLE_NAME = r.TABLE_NAME WHERE r.CONSTRAINT_SCHEMA = %s ORDER BY 1, 2, 6",
    "checks": "SELECT TABLE_NAME, CONSTRAINT_NAME, LEVEL, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS "
              "WHERE CONSTRAINT_SCHEMA = %s ORDER BY 1, 2",
    "partitions": "SELECT TABLE_NAME, PARTITION_NAME, PARTITION_ORDINAL_POSITION, PARTITION_METHOD, "
                  "PARTITION_EXPRESSION, PARTITION_DESCRIPTION FROM information_schema.PARTITIONS "
                  "WHERE TABLE_SCHEMA = %s AND PARTITION_NAME IS NOT NULL ORDER BY 1, 3",
    "views": "SELECT TABLE_NAME, VIEW_DEFINITION, CHECK_OPTION, IS_UPDATABLE, DEFINER, SECURITY_TYPE, ALGORITHM, "
             "CHARACTER_SET_CLIENT, COLLATION_CONNECTION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s ORDER BY 1",
    "routines": "SELECT ROUTINE_NAME, ROUTINE_TYPE, DTD_IDENTIFIER, ROUTINE_DEFINITION, IS_DETERMINISTIC, "
                "SQL_DATA_ACCESS, SECURITY_TYPE, SQL_MODE, ROUTINE_COMMENT, DEFINER, CHARACTER_SET_CLIENT, "
                "COLLATION_CONNECTION, DATABASE_COLLATION FROM information_schema.ROUTINES "
                "WHERE ROUTINE_SCHEMA = %s ORDER BY 1, 2",
    "parameters": "SELECT SPECIFIC_NAME, ROUTINE_TYPE, ORDINAL_POSITION, PARAMETER_MODE, PARAMETER_NAME, DTD_IDENTIFIER "
                  "FROM information_schema.PARAMETERS WHERE SPECIFIC_SCHEMA = %s ORDER BY 1, 2, 3",
    "triggers": "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER, "
                "ACTION_STATEMENT, SQL_MODE, DEFINER, CHARACTER_SET_CLIENT, COLLATION_CONNECTION, DATABASE_COLLATION "
                "FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s ORDER BY 1",
    "events": "SELECT EVENT_NAME, DEFINER, TIME_ZONE, EVENT_BODY, EVENT_DEFINITION, EVENT_TYPE, EXECUTE_AT, "
              "INTERVAL_VALUE, INTERVAL_FIELD, SQL_MODE, STARTS, ENDS, STATUS, ON_COMPLETION, EVENT_COMMENT, "
              "CHARACTER_SET_CLIENT, COLLATION_CONNECTION, DATABASE_COLLATION FROM information_schema.EVENTS "
              "WHERE EVENT_SCHEMA = %s ORDER BY 1",
}


def describe_catalog(connection: Any, database: str = DEFAULT_DATABASE) -> dict[str, list[tuple[Any, ...]]]:
    """Every object's definition in ``database`` as information_schema rows, by kind (see CATALOG_QUERIES)."""
    described = {}
    with connection.cursor() as cursor:
        for kind, sql in CATALOG_QUERIES.items():
            cursor.execute(sql, (database,))
            described[kind] = [tuple(row) for row in cursor.fetchall()]
    return described
