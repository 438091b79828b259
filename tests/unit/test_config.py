"""The drills YAML: the shipped file loads, and every kind of mistake names file, key and fix."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from drdrill.config import (
    DrillConfig,
    check_connections,
    default_config_path,
    load_config,
    project_root,
)
from drdrill.errors import ConfigError

pytestmark = pytest.mark.unit

TARGET = """\
  - name: shop
    source_conn_id: shop_primary
    databases: [shop]
    storage: {conn_id: drdrill_s3, bucket: drdrill-backups, prefix: drdrill}
    objectives: {rto: 30m, rpo: 15m}
    retention: {keep_days: 14, keep_backups: 7}
"""


def write(tmp_path: Path, text: str, name: str = "drills.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def with_target_lines(tmp_path: Path, *lines: str, target: str = TARGET) -> Path:
    """A one-target file with extra lines appended to (or replacing parts of) the target."""
    return write(tmp_path, "targets:\n" + target + "".join(f"    {line}\n" for line in lines))


def load_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value


def assert_names(error: ConfigError, path: Path, key: str, *pieces: str) -> None:
    """The message names the file and key, has a fix, and contains each of ``pieces``."""
    message = str(error)
    assert path.name in message
    assert error.key == key
    assert f": {key}: " in message
    assert " Fix: " in message and error.fix
    for piece in pieces:
        assert piece in message, f"{piece!r} not in {message!r}"


# --- the shipped file --------------------------------------------------------------------------


@pytest.mark.unit
def test_shipped_drills_yaml_loads() -> None:
    config = load_config(project_root() / "include" / "drills.yaml")
    shop = config.target("shop")
    assert shop.source_conn_id == "drdrill_shop_primary"
    assert shop.replica_conn_id == "drdrill_shop_replica"
    assert shop.databases == ("shop",)
    assert shop.engine == "mariadb-dump"
    assert (shop.storage.conn_id, shop.storage.bucket, shop.storage.prefix) == (
        "drdrill_s3",
        "drdrill-backups",
        "drdrill",
    )
    assert shop.schedules.backup == "0 */6 * * *"
    assert shop.schedules.restore_drill == "@daily"
    assert shop.objectives.rto == timedelta(minutes=30)
    assert shop.objectives.rpo == timedelta(minutes=15)
    assert (shop.retention.keep_days, shop.retention.keep_backups) == (7, 5)
    assert (shop.notify.slack_conn_id, shop.notify.on_success) == ("drdrill_slack", False)
    assert shop.tags == ("sandbox",)
    assert not shop.allow_source_writes and not shop.production
    assert shop.allow_failover_drill and shop.failover_drill.fault == "kill"  # the sandbox target may be failed over
    assert shop.failover_drill.canary_conn_id == "drdrill_shop_canary" and shop.schedules.failover_drill is None
    assert config.settings.history_url == f"sqlite:///{project_root()}/.sandbox/history.sqlite"
    assert config.settings.work_dir == project_root() / ".sandbox" / "work"


@pytest.mark.unit
def test_default_path_is_include_drills_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DRDRILL_CONFIG", raising=False)
    assert default_config_path() == project_root() / "include" / "drills.yaml"
    assert project_root() == Path(__file__).resolve().parents[2]  # the DAGs folder's parent (conftest)
    assert load_config().target("shop").name == "shop"


@pytest.mark.unit
def test_drdrill_config_env_var_chooses_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "targets:\n" + TARGET.replace("name: shop", "name: billing"), "other.yaml")
    monkeypatch.setenv("DRDRILL_CONFIG", str(path))
    assert default_config_path() == path
    assert [target.name for target in load_config().targets] == ["billing"]


# --- a minimal file, defaults, merging ---------------------------------------------------------


@pytest.mark.unit
def test_minimal_target_gets_documented_defaults(tmp_path: Path) -> None:
    config = load_config(with_target_lines(tmp_path))
    shop = config.target("shop")
    assert shop.engine == "mariadb-dump"
    assert (shop.engine_options.parallel, shop.engine_options.compression_level) == (1, 3)
    assert shop.schedules.backup is None and shop.schedules.restore_drill is None
    assert shop.notify.slack_conn_id is None and shop.notify.on_success is False
    assert shop.replica_conn_id is None
    assert shop.min_free_space is None
    assert shop.owner == "drdrill"
    assert shop.tags == ()
    assert config.settings.work_dir == project_root() / ".sandbox" / "work"


@pytest.mark.unit
def test_defaults_merge_under_each_target_and_target_wins(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        settings: {default_owner: dba-team}
        defaults:
          storage: {conn_id: drdrill_s3, bucket: drdrill-backups, prefix: drdrill}
          notify: {slack_conn_id: drdrill_slack, on_success: true}
          objectives: {rto: 30m, rpo: 15m}
          retention: {keep_days: 14, keep_backups: 7}
          schedules: {backup: "0 2 * * *"}
          tags: [fleet]
        targets:
          - name: shop
            source_conn_id: shop_primary
            databases: [shop]
          - name: billing
            source_conn_id: billing_primary
            databases: [billing, ledger]
            storage: {prefix: billing/drills}
            objectives: {rpo: 5m}
            notify: {slack_conn_id: null}
            retention: {keep_days: null}
            owner: payments
            tags: [pci]
        """,
    )
    config = load_config(path)
    shop, billing = config.target("shop"), config.target("billing")

    assert shop.storage.prefix == "drdrill"
    assert shop.objectives.rto == timedelta(minutes=30)
    assert shop.notify.slack_conn_id == "drdrill_slack"
    assert shop.schedules.backup == "0 2 * * *"
    assert shop.owner == "dba-team"
    assert shop.tags == ("fleet",)

    assert billing.storage.bucket == "drdrill-backups"  # from defaults
    assert billing.storage.prefix == "billing/drills"  # the target's own
    assert billing.objectives == type(billing.objectives)(rto=timedelta(minutes=30), rpo=timedelta(minutes=5))
    assert billing.notify.slack_conn_id is None and billing.notify.on_success is True
    assert (billing.retention.keep_days, billing.retention.keep_backups) == (None, 7)
    assert billing.owner == "payments"
    assert billing.tags == ("pci",)
    assert billing.databases == ("billing", "ledger")


