"""``drdrill.sandbox.stack``: the sandbox's ports, paths, secrets and Airflow connections, with no server started.

``up`` (servers, replication, S3, Slack sink, heartbeat) and putting roles back after a failover drill are in
``tests/integration/test_sandbox.py`` and ``tests/integration/test_cli.py``.
"""

from __future__ import annotations

import json
import socket
import stat
from pathlib import Path

import pytest

from drdrill.airflow.connections import environment_variable, mysql_endpoint, object_store
from drdrill.config import Storage
from drdrill.errors import DrdrillError, PortInUseError
from drdrill.sandbox.stack import (
    CONNECTION_IDS,
    DEFAULT_PORT_BASE,
    S3_BUCKET,
    Sandbox,
    SandboxPorts,
)
from tests.helpers.sandbox_ports import free_base

pytestmark = pytest.mark.unit


def test_the_four_ports_follow_the_base() -> None:
    assert SandboxPorts.from_base(23070) == SandboxPorts(primary=23071, replica=23072, s3=23073, slack=23074)


def test_components_live_under_the_directory_on_the_ports(tmp_path: Path) -> None:
    box = Sandbox(directory=tmp_path / "sb", port_base=30000)
    assert box.directory == (tmp_path / "sb").resolve()
    assert (box.primary.spec.port, box.replica.spec.port) == (30001, 30002)
    assert (box.primary.spec.server_id, box.replica.spec.server_id) == (1, 2)
    assert (box.primary.spec.read_only, box.replica.spec.read_only) == (False, True)
    assert box.primary.spec.base_dir == box.directory / "primary" and box.replica.spec.base_dir == box.directory / "replica"
    assert (box.s3.port, box.slack.port, box.heartbeat.port) == (30003, 30004, None)
    assert {box.s3.directory, box.slack.directory, box.heartbeat.directory} == {box.directory / "run"}
    assert box.s3_endpoint_url == "http://127.0.0.1:30003"
    assert box.slack_url == "http://127.0.0.1:30004/services/sandbox"
    assert box.slack_record == box.directory / "run" / "slack-posts.jsonl"


def test_a_bigger_buffer_pool_brings_a_bigger_redo_log(tmp_path: Path) -> None:
    assert Sandbox(directory=tmp_path, port_base=30000).primary.spec.extra == {}
    big = Sandbox(directory=tmp_path, port_base=30000, buffer_pool="1G")
    for server in (big.primary, big.replica):
        assert server.spec.buffer_pool == "1G" and server.spec.extra == {"innodb_log_file_size": "512M"}


def test_directory_and_ports_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRDRILL_SANDBOX_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("DRDRILL_SANDBOX_PORT_BASE", "31000")
    box = Sandbox()
    assert box.directory == (tmp_path / "env").resolve() and box.ports.primary == 31001
    monkeypatch.delenv("DRDRILL_SANDBOX_PORT_BASE")
    assert Sandbox().ports == SandboxPorts.from_base(DEFAULT_PORT_BASE)


def test_secrets_are_generated_once_into_a_private_file_and_reused(tmp_path: Path) -> None:
    box = Sandbox(directory=tmp_path / "sb", port_base=30000)
    keys = box.secrets()
    assert set(keys) == {"backup", "replication", "app"} and len(set(keys.values())) == 3
    assert all(len(value) >= 20 for value in keys.values())
    assert stat.S_IMODE(box.secrets_file.stat().st_mode) == 0o600
    assert Sandbox(directory=tmp_path / "sb", port_base=30000).secrets() == keys
    assert Sandbox(directory=tmp_path / "other", port_base=30000).secrets() != keys


def test_the_drill_and_app_logins_use_the_generated_passwords(tmp_path: Path) -> None:
    box = Sandbox(directory=tmp_path, port_base=30000)
    keys = box.secrets()
    backup, on_replica, app = box.backup_endpoint(), box.backup_endpoint(box.replica), box.app_endpoint()
    assert (backup.user, backup.password, backup.port) == ("drdrill_backup", keys["backup"], 30001)
    assert on_replica.port == 30002
    assert (app.user, app.password, app.database) == ("shop_app", keys["app"], "shop")


