"""Detached helper processes tracked by pid files: the sandbox's S3, Slack sink and heartbeat, the failover canary."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from drdrill.errors import ServerStartError
from drdrill.ports import ensure_port_free
from drdrill.toolenv import tool_environment

SANDBOX_PORT_FIX = "move the whole sandbox with DRDRILL_SANDBOX_PORT_BASE=<n> (it uses ports n+1..n+4)"


@dataclass(frozen=True)
class Daemon:
    """A detached process with a pid file and a log file under ``directory``.

    ``start_fix``: what to do when it does not come up (after fixing the cause its log shows).
    """

    name: str
    directory: Path
    port: int | None = None
    start_fix: str = "run 'drdrill sandbox up' again"

    @property
    def pid_file(self) -> Path:
        return self.directory / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.directory / f"{self.name}.log"

    def pid(self) -> int | None:
        """The recorded pid if that very process (same pid, same start time) is still alive and not a zombie.

        The pid file holds ``<pid> <start time>``: after a reboot or pid reuse another process may have the
        pid, and it must never be taken for ours (nor be stopped by ``stop``).
        """
        try:
            recorded_pid, recorded_start = self.pid_file.read_text().split()
            pid = int(recorded_pid)
        except (FileNotFoundError, ValueError):
            return None
        state = process_state(pid)
        if state is None or state[0] == "Z" or state[1] != recorded_start:
            return None
        return pid

    def start(self, argv: Sequence[str], ready: Callable[[], bool], timeout: float = 30,
              env: Mapping[str, str] | None = None) -> int:
        """Start unless running (in its own session: its process group is its pid), with ``env`` or the tools'
        environment; raise PortInUseError / ServerStartError with the log's tail."""
        running = self.pid()
        if running:
            return running
        if self.port is not None:
            ensure_port_free(self.port, f"the sandbox's {self.name}", SANDBOX_PORT_FIX)
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            process = subprocess.Popen(list(argv), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       start_new_session=True,
                                       env=dict(env) if env is not None else tool_environment())
        started = process_state(process.pid)
        self.pid_file.write_text(f"{process.pid} {started[1] if started else 'unknown'}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            if ready():
                return process.pid
            time.sleep(0.2)
        process.kill()
        tail = self.log_file.read_text(errors="replace")[-2000:]
        raise ServerStartError(f"{self.name} did not come up within {timeout:.0f}s. Its log ({self.log_file}) ends:\n{tail}",
                               f"Fix the cause shown in the log and {self.start_fix}.")

    def stop(self, timeout: float = 20, group: bool = False) -> None:
        """SIGTERM, then SIGKILL after ``timeout``; idempotent. ``group``: signal its whole process group (a
        server that forks workers), and SIGKILL what of the group outlives it."""
        pid = self.pid()
        if pid:
            send = os.killpg if group else os.kill
            send(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self.pid() and time.monotonic() < deadline:
                time.sleep(0.1)
            if self.pid():
                send(pid, signal.SIGKILL)
            if group:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)


def process_state(pid: int) -> tuple[str, str] | None:
    """``(state, start time in clock ticks since boot)`` of a live process from ``/proc/<pid>/stat``; None if gone.

    The command name (field 2) may hold spaces and parentheses, so the fields are read after its last ``)``.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return fields[0], fields[19]


def python_module_argv(module: str, *args: str) -> list[str]:
    """``python -m module args`` with this interpreter."""
    return [sys.executable, "-m", module, *args]
