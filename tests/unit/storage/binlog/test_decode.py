"""Reading mariadb-binlog's text output: only event headers count, GTIDs per domain, the file's starting Gtid_list."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from drdrill.storage.binlog.decode import summarize_decoded_binlog

pytestmark = pytest.mark.unit

DECODED = b"""/*!50530 SET @@SESSION.PSEUDO_SLAVE_MODE=1*/;
# at 4
#261121  8:28:48 server id 1  end_log_pos 256 CRC32 0x1f2e3d4c \tStart: binlog v 4, server v 10.11.19-MariaDB-log
# at 256
#261121  8:28:48 server id 1  end_log_pos 299 CRC32 0x1f2e3d4c \tGtid list [0-1-6,
# 3-1-2]
#261121  8:28:49 server id 1  end_log_pos 341 CRC32 0x374a6897 \tGTID 0-1-7 trans
#Q> INSERT INTO t VALUES ('#261121  9:00:00 server id 1  end_log_pos 1 \tGTID 0-1-99 trans')
INSERT INTO t VALUES ('#261121  9:00:00 server id 1  end_log_pos 1 \tGTID 0-1-98 trans')
#261121  8:28:50 server id 1  end_log_pos 500 \tGTID 3-1-3 trans
#261121  8:29:01 server id 1  end_log_pos 600 CRC32 0x374a6897 \tGTID 0-1-8 trans
#261121  8:29:02 server id 1  end_log_pos 700 CRC32 0x374a6897 \tRotate to mysql-bin.000003  pos: 4
"""


def test_gtids_per_domain_times_and_the_starting_position() -> None:
    summary = summarize_decoded_binlog(DECODED.splitlines(keepends=True))
    assert summary.start == {0: (1, 6), 3: (1, 2)}
    assert summary.first == {0: (1, 7), 3: (1, 3)} and summary.last == {0: (1, 8), 3: (1, 3)}
    assert summary.end == {0: (1, 8), 3: (1, 3)}
    assert summary.first_event_at == datetime(2026, 11, 21, 8, 28, 48, tzinfo=timezone.utc)
    assert summary.last_event_at == datetime(2026, 11, 21, 8, 29, 2, tzinfo=timezone.utc)
    assert summary.events == 6  # the statement text and the #Q> annotation are not events


def test_a_file_without_transactions_ends_where_it_started() -> None:
    lines = [b"#261121  8:28:48 server id 1  end_log_pos 299 \tGtid list [0-1-6]\n"]
    summary = summarize_decoded_binlog(lines)
    assert summary.first == {} and summary.start == summary.end == {0: (1, 6)} and summary.events == 1


def test_nothing_decoded_is_an_empty_summary() -> None:
    summary = summarize_decoded_binlog([])
    assert (summary.events, summary.first_event_at, summary.end) == (0, None, {})


def test_account_statements_with_a_clear_text_password_are_summarized_by_position() -> None:
    lines = [b"# at 370\n", b"#261207 18:17:16 server id 1  end_log_pos 488 CRC32 0x500083ef \tQuery\tthread_id=5\n",
             b"CREATE USER 'a1'@'%' IDENTIFIED BY 'Plain-1'\n", b"/*!*/;\n", b"# at 488\n"]
    summary = summarize_decoded_binlog(lines)
    assert [(item.position, item.statement) for item in summary.clear_passwords] == [(370, "CREATE USER")]
    assert summarize_decoded_binlog(DECODED.splitlines(keepends=True)).clear_passwords == []
