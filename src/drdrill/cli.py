"""``drdrill``: the sandbox, drills outside Airflow, backups and history, for people and (with --json) scripts."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import uuid
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from drdrill.drill_kinds import drill_names
from drdrill.drills.form import add_flags
from drdrill.drills.pitr.form import PitrOptions
from drdrill.drills.restore.form import RestoreOptions
from drdrill.drills.report.form import ReportOptions
from drdrill.progress import show_on_terminal
from drdrill.engines import ALIASES as ENGINE_ALIASES
from drdrill.engines import engine_names
from drdrill.errors import DrdrillError
from drdrill.findings import BAD_REQUEST

if TYPE_CHECKING:
    from drdrill.storage.layout import TargetLayout
    from drdrill.storage.objectstore import ObjectStore
    from drdrill.storage.seal import SigningKey

EXIT_OK, EXIT_DRILL_RED, EXIT_ERROR = 0, 1, 2
READ_CHUNK = 1024 * 1024  # decrypt's reads of standard input
OptionsT = TypeVar("OptionsT", RestoreOptions, PitrOptions)


def cli_run_id(started: datetime) -> str:
    """The run id of a drill run from the command line (``cli__<start>__<random>``)."""
    return f"cli__{started.strftime('%Y%m%dT%H%M%SZ')}__{uuid.uuid4().hex[:6]}"


def drill_exit_code(verdict: str, findings: Sequence[Any]) -> int:
    """0 for a green drill, 2 when it was asked for something it cannot do (bad input), else 1 (red)."""
    if verdict == "passed":
        return EXIT_OK
    return EXIT_ERROR if any(finding.code in BAD_REQUEST for finding in findings) else EXIT_DRILL_RED


def _print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """A plain aligned table."""
    if not rows:
        print("(none)")
        return
    text_rows = [[("" if row.get(col) is None else str(row.get(col))) for col in columns] for row in rows]
    widths = [max(len(col), *(len(r[i]) for r in text_rows)) for i, col in enumerate(columns)]
    print("  ".join(col.upper().ljust(widths[i]) for i, col in enumerate(columns)))
    for r in text_rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)))


def _print_stages_and_findings(record: Any, findings: Sequence[Any]) -> None:
    """A drill's seconds per step, then each finding with its fix."""
    for step, took in record.stage_seconds.items():
        print(f"  {step:<18} {took:8.2f} s")
    for finding in findings:
        print(f"  {finding.sentence()}")


RESULT_STREAM = sys.stdout


def _emit(args: argparse.Namespace, payload: Any, human: Any) -> None:
    """Print the result on the real stdout: JSON for scripts, or the human form."""
    sys.stdout = RESULT_STREAM
    try:
        if args.json:
            print(json.dumps(payload, indent=2, default=str))
        else:
            human()
    finally:
        sys.stdout = sys.stderr


# -- sandbox ------------------------------------------------------------------------------------------

def cmd_sandbox(args: argparse.Namespace) -> int:
    from drdrill.sandbox.sample_data import approx_rows_for_size
    from drdrill.sandbox.stack import Sandbox
    from drdrill.sandbox.store_marker import EMPTIED
    from drdrill.sizes import parse_size

    rows = approx_rows_for_size(parse_size(args.size)) if args.size else args.rows
    sandbox = Sandbox(buffer_pool=args.buffer_pool or ("1G" if rows >= 2_000_000 else "64M"), tls=args.tls)
    if args.action == "up":
        state = sandbox.up(rows=rows, airflow=not args.no_airflow)
        _emit(args, state, lambda: _show_status(state, "Sandbox is up."))
        if state["s3_store"]["state"] == EMPTIED:
            print(f"WARNING: {state['s3_store']['message']}", file=sys.stderr)
    elif args.action == "down":
        sandbox.down(purge=args.purge)
        state = {**sandbox.status(), "removed_leftovers": _remove_leftovers(purge=args.purge)}
        _emit(args, state, lambda: _show_status(state, "Sandbox stopped." + (" Data deleted." if args.purge else "") +
                                                f" Removed {len(state['removed_leftovers'])} drill leftover(s)."))
    else:
        state = sandbox.status()
        _emit(args, state, lambda: _show_status(state, f"Sandbox in {state['directory']}"))
    return EXIT_OK


def _remove_leftovers(*, purge: bool) -> list[dict[str, Any]]:
    """What dead drill runs left in the configured work dir (with ``purge``: kept scratch servers too)."""
    from drdrill.config import load_config
    from drdrill.servers.reaper import find_leftovers, reap_orphans, remove

    work_dir = Path(load_config().settings.work_dir)
    removed = reap_orphans(work_dir)
    if purge:
        for leftover in find_leftovers(work_dir):
            if leftover.owner.kept and not leftover.owner.process_alive():
                removed.append(leftover.describe())
                remove(leftover)
    return removed


