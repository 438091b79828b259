"""The PITR drill against real servers and a real archive: exact boundary, and each finding both ways."""

from __future__ import annotations

import contextlib
import dataclasses
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from drdrill.drills.archive import steps as archive_steps
from drdrill.drills.layouts import binlog_layout, layout_for
from drdrill.drills.pitr.form import PitrOptions
from drdrill.drills.pitr.runner import run_pitr_drill
from drdrill.drills.pitr.steps import plan_with_markers, whole_second
from drdrill.drills.restore.runner import RestoreServers
from drdrill.servers.scratch import run_key
from drdrill.storage.binlog.index import list_archive
from drdrill.storage.lease import read_lease, release_lease
from tests.helpers.drill_helpers import run_steps, shop_target, store_for, write_on_source

pytestmark = pytest.mark.integration
# A stop condition that is ignored: replay everything archived. (mariadb-binlog takes only TIMESTAMP-range
# dates; a later one makes it stop at once, which would be an undershoot, not an overshoot.)
OVERSHOOT = "2037-12-31 00:00:00"


def fresh_target():
    base = shop_target()
    return dataclasses.replace(base, storage=dataclasses.replace(base.storage, prefix=f"pitr-{uuid.uuid4().hex[:8]}"))


def prepare(sandbox, tmp_path: Path, extra_files: int = 0):
    """A backup, heartbeats after it, a whole-second target T with events after it, all archived."""
    target = fresh_target()
    _, manifest = run_steps(sandbox, target, tmp_path / "backup")
    with contextlib.closing(sandbox.sandbox.primary.root_connect()) as connection, connection.cursor() as cursor:
        for _ in range(extra_files):  # more binlog files in the chain
            write_on_source(sandbox, 1)
            cursor.execute("FLUSH BINARY LOGS")
    time.sleep(2.5)
    target_time = whole_second(datetime.now(timezone.utc)) - timedelta(seconds=1)
    time.sleep(1.5)  # the heartbeat writer commits after the target too
    archive_steps.archive(target, sandbox.sandbox.backup_endpoint(), store_for(sandbox, target),
                           work_dir=tmp_path / "archive")
    return target, target_time, manifest


def needed_chain(sandbox, target, manifest):
    """The archived files PITR replays: from the backup's consistent point on (older files are not needed)."""
    first = manifest.consistent_point.file
    return [e for e in list_archive(store_for(sandbox, target), binlog_layout(target)) if e.file >= first]


def pitr(sandbox, target, tmp_path: Path, target_time, **options):
    servers = RestoreServers(source=sandbox.sandbox.backup_endpoint(), replica=None, store=store_for(sandbox, target))
    run_id = f"pitr-{uuid.uuid4().hex[:8]}"
    record, findings = run_pitr_drill(target, servers, PitrOptions(target_time=target_time), work_dir=tmp_path / "work",
                                      history_url=sandbox.history_url, run_id=run_id,
                                      started_at=datetime.now(timezone.utc), **options)
    assert read_lease(servers.store, layout_for(target), run_key(run_id)) is None  # released when the drill ended
    return record, [finding.code for finding in findings]


def test_pitr_to_a_second_between_writes_recovers_exactly_the_rows_before_it(sandbox, tmp_path) -> None:
    target, target_time, _ = prepare(sandbox, tmp_path)
    record, codes = pitr(sandbox, target, tmp_path, target_time)
    assert (record.verdict, codes) == ("passed", [])
    assert record.details["target_time"] == target_time.isoformat()
    assert 0 <= record.rpo_seconds <= 1.5  # the newest recovered heartbeat is within the second before T
    assert {"restore_base", "replay", "validate"} <= set(record.stage_seconds)
    assert record.details["replay_mb_per_second"] is not None

    store, layout = store_for(sandbox, target), layout_for(target)  # while a drill runs, it holds the base and binlogs
    planned = plan_with_markers(target, sandbox.sandbox.backup_endpoint(), store, signing_key=None, requested=target_time,
                                seed="pitr-lease", key="pitr-lease", work_dir=tmp_path / "plan", now=datetime.now(timezone.utc))
    held = read_lease(store, layout, "pitr-lease")
    release_lease(store, layout, "pitr-lease")
    assert held is not None and (held.run_id, held.drill, held.backup_id) == ("pitr-lease", "pitr", planned["backup_id"])
    assert held.binlogs == {planned["server_key"]: planned["files"]} and planned["files"]


