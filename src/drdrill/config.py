"""The drills YAML, loaded into frozen records; every problem is a ConfigError naming file, key and fix.

DAG files call :func:`load_config` at parse time, so this module does no network I/O and imports
nothing heavy (PyYAML, croniter).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn

import yaml
from croniter import CroniterError, croniter

from drdrill.drill_kinds import schedule_keys
from drdrill.durations import parse_duration
from drdrill.engines import canonical_engine_name, describe_aliases, engine_names
from drdrill.errors import ConfigError
from drdrill.locations import CONFIG_ENV_VAR, default_config_path, project_root
from drdrill.sizes import parse_size

FAULTS = ("kill", "shutdown", "rds_reboot", "aurora_failover")
ERRANT_POLICIES = ("flashback", "stop")
SCHEDULE_KINDS = schedule_keys()
SCHEDULE_PRESETS = ("@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@once")
DEFAULT_OWNER = "drdrill"
DEFAULT_HISTORY_URL = "sqlite:///{root}/.sandbox/history.sqlite"
DEFAULT_WORK_DIR = "{root}/.sandbox/work"

TARGET_NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,62}")
_CONN_ID_RE = re.compile(r"[A-Za-z0-9_.\-]{1,250}")
_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")
_IPV4_RE = re.compile(r"\d+\.\d+\.\d+\.\d+")
_URL_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://.*")

# Key layout of the file; used for unknown-key checks and "did you mean" hints.
_TOP_KEYS = ("settings", "defaults", "targets")
_SETTINGS_KEYS = ("history_url", "work_dir", "default_owner")
_SECTION_KEYS: dict[str, tuple[str, ...]] = {
    "storage": ("conn_id", "bucket", "prefix"),
    "objectives": ("rto", "rpo"),
    "retention": ("keep_days", "keep_backups"),
    "schedules": SCHEDULE_KINDS,
    "notify": ("slack_conn_id", "on_success"),
    "engine_options": ("parallel", "compression_level"),
    "restore_drill": ("after_backup", "scratch_conn_id", "max_backup_age"),
    "heartbeat": ("table", "column"),
    "failover_drill": ("fault", "canary_conn_id", "replication_conn_id", "max_replica_lag", "detection_timeout", "promotion_timeout",
                       "approval_timeout", "errant_transactions", "switch_back", "redirect_command", "restart_command",
                       "aws_conn_id", "db_instance_id", "db_cluster_id"),
}
_SECTION_EXAMPLES = {
    "storage": "{conn_id: drdrill_s3, bucket: drdrill-backups, prefix: drdrill}",
    "objectives": "{rto: 30m, rpo: 15m}",
    "retention": "{keep_days: 14, keep_backups: 7}",
    "schedules": '{backup: "0 2 * * *", restore_drill: "@daily"}',
    "notify": "{slack_conn_id: drdrill_slack, on_success: false}",
    "engine_options": "{parallel: 2, compression_level: 3}",
    "restore_drill": "{after_backup: true, scratch_conn_id: null, max_backup_age: 1d}",
    "heartbeat": "{table: shop.heartbeat, column: beat_at}",
    "failover_drill": "{fault: kill, canary_conn_id: shop_canary, max_replica_lag: 10s, switch_back: true}",
}
_TARGET_ONLY_KEYS = ("name", "description", "source_conn_id", "replica_conn_id", "databases")
_SHARED_KEYS = (
    "engine",
    "engine_options",
    "storage",
    "schedules",
    "objectives",
    "retention",
    "notify",
    "min_free_space",
    "allow_source_writes",
    "allow_failover_drill",
    "production",
    "owner",
    "tags",
    "restore_drill",
    "heartbeat",
    "failover_drill",
)
_TARGET_KEYS = _TARGET_ONLY_KEYS + _SHARED_KEYS


@dataclass(frozen=True)
class Settings:
    """Installation-wide settings: where drill history goes, scratch space, default DAG owner."""

    history_url: str
    work_dir: Path
    default_owner: str = DEFAULT_OWNER


@dataclass(frozen=True)
class Storage:
    """Where a target's backups live: ``s3://<bucket>/<prefix>/<target>/``."""

    conn_id: str
    bucket: str
    prefix: str = "drdrill"


@dataclass(frozen=True)
class Objectives:
    """Recovery objectives a drill is measured against."""

    rto: timedelta
    rpo: timedelta


@dataclass(frozen=True)
class Retention:
    """How long backups are kept; ``None`` means that limit does not apply."""

    keep_days: int | None = None
    keep_backups: int | None = None


@dataclass(frozen=True)
class Schedules:
    """Airflow schedule per drill kind: cron, preset, or ``None`` (manual or asset-triggered only)."""

    backup: str | None = None
    restore_drill: str | None = None
    pitr_drill: str | None = None
    failover_drill: str | None = None
    binlog_archive: str | None = None
    rpo_monitor: str | None = None


