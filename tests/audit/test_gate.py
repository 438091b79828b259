"""The dependency audit's gate (audit/gate.py), offline.

pip-audit's vulnerability services do not answer from this machine nor from CI's (README, "Dependency audit"):
here pip-audit's output is a recorded one (the skipped report is what pip-audit 2.10.1 printed on this machine;
the vulnerable one has its JSON shape) played by a stand-in executable. What the live service says is checked by
every ``make audit`` itself: its canary (audit/canary.txt) must come back vulnerable, else the audit could not run.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import pytest

from audit.gate import (EXIT_CLEAN, EXIT_COULD_NOT_RUN, EXIT_VULNERABLE, ROOT, Accepted, CouldNotRun, ListError,
                        audit, findings_of, read_accepted, read_pins, split_accepted)

pytestmark = pytest.mark.unit

TODAY = date(2026, 12, 7)
URLLIB3_VULN = {"id": "GHSA-q2q7-5pp4-w6pg", "fix_versions": ["1.26.5"], "aliases": ["CVE-2021-33503"],
                "description": "catastrophic backtracking in URL authority parsing"}
VULNERABLE = {"dependencies": [{"name": "urllib3", "version": "1.26.4", "vulns": [URLLIB3_VULN]},
                               {"name": "pyyaml", "version": "6.0.3", "vulns": []}], "fixes": []}
CANARY = {"dependencies": [{"name": "urllib3", "version": "1.26.4", "vulns": [URLLIB3_VULN]}], "fixes": []}
SKIPPED = {"dependencies": [{"name": "urllib3", "skip_reason": "Dependency not found on PyPI and could not be "
                             "audited: urllib3 (1.26.4)"}], "fixes": []}  # pip-audit 2.10.1 -s pypi, here
CLEAN = {"dependencies": [{"name": "urllib3", "version": "2.8.0", "vulns": []},
                          {"name": "pyyaml", "version": "6.0.3", "vulns": []}], "fixes": []}


def _stand_in(tmp_path: Path, reports: dict[str, dict | str]) -> str:
    """An executable in pip-audit's place: prints the report given for the --requirement file's name (a string is
    printed to stderr, with exit 1, as pip-audit does when its service cannot be reached)."""
    script = tmp_path / "pip-audit"
    script.write_text(f"#!{sys.executable}\nimport json, sys\nreports = {json.dumps(reports)!r}\n"
                      "report = json.loads(reports)[sys.argv[sys.argv.index('--requirement') + 1].rsplit('/', 1)[-1]]\n"
                      "if isinstance(report, str):\n    print(report, file=sys.stderr); sys.exit(1)\n"
                      "print(json.dumps(report)); sys.exit(1 if any(d.get('vulns') for d in report['dependencies'])"
                      " else 0)\n")
    script.chmod(0o755)
    return str(script)


def _run(tmp_path: Path, reports: dict[str, dict | str], *, ignore: str = "", pins: str | None = None) -> int:
    (tmp_path / "constraints.txt").write_text(pins or "urllib3==1.26.4\nPyYAML==6.0.3\n")
    (tmp_path / "audit-ignore.txt").write_text(ignore)
    return audit(pip_audit=_stand_in(tmp_path, reports), requirements=tmp_path / "constraints.txt",
                 ignore=tmp_path / "audit-ignore.txt", canary=ROOT / "audit" / "canary.txt", service="pypi",
                 timeout=15, today=TODAY)


def test_a_vulnerable_pin_fails_the_audit_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(tmp_path, {"canary.txt": CANARY, "constraints.txt": VULNERABLE}) == EXIT_VULNERABLE
    err = capsys.readouterr().err
    assert "VULNERABLE urllib3==1.26.4: GHSA-q2q7-5pp4-w6pg (also CVE-2021-33503), fixed in 1.26.5" in err


def test_an_override_entry_accepts_it_and_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ignore = "# comment\n\nCVE-2021-33503 urllib3 2027-01-31 only parses URLs drdrill builds itself\n"
    assert _run(tmp_path, {"canary.txt": CANARY, "constraints.txt": VULNERABLE}, ignore=ignore) == EXIT_CLEAN
    out = capsys.readouterr().out
    assert "accepted until 2027-01-31 (audit-ignore.txt:3): urllib3==1.26.4: GHSA-q2q7-5pp4-w6pg" in out
    assert "2 pins of constraints.txt audited (service pypi): no known vulnerability beyond 1 accepted" in out


def test_a_clean_set_passes_and_a_stale_entry_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ignore = "GHSA-q2q7-5pp4-w6pg urllib3 2027-01-31 old pin\n"
    assert _run(tmp_path, {"canary.txt": CANARY, "constraints.txt": CLEAN}, ignore=ignore,
                pins="urllib3==2.8.0\nPyYAML==6.0.3\n") == EXIT_CLEAN
    assert "audit-ignore.txt:1: GHSA-q2q7-5pp4-w6pg in urllib3 is no longer reported: remove the entry" in \
        capsys.readouterr().out


def test_pins_the_service_skipped_mean_the_audit_could_not_run(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """pip-audit itself says "No known vulnerabilities found" (exit 0) for this report: the gate does not."""
    assert _run(tmp_path, {"canary.txt": SKIPPED, "constraints.txt": CLEAN}) == EXIT_COULD_NOT_RUN
    assert ("audit could not run (service pypi): canary urllib3==1.26.4: 1 of 1 pins were not audited "
            "(first: urllib3: Dependency not found on PyPI") in capsys.readouterr().err


def test_an_unreachable_service_means_the_audit_could_not_run(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    said = "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.osv.dev', port=443)"
    assert _run(tmp_path, {"canary.txt": said, "constraints.txt": said}) == EXIT_COULD_NOT_RUN
    assert f"exited 1 without a report: {said}" in capsys.readouterr().err


def test_a_service_that_calls_the_canary_clean_is_not_trusted(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    clean_canary = {"dependencies": [{"name": "urllib3", "version": "1.26.4", "vulns": []}], "fixes": []}
    assert _run(tmp_path, {"canary.txt": clean_canary, "constraints.txt": CLEAN},
                pins="urllib3==2.8.0\nPyYAML==6.0.3\n") == EXIT_COULD_NOT_RUN
    assert "reports no vulnerability for the canary urllib3==1.26.4" in capsys.readouterr().err


def test_a_pin_left_out_of_the_report_means_the_audit_could_not_run() -> None:
    with pytest.raises(CouldNotRun, match=r"1 of 2 pins were not audited \(first: pyyaml: not in pip-audit's report"):
        findings_of({"dependencies": [CLEAN["dependencies"][0]]}, {"urllib3": "2.8.0", "pyyaml": "6.0.3"})


def test_an_entry_past_its_review_date_fails_before_anything_is_asked(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    ignore = "CVE-2021-33503 urllib3 2026-12-06 only parses URLs drdrill builds itself\n"
    assert _run(tmp_path, {}, ignore=ignore) == EXIT_VULNERABLE  # {}: the stand-in would fail if it were called
    assert ("audit-ignore.txt:1: CVE-2021-33503 in urllib3 was to be reviewed by 2026-12-06: upgrade the pin"
            in capsys.readouterr().err)


@pytest.mark.parametrize(("line", "says"), [
    ("CVE-2021-33503 urllib3 2027-01-31", "needs four fields: <vulnerability id> <package> <review by"),
    ("CVE-2021-33503 urllib3 31.01.2027 why", "review date '31.01.2027' is not YYYY-MM-DD"),
])
def test_a_malformed_entry_is_named_with_its_line(tmp_path: Path, line: str, says: str) -> None:
    (tmp_path / "ignore.txt").write_text(f"# header\n{line}\n")
    with pytest.raises(ListError, match=rf"ignore.txt:2: .*{says}"):
        read_accepted(tmp_path / "ignore.txt", TODAY)


def test_an_entry_accepts_only_its_own_package_by_id_or_alias() -> None:
    [finding] = findings_of(CANARY, {"urllib3": "1.26.4"})

    def entry(vuln_id: str, package: str) -> Accepted:
        return Accepted(vuln_id, package, TODAY, "why", 1)
    assert split_accepted([finding], [entry("cve-2021-33503", "urllib3")]) == \
        ([], [(finding, entry("cve-2021-33503", "urllib3"))])
    assert split_accepted([finding], [entry("GHSA-q2q7-5pp4-w6pg", "requests")])[0] == [finding]
    assert split_accepted([finding], [entry("CVE-2023-43804", "urllib3")])[0] == [finding]


def test_the_pinned_set_is_exact_pins_only(tmp_path: Path) -> None:
    """--no-deps audits exactly what is pinned: constraints.txt must hold name==version lines only."""
    pins = read_pins(ROOT / "constraints.txt")
    assert pins["apache-airflow"] and pins["pymysql"] and len(pins) == sum(
        1 for line in (ROOT / "constraints.txt").read_text().splitlines() if line.strip())
    (tmp_path / "loose.txt").write_text("urllib3>=2\n")
    with pytest.raises(ListError, match=r"loose.txt:1: 'urllib3>=2' is not an exact pin"):
        read_pins(tmp_path / "loose.txt")


def test_the_shipped_lists_are_readable() -> None:
    assert read_pins(ROOT / "audit" / "canary.txt") == {"urllib3": "1.26.4"}
    read_accepted(ROOT / "audit-ignore.txt", date.min)  # its form; review dates are make audit's to enforce
