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
3. **fail_over**: steps 3 to 10 run in this one task, on one worker: the canary writer and its acks live on the
   worker that started it, and a cluster may place each task on any worker. Each step reaches XCom as it ends;
   the canary is stopped whatever failed. Not retried.
3. **start_canary**: a row every 100 ms with a sequence number, through a data-only login.
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
11. **cleanup** (always, on any worker): undoes the fault, restores topology and connection (once the canary
    started, a fault counts as injected).
12. **verify_consistency**: primary → replica running, per-table checksums equal (`TOPOLOGY_NOT_RESTORED`).
13. **record**: history and Slack.
"""

from __future__ import annotations

from airflow.sdk import DAG, get_current_context, task

from drdrill.airflow.dag_defaults import dag_arguments, failure_callbacks, per_target_dags
from drdrill.airflow.rto_budget import BudgetedDAG
from drdrill.config import Target
from drdrill.drills.failover import tasks
from drdrill.servers.faults import is_managed


def build_failover_dag(target: Target) -> DAG:
    """One failover drill DAG for one target."""
    name = target.name

    with BudgetedDAG(schedule=target.schedules.failover_drill,
                     **dag_arguments(target, drill="failover", doc=__doc__)) as failover_drill:
        @task
        def preflight() -> dict:
            return tasks.preflight(name, get_current_context())

        @task(retries=0)
        def fail_over() -> dict:
            return tasks.fail_over(name, get_current_context())

        @task(trigger_rule="all_done")
        def cleanup() -> dict:
            return tasks.cleanup(name, get_current_context())

        @task(trigger_rule="all_done")
        def verify_consistency() -> dict:
            return tasks.verify_consistency(name, get_current_context())

        @task(trigger_rule="all_done", retries=0, **failure_callbacks(target, "failover"))
        def record() -> dict:
            return tasks.record(name, get_current_context())

        checked = preflight()
        failed_over = fail_over()
        if target.production:
            from drdrill.airflow.approval import APPROVE_TASK, DrillApproval

            approve = DrillApproval(
                task_id=APPROVE_TASK, subject=f"Approve the failover drill on production target {name}",
                body="{{ ti.xcom_pull(task_ids='preflight')['approval_text'] }}",
                response_timeout=target.failover_drill.approval_timeout)
            checked >> approve >> failed_over
        else:
            checked >> failed_over
        failed_over >> cleanup() >> verify_consistency() >> record()  # each runs whatever failed before it

    return failover_drill


def dags() -> dict[str, DAG]:
    """A failover DAG for every configured target that allows failover drills, by target name."""
    return per_target_dags(build_failover_dag, drill="failover", include=lambda target: target.allow_failover_drill and (
        bool(target.replica_conn_id) or is_managed(target.failover_drill.fault)))
