"""The failover drill on a managed service: RDS Multi-AZ reboot with forced failover, Aurora cluster failover.

AWS promotes the standby (or a reader) itself and the endpoint's DNS name follows the writer, so the drill
does not promote, redirect or rejoin anything. It measures instead: when the endpoint or the service showed
the failover (detection), when the endpoint accepted a write again (RTO), which acknowledged canary rows are
missing afterwards (lost writes; a managed writer's binlog is not reachable, so there is no GTID count), and
it checks that the service ends available with the writer where the drill found it (Aurora fails back with a
second FailoverDBCluster when ``switch_back`` is set; an RDS Multi-AZ instance keeps its new zone).

The drill's ``source_conn_id`` must be the instance or cluster *endpoint*; a ``replica_conn_id`` is not used.
"""

from __future__ import annotations

import contextlib
import functools
import time
from pathlib import Path
from typing import Any

import pymysql

from drdrill.config import Target
from drdrill.drills.failover import canary
from drdrill.drills.failover.logins import FailoverServers
from drdrill.drills.failover.path import FailoverPath, Results
from drdrill.drills.failover.redirect import run_redirect_command
from drdrill.endpoints import MySQLEndpoint
from drdrill.errors import DrdrillError
from drdrill.findings import DrillFailed, Finding
from drdrill.servers.faults import ManagedFault, managed_fault
from drdrill.servers.topology import is_down, state_of

PROBE_INTERVAL = 0.2


class ManagedPath(FailoverPath):
    """RDS Multi-AZ or Aurora: AWS promotes, the writer endpoint follows; the drill injects, waits, measures, checks.

    The writer endpoint is both the old and the new primary (the connections give it as both servers).
    """

    managed = True

    @functools.cached_property
    def _fault(self) -> ManagedFault:
        settings = self.settings
        return managed_fault(settings.fault, self.run.connections.rds(), db_instance_id=settings.db_instance_id,
                             db_cluster_id=settings.db_cluster_id)

    def _endpoint(self, results: Results) -> MySQLEndpoint:
        return self.servers(results["preflight"]).primary

    def check(self) -> dict[str, Any]:
        return preflight(self.target, self.run.connections.servers.primary, self._fault)

    def fault(self, plan: Results) -> ManagedFault:
        return self._fault

    def approval_steps(self, servers: FailoverServers, hook: str) -> str:
        again = ("fail the cluster back to its original writer" if self.settings.switch_back
                 else "leave the writer where AWS put it")
        return (f"3. Wait until AWS has promoted and the endpoint takes a write{hook}.\n"
                f"4. Wait until the service is available, then {again}.\n\n"
                "Writes through the endpoint fail from step 2 until AWS completes the failover.")

    def detect(self, results: Results) -> dict[str, Any]:
        return detect(self._endpoint(results), self._fault, results["preflight"], results["inject_fault"],
                      self.settings.detection_timeout.total_seconds())

    def promote(self, results: Results) -> dict[str, Any]:
        """Wait until AWS has promoted and the endpoint takes a write."""
        return wait_for_promotion(self._endpoint(results), self._fault, results["preflight"], results["detect"],
                                  self.settings.promotion_timeout.total_seconds())

    def redirect(self, results: Results) -> dict[str, Any]:
        """The endpoint's DNS follows the writer: only the user's hook runs."""
        endpoint = self._endpoint(results)
        return {"connection": "unchanged (the endpoint follows the writer)",
                "hook": run_redirect_command(self.settings.redirect_command, endpoint, endpoint),
                "redirected_at": time.time()}

    def verify_writes(self, results: Results) -> dict[str, Any]:
        return verify_writes(self.run.directory, results["detect"]["detected_at"])

    def count_lost(self, results: Results) -> dict[str, Any]:
        return count_lost(self._endpoint(results), results["preflight"], self.run.directory, self.run.run_id,
                          results["inject_fault"]["fault_at"])

    def fail_back(self, results: Results) -> dict[str, Any]:
        return {**restore(self.target, self._fault, results["preflight"]), "connection": "unchanged"}

    def verify_consistency(self, results: Results) -> dict[str, Any]:
        return verify_consistency(self._endpoint(results), self._fault, results["preflight"],
                                  expect_swapped=self.expect_swapped(results))


def preflight(target: Target, endpoint: MySQLEndpoint, fault: ManagedFault) -> dict[str, Any]:
    """The endpoint answers as a writable primary and the service can fail over; touches nothing."""
    try:
        primary = state_of(endpoint)
    except pymysql.MySQLError as exc:
        raise DrillFailed([Finding("TARGET_UNAVAILABLE", f"Preflight could not read {endpoint.describe()}: {exc}.")]) from None
    try:
        service = fault.service_state()
    except Exception as exc:  # botocore's errors: unknown id, credentials, endpoint
        raise DrillFailed([Finding("CONFIG_INVALID", f"{fault.describe()}: the service could not be read: {exc}.",
                                   "Check failover_drill.aws_conn_id and db_instance_id / db_cluster_id.")]) from None
    findings = [Finding("CONFIG_INVALID", f"{fault.describe()} cannot run now: {problem}. Nothing was touched.")
                for problem in fault.problems(service)]
    if primary.read_only:
        findings.append(Finding("REPLICATION_BROKEN", f"{endpoint.describe()} is read-only: source_conn_id must be "
                                "the writer (cluster or instance) endpoint, not a reader.",
                                "Point source_conn_id at the cluster endpoint (not the -ro- reader endpoint)."))
    plan = {"managed": True, "primary_state": primary.to_dict(), "service": service, "fault": fault.name,
            "lag_seconds": None, "lag_transactions": None,
            "canary_table": canary.canary_table(target.databases[0]), "checked_at": time.time()}
    if findings:
        raise DrillFailed(findings, outcome=plan)
    return plan


