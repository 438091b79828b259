"""The restore, PITR and failover drills on the two-worker cluster with each task on the other worker than the
task before it (the stack's spread placement; the failover redirects its source connection through Airflow's REST
API), and a worker killed inside the restore drill's ``recover`` task: the run is red, and what the dead run left
is gone after the next drill on that worker (its reaper runs first).
"""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from drdrill.history import list_drills
from drdrill.sandbox.cluster.stack import HEARTBEAT_TIMEOUT_SECONDS, WORKERS
from drdrill.sandbox.slack_sink import read_posts
from tests.helpers.cluster import ClusterAPI
from tests.helpers.debris import scratch_processes

pytestmark = pytest.mark.cluster
RESTORE = "dr_restore_drill__shop"


def run_spread(cluster: ClusterAPI, dag_id: str, timeout: float = 180,
               conf: dict[str, Any] | None = None) -> tuple[str, str, dict[str, dict[str, Any]]]:
    """Trigger ``dag_id`` and wait for its end: the run id, its state, its task instances (the stack places
    each next task of a drill on the other worker: ``drdrill.sandbox.spread``)."""
    cluster.wait_for_dag(dag_id)
    run_id = cluster.trigger(dag_id, conf)
    state = cluster.wait_finished(dag_id, run_id, timeout)
    return run_id, state, cluster.task_instances(dag_id, run_id)


def findings(cluster: ClusterAPI, drill: str, run_id: str) -> list[dict[str, Any]]:
    """The findings of the run's drill record (what to show when a run is not green)."""
    records = [record for record in list_drills(cluster.stack.history_url, "shop", drill, limit=5)
               if record.run_id == run_id]
    return records[0].findings if records else [{"code": "NO_RECORD"}]