@dataclass(frozen=True)
class RestoreDrill:
    """Restore drill settings: run after each valid backup, where to restore, how old a backup may be."""

    after_backup: bool = False
    scratch_conn_id: str | None = None
    max_backup_age: timedelta | None = None


@dataclass(frozen=True)
class Heartbeat:
    """The table a writer updates every second on the source; its newest row measures the RPO achieved."""

    schema: str
    table: str
    column: str = "beat_at"

    @property
    def qualified_table(self) -> str:
        """``schema.table``."""
        return f"{self.schema}.{self.table}"


@dataclass(frozen=True)
class FailoverDrill:
    """How a failover drill breaks the primary, what it accepts before starting, and how it puts things back."""

    fault: str = "kill"
    canary_conn_id: str | None = None
    replication_conn_id: str | None = None  # the login replicas use (CHANGE MASTER); None: the drill's own login
    max_replica_lag: timedelta = timedelta(seconds=10)
    detection_timeout: timedelta = timedelta(seconds=30)
    promotion_timeout: timedelta = timedelta(seconds=60)
    approval_timeout: timedelta = timedelta(hours=4)  # production targets: how long the approval request waits
    errant_transactions: str = "flashback"
    switch_back: bool = True
    redirect_command: str | None = None
    restart_command: str | None = None
    aws_conn_id: str | None = None
    db_instance_id: str | None = None
    db_cluster_id: str | None = None


@dataclass(frozen=True)
class Notify:
    """Slack notification settings; ``slack_conn_id=None`` turns Slack off."""

    slack_conn_id: str | None = None
    on_success: bool = False


@dataclass(frozen=True)
class EngineOptions:
    """Tuning for the backup tool: worker threads and zstd compression level."""

    parallel: int = 1
    compression_level: int = 3


@dataclass(frozen=True)
class Target:
    """One database server (and schemas) under drill, with everything its DAGs need."""

    name: str
    source_conn_id: str
    databases: tuple[str, ...]
    storage: Storage
    objectives: Objectives
    retention: Retention
    description: str = ""
    replica_conn_id: str | None = None
    engine: str = "mariadb-dump"
    engine_options: EngineOptions = EngineOptions()
    schedules: Schedules = Schedules()
    notify: Notify = Notify()
    min_free_space: int | None = None
    allow_source_writes: bool = False
    allow_failover_drill: bool = False
    production: bool = False
    owner: str = DEFAULT_OWNER
    tags: tuple[str, ...] = ()
    restore_drill: RestoreDrill = RestoreDrill()
    heartbeat: Heartbeat | None = None
    failover_drill: FailoverDrill = FailoverDrill()

    def connection_ids(self) -> list[str]:
        """Airflow connection ids this target uses (source, replica, storage, Slack, scratch, failover logins and
        AWS), without nulls."""
        ids = [self.source_conn_id, self.replica_conn_id, self.storage.conn_id, self.notify.slack_conn_id,
               self.restore_drill.scratch_conn_id, self.failover_drill.canary_conn_id,
               self.failover_drill.replication_conn_id, self.failover_drill.aws_conn_id]
        return list(dict.fromkeys(conn_id for conn_id in ids if conn_id))


@dataclass(frozen=True)
class DrillConfig:
    """The whole drills file: settings and targets, validated."""

    path: Path
    settings: Settings
    targets: tuple[Target, ...]

    def target(self, name: str) -> Target:
        """The target called ``name``; ConfigError listing the known names if there is none."""
        for target in self.targets:
            if target.name == name:
                return target
        known = [target.name for target in self.targets]
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"Did you mean {close[0]!r}? " if close else ""
        raise ConfigError(
            str(self.path),
            f"targets[{name}]",
            f"no target named {name!r}; known targets: {', '.join(known) or '(none)'}.",
            f"{hint}Use one of the known names, or add a target with name: {name} to this file.",
        )


def load_config(path: Path | str | None = None) -> DrillConfig:
    """Read and validate the drills YAML (default: :func:`default_config_path`); ConfigError on a problem."""
    config_path = Path(path).expanduser() if path is not None else default_config_path()
    data = _read_yaml(config_path, explicit=path is not None)
    return _Validator(str(config_path)).drill_config(config_path, data)


def check_connections(config: DrillConfig, exists: Callable[[str], bool]) -> list[ConfigError]:
    """One ConfigError per connection reference that ``exists`` reports missing (Airflow is the caller's)."""
    known: dict[str, bool] = {}
    problems: list[ConfigError] = []
    for target in config.targets:
        label = f"targets[{target.name}]"
        references = [
            (f"{label}.source_conn_id", target.source_conn_id, "mysql"),
            (f"{label}.replica_conn_id", target.replica_conn_id, "mysql"),
            (f"{label}.storage.conn_id", target.storage.conn_id, "aws"),
            (f"{label}.notify.slack_conn_id", target.notify.slack_conn_id, "slack"),
            (f"{label}.failover_drill.canary_conn_id", target.failover_drill.canary_conn_id, "mysql"),
            (f"{label}.failover_drill.replication_conn_id", target.failover_drill.replication_conn_id, "mysql"),
            (f"{label}.failover_drill.aws_conn_id", target.failover_drill.aws_conn_id, "aws"),
        ]
        for key, conn_id, conn_type in references:
            if conn_id is None:
                continue
            if conn_id not in known:
                known[conn_id] = bool(exists(conn_id))
            if not known[conn_id]:
                problems.append(
                    ConfigError(
                        str(config.path),
                        key,
                        f"Airflow connection {conn_id!r} does not exist.",
                        _connection_fix(conn_id, conn_type),
                    )
                )
    return problems


