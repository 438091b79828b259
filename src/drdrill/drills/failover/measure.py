"""RTO and RPO of a failover, and their verdicts (RTO_EXCEEDED, WRITES_LOST), from the steps' results."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from drdrill.config import Target
from drdrill.findings import Finding


def judge(plan: Mapping[str, Any], injected: Mapping[str, Any], detected: Mapping[str, Any] | None,
          promoted: Mapping[str, Any], redirected: Mapping[str, Any] | None, writes: Mapping[str, Any] | None,
          lost: Mapping[str, Any], target: Target) -> dict[str, Any]:
    """RTO, RPO and their verdicts: RTO_EXCEEDED, WRITES_LOST.

    The RTO ends when the new primary serves, validated: promoted (its probe write committed), the source connection
    redirected to it, and a client's (the canary's) write acknowledged by it, whichever came last.
    """
    fault_at = injected["fault_at"]
    rto = serving_at(promoted, redirected, writes) - fault_at
    rpo = rpo_seconds(lost, fault_at)
    findings = []
    rto_limit, rpo_limit = target.objectives.rto.total_seconds(), target.objectives.rpo.total_seconds()
    if rto > rto_limit:
        findings.append(Finding("RTO_EXCEEDED", f"The new primary served clients (promoted, redirected, a canary "
                                f"write acknowledged) {rto:.1f} s after the fault; the RTO objective is "
                                f"{rto_limit:.0f} s."))
    if (lost["lost_transaction_count"] or lost["canary_rows_lost"]) and rpo > rpo_limit:
        findings.append(Finding("WRITES_LOST", f"{lost['lost_transaction_count']} transaction(s) "
                                f"({lost['lost_bytes']} bytes) and {lost['canary_rows_lost']} canary row(s) committed "
                                f"on the old primary never reached the new one: {rpo:.1f} s of writes lost, more than "
                                f"the RPO objective of {rpo_limit:.0f} s.",
                                evidence={"gtids": [item["gtid"] for item in lost["lost_transactions"]][:50]}))
    return {
        "rto_seconds": round(rto, 3), "rto_objective_seconds": rto_limit,
        "rpo_seconds": round(rpo, 3), "rpo_objective_seconds": rpo_limit,
        "detection_seconds": (detected or {}).get("detection_seconds"),
        "promotion_seconds": promoted["promotion_seconds"],
        "client_write_gap_seconds": round(writes["first_canary_on_new_primary_at"] - fault_at, 3) if writes else None,
        "replica_lag_seconds_before": plan.get("lag_seconds"),
        "replica_lag_transactions_before": plan.get("lag_transactions"),
        "lost_transactions": lost["lost_transaction_count"], "lost_bytes": lost["lost_bytes"],
        "canary_rows_lost": lost["canary_rows_lost"],
        "findings": [finding.to_dict() for finding in findings],
    }


def serving_at(promoted: Mapping[str, Any], redirected: Mapping[str, Any] | None,
               writes: Mapping[str, Any] | None) -> float:
    """When the new primary was validated and serving: the last of promotion, redirect and first client write."""
    return max([promoted["writable_at"], (redirected or {}).get("redirected_at") or 0.0,
                (writes or {}).get("first_canary_on_new_primary_at") or 0.0])


def rpo_seconds(lost: Mapping[str, Any], fault_at: float) -> float:
    """The window of acknowledged writes lost: newest lost write − newest write that survived (0 if none lost)."""
    if not lost["lost_transaction_count"] and not lost["canary_rows_lost"]:
        return 0.0
    newest_lost = lost["last_lost_write_at"] or fault_at
    for item in lost["lost_transactions"]:
        newest_lost = max(newest_lost, _epoch(item["committed_at"]))
    survived = lost["last_surviving_write_at"]
    if survived is None:
        return newest_lost - min(_epoch(item["committed_at"]) for item in lost["lost_transactions"]) \
            if lost["lost_transactions"] else 0.0
    return max(0.0, newest_lost - survived)


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()
