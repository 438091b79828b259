"""The sandbox as a user gets it: replication running, users on both servers, and no password in any binlog."""

from __future__ import annotations

import contextlib
import subprocess

import pytest
from drill_helpers import write_on_source

from drdrill.servers.replication import replication_status

pytestmark = pytest.mark.integration


def test_sandbox_user_statements_never_reach_the_binlog(sandbox) -> None:
    """`sandbox up` re-runs every CREATE/ALTER USER; none of them (nor their passwords) may be binlogged."""
    box = sandbox.sandbox
    start_file, start_position = box.primary.root_endpoint().fetch_all("SHOW MASTER STATUS")[0][:2]
    box.up(rows=100, airflow=False)  # idempotent: servers running, data seeded; users are ensured again
    write_on_source(sandbox, 1)  # one application write after the user statements, so there is something to decode
    with contextlib.closing(box.primary.root_connect()) as connection, connection.cursor() as cursor:
        cursor.execute("SHOW BINARY LOGS")
        files = [row[0] for row in cursor.fetchall() if row[0] >= start_file]
    decoded = subprocess.run(["mariadb-binlog", "--no-defaults", f"--start-position={start_position}",
                              *(str(box.primary.datadir / name) for name in files)],
                             capture_output=True, check=True).stdout
    assert b"BINLOG '" in decoded  # the application's row event was decoded, so the check sees the window
    assert b"CREATE USER" not in decoded and b"ALTER USER" not in decoded
    for name, password in box.secrets().items():
        assert password.encode() not in decoded, f"the {name} password is in the primary's binlog"


def test_replica_follows_the_primary_and_has_the_drill_users(sandbox) -> None:
    box = sandbox.sandbox
    with contextlib.closing(box.replica.root_connect()) as connection:
        status = replication_status(connection)
    assert status["Slave_IO_Running"] == "Yes" and status["Slave_SQL_Running"] == "Yes"
    assert int(status["Master_Port"]) == box.ports.primary
    assert box.backup_endpoint(box.replica).fetch_all("SELECT COUNT(*) FROM shop.customers")[0][0] > 0
