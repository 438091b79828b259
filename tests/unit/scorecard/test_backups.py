"""The fleet page's newest valid and proven backup come from the history; they must say what the store says.

Each case plays the same drills on a real (in-memory) store, through the storage code the drills use (manifests,
quarantine markers, proof records), and into a history, as the drills record them; the fleet's answer must match
the store's catalog (``drdrill backups list``): a backup quarantined, refused or found broken by a later drill no
longer shows as the newest valid or proven one, and one proven again shows again.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from drdrill.config import Target
from drdrill.drills.restore.steps import select_backup
from drdrill.findings import DrillFailed, Finding
from drdrill.history import DrillRecord, record_drill
from drdrill.scorecard.queries import TargetInfo, fleet
from drdrill.storage.catalog import list_backups
from drdrill.storage.memory import MemoryObjectStore
from drdrill.storage.proof import PROVEN, DrillOutcome, record_proof
from drdrill.storage.verify import quarantine
from tests.helpers.storage import LAYOUT, NOW, put_backup
from tests.helpers.targets import load_test_target

pytestmark = pytest.mark.unit


class Drills:
    """Drills of target ``shop`` played on the store and recorded in the history, in order."""

    def __init__(self, url: str) -> None:
        self.url, self.store, self.clock = url, MemoryObjectStore("bucket"), itertools.count(1)

    def _record(self, drill: str, verdict: str, backup_id: str | None, findings: list[Finding], finished: str = "",
                expectations: int | None = None) -> str:
        finished = finished or (NOW - timedelta(hours=12) + timedelta(minutes=next(self.clock))).isoformat()
        run_id = f"manual__{drill}_{finished}"
        record_drill(self.url, DrillRecord(run_id, "shop", drill, verdict, finished, finished, backup_id=backup_id,
                                           findings=[finding.to_dict() for finding in findings],
                                           details={"expectations": expectations}))  # as restore_details records it
        return finished

    def backup(self, days_old: float) -> str:
        manifest = put_backup(self.store, days_old)
        self._record("backup", "passed", manifest.backup_id, [], finished=manifest.finished_at)
        return manifest.backup_id

    def restore(self, backup_id: str, *codes: str, verdict: str = "", skipped: tuple[tuple[str, str], ...] = (),
                validated: bool = True) -> None:
        """A restore drill of ``backup_id`` with these finding codes, having skipped these newer (id, status) ones."""
        findings = [Finding(code, "made up") for code in codes]
        if skipped:
            findings.append(Finding("NEWER_BACKUPS_UNUSABLE", "made up", evidence={"restored": backup_id, "skipped": [
                {"backup_id": skipped_id, "status": status, "problem": "made up"} for skipped_id, status in skipped]}))
        verdict = verdict or ("failed" if findings else "passed")
        finished = self._record("restore", verdict, backup_id, findings, expectations=12 if validated else None)
        if not {"MANIFEST_CORRUPT", "MANIFEST_INVALID"} & set(codes):  # what restore.proof.write_proof does
            record_proof(self.store, LAYOUT, backup_id, DrillOutcome(verdict, tuple(f.code for f in findings), finished,
                                                                     "key", finished, validated))

    def quarantined_by_restore(self, broken: str, older: str) -> None:
        """The newest backup's objects are broken: the fetch quarantines it and restores the older one instead."""
        quarantine(self.store, LAYOUT, broken, [Finding("ARTEFACT_CORRUPT", "made up", evidence={"object": "dump"})])
        self.restore(older, skipped=((broken, "quarantined"),))

    def replaced_by_hand(self, backup_id: str) -> None:
        """Someone replaced an object (another size): the catalog says invalid, and no drill has looked yet."""
        self.store.put_bytes(LAYOUT.object_key(backup_id, "dump.sql.zst"), b"replaced")

    def restore_finds_no_valid_backup(self, target: Target) -> None:
        """A restore drill whose backup selection (the real step) finds nothing usable: red, no backup restored."""
        with pytest.raises(DrillFailed) as failed:
            select_backup(target, self.store, signing_key=None, now=NOW)
        assert [finding.code for finding in failed.value.findings] == ["NO_VALID_BACKUP"]
        self._record("restore", "failed", None, failed.value.findings)

    def manifest_edited(self, backup_id: str) -> None:
        """Someone changed the manifest: the catalog refuses it and the next restore drill of it says so."""
        key = LAYOUT.manifest_key(backup_id)
        self.store.put_bytes(key, (self.store.get_bytes(key) or b"").replace(b'"zstd"', b'"gzip"'))
        self.restore(backup_id, "MANIFEST_CORRUPT")


