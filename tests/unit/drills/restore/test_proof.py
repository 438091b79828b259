"""``drdrill.drills.restore.proof``: a restore drill's record written to the proof of the backup it restored."""

from __future__ import annotations

import pytest

from drdrill.drills.restore.proof import write_proof
from drdrill.history import DrillRecord
from drdrill.servers.scratch import run_key
from drdrill.storage.memory import MemoryObjectStore
from drdrill.storage.proof import FAILED_DRILL, PROVEN, UNPROVEN, read_proof
from tests.helpers.storage import LAYOUT
from tests.helpers.targets import load_test_target

pytestmark = pytest.mark.unit
BACKUP = "20261121T083012Z-a1b2c3"


def record(*codes: str, verdict: str = "passed", backup_id: str | None = BACKUP) -> DrillRecord:
    return DrillRecord(run_id="manual__2026-11-21", target="shop", drill="restore", verdict=verdict,
                       started_at="2026-11-21T09:00:00+00:00", finished_at="2026-11-21T09:05:00+00:00",
                       backup_id=backup_id, findings=[{"code": code} for code in codes],
                       details={"airflow_run": "http://airflow/dags/dr_restore_drill__shop/runs/manual__2026-11-21"})


@pytest.fixture
def target(tmp_path):
    return load_test_target(tmp_path, prefix=LAYOUT.prefix)


def test_a_validated_passing_run_proves_its_backup_with_the_run_and_its_link(target) -> None:
    store = MemoryObjectStore("unit-tests")
    written = write_proof(store, target, {"validate": {"evaluated": 12}}, record())
    assert written == read_proof(store, LAYOUT, BACKUP) and written.standing == PROVEN
    assert (written.latest.run_id, written.latest.run_key) == ("manual__2026-11-21", run_key("manual__2026-11-21"))
    assert written.latest.airflow_run.endswith("/runs/manual__2026-11-21")
    assert written.latest.finished_at == "2026-11-21T09:05:00+00:00"


def test_a_run_that_never_validated_proves_nothing_and_an_indicting_one_fails_the_backup(target) -> None:
    store = MemoryObjectStore("unit-tests")
    assert write_proof(store, target, {"validate": None}, record("COULD_NOT_VERIFY", verdict="could_not_verify")
                       ).standing == UNPROVEN
    assert write_proof(store, target, {}, record("RESTORE_ERROR", verdict="failed")).standing == FAILED_DRILL


def test_a_run_that_chose_no_backup_writes_no_proof(target) -> None:
    store = MemoryObjectStore("unit-tests")
    assert write_proof(store, target, {}, record("NO_VALID_BACKUP", verdict="failed", backup_id=None)) is None
    assert list(store.list_objects("")) == []


@pytest.mark.parametrize("code", ["MANIFEST_CORRUPT", "MANIFEST_INVALID"])
def test_a_run_that_refused_the_manifest_writes_no_proof_and_leaves_an_earlier_one(target, code) -> None:
    store = MemoryObjectStore("unit-tests")
    earlier = write_proof(store, target, {"validate": {"evaluated": 12}}, record())
    assert write_proof(store, target, {}, record(code, verdict="failed")) is None
    assert read_proof(store, LAYOUT, BACKUP) == earlier and earlier is not None and earlier.standing == PROVEN
