"""What the restore and PITR runners need when no server is: a source never contacted and an empty bucket."""

from __future__ import annotations

from drdrill.drills.restore.runner import RestoreServers
from drdrill.endpoints import MySQLEndpoint
from drdrill.storage.memory import MemoryObjectStore

NEVER_CONTACTED = MySQLEndpoint("127.0.0.1", 1, "drill", "unused")


def empty_servers() -> RestoreServers:
    """Servers of a target with nothing stored yet: the drill must stop before it contacts any server."""
    return RestoreServers(source=NEVER_CONTACTED, replica=None, store=MemoryObjectStore())
