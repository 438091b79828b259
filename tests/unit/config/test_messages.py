"""Every kind of mistake in the drills YAML names the file, the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from .drills_files import TARGET, assert_names, load_error, with_target_lines, write

pytestmark = pytest.mark.unit


# --- each kind of mistake ----------------------------------------------------------------------


@pytest.mark.unit
def test_unknown_key_suggests_the_close_one(tmp_path: Path) -> None:
    path = with_target_lines(tmp_path, target=TARGET.replace("objectives:", "objectivs:"))
    error = load_error(path)
    assert_names(
        error, path, "targets[shop].objectivs", "unknown key 'objectivs'", "Did you mean 'objectives'?"
    )
    assert "allowed keys here:" in str(error)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "key", "suggestion"),
    [
        ("settings: {histroy_url: x}\ntargets: []\n", "settings.histroy_url", "'history_url'"),
        (
            "defaults: {retention: {keep_dayz: 3}}\ntargets: []\n",
            "defaults.retention.keep_dayz",
            "'keep_days'",
        ),
        ("target:\n" + TARGET, "target", "'targets'"),
    ],
)
def test_unknown_keys_at_every_level(tmp_path: Path, text: str, key: str, suggestion: str) -> None:
    path = write(tmp_path, text)
    assert_names(load_error(path), path, key, f"Did you mean {suggestion}?")


@pytest.mark.unit
def test_key_one_level_too_high_says_where_it_belongs(tmp_path: Path) -> None:
    path = with_target_lines(tmp_path, "rto: 5m")
    assert_names(load_error(path), path, "targets[shop].rto", "belongs under objectives")


@pytest.mark.unit
def test_per_target_key_in_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "defaults: {source_conn_id: x}\ntargets:\n" + TARGET)
    assert_names(load_error(path), path, "defaults.source_conn_id", "specific to each target")


@pytest.mark.unit
def test_bad_duration_names_the_objective(tmp_path: Path) -> None:
    path = with_target_lines(tmp_path, target=TARGET.replace("rto: 30m", "rto: 15 minutes"))
    assert_names(load_error(path), path, "targets[shop].objectives.rto", "'15 minutes'", "1h30m", "rto: 30m")


@pytest.mark.unit
def test_bad_duration_in_defaults_names_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "defaults: {objectives: {rpo: -5m}}\ntargets:\n" + TARGET)
    assert_names(load_error(path), path, "defaults.objectives.rpo", "negative")


@pytest.mark.unit
def test_zero_objective_is_rejected(tmp_path: Path) -> None:
    path = with_target_lines(tmp_path, target=TARGET.replace("rpo: 15m", "rpo: 0s"))
    assert_names(load_error(path), path, "targets[shop].objectives.rpo", "greater than zero")


@pytest.mark.unit
def test_out_of_range_cron_shows_croniter_message_and_example(tmp_path: Path) -> None:
    path = with_target_lines(tmp_path, 'schedules: {backup: "61 * * * *"}')
    assert_names(
        load_error(path),
        path,
        "targets[shop].schedules.backup",
        "'61 * * * *'",
        "out of range",
        '"0 2 * * *"',
    )


@pytest.mark.unit
@pytest.mark.parametrize(
    ("value", "piece"),
    [('"0 2 * *"', "has 4 fields"), ('"0 0 2 * * *"', "has 6 fields"), ('"@nightly"', "not a known preset")],
)
def test_other_bad_schedules(tmp_path: Path, value: str, piece: str) -> None:
    path = with_target_lines(tmp_path, f"schedules: {{restore_drill: {value}}}")
    assert_names(load_error(path), path, "targets[shop].schedules.restore_drill", piece, "@daily")


@pytest.mark.unit
def test_unknown_schedule_kind(tmp_path: Path) -> None:
    path = with_target_lines(tmp_path, 'schedules: {restore: "@daily"}')
    assert_names(load_error(path), path, "targets[shop].schedules.restore", "Did you mean 'restore_drill'?")


@pytest.mark.unit
def test_unknown_engine_lists_the_choices(tmp_path: Path) -> None:
    path = with_target_lines(tmp_path, "engine: xtrabackup")
    assert_names(
        load_error(path),
        path,
        "targets[shop].engine",
        "'xtrabackup'",
        "mariadb-dump",
        "mydumper",
        "mariabackup",
    )


@pytest.mark.unit
def test_duplicate_target_names(tmp_path: Path) -> None:
    path = write(tmp_path, "targets:\n" + TARGET + TARGET)
    assert_names(load_error(path), path, "targets[1].name", "'shop' is already used by targets[0]", "Rename")


@pytest.mark.unit
def test_missing_required_key(tmp_path: Path) -> None:
    path = with_target_lines(tmp_path, target=TARGET.replace("    source_conn_id: shop_primary\n", ""))
    assert_names(load_error(path), path, "targets[shop].source_conn_id", "is missing", "source_conn_id:")


@pytest.mark.unit
def test_missing_section_without_defaults(tmp_path: Path) -> None:
    path = with_target_lines(tmp_path, target=TARGET.replace("    objectives: {rto: 30m, rpo: 15m}\n", ""))
    assert_names(load_error(path), path, "targets[shop].objectives", "is missing", "or to defaults")


@pytest.mark.unit
def test_missing_name_uses_the_index(tmp_path: Path) -> None:
    path = with_target_lines(tmp_path, target=TARGET.replace("  - name: shop\n    ", "  - "))
    assert_names(load_error(path), path, "targets[0].name", "is missing")


@pytest.mark.unit
@pytest.mark.parametrize(
    ("lines", "target", "key", "piece"),
    [
        ((), TARGET.replace("name: shop", "name: Shop-1"), "targets[0].name", "lowercase letters"),
        ((), TARGET.replace("databases: [shop]", "databases: []"), "targets[shop].databases", "empty"),
        (
            (),
            TARGET.replace("databases: [shop]", "databases: shop"),
            "targets[shop].databases",
            "must be a list",
        ),
        (("production: 'yes'",), TARGET, "targets[shop].production", "true or false"),
        (
            ("engine_options: {parallel: 100}",),
            TARGET,
            "targets[shop].engine_options.parallel",
            "from 1 to 64",
        ),
        (
            ("engine_options: {compression_level: 0}",),
            TARGET,
            "targets[shop].engine_options.compression_level",
            "from 1 to 19",
        ),
        (
            (),
            TARGET.replace("keep_days: 14", "keep_days: 0"),
            "targets[shop].retention.keep_days",
            "1 or more",
        ),
        (
            (),
            TARGET.replace("{keep_days: 14, keep_backups: 7}", "{keep_days: null}"),
            "targets[shop].retention",
            "neither keep_days nor keep_backups",
        ),
        (
            (),
            TARGET.replace("bucket: drdrill-backups", "bucket: Drdrill_Backups"),
            "targets[shop].storage.bucket",
            "S3 bucket name",
        ),
        (
            (),
            TARGET.replace("prefix: drdrill", "prefix: /drdrill/"),
            "targets[shop].storage.prefix",
            "must not start or end with '/'",
        ),
        (("min_free_space: 1 gigabyte",), TARGET, "targets[shop].min_free_space", "invalid size"),
        (("tags: [sandbox, 7]",), TARGET, "targets[shop].tags[1]", "non-empty string"),
        (
            ("schedules: {failover_drill: '@weekly'}",),
            TARGET,
            "targets[shop].schedules.failover_drill",
            "allow_failover_drill",
        ),
        (
            ("notify: {slack_conn_id: 'has space'}",),
            TARGET,
            "targets[shop].notify.slack_conn_id",
            "connection id",
        ),
        (
            (),
            TARGET.replace("prefix: drdrill}", "prefix: drdrill, manifest_signing_conn_id: 'has space'}"),
            "targets[shop].storage.manifest_signing_conn_id",
            "connection id",
        ),
        (
            (),
            TARGET.replace(
                "storage: {conn_id: drdrill_s3, bucket: drdrill-backups, prefix: drdrill}",
                "storage: drdrill_s3",
            ),
            "targets[shop].storage",
            "must be a mapping",
        ),
    ],
)
def test_wrong_values(tmp_path: Path, lines: tuple[str, ...], target: str, key: str, piece: str) -> None:
    path = with_target_lines(tmp_path, *lines, target=target)
    assert_names(load_error(path), path, key, piece)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "key", "piece"),
    [
        ("", "(file)", "empty"),
        ("- a\n", "(top level)", "must be a mapping"),
        ("targets: []\n", "targets", "non-empty list"),
        (
            "settings: {history_url: history.sqlite}\ntargets:\n" + TARGET,
            "settings.history_url",
            "SQLAlchemy",
        ),
    ],
)
def test_file_level_problems(tmp_path: Path, text: str, key: str, piece: str) -> None:
    path = write(tmp_path, text)
    assert_names(load_error(path), path, key, piece)


def test_failover_drill_without_a_canary_login_is_refused(tmp_path: Path) -> None:
    path = with_target_lines(tmp_path, "replica_conn_id: r", "allow_failover_drill: true")
    error = load_error(path)
    assert_names(error, path, "targets[shop].failover_drill.canary_conn_id", "data")


@pytest.mark.parametrize(("line", "key", "piece"), [
    ("failover_drill: {canary_conn_id: c, fault: explode}", "targets[shop].failover_drill.fault", "kill"),
    ("failover_drill: {canary_conn_id: c, errant_transactions: ignore}", "targets[shop].failover_drill.errant_transactions", "flashback"),
    ("failover_drill: {canary_conn_id: c, fault: rds_reboot}", "targets[shop].failover_drill.db_instance_id", "rds_reboot"),
    ("failover_drill: {canary_conn_id: c, max_replica_lag: soon}", "targets[shop].failover_drill.max_replica_lag", "10s"),
    ("failover_drill: {canary_conn: c}", "targets[shop].failover_drill.canary_conn", "canary_conn_id"),
    ("failover_drill: {canary_conn_id: c, approval_timeout: tomorrow}", "targets[shop].failover_drill.approval_timeout",
     "4h"),
])
def test_failover_drill_typos_name_the_key_and_the_fix(tmp_path: Path, line: str, key: str, piece: str) -> None:
    path = with_target_lines(tmp_path, "replica_conn_id: r", "allow_failover_drill: true", line)
    assert_names(load_error(path), path, key, piece)


@pytest.mark.parametrize(("text", "key", "pieces"), [
    (TARGET.replace("source_conn_id: shop_primary", "source_conn_id: null"), "targets[shop].source_conn_id",
     ("is null; it is required", "`source_conn_id: shop_primary` to this target (an Airflow mysql connection")),
    (TARGET + "    heartbeat: {table: heartbeat}\n", "targets[shop].heartbeat.table", ("must be schema.table",)),
    (TARGET + "    yes: 1\n", "targets[shop].True", ("is not text", '"True":')),
    (TARGET + "    parallel: 2\n", "targets[shop].parallel", ("belongs under engine_options",)),
    (TARGET + "    failover_drill: {fault: aurora_failover}\n", "targets[shop].failover_drill.db_cluster_id",
     ("`db_cluster_id: shop-cluster` for fault: aurora_failover",)),
])
def test_keys_that_are_null_misplaced_or_not_text(tmp_path: Path, text: str, key: str, pieces: tuple[str, ...]) -> None:
    path = write(tmp_path, "targets:\n" + text)
    assert_names(load_error(path), path, key, *pieces)


def test_defaults_that_are_not_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "defaults: 5\ntargets:\n" + TARGET)
    assert_names(load_error(path), path, "defaults", "must be a mapping", "a mapping of target keys")
