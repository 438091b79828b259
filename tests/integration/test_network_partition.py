"""Network partitions (issue 13 item 8): the primary runs in a network namespace of its own, reached by the drill
over one veth link and by its replica over another; a test cuts a link so packets vanish without a reset.

Drill ↔ primary: a query on a connection that stalls fails within the endpoint's dead-peer bound (a long statement
on a healthy link is not cut short), the backup drill's preflight and the RPO monitor say TARGET_UNAVAILABLE
within their bounds, and a dump whose connection stalls mid-way is stopped by the stall watchdog with nothing
stored. Primary ↔ replica: the replica's IO thread still says Yes and Seconds_Behind_Master 0, yet the failover
preflight refuses because the replica has not received what the primary committed. Each healthy twin passes.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pymysql
import pytest

from drdrill.drills.archive.monitor import sample_rpo
from drdrill.drills.backup import steps as backup
from drdrill.drills.failover.logins import failover_servers
from drdrill.drills.failover.preflight import preflight as failover_preflight
from drdrill.endpoints import MySQLEndpoint
from drdrill.findings import DrillFailed
from drdrill.sandbox.stack import BACKUP_GRANTS
from drdrill.servers.mariadb import LocalMariaDB
from drdrill.servers.replication import start_gtid_replica
from drdrill.storage.memory import MemoryObjectStore
from tests.helpers.drill_helpers import shop_target
from tests.helpers.failover_helpers import ADMIN_GRANTS, ADMIN_PASSWORD, CANARY_PASSWORD, make_target, scalar
from tests.helpers.netns import Namespace, netns  # noqa: F401  (the fixture)

pytestmark = pytest.mark.integration
BOUND = 2  # seconds: every wait the tests give the code under test
BACKUP_PASSWORD = "Backup-Secret-31"


@dataclass
class PartitionedPair:
    """A primary inside ``namespace`` (link ``d``: the drill's path, ``r``: the replica's) and its replica here."""

    namespace: Namespace
    primary: LocalMariaDB
    replica: LocalMariaDB

    def drill_login(self, user: str = "drill", password: str = ADMIN_PASSWORD, **bounds: float) -> MySQLEndpoint:
        """A TCP login on the primary over the drill's link."""
        return MySQLEndpoint(self.namespace.links["d"].address, self.primary.spec.port, user, password, **bounds)

    @contextlib.contextmanager
    def cut(self, link: str) -> Iterator[None]:
        """Link ``link`` partitioned for the block."""
        self.namespace.cut(link)
        try:
            yield
        finally:
            self.namespace.heal(link)


@pytest.fixture(scope="module")
def pair(netns: Namespace, mariadb_module_factory) -> PartitionedPair:  # noqa: F811
    """The primary in the namespace (listening on its links only), its GTID replica in this namespace, both with
    the drill's, the canary's and the backup logins and a small ``drill`` database."""
    drill, replication = netns.add_link("d"), netns.add_link("r")
    primary = mariadb_module_factory("primary", command_prefix=netns.exec_prefix(), extra={"bind-address": "0.0.0.0"})
    replica = mariadb_module_factory("replica", read_only=True)
    with contextlib.closing(primary.root_connect()) as conn, conn.cursor() as cur:
        for user, password, grants in (("drill", ADMIN_PASSWORD, ADMIN_GRANTS[0]),
                                       ("canary", CANARY_PASSWORD, "SELECT, INSERT ON drill.*"),
                                       ("backup", BACKUP_PASSWORD, BACKUP_GRANTS[0])):
            cur.execute("CREATE USER %s@'10.213.%%' IDENTIFIED BY %s", (user, password))
            cur.execute(f"GRANT {grants} TO %s@'10.213.%%'", (user,))
        cur.execute("CREATE DATABASE drill")
        cur.execute("CREATE TABLE drill.items (id INT PRIMARY KEY, note VARCHAR(400)) ENGINE=InnoDB")
        cur.executemany("INSERT INTO drill.items VALUES (%s, %s)", [(i, f"item-{i}") for i in range(300)])
    replica.ensure_user("drill", ADMIN_PASSWORD, ADMIN_GRANTS, binlog=False)
    replica.ensure_user("canary", CANARY_PASSWORD, ["SELECT, INSERT ON drill.*"], binlog=False)
    start_gtid_replica(replica, MySQLEndpoint(replication.address, primary.spec.port, "drill", ADMIN_PASSWORD),
                       gtid_slave_pos="")
    assert drill.address != replication.address
    return PartitionedPair(netns, primary, replica)


@pytest.mark.parametrize("partitioned", [False, True], ids=["healthy", "partitioned"])
def test_a_query_on_a_stalled_connection_fails_within_the_dead_peer_bound(pair: PartitionedPair,
                                                                          partitioned: bool) -> None:
    login = pair.drill_login(dead_peer_timeout=BOUND)
    with contextlib.closing(login.connect()) as connection, connection.cursor() as cursor:
        began = time.monotonic()
        with pair.cut("d") if partitioned else contextlib.nullcontext():
            if partitioned:
                with pytest.raises(pymysql.err.OperationalError, match="Lost connection"):
                    cursor.execute("SELECT SLEEP(4)")
                assert time.monotonic() - began < 2 * BOUND + 1
            else:  # a statement longer than the bound, on a link that answers: not cut short
                cursor.execute(f"SELECT SLEEP({BOUND + 2})")
                assert cursor.fetchone() == (0,)


