"""``drdrill.airflow.parse_probe``: run a DAG file as the DAG processor would, refusing network, connections, Variables.

The probe's command line on the real DAG files (in a fresh process) is exercised by ``tests/dags``; here the pieces
run in this process, with every patched attribute put back afterwards.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import airflow.sdk.bases.hook as hook
import airflow.sdk.definitions.connection as connection
import airflow.sdk.definitions.variable as variable
import pytest

from drdrill.airflow.parse_probe import PARSE_TIME_REFUSAL, main, parse, refuse_outside_access

pytestmark = pytest.mark.unit

DAG_FILE = """\
from airflow.sdk import DAG

DAGS = {name: DAG(dag_id=f"dr_probe__{name}", schedule=None) for name in ("shop", "billing")}
DAGS["not a dag"] = "ignored"
"""


@pytest.fixture
def restored(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Whatever ``refuse_outside_access`` replaces is restored when the test ends."""
    for owner, name in [(socket.socket, "connect"), (socket, "create_connection"), (hook.BaseHook, "get_connection"),
                        (connection.Connection, "get"), (variable.Variable, "get")]:
        monkeypatch.setattr(owner, name, getattr(owner, name), raising=False)
    yield


def dag_file(tmp_path: Path, text: str = DAG_FILE) -> Path:
    path = tmp_path / "dr_probe.py"
    path.write_text(text)
    return path


def test_parse_names_the_dags_in_the_files_dags_mapping(tmp_path: Path) -> None:
    result = parse(str(dag_file(tmp_path)))
    assert result["dag_ids"] == ["dr_probe__shop", "dr_probe__billing"]
    assert 0 <= result["seconds"] < 5


def test_a_file_without_dags_produces_no_ids(tmp_path: Path) -> None:
    assert parse(str(dag_file(tmp_path, "x = 1\n")))["dag_ids"] == []


@pytest.mark.usefixtures("restored")
@pytest.mark.parametrize("reach_out", [
    lambda: socket.create_connection(("127.0.0.1", 9)),
    lambda: socket.socket().connect(("127.0.0.1", 9)),
    lambda: hook.BaseHook.get_connection("drdrill_shop_primary"),
    lambda: connection.Connection.get("drdrill_shop_primary"),
    lambda: variable.Variable.get("anything"),
], ids=["create_connection", "socket_connect", "hook_connection", "connection_get", "variable_get"])
def test_after_refusal_every_way_out_raises(reach_out) -> None:  # type: ignore[no-untyped-def]
    refuse_outside_access()
    with pytest.raises(AssertionError, match=PARSE_TIME_REFUSAL):
        reach_out()


@pytest.mark.usefixtures("restored")
def test_before_refusal_sockets_work(tmp_path: Path) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        socket.create_connection(server.getsockname(), timeout=2).close()


@pytest.mark.usefixtures("restored")
def test_main_prints_one_json_line_for_a_quiet_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(dag_file(tmp_path))]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["dag_ids"] == ["dr_probe__shop", "dr_probe__billing"]


@pytest.mark.usefixtures("restored")
def test_main_fails_a_file_that_reaches_out_at_parse_time(tmp_path: Path) -> None:
    path = dag_file(tmp_path, "from airflow.sdk import Variable\nVariable.get('x')\nDAGS = {}\n")
    with pytest.raises(AssertionError, match=PARSE_TIME_REFUSAL):
        main([str(path)])


@pytest.mark.parametrize("argv", [[], ["a.py", "b.py"]])
def test_main_wants_exactly_one_file(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "usage: python -m drdrill.airflow.parse_probe <dag file>" in capsys.readouterr().err
