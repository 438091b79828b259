"""What one binlog file holds, read from ``mariadb-binlog``'s text output: GTIDs per domain, Gtid_list, event times,
and account statements with a clear-text password (``clear_passwords``)."""

from __future__ import annotations

import hashlib
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from drdrill.errors import ToolError
from drdrill.servers.gtid import parse_gtid_position
from drdrill.storage.binlog.clear_passwords import ClearPassword, ClearPasswordScanner
from drdrill.toolenv import tool_environment

MARIADB_BINLOG = "mariadb-binlog"
HASH_BLOCK = 1024 * 1024

# ``#261121  8:28:48 server id 1  end_log_pos 1534 CRC32 0x374a6897 \tGTID 0-1-7 trans`` (CRC32 absent
# when binlog_checksum=NONE). The time is in the decoding process's time zone: we decode with TZ=UTC.
_EVENT_HEADER = re.compile(
    rb"^#(\d{6})\s+(\d{1,2}):(\d{2}):(\d{2})\s+server id\s+\d+\s+end_log_pos\s+\d+\s+"
    rb"(?:CRC32\s+0x[0-9a-fA-F]+\s+)?(.*)$"
)
_GTID_EVENT = re.compile(rb"^GTID\s+(\d+)-(\d+)-(\d+)\b")
_GTID_LIST_EVENT = re.compile(rb"^Gtid list\s*\[(.*)$")


@dataclass
class BinlogSummary:
    """What decoding one binlog file found: GTID range per domain, event time range, clear-text passwords."""

    first: dict[int, tuple[int, int]]
    last: dict[int, tuple[int, int]]
    start: dict[int, tuple[int, int]]
    first_event_at: datetime | None
    last_event_at: datetime | None
    events: int
    clear_passwords: list[ClearPassword] = field(default_factory=list)

    @property
    def end(self) -> dict[int, tuple[int, int]]:
        """The server's GTID position after this file: the start position advanced by this file's GTIDs."""
        return {**self.start, **self.last}


def summarize_decoded_binlog(lines: Iterable[bytes]) -> BinlogSummary:
    """Read ``mariadb-binlog`` text output (decoded with TZ=UTC): GTIDs per domain, Gtid_list, event times.

    Only event header lines count (``#YYMMDD HH:MM:SS server id …``), so statement text, ``#Q>``
    annotations and base64 row images cannot be mistaken for events.
    """
    summary = BinlogSummary({}, {}, {}, None, None, 0)
    scanner = ClearPasswordScanner()
    gtid_list: bytearray | None = None
    for line in lines:
        scanner.feed(line)
        if not line.startswith(b"#"):
            continue
        line = line.rstrip(b"\r\n")
        if gtid_list is not None:  # a Gtid list continues on lines like "# 3-1-2,"
            gtid_list += line.lstrip(b"# ")
            if b"]" in line:
                _read_gtid_list(summary, bytes(gtid_list))
                gtid_list = None
            continue
        header = _EVENT_HEADER.match(line)
        if not header:
            continue
        day, hour, minute, second, body = header.groups()
        at = datetime.strptime(f"{day.decode()} {int(hour):02d}:{minute.decode()}:{second.decode()}",
                               "%y%m%d %H:%M:%S").replace(tzinfo=timezone.utc)
        summary.events += 1
        if summary.first_event_at is None or at < summary.first_event_at:
            summary.first_event_at = at
        if summary.last_event_at is None or at > summary.last_event_at:
            summary.last_event_at = at
        if gtid := _GTID_EVENT.match(body):
            domain, server, seq = (int(group) for group in gtid.groups())
            summary.first.setdefault(domain, (server, seq))
            summary.last[domain] = (server, seq)
        elif listed := _GTID_LIST_EVENT.match(body):
            gtid_list = bytearray(listed.group(1))
            if b"]" in body:
                _read_gtid_list(summary, bytes(gtid_list))
                gtid_list = None
    summary.clear_passwords = scanner.finish()
    return summary


def _read_gtid_list(summary: BinlogSummary, text: bytes) -> None:
    """The first Gtid_list event of a file is the server's GTID state when the file began."""
    if not summary.start:
        summary.start = parse_gtid_position(text.split(b"]")[0].decode())


def decode_binlog_file(path: Path, stderr_path: Path) -> BinlogSummary:
    """Decode a local binlog file with ``mariadb-binlog`` (TZ=UTC, no option files) and summarize it."""
    env = {**tool_environment(), "TZ": "UTC"}
    with open(stderr_path, "wb") as stderr_file:
        process = subprocess.Popen([MARIADB_BINLOG, "--no-defaults", str(path)], stdout=subprocess.PIPE,
                                   stderr=stderr_file, env=env)
        assert process.stdout is not None
        try:
            summary = summarize_decoded_binlog(process.stdout)
        finally:
            process.stdout.close()
            process.wait()
    if process.returncode != 0:
        raise ToolError(f"{MARIADB_BINLOG} could not decode {path.name} (exit {process.returncode}): "
                        f"{stderr_path.read_text(errors='replace').strip()[-2000:] or 'no message'}",
                        "The file on the source is damaged or not a binlog; check the source's error log.")
    return summary


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()
