"""The restore drill's steps that need no server: which backup is chosen (and which are skipped, and why), the
fallback from a broken newest backup, RTO/RPO measurement against objectives, the step list, refusing an edited
manifest."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from drdrill.findings import DrillFailed, Finding
from drdrill.drills.restore.steps import (
    CHOICES,
    MEASURED_STAGES,
    STEPS,
    fetch_and_verify,
    measure,
    measurement_lines,
    provision_scratch,
    read_manifest,
    run_dir,
    select_backup,
)
from drdrill.storage.catalog import list_backups
from drdrill.storage.memory import MemoryObjectStore
from drdrill.storage.seal import SigningKey
from tests.helpers.storage import LAYOUT, NOW, backup_id_at, put_backup, put_proof
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


@pytest.mark.parametrize(("validated", "heartbeat"), [(T0 - timedelta(seconds=5), T0 - timedelta(seconds=40)),
                                                    (T0 + timedelta(seconds=95), T0 + timedelta(seconds=3))],
                         ids=["rto", "rpo"])
def test_a_negative_rto_or_rpo_is_never_recorded(validated: datetime, heartbeat: datetime) -> None:
    with pytest.raises(DrillFailed) as failed:
        measure(disaster_at=T0, validated_at=validated, newest_heartbeat=heartbeat, rto_objective=timedelta(minutes=30),
                rpo_objective=timedelta(minutes=15), heartbeat_configured=True, stages=STAGES)
    (finding,) = failed.value.findings
    assert finding.code == "COULD_NOT_VERIFY" and "came out negative" in finding.message and "NTP" in finding.fix
    assert failed.value.outcome is None


def test_a_declared_disaster_before_the_backups_point_is_refused_after_it_accepted(shop) -> None:
    target, store = shop
    made = put_backup(store, 1)
    point = datetime.fromisoformat(made.started_at)
    with pytest.raises(DrillFailed) as refused:
        select_backup(target, store, signing_key=None, now=NOW, disaster_at=point - timedelta(minutes=1))
    (finding,) = refused.value.findings
    assert finding.code == "CONFIG_INVALID" and f"is before backup {made.backup_id}'s point" in finding.message
    assert select_backup(target, store, signing_key=None, now=NOW, disaster_at=point)["backup_id"] == made.backup_id
    with pytest.raises(DrillFailed, match="is in the future"):
        select_backup(target, store, signing_key=None, now=NOW, disaster_at=NOW + timedelta(hours=1))


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


def test_the_fetch_keeps_min_free_space_free_besides_the_backup_or_fetches_nothing(tmp_path: Path) -> None:
    import shutil

    free = shutil.disk_usage(tmp_path).free
    store = MemoryObjectStore()
    made = put_backup(store, days_old=1)
    roomy = load_test_target(tmp_path, prefix="drills", extra="    min_free_space: 1MB\n")
    assert fetch_and_verify({"backup_id": made.backup_id}, roomy, store, signing_key=None, work_dir=tmp_path,
                            key="ok")["bytes"] == made.objects[0].size
    greedy = load_test_target(tmp_path, prefix="drills", extra=f"    min_free_space: {free * 4 // 2**20}MB\n")
    with pytest.raises(DrillFailed) as failed:
        fetch_and_verify({"backup_id": made.backup_id}, greedy, store, signing_key=None, work_dir=tmp_path, key="no")
    (finding,) = failed.value.findings
    assert finding.code == "INSUFFICIENT_SPACE" and "min_free_space keeps" in finding.message
    assert finding.evidence["needed_bytes"] > free and not any(run_dir(tmp_path, "no").rglob("*.zst"))
    assert store.head(LAYOUT.quarantine_key(made.backup_id)) is None  # nothing said about the backup


@pytest.fixture
def shop(tmp_path):
    """The test target, its backups in an in-memory bucket at tests.helpers.storage.LAYOUT."""
    return load_test_target(tmp_path, prefix=LAYOUT.prefix), MemoryObjectStore("unit-tests")


def codes(selected: dict) -> list[str]:
    return [finding["code"] for finding in selected["findings"]]


def test_newest_skips_unusable_newer_backups_and_names_each_with_why(shop) -> None:
    target, store = shop
    usable = put_backup(store, 0.5)
    put_proof(store, put_backup(store, 0.3).backup_id, "CHECKSUM_MISMATCH")
    put_backup(store, 0.2, manifest=False)  # a run that died 5 hours ago
    corrupt = put_backup(store, 0.1)
    store.put_bytes(LAYOUT.quarantine_key(corrupt.backup_id), b"[]")
    selected = select_backup(target, store, signing_key=None, now=NOW)
    assert selected["backup_id"] == usable.backup_id and codes(selected) == ["NEWER_BACKUPS_UNUSABLE"]
    (finding,) = selected["findings"]
    assert [(s["backup_id"], s["status"]) for s in finding["evidence"]["skipped"]] == [
        (corrupt.backup_id, "quarantined"), (backup_id_at(NOW - timedelta(days=0.2)), "incomplete"),
        (backup_id_at(NOW - timedelta(days=0.3)), "failed_drill")]  # the status, as the scorecard replays it
    assert corrupt.backup_id in finding["message"] and "CHECKSUM_MISMATCH" in finding["message"]
    assert "(failed drill: " in finding["message"]
    assert Finding.from_dict(finding).verdict == "failed"


def test_newest_is_quiet_when_the_newest_is_usable_or_a_backup_is_still_being_written(shop) -> None:
    target, store = shop
    newest = put_backup(store, 0.5)
    put_proof(store, newest.backup_id)  # proven: usable
    put_backup(store, 0.01, manifest=False)  # started 14 minutes ago, no manifest yet: a run in progress
    selected = select_backup(target, store, signing_key=None, now=NOW)
    assert selected["backup_id"] == newest.backup_id and codes(selected) == []


def test_newest_and_random_never_choose_a_failed_drill_backup(shop) -> None:
    target, store = shop
    older = put_backup(store, 0.9)
    failed = put_backup(store, 0.5)
    put_proof(store, failed.backup_id, "RESTORE_ERROR")
    selected = select_backup(target, store, signing_key=None, now=NOW)
    assert selected["backup_id"] == older.backup_id
    (skipped,) = [Finding.from_dict(finding) for finding in selected["findings"]]
    assert f"{failed.backup_id} (failed drill: " in skipped.message  # people read the label
    assert [entry["status"] for entry in skipped.evidence["skipped"]] == ["failed_drill"]  # the scorecard, the status
    picks = {select_backup(target, store, signing_key=None, now=NOW, choice="random", seed=str(n))["backup_id"] for n in range(20)}
    assert picks == {older.backup_id}


def test_a_failed_drill_backup_chosen_by_id_is_drilled_again_with_a_finding_that_says_so(shop) -> None:
    target, store = shop
    failed = put_backup(store, 0.5)
    put_proof(store, failed.backup_id, "RESTORE_ERROR")
    selected = select_backup(target, store, signing_key=None, now=NOW, choice="backup_id", backup_id=failed.backup_id)
    assert selected["backup_id"] == failed.backup_id and codes(selected) == ["FAILED_BACKUP_REDRILLED"]
    finding = Finding.from_dict(selected["findings"][0])
    assert finding.verdict == "passed" and "RESTORE_ERROR" in finding.message


def test_a_quarantined_backup_chosen_by_id_is_refused_with_why(shop) -> None:
    target, store = shop
    broken = put_backup(store, 0.5)
    store.put_bytes(LAYOUT.quarantine_key(broken.backup_id), b"[]")
    with pytest.raises(DrillFailed) as failed:
        select_backup(target, store, signing_key=None, now=NOW, choice="backup_id", backup_id=broken.backup_id)
    assert failed.value.findings[0].code == "NO_VALID_BACKUP" and "quarantined" in failed.value.findings[0].message


def test_no_valid_backup_names_why_each_backup_does_not_count(shop) -> None:
    target, store = shop
    broken = put_backup(store, 0.5, body=b"12345")
    store.put_bytes(LAYOUT.object_key(broken.backup_id, "dump.sql.zst"), b"1234")  # replaced after it was stored
    with pytest.raises(DrillFailed) as failed:
        select_backup(target, store, signing_key=None, now=NOW)
    finding = failed.value.findings[0]
    assert finding.code == "NO_VALID_BACKUP"
    assert f"{broken.backup_id} (invalid: dump.sql.zst is 4 bytes, manifest says 5)" in finding.message


def test_a_broken_newest_backup_is_quarantined_and_the_next_usable_one_fetched_instead(shop, tmp_path) -> None:
    target, store = shop
    older = put_backup(store, 0.5, body=b"older backup")
    newest = put_backup(store, 0.1, body=b"newest bytes")
    store.put_bytes(LAYOUT.object_key(newest.backup_id, "dump.sql.zst"), b"newest BYTES")  # same size, other bytes
    selected = select_backup(target, store, signing_key=None, now=NOW)
    assert selected["backup_id"] == newest.backup_id and codes(selected) == []  # sizes match: only hashing tells
    fetched = fetch_and_verify(selected, target, store, signing_key=None, work_dir=tmp_path, key="k")
    assert (fetched["backup_id"], fetched["engine"]) == (older.backup_id, "mariadb-dump")
    assert fetched["age_seconds"] == pytest.approx(selected["age_seconds"] + 0.4 * 86400)  # the older one's age
    (finding,) = fetched["findings"]
    assert finding["code"] == "NEWER_BACKUPS_UNUSABLE" and newest.backup_id in finding["message"]
    assert finding["evidence"]["skipped"][0]["problem"] == "ARTEFACT_CORRUPT (dump.sql.zst)"
    assert (tmp_path / "restore" / "k" / "files" / "dump.sql.zst").read_bytes() == b"older backup"
    assert next(b for b in list_backups(store, LAYOUT, signing_key=None) if b.backup_id == newest.backup_id).status == "quarantined"


def test_a_broken_backup_chosen_by_id_fails_the_drill_without_falling_back(shop, tmp_path) -> None:
    target, store = shop
    put_backup(store, 0.5)
    chosen = put_backup(store, 0.1, body=b"chosen")
    store.put_bytes(LAYOUT.object_key(chosen.backup_id, "dump.sql.zst"), b"CHOSEN")
    selected = select_backup(target, store, signing_key=None, now=NOW, choice="backup_id", backup_id=chosen.backup_id)
    with pytest.raises(DrillFailed) as failed:
        fetch_and_verify(selected, target, store, signing_key=None, work_dir=tmp_path, key="k")
    assert [f.code for f in failed.value.findings] == ["ARTEFACT_CORRUPT"]


def edit_manifest(store: MemoryObjectStore, backup_id: str) -> None:
    """Change a field of a stored manifest without resealing it, as a hand edit would."""
    key = LAYOUT.manifest_key(backup_id)
    store.put_bytes(key, (store.get_bytes(key) or b"").replace(b'"rows": 3', b'"rows": 4'))


def test_newest_names_a_newer_backup_with_an_edited_manifest_as_corrupt(shop) -> None:
    target, store = shop
    usable = put_backup(store, 0.5)
    edited = put_backup(store, 0.1)
    edit_manifest(store, edited.backup_id)
    selected = select_backup(target, store, signing_key=None, now=NOW)
    assert selected["backup_id"] == usable.backup_id and codes(selected) == ["NEWER_BACKUPS_UNUSABLE"]
    (skipped,) = selected["findings"][0]["evidence"]["skipped"]
    assert (skipped["backup_id"], skipped["status"]) == (edited.backup_id, "corrupt")
    assert "digest check failed" in skipped["problem"]


def test_a_newest_manifest_refused_at_the_fetch_falls_back_named_and_unquarantined(shop, tmp_path) -> None:
    target, store = shop
    older = put_backup(store, 0.5, body=b"older backup")
    newest = put_backup(store, 0.1, body=b"newest bytes")
    selected = select_backup(target, store, signing_key=None, now=NOW)
    assert selected["backup_id"] == newest.backup_id
    edit_manifest(store, newest.backup_id)  # changed between the selection and the fetch
    fetched = fetch_and_verify(selected, target, store, signing_key=None, work_dir=tmp_path, key="k")
    assert fetched["backup_id"] == older.backup_id
    (finding,) = fetched["findings"]
    assert finding["code"] == "NEWER_BACKUPS_UNUSABLE" and newest.backup_id in finding["message"]
    skipped = finding["evidence"]["skipped"][0]
    assert skipped["status"] == "corrupt" and skipped["problem"].startswith("MANIFEST_CORRUPT: ")
    assert store.head(LAYOUT.quarantine_key(newest.backup_id)) is None


def test_a_newest_manifest_refused_under_a_wrong_key_with_nothing_older_fails_unquarantined(shop, tmp_path) -> None:
    target, store = shop
    right, wrong = SigningKey(b"r" * 32), SigningKey(b"w" * 32)
    only_backup = put_backup(store, 0.1)
    store.put_bytes(LAYOUT.manifest_key(only_backup.backup_id), only_backup.to_json(right).encode())
    selected = select_backup(target, store, signing_key=right, now=NOW)
    with pytest.raises(DrillFailed) as failed:
        fetch_and_verify(selected, target, store, signing_key=wrong, work_dir=tmp_path, key="k")
    assert [f.code for f in failed.value.findings] == ["MANIFEST_CORRUPT"]
    assert store.head(LAYOUT.quarantine_key(only_backup.backup_id)) is None


def test_provisioning_on_a_full_worker_is_scratch_slots_full_and_starts_nothing(tmp_path: Path) -> None:
    from drdrill.servers.scratch import plan_local_scratch, scratch_dir
    from drdrill.servers.slots import SlotPolicy

    plan_local_scratch(tmp_path, "other", "run-other")  # another drill's scratch server on this worker
    with pytest.raises(DrillFailed) as caught:
        provision_scratch({"engine": "mariadb-dump"}, work_dir=tmp_path, key="mine", source=None, replica=None,
                          scratch_endpoint=None, scratch_conn_id=None, run_id="run-mine", scratch_slots=SlotPolicy(1))
    assert [f.code for f in caught.value.findings] == ["SCRATCH_SLOTS_FULL"]
    assert "settings.scratch_slots: 1" in caught.value.findings[0].message
    assert not scratch_dir(tmp_path, "mine").exists()
