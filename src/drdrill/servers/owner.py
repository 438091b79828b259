"""Owner markers: which drill run a local directory (scratch server, work files, canary) belongs to, and its lease.

An ``owner.json`` beside the files names the run, the host and the owning process (pid and start time), and when
the lease expires. Runs of the command line are bound to their process (``bind_runs_to_this_process``): their files
are orphans once that process is gone. Airflow runs span several task processes, so theirs hold by expiry alone.
A kept scratch server (``keep_scratch``) is never an orphan. These markers are not the backup leases in the store.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from drdrill.daemon import process_state

MARKER = "owner.json"
LEASE = timedelta(hours=24)  # how long an Airflow run's files (not bound to a process) outlive their last claim
_bound = False


def bind_runs_to_this_process() -> None:
    """From now on, runs claimed by this process end with it (the CLI's drills, and a DAG task that holds a
    scratch server or a canary from start to teardown: ``airflow.runtime.SpanRunner``)."""
    global _bound
    _bound = True


@dataclass(frozen=True)
class Owner:
    """The run that owns a directory; ``scratch``: the scratch server living there (``LocalScratch.to_dict``)."""

    run_id: str
    host: str
    pid: int | None
    pid_start: str | None
    expires_at: str
    kept: bool = False
    scratch: dict[str, Any] | None = None
    daemons: tuple[str, ...] = ()

    def process_alive(self) -> bool | None:
        """Whether the owning process still runs; None when that cannot be told here (no pid, another host)."""
        if self.pid is None or self.host != socket.gethostname():
            return None
        state = process_state(self.pid)
        return state is not None and state[0] != "Z" and state[1] == self.pid_start

    def is_orphan(self, now: datetime | None = None) -> bool:
        """Left by a dead run: its process is gone or its lease expired. Kept scratch servers never are."""
        if self.kept:
            return False
        if self.process_alive() is False:
            return True
        return (now or datetime.now(timezone.utc)) >= datetime.fromisoformat(self.expires_at)

    def to_dict(self) -> dict[str, Any]:
        """The marker's JSON form."""
        return {**asdict(self), "daemons": list(self.daemons)}


def claim(directory: Path, run_id: str, *, scratch: dict[str, Any] | None = None,
          daemons: tuple[str, ...] = ()) -> Owner:
    """Create ``directory`` (0700, if needed) and mark it as the run's, with a fresh lease."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    pid = os.getpid() if _bound else None
    state = process_state(pid) if pid else None
    owner = Owner(run_id=run_id, host=socket.gethostname(), pid=pid, pid_start=state[1] if state else None,
                  expires_at=(datetime.now(timezone.utc) + LEASE).isoformat(), scratch=scratch, daemons=daemons)
    _write(directory, owner)
    return owner


def read_owner(directory: Path) -> Owner | None:
    """The directory's owner marker, or None when it has none (or an unreadable one)."""
    try:
        data = json.loads((directory / MARKER).read_text())
        return Owner(**{**data, "daemons": tuple(data.get("daemons", ()))})
    except (FileNotFoundError, NotADirectoryError, ValueError, TypeError):
        return None


def mark_kept(directory: Path) -> None:
    """Keep the directory (a scratch server asked for with keep_scratch) until removed by hand."""
    owner = read_owner(directory)
    if owner is not None:
        _write(directory, replace(owner, kept=True))


def _write(directory: Path, owner: Owner) -> None:
    temporary = directory / f".{MARKER}.tmp"
    temporary.write_text(json.dumps(owner.to_dict()))
    temporary.replace(directory / MARKER)  # atomic: a reader never sees half a marker
