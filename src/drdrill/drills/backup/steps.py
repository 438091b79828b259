"""The backup drill's steps: preflight → dump and upload (streamed) → manifest → verify → retention.

Each step takes and returns small JSON-ready dicts, so Airflow tasks pass them through XCom and the
CLI chains them in one process. A step that finds a problem raises DrillFailed with findings.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from drdrill.findings import DrillFailed, Finding
from drdrill.checks.schema_fingerprint import FINGERPRINT_KINDS
from drdrill.checks.source_facts import collect_source_facts
from drdrill.config import Target
from drdrill.drills.layouts import layout_for
from drdrill.endpoints import MySQLEndpoint, one_row, tls_verify_failed
from drdrill.engines import get_engine
from drdrill.engines.accounts import ACCOUNTS_ROLE, back_up_accounts
from drdrill.engines.base import ArchiveTruncated, BackupJob
from drdrill.engines.binlog_segment import capture_binlog_segment
from drdrill.errors import DrdrillError, TLSFailed, ToolError, ToolStalled
from drdrill.servers.accounts import AccountsUnreadable, list_drilled_accounts
from drdrill.servers.grants import BACKUP_GRANTS, missing_privileges
from drdrill.servers.identity import read_identity
from drdrill.servers.owner import claim
from drdrill.storage.binlog.clear_passwords import clear_password_warning
from drdrill.storage.binlog.fork import read_forks
from drdrill.storage.binlog.index import ArchivedBinlog, list_archive
from drdrill.storage.binlog.layout import BinlogLayout
from drdrill.storage.binlog.names import server_key
from drdrill.storage.catalog import list_backups
from drdrill.storage.copies import copy_backup
from drdrill.storage.client_encryption import KEY_CODES
from drdrill.storage.layout import TargetLayout, new_backup_id, target_root
from drdrill.storage.lease import Lease, active_leases, remove_expired_leases
from drdrill.storage.manifest import BinlogPosition, Manifest, ObjectEntry
from drdrill.storage.objectstore import ObjectStore, StorageError
from drdrill.storage.pipeline import STALL_TIMEOUT
from drdrill.storage.object_lock import backup_lock
from drdrill.storage.retention import binlogs_no_longer_needed, choose_deletions, forks_no_longer_needed, keep_held
from drdrill.storage.seal import SigningKey
from drdrill.storage.verify import DEEP, quarantine, storage_unavailable, verify_backup, verify_kind


ANSWER_TIMEOUT = 30.0  # seconds preflight waits for each answer: a primary whose disk is full never answers
CONNECT_ERRNOS = frozenset({2002, 2003})  # the client could not connect (refused, unreachable, timed out)
ACCESS_DENIED = 1045  # also what MariaDB answers a plain-text login when require_secure_transport=ON


def _server_facts(source: MySQLEndpoint, answer_timeout: float) -> dict[str, Any]:
    connection = source.connect(read_timeout=answer_timeout, write_timeout=answer_timeout)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT @@version, @@server_id, @@datadir, @@log_bin, @@binlog_format, @@gtid_binlog_pos")
            version, server_id, datadir, log_bin, binlog_format, gtid = one_row(cursor)
            cursor.execute("SHOW MASTER STATUS")
            status = cursor.fetchone()  # no row when binary logging is off
            cursor.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
            schemas = {row[0] for row in cursor.fetchall()}
            cursor.execute("SHOW GRANTS FOR CURRENT_USER()")
            grants = [str(row[0]) for row in cursor.fetchall()]
    finally:
        connection.close()
    return {
        "server_version": version, "server_id": int(server_id), "datadir": datadir,
        "log_bin": bool(int(log_bin)), "binlog_format": binlog_format, "gtid_binlog_pos": gtid,
        "binlog_file": status[0] if status else None, "binlog_position": int(status[1]) if status else None,
        "schemas": schemas, "grants": grants,
    }


def _unreachable(target: Target, source: MySQLEndpoint, exc: Exception, answer_timeout: float) -> Finding:
    """TARGET_UNAVAILABLE for a source that refused or never answered the connection, or stalled once connected;
    TLS_VERIFY_FAILED for a TLS login that could not make a verified, encrypted session."""
    if isinstance(exc, TLSFailed):
        return Finding("TLS_VERIFY_FAILED", f"Source of target {target.name}: {exc.problem}", exc.fix or "")
    if getattr(exc, "args", None) and exc.args[0] == ACCESS_DENIED:
        tls = "" if source.tls else (" (MariaDB refuses a login without TLS that way when the server has "
                                     "require_secure_transport=ON, and this connection has no ssl extra)")
        return Finding("TARGET_UNAVAILABLE", f"The source {source.describe()} of target {target.name} refused the "
                       f"login: {exc.args[-1]}{tls}.", "Check the Airflow connection's login and password, and for a "
                       "server that requires secure transport set its ssl extra (README: TLS logins).")
    if getattr(exc, "args", None) and exc.args[0] in CONNECT_ERRNOS:
        return Finding("TARGET_UNAVAILABLE", f"Cannot connect to the source {source.describe()} of target {target.name}: "
                       f"{exc}.", "Check that the source is up and reachable from this worker (host, port, network "
                       "path, firewall) and the Airflow connection's credentials.")
    return Finding(
        "TARGET_UNAVAILABLE",
        f"The source {source.describe()} of target {target.name} did not answer within {answer_timeout:g} s once "
        f"connected ({exc}): a server whose disk is full waits for space before it writes its binary log, and stops "
        "answering on it; a network partition drops its answers without a reset.",
        "Check the source's free disk space (datadir, binlog and tmpdir) and its error log, and the network path "
        "from this worker to it.")


def preflight(
    target: Target,
    source: MySQLEndpoint,
    store: ObjectStore,
    *,
    work_dir: Path,
    started_at: datetime,
    engine_override: str | None = None,
    dry_run: bool = False,
    deep_verify: bool = False,
    answer_timeout: float = ANSWER_TIMEOUT,
    copy: ObjectStore | None = None,
) -> dict[str, Any]:
    """Check the source, tools, disk and bucket (and the second copy's bucket, ``copy``) before anything is written;
    returns the run's plan.

    A source that connects but does not answer within ``answer_timeout`` seconds (a full disk stalls its binary
    log, and ``SHOW MASTER STATUS`` with it) is TARGET_UNAVAILABLE then, not a drill that hangs.
    """
    began = time.monotonic()
    try:
        engine = get_engine(engine_override or target.engine)
    except ValueError as exc:
        raise DrillFailed([Finding("CONFIG_INVALID", str(exc))]) from exc
    try:
        server = _server_facts(source, answer_timeout)
    except Exception as exc:  # PyMySQL raises OperationalError, InterfaceError, socket errors
        raise DrillFailed([_unreachable(target, source, exc, answer_timeout)]) from exc
    findings: list[Finding] = []
    if "mariadb" not in server["server_version"].lower():
        findings.append(Finding("PREFLIGHT_FAILED", f"{source.describe()} runs {server['server_version']}; this drdrill "
                                "version backs up MariaDB (10.5+) only: its consistent-snapshot position and tool "
                                "flags differ on MySQL.", "Point the target at a MariaDB server, or wait for MySQL support."))
    if not server["log_bin"]:
        findings.append(Finding("PREFLIGHT_FAILED", f"Binary logging is off on {source.describe()}, so a backup has no "
                                "binlog position and point-in-time recovery is impossible.",
                                "Set log_bin=mysql-bin (and binlog_format=ROW) in the server config and restart it."))
    missing = sorted(set(target.databases) - server["schemas"])
    if missing:
        findings.append(Finding("CONFIG_INVALID", f"Database(s) {', '.join(missing)} listed for target {target.name} "
                                f"do not exist on {source.describe()}.", "Fix targets[].databases in the drills YAML."))
    lacking = missing_privileges(server["grants"], BACKUP_GRANTS, target.databases)
    if lacking:
        findings.append(Finding("PREFLIGHT_FAILED", f"The backup login {source.user!r} on {source.describe()} lacks "
                                f"{', '.join(lacking)} (on *.*, or for SELECT, SHOW VIEW, TRIGGER, EVENT and LOCK TABLES "
                                f"on each of {', '.join(target.databases)}): the backup tools and the binlog capture "
                                "need them.", f"GRANT {BACKUP_GRANTS[0]} TO {source.user}; (README: Deploy drdrill into "
                                "your Airflow, the least privileges per login)."))
    accounts = _count_drilled_accounts(target, source, findings) if not missing else None
    absent = engine.missing_tools()
    if absent:
        findings.append(Finding("PREFLIGHT_FAILED", f"Engine {engine.name} needs {', '.join(absent)}, not found on PATH.",
                                f"Install it on the Airflow worker (Debian: apt-get install {' '.join(absent)})."))
    if engine.name == "mariabackup" and not Path(server["datadir"]).is_dir():
        findings.append(Finding("PREFLIGHT_FAILED", f"mariabackup copies the datadir {server['datadir']}, which is not on "
                                "this worker.", "Run physical backups on a worker on the database host, or use "
                                "engine mariadb-dump or mydumper."))
    work_dir.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(work_dir).free
    if target.min_free_space and free < target.min_free_space:
        findings.append(Finding("INSUFFICIENT_SPACE", f"Only {free // 2**20} MiB free in {work_dir}; target "
                                f"{target.name} requires {target.min_free_space // 2**20} MiB."))
    for bucket in (store, copy) if copy else (store,):
        try:
            bucket.check_access(target_root(target.storage.prefix, target.name))
            if target.storage.object_lock and not bucket.object_lock_enabled():
                lock = target.storage.object_lock
                findings.append(Finding("OBJECT_LOCK_DISABLED", f"Target {target.name} writes its backups under S3 "
                                        f"Object Lock ({lock.mode}, {lock.retain_days} days), but {bucket.describe()} "
                                        "does not have Object Lock enabled."))
        except DrdrillError as exc:
            findings.append(Finding("STORAGE_UNAVAILABLE", exc.problem))
    if findings:
        raise DrillFailed(findings)
    return {
        "target": target.name,
        "backup_id": new_backup_id(started_at),
        "engine": engine.name,
        "dry_run": dry_run,
        "deep_verify": deep_verify,
        "started_at": started_at.astimezone(timezone.utc).isoformat(),
        "databases": list(target.databases),
        "server_version": server["server_version"],
        "server_id": server["server_id"],
        "datadir": server["datadir"],
        "binlog_at_preflight": {"file": server["binlog_file"], "position": server["binlog_position"],
                                "gtid": server["gtid_binlog_pos"]},
        "free_bytes": free,
        "accounts": accounts,
        "seconds": round(time.monotonic() - began, 3),
    }


def _count_drilled_accounts(target: Target, source: MySQLEndpoint, findings: list[Finding]) -> int | None:
    """How many accounts the backup will carry (None: ``accounts: false``); a login that may not read the grant
    tables is a finding now, before anything is written, not a backup without its accounts."""
    if not target.accounts:
        return None
    try:
        return len(list_drilled_accounts(source, target.databases))
    except AccountsUnreadable as exc:
        findings.append(Finding("PREFLIGHT_FAILED", f"Target {target.name} backs up its accounts (accounts: true), "
                                f"but: {exc.problem}", exc.fix or ""))
        return None


def dump_and_upload(plan: dict[str, Any], target: Target, source: MySQLEndpoint, store: ObjectStore,
                    *, work_dir: Path, stall_timeout: float = STALL_TIMEOUT) -> dict[str, Any]:
    """Run the engine, streaming compressed and hashed output into the backup's S3 folder.

    A tool that writes nothing for ``stall_timeout`` seconds (its connection stalled) is stopped: TARGET_UNAVAILABLE.
    """
    began = time.monotonic()
    engine = get_engine(plan["engine"])
    job = BackupJob(
        source=source, databases=tuple(plan["databases"]), store=store, layout=layout_for(target),
        backup_id=plan["backup_id"], work_dir=work_dir, parallel=target.engine_options.parallel,
        compression_level=target.engine_options.compression_level, datadir=plan["datadir"],
        stall_timeout=stall_timeout,
    )
    claim(work_dir / plan["backup_id"], f"backup {plan['backup_id']}")  # a killed run's files are the reaper's
    try:
        result = engine.backup(job)
        objects = result.objects + ((back_up_accounts(job),) if target.accounts else ())
    except ArchiveTruncated as exc:
        raise DrillFailed([Finding("ARCHIVE_TRUNCATED", exc.problem, exc.fix or "")]) from exc
    except ToolStalled as exc:
        raise DrillFailed([Finding("TARGET_UNAVAILABLE", f"{exc.problem} Nothing was stored.", exc.fix or "")]) from exc
    except ToolError as exc:
        if source.tls and tls_verify_failed(exc.problem):
            raise DrillFailed([Finding("TLS_VERIFY_FAILED", f"{exc.problem} (the login's CA: {source.tls.ca}). "
                                       "Nothing was stored.")]) from exc
        raise DrillFailed([Finding("BACKUP_FAILED", exc.problem, exc.fix or "")]) from exc
    except TLSFailed as exc:  # the accounts' login (PyMySQL)
        raise DrillFailed([Finding("TLS_VERIFY_FAILED", exc.problem, exc.fix or "")]) from exc
    except AccountsUnreadable as exc:
        raise DrillFailed([Finding("BACKUP_FAILED", exc.problem, exc.fix or "")]) from exc
    except StorageError as exc:
        raise storage_unavailable(exc, f"The upload of backup {plan['backup_id']} was aborted; it has no manifest "
                                  "and never counts as a backup.") from exc
    finally:
        shutil.rmtree(work_dir / plan["backup_id"], ignore_errors=True)
    seconds = time.monotonic() - began
    raw = sum(obj.raw_bytes for obj in objects)
    return {
        "objects": [asdict(obj) for obj in objects],
        "consistent_point": asdict(result.consistent_point),
        "tool_version": result.tool_version,
        "finished_at": datetime.now(timezone.utc).isoformat(),
        "seconds": round(seconds, 3),
        "raw_bytes": raw,
        "stored_bytes": sum(obj.size for obj in objects),
        "mb_per_second": round(raw / 1e6 / seconds, 1) if seconds else None,
    }


def write_manifest(plan: dict[str, Any], dumped: dict[str, Any], target: Target, source: MySQLEndpoint,
                   store: ObjectStore, *, signing_key: SigningKey | None, work_dir: Path) -> dict[str, Any]:
    """Take the source facts, capture the binlog from the backup's point to theirs, and write the manifest last
    (sealed with its digest, and signed when the target has a signing key)."""
    began = time.monotonic()
    layout = layout_for(target)
    point = BinlogPosition(**dumped["consistent_point"])
    if not point.gtid:
        point = BinlogPosition(point.file, point.position, _gtid_at(source, point))
    facts = collect_source_facts(source, plan["databases"], _fingerprint_kinds(dumped))
    catchup = None
    notes, warnings = [], []
    if facts.point != point:
        claim(work_dir / plan["backup_id"], f"backup {plan['backup_id']}")
        try:
            catchup, clear_passwords = capture_binlog_segment(source, plan["databases"], point, facts.point, store,
                                                              layout, plan["backup_id"], work_dir)
        finally:
            shutil.rmtree(work_dir / plan["backup_id"], ignore_errors=True)
        if clear_passwords:
            warnings.append(clear_password_warning(
                f"Backup {plan['backup_id']}'s catch-up segment {catchup.name}", "the backup", clear_passwords,
                {"backup_id": plan["backup_id"], "object": catchup.name}))
        notes.append(f"Source facts were taken at {facts.point.label()}, after the backup's consistent point "
                     f"{point.label()}; apply {catchup.name} after restoring the data to reach the facts' point.")
    manifest = Manifest(
        backup_id=plan["backup_id"], target=target.name, engine=plan["engine"], tool_version=dumped["tool_version"],
        compression="zstd", server_version=plan["server_version"], source=source.describe(),
        databases=tuple(plan["databases"]), started_at=plan["started_at"], finished_at=dumped["finished_at"],
        consistent_point=point, facts_point=facts.point, facts_taken_at=facts.taken_at,
        objects=tuple(ObjectEntry(**obj) for obj in dumped["objects"]), catchup=catchup,
        tables=facts.tables, inventory=facts.inventory, schema=facts.schema, notes=tuple(notes),
        extra={"server_id": plan["server_id"], "server_key": server_key(read_identity(source))},
    )
    try:
        store.put_bytes(layout.manifest_key(plan["backup_id"]), manifest.to_json(signing_key).encode())
    except StorageError as exc:
        raise storage_unavailable(exc, f"Backup {plan['backup_id']}'s manifest was not written, so it never "
                                  "counts as a backup.") from exc
    return {
        "backup_id": manifest.backup_id,
        "tables": len(manifest.tables),
        "facts_match_consistent_point": manifest.facts_match_consistent_point,
        "consistent_point": asdict(point),
        "facts_point": asdict(facts.point),
        "seconds": round(time.monotonic() - began, 3),
        "findings": [warning.to_dict() for warning in warnings],  # warnings only: the backup stands
    }


def _fingerprint_kinds(dumped: dict[str, Any]) -> tuple[str, ...]:
    """The definitions the manifest records: the accounts' only when the backup carries them."""
    carried = any(obj["role"] == ACCOUNTS_ROLE for obj in dumped["objects"])
    return tuple(kind for kind in FINGERPRINT_KINDS if carried or kind != "accounts")


def _gtid_at(source: MySQLEndpoint, point: BinlogPosition) -> str:
    return source.fetch_all("SELECT BINLOG_GTID_POS(%s, %s)", (point.file, point.position))[0][0] or ""


def verify(plan: dict[str, Any], target: Target, store: ObjectStore, *, signing_key: SigningKey | None,
           deep_reason: str | None = None, copy: ObjectStore | None = None) -> dict[str, Any]:
    """Check every stored object by its S3 checksum, or with ``deep_reason`` (``deep_verify_reason``) re-read and
    hash every byte; a mismatch quarantines the backup and fails the drill. The result says which kind ran.

    With ``copy`` (``storage.copy``), the verified backup is then copied there server-side and the copy checked by
    its attributes: COPY_MISSING or COPY_MISMATCH fail the drill (the backup itself stays valid).
    """
    began = time.monotonic()
    layout = layout_for(target)
    try:
        manifest, findings = verify_backup(store, layout, plan["backup_id"], signing_key=signing_key,
                                           deep=deep_reason is not None)
    except StorageError as exc:
        raise storage_unavailable(exc, f"Backup {plan['backup_id']} could not be re-read to verify it.") from exc
    if findings:
        if KEY_CODES.isdisjoint(finding.code for finding in findings):  # a key problem is not the backup's
            quarantine(store, layout, plan["backup_id"], findings)
        raise DrillFailed(findings)
    assert manifest is not None
    if copy is not None:
        try:
            findings = copy_backup(store, copy, layout, manifest)
        except StorageError as exc:
            raise storage_unavailable(exc, f"Backup {plan['backup_id']} is valid; its second copy in "
                                      f"{copy.describe()} was not made or not checked.") from exc
        if findings:
            raise DrillFailed(findings)
    kind = verify_kind(manifest, deep_reason is not None)
    verified_bytes = sum(entry.size for entry in manifest.all_objects())
    return {
        "backup_id": manifest.backup_id,
        "verified_objects": [entry.name for entry in manifest.all_objects()],
        "verified_bytes": verified_bytes,
        "kind": kind,
        "deep_reason": (deep_reason or "the manifest predates S3 checksums") if kind == DEEP else None,
        "read_bytes": verified_bytes if kind == DEEP else 0,
        "copy": copy.describe() if copy is not None else None,
        "seconds": round(time.monotonic() - began, 3),
    }


def apply_retention(target: Target, store: ObjectStore, *, signing_key: SigningKey | None, now: datetime,
                    copy: ObjectStore | None = None) -> dict[str, Any]:
    """Delete what the target's retention no longer needs; always keeps the newest valid backup, what a drill
    holds a lease on (``storage.lease``) and a backup any of whose objects S3 Object Lock still holds, in its bucket
    or its second copy's (``copy``; reported under ``locked`` with the date it ends); the leases of dead runs are
    removed first. A deleted backup goes from both buckets, each time its manifest before its other objects, so one
    deleted half-way is incomplete, never valid."""
    began = time.monotonic()
    layout = layout_for(target)
    try:
        expired = remove_expired_leases(store, layout)
        leases = active_leases(store, layout)
        decision = choose_deletions(list_backups(store, layout, signing_key=signing_key), now=now,
                                    keep_days=target.retention.keep_days, keep_backups=target.retention.keep_backups,
                                    leased={lease.backup_id: lease.reason() for lease in leases})
        buckets = (store, copy) if copy else (store,)
        locks = {backup_id: lock.describe() for backup_id in decision.delete
                 if (lock := backup_lock(buckets, layout, backup_id, now)) is not None}
        decision = keep_held(decision, locks)
        deleted_objects = sum(_delete_backup(bucket, layout, backup_id) for backup_id in decision.delete
                              for bucket in buckets)
        aborted = store.abort_stale_uploads(layout.full_root, older_than=timedelta(hours=24), now=now)
        binlogs_deleted = prune_binlogs(store, layout, signing_key=signing_key, leases=leases)
    except StorageError as exc:
        raise storage_unavailable(exc, f"Retention of target {target.name} stopped there; the backups it had not "
                                  "deleted yet are kept (the new backup is valid).") from exc
    return {
        "kept": decision.keep, "deleted": decision.delete, "locked": locks, "deleted_objects": deleted_objects,
        "aborted_uploads": aborted, "binlogs_deleted": binlogs_deleted,
        "expired_leases_removed": [f"{lease.run_id} ({lease.drill} drill, expired {lease.expires_at[:19]})" for lease in expired],
        "seconds": round(time.monotonic() - began, 3),
    }


def _delete_backup(store: ObjectStore, layout: TargetLayout, backup_id: str) -> int:
    """Delete a backup's manifest, then the rest of its folder; how many objects it held."""
    held = len(store.list_objects(layout.backup_root(backup_id)))
    store.delete(layout.manifest_key(backup_id))
    store.delete_prefix(layout.backup_root(backup_id))
    return held


def prune_binlogs(store: ObjectStore, layout: TargetLayout, *, signing_key: SigningKey | None,
                  leases: list[Lease] | None = None) -> list[str]:
    """Delete archived binlogs older than every retained valid backup's start (index first, then the object),
    except the files a lease names and each server's newest one, then the fork records whose old history went with
    them (listed as ``<server>/forks/<file>``)."""
    retained = [entry.manifest for entry in list_backups(store, layout, signing_key=signing_key)
                if entry.is_valid and entry.manifest]
    if not retained:
        return []
    binlogs = BinlogLayout.of(layout)
    archive = list_archive(store, binlogs)
    held: dict[str, list[str]] = {}
    for lease in leases or []:
        for key, files in lease.binlogs.items():
            held.setdefault(key, []).extend(files)
    pruned = binlogs_no_longer_needed(archive, retained, held)
    for entry in pruned:
        store.delete(binlogs.index_key(entry.server_key, entry.file))
        store.delete(binlogs.object_key(entry.server_key, entry.file))
    gone = {(entry.server_key, entry.file) for entry in pruned}
    remaining = [entry for entry in archive if (entry.server_key, entry.file) not in gone]
    return [f"{entry.server_key}/{entry.file}" for entry in pruned] + \
        _prune_forks(store, binlogs, sorted({entry.server_key for entry in archive}), remaining)


def _prune_forks(store: ObjectStore, binlogs: BinlogLayout, keys: list[str], remaining: list[ArchivedBinlog]) -> list[str]:
    """Delete the fork records of ``keys`` that no remaining file needs; a server with an unreadable one is left
    alone (the archive check reports it)."""
    forks = []
    for key in keys:
        readable, unusable = read_forks(store, binlogs, key)
        forks += [] if unusable else list(readable.values())
    stale = forks_no_longer_needed(forks, remaining)
    for fork in stale:
        store.delete(binlogs.fork_key(fork.server_key, fork.first_file))
    return [f"{fork.server_key}/forks/{fork.first_file}" for fork in stale]


STEPS = ["preflight", "dump_and_upload", "write_manifest", "verify", "retention"]


def backup_details(results: dict[str, Any]) -> dict[str, Any]:
    """What the record keeps as evidence from the steps' results."""
    dumped = results.get("dump_and_upload") or {}
    plan = results.get("preflight") or {}
    written = results.get("write_manifest") or {}
    return {
        "engine": plan.get("engine"),
        "server_version": plan.get("server_version"),
        "raw_bytes": dumped.get("raw_bytes"),
        "stored_bytes": dumped.get("stored_bytes"),
        "mb_per_second": dumped.get("mb_per_second"),
        "consistent_point": written.get("consistent_point"),
        "facts_point": written.get("facts_point"),
        "facts_match_consistent_point": written.get("facts_match_consistent_point"),
        "retention": {key: (results.get("retention") or {}).get(key) for key in ("kept", "deleted", "locked")},
        "verify": {key: (results.get("verify") or {}).get(key)
                   for key in ("kind", "deep_reason", "read_bytes", "copy", "seconds")},
    }
