"""The newest valid and newest proven backup of each target, as the drill history tells the store's story.

The store is the source of truth (``storage.catalog``: manifests, quarantine markers, ``proof.json``), but reading
it for every target on each page load is too slow (``bench/scorecard.py``: seconds for 30 targets). The drills
record everything that changes a backup's standing, so the history replays it in the catalog's terms:

- a passed backup drill made a valid backup;
- a restore drill's conclusion about the backup it restored (``storage.proof.DrillOutcome``: the newest
  conclusive one wins) makes it proven, or ``failed_drill`` until a later drill proves it again;
- a restore or PITR drill whose fetch found its objects broken quarantined it, one whose manifest was refused
  found it corrupt or invalid, and ``NEWER_BACKUPS_UNUSABLE`` names each newer backup a drill had to skip, with
  its status, as ``NO_VALID_BACKUP`` names each backup a drill found unusable (an object replaced or deleted by
  hand shows here once a drill has looked): such a backup is never usable again (a failed-drill one is, once a
  restore drill proves it).

What the history cannot know, an object deleted or changed by hand since the last drill looked, only the store shows
(``drdrill backups list``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from drdrill.findings import PASSED
from drdrill.storage.layout import BACKUP_ID_PATTERN, backup_time
from drdrill.storage.manifest import REFUSED_CODES
from drdrill.storage.proof import FAILED_DRILL, PROVEN, UNPROVEN, DrillOutcome

SET_ASIDE = frozenset({"ARTEFACT_MISSING", "ARTEFACT_CORRUPT", *REFUSED_CODES})  # a fetch that quarantines or refuses
FETCHING_DRILLS = ("restore", "pitr")  # both fetch and verify a backup first (``restore.steps.fetch_and_verify``)
NAMES_UNUSABLE = ("NEWER_BACKUPS_UNUSABLE", "NO_VALID_BACKUP")  # findings whose evidence lists backups that do not count
COLUMNS = ("target", "drill", "verdict", "run_id", "backup_id", "finished_at", "findings", "details")


@dataclass
class Standing:
    """What the history says of one target's backups so far: made (id -> when), proof, and set aside for good."""

    made: dict[str, str] = field(default_factory=dict)
    proof: dict[str, str] = field(default_factory=dict)  # id -> PROVEN or FAILED_DRILL
    proven_at: dict[str, str] = field(default_factory=dict)
    set_aside: set[str] = field(default_factory=set)

    def apply(self, row: Mapping[str, Any]) -> None:
        """One record, in the order the drills finished."""
        findings = json.loads(row["findings"] or "[]")
        codes = tuple(finding.get("code", "") for finding in findings)
        backup_id, drill = row["backup_id"], row["drill"]
        if drill == "backup" and row["verdict"] == PASSED and backup_id:
            self.made[backup_id] = row["finished_at"]
        for finding in findings:
            if finding.get("code") in NAMES_UNUSABLE:
                for skipped in (finding.get("evidence") or {}).get("skipped") or []:
                    self._unusable(skipped.get("backup_id"), skipped.get("status"))
        if drill in FETCHING_DRILLS and backup_id and SET_ASIDE.intersection(codes):
            self.set_aside.add(backup_id)
        if drill == "restore" and backup_id and not set(REFUSED_CODES).intersection(codes):
            details = json.loads(row["details"] or "{}")
            validated = row["verdict"] == PASSED or details.get("expectations") is not None
            conclusion = DrillOutcome(row["verdict"], codes, row["run_id"], "", row["finished_at"], validated).conclusion
            if conclusion != UNPROVEN:
                self.proof[backup_id] = conclusion
            if conclusion == PROVEN:
                self.proven_at[backup_id] = row["finished_at"]

    def _unusable(self, backup_id: Any, status: Any) -> None:
        if isinstance(backup_id, str):
            if status == FAILED_DRILL:
                self.proof[backup_id] = FAILED_DRILL
            else:
                self.set_aside.add(backup_id)

    def made_at(self, backup_id: str) -> str | None:
        """When the backup was made: its backup drill's finish, else the start time in its id (None: neither known)."""
        return self.made.get(backup_id) or (backup_time(backup_id).isoformat() if BACKUP_ID_PATTERN.match(backup_id)
                                            else None)

    def usable(self) -> list[str]:
        """The valid backups (proven ones included), newest made first."""
        known = set(self.made) | {backup_id for backup_id, standing in self.proof.items() if standing == PROVEN}
        return sorted((backup_id for backup_id in known if backup_id not in self.set_aside
                       and self.proof.get(backup_id) != FAILED_DRILL),
                      key=lambda backup_id: (self.made_at(backup_id) or "", backup_id), reverse=True)

    def newest(self) -> tuple[str | None, str | None]:
        """The newest valid and the newest proven backup's ids."""
        usable = self.usable()
        return (usable[0] if usable else None,
                next((backup_id for backup_id in usable if self.proof.get(backup_id) == PROVEN), None))


def standings(rows: Iterable[Any]) -> dict[str, Standing]:
    """Per target, the standing its records (``COLUMNS``, oldest finished first) leave its backups in."""
    found: dict[str, Standing] = {}
    for row in rows:
        found.setdefault(row["target"], Standing()).apply(row)
    return found
