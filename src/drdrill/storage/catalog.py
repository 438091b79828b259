"""Which backups a target has in S3 and whether each one counts: no complete manifest, no backup.

Statuses: ``proven`` (complete, verified, and its restore drill proved it), ``valid`` (complete and verified,
not yet proven by a drill), ``failed_drill`` (a restore drill found the backup itself broken),
``quarantined`` (failed verification), ``incomplete`` (no manifest: the run died, or is still writing),
``invalid`` (an unreadable manifest, or an object missing or of another size) and ``corrupt`` (the manifest's
digest or signature does not match: it was changed after it was written). Only proven and valid backups
are usable: restored, counted by retention, used as PITR bases. A backup's standing comes from its
``proof.json`` (``storage.proof``): the newest conclusive restore drill wins.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from drdrill.storage.layout import BACKUP_ID_PATTERN, MANIFEST, PROOF, QUARANTINE, TargetLayout, backup_time
from drdrill.storage.manifest import Manifest, ManifestCorrupt, ManifestError, read_manifest
from drdrill.storage.objectstore import ObjectStore
from drdrill.storage.proof import FAILED_DRILL, PROVEN, Proof, ProofError, read_proof
from drdrill.storage.seal import SigningKey

DRILL_EVIDENCE = "drills/"  # restore drills keep their results next to the backup; not part of it
VALID = "valid"
INCOMPLETE = "incomplete"
QUARANTINED = "quarantined"
INVALID = "invalid"
CORRUPT = "corrupt"  # the manifest was changed after it was written
USABLE = (PROVEN, VALID)
LABELS = {FAILED_DRILL: "failed drill"}  # how people read a status; the JSON keeps the status itself
NOT_BACKUP_OBJECTS = (PROOF,)  # written after the backup by its drills, like DRILL_EVIDENCE
RUN_GRACE_FLOOR = timedelta(minutes=30)


@dataclass(frozen=True)
class BackupEntry:
    """One backup folder: its id, status, manifest (when readable), stored size and why it does not count."""

    backup_id: str
    status: str
    manifest: Manifest | None
    stored_bytes: int
    problem: str = ""
    proof: Proof | None = None

    @property
    def is_valid(self) -> bool:
        """Usable: a complete manifest, all objects present at their sizes, no quarantine, no failed drill."""
        return self.status in USABLE

    @property
    def label(self) -> str:
        """The status as the human output shows it (``failed drill``)."""
        return LABELS.get(self.status, self.status)

    def summary(self) -> dict[str, object]:
        """A small JSON-ready description for the CLI and XCom."""
        manifest = self.manifest
        return {
            "backup_id": self.backup_id,
            "status": self.status,
            "valid": self.is_valid,
            "problem": self.problem,
            "stored_bytes": self.stored_bytes,
            "engine": manifest.engine if manifest else None,
            "started_at": manifest.started_at if manifest else backup_time(self.backup_id).isoformat(),
            "finished_at": manifest.finished_at if manifest else None,
            "consistent_point": manifest.consistent_point.label() if manifest else None,
            "tables": len(manifest.tables) if manifest else None,
            "seal": manifest.seal if manifest else None,
            "proof": self.proof.to_summary() if self.proof else None,
        }


def standing_evidence(entries: list[BackupEntry]) -> list[dict[str, str]]:
    """The entries as ``{backup_id, status, problem}``: a finding's evidence naming backups that do not count (the
    scorecard replays it, ``scorecard.backups``)."""
    return [{"backup_id": entry.backup_id, "status": entry.status, "problem": entry.problem} for entry in entries]


def describe_backups(entries: list[BackupEntry], most: int = 3) -> str:
    """The first ``most`` entries as ``id (status: why)``, then how many more: why backups do not count, in a finding."""
    named = "; ".join(f"{entry.backup_id} ({entry.label}: {entry.problem or 'no reason recorded'})"
                      for entry in entries[:most])
    hidden = len(entries) - most
    return named + (f"; and {hidden} more ('drdrill backups list' shows all)" if hidden > 0 else "")


def list_backups(store: ObjectStore, layout: TargetLayout, *, signing_key: SigningKey | None) -> list[BackupEntry]:
    """Every backup folder of a target, newest first, each with its status (checks sizes and manifest seals, not
    object hashes); ``signing_key``: the target's, when it signs its manifests."""
    objects_by_backup: dict[str, dict[str, int]] = {}
    for stored in store.list_objects(layout.full_root):
        backup_id, _, name = stored.key[len(layout.full_root):].partition("/")
        if BACKUP_ID_PATTERN.match(backup_id):
            objects_by_backup.setdefault(backup_id, {})[name] = stored.size
    entries = [_classify(store, layout, backup_id, sizes, signing_key) for backup_id, sizes in objects_by_backup.items()]
    return sorted(entries, key=lambda entry: entry.backup_id, reverse=True)


