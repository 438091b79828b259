"""``drdrill.engines``: the one registry of backup engines that config, CLI and DAG choices come from."""

from __future__ import annotations

from pathlib import Path

import pytest

from drdrill import engines
from drdrill.endpoints import MySQLEndpoint
from drdrill.engines.base import BackupEngine
from drdrill.engines.restore import RestoreFailed
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