def _show_status(state: dict[str, Any], title: str) -> None:
    print(title)
    rows = [{**c, "state": "running" if c["running"] else "stopped"} for c in state["components"]]
    _print_table(rows, ["component", "state", "pid", "address", "datadir"])
    print("Airflow connections: " + ", ".join(state["connections"].values()) + f"; bucket s3://{state['bucket']}")
    tls = state["tls"]
    print(f"TLS on: require_secure_transport=ON, CA {tls['ca']}" if tls["on"] else "TLS off (plain-text logins)")


def cmd_stack(args: argparse.Namespace) -> int:
    from drdrill.sandbox.cluster.stack import ClusterStack

    stack = ClusterStack(spread=args.spread)
    if args.action == "up":
        state = stack.up()
        title = f"Stack is up: {state['api_url']} (user {state['api_user']}, password in {state['api_password_file']})."
    elif args.action == "down":
        stack.down(purge=args.purge)
        state, title = stack.status(), "Stack stopped." + (" Data deleted." if args.purge else "")
    else:
        state = stack.status()
        title = f"Stack in {state['directory']}: API {'healthy' if state['api_healthy'] else 'not answering'}, " \
                f"workers registered: {', '.join(state['workers_registered']) or 'none'}"

    def human() -> None:
        print(title)
        _print_table([{**c, "state": "running" if c["running"] else "stopped"} for c in state["components"]],
                     ["component", "state", "pid", "address", "log"])

    _emit(args, state, human)
    return EXIT_OK


# -- drills -------------------------------------------------------------------------------------------

def cmd_backup(args: argparse.Namespace) -> int:
    from drdrill.airflow.connections import copy_store, manifest_signing_key, mysql_endpoint, object_store
    from drdrill.config import load_config
    from drdrill.drills.backup.runner import run_backup_drill

    config = load_config()
    target = config.target(args.target)
    started = datetime.now(timezone.utc)
    _own_drill_process()
    record, findings = run_backup_drill(
        target, mysql_endpoint(target.source_conn_id, f"targets[{target.name}].source_conn_id"),
        object_store(target.storage), signing_key=manifest_signing_key(target.storage),
        work_dir=config.settings.work_dir, history_url=config.settings.history_url, run_id=cli_run_id(started), started_at=started,
        engine_override=args.engine, dry_run=args.dry_run, deep_verify=args.deep_verify, copy=copy_store(target.storage),
    )

    def human() -> None:
        print(f"Backup drill for {target.name}: {record.verdict.upper()}  (backup {record.backup_id or '-'})")
        for step, seconds in record.stage_seconds.items():
            print(f"  {step:<16} {seconds:8.2f} s")
        for finding in findings:
            print(f"  {finding.sentence()}")

    _emit(args, record.to_dict(), human)
    return drill_exit_code(record.verdict, findings)


def _scratch_drill_inputs(args: argparse.Namespace,
                          form: type[OptionsT]) -> tuple[Any, Any, datetime, OptionsT, Any]:
    """Config, target, start, options (from the flags: a bad flag stops here, before anything is owned) and servers
    of a drill that restores into a scratch server; from then on the drill's files belong to this process."""
    from drdrill.config import load_config
    from drdrill.drills.form import params_from_flags, read_form
    from drdrill.drills.restore.tasks import restore_servers

    config = load_config()
    target = config.target(args.target)
    started = datetime.now(timezone.utc)
    options = read_form(form, params_from_flags(form, args))
    servers = restore_servers(target)
    _own_drill_process()
    return config, target, started, options, servers


def cmd_restore(args: argparse.Namespace) -> int:
    from drdrill.drills.restore.runner import run_restore_drill
    from drdrill.durations import format_duration

    config, target, started, options, servers = _scratch_drill_inputs(args, RestoreOptions)
    record, findings = run_restore_drill(
        target, servers, options, work_dir=config.settings.work_dir, history_url=config.settings.history_url,
        run_id=cli_run_id(started), started_at=started)

    def seconds(value: float | None) -> str:
        from datetime import timedelta

        return format_duration(timedelta(seconds=value)) if value is not None else "not measured"

    def human() -> None:
        print(f"Restore drill for {target.name}: {record.verdict.upper()}  (backup {record.backup_id or '-'})")
        print(f"  RTO {seconds(record.rto_seconds)} (objective {seconds(record.rto_objective_seconds)}), "
              f"RPO {seconds(record.rpo_seconds)} (objective {seconds(record.rpo_objective_seconds)})")
        for step, took in record.stage_seconds.items():
            print(f"  {step:<18} {took:8.2f} s")
        if record.details.get("data_docs_uri"):
            print(f"  Great Expectations: {record.details['results_uri']}  (Data Docs {record.details['data_docs_uri']})")
        if record.details.get("scratch", {}).get("kept"):
            print(f"  scratch server kept: {record.details['scratch']['scratch']} "
                  f"(login in {record.details['scratch']['option_file']}; remove with "
                  f"'{record.details['scratch']['remove']}')")
        for finding in findings:
            print(f"  {finding.sentence()}")

    _emit(args, record.to_dict(), human)
    return drill_exit_code(record.verdict, findings)


