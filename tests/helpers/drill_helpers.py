"""Shared set-up for backup integration tests: the test target, its store, and steps run one by one."""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from typing import Any

from drdrill.config import Target, load_config
from drdrill.drills.backup import steps as backup
from drdrill.drills.layouts import layout_for
from drdrill.storage.manifest import Manifest
from drdrill.storage.objectstore import ObjectStore
from drdrill.storage.s3 import S3ObjectStore
from drdrill.storage.seal import SigningKey


def shop_target(**changes: Any) -> Target:
    """The test config's shop target, with fields replaced."""
    return dataclasses.replace(load_config().target("shop"), **changes)


def store_for(handle: Any, target: Target) -> ObjectStore:
    """An ObjectStore on the sandbox S3 for the target's bucket."""
    return S3ObjectStore(handle.sandbox.s3_client(), target.storage.bucket)


def write_on_source(handle: Any, rows: int = 3) -> None:
    """Application writes on the primary (new customers), as a busy source would take."""
    endpoint = handle.sandbox.app_endpoint()
    with contextlib.closing(endpoint.connect()) as connection, connection.cursor() as cursor:
        for _ in range(rows):
            cursor.execute(
                "INSERT INTO shop.customers (email, full_name, country, marketing_opt_in, created_at, updated_at) "
                "VALUES (CONCAT('late-', UUID(), '@example.test'), 'Late Writer', 'NL', 0, UTC_TIMESTAMP(), UTC_TIMESTAMP())"
            )


def run_steps(handle: Any, target: Target, work_dir: Path, engine: str | None = None,
              write_between: int = 0, signing_key: SigningKey | None = None,
              store: ObjectStore | None = None) -> tuple[dict[str, Any], Manifest]:
    """preflight → dump_and_upload → (writes) → write_manifest → verify; returns the plan and the manifest.

    ``signing_key``: sign the manifest with it, as a target with ``storage.manifest_signing_conn_id`` does;
    ``store``: another store than the sandbox's S3.
    """
    from datetime import datetime, timezone

    source = handle.sandbox.backup_endpoint()
    store = store or store_for(handle, target)
    plan = backup.preflight(target, source, store, work_dir=work_dir, started_at=datetime.now(timezone.utc),
                            engine_override=engine)
    dumped = backup.dump_and_upload(plan, target, source, store, work_dir=work_dir)
    if write_between:
        write_on_source(handle, write_between)
    backup.write_manifest(plan, dumped, target, source, store, work_dir=work_dir, signing_key=signing_key)
    backup.verify(plan, target, store, signing_key=signing_key)
    raw = store.get_bytes(layout_for(target).manifest_key(plan["backup_id"]))
    assert raw is not None
    return plan, Manifest.from_json(raw, signing_key=signing_key)


def rewrite_object(handle: Any, target: Target, backup_id: str, name: str, body: bytes) -> None:
    """Replace a backup object and update its manifest entry (size and sha256), as a faulty backup tool would."""
    import dataclasses as dc
    import hashlib

    store = store_for(handle, target)
    layout = layout_for(target)
    manifest = Manifest.from_json(store.get_bytes(layout.manifest_key(backup_id)) or b"")
    store.put_bytes(layout.object_key(backup_id, name), body)
    objects = tuple(dc.replace(o, size=len(body), sha256=hashlib.sha256(body).hexdigest()) if o.name == name else o
                    for o in manifest.objects)
    store.put_bytes(layout.manifest_key(backup_id), dc.replace(manifest, objects=objects).to_json().encode())


def rewrite_manifest(handle: Any, target: Target, backup_id: str, **changes: Any) -> Manifest:
    """Replace fields of a stored manifest (facts a broken backup would disagree with)."""
    import dataclasses as dc

    store = store_for(handle, target)
    key = layout_for(target).manifest_key(backup_id)
    changed = dc.replace(Manifest.from_json(store.get_bytes(key) or b""), **changes)
    store.put_bytes(key, changed.to_json().encode())
    return changed


def execute(server: Any, *statements: str) -> None:
    """Run statements as root on a LocalMariaDB, each in its own autocommit transaction."""
    with contextlib.closing(server.root_connect()) as connection, connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def query(server: Any, sql: str) -> list[tuple[Any, ...]]:
    """Rows of one query, as root on a LocalMariaDB."""
    with contextlib.closing(server.root_connect()) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        return list(cursor.fetchall())
