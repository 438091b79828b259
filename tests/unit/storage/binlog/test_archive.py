"""Fetching archived binlogs for a replay checks every byte; a source that purged unarchived files is a gap."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from drdrill.storage.binlog.archive import fetch_binlogs, purged_before_archiving
from drdrill.storage.binlog.index import ArchivedBinlog, BinlogArchiveError
from drdrill.storage.memory import MemoryObjectStore
from tests.helpers.storage import BINLOGS, LAYOUT, SERVER, index_entry, put_binlog


pytestmark = pytest.mark.unit
RAW = b"\xfebin" + b"event bytes " * 1000


def compressed(raw: bytes) -> bytes:
    return subprocess.run(["zstd", "-q", "-c"], input=raw, capture_output=True, check=True).stdout


@pytest.fixture
def archived(store: MemoryObjectStore) -> Callable[..., ArchivedBinlog]:
    def put(file: str, raw: bytes = RAW, stored: bytes | None = None) -> ArchivedBinlog:
        body = compressed(raw)
        entry = index_entry(file, body=body, raw=raw)
        store.put_bytes(BINLOGS.object_key(SERVER, file), body if stored is None else stored)
        store.put_bytes(BINLOGS.index_key(SERVER, file), entry.to_json())
        return entry
    return put


def fetch_codes(store: MemoryObjectStore, files: list[str], into: Path) -> list[str]:
    with pytest.raises(BinlogArchiveError) as raised:
        fetch_binlogs(store, LAYOUT, SERVER, files, into)
    return [finding.code for finding in raised.value.findings]


def test_archived_files_are_fetched_decompressed_in_order(store: MemoryObjectStore, archived: Callable[..., ArchivedBinlog],
                                                          tmp_path: Path) -> None:
    archived("mysql-bin.000002", RAW + b"2")
    archived("mysql-bin.000001")
    paths = fetch_binlogs(store, LAYOUT, SERVER, ["mysql-bin.000001", "mysql-bin.000002"], tmp_path)
    assert [path.name for path in paths] == ["mysql-bin.000001", "mysql-bin.000002"]
    assert paths[0].read_bytes() == RAW and paths[1].read_bytes() == RAW + b"2"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["mysql-bin.000001", "mysql-bin.000002"]


def test_a_file_not_in_the_archive_is_a_gap(store: MemoryObjectStore, archived: Callable[..., ArchivedBinlog],
                                            tmp_path: Path) -> None:
    archived("mysql-bin.000001")
    assert fetch_codes(store, ["mysql-bin.000001", "mysql-bin.000002"], tmp_path) == ["BINLOG_GAP"]
    store.delete(BINLOGS.object_key(SERVER, "mysql-bin.000001"))
    assert fetch_codes(store, ["mysql-bin.000001"], tmp_path) == ["BINLOG_GAP"]


def test_changed_bytes_are_corrupt_and_nothing_is_left_behind(store: MemoryObjectStore,
                                                               archived: Callable[..., ArchivedBinlog],
                                                               tmp_path: Path) -> None:
    good = compressed(RAW)
    archived("mysql-bin.000001", stored=good[:-1] + bytes([good[-1] ^ 1]))
    assert fetch_codes(store, ["mysql-bin.000001"], tmp_path) == ["BINLOG_CORRUPT"]
    assert list(tmp_path.iterdir()) == []


def test_an_object_that_decompresses_to_other_bytes_is_corrupt(store: MemoryObjectStore,
                                                                tmp_path: Path) -> None:
    body = compressed(RAW + b"not what was archived")
    entry = index_entry("mysql-bin.000001", body=body, raw=RAW)  # the index recorded other raw bytes
    store.put_bytes(BINLOGS.object_key(SERVER, entry.file), body)
    store.put_bytes(BINLOGS.index_key(SERVER, entry.file), entry.to_json())
    assert fetch_codes(store, ["mysql-bin.000001"], tmp_path) == ["BINLOG_CORRUPT"]
    assert list(tmp_path.iterdir()) == []


def test_a_source_that_purged_files_before_they_were_archived_is_a_gap(
        store: MemoryObjectStore) -> None:
    put_binlog(store, "mysql-bin.000001", 1, 4)
    put_binlog(store, "mysql-bin.000002", 5, 9)
    indexed = {"mysql-bin.000001", "mysql-bin.000002"}
    findings = purged_before_archiving(store, BINLOGS, SERVER, indexed, [("mysql-bin.000005", 10), ("mysql-bin.000006", 4)])
    assert [f.code for f in findings] == ["BINLOG_GAP"]
    assert findings[0].evidence["missing"] == ["mysql-bin.000003", "mysql-bin.000004"]


def test_a_source_that_still_has_the_next_file_is_no_gap(store: MemoryObjectStore) -> None:
    put_binlog(store, "mysql-bin.000001", 1, 4)
    indexed = {"mysql-bin.000001"}
    assert purged_before_archiving(store, BINLOGS, SERVER, indexed, [("mysql-bin.000002", 10)]) == []
    assert purged_before_archiving(store, BINLOGS, SERVER, indexed, [("mysql-bin.000001", 10)]) == []
    assert purged_before_archiving(store, BINLOGS, SERVER, set(), [("mysql-bin.000009", 10)]) == []  # nothing yet
