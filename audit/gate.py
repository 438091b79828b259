"""``make audit``: pip-audit over the pinned set (constraints.txt); a known vulnerability fails unless accepted.

Exit 0: every pin audited, nothing found beyond the accepted entries of audit-ignore.txt. Exit 1: a vulnerability
that is not accepted, an override list (or pinned file) that is malformed, or an entry past its review date.
Exit 2: the audit could not run (the service did not answer, or answered for fewer pins than there are: pip-audit
reports a pin it could not look up as "skipped" and still says "No known vulnerabilities found").

Before the pinned set, a canary (audit/canary.txt, a release with published vulnerabilities) is audited: the
service must report it vulnerable, and the override list's matching must then accept exactly what it names; a
service that reports nothing for it is not trusted with the real set either. Standard library only: it runs
under the audit's own virtualenv, apart from the project's.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXIT_CLEAN, EXIT_VULNERABLE, EXIT_COULD_NOT_RUN = 0, 1, 2
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)$")
ENTRY_FORM = "<vulnerability id> <package> <review by YYYY-MM-DD> <why it is accepted>"


class ListError(Exception):
    """An override list that cannot be used as it stands."""


class CouldNotRun(Exception):
    """The audit did not look at every pin: nothing can be said about the set."""


@dataclass(frozen=True)
class Accepted:
    """One override: a vulnerability of one package accepted until its review date, and why."""

    vuln_id: str
    package: str
    review_by: date
    reason: str
    line: int


@dataclass(frozen=True)
class Finding:
    """One vulnerability pip-audit reported for a pinned release."""

    package: str
    version: str
    vuln_id: str
    aliases: tuple[str, ...]
    fix_versions: tuple[str, ...]

    def ids(self) -> set[str]:
        return {self.vuln_id.upper(), *(alias.upper() for alias in self.aliases)}

    def sentence(self) -> str:
        fixed = f"fixed in {', '.join(self.fix_versions)}" if self.fix_versions else "no fixed release"
        also = f" (also {', '.join(self.aliases)})" if self.aliases else ""
        return f"{self.package}=={self.version}: {self.vuln_id}{also}, {fixed}"


def canonical(name: str) -> str:
    """A package name as PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(path: Path) -> dict[str, str]:
    """``name==version`` lines of a requirements file (comments and blank lines aside); any other line is refused."""
    pins: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        text = raw.split("#", 1)[0].strip()
        if not text:
            continue
        match = PIN.match(text)
        if match is None:
            raise ListError(f"{path}:{number}: {raw!r} is not an exact pin (name==version): the audit runs with "
                            "--no-deps and audits exactly the pinned releases.")
        pins[canonical(match["name"])] = match["version"]
    return pins


def read_accepted(path: Path, today: date) -> list[Accepted]:
    """The override list; a malformed line or an entry past its review date is a ListError naming the line."""
    entries: list[Accepted] = []
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        fields = text.split(None, 3)
        if len(fields) < 4:
            raise ListError(f"{path}:{number}: {raw!r} needs four fields: {ENTRY_FORM}.")
        vuln_id, package, review_by, reason = fields
        try:
            review = date.fromisoformat(review_by)
        except ValueError:
            raise ListError(f"{path}:{number}: review date {review_by!r} is not YYYY-MM-DD ({ENTRY_FORM}).") from None
        if review < today:
            raise ListError(f"{path}:{number}: {vuln_id} in {package} was to be reviewed by {review_by}: upgrade the "
                            "pin if a fixed release works, or set a new review date with the reason it still holds.")
        entries.append(Accepted(vuln_id, canonical(package), review, reason, number))
    return entries


def findings_of(report: dict, pins: dict[str, str]) -> list[Finding]:
    """The vulnerabilities in pip-audit's JSON report; CouldNotRun when a pin was skipped or left out."""
    skipped = [f"{dep['name']}: {dep['skip_reason']}" for dep in report.get("dependencies", []) if "skip_reason" in dep]
    audited = {canonical(dep["name"]) for dep in report.get("dependencies", []) if "skip_reason" not in dep}
    missing = sorted(set(pins) - audited)
    if skipped or missing:
        first = skipped[0] if skipped else f"{missing[0]}: not in pip-audit's report"
        raise CouldNotRun(f"{len(missing)} of {len(pins)} pins were not audited (first: {first}).")
    return [Finding(dep["name"], dep["version"], vuln["id"], tuple(vuln.get("aliases") or ()),
                    tuple(vuln.get("fix_versions") or ()))
            for dep in report["dependencies"] for vuln in dep.get("vulns", [])]


