"""``drdrill.sizes``: the unit table (decimal, binary, my.cnf letters) and the printed form.

The common forms are in ``test_durations.py`` beside the durations; this module covers the unit table itself.
"""

from __future__ import annotations

import pytest

from drdrill.sizes import ACCEPTED_FORMS, format_size, parse_size

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("text", "expected"), [
    ("1b", 1), ("1kb", 1000), ("1KiB", 1024), ("1k", 1024), ("1K", 1024),
    ("3mb", 3_000_000), ("3MiB", 3 * 2**20), ("3M", 3 * 2**20),
    ("2tb", 2 * 10**12), ("2TiB", 2 * 2**40), ("2T", 2 * 2**40),
    ("0", 0), (0, 0), ("  64M  ", 64 * 2**20), ("0.5k", 512), ("1.0005kb", 1000),
])
def test_decimal_binary_and_mycnf_units(text: str | int, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["1pb", "1 k b", "1,5GB", "1e3", "GB1", "0x10", "1.5.2M"])
def test_anything_else_is_refused_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_size(text)
    assert repr(text) in str(refused.value) and ACCEPTED_FORMS in str(refused.value)


@pytest.mark.parametrize(("size", "expected"), [
    (0, "0B"), (1023, "1023B"), (1024, "1KiB"), (1536, "1.5KiB"), (5 * 2**20 + 2**19, "5.5MiB"),
    (2**40, "1TiB"), (2**50, "1024TiB"), (-2048, "-2KiB"),
])
def test_format_size_is_compact_binary_and_stops_at_tib(size: int, expected: str) -> None:
    assert format_size(size) == expected


@pytest.mark.parametrize("size", [512, 2**10, 3 * 2**19, 7 * 2**30, 2**40])
def test_a_printed_size_parses_back_to_the_same_bytes(size: int) -> None:
    assert parse_size(format_size(size)) == size
