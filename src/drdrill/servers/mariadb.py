"""Local ``mariadbd`` instances run as plain processes on 127.0.0.1, one directory each."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import pwd
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql

from drdrill.endpoints import MySQLEndpoint
from drdrill.errors import DrdrillError, ServerStartError
from drdrill.ports import ensure_port_free
from drdrill.toolenv import tool_environment

log = logging.getLogger(__name__)

MARIADBD = "mariadbd"
INSTALL_DB = "mariadb-install-db"
MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux; keep a margin
ERROR_LOG_TAIL_LINES = 20
_GRANT_RE = re.compile(r"^[A-Za-z ,_()]+ ON [`A-Za-z0-9_.*%$-]+$")

# Processes this Python process launched; polled so exited ones are reaped, not left as zombies.
_children: dict[int, subprocess.Popen[bytes]] = {}


def socket_admin() -> str:
    """The instance's admin login: the OS user this process runs as (root, or e.g. airflow in a worker container).

    ``mariadb-install-db --auth-root-authentication-method=socket`` lets only the OS user of that name in through
    the socket (unix_socket), and gives ``--user``'s name all privileges: so root as root, that user otherwise.
    """
    return pwd.getpwuid(os.geteuid()).pw_name


@dataclass(frozen=True)
class InstanceSpec:
    """What one local server looks like; everything it owns lives below ``base_dir``."""

    name: str
    base_dir: Path
    port: int
    server_id: int
    buffer_pool: str = "64M"
    log_bin: bool = True
    read_only: bool = False
    extra: dict[str, str] = field(default_factory=dict)
    command_prefix: tuple[str, ...] = ()  # runs mariadbd through it, e.g. ("ip", "netns", "exec", "ns1")


class LocalMariaDB:
    """Create, start, stop and connect to one ``mariadbd`` process described by an ``InstanceSpec``."""

    def __init__(self, spec: InstanceSpec) -> None:
        base_dir = Path(spec.base_dir).absolute()
        if base_dir != spec.base_dir:
            spec = dataclasses.replace(spec, base_dir=base_dir)
        self._spec = spec
        sock = base_dir / "mariadbd.sock"
        if len(str(sock)) >= MAX_SOCKET_PATH:
            raise DrdrillError(
                f"MariaDB instance {spec.name!r}: socket path {str(sock)!r} is {len(str(sock))} characters, "
                f"longer than unix sockets allow ({MAX_SOCKET_PATH}).",
                "choose a shorter base_dir, e.g. one directly below /tmp or /var/lib/drdrill.",
            )

    def __repr__(self) -> str:
        spec = self._spec
        return f"LocalMariaDB(name={spec.name!r}, port={spec.port}, base_dir='{spec.base_dir}')"

    # -- paths -------------------------------------------------------------------------------------

    @property
    def spec(self) -> InstanceSpec:
        """The spec this instance was built from (``base_dir`` made absolute)."""
        return self._spec

    @property
    def datadir(self) -> Path:
        """The server's data directory."""
        return self._spec.base_dir / "data"

    @property
    def tmpdir(self) -> Path:
        """The server's temporary directory."""
        return self._spec.base_dir / "tmp"

    @property
    def socket(self) -> Path:
        """Unix socket root connects through."""
        return self._spec.base_dir / "mariadbd.sock"

    @property
    def pid_file(self) -> Path:
        """File the server writes its pid to once it is up."""
        return self._spec.base_dir / "mariadbd.pid"

    @property
    def defaults_file(self) -> Path:
        """The instance's own option file, passed as ``--defaults-file``."""
        return self._spec.base_dir / "mariadb.cnf"

    @property
    def error_log(self) -> Path:
        """The server's error log (also receives its stdout and stderr)."""
        return self._spec.base_dir / "error.log"

    # -- lifecycle ---------------------------------------------------------------------------------

    def render_defaults(self) -> str:
        """The text of the instance's option file."""
        spec = self._spec
        mysqld: dict[str, str | None] = {
            "user": socket_admin(),
            "datadir": str(self.datadir),
            "tmpdir": str(self.tmpdir),
            "socket": str(self.socket),
            "pid-file": str(self.pid_file),
            "log_error": str(self.error_log),
            "port": str(spec.port),
            "bind-address": "127.0.0.1",
            "server_id": str(spec.server_id),
            "skip-name-resolve": None,
            "character_set_server": "utf8mb4",
            "collation_server": "utf8mb4_general_ci",
            "innodb_buffer_pool_size": spec.buffer_pool,
            "innodb_log_file_size": "48M",
            "max_connections": "100",
            "performance_schema": "OFF",
            "key_buffer_size": "8M",
            "aria_pagecache_buffer_size": "8M",
            "relay_log": "relay-bin",
        }
        if spec.log_bin:
            mysqld.update(
                {
                    "log_bin": "mysql-bin",
                    "binlog_format": "ROW",
                    "gtid_strict_mode": "1",
                    "log_slave_updates": "1",
                }
            )
        else:
            mysqld["skip-log-bin"] = None
        if spec.read_only:
            mysqld["read_only"] = "1"
        mysqld.update(spec.extra)
        lines = [f"# drdrill instance {spec.name!r}; written by LocalMariaDB.initialize()", "[mysqld]"]
        lines += [key if value is None else f"{key}={value}" for key, value in mysqld.items()]
        lines += ["", "[client]", f"user={socket_admin()}", f"socket={self.socket}", ""]
        return "\n".join(lines)

    def is_initialized(self) -> bool:
        """True when the datadir holds system tables."""
        return (self.datadir / "mysql").is_dir()

    def install_argv(self) -> list[str]:
        """``mariadb-install-db`` for this instance: system tables, the admin login by socket authentication."""
        return [INSTALL_DB, f"--defaults-file={self.defaults_file}", f"--user={socket_admin()}",
                "--auth-root-authentication-method=socket", "--skip-test-db"]

    def initialize(self) -> None:
        """Write the option file and, if the datadir is empty, create the system tables."""
        for directory in (self._spec.base_dir, self.datadir, self.tmpdir):
            directory.mkdir(parents=True, exist_ok=True)
        self.defaults_file.write_text(self.render_defaults())
        if any(self.datadir.iterdir()):
            if not self.is_initialized():
                raise DrdrillError(
                    f"MariaDB instance {self._spec.name!r}: datadir {self.datadir} is not empty but has no "
                    "'mysql' system schema (an earlier install was interrupted, or it holds other files).",
                    f"empty or remove {self.datadir} and call initialize() again.",
                )
            return
        log.info("initializing %s in %s", self._spec.name, self.datadir)
        try:
            result = subprocess.run(
                self.install_argv(), capture_output=True, text=True, timeout=120, check=False, env=tool_environment()
            )
        except FileNotFoundError:
            raise ServerStartError(
                f"MariaDB instance {self._spec.name!r}: {INSTALL_DB} is not installed.",
                "install the Debian packages mariadb-server and mariadb-client.",
            ) from None
        if result.returncode != 0:
            output = _tail((result.stdout + result.stderr).splitlines(), ERROR_LOG_TAIL_LINES)
            raise ServerStartError(  # the bootstrap server writes why it stopped to the error log, not to the tool's output
                f"MariaDB instance {self._spec.name!r}: {INSTALL_DB} exited with {result.returncode}:"
                f"\n{output}\nLast lines of {self.error_log}:\n{self.error_log_tail()}",
                f"read the output above; fix the setting in {self.defaults_file} or empty {self.datadir}.",
            )

    def start(self, timeout: float = 60) -> None:
        """Start the server and wait until it answers over its socket; no-op when it already runs."""
        name = self._spec.name
        if self.is_running():
            self._wait_ready(None, timeout)
            return
        ensure_port_free(self._spec.port, f"MariaDB instance {name!r}")
        if not self.is_initialized():
            raise ServerStartError(
                f"MariaDB instance {name!r}: datadir {self.datadir} is not initialized.",
                "call initialize() before start().",
            )
        _reap_children()
        with contextlib.suppress(FileNotFoundError):
            self.pid_file.unlink()
        log.info("starting %s on 127.0.0.1:%d", name, self._spec.port)
        with open(self.error_log, "ab") as err:
            try:
                proc = subprocess.Popen(
                    [*self._spec.command_prefix, MARIADBD, f"--defaults-file={self.defaults_file}"],
                    stdin=subprocess.DEVNULL,
                    stdout=err,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    close_fds=True,
                    env=tool_environment(),
                )
            except FileNotFoundError:
                raise ServerStartError(
                    f"MariaDB instance {name!r}: {MARIADBD} is not on PATH.",
                    "install the Debian package mariadb-server (mariadbd lives in /usr/sbin).",
                ) from None
        _children[proc.pid] = proc
        self._wait_ready(proc, timeout)

    def stop(self, timeout: float = 60) -> None:
        """Shut the server down with SIGTERM and wait; SIGKILL if it outlives ``timeout``."""
        pid = self.pid()
        if pid is None:
            return
        log.info("stopping %s (pid %d)", self._spec.name, pid)
        _signal(pid, signal.SIGTERM)
        if _wait_exit(pid, timeout):
            return
        log.warning("%s did not stop within %.0f s; sending SIGKILL", self._spec.name, timeout)
        _signal(pid, signal.SIGKILL)
        _wait_exit(pid, 10)

    def kill(self) -> None:
        """SIGKILL the server, as a crash would; the pid file stays behind like after a real crash."""
        pid = self.pid()
        if pid is None:
            return
        log.info("killing %s (pid %d)", self._spec.name, pid)
        _signal(pid, signal.SIGKILL)
        if not _wait_exit(pid, 10):
            raise DrdrillError(
                f"MariaDB instance {self._spec.name!r}: pid {pid} survived SIGKILL for 10 s.",
                f"the process is stuck in the kernel (I/O); check `cat /proc/{pid}/stack` and the disk.",
            )

    def pid(self) -> int | None:
        """The pid of this instance's live mariadbd: from the pid file, else found by its command line."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            pid = 0
        if pid and self._is_our_process(pid):
            return pid
        # No pid file yet (still starting) or a stale one: look for our --defaults-file among processes.
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and self._is_our_process(int(entry.name)):
                return int(entry.name)
        return None

    def is_running(self) -> bool:
        """True when this instance's mariadbd process is alive."""
        return self.pid() is not None

    def destroy(self) -> None:
        """Stop the server and delete ``base_dir`` with everything in it."""
        self.stop()
        if self._spec.base_dir.exists():
            shutil.rmtree(self._spec.base_dir)

    # -- connections -------------------------------------------------------------------------------

    def root_endpoint(self) -> MySQLEndpoint:
        """The admin login over the unix socket (socket authentication, no password): see ``socket_admin``."""
        return MySQLEndpoint(host="localhost", port=self._spec.port, user=socket_admin(), socket=str(self.socket))

    def root_connect(self, **kw: Any) -> pymysql.connections.Connection:
        """A root connection over the unix socket, autocommit, UTC session time zone."""
        return self.root_endpoint().connect(**kw)

    def endpoint(self, user: str, password: str, database: str | None = None) -> MySQLEndpoint:
        """A TCP endpoint (127.0.0.1:port) for ``user``, as tools and drivers see the server."""
        return MySQLEndpoint(
            host="127.0.0.1", port=self._spec.port, user=user, password=password, database=database
        )

    def ensure_user(self, user: str, password: str, grants: list[str], *, binlog: bool = True) -> None:
        """Create or update ``user`` at 127.0.0.1 and localhost with ``password`` and add ``grants``.

        Each grant reads like ``"SELECT, SHOW VIEW ON *.*"``. Pass ``binlog=False`` on a server that
        will become a GTID replica, so the statements do not give it GTIDs of its own.
        """
        for grant in grants:
            if not _GRANT_RE.match(grant):
                raise DrdrillError(
                    f"grant {grant!r} for user {user!r} is not of the form 'PRIV, PRIV ON db.*'.",
                    "pass privileges and an object such as 'SELECT, INSERT ON shop.*'.",
                )
        with contextlib.closing(self.root_connect()) as conn, conn.cursor() as cur:
            if not binlog:
                cur.execute("SET SESSION sql_log_bin = 0")
            for host in ("127.0.0.1", "localhost"):
                cur.execute("CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s", (user, host, password))
                cur.execute("ALTER USER %s@%s IDENTIFIED BY %s", (user, host, password))
                for grant in grants:
                    cur.execute(f"GRANT {grant} TO %s@%s", (user, host))
        log.info("ensured user %s on %s with grants %s", user, self._spec.name, grants)

    # -- internals ---------------------------------------------------------------------------------

    def _is_our_process(self, pid: int) -> bool:
        proc_dir = Path(f"/proc/{pid}")
        try:
            comm = (proc_dir / "comm").read_text().strip()
            cmdline = (proc_dir / "cmdline").read_bytes().split(b"\0")
        except (FileNotFoundError, ProcessLookupError):
            return False
        if comm != MARIADBD or f"--defaults-file={self.defaults_file}".encode() not in cmdline:
            return False
        return _alive(pid)

    def _wait_ready(self, proc: subprocess.Popen[bytes] | None, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                _children.pop(proc.pid, None)
                self._raise_start_error(f"mariadbd exited with code {proc.returncode} while starting")
            if proc is None and not self.is_running():
                self._raise_start_error("mariadbd exited while starting")
            if self.socket.exists():
                try:
                    with (
                        contextlib.closing(self.root_connect(connect_timeout=2)) as conn,
                        conn.cursor() as cur,
                    ):
                        cur.execute("SELECT 1")
                    log.info("%s is up (pid %s)", self._spec.name, proc.pid if proc else self.pid())
                    return
                except pymysql.MySQLError as exc:
                    last_error = str(exc)
            time.sleep(0.05)
        what = f"mariadbd did not answer on {self.socket} within {timeout:.0f} s ({last_error})"
        if proc is not None and proc.poll() is None:  # hung: do not leave a half-started server behind
            _signal(proc.pid, signal.SIGTERM)
            if not _wait_exit(proc.pid, 30):
                _signal(proc.pid, signal.SIGKILL)
                _wait_exit(proc.pid, 10)
            what += "; the process was stopped"
        self._raise_start_error(what)

    def error_log_tail(self) -> str:
        """The last lines of the server's error log (where mariadbd and mariadb-install-db say why they stopped)."""
        try:
            lines = self.error_log.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            lines = ["(no error log)"]
        return _tail(lines, ERROR_LOG_TAIL_LINES)

    def _raise_start_error(self, what: str) -> None:
        raise ServerStartError(
            f"MariaDB instance {self._spec.name!r} (port {self._spec.port}): {what}. "
            f"Last lines of {self.error_log}:\n{self.error_log_tail()}\n",
            f"read the log lines above; fix the setting in {self.defaults_file} "
            f"or the datadir {self.datadir}.",
        )


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _wait_exit(pid: int, timeout: float) -> bool:
    """Wait until ``pid`` is gone (or a zombie); True if it went within ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        if not _alive(pid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    """True while any thread of ``pid`` runs (a multi-threaded leader turns zombie before its threads end)."""
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except (FileNotFoundError, ProcessLookupError):
        return False
    return any(_task_state(task) not in ("Z", "X", "") for task in tasks)


def _task_state(task_dir: Path) -> str:
    try:
        return (task_dir / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return ""


def _reap_children() -> None:
    """Collect exited children so they do not linger as zombies."""
    for pid, proc in list(_children.items()):
        if proc.poll() is not None:
            del _children[pid]


def _tail(lines: list[str], count: int) -> str:
    return "\n".join(lines[-count:])
