"""The ``shop`` sample database and the heartbeat writer, on real servers."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pymysql
import pytest

from drdrill.errors import DrdrillError
from drdrill.endpoints import read_client_options
from drdrill.sandbox.heartbeat import beat_once, run_heartbeat
from drdrill.sandbox.sample_data import (
    DATA_TABLES,
    approx_rows_for_size,
    create_shop_schema,
    ensure_app_user,
    iter_shop_inserts,
    load_shop_data,
)
import itertools

ROWS = 40_000
APP_PASSWORD = "app-Secret'7"


def scalar(conn: pymysql.connections.Connection, sql: str, args: tuple[object, ...] = ()) -> object:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchone()[0]


def column(conn: pymysql.connections.Connection, sql: str) -> set[object]:
    with conn.cursor() as cur:
        cur.execute(sql)
        return {row[0] for row in cur.fetchall()}


@pytest.fixture(scope="module")
def shop(mariadb_module_factory):
    """One server with the shop schema and ``ROWS`` rows loaded; returns (server, counts)."""
    server = mariadb_module_factory("shop")
    with contextlib.closing(server.root_connect()) as conn:
        create_shop_schema(conn)
        counts = load_shop_data(conn, rows=ROWS)
    return server, counts


@pytest.fixture
def shop_root(shop):
    with contextlib.closing(shop[0].root_connect()) as conn:
        yield conn


@pytest.mark.integration
def test_schema_objects_exist(shop_root) -> None:
    conn = shop_root
    tables = column(
        conn,
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'shop' AND table_type = 'BASE TABLE'",
    )
    assert set(DATA_TABLES) | {"heartbeat", "order_audit", "schema_migrations"} <= tables
    assert column(
        conn,
        "SELECT DISTINCT engine FROM information_schema.tables "
        "WHERE table_schema = 'shop' AND table_type = 'BASE TABLE'",
    ) == {"InnoDB"}
    assert column(conn, "SELECT table_name FROM information_schema.views WHERE table_schema = 'shop'") == {
        "order_totals"
    }
    assert column(
        conn,
        "SELECT CONCAT(routine_type, ' ', routine_name) FROM information_schema.routines "
        "WHERE routine_schema = 'shop'",
    ) == {"FUNCTION customer_lifetime_value"}
    assert column(
        conn,
        "SELECT CONCAT(trigger_name, ' on ', event_object_table) FROM information_schema.triggers "
        "WHERE trigger_schema = 'shop'",
    ) == {"orders_status_audit on orders"}
    assert column(conn, "SELECT event_name FROM information_schema.events WHERE event_schema = 'shop'") == {
        "purge_old_heartbeats"
    }
    assert column(
        conn,
        "SELECT CONCAT(table_name, '->', referenced_table_name) "
        "FROM information_schema.referential_constraints WHERE constraint_schema = 'shop'",
    ) == {"orders->customers", "order_items->orders", "order_items->products", "payments->orders"}
    tables_without_pk = scalar(
        conn,
        """
        SELECT COUNT(*) FROM information_schema.tables t
        WHERE t.table_schema = 'shop' AND t.table_type = 'BASE TABLE' AND NOT EXISTS (
          SELECT 1 FROM information_schema.table_constraints c
          WHERE c.table_schema = t.table_schema AND c.table_name = t.table_name
            AND c.constraint_type = 'PRIMARY KEY')""",
    )
    assert tables_without_pk == 0


@pytest.mark.integration
def test_returned_counts_match_select_count(shop, shop_root) -> None:
    _, counts = shop
    actual = {table: scalar(shop_root, f"SELECT COUNT(*) FROM shop.{table}") for table in DATA_TABLES}
    assert counts == actual
    assert abs(sum(counts.values()) - ROWS) < ROWS * 0.05
    assert max(counts, key=counts.__getitem__) == "order_items"


@pytest.mark.integration
def test_schema_and_load_are_idempotent(shop, shop_root) -> None:
    _, counts = shop
    max_item = scalar(shop_root, "SELECT MAX(id) FROM shop.order_items")
    create_shop_schema(shop_root)
    started = time.monotonic()
    assert load_shop_data(shop_root, rows=ROWS) == counts
    assert load_shop_data(shop_root, rows=10 * ROWS) == counts  # already seeded: nothing added
    assert time.monotonic() - started < 5
    assert scalar(shop_root, "SELECT MAX(id) FROM shop.order_items") == max_item


@pytest.mark.integration
def test_loaded_rows_are_referentially_consistent(shop_root) -> None:
    orphans = scalar(
        shop_root,
        """
        SELECT (SELECT COUNT(*) FROM shop.order_items i LEFT JOIN shop.orders o ON o.id = i.order_id
                WHERE o.id IS NULL)
             + (SELECT COUNT(*) FROM shop.order_items i LEFT JOIN shop.products p ON p.id = i.product_id
                WHERE p.id IS NULL)
             + (SELECT COUNT(*) FROM shop.orders o LEFT JOIN shop.customers c ON c.id = o.customer_id
                WHERE c.id IS NULL)
             + (SELECT COUNT(*) FROM shop.payments p LEFT JOIN shop.orders o ON o.id = p.order_id
                WHERE o.id IS NULL)""",
    )
    assert orphans == 0
    assert scalar(shop_root, "SELECT @@foreign_key_checks") == 1  # the load restored its session


@pytest.mark.integration
def test_view_function_and_trigger_work(shop_root) -> None:
    conn = shop_root
    customer = scalar(conn, "SELECT customer_id FROM shop.orders WHERE status = 'delivered' LIMIT 1")
    expected = scalar(
        conn,
        """
        SELECT SUM(oi.quantity * oi.unit_price_cents) FROM shop.orders o
        JOIN shop.order_items oi ON oi.order_id = o.id
        WHERE o.customer_id = %s AND o.status IN ('paid', 'shipped', 'delivered')""",
        (customer,),
    )
    assert scalar(conn, "SELECT shop.customer_lifetime_value(%s)", (customer,)) == expected
    assert (
        scalar(
            conn,
            "SELECT SUM(total_cents) FROM shop.order_totals WHERE customer_id = %s "
            "AND status IN ('paid', 'shipped', 'delivered')",
            (customer,),
        )
        == expected
    )

    order_id = scalar(conn, "SELECT id FROM shop.orders WHERE status = 'paid' ORDER BY id LIMIT 1")
    with conn.cursor() as cur:
        cur.execute("UPDATE shop.orders SET status = 'shipped' WHERE id = %s", (order_id,))
        cur.execute("SELECT old_status, new_status FROM shop.order_audit WHERE order_id = %s", (order_id,))
        assert cur.fetchall() == (("paid", "shipped"),)
        cur.execute("UPDATE shop.orders SET status = 'paid' WHERE id = %s", (order_id,))


@pytest.mark.integration
def test_app_user_gets_dml_only_and_cannot_write_to_a_read_only_server(shop, shop_root) -> None:
    server, _ = shop
    endpoint = ensure_app_user(server, "shop_app", APP_PASSWORD)
    with contextlib.closing(endpoint.connect()) as app:
        with app.cursor() as cur:
            cur.execute("SHOW GRANTS")
            grants = " ".join(row[0] for row in cur.fetchall())
        assert "ALL PRIVILEGES" not in grants
        assert "READ ONLY ADMIN" not in grants
        assert "SUPER" not in grants
        seq = beat_once(app, server.spec.server_id)
        assert (
            scalar(app, "SELECT server_id FROM shop.heartbeat WHERE seq = %s", (seq,))
            == server.spec.server_id
        )
        with pytest.raises(pymysql.err.OperationalError) as denied:
            app.cursor().execute("CREATE TABLE shop.nope (id INT PRIMARY KEY)")
        assert denied.value.args[0] == 1142
        with shop_root.cursor() as cur:
            cur.execute("SET GLOBAL read_only = 1")
        try:
            with pytest.raises(pymysql.err.OperationalError) as refused:
                beat_once(app, server.spec.server_id)
            assert refused.value.args[0] == 1290  # --read-only
        finally:
            with shop_root.cursor() as cur:
                cur.execute("SET GLOBAL read_only = 0")


@pytest.mark.integration
def test_the_loader_command_loads_over_tcp_and_fails_on_a_refused_login(shop, tmp_path, caplog) -> None:
    from drdrill.sandbox.sample_data import main

    server, counts = shop
    server.ensure_user("seeder", APP_PASSWORD, ["ALL PRIVILEGES ON shop.*", "SUPER ON *.*"])  # as root in compose
    endpoint = server.endpoint("seeder", APP_PASSWORD)
    with caplog.at_level("INFO"), endpoint.option_file(directory=tmp_path) as option_file:
        assert main(["--defaults-file", str(option_file), "--port", str(server.spec.port), "--rows", str(ROWS)]) == 0
    assert f"shop on seeder@127.0.0.1:{server.spec.port} holds {counts}" in caplog.text
    caplog.clear()
    wrong = server.endpoint("seeder", "not-the-password")
    with caplog.at_level("INFO"), wrong.option_file(directory=tmp_path) as option_file:
        assert main(["--defaults-file", str(option_file), "--port", str(server.spec.port)]) == 1
    assert "loading the sample data into seeder@" in caplog.text and "Access denied" in caplog.text
    assert "not-the-password" not in caplog.text and APP_PASSWORD not in caplog.text


@pytest.mark.integration
def test_load_refuses_an_interrupted_load(mariadb_factory) -> None:
    server = mariadb_factory("partial")
    with contextlib.closing(server.root_connect()) as conn:
        create_shop_schema(conn)
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO shop.customers (email, full_name, country) VALUES ('a@example.com', 'A', 'DE')"
            )
        with pytest.raises(DrdrillError, match="interrupted"):
            load_shop_data(conn, rows=1000)


@pytest.mark.unit
def test_generated_data_is_deterministic_per_seed() -> None:
    first = list(iter_shop_inserts(2000, seed=7))
    assert first == list(iter_shop_inserts(2000, seed=7))
    assert first != list(iter_shop_inserts(2000, seed=8))
    assert all(len(values) <= 5000 for batch in first for _, values in batch)


@pytest.mark.unit
def test_approx_rows_for_size_targets_a_gigabyte_at_several_million_rows() -> None:
    assert 7_000_000 < approx_rows_for_size(1 << 30) < 10_000_000
    assert approx_rows_for_size(0) == 100


@pytest.mark.integration
def test_heartbeat_beats_about_once_a_second_and_survives_a_primary_restart(mariadb_factory) -> None:
    server = mariadb_factory("beat")
    with contextlib.closing(server.root_connect()) as conn:
        create_shop_schema(conn)
    endpoint = ensure_app_user(server, "shop_app", APP_PASSWORD)
    stop = threading.Event()
    writer = threading.Thread(target=run_heartbeat, args=(endpoint, 1.0, stop), daemon=True)
    writer.start()
    try:
        time.sleep(3.4)
        with contextlib.closing(server.root_connect()) as conn, conn.cursor() as cur:
            cur.execute("SELECT beat_at, server_id FROM shop.heartbeat ORDER BY seq")
            beats = cur.fetchall()
        assert 3 <= len(beats) <= 5
        gaps = [(b[0] - a[0]).total_seconds() for a, b in itertools.pairwise(beats)]
        # the writer schedules on a monotonic clock: the rate holds even when one commit is slow,
        # and no beat is ever skipped
        rate = (beats[-1][0] - beats[0][0]).total_seconds() / (len(beats) - 1)
        assert 0.9 <= rate <= 1.1, gaps
        assert max(gaps) < 2.0, gaps
        assert {row[1] for row in beats} == {server.spec.server_id}

        server.kill()
        time.sleep(1.5)
        assert writer.is_alive()
        server.start()
        restarted = time.monotonic()
        deadline = restarted + 10
        with contextlib.closing(server.root_connect()) as conn:
            before = scalar(conn, "SELECT COUNT(*) FROM shop.heartbeat")
            while (
                scalar(conn, "SELECT COUNT(*) FROM shop.heartbeat") < before + 2
                and time.monotonic() < deadline
            ):
                time.sleep(0.2)
            assert scalar(conn, "SELECT COUNT(*) FROM shop.heartbeat") >= before + 2
        assert writer.is_alive()
    finally:
        stop.set()
        writer.join(timeout=10)
    assert not writer.is_alive()


@pytest.mark.integration
def test_heartbeat_cli_takes_credentials_from_option_file_and_stops_on_sigterm(
    mariadb_factory, tmp_path
) -> None:
    server = mariadb_factory("beatcli")
    with contextlib.closing(server.root_connect()) as conn:
        create_shop_schema(conn)
    endpoint = ensure_app_user(server, "shop_app", APP_PASSWORD)
    env = dict(os.environ)
    with endpoint.option_file(directory=tmp_path) as option_file:
        assert read_client_options(option_file)["password"] == APP_PASSWORD
        argv = [
            sys.executable,
            "-m",
            "drdrill.sandbox.heartbeat",
            "--defaults-file",
            str(option_file),
            "--port",
            str(server.spec.port),
            "--interval",
            "0.2",
        ]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            assert APP_PASSWORD not in Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode()
            deadline = time.monotonic() + 15
            with contextlib.closing(server.root_connect()) as conn:
                while scalar(conn, "SELECT COUNT(*) FROM shop.heartbeat") < 3 and time.monotonic() < deadline:
                    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                    time.sleep(0.1)
                assert scalar(conn, "SELECT COUNT(*) FROM shop.heartbeat") >= 3
            proc.send_signal(signal.SIGTERM)
            _, stderr = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, stderr
    assert "SIGTERM" in stderr
    assert APP_PASSWORD not in stderr


@pytest.mark.integration
def test_a_copy_under_another_name_is_a_whole_shop_of_its_own(shop, shop_root) -> None:
    conn = shop_root
    create_shop_schema(conn, "fleet_07")
    try:
        counts = load_shop_data(conn, rows=300, seed=7, database="fleet_07")
        assert counts == {table: scalar(conn, f"SELECT COUNT(*) FROM fleet_07.{table}") for table in DATA_TABLES}
        assert scalar(conn, "SELECT COUNT(*) FROM information_schema.routines WHERE routine_schema = 'fleet_07'") == 1
        assert scalar(conn, "SELECT COUNT(*) FROM information_schema.views WHERE table_schema = 'fleet_07' "
                            "AND view_definition LIKE '%%`shop`%%'") == 0  # the view reads its own schema
        order_id = scalar(conn, "SELECT MIN(id) FROM fleet_07.orders WHERE status <> 'refunded'")
        audited = scalar(conn, "SELECT COUNT(*) FROM fleet_07.order_audit")
        with conn.cursor() as cur:
            cur.execute("UPDATE fleet_07.orders SET status = 'refunded' WHERE id = %s", (order_id,))
        assert scalar(conn, "SELECT COUNT(*) FROM fleet_07.order_audit") == audited + 1  # its own trigger
        assert scalar(conn, "SELECT COUNT(*) FROM shop.order_audit WHERE order_id = %s AND new_status = 'refunded' "
                            "AND changed_at > UTC_TIMESTAMP(6) - INTERVAL 1 MINUTE", (order_id,)) == 0
        beat_once(conn, 1, "fleet_07.heartbeat")
        assert scalar(conn, "SELECT COUNT(*) FROM fleet_07.heartbeat") == 1
        assert shop[1] == {table: scalar(conn, f"SELECT COUNT(*) FROM shop.{table}") for table in DATA_TABLES}
    finally:
        with conn.cursor() as cur:
            cur.execute("DROP DATABASE fleet_07")
