"""The secret sweep: what processes a run started (argv, environment, option files), and where known passwords show.

``ProcessSampler`` watches this process's descendants every ~50 ms while drills run; ``tool_shims`` records every
exec of the tools drdrill runs by name (a tool done within 50 ms escapes a sampler, not a shim on PATH); ``leaks_in``
and its siblings search text, files, SQLite databases and S3 objects for every password a test knows. A place that
legitimately holds a secret is not skipped here: the test asserts each such exception by name.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

TOOLS = ("mariadb", "mariadb-backup", "mariadb-binlog", "mariadb-dump", "mariadb-install-db", "mariadbd", "mbstream",
         "mydumper", "myloader", "mysql", "tar", "zstd")  # every tool drdrill runs by its bare name
SHIM = """#!/bin/sh
out="{records}/$$.${{0##*/}}.$(date +%s%N)"
printf '%s\\0' "$0" "$@" > "$out.argv"
/bin/cat /proc/$$/environ > "$out.env"
exec {real} "$@"
"""

OPTION_FILE_ARG = re.compile(r"^--defaults(?:-extra)?-file=(.+)$")
PASSWORD_LINE = re.compile(r"^\s*password\s*=\s*(.+?)\s*$", re.MULTILINE)
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Leak:
    """One known secret (by name) found in one place."""

    secret: str
    place: str


@dataclass
class SeenProcess:
    """One process the sampler saw: every argv it showed, its environment, its parent's pid."""

    pid: int
    ppid: int
    argvs: list[tuple[str, ...]] = field(default_factory=list)
    environ: dict[str, str] = field(default_factory=dict)

    def label(self) -> str:
        first = self.argvs[0] if self.argvs else ()
        return f"pid {self.pid} ({' '.join(first)[:120]})"


@dataclass(frozen=True)
class SeenOptionFile:
    """An option file a process named in its argv, as it was when first seen (mode, owner, passwords in it)."""

    path: str
    mode: int
    uid: int
    passwords: tuple[str, ...]


class ProcessSampler(threading.Thread):
    """Every ``interval`` seconds: argv and environment of each descendant of ``root`` (kept once seen, so a
    server whose parent exits is still watched), the option files they name, and the passwords in the files
    matching ``password_files`` (globs, e.g. the scratch servers' ``admin.cnf``)."""

    def __init__(self, root: int, password_files: Iterable[str] = (), interval: float = 0.05) -> None:
        super().__init__(daemon=True, name="secret-sweep-sampler")
        self.root = root
        self.password_files = list(password_files)
        self.interval = interval
        self.processes: dict[tuple[int, float], SeenProcess] = {}
        self.option_files: dict[str, SeenOptionFile] = {}
        self.file_passwords: dict[str, str] = {}  # password -> the file it was read from
        self.ticks = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        """Stop sampling, after one last sample."""
        self._stop_event.set()
        self.join(timeout=10)
        self.sample()

    def sample(self) -> None:
        """One look at every descendant and at the password files."""
        self.ticks += 1
        try:
            current = psutil.Process(self.root).children(recursive=True)
        except psutil.Error:
            current = []
        known = {pid for pid, _ in self.processes}
        for pid in known - {process.pid for process in current}:  # reparented ones stay watched while alive
            try:
                current.append(psutil.Process(pid))
            except psutil.Error:
                pass
        for process in current:
            self._look_at(process)
        for pattern in self.password_files:
            for path in Path("/").glob(pattern.lstrip("/")):
                self._read_passwords(path)

    def _look_at(self, process: psutil.Process) -> None:
        try:
            key = (process.pid, process.create_time())
            argv = tuple(process.cmdline())
            seen = self.processes.get(key)
            if seen is None:
                seen = self.processes[key] = SeenProcess(process.pid, process.ppid())
            if not seen.argvs or seen.argvs[-1] != argv:  # new, rewritten or exec'ed: environment again too
                environ = process.environ()
                if tuple(process.cmdline()) != argv:  # exec'ed between the two reads: look again next tick
                    return
                seen.argvs.append(argv)
                seen.environ.update(environ)
        except psutil.Error:
            return
        for arg in argv:
            if (match := OPTION_FILE_ARG.match(arg)) and match.group(1) not in self.option_files:
                self._note_option_file(match.group(1))

    def _note_option_file(self, path: str) -> None:
        try:
            status = os.stat(path)
            passwords = tuple(PASSWORD_LINE.findall(Path(path).read_text(errors="replace")))
        except OSError:
            return
        self.option_files[path] = SeenOptionFile(path, status.st_mode & 0o777, status.st_uid, passwords)
        for password in passwords:
            self.file_passwords.setdefault(password, path)

    def _read_passwords(self, path: Path) -> None:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            return
        for password in PASSWORD_LINE.findall(text):
            self.file_passwords.setdefault(password, str(path))


