"""The step list: written once, every step a method of both failover paths, in the DAG's order."""

from __future__ import annotations

import inspect

import pytest

from drdrill.drills.failover.managed import ManagedPath
from drdrill.drills.failover.path import FailoverPath
from drdrill.drills.failover.self_managed import SelfManagedPath
from drdrill.drills.failover.steps import CLEANUP, FAIL_OVER, RECORDED_STEPS, STEPS, timed

pytestmark = pytest.mark.unit


def test_the_recorded_steps_are_the_step_list_with_the_teardown_before_the_last_check() -> None:
    assert STEPS == ("preflight", "start_canary", "inject_fault", "detect", "promote", "redirect", "verify_writes",
                     "measure", "fail_back", "verify_consistency")
    assert RECORDED_STEPS == [*STEPS[:-1], CLEANUP, STEPS[-1]]
    assert FAIL_OVER == STEPS[1:-1]


@pytest.mark.parametrize("path", [SelfManagedPath, ManagedPath])
def test_every_step_is_a_method_both_paths_implement(path: type[FailoverPath]) -> None:
    assert not inspect.isabstract(path), sorted(getattr(path, "__abstractmethods__", ()))
    for step in (*STEPS, CLEANUP):
        assert callable(getattr(path, step)), step
    assert path.managed is (path is ManagedPath)


def test_a_timed_step_reports_its_wall_time_too() -> None:
    assert set(timed(lambda: {"done": True})()) == {"done", "seconds"}
