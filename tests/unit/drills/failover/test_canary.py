"""The canary's ack file and what it says was lost; its table's SQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from drdrill.drills.failover.canary import Ack, canary_table, losses, promotion_write_sql, quoted, read_acks, wait_for_ack

pytestmark = pytest.mark.unit


def test_acks_are_read_in_order_and_a_torn_last_line_is_ignored(tmp_path: Path) -> None:
    acks = tmp_path / "acks.txt"
    acks.write_text("1 11 100.5\n2 11 100.6\n3 1")
    assert list(read_acks(acks)) == [Ack(1, 11, 100.5), Ack(2, 11, 100.6)]
    assert list(read_acks(tmp_path / "missing.txt")) == []
    assert wait_for_ack(tmp_path, lambda ack: ack.seq == 2, 1) == Ack(2, 11, 100.6)
    assert wait_for_ack(tmp_path, lambda ack: ack.server_id == 12, 0.1) is None


def test_losses_count_the_acknowledged_rows_the_new_primary_lacks() -> None:
    acked = [Ack(1, 11, 100.0), Ack(2, 11, 100.1), Ack(3, 11, 100.2)]
    assert losses(acked, {1, 2, 3}) == {"canary_acked_by_old_primary": 3, "canary_rows_lost": 0, "lost_canary_seqs": [],
                                        "last_surviving_write_at": 100.2, "last_lost_write_at": None}
    lost = losses(acked, {1})
    assert (lost["canary_rows_lost"], lost["lost_canary_seqs"], lost["last_lost_write_at"]) == (2, [2, 3], 100.2)


def test_the_canary_table_is_quoted_wherever_it_is_written() -> None:
    table = canary_table("sh`op")
    assert quoted(table) == "`sh``op`.`drdrill_canary`"
    assert promotion_write_sql(table).startswith("INSERT INTO `sh``op`.`drdrill_canary` ")
