"""The sandbox's sample application database ``shop``: schema, routines, and deterministic seed data.

Load it into any server (docker-compose's mariadb-setup does) with ``python -m drdrill.sandbox.sample_data
--defaults-file PATH --host H --port N --rows N``; the login comes from the option file's ``[client]`` group.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import random
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pymysql

from drdrill.endpoints import MySQLEndpoint, one_row
from drdrill.errors import DrdrillError
from drdrill.sandbox.option_login import add_login_options, login_endpoint
from drdrill.servers.grants import APP_GRANTS

if TYPE_CHECKING:
    from drdrill.servers.mariadb import LocalMariaDB

log = logging.getLogger(__name__)

DATABASE = "shop"
DATA_TABLES = ("customers", "products", "orders", "order_items", "payments")
SEED_MIGRATION = "002_seed_shop_data"
# InnoDB data_length + index_length per loaded row, measured on this schema at 3M rows (370 MB);
# the .ibd files are ~15% larger.
BYTES_PER_ROW = 123

_TABLE_OPTIONS = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci"
_TIMESTAMPS = (
    "created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),\n"
    "  updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)"
)

SCHEMA_STATEMENTS = [
    "CREATE DATABASE IF NOT EXISTS shop DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci",
    f"""CREATE TABLE IF NOT EXISTS shop.schema_migrations (
  version VARCHAR(64) NOT NULL PRIMARY KEY,
  applied_at DATETIME(6) NOT NULL
) {_TABLE_OPTIONS}""",
    f"""CREATE TABLE IF NOT EXISTS shop.customers (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  email VARCHAR(190) NOT NULL,
  full_name VARCHAR(120) NOT NULL,
  country CHAR(2) NOT NULL,
  marketing_opt_in TINYINT(1) NOT NULL DEFAULT 0,
  {_TIMESTAMPS},
  UNIQUE KEY uq_customers_email (email),
  KEY ix_customers_country (country)
) {_TABLE_OPTIONS}""",
    f"""CREATE TABLE IF NOT EXISTS shop.products (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  sku VARCHAR(32) NOT NULL,
  name VARCHAR(200) NOT NULL,
  category VARCHAR(40) NOT NULL,
  price_cents INT UNSIGNED NOT NULL,
  stock INT NOT NULL DEFAULT 0,
  is_active TINYINT(1) NOT NULL DEFAULT 1,
  {_TIMESTAMPS},
  UNIQUE KEY uq_products_sku (sku),
  KEY ix_products_category (category)
) {_TABLE_OPTIONS}""",
    f"""CREATE TABLE IF NOT EXISTS shop.orders (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  customer_id INT UNSIGNED NOT NULL,
  status ENUM('new','paid','shipped','delivered','cancelled','refunded') NOT NULL DEFAULT 'new',
  currency CHAR(3) NOT NULL DEFAULT 'EUR',
  ordered_at DATETIME(6) NOT NULL,
  {_TIMESTAMPS},
  KEY ix_orders_customer (customer_id, ordered_at),
  KEY ix_orders_status (status),
  KEY ix_orders_ordered_at (ordered_at),
  CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES shop.customers (id)
) {_TABLE_OPTIONS}""",
    f"""CREATE TABLE IF NOT EXISTS shop.order_items (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  order_id BIGINT UNSIGNED NOT NULL,
  product_id INT UNSIGNED NOT NULL,
  quantity SMALLINT UNSIGNED NOT NULL,
  unit_price_cents INT UNSIGNED NOT NULL,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  KEY ix_order_items_order (order_id),
  KEY ix_order_items_product (product_id),
  CONSTRAINT fk_order_items_order FOREIGN KEY (order_id) REFERENCES shop.orders (id) ON DELETE CASCADE,
  CONSTRAINT fk_order_items_product FOREIGN KEY (product_id) REFERENCES shop.products (id)
) {_TABLE_OPTIONS}""",
    f"""CREATE TABLE IF NOT EXISTS shop.payments (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  order_id BIGINT UNSIGNED NOT NULL,
  method ENUM('card','paypal','bank_transfer','voucher') NOT NULL,
  status ENUM('authorized','captured','failed','refunded') NOT NULL,
  amount_cents INT UNSIGNED NOT NULL,
  provider_ref CHAR(16) NOT NULL,
  paid_at DATETIME(6) NULL,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  KEY ix_payments_order (order_id),
  CONSTRAINT fk_payments_order FOREIGN KEY (order_id) REFERENCES shop.orders (id) ON DELETE CASCADE
) {_TABLE_OPTIONS}""",
    f"""CREATE TABLE IF NOT EXISTS shop.order_audit (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  order_id BIGINT UNSIGNED NOT NULL,
  old_status VARCHAR(16) NULL,
  new_status VARCHAR(16) NOT NULL,
  changed_at DATETIME(6) NOT NULL,
  KEY ix_order_audit_order (order_id)
) {_TABLE_OPTIONS}""",
    f"""CREATE TABLE IF NOT EXISTS shop.heartbeat (
  seq BIGINT AUTO_INCREMENT PRIMARY KEY,
  beat_at DATETIME(6) NOT NULL,
  server_id INT UNSIGNED NOT NULL,
  KEY (beat_at)
) {_TABLE_OPTIONS}""",
    """CREATE VIEW IF NOT EXISTS shop.order_totals AS
