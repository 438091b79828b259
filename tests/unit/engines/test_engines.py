"""``drdrill.engines``: the one registry of backup engines that config, CLI and DAG choices come from."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from drdrill import engines
from drdrill.endpoints import MySQLEndpoint
from drdrill.engines.accounts import ACCOUNTS_OBJECT, ACCOUNTS_ROLE
from drdrill.engines.base import BackupEngine
from drdrill.engines.restore import RestoreFailed
from drdrill.servers.accounts import ACCOUNTS_CREATED, SCRIPT_TRAILER
from drdrill.storage.manifest import ObjectEntry
from tests.helpers.manifests import sample_manifest


@pytest.mark.unit
def test_every_registered_engine_backs_up_and_restores() -> None:
    for engine_class in engines.REGISTERED:
        assert issubclass(engine_class, BackupEngine)
        engine = engine_class()  # abstract methods left unimplemented would raise TypeError here
        assert engine.name and engine.data_object and engine.tools


@pytest.mark.unit
def test_names_and_aliases_are_unique_and_resolve() -> None:
    names = engines.engine_names()
    assert names == ("mariadb-dump", "mydumper", "mariabackup")
    everything = [*names, *engines.ALIASES]
    assert len(everything) == len(set(everything))
    assert engines.canonical_engine_name("mysqldump") == "mariadb-dump"
    assert engines.canonical_engine_name("mariadb-backup") == "mariabackup"
    assert engines.canonical_engine_name("mariabackup") == "mariabackup"
    assert engines.canonical_engine_name("xtrabackup") is None
    assert "'mysqldump' for mariadb-dump" in engines.describe_aliases()


@pytest.mark.unit
def test_get_engine_names_the_choices_for_an_unknown_engine() -> None:
    assert engines.get_engine("mysqldump").name == "mariadb-dump"
    with pytest.raises(ValueError, match="unknown backup engine 'pg_dump'; choose one of: mariadb-dump, mydumper"):
        engines.get_engine("pg_dump")


@pytest.mark.unit
def test_a_manifest_of_an_unknown_engine_is_a_restore_error(tmp_path: Path) -> None:
    manifest = sample_manifest(engine="pg_dump")
    endpoint = MySQLEndpoint(host="127.0.0.1", port=1, user="restore", password="never-used")
    with pytest.raises(RestoreFailed) as failed:
        engines.restore_backup(manifest, tmp_path, endpoint, None, tmp_path, parallel=1)
    assert failed.value.code == "RESTORE_ERROR" and "Unknown engine 'pg_dump'" in failed.value.problem


def _record_restore(monkeypatch: pytest.MonkeyPatch, steps: list[str]) -> None:
    monkeypatch.setattr(engines, "restore_accounts",
                        lambda archive, endpoint, log, part: steps.append(f"{part.log_name} {part.trailer}") or {"seconds": 1})
    for engine in engines.REGISTERED:
        monkeypatch.setattr(engine, "restore", lambda self, job: steps.append("data") or {"seconds": 1})


@pytest.mark.unit
@pytest.mark.parametrize(("engine", "expected"), [
    ("mariadb-dump", ["accounts.log " + ACCOUNTS_CREATED, "data", "object-grants.log " + SCRIPT_TRAILER]),
    ("mydumper", ["accounts.log " + ACCOUNTS_CREATED, "data", "object-grants.log " + SCRIPT_TRAILER]),
    ("mariabackup", ["data", "accounts.log " + SCRIPT_TRAILER]),  # its copy holds the grant tables
])
def test_logical_restores_create_the_accounts_before_the_data_and_grant_on_objects_after_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: str, expected: list[str]) -> None:
    steps: list[str] = []
    _record_restore(monkeypatch, steps)
    manifest = sample_manifest(engine=engine)
    entry = ObjectEntry(name=ACCOUNTS_OBJECT, role=ACCOUNTS_ROLE, size=10, sha256="0" * 64)
    with_accounts = dataclasses.replace(manifest, objects=(*manifest.objects, entry), catchup=None)
    endpoint = MySQLEndpoint(host="127.0.0.1", port=1, user="restore", password="never-used")
    stats = engines.restore_backup(with_accounts, tmp_path, endpoint, None, tmp_path, parallel=1)
    assert steps == expected and stats["accounts_seconds"] == len(expected) - 1


@pytest.mark.unit
def test_a_backup_without_accounts_restores_its_data_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    steps: list[str] = []
    _record_restore(monkeypatch, steps)
    manifest = dataclasses.replace(sample_manifest(engine="mariadb-dump"), catchup=None)
    endpoint = MySQLEndpoint(host="127.0.0.1", port=1, user="restore", password="never-used")
    assert "accounts_seconds" not in engines.restore_backup(manifest, tmp_path, endpoint, None, tmp_path, parallel=1)
    assert steps == ["data"]