def test_a_replay_that_overshoots_the_target_is_pitr_boundary_wrong(sandbox, tmp_path) -> None:
    target, target_time, _ = prepare(sandbox, tmp_path)
    record, codes = pitr(sandbox, target, tmp_path, target_time, stop_override=OVERSHOOT)
    assert record.verdict == "failed" and codes == ["PITR_BOUNDARY_WRONG"]
    assert "committed after the target are present" in record.findings[0]["message"]


def test_a_target_after_the_end_of_the_archive_is_unreached(sandbox, tmp_path) -> None:
    target, _, _ = prepare(sandbox, tmp_path)
    time.sleep(3)
    later = whole_second(datetime.now(timezone.utc)) - timedelta(seconds=1)
    record, codes = pitr(sandbox, target, tmp_path, later)
    assert (record.verdict, codes) == ("failed", ["PITR_TARGET_UNREACHED"])


def test_a_target_before_the_oldest_retained_backup_is_reported(sandbox, tmp_path) -> None:
    target, target_time, _ = prepare(sandbox, tmp_path)
    record, codes = pitr(sandbox, target, tmp_path, target_time - timedelta(hours=1))
    assert (record.verdict, codes) == ("could_not_verify", ["PITR_TARGET_BEFORE_BACKUP"])
    assert "before the recoverable window, which starts at" in record.findings[0]["message"]


def test_a_binlog_deleted_from_the_middle_of_the_chain_is_binlog_gap(sandbox, tmp_path) -> None:
    target, target_time, manifest = prepare(sandbox, tmp_path, extra_files=2)
    store = store_for(sandbox, target)
    layout = binlog_layout(target)
    chain = needed_chain(sandbox, target, manifest)
    assert len(chain) >= 3
    middle = chain[1]
    store.client.delete_object(Bucket=store.bucket, Key=layout.object_key(middle.server_key, middle.file))
    store.client.delete_object(Bucket=store.bucket, Key=layout.index_key(middle.server_key, middle.file))
    record, codes = pitr(sandbox, target, tmp_path, target_time)
    assert (record.verdict, codes) == ("failed", ["BINLOG_GAP"])
    assert middle.file in record.findings[0]["message"]
    assert record.findings[0]["evidence"]["missing"] == [middle.file]


