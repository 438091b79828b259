"""Where a MySQL/MariaDB server is and how to log in, with the password kept out of argv and logs."""

from __future__ import annotations

import configparser
import contextlib
import json
import os
import re
import socket
import ssl
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql

from drdrill.errors import DrdrillError, TLSFailed

# Every drdrill session: UTC (checksums and heartbeats read DATETIME/TIMESTAMP alike everywhere) and room
# for the schema fingerprints' GROUP_CONCAT (a server's default may be as low as 1 KiB).
SESSION_INIT = "SET time_zone = '+00:00', group_concat_max_len = 16777216"

# How long a TCP peer may stay silent (unacknowledged data, unanswered keepalive probes) before its connection is
# dropped: a network partition blackholes packets without a reset, and a query waiting on such a connection would
# wait forever. The kernel answers keepalives while the server works, so a statement of any length (CHECKSUM
# TABLE of a big table) is not cut short by this; only a silent peer is.
DEAD_PEER_TIMEOUT = 30.0
KEEPALIVE_PROBES = 3


def one_row(cursor: Any) -> tuple[Any, ...]:
    """The single row a query always returns (COUNT, @@variables); a missing row is a bug, not a value."""
    row = cursor.fetchone()
    if row is None:
        raise RuntimeError("the query returned no row")
    return tuple(row)


# What a verification failure reads like: PyMySQL's (Python's ssl module), and the tools' client error 2026 (the
# handshake failed: "TLS/SSL error: <OpenSSL's reason>" from Connector/C, a bare "SSL connection error: error:00000000"
# from mariadb-backup's built-in client, which a wrong CA gives as well).
TLS_VERIFY_TEXT = re.compile(r"CERTIFICATE_VERIFY_FAILED|certificate verify failed|TLS/SSL error|SSL connection error",
                             re.IGNORECASE)
_TLS_KEYS = ("ca", "cert", "key", "verify_mode", "check_hostname")


@dataclass(frozen=True)
class TLSSettings:
    """How a login uses TLS: the CA the server's certificate must verify against, an optional client certificate,
    and whether the server's name is checked as well. ``verify=False``: encrypted but not verified (no CA)."""

    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    verify: bool = True
    check_hostname: bool = True

    @classmethod
    def from_extra(cls, value: Any, where: str = "the connection") -> TLSSettings | None:
        """The ``ssl`` extra as the Airflow MySQL provider documents it (a dict, or that dict as a JSON string):
        ``ca``, ``cert``, ``key`` (paths), ``verify_mode`` (``required``, the default, or ``none``) and
        ``check_hostname`` (default true). None (or an empty dict): the login does not use TLS."""
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else None
            except json.JSONDecodeError as exc:
                raise DrdrillError(f"The 'ssl' extra of {where} is not valid JSON ({exc.msg}).",
                                   'Write it as {"ca": "/path/ca.pem"} (a JSON object).') from None
        if not value:
            return None
        if not isinstance(value, dict) or set(value) - set(_TLS_KEYS):
            unknown = sorted(set(value) - set(_TLS_KEYS)) if isinstance(value, dict) else [type(value).__name__]
            raise DrdrillError(f"The 'ssl' extra of {where} has what drdrill cannot honour: {', '.join(unknown)}.",
                               f"Use only {', '.join(_TLS_KEYS)} (README: TLS logins).")
        mode = str(value.get("verify_mode", "required")).lower()
        if mode not in ("required", "none"):
            raise DrdrillError(f"The 'ssl' extra of {where} has verify_mode {mode!r}.",
                               "Set verify_mode to 'required' (check the server's certificate) or 'none'.")
        settings = cls(ca=value.get("ca"), cert=value.get("cert"), key=value.get("key"), verify=mode == "required",
                       check_hostname=bool(value.get("check_hostname", True)))
        if settings.verify and not settings.ca:
            raise DrdrillError(f"The 'ssl' extra of {where} verifies the server's certificate but names no CA.",
                               "Add \"ca\": \"/path/to/ca.pem\" (the CA that signed the server's certificate), "
                               "or set \"verify_mode\": \"none\" to encrypt without verifying.")
        return settings

    @classmethod
    def from_options(cls, options: dict[str, str]) -> TLSSettings | None:
        """What ``option_lines`` wrote, read back from an option file's group (``read_client_options``): TLS when
        ``ssl`` is on or a CA, certificate or key is named; the chain is checked whenever ``ssl-ca`` is set."""
        ca, cert, key = (options.get(f"ssl-{name}") or None for name in ("ca", "cert", "key"))
        if "skip-ssl" in options or not (ca or cert or key or options.get("ssl", "0") not in ("0", "")):
            return None
        hostname = options.get("ssl-verify-server-cert", "0") not in ("0", "")
        verify = bool(ca) or hostname
        return cls(ca=ca, cert=cert, key=key, verify=verify, check_hostname=hostname or not verify)

    def pymysql_ssl(self) -> dict[str, Any]:
        """PyMySQL's ``ssl=`` argument for these settings."""
        params: dict[str, Any] = {"verify_mode": "required" if self.verify else "none",
                                  "check_hostname": self.verify and self.check_hostname}
        params.update({name: path for name, path in (("ca", self.ca), ("cert", self.cert), ("key", self.key)) if path})
        return params

    def option_lines(self) -> list[str]:
        """These settings as option-file lines every MariaDB tool reads (never argv)."""
        lines = ["ssl=1"]
        lines += [f"ssl-{name}={quote_option_value(path)}"
                  for name, path in (("ca", self.ca), ("cert", self.cert), ("key", self.key)) if path]
        # The tools check the chain against ssl-ca whenever it is set; this adds the server's name to the check.
        lines.append(f"ssl-verify-server-cert={int(self.verify and self.check_hostname)}")
        return lines


