"""Continuous binlog shipping for a sub-minute RPO, into the same archive that ``archive_closed_binlogs`` fills.

A supervised ``mariadb-binlog --read-from-remote-server --raw --stop-never`` child copies the source's
binlog files byte for byte into a spool as they are written. A spooled file is complete once the
server has moved on (the next file appears beside it); complete files are archived exactly like
``archive_closed_binlogs`` archives them (object first, then the index entry) and deleted. The file
being written is never uploaded.

``mariadb-binlog --stop-never`` exits when its server goes away and never reconnects, so the
supervisor restarts it with backoff. It has no heartbeat either: when the connection silently dies
(packets lost, no reset) it waits forever, so a child whose spool has not grown for ``stall_timeout``
seconds while the source's binlog position is beyond what was spooled is killed and restarted. Each
start re-resolves the source (after a failover that is the new primary, whose files go under its own
server key) and resumes at the source's first file without an index entry: a partially streamed file
is fetched again from its start, and a file that has an index entry is never uploaded again (the
index decides). A TLS login whose certificate does not verify (PyMySQL's or the child's) is not retried:
``TLSFailed`` ends the streamer.

Spool layout (the directory is private, 0700)::

    <spool>/.lock                      held while a streamer uses the spool
    <spool>/mariadb-binlog.pid         the running child, so a killed streamer's orphan can be ended
    <spool>/<server_key>/mysql-bin.N   what mariadb-binlog writes
    <spool>/.session-*/                option file (0600) and tool logs of one child run

``drdrill stream shop`` runs it for a configured target (``drdrill.drills.archive.stream``); SIGTERM or
SIGINT stop it cleanly.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from drdrill.endpoints import MySQLEndpoint, tls_verify_failed
from drdrill.errors import DrdrillError, TLSFailed
from drdrill.servers.identity import read_identity
from drdrill.storage.binlog.archive import archive_binlog_file, binary_logs, purged_before_archiving
from drdrill.storage.binlog.decode import MARIADB_BINLOG
from drdrill.storage.binlog.index import ArchivedBinlog, indexed_files
from drdrill.storage.binlog.layout import BinlogLayout
from drdrill.storage.binlog.names import server_key, split_binlog_name
from drdrill.storage.layout import TargetLayout
from drdrill.storage.objectstore import ObjectStore
from drdrill.toolenv import tool_environment

log = logging.getLogger(__name__)

LOCK_FILE = ".lock"
CHILD_PID_FILE = "mariadb-binlog.pid"
SESSION_PREFIX = ".session-"
CHILD_STOP_SECONDS = 5.0
HEALTHY_SESSION_SECONDS = 10.0
EVENT_HEADER_BYTES = 19
BINLOG_MAGIC = b"\xfebin"
# Replica server ids the streamer picks from when none is given: high, so they do not collide with real servers.
REPLICA_SERVER_ID_BASE = 4_000_000_000
REPLICA_SERVER_ID_SPAN = 290_000_000
_SERVER_KEY = re.compile(r"^\d+-[0-9a-f]{8}$")  # what server_key() returns; only such spool folders are touched


class StreamerError(DrdrillError):
    """The streamer cannot run (spool in use, binary logging off on the source)."""


@dataclass
class StreamerStatus:
    """What the streamer is doing; updated as it goes, readable from another thread."""

    source: str | None = None
    server_key: str | None = None
    streaming_file: str | None = None
    streaming_bytes: int = 0
    uploaded: list[str] = field(default_factory=list)
    already_archived: list[str] = field(default_factory=list)
    starts: int = 0
    restarts: int = 0
    stall_restarts: int = 0
    rotations: int = 0
    last_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``uploaded``/``already_archived`` hold ``<server_key>/<file>``)."""
        return asdict(self)


def default_replica_server_id(spool_dir: Path) -> int:
    """A stable server id for this host and spool: a restarted streamer replaces its own stale dump connection."""
    where = f"{socket.gethostname()}:{spool_dir.resolve()}"
    return REPLICA_SERVER_ID_BASE + zlib.crc32(where.encode()) % REPLICA_SERVER_ID_SPAN


