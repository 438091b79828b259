"""``drdrill.findings``: finding codes, the verdict each forces, and the exception that carries them."""

from __future__ import annotations

import json

import pytest

from drdrill.errors import DrdrillError, ToolError
from drdrill.findings import (
    BACKUP_INDICTING,
    CATALOG,
    NOT_ABOUT_THE_BACKUP,
    COULD_NOT_VERIFY,
    FAILED,
    PASSED,
    DrillFailed,
    Finding,
    error_finding,
    verdict_of,
)

pytestmark = pytest.mark.unit


def test_an_unknown_code_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown finding code 'BACKUP_BROKE'"):
        Finding("BACKUP_BROKE", "x")


def test_the_fix_defaults_to_the_catalog_one_and_an_explicit_fix_wins() -> None:
    assert Finding("BINLOG_GAP", "mysql-bin.000004 is missing.").fix == CATALOG["BINLOG_GAP"][1]
    assert Finding("BINLOG_GAP", "gap", "re-archive it.").fix == "re-archive it."


def test_every_catalog_entry_forces_a_known_verdict_and_has_a_fix() -> None:
    for code, (verdict, fix) in CATALOG.items():
        assert verdict in (PASSED, FAILED, COULD_NOT_VERIFY), code
        assert fix.strip(), code


def test_every_code_is_classified_as_indicting_the_backup_or_not_exactly_once() -> None:
    unclassified = set(CATALOG) - BACKUP_INDICTING - NOT_ABOUT_THE_BACKUP
    assert not unclassified, f"add {sorted(unclassified)} to findings.BACKUP_INDICTING or findings.NOT_ABOUT_THE_BACKUP"
    assert not BACKUP_INDICTING & NOT_ABOUT_THE_BACKUP
    assert (BACKUP_INDICTING | NOT_ABOUT_THE_BACKUP) <= set(CATALOG)
    assert all(CATALOG[code][0] == FAILED for code in BACKUP_INDICTING)


@pytest.mark.parametrize(("code", "indicts"), [
    ("CHECKSUM_MISMATCH", True), ("ROWCOUNT_MISMATCH", True), ("RESTORE_ERROR", True), ("ARTEFACT_CORRUPT", True),
    ("TABLE_MISSING", True), ("OBJECT_MISSING", True), ("PRIMARY_KEY_VIOLATION", True), ("MANIFEST_CORRUPT", True),
    ("ACCOUNT_MISSING", True), ("GRANTS_DIFFER", True),
    ("RTO_EXCEEDED", False), ("RPO_EXCEEDED", False), ("BACKUP_STALE", False), ("NEWER_BACKUPS_UNUSABLE", False),
    ("COULD_NOT_VERIFY", False), ("SAFETY_INTERLOCK", False),
])
def test_only_findings_about_the_backup_itself_indict_it(code: str, indicts: bool) -> None:
    assert (code in BACKUP_INDICTING) is indicts


@pytest.mark.parametrize(("code", "verdict"), [
    ("CHECKSUM_MISMATCH", FAILED), ("TARGET_UNAVAILABLE", COULD_NOT_VERIFY), ("ERRANT_TRANSACTIONS", PASSED),
    ("NOT_APPROVED", COULD_NOT_VERIFY), ("RTO_EXCEEDED", FAILED),
])
def test_a_finding_forces_its_codes_verdict(code: str, verdict: str) -> None:
    assert Finding(code, "m").verdict == verdict


@pytest.mark.parametrize(("codes", "verdict"), [
    ([], PASSED),
    (["ERRANT_TRANSACTIONS"], PASSED),
    (["COULD_NOT_VERIFY"], COULD_NOT_VERIFY),
    (["ERRANT_TRANSACTIONS", "STORAGE_UNAVAILABLE"], COULD_NOT_VERIFY),
    (["STORAGE_UNAVAILABLE", "ROWCOUNT_MISMATCH", "ERRANT_TRANSACTIONS"], FAILED),
    (["ROWCOUNT_MISMATCH"], FAILED),
])
def test_failed_beats_could_not_verify_beats_passed(codes: list[str], verdict: str) -> None:
    assert verdict_of(Finding(code, "m") for code in codes) == verdict


def test_sentence_is_code_message_and_fix_on_one_line() -> None:
    finding = Finding("TABLE_MISSING", "shop.orders is not in the restore.", "check the dump.")
    assert finding.sentence() == "TABLE_MISSING: shop.orders is not in the restore. Fix: check the dump."


def test_the_json_form_round_trips() -> None:
    finding = Finding("RPO_EXCEEDED", "Lost 20m.", evidence={"lost_seconds": 1200.5, "files": ["a", "b"]})
    data = json.loads(json.dumps(finding.to_dict()))
    assert data == {"code": "RPO_EXCEEDED", "message": "Lost 20m.", "fix": CATALOG["RPO_EXCEEDED"][1],
                    "evidence": {"lost_seconds": 1200.5, "files": ["a", "b"]}}
    assert Finding.from_dict(data) == finding


def test_a_step_that_raised_a_drdrill_error_could_not_verify_with_its_problem_and_fix() -> None:
    finding = error_finding("Task verify", ToolError("zstd exited with 1.", "free disk space."))
    assert finding.code == "COULD_NOT_VERIFY" and finding.verdict == COULD_NOT_VERIFY
    assert finding.message == "Task verify failed: zstd exited with 1."
    assert finding.fix == "free disk space."


def test_a_step_that_raised_anything_else_names_the_exception_type() -> None:
    finding = error_finding("Step restore", KeyError("objects"))
    assert finding.message == "Step restore failed: KeyError: 'objects'"
    assert finding.fix == CATALOG["COULD_NOT_VERIFY"][1]
    assert verdict_of([finding]) != PASSED


def test_drill_failed_carries_findings_steps_and_evidence() -> None:
    findings = [Finding("STORAGE_UNAVAILABLE", "S3 timed out."), Finding("ARTEFACT_CORRUPT", "sha256 differs.")]
    failed = DrillFailed(findings, failed_steps=["verify"], measurements={"RTO": "1m"}, outcome={"seconds": 3})
    assert isinstance(failed, DrdrillError)
    assert failed.verdict == FAILED
    assert str(failed) == f"failed: {findings[0].sentence()} | {findings[1].sentence()}"
    assert (failed.findings, failed.failed_steps, failed.measurements, failed.outcome) == (
        findings, ["verify"], {"RTO": "1m"}, {"seconds": 3})


def test_drill_failed_with_only_could_not_verify_findings_is_not_called_failed() -> None:
    failed = DrillFailed([Finding("TARGET_UNAVAILABLE", "Connection refused.")])
    assert failed.verdict == COULD_NOT_VERIFY and str(failed).startswith("could_not_verify: TARGET_UNAVAILABLE")
    assert (failed.failed_steps, failed.measurements, failed.outcome) == ([], {}, None)
