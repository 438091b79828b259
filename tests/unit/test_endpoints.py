"""``drdrill.endpoints``: where a server is and how to log in, with the password out of argv, logs and reprs.

Connecting (``connect``, ``fetch_all``) needs a live server: the integration tests cover it. The option files are
checked here with MariaDB's own option-file reader, ``my_print_defaults``, which reads them as the tools do.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import sqlite3
import stat
import subprocess
from pathlib import Path

import pymysql
import pytest
from sqlalchemy.engine import make_url

from drdrill.endpoints import (
    MySQLEndpoint,
    TLSSettings,
    one_row,
    read_client_options,
    sql_list,
    sql_string,
    tcp_socket,
    tls_verify_failed,
)
from drdrill.errors import DrdrillError

pytestmark = pytest.mark.unit

SECRET = "Pw-9f3kQz!x"
TCP = MySQLEndpoint(host="db.example", port=3307, user="backup", password=SECRET)
SOCKET = MySQLEndpoint(host="localhost", port=3306, user="root", password=SECRET, socket="/run/mysqld/mysqld.sock")


def tool_view(option_file: Path, group: str = "client") -> dict[str, str]:
    """The options MariaDB's client library reads from the file (``my_print_defaults``)."""
    done = subprocess.run(["my_print_defaults", f"--defaults-file={option_file}", group],
                          capture_output=True, text=True, check=True)
    return dict(line.removeprefix("--").split("=", 1) for line in done.stdout.splitlines())


def test_describe_and_repr_name_the_server_without_the_password() -> None:
    assert TCP.describe() == "backup@db.example:3307"
    assert SOCKET.describe() == "root@/run/mysqld/mysqld.sock"
    for endpoint in (TCP, SOCKET):
        assert SECRET not in endpoint.describe() and SECRET not in repr(endpoint) and SECRET not in str(endpoint)
    assert "db.example" in repr(TCP) and "3307" in repr(TCP)


def test_option_text_holds_the_login_for_tcp_or_socket() -> None:
    assert TCP.option_text() == f"[client]\nuser=backup\npassword=\"{SECRET}\"\nhost=db.example\nport=3307\nprotocol=TCP\n"
    assert SOCKET.option_text("mysqldump") == (
        f"[mysqldump]\nuser=root\npassword=\"{SECRET}\"\nsocket=/run/mysqld/mysqld.sock\n")


def test_option_file_is_private_holds_the_password_and_is_deleted_afterwards(tmp_path: Path) -> None:
    with TCP.option_file(directory=tmp_path) as path:
        assert path.parent == tmp_path
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert tool_view(path) == {"user": "backup", "password": SECRET, "host": "db.example", "port": "3307",
                                   "protocol": "TCP"}
    assert not path.exists()


def test_option_file_is_deleted_when_the_tool_fails(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), TCP.option_file(directory=tmp_path) as path:
        raise RuntimeError("mariadb-dump exited with 2")
    assert not path.exists() and not list(tmp_path.iterdir())


@pytest.mark.parametrize("password", [
    "plain-Password_123",
    "hash#in-the-middle",
    "back\\slash",
    "trailing-space ",
    'quo"te\'s and \\s',
])
def test_the_tools_read_the_same_password_the_endpoint_holds(tmp_path: Path, password: str) -> None:
    endpoint = MySQLEndpoint(host="127.0.0.1", port=3306, user="backup", password=password)
    with endpoint.option_file(directory=tmp_path) as path:
        assert tool_view(path)["password"] == password
        assert read_client_options(path)["password"] == password  # drdrill's own reader agrees


def test_from_option_file_reads_the_client_group_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "my.cnf"
    path.write_text("[mysqld]\nport=9999\n[client]\n# the drill's login\nuser = app\npassword=\"q u o t e d\"\n")
    endpoint = MySQLEndpoint.from_option_file(path, database="shop")
    assert endpoint == MySQLEndpoint(host="127.0.0.1", port=3306, user="app", password="q u o t e d", database="shop")


def test_an_option_file_written_by_the_endpoint_reads_back_as_the_same_login(tmp_path: Path) -> None:
    with TCP.option_file(directory=tmp_path) as path:
        assert MySQLEndpoint.from_option_file(path) == TCP
    with SOCKET.option_file(directory=tmp_path) as path:
        back = MySQLEndpoint.from_option_file(path)
    assert (back.user, back.password, back.socket, back.describe()) == ("root", SECRET, SOCKET.socket, SOCKET.describe())


@pytest.mark.parametrize("tls", [TLSSettings(ca="/etc/my ca.pem", cert="/etc/c.pem", key="/etc/k.pem"),
                                 TLSSettings(ca="/etc/ca.pem", check_hostname=False), TLSSettings(verify=False)])
def test_an_option_file_with_tls_reads_back_with_the_same_tls_settings(tmp_path: Path, tls: TLSSettings) -> None:
    endpoint = dataclasses.replace(TCP, tls=tls)
    with endpoint.option_file(directory=tmp_path) as path:
        assert MySQLEndpoint.from_option_file(path) == endpoint
    path = tmp_path / "plain.cnf"
    path.write_text("[client]\nuser=app\nssl-ca=/etc/ca.pem\nskip-ssl\n")  # skip-ssl wins, as in the tools
    assert MySQLEndpoint.from_option_file(path).tls is None


def test_read_client_options_strips_quotes_and_spells_keys_with_dashes(tmp_path: Path) -> None:
    path = tmp_path / "client.cnf"
    path.write_text("[client]\nuser='drill'\nssl_ca=/etc/ca.pem\nskip-ssl\n[other]\nuser=nobody\n")
    assert read_client_options(path) == {"user": "drill", "ssl-ca": "/etc/ca.pem", "skip-ssl": ""}
    assert read_client_options(path, "other") == {"user": "nobody"}


