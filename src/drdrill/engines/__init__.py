"""Backup engines by name."""

from __future__ import annotations

from drdrill.engines.base import BackupEngine
from drdrill.engines.mariabackup import MariaBackupEngine
from drdrill.engines.mariadb_dump import MariaDBDumpEngine
from drdrill.engines.mydumper import MydumperEngine

ENGINES: dict[str, type[BackupEngine]] = {
    engine.name: engine for engine in (MariaDBDumpEngine, MydumperEngine, MariaBackupEngine)
}
ALIASES = {"mysqldump": "mariadb-dump", "mariadb-backup": "mariabackup"}


def get_engine(name: str) -> BackupEngine:
    """An engine instance by name (aliases accepted); ValueError listing the choices otherwise."""
    canonical = ALIASES.get(name, name)
    if canonical not in ENGINES:
        raise ValueError(f"unknown backup engine {name!r}; choose one of: {', '.join(sorted(ENGINES))}")
    return ENGINES[canonical]()
