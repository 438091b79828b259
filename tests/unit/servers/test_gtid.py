"""GTID positions: parsed strictly (a number is not a position), formatted back in order, compared per domain."""

from __future__ import annotations

import pytest

from drdrill.servers.gtid import format_gtid_position, parse_gtid_position, transactions_behind

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("value", [7, ["0-1-7"], {"0": 7}])
def test_a_gtid_position_that_is_not_text_is_a_value_error(value: object) -> None:
    with pytest.raises(ValueError, match="is not a GTID position"):
        parse_gtid_position(value)  # type: ignore[arg-type]


def test_gtid_positions_that_are_text_or_none_parse() -> None:
    assert parse_gtid_position("0-1-9,3-1-2") == {0: (1, 9), 3: (1, 2)} and parse_gtid_position(None) == {}
    assert parse_gtid_position(" 0-1-9 , ") == {0: (1, 9)}


def test_the_highest_seq_no_of_a_domain_wins() -> None:
    assert parse_gtid_position("0-1-9,0-2-4,0-3-12") == {0: (3, 12)}


@pytest.mark.parametrize("text", ["0-1", "a-b-c", "0-1-9;1-1-2"])
def test_text_that_is_not_a_gtid_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="is not a GTID like 0-1-42"):
        parse_gtid_position(text)


def test_formatting_orders_domains_and_an_empty_position_is_none() -> None:
    assert format_gtid_position({3: (1, 2), 0: (1, 9)}) == "0-1-9,3-1-2"
    assert format_gtid_position({}) is None
    assert parse_gtid_position(format_gtid_position({0: (1, 9), 3: (1, 2)})) == {0: (1, 9), 3: (1, 2)}


def test_transactions_behind_counts_per_domain() -> None:
    assert transactions_behind("0-1-10,1-1-3", "0-1-7") == 6
    assert transactions_behind("0-1-10", "0-2-12") == 0
    assert transactions_behind("", "0-1-1") == 0
