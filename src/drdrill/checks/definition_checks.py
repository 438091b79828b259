"""The restore suite's definition checks: SQL that returns each restored object whose digest is not the
manifest's, and the findings that name the object, show a short diff of the normalized text and say the fix.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from drdrill.checks.result_findings import missing_object_findings
from drdrill.checks.schema_fingerprint import is_view_stand_in
from drdrill.endpoints import sql_string
from drdrill.findings import Finding
from drdrill.storage.manifest import SchemaObject

DIFF_LINES = 12  # changed lines shown in a finding's message; the evidence keeps up to DIFF_EVIDENCE
DIFF_EVIDENCE = 200
LINE_WIDTH = 240


@dataclass(frozen=True)
class DefinitionKind:
    """How one kind of object is named in findings and which codes it turns red with."""

    noun: str
    differs: str
    missing: str | None  # None: a missing object of this kind is the inventory's finding
    fix: str


KINDS: dict[str, DefinitionKind] = {
    "tables": DefinitionKind(
        "table",
        "TABLE_STRUCTURE_DIFFERS",
        None,
        "The restored table is not built like the source's (columns, types, constraints, engine or partitions "
        "differ): the dump or its restore changed the DDL. Check the engine's log for DDL warnings and the "
        "scratch server's sql_mode/engines, then take a new backup.",
    ),
    "indexes": DefinitionKind(
        "index",
        "INDEX_DIFFERS",
        "INDEX_MISSING",
        "Queries that rely on this index will fail or crawl after a real recovery (MATCH ... AGAINST needs its "
        "FULLTEXT index). Check the engine's log for the failed CREATE INDEX/ALTER and the scratch server's "
        "limits (innodb_ft_*, SPATIAL needs NOT NULL), then take a new backup.",
    ),
    "views": DefinitionKind(
        "view",
        "OBJECT_DEFINITION_DIFFERS",
        None,
        "The restored view does not say what the source's says. A stand-in means its CREATE VIEW failed or "
        "was cut off in the dump: check the dump's completeness and the definer; then take a new backup.",
    ),
    "routines": DefinitionKind(
        "routine",
        "OBJECT_DEFINITION_DIFFERS",
        None,
        "The restored routine is not the source's (body, parameters, characteristics, definer or sql_mode "
        "differ): the backup does not carry it faithfully; take a new backup and check who edited the dump.",
    ),
    "triggers": DefinitionKind(
        "trigger",
        "OBJECT_DEFINITION_DIFFERS",
        None,
        "The restored trigger is not the source's (body, timing, order, definer or sql_mode differ); take a "
        "new backup and check the dump's completeness.",
    ),
    "events": DefinitionKind(
        "event",
        "OBJECT_DEFINITION_DIFFERS",
        None,
        "The restored event is not the source's (schedule, status, body or definer differ); take a new backup "
        "and check the engine's events option.",
    ),
    "accounts": DefinitionKind(
        "account",
        "GRANTS_DIFFER",
        "ACCOUNT_MISSING",
        "The application's logins would not work as before after a real recovery. Check the restore's "
        "accounts step (the backup's accounts.sql.zst) and that backups carry it (accounts: true); if the "
        "source's account changed since, take a new backup.",
    ),
}


def _literal(value: str) -> str:
    """A SQL string literal safe inside GX's ``str.format`` (``{batch}`` is the only placeholder)."""
    return sql_string(value).replace("{", "{{").replace("}", "}}")


def definition_mismatch_query(objects: Sequence[SchemaObject]) -> str:
    """UnexpectedRowsExpectation SQL over a fingerprint asset: the restored rows (name, definition) of
    ``objects`` whose digest differs from the manifest's. An absent object returns no row."""
    names = ", ".join(_literal(obj.name) for obj in objects)
    pairs = ", ".join(_literal(f"{obj.name}|{obj.digest}") for obj in objects)
    return (
        "SELECT name, definition FROM {batch} "  # GX puts the asset's query here as "(...) AS subselect"
        f"WHERE name IN ({names}) AND CONCAT(name, '|', digest) NOT IN ({pairs})"
    )


