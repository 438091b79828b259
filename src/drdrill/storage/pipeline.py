"""Run a tool and stream its output through zstd into S3, hashing on the way; nothing is staged on disk.

With the store's ``client_key`` (the target's client-side encryption) the compressed stream is encrypted between
zstd and the upload (``drdrill.storage.client_encryption``) and the result says so.
"""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

from drdrill.errors import ToolError, ToolStalled
from drdrill.progress import ProgressLog
from drdrill.storage.client_encryption import encrypt_stream
from drdrill.storage.objectstore import PART_SIZE, ObjectStore, UploadResult
from drdrill.toolenv import tool_environment

READ_SIZE = 1024 * 1024
EDGE_BYTES = 64 * 1024
STDERR_TAIL_BYTES = 16 * 1024
# Seconds a tool that reads from a server may produce nothing before it is stopped as stalled: a network partition
# drops packets without a reset, and the MariaDB tools have no read timeout of their own. Long enough for their
# silent phases (FLUSH TABLES WITH READ LOCK waiting for a long query, mariabackup's final lock stages).
STALL_TIMEOUT = 600.0
ZSTD_SIZES = re.compile(r"\(\s*(\d+) B =>\s*\d+ B")  # zstd -vv's summary: "(read B => written B, ...)"


class StallWatchdog:
    """Kills ``process`` when ``progress()`` (bytes written, say) has not changed for ``stall_timeout`` seconds."""

    def __init__(self, process: subprocess.Popen[bytes], progress: Callable[[], int], stall_timeout: float | None,
                 poll_interval: float = 0.2) -> None:
        self.stalled_after: float | None = None
        self._process, self._progress, self._timeout, self._interval = process, progress, stall_timeout, poll_interval
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="drdrill-stall-watchdog", daemon=True)

    def __enter__(self) -> StallWatchdog:
        if self._timeout is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        if self._thread.ident is not None:
            self._thread.join()

    def raise_if_stalled(self, what: str) -> None:
        """ToolStalled naming ``what`` when the watchdog stopped the process."""
        if self.stalled_after is not None:
            raise ToolStalled(
                f"{what} produced nothing for {self.stalled_after:.0f} s and was stopped: its connection to the "
                "server stalled (a network partition drops packets without a reset) or the server stopped answering.",
                "Check the network path from this worker to the server and the server's error log, then re-run.")

    def _watch(self) -> None:
        assert self._timeout is not None
        last, since = self._progress(), time.monotonic()
        while not self._done.wait(self._interval) and self._process.poll() is None:
            now, current = time.monotonic(), self._progress()
            if current != last:
                last, since = current, now
            elif now - since >= self._timeout:
                self.stalled_after = now - since
                self._process.kill()
                return


@dataclass(frozen=True)
class ToolOutcome:
    """How the producing tool ended and what it said: enough for an engine to classify the result."""

    argv0: str
    returncode: int
    stderr_tail: str
    stderr_path: Path
    raw_bytes: int
    head: bytes
    tail: bytes


@dataclass(frozen=True)
class StreamedObject:
    """A tool's output as stored: the upload and the tool's outcome."""

    upload: UploadResult
    outcome: ToolOutcome


class Tap:
    """Counts the raw bytes and keeps the first and last few KiB for trailer and header checks; ``observe`` sees
    every chunk, in order."""

    def __init__(self, observe: Callable[[bytes], object] | None = None) -> None:
        self.count = 0
        self.head = bytearray()
        self.tail = bytearray()
        self.observe = observe

    def feed(self, chunk: bytes) -> None:
        self.count += len(chunk)
        if self.observe is not None:
            self.observe(chunk)
        if len(self.head) < EDGE_BYTES:
            self.head += chunk[: EDGE_BYTES - len(self.head)]
        self.tail += chunk
        if len(self.tail) > EDGE_BYTES:
            del self.tail[: len(self.tail) - EDGE_BYTES]


def run_watched(argv: Sequence[str], *, stdout: Any, stderr: Any, progress: Callable[[], int],
                stall_timeout: float | None) -> int:
    """Run a tool that writes files to its end, its return code; ToolStalled when ``progress()`` (the bytes it
    wrote) stands still for ``stall_timeout`` seconds."""
    process = subprocess.Popen(list(argv), stdout=stdout, stderr=stderr, env=tool_environment())
    with StallWatchdog(process, progress, stall_timeout) as watchdog, ProgressLog(Path(argv[0]).name, progress):
        try:
            process.wait()
        except BaseException:
            process.kill()
            process.wait()
            raise
    watchdog.raise_if_stalled(argv[0])
    return process.returncode


