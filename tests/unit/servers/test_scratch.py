"""``drdrill.servers.scratch``: planning a scratch server and the interlock that keeps restores off protected ones.

Starting a scratch server (``start_fresh``, ``start_from_datadir``, ``grant_admin``) and reading the protected
servers' identities (``protected_identities``) need live servers: see the restore drill's integration tests.
"""

from __future__ import annotations

import dataclasses
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from drdrill.ports import ensure_port_free
from drdrill.servers.identity import ServerIdentity
from drdrill.servers.mariadb import MAX_SOCKET_PATH
from drdrill.servers.scratch import (
    ADMIN_USER,
    SCRATCH_SERVER_ID,
    LocalScratch,
    SafetyInterlock,
    check_not_protected,
    destroy,
    plan_local_scratch,
    run_key,
)

pytestmark = pytest.mark.unit

SOURCE = ServerIdentity("db1", 3306, "/var/lib/mysql/", 1, "10.11.19")
REPLICA = ServerIdentity("db2", 3306, "/var/lib/mysql/", 2, "10.11.19")


def test_a_plan_has_its_own_directory_a_free_port_and_a_private_admin_login(tmp_path: Path) -> None:
    scratch = plan_local_scratch(tmp_path, "run1")
    assert scratch.base_dir == tmp_path / "scratch" / "run1" and scratch.name == "scratch-run1"
    ensure_port_free(scratch.port, "the test")
    assert stat.S_IMODE(scratch.option_file.stat().st_mode) == 0o600
    endpoint = scratch.endpoint()
    assert (endpoint.host, endpoint.port, endpoint.user) == ("127.0.0.1", scratch.port, ADMIN_USER)
    assert len(endpoint.password) >= 20
    done = subprocess.run(["my_print_defaults", f"--defaults-file={scratch.option_file}", "client"],
                          capture_output=True, text=True, check=True)
    assert f"--password={endpoint.password}" in done.stdout.splitlines(), "the tools must read the same password"


def test_every_plan_gets_a_new_password_and_a_clean_directory(tmp_path: Path) -> None:
    first = plan_local_scratch(tmp_path, "run1")
    first_password = first.endpoint().password
    (first.base_dir / "leftover").write_text("from an earlier try")
    again = plan_local_scratch(tmp_path, "run1")
    assert not (again.base_dir / "leftover").exists()
    assert again.endpoint().password != first_password


def test_the_description_for_xcom_holds_no_secret(tmp_path: Path) -> None:
    scratch = plan_local_scratch(tmp_path, "run1")
    described = scratch.to_dict()
    assert described == {"kind": "local", "name": "scratch-run1", "base_dir": str(scratch.base_dir), "port": scratch.port}
    assert scratch.endpoint().password not in str(described)


def test_the_instance_is_a_binlog_free_server_of_its_own(tmp_path: Path) -> None:
    spec = plan_local_scratch(tmp_path, "run1").instance.spec
    assert (spec.server_id, spec.log_bin, spec.buffer_pool, spec.extra) == (
        SCRATCH_SERVER_ID, False, "256M", {"max_allowed_packet": "256M"})


def test_a_deep_work_dir_gets_a_short_link_for_the_socket_and_destroy_removes_both(tmp_path: Path) -> None:
    deep = tmp_path / ("w" * MAX_SOCKET_PATH)
    scratch = plan_local_scratch(deep, "unit-deep-link")
    real = deep / "scratch" / "unit-deep-link"
    try:
        assert scratch.base_dir == Path(tempfile.gettempdir()) / "drdrill-unit-deep-link"
        assert scratch.base_dir.is_symlink() and scratch.base_dir.resolve() == real
        assert len(str(scratch.instance.socket)) < MAX_SOCKET_PATH
    finally:
        destroy(scratch)
    assert not scratch.base_dir.exists() and not scratch.base_dir.is_symlink() and not real.exists()


def test_destroy_of_a_plan_that_never_started_deletes_its_directory(tmp_path: Path) -> None:
    scratch = plan_local_scratch(tmp_path, "run1")
    destroy(scratch)
    assert not scratch.base_dir.exists()


def test_a_scratch_server_that_is_not_protected_passes_the_interlock() -> None:
    scratch = ServerIdentity("scratch1", 3306, "/var/lib/mysql/", 42, "10.11.19")
    check_not_protected(scratch, {"source": SOURCE, "replica": REPLICA})
    check_not_protected(scratch, {})


@pytest.mark.parametrize("role", ["source", "replica"])
def test_a_scratch_connection_that_reaches_a_protected_server_is_refused(role: str) -> None:
    protected = {"source": SOURCE, "replica": REPLICA}
    alias = dataclasses.replace(protected[role], datadir=protected[role].datadir.rstrip("/"), server_id=77)
    with pytest.raises(SafetyInterlock) as caught:
        check_not_protected(alias, protected)
    assert f"it is the target's {role} ({protected[role].label()})" in caught.value.problem
    assert "Nothing was written to it." in caught.value.problem
    assert "restore_drill.scratch_conn_id" in (caught.value.fix or "")


def test_local_scratch_reads_its_login_from_its_option_file(tmp_path: Path) -> None:
    scratch = LocalScratch("scratch-x", tmp_path, 3391)
    scratch.option_file.write_text("[client]\nuser=admin\npassword=abc=def\n")
    endpoint = scratch.endpoint()
    assert (endpoint.user, endpoint.password, endpoint.port) == ("admin", "abc=def", 3391)


def test_run_keys_are_short_stable_and_path_safe() -> None:
    key = run_key("manual__2026-11-21T08:35:37.465945+00:00")
    assert key == run_key("manual__2026-11-21T08:35:37.465945+00:00") and len(key) == 12 and key.isalnum()
    assert run_key("manual__2026-11-21T08:35:37.465946+00:00") != key
