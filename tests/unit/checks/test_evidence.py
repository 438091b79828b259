"""Values for findings: JSON-safe evidence, UTC labels, observed datetimes and first lines of errors."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from drdrill.checks.evidence import as_utc_datetime, first_line, json_safe, utc_label

pytestmark = pytest.mark.unit


def test_json_safe_turns_datetimes_decimals_and_containers_into_plain_json() -> None:
    value = {1: (datetime(2026, 1, 1, 10, 0), date(2026, 1, 2)), "n": Decimal("12.50"), "s": {3}, "o": object}
    safe = json_safe(value)
    assert safe["1"] == ["2026-01-01T10:00:00", "2026-01-02"] and safe["n"] == "12.50" and safe["s"] == [3]
    assert safe["o"] == str(object)
    json.dumps(safe)


def test_an_observed_datetime_is_read_as_utc() -> None:
    assert as_utc_datetime(None) is None
    assert as_utc_datetime("2026-01-01T10:00:05") == datetime(2026, 1, 1, 10, 0, 5, tzinfo=timezone.utc)
    plus_two = datetime(2026, 1, 1, 12, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    assert as_utc_datetime(plus_two) == datetime(2026, 1, 1, 10, 0, 5, tzinfo=timezone.utc)
    with pytest.raises(TypeError, match="is not a datetime"):
        as_utc_datetime(12)


def test_a_utc_label_names_the_zone() -> None:
    assert (
        utc_label(datetime(2026, 1, 1, 12, 0, 5, tzinfo=timezone(timedelta(hours=2))))
        == "2026-01-01 10:00:05 UTC"
    )


def test_first_line_is_short_and_never_empty() -> None:
    assert first_line("  boom\nTraceback ...") == "boom"
    assert first_line("   ") == "no detail"
    long = first_line("x" * 400)
    assert len(long) == 300 and long.endswith("...")