def detect(endpoint: MySQLEndpoint, fault: ManagedFault, plan: Results, injected: Results,
           timeout: float) -> dict[str, Any]:
    """The first moment the endpoint stopped answering or the service showed the failover."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_down(endpoint, timeout=1.0):
            how = "the endpoint stopped answering"
        elif fault.failing_over(plan["service"], fault.service_state()):
            how = "the service reported the failover"
        else:
            time.sleep(PROBE_INTERVAL)
            continue
        detected_at = time.time()
        return {"detected_at": detected_at, "how": how,
                "detection_seconds": round(max(0.0, detected_at - injected["fault_at"]), 3)}
    raise DrdrillError(f"Neither {endpoint.describe()} nor the service showed a failover within {timeout:.0f} s of "
                       f"{fault.describe()}.", "check the instance/cluster id and the RDS events in the AWS console.")


def wait_for_promotion(endpoint: MySQLEndpoint, fault: ManagedFault, plan: Results,
                       detected: Results, timeout: float) -> dict[str, Any]:
    """PROMOTION_FAILED unless the service finished the failover and the endpoint took a write within ``timeout``."""
    began = detected["detected_at"]
    try:
        service = fault.wait_for(lambda state: fault.failed_over(plan["service"], state), timeout, "failed over")
        writable_at = _first_write(endpoint, plan["canary_table"], max(1.0, began + timeout - time.time()))
    except DrdrillError as exc:
        raise DrillFailed([Finding("PROMOTION_FAILED", f"The managed failover did not complete: {exc.problem}",
                                   exc.fix or "")]) from None
    return {"service": service, "applied": None, "writable_at": writable_at, "started_at": began,
            "promotion_seconds": round(writable_at - began, 3)}


def _first_write(endpoint: MySQLEndpoint, table: str, timeout: float) -> float:
    """Retry a probe write through the endpoint until it commits on a writable server; its epoch time."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            with contextlib.closing(endpoint.connect(connect_timeout=2, read_timeout=5)) as conn, conn.cursor() as cur:
                cur.execute(canary.promotion_write_sql(table))
            return time.time()
        except pymysql.MySQLError as exc:
            last = str(exc)
            time.sleep(PROBE_INTERVAL)
    raise DrdrillError(f"{endpoint.describe()} accepted no write within {timeout:.0f} s (last error: {last}).",
                       "check that source_conn_id is the writer endpoint and raise failover_drill.promotion_timeout "
                       "if the service is only slow.")


def verify_writes(directory: Path, since: float, timeout: float = 30) -> dict[str, Any]:
    """The canary's first row acknowledged after the failover was detected: clients write again."""
    ack = canary.wait_for_ack(directory, lambda ack: ack.at > since, timeout)
    if ack is not None:
        return {"first_canary_on_new_primary_at": ack.at, "seq": ack.seq, "server_id": ack.server_id}
    raise DrillFailed([Finding("PROMOTION_FAILED", f"The canary could not write through the endpoint within "
                               f"{timeout:.0f} s after the failover.",
                               "check failover_drill.canary_conn_id: it must reach the writer endpoint.")])


def count_lost(endpoint: MySQLEndpoint, plan: Results, directory: Path, run_id: str,
               fault_at: float) -> dict[str, Any]:
    """Canary rows acknowledged before the fault that the endpoint no longer has (lost writes, by canary only)."""
    acked = [ack for ack in canary.read_acks(directory / "acks.txt") if ack.at <= fault_at]
    present = {int(row[0]) for row in endpoint.fetch_all(
        f"SELECT seq FROM {canary.quoted(plan['canary_table'])} WHERE run_id = %s", (run_id,))}
    return {"gtid_checked": False, "lost_transactions": [], "lost_transaction_count": 0, "lost_bytes": 0,
            **canary.losses(acked, present)}


def restore(target: Target, fault: ManagedFault, plan: Results) -> dict[str, Any]:
    """Wait until the service is available; with ``switch_back``, move the writer back where it was. Idempotent."""
    actions = [f"service available ({fault.undo()['how']})"]
    if target.failover_drill.switch_back:
        moved = fault.switch_back(plan["service"])
        actions.append(moved or "writer already where the drill found it")
        return {"actions": actions, "roles": "original", "findings": []}
    return {"actions": actions, "roles": "swapped", "findings": []}


def verify_consistency(endpoint: MySQLEndpoint, fault: ManagedFault, plan: Results,
                       expect_swapped: bool) -> dict[str, Any]:
    """TOPOLOGY_NOT_RESTORED unless the service is available, the writer is where expected and the endpoint is
    writable. (No checksums: the standby is not reachable as a server of its own, and the service keeps it in sync.)"""
    problems = []
    service = fault.service_state()
    if service["status"] != "available":
        problems.append(f"the service is {service['status']!r}")
    expected = plan["service"].get("writer")
    if expected is not None and not expect_swapped and service.get("writer") != expected:
        problems.append(f"the writer is {service.get('writer')}, not {expected} as before the drill")
    try:
        if state_of(endpoint).read_only:
            problems.append(f"{endpoint.describe()} is read-only")
    except pymysql.MySQLError as exc:
        problems.append(f"{endpoint.describe()} does not answer: {exc}")
    if problems:
        raise DrillFailed([Finding("TOPOLOGY_NOT_RESTORED", "; ".join(problems) + ".")])
    return {"service": service, "endpoint": endpoint.describe()}
