"""``drdrill.sandbox.sample_data``: the generated shop data is consistent on its own (the load skips FK and unique
checks, so the generator must be right), about the size asked for, and written as valid SQL literals.

Creating the schema and loading it into a server are in ``tests/integration/test_sample_data.py``.
"""

from __future__ import annotations

import ast
from collections import Counter, defaultdict
from typing import Any

import pytest

from drdrill.errors import DrdrillError
from drdrill.sandbox.sample_data import (
    APP_GRANTS,
    BYTES_PER_ROW,
    DATA_TABLES,
    SCHEMA_STATEMENTS,
    ShopPlan,
    _COLUMNS,
    approx_rows_for_size,
    iter_shop_inserts,
    load_shop_data,
)

pytestmark = pytest.mark.unit


def generated(rows: int, seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    """Every generated row as a dict by column, per table (the SQL literals parsed as Python literals)."""
    tables: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for transaction in iter_shop_inserts(rows, seed):
        for table, values in transaction:
            columns = [name.strip() for name in _COLUMNS[table].split(",")]
            for literal in values:
                parsed = ast.literal_eval(literal.replace("NULL", "None"))
                assert len(parsed) == len(columns), f"{table}: {literal}"
                tables[table].append(dict(zip(columns, parsed)))
    return tables


@pytest.fixture(scope="module")
def shop() -> dict[str, list[dict[str, Any]]]:
    return generated(5000)


def test_every_data_table_gets_rows_and_ids_count_up_from_one(shop: dict[str, list[dict[str, Any]]]) -> None:
    assert set(shop) == set(DATA_TABLES)
    for table, rows in shop.items():
        assert [row["id"] for row in rows] == list(range(1, len(rows) + 1)), table


@pytest.mark.parametrize("rows", [100, 5000, 20_000])
def test_about_the_rows_asked_for(rows: int) -> None:
    total = sum(len(values) for transaction in iter_shop_inserts(rows, 7) for _, values in transaction)
    assert abs(total - rows) <= max(60, rows * 0.05), total


def test_the_plan_splits_rows_into_customers_products_and_orders() -> None:
    plan = ShopPlan.for_rows(100_000)
    assert (plan.customers, plan.products) == (6000, 500)
    assert abs(plan.customers + plan.products + plan.orders * 4.42 - 100_000) < 5
    assert ShopPlan.for_rows(100) == ShopPlan(20, 20, 14)
    assert ShopPlan.for_rows(10_000_000).products == 20_000


def test_references_point_at_existing_rows(shop: dict[str, list[dict[str, Any]]]) -> None:
    customers, products, orders = len(shop["customers"]), len(shop["products"]), len(shop["orders"])
    assert all(1 <= order["customer_id"] <= customers for order in shop["orders"])
    assert all(1 <= item["product_id"] <= products and 1 <= item["order_id"] <= orders for item in shop["order_items"])
    assert all(1 <= payment["order_id"] <= orders for payment in shop["payments"])


def test_unique_keys_are_unique_and_emails_are_ascii(shop: dict[str, list[dict[str, Any]]]) -> None:
    emails = [customer["email"] for customer in shop["customers"]]
    assert len(set(emails)) == len(emails) and all(email.isascii() and email.endswith("@example.com") for email in emails)
    skus = [product["sku"] for product in shop["products"]]
    assert len(set(skus)) == len(skus)


def test_items_carry_the_products_price_and_payments_the_orders_total(shop: dict[str, list[dict[str, Any]]]) -> None:
    price = {product["id"]: product["price_cents"] for product in shop["products"]}
    totals: Counter[int] = Counter()
    for item in shop["order_items"]:
        assert item["unit_price_cents"] == price[item["product_id"]]
        totals[item["order_id"]] += item["quantity"] * item["unit_price_cents"]
    status = {order["id"]: order["status"] for order in shop["orders"]}
    paid = {payment["order_id"]: payment for payment in shop["payments"]}
    assert set(paid) == {order_id for order_id, state in status.items() if state != "new"}, "one payment per paid-for order"
    expected_state = {"paid": "captured", "shipped": "captured", "delivered": "captured", "cancelled": "failed",
                      "refunded": "refunded"}
    for order_id, payment in paid.items():
        assert payment["amount_cents"] == totals[order_id]
        assert payment["status"] == expected_state[status[order_id]]
        assert (payment["paid_at"] is None) == (status[order_id] == "cancelled")
    assert all(1 <= count <= 4 for count in Counter(item["order_id"] for item in shop["order_items"]).values())


def test_orders_are_spread_over_time_in_id_order(shop: dict[str, list[dict[str, Any]]]) -> None:
    stamps = [order["ordered_at"] for order in shop["orders"]]
    assert stamps[0].startswith("2023-01-01") and stamps[-1].startswith("2024-12-3")
    assert stamps == sorted(stamps)


def test_statements_stay_small_enough_for_one_transaction_each() -> None:
    for transaction in iter_shop_inserts(40_000, 7):
        assert 1 <= len(transaction) <= 3
        for table, values in transaction:
            assert 0 < len(values) <= (2000 if table in ("customers", "products") else 5000), table


def test_another_seed_gives_other_data_of_the_same_shape() -> None:
    seven, eight = generated(1000, 7), generated(1000, 8)
    assert seven != eight
    assert {table: len(rows) for table, rows in seven.items() if table in ("customers", "products")} == {
        table: len(rows) for table, rows in eight.items() if table in ("customers", "products")}


def test_the_schema_is_safe_to_repeat_and_creates_every_data_table() -> None:
    for statement in SCHEMA_STATEMENTS:
        first_line = statement.split("\n", 1)[0]
        assert " IF NOT EXISTS " in first_line or first_line.startswith("INSERT IGNORE "), first_line
    created = " ".join(SCHEMA_STATEMENTS)
    assert all(f"CREATE TABLE IF NOT EXISTS shop.{table} (" in created for table in (*DATA_TABLES, "heartbeat"))


def test_the_application_user_gets_dml_only() -> None:
    assert APP_GRANTS == ["SELECT, INSERT, UPDATE, DELETE, EXECUTE ON shop.*"]
    assert not any("ALL" in grant for grant in APP_GRANTS)


def test_a_load_too_small_for_a_shop_is_refused_before_touching_the_server() -> None:
    with pytest.raises(DrdrillError, match="rows=99 is too small") as caught:
        load_shop_data(None, rows=99)  # type: ignore[arg-type]
    assert caught.value.fix == "ask for at least 100 rows."


def test_rows_for_a_size_follow_the_measured_bytes_per_row() -> None:
    assert approx_rows_for_size(BYTES_PER_ROW * 1_000_000) == 1_000_000
    assert approx_rows_for_size(10) == 100
    assert approx_rows_for_size(2 << 30) > approx_rows_for_size(1 << 30)


def test_the_loader_command_takes_the_login_from_an_option_file_only(tmp_path, capsys) -> None:
    from drdrill.sandbox.sample_data import main

    no_user = tmp_path / "seed.cnf"
    no_user.write_text("[client]\npassword=Secret-7\n")
    with pytest.raises(SystemExit) as caught:
        main(["--defaults-file", str(no_user)])
    err = capsys.readouterr().err
    assert caught.value.code == 2 and "has no user in [client]" in err and "Secret-7" not in err
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "--defaults-file" in out and "--password" not in out and "--user" not in out


def test_the_schema_can_be_made_under_another_name_with_every_reference_moved() -> None:
    from drdrill.sandbox.sample_data import SCHEMA_STATEMENTS, schema_statements

    moved = schema_statements("fleet_07")
    assert len(moved) == len(SCHEMA_STATEMENTS) and schema_statements() == SCHEMA_STATEMENTS
    assert moved[0].startswith("CREATE DATABASE IF NOT EXISTS fleet_07 ")
    assert not any("shop." in statement for statement in moved)
    assert "REFERENCES fleet_07.orders (id)" in "\n".join(moved)
    with pytest.raises(DrdrillError, match="not a plain lowercase identifier"):
        schema_statements("fleet`; DROP DATABASE shop")
