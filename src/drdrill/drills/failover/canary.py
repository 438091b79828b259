"""The canary writer: one numbered row every interval into whichever candidate server accepts writes.

It runs as its own process (``python -m drdrill.drills.failover.canary``) so it outlives the Airflow task that
starts it, and it appends every acknowledged row (``seq server_id epoch``) to an ack file: the drill
compares that file with what the new primary holds to count the rows a failover lost. Logins come
from option files, never argv.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from typing import Any

import pymysql

from drdrill.checks.checksum import quote_identifier
from drdrill.daemon import Daemon, python_module_argv
from drdrill.endpoints import MySQLEndpoint
from drdrill.errors import DrdrillError

CANARY_TABLE = "drdrill_canary"
STOP_TIMEOUT = 10.0


def canary_table(database: str) -> str:
    """``<database>.drdrill_canary``."""
    return f"{database}.{CANARY_TABLE}"


def quoted(qualified: str) -> str:
    """``schema.table`` quoted for SQL."""
    schema, table = qualified.split(".", 1)
    return f"{quote_identifier(schema)}.{quote_identifier(table)}"


def promotion_write_sql(table: str) -> str:
    """The one row a new primary writes to prove it takes writes (into the canary table, outside any run)."""
    return (f"INSERT INTO {quoted(table)} (run_id, seq, written_at, server_id) "
            "VALUES ('promotion', 0, UTC_TIMESTAMP(6), @@server_id) "
            "ON DUPLICATE KEY UPDATE written_at = VALUES(written_at), server_id = VALUES(server_id)")


def create_table_sql(table: str) -> str:
    """DDL of the canary table (one row per write, keyed by drill run and sequence number)."""
    return (f"CREATE TABLE IF NOT EXISTS {quoted(table)} (run_id VARCHAR(250) NOT NULL, seq BIGINT NOT NULL, "
            "written_at DATETIME(6) NOT NULL, server_id INT UNSIGNED NOT NULL, PRIMARY KEY (run_id, seq)) "
            "ENGINE=InnoDB")


def create_table(endpoint: MySQLEndpoint, table: str) -> None:
    """Create the canary table from a session in its own schema: a replay filtered by database (the PITR drill's
    ``mariadb-binlog --database``) keeps a DDL statement by the session's database, not the table's, and would
    otherwise replay the canary's rows into a table it never created."""
    schema = table.split(".", 1)[0]
    replace(endpoint, database=schema).fetch_all(create_table_sql(table))


@dataclass(frozen=True)
class Ack:
    """One canary row a server acknowledged (COMMIT returned)."""

    seq: int
    server_id: int
    at: float


def read_acks(path: Path) -> Iterator[Ack]:
    """The acks in the order they were written (a torn last line is ignored)."""
    if not path.exists():
        return
    with open(path, encoding="ascii") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) == 3:
                yield Ack(int(parts[0]), int(parts[1]), float(parts[2]))


def wait_for_ack(directory: Path, matches: Callable[[Ack], bool], timeout: float) -> Ack | None:
    """The first acknowledged row that ``matches``, polling the ack file for up to ``timeout``; None if none came."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for ack in read_acks(directory / "acks.txt"):
            if matches(ack):
                return ack
        time.sleep(0.05)
    return None


def losses(acked: Sequence[Ack], present: set[int]) -> dict[str, Any]:
    """The record's canary counts: rows ``acked`` by the old primary, those whose seq is not ``present`` now."""
    lost = [ack for ack in acked if ack.seq not in present]
    survived = [ack for ack in acked if ack.seq in present]
    return {"canary_acked_by_old_primary": len(acked), "canary_rows_lost": len(lost),
            "lost_canary_seqs": [ack.seq for ack in lost][:100],
            "last_surviving_write_at": survived[-1].at if survived else None,
            "last_lost_write_at": lost[-1].at if lost else None}


def run_canary(endpoints: Sequence[MySQLEndpoint], table: str, run_id: str, interval: float, acks: Path,
               stop: threading.Event) -> None:
    """Write until ``stop``: each attempt gets a new seq; a failed server is left for the next candidate."""
    conn: pymysql.connections.Connection | None = None
    current = 0
    seq = 0
    statement = (f"INSERT INTO {quoted(table)} (run_id, seq, written_at, server_id) "
                 "VALUES (%s, %s, UTC_TIMESTAMP(6), @@server_id)")
    with open(acks, "a", encoding="ascii") as ack_file:
        next_write = time.monotonic()
        while not stop.is_set():
            seq += 1
            try:
                if conn is None:
                    conn = endpoints[current].connect(connect_timeout=1, read_timeout=2, write_timeout=2)
                with conn.cursor() as cur:
                    cur.execute(statement, (run_id, seq))
                    cur.execute("SELECT @@server_id")
                    row = cur.fetchone()
                ack_file.write(f"{seq} {int(row[0]) if row else 0} {time.time():.6f}\n")
                ack_file.flush()
            except (pymysql.MySQLError, OSError):
                with contextlib.suppress(Exception):
                    if conn is not None:
                        conn.close()
                conn = None
                current = (current + 1) % len(endpoints)  # read-only or gone: try the next candidate
            next_write += interval
            stop.wait(max(0.0, next_write - time.monotonic()))
    if conn is not None:
        conn.close()


# -- process control -------------------------------------------------------------------------------


def _daemon(directory: Path) -> Daemon:
    return Daemon("canary", directory, start_fix="run the drill again")


def start_canary(endpoints: Sequence[MySQLEndpoint], table: str, run_id: str, interval: float,
                 directory: Path) -> dict[str, str | int]:
    """Start the canary process detached; its option files, ack file and log live in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    stop_canary(directory)  # a retried task must not leave two writers
    arguments = ["--table", table, "--run-id", run_id, "--interval", str(interval), "--acks", str(directory / "acks.txt")]
    for index, endpoint in enumerate(endpoints):
        path = directory / f"candidate-{index}.cnf"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(endpoint.option_text())
        arguments += ["--defaults-file", str(path)]
    pid = _daemon(directory).start(python_module_argv("drdrill.drills.failover.canary", *arguments), ready=lambda: True)
    return {"pid": pid, "acks": str(directory / "acks.txt"), "table": table}


def wait_first_ack(directory: Path, timeout: float = 10) -> Ack:
    """The canary's first acknowledged row; DrdrillError when none arrives in time."""
    first = wait_for_ack(directory, lambda _ack: True, timeout)
    if first is not None:
        return first
    log_file = _daemon(directory).log_file
    log_tail = log_file.read_text(errors="replace")[-1500:] if log_file.exists() else ""
    raise DrdrillError(f"the canary wrote no row within {timeout:.0f} s. Its log: {log_tail or '(empty)'}",
                       "give the canary login INSERT and SELECT on the canary table (failover_drill.canary_conn_id).")


def stop_canary(directory: Path) -> bool:
    """Stop the canary process if it runs; True when one was stopped. Leftover option files are removed."""
    daemon = _daemon(directory)
    running = daemon.pid() is not None
    daemon.stop(timeout=STOP_TIMEOUT)
    for path in directory.glob("candidate-*.cnf"):
        path.unlink()
    return running


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--defaults-file", action="append", required=True, help="one per candidate server, in order")
    parser.add_argument("--table", required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--acks", required=True)
    args = parser.parse_args(argv)
    stop = threading.Event()

    def on_term(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    endpoints = [MySQLEndpoint.from_option_file(path) for path in args.defaults_file]
    for path in args.defaults_file:  # read once: the passwords do not stay on disk while the canary runs
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    run_canary(endpoints, args.table, args.run_id, args.interval, Path(args.acks), stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
