"""The one interface of a failover run's steps, and what a run needs from outside it.

A run takes one ``FailoverPath``, chosen once from the target's fault (``path_for``): ``SelfManagedPath``
promotes the replica itself, ``ManagedPath`` lets RDS/Aurora do it. Both implement every step of
``steps.STEPS`` by the same name, each a function of the results of the steps before it (``results``, by step
name, preflight's plan under ``preflight``) returning a JSON-ready dict, so the DAG's tasks (over XCom), the
runner (in one process), the bench and the tests call the same code. Times are epoch seconds.
"""

from __future__ import annotations

import functools
import shutil
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from drdrill.config import Target
from drdrill.drills.failover import canary
from drdrill.drills.failover.logins import FailoverServers
from drdrill.drills.failover.measure import judge
from drdrill.servers.scratch import run_key
from drdrill.errors import DrdrillError
from drdrill.findings import DrillFailed, Finding
from drdrill.servers.faults import Fault, is_managed
from drdrill.servers.owner import claim
from drdrill.storage.objectstore import ObjectStore

CANARY_INTERVAL = 0.1
Results = Mapping[str, Any]


class Connections:
    """The target's connections, resolved at the edge (the tasks module, the CLI) and passed down.

    ``servers``: the logins where the connections point now, resolved on first use (a refused target resolves
    none). ``redirect_source(host, port)`` points the source connection at another server (``{"was": {...},
    "changed": bool}``). ``store`` opens the target's bucket, ``rds`` makes a boto3 RDS client (managed faults
    only). ``source_variable``: the environment variable that defines the source connection, when one does (the
    redirect cannot change it for other processes).
    """

    def __init__(self, servers: Callable[[], FailoverServers], *, redirect_source: Callable[[str, int], dict[str, Any]],
                 store: Callable[[], ObjectStore], rds: Callable[[], Any], source_variable: str | None = None) -> None:
        self._servers = servers
        self.redirect_source = redirect_source
        self.store = store
        self.rds = rds
        self.source_variable = source_variable

    @functools.cached_property
    def servers(self) -> FailoverServers:
        """The logins on both servers, where the connections point now."""
        return self._servers()


@dataclass(frozen=True)
class Run:
    """One drill run: the target, its resolved connections, where its files go, its run id."""

    target: Target
    connections: Connections
    work_dir: Path
    run_id: str

    @property
    def key(self) -> str:
        """A short, path-safe key of the run."""
        return run_key(self.run_id)

    @property
    def directory(self) -> Path:
        """Files of the run (canary acks, logs)."""
        return run_dir(self.work_dir, self.key)


def run_dir(work_dir: Path, key: str) -> Path:
    """Files of one drill run (canary acks, logs)."""
    return work_dir / "failover" / key


def refuse_unless_allowed(target: Target) -> None:
    """CONFIG_INVALID unless the target's config allows failover drills and names a replica (or AWS fails over)."""
    if not target.allow_failover_drill or not (target.replica_conn_id or is_managed(target.failover_drill.fault)):
        raise DrillFailed([Finding(
            "CONFIG_INVALID",
            f"Target {target.name!r} does not allow failover drills (allow_failover_drill: "
            f"{str(target.allow_failover_drill).lower()}, replica_conn_id: {target.replica_conn_id or 'none'}); "
            "nothing was touched.",
            "Set allow_failover_drill: true and replica_conn_id for this target if a failover drill is really wanted.")])


def start_canary(servers: FailoverServers, plan: Results, run_id: str, directory: Path,
                 interval: float = CANARY_INTERVAL) -> dict[str, Any]:
    """Create the canary table (through the admin login) and start writing; waits for the first row."""
    table = plan["canary_table"]
    claim(directory, run_id, daemons=("canary",))  # a dead run's canary is stopped and its files removed by the reaper
    canary.create_table(servers.primary, table)
    started = canary.start_canary([servers.canary_primary, servers.canary_replica], table, run_id, interval, directory)
    first = canary.wait_first_ack(directory)
    if first.server_id != plan["primary_state"]["server_id"]:
        canary.stop_canary(directory)
        raise DrdrillError(f"the canary's first row went to server_id {first.server_id}, not the primary.",
                           "the replica accepts the canary's writes: make it read_only and keep SUPER/READ_ONLY "
                           "ADMIN away from failover_drill.canary_conn_id.")
    return {**started, "first_ack_at": first.at}


def inject(fault: Fault) -> dict[str, Any]:
    """Break the primary."""
    return {"fault": fault.name, "description": fault.describe(), "fault_at": fault.inject()}


def stop_canary(directory: Path) -> dict[str, Any]:
    """Stop the canary (its acks stay for the record)."""
    try:
        return {"canary_stopped": canary.stop_canary(directory)}
    except FileNotFoundError:
        return {"canary_stopped": False}