def bytes_below(path: Path) -> int:
    """The size of the files below ``path`` (0 while it does not exist): a file-writing tool's progress."""
    return sum(entry.stat().st_size for entry in path.rglob("*") if entry.is_file()) if path.exists() else 0


def zstd_argv(level: int, threads: int, report_size: bool = False) -> list[str]:
    """The compressor command: zstd to stdout, multi-threaded, quiet (``report_size``: its last message says the
    exact bytes it read, ``(N B => M B, ...)``, and nothing else is verbose enough to matter)."""
    return ["zstd", *(["-vv", "--no-progress"] if report_size else ["-q"]), "-c", f"-{level}", f"-T{threads}"]


def zstd_input_bytes(messages: str) -> int | None:
    """The bytes zstd read, from its ``report_size`` messages; None when it did not say."""
    found = ZSTD_SIZES.findall(messages)
    return int(found[-1]) if found else None


def bytes_read_by(pid: int) -> Callable[[], int]:
    """A running process's progress as the bytes it has read (``rchar`` of /proc/<pid>/io; the last value seen
    once the process is gone)."""
    path, last = Path(f"/proc/{pid}/io"), [0]

    def read() -> int:
        with contextlib.suppress(OSError, ValueError, IndexError):
            last[0] = next(int(line.split()[1]) for line in path.read_text().splitlines() if line.startswith("rchar:"))
        return last[0]

    return read


def stream_command_to_s3(
    argv: Sequence[str],
    store: ObjectStore,
    key: str,
    *,
    stderr_path: Path,
    cwd: Path | None = None,
    compression_level: int = 3,
    threads: int = 2,
    part_size: int = PART_SIZE,
    stall_timeout: float | None = STALL_TIMEOUT,
    keep_edges: bool = False,
    observe: Callable[[bytes], object] | None = None,
) -> StreamedObject:
    """Stream ``argv``'s stdout, zstd-compressed, to ``s3://bucket/key``.

    The tool writes straight into zstd through an OS pipe and zstd reports how many bytes it read, so no byte
    of the raw output passes through Python. ``keep_edges`` (for a tool whose completion signal is in its output,
    mariadb-dump's trailer) copies the output through a tap in this process instead, which counts it and keeps
    its first and last few KiB for the caller (``ToolOutcome.head``/``tail``, empty otherwise); ``observe`` (a
    scanner of the raw output) is given every chunk on the same tap.

    The S3 object is completed only if both the tool and zstd exit 0; otherwise the upload is
    aborted and a ToolError carries the tool's stderr tail (ToolStalled when the tool wrote nothing
    for ``stall_timeout`` seconds and was stopped). The caller classifies what the tool said
    (trailers, positions) from the returned outcome.
    """
    stderr_path.parent.mkdir(parents=True, exist_ok=True)
    tap = Tap(observe)
    keep_edges = keep_edges or observe is not None
    with open(stderr_path, "wb") as stderr_file:
        producer = subprocess.Popen(
            list(argv), stdout=subprocess.PIPE, stderr=stderr_file, cwd=cwd, env=tool_environment()
        )
        compressor = subprocess.Popen(
            zstd_argv(compression_level, threads, report_size=not keep_edges),
            stdin=subprocess.PIPE if keep_edges else producer.stdout,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=tool_environment(),
        )
        pump_error: list[BaseException] = []
        copier = threading.Thread(target=pump, args=(producer, compressor, tap, pump_error), name="drdrill-pump",
                                  daemon=True) if keep_edges else None
        if copier is not None:
            copier.start()
            progress = lambda: tap.count  # noqa: E731
        else:
            assert producer.stdout is not None
            producer.stdout.close()  # zstd holds the read end; a dead zstd makes the tool's writes fail
            progress = bytes_read_by(compressor.pid)
        watchdog = StallWatchdog(producer, progress, stall_timeout)

        def tool_succeeded() -> None:
            if copier is not None:
                copier.join()
            producer.wait()
            compressor.wait()
            watchdog.raise_if_stalled(argv[0])
            if producer.returncode != 0:
                raise ToolError(
                    f"{argv[0]} exited with code {producer.returncode}: {_tail(stderr_path) or 'no message'}",
                    "See the tool's message above; the partial upload was discarded.",
                )
            messages = compressor.stderr.read().decode(errors="replace") if compressor.stderr else ""
            if compressor.returncode != 0 or pump_error:
                raise ToolError(
                    f"Compressing {argv[0]}'s output failed: {messages.strip()[-2000:] or pump_error}",
                    "Check free memory and that zstd is installed; the partial upload was discarded.",
                )
            if copier is None:
                if (read := zstd_input_bytes(messages)) is None:
                    raise ToolError(f"zstd did not say how many bytes of {argv[0]}'s output it compressed: "
                                    f"{messages.strip()[-500:] or 'no message'}",
                                    "Check the zstd version (1.4 or later reports it with -vv); nothing was stored.")
                tap.count = read

        assert compressor.stdout is not None
        out = compressor.stdout
        try:
            with watchdog, ProgressLog(f"{Path(argv[0]).name} to {key.rsplit('/', 1)[-1]}", progress):
                upload = upload_compressed(store, key, iter(lambda: out.read(READ_SIZE), b""), part_size=part_size,
                                           before_complete=tool_succeeded)
        except BaseException:
            for process in (producer, compressor):
                if process.poll() is None:
                    process.kill()
            if copier is not None:
                copier.join(timeout=30)
            producer.wait()
            compressor.wait()
            raise
    outcome = ToolOutcome(
        argv0=argv[0],
        returncode=producer.returncode,
        stderr_tail=_tail(stderr_path),
        stderr_path=stderr_path,
        raw_bytes=tap.count,
        head=bytes(tap.head),
        tail=bytes(tap.tail),
    )
    return StreamedObject(upload=upload, outcome=outcome)


