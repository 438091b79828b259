"""A primary + GTID replica pair with the logins a failover drill uses, and a target that allows the drill."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from drdrill.config import FailoverDrill, Objectives, Retention, Storage, Target
from drdrill.drills.failover.logins import FailoverServers
from drdrill.drills.failover.path import Connections, FailoverPath, Run
from drdrill.drills.failover.runner import fail_over
from drdrill.drills.failover.steps import PREFLIGHT
from drdrill.endpoints import MySQLEndpoint
from drdrill.storage.objectstore import ObjectStore
from drdrill.servers.mariadb import LocalMariaDB
from drdrill.servers.replication import replication_status, start_gtid_replica, wait_replica_caught_up

ADMIN_GRANTS = ["SELECT, INSERT, UPDATE, DELETE, CREATE, RELOAD, PROCESS, SHUTDOWN, REPLICATION SLAVE, "
                "REPLICATION SLAVE ADMIN, READ_ONLY ADMIN, BINLOG MONITOR, BINLOG REPLAY, BINLOG ADMIN, SLAVE MONITOR ON *.*"]
ADMIN_PASSWORD = "Admin-Secret-77"
PRIMARY_CONN = "drdrill_shop_primary"  # the sandbox target's source connection, which the drill redirects
CANARY_PASSWORD = "Canary-Secret-55"


@dataclass
class Pair:
    """The two servers, the drill's view of them, and a target for them."""

    primary: LocalMariaDB
    replica: LocalMariaDB
    servers: FailoverServers
    target: Target
    work_dir: Path

    def with_settings(self, **changes: Any) -> Target:
        """The target with other failover_drill settings."""
        return dataclasses.replace(self.target, failover_drill=dataclasses.replace(self.target.failover_drill, **changes))


def make_pair(factory: Any, work_dir: Path, bucket: str = "drdrill-backups",
              server_options: dict[str, str] | None = None, **settings: Any) -> Pair:
    """Start a primary and a replica with 300 rows in drill.items, the admin and canary logins on both.

    ``server_options``: more [mysqld] options for both servers; ``settings``: failover_drill settings.
    """
    primary = factory("primary", extra=dict(server_options or {}))
    replica = factory("replica", read_only=True, extra=dict(server_options or {}))
    for server in (primary, replica):
        server.ensure_user("drill", ADMIN_PASSWORD, ADMIN_GRANTS, binlog=False)
        server.ensure_user("canary", CANARY_PASSWORD, ["SELECT, INSERT ON drill.*"], binlog=False)
    start_gtid_replica(replica, primary.endpoint("drill", ADMIN_PASSWORD), gtid_slave_pos="")
    with contextlib.closing(primary.root_connect()) as conn, conn.cursor() as cur:
        cur.execute("CREATE DATABASE IF NOT EXISTS drill")
        cur.execute("CREATE TABLE drill.items (id INT PRIMARY KEY, note VARCHAR(400)) ENGINE=InnoDB")
        cur.executemany("INSERT INTO drill.items VALUES (%s, %s)", [(i, f"item-{i}") for i in range(300)])
    target = make_target(bucket, **settings)
    servers = FailoverServers(
        primary=primary.endpoint("drill", ADMIN_PASSWORD), replica=replica.endpoint("drill", ADMIN_PASSWORD),
        canary_primary=primary.endpoint("canary", CANARY_PASSWORD, "drill"),
        canary_replica=replica.endpoint("canary", CANARY_PASSWORD, "drill"))
    return Pair(primary, replica, servers, target, work_dir)


def make_target(bucket: str = "drdrill-backups", **settings: Any) -> Target:
    """Target ``fo`` on database ``drill`` that allows failover drills, with ``settings`` for failover_drill."""
    return Target(
        name="fo", source_conn_id="fo_primary", replica_conn_id="fo_replica", databases=("drill",),
        storage=Storage(conn_id="drdrill_s3", bucket=bucket, prefix="failover-tests"),
        objectives=Objectives(rto=timedelta(minutes=5), rpo=timedelta(minutes=5)), retention=Retention(keep_backups=1),
        allow_failover_drill=True,
        failover_drill=dataclasses.replace(FailoverDrill(canary_conn_id="fo_canary"), **settings),
    )


class SourceConnection:
    """Stands in for the source connection the drill redirects: where it points now, and each move."""

    def __init__(self, endpoint: MySQLEndpoint) -> None:
        self.address = {"host": endpoint.host, "port": endpoint.port}
        self.moves: list[dict[str, Any]] = []

    def redirect(self, host: str, port: int) -> dict[str, Any]:
        """As ``drdrill.airflow.connections.redirect_connection`` answers."""
        was, now = self.address, {"host": host, "port": int(port)}
        self.address = now
        self.moves.append(now)
        return {"was": was, "changed": was != now}


