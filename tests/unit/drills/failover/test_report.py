"""The failover record's headline, measurements and Slack lines from the steps' results."""

from __future__ import annotations

import pytest

from drdrill.drills.failover.report import headline, record_fields

pytestmark = pytest.mark.unit

MEASURED = {"rto_seconds": 2.5, "rto_objective_seconds": 30.0, "rpo_seconds": 0.0, "rpo_objective_seconds": 5.0,
            "detection_seconds": 0.4, "promotion_seconds": 0.8, "client_write_gap_seconds": 2.6,
            "replica_lag_seconds_before": 0, "lost_transactions": 1, "lost_bytes": 120, "canary_rows_lost": 0,
            "findings": [], "lost": {"lost_transaction_count": 1}}


def test_the_headline_counts_lost_transactions_by_gtid_or_says_it_could_not() -> None:
    assert headline(MEASURED, {"roles": "original"}) == (
        "detection 0.4 s, promotion 0.8 s, client write gap 2.6 s; lost 1 transaction(s) (120 bytes), 0 canary row(s); "
        "lag before 0 s; roles after: original")
    managed = {**MEASURED, "replica_lag_seconds_before": None, "lost": {"gtid_checked": False}}
    assert "lost 0 canary row(s) (transactions not counted by GTID)" in headline(managed, None)
    assert "lag before not measured; roles after: unknown" in headline(managed, None)
    assert headline({}, None) == "not measured"


def test_record_fields_take_fail_back_or_else_cleanup_and_leave_the_findings_out_of_the_details() -> None:
    results = {"preflight": {"fault": "kill", "addresses": {"primary": {"host": "h", "port": 1}}},
               "measure": MEASURED, "cleanup": {"roles": "original"}, "promote": {"promotion_seconds": 0.8}}
    details, measurements, lines = record_fields(results)
    assert details["fail_back"] == {"roles": "original"} and details["fault"] == "kill"
    assert "findings" not in details["measured"] and details["measured"]["rto_seconds"] == 2.5
    assert measurements == {"rto_seconds": 2.5, "rto_objective_seconds": 30.0, "rpo_seconds": 0.0,
                            "rpo_objective_seconds": 5.0}
    assert lines == {"RTO": "2.50 s (objective 30 s)", "Lost writes": "1 transaction(s), 0 canary row(s); RPO 0.00 s"}
    assert record_fields({})[2] == {}  # not measured: no Slack lines
