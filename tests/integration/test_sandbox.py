"""The sandbox as a user gets it: replication running, users on both servers, and no password in any binlog."""

from __future__ import annotations

import contextlib
import subprocess

import pytest

from drdrill.servers.replication import replication_status
from tests.helpers.drill_helpers import write_on_source

pytestmark = pytest.mark.integration


def test_sandbox_user_statements_never_reach_the_binlog(sandbox) -> None:
    """`sandbox up` re-runs every CREATE/ALTER USER; none of them (nor their passwords) may be binlogged."""
    box = sandbox.sandbox
    start_file, start_position = box.primary.root_endpoint().fetch_all("SHOW MASTER STATUS")[0][:2]
    again = box.up(rows=100, airflow=False)  # idempotent: servers running, data seeded; users are ensured again
    assert again["s3_store"]["state"] == "kept", again["s3_store"]  # no false "came back empty" on a running S3
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


def _roles(box) -> tuple[int, int, int | None]:
    """(primary read_only, replica read_only, the port the replica replicates from)."""
    with contextlib.closing(box.replica.root_connect()) as connection:
        status = replication_status(connection)
    read_only = [box.backup_endpoint(server).fetch_all("SELECT @@read_only")[0][0]
                 for server in (box.primary, box.replica)]
    return read_only[0], read_only[1], int(status["Master_Port"]) if status else None


def test_sandbox_up_puts_back_roles_a_failover_drill_left_swapped(sandbox) -> None:
    from drdrill.servers.topology import switchover

    box = sandbox.sandbox
    repl = box.primary.endpoint("drdrill_repl", box.secrets()["replication"])
    switchover(box.backup_endpoint(box.primary), box.backup_endpoint(box.replica), repl, 60)  # as a drill left it
    assert _roles(box) == (1, 0, None)

    box.up(rows=1000, airflow=False)  # seeded already: the row count is not used

    assert _roles(box) == (0, 1, box.ports.primary)
    write_on_source(sandbox, rows=1)  # the primary takes writes again


def test_sandbox_up_refuses_a_replica_that_took_writes_of_its_own(sandbox) -> None:
    from drdrill.errors import DrdrillError
    from drdrill.servers.topology import rejoin_as_replica, set_read_only, switchover
    from drdrill.servers.replication import wait_replica_caught_up

    box = sandbox.sandbox
    primary, replica = box.backup_endpoint(box.primary), box.backup_endpoint(box.replica)
    repl = box.primary.endpoint("drdrill_repl", box.secrets()["replication"])
    # The primary stops taking writes first and the replica catches up: otherwise a heartbeat still in flight
    # is a write the replica never got, and putting the roles back afterwards fails with error 1236.
    set_read_only(primary, True)
    with contextlib.closing(box.replica.root_connect()) as replica_conn, \
            contextlib.closing(box.primary.root_connect()) as primary_conn:
        wait_replica_caught_up(replica_conn, primary_conn, 60)
    with contextlib.closing(box.replica.root_connect()) as connection, connection.cursor() as cursor:
        for statement in ("STOP SLAVE", "RESET SLAVE ALL", "SET GLOBAL read_only = OFF",
                          "CREATE DATABASE sandbox_probe", "DROP DATABASE sandbox_probe"):
            cursor.execute(statement)  # promoted by hand, then a write the primary never gets
    try:
        with pytest.raises(DrdrillError) as refused:
            box.up(rows=1000, airflow=False)  # seeded already: the row count is not used
        assert "never received" in str(refused.value) and "down --purge" in str(refused.value)
    finally:  # the old primary has nothing of its own: it follows the replica, then the roles are swapped back
        rejoin_as_replica(primary, replica, repl,
                          primary.fetch_all("SELECT @@gtid_binlog_pos")[0][0], 60)
        switchover(replica, primary, repl, 60)
    assert _roles(box) == (0, 1, box.ports.primary)
