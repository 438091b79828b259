"""``drdrill.storage.evidence_page``: one page with everything in it, nothing fetched from elsewhere, nothing
unescaped, and "could not verify" never green."""

from __future__ import annotations

import pytest

from drdrill.storage.evidence import sealed_bundle
from drdrill.storage.evidence_page import COLOURS, render_evidence_page

pytestmark = pytest.mark.unit


def parts(verdict: str) -> dict[str, object]:
    return {"run": {"run_id": "r1", "target": "shop", "drill": "restore"}, "trigger": {"type": "scheduled"},
            "verdict": {"verdict": verdict, "rto_seconds": 5.0}, "steps": [{"step": "restore", "seconds": 4.25}],
            "findings": [{"code": "RTO_EXCEEDED", "message": "took <b>long</b>", "fix": "faster"}], "backup": None,
            "validation": {}, "versions": {"drdrill": "0.1.0"}, "details": {}}


def test_the_page_is_self_contained_escaped_and_shows_every_hash() -> None:
    bundle = sealed_bundle(parts("could_not_verify"))
    page = render_evidence_page(bundle)
    assert "<script" not in page and "<link" not in page and "<img" not in page and "url(" not in page
    assert "took &lt;b&gt;long&lt;/b&gt;" in page and "<b>long</b>" not in page
    assert all(digest in page for digest in [*bundle["hashes"].values(), bundle["sha256"]])
    assert "4.25 s" in page and "COULD NOT VERIFY" in page
    assert COLOURS["could_not_verify"] in page and COLOURS["passed"] not in page
    assert COLOURS["passed"] in render_evidence_page(sealed_bundle(parts("passed")))
