"""Scratch servers to restore into: created by the drill (local mariadbd) or given (a connection), never a protected one."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drdrill.endpoints import MySQLEndpoint
from drdrill.errors import DrdrillError
from drdrill.ports import find_free_port
from drdrill.servers.grants import SCRATCH_GRANT_OPTION, SCRATCH_GRANTS
from drdrill.servers.identity import ServerIdentity, read_identity
from drdrill.servers.mariadb import MAX_SOCKET_PATH, InstanceSpec, LocalMariaDB
from drdrill.servers.owner import claim

ADMIN_USER = "drdrill_scratch"
SCRATCH_SERVER_ID = 4242
SCRATCH_BUFFER_POOL = "256M"


class SafetyInterlock(DrdrillError):
    """The scratch server is the target's source or replica: restoring there would destroy it."""


@dataclass(frozen=True)
class LocalScratch:
    """A mariadbd the drill creates under ``base_dir``; the admin password stays in a 0600 option file there."""

    name: str
    base_dir: Path
    port: int

    @property
    def instance(self) -> LocalMariaDB:
        return LocalMariaDB(InstanceSpec(self.name, self.base_dir, self.port, server_id=SCRATCH_SERVER_ID,
                                         buffer_pool=SCRATCH_BUFFER_POOL, log_bin=False,
                                         extra={"max_allowed_packet": "256M"}))

    @property
    def option_file(self) -> Path:
        return self.base_dir / "admin.cnf"

    def endpoint(self) -> MySQLEndpoint:
        """The admin login over TCP (created by ``grant_admin``)."""
        options = dict(line.split("=", 1) for line in self.option_file.read_text().splitlines() if "=" in line)
        return MySQLEndpoint("127.0.0.1", self.port, options["user"], options["password"])

    def to_dict(self) -> dict[str, Any]:
        """Secret-free description for XCom."""
        return {"kind": "local", "name": self.name, "base_dir": str(self.base_dir), "port": self.port}


def run_key(run_id: str) -> str:
    """A short, path-safe key for one drill run (its scratch server's and its files' directories)."""
    return hashlib.sha256(run_id.encode()).hexdigest()[:12]


def scratch_dir(work_dir: Path, key: str) -> Path:
    """Where the scratch server of run ``key`` lives (its owner marker beside its files)."""
    return work_dir / "scratch" / key