def tool_shims(directory: Path, tools: Iterable[str] = TOOLS) -> tuple[Path, Path]:
    """A directory of shims to put first on PATH (each records its argv and environment, then execs the real tool)
    and the directory their records go to."""
    bin_dir, records = directory / "bin", directory / "records"
    bin_dir.mkdir(parents=True)
    records.mkdir()
    for tool in tools:
        real = shutil.which(tool)
        if real is None:
            continue
        shim = bin_dir / tool
        shim.write_text(SHIM.format(records=records, real=real))
        shim.chmod(0o755)
    return bin_dir, records


def shimmed_processes(records: Path) -> list[SeenProcess]:
    """What the shims recorded: one process per exec, its argv (the tool's name first) and its environment."""
    seen = []
    for argv_file in sorted(records.glob("*.argv")):
        pid = int(argv_file.name.split(".", 1)[0])
        argv = tuple(part for part in argv_file.read_bytes().decode(errors="replace").split("\0") if part)
        raw_env = argv_file.with_suffix(".env").read_bytes().decode(errors="replace")
        environ = dict(item.split("=", 1) for item in raw_env.split("\0") if "=" in item)
        seen.append(SeenProcess(pid, 0, [(Path(argv[0]).name, *argv[1:])], environ))
    return seen


def leaks_in(secrets: Mapping[str, str], place: str, data: str | bytes) -> list[Leak]:
    """Each secret (name -> value) found in ``data``; bytes are searched decompressed too (zstd, gzip)."""
    raw = data.encode(errors="replace") if isinstance(data, str) else data
    texts = [raw]
    if isinstance(data, bytes):
        texts.append(decompressed(data))
    return [Leak(name, place) for name, value in secrets.items()
            if value and any(value.encode() in text for text in texts)]


def decompressed(data: bytes) -> bytes:
    """The bytes behind a zstd or gzip stream (b"" when ``data`` is neither or does not decompress)."""
    if data.startswith(ZSTD_MAGIC):
        done = subprocess.run(["zstd", "-dcq"], input=data, capture_output=True, check=False)
        return done.stdout
    if data.startswith(GZIP_MAGIC):
        try:
            return gzip.decompress(data)
        except (OSError, EOFError):
            return b""
    return b""


def leaks_in_files(secrets: Mapping[str, str], root: Path) -> list[Leak]:
    """Leaks in every regular file below ``root`` (or in ``root`` itself)."""
    paths = [root] if root.is_file() else sorted(path for path in root.rglob("*") if path.is_file())
    leaks: list[Leak] = []
    for path in paths:
        try:
            leaks += leaks_in(secrets, str(path), path.read_bytes())
        except OSError:
            continue
    return leaks


def leaks_in_sqlite(secrets: Mapping[str, str], database: Path, place: str) -> list[Leak]:
    """Leaks in every value of every table, each named ``<place> <table>.<column> row <rowid>``."""
    leaks: list[Leak] = []
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            cursor = connection.execute(f'SELECT rowid, * FROM "{table}"')
            columns = [item[0] for item in cursor.description][1:]
            for rowid, *values in cursor:
                for column, value in zip(columns, values):
                    if isinstance(value, (str, bytes)):
                        leaks += leaks_in(secrets, f"{place} {table}.{column} row {rowid}", value)
    return leaks


def bucket_objects(client: Any, bucket: str) -> Iterator[tuple[str, bytes]]:
    """Every object of ``bucket`` as ``(s3://bucket/key, bytes)``."""
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            yield f"s3://{bucket}/{item['Key']}", client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()


def leaks_in_objects(secrets: Mapping[str, str], objects: Iterable[tuple[str, bytes]]) -> list[Leak]:
    """Leaks in each ``(place, bytes)`` (decompressed too)."""
    return [leak for place, body in objects for leak in leaks_in(secrets, place, body)]


def leaks_in_processes(secrets: Mapping[str, str], processes: Iterable[SeenProcess]) -> list[Leak]:
    """Leaks in each process's argv (every version seen) and in each variable of its environment."""
    leaks: list[Leak] = []
    for process in processes:
        for argv in process.argvs:
            leaks += leaks_in(secrets, f"argv of {process.label()}", "\0".join(argv))
        for name, value in process.environ.items():
            leaks += leaks_in(secrets, f"environment {name} of {process.label()}", value)
    return leaks