def short_diff(source: str, restored: str | None) -> list[str]:
    """The changed lines of the normalized texts, ``-`` for the source's and ``+`` for the restore's."""
    lines = difflib.unified_diff(source.splitlines(), (restored or "").splitlines(), lineterm="", n=0)
    changed = [line for line in lines if line[:1] in "+-" and not line.startswith(("---", "+++"))]
    return [line if len(line) <= LINE_WIDTH else line[: LINE_WIDTH - 1] + "…" for line in changed]


def version_note(source_version: str, restored_version: str) -> str:
    """A sentence when the two servers' major.minor versions differ (each rewrites definitions its own way)."""
    def release(version: str) -> str:
        return ".".join(version.split("-", 1)[0].split(".")[:2])

    if not source_version or not restored_version or release(source_version) == release(restored_version):
        return ""
    return (
        f" The restored server runs {restored_version} and the source {source_version}: a real recovery onto "
        "this version would get the same definition, so it is reported; restore onto the source's version to tell "
        "a version's rewrite from damage."
    )


def differs_findings(
    kind: str,
    rows: Sequence[Mapping[str, object]],
    source: Mapping[str, SchemaObject],
    evidence: dict[str, object],
    note: str = "",
) -> list[Finding]:
    """One finding per restored object whose definition is not the source's (``note`` ends each message)."""
    spec = KINDS[kind]
    findings = []
    for row in rows:
        name = str(row.get("name"))
        restored = row.get("definition")
        restored_text = None if restored is None else str(restored)
        expected = source.get(name)
        diff = short_diff(expected.definition or "", restored_text) if expected else []
        shown = "; ".join(diff[:DIFF_LINES]) + (f"; … {len(diff) - DIFF_LINES} more" if len(diff) > DIFF_LINES else "")
        stand_in = kind == "views" and is_view_stand_in(restored_text)
        message = f"{spec.noun.capitalize()} {name} differs from the source: {shown or 'its definition differs'}."
        if stand_in:
            message = (
                f"View {name} came back as the dump tool's stand-in placeholder (columns of constants, no FROM), "
                f"not the source's view: {shown}."
            )
        findings.append(
            Finding(
                spec.differs,
                message + note,
                fix=spec.fix,
                evidence={**evidence, "object": name, "kind": kind, "stand_in": stand_in,
                          "diff": diff[:DIFF_EVIDENCE],
                          "expected_digest": expected.digest if expected else None},
            )
        )
    return findings


def missing_findings(kind: str, result: Mapping[str, object], evidence: dict[str, object]) -> list[Finding]:
    """The missing-object findings of a kind that has its own code (indexes): one per name, one for the rest."""
    spec = KINDS[kind]
    assert spec.missing is not None
    return missing_object_findings(spec.missing, spec.noun, kind, result, evidence, spec.fix)


def unreadable_finding(kind: str, names: Sequence[str]) -> Finding:
    """COULD_NOT_VERIFY: the source did not let the backup read these objects' definitions."""
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    return Finding(
        "COULD_NOT_VERIFY",
        f"The definitions of {len(names)} {kind} ({shown}) were not readable by the backup account, so the "
        "restore cannot be compared with them.",
        fix="Grant the backup account SHOW VIEW and SELECT ON mysql.proc (MariaDB < 11.3) or SHOW CREATE ROUTINE, "
        "then take a new backup.",
        evidence={"kind": kind, "objects": list(names)},
    )


def unfingerprinted_finding(backup_id: str) -> Finding:
    """COULD_NOT_VERIFY: the manifest predates schema fingerprints."""
    return Finding(
        "COULD_NOT_VERIFY",
        f"Backup {backup_id}'s manifest holds no schema definitions (it was written by an older drdrill), so "
        "views, routines, triggers, events, table structure and indexes were compared by name only.",
        fix="Take a new backup; its manifest records every object's definition.",
        evidence={"check": "definitions"},
    )
