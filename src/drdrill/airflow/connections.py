"""Airflow connections → endpoints and S3 clients, inside tasks and from the CLI alike."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from drdrill.config import Storage
from drdrill.endpoints import MySQLEndpoint, TLSSettings
from drdrill.errors import DrdrillError
from drdrill.storage.client_encryption import ClientKey
from drdrill.storage.encryption import server_side_arguments
from drdrill.storage.objectstore import ObjectStore
from drdrill.storage.object_lock import ObjectLockPolicy
from drdrill.storage.s3 import PutArguments, S3ObjectStore, client_config
from drdrill.storage.seal import SigningKey


class MissingConnection(DrdrillError):
    """An Airflow connection the config names does not exist."""


class UnreadableConnection(DrdrillError):
    """An Airflow connection is set in the environment, but Airflow cannot read it."""


# AIRFLOW_CONN_* variables get_connection set itself (name -> value): metastore connections handed to the provider
# hooks outside a task. They are this process's copies, not the user's: never mistaken for a connection the
# environment defines, and dropped when the connection is redirected.
_COPIED: dict[str, str] = {}


def environment_variable(conn_id: str) -> str:
    """The name of the variable that would define the connection: ``AIRFLOW_CONN_<ID>``."""
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def _in_task() -> bool:
    runner = sys.modules.get("airflow.sdk.execution_time.task_runner")
    return hasattr(runner, "SUPERVISOR_COMMS")


def get_connection(conn_id: str, used_for: str = "") -> Any:
    """The connection from the Task SDK (tasks, env vars), else the metastore (CLI outside a task).

    A connection found in the metastore from the CLI is handed to the provider hooks through this
    process's environment only (``_COPIED``); child processes never inherit it (see ``tool_environment``).
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
                name = environment_variable(conn_id)
                os.environ[name] = _COPIED[name] = connection.as_json()
                return connection
    where = f" ({used_for})" if used_for else ""
    variable = environment_variable(conn_id)
    if os.environ.get(variable, "").strip() and variable not in _COPIED:
        raise UnreadableConnection(
            f"Airflow connection '{conn_id}'{where} is set in {variable}, but Airflow cannot read it: "
            f"{_unreadable_because(os.environ[variable])}.",
            f"Make {variable} a JSON object such as {{\"conn_type\": \"mysql\", \"host\": \"db1\", \"port\": 3306, "
            "\"login\": \"...\", \"password\": \"...\"} (port a number) or a connection URI.",
        )
    raise MissingConnection(
        f"Airflow connection '{conn_id}'{where} is not defined.",
        f"Create it: airflow connections add {conn_id} --conn-type ... (or set {environment_variable(conn_id)}); "
        "the sandbox creates its own with 'drdrill sandbox up'.",
    )


def defined_by_environment(conn_id: str) -> bool:
    """True when an AIRFLOW_CONN_* variable of the user (not this process's copy of a metastore connection) defines it."""
    name = environment_variable(conn_id)
    return name in os.environ and os.environ[name] != _COPIED.get(name)


def _forget_copy(conn_id: str) -> None:
    """Drop this process's copy of a metastore connection, so the next ``get_connection`` reads the metastore again."""
    name = environment_variable(conn_id)
    if name in _COPIED and os.environ.get(name) == _COPIED.pop(name):
        del os.environ[name]


def _unreadable_because(value: str) -> str:
    """Why a connection value cannot be read, without quoting any of it (it may hold a password)."""
    text = value.strip()
    if not text.startswith("{"):
        return "it is not a connection URI Airflow can parse"
    try:
        fields = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"it is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
    if not isinstance(fields, dict):
        return "its JSON is not an object"
    if fields.get("port") is not None and not str(fields["port"]).isdigit():
        return "its port is not a number"
    return "Airflow refused its fields"


def connection_exists(conn_id: str) -> bool:
    """True when ``get_connection`` would find the connection."""
    try:
        get_connection(conn_id)
    except MissingConnection:
        return False
    return True