@pytest.mark.parametrize(("text", "problem", "fix"), [
    (None, "does not exist", "existing file"),
    ("user=app\n", "cannot be parsed (MissingSectionHeaderError)", "[client] group"),
    ("[mysqld]\nport=1\n", "has no [client] group", "add [client]"),
])
def test_an_unusable_option_file_says_why_and_how_to_fix_it(tmp_path: Path, text: str | None, problem: str,
                                                            fix: str) -> None:
    path = tmp_path / "login.cnf"
    if text is not None:
        path.write_text(text)
    with pytest.raises(DrdrillError) as caught:
        read_client_options(path)
    assert str(path) in caught.value.problem and problem in caught.value.problem
    assert fix in (caught.value.fix or "")


def test_an_unparsable_option_file_does_not_echo_its_contents(tmp_path: Path) -> None:
    path = tmp_path / "login.cnf"
    path.write_text(f"password={SECRET}\n[client]\n")
    with pytest.raises(DrdrillError) as caught:
        read_client_options(path)
    assert SECRET not in str(caught.value)


def test_sqlalchemy_url_quotes_user_and_password() -> None:
    endpoint = MySQLEndpoint(host="127.0.0.1", port=3310, user="dr@ill", password="p@ss:w/rd%#?")
    url = make_url(endpoint.sqlalchemy_url())
    assert (url.drivername, url.username, url.password, url.host, url.port) == (
        "mysql+pymysql", "dr@ill", "p@ss:w/rd%#?", "127.0.0.1", 3310)


def test_one_row_returns_the_row_and_refuses_a_missing_one() -> None:
    connection = sqlite3.connect(":memory:")
    try:
        assert one_row(connection.execute("SELECT 3, 'x'")) == (3, "x")
        with pytest.raises(RuntimeError, match="no row"):
            one_row(connection.execute("SELECT 1 WHERE 0"))
    finally:
        connection.close()


def test_option_files_are_created_private_even_with_a_permissive_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        with TCP.option_file(directory=tmp_path) as path:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        os.umask(previous)


def test_string_literals_escape_quotes_and_backslashes_and_lists_join_them() -> None:
    assert sql_string("plain") == "'plain'"
    assert sql_string("o'k\\db") == "'o''k\\\\db'"
    assert sql_list(["shop", "it's"]) == "'shop', 'it''s'"


def test_tcp_sockets_give_up_on_a_silent_peer_within_the_dead_peer_bound() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        sock = tcp_socket("127.0.0.1", listener.getsockname()[1], connect_timeout=2, dead_peer_timeout=12)
        with sock:
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 6
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 2
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 12000
            assert sock.gettimeout() is None  # blocking: the caller's read_timeout bounds answers


def test_a_refused_tcp_connection_is_the_driver_s_can_t_connect_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
    with pytest.raises(pymysql.err.OperationalError) as refused:
        tcp_socket("127.0.0.1", port, connect_timeout=2, dead_peer_timeout=30)
    assert refused.value.args[0] == 2003 and "Can't connect" in refused.value.args[1]


def test_tls_settings_reach_the_tools_through_the_option_file_and_pymysql_through_ssl(tmp_path: Path) -> None:
    tls = TLSSettings(ca=str(tmp_path / "my ca.pem"), cert="/etc/c.pem", key="/etc/k.pem")
    endpoint = MySQLEndpoint("db.example", 3307, "backup", SECRET, tls=tls)
    with endpoint.option_file(directory=tmp_path) as path:
        options = tool_view(path)
    assert (options["ssl-ca"], options["ssl-cert"], options["ssl-key"]) == (str(tmp_path / "my ca.pem"), "/etc/c.pem",
                                                                            "/etc/k.pem")
    assert options["ssl"] == options["ssl-verify-server-cert"] == "1"
    assert tls.pymysql_ssl() == {"ca": tls.ca, "cert": "/etc/c.pem", "key": "/etc/k.pem", "verify_mode": "required",
                                 "check_hostname": True}
    unchecked = TLSSettings(verify=False)
    assert unchecked.pymysql_ssl() == {"verify_mode": "none", "check_hostname": False}
    assert "ssl-verify-server-cert=0" in unchecked.option_lines()
    assert "ssl" not in MySQLEndpoint("localhost", 3306, "root", socket="/run/s.sock", tls=tls).option_text()


@pytest.mark.parametrize(("extra", "problem"), [
    ({"ca": "/etc/ca.pem", "ssl_mode": "VERIFY_IDENTITY"}, "cannot honour: ssl_mode"),
    ({"cert": "/etc/c.pem"}, "names no CA"),
    ({"ca": "/etc/ca.pem", "verify_mode": "optional"}, "verify_mode 'optional'"),
    ("{not json", "not valid JSON"),
])
def test_an_ssl_extra_drdrill_cannot_honour_is_refused_not_ignored(extra: object, problem: str) -> None:
    with pytest.raises(DrdrillError, match=problem):
        TLSSettings.from_extra(extra, "Airflow connection 'x'")
    assert TLSSettings.from_extra(None) is None and TLSSettings.from_extra({}) is None


@pytest.mark.parametrize(("text", "verify_failed"), [
    ("(2003, \"Can't connect ([SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed)\")", True),
    ('mariadb-dump: Got error: 2026: "TLS/SSL error: self-signed certificate in certificate chain"', True),
    ("Failed to connect to MariaDB server: SSL connection error: error:00000000:lib(0)::reason(0).", True),
    ("Access denied for user 'backup'@'127.0.0.1' (using password: YES)", False),
])
def test_certificate_failures_are_told_apart_from_other_login_errors(text: str, verify_failed: bool) -> None:
    assert tls_verify_failed(text) is verify_failed
