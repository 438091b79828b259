"""Account statements a binlog carries with a clear-text password, found in ``mariadb-binlog``'s text output.

MariaDB 10.11 logs ``CREATE USER``/``ALTER USER``/``GRANT … IDENTIFIED BY '<password>'`` and ``IDENTIFIED VIA …
USING PASSWORD('<password>')`` as written, password visible; ``SET PASSWORD … = PASSWORD('…')`` is logged with the
hash, and ``IDENTIFIED BY PASSWORD '<hash>'`` / ``USING '<hash>'`` carry only a hash. Only the event's position and
the statement's kind are kept: never its text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from drdrill.findings import Finding

ACCOUNT_STATEMENT = re.compile(rb"^\s*(CREATE\s+(?:OR\s+REPLACE\s+)?USER|ALTER\s+USER|GRANT)\b", re.IGNORECASE)
CLEAR_PASSWORD = re.compile(rb"\bIDENTIFIED\s+BY\s+(?!PASSWORD\b)['\"]|\bUSING\s+PASSWORD\s*\(", re.IGNORECASE)
EVENT_POSITION = re.compile(rb"^# at (\d+)\s*$")
STATEMENT_END = b"/*!*/;"
MAX_STATEMENT = 64 * 1024  # account statements are short: a longer one is read this far


@dataclass(frozen=True)
class ClearPassword:
    """An account statement with a clear-text password: the position of its event and what kind of statement."""

    position: int
    statement: str  # "CREATE USER", "ALTER USER" or "GRANT"


class ClearPasswordScanner:
    """Fed the decoded lines one by one; ``found`` lists the account statements with a clear-text password.

    Only statement lines count (``#`` lines are headers and annotations), and only statements that begin as an
    account statement, so data that merely contains such words is not reported.
    """

    def __init__(self) -> None:
        self.found: list[ClearPassword] = []
        self._position = 0
        self._kind: str | None = None
        self._text = bytearray()
        self._partial = bytearray()

    def feed_output(self, chunk: bytes) -> None:
        """A chunk of ``mariadb-binlog`` output, cut anywhere (a line longer than MAX_STATEMENT is read this far)."""
        self._partial += chunk
        *lines, rest = bytes(self._partial).split(b"\n")
        for line in lines:
            self.feed(line + b"\n")
        self._partial = bytearray(rest[:MAX_STATEMENT])

    def feed(self, line: bytes) -> None:
        """One line of ``mariadb-binlog`` output."""
        if line.startswith(b"#"):
            if position := EVENT_POSITION.match(line):
                self._end_statement()
                self._position = int(position.group(1))
            return
        if self._kind is None:
            start = ACCOUNT_STATEMENT.match(line)
            if start is None:
                return
            self._kind = " ".join(start.group(1).decode().upper().split()).replace("OR REPLACE ", "")
        if len(self._text) < MAX_STATEMENT:
            self._text += line[:MAX_STATEMENT]
        if STATEMENT_END in line:
            self._end_statement()

    def finish(self) -> list[ClearPassword]:
        """The statements found, once the output has ended."""
        if self._partial:
            self.feed(bytes(self._partial))
            self._partial = bytearray()
        self._end_statement()
        return self.found

    def _end_statement(self) -> None:
        if self._kind is not None and CLEAR_PASSWORD.search(self._text):
            self.found.append(ClearPassword(self._position, self._kind))
        self._kind = None
        self._text = bytearray()


def clear_password_warning(where: str, holder: str, found: Sequence[ClearPassword],
                           evidence: dict[str, Any]) -> Finding:
    """SECRET_IN_BINLOG about ``where`` (the archived file, the backup's catch-up segment): each statement's kind and
    position, never its text; ``holder``: who can read it."""
    places = ", ".join(f"{item.statement} at position {item.position}" for item in found)
    return Finding(
        "SECRET_IN_BINLOG",
        f"{where} holds {len(found)} account statement(s) with a clear-text password: {places}. Whoever can read "
        f"{holder} can read the password (mariadb-binlog shows it).",
        evidence={**evidence, "statements": [{"position": item.position, "statement": item.statement}
                                             for item in found]},
    )
