"""The PITR boundary suite on a real MariaDB: silent on an exact recovery, loud on each side of a wrong one.

The "source" schema holds ten heartbeats one second apart (10:00:00 … 10:00:09) and two markers, one
written before the target (10:00:05) and one after it. Each test builds a "recovered" schema from the
source as a replay that stopped in the right place, too late or with a row lost would have left it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from drdrill.checks.gx_runner import ValidationOutcome
from drdrill.checks.pitr_suite import PITR_MARKERS_TABLE, validate_pitr_boundary
from drdrill.config import Heartbeat
from drdrill.ports import find_free_port
from tests.helpers.gx_helpers import assert_results_hold_no_password

pytestmark = pytest.mark.integration

USER = "drill_pitr"
PASSWORD = "Pitr-p@ss'w0rd%/7"  # needs URL quoting; must never reach a file
SOURCE = "pitr_source"
FIRST_BEAT = datetime(2026, 1, 1, 10, 0, 0, tzinfo=timezone.utc)
BEATS = 10
TARGET = FIRST_BEAT + timedelta(seconds=5)  # a whole second; the source has a beat exactly at it
MARKERS = ("before-target", "after-target")
MARKER_TIMES = {
    "before-target": TARGET - timedelta(seconds=1, microseconds=750_000),  # 10:00:03.25
    "after-target": TARGET + timedelta(microseconds=500_000),  # 10:00:05.5, inside the target's second
}


def naive(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


@dataclasses.dataclass
class Source:
    server: object
    url: str
    expected_before: int  # the source's own count before the target, as the drill would read it
    results_dirs: list[Path]

    def sql(self, *statements: str, params: tuple = ()) -> None:
        """Run ``statements`` as root; ``params`` fill the ``%s`` of those that have them."""
        with contextlib.closing(self.server.root_connect()) as conn, conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement, params if "%s" in statement else None)

    def recovered(
        self, schema: str, *, until: datetime, without: tuple[datetime, ...] = (), markers: bool = True
    ) -> Heartbeat:
        """Schema ``schema`` holding the source's heartbeats (and markers) written before ``until``."""
        self.sql(
            f"CREATE DATABASE {schema}",
            f"CREATE TABLE {schema}.heartbeat LIKE {SOURCE}.heartbeat",
            f"INSERT INTO {schema}.heartbeat SELECT * FROM {SOURCE}.heartbeat WHERE beat_at < %s",
            params=(naive(until),),
        )
        for moment in without:
            self.sql(f"DELETE FROM {schema}.heartbeat WHERE beat_at = %s", params=(naive(moment),))
        if markers:
            self.sql(
                f"CREATE TABLE {schema}.{PITR_MARKERS_TABLE} LIKE {SOURCE}.{PITR_MARKERS_TABLE}",
                f"INSERT INTO {schema}.{PITR_MARKERS_TABLE} "
                f"SELECT * FROM {SOURCE}.{PITR_MARKERS_TABLE} WHERE written_at < %s",
                params=(naive(until),),
            )
        return Heartbeat(schema, "heartbeat", "beat_at")

    def validate(
        self,
        heartbeat: Heartbeat,
        results_dir: Path,
        *,
        url: str | None = None,
        markers: tuple[str, str] | None = MARKERS,
    ) -> ValidationOutcome:
        self.results_dirs.append(results_dir)
        return validate_pitr_boundary(
            url or self.url,
            heartbeat=heartbeat,
            target_time=TARGET,
            expected_before=self.expected_before,
            results_dir=results_dir,
            markers=markers,
        )


@pytest.fixture(scope="module")
def source(mariadb_module_factory) -> Source:
    """One server with the source schema and a SELECT-only user with a password."""
    server = mariadb_module_factory("gxpitr")
    with contextlib.closing(server.root_connect()) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {SOURCE}")
        cur.execute(
            f"CREATE TABLE {SOURCE}.heartbeat (seq BIGINT AUTO_INCREMENT PRIMARY KEY, "
            "beat_at DATETIME(6) NOT NULL, server_id INT UNSIGNED NOT NULL, KEY (beat_at))"
        )
        cur.executemany(
            f"INSERT INTO {SOURCE}.heartbeat (beat_at, server_id) VALUES (%s, 1)",
            [(naive(FIRST_BEAT + timedelta(seconds=n)),) for n in range(BEATS)],
        )
        cur.execute(
            f"CREATE TABLE {SOURCE}.{PITR_MARKERS_TABLE} "
            "(label VARCHAR(64) PRIMARY KEY, written_at DATETIME(6) NOT NULL)"
        )
        cur.executemany(
            f"INSERT INTO {SOURCE}.{PITR_MARKERS_TABLE} VALUES (%s, %s)",
            [(label, naive(moment)) for label, moment in MARKER_TIMES.items()],
        )
        cur.execute(f"SELECT COUNT(*) FROM {SOURCE}.heartbeat WHERE beat_at < %s", (naive(TARGET),))
        (expected_before,) = cur.fetchone()
    assert expected_before == 5  # 10:00:00 … 10:00:04; 10:00:05 is the first beat not to recover
    server.ensure_user(USER, PASSWORD, ["SELECT ON *.*"])
    url = URL.create(
        "mysql+pymysql", username=USER, password=PASSWORD, host="127.0.0.1", port=server.spec.port
    ).render_as_string(hide_password=False)
    return Source(server, url, expected_before, [])


