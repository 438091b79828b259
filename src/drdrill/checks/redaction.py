"""The restored server's password kept out of what a suite writes: messages, results JSON, Data Docs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, quote_plus

from drdrill.checks.evidence import json_safe


def secret_forms(password: str) -> list[str]:
    """The password as written and as URL-quoted, longest first (so a form is not half-replaced)."""
    forms = {form for form in (password, quote(password, safe=""), quote_plus(password)) if form}
    return sorted(forms, key=len, reverse=True)


class Redactor:
    """Replaces every form a URL carries ``password`` in with ``***``."""

    def __init__(self, password: str) -> None:
        self._secrets = secret_forms(password)

    def redact(self, text: str) -> str:
        """``text`` with the password (plain or URL-quoted) replaced by ``***``."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def redact_tree(self, value: Any) -> Any:
        """A JSON-ready copy of ``value`` with every string redacted."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, Mapping):
            return {self.redact(str(key)): self.redact_tree(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.redact_tree(item) for item in value]
        return json_safe(value)
