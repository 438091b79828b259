"""``drdrill.drills.local_record``: a CLI run's record names the evidence stored before it, with who ran it."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest

from drdrill.history import DrillRecord, list_drills
from drdrill.storage.memory import MemoryObjectStore
from drdrill.drills.local_record import record_with_evidence
from tests.helpers.targets import load_test_target

pytestmark = pytest.mark.unit


def test_the_record_names_the_bundle_that_says_who_ran_it(tmp_path: Path) -> None:
    store, url = MemoryObjectStore("unit-tests"), f"sqlite:///{tmp_path}/history.sqlite"
    record = DrillRecord(run_id="cli__1", target="shop", drill="failover", verdict="passed",
                         started_at="2026-11-21T12:00:00+00:00", finished_at="2026-11-21T12:01:00+00:00")
    written, findings = record_with_evidence(url, lambda: store, load_test_target(tmp_path), record, [],
                                             approval="--yes-i-approve")
    assert findings == [] and list_drills(url, run_id="cli__1") == [written]
    trigger = json.loads(store.get_bytes(written.details["evidence_key"]) or b"")["parts"]["trigger"]
    assert trigger["user"] == getpass.getuser() and trigger["approval"] == "--yes-i-approve"
