"""The restore drill's steps that need no server: RTO/RPO measurement against objectives, the step list, refusing an
edited manifest."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from drdrill.findings import DrillFailed
from drdrill.drills.restore.steps import (CHOICES, MEASURED_STAGES, STEPS, fetch_and_verify, measure, measurement_lines,
                                          read_manifest, select_backup)
from drdrill.storage.memory import MemoryObjectStore
from drdrill.storage.seal import SigningKey
from tests.helpers.storage import LAYOUT, NOW, put_backup
from tests.helpers.targets import load_test_target

pytestmark = pytest.mark.unit
T0 = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)
STAGES = {"fetch_and_verify": {"seconds": 1.5, "mb_per_second": 80.0}, "restore": {"seconds": 20.0, "mb_per_second": 12.5}}


def test_rto_and_rpo_are_measured_from_the_declared_disaster() -> None:
    result = measure(disaster_at=T0, validated_at=T0 + timedelta(seconds=95), newest_heartbeat=T0 - timedelta(seconds=40),
                     rto_objective=timedelta(minutes=30), rpo_objective=timedelta(minutes=15),
                     heartbeat_configured=True, stages=STAGES)
    assert result["rto_seconds"] == 95 and result["rpo_seconds"] == 40
    assert result["rto_objective_seconds"] == 1800 and result["rpo_objective_seconds"] == 900
    assert result["stage_seconds"] == {"fetch_and_verify": 1.5, "restore": 20.0}
    assert result["fetch_mb_per_second"] == 80.0 and result["restore_mb_per_second"] == 12.5


def test_rto_over_the_objective_fails_with_the_numbers_and_keeps_the_measurements() -> None:
    with pytest.raises(DrillFailed) as failed:
        measure(disaster_at=T0, validated_at=T0 + timedelta(minutes=31), newest_heartbeat=T0,
                rto_objective=timedelta(minutes=30), rpo_objective=timedelta(minutes=15),
                heartbeat_configured=True, stages=STAGES)
    (finding,) = failed.value.findings
    assert finding.code == "RTO_EXCEEDED" and "31m" in finding.message and "30m" in finding.message
    assert failed.value.outcome["rto_seconds"] == 31 * 60
    assert failed.value.measurements["RTO"].startswith("31m")


def test_exactly_at_the_objective_passes() -> None:
    measure(disaster_at=T0, validated_at=T0 + timedelta(minutes=30), newest_heartbeat=T0,
            rto_objective=timedelta(minutes=30), rpo_objective=timedelta(minutes=15), heartbeat_configured=True, stages={})


def test_without_a_heartbeat_rpo_is_not_verified_never_passed() -> None:
    with pytest.raises(DrillFailed) as failed:
        measure(disaster_at=T0, validated_at=T0 + timedelta(seconds=5), newest_heartbeat=None,
                rto_objective=timedelta(minutes=30), rpo_objective=timedelta(minutes=15),
                heartbeat_configured=False, stages={})
    assert [f.code for f in failed.value.findings] == ["COULD_NOT_VERIFY"]
    assert failed.value.verdict == "could_not_verify"
    assert measurement_lines(failed.value.outcome)["RPO"].startswith("not measured")


def test_the_step_list_is_the_dags_task_order_and_measures_the_rto_stages() -> None:
    assert STEPS == ["select_backup", "fetch_and_verify", "provision_scratch", "restore", "validate", "measure"]
    assert set(MEASURED_STAGES) <= set(STEPS) and "measure" not in MEASURED_STAGES
    assert CHOICES == ("newest", "backup_id", "random")


def test_an_edited_manifest_is_not_selected_or_read_but_reported_as_manifest_corrupt(tmp_path: Path) -> None:
    store, shop = MemoryObjectStore(), load_test_target(tmp_path, prefix="drills")
    made = put_backup(store, days_old=1)
    assert select_backup(shop, store, signing_key=None, now=NOW, choice="backup_id",
                         backup_id=made.backup_id)["backup_id"] == made.backup_id
    key = LAYOUT.manifest_key(made.backup_id)
    store.put_bytes(key, (store.get_bytes(key) or b"").replace(b'"rows": 3', b'"rows": 4'))
    for attempt in (lambda: select_backup(shop, store, signing_key=None, now=NOW, choice="backup_id",
                                          backup_id=made.backup_id),
                    lambda: read_manifest(store, shop, made.backup_id, signing_key=None)):
        with pytest.raises(DrillFailed) as failed:
            attempt()
        assert [finding.code for finding in failed.value.findings] == ["MANIFEST_CORRUPT"]
        assert "digest check failed" in failed.value.findings[0].message


def test_a_manifest_refused_by_the_fetch_is_not_quarantined_so_the_right_key_makes_it_valid_again(tmp_path: Path) -> None:
    store, shop = MemoryObjectStore(), load_test_target(tmp_path, prefix="drills")
    right, wrong = SigningKey(b"r" * 32), SigningKey(b"w" * 32)
    made = put_backup(store, days_old=1)
    store.put_bytes(LAYOUT.manifest_key(made.backup_id), made.to_json(right).encode())
    with pytest.raises(DrillFailed) as failed:
        fetch_and_verify({"backup_id": made.backup_id}, shop, store, signing_key=wrong, work_dir=tmp_path, key="k")
    assert [finding.code for finding in failed.value.findings] == ["MANIFEST_CORRUPT"]
    assert "signature" in failed.value.findings[0].message
    assert store.head(LAYOUT.quarantine_key(made.backup_id)) is None
    assert fetch_and_verify({"backup_id": made.backup_id}, shop, store, signing_key=right, work_dir=tmp_path,
                            key="k")["bytes"] == made.objects[0].size
