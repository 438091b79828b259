"""Is the topology back after a self-managed failover: roles as expected, replication running, data equal."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from drdrill.checks.source_facts import checksum_tables, collect_source_facts, read_inventory
from drdrill.config import Target
from drdrill.drills.failover.logins import FailoverServers
from drdrill.endpoints import MySQLEndpoint, one_row
from drdrill.findings import DrillFailed, Finding
from drdrill.servers.topology import state_of
from drdrill.storage.manifest import TableFacts


def verify_consistency(target: Target, servers: FailoverServers, expect_swapped: bool) -> dict[str, Any]:
    """TOPOLOGY_NOT_RESTORED unless the roles are as expected, replication runs, and per-table checksums agree."""
    primary, replica = (servers.replica, servers.primary) if expect_swapped else (servers.primary, servers.replica)
    p_state, r_state = state_of(primary), state_of(replica)
    problems = []
    if p_state.read_only or p_state.is_replica:
        problems.append(f"{primary.describe()} should be the writable primary (read_only={p_state.read_only}, "
                        f"replicating from {p_state.replicating_from})")
    if not r_state.replication_running or not r_state.replicates_from(p_state, primary):
        problems.append(f"{replica.describe()} should replicate from {primary.port} (from {r_state.replicating_from}, "
                        f"IO {r_state.io_running}, SQL {r_state.sql_running}, {r_state.last_io_error or r_state.last_sql_error})")
    if not r_state.read_only:
        problems.append(f"{replica.describe()} is writable")
    checksums: dict[str, Any] = {}
    if not problems:
        checksums = compare_checksums(primary, replica, target.databases)
        if checksums["differing"] or not checksums["reached"]:
            problems.append(f"tables differ between primary and replica: {', '.join(checksums['differing']) or '-'}"
                            f"{'' if checksums['reached'] else ' (the replica did not reach the snapshot)'}")
    if problems:
        raise DrillFailed([Finding("TOPOLOGY_NOT_RESTORED", "; ".join(problems) + ".")],
                          outcome={"checksums": {k: v for k, v in checksums.items() if k in ("tables", "differing")}})
    return {"tables_compared": checksums["tables"], "position": checksums["position"],
            "primary": primary.describe(), "replica": replica.describe()}


def compare_checksums(primary: MySQLEndpoint, replica: MySQLEndpoint, databases: Sequence[str],
                      timeout: float = 60) -> dict[str, Any]:
    """Per-table checksums of ``primary`` at one snapshot and of ``replica`` stopped exactly at that snapshot.

    The primary keeps taking writes: the replica is stopped first (so it cannot be ahead), the primary's
    facts are taken in one consistent snapshot (as a backup's are) whose GTID position the replica then runs
    UNTIL, the replica is summed the same way, and replication is restarted.
    """
    with contextlib.closing(replica.connect(connect_timeout=5)) as r_conn, r_conn.cursor() as r_cur:
        r_cur.execute("STOP SLAVE")
        try:
            facts = collect_source_facts(primary, databases, fingerprint_kinds=())
            position = facts.point.gtid
            r_cur.execute("START SLAVE UNTIL master_gtid_pos = %s", (position,))
            r_cur.execute("SELECT MASTER_GTID_WAIT(%s, %s)", (position, timeout))
            reached = one_row(r_cur)[0] == 0
            on_replica = _sums(checksum_tables(r_cur, read_inventory(r_cur, databases)))
        finally:
            r_cur.execute("STOP SLAVE")
            r_cur.execute("START SLAVE")
    on_primary = _sums(facts.tables)
    differing = sorted(name for name in set(on_primary) | set(on_replica)
                       if on_primary.get(name) != on_replica.get(name))
    return {"position": position, "reached": reached, "tables": len(on_primary), "differing": differing,
            "primary": on_primary, "replica": on_replica}


def _sums(tables: Sequence[TableFacts]) -> dict[str, list[Any]]:
    return {f"{table.schema}.{table.name}": [table.rows, table.checksum] for table in tables}
