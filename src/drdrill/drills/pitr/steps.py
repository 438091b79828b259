"""The point-in-time-recovery drill's steps: newest backup before the target + archived binlogs replayed up to it.

plan → fetch_and_verify → provision_scratch → restore_base → replay → validate (two-sided GX suite) → measure
(``STEPS``; fetching the backup, the scratch server and the base restore are the restore drill's steps).
Targets are whole UTC seconds: binlog events carry their statement's start second, so "recover to T"
means every transaction whose events are stamped before T, and none from T on. Where the source's history
forked (a flashback fail-back reset its binlog), the old history is replayed only up to where the new one
resumed: the transactions the fail-back rolled back are never replayed.
"""

from __future__ import annotations

import dataclasses
import random
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from drdrill.drills.measure_guard import refuse_negative
from drdrill.findings import DrillFailed, Finding
from drdrill.config import Target
from drdrill.drills.layouts import binlog_layout, layout_for
from drdrill.drills.restore.steps import restore_failure, run_dir, upload_validation
from drdrill.durations import format_duration
from drdrill.endpoints import MySQLEndpoint
from drdrill.engines.restore import RestoreFailed, replay_binlogs
from drdrill.servers.gtid import parse_gtid_position
from drdrill.storage.binlog.archive import fetch_binlogs
from drdrill.storage.binlog.fork import read_forks
from drdrill.storage.binlog.index import ArchivedBinlog, list_archive, server_keys
from drdrill.storage.binlog.names import binlog_name, split_binlog_name
from drdrill.storage.binlog.window import backup_ready_at, recoverable_window
from drdrill.storage.catalog import BackupEntry, describe_backups, list_backups, may_still_be_running, standing_evidence
from drdrill.storage.manifest import Manifest
from drdrill.storage.lease import take_lease
from drdrill.storage.objectstore import ObjectStore
from drdrill.storage.proof import PROVEN
from drdrill.storage.seal import SigningKey

STEPS = ["plan", "fetch_and_verify", "provision_scratch", "restore_base", "replay", "validate", "measure"]
MEASURED_STAGES = ("restore_base", "replay", "validate")  # the RTO's breakdown
STOP_FORMAT = "%Y-%m-%d %H:%M:%S"
MARKER_TABLE = "drdrill_pitr_markers"


def whole_second(moment: datetime) -> datetime:
    """A UTC moment truncated to its second (the binlog's resolution)."""
    return moment.astimezone(timezone.utc).replace(microsecond=0)


def archive_key(store: ObjectStore, target: Target, manifest: Manifest) -> str | None:
    """The archive folder of the server the backup was taken from."""
    key = manifest.extra.get("server_key")
    if key:
        return str(key)
    prefix = f"{manifest.extra.get('server_id')}-"
    return next((k for k in server_keys(store, binlog_layout(target)) if k.startswith(prefix)), None)


def choose_target_time(target: Target, store: ObjectStore, *, signing_key: SigningKey | None, requested: datetime | None,
                       seed: str) -> datetime:
    """The requested second, or a random whole second inside the recoverable window."""
    if requested is not None:
        return whole_second(requested)
    window = recoverable_window(store, layout_for(target), signing_key=signing_key)
    if window is None:
        raise DrillFailed([Finding("PITR_TARGET_UNREACHED", f"Target {target.name} has no recoverable window yet: it "
                                   "needs a valid backup and archived binlogs after it.",
                                   "Run dr_backup and dr_binlog_archive first.")])
    start, end = window
    span = int((end - start).total_seconds())
    return whole_second(start + timedelta(seconds=1 + random.Random(seed).randrange(max(1, span - 1))))


