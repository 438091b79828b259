"""Restore a backup by hand, with the tools' own commands, the way a DBA would without drdrill."""

from __future__ import annotations

from collections.abc import Sequence

import contextlib
import subprocess
from pathlib import Path
from typing import Any

from drdrill.checks.definition_checks import short_diff
from drdrill.checks.schema_fingerprint import read_fingerprints
from drdrill.checks.source_facts import checksum_tables, read_inventory
from drdrill.endpoints import SESSION_INIT
from drdrill.servers.mariadb import LocalMariaDB
from drdrill.engines.mydumper import CODE_FILE
from drdrill.storage.layout import TargetLayout
from drdrill.storage.manifest import SchemaObject, Inventory, Manifest, TableFacts


def download(client: Any, bucket: str, layout: TargetLayout, backup_id: str, name: str, into: Path) -> Path:
    """Fetch one object of a backup to a local file."""
    path = into / name
    client.download_file(bucket, layout.object_key(backup_id, name), str(path))
    return path


def shell(command: str) -> None:
    """Run a shell pipeline; fail with its stderr."""
    done = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True)
    assert done.returncode == 0, f"{command}\n{done.stderr[-3000:]}"


def restore_data(engine: str, archive: Path, server: LocalMariaDB, work: Path) -> None:
    """Load the data object into ``server`` (mariabackup: into its not-yet-started datadir)."""
    if engine == "mariadb-dump":
        shell(f"zstd -dc {archive} | mariadb -S {server.socket} -u root")
    elif engine == "mydumper":
        files = work / "mydumper"
        files.mkdir()
        shell(f"zstd -dc {archive} | tar -x -C {files}")
        shell(f"myloader -d {files} -S {server.socket} -u root -t 2")
        shell(f"mariadb -S {server.socket} -u root < {files / CODE_FILE}")  # routines, triggers, events
    elif engine == "mariabackup":
        files = work / "xb"
        files.mkdir()
        shell(f"zstd -dc {archive} | mbstream -x -C {files}")
        shell(f"mariadb-backup --prepare --target-dir={files}")
        server.datadir.mkdir(parents=True, exist_ok=True)
        shell(f"mariadb-backup --copy-back --target-dir={files} --datadir={server.datadir}")
    else:
        raise AssertionError(engine)


def apply_catchup(archive: Path, server: LocalMariaDB) -> None:
    """Replay the captured binlog segment (SQL) into the restored server."""
    shell(f"zstd -dc {archive} | mariadb -S {server.socket} -u root")


def restored_facts(server: LocalMariaDB, manifest: Manifest) -> tuple[tuple[TableFacts, ...], Inventory]:
    """Counts, checksums and inventory of the restored server, computed exactly as on the source."""
    with contextlib.closing(server.root_connect()) as connection, connection.cursor() as cursor:
        cursor.execute(SESSION_INIT)
        inventory = read_inventory(cursor, manifest.databases)
        return checksum_tables(cursor, manifest.inventory), inventory


def restored_schema(server: LocalMariaDB, manifest: Manifest) -> tuple[SchemaObject, ...]:
    """The restored server's schema fingerprints, read exactly as on the source."""
    with contextlib.closing(server.root_connect()) as connection, connection.cursor() as cursor:
        cursor.execute(SESSION_INIT)
        return read_fingerprints(cursor, manifest.databases)


def schema_differences(restored: Sequence[SchemaObject], expected: Sequence[SchemaObject]) -> dict[str, list[str]]:
    """``kind name`` -> the changed lines, for every object whose restored fingerprint is not the expected one."""
    found = {(obj.kind, obj.name): obj for obj in restored}
    differences = {}
    for obj in expected:
        again = found.pop((obj.kind, obj.name), None)
        if again != obj:
            differences[f"{obj.kind} {obj.name}"] = short_diff(obj.definition or "", again.definition if again else None)
    differences.update({f"{kind} {name} (extra)": [] for kind, name in found})
    return differences