def run_streamer(
    get_source: Callable[[], MySQLEndpoint],
    store: ObjectStore,
    layout: BinlogLayout | TargetLayout,
    *,
    spool_dir: Path,
    stop: threading.Event,
    poll_interval: float = 1.0,
    replica_server_id: int | None = None,
    recheck_interval: float = 30.0,
    initial_backoff: float = 0.5,
    max_backoff: float = 30.0,
    stall_timeout: float = 30.0,
    rotate_interval: float | None = 30.0,
    status: StreamerStatus | None = None,
) -> StreamerStatus:
    """Stream the source's binlogs into the archive until ``stop`` is set; returns what was done.

    ``get_source`` is called at every (re)start and every ``recheck_interval`` seconds: when it names
    another server (or the same address now reaches another server), the streamer switches to it.
    Failed starts back off from ``initial_backoff`` to ``max_backoff`` seconds. A child whose spool has
    not grown for ``stall_timeout`` seconds while the source has written more is treated as hung and
    restarted (an idle source never is). Only complete files are archived, so every ``rotate_interval``
    seconds the streamer rotates the source's binlog (``FLUSH BINARY LOGS``, RELOAD privilege) when the
    source wrote since the last rotation: the archive then trails the source by about that interval,
    whatever the file size (None turns this off; an idle source is never rotated). Pass ``status`` to
    watch progress from another thread.
    """
    binlog_layout = BinlogLayout.of(layout)
    status = status if status is not None else StreamerStatus()
    spool = Path(spool_dir)
    spool.mkdir(parents=True, exist_ok=True)
    spool.chmod(0o700)
    spool = spool.resolve()  # the orphan check compares it with the child's command line
    server_id = replica_server_id or default_replica_server_id(spool)
    with _spool_lock(spool):
        _end_orphaned_child(spool)
        for stale in spool.glob(f"{SESSION_PREFIX}*"):
            shutil.rmtree(stale, ignore_errors=True)
        failures = 0
        while not stop.is_set():
            session = _Session(get_source, store, binlog_layout, spool, server_id, status)
            try:
                healthy = session.run(stop, poll_interval, recheck_interval, stall_timeout, rotate_interval)
            except TLSFailed:  # a certificate that does not verify is the configuration's: retrying hides it
                raise
            except Exception as exc:  # any other failure: restart, never give up while asked to run
                status.last_error = str(exc)
                log.warning("binlog streaming from %s failed: %s", session.describe(), exc)
                healthy = False
            if stop.is_set():
                break
            failures = 0 if healthy else failures + 1
            delay = min(max_backoff, initial_backoff * 2 ** failures)
            status.restarts += 1
            log.info("restarting binlog streaming in %.1f s (restart %d)", delay, status.restarts)
            stop.wait(delay)
    log.info("binlog streamer stopped: %d file(s) archived, %d restart(s)", len(status.uploaded), status.restarts)
    return status


