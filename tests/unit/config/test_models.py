"""The config's records: defaults, target lookup, frozen, the failover drill's settings, connection ids."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from drdrill.config import FailoverDrill, Heartbeat, Schedules, Target, load_config
from drdrill.config.models import TARGET_ONLY_KEYS, TargetDefaults
from drdrill.drill_kinds import schedule_keys
from drdrill.errors import ConfigError

from .drills_files import TARGET, assert_names, load_error, two_targets, with_target_lines

pytestmark = pytest.mark.unit


@pytest.mark.unit
def test_target_lookup_lists_known_names(tmp_path: Path) -> None:
    config = load_config(with_target_lines(tmp_path))
    with pytest.raises(ConfigError) as caught:
        config.target("shoq")
    assert "known targets: shop" in str(caught.value)
    assert "Did you mean 'shop'?" in str(caught.value)


@pytest.mark.unit
def test_records_are_frozen(tmp_path: Path) -> None:
    config = load_config(with_target_lines(tmp_path))
    with pytest.raises(AttributeError):
        config.targets[0].name = "other"  # type: ignore[misc]


def test_failover_drill_settings_are_read_with_defaults(tmp_path: Path) -> None:
    path = with_target_lines(tmp_path, "replica_conn_id: r", "allow_failover_drill: true",
                             "failover_drill: {canary_conn_id: c, max_replica_lag: 3s, errant_transactions: stop}")
    settings = load_config(path).targets[0].failover_drill
    assert (settings.fault, settings.canary_conn_id, settings.max_replica_lag) == ("kill", "c", timedelta(seconds=3))
    assert settings.errant_transactions == "stop" and settings.switch_back is True
    assert settings.approval_timeout == timedelta(hours=4)
    assert "c" in load_config(path).targets[0].connection_ids()


@pytest.mark.unit
def test_connection_ids_skip_nulls(tmp_path: Path) -> None:
    config = two_targets(tmp_path)
    assert config.target("shop").connection_ids() == [
        "shop_primary",
        "shop_replica",
        "drdrill_s3",
        "drdrill_slack",
    ]
    assert config.target("billing").connection_ids() == ["billing_primary", "drdrill_s3"]


def test_schedules_has_a_key_per_drill_kind() -> None:
    assert [field.name for field in dataclasses.fields(Schedules)] == list(schedule_keys())


def test_defaults_take_every_shared_key_and_no_target_only_one() -> None:
    shared = {field.name for field in dataclasses.fields(TargetDefaults)}
    assert shared == {field.name for field in dataclasses.fields(Target)} - set(TARGET_ONLY_KEYS)
    assert TargetDefaults().storage is None  # nothing is required in defaults


def test_heartbeat_is_written_schema_dot_table_and_kept_apart() -> None:
    assert Heartbeat("shop", "heartbeat", "beat_at").qualified_table == "shop.heartbeat"
    from_file = TypeAdapter(Heartbeat).validate_python({"table": "shop.heartbeat"})
    assert (from_file.schema, from_file.table, from_file.column) == ("shop", "heartbeat", "beat_at")
    with pytest.raises(ValidationError):
        TypeAdapter(Heartbeat).validate_python({"table": "heartbeat"})


def test_records_built_in_python_are_checked_too(tmp_path: Path) -> None:
    target = load_config(with_target_lines(tmp_path)).target("shop")
    assert dataclasses.replace(target, engine="mysqldump").engine == "mariadb-dump"
    with pytest.raises(ValidationError):
        FailoverDrill(fault="explode")
    with pytest.raises(ValidationError):  # allowed, but without a canary login
        dataclasses.replace(target, allow_failover_drill=True)


def test_the_report_schedule_is_weekly_unless_set_and_checked_like_every_schedule(tmp_path: Path) -> None:
    path = with_target_lines(tmp_path)
    assert load_config(path).settings.report_schedule == "@weekly"
    for value, expected in (('"0 6 * * 1"', "0 6 * * 1"), ("null", "@weekly")):  # null: the key's default
        path.write_text(f"settings: {{report_schedule: {value}}}\n" + path.read_text())
        assert load_config(path).settings.report_schedule == expected
        path.write_text(path.read_text().split("\n", 1)[1])
    path.write_text('settings: {report_schedule: "@fortnightly"}\n' + path.read_text())
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == "settings.report_schedule" and "not a known preset" in str(caught.value)


def _with_storage(tmp_path: Path, storage: str) -> Path:
    return with_target_lines(tmp_path, target=TARGET.replace(
        "storage: {conn_id: drdrill_s3, bucket: drdrill-backups, prefix: drdrill}", f"storage: {storage}"))


def test_object_lock_is_read_and_off_by_default(tmp_path: Path) -> None:
    assert load_config(with_target_lines(tmp_path)).targets[0].storage.object_lock is None
    path = _with_storage(tmp_path, "{conn_id: s3, bucket: b-1, object_lock: {mode: compliance, retain_days: 30}}")
    lock = load_config(path).targets[0].storage.object_lock
    assert lock is not None and (lock.mode, lock.retain_days) == ("compliance", 30)


@pytest.mark.parametrize(("lock", "key", "piece"), [
    ("{mode: legal, retain_days: 3}", "targets[shop].storage.object_lock.mode", "governance (users with"),
    ("{mode: governance, retain_days: 0}", "targets[shop].storage.object_lock.retain_days", "1"),
    ("{mode: governance}", "targets[shop].storage.object_lock.retain_days", "retain_days"),
])
def test_a_wrong_object_lock_names_the_key_and_the_choices(tmp_path: Path, lock: str, key: str, piece: str) -> None:
    path = _with_storage(tmp_path, f"{{conn_id: s3, bucket: b-1, object_lock: {lock}}}")
    assert_names(load_error(path), path, key, piece)


def test_a_second_copy_names_its_bucket_and_connection_and_never_the_backups_own_bucket(tmp_path: Path) -> None:
    path = _with_storage(tmp_path, "{conn_id: s3, bucket: b-1, copy: {bucket: b-2, conn_id: s3_copy, region: eu-west-1}}")
    target = load_config(path).targets[0]
    assert target.storage.copy is not None and (target.storage.copy.bucket, target.storage.copy.region) == ("b-2", "eu-west-1")
    assert target.connections()["storage.copy.conn_id"] == "s3_copy"
    assert "storage.copy.conn_id" not in load_config(with_target_lines(tmp_path)).targets[0].connections()
    same = _with_storage(tmp_path, "{conn_id: s3, bucket: b-1, copy: {bucket: b-1}}")
    assert_names(load_error(same), same, "targets[shop].storage.copy.bucket", "protects nothing", "another bucket")
def _with_encryption(tmp_path: Path, encryption: str) -> Path:
    return with_target_lines(tmp_path, target=TARGET.replace("prefix: drdrill}", f"prefix: drdrill, encryption: {encryption}}}"))


def test_encryption_is_none_unless_set_and_kms_needs_exactly_its_key(tmp_path: Path) -> None:
    plain = load_config(with_target_lines(tmp_path)).targets[0].storage.encryption
    assert (plain.server_side, plain.kms_key_id, plain.client_side_conn_id) == ("none", None, None)
    kms = load_config(_with_encryption(tmp_path, "{server_side: kms, kms_key_id: alias/b, client_side_conn_id: k}"))
    assert kms.targets[0].storage.encryption.kms_key_id == "alias/b"
    assert "k" in kms.targets[0].connection_ids()
    for encryption, pieces in (("{server_side: kms}", ("names no KMS key", "kms_key_id")),
                               ("{server_side: s3, kms_key_id: alias/b}", ("server_side is s3", "Set server_side: kms")),
                               ("{server_side: aes}", ("unknown server-side encryption 'aes'", "kms (SSE-KMS"))):
        error = load_error(_with_encryption(tmp_path, encryption))
        key = "storage.encryption.server_side" if "aes" in encryption else "storage.encryption.kms_key_id"
        assert_names(error, tmp_path / "drills.yaml", f"targets[shop].{key}", *pieces)
