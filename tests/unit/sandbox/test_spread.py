"""``drdrill.sandbox.spread``: consecutive tasks of a drill go to different workers' queues."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from drdrill.sandbox.spread import QUEUES_VARIABLE, queue_for, spread_queues, task_policy

pytestmark = pytest.mark.unit
ORDER = ["select_backup", "recover", "measure", "record"]


def _dag(tags: list[str]) -> SimpleNamespace:
    return SimpleNamespace(tags=tags, topological_sort=lambda: [SimpleNamespace(task_id=task_id) for task_id in ORDER])


def test_consecutive_tasks_alternate_between_the_queues() -> None:
    assert [queue_for(ORDER, task_id, ["w1", "w2"]) for task_id in ORDER] == ["w1", "w2", "w1", "w2"]


def test_the_policy_moves_drdrill_tasks_only_and_only_when_queues_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    drill = SimpleNamespace(task_id="recover", queue="default", dag=_dag(["drdrill", "restore"]))
    other = SimpleNamespace(task_id="recover", queue="default", dag=_dag(["etl"]))
    monkeypatch.delenv(QUEUES_VARIABLE, raising=False)
    task_policy(drill)
    assert drill.queue == "default" and spread_queues() == []
    monkeypatch.setenv(QUEUES_VARIABLE, "w1, w2")
    task_policy(drill)
    task_policy(other)
    assert (drill.queue, other.queue) == ("w2", "default")
