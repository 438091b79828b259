"""Drill history through SQLAlchemy: the SQLite default and a server URL (MariaDB) behave the same."""

from __future__ import annotations

import pytest

from drdrill.history import DrillRecord, list_drills, record_drill

pytestmark = pytest.mark.integration


def history_urls(tmp_path, server) -> list[str]:
    server.ensure_user("history", "hist-pw-4711", ["ALL PRIVILEGES ON drill_history.*"])
    with server.root_connect() as connection, connection.cursor() as cursor:
        cursor.execute("CREATE DATABASE IF NOT EXISTS drill_history")
    return [f"sqlite:///{tmp_path}/history.sqlite",
            f"mysql+pymysql://history:hist-pw-4711@127.0.0.1:{server.spec.port}/drill_history"]


def test_records_round_trip_and_a_retried_run_replaces_its_row(tmp_path, mariadb_factory) -> None:
    server = mariadb_factory("history", log_bin=False)
    for url in history_urls(tmp_path, server):
        first = DrillRecord(run_id="r1", target="shop", drill="restore", verdict="failed", started_at="2026-11-21T09:00:00",
                            finished_at="2026-11-21T09:01:00", backup_id="b1", rto_seconds=61.5, rto_objective_seconds=60,
                            stage_seconds={"restore": 40.0, "validate": 20.0},
                            findings=[{"code": "RTO_EXCEEDED", "message": "m", "fix": "f", "evidence": {}}],
                            details={"results_uri": "s3://b/k"})
        record_drill(url, first)
        retried = DrillRecord(**{**first.to_dict(), "verdict": "passed", "findings": []})
        record_drill(url, retried)
        record_drill(url, DrillRecord(run_id="r2", target="other", drill="backup", verdict="passed",
                                      started_at="2026-11-21T10:00:00", finished_at="2026-11-21T10:00:05"))
        rows = list_drills(url, target="shop")
        assert rows == [retried], url
        assert list(rows[0].stage_seconds) == ["restore", "validate"]  # step order survives
        assert [r.run_id for r in list_drills(url)] == ["r2", "r1"]
