"""``drdrill sandbox up --tls`` as a user runs it, on its own ports, directory and Airflow home: the servers refuse
plain-text logins (require_secure_transport=ON), replicate over verified TLS, and every drill's CLI (backup, restore,
PITR, failover), the binlog archive (mariadb-binlog over TLS), the streamer and the RPO monitor are green against it;
with a wrong CA each of them is TLS_VERIFY_FAILED (or, for the streamer, stops with the verify failure) and the
failover drill touches nothing."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pymysql
import pytest
import yaml

from drdrill.drills.archive import monitor
from drdrill.drills.archive import steps as archive_steps
from drdrill.drills.layouts import binlog_layout
from drdrill.endpoints import TLSSettings
from drdrill.errors import TLSFailed
from drdrill.findings import DrillFailed
from drdrill.sandbox.stack import CONNECTION_IDS, Sandbox
from drdrill.servers.certificates import self_signed_ca
from drdrill.servers.replication import replication_status
from drdrill.storage.binlog import archive as binlog_archive
from drdrill.storage.binlog.index import list_archive
from tests.helpers.drill_helpers import shop_target, store_for, write_on_source
from tests.helpers.sandbox_ports import free_base

pytestmark = pytest.mark.integration
DRDRILL = str(Path(sys.executable).parent / "drdrill")


@dataclasses.dataclass
class TLSSandbox:
    """The running TLS sandbox, the environment its CLI runs in, and a CA that signed none of its certificates."""

    box: Sandbox
    env: dict[str, str]
    wrong_ca: Path

    @property
    def handle(self) -> Any:
        return SimpleNamespace(sandbox=self.box)  # what tests.helpers.drill_helpers take

    def run(self, *args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run([DRDRILL, *args], capture_output=True, text=True, env={**self.env, **(env or {})},
                              timeout=timeout)

    def drill(self, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
        """``drdrill <args> --json``: its record (exit 0 passed, 1 red)."""
        done = self.run(*args, "--json", env=env)
        assert done.returncode in (0, 1), f"exit {done.returncode}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
        return json.loads(done.stdout)

    def wrong(self, role: str) -> dict[str, str]:
        """The AIRFLOW_CONN_* variable that gives connection ``role`` the wrong CA (everything else as set up)."""
        connection = dict(self.box.airflow_connections()[CONNECTION_IDS[role]])
        connection["extra"] = json.dumps({"ssl": {"ca": str(self.wrong_ca)}})
        return {f"AIRFLOW_CONN_{CONNECTION_IDS[role].upper()}": json.dumps(connection)}


@pytest.fixture(scope="module")
def tls_sandbox() -> Iterator[TLSSandbox]:
    """``drdrill sandbox up --tls`` in a directory, on ports and with an Airflow home and config of its own."""
    directory = Path(tempfile.mkdtemp(prefix="drd-tls-"))  # short: the servers' sockets live below it
    session_config = yaml.safe_load(Path(os.environ["DRDRILL_CONFIG"]).read_text())
    session_config["settings"].update(history_url=f"sqlite:///{directory}/history.sqlite", work_dir=str(directory / "work"))
    (directory / "drills.yaml").write_text(yaml.safe_dump(session_config))
    base = free_base()
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW_CONN_")}
    env.update(DRDRILL_SANDBOX_DIR=str(directory / "sb"), DRDRILL_SANDBOX_PORT_BASE=str(base),
               AIRFLOW_HOME=str(directory / "airflow"), DRDRILL_CONFIG=str(directory / "drills.yaml"))
    wrong_ca, _ = self_signed_ca(directory / "wrong", "wrong-ca")
    handle = TLSSandbox(Sandbox(directory=directory / "sb", port_base=base), env, wrong_ca)
    try:
        done = handle.run("sandbox", "up", "--tls", "--rows", "2000", "--json", timeout=300)
        assert done.returncode == 0, f"sandbox up --tls failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}"
        handle.box = Sandbox(directory=directory / "sb", port_base=base)  # as `status` sees it: TLS from its files
        yield handle
    finally:
        handle.run("sandbox", "down", "--purge", "--json", timeout=300)
        shutil.rmtree(directory, ignore_errors=True)


def test_the_tls_sandbox_refuses_plain_text_logins_and_replicates_over_verified_tls(tls_sandbox) -> None:
    box = tls_sandbox.box
    status = json.loads(tls_sandbox.run("sandbox", "status", "--json").stdout)
    assert status["tls"] == {"on": True, "ca": str(box.certificates.ca), "require_secure_transport": "ON"}
    assert "TLS on: require_secure_transport=ON" in tls_sandbox.run("sandbox", "status").stdout
    for server in (box.primary, box.replica):
        assert server.root_endpoint().fetch_all("SELECT @@require_secure_transport")[0][0] == 1
        login = box.backup_endpoint(server)
        assert login.fetch_all("SHOW SESSION STATUS LIKE 'Ssl_cipher'")[0][1], "the TLS login is not encrypted"
        with pytest.raises(pymysql.OperationalError):  # the same login in plain text is refused
            dataclasses.replace(login, tls=None).connect()
    with contextlib.closing(box.replica.root_connect()) as connection:
        link = replication_status(connection)
    assert (link["Slave_IO_Running"], link["Slave_SQL_Running"]) == ("Yes", "Yes")
    assert (link["Master_SSL_Allowed"], link["Master_SSL_CA_File"], link["Master_SSL_Verify_Server_Cert"]) == \
        ("Yes", str(box.certificates.ca), "Yes")
    connections = box.airflow_connections()
    for role in ("primary", "replica", "canary"):
        assert json.loads(connections[CONNECTION_IDS[role]]["extra"]) == {"ssl": {"ca": str(box.certificates.ca)}}


def test_every_drill_is_green_over_tls(tls_sandbox, tmp_path: Path) -> None:
    box, target = tls_sandbox.box, shop_target()
    store = store_for(tls_sandbox.handle, target)
    assert tls_sandbox.drill("backup", "shop")["verdict"] == "passed"
    restored = tls_sandbox.drill("restore", "shop")  # into its own scratch server, reached over its loopback
    assert (restored["verdict"], restored["findings"]) == ("passed", [])

    write_on_source(tls_sandbox.handle, 3)
    archived = archive_steps.archive(target, box.backup_endpoint(), store, work_dir=tmp_path / "archive")
    assert archived["uploaded"] and archived["findings"] == []  # each file fetched by mariadb-binlog over TLS
    pitr = tls_sandbox.drill("pitr", "shop")
    assert (pitr["verdict"], pitr["findings"]) == ("passed", []), pitr["findings"]

    layout, key = binlog_layout(target), archived["server_key"]
    before = len(list_archive(store, layout, key))
    streamer = subprocess.Popen([DRDRILL, "stream", "shop", "--json", "--poll-interval", "0.2"], env=tls_sandbox.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while len(list_archive(store, layout, key)) <= before and time.monotonic() < deadline:
            write_on_source(tls_sandbox.handle, 1)
            box.primary.root_endpoint().fetch_all("FLUSH BINARY LOGS")  # the streamed file completes
            time.sleep(1)
    finally:
        streamer.send_signal(signal.SIGINT)
        out, err = streamer.communicate(timeout=60)
    assert streamer.returncode == 0, err[-3000:]
    assert json.loads(out)["uploaded"], err[-3000:]  # streamed over TLS and archived

    sample = monitor.sample_rpo(target, box.backup_endpoint(), store, signing_key=None, now=datetime.now(timezone.utc))
    assert sample["findings"] == [] and sample["archive_lag_seconds"] is not None, sample

    failover = tls_sandbox.drill("failover", "shop")  # the source and replica logins, canary, promote, fail back
    assert (failover["verdict"], failover["findings"]) == ("passed", []), failover["findings"]
    assert box.backup_endpoint().fetch_all("SELECT @@read_only")[0][0] == 0  # put back: the primary takes writes


def _tls_failed(record: dict[str, Any], wrong_ca: Path) -> None:
    codes = [finding["code"] for finding in record["findings"]]
    assert record["verdict"] == "failed" and "TLS_VERIFY_FAILED" in codes, record["findings"]
    finding = next(finding for finding in record["findings"] if finding["code"] == "TLS_VERIFY_FAILED")
    assert str(wrong_ca) in finding["message"] and "ssl.ca" in finding["fix"], finding


def test_a_wrong_ca_is_tls_verify_failed_in_every_drill_and_the_failover_touches_nothing(tls_sandbox,
                                                                                         tmp_path: Path) -> None:
    box, target, wrong_ca = tls_sandbox.box, shop_target(), tls_sandbox.wrong_ca
    store = store_for(tls_sandbox.handle, target)
    _tls_failed(tls_sandbox.drill("backup", "shop", env=tls_sandbox.wrong("primary")), wrong_ca)
    _tls_failed(tls_sandbox.drill("pitr", "shop", env=tls_sandbox.wrong("primary")), wrong_ca)
    pids = (box.primary.pid(), box.replica.pid())
    for role in ("replica", "canary"):  # the source connection must be the metastore's (the drill redirects it)
        _tls_failed(tls_sandbox.drill("failover", "shop", env=tls_sandbox.wrong(role)), wrong_ca)
    assert (box.primary.pid(), box.replica.pid()) == pids  # no fault was injected
    assert box.backup_endpoint().fetch_all("SELECT @@read_only")[0][0] == 0

    wrong = dataclasses.replace(box.backup_endpoint(), tls=TLSSettings(ca=str(wrong_ca)))
    with pytest.raises(DrillFailed) as archiving:
        archive_steps.archive(target, wrong, store, work_dir=tmp_path / "archive")
    _tls_failed({"verdict": "failed", "findings": [f.to_dict() for f in archiving.value.findings]}, wrong_ca)
    first_file = box.backup_endpoint().fetch_all("SHOW BINARY LOGS")[0][0]
    (tmp_path / "fetch").mkdir()
    with pytest.raises(TLSFailed, match="mariadb-binlog") as fetching:  # the tool's own login, past PyMySQL's
        binlog_archive._fetch_raw(wrong, first_file, tmp_path / "fetch")
    assert str(wrong_ca) in fetching.value.problem and "ssl.ca" in (fetching.value.fix or "")

    sample = monitor.sample_rpo(target, wrong, store, signing_key=None, now=datetime.now(timezone.utc))
    _tls_failed({"verdict": "failed", "findings": sample["findings"]}, wrong_ca)

    streamed = tls_sandbox.run("stream", "shop", "--json", env=tls_sandbox.wrong("primary"), timeout=120)
    assert streamed.returncode == 2, streamed.stderr[-2000:]  # stops at once: never retried, never plain text
    refused = json.loads(streamed.stdout)
    assert "does not verify against the CA" in refused["error"] and str(wrong_ca) in refused["error"], refused
