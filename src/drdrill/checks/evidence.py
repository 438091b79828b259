"""Values and text for the suites' findings: JSON-safe evidence, UTC labels, datetimes, error lines."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any


def json_safe(value: Any) -> Any:
    """Plain JSON types for evidence and meta (datetimes as ISO strings, Decimals as strings)."""
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [json_safe(item) for item in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def as_utc_datetime(value: Any) -> datetime | None:
    """A GX observed DATETIME (a naive UTC datetime, or its ISO string) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"observed heartbeat {value!r} is not a datetime")
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def utc_label(moment: datetime) -> str:
    """``moment`` as it appears in a finding's message: ``2026-01-01 10:00:05 UTC``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def first_line(text: str) -> str:
    """The first line of an error's text, at most 300 characters (``no detail`` for an empty one)."""
    line = text.strip().splitlines()[0] if text.strip() else "no detail"
    return line if len(line) <= 300 else line[:297] + "..."
