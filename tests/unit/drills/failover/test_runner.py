"""The runner: the path chosen once from the fault, the step list run in order, stopping where a step stops."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from drdrill.config import Target
from drdrill.drills.failover.managed import ManagedPath
from drdrill.drills.failover.path import Connections, Results, Run
from drdrill.drills.failover.runner import ApprovalRequired, call, fail_over, path_for
from drdrill.drills.failover.self_managed import SelfManagedPath
from drdrill.drills.failover.steps import FAIL_OVER

pytestmark = pytest.mark.unit


def _unused(*_args: Any) -> Any:
    raise AssertionError("not used here")


def _run(target: Target, tmp_path: Path) -> Run:
    return Run(target, Connections(_unused, redirect_source=_unused, store=_unused, rds=_unused), tmp_path, "r")


class Recording(SelfManagedPath):
    """Each step records its name and what it saw of the steps before it."""

    def __init__(self, run: Run, seen: list[tuple[str, list[str]]]) -> None:
        super().__init__(run)
        self.seen = seen

    def __getattribute__(self, name: str) -> Any:
        if name in FAIL_OVER:
            def step(results: Results) -> dict[str, Any]:
                self.seen.append((name, sorted(results)))
                return {"step": name}
            return step
        return super().__getattribute__(name)


@pytest.mark.parametrize(("settings", "kind"), [
    ({"fault": "kill"}, SelfManagedPath), ({"fault": "shutdown"}, SelfManagedPath),
    ({"fault": "rds_reboot", "db_instance_id": "db1"}, ManagedPath),
    ({"fault": "aurora_failover", "db_cluster_id": "shop"}, ManagedPath),
])
def test_the_path_is_chosen_once_from_the_fault(make_target: Callable[..., Target], tmp_path: Path,
                                                settings: dict[str, str], kind: type) -> None:
    assert type(path_for(_run(make_target(**settings), tmp_path))) is kind


def test_the_steps_run_in_the_lists_order_each_on_the_results_before_it(make_target: Callable[..., Target],
                                                                        tmp_path: Path) -> None:
    seen: list[tuple[str, list[str]]] = []
    results: dict[str, Any] = {"preflight": {}}
    fail_over(Recording(_run(make_target(), tmp_path), seen), results)
    assert [name for name, _ in seen] == list(FAIL_OVER)
    assert seen[3] == ("promote", ["detect", "inject_fault", "preflight", "start_canary"])
    assert results["fail_back"] == {"step": "fail_back"}
    assert call(Recording(_run(make_target(), tmp_path), []), "detect", {}) == {"step": "detect"}


def test_a_step_that_does_not_complete_stops_the_chain(make_target: Callable[..., Target], tmp_path: Path) -> None:
    seen: list[tuple[str, list[str]]] = []
    results: dict[str, Any] = {"preflight": {}}
    fail_over(Recording(_run(make_target(), tmp_path), seen), results,
              lambda step, run: None if step == "promote" else run())
    assert [name for name, _ in seen] == ["start_canary", "inject_fault", "detect"]
    assert "promote" not in results


def test_approval_required_says_nothing_was_touched_and_how_to_approve() -> None:
    refused = ApprovalRequired("shop", "1. Start a canary")
    assert refused.approval_text == "1. Start a canary"
    assert "nothing was touched" in refused.problem and "--yes-i-approve" in (refused.fix or "")
