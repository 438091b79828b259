"""Fixtures that run real local MariaDB servers for integration tests; torn down even when a test fails."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drdrill.ports import find_free_port
from drdrill.servers.mariadb import MAX_SOCKET_PATH, InstanceSpec, LocalMariaDB
from drdrill.servers.certificates import ServerCertificates


class MariaDBFactory:
    """Creates ``LocalMariaDB`` instances below ``root`` on free ports; ``destroy_all`` removes them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.instances: list[LocalMariaDB] = []
        self._spill_dirs: list[Path] = []
        self._next_server_id = 1

    def __call__(self, name: str = "primary", *, start: bool = True, tls: ServerCertificates | None = None,
                 **spec: Any) -> LocalMariaDB:
        """A new instance, started unless ``start=False``; ``spec`` sets InstanceSpec fields.

        ``tls``: the server speaks TLS with these certificates and has ``require_secure_transport=ON`` (its unix
        socket stays open to the admin login without TLS).
        """
        if tls is not None:
            spec["extra"] = {**tls.server_options(), **spec.get("extra", {})}
        spec.setdefault("port", find_free_port())
        spec.setdefault("server_id", self._next_server_id)
        self._next_server_id = max(self._next_server_id, spec["server_id"]) + 1
        server = LocalMariaDB(InstanceSpec(name=name, base_dir=self._base_dir(name), **spec))
        self.instances.append(server)
        if start:
            server.initialize()
            server.start()
        return server

    def destroy_all(self) -> None:
        """Stop every instance and delete its files; raise the first failure after trying them all."""
        errors: list[BaseException] = []
        for server in reversed(self.instances):
            try:
                server.destroy()
            except Exception as exc:  # keep tearing down the others
                errors.append(exc)
        for directory in self._spill_dirs:
            shutil.rmtree(directory, ignore_errors=True)
        self.instances.clear()
        if errors:
            raise errors[0]

    def _base_dir(self, name: str) -> Path:
        taken = {server.spec.base_dir.name for server in self.instances}
        dirname, suffix = name, 1
        while dirname in taken:
            suffix += 1
            dirname = f"{name}{suffix}"
        base = self.root / dirname
        if len(str(base / "mariadbd.sock")) >= MAX_SOCKET_PATH:  # deep pytest tmp dirs: use a short one
            spill = Path(tempfile.mkdtemp(prefix="drd-"))
            self._spill_dirs.append(spill)
            base = spill / dirname
        return base


@pytest.fixture
def mariadb_factory(tmp_path: Path) -> Iterator[MariaDBFactory]:
    """Per-test factory of real servers, destroyed after the test."""
    factory = MariaDBFactory(tmp_path)
    yield factory
    factory.destroy_all()


@pytest.fixture(scope="module")
def mariadb_module_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDBFactory]:
    """Per-module factory of real servers, for expensive setups shared by a module's tests."""
    factory = MariaDBFactory(tmp_path_factory.mktemp("mariadb"))
    yield factory
    factory.destroy_all()


@pytest.fixture
def metastore_primary_connection(sandbox, airflow_db):
    """The sandbox's source connection in the Airflow metastore too, pointing at the primary (the failover
    drill redirects it there; run_dag and the CLI tests hide the environment's copy)."""
    from drdrill.airflow.connections import import_connections
    from tests.helpers.failover_helpers import PRIMARY_CONN

    import_connections({PRIMARY_CONN: sandbox.sandbox.airflow_connections()[PRIMARY_CONN]})
    return sandbox


@pytest.fixture
def fresh_backup(sandbox, tmp_path):
    """A new mariadb-dump backup of the sandbox (writes land mid-backup, so the catch-up is exercised)."""
    from tests.helpers.drill_helpers import run_steps, shop_target

    plan, manifest = run_steps(sandbox, shop_target(), tmp_path / "backup", write_between=2)
    return plan["backup_id"], manifest
