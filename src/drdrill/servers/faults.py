"""Fault injectors: the ways a failover drill breaks the primary, each with its undo.

* ``kill``: SIGKILL of a ``mariadbd`` on this machine (the sandbox), as a crash would.
* ``shutdown``: ``SHUTDOWN`` over SQL (needs the SHUTDOWN privilege), for servers elsewhere.
* ``rds_reboot`` / ``aurora_failover``: the managed service's own failover, through a boto3 RDS client the
  caller passes in; AWS promotes the standby itself, so the drill measures and checks instead of promoting.

``FAULT_TYPES`` is the one list of faults (the config's choices derive from it); each knows whether it is managed.

``undo`` is idempotent: it brings the old primary back (restarting a local server with the command line
it had, or running ``failover_drill.restart_command``) and does nothing when it already runs.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from drdrill.endpoints import MySQLEndpoint
from drdrill.errors import DrdrillError
from drdrill.servers.hooks import run_hook
from drdrill.servers.topology import is_down, wait_until_up
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


def _identifying(argv: list[str]) -> str:
    """The executable and the options that say which server it is; the others stay out of messages."""
    kept = [part for part in argv[1:] if part.startswith(("--defaults-file=", "--datadir=", "--port="))]
    return " ".join(argv[:1] + kept)


class Fault(ABC):
    """One way to break the primary, and to bring it back afterwards."""

    name: ClassVar[str] = ""
    managed: ClassVar[bool] = False  # True: the service promotes the standby itself

    @abstractmethod
    def describe(self) -> str:
        """One sentence for the approval request: what exactly will be done to which server."""

    @abstractmethod
    def inject(self) -> float:
        """Break the primary; the epoch time the fault took effect."""

    @abstractmethod
    def undo(self) -> dict[str, Any]:
        """Bring the old primary back if it is down; ``{"restarted": bool, "how": ...}``. Idempotent."""


class ServerFault(Fault):
    """A fault done to the primary's server itself; ``undo`` starts it again (read-only).

    ``facts``: the local process preflight found (``local_process``); ``restart_command``: the user's way to
    start a server elsewhere (``failover_drill.restart_command``).
    """

    def __init__(self, primary: MySQLEndpoint, facts: dict[str, Any], log_dir: Path,
                 restart_command: str | None = None) -> None:
        self.primary = primary
        self.facts = facts
        self.log_dir = log_dir
        self.restart_command = restart_command

    def undo(self) -> dict[str, Any]:
        """Bring the old primary back if it is down; ``{"restarted": bool, "how": ...}``."""
        if not is_down(self.primary):
            return {"restarted": False, "how": "it was running"}
        how = self._restart()
        wait_until_up(self.primary, RESTART_TIMEOUT)
        return {"restarted": True, "how": how}

    def _restart(self) -> str:
        if self.restart_command:
            run_hook("restart_command", self.restart_command, timeout=RESTART_TIMEOUT,
                     consequence="start the server by hand.")
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


class KillFault(ServerFault):
    """SIGKILL of a local mariadbd."""

    name = "kill"

    def describe(self) -> str:
        process = _identifying(self.facts.get("argv", []))
        return (f"kill -9 of mariadbd pid {self.facts.get('pid')} ({process}) serving "
                f"{self.primary.host}:{self.primary.port} on {self.facts.get('hostname')}")

    def inject(self) -> float:
        pid = int(self.facts["pid"])
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if Path(f"/proc/{pid}").exists() else []
        if not argv or argv[0].decode() != self.facts["argv"][0]:
            raise DrdrillError(f"pid {pid} is no longer the primary's mariadbd (it restarted since preflight).",
                               "re-run the drill; preflight reads the pid again.")
        os.kill(pid, signal.SIGKILL)
        return time.time()


class ShutdownFault(ServerFault):
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


class ManagedFault(Fault):
    """A managed service's own failover: AWS moves the writer, the endpoint's DNS name follows it.

    ``rds``: a boto3 RDS client (resolved by the caller); the DB instance or cluster it acts on, by id.
    """

    managed = True
    POLL_SECONDS = 1.0

    def __init__(self, rds: Any, *, db_instance_id: str | None = None, db_cluster_id: str | None = None) -> None:
        self._rds = rds
        self.db_instance_id = db_instance_id
        self.db_cluster_id = db_cluster_id

    @abstractmethod
    def service_state(self) -> dict[str, Any]:
        """What the service says now: ``status`` and where the writer is."""

    @abstractmethod
    def problems(self, state: dict[str, Any]) -> list[str]:
        """Why this fault cannot be injected on a service in ``state`` (empty when it can)."""

    @abstractmethod
    def failing_over(self, before: dict[str, Any], now: dict[str, Any]) -> bool:
        """True once the service shows the failover has begun (or is already done)."""

    @abstractmethod
    def failed_over(self, before: dict[str, Any], now: dict[str, Any]) -> bool:
        """True once the service is available again with the writer moved as this fault moves it."""

    def switch_back(self, before: dict[str, Any]) -> str | None:
        """Put the writer back where it was before the drill; what was done, or None when nothing is needed."""
        return None

    def undo(self) -> dict[str, Any]:
        """Wait until the service is available again (AWS restarts and promotes by itself)."""
        self.wait_for(lambda state: state["status"] == "available", RESTART_TIMEOUT, "to be available again")
        return {"restarted": False, "how": "managed by AWS"}

    def wait_for(self, condition: Any, timeout: float, what: str) -> dict[str, Any]:
        """Poll ``service_state`` until ``condition(state)``; DrdrillError naming the last state after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.service_state()
            if condition(state):
                return state
            if time.monotonic() >= deadline:
                raise DrdrillError(f"{self.describe()}: the service did not get {what} within {timeout:.0f} s "
                                   f"(now {state}).", "look at the RDS events of the instance/cluster in the AWS console.")
            time.sleep(self.POLL_SECONDS)


