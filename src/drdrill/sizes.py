"""Byte sizes written like ``500MB``, ``2GiB`` or ``1G``, parsed to bytes and printed back."""

from __future__ import annotations

import re

ACCEPTED_FORMS = "500MB, 1GB, 2GiB, 1G (G/M/K as in my.cnf = GiB/MiB/KiB), or a whole number of bytes"

_UNIT_BYTES = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
    # my.cnf convention: a bare K/M/G/T suffix is binary.
    "k": 2**10,
    "m": 2**20,
    "g": 2**30,
    "t": 2**40,
}
_SIZE_RE = re.compile(r"(?P<number>\d+(?:\.\d+)?) ?(?P<unit>[a-z]*)")


def parse_size(text: str | int) -> int:
    """Parse a size such as ``500MB``, ``2GiB`` or plain bytes into a number of bytes."""
    if isinstance(text, bool) or not isinstance(text, int | str):
        raise TypeError(f"invalid size {text!r} ({type(text).__name__}): expected {ACCEPTED_FORMS}")
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"invalid size {text!r}: must not be negative")
        return text
    match = _SIZE_RE.fullmatch(text.strip().lower())
    if match is None or match["unit"] not in _UNIT_BYTES:
        raise ValueError(f"invalid size {text!r}: expected {ACCEPTED_FORMS}")
    return round(float(match["number"]) * _UNIT_BYTES[match["unit"]])


def format_size(size: int) -> str:
    """Compact binary form of a byte count: ``512B``, ``1.5GiB``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            break
        value /= 1024
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{text}{unit}"
