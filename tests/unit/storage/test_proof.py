"""The proof record: which drills decide a backup's standing, the newest conclusive one winning, its JSON form."""

from __future__ import annotations

import json

import pytest

from drdrill.storage.memory import MemoryObjectStore
from drdrill.storage.proof import FAILED_DRILL, PROVEN, UNPROVEN, Proof, ProofError, next_proof, read_proof
from tests.helpers.storage import LAYOUT, drill_outcome, put_proof

pytestmark = pytest.mark.unit
BACKUP = "20261121T083012Z-a1b2c3"


@pytest.mark.parametrize(("codes", "validated", "conclusion"), [
    ((), True, PROVEN),
    (("RTO_EXCEEDED", "NEWER_BACKUPS_UNUSABLE", "BACKUP_STALE", "RPO_EXCEEDED"), True, PROVEN),  # about the drill
    (("FAILED_BACKUP_REDRILLED",), True, PROVEN),
    (("CHECKSUM_MISMATCH",), True, FAILED_DRILL),
    (("RESTORE_ERROR",), False, FAILED_DRILL),
    (("RTO_EXCEEDED", "TABLE_MISSING"), True, FAILED_DRILL),
    (("COULD_NOT_VERIFY",), True, UNPROVEN),
    (("SAFETY_INTERLOCK",), False, UNPROVEN),
    ((), False, UNPROVEN),  # never validated: it proves nothing
    (("SOME_FUTURE_CODE",), True, UNPROVEN),  # unknown to this version: not a pass
])
def test_what_one_drill_concludes_about_its_backup(codes: tuple[str, ...], validated: bool, conclusion: str) -> None:
    assert drill_outcome(*codes, validated=validated).conclusion == conclusion


def test_the_newest_conclusive_drill_wins_and_one_that_could_not_tell_changes_nothing() -> None:
    failed = next_proof(None, BACKUP, drill_outcome("CHECKSUM_MISMATCH", run_id="r1"))
    assert failed.standing == FAILED_DRILL
    unsure = next_proof(failed, BACKUP, drill_outcome("COULD_NOT_VERIFY", run_id="r2"))
    assert (unsure.standing, unsure.latest.run_id, unsure.decided_by.run_id) == (FAILED_DRILL, "r2", "r1")
    passed = next_proof(unsure, BACKUP, drill_outcome(run_id="r3"))
    assert (passed.standing, passed.decided_by.run_id) == (PROVEN, "r3")
    assert next_proof(None, BACKUP, drill_outcome("COULD_NOT_VERIFY")).standing == UNPROVEN


def test_the_record_round_trips_with_the_latest_drill_at_the_top(store: MemoryObjectStore) -> None:
    put_proof(store, BACKUP, "CHECKSUM_MISMATCH", run_id="r1")
    written = put_proof(store, BACKUP, "COULD_NOT_VERIFY", validated=False, run_id="r2")
    data = json.loads(store.get_bytes(LAYOUT.proof_key(BACKUP)) or b"")
    assert (data["backup_id"], data["standing"], data["verdict"], data["findings"]) == \
        (BACKUP, FAILED_DRILL, "failed", ["COULD_NOT_VERIFY"])
    assert data["run"] == {"drill": "restore", "run_id": "r2", "key": "key-r2", "airflow_run": None}
    assert data["decided_by"]["run"]["run_id"] == "r1" and data["finished_at"]
    assert read_proof(store, LAYOUT, BACKUP) == written
    assert read_proof(store, LAYOUT, "20261121T083012Z-ffffff") is None


@pytest.mark.parametrize("raw", [b"not json", b"[]", b'{"backup_id": "x", "verdict": "passed"}'])
def test_an_unreadable_record_is_a_proof_error_naming_the_file(raw: bytes) -> None:
    with pytest.raises(ProofError, match="proof.json"):
        Proof.from_json(raw)


def test_an_unreadable_record_is_replaced_by_the_next_drill(store: MemoryObjectStore) -> None:
    store.put_bytes(LAYOUT.proof_key(BACKUP), b"{broken")
    assert put_proof(store, BACKUP).standing == PROVEN
    assert read_proof(store, LAYOUT, BACKUP).standing == PROVEN
