"""The fork record: a stable JSON form, strict types, and stored under the file the new history starts with."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from drdrill.storage.binlog.fork import BinlogFork, read_forks, write_fork
from drdrill.storage.memory import MemoryObjectStore
from tests.helpers.storage import BINLOGS, SERVER


pytestmark = pytest.mark.unit

FORK = BinlogFork(server_key="primary-1", last_file="mysql-bin.000007", first_file="mysql-bin.000008",
                  old_end="0-1-14", resumed_from="0-1-12", rolled_back=("0-1-13", "0-1-14"),
                  forked_at=datetime(2026, 11, 21, 10, 7, tzinfo=timezone.utc), reason="fail-back")


def _with(record: bytes, **changes: object) -> bytes:
    return json.dumps({**json.loads(record), **changes}).encode()


def test_fork_record_round_trips_and_wrong_types_are_value_errors() -> None:
    assert BinlogFork.from_json(FORK.to_json()) == FORK
    assert BinlogFork.from_json(_with(FORK.to_json(), old_end=None)).old_end is None
    for changes in ({"old_end": 14}, {"rolled_back": [13, 14]}, {"rolled_back": "0-1-13"}, {"resumed_from": 12}):
        with pytest.raises(ValueError, match="wrong type"):
            BinlogFork.from_json(_with(FORK.to_json(), **changes), "fork")


def test_the_json_form_is_stable_and_incomplete_records_are_refused() -> None:
    data = json.loads(FORK.to_json())
    assert list(data) == sorted(data) and data["rolled_back"] == ["0-1-13", "0-1-14"]
    assert data["forked_at"] == "2026-11-21T10:07:00+00:00"
    with pytest.raises(ValueError, match="lacks reason"):
        BinlogFork.from_json(json.dumps({k: v for k, v in data.items() if k != "reason"}).encode(), "fork")
    with pytest.raises(ValueError, match="is not JSON"):
        BinlogFork.from_json(b"{", "fork")


def test_a_written_fork_is_read_back_by_its_first_file(store: MemoryObjectStore) -> None:
    fork = BinlogFork(**{**FORK.__dict__, "server_key": SERVER})
    write_fork(store, BINLOGS, fork)
    assert store.get_bytes(BINLOGS.fork_key(SERVER, "mysql-bin.000008")) == fork.to_json()
    assert read_forks(store, BINLOGS, SERVER) == ({"mysql-bin.000008": fork}, [])
    assert read_forks(store, BINLOGS, "2-bbbbbbbb") == ({}, [])


@pytest.mark.parametrize("breakage", [
    {"resumed_from": "not-a-gtid"}, {"first_file": "mysql-bin"}, {"server_key": "2-bbbbbbbb"}, {"first_file": "mysql-bin.000009"},
])
def test_an_unusable_fork_record_is_binlog_corrupt(store: MemoryObjectStore, breakage: dict[str, str]) -> None:
    key = BINLOGS.fork_key(SERVER, "mysql-bin.000008")
    store.put_bytes(key, _with(BinlogFork(**{**FORK.__dict__, "server_key": SERVER}).to_json(), **breakage))
    forks, findings = read_forks(store, BINLOGS, SERVER)
    assert forks == {} and [f.code for f in findings] == ["BINLOG_CORRUPT"] and findings[0].evidence["object"] == key