SELECT o.id AS order_id, o.customer_id, o.status, o.ordered_at,
       COUNT(oi.id) AS item_count, COALESCE(SUM(oi.quantity * oi.unit_price_cents), 0) AS total_cents
FROM shop.orders o LEFT JOIN shop.order_items oi ON oi.order_id = o.id
GROUP BY o.id, o.customer_id, o.status, o.ordered_at""",
    """CREATE FUNCTION IF NOT EXISTS shop.customer_lifetime_value(p_customer_id INT UNSIGNED)
RETURNS BIGINT UNSIGNED
READS SQL DATA
SQL SECURITY INVOKER
COMMENT 'Cents spent in paid, shipped and delivered orders'
RETURN (SELECT COALESCE(SUM(oi.quantity * oi.unit_price_cents), 0)
        FROM orders o JOIN order_items oi ON oi.order_id = o.id
        WHERE o.customer_id = p_customer_id AND o.status IN ('paid', 'shipped', 'delivered'))""",
    """CREATE TRIGGER IF NOT EXISTS shop.orders_status_audit AFTER UPDATE ON shop.orders FOR EACH ROW
IF NOT (OLD.status <=> NEW.status) THEN
  INSERT INTO order_audit (order_id, old_status, new_status, changed_at)
  VALUES (NEW.id, OLD.status, NEW.status, UTC_TIMESTAMP(6));
END IF""",
    """CREATE EVENT IF NOT EXISTS shop.purge_old_heartbeats
