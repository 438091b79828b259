"""The logins a failover drill uses on its two servers, resolved at the edge and passed down."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from drdrill.endpoints import MySQLEndpoint


@dataclass(frozen=True)
class FailoverServers:
    """The two servers as the drill's admin login sees them, and the canary's data-only login on each."""

    primary: MySQLEndpoint
    replica: MySQLEndpoint
    canary_primary: MySQLEndpoint
    canary_replica: MySQLEndpoint
    replication: MySQLEndpoint | None = None  # only its user and password: what replicas log in as

    @property
    def replication_login(self) -> MySQLEndpoint:
        """The login a replica uses towards its primary: ``replication``, else the drill's own login."""
        return self.replication or self.primary

    def addresses(self) -> dict[str, dict[str, Any]]:
        """Host and port of each server, as preflight keeps them for the later steps."""
        return {role: {"host": endpoint.host, "port": endpoint.port}
                for role, endpoint in (("primary", self.primary), ("replica", self.replica))}

    def at(self, addresses: dict[str, Any]) -> FailoverServers:
        """The same logins on the servers at ``addresses`` (preflight's), wherever the connections point now."""
        primary, replica = _at(self.primary, addresses["primary"]), _at(self.replica, addresses["replica"])
        return FailoverServers(
            primary=primary, replica=replica,
            canary_primary=_at(self.canary_primary, addresses["primary"]),
            canary_replica=_at(self.canary_replica, addresses["replica"]),
            replication=self.replication)


def _at(endpoint: MySQLEndpoint, address: dict[str, Any]) -> MySQLEndpoint:
    return replace(endpoint, host=address["host"], port=int(address["port"]))


def failover_servers(primary: MySQLEndpoint, replica: MySQLEndpoint, canary: MySQLEndpoint, database: str,
                     replication: MySQLEndpoint | None = None) -> FailoverServers:
    """Admin logins on both servers, and ``canary``'s login (its user, password and TLS settings) on each, in
    ``database``."""
    return FailoverServers(
        primary=primary, replica=replica,
        canary_primary=replace(canary, host=primary.host, port=primary.port, database=database, socket=None),
        canary_replica=replace(canary, host=replica.host, port=replica.port, database=database, socket=None),
        replication=replication)
