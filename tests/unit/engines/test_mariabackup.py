"""``drdrill.engines.mariabackup``: the backup command, its log's position, and where it can restore."""

from __future__ import annotations

from pathlib import Path

import pytest

from drdrill.engines.base import RestoreJob
from drdrill.engines.mariabackup import POSITION, MariaBackupEngine
from drdrill.engines.restore import RestoreFailed
from tests.unit.engines.test_base import job


@pytest.mark.unit
def test_the_option_file_comes_first_and_no_password_reaches_argv(tmp_path: Path) -> None:
    argv = MariaBackupEngine().argv(job(tmp_path), "/run/opts.cnf")
    assert argv[:2] == ["mariadb-backup", "--defaults-extra-file=/run/opts.cnf"]
    assert "--stream=xbstream" in argv and "--backup" in argv
    assert not any("s3cret" in part for part in argv)


@pytest.mark.unit
def test_the_log_gives_position_and_gtid() -> None:
    line = "[00] MySQL binlog position: filename 'mysql-bin.000009', position '812', GTID of the last change '0-1-55'"
    found = POSITION.search(line)
    assert found and (found["file"], found["position"], found["gtid"]) == ("mysql-bin.000009", "812", "0-1-55")


@pytest.mark.unit
def test_a_physical_backup_needs_a_scratch_server_the_drill_created(tmp_path: Path) -> None:
    scratch_connection = RestoreJob(data=tmp_path / "backup.xbstream.zst", endpoint=job(tmp_path).source,
                                    scratch=None, work_dir=tmp_path)
    with pytest.raises(RestoreFailed) as failed:
        MariaBackupEngine().restore(scratch_connection)
    assert failed.value.code == "RESTORE_ERROR"
    assert "restore_drill.scratch_conn_id to null" in (failed.value.fix or "")