def tls_verify_failed(text: str) -> bool:
    """True when an error message (PyMySQL's or a tool's) says the server's certificate did not verify."""
    return bool(TLS_VERIFY_TEXT.search(text))


@dataclass(frozen=True)
class MySQLEndpoint:
    """Connection facts for one server; ``password`` never shows in ``repr``."""

    host: str
    port: int
    user: str
    password: str = field(default="", repr=False)
    database: str | None = None
    socket: str | None = None
    connect_timeout: float = 10.0
    dead_peer_timeout: float = DEAD_PEER_TIMEOUT
    tls: TLSSettings | None = None

    def describe(self) -> str:
        """A secret-free label such as ``backup@127.0.0.1:3307``."""
        where = self.socket if self.socket else f"{self.host}:{self.port}"
        return f"{self.user}@{where}"

    def connect(self, **kwargs: Any) -> pymysql.connections.Connection:
        """Open a PyMySQL connection (autocommit, UTC session time zone).

        Over TCP a connection whose peer goes silent for ``dead_peer_timeout`` seconds fails (a partition) however
        long its statement; a bound on how long a server may take to answer is the caller's ``read_timeout``.
        With ``tls`` set, a certificate that does not verify, or a session that is not encrypted after all (PyMySQL
        logs in in plain text to a server without TLS), is ``TLSFailed``: never a silent plain-text login.
        """
        params: dict[str, Any] = {
            "user": self.user,
            "password": self.password,
            "autocommit": True,
            "connect_timeout": self.connect_timeout,
            "init_command": SESSION_INIT,
            "charset": "utf8mb4",
        }
        if self.socket:
            params["unix_socket"] = self.socket
        else:
            params["host"] = self.host
            params["port"] = self.port
        if self.database:
            params["database"] = self.database
        if self.tls and not self.socket:
            params["ssl"] = self.tls.pymysql_ssl()
        params.update(kwargs)
        if self.socket:
            return pymysql.connect(**params)
        connection = pymysql.connect(**params, defer_connect=True)
        try:
            connection.connect(tcp_socket(self.host, self.port, params["connect_timeout"], self.dead_peer_timeout))
        except pymysql.err.OperationalError as exc:
            if self.tls and (isinstance(exc.__context__, ssl.SSLCertVerificationError) or tls_verify_failed(str(exc))):
                raise self.verify_failure(str(exc)) from exc
            raise
        if self.tls and "ssl" not in kwargs:
            self._assert_encrypted(connection)
        return connection

    def verify_failure(self, detail: str) -> TLSFailed:
        """The error for a server certificate that did not verify against this login's CA."""
        return TLSFailed(f"The TLS certificate of {self.describe()} does not verify against the CA {self.tls.ca if self.tls else None}"
                         f" ({detail.strip()[-300:]}).",
                         "Point the connection's ssl.ca at the CA that signed the server's certificate (and check "
                         "that the certificate names the host you connect to, or set ssl.check_hostname false).")

    def _assert_encrypted(self, connection: pymysql.connections.Connection) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
            row = cursor.fetchone()
        if not row or not row[1]:
            connection.close()
            raise TLSFailed(f"The login to {self.describe()} is configured for TLS, but the session is not "
                            "encrypted (Ssl_cipher is empty): the server offers no TLS.",
                            "Configure TLS on the server (ssl_cert, ssl_key) or remove the connection's ssl extra.")

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

    def option_text(self, group: str = "client") -> str:
        """This login as a MySQL option file group (it holds the password: write it only to 0600 files)."""
        lines = [f"[{group}]", f"user={self.user}", f"password={quote_option_value(self.password)}"]
        if self.socket:
            lines.append(f"socket={self.socket}")
        else:
            lines += [f"host={self.host}", f"port={self.port}", "protocol=TCP"]
            lines += self.tls.option_lines() if self.tls else []
        return "\n".join(lines) + "\n"

    @classmethod
    def from_option_file(cls, path: str | Path, database: str | None = None) -> MySQLEndpoint:
        """The login in an option file's ``[client]`` group (host 127.0.0.1 and port 3306 unless it says otherwise),
        with its TLS settings (``ssl-ca`` …)."""
        options = read_client_options(path)
        return cls(host=options.get("host", "127.0.0.1"), port=int(options.get("port", "3306")),
                   user=options.get("user", ""), password=options.get("password", ""), database=database,
                   socket=options.get("socket"), tls=TLSSettings.from_options(options))

    @contextlib.contextmanager
    def option_file(self, group: str = "client", directory: str | os.PathLike[str] | None = None) -> Iterator[Path]:
        """Yield a 0600 option file with these credentials for ``--defaults-extra-file``; deleted afterwards."""
        fd, name = tempfile.mkstemp(prefix="drdrill-", suffix=".cnf", dir=directory)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(self.option_text(group))
            yield Path(name)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)


