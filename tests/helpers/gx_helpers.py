"""Shared by the Great Expectations suite tests: the check that what a validation wrote leaks no password."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote, quote_plus


def assert_results_hold_no_password(results_dirs: Iterable[Path], password: str, *, more_than: int) -> None:
    """The results written (more than ``more_than`` files, Data Docs HTML among them) hold ``password`` in no
    form a URL carries it in, and no GX config file was written."""
    forms = {password, quote(password, safe=""), quote_plus(password)}
    files = [path for directory in results_dirs for path in directory.rglob("*") if path.is_file()]
    assert len(files) > more_than and any(path.suffix == ".html" for path in files)
    leaks = [str(path) for path in files for form in forms if form.encode() in path.read_bytes()]
    assert leaks == []
    assert not any(path.name.endswith((".yml", ".yaml")) for path in files)
