"""The chain check fires on every hole (missing file, missing object, GTID jump, changed bytes) and is quiet on a whole archive."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from drdrill.findings import Finding
from drdrill.storage.binlog.chain import check_archive
from drdrill.storage.binlog.clear_passwords import ClearPassword
from drdrill.storage.binlog.fork import BinlogFork, write_fork
from drdrill.storage.binlog.index import ArchivedBinlog
from drdrill.storage.memory import MemoryObjectStore
from tests.helpers.storage import BINLOGS, LAYOUT, NOW, SERVER, index_entry, put_binlog


pytestmark = pytest.mark.unit


def codes(findings: list[Finding]) -> list[str]:
    return [finding.code for finding in findings]


def three_files(store: MemoryObjectStore) -> list[ArchivedBinlog]:
    return [put_binlog(store, "mysql-bin.000001", 1, 4), put_binlog(store, "mysql-bin.000002", 5, 9, minutes=1),
            put_binlog(store, "mysql-bin.000003", 10, 14, minutes=2)]


def test_a_whole_archive_has_no_findings_shallow_or_deep(store: MemoryObjectStore) -> None:
    three_files(store)
    put_binlog(store, "mysql-bin.000007", 1, 3, "2-bbbbbbbb")  # another server's chain starts where it starts
    assert check_archive(store, LAYOUT) == [] and check_archive(store, BINLOGS, deep=True) == []


def test_an_empty_archive_has_no_findings(store: MemoryObjectStore) -> None:
    assert check_archive(store, LAYOUT, deep=True) == []


def test_a_missing_file_is_a_gap_naming_it(store: MemoryObjectStore) -> None:
    put_binlog(store, "mysql-bin.000001", 1, 4)
    put_binlog(store, "mysql-bin.000004", 5, 9)
    findings = check_archive(store, LAYOUT)
    assert codes(findings) == ["BINLOG_GAP"]
    assert findings[0].evidence["missing"] == ["mysql-bin.000002", "mysql-bin.000003"]
    assert "mysql-bin.000002 … mysql-bin.000003 (2 files)" in findings[0].message


def test_an_index_entry_without_its_object_is_a_gap(store: MemoryObjectStore) -> None:
    files = three_files(store)
    store.delete(BINLOGS.object_key(SERVER, files[1].file))
    findings = check_archive(store, LAYOUT)
    assert codes(findings) == ["BINLOG_GAP"] and findings[0].evidence["file"] == "mysql-bin.000002"


def test_an_object_without_its_index_entry_does_not_count(store: MemoryObjectStore) -> None:
    put_binlog(store, "mysql-bin.000001", 1, 4)
    put_binlog(store, "mysql-bin.000002", 5, 9, index=False)  # a killed run: archived again next time
    put_binlog(store, "mysql-bin.000003", 10, 14)
    assert codes(check_archive(store, LAYOUT)) == ["BINLOG_GAP"]


def test_an_object_of_another_size_is_corrupt(store: MemoryObjectStore) -> None:
    files = three_files(store)
    store.put_bytes(BINLOGS.object_key(SERVER, files[0].file), b"short")
    findings = check_archive(store, LAYOUT)
    assert codes(findings) == ["BINLOG_CORRUPT"] and findings[0].evidence["size"] == 5


def test_changed_bytes_of_the_same_size_are_found_by_the_deep_check_only(store: MemoryObjectStore) -> None:
    files = three_files(store)
    store.put_bytes(BINLOGS.object_key(SERVER, files[2].file), b"compresseX")
    assert check_archive(store, LAYOUT) == []
    findings = check_archive(store, LAYOUT, deep=True)
    assert codes(findings) == ["BINLOG_CORRUPT"] and findings[0].evidence["sha256"] != files[2].sha256


def test_gtids_that_jump_between_consecutive_files_are_a_gap(store: MemoryObjectStore) -> None:
    put_binlog(store, "mysql-bin.000001", 1, 4)
    put_binlog(store, "mysql-bin.000002", 7, 9)
    findings = check_archive(store, LAYOUT)
    assert codes(findings) == ["BINLOG_GAP"]
    assert (findings[0].evidence["domain"], findings[0].evidence["last_seq_no"], findings[0].evidence["next_seq_no"]) \
        == (0, 4, 7)


def test_a_gtid_list_that_disagrees_with_the_previous_end_is_a_gap(
        store: MemoryObjectStore) -> None:
    put_binlog(store, "mysql-bin.000001", 1, 4)
    idle = index_entry("mysql-bin.000002", start="0-1-6")  # no transactions, but its Gtid_list says 6 not 4
    store.put_bytes(BINLOGS.object_key(SERVER, idle.file), b"compressed")
    store.put_bytes(BINLOGS.index_key(SERVER, idle.file), idle.to_json())
    findings = check_archive(store, LAYOUT)
    assert codes(findings) == ["BINLOG_GAP"] and "Gtid_list" in findings[0].message


def fork(old_end: str) -> BinlogFork:
    return BinlogFork(server_key=SERVER, last_file="mysql-bin.000001", first_file="mysql-bin.000002",
                      old_end=old_end, resumed_from="0-1-2", rolled_back=("0-1-3", "0-1-4"),
                      forked_at=NOW + timedelta(minutes=5), reason="fail-back")


def test_a_fork_record_excuses_exactly_the_discontinuity_it_describes(store: MemoryObjectStore) -> None:
    put_binlog(store, "mysql-bin.000001", 1, 4)
    put_binlog(store, "mysql-bin.000002", 3, 8)  # the history resumed from 0-1-2: 3 and 4 were rolled back
    assert codes(check_archive(store, LAYOUT)) == ["BINLOG_GAP"]
    write_fork(store, LAYOUT, fork(old_end="0-1-4"))
    assert check_archive(store, LAYOUT) == []


def test_a_fork_record_that_does_not_match_the_files_is_a_gap(store: MemoryObjectStore) -> None:
    put_binlog(store, "mysql-bin.000001", 1, 4)
    put_binlog(store, "mysql-bin.000002", 3, 8)
    write_fork(store, LAYOUT, fork(old_end="0-1-5"))
    findings = check_archive(store, LAYOUT)
    assert codes(findings) == ["BINLOG_GAP"] and "does not match its fork record" in findings[0].message


def test_an_unreadable_index_entry_or_fork_record_is_corrupt(store: MemoryObjectStore) -> None:
    three_files(store)
    store.put_bytes(BINLOGS.index_key(SERVER, "mysql-bin.000004"), b"{")
    store.put_bytes(BINLOGS.fork_key(SERVER, "mysql-bin.000002"), b"[]")
    assert sorted(codes(check_archive(store, LAYOUT))) == ["BINLOG_CORRUPT", "BINLOG_CORRUPT"]


def test_a_file_with_clear_text_passwords_is_a_warning_naming_file_and_positions(store: MemoryObjectStore) -> None:
    files = three_files(store)
    assert check_archive(store, LAYOUT) == []  # quiet while no entry records one
    found = dataclasses.replace(files[1], clear_passwords=(ClearPassword(370, "CREATE USER"), ClearPassword(862, "GRANT")))
    store.put_bytes(BINLOGS.index_key(SERVER, found.file), found.to_json())
    [warning] = check_archive(store, LAYOUT)
    assert (warning.code, warning.verdict) == ("SECRET_IN_BINLOG", "passed")
    assert "mysql-bin.000002" in warning.message and "CREATE USER at position 370, GRANT at position 862" in warning.message
    assert warning.evidence["statements"] == [{"position": 370, "statement": "CREATE USER"},
                                              {"position": 862, "statement": "GRANT"}]
