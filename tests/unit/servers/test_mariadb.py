"""``drdrill.servers.mariadb``: a local mariadbd's files, option file and refusals, without starting a server.

The option file is read back by MariaDB itself (``mariadbd --verbose --help`` prints the settings it would run
with, ``my_print_defaults`` the client group). Starting, stopping, crashing and users on a live server are in
``tests/integration/test_servers.py``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from drdrill.errors import DrdrillError, PortInUseError, ServerStartError
from drdrill.ports import find_free_port
from drdrill.servers.mariadb import MAX_SOCKET_PATH, InstanceSpec, LocalMariaDB

pytestmark = pytest.mark.unit


def server_view(defaults_file: Path) -> dict[str, str]:
    """The settings mariadbd would start with from this option file (its ``--verbose --help`` table)."""
    done = subprocess.run(["mariadbd", f"--defaults-file={defaults_file}", "--verbose", "--help"],
                          capture_output=True, text=True, check=True)
    table = done.stdout.split("-------------------------------------------------- ", 1)[1]
    return {name: value.strip() for name, _, value in
            (line.partition(" ") for line in table.splitlines() if line.strip() and not line.startswith("To see"))}


def instance(tmp_path: Path, **spec: object) -> LocalMariaDB:
    values: dict[str, object] = {"name": "primary", "base_dir": tmp_path / "primary", "port": 3399, "server_id": 7}
    values.update(spec)
    return LocalMariaDB(InstanceSpec(**values))  # type: ignore[arg-type]


def written(server: LocalMariaDB) -> Path:
    server.spec.base_dir.mkdir(parents=True, exist_ok=True)
    server.defaults_file.write_text(server.render_defaults())
    return server.defaults_file


def test_everything_the_server_owns_lives_below_base_dir(tmp_path: Path) -> None:
    server = instance(tmp_path)
    base = tmp_path / "primary"
    assert (server.datadir, server.tmpdir, server.socket, server.pid_file, server.defaults_file, server.error_log) == (
        base / "data", base / "tmp", base / "mariadbd.sock", base / "mariadbd.pid", base / "mariadb.cnf",
        base / "error.log")


def test_a_relative_base_dir_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    server = LocalMariaDB(InstanceSpec("primary", Path("sb/primary"), 3399, 1))
    assert server.spec.base_dir == tmp_path / "sb" / "primary" and server.socket.is_absolute()
    assert repr(server) == f"LocalMariaDB(name='primary', port=3399, base_dir='{tmp_path / 'sb' / 'primary'}')"


def test_a_socket_path_too_long_for_unix_sockets_is_refused_and_one_shorter_accepted(tmp_path: Path) -> None:
    room = MAX_SOCKET_PATH - len(str(tmp_path / "mariadbd.sock")) - 1
    LocalMariaDB(InstanceSpec("fits", tmp_path / ("d" * (room - 1)), 3306, 1))
    with pytest.raises(DrdrillError, match="longer than unix sockets allow") as caught:
        LocalMariaDB(InstanceSpec("deep", tmp_path / ("d" * room), 3306, 1))
    assert "choose a shorter base_dir" in (caught.value.fix or "")


def test_the_server_reads_a_local_gtid_primary_from_the_option_file(tmp_path: Path) -> None:
    server = instance(tmp_path)
    view = server_view(written(server))
    assert {key: view[key] for key in ("port", "bind-address", "server-id", "log-bin", "binlog-format",
                                       "gtid-strict-mode", "log-slave-updates", "read-only", "skip-name-resolve",
                                       "innodb-buffer-pool-size", "datadir", "socket", "pid-file", "log-error")} == {
        "port": "3399", "bind-address": "127.0.0.1", "server-id": "7", "log-bin": "mysql-bin", "binlog-format": "ROW",
        "gtid-strict-mode": "TRUE", "log-slave-updates": "TRUE", "read-only": "FALSE", "skip-name-resolve": "TRUE",
        "innodb-buffer-pool-size": str(64 * 2**20), "datadir": f"{server.datadir}/", "socket": str(server.socket),
        "pid-file": str(server.pid_file), "log-error": str(server.error_log)}


def test_a_read_only_replica_without_binlog_and_with_extra_settings(tmp_path: Path) -> None:
    server = instance(tmp_path, read_only=True, log_bin=False, buffer_pool="128M",
                      extra={"innodb_log_file_size": "512M", "max_allowed_packet": "256M"})
    view = server_view(written(server))
    assert view["read-only"] == "TRUE"
    assert (view["log-bin"], view["gtid-strict-mode"], view["log-slave-updates"]) == ("0", "FALSE", "FALSE")
    assert view["innodb-buffer-pool-size"] == str(128 * 2**20)
    assert view["innodb-log-file-size"] == str(512 * 2**20), "extra settings must override the defaults"
    assert view["max-allowed-packet"] == str(256 * 2**20)


def test_root_connects_over_the_socket_by_the_client_group(tmp_path: Path) -> None:
    server = instance(tmp_path)
    done = subprocess.run(["my_print_defaults", f"--defaults-file={written(server)}", "client"],
                          capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["--user=root", f"--socket={server.socket}"]
    root = server.root_endpoint()
    assert (root.user, root.password, root.socket, root.port) == ("root", "", str(server.socket), 3399)
    app = server.endpoint("shop_app", "pw", "shop")
    assert (app.host, app.port, app.user, app.password, app.database, app.socket) == (
        "127.0.0.1", 3399, "shop_app", "pw", "shop", None)


def test_initialize_refuses_a_datadir_holding_something_else(tmp_path: Path) -> None:
    server = instance(tmp_path)
    server.datadir.mkdir(parents=True)
    (server.datadir / "important.txt").write_text("not a MariaDB datadir")
    with pytest.raises(DrdrillError, match="is not empty but has no 'mysql' system schema") as caught:
        server.initialize()
    assert str(server.datadir) in (caught.value.fix or "")
    assert (server.datadir / "important.txt").read_text() == "not a MariaDB datadir"
    assert not server.is_initialized()


def test_initialize_on_an_initialized_datadir_only_rewrites_the_option_file(tmp_path: Path) -> None:
    server = instance(tmp_path)
    (server.datadir / "mysql").mkdir(parents=True)
    server.defaults_file.write_text("[mysqld]\nport=1\n")
    server.initialize()
    assert server.is_initialized() and server.defaults_file.read_text() == server.render_defaults()
    assert sorted(p.name for p in server.datadir.iterdir()) == ["mysql"] and server.tmpdir.is_dir()


def test_initialize_without_the_install_tool_says_what_to_install(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    with pytest.raises(ServerStartError, match="mariadb-install-db is not installed") as caught:
        instance(tmp_path).initialize()
    assert "mariadb-server" in (caught.value.fix or "")


def test_start_refuses_an_uninitialized_datadir(tmp_path: Path) -> None:
    server = instance(tmp_path, port=find_free_port())
    with pytest.raises(ServerStartError, match="is not initialized") as caught:
        server.start(timeout=1)
    assert caught.value.fix == "call initialize() before start()."


def test_start_refuses_a_port_someone_else_listens_on(tmp_path: Path) -> None:
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        server = instance(tmp_path, port=holder.getsockname()[1])
        with pytest.raises(PortInUseError, match="MariaDB instance 'primary'"):
            server.start(timeout=1)


def test_a_pid_file_naming_another_process_is_not_this_server(tmp_path: Path) -> None:
    server = instance(tmp_path)
    server.spec.base_dir.mkdir(parents=True)
    assert server.pid() is None and not server.is_running()
    server.pid_file.write_text(str(os.getpid()))
    assert server.pid() is None
    server.stop(timeout=1)
    server.kill()
    assert server.pid_file.exists(), "stop and kill of a server that is not running must touch nothing"


def test_a_grant_that_is_not_privileges_on_an_object_is_refused_before_connecting(tmp_path: Path) -> None:
    server = instance(tmp_path)
    for grant in ("ALL ON *.*; DROP USER root", "SELECT ON shop.* TO 'x'@'%'", "SELECT"):
        with pytest.raises(DrdrillError, match="is not of the form 'PRIV, PRIV ON db.\\*'"):
            server.ensure_user("shop_app", "pw", [grant])


def test_destroy_of_a_stopped_server_deletes_its_directory(tmp_path: Path) -> None:
    server = instance(tmp_path)
    (server.datadir / "mysql").mkdir(parents=True)
    server.destroy()
    assert not server.spec.base_dir.exists()
    server.destroy()


def test_the_admin_login_is_the_os_user_the_drill_runs_as(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """unix_socket lets only the OS user of the same name in: a worker running as airflow is not root."""
    import pwd

    import drdrill.servers.mariadb as mariadb

    monkeypatch.setattr(mariadb.os, "geteuid", lambda: pwd.getpwnam("nobody").pw_uid)
    server = instance(tmp_path)
    done = subprocess.run(["my_print_defaults", f"--defaults-file={written(server)}", "client", "mysqld"],
                          capture_output=True, text=True, check=True)
    assert "--user=nobody" in done.stdout.splitlines() and "--user=root" not in done.stdout
    assert server.root_endpoint().user == "nobody"
