"""Durations written the way DBAs write them (``90s``, ``15m``, ``1h30m``, ``2d``), parsed and printed."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone

ACCEPTED_FORMS = "90s, 15m, 1h, 1h30m, 2d, 1w, or a whole number of seconds such as 900"

_UNIT_SECONDS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
# Units largest first, each at most once; only the seconds part may have a decimal ("2.5s").
_COMPACT_RE = re.compile(
    r"(?:(?P<w>\d+)w)?(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+(?:\.\d+)?)s)?"
)
_WHOLE_SECONDS_RE = re.compile(r"\d+")


def parse_duration(text: str | float, *, allow_zero: bool = False) -> timedelta:
    """Parse ``90s``, ``15m``, ``1h30m``, ``2d``, ``1w`` or plain seconds into a timedelta."""
    if isinstance(text, bool):  # bool is an int subclass; ``rto: yes`` is not a duration
        raise TypeError(f"invalid duration {text!r} (a boolean): expected {ACCEPTED_FORMS}")
    if isinstance(text, int | float):
        seconds = float(text)
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"invalid duration {text!r}: must be zero or more; expected {ACCEPTED_FORMS}")
    elif isinstance(text, str):
        seconds = _seconds_from_text(text)
    else:
        raise TypeError(f"invalid duration {text!r} ({type(text).__name__}): expected {ACCEPTED_FORMS}")
    try:
        duration = timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(f"invalid duration {text!r}: too large") from None
    if not allow_zero and duration <= timedelta(0):
        raise ValueError(f"invalid duration {text!r}: must be greater than zero; expected {ACCEPTED_FORMS}")
    return duration


def _seconds_from_text(text: str) -> float:
    """Seconds in a compact duration string, or ValueError naming the accepted forms."""
    cleaned = text.strip().lower()
    if _WHOLE_SECONDS_RE.fullmatch(cleaned):
        return float(cleaned)
    match = _COMPACT_RE.fullmatch(cleaned)
    if not cleaned or match is None:
        hint = " (negative durations are not allowed)" if cleaned.startswith("-") else ""
        raise ValueError(f"invalid duration {text!r}{hint}: expected {ACCEPTED_FORMS}")
    return sum(float(count) * _UNIT_SECONDS[unit] for unit, count in match.groupdict().items() if count)


def format_duration(duration: timedelta) -> str:
    """Compact form of a duration: ``1h30m``, ``45s``, ``2.5s`` (one decimal only below a minute)."""
    total = duration.total_seconds()
    if total < 0:
        return "-" + format_duration(-duration)
    if round(total, 1) < 60:
        return f"{round(total, 1):g}s"
    remaining = round(total)
    parts = []
    for unit in ("d", "h", "m", "s"):
        count, remaining = divmod(remaining, _UNIT_SECONDS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def parse_utc_time(text: str) -> datetime:
    """An ISO-8601 moment (``2026-11-21T08:00:00Z``); a time without a zone is taken as UTC. ValueError otherwise."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
