"""drdrill's own logins over TLS, against a real server with require_secure_transport=ON (a self-signed CA made with
openssl): with the right CA the backup preflight, the dump (mariadb-dump, mariabackup, mydumper), the manifest's
source facts and mariadb-binlog's catch-up segment log in over TLS (Ssl_cipher set), the backup verifies and a
restore drill of it passes; with a wrong CA each of those logins is TLS_VERIFY_FAILED (red) and nothing is stored;
without TLS settings the server refuses the login and the finding says why; a TLS login to a server without TLS is
refused too, never a silent plain-text session."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from drdrill.drills.backup import steps as backup
from drdrill.drills.layouts import layout_for
from drdrill.endpoints import MySQLEndpoint, TLSSettings
from drdrill.errors import TLSFailed
from drdrill.findings import DrillFailed
from drdrill.sandbox.heartbeat import beat_once
from drdrill.sandbox.sample_data import create_shop_schema, load_shop_data
from drdrill.servers.grants import BACKUP_GRANTS
from drdrill.storage.catalog import list_backups
from drdrill.storage.layout import target_root
from drdrill.storage.manifest import Manifest
from drdrill.storage.s3 import S3ObjectStore
from tests.helpers.drill_helpers import shop_target
from tests.helpers.tls_certs import TLSFiles, make_test_certificates

pytestmark = pytest.mark.integration
PASSWORD = "tls-test-backup-pw"


@pytest.fixture(scope="module")
def tls_server(mariadb_module_factory, tmp_path_factory) -> Iterator[tuple[Any, TLSFiles]]:
    """A server that speaks TLS only (require_secure_transport=ON), with the shop schema and the backup login."""
    certs = make_test_certificates(tmp_path_factory.mktemp("certs"))
    server = mariadb_module_factory("tlsprimary", tls=certs.server)
    with contextlib.closing(server.root_connect()) as connection:  # the unix socket: no TLS needed
        create_shop_schema(connection)
        load_shop_data(connection, rows=300)
    server.ensure_user("drd_backup", PASSWORD, BACKUP_GRANTS)
    yield server, certs


@pytest.fixture(scope="module")
def store(moto_s3):
    target = shop_target()
    moto_s3.client.create_bucket(Bucket=target.storage.bucket)
    return S3ObjectStore(moto_s3.client, target.storage.bucket)


def _source(tls_server, ca: Path | None) -> MySQLEndpoint:
    server, _ = tls_server
    return dataclasses.replace(server.endpoint("drd_backup", PASSWORD),
                               tls=TLSSettings(ca=str(ca)) if ca is not None else None)


def _preflight(target, source, store, work_dir: Path, engine: str) -> dict[str, Any]:
    return backup.preflight(target, source, store, work_dir=work_dir, started_at=datetime.now(timezone.utc),
                            engine_override=engine)


@pytest.mark.parametrize("engine", ["mariadb-dump", "mariabackup", "mydumper"])
def test_a_backup_over_tls_with_the_right_ca_verifies_and_a_wrong_ca_is_tls_verify_failed_at_every_login(
        tls_server, store, tmp_path: Path, engine: str) -> None:
    _, certs = tls_server
    target = dataclasses.replace(shop_target(), name=f"tls_{engine.replace('-', '_')}")
    source, wrong = _source(tls_server, certs.ca), _source(tls_server, certs.other_ca)
    try:
        with contextlib.closing(source.connect()) as connection, connection.cursor() as cursor:
            cursor.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
            assert cursor.fetchone()[1], "the right-CA session is not encrypted"

        with pytest.raises(DrillFailed) as refused:  # the preflight's PyMySQL login
            _preflight(target, wrong, store, tmp_path, engine)
        (finding,) = refused.value.findings
        assert finding.code == "TLS_VERIFY_FAILED" and finding.verdict == "failed", finding
        assert str(certs.other_ca) in finding.message and "ssl.ca" in finding.fix

        plan = _preflight(target, source, store, tmp_path, engine)
        with pytest.raises(DrillFailed) as dumped_wrong:  # the tool's own login, through its option file
            backup.dump_and_upload(dict(plan, backup_id=plan["backup_id"] + "w"), target, wrong, store,
                                   work_dir=tmp_path)
        assert [f.code for f in dumped_wrong.value.findings] == ["TLS_VERIFY_FAILED"], repr(dumped_wrong.value.findings[0].message)
        assert str(certs.other_ca) in dumped_wrong.value.findings[0].message

        dumped = backup.dump_and_upload(plan, target, source, store, work_dir=tmp_path)
        backup.write_manifest(plan, dumped, target, source, store, signing_key=None, work_dir=tmp_path)
        backup.verify(plan, target, store, signing_key=None)
        entries = list_backups(store, layout_for(target), signing_key=None)
        assert [(entry.backup_id, entry.is_valid) for entry in entries] == [(plan["backup_id"], True)]
    finally:
        store.delete_prefix(target_root(target.storage.prefix, target.name))


def test_without_tls_settings_the_server_refuses_the_login_and_the_finding_names_tls(tls_server, store,
                                                                                     tmp_path: Path) -> None:
    with pytest.raises(DrillFailed) as refused:
        _preflight(shop_target(), _source(tls_server, None), store, tmp_path, "mariadb-dump")
    (finding,) = refused.value.findings
    assert finding.code == "TARGET_UNAVAILABLE", finding
    assert "refused the login" in finding.message and "require_secure_transport=ON" in finding.message
    assert "ssl extra" in finding.fix


def test_a_tls_login_to_a_server_without_tls_is_refused_not_made_in_plain_text(mariadb_factory, tls_server) -> None:
    _, certs = tls_server
    plain = mariadb_factory("tlsplain")  # no ssl_cert: PyMySQL would log in in plain text without a word
    plain.ensure_user("drd_backup", PASSWORD, ["SELECT ON *.*"])
    source = dataclasses.replace(plain.endpoint("drd_backup", PASSWORD), tls=TLSSettings(ca=str(certs.ca)))
    with pytest.raises(TLSFailed, match="not encrypted"):
        source.connect()
    with contextlib.closing(dataclasses.replace(source, tls=None).connect()):  # the same login without TLS works
        pass


def test_a_restore_drill_reads_the_tls_source_with_the_right_ca_and_is_tls_verify_failed_with_a_wrong_one(
        tls_server, store, tmp_path: Path) -> None:
    from drdrill.drills.restore.form import RestoreOptions
    from drdrill.drills.restore.runner import RestoreServers, run_restore_drill

    server, certs = tls_server
    target = dataclasses.replace(shop_target(), name="tls_restore")
    source = _source(tls_server, certs.ca)
    with contextlib.closing(server.root_connect()) as connection:
        beat_once(connection, server.spec.server_id)  # the RPO measure's newest heartbeat in the backup
    try:
        plan = _preflight(target, source, store, tmp_path, "mariadb-dump")
        dumped = backup.dump_and_upload(plan, target, source, store, work_dir=tmp_path)
        with contextlib.closing(server.root_connect()) as connection:  # a write after the dump: the manifest's
            beat_once(connection, server.spec.server_id)              # catch-up segment comes from mariadb-binlog
        backup.write_manifest(plan, dumped, target, source, store, signing_key=None, work_dir=tmp_path)
        backup.verify(plan, target, store, signing_key=None)
        manifest = Manifest.from_json(store.get_bytes(layout_for(target).manifest_key(plan["backup_id"])) or b"")
        assert manifest.catchup is not None, "no binlog segment was captured over TLS"
        outcomes = {}
        for name, login in (("right", source), ("wrong", _source(tls_server, certs.other_ca))):
            record, findings = run_restore_drill(
                target, RestoreServers(source=login, replica=None, store=store),
                RestoreOptions(backup="backup_id", backup_id=plan["backup_id"]), work_dir=tmp_path / name,
                history_url=f"sqlite:///{tmp_path}/history.sqlite", run_id=f"test-tls-{name}",
                started_at=datetime.now(timezone.utc))
            outcomes[name] = (record.verdict, [finding.code for finding in findings])
        assert outcomes["right"] == ("passed", []), outcomes
        assert outcomes["wrong"][0] == "failed" and "TLS_VERIFY_FAILED" in outcomes["wrong"][1], outcomes
    finally:
        store.delete_prefix(target_root(target.storage.prefix, target.name))
