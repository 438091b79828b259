"""The fork record: where one server's binlog history was cut and restarted, and why.

A flashback fail-back rolls the old primary's errant transactions back and runs ``RESET MASTER TO <n>``.
Its files from ``first_file`` on then continue the new primary's history from ``resumed_from``, while
``last_file`` ends the old history at ``old_end``. The transactions between ``resumed_from`` and
``old_end`` (``rolled_back``) were undone. The record is stored next to that server's archived files
(``<server_key>/forks/<first_file>.json``), so the chain check can accept exactly this discontinuity and
a replay can stop the old history where it stopped counting.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from typing import Any

from drdrill.findings import Finding
from drdrill.servers.gtid import parse_gtid_position
from drdrill.storage.binlog.layout import BinlogLayout
from drdrill.storage.binlog.names import split_binlog_name
from drdrill.storage.layout import TargetLayout
from drdrill.storage.objectstore import ObjectStore


@dataclass(frozen=True)
class BinlogFork:
    """One fork of a server's binlog history; GTID positions in the archive's form (``"0-1-42"``)."""

    server_key: str
    last_file: str
    first_file: str
    old_end: str | None
    resumed_from: str
    rolled_back: tuple[str, ...]
    forked_at: datetime
    reason: str

    def to_json(self) -> bytes:
        """The record's bytes (times as ISO 8601 UTC)."""
        data = {**asdict(self), "rolled_back": list(self.rolled_back),
                "forked_at": self.forked_at.astimezone(timezone.utc).isoformat()}
        return json.dumps(data, indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes, where: str = "fork record") -> BinlogFork:
        """Parse a record; ValueError names what is wrong. Unknown keys are ignored."""
        try:
            data: Any = json.loads(raw)
        except ValueError as exc:
            raise ValueError(f"{where} is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError(f"{where} is not a JSON object")
        missing = [item.name for item in fields(cls) if item.name not in data]
        if missing:
            raise ValueError(f"{where} lacks {', '.join(missing)}")
        texts = ("server_key", "last_file", "first_file", "resumed_from", "reason")
        if not all(isinstance(data[name], str) for name in texts) or not isinstance(data["rolled_back"], list) \
                or not all(isinstance(gtid, str) for gtid in data["rolled_back"]) \
                or not isinstance(data["old_end"], (str, type(None))):
            raise ValueError(f"{where} has a value of the wrong type")
        return cls(server_key=data["server_key"], last_file=data["last_file"], first_file=data["first_file"],
                   old_end=data["old_end"] or None, resumed_from=data["resumed_from"],
                   rolled_back=tuple(data["rolled_back"]),
                   forked_at=datetime.fromisoformat(str(data["forked_at"])), reason=data["reason"])


def write_fork(store: ObjectStore, layout: BinlogLayout | TargetLayout, fork: BinlogFork) -> None:
    """Store a fork record under its server key, named by the file the new history starts with."""
    store.put_bytes(BinlogLayout.of(layout).fork_key(fork.server_key, fork.first_file), fork.to_json())


def read_forks(store: ObjectStore, layout: BinlogLayout | TargetLayout,
               key: str) -> tuple[dict[str, BinlogFork], list[Finding]]:
    """One server's fork records by the file each new history starts with; unusable ones become BINLOG_CORRUPT."""
    binlog_layout = BinlogLayout.of(layout)
    forks: dict[str, BinlogFork] = {}
    findings: list[Finding] = []
    for stored in store.list_objects(binlog_layout.fork_root(key)):
        where = f"s3://{store.bucket}/{stored.key}"
        try:
            fork = BinlogFork.from_json(store.get_bytes(stored.key) or b"", where)
            split_binlog_name(fork.last_file)
            split_binlog_name(fork.first_file)
            for position in (fork.old_end, fork.resumed_from, *fork.rolled_back):
                parse_gtid_position(position)
            if stored.key != binlog_layout.fork_key(fork.server_key, fork.first_file) or fork.server_key != key:
                raise ValueError(f"{where} describes {fork.server_key}/{fork.first_file}")
        except ValueError as exc:
            findings.append(Finding("BINLOG_CORRUPT", f"Fork record {where} is unusable: {exc}.",
                                    evidence={"server_key": key, "object": stored.key}))
            continue
        forks[fork.first_file] = fork
    return forks, findings