def _connection_fix(conn_id: str, conn_type: str) -> str:
    """How to create a missing connection of ``conn_type``, by CLI and (if the id allows) by env var."""
    note = ""
    if conn_type == "mysql":
        options = (
            "--conn-type mysql --conn-host HOST --conn-port 3306 --conn-login USER --conn-password PASSWORD"
        )
        uri = "mysql://USER:PASSWORD@HOST:3306"
    elif conn_type == "aws":
        options = (
            "--conn-type aws --conn-login ACCESS_KEY_ID --conn-password SECRET_ACCESS_KEY "
            '--conn-extra \'{"region_name": "us-east-1"}\''
        )
        uri = "aws://ACCESS_KEY_ID:SECRET_ACCESS_KEY@/?region_name=us-east-1"
        note = ' For MinIO or moto add "endpoint_url" to the extra.'
    else:
        options = "--conn-type slack --conn-password xoxb-YOUR-BOT-TOKEN"
        uri = "slack://:xoxb-YOUR-BOT-TOKEN@"
        note = " Or set slack_conn_id: null to turn Slack off."
    fix = f"Run `airflow connections add {conn_id} {options}`"
    if re.fullmatch(r"[A-Za-z0-9_]+", conn_id):
        fix += f", or set the environment variable AIRFLOW_CONN_{conn_id.upper()}='{uri}'"
    return f"{fix}.{note}"


# --- reading -------------------------------------------------------------------------------------


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loader that refuses a key given twice in one mapping (PyYAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            first_line: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    seen = key in first_line
                except TypeError:  # unhashable key; let PyYAML report it
                    continue
                if seen:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"key {key!r} appears twice in one mapping (first on line {first_line[key]})",
                        key_node.start_mark,
                    )
                first_line[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path, *, explicit: bool) -> Any:
    """Parsed YAML of ``path``; ConfigError for a missing/unreadable file or a syntax error."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if explicit:
            why = "(this path was passed in explicitly)"
        elif os.environ.get(CONFIG_ENV_VAR, "").strip():
            why = f"(taken from the environment variable {CONFIG_ENV_VAR})"
        else:
            why = f"(the default location, used because {CONFIG_ENV_VAR} is not set)"
        raise ConfigError(
            file,
            "(file)",
            f"drills config not found at {path.resolve()} {why}.",
            f"Create it (start from include/drills.yaml in the drdrill project) or point the environment "
            f"variable {CONFIG_ENV_VAR} at your drills YAML.",
        ) from None
    except IsADirectoryError:
        raise ConfigError(
            file,
            "(file)",
            "is a directory, not a YAML file.",
            f"Point {CONFIG_ENV_VAR} at the YAML file itself.",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            file,
            "(file)",
            f"cannot be read: {exc}.",
            "Check the file's permissions and that it is UTF-8 text.",
        ) from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise _syntax_error(file, text, exc) from None


def _syntax_error(file: str, text: str, exc: yaml.YAMLError) -> ConfigError:
    """A ConfigError pointing at the line (and showing it) where PyYAML gave up."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = str(getattr(exc, "problem", None) or exc)
    if mark is None:
        return ConfigError(file, "(file)", f"YAML syntax error: {problem}.", "Correct the YAML.")
    lines = text.splitlines()
    line = lines[mark.line] if mark.line < len(lines) else ""
    char = line[mark.column : mark.column + 1]
    shown = f" in: {line.strip()!r}" if line.strip() else ""
    if "twice" in problem:
        fix = "Keep one of the two entries and delete the other."
    elif char in ("@", "`", "%", "*", "&", "!") and "token" in problem:
        fix = f'Quote the value: YAML cannot start a plain value with {char!r} (write "@daily", not @daily).'
    elif "\t" in line or "tab" in problem:
        fix = "Indent with spaces, not tabs."
    else:
        fix = "Correct the YAML there: indent with spaces, put a space after ':', close brackets and quotes."
    return ConfigError(
        file, f"line {mark.line + 1}", f"YAML syntax error: {problem} (column {mark.column + 1}){shown}.", fix
    )


# --- validating ----------------------------------------------------------------------------------