@pytest.mark.parametrize("partitioned", [False, True], ids=["healthy", "partitioned"])
def test_the_backup_preflight_and_the_rpo_monitor_say_target_unavailable_behind_a_partition(
        pair: PartitionedPair, partitioned: bool, tmp_path: Path) -> None:
    target = shop_target(name=f"partition{int(partitioned)}", databases=("drill",))
    source, store = pair.drill_login("backup", BACKUP_PASSWORD, connect_timeout=BOUND), MemoryObjectStore()
    with pair.cut("d") if partitioned else contextlib.nullcontext():
        began = time.monotonic()
        if partitioned:
            with pytest.raises(DrillFailed) as failed:
                backup.preflight(target, source, store, work_dir=tmp_path, started_at=datetime.now(timezone.utc),
                                 answer_timeout=BOUND)
            (finding,) = failed.value.findings
            assert finding.code == "TARGET_UNAVAILABLE" and "Cannot connect" in finding.message, finding
        else:
            backup.preflight(target, source, store, work_dir=tmp_path, started_at=datetime.now(timezone.utc),
                             answer_timeout=BOUND)
        sample = sample_rpo(target, source, store, signing_key=None, now=datetime.now(timezone.utc))
        assert time.monotonic() - began < 2 * BOUND + 3
    codes = [finding["code"] for finding in sample["findings"]]
    assert ("TARGET_UNAVAILABLE" in codes) is partitioned, sample


@pytest.mark.parametrize("partitioned", [False, True], ids=["healthy", "partitioned"])
def test_failover_preflight_refuses_a_replica_cut_off_from_its_primary(pair: PartitionedPair,
                                                                       partitioned: bool) -> None:
    target = make_target(max_replica_lag=timedelta(seconds=BOUND))
    servers = failover_servers(pair.drill_login(), pair.replica.endpoint("drill", ADMIN_PASSWORD),
                               MySQLEndpoint("", 0, "canary", CANARY_PASSWORD), "drill")
    with pair.cut("r") if partitioned else contextlib.nullcontext():
        scalar(pair.primary, "INSERT INTO drill.items VALUES (%s, 'after the cut')", (1000 + int(partitioned),))
        if partitioned:
            with pytest.raises(DrillFailed) as refused:
                failover_preflight(target, servers)
            assert [finding.code for finding in refused.value.findings] == ["REPLICA_LAGGING"]
            assert "has not received" in refused.value.findings[0].message
        else:
            failover_preflight(target, servers)
    deadline = time.monotonic() + 30  # healed: the replica catches up again for the next test
    while scalar(pair.replica, "SELECT COUNT(*) FROM drill.items WHERE id >= 1000") < 1 + int(partitioned):
        assert time.monotonic() < deadline, "the replica did not catch up after the partition healed"
        time.sleep(0.1)




def sessions_of(server: LocalMariaDB, user: str) -> list[tuple[int, str]]:
    """``(id, state)`` of ``user``'s sessions on ``server``."""
    with contextlib.closing(server.root_connect()) as conn, conn.cursor() as cur:
        cur.execute("SELECT id, COALESCE(state, '') FROM information_schema.processlist WHERE user = %s", (user,))
        return [(int(row[0]), str(row[1])) for row in cur.fetchall()]


@pytest.mark.parametrize("partitioned", [False, True], ids=["healthy", "partitioned"])
def test_a_dump_whose_connection_stalls_mid_way_is_stopped_with_nothing_stored(pair: PartitionedPair,
                                                                               partitioned: bool, tmp_path: Path) -> None:
    """The dump connects and waits on a table lock; the link is cut and the lock released, so the rows the server
    sends vanish. mariadb-dump has no read timeout: the stall watchdog stops it."""
    target = shop_target(name=f"partitiondump{int(partitioned)}", databases=("drill",))
    source, store = pair.drill_login("backup", BACKUP_PASSWORD), MemoryObjectStore()
    plan = backup.preflight(target, source, store, work_dir=tmp_path, started_at=datetime.now(timezone.utc))
    outcome: dict[str, object] = {}

    def dump() -> None:
        try:
            outcome["dumped"] = backup.dump_and_upload(plan, target, source, store, work_dir=tmp_path,
                                                       stall_timeout=BOUND)
        except DrillFailed as exc:
            outcome["failed"] = exc

    holder = pair.primary.root_connect()
    try:
        with holder.cursor() as cur:
            cur.execute("LOCK TABLES drill.items WRITE")
        dumper = threading.Thread(target=dump, daemon=True)
        dumper.start()
        deadline = time.monotonic() + 10
        while not any("lock" in state for _, state in sessions_of(pair.primary, "backup")):
            assert time.monotonic() < deadline and dumper.is_alive(), ("the dump never waited on the lock", outcome)
            time.sleep(0.05)
        with pair.cut("d") if partitioned else contextlib.nullcontext():
            with holder.cursor() as cur:
                cur.execute("UNLOCK TABLES")
            dumper.join(timeout=4 * BOUND + 5)
            assert not dumper.is_alive(), "the dump hung on its stalled connection"
    finally:
        holder.close()
        for session, _ in sessions_of(pair.primary, "backup"):  # the server side of the cut connection
            scalar(pair.primary, f"KILL {session}")
    if partitioned:
        failed = outcome["failed"]
        assert isinstance(failed, DrillFailed)
        (finding,) = failed.findings
        assert finding.code == "TARGET_UNAVAILABLE" and "produced nothing for" in finding.message, finding
        assert store.list_objects("") == []
    else:
        assert "dumped" in outcome, outcome
        assert "dump.sql.zst" in [obj["name"] for obj in outcome["dumped"]["objects"]]
