"""The proof record: what the restore drills of one backup found, kept next to its manifest (``proof.json``).

A backup's *standing* is ``proven`` (a restore drill restored and validated it and found nothing wrong with
it), ``failed_drill`` (a restore drill found the backup itself broken: a code in ``findings.BACKUP_INDICTING``)
or ``unproven``. The newest conclusive drill wins: a later pass makes a failed-drill backup proven again and
a later indicting failure makes a proven one failed. A drill that could not verify the backup (a
COULD_NOT_VERIFY-type finding, or it never got as far as validating) decides nothing: the record keeps the
drill that last did (``decided_by``). Findings that are not about the backup (RTO_EXCEEDED, BACKUP_STALE,
NEWER_BACKUPS_UNUSABLE, ...) fail the drill but still prove the backup it restored.

The record is not one of the backup's objects: the catalog leaves it out of the stored size and the checks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from drdrill.errors import DrdrillError
from drdrill.findings import BACKUP_INDICTING, CATALOG, COULD_NOT_VERIFY
from drdrill.storage.layout import TargetLayout
from drdrill.storage.objectstore import ObjectStore

FORMAT_VERSION = 1
PROVEN = "proven"
FAILED_DRILL = "failed_drill"
UNPROVEN = "unproven"


class ProofError(DrdrillError):
    """A proof record that cannot be read: it proves nothing."""


@dataclass(frozen=True)
class DrillOutcome:
    """One restore drill's result about the backup it restored: verdict, finding codes, the run, when."""

    verdict: str
    findings: tuple[str, ...]
    run_id: str
    run_key: str
    finished_at: str
    validated: bool  # the restored server went through the validation suite
    airflow_run: str | None = None
    drill: str = "restore"

    @property
    def conclusion(self) -> str:
        """What this drill says about the backup: failed_drill, proven, or unproven (it could not tell)."""
        if any(code in BACKUP_INDICTING for code in self.findings):
            return FAILED_DRILL
        # a code this version does not know counts as "could not tell", never as a pass
        could_not_tell = any(CATALOG.get(code, (COULD_NOT_VERIFY,))[0] == COULD_NOT_VERIFY for code in self.findings)
        return PROVEN if self.validated and not could_not_tell else UNPROVEN

    @property
    def indicting(self) -> tuple[str, ...]:
        """The codes that indict the backup."""
        return tuple(code for code in self.findings if code in BACKUP_INDICTING)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"verdict": self.verdict, "conclusion": self.conclusion, "findings": list(self.findings),
                "run": {"drill": self.drill, "run_id": self.run_id, "key": self.run_key,
                        "airflow_run": self.airflow_run},
                "finished_at": self.finished_at, "validated": self.validated}

    @classmethod
    def from_dict(cls, data: Any, where: str) -> DrillOutcome:
        """Inverse of to_dict; ProofError names what is wrong."""
        try:
            run = data["run"]
            findings = data["findings"]
            if not isinstance(findings, list) or not all(isinstance(code, str) for code in findings):
                raise TypeError("findings is not a list of codes")
            return cls(verdict=str(data["verdict"]), findings=tuple(findings), run_id=str(run["run_id"]),
                       run_key=str(run["key"]), finished_at=str(data["finished_at"]),
                       validated=data["validated"] is True, airflow_run=run.get("airflow_run"),
                       drill=str(run.get("drill", "restore")))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ProofError(f"{where} is not a complete proof record ({type(exc).__name__}: {exc}).",
                             "Re-run the restore drill of this backup; it rewrites the record.") from exc


@dataclass(frozen=True)
class Proof:
    """A backup's proof record: its latest restore drill and the newest one that decided its standing."""

    backup_id: str
    latest: DrillOutcome
    decided_by: DrillOutcome | None

    @property
    def standing(self) -> str:
        """proven, failed_drill or unproven."""
        return self.decided_by.conclusion if self.decided_by else UNPROVEN

    def to_json(self) -> bytes:
        """The record's bytes: the latest drill's fields at the top, the standing and the drill that decided it."""
        data = {"format": FORMAT_VERSION, "backup_id": self.backup_id, "standing": self.standing,
                **self.latest.to_dict(), "decided_by": self.decided_by.to_dict() if self.decided_by else None}
        return json.dumps(data, indent=2).encode()

    def to_summary(self) -> dict[str, Any]:
        """A small description for ``backups list``: the standing, the latest drill and the one that decided."""
        latest = self.latest
        return {"standing": self.standing, "verdict": latest.verdict, "findings": list(latest.findings),
                "run_id": latest.run_id, "airflow_run": latest.airflow_run, "finished_at": latest.finished_at,
                "decided_by_run": self.decided_by.run_id if self.decided_by else None}

    @classmethod
    def from_json(cls, raw: bytes, where: str = "proof.json") -> Proof:
        """Parse a record; ProofError names what is wrong."""
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise ProofError(f"{where} is not JSON: {exc}.", "Re-run the restore drill of this backup.") from exc
        if not isinstance(data, dict) or not isinstance(data.get("backup_id"), str):
            raise ProofError(f"{where} is not a proof record.", "Re-run the restore drill of this backup.")
        decided = data.get("decided_by")
        return cls(backup_id=data["backup_id"], latest=DrillOutcome.from_dict(data, where),
                   decided_by=DrillOutcome.from_dict(decided, f"{where} (decided_by)") if decided else None)


def next_proof(previous: Proof | None, backup_id: str, outcome: DrillOutcome) -> Proof:
    """The record after one more drill: it decides the standing unless it could not tell."""
    if outcome.conclusion != UNPROVEN:
        return Proof(backup_id, outcome, outcome)
    return Proof(backup_id, outcome, previous.decided_by if previous else None)


def read_proof(store: ObjectStore, layout: TargetLayout, backup_id: str) -> Proof | None:
    """The backup's proof record; None when no restore drill has written one. ProofError when unreadable."""
    key = layout.proof_key(backup_id)
    raw = store.get_bytes(key)
    return None if raw is None else Proof.from_json(raw, where=f"s3://{store.bucket}/{key}")


def record_proof(store: ObjectStore, layout: TargetLayout, backup_id: str, outcome: DrillOutcome) -> Proof:
    """Add one drill's outcome to the backup's proof record (an unreadable earlier record is replaced)."""
    try:
        previous = read_proof(store, layout, backup_id)
    except ProofError:
        previous = None
    proof = next_proof(previous, backup_id, outcome)
    store.put_bytes(layout.proof_key(backup_id), proof.to_json())
    return proof
