"""Binlog index entries and fork records read from S3: a value of the wrong type is a clear error, not a crash."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from drdrill.storage.binlog.fork import BinlogFork
from drdrill.storage.binlog.gtid import parse_gtid_position
from drdrill.storage.binlog.index import ArchivedBinlog, BinlogIndexError

pytestmark = pytest.mark.unit

ENTRY = ArchivedBinlog(
    file="mysql-bin.000007", server_key="primary-1", server_id=1, size=120, sha256="ab" * 32, raw_size=300,
    raw_sha256="cd" * 32, first_gtid="0-1-10", last_gtid="0-1-12", gtid_binlog_pos_start="0-1-9",
    gtid_binlog_pos_end="0-1-12", first_event_at=datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc),
    last_event_at=datetime(2026, 11, 21, 10, 5, tzinfo=timezone.utc), archived_at=datetime(2026, 11, 21, 10, 6, tzinfo=timezone.utc))
FORK = BinlogFork(server_key="primary-1", last_file="mysql-bin.000007", first_file="mysql-bin.000008",
                  old_end="0-1-14", resumed_from="0-1-12", rolled_back=("0-1-13", "0-1-14"),
                  forked_at=datetime(2026, 11, 21, 10, 7, tzinfo=timezone.utc), reason="fail-back")


def _with(record: bytes, **changes: object) -> bytes:
    return json.dumps({**json.loads(record), **changes}).encode()


@pytest.mark.parametrize("value", [7, ["0-1-7"], {"0": 7}])
def test_a_gtid_position_that_is_not_text_is_a_value_error(value: object) -> None:
    with pytest.raises(ValueError, match="is not a GTID position"):
        parse_gtid_position(value)  # type: ignore[arg-type]


def test_gtid_positions_that_are_text_or_none_parse() -> None:
    assert parse_gtid_position("0-1-9,3-1-2") == {0: (1, 9), 3: (1, 2)} and parse_gtid_position(None) == {}


def test_index_entry_round_trips_and_a_number_for_a_gtid_is_an_index_error() -> None:
    assert ArchivedBinlog.from_json(ENTRY.to_json()) == ENTRY
    for field in ("first_gtid", "last_gtid", "gtid_binlog_pos_start", "gtid_binlog_pos_end"):
        with pytest.raises(BinlogIndexError, match="has an invalid value"):
            ArchivedBinlog.from_json(_with(ENTRY.to_json(), **{field: 12}), "entry")


def test_fork_record_round_trips_and_wrong_types_are_value_errors() -> None:
    assert BinlogFork.from_json(FORK.to_json()) == FORK
    assert BinlogFork.from_json(_with(FORK.to_json(), old_end=None)).old_end is None
    for changes in ({"old_end": 14}, {"rolled_back": [13, 14]}, {"rolled_back": "0-1-13"}, {"resumed_from": 12}):
        with pytest.raises(ValueError, match="wrong type"):
            BinlogFork.from_json(_with(FORK.to_json(), **changes), "fork")
