"""``drdrill.servers.reaper``: what dead runs left is removed, kept and live runs' things are not.

Stopping a real scratch mariadbd is proven by the kill matrix (tests/integration/test_kill_matrix.py).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

import pytest

from drdrill.errors import DrdrillError
from drdrill.servers import owner as owner_module
from drdrill.servers.owner import MARKER, claim, mark_kept, read_owner
from drdrill.servers.reaper import find_leftovers, reap_orphans, remove_run, remove_scratch
from drdrill.servers.scratch import plan_local_scratch

pytestmark = pytest.mark.unit


def _dead_pid() -> int:
    return int(subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True, check=True).stdout)


def _kill_owner(directory: Path) -> None:
    owner = read_owner(directory)
    assert owner is not None
    (directory / MARKER).write_text(json.dumps(dataclasses.replace(owner, pid=_dead_pid()).to_dict()))


def test_orphans_are_removed_and_live_kept_and_unmarked_things_stay(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(owner_module, "_bound", True)
    work = tmp_path / "w"
    dead_files = work / "restore" / "deadkey"
    claim(dead_files, "dead-run")
    (dead_files / "files").mkdir()
    (dead_files / "files" / "dump.sql.zst").write_bytes(b"x")
    _kill_owner(dead_files)
    dead_scratch = plan_local_scratch(work, "deadscratch", "dead-run")
    _kill_owner(work / "scratch" / "deadscratch")
    kept = plan_local_scratch(work, "keptscratch", "kept-run")
    mark_kept(kept.base_dir)
    _kill_owner(work / "scratch" / "keptscratch")
    live = work / "restore" / "livekey"
    claim(live, "live-run")
    unmarked = work / "not-ours"
    unmarked.mkdir()

    assert {item.id: item.owner.is_orphan() for item in find_leftovers(work)} == {
        "deadkey": True, "deadscratch": True, "keptscratch": False, "livekey": False}
    removed = reap_orphans(work)

    assert sorted(item["id"] for item in removed) == ["deadkey", "deadscratch"]
    assert not dead_files.exists() and not (work / "scratch" / "deadscratch").exists()
    assert not dead_scratch.base_dir.exists() and not dead_scratch.base_dir.is_symlink()
    assert kept.option_file.exists() and live.exists() and unmarked.exists()
    (listed,) = [item.describe() for item in find_leftovers(work) if item.id == "keptscratch"]
    assert listed["kept"] and listed["connect"] == f"mariadb --defaults-file={kept.option_file}"
    assert listed["remove"] == "drdrill scratch rm keptscratch" and listed["running"] is False

    assert remove_scratch(work, "keptscratch")["id"] == "keptscratch" and not kept.option_file.exists()
    with pytest.raises(DrdrillError, match="No scratch server"):
        remove_scratch(work, "keptscratch")


def test_a_marker_naming_a_server_outside_its_own_directory_touches_nothing_there(tmp_path: Path) -> None:
    elsewhere = tmp_path / "someone-elses-server"
    (elsewhere / "data").mkdir(parents=True)
    claim(tmp_path / "w" / "scratch" / "forged", "run-x", scratch={"name": "x", "base_dir": str(elsewhere), "port": 1})
    _kill_owner(tmp_path / "w" / "scratch" / "forged")
    (leftover,) = find_leftovers(tmp_path / "w")
    assert leftover.scratch() is None and leftover.describe()["kind"] == "work"
    reap_orphans(tmp_path / "w")
    assert (elsewhere / "data").is_dir() and not (tmp_path / "w" / "scratch" / "forged").exists()


def test_a_scratch_server_of_a_live_run_is_not_removed_by_id(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(owner_module, "_bound", True)
    plan_local_scratch(tmp_path, "livescratch", "live-run")
    with pytest.raises(DrdrillError, match="still runs"):
        remove_scratch(tmp_path, "livescratch")


def test_remove_run_removes_one_runs_things_but_not_its_kept_scratch(tmp_path: Path) -> None:
    claim(tmp_path / "restore" / "k1", "run-1")
    plan_local_scratch(tmp_path, "k1", "run-1")
    claim(tmp_path / "restore" / "k2", "run-2")
    assert len(remove_run(tmp_path, "k1")) == 2
    assert [item.id for item in find_leftovers(tmp_path)] == ["k2"]
    kept = plan_local_scratch(tmp_path, "k3", "run-3")
    mark_kept(kept.base_dir)
    assert remove_run(tmp_path, "k3") == [] and kept.option_file.exists()
