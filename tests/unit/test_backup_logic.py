"""Pure logic of backups: manifest round trip and rejection, retention choices, findings, part cutting."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone

import pytest

from drdrill.findings import COULD_NOT_VERIFY, FAILED, PASSED, DrillFailed, Finding, verdict_of
from drdrill.drills.record import build_record
from drdrill.storage.catalog import INCOMPLETE, QUARANTINED, VALID, BackupEntry
from drdrill.storage.layout import BACKUP_ID_PATTERN, TargetLayout, backup_time, new_backup_id
from drdrill.storage.manifest import BinlogPosition, Inventory, Manifest, ManifestError, ObjectEntry, TableFacts
from drdrill.storage.objectstore import regroup_into_parts as _regroup
from drdrill.storage.retention import choose_deletions
from drdrill.toolenv import tool_environment

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def manifest(**changes) -> Manifest:
    point = BinlogPosition("mysql-bin.000002", 600, "0-1-6")
    base = Manifest(
        backup_id="20261121T083012Z-a1b2c3", target="shop", engine="mariadb-dump", tool_version="x",
        compression="zstd", server_version="10.11", source="u@h:1", databases=("shop",),
        started_at="s", finished_at="f", consistent_point=point, facts_point=point,
        objects=(ObjectEntry("dump.sql.zst", "data", 10, "ab" * 32),),
        tables=(TableFacts("shop", "t", 3, "123", ("id",), ("id",)),),
        inventory=Inventory(tables=("shop.t",)),
    )
    return dataclasses.replace(base, **changes)


def test_manifest_round_trips_through_json() -> None:
    original = manifest(catchup=ObjectEntry("catchup.sql.zst", "catchup", 5, "cd" * 32),
                        facts_point=BinlogPosition("mysql-bin.000002", 900, "0-1-8"))
    again = Manifest.from_json(original.to_json())
    assert again == original
    assert json.loads(original.to_json())["facts_match_consistent_point"] is False
    assert [o.name for o in again.all_objects()] == ["dump.sql.zst", "catchup.sql.zst"]


@pytest.mark.parametrize("breakage", [
    lambda d: d.pop("tables"),
    lambda d: d.update(complete=False),
    lambda d: d.update(format_version=99),
    lambda d: d.update(objects=[]),
    lambda d: d["consistent_point"].pop("position"),
])
def test_an_incomplete_manifest_is_rejected(breakage) -> None:
    data = json.loads(manifest().to_json())
    breakage(data)
    with pytest.raises(ManifestError):
        Manifest.from_json(json.dumps(data))
    with pytest.raises(ManifestError):
        Manifest.from_json(b'{"truncated": ')


def test_backup_ids_sort_by_time_and_encode_it() -> None:
    first, second = new_backup_id(NOW), new_backup_id(NOW + timedelta(seconds=1))
    assert BACKUP_ID_PATTERN.match(first) and first < second
    assert backup_time(first) == NOW
    layout = TargetLayout("p", "shop")
    assert layout.manifest_key(first) == f"p/shop/full/{first}/manifest.json"
    assert TargetLayout("", "shop").full_root == "shop/full/"


def entry(days_old: float, status: str = VALID) -> BackupEntry:
    backup_id = (NOW - timedelta(days=days_old)).strftime("%Y%m%dT%H%M%SZ") + "-000000"
    return BackupEntry(backup_id, status, None, 1, "" if status == VALID else "why")


def test_retention_keeps_newest_n_or_younger_than_days() -> None:
    backups = [entry(0.1), entry(1), entry(2), entry(10), entry(20)]
    decision = choose_deletions(backups, now=NOW, keep_days=5, keep_backups=2)
    assert set(decision.keep) == {b.backup_id for b in backups[:3]}
    assert set(decision.delete) == {backups[3].backup_id, backups[4].backup_id}


def test_retention_never_deletes_the_newest_valid_backup_even_when_everything_is_old() -> None:
    backups = [entry(40, QUARANTINED), entry(50), entry(60)]
    decision = choose_deletions(backups, now=NOW, keep_days=7, keep_backups=None)
    assert backups[1].backup_id in decision.keep
    assert set(decision.delete) == {backups[0].backup_id, backups[2].backup_id}


def test_retention_leaves_a_running_backup_alone_and_clears_abandoned_ones() -> None:
    running, abandoned = entry(0.01, INCOMPLETE), entry(3, INCOMPLETE)
    decision = choose_deletions([running, abandoned, entry(1)], now=NOW, keep_days=7, keep_backups=1)
    assert running.backup_id in decision.keep
    assert abandoned.backup_id in decision.delete


def test_verdict_order_and_unknown_codes() -> None:
    assert verdict_of([]) == PASSED
    assert verdict_of([Finding("TARGET_UNAVAILABLE", "x")]) == COULD_NOT_VERIFY
    assert verdict_of([Finding("TARGET_UNAVAILABLE", "x"), Finding("ARTEFACT_CORRUPT", "y")]) == FAILED
    assert Finding("ARTEFACT_CORRUPT", "y").fix  # every code carries a default fix
    with pytest.raises(ValueError):
        Finding("NOT_A_CODE", "x")
    failed = DrillFailed([Finding("ARTEFACT_CORRUPT", "bad")])
    assert failed.verdict == FAILED and "ARTEFACT_CORRUPT: bad Fix:" in str(failed)


def test_a_step_that_vanished_without_a_finding_is_not_a_pass() -> None:
    steps = ["preflight", "dump_and_upload", "verify"]
    record, findings = build_record(run_id="r", target="shop", drill="backup", started_at="s", steps=steps,
                                    results={"preflight": {"seconds": 1}}, findings_by_step={})
    assert record.verdict == COULD_NOT_VERIFY
    assert [f.evidence["step"] for f in findings] == ["dump_and_upload"]
    record, findings = build_record(run_id="r", target="shop", drill="backup", started_at="s", steps=steps,
                                    results={}, findings_by_step={"preflight": [Finding("TARGET_UNAVAILABLE", "x")]})
    assert [f.code for f in findings] == ["TARGET_UNAVAILABLE"] and record.details["failed_steps"] == ["preflight"]
    record, _ = build_record(run_id="r", target="shop", drill="backup", started_at="s", steps=steps,
                             results={s: {"seconds": 1} for s in steps}, findings_by_step={})
    assert record.verdict == PASSED and record.stage_seconds == {s: 1.0 for s in steps}


def test_regroup_cuts_exact_parts() -> None:
    parts = list(_regroup([b"ab", b"cdefg", b"", b"h"], 3))
    assert parts == [b"abc", b"def", b"gh"]


def test_tool_environment_drops_secrets(monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_X", "mysql://u:secret@h")
    monkeypatch.setenv("MYSQL_PWD", "secret")
    monkeypatch.setenv("PATH", "/usr/bin")
    env = tool_environment()
    assert "AIRFLOW_CONN_X" not in env and "MYSQL_PWD" not in env and env["PATH"] == "/usr/bin"


def test_regroup_reassembles_any_chunking_exactly() -> None:
    import random

    rng = random.Random(3)
    data = rng.randbytes(50_000)
    for size in (7, 1000, 4096, 49_999, 50_000, 80_000):
        chunks, position = [], 0
        while position < len(data):
            step = rng.randint(0, 3000)
            chunks.append(data[position:position + step])
            position += step
        parts = list(_regroup(chunks, size))
        assert b"".join(parts) == data
        assert all(len(part) == size for part in parts[:-1]) and 0 < len(parts[-1]) <= size


def archived(file: str, key: str = "1-aaaaaaaa"):
    from drdrill.storage.binlog.index import ArchivedBinlog

    return ArchivedBinlog(file=file, server_key=key, server_id=1, size=1, sha256="a" * 64, raw_size=1,
                          raw_sha256="b" * 64, first_gtid=None, last_gtid=None, gtid_binlog_pos_start=None,
                          gtid_binlog_pos_end=None, first_event_at=None, last_event_at=None, archived_at="x")


def test_binlog_retention_keeps_everything_a_retained_backup_needs() -> None:
    from drdrill.storage.retention import binlogs_no_longer_needed

    files = [archived(f"mysql-bin.00000{n}") for n in range(1, 7)] + [archived("mysql-bin.000001", "2-bbbbbbbb")]
    older = manifest(consistent_point=BinlogPosition("mysql-bin.000003", 4, "0-1-9"), extra={"server_key": "1-aaaaaaaa"})
    newer = manifest(consistent_point=BinlogPosition("mysql-bin.000005", 4, "0-1-20"), extra={"server_key": "1-aaaaaaaa"})
    gone = binlogs_no_longer_needed(files, [newer, older])
    assert [e.file for e in gone] == ["mysql-bin.000001", "mysql-bin.000002"]  # the older backup still needs 3+
    assert binlogs_no_longer_needed(files, [manifest()]) == []  # an old manifest without server_key: keep all


def test_binlog_sql_command_filters_every_target_database_and_nothing_else() -> None:
    from drdrill.engines.binlog_sql import binlog_sql_command

    base = ["mariadb-binlog", "--defaults-extra-file=/run/x.cnf", "--start-position=4"]
    assert binlog_sql_command(base, ["shop"], ["a.000001"]) == [*base, "--database=shop", "a.000001"]
    shell = binlog_sql_command(base, ["shop", "my db"], ["a.000001", "a.000002"])
    assert shell[:2] == ["bash", "-c"] and shell[2].startswith("set -e; ")
    assert "--database=shop a.000001 a.000002; " in shell[2] and "'--database=my db' a.000001 a.000002" in shell[2]
    with pytest.raises(ValueError):
        binlog_sql_command(base, [], ["a.000001"])
