"""The login options of the sandbox's small commands (heartbeat, sample data): an option file, never a password."""

from __future__ import annotations

import argparse
import dataclasses

from drdrill.endpoints import MySQLEndpoint
from drdrill.errors import DrdrillError


def add_login_options(parser: argparse.ArgumentParser) -> None:
    """``--defaults-file`` (required), ``--host``, ``--port``."""
    parser.add_argument("--defaults-file", required=True, help="option file with [client] user and password")
    parser.add_argument("--host", help="server host (default: the option file's host, else 127.0.0.1)")
    parser.add_argument("--port", type=int, help="server port (default: the option file's port, else 3306)")


def login_endpoint(parser: argparse.ArgumentParser, args: argparse.Namespace) -> MySQLEndpoint:
    """The option file's ``[client]`` login at ``--host``/``--port`` when given; a usage error when it has no user."""
    try:
        endpoint = MySQLEndpoint.from_option_file(args.defaults_file)
    except DrdrillError as exc:
        parser.error(str(exc))
    if not endpoint.user:
        parser.error(f"option file {args.defaults_file} has no user in [client]. Fix: add user=NAME.")
    return dataclasses.replace(endpoint, host=args.host or endpoint.host, port=args.port or endpoint.port)