def mysql_endpoint(conn_id: str, used_for: str = "") -> MySQLEndpoint:
    """A MySQLEndpoint from a mysql-type connection (login, password, host, port, extra.unix_socket, extra.ssl)."""
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
        tls=TLSSettings.from_extra(extra.get("ssl"), f"Airflow connection '{conn_id}'"),
    )


def manifest_signing_key(storage: Storage) -> SigningKey | None:
    """The key a target's manifests are signed with: its ``storage.manifest_signing_conn_id`` connection's password.

    None when the target does not sign. The password is masked in Airflow's logs before anything else is done.
    """
    conn_id = storage.manifest_signing_conn_id
    if conn_id is None:
        return None
    password = secret_password(conn_id, "storage.manifest_signing_conn_id", "the key manifests are signed with",
                               f"Set one: airflow connections add {conn_id} --conn-type generic --conn-password KEY "
                               "(KEY: e.g. the output of `openssl rand -base64 48`), or set "
                               "storage.manifest_signing_conn_id: null.")
    return SigningKey(password.encode(), source=f"Airflow connection '{conn_id}'")


def secret_password(conn_id: str, used_for: str, holds: str, fix: str) -> str:
    """The password of a connection that holds a key (``holds``), masked in Airflow's logs before anything else is
    done; DrdrillError with ``fix`` when it has none."""
    from airflow.sdk.log import mask_secret

    connection = get_connection(conn_id, used_for)
    if not connection.password:
        raise DrdrillError(f"Airflow connection '{conn_id}' ({used_for}) has no password, and its password is {holds}.",
                           fix)
    mask_secret(connection.password)
    return str(connection.password)


def client_key(storage: Storage) -> ClientKey | None:
    """The key of a target's client-side encryption: its ``storage.encryption.client_side_conn_id`` connection's
    password (base64 of 32 bytes), masked in Airflow's logs first; None when the target does not encrypt."""
    conn_id = storage.encryption.client_side_conn_id
    if conn_id is None:
        return None
    fix = (f"Set its password to a base64 key of 32 random bytes: airflow connections add {conn_id} --conn-type "
           f"generic --conn-password \"$(openssl rand -base64 32)\" (keep a copy: without it no backup made with it "
           "can be restored), or set storage.encryption.client_side_conn_id: null.")
    password = secret_password(conn_id, "storage.encryption.client_side_conn_id", "the key backups are encrypted with",
                               fix)
    try:
        return ClientKey.from_base64(password, f"Airflow connection '{conn_id}'")
    except ValueError as exc:
        raise DrdrillError(f"{exc} (storage.encryption.client_side_conn_id).", fix) from None


def object_store(storage: Storage) -> ObjectStore:
    """An ObjectStore on the bucket, with the boto3 client of the amazon provider's S3Hook, the target's server-side
    encryption and Object Lock on every write and its client-side key."""
    return _s3_store(storage, storage.conn_id, "storage.conn_id", storage.bucket)


def copy_store(storage: Storage) -> ObjectStore | None:
    """An ObjectStore on the second copy's bucket (``storage.copy``), or None when the target keeps no copy."""
    if storage.copy is None:
        return None
    conn_id, key = (storage.copy.conn_id, "storage.copy.conn_id") if storage.copy.conn_id else \
        (storage.conn_id, "storage.conn_id")
    return _s3_store(storage, conn_id, key, storage.copy.bucket, storage.copy.region)


