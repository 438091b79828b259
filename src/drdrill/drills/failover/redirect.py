"""Clients follow the new primary: the user's redirect hook (ProxySQL, DNS, ...) with both primaries' addresses."""

from __future__ import annotations

import shlex
from typing import Any

from drdrill.endpoints import MySQLEndpoint
from drdrill.servers.hooks import run_hook

REDIRECT_TIMEOUT = 300.0


def run_redirect_command(command: str | None, new_primary: MySQLEndpoint, old_primary: MySQLEndpoint) -> dict[str, Any]:
    """Run the user's redirect hook (ProxySQL, DNS, ...) with the new and old primary in its environment."""
    if not command:
        return {"command": None}
    env = {"DRDRILL_NEW_PRIMARY_HOST": new_primary.host, "DRDRILL_NEW_PRIMARY_PORT": str(new_primary.port),
           "DRDRILL_OLD_PRIMARY_HOST": old_primary.host, "DRDRILL_OLD_PRIMARY_PORT": str(old_primary.port)}
    seconds = run_hook("redirect_command", command, timeout=REDIRECT_TIMEOUT, env=env,
                       consequence=f"clients may still use {old_primary.host}:{old_primary.port}.")
    return {"command": shlex.split(command)[0], "new_primary": f"{new_primary.host}:{new_primary.port}", "seconds": seconds}