def plan(target: Target, store: ObjectStore, *, signing_key: SigningKey | None, target_time: datetime,
         now: datetime) -> dict[str, Any]:
    """Pick a base ready before the target (the newest proven one if its binlogs reach the target, else the newest
    valid one) and the gap-free binlog chain from it to the target."""
    began = time.monotonic()
    target_time = whole_second(target_time)
    if target_time > now:
        raise DrillFailed([Finding("PITR_TARGET_UNREACHED", f"The target {target_time.isoformat()} is in the future.")])
    backups = list_backups(store, layout_for(target), signing_key=signing_key)
    valid = [entry for entry in backups if entry.is_valid and entry.manifest]
    if not valid:
        unusable = [entry for entry in backups if not may_still_be_running(entry, backups, now)]
        why = f": {describe_backups(unusable)}" if unusable else " (no backup folder)" if not backups else ""
        raise DrillFailed([Finding("NO_VALID_BACKUP", f"Target {target.name} has no valid backup to recover from{why}.",
                                   evidence={"skipped": standing_evidence(unusable)})])
    candidates = _base_candidates(valid, target_time)
    for base in candidates:
        try:
            manifest, key, chain, segments = _route_from(base, store, target, target_time)
            break
        except DrillFailed:
            if base is candidates[-1]:
                raise
    return {
        "backup_id": base.backup_id, "engine": manifest.engine, "server_key": key, "base_status": base.status,
        "files": [entry.file for entry in chain], "start_position": manifest.consistent_point.position,
        "segments": segments,
        "target_time": target_time.isoformat(), "stop_datetime": target_time.strftime(STOP_FORMAT),
        "backup_ready_at": backup_ready_at(manifest).isoformat(), "seconds": round(time.monotonic() - began, 3),
    }


def _route_from(base: BackupEntry, store: ObjectStore, target: Target, target_time: datetime
                ) -> tuple[Manifest, str | None, list[ArchivedBinlog], list[dict[str, Any]]]:
    """From one base to the target: its manifest, its server's archive key, the binlog chain and replay segments."""
    manifest = base.manifest
    assert manifest is not None
    key = archive_key(store, target, manifest)
    chain = _binlog_chain(store, target, manifest, key, target_time)
    return manifest, key, chain, replay_segments(store, target, manifest, key, [entry.file for entry in chain])


def plan_with_markers(target: Target, source: MySQLEndpoint, store: ObjectStore, *, signing_key: SigningKey | None,
                      requested: datetime | None, seed: str, key: str, work_dir: Path, now: datetime) -> dict[str, Any]:
    """The plan, with marker rows around a fresh target when the target may be written to and no time was asked;
    the run (``seed``: its run id) then holds a lease on the base and the binlogs it replays until its teardown."""
    if requested is None and target.allow_source_writes and target.heartbeat is not None:
        from drdrill.drills.archive.steps import archive

        target_time, markers = write_markers(source, target.heartbeat.schema, key)
        archive(target, source, store, work_dir=work_dir)  # closes and ships the file holding the after-marker
        planned = {**plan(target, store, signing_key=signing_key, target_time=target_time, now=datetime.now(timezone.utc)),
                   "markers": list(markers)}
    else:
        chosen = choose_target_time(target, store, signing_key=signing_key, requested=requested, seed=seed)
        planned = plan(target, store, signing_key=signing_key, target_time=chosen, now=now)
    take_lease(store, layout_for(target), key=key, run_id=seed, drill="pitr", backup_id=planned["backup_id"],
               binlogs={planned["server_key"]: planned["files"]} if planned["server_key"] else {})
    return planned


def _base_candidates(valid: list[BackupEntry], target_time: datetime) -> list[BackupEntry]:
    """The bases to try, in order: the newest proven backup ready before the target, then the newest ready one.

    A proven base (its restore drill passed) is preferred when its binlogs reach the target; otherwise the
    newest base, whose findings then explain why the recovery cannot be made.
    """
    ready = sorted((entry for entry in valid if entry.manifest and backup_ready_at(entry.manifest) <= target_time),
                   key=lambda entry: entry.backup_id, reverse=True)
    if not ready:
        oldest = min(valid, key=lambda entry: entry.backup_id)
        assert oldest.manifest is not None
        raise DrillFailed([Finding(
            "PITR_TARGET_BEFORE_BACKUP", f"The target {target_time.isoformat()} is before the recoverable window, "
            f"which starts at {backup_ready_at(oldest.manifest).isoformat()} (when the oldest retained valid backup, "
            f"{oldest.backup_id}, completed).", evidence={"window_start": backup_ready_at(oldest.manifest).isoformat()})])
    proven = next((entry for entry in ready if entry.status == PROVEN), None)
    return [proven, ready[0]] if proven and proven is not ready[0] else [ready[0]]


