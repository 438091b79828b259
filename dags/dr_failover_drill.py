"""
### Failover drill: `dr_failover_drill__<target>`

Breaks the primary for real, promotes the replica, measures, and puts the topology back. Only for targets
with `allow_failover_drill: true` and a `replica_conn_id` (or a managed fault: `rds_reboot`, `aurora_failover`);
a `production: true` target also waits for a human approval (which says exactly what will be done) before
anything is touched.

With a managed fault AWS promotes by itself: **promote** waits until the service reports the failover done and
the endpoint takes a write, **redirect** only runs `redirect_command` (the endpoint's DNS follows the writer),
lost writes are counted by canary row only, **fail_back** is a second Aurora failover to the original writer
(`switch_back`; an RDS Multi-AZ instance keeps its new zone), and **verify_consistency** checks the service is
available, the writer is where it was, and the endpoint takes writes.

1. **preflight**: replication running and pointed at the primary (`REPLICATION_BROKEN`), lag under
   `max_replica_lag` (`REPLICA_LAGGING`), the drill's privileges, how to inject and undo the fault. Touches nothing.
2. **approve** (production targets only): Airflow's human-in-the-loop approval.
3. **start_canary** (setup): a row every 100 ms with a sequence number, through a data-only login.
4. **inject_fault**: `kill` (SIGKILL of the local mariadbd), `shutdown` (SQL), `rds_reboot`, `aurora_failover`.
5. **detect**: probes until the primary stops answering (detection time).
6. **promote**: `MASTER_GTID_WAIT` for what the replica received, `STOP SLAVE`, `RESET SLAVE ALL`,
   `read_only=OFF`, one write (`PROMOTION_FAILED`).
7. **redirect**: the source connection (used by every other drill) now points at the new primary, plus
   `failover_drill.redirect_command` for ProxySQL/DNS.
8. **verify_writes**: the canary writes to the new primary.
9. **measure**: the old primary is restarted read-only; lost writes by GTID (with sizes) and by canary row;
   RTO (fault → first write on the new primary), RPO (`RTO_EXCEEDED`, `WRITES_LOST`).
10. **fail_back**: the old primary rejoins by GTID (`ERRANT_TRANSACTIONS` saved to S3 and handled by
    `errant_transactions: flashback|stop`; `FAILBACK_FAILED`), then roles switch back (`switch_back`).
11. **cleanup** (teardown, always): stops the canary, undoes the fault, restores topology and connection.
12. **verify_consistency**: primary → replica running, per-table checksums equal (`TOPOLOGY_NOT_RESTORED`).
13. **record**: history and Slack.
"""

from __future__ import annotations

from airflow.sdk import DAG, dag, get_current_context, setup, task, teardown

from drdrill.airflow.dag_defaults import dag_arguments, failure_callbacks, per_target_dags
from drdrill.config import Target
from drdrill.drills.failover import tasks
from drdrill.servers.faults import is_managed


def build_failover_dag(target: Target) -> DAG:
    """One failover drill DAG for one target."""
    name = target.name

    @dag(schedule=target.schedules.failover_drill,
         **dag_arguments(target, drill="failover", doc=__doc__))
    def failover_drill() -> None:
        @task
        def preflight() -> dict:
            return tasks.preflight(name, get_current_context())

        @setup
        def start_canary() -> dict:
            return tasks.step("start_canary", name, get_current_context())

        @task
        def inject_fault() -> dict:
            return tasks.step("inject_fault", name, get_current_context())

        @task
        def detect() -> dict:
            return tasks.step("detect", name, get_current_context())

        @task
        def promote() -> dict:
            return tasks.step("promote", name, get_current_context())

        @task
        def redirect() -> dict:
            return tasks.step("redirect", name, get_current_context())

        @task
        def verify_writes() -> dict:
            return tasks.step("verify_writes", name, get_current_context())

        @task
        def measure() -> dict:
            return tasks.step("measure", name, get_current_context())

        @task
        def fail_back() -> dict:
            return tasks.step("fail_back", name, get_current_context())

        @teardown
        def cleanup(_canary: dict | None) -> dict:
            return tasks.cleanup(name, get_current_context())

        @task(trigger_rule="all_done")
        def verify_consistency() -> dict:
            return tasks.verify_consistency(name, get_current_context())

        @task(trigger_rule="all_done", retries=0, **failure_callbacks(target, "failover"))
        def record() -> dict:
            return tasks.record(name, get_current_context())

        checked = preflight()
        canary = start_canary()
        if target.production:
            from drdrill.airflow.approval import APPROVE_TASK, DrillApproval

            approve = DrillApproval(
                task_id=APPROVE_TASK, subject=f"Approve the failover drill on production target {name}",
                body="{{ ti.xcom_pull(task_ids='preflight')['approval_text'] }}",
                response_timeout=target.failover_drill.approval_timeout)
            checked >> approve >> canary
        else:
            checked >> canary
        tidied = cleanup(canary)
        canary >> inject_fault() >> detect() >> promote() >> redirect() >> verify_writes() >> measure() >> fail_back() >> tidied
        tidied >> verify_consistency() >> record()  # outside the canary scope: recorded and alerted whatever failed

    return failover_drill()


DAGS = per_target_dags(build_failover_dag, drill="failover", include=lambda target: target.allow_failover_drill and (
    bool(target.replica_conn_id) or is_managed(target.failover_drill.fault)))
