"""The backup engines, registered once: config choices, CLI choices and the trigger form come from here.

Adding an engine: write ``engines/<name>.py`` with a :class:`BackupEngine` subclass and add it to
``REGISTERED`` below.
"""

from __future__ import annotations

from drdrill.engines.base import BackupEngine
from drdrill.engines.mariabackup import MariaBackupEngine
from drdrill.engines.mariadb_dump import MariaDBDumpEngine
from drdrill.engines.mydumper import MydumperEngine

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