def _binlog_chain(store: ObjectStore, target: Target, manifest: Manifest, key: str | None,
                  target_time: datetime) -> list[ArchivedBinlog]:
    """The archived files from the backup's consistent point until one holds an event at or after the target."""
    first = manifest.consistent_point.file
    entries = list_archive(store, binlog_layout(target), key) if key else []
    by_name = {entry.file: entry for entry in entries}
    if first not in by_name:
        raise DrillFailed([Finding("BINLOG_GAP", f"The archive of server {key or '(unknown)'} lacks {first}, where "
                                   f"backup {manifest.backup_id} starts; point-in-time recovery cannot begin.")])
    chain: list[ArchivedBinlog] = []
    expected = split_binlog_name(first)[1]
    for entry in sorted((e for e in entries if split_binlog_name(e.file)[1] >= expected),
                        key=lambda e: split_binlog_name(e.file)[1]):
        base, number, digits = split_binlog_name(entry.file)
        if number != expected:
            missing = [binlog_name(base, n, digits) for n in range(expected, number)]
            raise DrillFailed([Finding("BINLOG_GAP", f"The archive of server {key} lacks {', '.join(missing)} "
                                       f"(between {binlog_name(base, expected - 1, digits)} and {entry.file}), so the "
                                       f"replay to {target_time.isoformat()} cannot be complete.",
                                       evidence={"missing": missing})])
        chain.append(entry)
        expected += 1
        if entry.last_event_at and entry.last_event_at >= target_time:
            return chain
    newest = chain[-1].last_event_at if chain else None
    raise DrillFailed([Finding("PITR_TARGET_UNREACHED", f"The binlog archive of server {key} ends at {newest}, before "
                               f"the target {target_time.isoformat()}.")])


def replay_segments(store: ObjectStore, target: Target, manifest: Manifest, key: str | None,
                    files: list[str]) -> list[dict[str, Any]]:
    """``files`` split where a fork starts a new history; a part stops at the resume position of the next fork.

    PITR_BASE_ROLLED_BACK when the backup already holds transactions that fork rolled back.
    """
    forks, unusable = read_forks(store, binlog_layout(target), key) if key else ({}, [])
    if unusable:
        raise DrillFailed(unusable)
    ahead = sorted(forks.values(), key=lambda fork: split_binlog_name(fork.first_file)[1])
    segments: list[dict[str, Any]] = []
    for file in files:
        if not segments or file in forks:
            segments.append({"files": []})
        segments[-1]["files"].append(file)
    for segment in segments:
        last = split_binlog_name(segment["files"][-1])[1]
        fork = next((fork for fork in ahead if split_binlog_name(fork.first_file)[1] > last), None)
        segment.update(stop_position=fork.resumed_from if fork else None, fork=fork.first_file if fork else None)
    base, stop = parse_gtid_position(manifest.consistent_point.gtid), parse_gtid_position(segments[0]["stop_position"])
    if any(domain in stop and seq > stop[domain][1] for domain, (_, seq) in base.items()):
        raise DrillFailed([Finding(
            "PITR_BASE_ROLLED_BACK",
            f"Backup {manifest.backup_id} (GTID {manifest.consistent_point.gtid}) holds transactions that a fail-back "
            f"rolled back on server {key}: that history resumed from {segments[0]['stop_position']} at "
            f"{segments[0]['fork']}. Recovering from it would keep them.",
            evidence={"backup_id": manifest.backup_id, "fork": segments[0]["fork"],
                      "resumed_from": segments[0]["stop_position"]})])
    return segments


