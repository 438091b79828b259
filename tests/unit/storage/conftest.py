"""The in-memory store the storage unit tests work on."""

from __future__ import annotations

import pytest

from drdrill.storage.memory import MemoryObjectStore


@pytest.fixture
def store() -> MemoryObjectStore:
    return MemoryObjectStore("unit-tests")