def cmd_pitr(args: argparse.Namespace) -> int:
    from drdrill.drills.pitr.runner import run_pitr_drill

    config, target, started, options, servers = _scratch_drill_inputs(args, PitrOptions)
    record, findings = run_pitr_drill(
        target, servers, options,
        work_dir=config.settings.work_dir, history_url=config.settings.history_url,
        run_id=cli_run_id(started), started_at=started)

    def human() -> None:
        print(f"PITR drill for {target.name} to {record.details.get('target_time')}: {record.verdict.upper()}  "
              f"(base backup {record.backup_id or '-'}, {len(record.details.get('binlogs') or [])} binlog files)")
        if record.rto_seconds is not None:
            print(f"  RTO {record.rto_seconds:.1f} s (objective {record.rto_objective_seconds:.0f} s), "
                  f"RPO {record.rpo_seconds} s (objective {record.rpo_objective_seconds:.0f} s)")
        _print_stages_and_findings(record, findings)

    _emit(args, record.to_dict(), human)
    return drill_exit_code(record.verdict, findings)


def _interrupt(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _own_drill_process() -> None:
    """The drill's files and scratch server belong to this process (orphans once it dies); SIGTERM stops it like
    Ctrl-C: the step is interrupted, cleanup runs and the run is recorded as not green."""
    from drdrill.servers.owner import bind_runs_to_this_process

    bind_runs_to_this_process()
    signal.signal(signal.SIGTERM, _interrupt)
    # A tool whose pipe closes (the mariadb client of a scratch server being torn down) must be an error of that
    # pump, not the end of the drill before it recorded: SIGPIPE back to Python's default (BrokenPipeError).
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)


def cmd_failover(args: argparse.Namespace) -> int:
    from drdrill.config import load_config
    from drdrill.drills.failover.path import Run
    from drdrill.drills.failover.runner import ApprovalRequired, run_failover_drill
    from drdrill.drills.failover.tasks import resolve_connections

    config = load_config()
    target = config.target(args.target)
    started = datetime.now(timezone.utc)
    _own_drill_process()
    run = Run(target, resolve_connections(target), Path(config.settings.work_dir), cli_run_id(started))
    try:
        record, findings = run_failover_drill(run, history_url=config.settings.history_url, started_at=started,
                                              dry_run=args.dry_run, approved=args.yes_i_approve)
    except ApprovalRequired as exc:
        refused = exc
        _emit(args, {"target": target.name, "approved": False, "approval_text": refused.approval_text,
                     "error": refused.problem, "fix": refused.fix},
              lambda: print(f"{refused.approval_text}\n\nNot started: {refused}"))
        return EXIT_ERROR
    measured = record.details.get("measured") or {}
    restored = record.details.get("fail_back") or {}

    def human() -> None:
        title = " (dry run: preflight only, nothing touched, not recorded)" if args.dry_run else ""
        fault = f"  (fault {record.details['fault']})" if record.details.get("fault") else ""
        print(f"Failover drill for {target.name}{title}: {record.verdict.upper()}{fault}")
        if record.rto_seconds is not None:
            print(f"  RTO {record.rto_seconds:.2f} s (objective {record.rto_objective_seconds:.0f} s), "
                  f"RPO {record.rpo_seconds:.2f} s (objective {record.rpo_objective_seconds:.0f} s)")
        if measured:
            print(f"  {record.details['headline']}")
        if restored:
            print(f"  afterwards: roles {restored.get('roles', 'untouched')}, source connection "
                  f"{restored.get('connection', 'unchanged')}")
        _print_stages_and_findings(record, findings)
        if record.details.get("approval_text"):
            print(f"\nWhat the drill would do:\n{record.details['approval_text']}")

    _emit(args, record.to_dict(), human)
    return drill_exit_code(record.verdict, findings)


def cmd_stream(args: argparse.Namespace) -> int:
    import threading

    from drdrill.airflow.connections import mysql_endpoint, object_store
    from drdrill.config import load_config
    from drdrill.drills.archive.stream import enable_progress_logging, stop_on_signals, stream_target
    from drdrill.endpoints import MySQLEndpoint

    config = load_config()
    target = config.target(args.target)

    def get_source() -> MySQLEndpoint:
        return mysql_endpoint(target.source_conn_id, f"targets[{target.name}].source_conn_id")

    stop = threading.Event()
    stop_on_signals(stop)
    enable_progress_logging()
    status = stream_target(target, get_source, object_store(target.storage), work_dir=config.settings.work_dir,
                           stop=stop, spool_dir=args.spool_dir, poll_interval=args.poll_interval,
                           replica_server_id=args.replica_server_id)
    _emit(args, status.to_dict(), lambda: print(f"Stopped streaming {args.target}: {len(status.uploaded)} file(s) "
                                                 f"archived, {status.restarts} restart(s)."))
    return EXIT_OK


