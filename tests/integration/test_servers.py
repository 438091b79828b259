"""Real ``mariadbd`` processes: lifecycle, port conflicts, start failures, users, GTID replication."""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import time
from pathlib import Path

import pymysql
import pytest

from drdrill.errors import DrdrillError, PortInUseError, ServerStartError
from drdrill.ports import find_free_port
from drdrill.servers.mariadb import InstanceSpec, LocalMariaDB
from drdrill.servers.replication import replication_status, start_gtid_replica, wait_replica_caught_up


def scalar(conn: pymysql.connections.Connection, sql: str) -> object:
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()[0]


@pytest.mark.integration
def test_lifecycle_is_idempotent_and_survives_a_crash(mariadb_factory) -> None:
    server = mariadb_factory("solo", start=False)
    server.initialize()
    ibdata = (server.datadir / "ibdata1").stat()
    server.initialize()
    assert (server.datadir / "ibdata1").stat().st_ino == ibdata.st_ino  # no second install
    assert not server.is_running()

    server.start()
    pid = server.pid()
    assert pid is not None
    server.start()
    assert server.pid() == pid
    with contextlib.closing(server.root_connect()) as conn:
        assert scalar(conn, "SELECT @@port") == server.spec.port
        assert scalar(conn, "SELECT @@server_id") == server.spec.server_id
        assert scalar(conn, "SELECT @@bind_address") == "127.0.0.1"
        assert scalar(conn, "SELECT @@log_bin") == 1
        assert scalar(conn, "SELECT @@binlog_format") == "ROW"
        assert scalar(conn, "SELECT @@gtid_strict_mode") == 1
        assert scalar(conn, "SELECT @@datadir").rstrip("/") == str(server.datadir)
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE drill")
            cur.execute("CREATE TABLE drill.t (id INT PRIMARY KEY) ENGINE=InnoDB")
            cur.execute("INSERT INTO drill.t VALUES (1)")

    server.stop()
    assert not server.is_running()
    assert server.pid() is None
    assert not Path(f"/proc/{pid}").exists()
    server.stop()

    server.start()
    server.kill()
    assert not server.is_running()
    server.kill()
    server.start()  # crash recovery
    with contextlib.closing(server.root_connect()) as conn:
        assert scalar(conn, "SELECT COUNT(*) FROM drill.t") == 1

    server.destroy()
    assert not server.spec.base_dir.exists()
    server.destroy()


@pytest.mark.integration
def test_start_refuses_a_port_held_by_another_socket(mariadb_factory) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        server = mariadb_factory("blocked", start=False, port=port)
        server.initialize()
        with pytest.raises(PortInUseError) as caught:
            server.start()
    message = str(caught.value)
    assert f"port {port}" in message.lower()
    assert "ss -ltnp" in message
    assert "choose another port" in message
    assert not server.is_running()


@pytest.mark.integration
def test_start_failure_raises_with_error_log_tail(mariadb_factory) -> None:
    good = mariadb_factory("broken", start=False)
    good.initialize()
    broken = LocalMariaDB(dataclasses.replace(good.spec, extra={"innodb_no_such_setting": "1"}))
    broken.initialize()  # rewrites the option file only: the datadir is already installed
    started = time.monotonic()
    with pytest.raises(ServerStartError) as caught:
        broken.start(timeout=30)
    assert time.monotonic() - started < 15  # the exit is noticed, not waited out
    assert "innodb_no_such_setting" in str(caught.value)
    assert str(broken.error_log) in str(caught.value)
    assert not broken.is_running()


@pytest.mark.integration
def test_an_install_that_fails_says_why_from_the_error_log(mariadb_factory) -> None:
    spec = mariadb_factory("noinstall", start=False).spec
    broken = LocalMariaDB(dataclasses.replace(spec, extra={"innodb_no_such_setting": "1"}))
    with pytest.raises(ServerStartError) as caught:
        broken.initialize()  # an empty datadir: mariadb-install-db runs the bootstrap server, which refuses the option
    message = str(caught.value)
    assert "mariadb-install-db exited with" in message and f"Last lines of {broken.error_log}" in message
    assert "innodb_no_such_setting" in message  # the reason, which the bootstrap server wrote to the error log


@pytest.mark.unit
def test_too_long_socket_path_is_rejected() -> None:
    with pytest.raises(DrdrillError, match="socket path"):
        LocalMariaDB(InstanceSpec("deep", Path("/tmp") / ("d" * 120), port=3306, server_id=1))


@pytest.mark.unit
def test_find_free_port_gives_a_bindable_port() -> None:
    port = find_free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", port))


