"""``drdrill.servers.owner``: owner markers and when their run counts as dead."""

from __future__ import annotations

import dataclasses
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from drdrill.servers import owner as owner_module
from drdrill.servers.owner import MARKER, claim, mark_kept, read_owner

pytestmark = pytest.mark.unit


def test_a_claim_bound_to_a_dead_process_is_an_orphan_and_a_live_one_is_not(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(owner_module, "_bound", True)
    alive = claim(tmp_path / "alive", "run-1")
    assert read_owner(tmp_path / "alive") == alive and (tmp_path / "alive").stat().st_mode & 0o777 == 0o700
    assert alive.process_alive() is True and not alive.is_orphan()

    finished = subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True, check=True)
    dead = dataclasses.replace(alive, pid=int(finished.stdout))
    assert dead.process_alive() is False and dead.is_orphan()
    reused = dataclasses.replace(alive, pid_start="1")  # same pid, another start time: not the owner any more
    assert reused.is_orphan()


def test_an_unbound_claim_holds_until_its_lease_expires(tmp_path: Path) -> None:
    held = claim(tmp_path / "run", "airflow-run")
    assert held.pid is None and held.process_alive() is None and not held.is_orphan()
    assert held.is_orphan(now=datetime.now(timezone.utc) + owner_module.LEASE + timedelta(seconds=1))
    elsewhere = dataclasses.replace(held, host="another-host", pid=1, pid_start="x")
    assert elsewhere.process_alive() is None and not elsewhere.is_orphan()


def test_a_kept_directory_is_never_an_orphan_and_no_marker_reads_as_none(tmp_path: Path) -> None:
    claim(tmp_path / "kept", "run-2")
    mark_kept(tmp_path / "kept")
    kept = read_owner(tmp_path / "kept")
    assert kept is not None and kept.kept
    assert not kept.is_orphan(now=datetime.now(timezone.utc) + 10 * owner_module.LEASE)
    assert read_owner(tmp_path / "nothing") is None
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / MARKER).write_text("{half")
    assert read_owner(tmp_path / "broken") is None
