"""Answer a parked human-in-the-loop request the way the Airflow UI does: through the public HITL route.

``python -m tests.helpers.hitl_respond <dag_id> <task_id> <option>`` waits (up to 120 s) until the newest
run of the DAG has the task waiting for input, then answers it with the route function the UI's "Required
Actions" page calls (``PATCH /api/v2/dags/.../hitlDetails``), as user ``sre``, on the metadata DB the
``airflow dags test`` process shares. It prints one JSON line: the request's subject and body as the approver
saw them, and the answer. Run in its own process, so this Airflow import does not affect the test process.

With ``--no-answer`` as the option nobody answers: once the request's response timeout has passed it runs the
scheduler's own timeout sweep (``airflow dags test`` has no scheduler, so nothing else ever would).
"""

from __future__ import annotations

import json
import sys
import time

from sqlalchemy import select

from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from airflow.api_fastapi.core_api.datamodels.hitl import UpdateHITLDetailPayload
from airflow.api_fastapi.core_api.routes.public.hitl import update_hitl_detail
from airflow.models.dagrun import DagRun
from airflow.models.hitl import HITLDetail
from airflow.models.taskinstance import TaskInstance
from airflow.utils import timezone
from airflow.utils.session import create_session
from airflow.utils.state import TaskInstanceState

WAIT_SECONDS = 120
NO_ANSWER = "--no-answer"


def waiting_run_id(dag_id: str, task_id: str) -> str | None:
    """The newest run's id once its task waits for input, else None."""
    with create_session() as session:
        run = session.scalars(select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc())).first()
        if run is None:
            return None
        ti = session.scalars(select(TaskInstance).where(
            TaskInstance.dag_id == dag_id, TaskInstance.run_id == run.run_id, TaskInstance.task_id == task_id)).first()
        return run.run_id if ti is not None and ti.state == TaskInstanceState.AWAITING_INPUT else None


def main(dag_id: str, task_id: str, option: str) -> int:
    deadline = time.monotonic() + WAIT_SECONDS
    while (run_id := waiting_run_id(dag_id, task_id)) is None:
        if time.monotonic() > deadline:
            print(f"{dag_id}.{task_id} did not wait for input within {WAIT_SECONDS} s", file=sys.stderr)
            return 1
        time.sleep(0.5)
    if option == NO_ANSWER:
        return let_it_time_out(dag_id, run_id, task_id)
    with create_session() as session:
        ti = session.scalars(select(TaskInstance).where(
            TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id, TaskInstance.task_id == task_id)).one()
        request = session.scalars(select(HITLDetail).where(HITLDetail.ti_id == ti.id)).one()
        seen = {"subject": request.subject, "body": request.body}
        answered = update_hitl_detail(dag_id, run_id, task_id, UpdateHITLDetailPayload(chosen_options=[option]),
                                      user=SimpleAuthManagerUser(username="sre", role="admin"), session=session)
    print(json.dumps({**seen, "chosen_options": answered.chosen_options}))
    return 0


def let_it_time_out(dag_id: str, run_id: str, task_id: str) -> int:
    """Answer nothing; after the request's deadline, resolve it as the scheduler's sweep does."""
    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner

    with create_session() as session:
        deadline = session.scalars(select(TaskInstance.trigger_timeout).where(
            TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id, TaskInstance.task_id == task_id)).one()
    if deadline is None:
        print(f"{dag_id}.{task_id} waits without a response timeout", file=sys.stderr)
        return 1
    time.sleep(max(0.0, (deadline - timezone.utcnow()).total_seconds()) + 1)
    SchedulerJobRunner(job=Job()).check_awaiting_input_timeouts()
    print(json.dumps({"timed_out_at": deadline.isoformat()}))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
