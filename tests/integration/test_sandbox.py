"""The sandbox as a user gets it: replication running, users on both servers, and no password in any binlog."""

from __future__ import annotations

import contextlib
import subprocess

import pytest

from drdrill.servers.replication import replication_status

pytestmark = pytest.mark.integration


def test_no_sandbox_password_is_written_to_any_binlog(sandbox) -> None:
    box = sandbox.sandbox
    with contextlib.closing(box.primary.root_connect()) as connection, connection.cursor() as cursor:
        cursor.execute("SHOW BINARY LOGS")
        files = [row[0] for row in cursor.fetchall()]
    decoded = b"".join(subprocess.run(["mariadb-binlog", "--no-defaults", str(box.primary.datadir / name)],
                                      capture_output=True, check=True).stdout for name in files)
    assert b"CREATE TABLE" in decoded  # the decoding saw real events, so the check means something
    for name, password in box.secrets().items():
        assert password.encode() not in decoded, f"the {name} password is in the primary's binlog"


def test_replica_follows_the_primary_and_has_the_drill_users(sandbox) -> None:
    box = sandbox.sandbox
    with contextlib.closing(box.replica.root_connect()) as connection:
        status = replication_status(connection)
    assert status["Slave_IO_Running"] == "Yes" and status["Slave_SQL_Running"] == "Yes"
    assert int(status["Master_Port"]) == box.ports.primary
    assert box.backup_endpoint(box.replica).fetch_all("SELECT COUNT(*) FROM shop.customers")[0][0] > 0
