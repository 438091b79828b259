"""``drdrill stream``'s composition: a target's spool and archive from its config, signals that stop it cleanly."""

from __future__ import annotations

import io
import logging
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from drdrill.config import Target, load_config
from drdrill.drills.archive.stream import default_spool_dir, enable_progress_logging, stop_on_signals, stream_target
from drdrill.endpoints import MySQLEndpoint
from drdrill.storage.binlog import streamer
from drdrill.storage.memory import MemoryObjectStore

pytestmark = pytest.mark.unit


@pytest.fixture
def target(tmp_path: Path) -> Target:
    config = tmp_path / "drills.yaml"
    config.write_text(f"""
settings:
  history_url: sqlite:///{tmp_path}/history.sqlite
  work_dir: {tmp_path}/work
targets:
  - name: orders
    source_conn_id: orders_primary
    databases: [orders]
    storage: {{conn_id: orders_s3, bucket: drdrill-backups}}
    objectives: {{rto: 1h, rpo: 5m}}
    retention: {{keep_days: 14}}
""")
    return load_config(config).target("orders")


@pytest.fixture
def restored_logging_and_signals() -> Iterator[None]:
    handlers, level, propagate = list(streamer.log.handlers), streamer.log.level, streamer.log.propagate
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    yield
    streamer.log.handlers[:] = handlers
    streamer.log.setLevel(level)
    streamer.log.propagate = propagate
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def test_the_spool_is_per_target_below_the_work_dir(target: Target, tmp_path: Path) -> None:
    assert default_spool_dir(tmp_path / "work", target) == tmp_path / "work" / "binlog-stream" / "orders"


def test_streaming_uses_the_targets_spool_until_stopped(target: Target, tmp_path: Path) -> None:
    stop = threading.Event()

    def source_down() -> MySQLEndpoint:
        stop.set()
        raise ConnectionError("source down")

    status = stream_target(target, source_down, MemoryObjectStore(), work_dir=tmp_path / "work", stop=stop)
    assert status.last_error == "source down" and status.uploaded == []
    assert (tmp_path / "work" / "binlog-stream" / "orders" / ".lock").exists()


def test_sigterm_stops_the_streamer_and_says_so(restored_logging_and_signals: None) -> None:
    output = io.StringIO()
    enable_progress_logging(output)
    enable_progress_logging(output)  # once is enough: no duplicate lines
    stop = threading.Event()
    stop_on_signals(stop)
    os.kill(os.getpid(), signal.SIGTERM)
    assert stop.wait(5)
    assert output.getvalue().count("received SIGTERM; stopping") == 1
    assert streamer.log.level == logging.INFO and not streamer.log.propagate
