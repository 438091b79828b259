"""Heartbeat writer: one row per interval in ``shop.heartbeat``, so drills can measure lost time (RPO).

Run it as ``python -m drdrill.sandbox.heartbeat --defaults-file PATH --port N --interval 1``; the user
and password come from the option file's ``[client]`` group, never from argv.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from types import FrameType

import pymysql

from drdrill.endpoints import MySQLEndpoint, one_row
from drdrill.sandbox.option_login import add_login_options, login_endpoint

log = logging.getLogger(__name__)

HEARTBEAT_TABLE = "shop.heartbeat"
MAX_BACKOFF = 2.0


def beat_once(conn: pymysql.connections.Connection, server_id: int, table: str = HEARTBEAT_TABLE) -> int:
    """Insert one heartbeat row stamped with UTC ``NOW(6)`` into ``table`` and return its ``seq``."""
    with conn.cursor() as cur:
        cur.execute(
            f"INSERT INTO {table} (beat_at, server_id) VALUES (UTC_TIMESTAMP(6), %s)", (server_id,)
        )
        seq = int(cur.lastrowid)
    conn.commit()
    return seq


def run_heartbeat(
    endpoint: MySQLEndpoint, interval: float = 1.0, stop: threading.Event | None = None
) -> None:
    """Beat every ``interval`` seconds until ``stop`` is set (or SIGTERM); outlive server restarts."""
    stop = stop if stop is not None else threading.Event()
    with _stop_on_sigterm(stop):
        conn: pymysql.connections.Connection | None = None
        server_id = 0
        backoff = 0.0
        next_beat = time.monotonic()
        while not stop.is_set():
            try:
                if conn is None:
                    conn = endpoint.connect(connect_timeout=2, read_timeout=5, write_timeout=5)
                    server_id = _server_id(conn)
                    log.info("heartbeat connected to %s (server_id %d)", endpoint.describe(), server_id)
                beat_once(conn, server_id)
                backoff = 0.0
            except (pymysql.MySQLError, OSError) as exc:
                backoff = min(MAX_BACKOFF, backoff * 2 or 0.25)
                log.warning(
                    "heartbeat to %s failed (%s); retrying in %.2f s", endpoint.describe(), exc, backoff
                )
                _close_quietly(conn)
                conn = None
                stop.wait(backoff)
                continue
            now = time.monotonic()
            next_beat += interval
            if next_beat < now:  # after an outage, restart the cadence instead of bursting
                next_beat = now + interval
            stop.wait(next_beat - now)
        _close_quietly(conn)
    log.info("heartbeat to %s stopped", endpoint.describe())


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: write heartbeats until SIGTERM or SIGINT; credentials come from ``--defaults-file``."""
    parser = argparse.ArgumentParser(
        prog="python -m drdrill.sandbox.heartbeat", description=__doc__.splitlines()[0]
    )
    add_login_options(parser)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between beats (default 1)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    endpoint = login_endpoint(parser, args)
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s; stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    run_heartbeat(endpoint, args.interval, stop)
    return 0


def _server_id(conn: pymysql.connections.Connection) -> int:
    with conn.cursor() as cur:
        cur.execute("SELECT @@server_id")
        return int(one_row(cur)[0])


def _close_quietly(conn: pymysql.connections.Connection | None) -> None:
    if conn is not None:
        with contextlib.suppress(Exception):
            conn.close()


@contextlib.contextmanager
def _stop_on_sigterm(stop: threading.Event) -> Iterator[None]:
    """Set ``stop`` on SIGTERM while inside, if in the main thread and nobody else handles SIGTERM."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) not in (
        signal.SIG_DFL,
        None,
    ):
        yield  # not the main thread, or the program already handles SIGTERM itself
        return
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    raise SystemExit(main())
