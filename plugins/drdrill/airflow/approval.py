"""The production failover drill's human approval: Airflow's ApprovalOperator, keeping the answer for the record.

On "Reject" the standard operator skips the drill's tasks and returns no XCom, so the record could not tell a
rejection (and who made it) from a timeout. This subclass pushes the answer as XCom ``answer`` first.
Imported only by DAGs of production targets.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator

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