def codes(outcome: ValidationOutcome) -> Counter[str]:
    return Counter(f.code for f in outcome.findings)


# -- an exact recovery ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exact(source: Source, tmp_path_factory) -> ValidationOutcome:
    return source.validate(source.recovered("pitr_exact", until=TARGET), tmp_path_factory.mktemp("exact"))


def test_an_exact_recovery_has_no_findings(exact: ValidationOutcome) -> None:
    assert exact.findings == ()
    # after, before, newest on the heartbeat table; before-marker present, after-marker absent
    assert exact.evaluated == exact.successful == 5
    assert exact.newest_heartbeat == TARGET - timedelta(seconds=1)


def test_the_results_and_data_docs_are_written(exact: ValidationOutcome) -> None:
    document = json.loads(exact.results_json.read_text())
    assert document["checkpoint"]["success"] is True
    assert document["drdrill"]["target_time"] == "2026-01-01T10:00:05+00:00"
    assert document["drdrill"]["expected_before"] == 5
    types = {r["expectation_config"]["type"] for v in document["validation_results"] for r in v["results"]}
    assert types == {
        "expect_no_rows_after_recovery_target",
        "expect_rows_before_recovery_target_to_match_source",
        "expect_column_max_to_be_between",
        "expect_column_distinct_values_to_contain_set",
        "expect_column_values_to_not_be_in_set",
    }
    assert exact.data_docs_dir is not None and (exact.data_docs_dir / "index.html").is_file()
    assert list(exact.data_docs_dir.glob("validations/**/*.html"))


# -- one side or the other -----------------------------------------------------------------------------------


def test_a_replay_past_the_target_is_a_wrong_boundary(source: Source, tmp_path: Path) -> None:
    # Stopped two seconds late: the beats at 10:00:05 (exactly the target) and 10:00:06 came back,
    # and so did the marker written after the target.
    heartbeat = source.recovered("pitr_overshoot", until=TARGET + timedelta(seconds=2))
    outcome = source.validate(heartbeat, tmp_path)

    assert codes(outcome) == Counter({"PITR_BOUNDARY_WRONG": 2})
    rows, marker = sorted(outcome.findings, key=lambda f: f.evidence["check"])
    assert rows.evidence["check"] == "pitr_after" and rows.evidence["rows_after"] == 2
    assert "2 rows committed after the target are present" in rows.message
    assert "target 2026-01-01 10:00:05 UTC, newest 2026-01-01 10:00:06 UTC" in rows.message
    assert marker.evidence["check"] == "pitr_marker_after"
    assert (
        "Marker 'after-target', written after the target" in marker.message and "is present" in marker.message
    )
    assert outcome.newest_heartbeat == TARGET + timedelta(seconds=1)
    assert outcome.evaluated - outcome.successful == len(outcome.findings)


def test_a_row_lost_before_the_target_is_a_wrong_boundary(source: Source, tmp_path: Path) -> None:
    heartbeat = source.recovered("pitr_lost", until=TARGET, without=(FIRST_BEAT + timedelta(seconds=2),))
    outcome = source.validate(heartbeat, tmp_path)

    (finding,) = outcome.findings
    assert finding.code == "PITR_BOUNDARY_WRONG" and finding.evidence["check"] == "pitr_before"
    assert "rows committed before the target 2026-01-01 10:00:05 UTC are missing: expected 5, found 4" in (
        finding.message
    )
    assert finding.evidence["rows_before"] == 4
    assert outcome.newest_heartbeat == TARGET - timedelta(seconds=1)  # the newest beat alone cannot tell


def test_a_replay_that_stopped_before_everything_is_a_wrong_boundary(source: Source, tmp_path: Path) -> None:
    outcome = source.validate(source.recovered("pitr_nothing", until=FIRST_BEAT), tmp_path)
    assert sorted((f.code, f.evidence["check"]) for f in outcome.findings) == [
        ("PITR_BOUNDARY_WRONG", "pitr_before"),
        ("PITR_BOUNDARY_WRONG", "pitr_marker_before"),
    ]
    assert "expected 5, found 0" in next(
        f.message for f in outcome.findings if f.evidence["check"] == "pitr_before"
    )
    assert outcome.newest_heartbeat is None  # an empty table has no newest heartbeat