def test_a_corrupted_binlog_object_is_binlog_corrupt(sandbox, tmp_path) -> None:
    target, target_time, manifest = prepare(sandbox, tmp_path)
    store = store_for(sandbox, target)
    layout = binlog_layout(target)
    first = needed_chain(sandbox, target, manifest)[0]
    key = layout.object_key(first.server_key, first.file)
    body = bytearray(store.get_bytes(key))
    body[len(body) // 2] ^= 0x01
    store.put_bytes(key, bytes(body))
    record, codes = pitr(sandbox, target, tmp_path, target_time)
    assert record.verdict == "failed" and codes == ["BINLOG_CORRUPT"]


def test_retention_prunes_only_the_binlogs_no_kept_backup_needs(sandbox, tmp_path) -> None:
    from drdrill.drills.backup import steps as backup
    from drdrill.storage.binlog.chain import check_archive
    from drdrill.storage.binlog.names import split_binlog_name

    target, _, first = prepare(sandbox, tmp_path)
    with contextlib.closing(sandbox.sandbox.primary.root_connect()) as connection, connection.cursor() as cursor:
        for _ in range(2):
            write_on_source(sandbox, 1)
            cursor.execute("FLUSH BINARY LOGS")
    time.sleep(1.1)
    _, second = run_steps(sandbox, target, tmp_path / "second")
    store = store_for(sandbox, target)
    archive_steps.archive(target, sandbox.sandbox.backup_endpoint(), store, work_dir=tmp_path / "a2")
    keep_one = dataclasses.replace(target, retention=dataclasses.replace(target.retention, keep_days=None, keep_backups=1))

    result = backup.apply_retention(keep_one, store, now=datetime.now(timezone.utc), signing_key=None)

    assert first.backup_id in result["deleted"]
    start = split_binlog_name(second.consistent_point.file)[1]
    key = second.extra["server_key"]
    assert result["binlogs_deleted"] and all(
        name.startswith(key) and split_binlog_name(name.split("/")[1])[1] < start for name in result["binlogs_deleted"])
    remaining = [e for e in list_archive(store, binlog_layout(target)) if e.server_key == key]
    assert min(split_binlog_name(e.file)[1] for e in remaining) == start
    assert check_archive(store, binlog_layout(target)) == []


MARKER_USER, MARKER_PASSWORD = "drill_marker", f"Mk-{uuid.uuid4().hex[:12]}"


def marker_login(sandbox, with_grant: bool = True):
    """A source login for a target that allows source writes (CREATE, INSERT on the markers table only)."""
    grants = ["SELECT, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT, BINLOG MONITOR ON *.*"]
    if with_grant:
        grants.append("CREATE, INSERT ON shop.*")
    user = MARKER_USER if with_grant else f"{MARKER_USER}_ro"
    sandbox.sandbox.primary.ensure_user(user, MARKER_PASSWORD, grants, binlog=False)
    return sandbox.sandbox.primary.endpoint(user, MARKER_PASSWORD)


def marker_drill(sandbox, tmp_path: Path, login, **options):
    target = dataclasses.replace(fresh_target(), allow_source_writes=True)
    run_steps(sandbox, target, tmp_path / "backup")
    time.sleep(1.1)
    servers = RestoreServers(source=login, replica=None, store=store_for(sandbox, target))
    record, findings = run_pitr_drill(target, servers, PitrOptions(), work_dir=tmp_path / "work",
                                      history_url=sandbox.history_url, run_id=f"pitr-{uuid.uuid4().hex[:8]}",
                                      started_at=datetime.now(timezone.utc), **options)
    return record, findings


def test_markers_written_around_the_target_are_exactly_split_by_the_recovery(sandbox, tmp_path) -> None:
    record, findings = marker_drill(sandbox, tmp_path, marker_login(sandbox))
    assert (record.verdict, [f.code for f in findings]) == ("passed", []), [f.message for f in findings]
    before, after = record.details["markers"]
    assert before.startswith("before-") and after.startswith("after-")


def test_an_overshoot_brings_back_the_after_marker_and_is_boundary_wrong(sandbox, tmp_path) -> None:
    record, findings = marker_drill(sandbox, tmp_path, marker_login(sandbox), stop_override=OVERSHOOT)
    assert record.verdict == "failed" and {f.code for f in findings} == {"PITR_BOUNDARY_WRONG"}
    assert any("after-" in f.message for f in findings), [f.message for f in findings]


def test_a_login_that_may_not_write_markers_is_could_not_verify_with_the_grant_to_add(sandbox, tmp_path) -> None:
    record, findings = marker_drill(sandbox, tmp_path, marker_login(sandbox, with_grant=False))
    assert record.verdict == "could_not_verify" and [f.code for f in findings] == ["COULD_NOT_VERIFY"]
    assert "CREATE, INSERT ON shop.drdrill_pitr_markers" in findings[0].fix


def test_pitr_dag_failing_at_plan_is_still_recorded_and_alerted(sandbox, airflow_db, tmp_path) -> None:
    import importlib.util

    from drdrill.history import list_drills
    from drdrill.sandbox.slack_sink import read_posts

    run_steps(sandbox, shop_target(), tmp_path / "backup")
    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("dagfile_dr_pitr_red", root / "dags" / "dr_pitr_drill.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    before = len(read_posts(sandbox.sandbox.slack_record))

    dag_run = module.DAGS["shop"].test(run_conf={"target_time": "2020-01-01T00:00:00Z"})

    assert str(dag_run.state) == "failed"
    record = list_drills(sandbox.history_url, "shop", "pitr", limit=1)[0]
    assert record.run_id == dag_run.run_id and [f["code"] for f in record.findings] == ["PITR_TARGET_BEFORE_BACKUP"]
    posts = read_posts(sandbox.sandbox.slack_record)[before:]
    assert len(posts) == 1 and "PITR_TARGET_BEFORE_BACKUP" in posts[0]["body"]["text"]