class FailoverPath(ABC):
    """The steps of one failover run; a subclass per way the primary fails over (self-managed or managed)."""

    managed: ClassVar[bool] = False

    def __init__(self, run: Run) -> None:
        self.run = run
        self.target = run.target
        self.settings = run.target.failover_drill

    # -- what differs between the paths -----------------------------------------------------------

    @abstractmethod
    def check(self) -> dict[str, Any]:
        """Preflight's path-specific checks, touching nothing; the plan. DrillFailed with the findings."""

    @abstractmethod
    def fault(self, plan: Results) -> Fault:
        """The configured injector, with the facts preflight gathered."""

    @abstractmethod
    def approval_steps(self, servers: FailoverServers, hook: str) -> str:
        """What the path does after the fault, as numbered lines of the approval text (from 3.)."""

    @abstractmethod
    def detect(self, results: Results) -> dict[str, Any]:
        """Until the primary stops answering (or the service shows the failover): detection time."""

    @abstractmethod
    def promote(self, results: Results) -> dict[str, Any]:
        """A new primary takes writes (PROMOTION_FAILED unless it does)."""

    @abstractmethod
    def redirect(self, results: Results) -> dict[str, Any]:
        """Clients (the source connection, the user's redirect hook) follow the new primary."""

    @abstractmethod
    def verify_writes(self, results: Results) -> dict[str, Any]:
        """The canary writes to the new primary."""

    @abstractmethod
    def count_lost(self, results: Results) -> dict[str, Any]:
        """Writes acknowledged before the fault that the new primary lacks."""

    @abstractmethod
    def fail_back(self, results: Results) -> dict[str, Any]:
        """Put the topology back (and the source connection); idempotent."""

    @abstractmethod
    def verify_consistency(self, results: Results) -> dict[str, Any]:
        """TOPOLOGY_NOT_RESTORED unless roles and data are as expected after the drill."""

    # -- what both paths do the same way ----------------------------------------------------------

    def servers(self, plan: Results) -> FailoverServers:
        """The logins on the servers preflight found, wherever the connections point now."""
        return self.run.connections.servers.at(plan["addresses"])

    def preflight(self) -> dict[str, Any]:
        """Checks that touch nothing, where both servers are, and what will be done, in words."""
        refuse_unless_allowed(self.target)
        plan = self.check()
        plan["addresses"] = self.run.connections.servers.addresses()
        plan["approval_text"] = self.approval_text(self.fault(plan).describe())
        return plan

    def approval_text(self, fault: str) -> str:
        """Exactly what the drill will do, for a human to approve on a production target (and for a dry run)."""
        target, logins = self.target, self.run.connections.servers
        hook = f" and run {self.settings.redirect_command}" if self.settings.redirect_command else ""
        return (f"Failover drill on {'production ' if target.production else ''}target **{target.name}** "
                f"({', '.join(target.databases)}):\n\n"
                f"1. Start a canary writer (one row every 100 ms) on {logins.primary.host}:{logins.primary.port}.\n"
                f"2. Inject the fault: {fault}.\n" + self.approval_steps(logins, hook))

    def start_canary(self, results: Results) -> dict[str, Any]:
        """Create the canary table and start writing a row every 100 ms through the data-only login."""
        plan = results["preflight"]
        return start_canary(self.servers(plan), plan, self.run.run_id, self.run.directory)

    def inject_fault(self, results: Results) -> dict[str, Any]:
        """Break the primary."""
        return inject(self.fault(results["preflight"]))

    def measure(self, results: Results) -> dict[str, Any]:
        """Bring the old primary back, count what it had that the new primary lacks, judge RTO and RPO."""
        plan = results["preflight"]
        self.fault(plan).undo()
        lost = self.count_lost(results)
        measured = judge(plan, results["inject_fault"], results.get("detect"), results["promote"],
                         results.get("redirect"), results.get("verify_writes"), lost, self.target)
        return {**measured, "lost": lost}

    def cleanup(self, results: Results, *, injected: bool, fail_back_findings: Sequence[Finding]) -> dict[str, Any]:
        """Whatever failed: stop the canary, and once a fault was injected, undo it and restore topology and connection.

        ``fail_back_findings``: what the fail_back step reported. After FAILBACK_FAILED the old primary was left out
        on purpose (policy ``stop``, or a rejoin that cannot work): cleanup leaves it too, rather than saving the
        lost transactions again and repeating the findings. Any other failure of fail_back is retried here.
        """
        try:
            stopped = stop_canary(self.run.directory)
            if not results["preflight"].get("addresses") or not injected:
                return {**stopped, "topology": "untouched"}
            if any(finding.code == "FAILBACK_FAILED" for finding in fail_back_findings):
                return {**stopped, "topology": "left as fail_back reported it (FAILBACK_FAILED)",
                        "roles": "swapped, old primary out of replication"}
            return {**stopped, **self.fail_back(results)}
        finally:  # the acks were counted (measure) and the logs are done with: nothing of the run stays behind
            shutil.rmtree(self.run.directory, ignore_errors=True)

    def expect_swapped(self, results: Results) -> bool:
        """Roles end swapped only when a promotion happened and no switch back is configured."""
        return not self.settings.switch_back and results.get("promote") is not None