ON SCHEDULE EVERY 1 HOUR
COMMENT 'Keeps a week of heartbeats; runs only when event_scheduler=ON'
DO DELETE FROM shop.heartbeat WHERE beat_at < UTC_TIMESTAMP(6) - INTERVAL 7 DAY""",
    "INSERT IGNORE INTO shop.schema_migrations (version, applied_at) "
    "VALUES ('001_create_shop', '2024-01-01 00:00:00')",
]


def schema_statements(database: str = DATABASE) -> list[str]:
    """``SCHEMA_STATEMENTS`` for a copy of the shop named ``database`` (the fleet bench's ``fleet_07``)."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", database):
        raise DrdrillError(f"database name {database!r} is not a plain lowercase identifier.",
                           "use lowercase letters, digits and '_', starting with a letter.")
    return [re.sub(r"\bshop\.", f"{database}.", statement).replace(
        f"DATABASE IF NOT EXISTS {DATABASE} ", f"DATABASE IF NOT EXISTS {database} ") for statement in SCHEMA_STATEMENTS]


def create_shop_schema(conn: pymysql.connections.Connection, database: str = DATABASE) -> None:
    """Create database ``database`` (``shop``) with its tables, view, function, trigger and event; safe to repeat."""
    with conn.cursor() as cur:
        for statement in schema_statements(database):
            cur.execute(statement)
    conn.commit()


def ensure_app_user(server: LocalMariaDB, user: str, password: str, *, binlog: bool = True) -> MySQLEndpoint:
    """Create the application user with DML-only grants on ``shop`` and return its TCP endpoint."""
    server.ensure_user(user, password, APP_GRANTS, binlog=binlog)
    return server.endpoint(user, password, DATABASE)


def table_counts(conn: pymysql.connections.Connection, database: str = DATABASE) -> dict[str, int]:
    """``COUNT(*)`` of each seeded table."""
    counts: dict[str, int] = {}
    with conn.cursor() as cur:
        for table in DATA_TABLES:
            cur.execute(f"SELECT COUNT(*) FROM {database}.{table}")
            counts[table] = int(one_row(cur)[0])
    return counts


def load_shop_data(
    conn: pymysql.connections.Connection, rows: int = 300_000, seed: int = 7, database: str = DATABASE
) -> dict[str, int]:
    """Fill ``database`` (``shop``, made by ``create_shop_schema``) with about ``rows`` deterministic rows in
    batches; no-op when already seeded."""
    if rows < 100:
        raise DrdrillError(
            f"load_shop_data: rows={rows} is too small for a shop.", "ask for at least 100 rows."
        )
    with conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM {database}.schema_migrations WHERE version = %s", (SEED_MIGRATION,))
        if one_row(cur)[0]:
            return table_counts(conn, database)
        cur.execute(f"SELECT EXISTS (SELECT 1 FROM {database}.customers)")
        if one_row(cur)[0]:
            raise DrdrillError(
                f"database {database} has customers but no completed seed "
                "(an earlier load_shop_data was interrupted).",
                f"DROP DATABASE {database}, then run create_shop_schema and load_shop_data again.",
            )
    counts = dict.fromkeys(DATA_TABLES, 0)
    started = time.monotonic()
    with _bulk_load_session(conn), conn.cursor() as cur:
        for statements in iter_shop_inserts(rows, seed):
            conn.begin()
            for table, values in statements:
                cur.execute(f"INSERT INTO {database}.{table} ({_COLUMNS[table]}) VALUES {','.join(values)}")
                counts[table] += len(values)
            conn.commit()
        cur.execute(
            f"INSERT INTO {database}.schema_migrations (version, applied_at) VALUES (%s, '2024-01-01 00:00:01')",
            (SEED_MIGRATION,),
        )
        conn.commit()
    log.info("loaded %d shop rows in %.1f s: %s", sum(counts.values()), time.monotonic() - started, counts)
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: create the shop schema and load the sample data once (a no-op when loaded); exit 1 on a server error."""
    parser = argparse.ArgumentParser(prog="python -m drdrill.sandbox.sample_data", description=__doc__.splitlines()[0])
    add_login_options(parser)
    parser.add_argument("--rows", type=int, default=300_000, help="about this many rows (default 300000)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    endpoint = login_endpoint(parser, args)
    try:
        with contextlib.closing(endpoint.connect()) as conn:
            create_shop_schema(conn)
            counts = load_shop_data(conn, rows=args.rows)
    except (pymysql.MySQLError, DrdrillError) as exc:
        log.error("loading the sample data into %s failed: %s", endpoint.describe(), exc)
        return 1
    log.info("shop on %s holds %s", endpoint.describe(), counts)
    return 0


def approx_rows_for_size(target_bytes: int) -> int:
    """The ``rows`` for ``load_shop_data`` that give about ``target_bytes`` of InnoDB data and indexes."""
    return max(100, round(target_bytes / BYTES_PER_ROW))


# -- deterministic data ------------------------------------------------------------------------------

_COLUMNS = {
    "customers": "id, email, full_name, country, marketing_opt_in, created_at, updated_at",
    "products": "id, sku, name, category, price_cents, stock, is_active, created_at, updated_at",
    "orders": "id, customer_id, status, currency, ordered_at, created_at, updated_at",
    "order_items": "id, order_id, product_id, quantity, unit_price_cents, created_at",
    "payments": "id, order_id, method, status, amount_cents, provider_ref, paid_at, created_at",
}
# Word lists hold no quote or backslash, so values can be written into SQL literals as they are.
_FIRST = (
    "Anna Ben Chloé Dario Emma Felix Greta Hugo Ines Jonas Kai Lena Mateo Nora Oskar Paula Quentin Rosa "
    "Sven Tara Umar Vera Wiktor Xenia Yusuf Zoë José Łukasz Søren Aylin Björn Chiara Dmitri Eleni Fatima"
).split()
_LAST = (
    "Müller Schmidt Rossi García Dubois Nowak Jansen Silva Novák Kowalski Andersen Papadopoulos Yilmaz "
    "Murphy Smith Virtanen Horvat Ivanova Costa Weber Fischer Martin Bernard Moreau Lindqvist Kovač"
).split()
_COUNTRIES = "DE DE DE FR FR IT ES NL PL AT CH BE SE DK PT IE CZ FI GB US".split()
_ADJECTIVES = "Classic Compact Deluxe Eco Heavy Light Mini Pro Smart Ultra Vintage Wireless".split()
_MATERIALS = "Bamboo Canvas Ceramic Copper Cotton Glass Leather Linen Oak Steel Walnut Wool".split()
_NOUNS = {
    "kitchen": "Kettle Pan Mug Grinder Knife Bowl Teapot".split(),
    "garden": "Planter Hose Rake Lantern Bench Trowel".split(),
    "office": "Lamp Notebook Chair Desk Organizer Pen".split(),
    "outdoor": "Backpack Tent Bottle Jacket Hammock".split(),
    "home": "Blanket Cushion Clock Mirror Rug Vase".split(),
    "audio": "Speaker Headphones Radio Turntable".split(),
}
_CATEGORIES = sorted(_NOUNS)
_TO_ASCII = str.maketrans("éëüłøöčáí", "euuloocai")
_STATUSES = ("new", "paid", "shipped", "delivered", "cancelled", "refunded")
_STATUS_WEIGHTS = (8, 10, 10, 55, 10, 7)
_METHODS = ("card", "paypal", "bank_transfer", "voucher")
_METHOD_WEIGHTS = (60, 25, 10, 5)
_PAYMENT_STATUS = {
    "paid": "captured",
    "shipped": "captured",
    "delivered": "captured",
    "cancelled": "failed",
    "refunded": "refunded",
}
_EPOCH = 1_672_531_200  # 2023-01-01T00:00:00Z; orders span the two years after it
_SPAN = 2 * 365 * 86_400
_ORDERS_PER_CHUNK = 1000  # ~4,400 rows per transaction; order_items ~2,500 rows per statement


@dataclass(frozen=True)
class ShopPlan:
    """How many customers, products and orders make about ``rows`` rows in total."""

    customers: int
    products: int
    orders: int

    @classmethod
    def for_rows(cls, rows: int) -> ShopPlan:
        customers = max(20, rows * 6 // 100)
        products = min(max(20, rows // 200), 20_000)
        # per order: 1 order row + 2.5 items on average + 0.92 payments
        orders = max(10, round((rows - customers - products) / 4.42))
        return cls(customers, products, orders)


def _in_batches(table: str, rows: Iterable[str], size: int = 2000) -> Iterator[list[tuple[str, list[str]]]]:
    """One single-table transaction per ``size`` rows of ``rows`` (the last one may hold fewer)."""
    batch: list[str] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield [(table, batch)]
            batch = []
    if batch:
        yield [(table, batch)]


def iter_shop_inserts(rows: int, seed: int) -> Iterator[list[tuple[str, list[str]]]]:
    """Yield transactions of ``(table, [row literal, ...])``; same ``rows`` and ``seed``, same data."""
    plan = ShopPlan.for_rows(rows)
    rng = random.Random(seed)
    days: dict[int, str] = {}

    def stamp(ts: int) -> str:
        day, second = divmod(ts, 86_400)
        if day not in days:
            days[day] = time.strftime("%Y-%m-%d", time.gmtime(day * 86_400))
        return f"'{days[day]} {second // 3600:02d}:{second % 3600 // 60:02d}:{second % 60:02d}'"

    def customers() -> Iterator[str]:
        for customer_id in range(1, plan.customers + 1):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            joined = _EPOCH - rng.randrange(3 * 365 * 86_400)
            yield (f"({customer_id},'{_ascii(first)}.{_ascii(last)}.{customer_id}@example.com','{first} {last}',"
                   f"'{rng.choice(_COUNTRIES)}',{int(rng.random() < 0.3)},{stamp(joined)},"
                   f"{stamp(joined + rng.randrange(86_400 * 90))})")

    yield from _in_batches("customers", customers())

    prices = [0]

    def products() -> Iterator[str]:
        for product_id in range(1, plan.products + 1):
            category = rng.choice(_CATEGORIES)
            name = f"{rng.choice(_ADJECTIVES)} {rng.choice(_MATERIALS)} {rng.choice(_NOUNS[category])}"
            price = rng.randrange(199, 49_999)
            prices.append(price)
            added = _EPOCH - rng.randrange(365 * 86_400)
            yield (f"({product_id},'SKU-{product_id:06d}','{name}','{category}',{price},{rng.randrange(0, 500)},"
                   f"{int(rng.random() < 0.95)},{stamp(added)},{stamp(added + rng.randrange(86_400 * 30))})")

    yield from _in_batches("products", products())

    item_id = payment_id = 0
    for first_order in range(1, plan.orders + 1, _ORDERS_PER_CHUNK):
        orders: list[str] = []
        items: list[str] = []
        payments: list[str] = []
        for order_id in range(first_order, min(first_order + _ORDERS_PER_CHUNK, plan.orders + 1)):
            ordered = _EPOCH + (order_id * _SPAN) // plan.orders + rng.randrange(600)
            status = rng.choices(_STATUSES, _STATUS_WEIGHTS)[0]
            orders.append(
                f"({order_id},{rng.randint(1, plan.customers)},'{status}','EUR',{stamp(ordered)},"
                f"{stamp(ordered)},{stamp(ordered + rng.randrange(86_400 * 7))})"
            )
            total = 0
            for _ in range(rng.randint(1, 4)):
                item_id += 1
                product_id = rng.randint(1, plan.products)
                quantity = rng.choices((1, 2, 3, 5), (70, 20, 7, 3))[0]
                total += quantity * prices[product_id]
                items.append(
                    f"({item_id},{order_id},{product_id},{quantity},{prices[product_id]},{stamp(ordered)})"
                )
            if status != "new":
                payment_id += 1
                paid = ordered + rng.randrange(30, 3600)
                paid_at = stamp(paid) if status != "cancelled" else "NULL"
                payments.append(
                    f"({payment_id},{order_id},'{rng.choices(_METHODS, _METHOD_WEIGHTS)[0]}',"
                    f"'{_PAYMENT_STATUS[status]}',{total},'{rng.getrandbits(64):016x}',{paid_at},{stamp(paid)})"
                )
        statements = [("orders", orders), ("order_items", items), ("payments", payments)]
        yield [(table, values) for table, values in statements if values]


def _ascii(name: str) -> str:
    """A lower-case ASCII form of a name for e-mail addresses."""
    return name.lower().translate(_TO_ASCII)


@contextlib.contextmanager
def _bulk_load_session(conn: pymysql.connections.Connection) -> Iterator[None]:
    """Skip foreign-key and unique checks for the generated (already consistent) data, then restore them."""
    with conn.cursor() as cur:
        cur.execute("SELECT @@SESSION.foreign_key_checks, @@SESSION.unique_checks")
        fk_checks, unique_checks = one_row(cur)
        cur.execute("SET SESSION foreign_key_checks = 0, unique_checks = 0")
    try:
        yield
    finally:
        with contextlib.suppress(pymysql.MySQLError), conn.cursor() as cur:
            cur.execute("SET SESSION foreign_key_checks = %s, unique_checks = %s", (fk_checks, unique_checks))


if __name__ == "__main__":
    raise SystemExit(main())
