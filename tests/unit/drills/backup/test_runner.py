"""``drdrill.drills.backup.runner``: the CLI's in-process run records what the DAG's record task would."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from drdrill.drills.backup.runner import run_backup_drill
from drdrill.endpoints import MySQLEndpoint
from drdrill.history import list_drills
from drdrill.ports import find_free_port
from drdrill.storage.memory import MemoryObjectStore
from tests.helpers.targets import load_test_target

pytestmark = pytest.mark.unit


def test_an_unreachable_source_is_could_not_verify_and_nothing_is_stored(tmp_path: Path) -> None:
    shop = load_test_target(tmp_path)
    nobody_listens = MySQLEndpoint(host="127.0.0.1", port=find_free_port(), user="backup", password="s3cret")
    store = MemoryObjectStore()
    history = f"sqlite:///{tmp_path}/history.sqlite"
    record, findings = run_backup_drill(shop, nobody_listens, store, work_dir=tmp_path / "work", history_url=history,
                                        run_id="cli-1", started_at=datetime.now(timezone.utc), signing_key=None)
    assert [finding.code for finding in findings] == ["TARGET_UNAVAILABLE"]
    assert record.verdict == "could_not_verify" and record.details["failed_steps"] == ["preflight"]
    assert "s3cret" not in json.dumps(record.to_dict())
    assert [stored.key.rsplit("/", 1)[-1] for stored in store.list_objects("")] == ["evidence.html", "evidence.json"]
    assert record.details["evidence_key"].startswith("tests/shop/evidence/backup/")  # no backup folder was made
    assert [(drill.run_id, drill.verdict) for drill in list_drills(history, "shop", "backup")] == [("cli-1", "could_not_verify")]
