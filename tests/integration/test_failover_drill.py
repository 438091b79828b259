"""The failover drill's steps against a real primary + GTID replica: healthy, broken, lagging, lossy, failing."""

from __future__ import annotations

import contextlib
import dataclasses
import subprocess
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from drdrill.drills.failover.consistency import verify_consistency
from drdrill.drills.failover.fail_back import restore_topology
from drdrill.drills.failover.measure import judge
from drdrill.drills.failover.path import inject, run_dir, stop_canary
from drdrill.drills.failover.preflight import preflight
from drdrill.drills.failover.redirect import run_redirect_command
from drdrill.drills.failover.self_managed import SelfManagedPath, detect, fault_for, promote_replica
from drdrill.endpoints import MySQLEndpoint
from drdrill.errors import DrdrillError
from drdrill.findings import DrillFailed
from drdrill.servers.faults import ServerFault
from drdrill.servers.mariadb import LocalMariaDB
from drdrill.servers.replication import attach_replica, replication_status, wait_threads_running
from drdrill.servers.topology import state_of
from tests.helpers.failover_helpers import ADMIN_GRANTS, ADMIN_PASSWORD, direct_run, make_pair, run_steps, scalar

pytestmark = pytest.mark.integration


def _store(moto_s3):
    from drdrill.storage.s3 import S3ObjectStore

    store = S3ObjectStore(moto_s3.client, "failover-tests")
    store.ensure_bucket()
    return store