@pytest.mark.unit
def test_mysqldump_is_an_alias_and_sizes_become_bytes(tmp_path: Path) -> None:
    shop = load_config(with_target_lines(tmp_path, "engine: mysqldump", "min_free_space: 2GiB")).target(
        "shop"
    )
    assert shop.engine == "mariadb-dump"
    assert shop.min_free_space == 2 * 2**30


@pytest.mark.unit
def test_settings_expand_root(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "settings: {history_url: 'sqlite:///{root}/h.sqlite', work_dir: '{root}/w'}\ntargets:\n" + TARGET,
    )
    settings = load_config(path).settings
    assert settings.history_url == f"sqlite:///{project_root()}/h.sqlite"
    assert settings.work_dir == project_root() / "w"


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


@pytest.mark.unit
def test_yaml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "targets:\n" + TARGET.replace("databases: [shop]", "databases: [shop"))
    assert_names(load_error(path), path, "line 5", "YAML syntax error")


@pytest.mark.unit
def test_unquoted_preset_says_to_quote_it(tmp_path: Path) -> None:
    path = with_target_lines(tmp_path, "schedules: {restore_drill: @daily}")
    error = load_error(path)
    assert_names(error, path, "line 8", "YAML syntax error")
    assert '"@daily"' in (error.fix or "")


@pytest.mark.unit
def test_key_given_twice_is_an_error(tmp_path: Path) -> None:
    path = with_target_lines(tmp_path, "databases: [other]")
    assert_names(load_error(path), path, "line 8", "'databases' appears twice", "first on line 4")