class _Session:
    """One run of the mariadb-binlog child against one server, and the archiving of what it completes."""

    def __init__(self, get_source: Callable[[], MySQLEndpoint], store: ObjectStore, layout: BinlogLayout,
                 spool: Path, replica_server_id: int, status: StreamerStatus) -> None:
        self.get_source = get_source
        self.store = store
        self.layout = layout
        self.spool = spool
        self.replica_server_id = replica_server_id
        self.status = status
        self.source: MySQLEndpoint | None = None
        self.key = ""
        self.server_id = 0
        self.shipped_any = False
        self.reported_file: str | None = None

    def describe(self) -> str:
        """Secret-free label of the source, once known."""
        if self.source is None:
            return "the source"
        return f"{self.source.describe()} ({self.key})" if self.key else self.source.describe()

    def run(self, stop: threading.Event, poll_interval: float, recheck_interval: float,
            stall_timeout: float, rotate_interval: float | None = None) -> bool:
        """Stream until the child exits, the source changes or ``stop``; True when the run was healthy."""
        began = time.monotonic()
        self.source = self.get_source()
        identity = read_identity(self.source)
        self.key, self.server_id = server_key(identity), identity.server_id
        self.status.source, self.status.server_key = self.source.describe(), self.key
        self._ship_leftovers()
        on_source = binary_logs(self.source)
        if not on_source:
            raise StreamerError(f"{self.source.describe()} lists no binary logs.",
                                "Turn on binary logging (log_bin) on the source; there is nothing to stream.")
        indexed = set(indexed_files(self.store, self.layout, self.key))
        for finding in purged_before_archiving(self.store, self.layout, self.key, indexed, on_source):
            log.warning("%s", finding.message)
        first = next((file for file, _ in on_source if file not in indexed), on_source[-1][0])
        spool = self.spool / self.key
        shutil.rmtree(spool, ignore_errors=True)  # a partial copy is fetched again from its start
        spool.mkdir(mode=0o700)
        work = Path(tempfile.mkdtemp(prefix=SESSION_PREFIX, dir=self.spool))
        try:
            with self.source.option_file(directory=work) as option_file:
                child = self._start_child(option_file, spool, first, work)
                try:
                    outcome = self._follow(child, spool, work, stop, poll_interval, recheck_interval,
                                           stall_timeout, rotate_interval)
                finally:
                    _stop_child(child)
                    (self.spool / CHILD_PID_FILE).unlink(missing_ok=True)
            self._ship_complete(spool, work)  # what completed while the child stopped
            return outcome or self.shipped_any or time.monotonic() - began >= HEALTHY_SESSION_SECONDS
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _start_child(self, option_file: Path, spool: Path, first: str, work: Path) -> subprocess.Popen[bytes]:
        argv = [MARIADB_BINLOG, f"--defaults-extra-file={option_file}", "--read-from-remote-server", "--raw",
                "--stop-never", f"--stop-never-slave-server-id={self.replica_server_id}",
                f"--result-file={spool}/", first]
        with open(work / "mariadb-binlog.stream.stderr.log", "wb") as stderr:
            child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                                     env=tool_environment(), start_new_session=True)
        (self.spool / CHILD_PID_FILE).write_text(str(child.pid))
        self.status.starts += 1
        log.info("streaming binlogs of %s from %s on (mariadb-binlog pid %d, replica server id %d)",
                 self.describe(), first, child.pid, self.replica_server_id)
        return child

    def _follow(self, child: subprocess.Popen[bytes], spool: Path, work: Path, stop: threading.Event,
                poll_interval: float, recheck_interval: float, stall_timeout: float,
                rotate_interval: float | None = None) -> bool:
        """Archive files as they complete; returns True when the source changed (a healthy end)."""
        next_recheck = time.monotonic() + recheck_interval
        next_rotation = time.monotonic() + rotate_interval if rotate_interval else None
        rotated_at = self._source_gtid_position()
        spooled: tuple[str, int] | None = None
        grew = time.monotonic()
        while True:
            exited = child.poll()
            self._ship_complete(spool, work)
            now_spooled = self._report_progress(spool)
            if now_spooled != spooled:
                spooled, grew = now_spooled, time.monotonic()
            if exited is not None:
                tail = (work / "mariadb-binlog.stream.stderr.log").read_text(errors="replace").strip()[-500:]
                log.warning("mariadb-binlog streaming from %s exited with %d: %s", self.describe(), exited,
                            tail or "no message")
                self.status.last_error = tail or f"mariadb-binlog exited with {exited}"
                if self.source is not None and self.source.tls and tls_verify_failed(tail):
                    raise self.source.verify_failure(f"{MARIADB_BINLOG}: {tail}")
                return False
            if stop.is_set():
                return False
            if time.monotonic() >= next_recheck:
                next_recheck = time.monotonic() + recheck_interval
                if self._source_changed():
                    return True
            if next_rotation is not None and rotate_interval and time.monotonic() >= next_rotation:
                next_rotation = time.monotonic() + rotate_interval
                rotated_at = self._rotate_if_written(rotated_at)
            if time.monotonic() - grew >= stall_timeout:
                position = self._source_position()
                if position is not None and _is_beyond(position, spooled):
                    self._end_stalled_child(child, spooled, position, time.monotonic() - grew)
                    return False
                grew = time.monotonic()  # idle source, or it cannot be asked: look again after another timeout
            stop.wait(poll_interval)

    def _source_gtid_position(self) -> str | None:
        """``@@gtid_binlog_pos``: it moves with transactions only (not with rotation or checkpoint events)."""
        try:
            return str(self.source.fetch_all("SELECT @@gtid_binlog_pos")[0][0]) if self.source is not None else None
        except Exception as exc:
            log.debug("reading @@gtid_binlog_pos failed: %s", exc)
            return None

    def _rotate_if_written(self, rotated_at: str | None) -> str | None:
        """Close the source's current binlog when transactions were written since the last rotation."""
        position = self._source_gtid_position()
        if position is None or position == rotated_at or self.source is None:
            return rotated_at
        try:
            self.source.fetch_all("FLUSH BINARY LOGS")
        except Exception as exc:  # no RELOAD privilege, or the source went away: files complete on their own
            log.warning("cannot rotate the binlog of %s: %s", self.describe(), exc)
            return rotated_at
        self.status.rotations += 1
        return position

    def _source_position(self) -> tuple[str, int] | None:
        """The source's current binlog file and position, or None when it cannot be asked."""
        try:
            rows = self.source.fetch_all("SHOW MASTER STATUS") if self.source is not None else []
        except Exception as exc:  # the source is down: the child exits on its own and is restarted then
            log.debug("SHOW MASTER STATUS failed: %s", exc)
            return None
        return (str(rows[0][0]), int(rows[0][1])) if rows else None

    def _end_stalled_child(self, child: subprocess.Popen[bytes], spooled: tuple[str, int] | None,
                           position: tuple[str, int], idle: float) -> None:
        """Kill a hung child (SIGKILL: a stopped process ignores SIGTERM) so the restart path resumes."""
        at = f"{spooled[0]}:{spooled[1]}" if spooled else "nothing"
        message = (f"mariadb-binlog streaming from {self.describe()} stalled: the spool holds {at} and has not "
                   f"grown for {idle:.1f} s while the source is at {position[0]}:{position[1]}")
        log.warning("%s; killing pid %d and restarting", message, child.pid)
        child.kill()
        child.wait()
        self.status.stall_restarts += 1
        self.status.last_error = message

    def _source_changed(self) -> bool:
        """True when ``get_source`` now names another endpoint or the endpoint reaches another server."""
        try:
            source = self.get_source()
            key = self.key if source == self.source else server_key(read_identity(source))
        except Exception as exc:  # the running child is the judge of the current source's health
            log.debug("re-resolving the source failed: %s", exc)
            return False
        if source == self.source and key == self.key:
            return False
        log.info("the source is now %s (%s); switching from %s", source.describe(), key, self.describe())
        return True

    def _report_progress(self, spool: Path) -> tuple[str, int] | None:
        """Publish the file being streamed and its size; returns them (None while the spool is empty)."""
        files = _spooled_files(spool)
        if not files:
            return None
        current = files[-1]
        if current.name != self.reported_file:
            log.info("streaming %s/%s", self.key, current.name)
            self.reported_file = current.name
        self.status.streaming_file = current.name
        with contextlib.suppress(FileNotFoundError):
            self.status.streaming_bytes = current.stat().st_size
        return current.name, self.status.streaming_bytes

    def _ship_complete(self, spool: Path, work: Path) -> None:
        """Archive every spooled file that has a successor (the server moved on), then delete it."""
        complete = _spooled_files(spool)[:-1]
        if not complete:
            return
        listed = _listed_sizes(self.source)
        for path in complete:
            expected = listed.get(path.name) if listed is not None else None
            if listed is not None and path.name in listed and expected != path.stat().st_size:
                raise StreamerError(f"Streamed {path.name} is {path.stat().st_size} bytes but {self.describe()} "
                                    f"lists it as {expected} bytes.",
                                    "The copy is discarded and streamed again from the file's start.")
            self._ship(path, work, expected)

    def _ship_leftovers(self) -> None:
        """Archive complete files a previous session of another server left behind, then drop its spool."""
        for spool in sorted(path for path in self.spool.iterdir() if path.is_dir()
                            and _SERVER_KEY.match(path.name) and path.name != self.key):
            with tempfile.TemporaryDirectory(prefix=SESSION_PREFIX, dir=self.spool) as work:
                for path in _spooled_files(spool)[:-1]:
                    if _ends_on_event_boundary(path):
                        self._ship(path, Path(work), None, key=spool.name)
                    else:
                        log.warning("dropping %s/%s left in the spool: it does not end on an event boundary",
                                    spool.name, path.name)
            shutil.rmtree(spool, ignore_errors=True)

    def _ship(self, path: Path, work: Path, expected_size: int | None, key: str | None = None) -> None:
        key = key or self.key
        label = f"{key}/{path.name}"
        index_key = self.layout.index_key(key, path.name)
        raw = self.store.get_bytes(index_key)
        if raw is not None:  # the index decides: never upload a file twice
            entry = ArchivedBinlog.from_json(raw, where=index_key)
            if entry.raw_size != path.stat().st_size:
                log.error("%s is already archived with %d bytes but was streamed with %d bytes: the source's "
                          "binlog history no longer matches the archive (RESET MASTER?); the archived copy "
                          "is kept", label, entry.raw_size, path.stat().st_size)
            self.status.already_archived.append(label)
            path.unlink()
            return
        if not _ends_on_event_boundary(path):
            raise StreamerError(f"Streamed {label} does not end on an event boundary.",
                                "The copy is discarded and streamed again from the file's start.")
        server_id = self.server_id if key == self.key else int(key.split("-", 1)[0])
        entry = archive_binlog_file(path, self.store, self.layout, key, server_id, expected_size=expected_size,
                                    work_dir=work)
        path.unlink()
        self.shipped_any = True
        self.status.uploaded.append(label)
        log.info("archived %s (%d bytes, GTIDs %s to %s)", label, entry.raw_size, entry.first_gtid or "-",
                 entry.last_gtid or "-")


