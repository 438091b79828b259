"""A moto server that enforces IAM policies, as AWS does: users with a policy and their own keys.

moto skips authentication for the first ``INITIAL_NO_AUTH_ACTION_COUNT`` requests and checks every later one
against the caller's IAM policies; the first three create the admin user this helper then works as.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drdrill.daemon import Daemon
from drdrill.ports import find_free_port, port_open
from drdrill.toolenv import tool_environment

UNAUTHENTICATED_ACTIONS = 3  # CreateUser, PutUserPolicy, CreateAccessKey of the admin
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


@contextmanager
def moto_server(directory: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """A moto server on a free port (its URL), stopped afterwards; ready once it listens (no request sent)."""
    port = find_free_port()
    daemon = Daemon("moto", directory, port)
    daemon.start([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                 ready=lambda: port_open(port), env={**tool_environment(), **env} if env else None)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        daemon.stop()


@dataclass(frozen=True)
class Keys:
    """An IAM user's access key."""

    access_key: str
    secret_key: str


@dataclass(frozen=True)
class MotoIam:
    """A moto server with IAM enforcement and its admin's keys."""

    url: str
    admin: Keys

    def client(self, service: str, keys: Keys | None = None) -> Any:
        import boto3

        keys = keys or self.admin
        return boto3.client(service, endpoint_url=self.url, aws_access_key_id=keys.access_key,
                            aws_secret_access_key=keys.secret_key, region_name="us-east-1")

    def user(self, name: str, policy: dict[str, Any]) -> Keys:
        """A new IAM user holding only ``policy`` (inline), and its keys."""
        return create_user(self.client("iam"), name, policy)

    def connection(self, keys: Keys) -> dict[str, Any]:
        """The Airflow ``aws`` connection that reaches this server with ``keys``."""
        return {"conn_type": "aws", "login": keys.access_key, "password": keys.secret_key,
                "extra": {"endpoint_url": self.url, "region_name": "us-east-1"}}


def create_user(iam: Any, name: str, policy: dict[str, Any]) -> Keys:
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Keys(key["AccessKeyId"], key["SecretAccessKey"])


@contextmanager
def moto_with_iam(directory: Path) -> Iterator[MotoIam]:
    """A moto server enforcing IAM from its fourth request on, and an admin allowed everything."""
    import boto3

    with moto_server(directory, {"INITIAL_NO_AUTH_ACTION_COUNT": str(UNAUTHENTICATED_ACTIONS)}) as url:
        iam = boto3.client("iam", endpoint_url=url, aws_access_key_id="testing", aws_secret_access_key="testing",
                           region_name="us-east-1")
        yield MotoIam(url, create_user(iam, "drdrill-test-admin", ALLOW_ALL))