@pytest.mark.integration
def test_ensure_user_sets_password_and_grants(mariadb_factory) -> None:
    server = mariadb_factory("users")
    first, second = "fir'st\"pa\\ss", "second-password"
    server.ensure_user("tool", first, ["SELECT, SHOW VIEW ON *.*"])
    server.ensure_user("tool", first, ["SELECT, SHOW VIEW ON *.*"])
    with contextlib.closing(server.endpoint("tool", first).connect()) as conn:
        assert scalar(conn, "SELECT CURRENT_USER()") == "tool@127.0.0.1"
        with conn.cursor() as cur:
            cur.execute("SHOW GRANTS")
            grants = " ".join(row[0] for row in cur.fetchall())
    assert "GRANT SELECT, SHOW VIEW ON *.*" in grants
    assert first not in grants

    server.ensure_user("tool", second, [])
    with pytest.raises(pymysql.err.OperationalError) as denied:
        server.endpoint("tool", first).connect()
    assert denied.value.args[0] == 1045
    server.endpoint("tool", second).connect().close()

    with pytest.raises(DrdrillError, match="not of the form"):
        server.ensure_user("tool", second, ["SELECT ON *.* TO x; DROP DATABASE mysql"])


@pytest.mark.integration
def test_gtid_replica_receives_rows_written_on_the_primary(mariadb_factory) -> None:
    primary = mariadb_factory("primary")
    replica = mariadb_factory("replica", read_only=True)
    primary.ensure_user("repl", "repl-Pass'1", ["REPLICATION SLAVE ON *.*"])
    with contextlib.closing(primary.root_connect()) as p, p.cursor() as cur:
        cur.execute("CREATE DATABASE drill")
        cur.execute("CREATE TABLE drill.t (id INT PRIMARY KEY, note VARCHAR(20)) ENGINE=InnoDB")
        cur.executemany("INSERT INTO drill.t VALUES (%s, %s)", [(i, f"before-{i}") for i in range(50)])

    start_gtid_replica(replica, primary.endpoint("repl", "repl-Pass'1"))

    with contextlib.closing(primary.root_connect()) as p, contextlib.closing(replica.root_connect()) as r:
        with p.cursor() as cur:
            cur.executemany("INSERT INTO drill.t VALUES (%s, %s)", [(i, f"after-{i}") for i in range(50, 80)])
        wait_replica_caught_up(r, p, timeout=20)
        assert scalar(r, "SELECT COUNT(*) FROM drill.t") == 80
        assert scalar(r, "SELECT note FROM drill.t WHERE id = 79") == "after-79"
        assert scalar(r, "SELECT @@gtid_slave_pos") == scalar(p, "SELECT @@gtid_binlog_pos")
        assert scalar(r, "SELECT @@read_only") == 1
        status = replication_status(r)
        assert status["Slave_IO_Running"] == "Yes"
        assert status["Slave_SQL_Running"] == "Yes"
        assert status["Master_Port"] == primary.spec.port
        assert status["Using_Gtid"] == "Slave_Pos"
        assert replication_status(p) == {}


@pytest.mark.integration
def test_gtid_replica_with_wrong_password_fails_fast_without_leaking_it(mariadb_factory) -> None:
    primary = mariadb_factory("primary")
    replica = mariadb_factory("replica")
    primary.ensure_user("repl", "right-password", ["REPLICATION SLAVE ON *.*"])
    started = time.monotonic()
    with pytest.raises(DrdrillError) as caught:
        start_gtid_replica(replica, primary.endpoint("repl", "Wrong-Secret-42"), timeout=20)
    assert time.monotonic() - started < 15
    assert "Access denied" in str(caught.value)
    assert "Wrong-Secret-42" not in str(caught.value)


@pytest.mark.integration
def test_a_server_set_up_by_a_non_root_os_user_lets_that_user_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker container runs as airflow, not root: its scratch server's admin is that OS user (unix_socket)."""
    import os
    import pwd
    import shutil
    import subprocess
    import tempfile

    import drdrill.servers.mariadb as mariadb

    nobody = pwd.getpwnam("nobody")
    monkeypatch.setattr(mariadb.os, "geteuid", lambda: nobody.pw_uid)
    base = Path(tempfile.mkdtemp(prefix="drdrill-nonroot-"))  # reachable by nobody, unlike pytest's tmp_path
    server = LocalMariaDB(InstanceSpec("nonroot", base / "nonroot", find_free_port(), server_id=9))
    for directory in (server.spec.base_dir, server.datadir, server.tmpdir):
        directory.mkdir(parents=True, exist_ok=True)
    server.defaults_file.write_text(server.render_defaults())
    subprocess.run(["chown", "-R", "nobody", str(base)], check=True)
    as_nobody = ["runuser", "-u", "nobody", "--"]

    def query(*options: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*as_nobody, "mariadb", f"--defaults-file={server.defaults_file}", *options, "-N", "-e",
                               "SELECT CURRENT_USER()"], capture_output=True, text=True, cwd="/")

    try:
        subprocess.run([*as_nobody, *server.install_argv()], check=True, capture_output=True, cwd="/")
        subprocess.Popen([*as_nobody, "mariadbd", f"--defaults-file={server.defaults_file}"], cwd="/",
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 30
        while query().returncode != 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert query().stdout.strip() == "nobody@localhost"
        refused = query("--user=root")  # the admin login drdrill used before, whoever ran it
        assert refused.returncode == 1 and "Access denied for user 'root'@'localhost'" in refused.stderr
    finally:
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
            os.kill(int(server.pid_file.read_text()), 15)
        deadline = time.monotonic() + 20
        while server.pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        shutil.rmtree(base, ignore_errors=True)
