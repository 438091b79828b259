"""Definition checks: the mismatch SQL names each object with its digest; findings show a short diff and the fix."""

from __future__ import annotations

import pytest

from drdrill.checks.definition_checks import (
    DIFF_LINES,
    KINDS,
    definition_mismatch_query,
    differs_findings,
    missing_findings,
    short_diff,
    unfingerprinted_finding,
    unreadable_finding,
    version_note,
)
from drdrill.findings import CATALOG, COULD_NOT_VERIFY, FAILED
from drdrill.storage.manifest import SchemaObject

pytestmark = pytest.mark.unit

VIEW = SchemaObject("views", "shop.v{1}", "ab" * 32, "security: 'DEFINER'\ndefinition: select `t`.`id` AS `id` from `t`")


def test_the_mismatch_query_pairs_each_name_with_its_digest_and_escapes_for_gx() -> None:
    sql = definition_mismatch_query([VIEW, SchemaObject("views", "shop.o'k", "cd" * 32, "x")])
    assert sql.startswith("SELECT name, definition FROM {batch} WHERE name IN ('shop.v{{1}}', 'shop.o''k') ")
    assert f"NOT IN ('shop.v{{{{1}}}}|{'ab' * 32}', 'shop.o''k|{'cd' * 32}')" in sql
    formatted = sql.format(batch="(q) AS subselect")  # what GX runs: the name's own braces come back
    assert "IN ('shop.v{1}', 'shop.o''k')" in formatted and "'shop.v{1}|abab" in formatted


def test_every_code_a_definition_check_gives_is_a_red_finding() -> None:
    for spec in KINDS.values():
        assert CATALOG[spec.differs][0] == FAILED
        assert spec.missing is None or CATALOG[spec.missing][0] == FAILED


def test_a_changed_line_is_shown_as_minus_source_plus_restore() -> None:
    assert short_diff("a\nb\nc", "a\nB\nc") == ["-b", "+B"]
    assert short_diff("a", None) == ["-a"]
    assert short_diff("x" * 500, "y")[0].endswith("…") and len(short_diff("x" * 500, "y")[0]) == 240


def test_a_differing_view_names_the_object_and_the_diff() -> None:
    restored = {"name": VIEW.name, "definition": "security: 'INVOKER'\ndefinition: select `t`.`id` AS `id` from `t`"}
    (finding,) = differs_findings("views", [restored], {VIEW.name: VIEW}, {"check": "definitions"})
    assert finding.code == "OBJECT_DEFINITION_DIFFERS"
    assert finding.message == "View shop.v{1} differs from the source: -security: 'DEFINER'; +security: 'INVOKER'."
    assert finding.evidence["stand_in"] is False and finding.evidence["expected_digest"] == "ab" * 32


def test_a_stand_in_view_says_so() -> None:
    restored = {"name": VIEW.name, "definition": "security: 'DEFINER'\ndefinition: select 1 AS `id`"}
    (finding,) = differs_findings("views", [restored], {VIEW.name: VIEW}, {})
    assert "came back as the dump tool's stand-in placeholder" in finding.message
    assert finding.evidence["stand_in"] is True and "stand-in" in finding.fix


def test_a_long_diff_is_cut_in_the_message_but_kept_in_the_evidence() -> None:
    source = SchemaObject("tables", "shop.t", "d", "\n".join(f"column {n}" for n in range(30)))
    restored = {"name": "shop.t", "definition": "\n".join(f"column {n}x" for n in range(30))}
    (finding,) = differs_findings("tables", [restored], {"shop.t": source}, {})
    assert finding.code == "TABLE_STRUCTURE_DIFFERS"
    assert finding.message.endswith(f"; … {60 - DIFF_LINES} more.") and len(finding.evidence["diff"]) == 60


def test_missing_indexes_are_named_one_by_one_and_the_unnamed_rest_counted() -> None:
    findings = missing_findings("indexes", {"partial_missing_list": ["shop.t.ft"], "missing_count": 4}, {})
    assert [f.code for f in findings] == ["INDEX_MISSING", "INDEX_MISSING"]
    assert findings[0].message == "Index shop.t.ft is in the manifest but not in the restored server."
    assert findings[1].message.startswith("3 more indexes")
    assert [f.message for f in missing_findings("indexes", {}, {})][0].startswith("1 more indexes")


def test_what_could_not_be_compared_is_never_green() -> None:
    assert unreadable_finding("routines", ["shop.f (FUNCTION)"]).verdict == COULD_NOT_VERIFY
    assert "SELECT ON mysql.proc" in unreadable_finding("routines", ["shop.f (FUNCTION)"]).fix
    names = [f"shop.v{n}" for n in range(12)]
    assert "and 2 more" in unreadable_finding("views", names).message
    assert unfingerprinted_finding("b1").verdict == COULD_NOT_VERIFY


def test_a_restore_onto_another_release_says_so_in_the_finding() -> None:
    assert version_note("10.11.6-MariaDB-0+deb12u1", "10.11.19-MariaDB") == ""
    assert version_note("", "10.11.19-MariaDB") == ""
    note = version_note("10.11.6-MariaDB", "11.4.2-MariaDB")
    assert "runs 11.4.2-MariaDB and the source 10.11.6-MariaDB" in note
    restored = {"name": VIEW.name, "definition": "x"}
    (finding,) = differs_findings("views", [restored], {VIEW.name: VIEW}, {}, note)
    assert finding.message.endswith(note)