# -- helpers ---------------------------------------------------------------------------------------


def _listed_sizes(source: MySQLEndpoint | None) -> dict[str, int] | None:
    """The source's files and sizes, or None when it cannot be asked (it died: the spool order decides)."""
    if source is None:
        return None
    try:
        return dict(binary_logs(source))
    except Exception as exc:
        log.debug("SHOW BINARY LOGS failed: %s", exc)
        return None


def _is_beyond(position: tuple[str, int], spooled: tuple[str, int] | None) -> bool:
    """True when the source's (file, position) is past the spooled (file, size): the child is behind."""
    if spooled is None:
        return True
    try:
        return (split_binlog_name(position[0])[1], position[1]) > (split_binlog_name(spooled[0])[1], spooled[1])
    except ValueError:
        return False


def _spooled_files(spool: Path) -> list[Path]:
    """Binlog files in a spool directory, oldest first (one base name per server)."""
    found = []
    for path in spool.glob("*") if spool.is_dir() else []:
        try:
            _, number, _ = split_binlog_name(path.name)
        except ValueError:
            continue
        found.append((number, path))
    return [path for _, path in sorted(found)]


def _ends_on_event_boundary(path: Path) -> bool:
    """True when the file is a binlog whose events, walked by their length fields, end exactly at its end."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        if handle.read(len(BINLOG_MAGIC)) != BINLOG_MAGIC:
            return False
        position = len(BINLOG_MAGIC)
        while position < size:
            handle.seek(position)
            header = handle.read(EVENT_HEADER_BYTES)
            if len(header) < EVENT_HEADER_BYTES:
                return False
            length = int.from_bytes(header[9:13], "little")
            if length < EVENT_HEADER_BYTES:
                return False
            position += length
    return position == size


def _stop_child(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(CHILD_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def _end_orphaned_child(spool: Path) -> None:
    """A killed streamer leaves its mariadb-binlog writing into the spool: end it before starting another."""
    pid_file = spool / CHILD_PID_FILE
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        cmdline = []
    if any(arg.startswith(f"--result-file={spool}/".encode()) for arg in cmdline):
        log.warning("ending mariadb-binlog pid %d left behind by a streamer that did not stop cleanly", pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + CHILD_STOP_SECONDS
        while time.monotonic() < deadline:
            try:
                if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
                    break
            except OSError:  # gone
                break
            time.sleep(0.05)
    pid_file.unlink(missing_ok=True)


@contextlib.contextmanager
def _spool_lock(spool: Path) -> Iterator[None]:
    with open(spool / LOCK_FILE, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StreamerError(f"Another binlog streamer is using the spool {spool}.",
                                "Run one streamer per target, or give this one its own spool directory.") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
