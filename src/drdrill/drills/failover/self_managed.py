"""The self-managed failover: drdrill promotes the replica, redirects the source connection, and fails back.

``SelfManagedPath`` is its ``FailoverPath``; the functions below it take explicit servers, so the bench and the
tests call them too.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pymysql

from drdrill.config import FailoverDrill, Target
from drdrill.drills.failover import canary, errant
from drdrill.drills.failover.consistency import verify_consistency
from drdrill.drills.failover.fail_back import restore_topology
from drdrill.drills.failover.logins import FailoverServers
from drdrill.drills.failover.path import FailoverPath, Results
from drdrill.drills.failover.preflight import preflight
from drdrill.drills.failover.redirect import run_redirect_command
from drdrill.errors import DrdrillError
from drdrill.findings import DrillFailed, Finding
from drdrill.servers.faults import ServerFault, server_fault
from drdrill.servers.gtid import transactions_behind
from drdrill.servers.topology import promote, state_of, wait_until_down
from drdrill.storage.layout import target_root


class SelfManagedPath(FailoverPath):
    """A primary and its replica, both reachable: the drill promotes, redirects and fails back itself."""

    def check(self) -> dict[str, Any]:
        refuse_source_from_environment(self.target, self.run.connections.source_variable)
        return preflight(self.target, self.run.connections.servers)

    def fault(self, plan: Results) -> ServerFault:
        return fault_for(self.target, self.servers(plan), plan, self.run.directory)

    def approval_steps(self, servers: FailoverServers, hook: str) -> str:
        settings = self.settings
        back = ("then switch roles back so the original primary takes writes again" if settings.switch_back
                else "and leave the replica as the new primary")
        return (f"3. Promote the replica {servers.replica.host}:{servers.replica.port} (STOP SLAVE, RESET SLAVE ALL, "
                "read_only=OFF).\n"
                f"4. Point the Airflow connection `{self.target.source_conn_id}` at it{hook}.\n"
                f"5. Bring the old primary back as a replica (errant transactions: {settings.errant_transactions}), "
                f"{back}.\n\n"
                "Writes to the primary fail from step 2 until step 3 completes.")

    def detect(self, results: Results) -> dict[str, Any]:
        return detect(self.servers(results["preflight"]), results["inject_fault"],
                      self.settings.detection_timeout.total_seconds())

    def promote(self, results: Results) -> dict[str, Any]:
        plan = results["preflight"]
        return promote_replica(self.servers(plan), plan, self.settings)

    def redirect(self, results: Results) -> dict[str, Any]:
        """Point the source connection (what every other drill uses) at the new primary; run the user's hook."""
        plan = results["preflight"]
        logins = self.servers(plan)
        new = plan["addresses"]["replica"]
        moved = self.run.connections.redirect_source(new["host"], new["port"])
        hook = run_redirect_command(self.settings.redirect_command, logins.replica, logins.primary)
        return {"connection": self.target.source_conn_id, "was": moved["was"], "now": new, "hook": hook,
                "redirected_at": time.time()}

    def verify_writes(self, results: Results) -> dict[str, Any]:
        return verify_writes(self.run.directory, int(results["preflight"]["replica_state"]["server_id"]))

    def count_lost(self, results: Results) -> dict[str, Any]:
        plan = results["preflight"]
        return count_lost(self.servers(plan), plan, results["promote"], self.run.directory, self.run.work_dir,
                          self.run.run_id)

    def fail_back(self, results: Results) -> dict[str, Any]:
        """Put the topology back (errant transactions saved to S3 and handled per policy), then the source connection."""
        plan = results["preflight"]
        logins = self.servers(plan)
        save_key = (f"{target_root(self.target.storage.prefix, self.target.name)}failover/{self.run.key}/"
                    "lost-transactions.binlog.sql.zst")
        restored = restore_topology(self.target, logins, self.fault(plan), store=self.run.connections.store(),
                                    save_key=save_key, work_dir=self.run.work_dir, link=plan["replica_state"].get("link"))
        original = restored["roles"] == "original"
        restored["connection"] = self.point_source_at(plan["addresses"]["primary" if original else "replica"])
        if original and restored["connection"] != "unchanged":  # clients were redirected: the hook moves them back too
            restored["hook"] = run_redirect_command(self.settings.redirect_command, logins.primary, logins.replica)
        return restored

    def point_source_at(self, address: Mapping[str, Any]) -> str:
        """Redirect the source connection to ``address`` unless it already points there; says what it did."""
        if not self.run.connections.redirect_source(address["host"], address["port"])["changed"]:
            return "unchanged"
        return f"{self.target.source_conn_id} -> {address['host']}:{address['port']}"

    def verify_consistency(self, results: Results) -> dict[str, Any]:
        return verify_consistency(self.target, self.servers(results["preflight"]),
                                  expect_swapped=self.expect_swapped(results))


