"""The production failover drill's human approval: Airflow's ApprovalOperator, keeping the answer for the record.

On "Reject" the standard operator skips the drill's tasks and returns no XCom, so the record could not tell a
rejection (and who made it) from a timeout. This subclass pushes the answer as XCom ``answer`` first.
Imported only by DAGs of production targets and by their record task.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator

from drdrill.findings import Finding

APPROVE_TASK = "approve"
ANSWER_KEY = "answer"


class DrillApproval(ApprovalOperator):
    """ApprovalOperator whose answer (chosen option, who, when) is always in XCom ``answer``."""

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        """Push the answer, then approve or skip the drill as the standard operator does."""
        if "error" not in event:
            context["ti"].xcom_push(key=ANSWER_KEY, value={
                "chosen_options": event["chosen_options"],
                "responded_by": (event.get("responded_by_user") or {}).get("name"),
                "responded_at": str(event.get("responded_at"))})
        return super().execute_complete(context, event)


def recorded_steps(steps: list[str]) -> list[str]:
    """A production failover drill's recorded steps: the approval right after the first (preflight)."""
    return [steps[0], APPROVE_TASK, *steps[1:]]


def approval_findings(answer: Mapping[str, Any] | None, preflight_passed: bool) -> list[Finding]:
    """NOT_APPROVED when the approver's ``answer`` was not "Approve", or none came although preflight passed."""
    if not preflight_passed or (answer and answer.get("chosen_options") == [DrillApproval.APPROVE]):
        return []
    if answer:
        why = (f"{answer.get('responded_by') or 'the approver'} chose {', '.join(answer.get('chosen_options') or ['nothing'])} "
               f"on the approval request at {answer.get('responded_at')}")
    else:
        why = "no approval came: nobody answered within the approval timeout, or the approve task failed"
    return [Finding("NOT_APPROVED", f"The failover drill did not run: {why}. Nothing was touched.")]
