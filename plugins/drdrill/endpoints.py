"""Where a MySQL/MariaDB server is and how to log in, with the password kept out of argv and logs."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql


def one_row(cursor: Any) -> tuple[Any, ...]:
    """The single row a query always returns (COUNT, @@variables); a missing row is a bug, not a value."""
    row = cursor.fetchone()
    if row is None:
        raise RuntimeError("the query returned no row")
    return tuple(row)


@dataclass(frozen=True)
class MySQLEndpoint:
    """Connection facts for one server; ``password`` never shows in ``repr``."""

    host: str
    port: int
    user: str
    password: str = field(default="", repr=False)
    database: str | None = None
    socket: str | None = None

    def describe(self) -> str:
        """A secret-free label such as ``backup@127.0.0.1:3307``."""
        where = self.socket if self.socket else f"{self.host}:{self.port}"
        return f"{self.user}@{where}"

    def connect(self, **kwargs: Any) -> pymysql.connections.Connection:
        """Open a PyMySQL connection (autocommit, UTC session time zone)."""
        params: dict[str, Any] = {
            "user": self.user,
            "password": self.password,
            "autocommit": True,
            "connect_timeout": 10,
            "init_command": "SET time_zone = '+00:00'",
            "charset": "utf8mb4",
        }
        if self.socket:
            params["unix_socket"] = self.socket
        else:
            params["host"] = self.host
            params["port"] = self.port
        if self.database:
            params["database"] = self.database
        params.update(kwargs)
        return pymysql.connect(**params)

    def sqlalchemy_url(self) -> str:
        """``mysql+pymysql://user:password@host:port/`` for SQLAlchemy users (Great Expectations); a secret: never log it."""
        from urllib.parse import quote

        return f"mysql+pymysql://{quote(self.user, safe='')}:{quote(self.password, safe='')}@{self.host}:{self.port}/"

    def fetch_all(self, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
        """Run one query on a short-lived connection and return its rows."""
        connection = self.connect()
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, args)
                return list(cursor.fetchall())
        finally:
            connection.close()

    @contextlib.contextmanager
    def option_file(self, group: str = "client", directory: str | os.PathLike[str] | None = None) -> Iterator[Path]:
        """Yield a 0600 option file with these credentials for ``--defaults-extra-file``; deleted afterwards."""
        lines = [f"[{group}]", f"user={self.user}", f"password={self.password}"]
        if self.socket:
            lines.append(f"socket={self.socket}")
        else:
            lines += [f"host={self.host}", f"port={self.port}", "protocol=TCP"]
        fd, name = tempfile.mkstemp(prefix="drdrill-", suffix=".cnf", dir=directory)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write("\n".join(lines) + "\n")
            yield Path(name)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
