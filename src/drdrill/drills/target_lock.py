"""The target's drill lock (``drill_locks``) for a drill run in one process (the CLI's runners), taken and released
as the DAG's first and record tasks do, so a CLI failover never kills a primary a DAG's backup streams from."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from drdrill import drill_locks
from drdrill.config import Target
from drdrill.config.timeouts import run_timeout

FirstStep = Callable[[Callable[[], Any]], Callable[[], Any]]


@contextmanager
def holding_target(target: Target, drill: str, *, history_url: str, run_id: str,
                   steps: Sequence[str]) -> Iterator[FirstStep]:
    """Yields ``first``: ``first(step)`` takes the lock, then runs ``step``; wrap the drill's first step in it, so a
    conflicting holder (after ``timeouts.lock_wait``) is that step's DRILL_CONFLICT, as in the DAG. The hold lasts what
    the DAG's run of ``steps`` may (``run_timeout``, one try each) and ends with this process: a killed drill frees its
    target at once. Released on exit, whatever happened."""
    def first(step: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:
            drill_locks.hold(history_url, target=target.name, drill=drill, run_id=run_id,
                             wait=target.timeouts.lock_wait,
                             expires_in=run_timeout(target, drill, [(name, 0) for name in steps]),
                             process=drill_locks.this_process())
            return step()

        return run

    try:
        yield first
    finally:
        drill_locks.release(history_url, target=target.name, run_id=run_id)