@pytest.fixture(scope="module", autouse=True)
def shop_backup(sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A valid backup of shop in the store the stack drills (its config is the session sandbox's)."""
    from tests.helpers.drill_helpers import run_steps, shop_target

    run_steps(sandbox, shop_target(), tmp_path_factory.mktemp("backup"))


def placement(instances: dict[str, dict[str, Any]]) -> dict[str, tuple[str, str]]:
    return {task: (ti["state"], ti["hostname"]) for task, ti in instances.items()}


def assert_alternated(order: list[str], instances: dict[str, dict[str, Any]]) -> None:
    ran = placement(instances)
    assert [ran[task][1] for task in order] == [WORKERS[index % 2] for index in range(len(order))], ran


def test_the_restore_drill_passes_with_each_task_on_the_other_worker(cluster: ClusterAPI, sandbox: Any) -> None:
    order = ["select_backup", "recover", "measure", "record"]
    posted = len(read_posts(sandbox.sandbox.slack_record))
    run_id, state, instances = run_spread(cluster, RESTORE)
    assert state == "success", (placement(instances), findings(cluster, "restore", run_id))
    assert_alternated(order, instances)
    assert {task: ti["pool"] for task, ti in instances.items()} == {
        "select_backup": "default_pool", "recover": "drdrill_recovery", "measure": "default_pool",
        "record": "default_pool"}  # the stack's pools (settings.pools), created with their slots:
    assert cluster.call("GET", "/pools/drdrill_recovery")["slots"] == 2
    record = list_drills(cluster.stack.history_url, "shop", "restore", limit=1)[0]
    assert record.run_id == run_id and record.verdict == "passed", record.findings
    assert {"fetch_and_verify", "provision_scratch", "restore", "validate"} <= set(record.stage_seconds)
    budget = record.details["rto_budget"]  # armed under the scheduler, and quiet within its budget
    assert (budget["armed"], budget["breached"], budget["budget"]) == (True, False, "30m"), budget
    assert not [post for post in read_posts(sandbox.sandbox.slack_record)[posted:] if "RTO budget" in str(post["body"])]
    # the workers preloaded Great Expectations before forking (celery_preload): the validate step did not import it
    bucket, key = record.details["results_uri"].removeprefix("s3://").split("/", 1)
    results = json.loads(sandbox.sandbox.s3_client().get_object(Bucket=bucket, Key=key)["Body"].read())
    assert results["drdrill"]["great_expectations_preloaded"] is True, results["drdrill"]["timings"]


def test_the_pitr_drill_passes_with_each_task_on_the_other_worker(cluster: ClusterAPI, sandbox: Any,
                                                                   tmp_path: Path) -> None:
    from drdrill.drills.archive import steps as archive_steps
    from drdrill.drills.pitr.steps import whole_second
    from tests.helpers.drill_helpers import shop_target, store_for

    shop = shop_target()  # after the module's backup: a second with heartbeats on both sides, archived
    time.sleep(2.5)
    moment = whole_second(datetime.now(timezone.utc)) - timedelta(seconds=1)
    time.sleep(1.5)
    archive_steps.archive(shop, sandbox.sandbox.backup_endpoint(), store_for(sandbox, shop), work_dir=tmp_path / "a")
    order = ["plan", "recover", "measure", "record"]
    run_id, state, instances = run_spread(cluster, "dr_pitr_drill__shop", conf={"target_time": moment.isoformat()})
    assert state == "success", (placement(instances), findings(cluster, "pitr", run_id))
    assert_alternated(order, instances)
    record = list_drills(cluster.stack.history_url, "shop", "pitr", limit=1)[0]
    assert record.run_id == run_id and record.verdict == "passed", record.findings
    assert {"restore_base", "replay", "validate"} <= set(record.stage_seconds)


def test_the_failover_drill_passes_with_each_task_on_the_other_worker(cluster: ClusterAPI) -> None:
    order = ["preflight", "fail_over", "cleanup", "verify_consistency", "record"]
    run_id, state, instances = run_spread(cluster, "dr_failover_drill__shop", timeout=300)
    assert state == "success", (placement(instances), findings(cluster, "failover", run_id))
    assert_alternated(order, instances)
    record = list_drills(cluster.stack.history_url, "shop", "failover", limit=1)[0]
    assert record.run_id == run_id and record.verdict == "passed", record.findings
    assert {"start_canary", "inject_fault", "promote", "verify_writes", "fail_back"} <= set(record.stage_seconds)


def test_a_worker_killed_inside_recover_leaves_the_run_red_and_the_next_drill_there_removes_its_scratch(
        cluster: ClusterAPI) -> None:
    victim = WORKERS[1]  # the spread placement puts recover, the second task, on the second worker
    stack = cluster.stack
    scratch = stack.work_dir(victim) / "scratch"
    cluster.wait_for_dag(RESTORE)
    run_id = cluster.trigger(RESTORE)
    cluster.wait_until(RESTORE, run_id, lambda tis: tis["recover"]["state"] == "running"
                       and any(scratch.glob("*/mariadbd.pid")), 120, "recover running with its scratch server")
    running = debris(scratch)  # the killed run's scratch server, there when the worker died
    os.killpg(stack.components[victim].pid(), signal.SIGKILL)
    cluster.wait_until(RESTORE, run_id, lambda tis: tis["recover"]["state"] == "failed",
                       HEARTBEAT_TIMEOUT_SECONDS + 60, "the dead worker's recover failed")
    stack.up()  # the victim's machine comes back (record is placed on its queue); the next recover there reaps first
    state = cluster.wait_finished(RESTORE, run_id, 90)
    instances = cluster.task_instances(RESTORE, run_id)
    assert state == "failed" and instances["record"]["state"] == "failed", placement(instances)
    record = list_drills(stack.history_url, "shop", "restore", limit=1)[0]
    assert record.run_id == run_id and record.verdict != "passed", record

    _, state, instances = run_spread(cluster, RESTORE)
    assert state == "success" and instances["recover"]["hostname"] == victim, placement(instances)
    assert running and not set(running) & set(debris(scratch)), (running, debris(scratch))


def debris(scratch: Path) -> list[str]:
    """Scratch dirs under ``scratch`` and the mariadbd processes started from them."""
    return [str(path) for path in scratch.glob("*") if path.is_dir()] + \
        [f"mariadbd pid {process}" for process in scratch_processes(scratch.parent)]
