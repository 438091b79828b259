"""``drdrill.engines.binlog_segment``: the catch-up segment is read from a live source.

Its capture against a real server (and the restore that applies it) is proven by the integration tests
(``tests/integration/test_backup_engines.py``); here: an unreachable source stores nothing.
"""

from __future__ import annotations

from pathlib import Path

import pymysql
import pytest

from drdrill.endpoints import MySQLEndpoint
from drdrill.engines.binlog_segment import CATCHUP_OBJECT, capture_binlog_segment
from drdrill.ports import find_free_port
from drdrill.storage.manifest import BinlogPosition
from drdrill.storage.memory import MemoryObjectStore
from tests.helpers.storage import LAYOUT

pytestmark = pytest.mark.unit


def test_an_unreachable_source_stores_no_segment(tmp_path: Path) -> None:
    store = MemoryObjectStore()
    nobody = MySQLEndpoint(host="127.0.0.1", port=find_free_port(), user="backup", password="s3cret")
    start, stop = BinlogPosition("mysql-bin.000001", 4, ""), BinlogPosition("mysql-bin.000001", 900, "")
    with pytest.raises(pymysql.err.OperationalError):
        capture_binlog_segment(nobody, ["shop"], start, stop, store, LAYOUT, "b1", tmp_path)
    assert store.list_objects("") == []


def test_the_segment_keeps_the_object_name_manifests_refer_to() -> None:
    assert CATCHUP_OBJECT == "catchup.sql.zst"
