"""The backup engines, registered once: config choices, CLI choices and the trigger form come from here.

Adding an engine: write ``engines/<name>.py`` with a :class:`BackupEngine` subclass (its ``backup`` and
its ``restore``) and add it to ``REGISTERED`` below.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drdrill.endpoints import MySQLEndpoint
from drdrill.engines.accounts import (
    ACCOUNTS_SECTION,
    OBJECT_GRANTS_SECTION,
    WHOLE_SCRIPT,
    accounts_object,
    restore_accounts,
)
from drdrill.engines.base import BackupEngine, RestoreJob
from drdrill.engines.mariabackup import MariaBackupEngine
from drdrill.engines.mariadb_dump import MariaDBDumpEngine
from drdrill.engines.mydumper import MydumperEngine
from drdrill.engines.restore import BINLOG_TRAILER, RestoreFailed, restore_sql
from drdrill.servers.scratch import LocalScratch
from drdrill.storage.manifest import Manifest

REGISTERED: tuple[type[BackupEngine], ...] = (MariaDBDumpEngine, MydumperEngine, MariaBackupEngine)
ENGINES: dict[str, type[BackupEngine]] = {engine.name: engine for engine in REGISTERED}
ALIASES: dict[str, str] = {alias: engine.name for engine in REGISTERED for alias in engine.aliases}


def engine_names() -> tuple[str, ...]:
    """The canonical engine names, in registration order."""
    return tuple(ENGINES)


def canonical_engine_name(name: str) -> str | None:
    """The canonical name for ``name`` or one of its aliases; None for an unknown engine."""
    canonical = ALIASES.get(name, name)
    return canonical if canonical in ENGINES else None


def describe_aliases() -> str:
    """``'mysqldump' for mariadb-dump, ...``: the accepted aliases, for messages."""
    return ", ".join(f"{alias!r} for {name}" for alias, name in ALIASES.items())


def get_engine(name: str) -> BackupEngine:
    """An engine instance by name (aliases accepted); ValueError listing the choices otherwise."""
    canonical = canonical_engine_name(name)
    if canonical is None:
        raise ValueError(f"unknown backup engine {name!r}; choose one of: {', '.join(engine_names())}")
    return ENGINES[canonical]()


def restore_backup(manifest: Manifest, files: Path, endpoint: MySQLEndpoint, scratch: LocalScratch | None,
                   work_dir: Path, parallel: int, apply_catchup: bool = True) -> dict[str, Any]:
    """Restore the data object with the manifest's engine, then (unless told not to) the catch-up segment, with
    the accounts object when the backup has one: on a logical engine its accounts before the data and their
    grants on objects after the catch-up; after a physical copy (which holds the grant tables) all of it.

    PITR skips the catch-up: it replays the archive from the backup's own consistent point instead.
    """
    canonical = canonical_engine_name(manifest.engine)
    if canonical is None:
        raise RestoreFailed("RESTORE_ERROR", f"Unknown engine {manifest.engine!r} in the manifest.")
    engine = ENGINES[canonical]()
    accounts = accounts_object(manifest)
    around_the_data = accounts is not None and not engine.copies_grant_tables
    accounts_seconds = 0.0
    if accounts is not None and around_the_data:
        accounts_seconds += restore_accounts(files / accounts.name, endpoint, work_dir / ACCOUNTS_SECTION.log_name,
                                             ACCOUNTS_SECTION)["seconds"]
    data = files / manifest.objects[0].name
    stats = engine.restore(RestoreJob(data, endpoint, scratch, work_dir, parallel))
    if manifest.catchup and apply_catchup:
        catchup = restore_sql(files / manifest.catchup.name, endpoint, work_dir / "catchup.log",
                              manifest.catchup.name, BINLOG_TRAILER)
        stats["catchup_seconds"] = catchup["seconds"]
    if accounts is not None:
        rest = OBJECT_GRANTS_SECTION if around_the_data else WHOLE_SCRIPT
        accounts_seconds += restore_accounts(files / accounts.name, endpoint, work_dir / rest.log_name, rest)["seconds"]
        stats["accounts_seconds"] = round(accounts_seconds, 3)
    return stats
