"""The drills YAML's types, declared once: frozen pydantic dataclasses with their defaults, checks and examples.

Each key's description and example appear in the JSON Schema and in the fixes of error messages.
``TargetDefaults`` (the ``defaults`` section) is derived from ``Target``: its shared keys, each optional.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.dataclasses import dataclass
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticUndefined

from drdrill.config.values import (DEFAULT_HISTORY_URL, QUALIFIED_TABLE_PATTERN, TARGET_NAME_PATTERN, BucketName, ConnectionId,
    Count, Duration, DurationOrZero, EngineName, ErrantPolicy, Fault, Flag, HistoryURL, Identifier, LockMode, Names, PoolName,
    Prefix, ProjectPath, Schedule, SchemaNames, ServerSideEncryption, Size, TargetName, Text, config_error, describe)
from drdrill.drill_kinds import FAILOVER, KINDS
from drdrill.errors import ConfigError

DEFAULT_OWNER = "drdrill"
DEFAULT_WORK_DIR = "{root}/.sandbox/work"
TARGET_ONLY_KEYS = ("name", "description", "source_conn_id", "replica_conn_id", "databases")
CONNECTION_KEYS = {  # a target's connection keys: the Airflow connection type each names (None: not checked)
    "source_conn_id": "mysql", "replica_conn_id": "mysql", "storage.conn_id": "aws", "notify.slack_conn_id": "slack",
    "storage.manifest_signing_conn_id": "generic", "storage.copy.conn_id": "aws",
    "storage.encryption.client_side_conn_id": "generic",
    "restore_drill.scratch_conn_id": None, "failover_drill.canary_conn_id": "mysql",
    "failover_drill.replication_conn_id": "mysql", "failover_drill.aws_conn_id": "aws"}
CONFIG = ConfigDict(extra="forbid", regex_engine="python-re", defer_build=True)  # validators built on first use
_T = TypeVar("_T")


def _key(description: str, example: Any = None, default: Any = PydanticUndefined, **constraints: Any) -> Any:
    """A key: what it means, an example value (both shown in editors and error messages) and its default."""
    return Field(default, description=description, examples=None if example is None else [example], **constraints)


def _section(cls: type, description: str, example: dict[str, Any]) -> Any:
    """An optional section: ``cls`` with all its defaults when left out."""
    return Field(default_factory=cls, description=description, examples=[example])


@dataclass(frozen=True, config=CONFIG, kw_only=True)
class Pools:
    """Airflow pools that bound the heavy tasks across the whole installation (null: Airflow's default_pool)."""

    backup: PoolName | None = _key("the pool of every backup drill's dump and verify tasks (each loads its source "
                                   "server and a worker's CPU and disk)", "drdrill_backup", None)
    recovery: PoolName | None = _key("the pool of every restore and PITR drill's recover task (each runs a scratch "
                                     "server: size it by the workers' memory)", "drdrill_recovery", None)


@dataclass(frozen=True, config=CONFIG, kw_only=True)
class Settings:
    """Installation-wide settings: where drill history goes, scratch space, default DAG owner."""

    history_url: HistoryURL = _key("SQLAlchemy URL of the drill history; {root}: the project directory",
                                   DEFAULT_HISTORY_URL, DEFAULT_HISTORY_URL, validate_default=True)
    work_dir: ProjectPath = _key("scratch space for backup and restore tools", "/var/tmp/drdrill", DEFAULT_WORK_DIR,
                                 validate_default=True)
    default_owner: Text = _key("owner of every DAG whose target sets none", "dba-team", DEFAULT_OWNER)
    scratch_slots: Count | None = _key("scratch servers one worker may run at once; null: as many as its available "
                                       "memory holds", 2, None, ge=1)
    airflow_api_conn_id: ConnectionId | None = _key(
        "an Airflow http connection to Airflow's own REST API (host: its base URL; login and password of a user "
        "allowed to edit connections): how a failover drill's task redirects the source connection; null: "
        "`airflow connections import`, which needs the metadata database (only outside a task on Airflow 3)",
        "drdrill_airflow_api", None)
    pools: Pools = _section(Pools, "Airflow pools of the heavy tasks; create them first (airflow pools set)",
                            {"backup": "drdrill_backup", "recovery": "drdrill_recovery"})
    report_schedule: Schedule = _key("when the dr_report DAG writes the DR report of the days before (stored beside "
                                     "the backups, summary to Slack); pause the DAG to run it on demand only",
                                     "@weekly", "@weekly", validate_default=True)


@dataclass(frozen=True, config=CONFIG, kw_only=True)
class ObjectLock:
    """S3 Object Lock on every backup object and manifest (the bucket must have been created with Object Lock)."""

    mode: LockMode = _key("governance (users with s3:BypassGovernanceRetention may still delete) or compliance "
                          "(nobody can delete before the lock ends)", "governance")
    retain_days: Count = _key("days from the backup's start during which none of its objects can be deleted or "
                              "overwritten; retention keeps a backup at least this long", 14, ge=1, le=36500)


@dataclass(frozen=True, config=CONFIG, kw_only=True)
class StorageCopy:
    """A second bucket (another region, another account) that holds a server-side copy of every verified backup."""

    bucket: BucketName = _key("the copy's bucket (with Object Lock enabled when storage.object_lock is set)",
                              "drdrill-backups-copy")
    conn_id: ConnectionId | None = _key("an Airflow aws connection to the copy's bucket; its credentials must also "
                                        "read the backups' bucket (the copy is server-side); null: storage.conn_id",
                                        "drdrill_s3_copy", None)
    region: Text | None = _key("the copy bucket's region (the connection's region_name otherwise)", "eu-west-1", None)


@dataclass(frozen=True, config=CONFIG, kw_only=True)
class Encryption:
    """How a target's objects are encrypted at rest: by S3 on every write, and by drdrill before upload."""

    server_side: ServerSideEncryption = _key("S3's encryption of every object drdrill writes: none (the bucket's "
                                             "default), s3 (SSE-S3) or kms (SSE-KMS with kms_key_id)", "kms", "none")
    kms_key_id: Text | None = _key("the KMS key (id, ARN or alias) of server_side: kms",
                                   "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", None)
    client_side_conn_id: ConnectionId | None = _key(
        "an Airflow connection whose password is a base64 32-byte key: drdrill encrypts each backup object and "
        "binlog segment with it before upload (ChaCha20-Poly1305 stream); null: no client-side encryption",
        "drdrill_backup_key", None)

    @model_validator(mode="after")
    def _kms_has_one_key(self) -> Encryption:
        if self.server_side == "kms" and not self.kms_key_id:
            raise config_error("server_side: kms names no KMS key, and SSE-KMS needs one.",
                               "Add encryption: {kms_key_id: <the key's id, ARN or alias>}, or use server_side: s3.",
                               field="kms_key_id")
        if self.kms_key_id and self.server_side != "kms":
            raise config_error(f"kms_key_id is set but server_side is {self.server_side}, so the key would not be used.",
                               "Set server_side: kms, or remove kms_key_id.", field="kms_key_id")
        return self


@dataclass(frozen=True, config=CONFIG, kw_only=True)
class Storage:
    """Where a target's backups live: ``s3://<bucket>/<prefix>/<target>/``."""

    conn_id: ConnectionId = _key("an Airflow aws connection: moto, MinIO or AWS S3", "drdrill_s3")
    bucket: BucketName = _key("the S3 bucket", "drdrill-backups")
    prefix: Prefix = _key("folder inside the bucket", "drdrill", "drdrill")
    manifest_signing_conn_id: ConnectionId | None = _key(
        "an Airflow connection whose password signs each manifest (HMAC-SHA256); null: digest only",
        "drdrill_manifest_key", None)
    connect_timeout: Duration = _key("how long one connection to the S3 endpoint may take", "10s", timedelta(seconds=10))
    read_timeout: Duration = _key("how long the S3 endpoint may stay silent in one request before it is retried",
                                  "30s", timedelta(seconds=30))
    attempts: Count = _key("tries of each S3 request (and of each cut download) before the drill stops with "
                           "STORAGE_UNAVAILABLE", 4, 4, ge=1)
    parts_in_flight: Count = _key("parts of a streaming upload sent at once (memory: this many plus one parts of "
                                  "16 MiB)", 4, 4, ge=1, le=16)
    object_lock: ObjectLock | None = _key("write every backup object and manifest under S3 Object Lock; null: no "
                                          "lock", {"mode": "governance", "retain_days": 14}, None)
    copy: StorageCopy | None = _key("copy every verified backup to a second bucket and check the copy; null: no copy",
                                    {"bucket": "drdrill-backups-copy", "region": "eu-west-1"}, None)
    encryption: Encryption = _section(Encryption, "encryption at rest (README: Encryption at rest)",
                                      {"server_side": "kms", "kms_key_id": "alias/drdrill-backups",
                                       "client_side_conn_id": "drdrill_backup_key"})

    @model_validator(mode="after")
    def _copy_is_another_bucket(self) -> Storage:
        if self.copy and self.copy.bucket == self.bucket and self.copy.conn_id in (None, self.conn_id):
            raise config_error(f"names the backups' own bucket {self.bucket!r}; a copy there protects nothing.",
                               "Set storage.copy.bucket to another bucket (ideally in another region or account).",
                               field="copy.bucket")
        return self


@dataclass(frozen=True, config=CONFIG, kw_only=True)
class Objectives:
    """Recovery objectives a drill is measured against."""

    rto: Duration = _key("longest acceptable time from disaster to a validated, serving server", "30m")
    rpo: Duration = _key("most data, as time, that may be lost", "15m")


@dataclass(frozen=True, config=CONFIG, kw_only=True)
class Timeouts:
    """How long a drill's tasks and runs may take (Airflow's execution_timeout and dagrun_timeout)."""

    backup: Duration = _key("each backup task (dump, manifest, verify)", "6h", timedelta(hours=6))
    recovery: Duration | None = _key("each restore, PITR and failover task; null: 1.5 × objectives.rto, at least "
                                     "10m", "45m", None)
    archive: Duration = _key("each binlog-archiving task", "30m", timedelta(minutes=30))
    short: Duration = _key("preflight, planning, measuring, retention, RPO-monitor and record tasks", "10m",
                           timedelta(minutes=10))
    lock_wait: Duration = _key("how long a drill waits for a conflicting drill of the same target before it is "
                               "refused (DRILL_CONFLICT)", "10m", timedelta(minutes=10))


@dataclass(frozen=True, config=CONFIG, kw_only=True)
class Retention:
    """How long backups are kept; ``None`` means that limit does not apply."""

    keep_days: Count | None = _key("keep backups younger than this many days", 14, None, ge=1)
    keep_backups: Count | None = _key("keep this many newest backups whatever their age", 7, None, ge=1)

    @model_validator(mode="after")
    def _says_what_to_keep(self) -> Retention:
        if self.keep_days is None and self.keep_backups is None:
            raise config_error("neither keep_days nor keep_backups is set, so nothing would say which backups "
                               "to delete.", "Add retention: {example} {where} (at least one of the two).")
        return self


def _record(name: str, doc: str, keys: list[tuple[str, Any]]) -> Any:
    """A frozen config dataclass called ``name`` whose ``keys`` (name, annotation) all default to None."""
    made = dataclasses.make_dataclass(name, [(key, annotation, dataclasses.field(default=None)) for key, annotation in keys],
                                      frozen=True, kw_only=True, namespace={"__module__": __name__})
    record = dataclass(made, config=CONFIG, frozen=True, kw_only=True)
    record.__doc__ = doc  # after pydantic, which drops a plain dataclass's docstring
    return record


def _a_key_per_drill_kind(cls: type[_T]) -> type[_T]:
    """``cls`` with an optional schedule per drill kind (``drdrill.drill_kinds``)."""
    return _record(cls.__name__, cls.__doc__ or "", [
        (kind.schedule_key, Annotated[Schedule | None, Field(description=f"when the {kind.title} runs")]) for kind in KINDS])


@_a_key_per_drill_kind
class Schedules:
    """Airflow schedule per drill kind: cron, preset, or ``None`` (manual or asset-triggered only)."""


@dataclass(frozen=True, config=CONFIG, kw_only=True)
class RestoreDrill:
    """Restore drill settings: run after each valid backup, where to restore, how old a backup may be."""

    after_backup: Flag = _key("also run after every valid backup", None, False)
    scratch_conn_id: ConnectionId | None = _key("a server to restore into; null: a scratch mariadbd", "scratch", None)
    max_backup_age: Duration | None = _key("the newest valid backup may be at most this old", "1d", None)


@dataclass(frozen=True, config=CONFIG, kw_only=True)
class Verify:
    """How the backup drill's verify checks a new backup: by S3's checksums, re-reading every byte now and then."""

    deep_every: DurationOrZero = _key(
        "re-read and hash every byte of the new backup (a deep verify) when this target's last deep verify is older "
        "than this; otherwise S3's checksums are checked, downloading nothing. 0s: every verify is deep", "7d",
        timedelta(days=7))


@dataclass(frozen=True, config=CONFIG)
class Heartbeat:
    """The table a writer updates every second on the source; its newest row measures the RPO achieved."""

    schema: SkipJsonSchema[Identifier]  # the file writes table: schema.table
    table: Identifier = _key("schema.table", "shop.heartbeat", json_schema_extra={"pattern": QUALIFIED_TABLE_PATTERN})
    column: Identifier = _key("a UTC DATETIME/TIMESTAMP column", "beat_at", "beat_at")

    @model_validator(mode="before")
    @classmethod
    def _split_qualified_table(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        table = data.get("table")
        if isinstance(table, str) and re.fullmatch(QUALIFIED_TABLE_PATTERN, table) and "schema" not in data:
            schema, _, name = table.partition(".")
            return {**data, "schema": schema, "table": name}
        if table is None:
            raise config_error(f"{'is null' if 'table' in data else 'is missing'}; it is required.",
                               "Add `table: shop.heartbeat` {where}.", field="table")
        raise config_error(f"{table!r} is not valid: must be schema.table.", "Use a value like table: shop.heartbeat.",
                           field="table")

    @property
    def qualified_table(self) -> str:
        """``schema.table``."""
        return f"{self.schema}.{self.table}"


@dataclass(frozen=True, config=CONFIG, kw_only=True)
class FailoverDrill:
    """How a failover drill breaks the primary, what it accepts before starting, and how it puts things back."""

    fault: Fault = _key("how the primary is broken", "kill", "kill")
    canary_conn_id: ConnectionId | None = _key("a login that may only write data", "shop_canary", None)
    replication_conn_id: ConnectionId | None = _key("the login replicas use; null: the drill's", "shop_replication", None)
    max_replica_lag: Duration = _key("preflight refuses a replica further behind", "10s", timedelta(seconds=10))
    detection_timeout: Duration = _key("how long the primary may answer after the fault", "30s", timedelta(seconds=30))
    promotion_timeout: Duration = _key("how long the replica may take to catch up", "60s", timedelta(seconds=60))
    approval_timeout: Duration = _key("production: how long the approval request waits", "4h", timedelta(hours=4))
    errant_transactions: ErrantPolicy = _key("lost writes left on the old primary", "flashback", "flashback")
    switch_back: Flag = _key("end with the original primary as primary again", None, True)
    redirect_command: str | None = _key("also run this to repoint clients", "repoint-proxysql", None)
    restart_command: str | None = _key("starts an old primary that is not local", "systemctl start mariadb", None)
    aws_conn_id: ConnectionId | None = _key("an Airflow aws connection, for managed faults", "aws_default", None)
    db_instance_id: str | None = _key("the RDS instance (rds_reboot)", "shop-db", None)
    db_cluster_id: str | None = _key("the Aurora cluster (aurora_failover)", "shop-cluster", None)

    @model_validator(mode="after")
    def _managed_fault_names_its_database(self) -> FailoverDrill:
        required = {"rds_reboot": "db_instance_id", "aurora_failover": "db_cluster_id"}.get(self.fault)
        if required and not getattr(self, required):
            raise config_error("is missing; it is required.", f"Add `{{name}}: {{example}}` for fault: {self.fault}.",
                               field=required)
        return self


@dataclass(frozen=True, config=CONFIG, kw_only=True)
class Notify:
    """Slack notification settings; ``slack_conn_id=None`` turns Slack off."""

    slack_conn_id: ConnectionId | None = _key("Slack's Airflow connection; null: no Slack", "drdrill_slack", None)
    on_success: Flag = _key("also post passed drills (failures are always posted)", None, False)
    rto_alert_margin: DurationOrZero = _key("restore, PITR and failover runs still going this long past the RTO objective "
                                      "post an RTO budget alert (Airflow's Deadline Alert) while they run", "5m",
                                      timedelta(0))


@dataclass(frozen=True, config=CONFIG, kw_only=True)
class EngineOptions:
    """Tuning for the backup tool: worker threads and zstd compression level."""

    parallel: Count = _key("worker threads for tools that support them, and tables the restore drill's checks "
                           "read at once", 2, 1, ge=1, le=64)
    compression_level: Count = _key("zstd level of the backup files", 3, 3, ge=1, le=19)


@dataclass(frozen=True, config=CONFIG, kw_only=True)
class Target:
    """One database server (and schemas) under drill, with everything its DAGs need."""

    name: TargetName = _key("unique, part of every DAG id: dr_backup__<name>", "shop")
    description: str = _key("what this database is", "Web shop orders database", "")
    source_conn_id: ConnectionId = _key("an Airflow mysql connection to the server that is backed up", "shop_primary")
    replica_conn_id: ConnectionId | None = _key("an Airflow mysql connection to its replica", "shop_replica", None)
    databases: SchemaNames = _key("the schema names on the source server to drill", ["shop"], min_length=1)
    engine: EngineName = _key("the backup tool", "mariadb-dump", "mariadb-dump")
    engine_options: EngineOptions = _section(EngineOptions, "tuning for the backup tool",
                                             {"parallel": 2, "compression_level": 3})
    storage: Storage = _key("where backups are stored",
                            {"conn_id": "drdrill_s3", "bucket": "drdrill-backups", "prefix": "drdrill"})
    schedules: Schedules = _section(Schedules, "when each DAG runs; kinds left out run only on demand",
                                    {"backup": "0 2 * * *", "restore_drill": "@daily"})
    objectives: Objectives = _key("what every drill is measured against", {"rto": "30m", "rpo": "15m"})
    retention: Retention = _key("which backups are kept", {"keep_days": 14, "keep_backups": 7})
    timeouts: Timeouts = _section(Timeouts, "how long tasks and runs may take", {"backup": "6h", "recovery": "45m"})
    notify: Notify = _section(Notify, "who hears about drills", {"slack_conn_id": "drdrill_slack", "on_success": False})
    min_free_space: Size | None = _key("free space work_dir needs before a drill starts", "1GB", None)
    accounts: Flag = _key("back up, restore and check the accounts holding grants on the databases", None, True)
    allow_source_writes: Flag = _key("drills may write marker rows on the source", None, False)
    allow_failover_drill: Flag = _key("failover drills may kill the primary", None, False)
    production: Flag = _key("marks the target and its DAGs as production", None, False)
    owner: Text = _key("DAG owner; default: settings.default_owner", "dba-team", DEFAULT_OWNER)
    tags: Names = _key("extra Airflow tags on this target's DAGs", ["sandbox"], ())
    verify: Verify = _section(Verify, "how each backup is verified", {"deep_every": "7d"})
    restore_drill: RestoreDrill = _section(RestoreDrill, "restore drill settings",
                                           {"after_backup": True, "scratch_conn_id": None, "max_backup_age": "1d"})
    heartbeat: Heartbeat | None = _key("without it RPO cannot be measured",
                                       {"table": "shop.heartbeat", "column": "beat_at"}, None)
    failover_drill: FailoverDrill = _section(FailoverDrill, "failover drill settings", {
        "fault": "kill", "canary_conn_id": "shop_canary", "max_replica_lag": "10s", "switch_back": True})

    @model_validator(mode="after")
    def _failover_drill_is_allowed_and_safe(self) -> Target:
        if getattr(self.schedules, FAILOVER.schedule_key) is not None and not self.allow_failover_drill:
            raise config_error("a failover drill is scheduled but allow_failover_drill is false.",
                               "Set allow_failover_drill: true for this target, or failover_drill: null.",
                               field=f"schedules.{FAILOVER.schedule_key}")
        if self.allow_failover_drill and self.failover_drill.canary_conn_id is None:
            raise config_error("is missing; a failover drill writes canary rows through a login that may only write "
                               "data (no SUPER or READ ONLY ADMIN, so a read-only replica refuses it).",
                               "Add failover_drill: {canary_conn_id: <a mysql connection with INSERT, SELECT on the "
                               "first database>}, or set allow_failover_drill: false.",
                               field="failover_drill.canary_conn_id")
        return self

    def connections(self) -> dict[str, str]:
        """Each connection key this target sets (``storage.conn_id``): the Airflow connection id it names."""
        named = {key: _attribute(self, key) for key in CONNECTION_KEYS}
        return {key: conn_id for key, conn_id in named.items() if conn_id}

    def connection_ids(self) -> list[str]:
        """Airflow connection ids this target uses, each once, without nulls."""
        return list(dict.fromkeys(self.connections().values()))


def _attribute(record: Any, dotted: str) -> Any:
    """``record.a.b``, or None where a section on the way is null."""
    for name in dotted.split("."):
        record = getattr(record, name) if record is not None else None
    return record


def _every_key_optional(cls: type, name: str, doc: str, omit: tuple[str, ...] = ()) -> Any:
    """``cls`` with each key optional (default None) and no cross-key checks; its sections likewise."""
    keys = []
    for key, info in cls.__pydantic_fields__.items():  # type: ignore[attr-defined]
        annotation = info.annotation
        if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
            annotation = _every_key_optional(annotation, f"{annotation.__name__}Defaults", annotation.__doc__ or "")
        if key not in omit:
            keys.append((key, Annotated[annotation | None, *info.metadata,
                                        Field(description=info.description, examples=info.examples)]))
    return _record(name, doc, keys)


def _shared_keys_of_target(cls: type[_T]) -> type[_T]:
    """Make ``cls`` the defaults section: Target's keys but the target-only ones, each optional."""
    return _every_key_optional(Target, cls.__name__, cls.__doc__ or "", omit=TARGET_ONLY_KEYS)


@_shared_keys_of_target
class TargetDefaults:
    """Values every target inherits unless it sets them itself; nested sections merge key by key."""


def _some_targets(value: Any) -> Any:
    if isinstance(value, list | tuple) and value:
        return value
    raise config_error(f"must be a non-empty list, got {describe(value)}; there is nothing to drill.",
                       "Add a list of targets, e.g. targets: {example}.")


def _unique_names(targets: tuple[Target, ...]) -> tuple[Target, ...]:
    first: dict[str, int] = {}
    for index, target in enumerate(targets):
        if target.name in first:
            raise config_error(f"target name {target.name!r} is already used by targets[{first[target.name]}]; "
                               "names become part of DAG ids, so they must be unique.",
                               "Rename one of the two targets.", key=f"targets[{index}].name")
        first[target.name] = index
    return targets


@dataclass(frozen=True, config=CONFIG, kw_only=True)
class DrillsFile:
    """The drills YAML as written: settings, the defaults targets inherit, and the targets."""

    settings: Settings = _section(Settings, "installation-wide settings", {
        "history_url": DEFAULT_HISTORY_URL, "work_dir": "/var/tmp/drdrill", "default_owner": "dba-team"})
    defaults: TargetDefaults = Field(default_factory=TargetDefaults, description="what every target inherits")
    targets: Annotated[tuple[Target, ...], BeforeValidator(_some_targets), AfterValidator(_unique_names)] = _key(
        "one entry per database server and the schemas on it",
        [{"name": "shop", "source_conn_id": "shop_primary", "databases": ["shop"]}], json_schema_extra={"minItems": 1})


@dataclass(frozen=True, config=CONFIG, kw_only=True)
class BrokenTarget:
    """A target whose entry has a problem: left out of the drills, reported by name (or index) instead."""

    index: int
    name: str  # its name when it has a valid one, else "targets_<index>"
    file: str
    key: str
    problem: str
    fix: str

    @classmethod
    def of(cls, index: int, raw: Any, error: ConfigError) -> BrokenTarget:
        """The broken target at ``index`` of the file, with the ConfigError that explains it."""
        name = raw.get("name") if isinstance(raw, dict) else None
        if not (isinstance(name, str) and re.fullmatch(TARGET_NAME_PATTERN, name)):
            name = f"targets_{index}"
        return cls(index=index, name=name, file=error.file, key=error.key,
                   problem=error.detail, fix=error.fix or "")

    def error(self) -> ConfigError:
        """The problem as the ConfigError loading found."""
        return ConfigError(self.file, self.key, self.problem, self.fix)


@dataclass(frozen=True, config=CONFIG, kw_only=True)
class DrillConfig:
    """The whole drills file: settings and targets, validated; targets with a problem are kept apart."""

    path: Path
    settings: Settings
    targets: tuple[Target, ...]
    broken: tuple[BrokenTarget, ...] = ()
    defaults: TargetDefaults = Field(default_factory=TargetDefaults)  # as written: where the DR report goes

    def target(self, name: str) -> Target:
        """The target called ``name``; its ConfigError if it is broken; ConfigError listing the known names if none."""
        for target in self.targets:
            if target.name == name:
                return target
        for broken in self.broken:
            if broken.name == name:
                raise broken.error()
        known = [target.name for target in self.targets]
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"Did you mean {close[0]!r}? " if close else ""
        raise ConfigError(str(self.path), f"targets[{name}]",
                          f"no target named {name!r}; known targets: {', '.join(known) or '(none)'}.",
                          f"{hint}Use one of the known names, or add a target with name: {name} to this file.")
