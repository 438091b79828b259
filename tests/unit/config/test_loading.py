"""Reading the drills YAML: the shipped file, where the file comes from, inheritance from defaults, YAML syntax."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from drdrill.config import load_config
from drdrill.errors import ConfigError
from drdrill.locations import default_config_path, project_root

from .drills_files import TARGET, assert_names, load_error, load_error_default, with_target_lines, write

pytestmark = pytest.mark.unit


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
    assert project_root() == Path(__file__).resolve().parents[3]  # the DAGs folder's parent (conftest)
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
def test_an_unclosed_bracket_is_named_on_the_line_that_opened_it(tmp_path: Path) -> None:
    text = "targets:\n" + TARGET.replace("databases: [shop]", "databases: [shop")
    opened = 1 + next(number for number, line in enumerate(text.splitlines()) if "databases: [shop" in line)
    path = write(tmp_path, text)
    error = load_error(path)
    assert_names(error, path, f"line {opened}", "YAML syntax error", "'[' list opened here is not closed")
    assert f"line {opened}," in (error.fix or "")


@pytest.mark.unit
def test_an_unclosed_quote_is_named_on_its_line_not_at_the_end_of_the_file(tmp_path: Path) -> None:
    text = "targets:\n" + TARGET.replace("databases: [shop]", 'description: "a shop') + "    tags: [x]\n" * 4
    opened = 1 + next(number for number, line in enumerate(text.splitlines()) if '"a shop' in line)
    path = write(tmp_path, text)
    assert_names(load_error(path), path, f"line {opened}", "quote opened here is not closed")


@pytest.mark.unit
def test_a_syntax_error_on_one_line_is_named_on_that_line(tmp_path: Path) -> None:
    text = "targets:\n" + TARGET.replace("databases: [shop]", "databases: [shop]]")
    broken = 1 + next(number for number, line in enumerate(text.splitlines()) if "[shop]]" in line)
    path = write(tmp_path, text)
    assert_names(load_error(path), path, f"line {broken}", "YAML syntax error")


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


@pytest.mark.unit
def test_null_means_the_default_and_overrides_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "settings: {default_owner: dba}\ndefaults: {engine: mydumper, tags: [fleet]}\n"
                           "targets:\n" + TARGET + "    engine_options: null\n    engine: null\n    owner: null\n")
    shop = load_config(path).target("shop")
    assert (shop.engine_options.parallel, shop.engine, shop.owner, shop.tags) == (1, "mariadb-dump", "dba", ("fleet",))


# --- one bad target stays one ----------------------------------------------------------------------------


BROKEN_TARGETS = (
    TARGET.replace("shop", "billing").replace("rto: 30m", "rto: 30 minutes")
    + TARGET.replace("name: shop", "name: Bad Name")
)


@pytest.mark.unit
def test_a_broken_target_is_kept_apart_and_the_others_load(tmp_path: Path) -> None:
    path = write(tmp_path, "targets:\n" + TARGET + BROKEN_TARGETS)
    config = load_config(path)
    assert [target.name for target in config.targets] == ["shop"]
    assert [(broken.index, broken.name) for broken in config.broken] == [(1, "billing"), (2, "targets_2")]
    assert_names(config.broken[0].error(), path, "targets[billing].objectives.rto", "invalid duration '30 minutes'")
    assert_names(config.broken[1].error(), path, "targets[2].name", "'Bad Name' is not valid")
    with pytest.raises(ConfigError, match="invalid duration '30 minutes'"):
        config.target("billing")  # asking for the broken target by name gets its own problem
    assert config.target("shop").objectives.rto == timedelta(minutes=30)


@pytest.mark.unit
def test_a_file_whose_every_target_is_broken_is_an_error(tmp_path: Path) -> None:
    assert_names(load_error(write(tmp_path, "targets:\n" + BROKEN_TARGETS)), tmp_path / "drills.yaml",
                 "targets[billing].objectives.rto", "invalid duration")


@pytest.mark.unit
@pytest.mark.parametrize(("text", "key"), [
    ("settings: {work_dir: 5}\ntargets:\n" + TARGET + BROKEN_TARGETS, "settings.work_dir"),
    ("defaults: {engine: tape}\ntargets:\n" + TARGET + TARGET.replace("shop", "billing"), "defaults.engine"),
    ("targets:\n" + TARGET + TARGET + BROKEN_TARGETS, "targets[1].name"),
], ids=["settings", "defaults", "duplicate names"])
def test_a_problem_outside_a_single_target_still_stops_the_whole_file(tmp_path: Path, text: str, key: str) -> None:
    assert load_error(write(tmp_path, text)).key == key
