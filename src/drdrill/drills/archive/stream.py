"""Continuous binlog streaming for a configured target (``drdrill stream``): its spool, its archive, its supervision.

The caller resolves the connections and passes them in (``get_source`` is asked again at every (re)start,
so the streamer follows a failover's new primary); this module adds what the target's config decides.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TextIO

from drdrill.config import Target
from drdrill.drills.layouts import binlog_layout
from drdrill.endpoints import MySQLEndpoint
from drdrill.storage.binlog import streamer
from drdrill.storage.binlog.streamer import StreamerStatus, run_streamer
from drdrill.storage.objectstore import ObjectStore


def default_spool_dir(work_dir: Path, target: Target) -> Path:
    """``<work_dir>/binlog-stream/<target>``: one spool per target."""
    return Path(work_dir) / "binlog-stream" / target.name


def enable_progress_logging(stream: TextIO | None = None) -> None:
    """Show the streamer's INFO lines (files started, archived, restarts) on ``stream`` (stderr)."""
    log = streamer.log
    if any(getattr(handler, "_drdrill_streamer", False) for handler in log.handlers):
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler._drdrill_streamer = True  # type: ignore[attr-defined]
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM and SIGINT set ``stop`` (the streamer then ends its child and returns), saying so in the log."""
    def request_stop(signum: int, _frame: FrameType | None) -> None:
        streamer.log.info("received %s; stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)


def stream_target(target: Target, get_source: Callable[[], MySQLEndpoint], store: ObjectStore, *, work_dir: Path,
                  stop: threading.Event, spool_dir: Path | None = None, poll_interval: float = 1.0,
                  replica_server_id: int | None = None) -> StreamerStatus:
    """Stream ``target``'s binlogs into its archive in ``store`` until ``stop`` is set; returns what was done."""
    return run_streamer(get_source, store, binlog_layout(target),
                        spool_dir=spool_dir or default_spool_dir(work_dir, target), stop=stop,
                        poll_interval=poll_interval, replica_server_id=replica_server_id)
