"""Airflow connections → endpoints and S3 clients, inside tasks and from the CLI alike."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from drdrill.config import Storage
from drdrill.endpoints import MySQLEndpoint
from drdrill.errors import DrdrillError
from drdrill.storage.objectstore import ObjectStore


class MissingConnection(DrdrillError):
    """An Airflow connection the config names does not exist."""


def _in_task() -> bool:
    import sys

    runner = sys.modules.get("airflow.sdk.execution_time.task_runner")
    return hasattr(runner, "SUPERVISOR_COMMS")


def get_connection(conn_id: str, used_for: str = "") -> Any:
    """The connection from the Task SDK (tasks, env vars), else the metastore (CLI outside a task).

    A connection found in the metastore from the CLI is handed to the provider hooks through this
    process's environment only; child processes never inherit it (see ``tool_environment``).
    """
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        if not _in_task():
            from airflow.models.connection import Connection

            try:
                connection = Connection.get_connection_from_secrets(conn_id)
            except Exception:
                connection = None
            if connection is not None:
                os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = connection.as_json()
                return connection
    where = f" ({used_for})" if used_for else ""
    raise MissingConnection(
        f"Airflow connection '{conn_id}'{where} is not defined.",
        f"Create it: airflow connections add {conn_id} --conn-type ... (or set AIRFLOW_CONN_{conn_id.upper()}); "
        "the sandbox creates its own with 'drdrill sandbox up'.",
    )


def connection_exists(conn_id: str) -> bool:
    """True when ``get_connection`` would find the connection."""
    try:
        get_connection(conn_id)
    except MissingConnection:
        return False
    return True


def mysql_endpoint(conn_id: str, used_for: str = "") -> MySQLEndpoint:
    """A MySQLEndpoint from a mysql-type connection (login, password, host, port, extra.unix_socket)."""
    from airflow.sdk.log import mask_secret

    connection = get_connection(conn_id, used_for)
    if connection.password:
        mask_secret(connection.password)
    extra = connection.extra_dejson or {}
    return MySQLEndpoint(
        host=connection.host or "127.0.0.1",
        port=int(connection.port or 3306),
        user=connection.login or "",
        password=connection.password or "",
        socket=extra.get("unix_socket"),
    )


def object_store(storage: Storage) -> ObjectStore:
    """An ObjectStore on the bucket, with the boto3 client of the amazon provider's S3Hook."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    get_connection(storage.conn_id, "storage.conn_id")
    client = S3Hook(aws_conn_id=storage.conn_id).get_conn()
    return ObjectStore(client, storage.bucket)


def import_connections(connections: dict[str, dict[str, Any]]) -> None:
    """``airflow connections import --overwrite`` from a 0600 file, so no secret is in argv."""
    airflow = str(Path(sys.executable).parent / "airflow")
    fd, name = tempfile.mkstemp(prefix="drdrill-connections-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(connections, handle)
        done = subprocess.run([airflow, "connections", "import", "--overwrite", name], capture_output=True, text=True)
        if done.returncode != 0:
            raise DrdrillError(f"airflow connections import failed: {done.stderr[-1500:]}",
                               "Check AIRFLOW_HOME and that this worker can reach the Airflow metadata database.")
    finally:
        os.unlink(name)


def redirect_connection(conn_id: str, host: str, port: int) -> dict[str, Any]:
    """Point a mysql connection at another server (same login); returns where it pointed before."""
    if f"AIRFLOW_CONN_{conn_id.upper()}" in os.environ:
        raise DrdrillError(
            f"Airflow connection {conn_id!r} is defined by the environment variable AIRFLOW_CONN_{conn_id.upper()}, "
            "which the drill cannot change for other processes.",
            "Define the connection in the Airflow metastore (airflow connections add), or update your secrets "
            "backend from failover_drill.redirect_command.")
    connection = get_connection(conn_id)
    before = {"host": connection.host, "port": connection.port}
    import_connections({conn_id: {
        "conn_type": connection.conn_type, "host": host, "port": int(port), "login": connection.login,
        "password": connection.password, "schema": connection.schema,
        "extra": json.dumps(connection.extra_dejson or {}),
    }})
    return before
