"""Fault injectors: the ways a failover drill breaks the primary, each with its undo.

* ``kill``: SIGKILL of a ``mariadbd`` on this machine (the sandbox), as a crash would.
* ``shutdown``: ``SHUTDOWN`` over SQL (needs the SHUTDOWN privilege), for servers elsewhere.
* ``rds_reboot`` / ``aurora_failover``: the managed service's own failover, through the amazon provider;
  AWS promotes the standby itself, so the drill measures and checks instead of promoting.

``undo`` is idempotent: it brings the old primary back (restarting a local server with the command line
it had, or running ``failover_drill.restart_command``) and does nothing when it already runs.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from drdrill.config import FailoverDrill
from drdrill.endpoints import MySQLEndpoint
from drdrill.errors import DrdrillError
from drdrill.failover.topology import is_down, wait_until_up
from drdrill.toolenv import tool_environment

RESTART_TIMEOUT = 120.0
READ_ONLY_FLAG = "--read-only=ON"


def local_process(endpoint: MySQLEndpoint) -> dict[str, Any] | None:
    """The pid, command line and directory of the server's ``mariadbd`` when it runs on this machine; else None."""
    pid_file, hostname = endpoint.fetch_all("SELECT @@pid_file, @@hostname")[0]
    if str(hostname) != socket.gethostname():
        return None
    try:
        pid = int(Path(str(pid_file)).read_text().strip())
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
        argv = [part.decode() for part in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if part]
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except (OSError, ValueError):
        return None
    if comm not in ("mariadbd", "mysqld"):
        return None
    return {"pid": pid, "argv": argv, "cwd": cwd, "hostname": str(hostname)}


class Fault(ABC):
    """One way to break the primary, and to bring it back afterwards."""

    name = ""
    managed = False  # True: the service promotes the standby itself

    def __init__(self, settings: FailoverDrill, primary: MySQLEndpoint, facts: dict[str, Any],
                 log_dir: Path) -> None:
        self.settings = settings
        self.primary = primary
        self.facts = facts
        self.log_dir = log_dir

    @abstractmethod
    def describe(self) -> str:
        """One sentence for the approval request: what exactly will be done to which server."""

    @abstractmethod
    def inject(self) -> float:
        """Break the primary; the epoch time the fault took effect."""

    def undo(self) -> dict[str, Any]:
        """Bring the old primary back if it is down; ``{"restarted": bool, "how": ...}``."""
        if not is_down(self.primary):
            return {"restarted": False, "how": "it was running"}
        how = self._restart()
        wait_until_up(self.primary, RESTART_TIMEOUT)
        return {"restarted": True, "how": how}

    def _restart(self) -> str:
        if self.settings.restart_command:
            done = subprocess.run(shlex.split(self.settings.restart_command), capture_output=True, text=True,
                                  timeout=RESTART_TIMEOUT, env=tool_environment(), check=False)
            if done.returncode != 0:
                raise DrdrillError(f"failover_drill.restart_command exited with {done.returncode}: "
                                   f"{(done.stderr or done.stdout)[-800:]}", "fix the command or start the server by hand.")
            return "restart_command"
        argv = self.facts.get("argv")
        if not argv:
            raise DrdrillError(f"{self.primary.describe()} is down and the drill does not know how to start it.",
                               "set failover_drill.restart_command (e.g. 'systemctl start mariadb') and start it by hand now.")
        # Back as read-only: the drill decides whether it rejoins as a replica or takes writes again.
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / "old-primary.out", "ab") as out:
            read_only = [] if READ_ONLY_FLAG in argv else [READ_ONLY_FLAG]  # once, however often it is restarted
            subprocess.Popen([*argv, *read_only], cwd=self.facts.get("cwd") or "/", stdin=subprocess.DEVNULL,
                             stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=tool_environment())
        return "same command line, read-only"


