"""``drdrill.history``: drill records and RPO samples in a results database (a real SQLite file here)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from drdrill.history import DrillRecord, RpoSample, list_drills, list_rpo_samples, record_drill, record_rpo_sample

pytestmark = pytest.mark.unit


def url_in(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/results/history.sqlite"


def record(run_id: str = "manual__1", *, target: str = "shop", drill: str = "restore",
           started_at: str = "2026-12-06T10:00:00+00:00", **changes: object) -> DrillRecord:
    base = DrillRecord(run_id=run_id, target=target, drill=drill, verdict="passed", started_at=started_at,
                       finished_at=started_at.replace("10:", "11:", 1))
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_a_record_reads_back_with_every_field_in_a_new_database_file(tmp_path: Path) -> None:
    url = url_in(tmp_path)
    written = record(
        backup_id="20261206T095900Z-a1b2c3", verdict="failed", rto_seconds=95.5, rto_objective_seconds=1800.0,
        rpo_seconds=12.25, rpo_objective_seconds=900.0,
        stage_seconds={"select_backup": 0.5, "restore": 80.0, "validate": 15.0},
        findings=[{"code": "ROWCOUNT_MISMATCH", "message": "orders: 10 vs 9", "fix": "f", "evidence": {"table": "orders"}}],
        details={"scratch": {"kind": "local", "port": 3399}, "failed_steps": ["validate"], "dry_run": False},
    )
    record_drill(url, written)
    assert (tmp_path / "results" / "history.sqlite").is_file()
    assert list_drills(url) == [written]


def test_step_order_is_kept_as_the_steps_ran(tmp_path: Path) -> None:
    url = url_in(tmp_path)
    record_drill(url, record(stage_seconds={"verify": 1.0, "dump_and_upload": 2.0, "preflight": 3.0}))
    assert list(list_drills(url)[0].stage_seconds) == ["verify", "dump_and_upload", "preflight"]


def test_empty_collections_read_back_empty(tmp_path: Path) -> None:
    url = url_in(tmp_path)
    record_drill(url, record())
    back = list_drills(url)[0]
    assert (back.stage_seconds, back.findings, back.details, back.backup_id, back.rto_seconds) == ({}, [], {}, None, None)


def test_newest_first_and_the_later_record_first_at_the_same_start(tmp_path: Path) -> None:
    url = url_in(tmp_path)
    record_drill(url, record("a", started_at="2026-12-06T09:00:00+00:00"))
    record_drill(url, record("b", started_at="2026-12-06T11:00:00+00:00"))
    record_drill(url, record("c", started_at="2026-12-06T10:00:00+00:00"))
    record_drill(url, record("d", started_at="2026-12-06T10:00:00+00:00"))
    assert [r.run_id for r in list_drills(url)] == ["b", "d", "c", "a"]
    assert [r.run_id for r in list_drills(url, limit=2)] == ["b", "d"]


def test_filters_by_target_drill_kind_and_run_id(tmp_path: Path) -> None:
    url = url_in(tmp_path)
    for run_id, target, drill in [("1", "shop", "backup"), ("2", "shop", "restore"), ("3", "billing", "restore"),
                                  ("4", "billing", "backup")]:
        record_drill(url, record(run_id, target=target, drill=drill, started_at=f"2026-12-0{run_id}T10:00:00+00:00"))
    assert [r.run_id for r in list_drills(url, target="shop")] == ["2", "1"]
    assert [r.run_id for r in list_drills(url, drill="restore")] == ["3", "2"]
    assert [r.run_id for r in list_drills(url, target="billing", drill="backup")] == ["4"]
    assert list_drills(url, target="nothing") == []
    assert [r.target for r in list_drills(url, run_id="3")] == ["billing"]


def test_a_retried_run_replaces_its_record_and_other_kinds_of_the_same_run_stay(tmp_path: Path) -> None:
    url = url_in(tmp_path)
    record_drill(url, record(verdict="could_not_verify"))
    record_drill(url, record(drill="backup"))
    record_drill(url, record(target="billing"))
    record_drill(url, record(verdict="passed", rto_seconds=5.0))
    shop_restores = list_drills(url, target="shop", drill="restore")
    assert [(r.verdict, r.rto_seconds) for r in shop_restores] == [("passed", 5.0)]
    assert len(list_drills(url)) == 3


def test_rpo_samples_read_back_newest_first_per_target(tmp_path: Path) -> None:
    url = url_in(tmp_path)
    samples = [
        RpoSample("shop", "2026-12-06T10:00:00+00:00", 4.0, 3600.0, 900.0, 86400.0,
                  [{"code": "ARCHIVE_LAGGING", "message": "m", "fix": "f", "evidence": {}}]),
        RpoSample("shop", "2026-12-06T10:05:00+00:00", None, None, 900.0),
        RpoSample("billing", "2026-12-06T10:01:00+00:00", 1.5, 10.0, 60.0),
    ]
    for sample in samples:
        record_rpo_sample(url, sample)
    assert list_rpo_samples(url) == [samples[1], samples[2], samples[0]]
    assert list_rpo_samples(url, target="shop") == [samples[1], samples[0]]
    assert list_rpo_samples(url, target="shop", limit=1) == [samples[1]]
    assert list_rpo_samples(url, target="nothing") == []


def test_the_json_forms_hold_every_field() -> None:
    assert set(record().to_dict()) == {field.name for field in dataclasses.fields(DrillRecord)}
    assert RpoSample("shop", "t", 1.0, None, 900.0).to_dict() == {
        "target": "shop", "sampled_at": "t", "archive_lag_seconds": 1.0, "backup_age_seconds": None,
        "rpo_objective_seconds": 900.0, "max_backup_age_seconds": None, "findings": []}
