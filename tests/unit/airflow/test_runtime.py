"""``drdrill.airflow.runtime``: the glue between Airflow tasks and the library, without a running Airflow.

The task instance here is its XCom side only (push and pull by task id and key), shared by the step tasks and the
record task as Airflow's XCom table would be; whole DAG runs are in the integration tests.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from drdrill.airflow.runtime import (
    FINDINGS_KEY,
    OUTCOME_KEY,
    SpanRunner,
    config,
    dag_run_ended,
    finish_drill,
    pull_results,
    run_step,
    run_time,
    target,
    work_dir,
)
from drdrill.drill_locks import Holder
from drdrill.errors import ConfigError
from drdrill.findings import DrillFailed, Finding
from drdrill.history import list_drills
from drdrill.storage.memory import MemoryObjectStore
from tests.helpers.airflow_context import RETURN, RUN_AFTER, context_of, memory_bucket
from tests.helpers.targets import write_config

pytestmark = pytest.mark.unit
STEPS = ["select_backup", "fetch_and_verify", "provision_scratch", "restore", "validate", "measure"]



def run_task(store: dict[tuple[str, str], Any], task_id: str, step: Any) -> Any:
    """Run a step as its task would: run_step, and the return value into XCom as Airflow does."""
    value = run_step(context_of(task_id, store), step)
    store[(task_id, RETURN)] = value
    return value


def failing(*findings: Finding, outcome: dict[str, Any] | None = None) -> Any:
    def step() -> Any:
        raise DrillFailed(list(findings), outcome=outcome)
    return step


@pytest.fixture(autouse=True)
def unbound_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """A SpanRunner binds the runs its process claims to the process; these tests' process is pytest's."""
    from drdrill.servers import owner

    monkeypatch.setattr(owner, "_bound", False)


@pytest.fixture
def evidence_store(monkeypatch: pytest.MonkeyPatch) -> MemoryObjectStore:
    """The bucket the record task stores evidence in: the memory store for these tests (S3 ones are integration)."""
    return memory_bucket(monkeypatch)


@pytest.fixture
def drills_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, evidence_store: MemoryObjectStore) -> Path:
    path = write_config(tmp_path)
    monkeypatch.setenv("DRDRILL_CONFIG", str(path))
    return path


def test_run_time_is_the_runs_own_time_in_utc() -> None:
    assert run_time({"dag_run": SimpleNamespace(run_after=RUN_AFTER)}) == datetime(2026, 12, 6, 10, 0, tzinfo=timezone.utc)
    logical = datetime(2026, 12, 5, 3, 0, tzinfo=timezone.utc)
    assert run_time({"dag_run": SimpleNamespace(run_after=None, logical_date=logical)}) == logical


def test_run_time_without_a_run_is_now() -> None:
    before = datetime.now(timezone.utc)
    when = run_time({})
    assert before <= when <= datetime.now(timezone.utc) and when.tzinfo == timezone.utc


def test_a_step_that_works_returns_its_value_and_pushes_nothing_else() -> None:
    store: dict[tuple[str, str], Any] = {}
    assert run_task(store, "preflight", lambda: {"seconds": 1.5}) == {"seconds": 1.5}
    assert store == {("preflight", RETURN): {"seconds": 1.5}}


def test_a_step_with_findings_pushes_them_and_its_evidence_then_fails_without_retry() -> None:
    store: dict[tuple[str, str], Any] = {}
    finding = Finding("ARTEFACT_CORRUPT", "dump.sql.zst: sha256 differs.")
    with pytest.raises(AirflowFailException, match="ARTEFACT_CORRUPT: dump.sql.zst: sha256 differs.") as caught:
        run_step(context_of("verify", store), failing(finding, outcome={"seconds": 2.0, "checked": 3}))
    assert isinstance(caught.value.__cause__, DrillFailed)
    assert store == {("verify", FINDINGS_KEY): [finding.to_dict()], ("verify", OUTCOME_KEY): {"seconds": 2.0, "checked": 3}}


def test_a_step_with_findings_and_no_evidence_pushes_only_the_findings() -> None:
    store: dict[tuple[str, str], Any] = {}
    with pytest.raises(AirflowFailException):
        run_step(context_of("verify", store), failing(Finding("MANIFEST_INVALID", "no manifest.json")))
    assert set(store) == {("verify", FINDINGS_KEY)}


def test_an_unexpected_error_is_pushed_as_could_not_verify_and_raised_as_it_was() -> None:
    store: dict[tuple[str, str], Any] = {}

    def broken() -> None:
        raise OSError("No space left on device")

    with pytest.raises(OSError, match="No space left"):
        run_step(context_of("dump_and_upload", store), broken)
    [pushed] = store[("dump_and_upload", FINDINGS_KEY)]
    assert pushed["code"] == "COULD_NOT_VERIFY"
    assert pushed["message"] == "Task dump_and_upload failed: OSError: No space left on device"


def test_pull_results_gives_return_values_or_evidence_and_the_findings_per_step() -> None:
    store: dict[tuple[str, str], Any] = {}
    finding = Finding("BACKUP_STALE", "The newest backup is 3 days old.")
    run_task(store, "preflight", lambda: {"seconds": 1.0})
    with pytest.raises(AirflowFailException):
        run_step(context_of("select_backup", store), failing(finding, outcome={"seconds": 0.5}))
    results, findings = pull_results(context_of("record", store), ["preflight", "select_backup", "restore"])
    assert results == {"preflight": {"seconds": 1.0}, "select_backup": {"seconds": 0.5}, "restore": None}
    assert findings == {"preflight": [], "select_backup": [finding], "restore": []}


@pytest.mark.usefixtures("drills_yaml")
def test_config_target_and_work_dir_come_from_the_drills_yaml_at_run_time(tmp_path: Path) -> None:
    assert config().settings.history_url == f"sqlite:///{tmp_path}/history.sqlite"
    assert target("shop").databases == ("shop", "billing")
    assert work_dir() == tmp_path / "work" and work_dir().is_dir()
    with pytest.raises(ConfigError, match="no target named 'shops'"):
        target("shops")


@pytest.mark.usefixtures("drills_yaml")
def test_a_drill_whose_steps_all_passed_is_recorded_as_passed(tmp_path: Path) -> None:
    store: dict[tuple[str, str], Any] = {}
    run_task(store, "preflight", lambda: {"seconds": 1.0})
    run_task(store, "dump_and_upload", lambda: {"seconds": 4.0})
    record = finish_drill(context_of("record", store), target_name="shop", drill="backup",
                          steps=["preflight", "dump_and_upload"], backup_id="b1", details={"engine": "mariadb-dump"})
    assert record["verdict"] == "passed" and record["findings"] == []
    assert record["stage_seconds"] == {"preflight": 1.0, "dump_and_upload": 4.0}
    assert record["started_at"] == RUN_AFTER.isoformat()
    assert record["details"]["airflow_run"] == "http://airflow.example/dags/dr_backup__shop/runs/manual__1"
    assert record["details"]["engine"] == "mariadb-dump"
    [stored] = list_drills(f"sqlite:///{tmp_path}/history.sqlite")
    assert stored.to_dict() == record


def test_the_record_names_the_evidence_it_stored_and_the_alert_links_it(drills_yaml: Path,
                                                                        evidence_store: MemoryObjectStore) -> None:
    store: dict[tuple[str, str], Any] = {}
    run_task(store, "preflight", lambda: {"seconds": 1.0})
    record = finish_drill(context_of("record", store), target_name="shop", drill="backup", steps=["preflight"])
    bundle = json.loads(evidence_store.get_bytes(record["details"]["evidence_key"]) or b"")
    assert bundle["parts"]["trigger"]["via"] == "airflow" and bundle["sha256"] == record["details"]["evidence_sha256"]
    with pytest.raises(DrillFailed) as caught:
        finish_drill(context_of("record", store), target_name="shop", drill="backup", steps=["preflight", "verify"])
    assert caught.value.measurements["evidence"].startswith("s3://unit-tests/")


def test_a_record_task_that_cannot_store_its_evidence_is_never_green(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write_config(tmp_path)  # a connection that exists nowhere (the session may define drdrill_s3): a real failure
    config.write_text(config.read_text().replace("conn_id: drdrill_s3", "conn_id: drdrill_s3_nowhere"))
    monkeypatch.setenv("DRDRILL_CONFIG", str(config))
    store: dict[tuple[str, str], Any] = {}
    run_task(store, "preflight", lambda: {"seconds": 1.0})
    with pytest.raises(DrillFailed) as caught:
        finish_drill(context_of("record", store), target_name="shop", drill="backup", steps=["preflight"])
    assert [finding.code for finding in caught.value.findings] == ["EVIDENCE_NOT_STORED"]
    [stored] = list_drills(f"sqlite:///{tmp_path}/history.sqlite")
    assert stored.verdict == "could_not_verify" and "evidence_key" not in stored.details


@pytest.mark.usefixtures("drills_yaml")
def test_a_drill_with_a_finding_is_recorded_then_fails_with_the_findings_and_failed_steps(tmp_path: Path) -> None:
    store: dict[tuple[str, str], Any] = {}
    finding = Finding("ARTEFACT_MISSING", "dump.sql.zst is not in S3.")
    run_task(store, "preflight", lambda: {"seconds": 1.0})
    with pytest.raises(AirflowFailException):
        run_step(context_of("verify", store), failing(finding))
    with pytest.raises(DrillFailed) as caught:
        finish_drill(context_of("record", store), target_name="shop", drill="backup", steps=["preflight", "verify"],
                     slack_lines={"RTO": "not measured"})
    assert caught.value.findings == [finding] and caught.value.failed_steps == ["verify"]
    assert caught.value.measurements["RTO"] == "not measured"
    [stored] = list_drills(f"sqlite:///{tmp_path}/history.sqlite")
    assert stored.verdict == "failed" and stored.findings == [finding.to_dict()]


@pytest.mark.usefixtures("drills_yaml")
def test_a_step_that_left_neither_result_nor_finding_is_never_a_pass() -> None:
    store: dict[tuple[str, str], Any] = {}
    run_task(store, "preflight", lambda: {"seconds": 1.0})
    with pytest.raises(DrillFailed) as caught:
        finish_drill(context_of("record", store), target_name="shop", drill="backup", steps=["preflight", "verify"])
    assert caught.value.verdict == "could_not_verify" and caught.value.failed_steps == ["verify"]
    assert "Step verify did not complete" in caught.value.findings[0].message


@pytest.mark.usefixtures("drills_yaml")
def test_findings_the_record_task_makes_count_like_the_steps_own() -> None:
    store: dict[tuple[str, str], Any] = {}
    run_task(store, "preflight", lambda: {"seconds": 1.0})
    late = Finding("NOT_APPROVED", "nobody answered.")
    with pytest.raises(DrillFailed) as caught:
        finish_drill(context_of("record", store), target_name="shop", drill="failover", steps=["preflight"],
                     found={"preflight": [late]})
    assert caught.value.findings == [late] and caught.value.verdict == "could_not_verify"


def test_an_error_that_cannot_heal_fails_the_task_without_retry() -> None:
    store: dict[tuple[str, str], Any] = {}

    def disk_full() -> None:
        with open("/dev/full", "wb") as full:  # a real ENOSPC from the kernel
            full.write(b"x")
            full.flush()

    def bad_config() -> None:
        raise ConfigError("drills.yaml", "targets.shop.rto", "not a duration", "write it like 30m")

    for step in (disk_full, bad_config):
        with pytest.raises(AirflowFailException, match="not retried"):
            run_step(context_of("fetch_and_verify", store), step)
        [pushed] = store[("fetch_and_verify", FINDINGS_KEY)]
        assert pushed["code"] == "COULD_NOT_VERIFY"


def test_a_transient_network_error_is_raised_as_it_was_so_airflow_retries_it() -> None:
    import socket

    def refused() -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))  # a port nobody listens on
            port = sock.getsockname()[1]
        socket.create_connection(("127.0.0.1", port), timeout=5)

    with pytest.raises(ConnectionRefusedError):
        run_step(context_of("fetch_and_verify", {}), refused)


def test_a_span_pushes_each_step_as_it_ends_so_a_worker_dying_mid_span_leaves_what_it_found(drills_yaml: Path) -> None:
    store: dict[tuple[str, str], Any] = {("select_backup", RETURN): {"backup_id": "b", "seconds": 0.1}}
    runner = SpanRunner(context_of("recover", store))
    runner.attempt("fetch_and_verify", lambda: {"backup_id": "b", "seconds": 1.0})
    results, findings = pull_results(context_of("record", store), STEPS, ("recover",))
    assert results["fetch_and_verify"] == {"backup_id": "b", "seconds": 1.0} and results["select_backup"]
    # the worker died in provision_scratch: the record finds the first step that left nothing
    with pytest.raises(DrillFailed) as failed:
        finish_drill(context_of("record", store), target_name="shop", drill="restore", steps=STEPS, spans=("recover",))
    assert [(finding.code, finding.evidence.get("step")) for finding in failed.value.findings] == [
        ("COULD_NOT_VERIFY", "provision_scratch")]


def test_a_span_step_that_finds_a_problem_or_errors_fails_the_task_with_its_finding(drills_yaml: Path) -> None:
    store: dict[tuple[str, str], Any] = {}
    runner = SpanRunner(context_of("recover", store))
    assert runner.attempt("fetch_and_verify", failing(Finding("MANIFEST_CORRUPT", "edited"))) is None
    with pytest.raises(AirflowFailException, match="MANIFEST_CORRUPT"):
        runner.finish({})
    _, findings = pull_results(context_of("record", store), STEPS, ("recover",))
    assert [finding.code for finding in findings["fetch_and_verify"]] == ["MANIFEST_CORRUPT"]

    flaky = SpanRunner(context_of("recover", {}))

    def reset() -> None:
        raise ConnectionResetError("S3 went away")
    flaky.attempt("fetch_and_verify", reset)
    assert flaky.findings["fetch_and_verify"][0].code == "COULD_NOT_VERIFY"
    assert flaky.findings["fetch_and_verify"][0].message.startswith("Step fetch_and_verify of task recover failed: "
                                                                    "ConnectionResetError")
    with pytest.raises(AirflowFailException, match="COULD_NOT_VERIFY"):  # never retried: an interrupted drill verified nothing
        flaky.finish({})

    healthy = SpanRunner(context_of("recover", {}))
    healthy.attempt("fetch_and_verify", lambda: {"seconds": 1.0})
    assert healthy.finish({"scratch": {"kept": False}}) == {"scratch": {"kept": False}}


def _timed_context(store: dict[tuple[str, str], Any], task_id: str) -> dict[str, Any]:
    from datetime import timedelta

    context = context_of(task_id, store)
    context["ti"].task = SimpleNamespace(execution_timeout=timedelta(minutes=45))
    context["dag"] = SimpleNamespace(dag_id="dr_restore_drill__shop", dagrun_timeout=None)
    return context


def _hang() -> Any:
    from airflow.sdk.exceptions import AirflowTaskTimeout

    raise AirflowTaskTimeout()  # what Airflow's alarm raises inside a step past its execution_timeout


def test_a_task_past_its_bound_is_task_timeout_naming_the_key_and_is_not_retried() -> None:
    store: dict[tuple[str, str], Any] = {}
    with pytest.raises(AirflowFailException, match="bound of 45m"):
        run_step(_timed_context(store, "select_backup"), _hang)
    [found] = [Finding.from_dict(item) for item in store[("select_backup", FINDINGS_KEY)]]
    assert found.code == "TASK_TIMEOUT" and found.verdict == "could_not_verify"
    assert "timeouts.short of target shop" in found.message and "raise timeouts.short" in found.fix


def test_a_step_past_its_bound_inside_a_span_is_its_finding_and_the_rest_of_the_span_still_runs() -> None:
    store: dict[tuple[str, str], Any] = {}
    runner = SpanRunner(_timed_context(store, "recover"))
    runner.attempt("restore", _hang)
    runner.attempt("validate", lambda: {"ok": True})  # (the runner skips it in a drill; the teardown runs)
    assert [f.code for f in runner.findings["restore"]] == ["TASK_TIMEOUT"]
    assert "Step restore of task recover" in runner.findings["restore"][0].message
    assert "timeouts.recovery" in runner.findings["restore"][0].message
    with pytest.raises(AirflowFailException):
        runner.finish({})


def test_what_a_span_claims_on_the_worker_ends_with_its_process(tmp_path: Path) -> None:
    from drdrill.servers.owner import claim, read_owner

    claim(tmp_path / "before", "run-1")
    assert read_owner(tmp_path / "before").pid is None  # a task that holds nothing across its end: by lease
    SpanRunner(context_of("recover", {}))
    claim(tmp_path / "span", "run-1")
    owner = read_owner(tmp_path / "span")
    assert owner.pid and owner.process_alive()


class StatesOfRuns:
    """A task instance's ``get_dagrun_state`` side: the states Airflow would give, by (dag_id, run_id)."""

    def __init__(self, states: dict[tuple[str, str], str]) -> None:
        self.states = states
        self.asked: list[tuple[str, str]] = []

    def get_dagrun_state(self, dag_id: str, run_id: str) -> str:
        self.asked.append((dag_id, run_id))
        if (dag_id, run_id) not in self.states:
            raise RuntimeError("DagRun not found")  # what the Execution API answers for a run it does not know
        return self.states[(dag_id, run_id)]


def holder(drill: str, run_id: str) -> Holder:
    return Holder("shop", run_id, drill, "2026-12-07T10:00:00+00:00", "2026-12-07T12:00:00+00:00")


def test_a_hold_has_ended_only_when_airflow_says_its_run_succeeded_or_failed() -> None:
    ti = StatesOfRuns({("dr_backup__shop", "done"): "success", ("dr_restore_drill__shop", "red"): "failed",
                       ("dr_backup__shop", "going"): "running", ("dr_backup__shop", "waiting"): "queued"})
    ended = dag_run_ended(ti)
    assert ended(holder("backup", "done")) and ended(holder("restore", "red"))
    assert not ended(holder("backup", "going")) and not ended(holder("backup", "waiting"))
    assert not ended(holder("backup", "cli__20261207T100000Z"))  # a run Airflow does not know: honoured until it expires
    assert not ended(holder("no_such_kind", "done")) and ("dr_no_such_kind__shop", "done") not in ti.asked