def plan_local_scratch(work_dir: Path, key: str, run_id: str = "") -> LocalScratch:
    """Choose the directory and port of a new local scratch server, mark it as the run's, and write its admin
    credentials."""
    real_dir = scratch_dir(work_dir, key)
    if real_dir.exists():
        shutil.rmtree(real_dir)
    real_dir.mkdir(parents=True)
    scratch = LocalScratch(name=f"scratch-{key}", base_dir=_short_path(real_dir, key), port=find_free_port())
    claim(real_dir, run_id or key, scratch=scratch.to_dict())  # before anything starts: the reaper knows it as ours
    fd = os.open(scratch.option_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(f"[client]\nuser={ADMIN_USER}\npassword={secrets.token_urlsafe(18)}\n"
                     f"host=127.0.0.1\nport={scratch.port}\nprotocol=TCP\n")
    return scratch


def _short_path(real_dir: Path, key: str) -> Path:
    """``real_dir``, or a short symlink to it when its socket path would be too long for a unix socket."""
    if len(str(real_dir / "mariadbd.sock")) < MAX_SOCKET_PATH:
        return real_dir
    link = Path(tempfile.gettempdir()) / f"drdrill-{key}"
    link.unlink(missing_ok=True)
    link.symlink_to(real_dir, target_is_directory=True)
    return link


def start_fresh(scratch: LocalScratch) -> None:
    """Initialise an empty datadir, start it, and create the admin user."""
    instance = scratch.instance
    instance.initialize()
    instance.start()
    grant_admin(scratch)


def start_from_datadir(scratch: LocalScratch) -> None:
    """Start on a datadir copied back from a physical backup, whose users are the source's.

    The server first runs without grant checks, long enough to create the drill's own admin user,
    then restarts normally (with --skip-grant-tables MariaDB also disables the event scheduler, which
    would hide the restored events).
    """
    instance = scratch.instance
    instance.initialize()  # writes the config; the datadir is not empty, so nothing is installed
    no_grants = LocalMariaDB(InstanceSpec(instance.spec.name, instance.spec.base_dir, instance.spec.port,
                                          server_id=SCRATCH_SERVER_ID, buffer_pool=SCRATCH_BUFFER_POOL,
                                          log_bin=False, extra={**instance.spec.extra, "skip-grant-tables": "1"}))
    no_grants.initialize()
    no_grants.start()
    with contextlib.closing(no_grants.root_connect()) as connection, connection.cursor() as cursor:
        cursor.execute("FLUSH PRIVILEGES")
    grant_admin(scratch, via=no_grants)
    no_grants.stop()
    instance.initialize()  # back to the normal config
    instance.start()


def grant_admin(scratch: LocalScratch, via: LocalMariaDB | None = None) -> None:
    """Create the admin user from the option file's password (all privileges, local addresses only)."""
    server = via or scratch.instance
    password = scratch.endpoint().password
    with contextlib.closing(server.root_connect()) as connection, connection.cursor() as cursor:
        for host in ("127.0.0.1", "localhost"):
            cursor.execute("CREATE OR REPLACE USER %s@%s IDENTIFIED BY %s", (ADMIN_USER, host, password))
            for grant in SCRATCH_GRANTS:
                cursor.execute(f"GRANT {grant} TO %s@%s{SCRATCH_GRANT_OPTION}", (ADMIN_USER, host))


def destroy(scratch: LocalScratch) -> None:
    """Stop the server and delete everything under its directory (and the short link to it, if any)."""
    scratch.instance.stop()
    if scratch.base_dir.is_symlink():
        shutil.rmtree(scratch.base_dir.resolve(), ignore_errors=True)
        scratch.base_dir.unlink()
    else:
        shutil.rmtree(scratch.base_dir, ignore_errors=True)


def why_not_serving(endpoint: MySQLEndpoint, local: LocalScratch | None) -> str | None:
    """None when the scratch server answers a query; else what is wrong with it (a local one's process and error log)."""
    try:
        endpoint.fetch_all("SELECT 1")
        return None
    except Exception as exc:  # PyMySQL errors: refused, lost, timed out
        why = f"{endpoint.describe()} does not answer ({exc})"
    if local is None:
        return why
    state = "runs" if local.instance.is_running() else "is not running (it died or was killed)"
    return f"{why}; its mariadbd {state}. Last lines of {local.instance.error_log}:\n{local.instance.error_log_tail()}"


def check_not_protected(scratch: ServerIdentity, protected: dict[str, ServerIdentity]) -> None:
    """Raise SafetyInterlock when the scratch server is one of the protected servers (by identity)."""
    for role, identity in protected.items():
        if scratch.same_server_as(identity):
            raise SafetyInterlock(
                f"Refusing to restore into {scratch.label()}: it is the target's {role} "
                f"({identity.label()}). Nothing was written to it.",
                "Point restore_drill.scratch_conn_id at a dedicated scratch server, or leave it null so the "
                "drill creates its own.",
            )


def protected_identities(source: MySQLEndpoint, replica: MySQLEndpoint | None,
                         *, replica_required: bool) -> dict[str, ServerIdentity]:
    """Identities of the servers a drill must never restore into.

    With ``replica_required`` (a given scratch connection, which could be the replica under another
    name) an unreachable replica stops the drill: the interlock cannot be proven.
    """
    protected = {"source": read_identity(source)}
    if replica is not None:
        try:
            protected["replica"] = read_identity(replica)
        except Exception as exc:
            if replica_required:
                raise SafetyInterlock(
                    f"Cannot reach the target's replica {replica.describe()} to prove the scratch server is not it: {exc}.",
                    "Bring the replica's connection back, or let the drill create its own scratch server.",
                ) from exc
    return protected