def refuse_source_from_environment(target: Target, variable: str | None) -> None:
    """CONFIG_INVALID when the source connection comes from an environment variable the redirect cannot change."""
    if variable:
        raise DrillFailed([Finding(
            "CONFIG_INVALID",
            f"The source connection {target.source_conn_id!r} is defined by the environment variable {variable}; the "
            "drill must point it at the new primary and back, which it cannot do for other processes. Nothing was touched.",
            "Define the connection in the Airflow metastore (airflow connections add) and unset the variable.")])


def fault_for(target: Target, servers: FailoverServers, plan: Mapping[str, Any], directory: Path) -> ServerFault:
    """The configured injector, with the facts preflight gathered; its logs in the run's ``directory``."""
    settings = target.failover_drill
    return server_fault(settings.fault, servers.primary, plan.get("process") or {}, directory,
                        settings.restart_command)


def detect(servers: FailoverServers, injected: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    """Probe the primary until it stops answering."""
    detected_at = wait_until_down(servers.primary, timeout)
    return {"detected_at": detected_at, "detection_seconds": round(max(0.0, detected_at - injected["fault_at"]), 3)}


def promote_replica(servers: FailoverServers, plan: Mapping[str, Any], settings: FailoverDrill) -> dict[str, Any]:
    """PROMOTION_FAILED unless the replica applied what it had, stopped replicating and took a write."""
    try:
        return promote(servers.replica, settings.promotion_timeout.total_seconds(),
                       canary.promotion_write_sql(plan["canary_table"]))
    except (DrdrillError, pymysql.MySQLError) as exc:
        problem = exc.problem if isinstance(exc, DrdrillError) else str(exc)
        fix = exc.fix if isinstance(exc, DrdrillError) else ""
        raise DrillFailed([Finding("PROMOTION_FAILED", f"Promoting {servers.replica.describe()} failed: {problem}",
                                   fix or "")]) from None


def verify_writes(directory: Path, new_primary_id: int, timeout: float = 30) -> dict[str, Any]:
    """Wait until the canary has a row acknowledged by the new primary: clients can write again."""
    ack = canary.wait_for_ack(directory, lambda ack: ack.server_id == new_primary_id, timeout)
    if ack is not None:
        return {"first_canary_on_new_primary_at": ack.at, "seq": ack.seq}
    raise DrillFailed([Finding("PROMOTION_FAILED", f"The canary could not write to the new primary (server_id "
                               f"{new_primary_id}) within {timeout:.0f} s after promotion.",
                               "check failover_drill.canary_conn_id's grants on the replica and its read_only setting.")])


def count_lost(servers: FailoverServers, plan: Mapping[str, Any], promoted: Mapping[str, Any], directory: Path,
               work_dir: Path, run_id: str) -> dict[str, Any]:
    """Lost writes, by GTID (the old primary's binlog vs what the new primary had) and by canary row."""
    old = state_of(servers.primary)
    since = promoted["applied"]
    lost = errant.list_lost(servers.primary, since, work_dir) if transactions_behind(old.gtid_binlog_pos, since) else []
    old_id = plan["primary_state"]["server_id"]
    acked = [ack for ack in canary.read_acks(directory / "acks.txt") if ack.server_id == old_id]
    table = plan["canary_table"]
    present = {int(row[0]) for row in servers.replica.fetch_all(
        f"SELECT seq FROM {canary.quoted(table)} WHERE run_id = %s AND server_id = %s", (run_id, old_id))}
    return {"old_primary_gtid": old.gtid_binlog_pos, "new_primary_had": since,
            "lost_transactions": [item.to_dict() for item in lost], "lost_transaction_count": len(lost),
            "lost_bytes": sum(item.bytes for item in lost), **canary.losses(acked, present)}
