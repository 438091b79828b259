"""``drdrill.airflow.approval``: the production failover drill's approval, kept for the record either way."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from airflow.providers.standard.exceptions import HITLTimeoutError

from drdrill.airflow.approval import ANSWER_KEY, APPROVE_TASK, DrillApproval, approval_findings, recorded_steps
from drdrill.findings import COULD_NOT_VERIFY

pytestmark = pytest.mark.unit

ANSWERED_AT = datetime(2026, 12, 6, 9, 30, tzinfo=timezone.utc)


class XComTaskInstance:
    """The XCom side of a task instance."""

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def answer_event(option: str, by: str | None = "alice") -> dict[str, Any]:
    return {"chosen_options": [option], "params_input": {}, "responded_at": ANSWERED_AT,
            "responded_by_user": {"id": "7", "name": by} if by else None}


def complete(event: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    ti = XComTaskInstance()
    operator = DrillApproval(task_id=APPROVE_TASK, subject="Run the failover drill on shop?")
    return operator.execute_complete({"ti": ti}, event), ti.pushed


def test_the_approval_comes_right_after_preflight() -> None:
    assert recorded_steps(["preflight", "break_primary", "promote"]) == ["preflight", "approve", "break_primary", "promote"]


def test_an_approval_is_pushed_and_lets_the_drill_run() -> None:
    result, pushed = complete(answer_event(DrillApproval.APPROVE))
    assert result["chosen_options"] == ["Approve"]
    assert pushed == {ANSWER_KEY: {"chosen_options": ["Approve"], "responded_by": "alice",
                                   "responded_at": str(ANSWERED_AT)}}
    assert approval_findings(pushed[ANSWER_KEY], preflight_passed=True) == []


def test_a_rejection_is_pushed_and_recorded_as_not_approved_naming_who() -> None:
    _, pushed = complete(answer_event(DrillApproval.REJECT))
    [finding] = approval_findings(pushed[ANSWER_KEY], preflight_passed=True)
    assert finding.code == "NOT_APPROVED" and finding.verdict == COULD_NOT_VERIFY
    assert f"alice chose Reject on the approval request at {ANSWERED_AT}" in finding.message
    assert "Nothing was touched." in finding.message


def test_an_answer_without_a_user_names_the_approver_generically() -> None:
    _, pushed = complete(answer_event(DrillApproval.REJECT, by=None))
    [finding] = approval_findings(pushed[ANSWER_KEY], preflight_passed=True)
    assert "the approver chose Reject" in finding.message


def test_a_timeout_pushes_nothing_and_fails_the_approve_task() -> None:
    ti = XComTaskInstance()
    operator = DrillApproval(task_id=APPROVE_TASK, subject="Run the failover drill on shop?")
    with pytest.raises(HITLTimeoutError):
        operator.execute_complete({"ti": ti}, {"error": "no response", "error_type": "timeout"})
    assert ti.pushed == {}


def test_no_answer_after_a_passed_preflight_is_not_approved() -> None:
    [finding] = approval_findings(None, preflight_passed=True)
    assert finding.code == "NOT_APPROVED" and "no approval came" in finding.message


@pytest.mark.parametrize("answer", [None, {"chosen_options": ["Reject"]}, {"chosen_options": ["Approve"]}])
def test_a_failed_preflight_has_its_own_findings_and_no_approval_finding(answer: dict[str, Any] | None) -> None:
    assert approval_findings(answer, preflight_passed=False) == []
