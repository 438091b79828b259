"""Builders for the storage unit tests: an in-memory store, manifests, stored backups and binlog index entries."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from drdrill.storage.binlog.index import ArchivedBinlog
from drdrill.storage.binlog.layout import BinlogLayout
from drdrill.storage.layout import TargetLayout
from drdrill.storage.manifest import BinlogPosition, Inventory, Manifest, ObjectEntry, TableFacts
from drdrill.storage.memory import MemoryObjectStore

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
LAYOUT = TargetLayout("drills", "shop")
BINLOGS = BinlogLayout.of(LAYOUT)
SERVER = "1-aaaaaaaa"


@pytest.fixture
def store() -> MemoryObjectStore:
    return MemoryObjectStore("unit-tests")


def _manifest(**changes: Any) -> Manifest:
    point = BinlogPosition("mysql-bin.000002", 600, "0-1-6")
    base = Manifest(
        backup_id="20261121T083012Z-a1b2c3", target="shop", engine="mariadb-dump", tool_version="x",
        compression="zstd", server_version="10.11", source="u@h:1", databases=("shop",),
        started_at="2026-11-21T08:30:12+00:00", finished_at="2026-11-21T08:31:00+00:00",
        consistent_point=point, facts_point=point,
        objects=(ObjectEntry("dump.sql.zst", "data", 10, "ab" * 32),),
        tables=(TableFacts("shop", "t", 3, "123", ("id",), ("id",)),),
        inventory=Inventory(tables=("shop.t",)),
    )
    return dataclasses.replace(base, **changes)


@pytest.fixture
def manifest_of() -> Callable[..., Manifest]:
    """``manifest_of(**changes)``: a complete manifest of a one-object backup, with ``changes`` applied."""
    return _manifest


def backup_id_at(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ") + "-000000"


@pytest.fixture
def put_backup(store: MemoryObjectStore) -> Callable[..., Manifest]:
    """``put_backup(days_old, body=..., **manifest changes)``: a stored backup whose manifest matches its object."""
    def put(days_old: float, body: bytes = b"backup bytes", *, manifest: bool = True, **changes: Any) -> Manifest:
        started = NOW - timedelta(days=days_old)
        backup_id = backup_id_at(started)
        stored = store.put_bytes(LAYOUT.object_key(backup_id, "dump.sql.zst"), body)
        made = _manifest(backup_id=backup_id, started_at=started.isoformat(),
                         finished_at=(started + timedelta(minutes=1)).isoformat(),
                         objects=(ObjectEntry("dump.sql.zst", "data", stored.size, stored.sha256),), **changes)
        if manifest:
            store.put_bytes(LAYOUT.manifest_key(backup_id), made.to_json().encode())
        return made
    return put


def _entry(file: str, key: str = SERVER, *, first: str | None = None, last: str | None = None,
           start: str | None = None, end: str | None = None, first_at: datetime | None = None,
           last_at: datetime | None = None, body: bytes = b"compressed", raw: bytes = b"raw binlog") -> ArchivedBinlog:
    return ArchivedBinlog(
        file=file, server_key=key, server_id=int(key.split("-")[0]), size=len(body),
        sha256=hashlib.sha256(body).hexdigest(), raw_size=len(raw), raw_sha256=hashlib.sha256(raw).hexdigest(),
        first_gtid=first, last_gtid=last, gtid_binlog_pos_start=start, gtid_binlog_pos_end=end if end else last or start,
        first_event_at=first_at, last_event_at=last_at, archived_at=NOW)


@pytest.fixture
def entry_of() -> Callable[..., ArchivedBinlog]:
    """``entry_of(file, key, first=, last=, start=, end=, first_at=, last_at=, body=)``: an index entry."""
    return _entry


@pytest.fixture
def put_binlog(store: MemoryObjectStore) -> Callable[..., ArchivedBinlog]:
    """``put_binlog(file, seq_from, seq_to, ...)``: an archived file holding GTIDs 0-1-seq_from..seq_to, object first."""
    def put(file: str, seq_from: int, seq_to: int, key: str = SERVER, *, minutes: int = 0,
            body: bytes = b"compressed", index: bool = True, obj: bool = True) -> ArchivedBinlog:
        at = NOW + timedelta(minutes=minutes)
        made = _entry(file, key, first=f"0-1-{seq_from}", last=f"0-1-{seq_to}", start=f"0-1-{seq_from - 1}",
                      first_at=at, last_at=at + timedelta(seconds=30), body=body)
        if obj:
            store.put_bytes(BINLOGS.object_key(key, file), body)
        if index:
            store.put_bytes(BINLOGS.index_key(key, file), made.to_json())
        return made
    return put
