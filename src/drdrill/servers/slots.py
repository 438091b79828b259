"""Scratch-server slots on one worker: how many local scratch servers it may run at once, checked at provisioning.

``settings.scratch_slots`` sets the number; left null, a new server needs the memory one takes (its buffer pool,
the server's own and the restore client's) still available on the machine. The count and the new server's
owner marker are taken under a file lock in the work directory, so two drills on one worker cannot both take
the last slot. A full worker is waited on (the policy's ``wait``: the target's ``timeouts.lock_wait``, the other
drills end meanwhile), then refused with SCRATCH_SLOTS_FULL (the drill is could-not-verify, nothing restored).
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from drdrill.servers.reaper import find_leftovers
from drdrill.servers.scratch import SCRATCH_BUFFER_POOL
from drdrill.sizes import format_size, parse_size

SERVER_OVERHEAD = 512 * 1024 * 1024  # mariadbd's own memory beyond the buffer pool, and the restore client's
SCRATCH_MEMORY = parse_size(SCRATCH_BUFFER_POOL.replace("M", "MiB")) + SERVER_OVERHEAD
POLL_SECONDS = 5.0


class ScratchSlotsFull(Exception):
    """The worker runs as many scratch servers as it may; ``problem`` says how many and why."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


@dataclass(frozen=True)
class SlotPolicy:
    """How many scratch servers a worker may run (``limit``; None: by its memory) and how long a drill waits for one."""

    limit: int | None = None
    wait: timedelta = timedelta(0)
    poll_seconds: float = POLL_SECONDS


@dataclass(frozen=True)
class SlotCheck:
    """What the provisioning found: scratch servers running here, the limit, the memory available."""

    running: int
    limit: int | None
    available_memory: int | None


def available_memory() -> int | None:
    """``MemAvailable`` of this machine in bytes (None where /proc/meminfo does not say)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def running_scratch(work_dir: Path, *, besides: str) -> int:
    """Local scratch servers of live runs under ``work_dir`` (kept ones too), not counting run key ``besides``."""
    return sum(1 for leftover in find_leftovers(work_dir)
               if leftover.scratch() is not None and not leftover.owner.is_orphan() and leftover.id != besides)


def check_slot(work_dir: Path, key: str, slots: int | None, memory: int | None) -> SlotCheck:
    """The slot check for run ``key``; ScratchSlotsFull when no slot is free."""
    running = running_scratch(work_dir, besides=key)
    if slots is not None and running >= slots:
        raise ScratchSlotsFull(f"this worker already runs {running} scratch server(s) of other drills, its limit "
                               f"(settings.scratch_slots: {slots})")
    if slots is None and memory is not None and memory < SCRATCH_MEMORY:
        raise ScratchSlotsFull(f"this worker has {format_size(memory)} of memory available and a scratch server "
                               f"needs {format_size(SCRATCH_MEMORY)} ({running} scratch server(s) of other drills "
                               "run here)")
    return SlotCheck(running, slots, memory)


@contextlib.contextmanager
def _slot_lock(work_dir: Path) -> Iterator[None]:
    lock_dir = work_dir / "scratch"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / ".slots.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def scratch_slot(work_dir: Path, key: str, policy: SlotPolicy) -> Iterator[SlotCheck]:
    """Hold the worker's slot lock while run ``key`` checks for a free slot and marks its new server as its own;
    a full worker is checked again every ``poll_seconds`` (the lock released in between) for up to ``wait``."""
    deadline = time.monotonic() + policy.wait.total_seconds()
    while True:
        with _slot_lock(work_dir):
            try:
                check = check_slot(work_dir, key, policy.limit, available_memory())
            except ScratchSlotsFull as full:
                if time.monotonic() >= deadline:
                    waited = f"; waited {round(policy.wait.total_seconds())} s (timeouts.lock_wait)" \
                        if policy.wait else ""
                    raise ScratchSlotsFull(full.problem + waited) from None
            else:
                yield check
                return
        time.sleep(min(policy.poll_seconds, max(deadline - time.monotonic(), 0.0)))