def _s3_store(storage: Storage, conn_id: str, key: str, bucket: str, region: str | None = None) -> ObjectStore:
    """The S3 store on ``bucket`` through connection ``conn_id`` (config key ``key``), with the storage's timeouts,
    attempts, server-side encryption, Object Lock and client-side key, in ``region`` when given."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    get_connection(conn_id, key)
    settings = client_config(storage.connect_timeout.total_seconds(), storage.read_timeout.total_seconds(),
                             storage.attempts, storage.parts_in_flight)
    config = S3Hook(aws_conn_id=conn_id).config.merge(settings)  # the connection's config_kwargs, ours win
    hook = S3Hook(aws_conn_id=conn_id, config=config, region_name=region)  # None: the connection's region_name
    return S3ObjectStore(hook.get_conn(), bucket, parts_in_flight=storage.parts_in_flight,
                         put_arguments=_put_arguments(storage), client_key=client_key(storage))


def _put_arguments(storage: Storage) -> PutArguments:
    """What every write of the target's objects carries: its server-side encryption, and its Object Lock on a
    backup's objects and manifest."""
    encryption = server_side_arguments(storage.encryption.server_side, storage.encryption.kms_key_id)
    lock = ObjectLockPolicy(storage.object_lock.mode, storage.object_lock.retain_days) if storage.object_lock else None

    def put_arguments(key: str) -> dict[str, Any]:
        return {**encryption, **(lock.put_arguments(key) if lock else {})}

    return put_arguments


def rds_client(conn_id: str | None) -> Any:
    """A boto3 RDS client from the amazon provider's RdsHook, with a metastore connection found outside a task too.

    The hook alone sees only environment variables and secrets backends there, and without the connection it
    silently falls back to boto3's default credentials; a connection that exists nowhere still does (the provider's way).
    """
    from airflow.providers.amazon.aws.hooks.rds import RdsHook

    if conn_id:
        with contextlib.suppress(MissingConnection):
            get_connection(conn_id)  # outside a task: copies a metastore connection where the hook looks
    return RdsHook(aws_conn_id=conn_id).conn


def import_connections(connections: dict[str, dict[str, Any]], env: dict[str, str] | None = None) -> None:
    """``airflow connections import --overwrite`` from a 0600 file, so no secret is in argv; ``env``: another
    Airflow's environment (default: this process's)."""
    airflow = str(Path(sys.executable).parent / "airflow")
    fd, name = tempfile.mkstemp(prefix="drdrill-connections-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(connections, handle)
        done = subprocess.run([airflow, "connections", "import", "--overwrite", name], capture_output=True, text=True,
                              env=env)
        if done.returncode != 0:
            raise DrdrillError(f"airflow connections import failed: {done.stderr[-1500:]}",
                               "Check AIRFLOW_HOME and that this worker can reach the Airflow metadata database.")
    finally:
        os.unlink(name)


def redirect_connection(conn_id: str, host: str, port: int, api_conn_id: str | None = None) -> dict[str, Any]:
    """Point a mysql connection at another server (same login) unless it points there already: through Airflow's
    REST API when ``api_conn_id`` (``settings.airflow_api_conn_id``) names it, else ``airflow connections import``.

    ``{"was": {"host", "port"}, "changed": bool}``: where it pointed before (as the metastore says, not this
    process's copy), and whether it was changed.
    """
    if defined_by_environment(conn_id):
        raise DrdrillError(
            f"Airflow connection {conn_id!r} is defined by the environment variable {environment_variable(conn_id)}, "
            "which the drill cannot change for other processes.",
            "Define the connection in the Airflow metastore (airflow connections add), or update your secrets "
            "backend from failover_drill.redirect_command.")
    _forget_copy(conn_id)
    connection = get_connection(conn_id)
    changed = (connection.host, int(connection.port or 3306)) != (host, int(port))
    if changed and api_conn_id:
        from drdrill.airflow.rest_api import point_connection_at

        point_connection_at(api_conn_id, conn_id, connection.conn_type, host, int(port))
    elif changed:
        import_connections({conn_id: {
            "conn_type": connection.conn_type, "host": host, "port": int(port), "login": connection.login,
            "password": connection.password, "schema": connection.schema,
            "extra": json.dumps(connection.extra_dejson or {}),
        }})
        _forget_copy(conn_id)  # now stale: the next reader goes to the metastore
    return {"was": {"host": connection.host, "port": connection.port}, "changed": changed}
