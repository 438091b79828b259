"""Binlog file names (``mysql-bin.000042``) and the server key that names one server's archive folder."""

from __future__ import annotations

import hashlib
import re

from drdrill.servers.identity import ServerIdentity

BINLOG_FILE = re.compile(r"^(?P<base>.+)\.(?P<number>\d+)$")


def server_key(identity: ServerIdentity) -> str:
    """``<server_id>-<8 hex of sha256(hostname:port:datadir)>``: one archive folder per server, new after a failover."""
    where = f"{identity.hostname}:{identity.port}:{identity.datadir.rstrip('/')}"
    return f"{identity.server_id}-{hashlib.sha256(where.encode()).hexdigest()[:8]}"


def split_binlog_name(file: str) -> tuple[str, int, int]:
    """``mysql-bin.000042`` → ``("mysql-bin", 42, 6)`` (base name, number, digits)."""
    match = BINLOG_FILE.match(file)
    if not match:
        raise ValueError(f"{file!r} is not a binlog file name like mysql-bin.000042")
    return match["base"], int(match["number"]), len(match["number"])


def binlog_name(base: str, number: int, digits: int) -> str:
    """Inverse of split_binlog_name."""
    return f"{base}.{number:0{digits}d}"


def describe_files(files: list[str]) -> str:
    """One file's name, or the first and last of several with their count."""
    if len(files) == 1:
        return files[0]
    return f"{files[0]} … {files[-1]} ({len(files)} files)"
