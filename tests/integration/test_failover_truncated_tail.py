"""Lost transactions on an old primary whose last binlog ends in a torn event, from a real ``kill -9`` mid-commit.

The primary is killed while a ~50 MB transaction is being written to its binlog, after a few transactions
the replica never received. MariaDB 10.11 restarts over the torn file without repairing it: InnoDB rolls the
prepared transaction back (its XID never reached the binlog), ``gtid_binlog_pos`` ends at the last whole
transaction, a new binlog file is opened, and the torn file keeps its tail, so the server's own dump thread
stops there with error 1236 ("binlog truncated in the middle of event"). ``list_lost``, ``save_lost`` and
``flashback`` must handle exactly the committed-but-not-replicated transactions; a copy that does not hold
all of them (a binlog damaged inside the lost range) must be refused before anything is rolled back.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pymysql
import pytest

from drdrill.errors import DrdrillError
from drdrill.drills.failover import errant
from drdrill.servers.topology import rejoin_as_replica
from drdrill.storage.objectstore import ObjectStore
from drdrill.storage.s3 import S3ObjectStore
from tests.helpers.failover_helpers import Pair, make_pair, scalar

pytestmark = pytest.mark.integration

TABLES = ("drill.items", "drill.bulk")
LOST_WRITES = [  # each item is one transaction the replica never receives
    ["INSERT INTO drill.items VALUES (5000, 'lost-1')"],
    ["UPDATE drill.items SET note = CONCAT(note, '-changed') WHERE id < 50"],
    # ~100 KB in several rows events: a single event hid a flashback bug once
    ["INSERT INTO drill.items SELECT id + 1000, REPEAT('x', 300) FROM drill.items WHERE id < 300"],
    ["DELETE FROM drill.items WHERE id BETWEEN 100 AND 119"],
    ["UPDATE drill.items SET note = 'two-statements' WHERE id = 7", "INSERT INTO drill.items VALUES (5001, 'lost-2')"],
]
TORN_COMMIT = "INSERT INTO drill.bulk SELECT seq, REPEAT('y', 1000) FROM drill.seq_1_to_50000"  # ~50 MB of rows
_EVENT = re.compile(r"^#\d{6} [ \d]\d:\d\d:\d\d server id \d+\s+end_log_pos (\d+) .*?\t(.*)$")


@dataclass
class Crashed:
    """The pair after the primary died mid-commit and came back, and what the test knows about it."""

    pair: Pair
    since: str  # what the replica (the new primary) had when it was cut off
    lost: list[str]  # GTIDs the primary committed after that, in order
    torn: Path  # the binlog file that ends in a torn event


def _crash_during_a_big_commit(factory, tmp_path: Path) -> Crashed:
    """Cut the replica off, commit LOST_WRITES, SIGKILL the primary while TORN_COMMIT is written, restart it."""
    pair = make_pair(factory, tmp_path)
    primary = pair.primary
    scalar(primary, "CREATE TABLE drill.bulk (id INT PRIMARY KEY, pad VARCHAR(1000)) ENGINE=InnoDB")
    since = scalar(primary, "SELECT @@gtid_binlog_pos")
    assert scalar(pair.replica, "SELECT MASTER_GTID_WAIT(%s, 30)", (since,)) == 0
    scalar(pair.replica, "STOP SLAVE IO_THREAD")
    lost = []
    for statements in LOST_WRITES:
        with contextlib.closing(primary.root_connect()) as conn, conn.cursor() as cur:
            cur.execute("BEGIN")
            for statement in statements:
                cur.execute(statement)
            cur.execute("COMMIT")
            cur.execute("SELECT @@gtid_binlog_pos")
            lost.append(cur.fetchone()[0])
    assert len(set(lost)) == len(LOST_WRITES)

    torn = primary.datadir / scalar(primary, "SHOW MASTER STATUS")
    size_before = torn.stat().st_size
    outcome: dict[str, object] = {}

    def commit_bulk() -> None:
        try:
            scalar(primary, TORN_COMMIT)
            outcome["committed"] = True
        except pymysql.MySQLError as exc:
            outcome["error"] = exc

    writer = threading.Thread(target=commit_bulk, daemon=True)
    writer.start()
    deadline = time.monotonic() + 120
    while torn.stat().st_size == size_before and writer.is_alive() and time.monotonic() < deadline:
        time.sleep(0.0005)
    primary.kill()  # the binlog is growing: the commit is being written
    writer.join(30)
    assert "error" in outcome, f"the big commit was not interrupted: {outcome}"

    torn_size = torn.stat().st_size
    whole_end = _events(torn)[-1][1]
    assert size_before < whole_end < torn_size, \
        f"the kill must land inside an event of the big commit ({size_before=}, {whole_end=}, {torn_size=})"

    primary.start()
    # What MariaDB does with the torn file on restart: crash recovery, the torn transaction rolled back,
    # the GTID position at the last whole transaction, a new binlog, the torn tail left as it was.
    assert "Recovering after a crash using mysql-bin" in primary.error_log.read_text()
    assert scalar(primary, "SELECT @@gtid_binlog_pos") == lost[-1]
    assert scalar(primary, "SELECT COUNT(*) FROM drill.bulk") == 0
    assert scalar(primary, "SHOW MASTER STATUS") != torn.name
    assert torn.stat().st_size == torn_size
    return Crashed(pair, since, lost, torn)


def _events(binlog: Path) -> list[tuple[int, int, str]]:
    """(start, end, description) of each whole event in a local binlog file, read with mariadb-binlog."""
    text = subprocess.run([errant.BINLOG_TOOL, str(binlog)], capture_output=True, check=True).stdout.decode(
        errors="replace")
    events: list[tuple[int, int, str]] = []
    for line in text.splitlines():
        if match := _EVENT.match(line):  # events follow each other: one starts where the one before ended
            events.append((events[-1][1] if events else 4, int(match.group(1)), match.group(2)))
    return events


def _checksums(server) -> dict[str, int]:
    with contextlib.closing(server.root_connect()) as conn, conn.cursor() as cur:
        cur.execute(f"CHECKSUM TABLE {', '.join(TABLES)}")
        return {str(name): int(value) for name, value in cur.fetchall()}


def _counts(server) -> dict[str, int]:
    return {table: scalar(server, f"SELECT COUNT(*) FROM {table}") for table in TABLES}


def _store(moto_s3) -> ObjectStore:
    store = S3ObjectStore(moto_s3.client, "failover-tests")
    store.ensure_bucket()
    return store


def test_lost_transactions_before_a_torn_binlog_tail_are_listed_saved_and_rolled_back_exactly(
        mariadb_factory, moto_s3, tmp_path: Path) -> None:
    crashed = _crash_during_a_big_commit(mariadb_factory, tmp_path)
    pair, since, lost = crashed.pair, crashed.since, crashed.lost
    old, new = pair.servers.primary, pair.servers.replica
    assert _checksums(pair.primary) != _checksums(pair.replica)

    listed = errant.list_lost(old, since, tmp_path)
    assert [item.gtid for item in listed] == lost
    assert all(item.tables == ["drill.items"] for item in listed)  # nothing of the torn drill.bulk commit
    assert max(item.bytes for item in listed) > 90_000

    store = _store(moto_s3)
    saved = errant.save_lost(old, since, store, "torn/lost.sql.zst", tmp_path)
    assert saved == "s3://failover-tests/torn/lost.sql.zst"
    text = subprocess.run(["zstd", "-dc"], input=store.get_bytes("torn/lost.sql.zst"), capture_output=True,
                          check=True).stdout
    assert [item.gtid for item in errant.parse_transactions(text.splitlines(keepends=True))] == lost
    assert text.count(b"\nCOMMIT/*!*/;\n") == len(lost)  # each one whole, up to its COMMIT

    with old.option_file(directory=tmp_path) as option_file:  # the server's own dump stops at the torn event
        raw = subprocess.run([errant.BINLOG_TOOL, f"--defaults-extra-file={option_file}", "--read-from-remote-server",
                              "--raw", "--to-last-log", f"--result-file={tmp_path}/raw-", crashed.torn.name],
                             capture_output=True, check=False)
    assert raw.returncode != 0 and b"binlog truncated in the middle of event" in raw.stderr

    errant.flashback(old, since, tmp_path)
    assert _checksums(pair.primary) == _checksums(pair.replica)  # exactly the lost transactions were rolled back
    assert _counts(pair.primary) == _counts(pair.replica) == {"drill.items": 300, "drill.bulk": 0}
    assert scalar(pair.primary, "SELECT @@gtid_binlog_pos") == ""  # the rollback itself was not binlogged
    assert scalar(pair.primary, "SELECT @@gtid_current_pos") == since
    assert int(scalar(pair.primary, "SHOW MASTER STATUS").rsplit(".", 1)[1]) > int(crashed.torn.name.rsplit(".", 1)[1])

    # the old primary can now follow the promoted replica by GTID
    for statement in ("STOP SLAVE", "RESET SLAVE ALL", "SET GLOBAL read_only = OFF"):
        scalar(pair.replica, statement)
    rejoin_as_replica(old, new, new, since, timeout=60)
    scalar(pair.replica, "INSERT INTO drill.items VALUES (9000, 'after failover')")
    assert scalar(pair.primary, "SELECT MASTER_GTID_WAIT(%s, 30)", (scalar(pair.replica, "SELECT @@gtid_binlog_pos"),)) == 0
    assert _checksums(pair.primary) == _checksums(pair.replica)


@pytest.mark.parametrize("damage", ["between_the_statements_of_the_last_transaction", "inside_an_earlier_transaction"])
def test_flashback_refuses_a_binlog_that_ends_inside_the_lost_transactions_and_changes_nothing(
        mariadb_factory, tmp_path: Path, damage: str) -> None:
    crashed = _crash_during_a_big_commit(mariadb_factory, tmp_path)
    pair, since, lost = crashed.pair, crashed.since, crashed.lost
    old = pair.servers.primary
    events = _events(crashed.torn)
    gtid_at = [i for i, (_, _, what) in enumerate(events) if what.startswith("GTID ")]
    if damage == "between_the_statements_of_the_last_transaction":  # an event boundary: no read error anywhere
        last = next(i for i in gtid_at if events[i][2].startswith(f"GTID {lost[-1]} "))
        cut = [start for start, _, what in events[last:] if what.startswith("Annotate_rows:")][1]  # the INSERT's
    else:  # in the middle of a rows event of the ~100 KB transaction
        big = next(i for i in gtid_at if events[i][2].startswith(f"GTID {lost[2]} "))
        start, end, _ = next(event for event in events[big:] if "_rows:" in event[2] and event[1] - event[0] > 4000)
        cut = start + (end - start) // 2
    os.truncate(crashed.torn, cut)  # the file is closed: the server wrote its new history to the next one

    checksums, counts = _checksums(pair.primary), _counts(pair.primary)
    position = scalar(pair.primary, "SELECT @@gtid_binlog_pos")
    binlogs = old.fetch_all("SHOW BINARY LOGS")
    if damage == "inside_an_earlier_transaction":
        with pytest.raises(DrdrillError, match="could not read the old primary's binlog"):
            errant.list_lost(old, since, tmp_path)

    with pytest.raises(DrdrillError) as caught:
        errant.flashback(old, since, tmp_path)
    assert lost[-1] in caught.value.problem and "nothing was rolled back" in caught.value.problem
    assert _checksums(pair.primary) == checksums and _counts(pair.primary) == counts  # not half applied
    assert scalar(pair.primary, "SELECT @@gtid_binlog_pos") == position == lost[-1]  # nor reset
    assert old.fetch_all("SHOW BINARY LOGS") == binlogs
