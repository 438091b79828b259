"""The PITR drill's steps that need no server: whole seconds, the base a plan prefers (a proven one, never one whose
manifest was edited), RTO/RPO against objectives, the step list."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from drdrill.drills.pitr.steps import MEASURED_STAGES, STEPS, measure, whole_second
from drdrill.drills.pitr.steps import plan as pitr_plan
from drdrill.findings import DrillFailed
from drdrill.storage.manifest import BinlogPosition
from drdrill.storage.memory import MemoryObjectStore
from tests.helpers.storage import LAYOUT, NOW, SERVER, put_backup, put_binlog, put_proof
from tests.helpers.targets import load_test_target

pytestmark = pytest.mark.unit
TARGET = datetime(2026, 11, 21, 8, 0, 0, tzinfo=timezone.utc)
PLANNED = {"target_time": TARGET.isoformat()}
STAGES = {"restore_base": {"seconds": 20.0}, "replay": {"seconds": 5.0, "mb_per_second": 13.0}, "validate": None}


def validated(newest: datetime, after: timedelta) -> dict[str, str]:
    return {"validated_at": (TARGET + after).isoformat(), "newest_heartbeat": newest.isoformat()}


def test_the_step_list_is_the_dags_task_order_and_measures_the_rto_stages() -> None:
    assert STEPS == ["plan", "fetch_and_verify", "provision_scratch", "restore_base", "replay", "validate", "measure"]
    assert set(MEASURED_STAGES) <= set(STEPS) and "measure" not in MEASURED_STAGES


def test_targets_are_whole_utc_seconds() -> None:
    local = datetime(2026, 11, 21, 9, 0, 0, 999_999, tzinfo=timezone(timedelta(hours=1)))
    assert whole_second(local) == TARGET


def test_rto_rpo_and_replay_speed_are_measured_against_the_objectives() -> None:
    result = measure(PLANNED, disaster_at=TARGET, validated=validated(TARGET - timedelta(seconds=1), timedelta(seconds=90)),
                     stages=STAGES, rto_objective=timedelta(minutes=30), rpo_objective=timedelta(minutes=5))
    assert (result["rto_seconds"], result["rpo_seconds"]) == (90, 1)
    assert result["replay_mb_per_second"] == 13.0
    assert result["stage_seconds"] == {"restore_base": 20.0, "replay": 5.0, "validate": None}


def test_rto_and_rpo_over_their_objectives_fail_and_keep_the_measurements() -> None:
    with pytest.raises(DrillFailed) as failed:
        measure(PLANNED, disaster_at=TARGET, validated=validated(TARGET - timedelta(minutes=6), timedelta(minutes=31)),
                stages=STAGES, rto_objective=timedelta(minutes=30), rpo_objective=timedelta(minutes=5))
    assert [finding.code for finding in failed.value.findings] == ["RTO_EXCEEDED", "RPO_EXCEEDED"]
    assert failed.value.outcome["rto_seconds"] == 31 * 60


def test_a_negative_rto_is_never_recorded() -> None:
    with pytest.raises(DrillFailed) as failed:
        measure(PLANNED, disaster_at=TARGET, validated=validated(TARGET - timedelta(seconds=1), -timedelta(seconds=5)),
                stages=STAGES, rto_objective=timedelta(minutes=30), rpo_objective=timedelta(minutes=5))
    (finding,) = failed.value.findings
    assert finding.code == "COULD_NOT_VERIFY" and "came out negative" in finding.message and "NTP" in finding.fix
    assert failed.value.outcome is None


def test_a_recovery_past_the_target_has_no_rpo_rather_than_a_negative_one() -> None:
    result = measure(PLANNED, disaster_at=TARGET, validated=validated(TARGET + timedelta(seconds=2), timedelta(seconds=90)),
                     stages=STAGES, rto_objective=timedelta(minutes=30), rpo_objective=timedelta(minutes=5))
    assert (result["rto_seconds"], result["rpo_seconds"]) == (90, None)  # validate reports PITR_BOUNDARY_WRONG


def test_a_base_backup_with_an_edited_manifest_is_passed_over_for_the_newest_sound_one(tmp_path: Path) -> None:
    store, shop = MemoryObjectStore(), load_test_target(tmp_path, prefix="drills")
    older = put_backup(store, days_old=2, extra={"server_key": SERVER})
    newer = put_backup(store, days_old=1, extra={"server_key": SERVER})
    put_binlog(store, "mysql-bin.000002", 1, 9, minutes=-5)
    target_time = NOW - timedelta(minutes=5)
    assert pitr_plan(shop, store, signing_key=None, target_time=target_time, now=NOW)["backup_id"] == newer.backup_id
    key = LAYOUT.manifest_key(newer.backup_id)
    store.put_bytes(key, (store.get_bytes(key) or b"").replace(b'"rows": 3', b'"rows": 4'))
    assert pitr_plan(shop, store, signing_key=None, target_time=target_time, now=NOW)["backup_id"] == older.backup_id


def test_no_base_backup_names_why_each_backup_does_not_count(tmp_path: Path) -> None:
    store, shop = MemoryObjectStore(), load_test_target(tmp_path, prefix="drills")
    target_time = NOW - timedelta(minutes=5)
    with pytest.raises(DrillFailed) as failed:
        pitr_plan(shop, store, signing_key=None, target_time=target_time, now=NOW)
    assert failed.value.findings[0].message.endswith("to recover from (no backup folder).")
    broken = put_backup(store, days_old=1, body=b"12345", extra={"server_key": SERVER})
    store.put_bytes(LAYOUT.object_key(broken.backup_id, "dump.sql.zst"), b"1234")
    with pytest.raises(DrillFailed) as failed:
        pitr_plan(shop, store, signing_key=None, target_time=target_time, now=NOW)
    finding = failed.value.findings[0]
    assert finding.code == "NO_VALID_BACKUP"
    assert f"{broken.backup_id} (invalid: dump.sql.zst is 4 bytes, manifest says 5)" in finding.message


def based_on(store, days_old: float, file: str):
    """A backup ``days_old`` days before NOW whose consistent point is at the start of ``file``."""
    return put_backup(store, days_old, consistent_point=BinlogPosition(file, 4, "0-1-6"), extra={"server_key": SERVER})


def test_planning_prefers_a_proven_base_when_its_binlogs_reach_the_target(tmp_path) -> None:
    target, store = load_test_target(tmp_path, prefix=LAYOUT.prefix), MemoryObjectStore("unit-tests")
    proven = based_on(store, 0.2, "mysql-bin.000002")
    put_proof(store, proven.backup_id)
    newer = based_on(store, 0.1, "mysql-bin.000002")
    put_binlog(store, "mysql-bin.000002", 7, 20)
    planned = pitr_plan(target, store, signing_key=None, target_time=NOW + timedelta(seconds=10), now=NOW + timedelta(hours=1))
    assert (planned["backup_id"], planned["base_status"]) == (proven.backup_id, "proven")
    store.delete(LAYOUT.proof_key(proven.backup_id))
    planned = pitr_plan(target, store, signing_key=None, target_time=NOW + timedelta(seconds=10), now=NOW + timedelta(hours=1))
    assert (planned["backup_id"], planned["base_status"]) == (newer.backup_id, "valid")


def test_planning_takes_the_newest_base_when_the_proven_one_cannot_reach_the_target(tmp_path) -> None:
    target, store = load_test_target(tmp_path, prefix=LAYOUT.prefix), MemoryObjectStore("unit-tests")
    proven = based_on(store, 0.2, "mysql-bin.000001")  # its first binlog is not archived
    put_proof(store, proven.backup_id)
    newer = based_on(store, 0.1, "mysql-bin.000002")
    put_binlog(store, "mysql-bin.000002", 7, 20)
    planned = pitr_plan(target, store, signing_key=None, target_time=NOW + timedelta(seconds=10), now=NOW + timedelta(hours=1))
    assert planned["backup_id"] == newer.backup_id