class KillFault(Fault):
    """SIGKILL of a local mariadbd."""

    name = "kill"

    def describe(self) -> str:
        return (f"kill -9 of mariadbd pid {self.facts.get('pid')} ({' '.join(self.facts.get('argv', []))}) serving "
                f"{self.primary.host}:{self.primary.port} on {self.facts.get('hostname')}")

    def inject(self) -> float:
        pid = int(self.facts["pid"])
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if Path(f"/proc/{pid}").exists() else []
        if not argv or argv[0].decode() != self.facts["argv"][0]:
            raise DrdrillError(f"pid {pid} is no longer the primary's mariadbd (it restarted since preflight).",
                               "re-run the drill; preflight reads the pid again.")
        os.kill(pid, signal.SIGKILL)
        return time.time()


class ShutdownFault(Fault):
    """``SHUTDOWN`` over SQL."""

    name = "shutdown"

    def describe(self) -> str:
        return f"SHUTDOWN statement sent to {self.primary.describe()}"

    def inject(self) -> float:
        import pymysql

        try:
            self.primary.fetch_all("SHUTDOWN")
        except pymysql.MySQLError as exc:
            if exc.args and exc.args[0] in (1227, 1045):
                raise DrdrillError(f"SHUTDOWN was refused on {self.primary.describe()}: {exc}.",
                                   "GRANT SHUTDOWN ON *.* to the source connection's user.") from None
        return time.time()


class _AwsFault(Fault):
    managed = True

    def _client(self) -> Any:
        from airflow.providers.amazon.aws.hooks.rds import RdsHook

        return RdsHook(aws_conn_id=self.settings.aws_conn_id).conn

    def undo(self) -> dict[str, Any]:
        self._wait_available()
        return {"restarted": False, "how": "managed by AWS"}

    @abstractmethod
    def _wait_available(self) -> None:
        """Wait until the service reports the instance or cluster available."""


class RdsRebootFault(_AwsFault):
    """RDS reboot with forced failover to the Multi-AZ standby."""

    name = "rds_reboot"

    def describe(self) -> str:
        return f"RDS RebootDBInstance(ForceFailover=True) of {self.settings.db_instance_id}"

    def inject(self) -> float:
        self._client().reboot_db_instance(DBInstanceIdentifier=self.settings.db_instance_id, ForceFailover=True)
        return time.time()

    def _wait_available(self) -> None:
        self._client().get_waiter("db_instance_available").wait(
            DBInstanceIdentifier=self.settings.db_instance_id, WaiterConfig={"Delay": 5, "MaxAttempts": 120})


class AuroraFailoverFault(_AwsFault):
    """Aurora FailoverDBCluster to another instance of the cluster."""

    name = "aurora_failover"

    def describe(self) -> str:
        return f"Aurora FailoverDBCluster of {self.settings.db_cluster_id}"

    def writer(self) -> str:
        """The cluster's current writer instance."""
        cluster = self._client().describe_db_clusters(DBClusterIdentifier=self.settings.db_cluster_id)["DBClusters"][0]
        return next(member["DBInstanceIdentifier"] for member in cluster["DBClusterMembers"] if member["IsClusterWriter"])

    def inject(self) -> float:
        self._client().failover_db_cluster(DBClusterIdentifier=self.settings.db_cluster_id)
        return time.time()

    def _wait_available(self) -> None:
        self._client().get_waiter("db_cluster_available").wait(
            DBClusterIdentifier=self.settings.db_cluster_id, WaiterConfig={"Delay": 5, "MaxAttempts": 120})


FAULT_TYPES: dict[str, type[Fault]] = {kind.name: kind for kind in (KillFault, ShutdownFault, RdsRebootFault,
                                                                     AuroraFailoverFault)}


def build_fault(settings: FailoverDrill, primary: MySQLEndpoint, facts: dict[str, Any], log_dir: Path) -> Fault:
    """The injector ``settings.fault`` names."""
    return FAULT_TYPES[settings.fault](settings, primary, facts, log_dir)