def find_backup(store: ObjectStore, layout: TargetLayout, backup_id: str, *,
                signing_key: SigningKey | None) -> BackupEntry | None:
    """One backup by id, or None when nothing is stored under it."""
    return next((entry for entry in list_backups(store, layout, signing_key=signing_key)
                 if entry.backup_id == backup_id), None)


def _quarantine_reason(raw: bytes | None) -> str:
    """``ARTEFACT_CORRUPT (dump.sql.zst)``-style summary of the findings a quarantine marker holds."""
    try:
        findings = json.loads(raw or b"[]")
        return "; ".join(f"{f['code']} ({f.get('evidence', {}).get('object', '-')})" for f in findings) or "unknown"
    except (ValueError, TypeError, KeyError, AttributeError):
        return (raw or b"").decode(errors="replace")[:200]


def may_still_be_running(entry: BackupEntry, backups: list[BackupEntry], now: datetime) -> bool:
    """An incomplete folder a backup run may still be writing right now, so not (yet) a failed run.

    The rule: its run started (the time in its id) less than twice as long ago as the longest complete
    backup of the target took (from its start to its source facts, as its manifest records), and never
    less than RUN_GRACE_FLOOR. A run slower than that is dead or in trouble; either way a recovery now
    could not use it.
    """
    if entry.status != INCOMPLETE:
        return False
    took = [duration for b in backups if b.manifest and (duration := run_duration(b.manifest)) is not None]
    allowance = max([2 * duration for duration in took] + [RUN_GRACE_FLOOR])
    return now - backup_time(entry.backup_id) < allowance


def run_duration(manifest: Manifest) -> timedelta | None:
    """How long a complete backup run took until its manifest could be written; None when its times are unreadable."""
    try:
        started = datetime.fromisoformat(manifest.started_at)
        ends = [datetime.fromisoformat(moment) for moment in (manifest.finished_at, manifest.facts_taken_at) if moment]
        return max(ends) - started if ends else None
    except (ValueError, TypeError):
        return None


def _proof_standing(store: ObjectStore, layout: TargetLayout, backup_id: str) -> tuple[str, Proof | None, str]:
    """The status a complete, verified backup gets from its proof record, with the problem to show."""
    try:
        proof = read_proof(store, layout, backup_id)
    except ProofError as exc:
        return VALID, None, f"not proven: {exc.problem}"
    if proof is not None and proof.decided_by is not None and proof.standing == FAILED_DRILL:
        decided = proof.decided_by
        return FAILED_DRILL, proof, (f"restore drill {decided.run_id} at {decided.finished_at[:19]} found the backup "
                                     f"broken: {', '.join(decided.indicting)}")
    return (PROVEN if proof is not None and proof.standing == PROVEN else VALID), proof, ""


def _classify(store: ObjectStore, layout: TargetLayout, backup_id: str, listed: dict[str, int],
              signing_key: SigningKey | None) -> BackupEntry:
    sizes = {name: size for name, size in listed.items()
             if not name.startswith(DRILL_EVIDENCE) and name not in NOT_BACKUP_OBJECTS}
    stored = sum(sizes.values())
    if MANIFEST not in sizes:
        return BackupEntry(backup_id, INCOMPLETE, None, stored, "no manifest: the run did not finish")
    try:
        manifest = read_manifest(store, layout, backup_id, signing_key=signing_key)
    except ManifestError as exc:
        return BackupEntry(backup_id, CORRUPT if isinstance(exc, ManifestCorrupt) else INVALID, None, stored, exc.problem)
    if QUARANTINE in sizes:
        return BackupEntry(backup_id, QUARANTINED, manifest, stored,
                           f"failed verification: {_quarantine_reason(store.get_bytes(layout.quarantine_key(backup_id)))}")
    for entry in manifest.all_objects():
        if entry.name not in sizes:
            return BackupEntry(backup_id, INVALID, manifest, stored, f"{entry.name} is missing")
        if sizes[entry.name] != entry.size:
            return BackupEntry(backup_id, INVALID, manifest, stored,
                               f"{entry.name} is {sizes[entry.name]} bytes, manifest says {entry.size}")
    status, proof, problem = _proof_standing(store, layout, backup_id)
    return BackupEntry(backup_id, status, manifest, stored, problem, proof)
