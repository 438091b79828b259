"""``drdrill.sandbox.store_marker``: a store that came back empty is told apart from one that kept its data.

A new MemoryObjectStore stands for moto after a restart; ``tests/integration/test_store_loss.py`` restarts a real one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from drdrill.sandbox.store_marker import EMPTIED, KEPT, NEW, check_store_kept
from drdrill.storage.memory import MemoryObjectStore

pytestmark = pytest.mark.unit


def test_a_store_that_lost_its_data_is_told_and_one_that_kept_it_is_not(tmp_path: Path) -> None:
    marker, store = tmp_path / "s3-marker.json", MemoryObjectStore()
    assert check_store_kept(store, marker).state == NEW
    assert check_store_kept(store, marker).state == KEPT
    emptied = check_store_kept(MemoryObjectStore(), marker)  # moto restarted: the bucket is empty again
    assert emptied.state == EMPTIED and "came back empty" in emptied.message and "backup" in emptied.message
    marker.write_text("{garbled")  # an unreadable marker on disk is a new sandbox, never a false alarm
    assert check_store_kept(store, marker).state == NEW
