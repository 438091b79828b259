"""Local TCP ports: is one free, and a clear error when it is not."""

from __future__ import annotations

import errno
import socket

from drdrill.errors import PortInUseError


def find_free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on the port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def ensure_port_free(port: int, who: str, fix: str = "") -> None:
    """Raise PortInUseError when 127.0.0.1:port cannot be bound (as a server would bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
                raise
            raise PortInUseError(
                f"Port {port} on 127.0.0.1, wanted by {who}, is already in use by another process.",
                f"Find it with `ss -ltnp 'sport = :{port}'` and stop it" + (f", or {fix}." if fix else ", or choose another port."),
            ) from None
