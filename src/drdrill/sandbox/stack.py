"""The local sandbox: MariaDB primary + GTID replica, moto S3, a Slack sink, the heartbeat writer, Airflow connections.

Everything runs as processes on 127.0.0.1 under ``<project>/.sandbox``; ``up`` and ``down`` are idempotent.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import shutil
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drdrill.locations import project_root
from drdrill.endpoints import MySQLEndpoint, TLSSettings
from drdrill.errors import DrdrillError
from drdrill.servers.topology import (
    reconnect_replica,
    set_read_only,
    state_of,
    switchover,
)
from drdrill.ports import ensure_port_free, port_open
from drdrill.daemon import SANDBOX_PORT_FIX, Daemon, python_module_argv
from drdrill.sandbox.store_marker import check_store_kept
from drdrill.sandbox.sample_data import create_shop_schema, ensure_app_user, load_shop_data
from drdrill.servers.certificates import certificates_in, make_certificates
from drdrill.servers.grants import BACKUP_GRANTS, FAILOVER_GRANTS, REPLICATION_GRANTS
from drdrill.servers.mariadb import InstanceSpec, LocalMariaDB
from drdrill.servers.replication import replication_status, start_gtid_replica
from drdrill.storage.s3 import S3ObjectStore

DEFAULT_PORT_BASE = 23070  # below the ephemeral range (32768+), so outgoing connections never take a sandbox port
S3_BUCKET = "drdrill-backups"
CONNECTION_IDS = {"primary": "drdrill_shop_primary", "replica": "drdrill_shop_replica",
                  "canary": "drdrill_shop_canary", "replication": "drdrill_shop_replication", "s3": "drdrill_s3",
                  "slack": "drdrill_slack"}


@dataclass(frozen=True)
class SandboxPorts:
    """The four TCP ports the sandbox listens on."""

    primary: int
    replica: int
    s3: int
    slack: int

    @classmethod
    def from_base(cls, base: int) -> SandboxPorts:
        return cls(base + 1, base + 2, base + 3, base + 4)


class Sandbox:
    """The sandbox's components and their lifecycle."""

    def __init__(self, directory: Path | None = None, port_base: int | None = None,
                 buffer_pool: str = "64M", tls: bool = False) -> None:
        """``tls``: the servers speak TLS only (``require_secure_transport=ON``) with a CA the sandbox makes in
        ``<directory>/tls``; once made, the sandbox stays TLS-only until ``down --purge``."""
        self.directory = (directory or Path(os.environ.get("DRDRILL_SANDBOX_DIR") or project_root() / ".sandbox")).resolve()
        base = port_base or int(os.environ.get("DRDRILL_SANDBOX_PORT_BASE") or DEFAULT_PORT_BASE)
        self.ports = SandboxPorts.from_base(base)
        self.certificates = certificates_in(self.directory / "tls")
        self.tls = tls or self.certificates.exist()
        # big loads need a bigger buffer pool and redo log; the setting applies when a server (re)starts
        redo = {"innodb_log_file_size": "512M"} if buffer_pool != "64M" else {}
        redo.update(self.certificates.server_options() if self.tls else {})
        self.primary = LocalMariaDB(InstanceSpec("primary", self.directory / "primary", self.ports.primary, server_id=1,
                                                 buffer_pool=buffer_pool, extra=redo))
        self.replica = LocalMariaDB(InstanceSpec("replica", self.directory / "replica", self.ports.replica, server_id=2,
                                                 read_only=True, buffer_pool=buffer_pool, extra=redo))
        self.s3 = Daemon("s3", self.directory / "run", self.ports.s3)
        self.slack = Daemon("slack", self.directory / "run", self.ports.slack)
        self.heartbeat = Daemon("heartbeat", self.directory / "run")

    # -- secrets -------------------------------------------------------------------------------

    @property
    def secrets_file(self) -> Path:
        return self.directory / "secrets.json"

    def secrets(self) -> dict[str, str]:
        """Generated passwords, kept in a 0600 file so re-runs reuse them."""
        if self.secrets_file.exists():
            return json.loads(self.secrets_file.read_text())
        self.directory.mkdir(parents=True, exist_ok=True)
        values = {name: secrets.token_urlsafe(18) for name in ("backup", "replication", "app")}
        fd = os.open(self.secrets_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(values, handle)
        return values

    @property
    def client_tls(self) -> TLSSettings | None:
        """How the sandbox's TCP logins use TLS: verified against the sandbox's CA (None without ``tls``)."""
        return TLSSettings(ca=str(self.certificates.ca)) if self.tls else None

    def _login(self, server: LocalMariaDB, user: str, password: str, database: str | None = None) -> MySQLEndpoint:
        return dataclasses.replace(server.endpoint(user, password, database), tls=self.client_tls)

    def backup_endpoint(self, server: LocalMariaDB | None = None) -> MySQLEndpoint:
        """The drills' login (backup user) on the primary or another sandbox server."""
        return self._login(server or self.primary, "drdrill_backup", self.secrets()["backup"])

    def app_endpoint(self) -> MySQLEndpoint:
        """The application's DML-only login on the primary."""
        return self._login(self.primary, "shop_app", self.secrets()["app"], "shop")

    def replication_endpoint(self, server: LocalMariaDB | None = None) -> MySQLEndpoint:
        """The login replicas connect to ``server`` (the primary) with."""
        return self._login(server or self.primary, "drdrill_repl", self.secrets()["replication"])

    @property
    def replication_link(self) -> dict[str, str | int]:
        """The CHANGE MASTER options of the sandbox's replication: TLS verified against its CA with ``tls``."""
        if not self.tls:
            return {}
        return {"MASTER_SSL": 1, "MASTER_SSL_CA": str(self.certificates.ca), "MASTER_SSL_VERIFY_SERVER_CERT": 1}

    @property
    def s3_endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.s3}"

    @property
    def slack_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.slack}/services/sandbox"

    @property
    def slack_record(self) -> Path:
        return self.directory / "run" / "slack-posts.jsonl"

    # -- lifecycle -------------------------------------------------------------------------------

    def up(self, rows: int = 300_000, airflow: bool = True) -> dict[str, Any]:
        """Start everything that is not running, load the sample data once, create the Airflow connections; the
        state's ``s3_store`` says whether the S3 store kept its data (``sandbox.store_marker``)."""
        self.check_ports()
        keys = self.secrets()
        self._ensure_certificates()
        for server in (self.primary, self.replica):
            server.initialize()
            server.start()
        # Users are created on each server with sql_log_bin=0: MariaDB logs CREATE/ALTER USER with the
        # password in plain text, and binlogs end up in backups' catch-up segments and the binlog archive.
        for server in (self.primary, self.replica):  # on both: after a failover drill the replica is the primary
            server.ensure_user("drdrill_repl", keys["replication"], REPLICATION_GRANTS, binlog=False)
            server.ensure_user("drdrill_backup", keys["backup"], BACKUP_GRANTS + FAILOVER_GRANTS, binlog=False)
            ensure_app_user(server, "shop_app", keys["app"], binlog=False)
        self._put_roles_back(keys)
        with contextlib.closing(self.replica.root_connect()) as conn:
            status = replication_status(conn)
        following = status.get("Slave_IO_Running") == "Yes" and status.get("Slave_SQL_Running") == "Yes" \
            and int(status.get("Master_Port") or 0) == self.ports.primary \
            and (status.get("Master_SSL_Allowed") == "Yes" or not self.tls)
        if not following:  # a new replica starts from the beginning; an existing one keeps its GTID position
            start_gtid_replica(self.replica, self.replication_endpoint(), gtid_slave_pos=None if status else "",
                               link=self.replication_link)
        with contextlib.closing(self.primary.root_connect()) as conn:
            create_shop_schema(conn)
            counts = load_shop_data(conn, rows=rows)
        self._start_s3()
        kept = check_store_kept(S3ObjectStore(self.s3_client(), S3_BUCKET), self.directory / "s3-marker.json")
        self._start_slack_sink()
        self._start_heartbeat()
        if airflow:
            install_airflow_connections(self.airflow_connections())
        state = self.status()
        state["rows"] = counts
        state["s3_store"] = {"state": kept.state, "message": kept.message}
        (self.directory / "state.json").write_text(json.dumps(state, indent=2, default=str))
        return state

    def _put_roles_back(self, keys: dict[str, str]) -> None:
        """Undo what a failover drill that did not finish left: the primary writable, not replicating.

        A primary replicating from the replica is switched back; a read-only primary the replica still follows
        takes writes again. A replica that took writes the primary never got is refused (a failed fail-back).
        """
        primary, replica = self.backup_endpoint(self.primary), self.backup_endpoint(self.replica)
        on_primary, on_replica = state_of(primary), state_of(replica)
        if on_primary.is_replica:
            reconnect_replica(primary, 60)  # the switchover waits for it to catch up
            switchover(replica, primary, self.replication_endpoint(), 60, link=self.replication_link)
        elif on_replica.wrote_beyond_replication:
            raise DrdrillError(
                f"The sandbox replica (port {self.ports.replica}) has writes the primary (port {self.ports.primary}) "
                "never received: a failover drill promoted it and could not fail back.",
                "start afresh: drdrill sandbox down --purge, then drdrill sandbox up.")
        elif on_primary.read_only:
            set_read_only(primary, False)

    def _ensure_certificates(self) -> None:
        """With ``tls``: make the CA and the servers' certificate once; servers already running without them are
        refused (they would keep taking plain-text logins)."""
        if not self.tls or self.certificates.exist():
            return
        if self.primary.is_running() or self.replica.is_running():
            raise DrdrillError("The sandbox's servers run without TLS, so --tls cannot take effect now.",
                               "Stop them first (drdrill sandbox down), then drdrill sandbox up --tls.")
        make_certificates(self.certificates.ca.parent)

    def check_ports(self) -> None:
        """Before starting anything: every port of a component that is not running must be free."""
        for name, running, port in (
            ("MariaDB primary", self.primary.is_running(), self.ports.primary),
            ("MariaDB replica", self.replica.is_running(), self.ports.replica),
            ("S3 server", self.s3.pid() is not None, self.ports.s3),
            ("Slack sink", self.slack.pid() is not None, self.ports.slack),
        ):
            if not running:
                ensure_port_free(port, f"the sandbox's {name}", SANDBOX_PORT_FIX)

    def down(self, purge: bool = False) -> None:
        """Stop every component (heartbeat first); ``purge`` also deletes all sandbox data."""
        self.heartbeat.stop()
        for server in (self.replica, self.primary):
            server.stop()
        self.s3.stop()
        self.slack.stop()
        if purge:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.tls = False  # the CA went with the directory

    def status(self) -> dict[str, Any]:
        """What runs where: ports, pids, datadirs, logs."""
        components: list[dict[str, Any]] = []
        for role, server in (("primary", self.primary), ("replica", self.replica)):
            components.append({"component": f"mariadb {role}", "running": server.is_running(), "pid": server.pid(),
                               "address": f"127.0.0.1:{server.spec.port}", "datadir": str(server.datadir),
                               "log": str(server.error_log)})
        for daemon, address in ((self.s3, self.s3_endpoint_url), (self.slack, self.slack_url), (self.heartbeat, "")):
            components.append({"component": daemon.name, "running": daemon.pid() is not None, "pid": daemon.pid(),
                               "address": address, "datadir": "", "log": str(daemon.log_file)})
        tls = {"on": self.tls, "ca": str(self.certificates.ca) if self.tls else None,
               "require_secure_transport": "ON" if self.tls else "OFF"}
        return {"directory": str(self.directory), "components": components,
                "connections": dict(CONNECTION_IDS), "bucket": S3_BUCKET, "tls": tls}

    # -- components ------------------------------------------------------------------------------

    def _start_s3(self) -> None:
        moto = Path(sys.executable).parent / "moto_server"
        if not moto.exists():
            raise DrdrillError(f"{moto} is not installed.", "Install the sandbox extra: pip install -e '.[sandbox]'.")
        self.s3.start([str(moto), "-H", "127.0.0.1", "-p", str(self.ports.s3)], ready=lambda: _http_ok(self.s3_endpoint_url))
        S3ObjectStore(self.s3_client(), S3_BUCKET).ensure_bucket()

    def s3_client(self) -> Any:
        """A boto3 client on the sandbox's S3 (for tests and set-up; drills use S3Hook)."""
        import boto3

        return boto3.client("s3", endpoint_url=self.s3_endpoint_url, aws_access_key_id="testing",
                            aws_secret_access_key="testing", region_name="us-east-1")

    def _start_slack_sink(self) -> None:
        argv = python_module_argv("drdrill.sandbox.slack_sink", "--port", str(self.ports.slack),
                                  "--record", str(self.slack_record))
        self.slack.start(argv, ready=lambda: port_open(self.ports.slack))

    def _start_heartbeat(self) -> None:
        option_file = self.directory / "run" / "heartbeat.cnf"
        option_file.parent.mkdir(parents=True, exist_ok=True)
        endpoint = self.app_endpoint()
        fd = os.open(option_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(endpoint.option_text())
        argv = python_module_argv("drdrill.sandbox.heartbeat", "--defaults-file", str(option_file),
                                  "--port", str(self.ports.primary), "--interval", "1")
        self.heartbeat.start(argv, ready=lambda: True)

    def airflow_connections(self) -> dict[str, dict[str, Any]]:
        """The Airflow connections for the sandbox target, in ``airflow connections import`` form (with ``tls``
        the drill's own logins have the ``ssl`` extra: the sandbox's CA)."""
        keys = self.secrets()
        ssl = {"extra": json.dumps({"ssl": {"ca": str(self.certificates.ca)}})} if self.tls else {}

        def mysql(port: int, login: str, password: str, **more: Any) -> dict[str, Any]:
            return {"conn_type": "mysql", "host": "127.0.0.1", "port": port, "login": login, "password": password,
                    **more}

        return {
            CONNECTION_IDS["primary"]: mysql(self.ports.primary, "drdrill_backup", keys["backup"], **ssl),
            CONNECTION_IDS["replica"]: mysql(self.ports.replica, "drdrill_backup", keys["backup"], **ssl),
            CONNECTION_IDS["canary"]: mysql(self.ports.primary, "shop_app", keys["app"], schema="shop", **ssl),
            # only its user and password are used: the replica's link has its own TLS settings
            CONNECTION_IDS["replication"]: mysql(self.ports.primary, "drdrill_repl", keys["replication"]),
            CONNECTION_IDS["s3"]: {"conn_type": "aws", "login": "testing", "password": "testing",
                                   "extra": json.dumps({"endpoint_url": self.s3_endpoint_url, "region_name": "us-east-1"})},
            CONNECTION_IDS["slack"]: {"conn_type": "slackwebhook", "password": self.slack_url},
        }


def install_airflow_connections(connections: dict[str, dict[str, Any]]) -> None:
    """``airflow db migrate`` then import the connections (from a 0600 file: no secret in argv)."""
    from drdrill.airflow.connections import import_connections

    subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], check=True, capture_output=True)
    import_connections(connections)


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except Exception:
        return False
