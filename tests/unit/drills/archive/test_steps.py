"""``drdrill.drills.archive.steps`` on an in-memory store: the chain check both ways, an unreachable source.

Shipping real binlogs needs a source server and mariadb-binlog: the integration tests drive ``archive``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from drdrill.drills.archive import steps
from drdrill.endpoints import MySQLEndpoint
from drdrill.findings import DrillFailed
from drdrill.ports import find_free_port
from drdrill.storage.memory import MemoryObjectStore
from tests.helpers.storage import SERVER, put_binlog
from tests.helpers.targets import load_test_target

pytestmark = pytest.mark.unit


def test_a_consecutive_archive_passes_the_chain_check(tmp_path: Path) -> None:
    store, shop = MemoryObjectStore(), load_test_target(tmp_path, prefix="drills")
    put_binlog(store, "mysql-bin.000001", 1, 5)
    put_binlog(store, "mysql-bin.000002", 6, 9, minutes=5)
    result = steps.check_chain(shop, store)
    assert (result["files"], result["servers"], result["deep"]) == (2, [SERVER], False)


def test_a_missing_file_in_the_chain_is_a_binlog_gap(tmp_path: Path) -> None:
    store, shop = MemoryObjectStore(), load_test_target(tmp_path, prefix="drills")
    put_binlog(store, "mysql-bin.000001", 1, 5)
    put_binlog(store, "mysql-bin.000003", 10, 12, minutes=5)
    with pytest.raises(DrillFailed) as failed:
        steps.check_chain(shop, store)
    assert "BINLOG_GAP" in {finding.code for finding in failed.value.findings}


def test_an_unreachable_source_is_target_unavailable(tmp_path: Path) -> None:
    shop = load_test_target(tmp_path, prefix="drills")
    nobody = MySQLEndpoint(host="127.0.0.1", port=find_free_port(), user="backup", password="s3cret")
    with pytest.raises(DrillFailed) as failed:
        steps.archive(shop, nobody, MemoryObjectStore(), work_dir=tmp_path / "work")
    [finding] = failed.value.findings
    assert finding.code == "TARGET_UNAVAILABLE" and "s3cret" not in finding.message
