"""What every backup engine provides: argv with secrets in option files, streaming to S3, a consistent point."""

from __future__ import annotations

import re
import shutil
import subprocess
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from drdrill.endpoints import MySQLEndpoint
from drdrill.errors import ToolError
from drdrill.servers.scratch import LocalScratch
from drdrill.storage.layout import TargetLayout
from drdrill.storage.manifest import BinlogPosition, ObjectEntry
from drdrill.storage.objectstore import ObjectStore
from drdrill.storage.pipeline import STALL_TIMEOUT, StreamedObject
from drdrill.toolenv import tool_environment


@dataclass(frozen=True)
class BackupJob:
    """Everything an engine needs for one backup run."""

    source: MySQLEndpoint
    databases: tuple[str, ...]
    store: ObjectStore
    layout: TargetLayout
    backup_id: str
    work_dir: Path
    parallel: int = 2
    compression_level: int = 3
    datadir: str = ""
    stall_timeout: float = STALL_TIMEOUT  # seconds a tool may write nothing before it is stopped as stalled

    def private_dir(self) -> Path:
        """This run's own 0700 directory (tool logs, option files); removed when the dump step ends."""
        path = self.work_dir / self.backup_id
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return path


@dataclass(frozen=True)
class RestoreJob:
    """Everything an engine needs to load one fetched backup into a scratch server."""

    data: Path  # the fetched data object (the manifest's first object)
    endpoint: MySQLEndpoint
    scratch: LocalScratch | None  # the server the drill created on this worker; None for a scratch connection
    work_dir: Path
    parallel: int = 2


@dataclass(frozen=True)
class EngineResult:
    """What a finished engine run stored and where its consistent point is."""

    objects: tuple[ObjectEntry, ...]
    consistent_point: BinlogPosition
    tool_version: str


class ArchiveTruncated(ToolError):
    """The tool exited 0 but its output lacks the completion marker it always writes."""


class BackupEngine(ABC):
    """A backup tool wrapped so that its output streams to S3 and its success is checked, not assumed."""

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()  # other names config and CLI accept for this engine
    tools: ClassVar[tuple[str, ...]]
    data_object: ClassVar[str]
    copies_grant_tables: ClassVar[bool] = False  # its data is a physical copy of the instance, mysql schema included

    def missing_tools(self) -> list[str]:
        """Executables this engine needs that are not on PATH."""
        return [tool for tool in self.tools if shutil.which(tool) is None]

    def tool_version(self) -> str:
        """First line of the main tool's ``--version``."""
        reply = subprocess.run([self.tools[0], "--version"], capture_output=True, text=True, check=False,
                               env=tool_environment())
        return (reply.stdout or reply.stderr).strip().splitlines()[0] if (reply.stdout or reply.stderr) else "unknown"

    @abstractmethod
    def backup(self, job: BackupJob) -> EngineResult:
        """Run the backup, streaming into ``job.layout.backup_root(job.backup_id)``."""

    @abstractmethod
    def restore(self, job: RestoreJob) -> dict[str, Any]:
        """Load this engine's data object into the scratch server; RestoreFailed says what went wrong."""

    def entry(self, streamed: StreamedObject, role: str = "data") -> ObjectEntry:
        """The manifest entry for an uploaded object."""
        return ObjectEntry.of_upload(streamed.upload, role, streamed.outcome.raw_bytes)


def stderr_file(job: BackupJob, tool: str) -> Path:
    """Where a tool's stderr of this run goes (in the work dir, never in S3)."""
    return job.work_dir / job.backup_id / f"{tool}.stderr.log"


def search_position(pattern: re.Pattern[str], text: str, what: str) -> BinlogPosition:
    """Pull file/position (and GTID when the pattern has it) out of a tool's output."""
    match = pattern.search(text)
    if not match:
        raise ToolError(
            f"Could not find the binlog position in {what}.",
            "Enable binary logging on the source (log_bin) and grant the backup user BINLOG MONITOR and RELOAD.",
        )
    groups = match.groupdict()
    return BinlogPosition(groups["file"], int(groups["position"]), groups.get("gtid") or "")


def database_list(databases: Sequence[str]) -> list[str]:
    """Validated schema names (they reach argv)."""
    for name in databases:
        if not re.fullmatch(r"[A-Za-z0-9_$]+", name):
            raise ValueError(f"unsupported database name {name!r}")
    return list(databases)
