"""Shared by the binlog archive and streamer tests: the archive's layout, the test schema, reading an index
entry, and the check that nothing stored holds a password."""

from __future__ import annotations

import subprocess

from drdrill.storage.binlog.index import ArchivedBinlog
from drdrill.storage.binlog.layout import BinlogLayout
from drdrill.storage.layout import TargetLayout
from drdrill.storage.objectstore import ObjectStore

LAYOUT = BinlogLayout.of(TargetLayout("drills", "shop"))
SCHEMA = ("CREATE DATABASE shop", "CREATE TABLE shop.orders (id INT PRIMARY KEY, note VARCHAR(40) NOT NULL)")


def assert_no_password_in(store: ObjectStore, password: str) -> None:
    """Every object, and every .zst object decompressed, is free of ``password``; the store is not empty."""
    objects = store.list_objects("")
    assert objects, "the test stored nothing"
    for stored in objects:
        body = store.get_bytes(stored.key) or b""
        assert password.encode() not in body, stored.key
        if stored.key.endswith(".zst"):
            plain = subprocess.run(["zstd", "-dc"], input=body, capture_output=True, check=True).stdout
            assert password.encode() not in plain, stored.key


def entry_of(store: ObjectStore, key: str, file: str) -> ArchivedBinlog:
    """The index entry of one archived file of server ``key``; fails when there is none."""
    raw = store.get_bytes(LAYOUT.index_key(key, file))
    assert raw is not None, file
    return ArchivedBinlog.from_json(raw)