def cmd_backups(args: argparse.Namespace) -> int:
    from drdrill.airflow.connections import manifest_signing_key, object_store
    from drdrill.config import load_config
    from drdrill.drills.layouts import layout_for
    from drdrill.storage.catalog import list_backups
    from drdrill.storage.lease import active_leases
    from drdrill.storage.verify import verify_backup, verify_kind

    target = load_config().target(args.target)
    store = object_store(target.storage)
    signing_key = manifest_signing_key(target.storage)
    if args.action == "list":
        listed = list_backups(store, layout_for(target), signing_key=signing_key)
        leases = {lease.backup_id: lease for lease in active_leases(store, layout_for(target))}
        entries = [{**entry.summary(), "lease": leases[entry.backup_id].summary() if entry.backup_id in leases else None}
                   for entry in listed]
        rows = [{**summary, "status": entry.label, "leased_by": leases[entry.backup_id].run_id if entry.backup_id in leases else "-"}
                for entry, summary in zip(listed, entries)]
        _emit(args, {"target": target.name, "backups": entries},
              lambda: _print_table(rows, ["backup_id", "status", "seal", "engine", "stored_bytes", "consistent_point",
                                          "leased_by", "problem"]))
        return EXIT_OK
    if args.action == "fetch":
        return _fetch_backup(args, target.name, store, layout_for(target), signing_key)
    manifest, findings = verify_backup(store, layout_for(target), args.backup_id, signing_key=signing_key, deep=args.deep)
    kind = verify_kind(manifest, args.deep) if manifest else None
    payload = {"target": target.name, "backup_id": args.backup_id, "verified": not findings, "kind": kind,
               "findings": [finding.to_dict() for finding in findings]}
    matched = ("every object re-read matches its size and sha256" if kind == "deep" else
               "every object's size and SHA-256 checksum in S3 match the manifest (nothing downloaded; --deep re-reads)")
    _emit(args, payload, lambda: print(f"verified: {matched}" if not findings
                                       else "\n".join(f.sentence() for f in findings)))
    return EXIT_OK if not findings else EXIT_DRILL_RED


def cmd_scratch(args: argparse.Namespace) -> int:
    from drdrill.config import load_config
    from drdrill.servers.reaper import find_leftovers, reap_orphans, remove_scratch

    work_dir = Path(load_config().settings.work_dir)
    if args.action == "list":
        listed = [leftover.describe() for leftover in find_leftovers(work_dir)]
        rows = [{**item, "state": "kept" if item["kept"] else "orphan" if item["orphan"] else "in use",
                 "run": item["run_id"]} for item in listed]

        def human() -> None:
            _print_table(rows, ["id", "kind", "state", "port", "run", "connect", "remove"])
            if any(item["orphan"] for item in listed):
                print("Orphans are removed by the next drill's start, or now by 'drdrill scratch rm --orphans'.")

        _emit(args, {"work_dir": str(work_dir), "leftovers": listed}, human)
        return EXIT_OK
    if args.orphans == bool(args.id):
        print("error: 'scratch rm' takes a scratch id or --orphans (see 'drdrill scratch list')", file=sys.stderr)
        return EXIT_ERROR
    removed = reap_orphans(work_dir) if args.orphans else [remove_scratch(work_dir, args.id)]
    _emit(args, {"removed": removed}, lambda: print(f"Removed {len(removed)}: " + (
        ", ".join(f"{item['kind']} {item['id']} (run {item['run_id']})" for item in removed) or "nothing to remove")))
    return EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    from drdrill.config import load_config
    from drdrill.history import list_drills

    records = [r.to_dict() for r in list_drills(load_config().settings.history_url, args.target, args.drill, args.limit)]
    def vs_objective(value: float | None, objective: float | None) -> str:
        return "-" if value is None else f"{value:.1f}/{objective:.0f}"

    rows = [{**r, "findings": ",".join(f["code"] for f in r["findings"]) or "-",
             "started_at": r["started_at"][:19], "seconds": round(sum(r["stage_seconds"].values()), 1),
             "rto_s": vs_objective(r["rto_seconds"], r["rto_objective_seconds"]),
             "rpo_s": vs_objective(r["rpo_seconds"], r["rpo_objective_seconds"])} for r in records]
    _emit(args, {"drills": records},
          lambda: _print_table(rows, ["started_at", "target", "drill", "verdict", "backup_id", "seconds", "rto_s",
                                      "rpo_s", "findings"]))
    return EXIT_OK


def cmd_rpo(args: argparse.Namespace) -> int:
    from drdrill.config import load_config
    from drdrill.history import list_rpo_samples

    samples = [sample.to_dict() for sample in list_rpo_samples(load_config().settings.history_url, args.target, args.limit)]

    def seconds(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f}"

    rows = [{**s, "sampled_at": s["sampled_at"][:19], "archive_lag_s": seconds(s["archive_lag_seconds"]),
             "rpo_objective_s": seconds(s["rpo_objective_seconds"]), "backup_age_s": seconds(s["backup_age_seconds"]),
             "findings": ",".join(f["code"] for f in s["findings"]) or "-"} for s in samples]
    _emit(args, {"samples": samples}, lambda: _print_table(
        rows, ["sampled_at", "target", "archive_lag_s", "rpo_objective_s", "backup_age_s", "findings"]))
    return EXIT_OK