@pytest.mark.unit
def test_missing_file_mentions_drdrill_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nowhere" / "drills.yaml"
    monkeypatch.setenv("DRDRILL_CONFIG", str(missing))
    error = load_error_default()
    assert_names(error, missing, "(file)", str(missing), "DRDRILL_CONFIG")

    error = load_error(tmp_path / "given.yaml")
    assert_names(error, tmp_path / "given.yaml", "(file)", "DRDRILL_CONFIG", "passed in explicitly")


def load_error_default() -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config()
    return caught.value


# --- connections -------------------------------------------------------------------------------


def two_targets(tmp_path: Path) -> DrillConfig:
    path = write(
        tmp_path,
        "targets:\n"
        + TARGET
        + "    replica_conn_id: shop_replica\n"
        + "    notify: {slack_conn_id: drdrill_slack}\n"
        + TARGET.replace("shop", "billing").replace("drdrill-backups", "billing-backups"),
    )
    return load_config(path)


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


@pytest.mark.unit
def test_check_connections_reports_exactly_the_missing_ids(tmp_path: Path) -> None:
    config = two_targets(tmp_path)
    existing = {"shop_primary", "drdrill_s3"}
    asked: list[str] = []

    def exists(conn_id: str) -> bool:
        asked.append(conn_id)
        return conn_id in existing

    problems = check_connections(config, exists)

    assert [problem.key for problem in problems] == [
        "targets[shop].replica_conn_id",
        "targets[shop].notify.slack_conn_id",
        "targets[billing].source_conn_id",
    ]
    for problem, conn_id in zip(problems, ["shop_replica", "drdrill_slack", "billing_primary"], strict=True):
        assert f"Airflow connection {conn_id!r} does not exist." in str(problem)
    assert sorted(asked) == sorted(set(asked))  # each id looked up once
    for problem in problems:
        assert "drills.yaml" in str(problem)
    replica_fix = problems[0].fix or ""
    assert "airflow connections add shop_replica --conn-type mysql" in replica_fix
    assert "AIRFLOW_CONN_SHOP_REPLICA" in replica_fix
    assert "--conn-type slack" in (problems[1].fix or "")


@pytest.mark.unit
def test_check_connections_all_present(tmp_path: Path) -> None:
    assert check_connections(two_targets(tmp_path), lambda conn_id: True) == []


# --- failover_drill ------------------------------------------------------------------------------


def test_failover_drill_settings_are_read_with_defaults(tmp_path: Path) -> None:
    path = with_target_lines(tmp_path, "replica_conn_id: r", "allow_failover_drill: true",
                             "failover_drill: {canary_conn_id: c, max_replica_lag: 3s, errant_transactions: stop}")
    settings = load_config(path).targets[0].failover_drill
    assert (settings.fault, settings.canary_conn_id, settings.max_replica_lag) == ("kill", "c", timedelta(seconds=3))
    assert settings.errant_transactions == "stop" and settings.switch_back is True
    assert settings.approval_timeout == timedelta(hours=4)
    assert "c" in load_config(path).targets[0].connection_ids()


def test_a_managed_fault_s_missing_aws_connection_is_reported(tmp_path: Path) -> None:
    path = with_target_lines(tmp_path, "allow_failover_drill: true", "failover_drill: {canary_conn_id: c, "
                             "fault: aurora_failover, db_cluster_id: shop-cluster, aws_conn_id: shop_aws}")
    config = load_config(path)
    assert "shop_aws" in config.targets[0].connection_ids()
    problems = check_connections(config, lambda conn_id: conn_id != "shop_aws")
    assert [problem.key for problem in problems] == ["targets[shop].failover_drill.aws_conn_id"]
    assert "--conn-type aws" in (problems[0].fix or "")
    assert check_connections(config, lambda conn_id: True) == []


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
