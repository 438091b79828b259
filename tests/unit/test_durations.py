"""Durations and sizes as written in the drills YAML."""

from __future__ import annotations

from datetime import timedelta

import pytest

from drdrill.durations import format_duration, parse_duration
from drdrill.sizes import format_size, parse_size

pytestmark = pytest.mark.unit


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("1h", timedelta(hours=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
        ("1w2d3h4m5s", timedelta(weeks=1, days=2, hours=3, minutes=4, seconds=5)),
        ("2.5s", timedelta(seconds=2.5)),
        (" 1H30M ", timedelta(hours=1, minutes=30)),
        ("900", timedelta(seconds=900)),
        (900, timedelta(seconds=900)),
        (1.5, timedelta(seconds=1.5)),
    ],
)
def test_parse_duration_accepts_compact_forms(text: str | float, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.unit
@pytest.mark.parametrize(
    "text", ["", "   ", "-5m", "15 minutes", "abc", "1.5h", "30m1h", "1h 30m", "m", -5, float("nan")]
)
def test_parse_duration_rejects_other_text_and_shows_accepted_forms(text: str | float) -> None:
    with pytest.raises(ValueError, match=r"90s, 15m, 1h, 1h30m"):
        parse_duration(text)


@pytest.mark.unit
@pytest.mark.parametrize("value", [True, None, [1]])
def test_parse_duration_rejects_other_types(value: object) -> None:
    with pytest.raises(TypeError, match=r"90s, 15m, 1h, 1h30m"):
        parse_duration(value)  # type: ignore[arg-type]


@pytest.mark.unit
@pytest.mark.parametrize("text", ["0s", "0", 0, "0h0m"])
def test_parse_duration_zero_only_when_allowed(text: str | int) -> None:
    with pytest.raises(ValueError, match="greater than zero"):
        parse_duration(text)
    assert parse_duration(text, allow_zero=True) == timedelta(0)


@pytest.mark.unit
def test_parse_duration_too_large_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="too large"):
        parse_duration("99999999999w")


@pytest.mark.unit
@pytest.mark.parametrize(
    ("duration", "expected"),
    [
        (timedelta(seconds=45), "45s"),
        (timedelta(seconds=2.5), "2.5s"),
        (timedelta(seconds=2.54), "2.5s"),
        (timedelta(0), "0s"),
        (timedelta(seconds=59.96), "1m"),
        (timedelta(minutes=15), "15m"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(hours=1, seconds=5), "1h5s"),
        (timedelta(minutes=1, seconds=30.4), "1m30s"),
        (timedelta(days=9, hours=2), "9d2h"),
        (timedelta(minutes=-90), "-1h30m"),
    ],
)
def test_format_duration_is_compact(duration: timedelta, expected: str) -> None:
    assert format_duration(duration) == expected


@pytest.mark.unit
@pytest.mark.parametrize("text", ["45s", "2.5s", "15m", "1h30m", "2d", "3d4h5m6s"])
def test_format_duration_round_trips(text: str) -> None:
    assert format_duration(parse_duration(text)) == text


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500MB", 500 * 10**6),
        ("1GB", 10**9),
        ("2GiB", 2 * 2**30),
        ("1G", 2**30),
        ("1.5 GB", 1_500_000_000),
        ("1024", 1024),
        (4096, 4096),
    ],
)
def test_parse_size(text: str | int, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.unit
@pytest.mark.parametrize("text", ["", "1 gigabyte", "-1GB", "GB", -1])
def test_parse_size_rejects_other_text(text: str | int) -> None:
    with pytest.raises(ValueError, match="invalid size"):
        parse_size(text)


@pytest.mark.unit
@pytest.mark.parametrize("value", [True, 1.5, None])
def test_parse_size_rejects_other_types(value: object) -> None:
    with pytest.raises(TypeError, match="invalid size"):
        parse_size(value)  # type: ignore[arg-type]


@pytest.mark.unit
def test_format_size() -> None:
    assert format_size(512) == "512B"
    assert format_size(3 * 2**29) == "1.5GiB"
    assert format_size(2**30) == "1GiB"


@pytest.mark.unit
def test_parse_utc_time_accepts_z_offsets_and_zoneless_as_utc() -> None:
    from datetime import datetime, timezone

    from drdrill.durations import parse_utc_time

    expected = datetime(2026, 11, 21, 8, 0, tzinfo=timezone.utc)
    assert parse_utc_time("2026-11-21T08:00:00Z") == expected
    assert parse_utc_time("2026-11-21T09:00:00+01:00") == expected
    assert parse_utc_time(" 2026-11-21T08:00:00 ") == expected
    with pytest.raises(ValueError):
        parse_utc_time("yesterday")