def cmd_summary(args: argparse.Namespace) -> int:
    from drdrill.airflow.connections import manifest_signing_key, object_store
    from drdrill.config import load_config
    from drdrill.drills.layouts import layout_for
    from drdrill.durations import format_duration
    from drdrill.history import list_drills
    from drdrill.storage.catalog import list_backups

    config = load_config()
    targets = [config.target(args.target)] if args.target else list(config.targets)
    report: list[dict[str, Any]] = []
    for target in targets:
        backups = list_backups(object_store(target.storage), layout_for(target),
                               signing_key=manifest_signing_key(target.storage))
        valid = [b for b in backups if b.is_valid]
        drills = list_drills(config.settings.history_url, target.name, limit=200)
        latest: dict[str, Any] = {}
        for record in drills:
            latest.setdefault(record.drill, record)
        report.append({
            "target": target.name,
            "objectives": {"rto": format_duration(target.objectives.rto), "rpo": format_duration(target.objectives.rpo)},
            "backups": {"valid": len(valid), "not_valid": len(backups) - len(valid),
                        "newest_valid": valid[0].summary() if valid else None},
            "latest_drills": {kind: record.to_dict() for kind, record in latest.items()},
        })

    def human() -> None:
        for item in report:
            newest = item["backups"]["newest_valid"]
            print(f"Target {item['target']}  (objectives: RTO {item['objectives']['rto']}, RPO {item['objectives']['rpo']})")
            if newest:
                print(f"  newest valid backup: {newest['backup_id']}  engine {newest['engine']}, "
                      f"{newest['stored_bytes'] / 1e6:.1f} MB stored, binlog {newest['consistent_point']}")
            else:
                print("  NO VALID BACKUP")
            print(f"  backups: {item['backups']['valid']} valid, {item['backups']['not_valid']} not valid")
            for kind, record in item["latest_drills"].items():
                codes = ", ".join(f["code"] for f in record["findings"]) or "no findings"
                took = sum(record["stage_seconds"].values())
                print(f"  last {kind} drill: {record['verdict'].upper()} at {record['started_at'][:19]}Z "
                      f"({took:.1f} s in steps; {codes})")
                if record["rto_seconds"] is not None:
                    rpo = record["rpo_seconds"]
                    print(f"    RTO {record['rto_seconds']:.2f} s (objective {record['rto_objective_seconds']:.0f} s), "
                          f"RPO {'not measured' if rpo is None else f'{rpo:.2f} s'} "
                          f"(objective {record['rpo_objective_seconds']:.0f} s); stages: " +
                          ", ".join(f"{name} {sec:.1f}s" for name, sec in record["stage_seconds"].items()))
                if record["details"].get("headline"):
                    print(f"    {record['details']['headline']}")
                for finding in record["findings"]:
                    print(f"    {finding['code']}: {finding['message']} Fix: {finding['fix']}")

    _emit(args, {"targets": report}, human)
    red = any(r["verdict"] != "passed" for item in report for r in item["latest_drills"].values())
    return EXIT_DRILL_RED if red or any(not item["backups"]["newest_valid"] for item in report) else EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from drdrill.config import load_config
    from drdrill.drills.form import params_from_flags, read_form
    from drdrill.report.numbers import build_report, report_targets
    from drdrill.report.page import render_page
    from drdrill.report.publish import summary_text

    config, end = load_config(), datetime.now(timezone.utc)
    days = read_form(ReportOptions, params_from_flags(ReportOptions, args)).days
    report = build_report(config.settings.history_url, report_targets(config, end), end, days)
    if args.html:
        args.html.write_text(render_page(report), encoding="utf-8")
    _emit(args, report, lambda: print(summary_text(report) + (f"\nHTML: {args.html}" if args.html else "")))
    return EXIT_OK


def cmd_config(args: argparse.Namespace) -> int:
    if args.action == "schema":
        from drdrill.config.schema import drills_json_schema

        schema = drills_json_schema()
        _emit(args, schema, lambda: print(json.dumps(schema, indent=2)))
        return EXIT_OK
    from drdrill.airflow.connections import connection_exists
    from drdrill.config import check_connections, load_config

    config = load_config(args.file)
    problems = [broken.error() for broken in config.broken] + check_connections(config, connection_exists)
    payload = {"file": str(config.path), "targets": [t.name for t in config.targets],
               "broken_targets": [broken.name for broken in config.broken],
               "problems": [str(problem) for problem in problems]}
    _emit(args, payload, lambda: print(f"{config.path}: {len(config.targets)} target(s) "
                                       f"({', '.join(payload['targets'])}); " +
                                       ("all connections exist." if not problems else "\n" + "\n".join(payload["problems"]))))
    return EXIT_OK if not problems else EXIT_ERROR