def write_markers(source: MySQLEndpoint, schema: str, key: str) -> tuple[datetime, tuple[str, str]]:
    """On a source the drill may write to: a marker, the next whole second as target, a marker after it.

    Times come from the server's clock, so the markers fall on either side of the target exactly as
    the binlog stamps them. Needs CREATE and INSERT on ``<schema>.drdrill_pitr_markers``.
    """
    table = f"`{schema}`.`{MARKER_TABLE}`"
    before, after = f"before-{key}", f"after-{key}"
    # inside the schema: mariadb-binlog --database keeps statements by their default database
    source = dataclasses.replace(source, database=schema)
    try:
        source.fetch_all(f"CREATE TABLE IF NOT EXISTS {table} "
                         "(label VARCHAR(64) PRIMARY KEY, written_at DATETIME(6) NOT NULL)")
        source.fetch_all(f"INSERT INTO {table} (label, written_at) VALUES (%s, UTC_TIMESTAMP(6))", (before,))
        now = source.fetch_all("SELECT UTC_TIMESTAMP(6)")[0][0].replace(tzinfo=timezone.utc)
        target_time = whole_second(now) + timedelta(seconds=1)
        time.sleep((target_time - now).total_seconds() + 0.05)
        source.fetch_all(f"INSERT INTO {table} (label, written_at) VALUES (%s, UTC_TIMESTAMP(6))", (after,))
    except Exception as exc:
        raise DrillFailed([Finding("COULD_NOT_VERIFY", f"Could not write PITR marker rows on {source.describe()}: {exc}.",
                                   f"Grant the drill's login CREATE, INSERT ON {schema}.{MARKER_TABLE}, or set "
                                   "allow_source_writes: false to check the boundary with the heartbeat only.")]) from exc
    return target_time, (before, after)


def fetch_binlog_files(planned: dict[str, Any], target: Target, store: ObjectStore, *, work_dir: Path,
                       key: str) -> dict[str, Any]:
    """Download and verify (sha256) the planned binlogs."""
    began = time.monotonic()
    paths = fetch_binlogs(store, binlog_layout(target), planned["server_key"], planned["files"],
                          run_dir(work_dir, key) / "binlogs")
    size = sum(path.stat().st_size for path in paths)
    return {"binlog_bytes": size, "seconds": round(time.monotonic() - began, 3)}


def replay(planned: dict[str, Any], manifest: Manifest, *, endpoint: MySQLEndpoint, work_dir: Path, key: str,
           stop_datetime: str | None = None) -> dict[str, Any]:
    """Replay the binlogs from the backup's consistent point up to the target second, segment by segment."""
    directory = run_dir(work_dir, key)
    runs = []
    for number, segment in enumerate(planned["segments"]):
        try:
            runs.append(replay_binlogs(
                [directory / "binlogs" / name for name in segment["files"]],
                start_position=planned["start_position"] if number == 0 else None,
                stop_position=segment["stop_position"], stop_datetime=stop_datetime or planned["stop_datetime"],
                databases=manifest.databases, endpoint=endpoint, log=directory / f"replay-{number + 1}.log"))
        except RestoreFailed as exc:
            code = "BINLOG_CORRUPT" if exc.code == "ARCHIVE_TRUNCATED" else exc.code
            raise DrillFailed([restore_failure(code, exc, endpoint, None)]) from exc
    seconds, raw_bytes = sum(run["seconds"] for run in runs), sum(run["raw_bytes"] for run in runs)
    return {"seconds": round(seconds, 3), "raw_bytes": raw_bytes, "segments": len(runs),
            "mb_per_second": round(raw_bytes / 1e6 / seconds, 1) if seconds else None}