def _healthy(drills: Drills) -> None:
    older = drills.backup(2)
    drills.restore(older)
    drills.backup(1)


def _newest_quarantined(drills: Drills) -> None:
    older = drills.backup(2)
    drills.restore(older)
    drills.quarantined_by_restore(drills.backup(1), older)


def _proof_turned_failed_drill(drills: Drills) -> None:
    drills.restore(drills.backup(2))
    newest = drills.backup(1)
    drills.restore(newest)
    drills.restore(newest, "CHECKSUM_MISMATCH")


def _proven_again(drills: Drills) -> None:
    backup_id = drills.backup(1)
    drills.restore(backup_id, "ROWCOUNT_MISMATCH")
    drills.restore(backup_id)


def _manifest_refused(drills: Drills) -> None:
    drills.restore(drills.backup(2))
    drills.manifest_edited(drills.backup(1))


def _replaced_by_hand_then_found_by_a_drill(drills: Drills, target: Target) -> None:
    only = drills.backup(1)
    drills.restore(only)
    drills.replaced_by_hand(only)
    drills.restore_finds_no_valid_backup(target)


def _red_for_other_reasons(drills: Drills) -> None:
    backup_id = drills.backup(1)
    drills.restore(backup_id, "RTO_EXCEEDED")  # not about the backup: it still proves it
    drills.restore(backup_id, "COULD_NOT_VERIFY", validated=False)  # decides nothing


CASES: dict[str, tuple[Callable[..., None], tuple[float | None, float | None]]] = {
    # case: (the drills, (days old of the newest valid, of the newest proven backup))
    "healthy": (_healthy, (1, 2)),
    "the newest backup quarantined by a restore drill": (_newest_quarantined, (2, 2)),
    "a proof turned failed drill": (_proof_turned_failed_drill, (2, 2)),
    "a failed drill proven again": (_proven_again, (1, 1)),
    "a manifest refused": (_manifest_refused, (2, 2)),
    "red for reasons not about the backup": (_red_for_other_reasons, (1, 1)),
    "the only backup replaced by hand, then found by a drill": (_replaced_by_hand_then_found_by_a_drill, (None, None)),
}


@pytest.mark.parametrize("case", CASES)
def test_the_fleets_newest_valid_and_proven_backups_are_the_stores(case: str, tmp_path: Path) -> None:
    play, (valid_days, proven_days) = CASES[case]
    drills = Drills(f"sqlite:///{tmp_path}/history.sqlite")
    if "target" in inspect.signature(play).parameters:
        play(drills, load_test_target(tmp_path, prefix=LAYOUT.prefix))
    else:
        play(drills)
    catalog = list_backups(drills.store, LAYOUT, signing_key=None)
    in_store = (next((entry.backup_id for entry in catalog if entry.is_valid), None),
                next((entry.backup_id for entry in catalog if entry.status == PROVEN), None))
    (row,) = fleet(drills.url, [TargetInfo("shop")], now=NOW)
    shown = tuple((row[key] or {}).get("backup_id") for key in ("newest_valid_backup", "newest_proven_backup"))
    assert shown == in_store
    ages = tuple(None if row[key] is None else row[key]["age_seconds"] / 86400
                 for key in ("newest_valid_backup", "newest_proven_backup"))
    assert [age is None for age in ages] == [valid_days is None, proven_days is None]
    assert [age for age in ages if age is not None] == pytest.approx(
        [days for days in (valid_days, proven_days) if days is not None], abs=0.01)
