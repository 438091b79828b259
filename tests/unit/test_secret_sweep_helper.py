"""The secret sweep's search can fail: a password planted in each kind of place it searches is found there."""

from __future__ import annotations

import gzip
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.secret_sweep import (
    ProcessSampler,
    leaks_in,
    leaks_in_files,
    leaks_in_objects,
    leaks_in_processes,
    leaks_in_sqlite,
    shimmed_processes,
    tool_shims,
)

pytestmark = pytest.mark.unit
SECRET = {"planted": "Planted-Secret-4711"}


def zstd(data: bytes) -> bytes:
    return subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True, check=True).stdout


def test_text_bytes_and_compressed_bytes_are_searched_and_clean_data_is_quiet() -> None:
    for data in ("a Planted-Secret-4711 b", b"x Planted-Secret-4711", zstd(b"Planted-Secret-4711" * 3),
                 gzip.compress(b"{\"password\": \"Planted-Secret-4711\"}")):
        assert [leak.secret for leak in leaks_in(SECRET, "place", data)] == ["planted"]
    assert leaks_in(SECRET, "place", zstd(b"nothing here")) == leaks_in(SECRET, "place", "Planted-Secret") == []


def test_files_sqlite_values_and_objects_are_named_where_the_secret_is(tmp_path: Path) -> None:
    (tmp_path / "logs" / "dag" / "run").mkdir(parents=True)
    (tmp_path / "logs" / "dag" / "run" / "attempt=1.log").write_text("connecting with Planted-Secret-4711\n")
    (tmp_path / "logs" / "clean.log").write_text("nothing\n")
    assert [leak.place for leak in leaks_in_files(SECRET, tmp_path / "logs")] == [
        str(tmp_path / "logs" / "dag" / "run" / "attempt=1.log")]

    database = tmp_path / "meta.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE xcom (key TEXT, value BLOB)")
        connection.execute("INSERT INTO xcom VALUES ('clean', ?)", (b"{}",))
        connection.execute("INSERT INTO xcom VALUES ('return_value', ?)", (b'{"uri": "mysql://u:Planted-Secret-4711@h"}',))
    assert [leak.place for leak in leaks_in_sqlite(SECRET, database, "metadata DB")] == ["metadata DB xcom.value row 2"]

    objects = [("s3://b/manifest.json", b"{}"), ("s3://b/full/x/dump.sql.zst", zstd(b"-- Planted-Secret-4711"))]
    assert [leak.place for leak in leaks_in_objects(SECRET, objects)] == ["s3://b/full/x/dump.sql.zst"]


def test_the_sampler_sees_argv_environment_and_option_files_of_descendants(tmp_path: Path) -> None:
    option_file = tmp_path / "tool.cnf"
    option_file.write_text("[client]\nuser=u\npassword=Option-Secret-1\n")
    option_file.chmod(0o644)
    (tmp_path / "scratch").mkdir()
    (tmp_path / "scratch" / "admin.cnf").write_text("[client]\npassword=Scratch-Secret-2\n")
    sampler = ProcessSampler(os.getpid(), [f"{tmp_path}/scratch/*.cnf"])
    sampler.start()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.6)", "--password=Planted-Secret-4711",
                              f"--defaults-extra-file={option_file}"], env={"PLANTED": "Planted-Secret-4711"})
    child.wait()
    sampler.stop()
    places = sorted(leak.place.split(" of pid")[0] for leak in leaks_in_processes(SECRET, sampler.processes.values()))
    assert places == ["argv", "environment PLANTED"]
    seen = sampler.option_files[str(option_file)]
    assert (seen.mode, seen.passwords) == (0o644, ("Option-Secret-1",))
    assert sampler.file_passwords == {"Option-Secret-1": str(option_file),
                                      "Scratch-Secret-2": str(tmp_path / "scratch" / "admin.cnf")}


def test_a_tool_too_quick_for_the_sampler_is_recorded_by_its_shim(tmp_path: Path) -> None:
    shims, records = tool_shims(tmp_path / "shims", ["zstd"])
    subprocess.run(["zstd", "-q", "-t", "/nonexistent/Planted-Secret-4711"], capture_output=True, check=False,
                   env={"PATH": f"{shims}:{os.environ['PATH']}", "PLANTED": "Planted-Secret-4711"})
    [process] = shimmed_processes(records)
    assert process.argvs[0][0] == "zstd" and process.environ["PLANTED"] == "Planted-Secret-4711"
    assert sorted(leak.place.split(" of pid")[0] for leak in leaks_in_processes(SECRET, [process])) == [
        "argv", "environment PLANTED"]
