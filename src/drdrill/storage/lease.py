"""Leases on backups in use: a restore or PITR drill says in the store which backup (and binlogs) it is reading.

One small JSON object per drill run, ``<prefix>/<target>/leases/<run key>.json``, naming the run, the drill, the
backup, the archived binlogs it replays (``{server key: [files]}``), the host and pid, and when it was taken and
expires. Retention never deletes what an active lease names. A lease is taken when the backup is chosen, renewed
at the next step that touches the store, and released when the drill ends; a run that dies leaves one that
expires after ``LEASE_BOUND`` (longer than any drill), is ignored from then on and removed by the next retention.
Leases are about real concurrency, so their times are wall-clock times, not the run's logical time.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone

from drdrill.storage.layout import TargetLayout, target_root
from drdrill.storage.objectstore import ObjectStore

LEASE_BOUND = timedelta(hours=12)  # a drill that renews no lease for this long is dead; README documents it
LEASE_SUFFIX = ".json"


@dataclass(frozen=True)
class Lease:
    """One drill run's hold on a backup and the binlogs it replays."""

    key: str
    run_id: str
    drill: str
    backup_id: str
    taken_at: str
    expires_at: str
    host: str = ""
    pid: int = 0
    binlogs: dict[str, list[str]] = field(default_factory=dict)

    def expired(self, now: datetime) -> bool:
        """Past its bound: the run that took it is dead, so it protects nothing any more."""
        return datetime.fromisoformat(self.expires_at) <= now

    def reason(self) -> str:
        """Why retention keeps what this lease names (the retention record shows it)."""
        return f"leased by run {self.run_id} ({self.drill} drill, until {self.expires_at[:19]})"

    def summary(self) -> dict[str, object]:
        """The JSON form ``drdrill backups list --json`` shows."""
        return asdict(self)


def leases_root(layout: TargetLayout) -> str:
    """The folder of a target's leases."""
    return f"{target_root(layout.prefix, layout.target)}leases/"


def lease_key(layout: TargetLayout, key: str) -> str:
    """The object of one run's lease (``key``: the run's path-safe key)."""
    return f"{leases_root(layout)}{key}{LEASE_SUFFIX}"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def take_lease(store: ObjectStore, layout: TargetLayout, *, key: str, run_id: str, drill: str, backup_id: str,
               binlogs: dict[str, list[str]] | None = None, now: datetime | None = None,
               bound: timedelta = LEASE_BOUND) -> Lease:
    """Write (or overwrite: a renewal) the run's lease on ``backup_id`` and ``binlogs``, valid for ``bound``."""
    taken = now or _now()
    lease = Lease(key=key, run_id=run_id, drill=drill, backup_id=backup_id, taken_at=taken.isoformat(),
                  expires_at=(taken + bound).isoformat(), host=socket.gethostname(), pid=os.getpid(),
                  binlogs=dict(binlogs or {}))
    store.put_bytes(lease_key(layout, key), json.dumps(asdict(lease), sort_keys=True).encode())
    return lease


def renew_lease(store: ObjectStore, layout: TargetLayout, key: str, *, backup_id: str | None = None,
                now: datetime | None = None) -> Lease | None:
    """Extend the run's lease (moved to ``backup_id`` when given); None when the run holds none."""
    held = read_lease(store, layout, key)
    if held is None:
        return None
    return take_lease(store, layout, key=key, run_id=held.run_id, drill=held.drill,
                      backup_id=backup_id or held.backup_id, binlogs=held.binlogs, now=now)


def release_lease(store: ObjectStore, layout: TargetLayout, key: str) -> None:
    """Give up the run's lease (nothing happens when it holds none)."""
    store.delete(lease_key(layout, key))


def read_lease(store: ObjectStore, layout: TargetLayout, key: str) -> Lease | None:
    """The run's lease; None when absent or unreadable (an unreadable lease names nothing it could protect)."""
    raw = store.get_bytes(lease_key(layout, key))
    try:
        return Lease(**json.loads(raw)) if raw else None
    except (ValueError, TypeError):
        return None


def list_leases(store: ObjectStore, layout: TargetLayout) -> list[Lease]:
    """Every readable lease of a target, expired ones included."""
    root = leases_root(layout)
    keys = [stored.key[len(root):-len(LEASE_SUFFIX)] for stored in store.list_objects(root)
            if stored.key.endswith(LEASE_SUFFIX)]
    return [lease for key in keys if (lease := read_lease(store, layout, key)) is not None]


def active_leases(store: ObjectStore, layout: TargetLayout, now: datetime | None = None) -> list[Lease]:
    """The leases still in force."""
    moment = now or _now()
    return [lease for lease in list_leases(store, layout) if not lease.expired(moment)]


def remove_expired_leases(store: ObjectStore, layout: TargetLayout, now: datetime | None = None) -> list[Lease]:
    """Delete the leases of dead runs (past their bound); returns them."""
    moment = now or _now()
    expired = [lease for lease in list_leases(store, layout) if lease.expired(moment)]
    for lease in expired:
        release_lease(store, layout, lease.key)
    return expired