def cmd_dags(args: argparse.Namespace) -> int:
    from drdrill.dags.install import install_dag_file
    from drdrill.locations import CONFIG_ENV_VAR, default_config_path

    installed = {**install_dag_file(args.dir), "config": str(default_config_path())}
    _emit(args, installed, lambda: print(
        f"{installed['action']}: {installed['file']}. Airflow loads drdrill's DAGs from it for the targets in "
        f"{installed['config']} (set {CONFIG_ENV_VAR} in the environment of every Airflow component to change it)."))
    return EXIT_OK


def cmd_evidence(args: argparse.Namespace) -> int:
    from drdrill.airflow.connections import object_store
    from drdrill.config import load_config
    from drdrill.history import list_drills
    from drdrill.storage.evidence import verify_evidence

    config = load_config()
    records = [record for record in list_drills(config.settings.history_url, args.target, args.drill, limit=100,
                                                run_id=args.run_id) if record.details.get("evidence_key")]
    checked = []
    for record in records:
        check = verify_evidence(object_store(config.target(record.target).storage), record.details)
        checked.append({"run_id": record.run_id, "target": record.target, "drill": record.drill,
                        "evidence_key": record.details["evidence_key"], "found": check.found,
                        "intact": check.found and not check.tampered, "tampered": check.tampered})

    def human() -> None:
        if not checked:
            print(f"No evidence bundle recorded for run {args.run_id} (see 'drdrill history').")
        for item in checked:
            state = ("intact: every hash matches" if item["intact"] else "NOT FOUND in S3" if not item["found"]
                     else f"TAMPERED: {', '.join(item['tampered'])} no longer "
                          f"{'matches its hash' if len(item['tampered']) == 1 else 'match their hashes'}")
            print(f"{item['drill']} drill of {item['target']}, run {item['run_id']}: {state}  ({item['evidence_key']})")

    _emit(args, {"run_id": args.run_id, "bundles": checked}, human)
    if any(item["found"] and not item["intact"] for item in checked):
        return EXIT_DRILL_RED
    return EXIT_OK if checked and all(item["found"] for item in checked) else EXIT_ERROR


def _fetch_backup(args: argparse.Namespace, target: str, store: ObjectStore, layout: TargetLayout,
                  signing_key: SigningKey | None) -> int:
    """``backups fetch``: every object of a backup streamed into ``--to``, checked against the sealed manifest and
    decrypted on the way (the restore drill's own fetch), then the manifest beside them; nothing kept on a mismatch."""
    from drdrill.storage.verify import verify_backup

    directory: Path = args.to
    if directory.exists() and any(directory.iterdir()):
        raise DrdrillError(f"{directory} is not empty.", "Fetch into a new or empty directory, so nothing already in "
                           "it is taken for part of the backup.")
    directory.mkdir(parents=True, exist_ok=True)
    manifest, findings = verify_backup(store, layout, args.backup_id, copy_to=directory, signing_key=signing_key)
    names = [entry.name for entry in manifest.all_objects()] if manifest else []
    if findings:
        for name in names:
            (directory / name).unlink(missing_ok=True)
    else:
        (directory / "manifest.json").write_bytes(store.get_bytes(layout.manifest_key(args.backup_id)) or b"")
    payload = {"target": target, "backup_id": args.backup_id, "fetched": not findings, "directory": str(directory),
               "objects": names if not findings else [], "findings": [finding.to_dict() for finding in findings]}

    def human() -> None:
        if findings:
            print("\n".join(finding.sentence() for finding in findings) + f"\nNothing was kept in {directory}.")
        else:
            print(f"fetched {len(names)} object(s) and manifest.json into {directory}: each matches the manifest's "
                  "size and sha256 (client-side encrypted ones decrypted on the way)")

    _emit(args, payload, human)
    return EXIT_OK if not findings else EXIT_DRILL_RED


def cmd_decrypt(args: argparse.Namespace) -> int:
    """Standard input, encrypted by drdrill with the target's client-side key, decrypted to standard output."""
    from drdrill.airflow.connections import client_key
    from drdrill.config import load_config
    from drdrill.storage.client_encryption import decrypt_stream

    target = load_config().target(args.target)
    key = client_key(target.storage)
    if key is None:
        raise DrdrillError(f"targets[{target.name}].storage.encryption.client_side_conn_id is null: the target has no "
                           "client-side key to decrypt with.", "Set it to the connection holding the key the object "
                           "was encrypted with (its manifest or index entry names it).")
    source = sys.stdin.buffer
    out = RESULT_STREAM.buffer
    for chunk in decrypt_stream(iter(lambda: source.read(READ_CHUNK), b""), key, "standard input"):
        out.write(chunk)
    out.flush()
    return EXIT_OK