class RdsRebootFault(ManagedFault):
    """RDS reboot with forced failover to the Multi-AZ standby."""

    name = "rds_reboot"

    def describe(self) -> str:
        return f"RDS RebootDBInstance(ForceFailover=True) of {self.db_instance_id}"

    def service_state(self) -> dict[str, Any]:
        instance = self._rds.describe_db_instances(
            DBInstanceIdentifier=self.db_instance_id)["DBInstances"][0]
        return {"status": instance["DBInstanceStatus"], "multi_az": bool(instance.get("MultiAZ")),
                "zone": instance.get("AvailabilityZone"), "standby_zone": instance.get("SecondaryAvailabilityZone")}

    def problems(self, state: dict[str, Any]) -> list[str]:
        found = [] if state["status"] == "available" else [f"the instance is {state['status']!r}, not 'available'"]
        if not state["multi_az"]:
            found.append("the instance is not Multi-AZ, so a forced failover has no standby to fail over to")
        return found

    def inject(self) -> float:
        self._rds.reboot_db_instance(DBInstanceIdentifier=self.db_instance_id, ForceFailover=True)
        return time.time()

    def failing_over(self, before: dict[str, Any], now: dict[str, Any]) -> bool:
        return now["status"] != "available" or now["zone"] != before["zone"]

    def failed_over(self, before: dict[str, Any], now: dict[str, Any]) -> bool:
        return now["status"] == "available"


class AuroraFailoverFault(ManagedFault):
    """Aurora FailoverDBCluster to another instance of the cluster."""

    name = "aurora_failover"

    def describe(self) -> str:
        return f"Aurora FailoverDBCluster of {self.db_cluster_id}"

    def service_state(self) -> dict[str, Any]:
        cluster = self._rds.describe_db_clusters(DBClusterIdentifier=self.db_cluster_id)["DBClusters"][0]
        members = cluster.get("DBClusterMembers") or []
        writers = [member["DBInstanceIdentifier"] for member in members if member.get("IsClusterWriter")]
        return {"status": cluster["Status"], "writer": writers[0] if writers else None,
                "members": sorted(member["DBInstanceIdentifier"] for member in members)}

    def problems(self, state: dict[str, Any]) -> list[str]:
        found = [] if state["status"] == "available" else [f"the cluster is {state['status']!r}, not 'available'"]
        if len(state["members"]) < 2:
            found.append(f"the cluster has {len(state['members'])} instance(s); a failover needs a reader to promote")
        if state["writer"] is None:
            found.append("the cluster has no writer instance")
        return found

    def inject(self) -> float:
        self._rds.failover_db_cluster(DBClusterIdentifier=self.db_cluster_id)
        return time.time()

    def failing_over(self, before: dict[str, Any], now: dict[str, Any]) -> bool:
        return now["status"] != "available" or now["writer"] != before["writer"]

    def failed_over(self, before: dict[str, Any], now: dict[str, Any]) -> bool:
        return now["status"] == "available" and now["writer"] not in (None, before["writer"])

    def switch_back(self, before: dict[str, Any]) -> str | None:
        if self.service_state()["writer"] == before["writer"]:
            return None
        self._rds.failover_db_cluster(DBClusterIdentifier=self.db_cluster_id,
                                           TargetDBInstanceIdentifier=before["writer"])
        self.wait_for(lambda state: state["status"] == "available" and state["writer"] == before["writer"],
                      RESTART_TIMEOUT, f"its writer back on {before['writer']}")
        return f"FailoverDBCluster back to {before['writer']}"


FAULT_TYPES: dict[str, type[Fault]] = {kind.name: kind for kind in (KillFault, ShutdownFault, RdsRebootFault,
                                                                     AuroraFailoverFault)}


def is_managed(fault: str) -> bool:
    """True when the fault named ``fault`` is a managed service's own failover (AWS promotes by itself)."""
    return FAULT_TYPES[fault].managed


def server_fault(fault: str, primary: MySQLEndpoint, facts: dict[str, Any], log_dir: Path,
                 restart_command: str | None = None) -> ServerFault:
    """The self-managed injector ``fault`` names."""
    kind = FAULT_TYPES[fault]
    if not issubclass(kind, ServerFault):
        raise DrdrillError(f"fault {fault!r} is a managed service's failover, not one done to a server.",
                           "use the managed failover path for it.")
    return kind(primary, facts, log_dir, restart_command)


def managed_fault(fault: str, rds: Any, *, db_instance_id: str | None = None,
                  db_cluster_id: str | None = None) -> ManagedFault:
    """The managed-service injector ``fault`` names, on the instance (RDS) or cluster (Aurora) it needs."""
    kind = FAULT_TYPES[fault]
    if not issubclass(kind, ManagedFault):
        raise DrdrillError(f"fault {fault!r} is done to a server, not a managed service's failover.",
                           "use the self-managed failover path for it.")
    return kind(rds, db_instance_id=db_instance_id, db_cluster_id=db_cluster_id)
