"""``drdrill.drill_record``: one verdict and record from a drill's steps, whichever path ran them."""

from __future__ import annotations

import pytest

from drdrill.drill_record import StepRunner, build_record
from drdrill.findings import COULD_NOT_VERIFY, PASSED, DrillFailed, Finding

pytestmark = pytest.mark.unit
STEPS = ["preflight", "dump_and_upload", "verify"]


def test_a_step_that_vanished_without_a_finding_is_not_a_pass() -> None:
    record, findings = build_record(run_id="r", target="shop", drill="backup", started_at="s", steps=STEPS,
                                    results={"preflight": {"seconds": 1}}, findings_by_step={})
    assert record.verdict == COULD_NOT_VERIFY
    assert [f.evidence["step"] for f in findings] == ["dump_and_upload"]


def test_only_the_first_failing_step_counts_and_a_clean_run_passes_with_its_timings() -> None:
    record, findings = build_record(run_id="r", target="shop", drill="backup", started_at="s", steps=STEPS,
                                    results={}, findings_by_step={"preflight": [Finding("TARGET_UNAVAILABLE", "x")]})
    assert [f.code for f in findings] == ["TARGET_UNAVAILABLE"] and record.details["failed_steps"] == ["preflight"]
    record, _ = build_record(run_id="r", target="shop", drill="backup", started_at="s", steps=STEPS,
                             results={s: {"seconds": 1} for s in STEPS}, findings_by_step={})
    assert record.verdict == PASSED and record.stage_seconds == {s: 1.0 for s in STEPS}


def test_a_dry_run_needs_only_the_steps_it_ran() -> None:
    record, findings = build_record(run_id="r", target="shop", drill="backup", started_at="s", steps=STEPS,
                                    results={"preflight": {"seconds": 1}}, findings_by_step={}, dry_run=True)
    assert record.verdict == PASSED and findings == [] and record.details["dry_run"] is True


def test_findings_a_step_returned_with_its_result_count() -> None:
    found = Finding("RPO_EXCEEDED", "the newest heartbeat is 20 minutes old").to_dict()
    results = {step: {"seconds": 1} for step in STEPS}
    results["verify"] = {"seconds": 1, "findings": [found]}
    record, findings = build_record(run_id="r", target="shop", drill="restore", started_at="s", steps=STEPS,
                                    results=results, findings_by_step={})
    assert [f.code for f in findings] == ["RPO_EXCEEDED"] and record.verdict == "failed"
    # through Airflow every step has an entry (``runtime.pull_results``), empty when its task raised none
    record, findings = build_record(run_id="r", target="shop", drill="restore", started_at="s", steps=STEPS,
                                    results=results, findings_by_step={step: [] for step in STEPS})
    assert [f.code for f in findings] == ["RPO_EXCEEDED"] and record.verdict == "failed"
    # a step that raised is judged by what it raised, not counted twice
    raised = {step: [] for step in STEPS} | {"verify": [Finding.from_dict(found)]}
    _, findings = build_record(run_id="r", target="shop", drill="restore", started_at="s", steps=STEPS,
                               results=results, findings_by_step=raised)
    assert [f.code for f in findings] == ["RPO_EXCEEDED"]


def test_the_in_process_runner_keeps_findings_and_evidence_as_xcom_would() -> None:
    runner = StepRunner()
    assert runner.attempt("preflight", lambda: {"seconds": 0.5}) == {"seconds": 0.5}

    def failing() -> None:
        raise DrillFailed([Finding("ARTEFACT_CORRUPT", "sha256 differs")], outcome={"checked": 2})

    assert runner.attempt("verify", failing) is None
    assert [f.code for f in runner.findings["verify"]] == ["ARTEFACT_CORRUPT"]
    assert runner.results == {"preflight": {"seconds": 0.5}, "verify": {"checked": 2}}
