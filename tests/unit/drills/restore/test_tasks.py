"""The restore drill's task bodies where no server is needed: the form read from a run's params, the DAG's Params."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest

from drdrill.drills.layouts import layout_for
from drdrill.drills.pitr.form import PitrOptions
from drdrill.drills.restore import tasks
from drdrill.drills.restore.form import RestoreOptions
from drdrill.findings import DrillFailed
from drdrill.storage.lease import take_lease
from drdrill.storage.memory import MemoryObjectStore
from tests.helpers.airflow_context import context_of
from tests.helpers.targets import write_config

pytestmark = pytest.mark.unit
STARTED = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)


def context(**params) -> dict:
    return {"params": params, "dag_run": SimpleNamespace(start_date=STARTED, run_after=STARTED), "run_id": "r"}


def test_the_dags_params_come_from_the_form() -> None:
    params = tasks.dag_params()
    assert list(params) == ["backup", "backup_id", "window_days", "keep_scratch", "rto_objective", "rpo_objective",
                            "disaster_at"]
    assert params["window_days"].value == 7 and params["backup"].schema["enum"] == ["newest", "backup_id", "random"]
    assert list(tasks.dag_params(PitrOptions)) == ["target_time", "keep_scratch", "disaster_at"]


def test_an_unreadable_value_is_a_config_invalid_finding_with_the_fix() -> None:
    with pytest.raises(DrillFailed) as failed:
        tasks.read_options(RestoreOptions, context(disaster_at="soon"))
    (finding,) = failed.value.findings
    assert finding.code == "CONFIG_INVALID" and finding.message == "disaster_at 'soon' is not an ISO-8601 time."
    assert finding.fix == "Use a time like 2026-11-21T08:00:00Z, or leave it empty for the drill's start."


def test_a_bad_target_time_is_a_config_finding_naming_the_field_and_what_empty_means() -> None:
    with pytest.raises(DrillFailed) as caught:
        tasks.read_options(PitrOptions, context(target_time="yesterday"))
    [finding] = caught.value.findings
    assert finding.code == "CONFIG_INVALID" and finding.message == "target_time 'yesterday' is not an ISO-8601 time."
    assert "leave it empty for a random recoverable second" in finding.fix


def test_the_declared_disaster_defaults_to_the_runs_start() -> None:
    declared = datetime(2026, 11, 21, 8, 0, tzinfo=timezone.utc)
    assert tasks.disaster_at(context(), None) == STARTED
    assert tasks.disaster_at(context(), declared) == declared


def test_the_record_releases_the_runs_lease_also_when_nothing_was_restored(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRDRILL_CONFIG", str(write_config(tmp_path)))
    store = MemoryObjectStore()
    monkeypatch.setattr(tasks, "object_store", lambda storage: store)
    ran = context_of("record", {("select_backup", "return_value"): {"backup_id": "b"}})
    take_lease(store, layout_for(tasks.runtime.target("shop")), key=tasks.run_key(ran["run_id"]), run_id=ran["run_id"],
               drill="restore", backup_id="b")
    assert [item for item in store.list_objects("") if "lease" in item.key]
    with pytest.raises(DrillFailed):  # nothing was fetched: could not verify
        tasks.record("shop", ran)
    assert not [item for item in store.list_objects("") if "lease" in item.key]


@pytest.mark.parametrize("field", ["rto_objective", "rpo_objective"])
def test_a_bad_objective_override_stops_the_first_task_before_any_work(field: str, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    from drdrill.airflow.runtime import FINDINGS_KEY

    monkeypatch.setenv("DRDRILL_CONFIG", str(write_config(tmp_path)))
    store: dict = {}
    with pytest.raises(AirflowFailException):  # no connection is resolved, no bucket read: the form fails first
        tasks.select_backup("shop", context_of("select_backup", store, **{field: "banana"}))
    (finding,) = store[("select_backup", FINDINGS_KEY)]
    assert finding["code"] == "CONFIG_INVALID" and f"{field} 'banana': invalid duration" in finding["message"]
