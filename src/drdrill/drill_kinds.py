"""The drill kinds, declared once: their record names, DAG ids and schedule keys derive from here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DrillKind:
    """One kind of drill: ``name`` in records and Slack, ``schedule_key`` in the config's ``schedules``."""

    name: str
    schedule_key: str
    title: str

    def dag_id(self, target: str) -> str:
        """``dr_<schedule key>__<target>``, the DAG id users and checks rely on."""
        return f"dr_{self.schedule_key}__{target}"


BACKUP = DrillKind("backup", "backup", "backup drill")
BINLOG_ARCHIVE = DrillKind("binlog_archive", "binlog_archive", "binlog archiving")
RPO_MONITOR = DrillKind("rpo_monitor", "rpo_monitor", "RPO monitor")
RESTORE = DrillKind("restore", "restore_drill", "restore drill")
PITR = DrillKind("pitr", "pitr_drill", "point-in-time-recovery drill")
FAILOVER = DrillKind("failover", "failover_drill", "failover drill")

KINDS: tuple[DrillKind, ...] = (BACKUP, RESTORE, PITR, FAILOVER, BINLOG_ARCHIVE, RPO_MONITOR)
BY_NAME: dict[str, DrillKind] = {kind.name: kind for kind in KINDS}


def drill_names() -> tuple[str, ...]:
    """The record names of every drill kind (``backup``, ``restore``, ...)."""
    return tuple(BY_NAME)


def schedule_keys() -> tuple[str, ...]:
    """The keys of a target's ``schedules`` section, one per drill kind."""
    return tuple(kind.schedule_key for kind in KINDS)
