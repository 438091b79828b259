"""``drdrill.progress``: a long step's bytes and rate at a steady interval, and the CLI's bar on a terminal."""

from __future__ import annotations

import io
import logging
import time

import pytest

from drdrill import progress
from drdrill.progress import ProgressLog, Snapshot, TerminalProgress, show_on_terminal

pytestmark = pytest.mark.unit
MiB = 1024 * 1024


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_long_step_logs_its_bytes_and_rate_at_each_interval_and_once_at_its_end(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv(progress.INTERVAL_ENV_VAR, "0.1")
    moved = 0
    with caplog.at_level(logging.INFO, logger="drdrill.progress"), ProgressLog("dumping shop", lambda: moved, 40 * MiB):
        for _ in range(4):
            moved += 10 * MiB
            time.sleep(0.12)
    snapshots = [record.progress for record in caplog.records]
    assert len(snapshots) >= 3 and [s.done for s in snapshots] == sorted(s.done for s in snapshots)
    assert snapshots[-1].finished and snapshots[-1].done == 40 * MiB
    assert not any(s.finished for s in snapshots[:-1])
    assert caplog.records[0].getMessage().startswith("dumping shop: ") and " of 40MiB (" in caplog.records[0].getMessage()
    assert caplog.records[-1].getMessage().startswith("dumping shop: done, 40MiB of 40MiB (100 %) in ")


def test_a_step_shorter_than_one_interval_or_one_that_failed_logs_no_end(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv(progress.INTERVAL_ENV_VAR, "5")
    with caplog.at_level(logging.INFO, logger="drdrill.progress"):
        with ProgressLog("quick", lambda: 1):
            pass
        monkeypatch.setenv(progress.INTERVAL_ENV_VAR, "0.05")
        with pytest.raises(RuntimeError), ProgressLog("broken", lambda: 1):
            time.sleep(0.12)
            raise RuntimeError("the tool died")
    assert caplog.records and not any(record.progress.finished for record in caplog.records)
    assert {record.progress.what for record in caplog.records} == {"broken"}


def test_the_interval_defaults_to_30_seconds_and_a_bad_value_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(progress.INTERVAL_ENV_VAR, raising=False)
    assert progress.interval() == 30.0
    monkeypatch.setenv(progress.INTERVAL_ENV_VAR, "soon")
    assert progress.interval() == 30.0
    monkeypatch.setenv(progress.INTERVAL_ENV_VAR, "2.5")
    assert progress.interval() == 2.5


def test_the_terminal_bar_redraws_one_line_and_keeps_a_finished_step() -> None:
    terminal = Terminal()
    handler = TerminalProgress(terminal)
    for snapshot in (Snapshot("downloading dump.sql.zst", 5 * MiB, 20 * MiB, 1.0),
                     Snapshot("downloading dump.sql.zst", 20 * MiB, 20 * MiB, 2.0, finished=True),
                     Snapshot("restoring shop", 3 * MiB, None, 1.0)):
        handler.emit(logging.makeLogRecord({"msg": snapshot.describe(), "progress": snapshot}))
    drawn = terminal.getvalue().split("\r\033[K")[1:]
    assert drawn[0] == "[######..................] downloading dump.sql.zst: 5MiB of 20MiB (25 %), 5MiB/s"
    assert drawn[1].startswith("[########################] downloading dump.sql.zst: done, ") and drawn[1].endswith("\n")
    assert drawn[2] == "restoring shop: 3MiB, 3MiB/s"


def test_the_cli_draws_the_bar_only_on_a_terminal_and_never_with_json(monkeypatch: pytest.MonkeyPatch) -> None:
    logger = logging.getLogger("drdrill.progress")
    monkeypatch.setattr(logger, "handlers", [])
    monkeypatch.setattr(logger, "propagate", True)
    monkeypatch.delenv(progress.INTERVAL_ENV_VAR, raising=False)
    assert show_on_terminal(quiet=True, stream=Terminal()) is None
    assert show_on_terminal(quiet=False, stream=io.StringIO()) is None  # a pipe or a file: no bar
    assert logger.handlers == [] and progress.interval() == 30.0
    terminal = Terminal()
    handler = show_on_terminal(quiet=False, stream=terminal)
    assert handler is not None and logger.handlers == [handler] and not logger.propagate
    assert progress.interval() == 1.0  # redrawn every second
    with ProgressLog("uploading", lambda: MiB):
        time.sleep(1.2)
    assert "uploading: done, 1MiB in " in terminal.getvalue()