def test_an_after_marker_alone_is_a_wrong_boundary(source: Source, tmp_path: Path) -> None:
    heartbeat = source.recovered("pitr_after_marker", until=TARGET)
    source.sql(
        f"INSERT INTO pitr_after_marker.{PITR_MARKERS_TABLE} VALUES (%s, %s)",
        params=("after-target", naive(MARKER_TIMES["after-target"])),
    )
    outcome = source.validate(heartbeat, tmp_path)

    (finding,) = outcome.findings
    assert finding.code == "PITR_BOUNDARY_WRONG" and finding.evidence["marker"] == "after-target"
    assert finding.message == (
        "Marker 'after-target', written after the target 2026-01-01 10:00:05 UTC, is present in "
        f"pitr_after_marker.{PITR_MARKERS_TABLE}."
    )


def test_a_missing_before_marker_is_a_wrong_boundary(source: Source, tmp_path: Path) -> None:
    heartbeat = source.recovered("pitr_no_markers", until=TARGET)
    source.sql(f"DELETE FROM pitr_no_markers.{PITR_MARKERS_TABLE}")
    outcome = source.validate(heartbeat, tmp_path)
    (finding,) = outcome.findings
    assert finding.code == "PITR_BOUNDARY_WRONG" and finding.evidence["marker"] == "before-target"
    assert "Marker 'before-target', written before the target" in finding.message and "is missing" in (
        finding.message
    )

    # without the markers table at all, the before-marker is just as missing (reported without GX)
    source.sql(f"DROP TABLE pitr_no_markers.{PITR_MARKERS_TABLE}")
    outcome = source.validate(heartbeat, tmp_path / "no_table")
    (finding,) = outcome.findings
    assert finding.code == "PITR_BOUNDARY_WRONG" and "'before-target'" in finding.message
    assert f"pitr_no_markers.{PITR_MARKERS_TABLE} is not in the recovered server" in finding.message
    assert outcome.evaluated == outcome.successful == 3  # the heartbeat checks still ran and passed


def test_a_missing_heartbeat_table_is_a_wrong_boundary(source: Source, tmp_path: Path) -> None:
    source.sql("CREATE DATABASE pitr_empty")
    outcome = source.validate(Heartbeat("pitr_empty", "heartbeat", "beat_at"), tmp_path, markers=None)
    (finding,) = outcome.findings
    assert finding.code == "PITR_BOUNDARY_WRONG"
    assert "pitr_empty.heartbeat is not in the recovered server (expected 5 rows, found none)" in (
        finding.message
    )
    assert outcome.newest_heartbeat is None


# -- could not verify ----------------------------------------------------------------------------------------


def test_an_unreachable_server_could_not_be_verified(source: Source, tmp_path: Path) -> None:
    url = URL.create(
        "mysql+pymysql", username=USER, password=PASSWORD, host="127.0.0.1", port=find_free_port()
    ).render_as_string(hide_password=False)
    outcome = source.validate(Heartbeat("pitr_exact", "heartbeat", "beat_at"), tmp_path, url=url)
    (finding,) = outcome.findings
    assert finding.code == "COULD_NOT_VERIFY" and "Cannot connect to the restored server" in finding.message
    assert outcome.evaluated == 0 and outcome.newest_heartbeat is None
    assert outcome.results_json.is_file() and outcome.data_docs_dir is None


def test_an_expectation_that_raises_could_not_be_verified_not_passed(
    source: Source, exact: ValidationOutcome, tmp_path: Path
) -> None:
    outcome = source.validate(Heartbeat("pitr_exact", "heartbeat", "no_such_column"), tmp_path, markers=None)
    assert codes(outcome) == Counter({"COULD_NOT_VERIFY": 3})
    assert {f.evidence["check"] for f in outcome.findings} == {"pitr_after", "pitr_before", "pitr_newest"}
    assert all("no_such_column" in f.message for f in outcome.findings)
    assert outcome.successful == 0 and outcome.newest_heartbeat is None


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    heartbeat = Heartbeat("pitr_exact", "heartbeat", "beat_at")

    def call(**changes):
        arguments = {
            "heartbeat": heartbeat,
            "target_time": TARGET,
            "expected_before": 5,
            "results_dir": tmp_path,
            **changes,
        }
        return validate_pitr_boundary("mysql+pymysql://u:p@127.0.0.1:1/x", **arguments)

    with pytest.raises(ValueError, match="timezone-aware"):
        call(target_time=naive(TARGET))
    with pytest.raises(ValueError, match="whole second"):
        call(target_time=TARGET + timedelta(microseconds=1))
    with pytest.raises(ValueError, match="row count"):
        call(expected_before=-1)
    with pytest.raises(ValueError, match="two different"):
        call(markers=("same", "same"))


# -- secrets -------------------------------------------------------------------------------------------------


def test_no_file_written_holds_the_password(source: Source, exact: ValidationOutcome) -> None:
    assert_results_hold_no_password(source.results_dirs, PASSWORD, more_than=10)