def split_accepted(findings: Iterable[Finding],
                   accepted: Sequence[Accepted]) -> tuple[list[Finding], list[tuple[Finding, Accepted]]]:
    """Findings no entry accepts, and those one does (same package, the entry's id is the finding's id or alias)."""
    open_, covered = [], []
    for finding in findings:
        entry = next((e for e in accepted
                      if e.package == canonical(finding.package) and e.vuln_id.upper() in finding.ids()), None)
        if entry is None:
            open_.append(finding)
        else:
            covered.append((finding, entry))
    return open_, covered


def run_pip_audit(pip_audit: str, requirements: Path, service: str, timeout: int) -> dict:
    """pip-audit's JSON report of the exact pins in ``requirements``; CouldNotRun when it gives none."""
    command = [pip_audit, "--requirement", str(requirements), "--no-deps", "--disable-pip", "--format", "json",
               "--vulnerability-service", service, "--timeout", str(timeout), "--progress-spinner", "off"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        said = (done.stderr.strip().splitlines() or ["(nothing on stderr)"])[-1]
        raise CouldNotRun(f"pip-audit -s {service} exited {done.returncode} without a report: {said}") from None


def check_canary(report: dict, canary: dict[str, str]) -> list[Finding]:
    """The canary's findings; CouldNotRun when the service reports none, or the override matching misses them."""
    named = ", ".join(f"{name}=={version}" for name, version in canary.items())
    try:
        findings = findings_of(report, canary)
    except CouldNotRun as exc:
        raise CouldNotRun(f"canary {named}: {exc}") from None
    if not findings:
        raise CouldNotRun(f"the service reports no vulnerability for the canary {named}, whose vulnerabilities are "
                          "published: its answers cannot be trusted.")
    everything = [Accepted(f.vuln_id, canonical(f.package), date.max, "canary", 0) for f in findings]
    if split_accepted(findings, [])[0] != findings or split_accepted(findings, everything)[0]:
        raise CouldNotRun("the override list's matching does not accept exactly what it names: the gate is broken.")
    return findings


def audit(*, pip_audit: str, requirements: Path, ignore: Path, canary: Path, service: str, timeout: int,
          today: date) -> int:
    """Run the audit as ``make audit`` does, print what it found; the exit code (see the module docstring)."""
    try:
        accepted = read_accepted(ignore, today)
        pins, canary_pins = read_pins(requirements), read_pins(canary)
    except ListError as exc:
        print(f"audit: {exc}", file=sys.stderr)
        return EXIT_VULNERABLE
    try:
        seen = check_canary(run_pip_audit(pip_audit, canary, service, timeout), canary_pins)
        print(f"audit: canary {canary.name}: the service reports {len(seen)} known vulnerabilities, as it should "
              f"({', '.join(f.vuln_id for f in seen[:3])}{', ...' if len(seen) > 3 else ''})")
        findings = findings_of(run_pip_audit(pip_audit, requirements, service, timeout), pins)
    except CouldNotRun as exc:
        print(f"audit could not run (service {service}): {exc}", file=sys.stderr)
        return EXIT_COULD_NOT_RUN
    open_, covered = split_accepted(findings, accepted)
    for finding, entry in covered:
        print(f"audit: accepted until {entry.review_by} ({ignore.name}:{entry.line}): {finding.sentence()}")
    for entry in accepted:
        if not any(e is entry for _, e in covered):
            print(f"audit: {ignore.name}:{entry.line}: {entry.vuln_id} in {entry.package} is no longer reported: "
                  "remove the entry.")
    for finding in open_:
        print(f"audit: VULNERABLE {finding.sentence()}", file=sys.stderr)
    if open_:
        print(f"audit: {len(open_)} known vulnerabilities in {requirements.name}: upgrade the pin to a fixed release, "
              f"or accept it in {ignore.name} ({ENTRY_FORM}).", file=sys.stderr)
        return EXIT_VULNERABLE
    print(f"audit: {len(pins)} pins of {requirements.name} audited (service {service}): no known vulnerability"
          f"{f' beyond {len(covered)} accepted' if covered else ''}.")
    return EXIT_CLEAN


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pip-audit", default="pip-audit", help="the pip-audit executable")
    parser.add_argument("--requirements", type=Path, default=ROOT / "constraints.txt")
    parser.add_argument("--ignore", type=Path, default=ROOT / "audit-ignore.txt")
    parser.add_argument("--canary", type=Path, default=ROOT / "audit" / "canary.txt")
    parser.add_argument("--service", default="pypi", choices=["pypi", "osv", "esms"])
    parser.add_argument("--timeout", type=int, default=15, help="seconds per request")
    args = parser.parse_args(argv)
    return audit(pip_audit=args.pip_audit, requirements=args.requirements, ignore=args.ignore, canary=args.canary,
                 service=args.service, timeout=args.timeout, today=date.today())


if __name__ == "__main__":
    sys.exit(main())
