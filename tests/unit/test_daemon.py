"""``drdrill.daemon``: detached helper processes (S3, Slack sink, heartbeat, canary) tracked by pid files.

Real processes throughout: ``sleep`` and small ``python -c`` programs started, checked and stopped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drdrill.daemon import SANDBOX_PORT_FIX, Daemon, python_module_argv
from drdrill.errors import PortInUseError, ServerStartError

pytestmark = pytest.mark.unit

SLEEP = [shutil.which("sleep") or "/bin/sleep", "60"]


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie has stopped running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


def wait_until(condition, timeout: float = 5) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    """A daemon under ``tmp_path/run``, stopped again after the test."""
    helper = Daemon("helper", tmp_path / "run")
    yield helper
    helper.stop(timeout=2)


def test_start_records_the_pid_and_stop_ends_the_process(daemon: Daemon) -> None:
    pid = daemon.start(SLEEP, ready=lambda: True)
    assert daemon.pid_file.read_text().split()[0] == str(pid)
    assert daemon.pid() == pid and alive(pid)
    assert daemon.log_file == daemon.directory / "helper.log" and daemon.log_file.exists()
    daemon.stop()
    assert not alive(pid)
    assert daemon.pid() is None and not daemon.pid_file.exists()


def test_start_when_running_returns_the_running_process_instead_of_a_second_one(daemon: Daemon) -> None:
    pid = daemon.start(SLEEP, ready=lambda: True)
    assert daemon.start([sys.executable, "-c", "raise SystemExit(9)"], ready=lambda: False) == pid
    assert daemon.pid_file.read_text().split()[0] == str(pid)


def test_stop_is_idempotent_and_returns_at_once_when_the_process_has_gone(daemon: Daemon) -> None:
    daemon.stop()
    pid = daemon.start(SLEEP, ready=lambda: True)
    started = time.monotonic()
    daemon.stop(timeout=10)
    assert time.monotonic() - started < 3, "stop waited for a process that had already exited (a zombie)"
    daemon.stop()
    assert not alive(pid) and not daemon.pid_file.exists()


def test_the_process_gets_the_tool_environment_and_its_output_goes_to_the_log(
        daemon: Daemon, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DRDRILL_S3", '{"password": "daemon-secret"}')
    monkeypatch.setenv("DRDRILL_TEST_MARK", "visible")
    program = ("import os, time; print(sorted(k for k in os.environ if k.startswith(('AIRFLOW_CONN', 'DRDRILL_TEST'))),"
               " flush=True); time.sleep(60)")
    daemon.start([sys.executable, "-c", program], ready=lambda: "DRDRILL_TEST_MARK" in daemon.log_file.read_text())
    assert daemon.log_file.read_text().strip() == "['DRDRILL_TEST_MARK']"


def test_a_stale_pid_file_means_not_running_and_start_replaces_it(daemon: Daemon) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    daemon.directory.mkdir(parents=True)
    daemon.pid_file.write_text(str(gone.pid))
    assert daemon.pid() is None
    pid = daemon.start(SLEEP, ready=lambda: True)
    assert pid != gone.pid and daemon.pid() == pid


@pytest.mark.parametrize("content", ["", "not a pid\n", "12.5"])
def test_an_unreadable_pid_file_means_not_running(daemon: Daemon, content: str) -> None:
    daemon.directory.mkdir(parents=True)
    daemon.pid_file.write_text(content)
    assert daemon.pid() is None
    daemon.stop()
    assert not daemon.pid_file.exists()


def test_a_process_that_exits_while_starting_raises_with_its_log_and_the_fix(tmp_path: Path) -> None:
    helper = Daemon("s3", tmp_path / "run", start_fix="install moto")
    started = time.monotonic()
    with pytest.raises(ServerStartError) as caught:
        helper.start([sys.executable, "-c", "print('bind failed: address in use'); raise SystemExit(3)"],
                     ready=lambda: False, timeout=20)
    assert time.monotonic() - started < 10, "an exited process was waited for until the timeout"
    error = caught.value
    assert "s3 did not come up" in error.problem and "bind failed: address in use" in error.problem
    assert str(helper.log_file) in error.problem
    assert error.fix == "Fix the cause shown in the log and install moto."
    assert helper.pid() is None


def test_a_process_that_never_gets_ready_is_killed_after_the_timeout(daemon: Daemon) -> None:
    with pytest.raises(ServerStartError, match="did not come up within 1s"):
        daemon.start(SLEEP, ready=lambda: False, timeout=0.6)
    pid = int(daemon.pid_file.read_text().split()[0])
    assert wait_until(lambda: not alive(pid)), "the process that never got ready was left running"
    assert daemon.pid() is None


def test_a_taken_port_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        helper = Daemon("slack", tmp_path / "run", port=holder.getsockname()[1])
        with pytest.raises(PortInUseError) as caught:
            helper.start(SLEEP, ready=lambda: True)
    assert "the sandbox's slack" in caught.value.problem and SANDBOX_PORT_FIX in (caught.value.fix or "")
    assert not helper.pid_file.exists()


def test_stop_kills_a_process_that_ignores_sigterm(daemon: Daemon) -> None:
    program = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); "
               "time.sleep(60)")
    pid = daemon.start([sys.executable, "-c", program], ready=lambda: "ready" in daemon.log_file.read_text())
    daemon.stop(timeout=0.5)
    assert wait_until(lambda: not alive(pid)), "SIGKILL did not follow the ignored SIGTERM"
    assert not daemon.pid_file.exists()


def test_an_exited_process_whose_name_has_a_space_is_not_running(daemon: Daemon, tmp_path: Path) -> None:
    program = tmp_path / "drill helper"
    shutil.copy(SLEEP[0], program)
    pid = daemon.start([str(program), "60"], ready=lambda: True)
    os.kill(pid, signal.SIGKILL)
    try:
        assert wait_until(lambda: not alive(pid))
        assert daemon.pid() is None
    finally:
        daemon.pid_file.unlink()  # the process is gone: spare the fixture's stop() the wait


def test_a_pid_file_naming_an_unrelated_process_does_not_get_it_killed(daemon: Daemon) -> None:
    unrelated = subprocess.Popen(SLEEP)
    try:
        daemon.directory.mkdir(parents=True)
        for recorded in (str(unrelated.pid), f"{unrelated.pid} 1"):  # an old-style file; a reused pid
            daemon.pid_file.write_text(recorded)
            assert daemon.pid() is None
            daemon.stop(timeout=1)
            assert unrelated.poll() is None, "stop() killed a process the daemon never started"
    finally:
        unrelated.kill()
        unrelated.wait()


def test_python_module_argv_uses_this_interpreter() -> None:
    assert python_module_argv("drdrill.sandbox.slack_sink", "--port", "1") == [
        sys.executable, "-m", "drdrill.sandbox.slack_sink", "--port", "1"]
    done = subprocess.run(python_module_argv("json.tool", "--help"), capture_output=True, text=True)
    assert done.returncode == 0 and "json.tool" in done.stdout


def test_start_with_an_env_gives_the_process_exactly_that_environment(daemon: Daemon) -> None:
    program = "import os, time; print(sorted(os.environ), flush=True); time.sleep(60)"
    daemon.start([sys.executable, "-c", program], ready=lambda: "]" in daemon.log_file.read_text(),
                 env={"DRDRILL_TEST_ONLY": "1", "PATH": os.environ["PATH"]})
    assert "'DRDRILL_TEST_ONLY'" in daemon.log_file.read_text() and "HOME" not in daemon.log_file.read_text()


@pytest.mark.parametrize("group", [True, False])
def test_a_group_stop_also_ends_the_children_a_plain_stop_leaves(daemon: Daemon, group: bool) -> None:
    program = ("import subprocess, sys, time; child = subprocess.Popen(['sleep', '60']); "
               "print('child', child.pid, flush=True); time.sleep(60)")
    daemon.start([sys.executable, "-c", program], ready=lambda: "child" in daemon.log_file.read_text())
    child = int(daemon.log_file.read_text().split()[1])
    daemon.stop(timeout=2, group=group)
    try:
        assert wait_until(lambda: not alive(child), 2) is group
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