def validate(planned: dict[str, Any], target: Target, *, endpoint: MySQLEndpoint, source: MySQLEndpoint,
             store: ObjectStore, work_dir: Path, key: str) -> dict[str, Any]:
    """Two-sided boundary check as a GX suite: every heartbeat before the target present, none from it on."""
    from drdrill.checks.pitr_suite import validate_pitr_boundary

    heartbeat = target.heartbeat
    if heartbeat is None:
        raise DrillFailed([Finding("COULD_NOT_VERIFY", "The PITR boundary cannot be checked: the target has no "
                                   "heartbeat table configured.", "Add heartbeat: {table: ..., column: ...}.")])
    target_time = datetime.fromisoformat(planned["target_time"])
    expected = source.fetch_all(
        f"SELECT COUNT(*) FROM `{heartbeat.schema}`.`{heartbeat.table}` WHERE `{heartbeat.column}` < %s",
        (target_time.strftime("%Y-%m-%d %H:%M:%S"),))[0][0]
    markers = planned.get("markers")
    outcome = validate_pitr_boundary(endpoint.sqlalchemy_url(), heartbeat=heartbeat, target_time=target_time,
                                     expected_before=int(expected), results_dir=run_dir(work_dir, key) / "gx",
                                     markers=(markers[0], markers[1]) if markers else None)
    links = upload_validation(store, target, planned["backup_id"], key, outcome.results_json, outcome.data_docs_dir)
    result = {"expected_before": int(expected), "evaluated": outcome.evaluated, "successful": outcome.successful,
              "newest_heartbeat": outcome.newest_heartbeat.isoformat() if outcome.newest_heartbeat else None,
              "validated_at": datetime.now(timezone.utc).isoformat(), "seconds": round(outcome.seconds, 3), **links}
    if outcome.findings:
        raise DrillFailed(list(outcome.findings), outcome=result)
    return result


def measure(planned: dict[str, Any], *, disaster_at: datetime, validated: dict[str, Any],
            stages: dict[str, dict[str, Any] | None], rto_objective: timedelta, rpo_objective: timedelta) -> dict[str, Any]:
    """RTO (drill start → validated), the RPO PITR achieves (target − newest recovered event), replay speed."""
    target_time = datetime.fromisoformat(planned["target_time"])
    rto = datetime.fromisoformat(validated["validated_at"]) - disaster_at
    newest = validated.get("newest_heartbeat")
    newest_at = datetime.fromisoformat(newest) if newest else None
    # a recovered event after the target is validate's PITR_BOUNDARY_WRONG, not a data loss: no RPO then
    rpo = target_time - newest_at if newest_at and newest_at <= target_time else None
    refuse_negative(rto, rpo, {"validated at": datetime.fromisoformat(validated["validated_at"]),
                                "newest recovered heartbeat": newest_at,
                                "target": target_time, "declared disaster": disaster_at})
    replayed = stages.get("replay") or {}
    result = {
        "rto_seconds": round(rto.total_seconds(), 3), "rto_objective_seconds": rto_objective.total_seconds(),
        "rpo_seconds": round(rpo.total_seconds(), 3) if rpo is not None else None,
        "rpo_objective_seconds": rpo_objective.total_seconds(), "target_time": planned["target_time"],
        "stage_seconds": {name: (stage or {}).get("seconds") for name, stage in stages.items()},
        "replay_mb_per_second": replayed.get("mb_per_second"),
    }
    findings = []
    if rto > rto_objective:
        findings.append(Finding("RTO_EXCEEDED", f"Point-in-time recovery took {format_duration(rto)}; the objective "
                                f"is {format_duration(rto_objective)}."))
    if rpo is not None and rpo > rpo_objective:
        findings.append(Finding("RPO_EXCEEDED", f"The newest recovered event is {format_duration(rpo)} before the "
                                f"target; the objective is {format_duration(rpo_objective)}."))
    if findings:
        raise DrillFailed(findings, outcome=result)
    return result