def tcp_socket(host: str, port: int, connect_timeout: float, dead_peer_timeout: float) -> socket.socket:
    """A connected TCP socket that gives up on a peer silent for ``dead_peer_timeout`` s (keepalive, user timeout)."""
    try:
        sock = socket.create_connection((host, port), connect_timeout)
    except OSError as exc:  # as PyMySQL reports its own connect failures
        raise pymysql.err.OperationalError(2003, f"Can't connect to MySQL server on {host!r} ({exc})") from exc
    for level, option, value in (
        (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),
        (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1),
        (socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, max(1, int(dead_peer_timeout / 2))),
        (socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, max(1, int(dead_peer_timeout / (2 * KEEPALIVE_PROBES)))),
        (socket.IPPROTO_TCP, socket.TCP_KEEPCNT, KEEPALIVE_PROBES),
        (socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(dead_peer_timeout * 1000)),
    ):
        sock.setsockopt(level, option, value)
    sock.settimeout(None)
    return sock


# What MariaDB's option-file reader turns a backslash sequence into (mysys and Connector/C alike), and back.
_OPTION_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "r": "\r", "s": " ", "\\": "\\", '"': '"', "'": "'"}
_OPTION_QUOTING = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b"})


def sql_string(value: str) -> str:
    """A MySQL string literal (quotes doubled, backslashes escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def sql_list(values: Sequence[str]) -> str:
    """Comma-separated MySQL string literals, for ``IN (...)``."""
    return ", ".join(sql_string(value) for value in values)


def quote_option_value(value: str) -> str:
    """``value`` as an option-file value every MariaDB tool reads back exactly.

    Unquoted, ``#`` starts a comment, backslash sequences are escapes and trailing spaces are dropped.
    """
    return f'"{value.translate(_OPTION_QUOTING)}"'


def _unescape_option_value(quoted: str) -> str:
    """The text between an option value's quotes, its backslash sequences resolved as MariaDB resolves them."""
    return re.sub(r"\\(.)", lambda match: _OPTION_ESCAPES.get(match.group(1), "\\" + match.group(1)), quoted)


def read_client_options(path: str | Path, group: str = "client") -> dict[str, str]:
    """The ``key=value`` settings of one group of a MySQL option file (quotes stripped)."""
    parser = configparser.RawConfigParser(
        allow_no_value=True, strict=False, comment_prefixes=("#", ";"), inline_comment_prefixes=None
    )
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle)
    except FileNotFoundError:
        raise DrdrillError(
            f"option file {path} does not exist.", "pass the path of an existing file."
        ) from None
    except configparser.Error as exc:
        raise DrdrillError(
            f"option file {path} cannot be parsed ({type(exc).__name__}).",
            "write it as MySQL option file with a [client] group and key=value lines.",
        ) from None
    if not parser.has_section(group):
        raise DrdrillError(
            f"option file {path} has no [{group}] group.", f"add [{group}] with user and password."
        )
    options: dict[str, str] = {}
    for key, value in parser.items(group):
        if value is not None and len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = _unescape_option_value(value[1:-1])
        options[key.replace("_", "-")] = value if value is not None else ""
    return options
