"""``drdrill.drills.restore.session``: a scratch session stops at the first step that fails and tears down whatever
happened, without a server (the steps that need one are proven by the restore and PITR integration tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from drdrill.drill_record import StepRunner
from drdrill.drills.restore.session import Scratch, on_scratch
from drdrill.drills.restore.steps import run_dir
from drdrill.findings import DrillFailed, Finding
from tests.helpers.recovery import empty_servers
from tests.helpers.targets import load_test_target

pytestmark = pytest.mark.unit


def _session(tmp_path: Path, fetch: Any, backup: dict[str, Any] | None = None) -> tuple[StepRunner, list[Scratch], Any]:
    runner, recovered = StepRunner(), []
    torn = on_scratch(runner, load_test_target(tmp_path), empty_servers(), fetch=fetch, recover=recovered.append,
                      work_dir=tmp_path / "work", run_id="cli__session", keep_scratch=False, backup=backup)
    return runner, recovered, torn


def _fetch_then(tmp_path: Path, outcome: Any) -> Any:
    """A fetch that leaves a file in the run's directory, then returns or raises ``outcome``."""
    def fetch(key: str) -> dict[str, Any]:
        files = run_dir(tmp_path / "work", key) / "files"
        files.mkdir(parents=True)
        (files / "part.xb.zst").write_bytes(b"x")
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return fetch


def test_a_failed_fetch_provisions_nothing_recovers_nothing_and_removes_what_it_fetched(tmp_path: Path) -> None:
    broken = DrillFailed([Finding("CHECKSUM_MISMATCH", "part.xb.zst does not match its checksum.")])
    runner, recovered, torn = _session(tmp_path, _fetch_then(tmp_path, broken))
    assert [f.code for f in runner.findings["fetch_and_verify"]] == ["CHECKSUM_MISMATCH"]
    assert "provision_scratch" not in runner.results and recovered == [] and torn == {"kept": False}
    assert not any((tmp_path / "work" / "restore").iterdir())


def test_an_unreadable_manifest_of_the_backup_to_recover_still_tears_down(tmp_path: Path) -> None:
    fetch = _fetch_then(tmp_path, {"backup_id": "20261121T083012Z-a1b2c3", "engine": "mydumper"})
    with pytest.raises(DrillFailed):  # the planned backup's manifest is not in the (empty) bucket
        _session(tmp_path, fetch, backup={"backup_id": "20261121T083012Z-a1b2c3", "engine": "mydumper"})
    assert not any((tmp_path / "work" / "restore").iterdir())
