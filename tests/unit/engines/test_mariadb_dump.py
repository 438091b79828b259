"""``drdrill.engines.mariadb_dump``: the dump command and the consistent point read from the dump."""

from __future__ import annotations

from pathlib import Path

import pytest

from drdrill.engines.mariadb_dump import CHANGE_MASTER, GTID_COMMENT, MariaDBDumpEngine
from tests.unit.engines.test_base import job


@pytest.mark.unit
def test_the_dump_is_one_consistent_transaction_with_every_object_and_no_password(tmp_path: Path) -> None:
    argv = MariaDBDumpEngine().argv(job(tmp_path), "/run/opts.cnf")
    assert argv[1] == "--defaults-extra-file=/run/opts.cnf"
    for flag in ("--single-transaction", "--master-data=2", "--gtid", "--routines", "--triggers", "--events"):
        assert flag in argv
    assert argv[-2:] == ["--databases", "shop"]
    assert not any("s3cret" in part for part in argv)


@pytest.mark.unit
def test_position_and_gtid_come_from_the_dump_header_and_tail() -> None:
    head = "-- CHANGE MASTER TO MASTER_LOG_FILE='mysql-bin.000007', MASTER_LOG_POS=3312;\n"
    tail = "-- SET GLOBAL gtid_slave_pos='0-1-4021';\n-- Dump completed on 2026-12-06\n"
    position = CHANGE_MASTER.search(head)
    assert position and (position["file"], position["position"]) == ("mysql-bin.000007", "3312")
    gtid = GTID_COMMENT.search(tail)
    assert gtid and gtid["gtid"] == "0-1-4021"
    assert CHANGE_MASTER.search("-- no position in this header") is None