def direct_run(target: Target, servers: FailoverServers, work_dir: Path, run_id: str, *,
               store: ObjectStore | None = None, rds: Any = None) -> tuple[Run, SourceConnection]:
    """A run on explicit logins, bucket and RDS client (no Airflow connection), its source connection stood in for."""
    source = SourceConnection(servers.primary)

    def no_store() -> ObjectStore:
        raise AssertionError("this test gave the drill no bucket")

    connections = Connections(lambda: servers, redirect_source=source.redirect,
                              store=(lambda: store) if store is not None else no_store, rds=lambda: rds)
    return Run(target, connections, work_dir, run_id), source


def run_steps(path: FailoverPath, *, before: Mapping[str, Callable[[], None]] | None = None,
              until: str | None = None) -> dict[str, Any]:
    """Preflight, then the drill's step list in order (``steps.FAIL_OVER``); every step's result by name.

    ``before[step]`` runs just before that step (what a test does to the servers meanwhile); ``until``: the
    first step not run. A step's error propagates.
    """
    results: dict[str, Any] = {PREFLIGHT: path.preflight()}

    def attempt(step: str, run: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
        if step == until:
            return None
        if before and step in before:
            before[step]()
        return run()

    fail_over(path, results, attempt)
    return results


def scalar(server: LocalMariaDB, sql: str, args: Any = None) -> Any:
    """The first column of the first row, as root."""
    with contextlib.closing(server.root_connect()) as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        row = cur.fetchone()
    return row[0] if row else None


def finished_state(done: subprocess.CompletedProcess[str]) -> str:
    """The run's final state as ``airflow dags test`` logged it."""
    line = next(line for line in done.stdout.splitlines()[::-1] + done.stderr.splitlines()[::-1]
                if "DagRun Finished" in line)
    return line.split("state=")[1].split(",")[0]


def without_source_variable(config: Path | None = None) -> dict[str, str]:
    """This environment minus the source connection's AIRFLOW_CONN_* variable (the drill finds it in the
    metastore, where the redirect changes it), with DRDRILL_CONFIG set to ``config`` when given."""
    env = {key: value for key, value in os.environ.items() if key != f"AIRFLOW_CONN_{PRIMARY_CONN.upper()}"}
    if config:
        env["DRDRILL_CONFIG"] = str(config)
    return env


def run_dag(dag_id: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``airflow dags test <dag_id>`` in its own process, as make demo runs DAGs, on ``without_source_variable``."""
    return subprocess.run([str(Path(sys.executable).parent / "airflow"), "dags", "test", dag_id],
                          capture_output=True, text=True, env=without_source_variable(config), timeout=600)


def airflow_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The airflow CLI on the metastore only (no AIRFLOW_CONN_* variables)."""
    return subprocess.run([str(Path(sys.executable).parent / "airflow"), *args], capture_output=True, text=True,
                          check=check, env={k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")})


def connection_port(conn_id: str) -> int:
    """The port of a connection as the metastore has it."""
    done = airflow_cli("connections", "get", conn_id, "-o", "json")
    return int(json.loads(done.stdout[done.stdout.index("["):])[0]["port"])


def config_locking_replication_on_redirect(sandbox: Any, directory: Path) -> Path:
    """The session config with a redirect hook that locks the replication login on the promoted replica.

    The old primary then cannot rejoin it: the fail-back fails with FAILBACK_FAILED whatever else happens.
    """
    lock = directory / "lock-replication.sh"
    lock.write_text(f"mariadb --no-defaults --socket={sandbox.replica.socket} -uroot -e "
                    "\"SET sql_log_bin = 0; ALTER USER 'drdrill_repl'@'127.0.0.1' ACCOUNT LOCK\"\n")
    config = directory / "drills.yaml"
    config.write_text(Path(os.environ["DRDRILL_CONFIG"]).read_text().replace(
        "failover_drill: {", f"failover_drill: {{redirect_command: \"sh {lock}\", ", 1))
    return config


def assert_fail_back_reported_once(record: Any, sandbox: Any) -> None:
    """FAILBACK_FAILED and TOPOLOGY_NOT_RESTORED once each (cleanup did not retry); the promoted replica kept it all."""
    # ERRANT_TRANSACTIONS too if the kill happened to lose a canary row
    codes = [finding["code"] for finding in record.findings if finding["code"] != "ERRANT_TRANSACTIONS"]
    assert codes == ["FAILBACK_FAILED", "TOPOLOGY_NOT_RESTORED"], record.findings
    assert "locked" in next(f["message"] for f in record.findings if f["code"] == "FAILBACK_FAILED")
    assert record.details["failed_steps"] == ["fail_back", "verify_consistency"]
    assert record.details["fail_back"]["topology"] == "left as fail_back reported it (FAILBACK_FAILED)"
    assert scalar(sandbox.replica, "SELECT @@read_only") == 0
    assert scalar(sandbox.primary, "SELECT @@read_only") == 1  # out of replication, taking no writes
    assert connection_port(PRIMARY_CONN) == sandbox.ports.replica


def switch_back_by_hand(sandbox: Any) -> None:
    """What a DBA does after such a drill: unlock the login, then ``sandbox up`` swaps the roles back."""
    from drdrill.airflow.connections import import_connections

    with contextlib.closing(sandbox.replica.root_connect()) as conn, conn.cursor() as cur:
        cur.execute("SET SESSION sql_log_bin = 0")
        cur.execute("ALTER USER 'drdrill_repl'@'127.0.0.1' ACCOUNT UNLOCK")
    sandbox.up(rows=1000, airflow=False)  # seeded already: the row count is not used
    import_connections({PRIMARY_CONN: sandbox.airflow_connections()[PRIMARY_CONN]})


@contextlib.contextmanager
def promotion_refused(sandbox: Any) -> Iterator[None]:
    """While inside: the sandbox replica refuses the promotion's write (PROMOTION_FAILED), nothing else.

    A trigger on the replica only (not binlogged): replicated row events do not fire it, the promotion's write does.
    """
    from drdrill.drills.failover.canary import canary_table, create_table_sql

    with contextlib.closing(sandbox.replica.root_connect()) as conn, conn.cursor() as cur:
        cur.execute("SET SESSION sql_log_bin = 0")
        cur.execute(create_table_sql(canary_table("shop")))
        cur.execute("CREATE TRIGGER shop.refuse_promotion BEFORE INSERT ON shop.drdrill_canary FOR EACH ROW "
                    "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'replica refuses writes'")
    try:
        yield
    finally:
        with contextlib.closing(sandbox.replica.root_connect()) as conn, conn.cursor() as cur:
            cur.execute("SET SESSION sql_log_bin = 0")
            cur.execute("DROP TRIGGER IF EXISTS shop.refuse_promotion")


def _checksums(box: Any) -> tuple[dict[str, int], dict[str, int]]:
    """CHECKSUM TABLE of every shop table on both servers at one GTID position (the primary briefly locked)."""
    with contextlib.closing(box.primary.root_connect()) as primary, contextlib.closing(box.replica.root_connect()) as replica:
        with primary.cursor() as cur:
            cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'shop' "
                        "AND table_type = 'BASE TABLE'")
            tables = ", ".join(f"shop.`{row[0]}`" for row in cur.fetchall())
            cur.execute("FLUSH TABLES WITH READ LOCK")
        try:
            wait_replica_caught_up(replica, primary, 60)
            sums = []
            for conn in (primary, replica):
                with conn.cursor() as cur:
                    cur.execute(f"CHECKSUM TABLE {tables}")
                    sums.append({str(name): int(value) for name, value in cur.fetchall()})
        finally:
            with primary.cursor() as cur:
                cur.execute("UNLOCK TABLES")
    return sums[0], sums[1]


def assert_put_back(server: Any) -> None:
    """Primary writable, replica read-only and replicating from it, equal checksums, connection at the primary."""
    with contextlib.closing(server.replica.root_connect()) as conn:
        status = replication_status(conn)
    assert (status["Slave_IO_Running"], status["Slave_SQL_Running"]) == ("Yes", "Yes")
    assert int(status["Master_Port"]) == server.ports.primary
    assert scalar(server.primary, "SELECT @@read_only") == 0
    assert scalar(server.replica, "SELECT @@read_only") == 1
    on_primary, on_replica = _checksums(server)
    assert on_primary == on_replica and "shop.orders" in on_primary
    assert connection_port(PRIMARY_CONN) == server.ports.primary


def aurora_cluster(rds: Any, name: str, instances: int = 2) -> list[str]:
    """An Aurora MySQL cluster in moto with ``instances`` members (``<name>-0`` first, the writer)."""
    rds.create_db_cluster(DBClusterIdentifier=name, Engine="aurora-mysql", MasterUsername="admin",
                          MasterUserPassword="not-a-real-secret")
    members = [f"{name}-{index}" for index in range(instances)]
    for member in members:
        rds.create_db_instance(DBInstanceIdentifier=member, DBClusterIdentifier=name, Engine="aurora-mysql",
                               DBInstanceClass="db.r6g.large")
    return members


def managed_writer(factory: Any) -> LocalMariaDB:
    """A real server standing in for a managed writer endpoint: database ``drill``, the admin and canary logins."""
    writer = factory("writer")
    writer.ensure_user("drill", ADMIN_PASSWORD, ADMIN_GRANTS, binlog=False)
    writer.ensure_user("canary", CANARY_PASSWORD, ["SELECT, INSERT ON drill.*"], binlog=False)
    scalar(writer, "CREATE DATABASE drill")
    return writer
