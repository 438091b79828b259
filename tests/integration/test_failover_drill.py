"""The failover drill's steps against a real primary + GTID replica: healthy, broken, lagging, lossy, failing."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from drdrill.checks.findings import DrillFailed
from drdrill.drills import failover
from drdrill.failover import canary
from tests.integration.failover_helpers import make_pair, scalar

pytestmark = pytest.mark.integration


def _store(moto_s3):
    from drdrill.storage.objectstore import ObjectStore

    store = ObjectStore(moto_s3.client, "failover-tests")
    store.ensure_bucket()
    return store


def test_healthy_failover_promotes_measures_and_restores_the_topology(mariadb_factory, moto_s3, tmp_path: Path) -> None:
    pair = make_pair(mariadb_factory, tmp_path)
    servers, target = pair.servers, pair.target
    directory = failover.run_dir(tmp_path, "healthy")
    plan = failover.preflight(target, servers)
    fault = failover.fault_for(target, servers, plan, tmp_path, "healthy")
    try:
        started = failover.start_canary(servers, plan, "run-1", directory)
        injected = failover.inject(fault)
        detected = failover.detect(servers, injected, 10)
        promoted = failover.promote_replica(servers, plan, target.failover_drill)
        writes = failover.verify_writes(directory, plan["replica_state"]["server_id"])
        fault.undo()
        lost = failover.count_lost(servers, plan, promoted, directory, tmp_path, "run-1")
        measured = failover.judge(plan, injected, detected, promoted, writes, lost, target)
        back = failover.restore_topology(target, servers, fault, store=_store(moto_s3), save_key="x", work_dir=tmp_path)
        consistent = failover.verify_consistency(target, servers, expect_swapped=False)
    finally:
        failover.cleanup(directory)
    print(started, injected, detected, promoted, writes, lost, measured, back, consistent)
    assert measured["findings"] == []
    assert 0 < measured["rto_seconds"] < 10
    assert lost["lost_transaction_count"] == 0 and lost["canary_rows_lost"] == 0
    assert back["roles"] == "original"
    assert consistent["tables_compared"] == 2
    assert scalar(pair.replica, "SELECT @@read_only") == 1
    assert scalar(pair.primary, "SELECT @@read_only") == 0

