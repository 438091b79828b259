"""The orphan reaper: finds what drill runs left in the work dir (by their owner markers) and removes what dead runs left.

Only directories with an owner marker are touched, and a scratch ``mariadbd`` is stopped only when its command line
names that scratch server's own option file (``LocalMariaDB.stop``): a server the project did not create is never
touched. Kept scratch servers are listed, and removed only when asked by id.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drdrill.daemon import Daemon
from drdrill.errors import DrdrillError
from drdrill.servers.owner import MARKER, Owner, read_owner
from drdrill.servers.scratch import LocalScratch, destroy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Leftover:
    """One directory a drill run owns: a scratch server or a run's work files."""

    directory: Path
    owner: Owner

    @property
    def id(self) -> str:
        """What ``drdrill scratch rm`` takes: the directory's name (the run's key) for a scratch server."""
        return self.directory.name

    def scratch(self) -> LocalScratch | None:
        """The scratch server living here, if this is one: a marker naming a server elsewhere is not believed."""
        info = self.owner.scratch
        if info is None or Path(info["base_dir"]).resolve() != self.directory.resolve():
            return None
        return LocalScratch(info["name"], Path(info["base_dir"]), int(info["port"]))

    def describe(self) -> dict[str, Any]:
        """Secret-free facts for listings: where, whose, and how to reach and remove it."""
        scratch = self.scratch()
        facts: dict[str, Any] = {
            "id": self.id, "kind": "scratch" if scratch else "work", "directory": str(self.directory),
            "run_id": self.owner.run_id, "host": self.owner.host, "pid": self.owner.pid,
            "expires_at": self.owner.expires_at, "kept": self.owner.kept, "orphan": self.owner.is_orphan(),
        }
        if scratch is not None:
            facts.update({"port": scratch.port, "running": scratch.instance.is_running(),
                          "option_file": str(scratch.option_file),
                          "connect": f"mariadb --defaults-file={scratch.option_file}",
                          "remove": f"drdrill scratch rm {self.id}"})
        return facts


def find_leftovers(work_dir: Path) -> list[Leftover]:
    """Every owned directory one or two levels below ``work_dir`` (scratch servers, runs' files), oldest first."""
    found = []
    for marker in sorted([*work_dir.glob(f"*/{MARKER}"), *work_dir.glob(f"*/*/{MARKER}")]):
        owner = read_owner(marker.parent)
        if owner is not None:
            found.append(Leftover(marker.parent, owner))
    return sorted(found, key=lambda leftover: leftover.owner.expires_at)


def remove(leftover: Leftover) -> None:
    """Stop what runs there (scratch server, daemons like the canary) and delete the directory."""
    for name in leftover.owner.daemons:
        Daemon(name, leftover.directory).stop()
    scratch = leftover.scratch()
    if scratch is not None:
        destroy(scratch)
    shutil.rmtree(leftover.directory, ignore_errors=True)


def reap_orphans(work_dir: Path) -> list[dict[str, Any]]:
    """Remove everything dead runs left (never a kept scratch server); what was removed, described."""
    removed = []
    for leftover in find_leftovers(Path(work_dir)):
        if leftover.owner.is_orphan():
            facts = leftover.describe()
            try:
                remove(leftover)
            except (OSError, DrdrillError) as exc:  # one stuck leftover must not stop a drill from starting
                log.warning("could not remove %s left by run %s: %s", leftover.directory, leftover.owner.run_id, exc)
                continue
            log.info("removed %s left by dead run %s", leftover.directory, leftover.owner.run_id)
            removed.append(facts)
    return removed


def remove_run(work_dir: Path, key: str) -> list[str]:
    """Remove what run ``key`` owns (its work files, its scratch server unless kept); the directories removed."""
    removed = []
    for leftover in find_leftovers(Path(work_dir)):
        if leftover.directory.name == key and not leftover.owner.kept:
            remove(leftover)
            removed.append(str(leftover.directory))
    return removed


def remove_scratch(work_dir: Path, scratch_id: str) -> dict[str, Any]:
    """Remove one scratch server by id (kept or not, but never one whose run is still alive)."""
    for leftover in find_leftovers(Path(work_dir)):
        if leftover.id == scratch_id and leftover.owner.scratch is not None:
            if leftover.owner.process_alive():
                raise DrdrillError(f"Scratch server {scratch_id} belongs to run {leftover.owner.run_id}, whose process "
                                   f"(pid {leftover.owner.pid}) still runs.", "Stop that drill first (Ctrl-C cleans up).")
            facts = leftover.describe()
            remove(leftover)
            return facts
    raise DrdrillError(f"No scratch server {scratch_id!r} under {work_dir}.", "See 'drdrill scratch list' for the ids.")
