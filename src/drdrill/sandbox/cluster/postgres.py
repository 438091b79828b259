"""A Postgres cluster of the stack's own (Debian's binaries): initdb into a directory, own port and socket directory.

Clients connect through the socket only (``trust`` there; TCP on 127.0.0.1 is refused), so no password exists
to leak. Postgres refuses to run as root: as root, every server command runs as the ``postgres`` user.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from drdrill.errors import DrdrillError, ServerStartError

SUPERUSER = "drdrill"
SETTINGS = {  # a local, throwaway cluster: small, and durability traded for speed
    "listen_addresses": "'127.0.0.1'", "max_connections": "200", "shared_buffers": "64MB",
    "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
}


def postgres_bin_dir() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` (Debian's layout)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda path: int(Path(path).parts[4]))
    if not found:
        raise DrdrillError("Postgres is not installed (no /usr/lib/postgresql/*/bin/initdb).",
                           "Install it: make system (or apt-get install postgresql).")
    return Path(found[-1]).parent


class LocalPostgres:
    """One Postgres cluster under ``directory`` (``data/``, ``run/`` for the socket, ``postgres.log``)."""

    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.port = port
        self.datadir = directory / "data"
        self.socket_dir = directory / "run"
        self.log_file = directory / "postgres.log"

    def url(self, database: str) -> str:
        """SQLAlchemy URL of ``database`` through the socket."""
        return f"postgresql+psycopg2://{SUPERUSER}@/{database}?host={self.socket_dir}&port={self.port}"

    def _as_owner(self, argv: Sequence[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else list(argv)

    def _run(self, argv: Sequence[str], what: str) -> str:
        done = subprocess.run(self._as_owner(argv), capture_output=True, text=True, cwd="/")
        if done.returncode != 0:
            raise ServerStartError(f"Postgres {what} failed: {(done.stderr or done.stdout)[-1500:]}",
                                   f"Fix the cause; the server's log is {self.log_file}.")
        return done.stdout

    def initialize(self) -> None:
        """initdb once (as ``postgres`` when root, which must be able to reach the directory)."""
        if (self.datadir / "PG_VERSION").exists():
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
            if subprocess.run(["runuser", "-u", "postgres", "--", "test", "-w", str(self.directory)]).returncode:
                raise DrdrillError(f"The postgres user cannot write to {self.directory}.",
                                   "Let it reach the stack directory (chmod o+x on each parent directory) or move "
                                   "the stack with DRDRILL_STACK_DIR.")
        self.directory.chmod(0o700)
        self._run([str(postgres_bin_dir() / "initdb"), "-D", str(self.datadir), "-U", SUPERUSER, "-A", "reject",
                   "--auth-local=trust", "-E", "UTF8", "--no-instructions"], "initdb")
        lines = [f"{key} = {value}" for key, value in {**SETTINGS, "port": str(self.port),
                                                        "unix_socket_directories": f"'{self.socket_dir}'"}.items()]
        with open(self.datadir / "postgresql.auto.conf", "a") as conf:
            conf.write("\n".join(lines) + "\n")

    def pid(self) -> int | None:
        """The postmaster's pid from ``postmaster.pid`` while that process lives."""
        try:
            pid = int((self.datadir / "postmaster.pid").read_text().split()[0])
            os.kill(pid, 0)
        except (FileNotFoundError, PermissionError, IndexError, ValueError, ProcessLookupError):
            return None
        return pid

    def start(self) -> None:
        """``pg_ctl start`` and wait until it accepts connections; nothing when running."""
        if self.pid():
            return
        self.socket_dir.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.socket_dir, "postgres", "postgres")
        self._run([str(postgres_bin_dir() / "pg_ctl"), "-D", str(self.datadir), "-l", str(self.log_file), "-w",
                   "-t", "30", "start"], "start")

    def stop(self) -> None:
        """``pg_ctl stop -m fast``; idempotent."""
        if self.pid():
            self._run([str(postgres_bin_dir() / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "stop"], "stop")

    def ensure_database(self, name: str) -> None:
        """Create ``name`` unless it exists."""
        psql = [str(postgres_bin_dir() / "psql"), "-h", str(self.socket_dir), "-p", str(self.port), "-U", SUPERUSER,
                "-d", "postgres", "-tAc"]
        if self._run([*psql, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"], "query").strip() != "1":
            self._run([*psql, f'CREATE DATABASE "{name}"'], "CREATE DATABASE")
