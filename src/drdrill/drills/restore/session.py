"""One scratch session of a restore or PITR drill: fetch, provision a scratch server, recover into it and
validate, then the teardown whatever happened.

These steps share the fetched files and the scratch server, which live on the machine that runs them, so they run
together: in one process for the CLI, in one task (on one worker, under a ``SpanRunner``) in a cluster. The restore
and PITR drills differ only in what they fetch and how they recover; ``on_scratch`` is the rest, written once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drdrill.config import Target
from drdrill.drill_record import StepRunner
from drdrill.drills.restore.steps import local_scratch, provision_scratch, read_manifest, teardown
from drdrill.endpoints import MySQLEndpoint
from drdrill.servers.scratch import run_key
from drdrill.servers.slots import SlotPolicy
from drdrill.storage.manifest import Manifest
from drdrill.storage.objectstore import ObjectStore
from drdrill.storage.seal import SigningKey


@dataclass(frozen=True)
class RestoreServers:
    """Where the drill reads from and restores into, and the key the target's manifests are signed with (if any)."""

    source: MySQLEndpoint
    replica: MySQLEndpoint | None
    store: ObjectStore
    scratch: MySQLEndpoint | None = None
    scratch_conn_id: str | None = None
    signing_key: SigningKey | None = None
    scratch_slots: SlotPolicy = SlotPolicy()  # settings.scratch_slots per worker, waited on for timeouts.lock_wait


@dataclass(frozen=True)
class Scratch:
    """What a session's recovery steps work with: the backup recovered (as its step result), the provisioned
    scratch server (its provision result and an endpoint to it), the backup's manifest and the run's key."""

    backup: dict[str, Any]
    info: dict[str, Any]
    manifest: Manifest
    endpoint: MySQLEndpoint
    key: str


def on_scratch(runner: StepRunner, target: Target, servers: RestoreServers, *, fetch: Callable[[str], dict[str, Any]],
               recover: Callable[[Scratch], object], work_dir: Path, run_id: str, keep_scratch: bool,
               backup: dict[str, Any] | None = None) -> dict[str, Any]:
    """Step fetch_and_verify (``fetch(key)``), then provision_scratch, then ``recover`` (the steps that load the data
    and validate it, each through ``runner``), then the teardown whatever happened; returns the teardown's details.

    ``backup``: the backup to recover (PITR's plan); None: the one fetch_and_verify fetched (the newest usable one
    when the chosen one was broken).
    """
    key = run_key(run_id)
    scratch_info: dict[str, Any] | None = None
    manifest: Manifest | None = None
    try:
        fetched = runner.attempt("fetch_and_verify", lambda: fetch(key))
        chosen = backup if backup is not None else fetched
        if fetched and chosen:
            manifest = read_manifest(servers.store, target, chosen["backup_id"], signing_key=servers.signing_key)
            scratch_info = runner.attempt("provision_scratch", lambda: provision_scratch(
                chosen, work_dir=work_dir, key=key, source=servers.source, replica=servers.replica,
                scratch_endpoint=servers.scratch, scratch_conn_id=servers.scratch_conn_id, run_id=run_id,
                scratch_slots=servers.scratch_slots))
        if chosen and scratch_info and manifest:
            local = local_scratch(scratch_info)
            endpoint = local.endpoint() if local else servers.scratch
            assert endpoint is not None
            recover(Scratch(backup=chosen, info=scratch_info, manifest=manifest, endpoint=endpoint, key=key))
    finally:
        torn = teardown(scratch_info, work_dir=work_dir, key=key, keep_scratch=keep_scratch,
                        endpoint=servers.scratch, databases=manifest.databases if manifest else ())
    return torn
