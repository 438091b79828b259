"""A TCP proxy the tests control, in front of an S3 endpoint: add latency, stall for a while, cut connections.

It runs in threads of the test process on a free loopback port. Faults apply to connections already open too
(botocore keeps a pool), so a stall or a cut hits whatever request is in flight:

* ``latency``: each request (the client speaking after the server did) waits this long before it is passed on;
* ``stall(seconds, after_bytes)``: nothing is passed on for that long, on any connection (accepted, never
  answered), from now or once ``after_bytes`` more bytes went through (mid-transfer); each connection that
  stalled is then closed, as a dead middlebox would drop it;
* ``cut(after_bytes, times)``: the connection that carries the ``after_bytes``-th byte from now (either direction)
  is closed at that byte, ``times`` times over.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from drdrill.ports import find_free_port

CHUNK = 64 * 1024


class S3FaultProxy:
    """Forwards 127.0.0.1:``port`` to ``upstream`` (host, port), with faults switched on and off by the test."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = find_free_port()
        self.latency = 0.0
        self.cuts_done = 0
        self.stalled_connections = 0
        self._stall_until = 0.0
        self._stall_pending: tuple[float, int] | None = None
        self._cut_left = 0
        self._cut_budget = 0
        self._cut_every = 0
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._stopped = threading.Event()
        threading.Thread(target=self._accept, name="s3-proxy-accept", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stall(self, seconds: float, after_bytes: int = 0) -> None:
        """Pass nothing on for ``seconds``, from now or once ``after_bytes`` more bytes went through."""
        with self._lock:
            if after_bytes:
                self._stall_pending = (seconds, after_bytes)
            else:
                self._stall_until = time.monotonic() + seconds

    def cut(self, after_bytes: int, times: int = 1) -> None:
        """Close the connection carrying the ``after_bytes``-th byte from now; again after as many more, ``times`` times."""
        with self._lock:
            self._cut_left, self._cut_budget, self._cut_every = times, after_bytes, after_bytes

    def clear(self) -> None:
        """No latency, no stall, no cuts pending."""
        self.latency, self._stall_until = 0.0, 0.0
        with self._lock:
            self._cut_left, self._stall_pending = 0, None

    def close(self) -> None:
        """Stop accepting and close every connection."""
        self._stopped.set()
        self._listener.close()
        with self._lock:
            for sock in list(self._sockets):
                _close(sock)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._sockets.update((client, server))
            turn = {"last": "server"}
            for source, sink, side in ((client, server, "client"), (server, client, "server")):
                threading.Thread(target=self._pump, args=(source, sink, side, turn), daemon=True,
                                 name=f"s3-proxy-{side}").start()

    def _pump(self, source: socket.socket, sink: socket.socket, side: str, turn: dict[str, str]) -> None:
        try:
            while (data := source.recv(CHUNK)):
                if side == "client" and turn["last"] == "server" and self.latency:
                    time.sleep(self.latency)
                turn["last"] = side
                self._count_towards_stall(len(data))
                if self._wait_out_stall():
                    return
                if self._cut_here(len(data)):
                    return
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                _close(sock)
            with self._lock:
                self._sockets.difference_update((source, sink))

    def _count_towards_stall(self, size: int) -> None:
        """Start a pending stall once its bytes went through."""
        with self._lock:
            if self._stall_pending is None:
                return
            seconds, left = self._stall_pending
            if left > size:
                self._stall_pending = (seconds, left - size)
            else:
                self._stall_pending, self._stall_until = None, time.monotonic() + seconds

    def _wait_out_stall(self) -> bool:
        """Hold the data while a stall lasts; True when it did (the connection is then dropped)."""
        if time.monotonic() >= self._stall_until:
            return False
        self.stalled_connections += 1
        while time.monotonic() < self._stall_until and not self._stopped.is_set():
            time.sleep(0.05)
        return True

    def _cut_here(self, size: int) -> bool:
        """Count ``size`` bytes against a pending cut; True when this connection is to be cut now."""
        with self._lock:
            if self._cut_left <= 0:
                return False
            self._cut_budget -= size
            if self._cut_budget > 0:
                return False
            self._cut_left -= 1
            self._cut_budget = self._cut_every
            self.cuts_done += 1
            return True


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


@contextmanager
def s3_fault_proxy(endpoint_url: str) -> Iterator[S3FaultProxy]:
    """A proxy in front of ``endpoint_url`` (``http://host:port``), closed afterwards."""
    host, port = endpoint_url.removeprefix("http://").rstrip("/").split(":")
    proxy = S3FaultProxy((host, int(port)))
    try:
        yield proxy
    finally:
        proxy.close()
