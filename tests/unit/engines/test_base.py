"""``drdrill.engines.base``: what every engine shares (argv safety, positions, per-run directories)."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from drdrill.endpoints import MySQLEndpoint
from drdrill.engines.base import BackupJob, database_list, search_position, stderr_file
from drdrill.errors import ToolError
from drdrill.storage.layout import TargetLayout

POSITION = re.compile(r"file=(?P<file>\S+) pos=(?P<position>\d+)(?: gtid=(?P<gtid>\S+))?")


def job(tmp_path: Path) -> BackupJob:
    endpoint = MySQLEndpoint(host="127.0.0.1", port=3306, user="backup", password="s3cret")
    return BackupJob(source=endpoint, databases=("shop",), store=None, layout=TargetLayout("tests", "shop"),  # type: ignore[arg-type]
                     backup_id="20261206T101010Z-abcdef", work_dir=tmp_path)


@pytest.mark.unit
def test_database_names_that_could_break_argv_are_refused() -> None:
    assert database_list(["shop", "billing_2", "a$b"]) == ["shop", "billing_2", "a$b"]
    for bad in ("shop; rm -rf /", "--all-databases", "shop db", ""):
        with pytest.raises(ValueError, match="unsupported database name"):
            database_list([bad])


@pytest.mark.unit
def test_search_position_reads_file_position_and_gtid() -> None:
    point = search_position(POSITION, "header\nfile=mysql-bin.000003 pos=1234 gtid=0-1-99\n", "the test header")
    assert (point.file, point.position, point.gtid) == ("mysql-bin.000003", 1234, "0-1-99")
    assert search_position(POSITION, "file=mysql-bin.000003 pos=4", "x").gtid == ""


@pytest.mark.unit
def test_a_missing_position_says_how_to_fix_it() -> None:
    with pytest.raises(ToolError) as missing:
        search_position(POSITION, "no coordinates here", "the test header")
    assert "Could not find the binlog position in the test header" in str(missing.value)
    assert "log_bin" in (missing.value.fix or "")


@pytest.mark.unit
def test_each_run_has_a_private_directory(tmp_path: Path) -> None:
    run = job(tmp_path)
    private = run.private_dir()
    assert private == tmp_path / run.backup_id
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    assert stderr_file(run, "mariadb-dump") == private / "mariadb-dump.stderr.log"
