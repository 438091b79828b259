"""Scratch-server slots per worker: counted from the live runs' owner markers, limited by config or by memory."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from drdrill.servers.owner import MARKER, mark_kept
from drdrill.servers.scratch import plan_local_scratch, scratch_dir
from drdrill.servers.slots import SCRATCH_MEMORY, ScratchSlotsFull, SlotPolicy, check_slot, running_scratch, scratch_slot

pytestmark = pytest.mark.unit
PLENTY = 8 * SCRATCH_MEMORY


def _expire(directory: Path) -> None:
    marker = directory / MARKER
    data = json.loads(marker.read_text())
    data["expires_at"] = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    marker.write_text(json.dumps(data))


def test_live_and_kept_scratch_servers_count_but_a_dead_runs_and_the_own_do_not(tmp_path: Path) -> None:
    for key in ("live", "kept", "dead", "mine"):
        plan_local_scratch(tmp_path, key, f"run-{key}")
    mark_kept(scratch_dir(tmp_path, "kept"))
    _expire(scratch_dir(tmp_path, "dead"))
    (tmp_path / "other-files").mkdir()  # a run's work files are no scratch server
    assert running_scratch(tmp_path, besides="mine") == 2


def test_a_full_worker_refuses_by_its_configured_slots_and_a_free_one_proceeds(tmp_path: Path) -> None:
    plan_local_scratch(tmp_path, "other", "run-other")
    with pytest.raises(ScratchSlotsFull) as full:
        check_slot(tmp_path, "mine", slots=1, memory=PLENTY)
    assert "already runs 1 scratch server" in full.value.problem and "settings.scratch_slots: 1" in full.value.problem
    assert check_slot(tmp_path, "mine", slots=2, memory=None).running == 1


def test_without_configured_slots_the_available_memory_decides(tmp_path: Path) -> None:
    with pytest.raises(ScratchSlotsFull) as full:
        check_slot(tmp_path, "mine", slots=None, memory=SCRATCH_MEMORY - 1)
    assert "memory available" in full.value.problem
    assert check_slot(tmp_path, "mine", slots=None, memory=SCRATCH_MEMORY).limit is None


def test_the_slot_lock_is_held_while_the_new_server_is_marked(tmp_path: Path) -> None:
    with scratch_slot(tmp_path, "first", SlotPolicy(1)):
        plan_local_scratch(tmp_path, "first", "run-first")
    with pytest.raises(ScratchSlotsFull), scratch_slot(tmp_path, "second", SlotPolicy(1)):
        pass


def test_a_drill_on_a_full_worker_waits_for_a_slot_and_takes_it_when_the_other_drill_ends(tmp_path: Path) -> None:
    import shutil
    import threading

    plan_local_scratch(tmp_path, "other", "run-other")
    ended = threading.Timer(0.3, shutil.rmtree, (scratch_dir(tmp_path, "other"),))
    ended.start()
    began = time.monotonic()
    with scratch_slot(tmp_path, "mine", SlotPolicy(1, timedelta(seconds=30), poll_seconds=0.05)) as check:
        assert check.running == 0
    assert 0.3 <= time.monotonic() - began < 5
    ended.join()


def test_a_drill_that_waited_its_whole_wait_is_refused_saying_how_long_it_waited(tmp_path: Path) -> None:
    plan_local_scratch(tmp_path, "other", "run-other")
    began = time.monotonic()
    with pytest.raises(ScratchSlotsFull) as full, \
            scratch_slot(tmp_path, "mine", SlotPolicy(1, timedelta(seconds=1), poll_seconds=0.1)):
        pass
    assert time.monotonic() - began >= 1
    assert "already runs 1 scratch server" in full.value.problem and "waited 1 s (timeouts.lock_wait)" in full.value.problem