def test_the_airflow_connections_resolve_to_the_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    box = Sandbox(directory=tmp_path, port_base=30000)
    connections = box.airflow_connections()
    assert set(connections) == set(CONNECTION_IDS.values())
    for conn_id, value in connections.items():
        monkeypatch.setenv(environment_variable(conn_id), json.dumps(value))
    keys = box.secrets()
    assert mysql_endpoint(CONNECTION_IDS["primary"]) == box.backup_endpoint()
    assert mysql_endpoint(CONNECTION_IDS["replica"]) == box.backup_endpoint(box.replica)
    canary = mysql_endpoint(CONNECTION_IDS["canary"])
    assert (canary.user, canary.password, canary.port) == ("shop_app", keys["app"], 30001)
    assert mysql_endpoint(CONNECTION_IDS["replication"]).password == keys["replication"]
    store = object_store(Storage(conn_id=CONNECTION_IDS["s3"], bucket=S3_BUCKET))
    assert store.client.meta.endpoint_url == box.s3_endpoint_url
    assert connections[CONNECTION_IDS["slack"]] == {"conn_type": "slackwebhook", "password": box.slack_url}


def test_a_tls_sandbox_gives_its_servers_and_logins_its_ca_and_stays_tls_until_purged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = Sandbox(directory=tmp_path, port_base=30000)
    assert (plain.tls, plain.client_tls, plain.replication_link, plain.status()["tls"]["on"]) == (False, None, {}, False)
    assert "require_secure_transport" not in plain.primary.render_defaults()
    box = Sandbox(directory=tmp_path, port_base=30000, tls=True)
    monkeypatch.setattr(box.primary, "is_running", lambda: True)
    with pytest.raises(DrdrillError, match="run without TLS"):  # a running plain server would keep plain logins
        box._ensure_certificates()
    monkeypatch.undo()
    box._ensure_certificates()
    ca = str(box.certificates.ca)
    for server in (box.primary, box.replica):
        assert "require_secure_transport=ON" in server.render_defaults() and f"ssl_ca={ca}" in server.render_defaults()
    assert box.replication_link == {"MASTER_SSL": 1, "MASTER_SSL_CA": ca, "MASTER_SSL_VERIFY_SERVER_CERT": 1}
    assert box.status()["tls"] == {"on": True, "ca": ca, "require_secure_transport": "ON"}
    for conn_id, value in box.airflow_connections().items():
        monkeypatch.setenv(environment_variable(conn_id), json.dumps(value))
    assert mysql_endpoint(CONNECTION_IDS["primary"]) == box.backup_endpoint() and box.backup_endpoint().tls.ca == ca
    assert mysql_endpoint(CONNECTION_IDS["canary"]).tls == box.app_endpoint().tls == box.client_tls
    assert mysql_endpoint(CONNECTION_IDS["replication"]).tls is None  # only its user and password are used
    again = Sandbox(directory=tmp_path, port_base=30000)  # status, or up without --tls: the CA is there
    assert again.tls and "require_secure_transport=ON" in again.primary.render_defaults()
    again.down(purge=True)
    assert not again.tls and not Sandbox(directory=tmp_path, port_base=30000).tls


def test_status_of_a_sandbox_that_never_started(tmp_path: Path) -> None:
    box = Sandbox(directory=tmp_path, port_base=30000)
    state = box.status()
    assert (state["directory"], state["connections"], state["bucket"]) == (str(box.directory), CONNECTION_IDS, S3_BUCKET)
    assert [(c["component"], c["running"], c["pid"], c["address"]) for c in state["components"]] == [
        ("mariadb primary", False, None, "127.0.0.1:30001"), ("mariadb replica", False, None, "127.0.0.1:30002"),
        ("s3", False, None, "http://127.0.0.1:30003"), ("slack", False, None, "http://127.0.0.1:30004/services/sandbox"),
        ("heartbeat", False, None, "")]
    json.dumps(state)


def test_check_ports_passes_when_free_and_names_the_component_whose_port_is_taken(tmp_path: Path) -> None:
    base = free_base()
    box = Sandbox(directory=tmp_path, port_base=base)
    box.check_ports()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", box.ports.s3))
        holder.listen()
        with pytest.raises(PortInUseError) as caught:
            box.check_ports()
    assert f"Port {box.ports.s3}" in caught.value.problem and "the sandbox's S3 server" in caught.value.problem
    assert "DRDRILL_SANDBOX_PORT_BASE" in (caught.value.fix or "")


def test_down_of_a_stopped_sandbox_is_quiet_and_purge_deletes_its_data(tmp_path: Path) -> None:
    box = Sandbox(directory=tmp_path / "sb", port_base=30000)
    box.secrets()
    box.down()
    assert box.secrets_file.exists()
    box.down(purge=True)
    assert not box.directory.exists()