def stream_bytes_to_s3(data: bytes, store: ObjectStore, key: str, *, compression_level: int = 3, threads: int = 2,
                       part_size: int = PART_SIZE) -> UploadResult:
    """Store ``data`` made in this process (small: an accounts script) zstd-compressed and hashed at ``key``.

    The object appears only when zstd exited 0; its message never quotes ``data``.
    """
    compressed = subprocess.run(zstd_argv(compression_level, threads), input=data, capture_output=True,
                                env=tool_environment(), check=False)
    if compressed.returncode != 0:
        raise ToolError(f"Compressing {key.rsplit('/', 1)[-1]} failed: zstd exited with code {compressed.returncode}.",
                        "Check free memory and that zstd is installed; nothing was stored.")
    return upload_compressed(store, key, [compressed.stdout], part_size=part_size)


def upload_compressed(store: ObjectStore, key: str, chunks: Iterable[bytes], *, part_size: int = PART_SIZE,
                      before_complete: Callable[[], None] | None = None) -> UploadResult:
    """``store.upload_stream`` of zstd output, encrypted on the way with the store's client-side key if it has one."""
    if store.client_key is None:
        return store.upload_stream(key, chunks, part_size=part_size, before_complete=before_complete)
    upload = store.upload_stream(key, encrypt_stream(chunks, store.client_key), part_size=part_size,
                                 before_complete=before_complete)
    return replace(upload, encryption={**upload.encryption, **store.client_key.describe()})


def pump(
    producer: subprocess.Popen[bytes], compressor: subprocess.Popen[bytes], tap: Tap, errors: list[BaseException]
) -> None:
    """Copy one process's stdout into another's stdin through the tap; kill the producer if the consumer dies."""
    assert producer.stdout is not None and compressor.stdin is not None
    source = cast(io.BufferedReader, producer.stdout)
    try:
        while chunk := source.read1(READ_SIZE):
            tap.feed(chunk)
            compressor.stdin.write(chunk)
    except BaseException as exc:  # a dead compressor: stop the producer too
        errors.append(exc)
        producer.kill()
    finally:
        try:
            compressor.stdin.close()
        except BrokenPipeError:
            pass


def _tail(path: Path) -> str:
    """The last few KiB of a log file as text."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - STDERR_TAIL_BYTES))
            return handle.read().decode(errors="replace").strip()
    except FileNotFoundError:
        return ""
