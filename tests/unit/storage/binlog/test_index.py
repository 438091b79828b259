"""The index entry: a stable JSON form, strict about types, and read back only when it describes its own file."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone

import pytest

from drdrill.storage.binlog.clear_passwords import ClearPassword
from drdrill.storage.binlog.index import ArchivedBinlog, BinlogArchiveError, BinlogIndexError, indexed_files, \
    list_archive, load_entries, read_entry, server_keys
from drdrill.storage.memory import MemoryObjectStore
from tests.helpers.storage import BINLOGS, SERVER, put_binlog


pytestmark = pytest.mark.unit

ENTRY = ArchivedBinlog(
    file="mysql-bin.000007", server_key="primary-1", server_id=1, size=120, sha256="ab" * 32, raw_size=300,
    raw_sha256="cd" * 32, first_gtid="0-1-10", last_gtid="0-1-12", gtid_binlog_pos_start="0-1-9",
    gtid_binlog_pos_end="0-1-12", first_event_at=datetime(2026, 11, 21, 10, 0, tzinfo=timezone.utc),
    last_event_at=datetime(2026, 11, 21, 10, 5, tzinfo=timezone.utc), archived_at=datetime(2026, 11, 21, 10, 6, tzinfo=timezone.utc))


def _with(record: bytes, **changes: object) -> bytes:
    return json.dumps({**json.loads(record), **changes}).encode()


def test_index_entry_round_trips_and_a_number_for_a_gtid_is_an_index_error() -> None:
    assert ArchivedBinlog.from_json(ENTRY.to_json()) == ENTRY
    for field in ("first_gtid", "last_gtid", "gtid_binlog_pos_start", "gtid_binlog_pos_end"):
        with pytest.raises(BinlogIndexError, match="has an invalid value"):
            ArchivedBinlog.from_json(_with(ENTRY.to_json(), **{field: 12}), "entry")


def test_the_json_form_is_stable() -> None:
    data = json.loads(ENTRY.to_json())
    assert list(data) == sorted(data) and data["first_event_at"] == "2026-11-21T10:00:00+00:00"
    assert ArchivedBinlog.from_json(_with(ENTRY.to_json(), added_later="ignored")) == ENTRY
    assert ENTRY.number == 7


def test_clear_password_positions_round_trip_and_an_entry_from_before_them_has_none() -> None:
    found = dataclasses.replace(ENTRY, clear_passwords=(ClearPassword(370, "CREATE USER"), ClearPassword(862, "GRANT")))
    assert ArchivedBinlog.from_json(found.to_json()) == found
    assert json.loads(found.to_json())["clear_passwords"] == [{"position": 370, "statement": "CREATE USER"},
                                                              {"position": 862, "statement": "GRANT"}]
    older = json.loads(ENTRY.to_json())
    del older["clear_passwords"]
    assert ArchivedBinlog.from_json(json.dumps(older)).clear_passwords == ()
    with pytest.raises(BinlogIndexError, match="invalid value"):
        ArchivedBinlog.from_json(_with(ENTRY.to_json(), clear_passwords=[{"position": 1}]))


@pytest.mark.parametrize("raw, problem", [
    (b"{", "is not JSON"), (b"[]", "is not a JSON object"), (b'{"file": "mysql-bin.000007"}', "lacks"),
])
def test_an_unreadable_entry_says_what_is_wrong(raw: bytes, problem: str) -> None:
    with pytest.raises(BinlogIndexError, match=problem):
        ArchivedBinlog.from_json(raw, "entry")


def test_an_entry_without_archived_at_or_with_a_bad_file_name_is_refused() -> None:
    with pytest.raises(BinlogIndexError, match="no archived_at"):
        ArchivedBinlog.from_json(_with(ENTRY.to_json(), archived_at=None))
    with pytest.raises(BinlogIndexError, match="invalid value"):
        ArchivedBinlog.from_json(_with(ENTRY.to_json(), file="mysql-bin"))


def test_reading_the_index_of_a_server(store: MemoryObjectStore) -> None:
    first, second = put_binlog(store, "mysql-bin.000002", 5, 6), put_binlog(store, "mysql-bin.000010", 7, 8)
    store.put_bytes(BINLOGS.index_root(SERVER) + "notes.txt", b"not an entry")
    assert sorted(indexed_files(store, BINLOGS, SERVER)) == ["mysql-bin.000002", "mysql-bin.000010"]
    assert read_entry(store, BINLOGS, SERVER, "mysql-bin.000002") == first
    assert read_entry(store, BINLOGS, SERVER, "mysql-bin.000003") is None
    assert list_archive(store, BINLOGS) == [first, second]  # by number, not by name
    assert server_keys(store, BINLOGS) == [SERVER]


def test_an_entry_about_another_file_is_an_index_error(store: MemoryObjectStore) -> None:
    entry = put_binlog(store, "mysql-bin.000002", 5, 6)
    store.put_bytes(BINLOGS.index_key(SERVER, "mysql-bin.000003"), entry.to_json())
    with pytest.raises(BinlogIndexError, match="describes"):
        read_entry(store, BINLOGS, SERVER, "mysql-bin.000003")


def test_an_unreadable_entry_fails_the_listing_rather_than_hiding_a_file(
        store: MemoryObjectStore) -> None:
    put_binlog(store, "mysql-bin.000001", 1, 2)
    store.put_bytes(BINLOGS.index_key(SERVER, "mysql-bin.000002"), b"{")
    entries, findings = load_entries(store, BINLOGS, SERVER)
    assert [e.file for e in entries] == ["mysql-bin.000001"] and [f.code for f in findings] == ["BINLOG_CORRUPT"]
    with pytest.raises(BinlogArchiveError) as raised:
        list_archive(store, BINLOGS)
    assert [f.code for f in raised.value.findings] == ["BINLOG_CORRUPT"]
