"""Every tool the drills run logs in with the password the endpoint holds, whatever characters it has.

Option files are how secrets reach the tools (never argv). Unquoted, MariaDB's reader ends a value at ``#``,
resolves backslash sequences and drops trailing spaces: a password with those failed with access denied, a
false alarm, although the backup would have worked.
"""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

import pytest

from drdrill.endpoints import MySQLEndpoint
from drdrill.toolenv import tool_environment

pytestmark = pytest.mark.integration
AWKWARD = 'we#ird\\pa"ss\'x \\s  '


@pytest.fixture
def awkward_login(mariadb_factory) -> tuple[MySQLEndpoint, str]:
    server = mariadb_factory("optionfiles")
    with contextlib.closing(server.root_connect()) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE USER 'awkward'@'%%' IDENTIFIED BY %s", (AWKWARD,))
        cursor.execute("GRANT ALL ON *.* TO 'awkward'@'%'")
        cursor.execute("CREATE DATABASE shop")
        cursor.execute("CREATE TABLE shop.t (id INT PRIMARY KEY)")
    endpoint = MySQLEndpoint(host="127.0.0.1", port=server.spec.port, user="awkward", password=AWKWARD)
    return endpoint, str(server.spec.base_dir / "data")


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, env=tool_environment(), timeout=120)


def test_every_tool_logs_in_through_the_option_file(awkward_login, tmp_path: Path) -> None:
    endpoint, datadir = awkward_login
    with endpoint.option_file(directory=tmp_path) as options:
        tools = {
            "mariadb": ["mariadb", f"--defaults-extra-file={options}", "-e", "SELECT 1"],
            "mariadb-dump": ["mariadb-dump", f"--defaults-extra-file={options}", "--databases", "shop"],
            "mariadb-binlog": ["mariadb-binlog", f"--defaults-extra-file={options}", "--read-from-remote-server",
                               "mysql-bin.000001"],
            "mydumper": ["mydumper", f"--defaults-file={options}", "-h", endpoint.host, "-P", str(endpoint.port),
                         "-B", "shop", "-o", str(tmp_path / "mydumper")],
            "mariadb-backup": ["mariadb-backup", f"--defaults-extra-file={options}", "--backup",
                               f"--target-dir={tmp_path / 'physical'}", f"--datadir={datadir}"],
        }
        failed = {name: done.stderr[-300:] for name, argv in tools.items() if (done := _run(argv)).returncode != 0}
    assert not failed, failed


def test_the_same_password_unquoted_is_refused(awkward_login, tmp_path: Path) -> None:
    endpoint, _ = awkward_login
    unquoted = tmp_path / "unquoted.cnf"
    unquoted.write_text(f"[client]\nuser=awkward\npassword={AWKWARD}\nhost=127.0.0.1\nport={endpoint.port}\n")
    unquoted.chmod(0o600)
    done = _run(["mariadb", f"--defaults-extra-file={unquoted}", "-e", "SELECT 1"])
    assert done.returncode != 0 and "Access denied" in done.stderr
