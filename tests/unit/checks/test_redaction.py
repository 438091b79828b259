"""The password is replaced in every form a URL carries it in, also inside nested results."""

from __future__ import annotations

from datetime import datetime

import pytest

from drdrill.checks.redaction import Redactor, secret_forms

pytestmark = pytest.mark.unit

PASSWORD = "p@ss w/rd%"


def test_the_password_forms_are_plain_and_url_quoted_longest_first() -> None:
    forms = secret_forms(PASSWORD)
    assert set(forms) == {PASSWORD, "p%40ss%20w%2Frd%25", "p%40ss+w%2Frd%25"}
    assert [len(form) for form in forms] == sorted((len(form) for form in forms), reverse=True)
    assert secret_forms("") == []


def test_every_form_is_redacted_and_other_text_is_kept() -> None:
    redactor = Redactor(PASSWORD)
    text = f"a {PASSWORD} b p%40ss%20w%2Frd%25 c p%40ss+w%2Frd%25 d"
    assert redactor.redact(text) == "a *** b *** c *** d"
    assert Redactor("").redact("nothing to hide") == "nothing to hide"


def test_a_tree_is_redacted_in_keys_and_values_and_made_json_ready() -> None:
    tree = {PASSWORD: [f"url {PASSWORD}", (1, datetime(2026, 1, 1))], "ok": None}
    assert Redactor(PASSWORD).redact_tree(tree) == {
        "***": ["url ***", [1, "2026-01-01T00:00:00"]],
        "ok": None,
    }
