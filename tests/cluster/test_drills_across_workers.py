"""The restore, PITR and failover drills on the two-worker cluster with each task on the other worker than the
task before it (the stack's spread placement), and a worker killed inside the restore drill's ``recover`` task:
the run is red, and the next drill on that worker removes what the dead one left.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from drdrill.history import list_drills
from drdrill.sandbox.cluster.stack import HEARTBEAT_TIMEOUT_SECONDS, WORKERS
from tests.helpers.cluster import ClusterAPI
from tests.helpers.debris import scratch_processes

pytestmark = pytest.mark.cluster
RESTORE = "dr_restore_drill__shop"


def run_spread(cluster: ClusterAPI, dag_id: str, timeout: float = 180) -> tuple[str, str, dict[str, dict[str, Any]]]:
    """Trigger ``dag_id`` and wait for its end: the run id, its state, its task instances (the stack places
    each next task of a drill on the other worker: ``drdrill.sandbox.spread``)."""
    cluster.wait_for_dag(dag_id)
    run_id = cluster.trigger(dag_id)
    state = cluster.wait_finished(dag_id, run_id, timeout)
    return run_id, state, cluster.task_instances(dag_id, run_id)


def placement(instances: dict[str, dict[str, Any]]) -> dict[str, tuple[str, str]]:
    return {task: (ti["state"], ti["hostname"]) for task, ti in instances.items()}


def assert_alternated(order: list[str], instances: dict[str, dict[str, Any]]) -> None:
    ran = placement(instances)
    assert [ran[task][1] for task in order] == [WORKERS[index % 2] for index in range(len(order))], ran


def test_the_restore_drill_passes_with_each_task_on_the_other_worker(cluster: ClusterAPI) -> None:
    order = ["select_backup", "recover", "measure", "record"]
    run_id, state, instances = run_spread(cluster, RESTORE)
    assert state == "success", placement(instances)
    assert_alternated(order, instances)
    record = list_drills(cluster.stack.history_url, "shop", "restore", limit=1)[0]
    assert record.run_id == run_id and record.verdict == "passed", record.findings
    assert {"fetch_and_verify", "provision_scratch", "restore", "validate"} <= set(record.stage_seconds)


def test_the_pitr_drill_passes_with_each_task_on_the_other_worker(cluster: ClusterAPI) -> None:
    order = ["plan", "recover", "measure", "record"]
    run_id, state, instances = run_spread(cluster, "dr_pitr_drill__shop")
    assert state == "success", placement(instances)
    assert_alternated(order, instances)
    record = list_drills(cluster.stack.history_url, "shop", "pitr", limit=1)[0]
    assert record.run_id == run_id and record.verdict == "passed", record.findings
    assert {"restore_base", "replay", "validate"} <= set(record.stage_seconds)


def test_the_failover_drill_passes_with_each_task_on_the_other_worker(cluster: ClusterAPI) -> None:
    order = ["preflight", "fail_over", "cleanup", "verify_consistency", "record"]
    run_id, state, instances = run_spread(cluster, "dr_failover_drill__shop", timeout=300)
    assert state == "success", placement(instances)
    assert_alternated(order, instances)
    record = list_drills(cluster.stack.history_url, "shop", "failover", limit=1)[0]
    assert record.run_id == run_id and record.verdict == "passed", record.findings
    assert {"start_canary", "inject_fault", "promote", "verify_writes", "fail_back"} <= set(record.stage_seconds)


def test_a_worker_killed_inside_recover_leaves_the_run_red_and_the_next_drill_there_removes_its_scratch(
        cluster: ClusterAPI) -> None:
    survivor, victim = WORKERS  # the spread placement puts recover, the second task, on the second worker
    stack = cluster.stack
    scratch = stack.work_dir(victim) / "scratch"
    cluster.wait_for_dag(RESTORE)
    run_id = cluster.trigger(RESTORE)
    cluster.wait_until(RESTORE, run_id, lambda tis: tis["recover"]["state"] == "running"
                       and any(scratch.glob("*/mariadbd.pid")), 120, "recover running with its scratch server")
    os.killpg(stack.components[victim].pid(), signal.SIGKILL)
    state = cluster.wait_finished(RESTORE, run_id, HEARTBEAT_TIMEOUT_SECONDS + 90)
    instances = cluster.task_instances(RESTORE, run_id)
    assert state == "failed" and instances["recover"]["state"] == "failed", placement(instances)
    assert instances["record"]["state"] == "failed" and instances["record"]["hostname"] == survivor
    record = list_drills(stack.history_url, "shop", "restore", limit=1)[0]
    assert record.run_id == run_id and record.verdict != "passed", record
    left = debris(scratch)
    assert left, "the kill left nothing behind: the cleanup below would prove nothing"

    stack.up()  # the victim's machine comes back; the next drill's recover runs there and reaps first
    _, state, instances = run_spread(cluster, RESTORE)
    assert state == "success" and instances["recover"]["hostname"] == victim, placement(instances)
    assert not set(left) & set(debris(scratch)), debris(scratch)


def debris(scratch: Path) -> list[str]:
    """Scratch dirs under ``scratch`` and the mariadbd processes started from them."""
    return [str(path) for path in scratch.glob("*") if path.is_dir()] + \
        [f"mariadbd pid {process}" for process in scratch_processes(scratch.parent)]
