"""The failover drill's canary table survives a replay filtered by database, the PITR drill's: its DDL is run from a
session in its schema, so a PITR after a failover drill replays the canary's rows into a table it created."""

from __future__ import annotations

import subprocess

import pytest

from drdrill.drills.failover import canary
from drdrill.engines.binlog_sql import binlog_sql_command
from tests.helpers.drill_helpers import execute, query

pytestmark = pytest.mark.integration
TABLE = canary.canary_table("shop")


def _filtered_replay(source, replay) -> subprocess.CompletedProcess[str]:
    """The source's binlog, as the PITR drill reads it (``mariadb-binlog --database=shop``), applied to ``replay``."""
    files = sorted(str(path) for path in source.datadir.glob("mysql-bin.[0-9]*"))
    decoded = subprocess.run(binlog_sql_command(["mariadb-binlog"], ["shop"], files), capture_output=True, check=True)
    return subprocess.run(["mariadb", "-S", str(replay.socket), "-u", "root"], input=decoded.stdout.decode(),
                          capture_output=True, text=True)


@pytest.mark.parametrize("in_schema", [True, False])
def test_the_canary_rows_replay_only_when_the_table_was_created_in_its_schema(mariadb_factory, in_schema: bool) -> None:
    source, replay = mariadb_factory("source"), mariadb_factory("replay", log_bin=False)
    for server in (source, replay):
        execute(server, "SET SESSION sql_log_bin = 0", "CREATE DATABASE shop")  # as the restored backup has it
    admin = source.root_endpoint()
    if in_schema:
        canary.create_table(admin, TABLE)
    else:  # the way the drill did it before: the session's database is none, so the filter drops the DDL
        admin.fetch_all(canary.create_table_sql(TABLE))
    admin.fetch_all(canary.promotion_write_sql(TABLE))  # a row event: kept by the table's database either way

    replayed = _filtered_replay(source, replay)
    if in_schema:
        assert replayed.returncode == 0, replayed.stderr
        assert query(replay, f"SELECT run_id, seq FROM {canary.quoted(TABLE)}") == [("promotion", 0)]
    else:
        assert replayed.returncode != 0 and "drdrill_canary' doesn't exist" in replayed.stderr, replayed.stderr
