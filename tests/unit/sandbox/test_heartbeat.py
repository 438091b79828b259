"""``drdrill.sandbox.heartbeat``: the writer's command line, its retries while the server is away, and its stop.

Beats into a live server (one a second, surviving a restart) are in ``tests/integration/test_sample_data.py``;
here the server is a closed port, so every attempt fails and the writer must keep trying until told to stop.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from drdrill.endpoints import MySQLEndpoint
from drdrill.ports import find_free_port
from drdrill.sandbox.heartbeat import HEARTBEAT_TABLE, main, run_heartbeat
from drdrill.sandbox.sample_data import SCHEMA_STATEMENTS

pytestmark = pytest.mark.unit

SECRET = "Heartbeat-secret-5v"


def closed_endpoint() -> MySQLEndpoint:
    return MySQLEndpoint(host="127.0.0.1", port=find_free_port(), user="shop_app", password=SECRET)


def test_the_writer_beats_into_a_table_the_sample_schema_creates() -> None:
    created = "\n".join(SCHEMA_STATEMENTS)
    table = created.split(f"CREATE TABLE IF NOT EXISTS {HEARTBEAT_TABLE} (", 1)[1].split(") ENGINE=", 1)[0]
    assert "beat_at DATETIME(6) NOT NULL" in table and "server_id INT UNSIGNED NOT NULL" in table


def test_without_a_server_it_retries_with_backoff_until_stopped(caplog: pytest.LogCaptureFixture) -> None:
    stop = threading.Event()
    endpoint = closed_endpoint()
    writer = threading.Thread(target=run_heartbeat, args=(endpoint, 0.05, stop))
    with caplog.at_level(logging.INFO, logger="drdrill.sandbox.heartbeat"):
        writer.start()
        deadline = time.monotonic() + 10
        while sum("failed" in record.getMessage() for record in caplog.records) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        writer.join(5)
    assert not writer.is_alive(), "the writer did not stop when asked"
    retries = [record.getMessage() for record in caplog.records if "failed" in record.getMessage()]
    assert len(retries) >= 2 and f"heartbeat to {endpoint.describe()} failed" in retries[0]
    assert "retrying in 0.25 s" in retries[0] and "retrying in 0.50 s" in retries[1], "the backoff must grow"
    assert all(SECRET not in record.getMessage() for record in caplog.records)
    assert caplog.records[-1].getMessage() == f"heartbeat to {endpoint.describe()} stopped"


def test_in_the_main_thread_it_stops_on_sigterm_and_puts_the_handler_back() -> None:
    stop = threading.Event()
    before = signal.getsignal(signal.SIGTERM)
    during: list[object] = []

    def stop_soon() -> None:
        time.sleep(0.3)
        during.append(signal.getsignal(signal.SIGTERM))
        stop.set()

    threading.Thread(target=stop_soon).start()
    run_heartbeat(closed_endpoint(), 0.05, stop)
    assert signal.getsignal(signal.SIGTERM) is before
    if before is signal.SIG_DFL:
        assert during and during[0] is not signal.SIG_DFL, "no SIGTERM handler while beating"


def test_the_command_reads_credentials_from_the_option_file_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    option_file = tmp_path / "heartbeat.cnf"
    option_file.write_text(f"[client]\nuser=shop_app\npassword={SECRET}\nhost=127.0.0.1\nport={find_free_port()}\n")
    log = tmp_path / "heartbeat.log"
    with open(log, "w") as handle:
        writer = subprocess.Popen([sys.executable, "-m", "drdrill.sandbox.heartbeat", "--defaults-file",
                                   str(option_file), "--interval", "0.1"], stdout=handle, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while "retrying" not in log.read_text() and time.monotonic() < deadline and writer.poll() is None:
            time.sleep(0.05)
        writer.send_signal(signal.SIGTERM)
        writer.wait(timeout=10)
    finally:
        writer.kill()
    output = log.read_text()
    assert writer.returncode == 0, output
    assert "heartbeat to shop_app@127.0.0.1:" in output and "failed" in output
    assert "received SIGTERM; stopping" in output and output.rstrip().endswith("stopped")
    assert SECRET not in output


def test_a_missing_option_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--defaults-file", str(tmp_path / "nowhere.cnf")])
    assert caught.value.code == 2
    assert "nowhere.cnf does not exist" in capsys.readouterr().err


def test_an_option_file_without_a_user_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    option_file = tmp_path / "heartbeat.cnf"
    option_file.write_text(f"[client]\npassword={SECRET}\n")
    with pytest.raises(SystemExit) as caught:
        main(["--defaults-file", str(option_file)])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "has no user in [client]. Fix: add user=NAME." in err and SECRET not in err


def test_the_password_is_not_a_command_line_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "--defaults-file" in out and "--password" not in out and "--user" not in out
