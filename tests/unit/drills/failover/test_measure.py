"""RTO and RPO of a failover and their findings, both ways: over the objective fires, within it is silent."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from drdrill.config import Target
from drdrill.drills.failover.measure import judge, rpo_seconds

pytestmark = pytest.mark.unit

FAULT_AT = 1_000_000_000.0


def _lost(transactions: list[dict] | None = None, canary_rows: int = 0, last_lost: float | None = None,
          last_survived: float | None = None) -> dict:
    transactions = transactions or []
    return {"lost_transactions": transactions, "lost_transaction_count": len(transactions),
            "lost_bytes": sum(item["bytes"] for item in transactions), "canary_rows_lost": canary_rows,
            "last_lost_write_at": last_lost, "last_surviving_write_at": last_survived}


def _judge(target: Target, writable_after: float, lost: dict, redirected_after: float | None = None,
           first_write_after: float | None = None) -> dict:
    return judge({"lag_seconds": 1, "lag_transactions": 0}, {"fault_at": FAULT_AT},
                 {"detection_seconds": 0.4}, {"writable_at": FAULT_AT + writable_after, "promotion_seconds": 0.8},
                 {"redirected_at": FAULT_AT + (redirected_after or writable_after)},
                 {"first_canary_on_new_primary_at": FAULT_AT + (first_write_after or writable_after)}, lost, target)


def test_a_quick_failover_without_losses_passes_with_its_numbers(make_target: Callable[..., Target]) -> None:
    measured = _judge(make_target(), 2.5, _lost(), first_write_after=2.6)
    assert measured["findings"] == []
    assert (measured["rto_seconds"], measured["rpo_seconds"], measured["client_write_gap_seconds"]) == (2.6, 0.0, 2.6)
    assert (measured["detection_seconds"], measured["promotion_seconds"]) == (0.4, 0.8)


def test_a_new_primary_writable_after_the_objective_is_rto_exceeded(make_target: Callable[..., Target]) -> None:
    assert [f["code"] for f in _judge(make_target(rto=30), 31, _lost())["findings"]] == ["RTO_EXCEEDED"]
    assert _judge(make_target(rto=30), 29, _lost())["findings"] == []


def test_the_rto_ends_when_the_new_primary_serves_clients_not_at_its_own_probe_write(
        make_target: Callable[..., Target]) -> None:
    """The demo's case: promoted 0.05 s after the fault, but clients wrote again only at 0.143 s (the RTO)."""
    measured = _judge(make_target(), 0.05, _lost(), redirected_after=0.1, first_write_after=0.143)
    assert measured["rto_seconds"] == measured["client_write_gap_seconds"] == 0.143
    assert _judge(make_target(), 0.05, _lost(), redirected_after=0.2, first_write_after=0.143)["rto_seconds"] == 0.2
    late_redirect = _judge(make_target(rto=30), 1, _lost(), redirected_after=31, first_write_after=2)
    assert [f["code"] for f in late_redirect["findings"]] == ["RTO_EXCEEDED"]
    late_client = _judge(make_target(rto=30), 1, _lost(), redirected_after=2, first_write_after=31)
    assert [f["code"] for f in late_client["findings"]] == ["RTO_EXCEEDED"]
    assert _judge(make_target(rto=30), 1, _lost(), redirected_after=2, first_write_after=29)["findings"] == []


def test_lost_writes_beyond_the_rpo_objective_are_writes_lost_and_within_it_are_not(
        make_target: Callable[..., Target]) -> None:
    lost = _lost(canary_rows=3, last_lost=FAULT_AT - 0.1, last_survived=FAULT_AT - 6.1)  # 6 s of writes lost
    [finding] = _judge(make_target(rpo=5), 2, lost)["findings"]
    assert finding["code"] == "WRITES_LOST" and "3 canary row(s)" in finding["message"]
    assert _judge(make_target(rpo=10), 2, lost)["findings"] == []


def test_the_rpo_is_the_window_between_the_newest_surviving_and_the_newest_lost_write() -> None:
    assert rpo_seconds(_lost(), FAULT_AT) == 0.0
    committed = "2001-09-09T01:46:40+00:00"  # FAULT_AT as ISO time
    gtid_only = _lost([{"gtid": "0-1-9", "bytes": 10, "committed_at": committed}], last_survived=FAULT_AT - 2)
    assert rpo_seconds(gtid_only, FAULT_AT) == pytest.approx(2.0)
    nothing_survived = _lost([{"gtid": "0-1-9", "bytes": 10, "committed_at": committed}])
    assert rpo_seconds(nothing_survived, FAULT_AT) == 0.0  # one lost transaction, no earlier write: no window
