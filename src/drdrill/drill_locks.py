"""Run-level exclusion between drills of one target that must not overlap, held in the drill history database.

A failover kills the primary that a backup streams from, an archive reads and a restore checks against, and two
backups of one target would race: a drill run takes its target's lock at its first task and gives it up at its
record. One row per holder names the run, the drill and when the hold expires (the run's ``dagrun_timeout``: a
run that died holds nothing past the moment the scheduler would have ended it). A run in one process (the CLI's)
also names that process: once it is gone (killed), its hold is ignored at once; a DAG run's hold is ignored once
Airflow says that run has ended (``ended``: a run marked failed in the UI, or whose record never ran, frees its
target at once rather than at its expiry). Taking the lock is one transaction
that first bumps the target's guard row, so two workers taking it at once are serialised by the database (SQLite
locally, Postgres in a cluster) and can never both win. Wall-clock times: this is about real concurrency.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from drdrill.daemon import process_state
from drdrill.durations import format_duration
from drdrill.findings import DrillFailed, Finding
from drdrill.history import METADATA, history_engine

# Which drills cannot run alongside which, on one target (symmetric; the RPO monitor only reads, it conflicts with none).
CONFLICTS: dict[str, frozenset[str]] = {
    "failover": frozenset({"failover", "backup", "binlog_archive", "restore", "pitr"}),
    "backup": frozenset({"backup", "failover"}),
    "binlog_archive": frozenset({"failover"}),
    "restore": frozenset({"failover"}),
    "pitr": frozenset({"failover"}),
}
POLL_SECONDS = 5.0

DRILL_LOCKS = sa.Table(
    "drill_locks", METADATA,
    sa.Column("target", sa.String(64), primary_key=True),
    sa.Column("run_id", sa.String(250), primary_key=True),
    sa.Column("drill", sa.String(32), nullable=False),
    sa.Column("taken_at", sa.String(40), nullable=False),
    sa.Column("expires_at", sa.String(40), nullable=False),
    sa.Column("process", sa.String(200), nullable=True),  # host:pid:start of a holder bound to its process, else null
)
LOCK_GUARDS = sa.Table(  # one row per target, updated first by every taker: the database serialises them on it
    "drill_lock_guards", METADATA,
    sa.Column("target", sa.String(64), primary_key=True),
    sa.Column("turns", sa.Integer, nullable=False, default=0),
)
_READY: set[str] = set()


@dataclass(frozen=True)
class Holder:
    """A drill run holding its target."""

    target: str
    run_id: str
    drill: str
    taken_at: str
    expires_at: str
    process: str | None = None

    def describe(self) -> str:
        """``the backup drill run <id> (since ..., until ...)``."""
        return f"the {self.drill} drill run {self.run_id} (holding it since {self.taken_at[:19]}, until " \
               f"{self.expires_at[:19]} at the latest)"

    def is_live(self, moment: datetime) -> bool:
        """Not expired, and its process (if it named one on this host) still runs."""
        if datetime.fromisoformat(self.expires_at) <= moment:
            return False
        if self.process is None:
            return True
        host, pid, started = self.process.rsplit(":", 2)
        state = process_state(int(pid)) if host == socket.gethostname() else ("?", started)
        return state is not None and state[0] != "Z" and state[1] == started


def this_process() -> str:
    """``host:pid:start`` of this process, for a hold that ends with it (``take(process=...)``)."""
    state = process_state(os.getpid())
    return f"{socket.gethostname()}:{os.getpid()}:{state[1] if state else ''}"


def _engine(url: str) -> sa.Engine:
    engine = history_engine(url)
    if url not in _READY:  # the history may have been opened before this module defined its tables
        METADATA.create_all(engine, tables=[DRILL_LOCKS, LOCK_GUARDS])
        if "process" not in {column["name"] for column in sa.inspect(engine).get_columns(DRILL_LOCKS.name)}:
            with engine.begin() as connection:  # a table made before holds named their process
                connection.execute(sa.text(f"ALTER TABLE {DRILL_LOCKS.name} ADD COLUMN process VARCHAR(200)"))
        _READY.add(url)
    return engine


def _now() -> datetime:
    return datetime.now(timezone.utc)


def conflicts(drill: str, other: str) -> bool:
    """Whether a ``drill`` run may not run while an ``other`` run of the same target does."""
    return other in CONFLICTS.get(drill, frozenset())


HolderEnded = Callable[[Holder], bool]


def take(url: str, *, target: str, drill: str, run_id: str, expires_in: timedelta,
         now: datetime | None = None, process: str | None = None, ended: HolderEnded | None = None) -> Holder | None:
    """Take ``target`` for the run; None when taken, else the conflicting holder (nothing changes then).

    Taking it again from the same run (a retried first task) renews the hold; expired holds, holds of processes
    that are gone, and holds ``ended`` says are over (a DAG run Airflow has finished) are ignored and removed.
    ``process`` (``this_process()``): the hold ends with that process too.
    """
    moment = now or _now()

    def live(holder: Holder) -> bool:
        return holder.is_live(moment) and not (holder.process is None and ended is not None and ended(holder))

    engine = _engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(LOCK_GUARDS).values(target=target, turns=0))
    except sa.exc.IntegrityError:
        pass  # the guard row exists
    with engine.begin() as connection:
        connection.execute(sa.update(LOCK_GUARDS).where(LOCK_GUARDS.c.target == target)
                           .values(turns=LOCK_GUARDS.c.turns + 1))
        rows = connection.execute(sa.select(DRILL_LOCKS).where(DRILL_LOCKS.c.target == target)).mappings().all()
        holders = [Holder(**row) for row in rows]
        rivals = [holder for holder in holders if holder.run_id != run_id and conflicts(drill, holder.drill)]
        alive = {holder.run_id: live(holder) for holder in rivals}
        for holder in rivals:
            if alive[holder.run_id]:
                return holder
        gone = [holder.run_id for holder in holders
                if holder.run_id == run_id or not alive.get(holder.run_id, holder.is_live(moment))]
        connection.execute(sa.delete(DRILL_LOCKS).where(DRILL_LOCKS.c.target == target, DRILL_LOCKS.c.run_id.in_(gone)))
        connection.execute(sa.insert(DRILL_LOCKS).values(
            target=target, run_id=run_id, drill=drill, taken_at=moment.isoformat(),
            expires_at=(moment + expires_in).isoformat(), process=process))
    return None


def take_waiting(url: str, *, target: str, drill: str, run_id: str, expires_in: timedelta, wait: timedelta,
                 poll_seconds: float = POLL_SECONDS, process: str | None = None,
                 ended: HolderEnded | None = None) -> Holder | None:
    """``take``, trying again every ``poll_seconds`` for up to ``wait``; the holder that still conflicts, if any."""
    deadline = time.monotonic() + wait.total_seconds()
    while True:
        holder = take(url, target=target, drill=drill, run_id=run_id, expires_in=expires_in, process=process,
                      ended=ended)
        if holder is None or time.monotonic() >= deadline:
            return holder
        time.sleep(min(poll_seconds, max(deadline - time.monotonic(), 0.0)))


def hold(url: str, *, target: str, drill: str, run_id: str, expires_in: timedelta, wait: timedelta,
         process: str | None = None, ended: HolderEnded | None = None) -> None:
    """``take_waiting``; DRILL_CONFLICT naming the holder when a conflicting drill still holds ``target`` after
    ``wait`` (``timeouts.lock_wait``), raised before the run touches anything. The DAG's first task and the CLI's
    runners take their target through it."""
    holder = take_waiting(url, target=target, drill=drill, run_id=run_id, wait=wait, expires_in=expires_in,
                          process=process, ended=ended)
    if holder is not None:
        raise DrillFailed([Finding(
            "DRILL_CONFLICT", f"The {drill} drill of {target} did not start: {holder.describe()} holds the target, "
            f"and the two must not run at once; waited {format_duration(wait)} (timeouts.lock_wait).",
            evidence={"holder_run_id": holder.run_id, "holder_drill": holder.drill, "expires_at": holder.expires_at})])


def release(url: str, *, target: str, run_id: str) -> None:
    """Give up the run's hold on ``target`` (nothing happens when it holds none)."""
    with _engine(url).begin() as connection:
        connection.execute(sa.delete(DRILL_LOCKS).where(DRILL_LOCKS.c.target == target, DRILL_LOCKS.c.run_id == run_id))


def holders(url: str, target: str) -> list[Holder]:
    """Every hold on ``target``, expired ones included."""
    with _engine(url).connect() as connection:
        rows = connection.execute(sa.select(DRILL_LOCKS).where(DRILL_LOCKS.c.target == target)).mappings().all()
    return [Holder(**row) for row in rows]