def _describe(value: Any) -> str:
    """YAML-flavoured type name plus the value, for 'got ...' messages."""
    kinds = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list", dict: "mapping"}
    if value is None:
        return "null"
    kind = kinds.get(type(value), type(value).__name__)
    shown = repr(value)
    return f"{kind} {shown if len(shown) <= 60 else shown[:57] + '...'}"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _section_hints() -> dict[str, str]:
    """For keys written one level too high (``rto:`` right under a target): which section they belong to."""
    return {
        field_name: f"{field_name!r} belongs under {section}: move it there, e.g. {section}: "
        f"{_SECTION_EXAMPLES[section]}."
        for section, fields in _SECTION_KEYS.items()
        for field_name in fields
    }


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` laid over ``base``; nested mappings merge, everything else (lists, nulls) replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class _Validator:
    """Turns raw YAML data into records, raising ConfigError at the first problem."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, key: str, problem: str, fix: str) -> NoReturn:
        raise ConfigError(self.file, key or "(top level)", problem, fix)

    def require_section(self, raw: Any, path: str, section: str, where: str) -> None:
        if raw is None:
            self.fail(
                path, "is missing; it is required.", f"Add {section}: {_SECTION_EXAMPLES[section]} {where}."
            )

    # -- generic pieces -----------------------------------------------------------------------

    def mapping(
        self,
        value: Any,
        key: str,
        allowed: Sequence[str],
        example: str,
        *,
        elsewhere: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """``value`` as a mapping with only ``allowed`` keys (null counts as empty)."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(key, f"must be a mapping, got {_describe(value)}.", f"Write it as {example}.")
        for name in value:
            if name not in allowed:
                self.unknown_key(key, name, allowed, elsewhere or {})
        return value

    def unknown_key(
        self, path: str, name: Any, allowed: Sequence[str], elsewhere: Mapping[str, str]
    ) -> NoReturn:
        allowed_list = ", ".join(allowed)
        if not isinstance(name, str):
            self.fail(
                _join(path, str(name)),
                f"key {name!r} is not text "
                "(YAML reads unquoted yes/no/on/off/true/false and numbers as values).",
                f'Quote the key, e.g. "{name}":, or use one of the allowed keys: {allowed_list}.',
            )
        key = _join(path, name)
        if name in elsewhere:
            self.fail(
                key, f"unknown key {name!r} here.", f"{elsewhere[name]} Allowed keys here: {allowed_list}."
            )
        close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
        if close:
            self.fail(
                key,
                f"unknown key {name!r}.",
                f"Did you mean {close[0]!r}? Rename it (allowed keys here: {allowed_list}).",
            )
        self.fail(key, f"unknown key {name!r}.", f"Remove it or use one of the allowed keys: {allowed_list}.")

    def missing(self, m: Mapping[str, Any], path: str, name: str, example: str, where: str) -> NoReturn:
        key = _join(path, name)
        state = "is null" if name in m else "is missing"
        self.fail(key, f"{state}; it is required.", f"Add `{name}: {example}` {where}.")

    def text(
        self,
        m: Mapping[str, Any],
        path: str,
        name: str,
        *,
        default: str | None = None,
        pattern: re.Pattern[str] | None = None,
        rule: str = "",
        example: str = "",
    ) -> str | None:
        """A string value (``default`` when absent or null), checked against ``pattern``."""
        value = m.get(name)
        key = _join(path, name)
        if value is None:
            return default
        if not isinstance(value, str):
            self.fail(
                key,
                f"must be a string, got {_describe(value)}.",
                f"Write it as text, e.g. {name}: {example}.",
            )
        if pattern is not None and not pattern.fullmatch(value):
            self.fail(key, f"{value!r} is not valid: {rule}.", f"Use a value like {name}: {example}.")
        return value

    def required_text(
        self,
        m: Mapping[str, Any],
        path: str,
        name: str,
        *,
        where: str,
        pattern: re.Pattern[str] | None = None,
        rule: str = "",
        example: str,
    ) -> str:
        value = self.text(m, path, name, pattern=pattern, rule=rule, example=example)
        if value is None:
            self.missing(m, path, name, example, where)
        return value

    def conn_id(self, m: Mapping[str, Any], path: str, name: str, example: str) -> str | None:
        return self.text(
            m,
            path,
            name,
            pattern=_CONN_ID_RE,
            rule="an Airflow connection id has only letters, digits, '_', '-' and '.'",
            example=example,
        )

    def flag(self, m: Mapping[str, Any], path: str, name: str, default: bool = False) -> bool:
        value = m.get(name, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(
                _join(path, name),
                f"must be true or false, got {_describe(value)}.",
                f"Write {name}: true or {name}: false (unquoted).",
            )
        return value

    def integer(
        self, m: Mapping[str, Any], path: str, name: str, *, low: int, high: int | None, default: int | None
    ) -> int | None:
        value = m.get(name)
        if value is None:
            return default
        bounds = f"from {low} to {high}" if high is not None else f"{low} or more"
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(
                _join(path, name),
                f"must be a whole number {bounds}, got {_describe(value)}.",
                f"Write it as a number, e.g. {name}: {max(low, default or low)}.",
            )
        if value < low or (high is not None and value > high):
            self.fail(
                _join(path, name),
                f"{value} is out of range; it must be {bounds}.",
                f"Use a value {bounds}.",
            )
        return value

    def duration(self, m: Mapping[str, Any], path: str, name: str, example: str) -> timedelta | None:
        value = m.get(name)
        if value is None:
            return None
        try:
            return parse_duration(value)
        except (TypeError, ValueError) as exc:
            self.fail(_join(path, name), f"{exc}.", f"Write a positive duration, e.g. {name}: {example}.")

    def cron(self, m: Mapping[str, Any], path: str, name: str) -> str | None:
        value = m.get(name)
        if value is None:
            return None
        key = _join(path, name)
        presets = ", ".join(SCHEDULE_PRESETS)
        fix = (
            "Use a 5-field cron expression (minute hour day-of-month month day-of-week), "
            f'e.g. {name}: "0 2 * * *", '
            f"a preset ({presets}), or null for manual runs only."
        )
        if not isinstance(value, str):
            self.fail(key, f"must be a cron expression or preset in quotes, got {_describe(value)}.", fix)
        expression = value.strip()
        if expression.startswith("@"):
            if expression not in SCHEDULE_PRESETS:
                self.fail(key, f"{value!r} is not a known preset.", fix)
            return expression
        fields = expression.split()
        if len(fields) != 5:
            self.fail(key, f"{value!r} has {len(fields)} fields; a cron expression has exactly 5.", fix)
        try:
            croniter.expand(expression)
        except (CroniterError, ValueError) as exc:
            self.fail(key, f"{value!r} is not a valid cron expression: {exc}.", fix)
        return expression

    def size(self, m: Mapping[str, Any], path: str, name: str) -> int | None:
        value = m.get(name)
        if value is None:
            return None
        try:
            return parse_size(value)
        except (TypeError, ValueError) as exc:
            self.fail(_join(path, name), f"{exc}.", f"Write a size like {name}: 1GB.")

    def text_list(self, m: Mapping[str, Any], path: str, name: str, example: str) -> tuple[str, ...] | None:
        value = m.get(name)
        if value is None:
            return None
        key = _join(path, name)
        if isinstance(value, str):
            self.fail(
                key, f"must be a list, got {_describe(value)}.", f"Write it as a list: {name}: [{value}]."
            )
        if not isinstance(value, list):
            self.fail(
                key, f"must be a list of strings, got {_describe(value)}.", f"Write it as {name}: {example}."
            )
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                self.fail(
                    f"{key}[{index}]",
                    f"must be a non-empty string, got {_describe(item)}.",
                    f"Write each entry as text, e.g. {name}: {example}.",
                )
        duplicates = sorted({item for item in value if value.count(item) > 1})
        if duplicates:
            self.fail(key, f"lists {', '.join(map(repr, duplicates))} more than once.", "Remove the repeats.")
        return tuple(value)

    # -- file layout --------------------------------------------------------------------------

    def drill_config(self, path: Path, data: Any) -> DrillConfig:
        if data is None:
            self.fail(
                "(file)",
                "the file is empty.",
                "Add a targets: list (include/drills.yaml in the drdrill project is a documented example).",
            )
        top = self.mapping(data, "", _TOP_KEYS, "settings:, defaults: and targets: sections")
        settings = self.settings(top.get("settings"))
        defaults = self.defaults(top.get("defaults"))
        raw_targets = top.get("targets")
        if not isinstance(raw_targets, list) or not raw_targets:
            got = (
                "is missing"
                if "targets" not in top
                else f"must be a non-empty list, got {_describe(raw_targets)}"
            )
            self.fail(
                "targets",
                f"{got}; there is nothing to drill.",
                "Add a list of targets, e.g. "
                "targets: [{name: shop, source_conn_id: shop_primary, databases: [shop]}].",
            )
        targets: list[Target] = []
        seen: dict[str, int] = {}
        for index, raw in enumerate(raw_targets):
            target = self.target(raw, index, defaults, settings)
            if target.name in seen:
                self.fail(
                    f"targets[{index}].name",
                    f"target name {target.name!r} is already used by targets[{seen[target.name]}]; "
                    "names become part of DAG ids, so they must be unique.",
                    "Rename one of the two targets.",
                )
            seen[target.name] = index
            targets.append(target)
        return DrillConfig(path=path, settings=settings, targets=tuple(targets))

    def settings(self, raw: Any) -> Settings:
        m = self.mapping(
            raw, "settings", _SETTINGS_KEYS, "{history_url: ..., work_dir: ..., default_owner: ...}"
        )
        root = str(project_root())
        history_url = self.text(
            m, "settings", "history_url", default=DEFAULT_HISTORY_URL, example=DEFAULT_HISTORY_URL
        )
        history_url = (history_url or DEFAULT_HISTORY_URL).replace("{root}", root)
        if not _URL_RE.fullmatch(history_url):
            self.fail(
                "settings.history_url",
                f"{history_url!r} is not a SQLAlchemy database URL.",
                f"Use a URL like {DEFAULT_HISTORY_URL} or postgresql+psycopg2://user@host/drdrill.",
            )
        work_dir_text = self.text(
            m, "settings", "work_dir", default=DEFAULT_WORK_DIR, example="/var/tmp/drdrill"
        )
        work_dir = Path((work_dir_text or DEFAULT_WORK_DIR).replace("{root}", root)).expanduser()
        if not work_dir.is_absolute():
            work_dir = Path(root) / work_dir
        owner = self.text(
            m,
            "settings",
            "default_owner",
            default=DEFAULT_OWNER,
            pattern=re.compile(r"\S.*"),
            rule="must not be blank",
            example="dba-team",
        )
        return Settings(history_url=history_url, work_dir=work_dir, default_owner=owner or DEFAULT_OWNER)

    def defaults(self, raw: Any) -> dict[str, Any]:
        """The raw defaults mapping, after checking each value it sets (required keys: per target)."""
        elsewhere = _section_hints()
        elsewhere.update(
            {
                name: f"{name!r} is specific to each target; move it into the target(s)."
                for name in _TARGET_ONLY_KEYS
            }
        )
        m = self.mapping(raw, "defaults", _SHARED_KEYS, "a mapping of target keys", elsewhere=elsewhere)
        self.shared_fields(m, "defaults", partial=True, default_owner=DEFAULT_OWNER)
        return m

    def target(self, raw: Any, index: int, defaults: Mapping[str, Any], settings: Settings) -> Target:
        path = f"targets[{index}]"
        if not isinstance(raw, dict):
            self.fail(
                path,
                f"must be a mapping, got {_describe(raw)}.",
                "Write each target as a mapping with at least name, source_conn_id and databases.",
            )
        name = raw.get("name")
        if isinstance(name, str) and TARGET_NAME_RE.fullmatch(name):
            path = f"targets[{name}]"
        m = self.mapping(raw, path, _TARGET_KEYS, "a mapping", elsewhere=_section_hints())
        where = "to this target"
        name = self.required_text(
            m,
            path,
            "name",
            where=where,
            pattern=TARGET_NAME_RE,
            rule="a target name is 1-63 characters of lowercase letters, digits and '_', "
            "starting with a letter (it becomes part of DAG ids)",
            example="shop",
        )
        source = self.conn_id(m, path, "source_conn_id", "shop_primary")
        if source is None:
            self.missing(
                m, path, "source_conn_id", "shop_primary", "to this target (an Airflow mysql connection)"
            )
        replica = self.conn_id(m, path, "replica_conn_id", "shop_replica")
        databases = self.text_list(m, path, "databases", "[shop]")
        if not databases:
            self.fail(
                _join(path, "databases"),
                "is missing or empty; list the schemas to drill.",
                "Add databases: [shop] (the schema names on the source server).",
            )
        for position, database in enumerate(databases):
            if len(database) > 64 or database != database.strip():
                self.fail(
                    f"{path}.databases[{position}]",
                    f"{database!r} is not a valid schema name "
                    "(at most 64 characters, no surrounding spaces).",
                    "Use the schema name exactly as SHOW DATABASES prints it.",
                )
        description = self.text(m, path, "description", default="", example="Web shop orders database") or ""
        merged = _deep_merge(defaults, m)
        shared = self.shared_fields(merged, path, partial=False, default_owner=settings.default_owner)
        return Target(
            name=name,
            description=description,
            source_conn_id=source,
            replica_conn_id=replica,
            databases=databases,
            **shared,
        )

    def shared_fields(
        self, m: Mapping[str, Any], path: str, *, partial: bool, default_owner: str
    ) -> dict[str, Any]:
        """Keys a target may inherit from defaults; with ``partial`` only the keys present are checked."""
        where = "to this target or to defaults" if not partial else "to defaults"
        fields: dict[str, Any] = {}

        engine = m.get("engine")
        if engine is not None:
            canonical = canonical_engine_name(engine) if isinstance(engine, str) else None
            if canonical is None:
                self.fail(
                    _join(path, "engine"),
                    f"unknown engine {engine!r}.",
                    f"Use one of: {', '.join(engine_names())} (also accepted: {describe_aliases()}).",
                )
            fields["engine"] = canonical

        fields["engine_options"] = self.engine_options(m.get("engine_options"), _join(path, "engine_options"))
        fields["storage"] = self.storage(m.get("storage"), _join(path, "storage"), partial, where)
        fields["schedules"] = self.schedules(m.get("schedules"), _join(path, "schedules"))
        fields["objectives"] = self.objectives(m.get("objectives"), _join(path, "objectives"), partial, where)
        fields["retention"] = self.retention(m.get("retention"), _join(path, "retention"), partial, where)
        fields["notify"] = self.notify(m.get("notify"), _join(path, "notify"))
        fields["min_free_space"] = self.size(m, path, "min_free_space")
        for flag in ("allow_source_writes", "allow_failover_drill", "production"):
            fields[flag] = self.flag(m, path, flag)
        fields["owner"] = self.text(
            m,
            path,
            "owner",
            default=default_owner,
            pattern=re.compile(r"\S.*"),
            rule="must not be blank",
            example="dba-team",
        )
        fields["tags"] = self.text_list(m, path, "tags", "[sandbox]") or ()
        fields["restore_drill"] = self.restore_drill(m.get("restore_drill"), _join(path, "restore_drill"))
        fields["heartbeat"] = self.heartbeat(m.get("heartbeat"), _join(path, "heartbeat"))
        fields["failover_drill"] = self.failover_drill(m.get("failover_drill"), _join(path, "failover_drill"))

        schedules: Schedules = fields["schedules"]
        if not partial and schedules.failover_drill is not None and not fields["allow_failover_drill"]:
            self.fail(
                _join(path, "schedules.failover_drill"),
                "a failover drill is scheduled but allow_failover_drill is false.",
                "Set allow_failover_drill: true for this target, or failover_drill: null.",
            )
        if not partial and fields["allow_failover_drill"] and fields["failover_drill"].canary_conn_id is None:
            self.fail(
                _join(path, "failover_drill.canary_conn_id"),
                "is missing; a failover drill writes canary rows through a login that may only write data "
                "(no SUPER or READ ONLY ADMIN, so a read-only replica refuses it).",
                "Add failover_drill: {canary_conn_id: <a mysql connection with INSERT, SELECT on the first "
                "database>}, or set allow_failover_drill: false.",
            )
        return fields

    def storage(self, raw: Any, path: str, partial: bool, where: str) -> Storage | None:
        m = self.mapping(raw, path, _SECTION_KEYS["storage"], _SECTION_EXAMPLES["storage"])
        conn_id = self.conn_id(m, path, "conn_id", "drdrill_s3")
        bucket = self.text(
            m,
            path,
            "bucket",
            pattern=_BUCKET_RE,
            rule="an S3 bucket name is 3-63 characters of lowercase letters, digits, '.' and '-', "
            "starting and ending with a letter or digit",
            example="drdrill-backups",
        )
        if bucket is not None and (".." in bucket or _IPV4_RE.fullmatch(bucket) or bucket.startswith("xn--")):
            self.fail(
                _join(path, "bucket"),
                f"{bucket!r} is not a valid S3 bucket name "
                "(no '..', not an IP address, not starting with 'xn--').",
                "Use a name like drdrill-backups.",
            )
        prefix = self.text(m, path, "prefix", default="drdrill", example="drdrill")
        if prefix is not None and (prefix.startswith("/") or prefix.endswith("/") or "//" in prefix):
            self.fail(
                _join(path, "prefix"),
                f"{prefix!r} must not start or end with '/' or contain '//'.",
                f"Write it as prefix: {prefix.strip('/') or 'drdrill'}.",
            )
        if partial:
            return None
        self.require_section(raw, path, "storage", where)
        where = f"under storage {where}"
        if conn_id is None:
            self.missing(m, path, "conn_id", "drdrill_s3", where)
        if bucket is None:
            self.missing(m, path, "bucket", "drdrill-backups", where)
        return Storage(conn_id=conn_id, bucket=bucket, prefix=prefix if prefix is not None else "drdrill")

    def objectives(self, raw: Any, path: str, partial: bool, where: str) -> Objectives | None:
        m = self.mapping(raw, path, _SECTION_KEYS["objectives"], _SECTION_EXAMPLES["objectives"])
        rto = self.duration(m, path, "rto", "30m")
        rpo = self.duration(m, path, "rpo", "15m")
        if partial:
            return None
        self.require_section(raw, path, "objectives", where)
        where = f"under objectives {where}"
        if rto is None:
            self.missing(m, path, "rto", "30m", where)
        if rpo is None:
            self.missing(m, path, "rpo", "15m", where)
        return Objectives(rto=rto, rpo=rpo)

    def retention(self, raw: Any, path: str, partial: bool, where: str) -> Retention | None:
        m = self.mapping(raw, path, _SECTION_KEYS["retention"], _SECTION_EXAMPLES["retention"])
        keep_days = self.integer(m, path, "keep_days", low=1, high=None, default=None)
        keep_backups = self.integer(m, path, "keep_backups", low=1, high=None, default=None)
        if partial:
            return None
        self.require_section(raw, path, "retention", where)
        if keep_days is None and keep_backups is None:
            self.fail(
                path,
                "neither keep_days nor keep_backups is set, so nothing would say which backups to delete.",
                f"Add retention: {_SECTION_EXAMPLES['retention']} {where} (at least one of the two).",
            )
        return Retention(keep_days=keep_days, keep_backups=keep_backups)

    def schedules(self, raw: Any, path: str) -> Schedules:
        m = self.mapping(raw, path, SCHEDULE_KINDS, _SECTION_EXAMPLES["schedules"])
        return Schedules(**{kind: self.cron(m, path, kind) for kind in SCHEDULE_KINDS})

    def notify(self, raw: Any, path: str) -> Notify:
        m = self.mapping(raw, path, _SECTION_KEYS["notify"], _SECTION_EXAMPLES["notify"])
        return Notify(
            slack_conn_id=self.conn_id(m, path, "slack_conn_id", "drdrill_slack"),
            on_success=self.flag(m, path, "on_success"),
        )

    def restore_drill(self, raw: Any, path: str) -> RestoreDrill:
        m = self.mapping(raw, path, _SECTION_KEYS["restore_drill"], _SECTION_EXAMPLES["restore_drill"])
        return RestoreDrill(
            after_backup=self.flag(m, path, "after_backup"),
            scratch_conn_id=self.conn_id(m, path, "scratch_conn_id", "drdrill_scratch"),
            max_backup_age=self.duration(m, path, "max_backup_age", "1d"),
        )

    def heartbeat(self, raw: Any, path: str) -> Heartbeat | None:
        if raw is None:
            return None
        m = self.mapping(raw, path, _SECTION_KEYS["heartbeat"], _SECTION_EXAMPLES["heartbeat"])
        table = self.text(m, path, "table", pattern=re.compile(r"[A-Za-z0-9_$]+\.[A-Za-z0-9_$]+"),
                          rule="must be schema.table", example="shop.heartbeat")
        if table is None:
            self.missing(m, path, "table", "shop.heartbeat", "to this heartbeat section")
        column = self.text(m, path, "column", default="beat_at", pattern=re.compile(r"[A-Za-z0-9_$]+"),
                           rule="must be a column name", example="beat_at") or "beat_at"
        schema, name = table.split(".", 1)
        return Heartbeat(schema=schema, table=name, column=column)

    def failover_drill(self, raw: Any, path: str) -> FailoverDrill:
        m = self.mapping(raw, path, _SECTION_KEYS["failover_drill"], _SECTION_EXAMPLES["failover_drill"])
        defaults = FailoverDrill()
        fault = self.text(m, path, "fault", default=defaults.fault, example="kill")
        if fault not in FAULTS:
            self.fail(_join(path, "fault"), f"unknown fault {fault!r}.", f"Use one of: {', '.join(FAULTS)}.")
        errant = self.text(m, path, "errant_transactions", default=defaults.errant_transactions, example="flashback")
        if errant not in ERRANT_POLICIES:
            self.fail(_join(path, "errant_transactions"), f"unknown policy {errant!r}.",
                      "Use flashback (roll them back on the old primary after saving them) or stop "
                      "(leave the old primary out of replication for a DBA to decide).")
        aws = {name: self.text(m, path, name, example=example)
               for name, example in (("db_instance_id", "shop-db"), ("db_cluster_id", "shop-cluster"))}
        required = {"rds_reboot": "db_instance_id", "aurora_failover": "db_cluster_id"}.get(fault or "")
        if required and not aws[required]:
            self.missing(m, path, required, "shop-db", f"for fault: {fault}")
        return FailoverDrill(
            fault=fault or defaults.fault,
            canary_conn_id=self.conn_id(m, path, "canary_conn_id", "shop_canary"),
            replication_conn_id=self.conn_id(m, path, "replication_conn_id", "shop_replication"),
            max_replica_lag=self.duration(m, path, "max_replica_lag", "10s") or defaults.max_replica_lag,
            detection_timeout=self.duration(m, path, "detection_timeout", "30s") or defaults.detection_timeout,
            promotion_timeout=self.duration(m, path, "promotion_timeout", "60s") or defaults.promotion_timeout,
            approval_timeout=self.duration(m, path, "approval_timeout", "4h") or defaults.approval_timeout,
            errant_transactions=errant or defaults.errant_transactions,
            switch_back=self.flag(m, path, "switch_back", default=True),
            redirect_command=self.text(m, path, "redirect_command", example="/usr/local/bin/repoint-proxysql"),
            restart_command=self.text(m, path, "restart_command", example="systemctl start mariadb"),
            aws_conn_id=self.conn_id(m, path, "aws_conn_id", "aws_default"),
            **aws,
        )

    def engine_options(self, raw: Any, path: str) -> EngineOptions:
        m = self.mapping(raw, path, _SECTION_KEYS["engine_options"], _SECTION_EXAMPLES["engine_options"])
        defaults = EngineOptions()
        parallel = self.integer(m, path, "parallel", low=1, high=64, default=defaults.parallel)
        level = self.integer(m, path, "compression_level", low=1, high=19, default=defaults.compression_level)
        return EngineOptions(
            parallel=parallel if parallel is not None else defaults.parallel,
            compression_level=level if level is not None else defaults.compression_level,
        )