# -- wiring ---------------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="drdrill",
        description="Disaster-recovery drills for MySQL/MariaDB. The same drills run as Airflow DAGs "
                    "(dr_<drill>__<target>); this command runs them by hand, manages the local sandbox, "
                    "and shows backups and drill history. Targets come from include/drills.yaml "
                    "(or $DRDRILL_CONFIG). Exit codes: 0 ok/passed, 1 drill red, 2 error.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--json", action="store_true", help="machine-readable output")
        return sub

    sandbox = add("sandbox", "Local sandbox: MariaDB primary + GTID replica, S3 (moto), Slack sink, heartbeat writer.")
    sandbox.add_argument("action", choices=["up", "down", "status"], help="up: start (idempotent); down: stop all; status: what runs where")
    sandbox.add_argument("--rows", type=int, default=300_000, help="sample rows to load on first start (default 300000)")
    sandbox.add_argument("--size", help="instead of --rows: approximate data size, e.g. 1GB")
    sandbox.add_argument("--buffer-pool", help="InnoDB buffer pool of the sandbox servers (default 64M, or 1G for "
                         "2M+ rows); applies when a server starts")
    sandbox.add_argument("--purge", action="store_true", help="with down: also delete all sandbox data")
    sandbox.add_argument("--no-airflow", action="store_true", help="with up: do not create Airflow connections")
    sandbox.add_argument("--tls", action="store_true", help="with up: TLS-only servers (require_secure_transport=ON) "
                         "with a CA the sandbox makes; connections get the ssl extra, replication uses TLS; stays on "
                         "until down --purge")
    sandbox.set_defaults(handler=cmd_sandbox)

    stack = add("stack", "Local Airflow Celery cluster drilling the sandbox: Postgres, Redis, API server, scheduler, "
                "DAG processor, triggerer, two Celery workers (DRDRILL_STACK_DIR, DRDRILL_STACK_PORT_BASE).")
    stack.add_argument("action", choices=["up", "down", "status"],
                       help="up: start (idempotent, waits for the API and both workers); down: stop all; status")
    stack.add_argument("--purge", action="store_true", help="with down: also delete the stack's data")
    stack.add_argument("--spread", action="store_true",
                       help="with up: each next task of a drill on the other worker (how the tests prove placement)")
    stack.set_defaults(handler=cmd_stack)

    backup = add("backup", "Run the backup drill for a target now, outside Airflow (same steps, same record).")
    backup.add_argument("target")
    backup.add_argument("--engine", choices=[*engine_names(), *ENGINE_ALIASES], help="override the target's engine")
    backup.add_argument("--dry-run", action="store_true", help="preflight checks only")
    backup.add_argument("--deep-verify", action="store_true",
                        help="re-read and hash every byte of the new backup, whatever verify.deep_every says")
    backup.set_defaults(handler=cmd_backup)

    restore = add("restore", "Run the restore drill for a target now, outside Airflow: restore into a scratch server, "
                             "validate with Great Expectations, measure RTO and RPO.")
    restore.add_argument("target")
    add_flags(restore, RestoreOptions)
    restore.set_defaults(handler=cmd_restore)

    pitr = add("pitr", "Run the point-in-time-recovery drill now, outside Airflow: base backup + archived binlogs "
                       "replayed to a second, checked on both sides of it.")
    pitr.add_argument("target")
    add_flags(pitr, PitrOptions)
    pitr.set_defaults(handler=cmd_pitr)

    failover = add("failover", "Run the failover drill now, outside Airflow: break the primary (per failover_drill.fault), "
                               "promote the replica, redirect the source connection, measure RTO and lost writes, put the "
                               "topology back and check it. Same steps and record as dr_failover_drill__<target>; like the "
                               "other drills run by hand, it posts nothing to Slack.")
    failover.add_argument("target")
    failover.add_argument("--dry-run", action="store_true", help="preflight only: check and say what would be done; "
                          "touches nothing and records nothing")
    failover.add_argument("--yes-i-approve", action="store_true", help="needed on a target marked production: true "
                          "(without it the drill prints what it would do and stops)")
    failover.set_defaults(handler=cmd_failover)

    stream = add("stream", "Ship a target's binlogs to its archive continuously (sub-minute RPO), in the foreground "
                           "until Ctrl-C; a file is archived as soon as the server moves on to the next.")
    stream.add_argument("target")
    stream.add_argument("--spool-dir", type=Path, help="local spool (default: <work_dir>/binlog-stream/<target>)")
    stream.add_argument("--poll-interval", type=float, default=1.0, help="seconds between spool checks")
    stream.add_argument("--replica-server-id", type=int, help="server id of the replication connection "
                        "(default: stable per host and spool)")
    stream.set_defaults(handler=cmd_stream)

    backups = add("backups", "List a target's backups with their status (proven, valid, failed drill, quarantined, "
                             "incomplete, invalid, corrupt), or verify one against its manifest.")
    backups.add_argument("action", choices=["list", "verify", "fetch"])
    backups.add_argument("target")
    backups.add_argument("backup_id", nargs="?", help="with verify: the backup to check; with fetch: to fetch")
    backups.add_argument("--to", type=Path, help="with fetch: a new or empty directory to put every object of the "
                         "backup in, each checked against the manifest (size, sha256) and decrypted on the way, "
                         "with manifest.json beside them (for a restore by hand)")
    backups.add_argument("--deep", action="store_true", help="with verify: re-read and hash every byte (default: "
                         "S3's checksums, nothing downloaded; manifests without them are always re-read)")
    backups.set_defaults(handler=cmd_backups)

    decrypt = add("decrypt", "Decrypt an object drdrill encrypted with the target's client-side key "
                             "(storage.encryption.client_side_conn_id): standard input to standard output, e.g. "
                             "aws s3 cp s3://…/lost-transactions.binlog.sql.zst - | drdrill decrypt shop | zstd -dc. "
                             "Exit 2 at the first chunk that does not authenticate (what was printed before it is "
                             "unproven) or with a wrong key.")
    decrypt.add_argument("target")
    decrypt.set_defaults(handler=cmd_decrypt)

    scratch = add("scratch", "Scratch servers and work files of drill runs: list (kept ones with how to reach and "
                             "remove them, and what dead runs left), or rm one by id / every orphan.")
    scratch.add_argument("action", choices=["list", "rm"])
    scratch.add_argument("id", nargs="?", help="with rm: the scratch server's id (from list)")
    scratch.add_argument("--orphans", action="store_true", help="with rm: remove everything dead runs left")
    scratch.set_defaults(handler=cmd_scratch)

    history = add("history", "Drill runs recorded in the results database, newest first.")
    history.add_argument("--target")
    history.add_argument("--drill", choices=drill_names())
    history.add_argument("--limit", type=int, default=30)
    history.set_defaults(handler=cmd_history)

    rpo = add("rpo", "The predicted RPO over time: binlog archive lag and newest backup age (from dr_rpo_monitor).")
    rpo.add_argument("--target")
    rpo.add_argument("--limit", type=int, default=30)
    rpo.set_defaults(handler=cmd_rpo)

    summary = add("summary", "Per target: newest valid backup and the latest verdict of each drill, for a DBA.")
    summary.add_argument("target", nargs="?", help="one target (default: all)")
    summary.set_defaults(handler=cmd_summary)

    evidence = add("evidence", "verify: re-read a drill run's evidence bundle from S3 and re-check every hash "
                               "(exit 0 intact, 1 tampered, naming the part, 2 not found).")
    evidence.add_argument("action", choices=["verify"])
    evidence.add_argument("run_id", help="the drill run's id (from 'drdrill history --json')")
    evidence.add_argument("--target", help="when runs of several targets share the id")
    evidence.add_argument("--drill", choices=drill_names(), help="when drills of several kinds share the id")
    evidence.set_defaults(handler=cmd_evidence)

    report = add("report", "The DR report of the days before now (what dr_report stores and posts): per target pass "
                           "rate, RTO/RPO p50/p95 against objectives, breaches, stale backups, archive lag, findings, "
                           "MTTR; --json: all of it.")
    add_flags(report, ReportOptions)
    report.add_argument("--html", type=Path, help="also write the self-contained HTML page to this file")
    report.set_defaults(handler=cmd_report)

    config = add("config", "check: validate the drills YAML and check that every connection it names exists; "
                           "schema: print its JSON Schema (for editors with a YAML language server).")
    config.add_argument("action", choices=["check", "schema"])
    config.add_argument("--file", help="another YAML file than the default")
    config.set_defaults(handler=cmd_config)

    dags = add("dags", "install: write the one DAG file that serves every drdrill DAG (for the targets in the drills "
                       "YAML) into an Airflow DAGs folder; safe to repeat, never overwrites a file drdrill did not write.")
    dags.add_argument("action", choices=["install"])
    dags.add_argument("dir", type=Path, help="Airflow's DAGs folder (airflow config get-value core dags_folder)")
    dags.set_defaults(handler=cmd_dags)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``drdrill`` command."""
    from drdrill.airflow.environment import apply_default_airflow_env

    args = build_parser().parse_args(argv)
    if args.command == "backups" and args.action in ("verify", "fetch") and not args.backup_id:
        print(f"error: 'backups {args.action}' needs a backup id (see 'drdrill backups list TARGET')", file=sys.stderr)
        return EXIT_ERROR
    if args.command == "backups" and args.action == "fetch" and args.to is None:
        print("error: 'backups fetch' needs --to DIR: a new or empty directory to fetch the backup into", file=sys.stderr)
        return EXIT_ERROR
    global RESULT_STREAM
    # `drdrill ... | head` ends quietly, like other Unix tools; the caller's handler is back when main returns (a
    # process that calls main, like the tests, would otherwise die of the next write to a closed pipe)
    previous_sigpipe = signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    apply_default_airflow_env()
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    # Library and Airflow logging go to stderr; only the result goes to stdout (so --json stays parseable).
    RESULT_STREAM, sys.stdout = sys.stdout, sys.stderr
    show_on_terminal(quiet=bool(getattr(args, "json", False)))  # the long steps' progress as a bar on a terminal
    try:
        return int(args.handler(args))
    except DrdrillError as exc:
        if args.json:
            print(json.dumps({"error": exc.problem, "fix": exc.fix}), file=RESULT_STREAM)
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        sys.stdout = RESULT_STREAM
        signal.signal(signal.SIGPIPE, previous_sigpipe)


if __name__ == "__main__":
    sys.exit(main())
