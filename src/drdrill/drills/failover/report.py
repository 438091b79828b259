"""The failover drill's record details, measurements and Slack lines, from the steps' results."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drdrill.drills.failover.steps import CLEANUP


def headline(measured: Mapping[str, Any], restored: Mapping[str, Any] | None) -> str:
    """One line for the summary: detection, promotion, lost writes, how the topology ended."""
    if not measured:
        return "not measured"
    roles = (restored or {}).get("roles", "unknown")
    if measured.get("lost", {}).get("gtid_checked") is False:  # managed: no binlog of the old writer to read
        lost = f"lost {measured['canary_rows_lost']} canary row(s) (transactions not counted by GTID)"
    else:
        lost = (f"lost {measured['lost_transactions']} transaction(s) ({measured['lost_bytes']} bytes), "
                f"{measured['canary_rows_lost']} canary row(s)")
    lag = measured["replica_lag_seconds_before"]
    return (f"detection {measured['detection_seconds']} s, promotion {measured['promotion_seconds']} s, "
            f"client write gap {measured['client_write_gap_seconds']} s; {lost}; "
            f"lag before {'not measured' if lag is None else f'{lag} s'}; roles after: {roles}")


def record_fields(results: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """The record's details and measurements, and the Slack lines, from the steps' results."""
    measured = results.get("measure") or {}
    plan = results.get("preflight") or {}
    restored = results.get("fail_back") or results.get(CLEANUP)
    lines = {}
    if measured:
        lines = {"RTO": f"{measured['rto_seconds']:.2f} s (objective {measured['rto_objective_seconds']:.0f} s)",
                 "Lost writes": f"{measured['lost_transactions']} transaction(s), {measured['canary_rows_lost']} "
                                f"canary row(s); RPO {measured['rpo_seconds']:.2f} s"}
    details = {"headline": headline(measured, restored), "fault": plan.get("fault"), "addresses": plan.get("addresses"),
               "promotion": results.get("promote"),
               "measured": {key: value for key, value in measured.items() if key not in ("findings",)},
               "fail_back": restored}
    measurements = {key: measured.get(key) for key in
                    ("rto_seconds", "rto_objective_seconds", "rpo_seconds", "rpo_objective_seconds")}
    return details, measurements, lines
