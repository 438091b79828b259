"""Progress of the long steps (dump and upload, download, restore, replay): bytes done and the rate, logged at a
steady interval into the task's log, and drawn as one updating line on a terminal by the CLI.

A step wraps its work in ``ProgressLog(what, done)``, where ``done()`` returns the bytes moved so far (a counter
the stream already keeps). Every ``interval`` seconds (``DRDRILL_PROGRESS_INTERVAL``, default 30) it logs
``what: 1.2 GiB of 3.4 GiB (35 %), 85 MiB/s`` to the ``drdrill.progress`` logger, and a last line when the step
ends (a step shorter than one interval logs nothing). The record carries the numbers (``record.progress``) for
:class:`TerminalProgress`, the CLI's bar.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from drdrill.sizes import format_size

log = logging.getLogger("drdrill.progress")
INTERVAL_ENV_VAR = "DRDRILL_PROGRESS_INTERVAL"
DEFAULT_INTERVAL = 30.0
BAR_WIDTH = 24


def interval() -> float:
    """Seconds between two progress lines: ``DRDRILL_PROGRESS_INTERVAL``, else 30."""
    value = os.environ.get(INTERVAL_ENV_VAR)
    try:
        return max(float(value), 0.05) if value else DEFAULT_INTERVAL
    except ValueError:
        return DEFAULT_INTERVAL


@dataclass(frozen=True)
class Snapshot:
    """Where a step stands: its bytes so far, of how many (if known), after how many seconds."""

    what: str
    done: int
    total: int | None
    seconds: float
    finished: bool = False

    @property
    def rate(self) -> float:
        """Bytes per second so far."""
        return self.done / self.seconds if self.seconds > 0 else 0.0

    def describe(self) -> str:
        """``what: 1.2 GiB of 3.4 GiB (35 %), 85.0 MiB/s`` (``done`` and the time taken when finished)."""
        amount = format_size(self.done)
        if self.total:
            amount += f" of {format_size(self.total)} ({min(100, round(100 * self.done / self.total))} %)"
        rate = f"{format_size(round(self.rate))}/s"
        if self.finished:
            return f"{self.what}: done, {amount} in {self.seconds:.1f} s ({rate})"
        return f"{self.what}: {amount}, {rate}"


class ProgressLog:
    """Logs a step's progress every ``interval()`` seconds while the ``with`` block runs, and once at its end if it
    logged before."""

    def __init__(self, what: str, done: Callable[[], int], total: int | None = None) -> None:
        self.what, self._done, self.total = what, done, total
        self._began = time.monotonic()
        self.reported = False  # a step shorter than one interval logs nothing at all
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="drdrill-progress", daemon=True)

    def snapshot(self, finished: bool = False) -> Snapshot:
        """The step's progress now."""
        return Snapshot(self.what, self._done(), self.total, time.monotonic() - self._began, finished)

    def _emit(self, snapshot: Snapshot) -> None:
        log.info(snapshot.describe(), extra={"progress": snapshot})

    def _run(self) -> None:
        every = interval()
        while not self._stop.wait(every):
            self._emit(self.snapshot())
            self.reported = True

    def __enter__(self) -> ProgressLog:
        self._began = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        if exc_type is None and self.reported:
            self._emit(self.snapshot(finished=True))


class TerminalProgress(logging.Handler):
    """The CLI's progress bar: each progress record redraws one line on ``stream`` (a terminal), and a finished
    step's line stays."""

    def __init__(self, stream: IO[str]) -> None:
        super().__init__(logging.INFO)
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        snapshot: Snapshot | None = getattr(record, "progress", None)
        if snapshot is None:
            return
        if snapshot.total:
            filled = min(BAR_WIDTH, round(BAR_WIDTH * snapshot.done / snapshot.total))
            bar = "[" + "#" * filled + "." * (BAR_WIDTH - filled) + "] "
        else:
            bar = ""
        self.stream.write(f"\r\033[K{bar}{snapshot.describe()}" + ("\n" if snapshot.finished else ""))
        self.stream.flush()


def show_on_terminal(*, quiet: bool, stream: IO[str] | None = None) -> TerminalProgress | None:
    """For the CLI: a bar on ``stream`` (stderr) redrawn every second, unless ``quiet`` (``--json``) or the stream
    is not a terminal; then nothing changes (progress goes nowhere: the CLI logs warnings only)."""
    target: Any = stream or sys.stderr
    if quiet or not target.isatty():
        return None
    handler = TerminalProgress(target)
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    os.environ.setdefault(INTERVAL_ENV_VAR, "1")
    return handler