def _fail_over_and_back(servers, target, store, work_dir: Path, key: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    """The drill's step list in the DAG's order (the redirect hook included), then verify_consistency."""
    run, source = direct_run(target, servers, work_dir, f"run-{key}", store=store)
    path = SelfManagedPath(run)
    undone: list[dict] = []
    undo = ServerFault.undo
    monkeypatch.setattr(ServerFault, "undo", lambda fault: undone.append(undo(fault)) or undone[-1])
    try:
        results = run_steps(path)
        consistent = path.verify_consistency(results)
    finally:
        stop_canary(run.directory)
    return {"plan": results["preflight"], "hook": results["redirect"]["hook"], "undone": undone[0],
            "lost": results["measure"]["lost"], "measured": results["measure"], "back": results["fail_back"],
            "consistent": consistent, "source": source}


def test_healthy_failover_promotes_measures_and_restores_the_topology(mariadb_factory, moto_s3, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    pair = make_pair(mariadb_factory, tmp_path)
    for server in (pair.primary, pair.replica):
        server.ensure_user("repl", "Repl-Secret-33", ["REPLICATION SLAVE ON *.*"], binlog=False)
    servers = dataclasses.replace(pair.servers, replication=pair.primary.endpoint("repl", "Repl-Secret-33"))
    done = _fail_over_and_back(servers, pair.target, _store(moto_s3), tmp_path, "healthy", monkeypatch)
    measured, lost, back, consistent = done["measured"], done["lost"], done["back"], done["consistent"]
    assert measured["findings"] == []
    assert 0 < measured["promotion_seconds"] <= measured["rto_seconds"] < measured["rto_objective_seconds"]
    assert lost["lost_transaction_count"] == 0 and lost["canary_rows_lost"] == 0
    assert back["roles"] == "original"
    assert consistent["tables_compared"] == 2
    assert scalar(pair.replica, "SELECT @@read_only") == 1
    assert scalar(pair.primary, "SELECT @@read_only") == 0
    with contextlib.closing(pair.replica.root_connect()) as conn:
        assert replication_status(conn)["Master_User"] == "repl"  # the replication login, not the drill's


def test_shutdown_fault_and_the_redirect_hook(mariadb_factory, moto_s3, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    hook_saw, moves = tmp_path / "hook.env", tmp_path / "hook.moves"
    pair = make_pair(mariadb_factory, tmp_path, fault="shutdown", redirect_command=(
        f"sh -c 'env >> {hook_saw}; echo $DRDRILL_NEW_PRIMARY_PORT $DRDRILL_OLD_PRIMARY_PORT >> {moves}'"))
    pid_before = pair.primary.pid()

    done = _fail_over_and_back(pair.servers, pair.target, _store(moto_s3), tmp_path, "shutdown", monkeypatch)

    assert "SHUTDOWN statement sent to" in fault_for(pair.target, pair.servers, done["plan"], tmp_path).describe()
    assert done["undone"] == {"restarted": True, "how": "same command line, read-only"}
    assert pair.primary.pid() != pid_before  # it really went down and was started again
    assert done["measured"]["findings"] == [] and done["back"]["roles"] == "original"
    assert done["hook"]["command"] == "sh"
    primary, replica = str(pair.servers.primary.port), str(pair.servers.replica.port)
    # the redirect points clients at the new primary, the switch back points them back
    assert moves.read_text().splitlines() == [f"{replica} {primary}", f"{primary} {replica}"]
    assert [move["port"] for move in done["source"].moves] == [pair.servers.replica.port, pair.servers.primary.port]
    assert ADMIN_PASSWORD not in hook_saw.read_text()  # the hook gets addresses, never the drill's password


def _self_signed_certificate(directory: Path) -> dict[str, str]:
    """A certificate for 127.0.0.1 that is its own CA, as server options."""
    key, cert = directory / "server-key.pem", directory / "server-cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return {"ssl-ca": str(cert), "ssl-cert": str(cert), "ssl-key": str(key)}


@pytest.mark.parametrize("switch_back", [True, False])
def test_the_replication_link_keeps_tls_and_its_connect_retry_through_the_drill(mariadb_factory, moto_s3, tmp_path: Path,
                                                                               switch_back: bool,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A replication login that REQUIRES SSL: every link the drill makes uses TLS, the replica's own comes back."""
    tls = _self_signed_certificate(tmp_path)
    pair = make_pair(mariadb_factory, tmp_path, server_options=tls, switch_back=switch_back)
    for server in (pair.primary, pair.replica):
        server.ensure_user("repl", "Repl-Secret-33", ["REPLICATION SLAVE ON *.*"], binlog=False)
        with contextlib.closing(server.root_connect()) as conn, conn.cursor() as cur:
            cur.execute("SET SESSION sql_log_bin = 0")
            cur.execute("ALTER USER 'repl'@'127.0.0.1' REQUIRE SSL")
    original = {"MASTER_SSL": 1, "MASTER_SSL_CA": tls["ssl-ca"], "MASTER_SSL_VERIFY_SERVER_CERT": 1,
                "MASTER_CONNECT_RETRY": 7}
    with contextlib.closing(pair.replica.root_connect()) as conn:
        attach_replica(conn, pair.primary.endpoint("repl", "Repl-Secret-33"), None, "replica", 30, original)
    servers = dataclasses.replace(pair.servers, replication=pair.primary.endpoint("repl", "Repl-Secret-33"))
    done = _fail_over_and_back(servers, pair.target, _store(moto_s3), tmp_path, "tls", monkeypatch)
    assert done["plan"]["replica_state"]["link"] == original
    if switch_back:  # the replica's link is the one it had, certificate checks included
        assert done["back"]["roles"] == "original"
        assert state_of(pair.servers.replica).link == original
    else:  # the old primary replicates from the promoted replica over TLS, without the replica's file paths
        assert done["back"]["roles"] == "swapped"
        assert state_of(pair.servers.primary).link == {
            "MASTER_SSL": 1, "MASTER_SSL_VERIFY_SERVER_CERT": 0, "MASTER_CONNECT_RETRY": 7}


def test_a_failing_redirect_hook_is_an_error_that_says_so(tmp_path: Path) -> None:
    endpoint = MySQLEndpoint("127.0.0.1", 1, "drill", ADMIN_PASSWORD)
    assert run_redirect_command(None, endpoint, endpoint) == {"command": None}
    with pytest.raises(DrdrillError, match="redirect_command") as caught:
        run_redirect_command("sh -c 'echo proxysql unreachable >&2; exit 3'", endpoint, endpoint)
    assert "proxysql unreachable" in str(caught.value)
    with pytest.raises(DrdrillError, match="redirect_command could not start '/nonexistent/repoint'"):
        run_redirect_command("/nonexistent/repoint --now", endpoint, endpoint)


def test_a_replication_login_missing_on_the_replica_is_refused_at_preflight(mariadb_factory, tmp_path: Path) -> None:
    pair = make_pair(mariadb_factory, tmp_path)
    pair.primary.ensure_user("repl", "Repl-Secret-33", ["REPLICATION SLAVE ON *.*"], binlog=False)
    servers = dataclasses.replace(pair.servers, replication=pair.primary.endpoint("repl", "Repl-Secret-33"))
    with pytest.raises(DrillFailed) as caught:
        preflight(pair.target, servers)
    assert _codes(caught) == ["CONFIG_INVALID"] and "cannot log in to the replica" in str(caught.value)
    assert "Repl-Secret-33" not in str(caught.value)
    pair.replica.ensure_user("repl", "Repl-Secret-33", ["REPLICATION SLAVE ON *.*"], binlog=False)
    preflight(pair.target, servers)  # on both servers: quiet



def _codes(caught) -> list[str]:
    return [finding.code for finding in caught.value.findings]


def test_stopped_replication_fails_preflight_without_touching_anything(mariadb_factory, tmp_path: Path) -> None:
    pair = make_pair(mariadb_factory, tmp_path)
    pid = pair.primary.pid()
    scalar(pair.replica, "STOP SLAVE")
    with pytest.raises(DrillFailed) as caught:
        preflight(pair.target, pair.servers)
    assert _codes(caught) == ["REPLICATION_BROKEN"]
    assert pair.primary.pid() == pid
    assert scalar(pair.primary, "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'drdrill_canary'") == 0
    assert scalar(pair.replica, "SELECT @@read_only") == 1


def test_replica_delayed_beyond_the_threshold_is_refused(mariadb_factory, tmp_path: Path) -> None:
    pair = make_pair(mariadb_factory, tmp_path)
    scalar(pair.replica, "STOP SLAVE")
    scalar(pair.replica, "CHANGE MASTER TO MASTER_DELAY = 60")
    scalar(pair.replica, "START SLAVE")
    scalar(pair.primary, "INSERT INTO drill.items VALUES (1000, 'late')")
    time.sleep(3)
    target = pair.with_settings(max_replica_lag=timedelta(seconds=1))
    with pytest.raises(DrillFailed) as caught:
        preflight(target, pair.servers)
    assert _codes(caught) == ["REPLICA_LAGGING"]
    assert caught.value.findings[0].evidence["seconds_behind"] >= 2
    # the same replica passes with a threshold above its delay: the check does not cry wolf
    assert preflight(pair.with_settings(max_replica_lag=timedelta(minutes=5)), pair.servers)["lag_seconds"] >= 2


@pytest.mark.parametrize(("lock", "says"), [
    (["FLUSH TABLES WITH READ LOCK"], "FLUSH TABLES WITH READ LOCK"),
    (["BACKUP STAGE START"], "BACKUP STAGE"),
    (["LOCK TABLES drill.items READ"], "SQL thread has been stuck"),
])
def test_a_replica_locked_by_another_session_fails_preflight(mariadb_factory, tmp_path: Path, lock: list[str],
                                                             says: str) -> None:
    pair = make_pair(mariadb_factory, tmp_path)
    preflight(pair.target, pair.servers)  # healthy: quiet
    with contextlib.closing(pair.replica.root_connect()) as holder, holder.cursor() as cur:
        for statement in lock:
            cur.execute(statement)
        scalar(pair.primary, "INSERT INTO drill.items VALUES (2000, 'blocked on the replica')")
        time.sleep(0.5)
        with pytest.raises(DrillFailed) as caught:
            preflight(pair.target, pair.servers)
        assert _codes(caught) == ["REPLICATION_BROKEN"]
        assert says in str(caught.value) and "Nothing was touched" in str(caught.value)
    scalar(pair.replica, "SELECT MASTER_GTID_WAIT(%s, 10)", (scalar(pair.primary, "SELECT @@gtid_binlog_pos"),))
    preflight(pair.target, pair.servers)  # lock released: quiet again
    assert scalar(pair.primary, "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'drdrill_canary'") == 0


def test_refuses_a_target_that_does_not_allow_failover_drills(mariadb_factory, tmp_path: Path) -> None:
    pair = make_pair(mariadb_factory, tmp_path)
    pid = pair.primary.pid()
    with pytest.raises(DrillFailed) as caught:
        preflight(dataclasses.replace(pair.target, allow_failover_drill=False), pair.servers)
    assert _codes(caught) == ["CONFIG_INVALID"] and "does not allow failover drills" in str(caught.value)
    assert pair.primary.pid() == pid


def test_cleanup_after_the_kill_reconnects_a_replica_that_waits_for_its_connect_retry(mariadb_factory, moto_s3,
                                                                                      tmp_path: Path) -> None:
    """Interrupted before promotion: the replica's IO thread would retry only after 60 s (the server default)."""
    pair = make_pair(mariadb_factory, tmp_path)
    with contextlib.closing(pair.replica.root_connect()) as replica:
        for statement in ("STOP SLAVE", "CHANGE MASTER TO MASTER_CONNECT_RETRY = 60", "START SLAVE"):
            scalar(pair.replica, statement)
        wait_threads_running(replica, "replica", 30)
        plan = preflight(pair.target, pair.servers)
        fault = fault_for(pair.target, pair.servers, plan, run_dir(tmp_path, "retry"))
        detect(pair.servers, inject(fault), 10)
        deadline = time.monotonic() + 10
        while replication_status(replica).get("Slave_IO_Running") != "Connecting":
            assert time.monotonic() < deadline, "the replica's IO thread never noticed the primary was down"
            time.sleep(0.05)
    began = time.monotonic()
    back = restore_topology(pair.target, pair.servers, fault, store=_store(moto_s3), save_key="retry/lost",
                                     work_dir=tmp_path)
    assert back["roles"] == "original" and "replication on the replica restarted" in back["actions"]
    consistent = verify_consistency(pair.target, pair.servers, expect_swapped=False)  # not 60 s later
    assert consistent["tables_compared"] == 1
    assert time.monotonic() - began < 30
    assert scalar(pair.primary, "SELECT @@read_only") == 0 and scalar(pair.replica, "SELECT @@read_only") == 1
    # healthy replication is left alone: nothing to restart
    assert "replication on the replica restarted" not in restore_topology(
        pair.target, pair.servers, fault, store=_store(moto_s3), save_key="retry/lost", work_dir=tmp_path)["actions"]


def test_a_promotion_that_never_took_a_write_is_undone_even_without_switch_back(mariadb_factory, moto_s3,
                                                                                 tmp_path: Path) -> None:
    pair = make_pair(mariadb_factory, tmp_path, switch_back=False)
    plan = preflight(pair.target, pair.servers)
    fault = fault_for(pair.target, pair.servers, plan, run_dir(tmp_path, "half"))
    detect(pair.servers, inject(fault), 10)
    with pytest.raises(DrillFailed) as caught:  # no canary table on the replica: its promotion write fails
        promote_replica(pair.servers, plan, pair.target.failover_drill)
    assert _codes(caught) == ["PROMOTION_FAILED"]

    back = restore_topology(pair.target, pair.servers, fault, store=_store(moto_s3), save_key="half/lost",
                                     work_dir=tmp_path, link=plan["replica_state"]["link"])

    assert back["roles"] == "original", back
    assert verify_consistency(pair.target, pair.servers, expect_swapped=False)["tables_compared"] == 1
    assert state_of(pair.servers.replica).link == plan["replica_state"]["link"]


def _fail_over_with_replica_cut_off(pair, tmp_path: Path, store_key: str, moto_s3):
    """Cut the replica's IO thread, let the canary write on, kill, promote, measure; stop before the fail-back."""
    run, _ = direct_run(pair.target, pair.servers, tmp_path, store_key, store=_store(moto_s3))
    path = SelfManagedPath(run)
    reached: list[int] = []

    def cut_off_the_replica() -> None:
        time.sleep(0.3)
        scalar(pair.replica, "STOP SLAVE IO_THREAD")
        reached.append(scalar(pair.replica, "SELECT COUNT(*) FROM drill.drdrill_canary"))
        # one big transaction: ~100 KB of rows, several rows events (a single event hid a flashback bug)
        scalar(pair.primary, "INSERT INTO drill.items SELECT id + 1000, REPEAT('x', 300) FROM drill.items")
        time.sleep(0.5)

    results = run_steps(path, before={"inject_fault": cut_off_the_replica}, until="fail_back")
    # restarted read-only by measure, the old primary took no canary row since
    on_old_primary = scalar(pair.primary, "SELECT COUNT(*) FROM drill.drdrill_canary WHERE server_id = 1")
    plan = results["preflight"]
    return (plan, path.fault(plan), results["inject_fault"], results["promote"], results["measure"]["lost"],
            run.directory, reached[0], on_old_primary)


def _fetch(server: LocalMariaDB, sql: str) -> list[tuple[Any, ...]]:
    with contextlib.closing(server.root_connect()) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return list(cur.fetchall())


def _group_sizes_from_server(server: LocalMariaDB) -> dict[str, int]:
    """Bytes of each GTID's events (GTID event to its Xid/COMMIT), from SHOW BINLOG EVENTS on ``server``."""
    sizes: dict[str, int] = {}
    for file, *_ in _fetch(server, "SHOW BINARY LOGS"):
        gtid, start, transaction = None, 0, False
        for _, pos, kind, _, end, info in _fetch(server, f"SHOW BINLOG EVENTS IN '{file}'"):
            if kind == "Gtid":
                gtid, start, transaction = str(info).split()[-1], int(pos), str(info).startswith("BEGIN")
            elif gtid is not None:
                sizes[gtid] = int(end) - start
                if kind == "Xid" or (kind == "Query" and (str(info) == "COMMIT" or not transaction)):
                    gtid = None
    return sizes


def test_lost_writes_are_counted_exactly_and_errant_transactions_are_rolled_back(mariadb_factory, moto_s3,
                                                                                 tmp_path: Path) -> None:
    pair = make_pair(mariadb_factory, tmp_path)
    plan, fault, injected, promoted, lost, directory, reached, on_old = _fail_over_with_replica_cut_off(
        pair, tmp_path, "lossy", moto_s3)
    try:
        expected_rows = on_old - reached  # canary rows the old primary committed after the replica was cut off
        assert expected_rows > 0
        assert lost["canary_rows_lost"] == expected_rows
        assert lost["lost_transaction_count"] == expected_rows + 1  # + the big INSERT ... SELECT
        big = [item for item in lost["lost_transactions"] if "drill.items" in item["tables"]]
        assert len(big) == 1 and big[0]["bytes"] > 90_000
        sizes = _group_sizes_from_server(pair.primary)  # the server's own event list, not mariadb-binlog's text
        assert {item["gtid"]: item["bytes"] for item in lost["lost_transactions"]} \
            == {gtid: sizes[gtid] for gtid in (item["gtid"] for item in lost["lost_transactions"])}
        assert lost["lost_bytes"] == sum(sizes[item["gtid"]] for item in lost["lost_transactions"]) > 90_000
        assert all(0 < item["bytes"] < 1_000_000 for item in lost["lost_transactions"])
        measured = judge(plan, injected, None, promoted, None, None, lost, pair.target)
        assert measured["findings"] == [] and measured["rpo_seconds"] > 0  # within the 5 min objective
        strict = dataclasses.replace(pair.target, objectives=dataclasses.replace(
            pair.target.objectives, rpo=timedelta(milliseconds=1)))
        assert [f["code"] for f in judge(plan, injected, None, promoted, None, None, lost, strict)["findings"]] \
            == ["WRITES_LOST"]

        back = restore_topology(pair.target, pair.servers, fault, store=_store(moto_s3),
                                         save_key="lossy/lost.sql.zst", work_dir=tmp_path)
        assert [f["code"] for f in back["findings"]] == ["ERRANT_TRANSACTIONS"]
        assert _store(moto_s3).head("lossy/lost.sql.zst") is not None
        consistent = verify_consistency(pair.target, pair.servers, expect_swapped=False)
        assert consistent["tables_compared"] == 2
        assert scalar(pair.primary, "SELECT COUNT(*) FROM drill.items") == 300  # the lost INSERT was rolled back
    finally:
        stop_canary(directory)


def test_errant_policy_stop_leaves_the_old_primary_out_and_says_so(mariadb_factory, moto_s3, tmp_path: Path) -> None:
    pair = make_pair(mariadb_factory, tmp_path, errant_transactions="stop")
    plan, fault, injected, promoted, lost, directory, reached, on_old = _fail_over_with_replica_cut_off(
        pair, tmp_path, "stopped", moto_s3)
    try:
        with pytest.raises(DrillFailed) as caught:
            restore_topology(pair.target, pair.servers, fault, store=_store(moto_s3),
                                      save_key="stopped/lost.sql.zst", work_dir=tmp_path)
        assert _codes(caught) == ["ERRANT_TRANSACTIONS", "FAILBACK_FAILED"]
        with pytest.raises(DrillFailed) as unrestored:
            verify_consistency(pair.target, pair.servers, expect_swapped=False)
        assert _codes(unrestored) == ["TOPOLOGY_NOT_RESTORED"]
        assert scalar(pair.primary, "SELECT @@read_only") == 1  # left read-only, never taking writes
    finally:
        stop_canary(directory)


def test_a_login_without_the_promotion_privileges_is_refused_at_preflight(mariadb_factory, tmp_path: Path) -> None:
    pair = make_pair(mariadb_factory, tmp_path)
    for server in (pair.primary, pair.replica):  # REPLICATION SLAVE ADMIN must not pass for REPLICATION SLAVE
        server.ensure_user("weak", "Weak-Secret-1", ["SELECT, REPLICATION SLAVE ADMIN, SLAVE MONITOR ON *.*"],
                           binlog=False)
    weak = dataclasses.replace(pair.servers, primary=pair.primary.endpoint("weak", "Weak-Secret-1"),
                               replica=pair.replica.endpoint("weak", "Weak-Secret-1"))
    with pytest.raises(DrillFailed) as caught:
        preflight(pair.target, weak)
    assert _codes(caught) == ["CONFIG_INVALID", "CONFIG_INVALID"]
    assert "REPLICATION SLAVE," in caught.value.findings[0].message and "READ_ONLY ADMIN" in caught.value.findings[0].message
    assert "Weak-Secret-1" not in str(caught.value)


def test_the_shutdown_fault_needs_the_shutdown_privilege_before_anything_is_touched(mariadb_factory,
                                                                                    tmp_path: Path) -> None:
    pair = make_pair(mariadb_factory, tmp_path)
    no_shutdown = [ADMIN_GRANTS[0].replace("SHUTDOWN, ", "")]
    assert "SHUTDOWN" not in no_shutdown[0]
    for server in (pair.primary, pair.replica):
        server.ensure_user("noshut", "Noshut-Secret-2", no_shutdown, binlog=False)
    logins = dataclasses.replace(pair.servers, primary=pair.primary.endpoint("noshut", "Noshut-Secret-2"),
                                 replica=pair.replica.endpoint("noshut", "Noshut-Secret-2"))
    preflight(pair.target, logins)  # fault: kill needs no SHUTDOWN: quiet
    with pytest.raises(DrillFailed) as caught:
        preflight(pair.with_settings(fault="shutdown"), logins)
    assert _codes(caught) == ["CONFIG_INVALID", "CONFIG_INVALID"]
    assert "lacks SHUTDOWN ON *.*" in caught.value.findings[0].message
    assert scalar(pair.primary, "SELECT 1") == 1  # still up: nothing was touched


def test_flashback_needs_full_row_images_on_both_servers_before_anything_is_touched(mariadb_factory,
                                                                                   tmp_path: Path) -> None:
    pair = make_pair(mariadb_factory, tmp_path)
    preflight(pair.target, pair.servers)  # ROW and FULL (the defaults): quiet
    scalar(pair.replica, "SET GLOBAL binlog_row_image = 'MINIMAL'")
    with pytest.raises(DrillFailed) as caught:
        preflight(pair.target, pair.servers)
    assert _codes(caught) == ["CONFIG_INVALID"] and "the replica" in caught.value.findings[0].message
    assert "MINIMAL" in caught.value.findings[0].message
    preflight(pair.with_settings(errant_transactions="stop"), pair.servers)  # no flashback: not needed
