"""Putting the self-managed topology back after a failover: primary → replica, whatever state the drill left.

The old primary rejoins the promoted one by GTID (errant transactions saved to the bucket and handled per
``failover_drill.errant_transactions``), catches up, and with ``switch_back`` the roles swap back by a planned
switchover. Idempotent.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from drdrill.config import Target
from drdrill.drills.failover import errant
from drdrill.drills.failover.logins import FailoverServers
from drdrill.drills.layouts import binlog_layout
from drdrill.errors import DrdrillError
from drdrill.findings import DrillFailed, Finding
from drdrill.servers.faults import Fault
from drdrill.servers.gtid import transactions_behind
from drdrill.servers.topology import (
    ServerState,
    portable_link,
    reconnect_replica,
    rejoin_as_replica,
    set_read_only,
    state_of,
    switchover,
    wait_caught_up,
)
from drdrill.storage.objectstore import ObjectStore

REJOIN_TIMEOUT = 120.0


def restore_topology(target: Target, servers: FailoverServers, fault: Fault, *, store: ObjectStore, save_key: str,
                     work_dir: Path, link: Mapping[str, str | int] | None = None) -> dict[str, Any]:
    """Bring the topology back to primary → replica, whatever state the drill left it in. Idempotent.

    The old primary is restarted if down. If the replica was never promoted, or never took a write as primary,
    it replicates from the primary again. If it did, the old primary rejoins it by GTID (errant transactions
    saved and handled per policy), catches up, and (with ``switch_back``) the roles are swapped back by a
    planned switchover. ``link`` is the replica's CHANGE MASTER options before the drill (``ServerState.link``):
    the replica gets them back, the old primary's link takes what of them is not a file on the replica's host.
    """
    actions: list[str] = []
    findings: list[Finding] = []
    undone = fault.undo()
    if undone["restarted"]:
        actions.append(f"old primary restarted ({undone['how']})")
    primary, replica = state_of(servers.primary), state_of(servers.replica)
    if replica.replicates_from(primary, servers.primary):
        _resume(servers, actions)
        return {"actions": actions, "roles": "original", "findings": []}
    if not (primary.is_replica or replica.is_replica or replica.wrote_beyond_replication):
        # Its promotion failed or was cut short before it took a write: it simply follows the primary again.
        rejoin_as_replica(servers.replica, servers.primary, servers.replication_login, replica.gtid_slave_pos,
                          timeout=60, link=link)
        actions.append("the replica never took a write as primary: it replicates from the original primary again")
        _resume(servers, actions)
        return {"actions": actions, "roles": "original", "findings": []}
    if not primary.is_replica:
        findings += _rejoin_old_primary(target, servers, primary, replica, store, save_key, work_dir, actions,
                                        portable_link(link or {}))
    wait_caught_up(servers.primary, servers.replica, REJOIN_TIMEOUT)
    if not target.failover_drill.switch_back:
        return {"actions": actions, "roles": "swapped", "findings": [f.to_dict() for f in findings]}
    switchover(servers.replica, servers.primary, servers.replication_login, REJOIN_TIMEOUT, link=link)
    actions.append("roles switched back: original primary writable, replica replicating from it")
    return {"actions": actions, "roles": "original", "findings": [f.to_dict() for f in findings]}


def _resume(servers: FailoverServers, actions: list[str]) -> None:
    """The replica follows the primary: the primary takes writes, the replica replicates them read-only, caught up."""
    set_read_only(servers.replica, True)
    set_read_only(servers.primary, False)  # first: a replica that cannot resume must not keep the primary read-only
    actions.append("original primary writable again")
    if reconnect_replica(servers.replica, REJOIN_TIMEOUT):
        actions.append("replication on the replica restarted")
    wait_caught_up(servers.replica, servers.primary, REJOIN_TIMEOUT)


def _rejoin_old_primary(target: Target, servers: FailoverServers, primary: ServerState, replica: ServerState,
                        store: ObjectStore, save_key: str, work_dir: Path, actions: list[str],
                        link: Mapping[str, str | int]) -> list[Finding]:
    """Old primary → replica of the promoted one; ERRANT_TRANSACTIONS handled per policy, FAILBACK_FAILED otherwise."""
    since = replica.gtid_slave_pos  # what the promoted server had applied from the old primary (kept by RESET SLAVE ALL)
    extra = transactions_behind(primary.gtid_binlog_pos, since)
    findings: list[Finding] = []
    resume_at = primary.gtid_binlog_pos
    if extra:
        lost = errant.list_lost(servers.primary, since, work_dir)
        saved = errant.save_lost(servers.primary, since, store, save_key, work_dir)
        policy = target.failover_drill.errant_transactions
        message = (f"The old primary has {extra} transaction(s) the new primary never received "
                   f"({', '.join(item.gtid for item in lost[:5])}{' …' if len(lost) > 5 else ''}); saved to {saved}.")
        if policy != "flashback":
            raise DrillFailed([Finding("ERRANT_TRANSACTIONS", message + " Policy 'stop': left as they are."),
                               Finding("FAILBACK_FAILED", "The old primary cannot replicate from the new one while it "
                                       "holds errant transactions (error 1236); it was left read-only and out of replication.",
                                       f"Re-apply what is needed from {saved} on the new primary, then roll them back on "
                                       "the old one (mariadb-binlog --flashback) or rebuild it from a backup.")])
        try:
            archive_notes = errant.flashback(servers.primary, since, work_dir, store=store, layout=binlog_layout(target))
        except DrdrillError as exc:
            raise DrillFailed([Finding("ERRANT_TRANSACTIONS", message + " Policy 'flashback' could not roll them back."),
                               Finding("FAILBACK_FAILED", f"The old primary was left read-only and out of replication: "
                                       f"{exc.problem}", exc.fix or "")]) from None
        actions.append(f"{extra} errant transaction(s) saved to {saved} and rolled back on the old primary")
        actions += [f"archiving the old primary's binlogs found {note.sentence()} (the binlog archive drill reports it)"
                    for note in archive_notes]
        findings.append(Finding("ERRANT_TRANSACTIONS", message + " Policy 'flashback': rolled back on the old primary.",
                                evidence={"saved": saved, "gtids": [item.gtid for item in lost][:50]}))
        resume_at = since
    try:
        rejoin_as_replica(servers.primary, servers.replica, servers.replication_login, resume_at, timeout=60,
                          link=link)
    except DrdrillError as exc:
        raise DrillFailed(findings + [Finding("FAILBACK_FAILED", f"The old primary could not replicate from the new "
                                              f"one: {exc.problem}", exc.fix or "")]) from None
    actions.append("old primary replicating from the new primary by GTID")
    return findings
