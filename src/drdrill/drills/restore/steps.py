"""The restore drill's steps: select → fetch and verify → provision scratch → restore → validate (GX) → measure.

Like the backup drill, each step takes and returns small JSON-ready dicts (XCom in Airflow, one process
in the CLI) and raises DrillFailed with findings; ``teardown`` always runs. ``STEPS`` is the step list, in
order, that the DAG's task ids, the runner, the record and the benchmarks share.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import time
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from drdrill.drills.form import CLOCK_TOLERANCE
from drdrill.drills.measure_guard import refuse_negative
from drdrill.findings import DrillFailed, Finding
from drdrill.config import Target
from drdrill.drills.layouts import layout_for
from drdrill.durations import format_duration
from drdrill.endpoints import MySQLEndpoint
from drdrill.engines import restore_backup
from drdrill.engines.restore import RestoreFailed
from drdrill.errors import ServerStartError, TLSFailed
from drdrill.servers.accounts import drop_drilled_accounts
from drdrill.servers.identity import read_identity
from drdrill.servers.scratch import (
    LocalScratch,
    SafetyInterlock,
    check_not_protected,
    destroy,
    plan_local_scratch,
    protected_identities,
    start_fresh,
    why_not_serving,
)
from drdrill.servers.owner import claim, mark_kept
from drdrill.servers.slots import ScratchSlotsFull, SlotPolicy, scratch_slot
from drdrill.storage.catalog import (
    CORRUPT,
    BackupEntry,
    DRILL_EVIDENCE,
    INVALID,
    QUARANTINED,
    describe_backups,
    list_backups,
    may_still_be_running,
    standing_evidence,
)
from drdrill.storage.client_encryption import KEY_CODES
from drdrill.storage.layout import TargetLayout, backup_time
from drdrill.storage.lease import renew_lease, take_lease
from drdrill.storage.manifest import REFUSED_CODES, Manifest, ManifestCorrupt, ManifestError
from drdrill.storage.manifest import read_manifest as read_stored_manifest
from drdrill.storage.objectstore import ObjectStore, StorageError
from drdrill.storage.proof import FAILED_DRILL
from drdrill.storage.seal import SigningKey
from drdrill.storage.verify import fetch_backup, quarantine, storage_unavailable

STEPS = ["select_backup", "fetch_and_verify", "provision_scratch", "restore", "validate", "measure"]
CHOICES = ("newest", "backup_id", "random")
MEASURED_STAGES = ("fetch_and_verify", "provision_scratch", "restore", "validate")  # the RTO's breakdown
# Data Docs files that are not evidence (GX's fonts and images: most of a site's megabytes), left out of S3.
NOT_EVIDENCE_SUFFIXES = frozenset({".woff", ".woff2", ".ttf", ".otf", ".eot", ".png", ".jpg", ".jpeg", ".gif", ".ico", ".svg"})


def run_dir(work_dir: Path, key: str) -> Path:
    """Where one run keeps its fetched files and tool logs."""
    return work_dir / "restore" / key


def read_manifest(store: ObjectStore, target: Target, backup_id: str, *, signing_key: SigningKey | None) -> Manifest:
    """The manifest of a selected backup, its seal checked again (it may have been changed since the fetch)."""
    try:
        return read_stored_manifest(store, layout_for(target), backup_id, signing_key=signing_key)
    except ManifestError as exc:
        raise DrillFailed([Finding(exc.code, exc.problem, exc.fix or "")]) from exc


def select_backup(target: Target, store: ObjectStore, *, signing_key: SigningKey | None, now: datetime,
                  choice: str = "newest", backup_id: str = "", window_days: int = 7, seed: str = "",
                  disaster_at: datetime | None = None, lease_key: str = "") -> dict[str, Any]:
    """Pick the backup to restore: the newest usable one, a given one, or a random usable one within a window.

    Usable: proven or valid (``storage.catalog``); a failed-drill backup is never picked by "newest" or "random".
    Chosen by id it is drilled again (FAILED_BACKUP_REDRILLED says so; a pass makes it proven again); a corrupt
    one is refused (MANIFEST_CORRUPT). "newest" never falls back silently: NEWER_BACKUPS_UNUSABLE names each newer
    backup skipped and why (a corrupt manifest too), except a folder a backup run may still be writing
    (``may_still_be_running``). With ``lease_key`` (the run's key; ``seed`` is its run id) the run takes a lease on
    the chosen backup, so retention keeps it until the teardown releases it.
    """
    began = time.monotonic()
    if choice not in CHOICES:
        raise DrillFailed([Finding("CONFIG_INVALID", f"Unknown backup choice {choice!r}; use one of {', '.join(CHOICES)}.")])
    backups = list_backups(store, layout_for(target), signing_key=signing_key)
    valid = [entry for entry in backups if entry.is_valid]
    findings = []
    if choice == "backup_id":
        chosen = next((entry for entry in backups if entry.backup_id == backup_id), None)
        if chosen is not None and chosen.status == CORRUPT:
            raise DrillFailed([Finding("MANIFEST_CORRUPT", f"Backup {backup_id} of target {target.name} is not "
                                       f"restored: {chosen.problem}")])
        if chosen is not None and chosen.status == FAILED_DRILL:
            findings.append(Finding("FAILED_BACKUP_REDRILLED", f"Backup {backup_id} of target {target.name} failed its last "
                                    f"restore drill ({chosen.problem}); it was chosen by id, so it is drilled again."))
        elif chosen is None or not chosen.is_valid:
            why = "does not exist" if chosen is None else f"is {chosen.label}: {chosen.problem}"
            raise DrillFailed([Finding("NO_VALID_BACKUP", f"Backup {backup_id or '(empty id)'} of target {target.name} {why}.",
                                       "Pick a valid backup from 'drdrill backups list'.")])
    elif choice == "random":
        window = [entry for entry in valid if now - backup_time(entry.backup_id) <= timedelta(days=window_days)]
        chosen = random.Random(seed).choice(window) if window else None
    else:
        chosen = valid[0] if valid else None
    if chosen is None:
        scope = f" from the last {window_days} days" if choice == "random" else ""
        unusable = [entry for entry in backups if not entry.is_valid and not may_still_be_running(entry, backups, now)]
        why = f": {describe_backups(unusable)}" if unusable else ""
        raise DrillFailed([Finding("NO_VALID_BACKUP", f"Target {target.name} has no valid backup{scope} in "
                                   f"s3://{store.bucket}/{layout_for(target).full_root} ({len(backups)} folders, "
                                   f"none valid){why}.", evidence={"skipped": standing_evidence(unusable)})])
    age = now - backup_time(chosen.backup_id)
    limit = target.restore_drill.max_backup_age
    if choice == "newest":
        skipped = [entry for entry in backups if entry.backup_id > chosen.backup_id and not entry.is_valid
                   and not may_still_be_running(entry, backups, now)]
        if skipped:
            findings.append(newer_backups_unusable(chosen.backup_id, skipped))
        if limit and age > limit:
            findings.append(Finding("BACKUP_STALE", f"The newest valid backup {chosen.backup_id} is {format_duration(age)} old; "
                                    f"target {target.name} allows {format_duration(limit)}."))
    manifest = chosen.manifest
    assert manifest is not None
    if disaster_at is not None:
        check_disaster_time(disaster_at, manifest, now)
    if lease_key:
        take_lease(store, layout_for(target), key=lease_key, run_id=seed, drill="restore", backup_id=chosen.backup_id)
    return {
        "backup_id": chosen.backup_id, "choice": choice, "engine": manifest.engine,
        "backup_taken_at": manifest.started_at, "age_seconds": round(age.total_seconds(), 1),
        "tables": len(manifest.tables), "findings": [f.to_dict() for f in findings],
        "seconds": round(time.monotonic() - began, 3),
    }


def check_disaster_time(disaster_at: datetime, manifest: Manifest, now: datetime) -> None:
    """CONFIG_INVALID when the declared disaster lies in the future, or precedes the point the backup restores to
    (its facts point): the drill would measure a negative RTO or RPO."""
    restored_point = datetime.fromisoformat(manifest.facts_taken_at or manifest.started_at)
    evidence = {"disaster_at": disaster_at.isoformat(), "backup_point": restored_point.isoformat(), "now": now.isoformat()}
    if disaster_at > now + CLOCK_TOLERANCE:
        raise DrillFailed([Finding(
            "CONFIG_INVALID", f"The declared disaster {disaster_at.isoformat()} is in the future (it is {now.isoformat()}).",
            "Declare a disaster that has happened, or leave disaster_at empty for the drill's start.", evidence=evidence)])
    if disaster_at < restored_point:
        raise DrillFailed([Finding(
            "CONFIG_INVALID",
            f"The declared disaster {disaster_at.isoformat()} is before backup {manifest.backup_id}'s point "
            f"({restored_point.isoformat()}): a recovery from it cannot be measured against that moment.",
            "Declare a disaster after the backup's point (or leave disaster_at empty for the drill's start), or choose "
            "an older backup by id.", evidence=evidence)])


def newer_backups_unusable(restored: str, skipped: list[BackupEntry]) -> Finding:
    """NEWER_BACKUPS_UNUSABLE naming each skipped backup (id, status, why) and the older one restored instead."""
    return Finding("NEWER_BACKUPS_UNUSABLE",
                   f"{len(skipped)} backup(s) newer than {restored} cannot be restored: "
                   f"{describe_backups(skipped, most=len(skipped))}. The drill restored "
                   f"{restored}, as a real recovery now would, losing what was written after it.",
                   evidence={"restored": restored, "skipped": standing_evidence(skipped)})


def fetch_and_verify(selected: dict[str, Any], target: Target, store: ObjectStore, *, signing_key: SigningKey | None,
                     work_dir: Path, key: str, run_id: str = "") -> dict[str, Any]:
    """Check the manifest's seal, then download every object and check its size and sha256 before anything is
    restored; quarantine a backup whose objects are broken (not one the target's key does not open: KEY_CODES).

    A manifest that cannot be read or trusted (MANIFEST_CORRUPT, MANIFEST_INVALID) is not quarantined: the catalog
    already refuses it, and a marker would outlive the cause when that was a wrong signing key.

    When the newest backup was chosen and turns out broken (its objects or its manifest), the next newest usable
    one is fetched instead and NEWER_BACKUPS_UNUSABLE names the broken one: the drill goes on to prove what a
    recovery would use. The result names the backup fetched (``backup_id``, ``engine``): the later steps restore
    that one. The run's lease (if it took one) is renewed, and moved when another backup is fetched.
    """
    layout = layout_for(target)
    claim(run_dir(work_dir, key), run_id or key)  # a killed run's files are the reaper's to remove
    files = run_dir(work_dir, key) / "files"
    backup_id = selected["backup_id"]
    broken: list[BackupEntry] = []
    began = time.monotonic()  # a broken newest backup's download is part of the recovery's time too
    while True:
        shutil.rmtree(files, ignore_errors=True)
        try:
            stats, findings = fetch_backup(store, layout, backup_id, files, signing_key=signing_key,
                                           keep_free=target.min_free_space or 0,
                                           datadir_estimate=target.restore_drill.scratch_conn_id is None)
        except StorageError as exc:
            shutil.rmtree(files, ignore_errors=True)
            raise storage_unavailable(exc, f"The download of backup {backup_id} stopped; its partial files were "
                                      "removed and nothing was restored.") from exc
        if not findings:
            break
        if not KEY_CODES.isdisjoint(finding.code for finding in findings):
            shutil.rmtree(files, ignore_errors=True)
            raise DrillFailed(findings)  # the key, not the backup: nothing set aside, no older one tried
        broken.append(BackupEntry(backup_id, _set_aside(store, layout, backup_id, findings), None, 0,
                                  "; ".join(f"{f.code} ({f.evidence['object']})" if "object" in f.evidence
                                            else f"{f.code}: {f.message}" for f in findings)))
        successor = _next_usable(store, target, backup_id, signing_key) if selected.get("choice") == "newest" else None
        if successor is None:
            raise DrillFailed(findings)
        backup_id = successor
        renew_lease(store, layout, key, backup_id=backup_id)
    renew_lease(store, layout, key, backup_id=backup_id)
    engine = read_manifest(store, target, backup_id, signing_key=signing_key).engine
    extra = [newer_backups_unusable(backup_id, broken).to_dict()] if broken else []
    chosen_age = selected.get("age_seconds")
    age = None if chosen_age is None else chosen_age + (backup_time(selected["backup_id"]) - backup_time(backup_id)).total_seconds()
    return {**stats, "seconds": round(time.monotonic() - began, 3), "backup_id": backup_id, "engine": engine,
            "age_seconds": None if age is None else round(age, 1), "findings": extra}


def _set_aside(store: ObjectStore, layout: TargetLayout, backup_id: str, findings: list[Finding]) -> str:
    """Quarantine a backup whose objects are broken; a refused manifest is left as it is. Returns its status now."""
    codes = {finding.code for finding in findings}
    if not codes.isdisjoint(REFUSED_CODES):
        return CORRUPT if ManifestCorrupt.code in codes else INVALID
    quarantine(store, layout, backup_id, findings)
    return QUARANTINED


def _next_usable(store: ObjectStore, target: Target, older_than: str, signing_key: SigningKey | None) -> str | None:
    """The newest usable backup older than ``older_than``."""
    return next((entry.backup_id for entry in list_backups(store, layout_for(target), signing_key=signing_key)
                 if entry.is_valid and entry.backup_id < older_than), None)


@contextlib.contextmanager
def _tls_is_a_finding(what: str) -> Iterator[None]:
    """A TLS login that failed inside is TLS_VERIFY_FAILED, saying ``what`` it was for."""
    try:
        yield
    except TLSFailed as exc:
        raise DrillFailed([Finding("TLS_VERIFY_FAILED", f"{what}: {exc.problem}", exc.fix or "")]) from exc


def provision_scratch(selected: dict[str, Any], *, work_dir: Path, key: str, source: MySQLEndpoint,
                      replica: MySQLEndpoint | None, scratch_endpoint: MySQLEndpoint | None,
                      scratch_conn_id: str | None, run_id: str = "", scratch_slots: SlotPolicy = SlotPolicy()
                      ) -> dict[str, Any]:
    """A server to restore into, proven (by identity) not to be the source or the replica; a local one only when
    this worker has a free scratch slot (``servers.slots``), waiting for one as ``scratch_slots`` says."""
    began = time.monotonic()
    if scratch_endpoint is not None:
        try:
            identity = read_identity(scratch_endpoint)
        except Exception as exc:
            raise DrillFailed([Finding("SCRATCH_FAILED", f"The scratch server {scratch_endpoint.describe()} "
                                       f"({scratch_conn_id}) does not answer: {exc}.",
                                       "Start the scratch server or fix its connection; nothing was restored.")]) from exc
        try:
            with _tls_is_a_finding("The safety interlock could not read the source's identity"):
                check_not_protected(identity, protected_identities(source, replica, replica_required=True))
        except SafetyInterlock as exc:
            raise DrillFailed([Finding("SAFETY_INTERLOCK", exc.problem, exc.fix or "")]) from exc
        info: dict[str, Any] = {"kind": "connection", "conn_id": scratch_conn_id}
    else:
        try:
            with scratch_slot(work_dir, key, scratch_slots):
                scratch = plan_local_scratch(work_dir, key, run_id)
        except ScratchSlotsFull as exc:
            raise DrillFailed([Finding("SCRATCH_SLOTS_FULL", f"No scratch server was started: {exc.problem}.",
                                       evidence={"work_dir": str(work_dir)})]) from exc
        try:
            if selected["engine"] != "mariabackup":  # physical restores start the server on the copied datadir
                start_fresh(scratch)
                identity = read_identity(scratch.endpoint())
                with _tls_is_a_finding("The safety interlock could not read the source's identity"):
                    check_not_protected(identity, protected_identities(source, replica, replica_required=False))
        except BaseException as exc:
            destroy(scratch)
            if isinstance(exc, ServerStartError):
                raise DrillFailed([Finding("SCRATCH_FAILED", f"The drill's scratch server could not be created: "
                                           f"{exc.problem}", exc.fix or "")]) from exc
            raise
        info = scratch.to_dict()
    return {**info, "seconds": round(time.monotonic() - began, 3)}


def local_scratch(info: dict[str, Any]) -> LocalScratch | None:
    """The LocalScratch a provision result describes (None for a scratch connection)."""
    if info.get("kind") != "local":
        return None
    return LocalScratch(name=info["name"], base_dir=Path(info["base_dir"]), port=int(info["port"]))


def restore(selected: dict[str, Any], scratch_info: dict[str, Any], manifest: Manifest, *, endpoint: MySQLEndpoint,
            work_dir: Path, key: str, parallel: int, apply_catchup: bool = True) -> dict[str, Any]:
    """Load the data (and, unless PITR replays instead, the catch-up segment) into the scratch server."""
    scratch = local_scratch(scratch_info)
    if scratch is None:
        drop_databases(endpoint, manifest.databases)
    try:
        stats = restore_backup(manifest, run_dir(work_dir, key) / "files", endpoint, scratch,
                               run_dir(work_dir, key), parallel, apply_catchup=apply_catchup)
    except RestoreFailed as exc:
        raise DrillFailed([restore_failure(exc.code, exc, endpoint, scratch)]) from exc
    return {**stats, "restored_at": datetime.now(timezone.utc).isoformat()}


def restore_failure(code: str, exc: RestoreFailed, endpoint: MySQLEndpoint, scratch: LocalScratch | None) -> Finding:
    """The finding for a restore that stopped: ``code`` (the backup's fault), or SCRATCH_FAILED when the scratch
    server is what failed (it no longer answers), so a good backup is not blamed for a dead server."""
    trouble = why_not_serving(endpoint, scratch)
    if trouble is None:
        return Finding(code, exc.problem, exc.fix or "", exc.evidence)
    return Finding("SCRATCH_FAILED", f"The restore stopped because the scratch server failed, not the backup: {trouble}",
                   evidence={"restore_error": exc.problem})


def drop_databases(endpoint: MySQLEndpoint, databases: tuple[str, ...]) -> None:
    """Clear the target's schemas on a given scratch server (it passed the safety interlock)."""
    connection = endpoint.connect()
    try:
        with connection.cursor() as cursor:
            for name in databases:
                cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        connection.close()


def measure(*, disaster_at: datetime, validated_at: datetime, newest_heartbeat: datetime | None,
            rto_objective: timedelta, rpo_objective: timedelta, heartbeat_configured: bool,
            stages: Mapping[str, Mapping[str, Any] | None]) -> dict[str, Any]:
    """RTO and RPO against the objectives, with the stage breakdown and throughputs."""
    began = time.monotonic()
    rto = validated_at - disaster_at
    rpo = disaster_at - newest_heartbeat if newest_heartbeat else None
    findings = []
    refuse_negative(rto, rpo, {"validated at": validated_at, "newest heartbeat": newest_heartbeat,
                                "declared disaster": disaster_at})
    if rto > rto_objective:
        findings.append(Finding("RTO_EXCEEDED", f"Recovery took {format_duration(rto)} from the declared disaster to a "
                                f"validated server; the objective is {format_duration(rto_objective)}.",
                                evidence={"rto_seconds": rto.total_seconds()}))
    if not heartbeat_configured:
        findings.append(Finding("COULD_NOT_VERIFY", "RPO was not measured: the target has no heartbeat table configured.",
                                "Add heartbeat: {table: <schema>.<table>, column: <utc datetime>} to the target and run a writer."))
    result = {
        "disaster_at": disaster_at.isoformat(), "validated_at": validated_at.isoformat(),
        "rto_seconds": round(rto.total_seconds(), 3), "rto_objective_seconds": rto_objective.total_seconds(),
        "rpo_seconds": round(rpo.total_seconds(), 3) if rpo is not None else None,
        "rpo_objective_seconds": rpo_objective.total_seconds(),
        "newest_heartbeat": newest_heartbeat.isoformat() if newest_heartbeat else None,
        "stage_seconds": {name: stage.get("seconds") for name, stage in stages.items() if stage},
        "fetch_mb_per_second": (stages.get("fetch_and_verify") or {}).get("mb_per_second"),
        "restore_mb_per_second": (stages.get("restore") or {}).get("mb_per_second"),
        "seconds": round(time.monotonic() - began, 3),
    }
    if findings:
        raise DrillFailed(findings, measurements=measurement_lines(result), outcome=result)
    return result


def measurement_lines(result: dict[str, Any]) -> dict[str, str]:
    """RTO and RPO against objectives as short lines for Slack."""
    def show(seconds: float | None) -> str:
        return format_duration(timedelta(seconds=seconds)) if seconds is not None else "not measured"

    return {
        "RTO": f"{show(result['rto_seconds'])} (objective {show(result['rto_objective_seconds'])})",
        "RPO": f"{show(result['rpo_seconds'])} (objective {show(result['rpo_objective_seconds'])})",
    }


def teardown(scratch_info: dict[str, Any] | None, *, work_dir: Path, key: str, keep_scratch: bool,
             endpoint: MySQLEndpoint | None = None, databases: tuple[str, ...] = ()) -> dict[str, Any]:
    """Remove the scratch server (unless kept for inspection) and the fetched files; on a given scratch server,
    the target's databases and the accounts restored with them."""
    shutil.rmtree(run_dir(work_dir, key), ignore_errors=True)
    scratch = local_scratch(scratch_info or {})
    if keep_scratch:
        if scratch is not None:
            mark_kept(scratch.base_dir)  # never reaped; 'drdrill scratch rm' removes it
        kept = scratch.endpoint().describe() if scratch else (scratch_info or {}).get("conn_id")
        return {"kept": True, "scratch": kept, "option_file": str(scratch.option_file) if scratch else None,
                "remove": f"drdrill scratch rm {key}" if scratch else None}
    if scratch is not None:
        destroy(scratch)
    elif endpoint is not None and databases:
        with contextlib.suppress(Exception):
            drop_drilled_accounts(endpoint, databases)
        with contextlib.suppress(Exception):
            drop_databases(endpoint, databases)
    return {"kept": False}


def validate(selected: dict[str, Any], manifest: Manifest, target: Target, *, endpoint: MySQLEndpoint,
             store: ObjectStore, work_dir: Path, key: str, disaster_at: datetime,
             rpo_objective: timedelta) -> dict[str, Any]:
    """Run the Great Expectations suite in the restored server; keep its results next to the backup in S3."""
    from drdrill.checks.restore_suite import validate_restore

    heartbeat = target.heartbeat
    outcome = validate_restore(
        endpoint.sqlalchemy_url(), manifest, results_dir=run_dir(work_dir, key) / "gx", disaster_at=disaster_at,
        rpo_objective=rpo_objective if heartbeat else None,
        heartbeat=heartbeat, parallel=target.engine_options.parallel,
    )
    validated_at = datetime.now(timezone.utc)
    links = upload_validation(store, target, selected["backup_id"], key, outcome.results_json, outcome.data_docs_dir)
    result = {
        "evaluated": outcome.evaluated, "successful": outcome.successful,
        "newest_heartbeat": outcome.newest_heartbeat.isoformat() if outcome.newest_heartbeat else None,
        "validated_at": validated_at.isoformat(), "seconds": round(outcome.seconds, 3), **links,
    }
    if outcome.findings:
        trouble = why_not_serving(endpoint, None)
        if trouble is not None:  # checks that failed on a server that died are no verdict on the backup
            raise DrillFailed([Finding("SCRATCH_FAILED", f"The checks could not finish because the scratch server "
                                       f"failed: {trouble}", evidence={"check_findings": [f.code for f in outcome.findings]})],
                              outcome=result)
        raise DrillFailed(list(outcome.findings), outcome=result)
    return result


def upload_validation(store: ObjectStore, target: Target, backup_id: str, key: str, results_json: Path,
                      data_docs: Path | None) -> dict[str, str | None]:
    """Put the GX results JSON and the Data Docs site (without its fonts and images) under ``<backup>/drills/<run>/``;
    return their S3 URIs."""
    prefix = layout_for(target).object_key(backup_id, f"{DRILL_EVIDENCE}{key}/")
    store.put_bytes(prefix + "validation.json", results_json.read_bytes())
    docs_uri = None
    if data_docs and data_docs.is_dir():
        kept = (p for p in data_docs.rglob("*") if p.is_file() and p.suffix.lower() not in NOT_EVIDENCE_SUFFIXES)
        for path in sorted(kept):
            store.put_bytes(prefix + "data-docs/" + path.relative_to(data_docs).as_posix(), path.read_bytes())
        docs_uri = f"s3://{store.bucket}/{prefix}data-docs/index.html"
    return {"results_uri": f"s3://{store.bucket}/{prefix}validation.json", "data_docs_uri": docs_uri}
