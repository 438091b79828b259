"""MariaDB GTID positions in their text form (``"0-1-9,3-1-2"``, one GTID per domain): parsed, formatted, compared."""

from __future__ import annotations

import re

_GTID = re.compile(r"^(\d+)-(\d+)-(\d+)$")


def parse_gtid_position(text: str | None) -> dict[int, tuple[int, int]]:
    """``"0-1-9,3-1-2"`` → ``{0: (1, 9), 3: (1, 2)}`` (domain → server_id, seq_no); the highest seq_no per domain wins."""
    if text is not None and not isinstance(text, str):  # e.g. a number in a hand-edited JSON record
        raise ValueError(f"{text!r} is not a GTID position (a string like 0-1-42)")
    position: dict[int, tuple[int, int]] = {}
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        match = _GTID.match(part)
        if not match:
            raise ValueError(f"{part!r} is not a GTID like 0-1-42")
        domain, server, seq = (int(group) for group in match.groups())
        if domain not in position or seq >= position[domain][1]:
            position[domain] = (server, seq)
    return position


def format_gtid_position(position: dict[int, tuple[int, int]]) -> str | None:
    """Inverse of parse_gtid_position, domains in order; None when empty."""
    if not position:
        return None
    return ",".join(f"{domain}-{server}-{seq}" for domain, (server, seq) in sorted(position.items()))


def transactions_behind(ahead: str, behind: str) -> int:
    """How many GTIDs ``ahead`` has that ``behind`` lacks (per domain, strict mode: seq_no counts transactions)."""
    have = parse_gtid_position(behind)
    missing = 0
    for domain, (_, seq) in parse_gtid_position(ahead).items():
        missing += max(0, seq - have.get(domain, (0, 0))[1])
    return missing
