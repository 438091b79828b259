"""``drdrill.engines.mydumper``: schema selection, metadata parsing, and a broken archive on restore."""

from __future__ import annotations

import dataclasses
import subprocess
import tarfile
from pathlib import Path

import pytest

from drdrill.engines.base import RestoreJob
from drdrill.engines.mydumper import METADATA, MydumperEngine
from drdrill.engines.restore import RestoreFailed
from tests.unit.engines.test_base import job


@pytest.mark.unit
def test_one_database_is_selected_by_name_several_by_an_anchored_regex(tmp_path: Path) -> None:
    one = MydumperEngine().argv(job(tmp_path), "/run/opts.cnf", "/out")
    assert one[:2] == ["mydumper", "--defaults-file=/run/opts.cnf"] and one[-2:] == ["-B", "shop"]
    several = MydumperEngine().argv(dataclasses.replace(job(tmp_path), databases=("shop", "billing")),
                                    "/run/opts.cnf", "/out")
    assert several[-2:] == ["--regex", r"^(shop|billing)\."]
    assert not any("s3cret" in part for part in several)


@pytest.mark.unit
def test_metadata_gives_the_consistent_point() -> None:
    found = METADATA.search("Started dump at: x\nSHOW MASTER STATUS:\n\tLog: mysql-bin.000004\n\tPos: 1789\n"
                            "\tGTID:0-1-77\n\nFinished dump at: y\n")
    assert found and (found["file"], found["position"], found["gtid"]) == ("mysql-bin.000004", "1789", "0-1-77")


def _tar_zst(tmp_path: Path, files: dict[str, str]) -> Path:
    source = tmp_path / "src"
    source.mkdir()
    for name, text in files.items():
        (source / name).write_text(text)
    tar = tmp_path / "dump.tar"
    with tarfile.open(tar, "w") as archive:
        for name in files:
            archive.add(source / name, arcname=name)
    subprocess.run(["zstd", "-q", "-f", str(tar), "-o", str(tmp_path / "mydumper.tar.zst")], check=True)
    return tmp_path / "mydumper.tar.zst"


def _restore_job(tmp_path: Path, data: Path) -> RestoreJob:
    return RestoreJob(data=data, endpoint=job(tmp_path).source, scratch=None, work_dir=tmp_path / "work")


@pytest.mark.unit
def test_a_dump_that_did_not_finish_is_archive_truncated(tmp_path: Path) -> None:
    data = _tar_zst(tmp_path, {"metadata": "Started dump at: 2026-12-06\n", "shop.t.sql": "INSERT ..."})
    with pytest.raises(RestoreFailed) as failed:
        MydumperEngine().restore(_restore_job(tmp_path, data))
    assert failed.value.code == "ARCHIVE_TRUNCATED" and "'Finished dump at' missing" in failed.value.problem


@pytest.mark.unit
def test_a_cut_off_stream_is_archive_truncated(tmp_path: Path) -> None:
    whole = _tar_zst(tmp_path, {"metadata": "Finished dump at: 2026-12-06\n", "shop.t.sql": "x" * 100_000})
    cut = tmp_path / "cut.tar.zst"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(RestoreFailed) as failed:
        MydumperEngine().restore(_restore_job(tmp_path, cut))
    assert failed.value.code == "ARCHIVE_TRUNCATED" and "cannot be unpacked to its end" in failed.value.problem


@pytest.mark.unit
def test_routines_triggers_and_events_come_from_mariadb_dump_not_mydumper(tmp_path: Path) -> None:
    dumped = MydumperEngine().argv(job(tmp_path), "/run/opts.cnf", "/out")
    assert not {"-R", "-E", "-G", "--routines", "--events", "--triggers"} & set(dumped)
    code = MydumperEngine().code_argv(job(tmp_path), "/run/opts.cnf")
    assert code[1] == "--defaults-extra-file=/run/opts.cnf"
    assert {"--no-data", "--no-create-info", "--no-create-db", "--routines", "--triggers", "--events"} <= set(code)
    assert code[-2:] == ["--databases", "shop"] and not any("s3cret" in part for part in code)
