"""Lost transactions listed from mariadb-binlog's text output: GTID, commit time, size, tables."""

from __future__ import annotations

import pytest

from drdrill.drills.failover.errant import parse_transactions

pytestmark = pytest.mark.unit


def test_lost_transactions_are_parsed_with_time_size_and_tables() -> None:
    lines = [
        b"# at 400\n",
        b"#261121 10:00:01 server id 1  end_log_pos 442 CRC32 0x1\tGTID 0-1-9 trans\n",
        b"# at 442\n",
        b"#261121 10:00:01 server id 1  end_log_pos 500 CRC32 0x2 \tTable_map: `drill`.`items` mapped to number 30\n",
        b"# at 500\n",
        b"#261121 10:00:01 server id 1  end_log_pos 9400 CRC32 0x3 \tWrite_rows: table id 30 flags: STMT_END_F\n",
        b"# at 9400\n",
        b"#261121 10:00:01 server id 1  end_log_pos 9431 CRC32 0x4 \tXid = 12\n",
        b"# at 9431\n",
        b"#261121  9:59:59 server id 1  end_log_pos 9473 CRC32 0x5\tGTID 0-1-10 trans\n",
        b"# at 9473\n",
        b"#261121  9:59:59 server id 1  end_log_pos 9504 CRC32 0x6 \tXid = 13\n",
    ]
    first, second = parse_transactions(lines)
    assert (first.gtid, first.bytes, first.tables) == ("0-1-9", 9031, ["drill.items"])
    assert first.committed_at == "2026-11-21T10:00:01+00:00"
    assert (second.gtid, second.bytes, second.committed_at) == ("0-1-10", 73, "2026-11-21T09:59:59+00:00")


def test_output_without_a_gtid_event_lists_nothing() -> None:
    assert parse_transactions([b"# at 4\n", b"#261121 10:00:01 server id 1  end_log_pos 256 CRC32 0x1 \tStart\n"]) == []


def test_a_transaction_ends_at_its_commit_not_at_the_rotate_and_next_file_after_it() -> None:
    """The events after the last COMMIT (Rotate, the next file's headers) once gave negative or absurd sizes."""
    lines = [
        b"# at 400\n",
        b"#261121 10:00:01 server id 1  end_log_pos 442 CRC32 0x1\tGTID 0-1-9 trans\n",
        b"START TRANSACTION\n",
        b"/*!*/;\n",
        b"# at 442\n",
        b"#261121 10:00:01 server id 1  end_log_pos 9400 CRC32 0x3 \tWrite_rows: table id 30 flags: STMT_END_F\n",
        b"# at 9400\n",
        b"#261121 10:00:01 server id 1  end_log_pos 9431 CRC32 0x4 \tXid = 12\n",
        b"COMMIT/*!*/;\n",
        b"# at 9431\n",
        b"#261121 10:00:02 server id 1  end_log_pos 9475 CRC32 0x5 \tRotate to mysql-bin.000002  pos: 4\n",
        b"# at 4\n",
        b"#261121 10:00:02 server id 1  end_log_pos 256 CRC32 0x6 \tStart: binlog v 4, server v 10.11\n",
        b"# at 256\n",
        b"#261121 10:00:03 server id 1  end_log_pos 298 CRC32 0x7\tGTID 0-1-10 ddl\n",
        b"# at 298\n",
        b"#261121 10:00:03 server id 1  end_log_pos 420 CRC32 0x8 \tQuery\tthread_id=5\texec_time=0\terror_code=0\n",
        b"CREATE TABLE t (id INT)\n",
        b"# at 420\n",
        b"#261121 10:00:04 server id 1  end_log_pos 0 CRC32 0x9 \tRotate to mysql-bin.000003  pos: 4\n",
    ]
    first, second = parse_transactions(lines)
    assert (first.gtid, first.bytes) == ("0-1-9", 9031)
    assert (second.gtid, second.bytes) == ("0-1-10", 164)
