"""Which server is this, really? Identity by what the server says about itself, not by the address used."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from drdrill.endpoints import MySQLEndpoint


@dataclass(frozen=True)
class ServerIdentity:
    """Host name, port, datadir and server_id as the server reports them."""

    hostname: str
    port: int
    datadir: str
    server_id: int
    version: str

    def same_server_as(self, other: ServerIdentity) -> bool:
        """True when both describe one mysqld: same host, same datadir and port (aliases and IPs do not matter)."""
        return (self.hostname, self.datadir.rstrip("/"), self.port) == (other.hostname, other.datadir.rstrip("/"), other.port)

    def label(self) -> str:
        """``host:port datadir (server_id N)``."""
        return f"{self.hostname}:{self.port} {self.datadir} (server_id {self.server_id})"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_identity(endpoint: MySQLEndpoint) -> ServerIdentity:
    """Ask the server who it is."""
    hostname, port, datadir, server_id, version = endpoint.fetch_all(
        "SELECT @@hostname, @@port, @@datadir, @@server_id, @@version")[0]
    return ServerIdentity(str(hostname), int(port), str(datadir), int(server_id), str(version))
